//! `procedo completions SHELL` and `procedo man`: shell completion scripts and the manual
//! page, both generated from the clap definitions so they never fall behind the flags.

use std::io::Write;

use clap::CommandFactory;

use super::{Cli, ExitStatus};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub(crate) fn run(args: &Args) -> ExitStatus {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "procedo", &mut out);
    write_out(&out)
}

/// The manual page of `procedo` and, after it, one section per subcommand.
pub(crate) fn man() -> ExitStatus {
    let cmd = Cli::command();
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(cmd.clone()).render(&mut out) {
        return super::usage_error(&format!("cannot render the manual page: {e}"));
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let title = format!("PROCEDO {}", sub.get_name().to_uppercase());
        let bin = format!("procedo {}", sub.get_name());
        let man = clap_mangen::Man::new(sub.clone().bin_name(bin));
        // Each subcommand as sections of the one page: a heading, then its synopsis,
        // description and options.
        let _ = writeln!(out, ".SH \"{title}\"");
        if man.render_synopsis_section(&mut out).is_err()
            || man.render_description_section(&mut out).is_err()
            || man.render_options_section(&mut out).is_err()
        {
            return super::usage_error("cannot render the manual page");
        }
    }
    write_out(&out)
}

fn write_out(bytes: &[u8]) -> ExitStatus {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    match lock.write_all(bytes).and_then(|_| lock.flush()) {
        Ok(()) => ExitStatus::Success,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitStatus::Success,
        Err(e) => super::usage_error(&format!("cannot write output: {e}")),
    }
}
