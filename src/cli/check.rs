//! `procedo check (-p PROC | --model NET.pnml) LOGS...`

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use super::{ExitStatus, usage_error};
use crate::conformance::{ActivityMap, CaseResult, check_case};
use crate::log::{LogOptions, ReadStats, read_log};
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
    /// YAML (`.yaml`: `cases:` with `id`, `facts` and `events` of `activity`, `time`, `actor`).
    #[arg(required = true)]
    logs: Vec<PathBuf>,
    /// Attribute(s) naming the activity; several are joined with `+`
    /// (`concept:name,lifecycle:transition` for BPIC 2013).
    #[arg(long, value_delimiter = ',', default_value = "concept:name")]
    activity: Vec<String>,
    /// CSV/JSON Lines column holding the case id.
    #[arg(long, default_value = "case:concept:name")]
    case: String,
    /// Column holding the event time.
    #[arg(long, default_value = "time:timestamp")]
    timestamp: String,
    /// strftime format of the timestamps, e.g. `%d/%m/%Y %H:%M` (default: RFC 3339 and ISO forms).
    #[arg(long, value_name = "FMT")]
    timestamp_format: Option<String>,
    /// Keep each case's events in file order instead of ordering them by timestamp.
    #[arg(long)]
    keep_file_order: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Human output: show each non-conforming case's alignment.
    #[arg(short, long)]
    verbose: bool,
    /// Exit 1 when any case does not conform.
    #[arg(long = "fail-on", value_enum)]
    fail_on: Option<FailOn>,
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
    Nonconforming,
}

type Loaded = (Net, String, Option<ActivityMap>);

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
    Ok((
        net,
        p.ast().id.text.clone(),
        Some(ActivityMap::from_procedure(&p)),
    ))
}

pub(crate) fn run(args: &Args, color: bool) -> ExitStatus {
    let (net, name, activity_map) = match load_net(args, color) {
        Ok(x) => x,
        Err(status) => return status,
    };
    let opts = LogOptions {
        activity: args.activity.clone(),
        case: args.case.clone(),
        timestamp: args.timestamp.clone(),
        resource: "org:resource".into(),
        timestamp_format: args.timestamp_format.clone(),
        keep_file_order: args.keep_file_order,
        // Control flow needs only activity, time and resource.
        keep_attributes: false,
    };
    let mut aligner = Aligner::new(&net);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut results: Vec<CaseResult> = Vec::new();
    let mut totals = ReadStats::default();
    let mut rejected = 0usize;
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
        let mut batch: Vec<crate::log::Trace> = Vec::new();
        let mut emit = |batch: &mut Vec<crate::log::Trace>,
                        aligner: &mut Aligner<'_>,
                        write_err: &mut Option<std::io::Error>| {
            // Align the batch's new variants in parallel, then report in log order.
            let encoded: Vec<Vec<Option<u32>>> = batch
                .iter()
                .map(|t| {
                    aligner.encode(
                        &t.events
                            .iter()
                            .map(|e| e.activity.as_str())
                            .collect::<Vec<_>>(),
                    )
                })
                .collect();
            aligner.prepare(&encoded);
            for trace in batch.drain(..) {
                let r = check_case(
                    aligner,
                    &net,
                    &trace,
                    args.verbose || args.format == Format::Json,
                );
                summary.add(&r);
                match args.format {
                    Format::Jsonl => {
                        if let Err(e) =
                            writeln!(out, "{}", serde_json::to_string(&r).unwrap_or_default())
                        {
                            write_err.get_or_insert(e);
                        }
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
                    results.push(r);
                }
            }
        };
        // One thread reads and groups the log while this one aligns and reports: batches
        // of cases pass through a bounded channel, so memory stays bounded.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<crate::log::Trace>>(2);
        let (stats, rejected_here) = std::thread::scope(|scope| {
            let opts = &opts;
            let reader = scope.spawn(move || {
                let mut pending: Vec<crate::log::Trace> = Vec::new();
                let mut rejected = 0usize;
                let stats = read_log(
                    log,
                    opts,
                    &mut |trace| {
                        pending.push(trace);
                        if pending.len() >= BATCH {
                            let _ = tx.send(std::mem::take(&mut pending));
                        }
                    },
                    &mut |r| {
                        rejected += 1;
                        eprintln!("error: {}: {}", r.location, r.reason);
                    },
                );
                if !pending.is_empty() {
                    let _ = tx.send(pending);
                }
                (stats, rejected)
            });
            for mut received in rx {
                if let Some(map) = &activity_map {
                    for trace in &mut received {
                        set_aside += map.apply(trace);
                    }
                }
                cases_seen += received.len();
                batch.append(&mut received);
                emit(&mut batch, &mut aligner, &mut write_err);
                progress.tick(cases_seen);
            }
            reader
                .join()
                .unwrap_or_else(|_| (Err("the log reader stopped unexpectedly".to_string()), 0))
        });
        rejected += rejected_here;
        match stats {
            Ok(s) => {
                totals.cases += s.cases;
                totals.events_read += s.events_read;
                totals.events_in_cases += s.events_in_cases;
                totals.events_rejected += s.events_rejected;
            }
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
    if unreadable || rejected > 0 {
        ExitStatus::Error
    } else if args.fail_on.is_some() && summary.conforming < summary.cases {
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
}

impl Summary {
    fn add(&mut self, r: &CaseResult) {
        self.cases += 1;
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
    results: &[CaseResult],
    s: &Summary,
    totals: &ReadStats,
    verbose: bool,
) -> String {
    let mut out = String::new();
    if verbose {
        for r in results.iter().filter(|r| !r.conforming) {
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
    out.push_str(&format!(
        "{} events read = {} checked + {} rejected\n",
        totals.events_read, totals.events_in_cases, totals.events_rejected
    ));
    if !s.by_code.is_empty() {
        out.push_str("deviations by code:\n");
        for (c, n) in &s.by_code {
            out.push_str(&format!("  {c:16} {n}\n"));
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

fn junit(name: &str, results: &[CaseResult]) -> String {
    let failures = results.iter().filter(|r| !r.conforming).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        xml_escape(name),
        results.len()
    );
    for r in results {
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
