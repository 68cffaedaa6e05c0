//! `procedo fmt [--check] PATHS...`

use std::path::PathBuf;

use super::{ExitStatus, discover, usage_error};
use crate::diagnostic::render;
use crate::source::SourceFile;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Procedure files or directories (searched recursively for `.proc` files).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Do not write; list the files that are not in canonical layout and exit 1 if any.
    #[arg(long)]
    check: bool,
}

pub(crate) fn run(args: &Args, color: bool) -> ExitStatus {
    let files = match discover(&args.paths) {
        Ok(f) => f,
        Err(e) => return usage_error(&e),
    };
    let mut status = ExitStatus::Success;
    let mut changed = 0;
    for f in &files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", f.display());
                status = ExitStatus::Error;
                continue;
            }
        };
        let source = SourceFile::new(f.display().to_string(), text.clone());
        let formatted = match crate::fmt::format_checked(&source) {
            Ok(s) => s,
            Err(d) => {
                eprint!("{}", render(&[*d], color));
                status = ExitStatus::Error;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        changed += 1;
        if args.check {
            println!("would reformat {}", f.display());
            if status == ExitStatus::Success {
                status = ExitStatus::Failure;
            }
        } else if let Err(e) = std::fs::write(f, formatted) {
            eprintln!("error: cannot write `{}`: {e}", f.display());
            status = ExitStatus::Error;
        } else {
            println!("formatted {}", f.display());
        }
    }
    let verb = if args.check {
        "would be reformatted"
    } else {
        "reformatted"
    };
    super::note!(
        "{} file{} checked, {changed} {verb}",
        files.len(),
        if files.len() == 1 { "" } else { "s" }
    );
    status
}
