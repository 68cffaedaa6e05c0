//! `procedo check (-p PROC | --model NET.pnml) LOGS...`

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use super::{ExitStatus, usage_error};
use rayon::prelude::*;

use crate::audit::{Auditor, Perspectives};
use crate::conformance::{ActivityMap, CaseResult, check_case};
use crate::log::{LogOptions, ReadStats, read_log};
use crate::model::Procedure;
use crate::petri::Net;
use crate::petri::align::Aligner;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The procedure whose permitted paths the cases must follow.
    #[arg(
        short,
        long,
        conflicts_with = "model",
        required_unless_present = "model"
    )]
    procedure: Option<PathBuf>,
    /// A workflow net in PNML (e.g. from pm4py or ProM) instead of a procedure.
    #[arg(long, value_name = "NET.pnml")]
    model: Option<PathBuf>,
    /// Event logs: XES (`.xes`, `.xes.gz`), CSV (`.csv`, `.csv.gz`), JSON Lines (`.jsonl`) or
    /// YAML (`.yaml`: `cases:` with `id`, `facts` and `events` of `activity`, `time`, `actor`);
    /// `-` reads standard input (with --input-format).
    #[arg(required = true)]
    logs: Vec<PathBuf>,
    /// CSV/JSON Lines column holding the case id [default: the procedure's mapping, else
    /// case:concept:name].
    #[arg(long, value_name = "COLUMN")]
    case: Option<String>,
    #[command(flatten)]
    read: super::LogArgs,
    /// Keep each case's events in file order instead of ordering them by timestamp.
    #[arg(long)]
    keep_file_order: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Human output: show each non-conforming case's alignment.
    #[arg(short, long)]
    verbose: bool,
    /// Exit 1 when any case has a finding of this severity (`nonconforming` = `error`).
    #[arg(long = "fail-on", value_enum)]
    fail_on: Option<FailOn>,
    /// Perspectives to check beyond control flow (always checked): `all`, `none`, or a list
    /// of decisions, time, communication, monitoring, resources, constraints.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "all",
        value_name = "LIST"
    )]
    perspectives: Vec<Perspective>,
    /// Resources roster (CSV or YAML: resource, type, capabilities, available_from,
    /// available_to) to check that recorded resources were on it and available.
    #[arg(long, value_name = "FILE")]
    roster: Option<PathBuf>,
    /// Treat cases without an end as running at this time (RFC 3339, e.g.
    /// 2026-03-01T12:00:00Z): obligations are met, pending, at-risk or violated.
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Perspective {
    All,
    None,
    Decisions,
    Time,
    Communication,
    Monitoring,
    Resources,
    Constraints,
}

