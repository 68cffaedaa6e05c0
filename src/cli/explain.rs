//! `procedo explain -p PROC LOG --case ID`

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use super::{ExitStatus, usage_error};
use crate::log::read_log;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The procedure the case is explained against.
    #[arg(short, long)]
    procedure: PathBuf,
    /// The event log holding the case (XES, CSV, JSON Lines or YAML, as for `check`; `-`
    /// reads standard input, with --input-format).
    log: PathBuf,
    /// The id of the case to explain.
    #[arg(long = "case", value_name = "ID")]
    case_id: String,
    /// CSV/JSON Lines column holding the case id [default: the procedure's mapping, else
    /// case:concept:name].
    #[arg(long, value_name = "COLUMN")]
    case_column: Option<String>,
    #[command(flatten)]
    read: super::LogArgs,
    /// Resources roster (CSV or YAML), as for `check`.
    #[arg(long, value_name = "FILE")]
    roster: Option<PathBuf>,
    /// Judge the case as running at this time, if it has not reached an end.
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    /// Output: the story as text, or the evidence record as JSON.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

pub(crate) fn run(args: &Args, color: bool) -> ExitStatus {
    let p = match super::load_procedure(&args.procedure, color, "explain a case with it") {
        Ok(p) => p,
        Err(s) => return s,
    };
    let as_of = match super::as_of_arg(args.as_of.as_deref()) {
        Ok(x) => x,
        Err(s) => return s,
    };
    let opts = match args.read.options(
        Some(&p),
        args.case_column.clone(),
        false,
        std::slice::from_ref(&args.log),
    ) {
        Ok(o) => o,
        Err(s) => return s,
    };
    // The roster's times are read as the log's are (its zone).
    let roster = match super::read_roster(args.roster.as_deref(), &opts) {
        Ok(r) => r,
        Err(s) => return s,
    };
    let mut found = None;
    let mut rejections = super::Rejections::new(args.read.max_errors);
    let stats = read_log(
        &args.log,
        &opts,
        &mut |t| {
            if t.id == args.case_id && found.is_none() {
                found = Some(t);
            }
        },
        &mut |r| rejections.add(&r),
    );
    rejections.finish();
    let stats = match stats {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    for w in crate::check::read_warnings(&stats, &opts, Some(&p)) {
        eprintln!("warning: {}", w.message);
    }
    let Some(trace) = found else {
        return usage_error(&format!(
            "no case `{}` in `{}`",
            args.case_id,
            args.log.display()
        ));
    };
    let mut explanation = match crate::explain::explain(&p, &trace, roster, as_of, Some(&opts)) {
        Ok(e) => e,
        Err(e) => return usage_error(&e),
    };
    // The procedure's file as the user would type it: relative to the current directory.
    if let Ok(dir) = std::env::current_dir()
        && let Ok(rel) = p.unit.path.strip_prefix(dir)
    {
        explanation.procedure.file = rel.display().to_string();
    }
    let text = match args.format {
        Format::Human => explanation.human(),
        Format::Json => serde_json::to_string_pretty(&explanation).unwrap_or_default() + "\n",
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write output: {e}");
        return ExitStatus::Error;
    }
    if rejections.count() > 0 {
        ExitStatus::Error
    } else {
        ExitStatus::Success
    }
}
