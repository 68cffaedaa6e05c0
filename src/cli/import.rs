//! `procedo import FILE.bpmn > draft.proc`: a draft procedure from a BPMN 2.0 process.

use std::io::Write;
use std::path::PathBuf;

use super::{ExitStatus, usage_error};
use crate::diagnostic::{Severity, render};
use crate::source::SourceFile;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The BPMN 2.0 XML file (`.bpmn`), as Camunda Modeler or bpmn.io save it; `-` reads
    /// standard input.
    file: PathBuf,
    /// The id of the process to import when the file has several [default: the first
    /// with flow elements].
    #[arg(long, value_name = "ID")]
    process: Option<String>,
}

/// Reads a BPMN file into a source (shared with `check --model FILE.bpmn`).
pub(crate) fn read_source(path: &std::path::Path) -> Result<SourceFile, ExitStatus> {
    let bytes = if path.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
            .map_err(|e| usage_error(&format!("cannot read standard input: {e}")))?;
        b
    } else {
        std::fs::read(path)
            .map_err(|e| usage_error(&format!("cannot read `{}`: {e}", path.display())))?
    };
    let text = String::from_utf8(bytes)
        .map_err(|e| usage_error(&format!("`{}` is not UTF-8 text: {e}", path.display())))?;
    Ok(SourceFile::new(path.display().to_string(), text))
}

pub(crate) fn run(args: &Args, color: bool) -> ExitStatus {
    let source = match read_source(&args.file) {
        Ok(s) => s,
        Err(s) => return s,
    };
    let label = args.file.display().to_string();
    let import = match crate::bpmn::import(&source, args.process.as_deref(), &label) {
        Ok(i) => i,
        Err(d) => {
            eprint!("{}", render(&[d], color));
            return ExitStatus::Error;
        }
    };
    // Notes (what was dropped on purpose) are left out with --quiet; warnings and errors
    // (what the author must look at) never are.
    let shown: Vec<_> = import
        .diagnostics
        .iter()
        .filter(|d| d.severity > Severity::Info || !super::quiet())
        .cloned()
        .collect();
    eprint!("{}", render(&shown, color));
    let count = |s: Severity| {
        import
            .diagnostics
            .iter()
            .filter(|d| d.severity == s)
            .count()
    };
    super::note!(
        "imported `{label}`: {} errors, {} warnings, {} notes; the draft is on standard output",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    );
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match out
        .write_all(import.draft.as_bytes())
        .and_then(|_| out.flush())
    {
        // An error is a part of the diagram the draft could not carry over as drawn.
        Ok(()) if count(Severity::Error) > 0 => ExitStatus::Failure,
        Ok(()) => ExitStatus::Success,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitStatus::Success,
        Err(e) => usage_error(&format!("cannot write output: {e}")),
    }
}
