//! `procedo inspect LOG... [-p PROC]`: a log's profile before a check is trusted on it.

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use super::{ExitStatus, usage_error};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Event logs, as for `check` (`-` reads standard input, with --input-format).
    #[arg(required = true)]
    logs: Vec<PathBuf>,
    /// The procedure to read the log for: its mapping chooses the columns, its steps
    /// and perspectives are what the labels and fields are judged against.
    #[arg(short, long)]
    procedure: Option<PathBuf>,
    /// CSV/JSON Lines column holding the case id [default: the procedure's mapping, else
    /// case:concept:name].
    #[arg(long, value_name = "COLUMN")]
    case_column: Option<String>,
    #[command(flatten)]
    read: super::LogArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

pub(crate) fn run(args: &Args, color: bool) -> ExitStatus {
    let p = match &args.procedure {
        Some(path) => match super::load_procedure(path, color, "inspect a log for it") {
            Ok(p) => Some(p),
            Err(s) => return s,
        },
        None => None,
    };
    let opts = match args
        .read
        .options(p.as_ref(), args.case_column.clone(), false, &args.logs)
    {
        Ok(o) => o,
        Err(s) => return s,
    };
    let given = crate::inspect::Given {
        case: args.case_column.is_some(),
        activity: args.read.gives_activity(),
        timestamp: args.read.gives_timestamp(),
        actor: args.read.gives_actor(),
    };
    let mut rejections = super::Rejections::new(args.read.max_errors);
    let profile = crate::inspect::inspect(p.as_ref(), &args.logs, &opts, &given, &mut |r| {
        rejections.add(&r)
    });
    rejections.finish();
    for (_, e) in &profile.unreadable {
        // The reader's message names the log.
        eprintln!("error: {e}");
    }
    let text = match args.format {
        Format::Human => crate::report::inspect::human(&profile),
        Format::Json => serde_json::to_string_pretty(&profile).unwrap_or_default() + "\n",
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return usage_error(&format!("cannot write output: {e}"));
    }
    if !profile.unreadable.is_empty() || profile.cases == 0 {
        ExitStatus::Error
    } else {
        ExitStatus::Success
    }
}
