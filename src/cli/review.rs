//! `procedo review -p PROC LOGS... [--by ...] [--plan FILE] [--format ...]`

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use super::{ExitStatus, usage_error};
use crate::report::review as report;
use crate::review::{By, ReviewOptions, Reviewer};
use crate::source::SourceFile;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 the review was written; 1 with --fail-on and a group \
flagged above, or a systemic criterion; 2 bad usage or unreadable input (the review is still \
written from the records that could be read). docs/review.md documents every field."
)]
pub(crate) struct Args {
    #[command(flatten)]
    source: super::check::Source,
    /// Break the results down (several for a cross-table): operator, team:COLUMN,
    /// shift:COLUMN, step, code, criterion, area, priority, version[:COLUMN], week, month.
    #[arg(long, value_name = "BY", value_delimiter = ',')]
    by: Vec<String>,
    /// The support plan agreed with colleagues (`plans:` who, areas, type, target, start,
    /// review): reports before and after on the targeted criteria.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// The configuration with the `review:` settings [default: `procedo.yaml` at the
    /// procedure's root, if any].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// No group is ranked or flagged below this many opportunities [default: 20, or the
    /// configuration's `min_opportunities`].
    #[arg(long, value_name = "N")]
    min_n: Option<u64>,
    /// How many of the cases with most deviations to list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    worst: usize,
    /// Output format: human, json, csv (one row per finding), markdown, html (one file,
    /// works offline).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Write the output to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit 1 when a group is flagged above (`flagged`) or a criterion is systemic
    /// (`systemic`), or either (`any`).
    #[arg(long = "fail-on", value_enum)]
    fail_on: Option<FailOn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Csv,
    Markdown,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Flagged,
    Systemic,
    Any,
}

fn read_source(path: &std::path::Path) -> Result<SourceFile, ExitStatus> {
    std::fs::read_to_string(path)
        .map(|t| SourceFile::new(path.display().to_string(), t))
        .map_err(|e| usage_error(&format!("cannot read `{}`: {e}", path.display())))
}

pub(crate) fn run(args: &Args, color: bool) -> ExitStatus {
    let by = match args
        .by
        .iter()
        .map(|b| By::parse(b))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(b) if b.len() > crate::review::MAX_BY => {
            return usage_error(&format!(
                "--by gives {} breakdowns; at most {} make a cross-table",
                b.len(),
                crate::review::MAX_BY
            ));
        }
        Ok(b) => b,
        Err(e) => return usage_error(&e),
    };
    let prepared = match super::check::prepare(&args.source, color, false) {
        Ok(p) => p,
        Err(s) => return s,
    };
    // The configuration: given, or procedo.yaml at the procedure's root.
    let config_path = args.config.clone().or_else(|| {
        let p = args.source.procedure.as_ref()?;
        let root = crate::model::find_root(p);
        let f = root.join(crate::lint::config::FILE_NAME);
        f.is_file().then_some(f)
    });
    let mut config = match &config_path {
        Some(path) => {
            let src = match read_source(path) {
                Ok(s) => s,
                Err(s) => return s,
            };
            match crate::review::config::parse(&src) {
                Ok(c) => c,
                Err(d) => {
                    eprint!("{}", crate::diagnostic::render(&[d], color));
                    return ExitStatus::Error;
                }
            }
        }
        None => crate::review::ReviewConfig::default(),
    };
    if let Some(n) = args.min_n {
        config.min_opportunities = n;
    }
    let plan = match &args.plan {
        Some(path) => {
            let src = match read_source(path) {
                Ok(s) => s,
                Err(s) => return s,
            };
            match crate::review::config::parse_plan(&src) {
                Ok(p) => p,
                Err(d) => {
                    eprint!("{}", crate::diagnostic::render(&[d], color));
                    return ExitStatus::Error;
                }
            }
        }
        None => Vec::new(),
    };
    let mut reviewer = Reviewer::new(
        prepared.procedure(),
        &prepared.name,
        ReviewOptions {
            by,
            config,
            plan,
            worst: args.worst,
        },
    );
    let (mut checker, log_opts) = match prepared.checker(reviewer.columns()) {
        Ok(x) => x,
        Err(s) => return s,
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => {
                return usage_error(&format!("cannot write `{}`: {e}", path.display()));
            }
        },
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let csv = args.format == Format::Csv;
    if csv {
        let _ = writeln!(out, "{}", report::CSV_HEADER);
    }
    let mut write_error: Option<std::io::Error> = None;
    let mut each = |c: crate::check::Checked| -> Result<(), std::io::Error> {
        let mut rows = |r: crate::review::FindingRow<'_>| {
            if csv
                && write_error.is_none()
                && let Err(e) = writeln!(out, "{}", report::csv_row(&r))
            {
                write_error = Some(e);
            }
        };
        reviewer.add(&c, if csv { Some(&mut rows) } else { None });
        match write_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    };
    let mut rejections = super::Rejections::new(args.source.read.max_errors);
    let mut reject = |r: crate::log::Rejected| rejections.add(&r);
    let stats = match checker.run(&args.source.logs, &log_opts, &mut each, &mut reject) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return ExitStatus::Success,
        Err(e) => {
            eprintln!("error: cannot write output: {e}");
            return ExitStatus::Error;
        }
    };
    rejections.finish();
    let (_, nothing_read) = super::check::after_run(&prepared, &checker, &stats, &log_opts);
    let review = reviewer.finish();
    let text = match args.format {
        Format::Human => report::human(&review),
        Format::Json => report::json(&review) + "\n",
        Format::Markdown => report::markdown(&review),
        Format::Html => report::html(&review),
        Format::Csv => String::new(),
    };
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write output: {e}");
        return ExitStatus::Error;
    }
    if csv || args.output.is_some() {
        super::note!(
            "{} cases: {} deviations in {} opportunities",
            review.cases,
            review.overall.deviations,
            review.overall.opportunities
        );
    }
    let flagged = review.groups.iter().any(|g| g.flag == Some("above"));
    let systemic = !review.systemic.is_empty();
    // A breakdown column the log lacks is said, never a silent `(none)` group.
    for (by, n) in &review.without_column {
        let all = *n == review.overall.opportunities;
        eprintln!(
            "warning: {} for `--by {by}`: {n} of {} opportunities are grouped as `(none)`",
            if all {
                "no case of the log has a value in the column"
            } else {
                "some cases have no value in the column"
            },
            review.overall.opportunities
        );
    }
    let not_aligned = review.not_judged.get("not-aligned").copied().unwrap_or(0);
    if not_aligned > 0 {
        eprintln!(
            "error: {not_aligned} cases could not be aligned within --max-states; they are in \
             no rate (not_judged), and the review is incomplete"
        );
    }
    if !stats.unreadable.is_empty() || nothing_read || rejections.count() > 0 || not_aligned > 0 {
        ExitStatus::Error
    } else if match args.fail_on {
        Some(FailOn::Flagged) => flagged,
        Some(FailOn::Systemic) => systemic,
        Some(FailOn::Any) => flagged || systemic,
        None => false,
    } {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}
