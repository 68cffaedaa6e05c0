//! `procedo check (-p PROC | --model NET.pnml) LOGS...`

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use super::{ExitStatus, usage_error};

use crate::audit::Perspectives;
use crate::check::{CheckOptions, Checker, Summary, Verdict};
use crate::conformance::ActivityMap;
use crate::log::LogOptions;
use crate::model::Procedure;
use crate::petri::Net;
use crate::report::check as report;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub(crate) source: Source,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Human output: show each non-conforming case's alignment.
    #[arg(short, long)]
    verbose: bool,
    /// Exit 1 when any case has a finding of this severity (`nonconforming` = `error`).
    #[arg(long = "fail-on", value_enum)]
    fail_on: Option<FailOn>,
    /// Exit 2 when a set-up warning says a perspective could not be checked as asked (no
    /// times, no recipients, no acknowledgements, no resources, no facts, no actor for
    /// actor constraints, times assumed UTC).
    #[arg(long)]
    strict: bool,
}

/// What is checked against what: the procedure (or net), the logs and how to read them.
/// `check` and `review` share it.
#[derive(Debug, clap::Args)]
pub(crate) struct Source {
    /// The procedure whose permitted paths the cases must follow.
    #[arg(
        short,
        long,
        conflicts_with = "model",
        required_unless_present = "model"
    )]
    pub(crate) procedure: Option<PathBuf>,
    /// A workflow net in PNML (e.g. from pm4py or ProM), or a BPMN 2.0 process (`.bpmn`:
    /// its control flow, tasks by name), instead of a procedure.
    #[arg(long, value_name = "NET.pnml|FILE.bpmn")]
    model: Option<PathBuf>,
    /// Event logs: XES (`.xes`, `.xes.gz`), CSV (`.csv`, `.csv.gz`), JSON Lines (`.jsonl`) or
    /// YAML (`.yaml`: `cases:` with `id`, `facts` and `events` of `activity`, `time`, `actor`);
    /// `-` reads standard input (with --input-format).
    #[arg(required = true)]
    pub(crate) logs: Vec<PathBuf>,
    /// CSV/JSON Lines column holding the case id [default: the procedure's mapping, else
    /// case:concept:name] (as for `explain`, where `--case` names one case).
    #[arg(long, value_name = "COLUMN")]
    case_column: Option<String>,
    #[command(flatten)]
    pub(crate) read: super::LogArgs,
    /// Keep each case's events in file order instead of ordering them by timestamp.
    #[arg(long)]
    keep_file_order: bool,
    #[command(flatten)]
    pub(crate) judge: super::JudgeArgs,
    /// Treat cases without an end as running at this time (RFC 3339, e.g.
    /// 2026-03-01T12:00:00Z): obligations are met, pending, at-risk or violated.
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
}

/// A [`Source`] made ready: the net, its name, the procedure, the check options, how to
/// read the logs and the roster.
pub(crate) struct Prepared {
    pub(crate) net: Net,
    pub(crate) name: String,
    pub(crate) loaded: Option<(ActivityMap, Procedure)>,
    pub(crate) opts: CheckOptions,
    pub(crate) read: LogOptions,
    pub(crate) roster: Option<crate::audit::roster::Roster>,
}

impl Prepared {
    pub(crate) fn procedure(&self) -> Option<&Procedure> {
        self.loaded.as_ref().map(|(_, p)| p)
    }

    /// The checker, and the log options with the columns it (and `extra`) read.
    pub(crate) fn checker(
        &self,
        extra: Vec<String>,
    ) -> Result<(Checker<'_>, LogOptions), ExitStatus> {
        let mut checker = Checker::new(
            &self.net,
            self.procedure(),
            self.opts.clone(),
            self.roster.clone(),
        )
        .map_err(|e| usage_error(&e))?;
        let mut columns: Vec<String> = checker.columns().into_iter().collect();
        columns.extend(extra);
        let log_opts = LogOptions {
            // Control flow needs only activity, time and resource; the perspectives name
            // the other columns they read.
            keep_attributes: false,
            extra: columns.into_iter().collect(),
            ..self.read.clone()
        };
        checker.read_times_as(&log_opts);
        Ok((checker, log_opts))
    }
}

