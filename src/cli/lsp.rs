//! `procedo lsp`: the language server on standard input and output.

use super::ExitStatus;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Accepted for editors that pass it; standard input and output are the only transport.
    #[arg(long)]
    stdio: bool,
}

pub(crate) fn run(_args: &Args) -> ExitStatus {
    let input = std::io::BufReader::new(std::io::stdin());
    let output = std::io::stdout();
    match crate::lsp::serve(input, output) {
        Ok(()) => ExitStatus::Success,
        Err(e) => {
            eprintln!("procedo lsp: {e}");
            ExitStatus::Error
        }
    }
}