fn perspectives(list: &[Perspective]) -> Perspectives {
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

/// A case's verdict with what the perspectives add.
#[derive(serde::Serialize)]
struct Checked {
    #[serde(flatten)]
    result: CaseResult,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    running: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    obligations: Vec<crate::audit::Obligation>,
}

/// Cases aligned together (in parallel) before their results are written in order.
const BATCH: usize = 512;

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

type Loaded = (Net, String, Option<(ActivityMap, Procedure)>);

fn load_net(args: &Args, color: bool) -> Result<Loaded, ExitStatus> {
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
    let (net, name, loaded) = match load_net(args, color) {
        Ok(x) => x,
        Err(status) => return status,
    };
    let (as_of, roster) =
        match super::as_of_and_roster(args.as_of.as_deref(), args.roster.as_deref()) {
            Ok(x) => x,
            Err(s) => return s,
        };
    let wanted = perspectives(&args.perspectives);
    let auditor = match &loaded {
        // Loop bounds are control flow: the auditor runs even without perspectives.
        Some((_, p)) => match Auditor::new(p, wanted) {
            Ok(a) => Some(a),
            Err(e) => return usage_error(&e),
        },
        _ => None,
    };
    let auditor = match (auditor, roster) {
        (Some(a), Some(r)) => Some(a.with_roster(r)),
        (None, Some(_)) => {
            return usage_error("--roster needs a procedure (-p) and the resources perspective");
        }
        (a, None) => a,
    };
    let activity_map = loaded.as_ref().map(|(m, _)| m);
    let opts = match args.read.options(
        loaded.as_ref().map(|(_, p)| p),
        args.case.clone(),
        args.keep_file_order,
        &args.logs,
    ) {
        Ok(o) => LogOptions {
            // Control flow needs only activity, time and resource; the perspectives name
            // the other columns they read.
            keep_attributes: false,
            extra: auditor
                .as_ref()
                .filter(|_| wanted.any())
                .map(|a| a.columns().into_iter().collect())
                .unwrap_or_default(),
            ..o
        },
        Err(s) => return s,
    };
    let mut aligner = Aligner::new(&net);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut results: Vec<Checked> = Vec::new();
    let mut totals = ReadStats::default();
    let mut rejections = super::Rejections::new(args.read.max_errors);
    let mut unreadable = false;
    let mut progress = Progress::new();
    let mut cases_seen = 0usize;
    // Events the procedure maps to `ignore`, to recorded events or to monitors.
    let mut set_aside = 0usize;
    // Results are kept only where the output needs them all at the end (json, junit) or
    // shows each non-conforming case (human with -v); otherwise memory stays flat.
    let keep_all = matches!(args.format, Format::Json | Format::Junit)
        || (args.format == Format::Human && args.verbose);
    let mut summary = Summary::default();
    if args.format == Format::Csv {
        let _ = writeln!(
            out,
            "case_id,conforming,cost,fitness,events,deviations,codes"
        );
    }
    for log in &args.logs {
        let mut write_err = None;
        let mut batch: Vec<(crate::log::Trace, Option<Vec<usize>>)> = Vec::new();
        let mut emit = |batch: &mut Vec<(crate::log::Trace, Option<Vec<usize>>)>,
                        aligner: &mut Aligner<'_>,
                        write_err: &mut Option<std::io::Error>| {
            // Align the batch's new variants in parallel, then report in log order.
            let encoded: Vec<Vec<Option<u32>>> = batch
                .iter()
                .map(|(t, flow)| {
                    let acts: Vec<&str> = match flow {
                        Some(f) => f.iter().map(|&i| t.events[i].activity.as_str()).collect(),
                        None => t.events.iter().map(|e| e.activity.as_str()).collect(),
                    };
                    aligner.encode(&acts)
                })
                .collect();
            aligner.prepare(&encoded);
            let mut checked: Vec<CaseResult> = batch
                .iter()
                .map(|(trace, flow)| {
                    check_case(
                        aligner,
                        &net,
                        trace,
                        flow.as_deref(),
                        args.verbose || args.format == Format::Json,
                    )
                })
                .collect();
            // The other perspectives, case by case in parallel.
            let audits: Vec<Option<crate::audit::Audit>> = match &auditor {
                Some(a) => batch
                    .par_iter()
                    .zip(checked.par_iter())
                    .map(|((t, _), r)| Some(a.audit(t, Some(r), as_of)))
                    .collect(),
                None => batch.iter().map(|_| None).collect(),
            };
            batch.clear();
            for (mut r, audit) in checked.drain(..).zip(audits) {
                let mut extra = (false, None, Vec::new());
                if let (Some(a), Some(mut audit)) = (&auditor, audit) {
                    a.merge(&mut r, &mut audit);
                    extra = (audit.running, audit.priority, audit.obligations);
                }
                summary.add(&r, &extra.2);
                summary.running += usize::from(extra.0);
                match args.format {
                    Format::Jsonl => {
                        let c = Checked {
                            result: r,
                            running: extra.0,
                            priority: extra.1,
                            obligations: extra.2,
                        };
                        if let Err(e) =
                            writeln!(out, "{}", serde_json::to_string(&c).unwrap_or_default())
                        {
                            write_err.get_or_insert(e);
                        }
                        if keep_all {
                            results.push(c);
                        }
                        continue;
                    }
                    Format::Csv => {
                        let codes: Vec<&str> = r.findings.iter().map(|f| f.code).collect();
                        if let Err(e) = writeln!(
                            out,
                            "{},{},{},{},{},{},{}",
                            csv_field(&r.case_id),
                            r.conforming,
                            r.cost.map_or(String::new(), |c| c.to_string()),
                            r.fitness.map_or(String::new(), |f| format!("{f}")),
                            r.events,
                            r.findings.len(),
                            codes.join(";")
                        ) {
                            write_err.get_or_insert(e);
                        }
                    }
                    _ => {}
                }
                if keep_all {
                    results.push(Checked {
                        result: r,
                        running: extra.0,
                        priority: extra.1,
                        obligations: extra.2,
                    });
                }
            }
        };
        // One thread reads and groups the log while this one aligns and reports: batches
        // of cases pass through a bounded channel, so memory stays bounded.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<crate::log::Trace>>(2);
        let stats = std::thread::scope(|scope| {
            let opts = &opts;
            let rejections = &mut rejections;
            let reader = scope.spawn(move || {
                let mut pending: Vec<crate::log::Trace> = Vec::new();
                let stats = read_log(
                    log,
                    opts,
                    &mut |trace| {
                        pending.push(trace);
                        if pending.len() >= BATCH {
                            let _ = tx.send(std::mem::take(&mut pending));
                        }
                    },
                    &mut |r| rejections.add(&r),
                );
                if !pending.is_empty() {
                    let _ = tx.send(pending);
                }
                stats
            });
            for received in rx {
                cases_seen += received.len();
                for mut trace in received {
                    let flow = activity_map.map(|map| {
                        let flow = map.prepare(&mut trace);
                        set_aside += trace.events.len() - flow.len();
                        flow
                    });
                    batch.push((trace, flow));
                }
                emit(&mut batch, &mut aligner, &mut write_err);
                progress.tick(cases_seen);
            }
            reader
                .join()
                .unwrap_or_else(|_| Err("the log reader stopped unexpectedly".to_string()))
        });
        match stats {
            Ok(s) => totals.add(&s),
            Err(e) => {
                eprintln!("error: {e}");
                unreadable = true;
            }
        }
        if let Some(e) = write_err
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            eprintln!("error: cannot write output: {e}");
            return ExitStatus::Error;
        }
    }
    rejections.finish();
    super::log_warnings(&totals, &opts, loaded.as_ref().map(|(_, p)| p));
    // An empty or header-only log gives no verdict: never "100% conforming".
    let nothing_read = totals.cases == 0;
    if nothing_read && !unreadable {
        eprintln!("error: no cases were read");
    }
    match args.format {
        Format::Human => {
            let _ = write!(
                out,
                "{}",
                human(&name, &results, &summary, &totals, args.verbose)
            );
        }
        Format::Json => {
            let doc = serde_json::json!({
                "version": 1,
                "model": name,
                "summary": summary.json(&totals, set_aside),
                "cases": results,
            });
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            );
        }
        Format::Junit => {
            let _ = write!(out, "{}", junit(&name, &results));
        }
        Format::Jsonl | Format::Csv if nothing_read => {}
        Format::Jsonl | Format::Csv => {
            eprintln!(
                "{} cases: {} conforming; {} events read = {} checked + {} rejected",
                summary.cases,
                summary.conforming,
                totals.events_read,
                totals.events_in_cases,
                totals.events_rejected
            );
        }
    }
    progress.clear();
    let _ = out.flush();
    if unreadable || nothing_read || rejections.count() > 0 {
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

#[derive(Default)]
struct Summary {
    cases: usize,
    conforming: usize,
    by_code: BTreeMap<&'static str, usize>,
    by_step: BTreeMap<String, usize>,
    fitness_sum: f64,
    warnings: usize,
    running: usize,
    obligations: BTreeMap<&'static str, usize>,
}

impl Summary {
    fn add(&mut self, r: &CaseResult, obligations: &[crate::audit::Obligation]) {
        self.cases += 1;
        for o in obligations {
            *self.obligations.entry(o.status.as_str()).or_default() += 1;
        }
        self.warnings += r
            .findings
            .iter()
            .filter(|f| {
                crate::audit::codes::severity(f.code) == crate::audit::codes::Severity::Warning
            })
            .count();
        if r.conforming {
            self.conforming += 1;
        }
        self.fitness_sum += r.fitness.unwrap_or(0.0);
        for f in &r.findings {
            *self.by_code.entry(f.code).or_default() += 1;
            *self.by_step.entry(f.step.clone()).or_default() += 1;
        }
    }

    fn json(&self, totals: &ReadStats, set_aside: usize) -> serde_json::Value {
        serde_json::json!({
            "cases": self.cases,
            "conforming": self.conforming,
            "mean_fitness": if self.cases > 0 { self.fitness_sum / self.cases as f64 } else { 1.0 },
            "deviations_by_code": self.by_code,
            "deviations_by_step": self.by_step,
            "events_read": totals.events_read,
            "events_checked": totals.events_in_cases,
            "events_rejected": totals.events_rejected,
            "events_set_aside": set_aside,
            "running": self.running,
            "obligations": self.obligations,
        })
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn human(
    name: &str,
    results: &[Checked],
    s: &Summary,
    totals: &ReadStats,
    verbose: bool,
) -> String {
    let mut out = String::new();
    if verbose {
        for c in results.iter().filter(|c| !c.result.conforming) {
            let r = &c.result;
            out.push_str(&format!(
                "case {} — cost {}, fitness {:.4}\n",
                r.case_id,
                r.cost.map_or("-".into(), |c| c.to_string()),
                r.fitness.unwrap_or(0.0)
            ));
            let width = r
                .alignment
                .iter()
                .map(|(a, b)| a.chars().count().max(b.chars().count()))
                .collect::<Vec<_>>();
            let log: Vec<String> = r
                .alignment
                .iter()
                .zip(&width)
                .map(|((a, _), w)| format!("{a:w$}"))
                .collect();
            let model: Vec<String> = r
                .alignment
                .iter()
                .zip(&width)
                .map(|((_, b), w)| format!("{b:w$}"))
                .collect();
            out.push_str(&format!(
                "  log   | {}\n  model | {}\n",
                log.join(" | "),
                model.join(" | ")
            ));
            for f in &r.findings {
                out.push_str(&format!("  {}: {}\n", f.code, f.message));
            }
        }
    }
    let pct = if s.cases > 0 {
        100.0 * s.conforming as f64 / s.cases as f64
    } else {
        100.0
    };
    out.push_str(&format!("checked against {name}\n"));
    if s.cases == 0 {
        out.push_str("no cases were read\n");
    } else {
        out.push_str(&format!(
            "{} cases: {} conforming ({pct:.1}%), mean fitness {:.4}\n",
            s.cases,
            s.conforming,
            if s.cases > 0 {
                s.fitness_sum / s.cases as f64
            } else {
                1.0
            }
        ));
    }
    out.push_str(&format!(
        "{} events read = {} checked + {} rejected\n",
        totals.events_read, totals.events_in_cases, totals.events_rejected
    ));
    if s.running > 0 {
        out.push_str(&format!("{} cases still running\n", s.running));
    }
    if !s.obligations.is_empty() {
        let parts: Vec<String> = s
            .obligations
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        out.push_str(&format!("obligations: {}\n", parts.join(", ")));
    }
    if !s.by_code.is_empty() {
        out.push_str("deviations by code:\n");
        for (c, n) in &s.by_code {
            out.push_str(&format!("  {c:26} {n}\n"));
        }
        let mut steps: Vec<(&String, &usize)> = s.by_step.iter().collect();
        steps.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        out.push_str("deviations by step (top 10):\n");
        for (st, n) in steps.iter().take(10) {
            out.push_str(&format!("  {st:32} {n}\n"));
        }
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn junit(name: &str, results: &[Checked]) -> String {
    let failures = results.iter().filter(|c| !c.result.conforming).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        xml_escape(name),
        results.len()
    );
    for c in results {
        let r = &c.result;
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml_escape(name),
            xml_escape(&r.case_id)
        ));
        if r.conforming {
            out.push_str("/>\n");
        } else {
            let text: Vec<String> = r
                .findings
                .iter()
                .map(|f| format!("{}: {}", f.code, f.message))
                .collect();
            out.push_str(&format!(
                ">\n      <failure message=\"{} deviations, cost {}\">{}</failure>\n    </testcase>\n",
                r.findings.len(),
                r.cost.map_or("-".into(), |c| c.to_string()),
                xml_escape(&text.join("\n"))
            ));
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
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
            enabled: std::io::stderr().is_terminal(),
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
        eprint!("\r\x1b[2Kchecked {cases} cases ({rate:.0} cases/s)");
        self.shown = true;
    }

    fn clear(&mut self) {
        if self.shown {
            eprint!("\r\x1b[2K");
        }
    }
}