/// What `check` and `review` say once the logs are read: each unreadable log, each set-up
/// warning, and that no case was read. Returns the warnings and whether nothing was read.
pub(crate) fn after_run(
    prepared: &Prepared,
    checker: &Checker<'_>,
    stats: &crate::check::RunStats,
    log_opts: &LogOptions,
) -> (Vec<String>, bool) {
    for (_, e) in &stats.unreadable {
        // The reader's message names the log.
        eprintln!("error: {e}");
    }
    let mut warnings = Vec::new();
    for w in crate::check::warnings(
        prepared.procedure(),
        checker.auditor(),
        checker.options().perspectives,
        stats,
        log_opts,
    ) {
        eprintln!("warning: {}", w.message);
        warnings.push(w.message);
    }
    // An empty or header-only log gives no verdict: never "100% conforming".
    let nothing_read = stats.read.cases == 0;
    if nothing_read && stats.unreadable.is_empty() {
        eprintln!("error: no cases were read");
    }
    (warnings, nothing_read)
}

/// Loads what `src` names.
pub(crate) fn prepare(
    src: &Source,
    color: bool,
    with_alignment: bool,
) -> Result<Prepared, ExitStatus> {
    let (net, name, loaded) = load_net(src, color)?;
    let as_of = super::as_of_arg(src.as_of.as_deref())?;
    let opts = src.judge.options(as_of, with_alignment)?;
    let read = src.read.options(
        loaded.as_ref().map(|(_, p)| p),
        src.case_column.clone(),
        src.keep_file_order,
        &src.logs,
    )?;
    // The roster's times are read as the log's are (its zone).
    let roster = super::read_roster(src.judge.roster.as_deref(), &read)?;
    Ok(Prepared {
        net,
        name,
        loaded,
        opts,
        read,
        roster,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Perspective {
    All,
    None,
    Decisions,
    Time,
    Communication,
    Monitoring,
    Resources,
    Constraints,
}

pub(crate) fn perspectives(list: &[Perspective]) -> Perspectives {
    let mut p = Perspectives::NONE;
    for x in list {
        match x {
            Perspective::All => p = Perspectives::ALL,
            Perspective::None => {}
            Perspective::Decisions => p.decisions = true,
            Perspective::Time => p.time = true,
            Perspective::Communication => p.communication = true,
            Perspective::Monitoring => p.monitoring = true,
            Perspective::Resources => p.resources = true,
            Perspective::Constraints => p.constraints = true,
        }
    }
    p
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Jsonl,
    Csv,
    Junit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// Any error finding (the case does not conform).
    Nonconforming,
    /// Same as `nonconforming`.
    Error,
    /// Any finding, warnings included.
    Warning,
}

/// A BPMN file by its name: `.bpmn`, or `.bpmn20.xml` / `.bpmn.xml` as Activiti and
/// Flowable save them.
fn is_bpmn(path: &std::path::Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".bpmn") || name.ends_with(".bpmn20.xml") || name.ends_with(".bpmn.xml")
}

type Loaded = (Net, String, Option<(ActivityMap, Procedure)>);

fn load_net(args: &Source, color: bool) -> Result<Loaded, ExitStatus> {
    if let Some(m) = &args.model
        && is_bpmn(m)
    {
        let source = super::import::read_source(m)?;
        let (net, diagnostics) = match crate::bpmn::to_net(&source, None) {
            Ok(x) => x,
            Err(d) => {
                eprint!("{}", crate::diagnostic::render(&[d], color));
                return Err(ExitStatus::Error);
            }
        };
        // The net is the diagram's control flow; what the import drops or approximates
        // (timer paths, intermediate events, ...) is not in it as drawn.
        if !diagnostics.is_empty() {
            super::note!(
                "note: {} elements of `{}` are dropped or approximated in its net (`procedo import {}` lists them)",
                diagnostics.len(),
                m.display(),
                m.display()
            );
        }
        return Ok((net, m.display().to_string(), None));
    }
    if let Some(m) = &args.model {
        return crate::petri::pnml::read_pnml(m)
            .map(|n| (n, m.display().to_string(), None))
            .map_err(|e| usage_error(&e));
    }
    let Some(path) = &args.procedure else {
        return Err(usage_error(
            "give a procedure (-p PROC) or a net (--model NET.pnml)",
        ));
    };
    let p = super::load_procedure(path, color, "check with it")?;
    let net = crate::petri::compile::compile(&p);
    let map = ActivityMap::from_procedure(&p);
    Ok((net, p.ast().id.text.clone(), Some((map, p))))
}

pub(crate) fn run(args: &Args, color: bool) -> ExitStatus {
    let prepared = match prepare(
        &args.source,
        color,
        args.verbose || args.format == Format::Json,
    ) {
        Ok(p) => p,
        Err(s) => return s,
    };
    let (mut checker, log_opts) = match prepared.checker(Vec::new()) {
        Ok(x) => x,
        Err(s) => return s,
    };
    let name = &prepared.name;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // Verdicts are kept only where the output needs them all at the end (json, junit)
    // or shows each non-conforming case (human with -v); otherwise memory stays flat.
    let keep_all = matches!(args.format, Format::Json | Format::Junit)
        || (args.format == Format::Human && args.verbose);
    let mut results: Vec<Verdict> = Vec::new();
    let mut summary = Summary::default();
    let mut progress = Progress::new();
    if args.format == Format::Csv {
        let _ = writeln!(out, "{}", report::CSV_HEADER);
    }
    let format = args.format;
    let mut each = |c: crate::check::Checked| -> Result<(), std::io::Error> {
        let v = c.verdict;
        summary.add(&v);
        progress.tick(summary.cases);
        match format {
            Format::Jsonl => writeln!(out, "{}", serde_json::to_string(&v).unwrap_or_default())?,
            Format::Csv => writeln!(out, "{}", report::csv_row(&v))?,
            _ => {}
        }
        if keep_all {
            results.push(v);
        }
        Ok(())
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
    let (warnings, nothing_read) = after_run(&prepared, &checker, &stats, &log_opts);
    match args.format {
        Format::Human => {
            let _ = write!(
                out,
                "{}",
                report::human(name, &results, &summary, &stats, args.verbose)
            );
        }
        Format::Json => {
            let _ = writeln!(
                out,
                "{}",
                report::json(name, &summary, &stats, &warnings, &results)
            );
        }
        Format::Junit => {
            let _ = write!(out, "{}", report::junit(name, &results));
        }
        Format::Jsonl | Format::Csv if nothing_read => {}
        Format::Jsonl | Format::Csv => {
            super::note!("{}", report::closing_line(&summary, &stats));
        }
    }
    progress.clear();
    let _ = out.flush();
    if !stats.unreadable.is_empty()
        || nothing_read
        || rejections.count() > 0
        || summary.not_aligned > 0
        || (args.strict && !warnings.is_empty())
    {
        ExitStatus::Error
    } else if match args.fail_on {
        Some(FailOn::Nonconforming | FailOn::Error) => summary.conforming < summary.cases,
        Some(FailOn::Warning) => summary.conforming < summary.cases || summary.warnings > 0,
        None => false,
    } {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}

/// A progress line on stderr for long runs, only when stderr is a terminal.
struct Progress {
    start: std::time::Instant,
    last: std::time::Instant,
    shown: bool,
    enabled: bool,
}

impl Progress {
    fn new() -> Self {
        use std::io::IsTerminal;
        let now = std::time::Instant::now();
        Progress {
            start: now,
            last: now,
            shown: false,
            enabled: std::io::stderr().is_terminal() && !super::quiet(),
        }
    }

    fn tick(&mut self, cases: usize) {
        if !self.enabled
            || self.start.elapsed().as_secs_f64() < 1.0
            || self.last.elapsed().as_millis() < 250
        {
            return;
        }
        self.last = std::time::Instant::now();
        let rate = cases as f64 / self.start.elapsed().as_secs_f64();
        // A carriage return and padding, no escape sequence: NO_COLOR terminals get none.
        eprint!(
            "\r{:<60}",
            format!("checked {cases} cases ({rate:.0} cases/s)")
        );
        self.shown = true;
    }

    fn clear(&mut self) {
        if self.shown {
            eprint!("\r{:60}\r", "");
        }
    }
}
