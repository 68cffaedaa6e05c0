//! `procedo assess -p PROC INPUTS...`

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;
use serde::Serialize;

use super::{ExitStatus, usage_error};
use crate::eval::{Assessment, Assessor, FactError};
use crate::input::{InputFormat, Location, RawRecord, read_records};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The procedure whose validity and priority rules to apply.
    #[arg(short, long)]
    procedure: PathBuf,
    /// Incident files: YAML, JSON, JSON Lines or CSV with a header row (`.gz` allowed).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Input format, when the file name does not tell.
    #[arg(long, value_enum)]
    input_format: Option<IncidentFormat>,
    /// Read fact FIELD from input column COLUMN (repeatable), on top of the procedure's mapping.
    #[arg(long = "map", value_name = "FIELD=COLUMN")]
    maps: Vec<String>,
    /// The field that identifies each incident (default: the column mapped to `case`, else `id`).
    #[arg(long)]
    id: Option<String>,
    /// Text that means "not recorded" in CSV cells, besides the empty cell (repeatable), e.g. `?`.
    #[arg(long = "missing", value_name = "TEXT")]
    missing: Vec<String>,
    /// strftime format of timestamp facts in CSV, e.g. `%d/%m/%Y %H:%M` (default: RFC 3339
    /// and common ISO forms).
    #[arg(long, value_name = "FMT")]
    timestamp_format: Option<String>,
    /// Accept JSON/YAML fields that are not facts of the procedure (ignored).
    #[arg(long)]
    allow_extra: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Human output: print only disagreements with the recorded priority and the summary.
    #[arg(long)]
    summary: bool,
    /// Exit 1 when any incident is in the named validity band(s) or the assessed priority
    /// disagrees with the recorded one (`mismatch`).
    #[arg(long = "fail-on", value_enum)]
    fail_on: Vec<FailOn>,
}

/// Rejected records whose errors are printed; the rest are counted.
const MAX_SHOWN: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Jsonl,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Invalid,
    Doubtful,
    Mismatch,
}

/// One assessed incident, as written by `--format json|jsonl`.
#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    file: &'a str,
    record: usize,
    line: Option<usize>,
    #[serde(flatten)]
    assessment: &'a Assessment,
    #[serde(skip_serializing_if = "Option::is_none")]
    recorded_priority: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agrees: Option<bool>,
}

#[derive(Default, Serialize)]
struct Summary {
    read: usize,
    assessed: usize,
    rejected: usize,
    by_priority: BTreeMap<String, usize>,
    by_validity: BTreeMap<String, usize>,
    compared: usize,
    agreed: usize,
    evaluation_errors: usize,
}

struct Run<'a> {
    args: &'a Args,
    assessor: Assessor,
    id_field: Option<String>,
    priority_column: Option<String>,
    summary: Summary,
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    json_rows: Vec<serde_json::Value>,
    rejected: Vec<(Location, Vec<FactError>)>,
    mismatches: Vec<String>,
    failed: bool,
    write_error: Option<std::io::Error>,
}

pub(crate) fn run(args: &Args, color: bool) -> ExitStatus {
    let procedure = match super::load_procedure(&args.procedure, color, "assess with it") {
        Ok(p) => p,
        Err(status) => return status,
    };
    let mut assessor = Assessor::new(&procedure);
    for m in &args.maps {
        let Some((field, column)) = m.split_once('=') else {
            return usage_error(&format!(
                "`--map {m}`: write FIELD=COLUMN, e.g. `--map impact=Impact`"
            ));
        };
        if !assessor.plan().fact_names().any(|f| f == field)
            && !["case", "priority"].contains(&field)
        {
            return usage_error(&format!(
                "`--map {m}`: `{field}` is not a fact of `{}`",
                assessor.plan().id()
            ));
        }
        assessor.map_column(column, field);
    }
    assessor.set_timestamp_format(args.timestamp_format.clone());
    let id_field = args.id.clone().or_else(|| assessor.column_for("case"));
    let priority_column = assessor.column_for("priority");
    let mut formats = Vec::new();
    for input in &args.inputs {
        match args
            .input_format
            .map(IncidentFormat::into_input)
            .or_else(|| InputFormat::detect(input))
        {
            Some(f) => formats.push(f),
            None => {
                return usage_error(&format!(
                    "cannot tell the format of `{}`; use --input-format yaml|json|jsonl|csv",
                    input.display()
                ));
            }
        }
    }
    let mut run = Run {
        args,
        assessor,
        id_field,
        priority_column,
        summary: Summary::default(),
        out: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock()),
        json_rows: Vec::new(),
        rejected: Vec::new(),
        mismatches: Vec::new(),
        failed: false,
        write_error: None,
    };
    if args.format == Format::Csv {
        run.write("id,file,record,applies,validity_score,validity_band,priority,decided_by,targets,recorded_priority,agrees,errors\n");
    }
    let mut unreadable = false;
    for (input, format) in args.inputs.iter().zip(formats) {
        let result = read_records(input, format, &mut |loc, rec| run.record(loc, rec));
        if let Err(e) = result {
            eprintln!("error: {e}");
            unreadable = true;
        }
    }
    run.finish();
    if let Some(e) = run.write_error
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write output: {e}");
        return ExitStatus::Error;
    }
    if unreadable || run.summary.rejected > 0 {
        ExitStatus::Error
    } else if run.failed || run.summary.evaluation_errors > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}

impl Run<'_> {
    fn write(&mut self, s: &str) {
        if self.write_error.is_none()
            && let Err(e) = self.out.write_all(s.as_bytes())
        {
            self.write_error = Some(e);
        }
    }

    fn record(&mut self, loc: Location, rec: Result<RawRecord, String>) {
        self.summary.read += 1;
        let rec = match rec {
            Ok(r) => r,
            Err(message) => {
                self.reject(
                    loc,
                    vec![FactError {
                        field: String::new(),
                        message,
                    }],
                );
                return;
            }
        };
        let id_name = self.id_field.clone().unwrap_or_else(|| "id".to_string());
        let priority_name = self.priority_column.clone().unwrap_or_default();
        let validated = match &rec {
            RawRecord::JsonText(text) => self
                .assessor
                .facts_from_json_str(text, self.args.allow_extra, &[&id_name, &priority_name])
                .map(|(f, mut texts)| {
                    let recorded = texts.pop().flatten();
                    (f, texts.pop().flatten(), recorded)
                }),
            RawRecord::Json(m) => self
                .assessor
                .facts_from_json(m, self.args.allow_extra)
                .map(|f| (f, rec.get_text(&id_name), rec.get_text(&priority_name))),
            RawRecord::Text(..) => self
                .assessor
                .facts_from_text(rec.text_fields(), &self.args.missing)
                .map(|f| (f, rec.get_text(&id_name), rec.get_text(&priority_name))),
        };
        let (facts, id_text, recorded_text) = match validated {
            Ok(x) => x,
            Err(errors) => {
                self.reject(loc, errors);
                return;
            }
        };
        let a = self.assessor.assess(facts);
        self.summary.assessed += 1;
        if !a.errors.is_empty() {
            self.summary.evaluation_errors += 1;
        }
        let id = id_text.unwrap_or_else(|| format!("#{}", loc.record));
        let level = a.priority.as_ref().and_then(|p| p.level.clone());
        if let Some(l) = &level {
            *self.summary.by_priority.entry(l.clone()).or_default() += 1;
        }
        let band = a.validity.as_ref().and_then(|v| v.band.clone());
        if let Some(b) = &band {
            *self.summary.by_validity.entry(b.clone()).or_default() += 1;
            let fail = (b == "invalid" && self.args.fail_on.contains(&FailOn::Invalid))
                || (b == "doubtful" && self.args.fail_on.contains(&FailOn::Doubtful));
            self.failed |= fail;
        }
        let recorded = recorded_text
            .filter(|t| !t.trim().is_empty() && !self.args.missing.iter().any(|m| m == t.trim()))
            .map(|t| self.assessor.map_value("priority", t.trim()).to_string());
        let agrees = recorded.as_ref().map(|r| Some(r) == level.as_ref());
        if let Some(ok) = agrees {
            self.summary.compared += 1;
            if ok {
                self.summary.agreed += 1;
            } else {
                self.failed |= self.args.fail_on.contains(&FailOn::Mismatch);
                let why = a.priority.as_ref().map_or(String::new(), explain_priority);
                self.mismatches.push(format!(
                    "{id} ({loc}): recorded {}, assessed {}: {why}",
                    recorded.as_deref().unwrap_or("-"),
                    level.as_deref().unwrap_or("none")
                ));
            }
        }
        let row = Row {
            id: &id,
            file: &loc.file,
            record: loc.record,
            line: loc.line,
            assessment: &a,
            recorded_priority: recorded.as_deref(),
            agrees,
        };
        match self.args.format {
            Format::Jsonl => {
                let line = serde_json::to_string(&row).unwrap_or_default();
                self.write(&line);
                self.write("\n");
            }
            Format::Json => {
                if let Ok(v) = serde_json::to_value(&row) {
                    self.json_rows.push(v);
                }
            }
            Format::Csv => {
                let line = csv_line(&row);
                self.write(&line);
            }
            Format::Human => {
                if !self.args.summary || agrees == Some(false) || !a.errors.is_empty() {
                    let block = human_block(&row);
                    self.write(&block);
                }
            }
        }
    }

    fn reject(&mut self, loc: Location, errors: Vec<FactError>) {
        self.summary.rejected += 1;
        if self.summary.rejected > MAX_SHOWN {
            return;
        }
        for e in &errors {
            if e.field.is_empty() {
                eprintln!("error: {loc}: {}", e.message);
            } else {
                eprintln!("error: {loc}: field `{}`: {}", e.field, e.message);
            }
        }
        if self.rejected.len() < 1000 {
            self.rejected.push((loc, errors));
        }
    }

    fn finish(&mut self) {
        match self.args.format {
            Format::Json => {
                let s = &self.summary;
                let doc = serde_json::json!({
                    "version": 1,
                    "procedure": self.assessor.plan().id(),
                    "incidents": self.json_rows,
                    "summary": s,
                });
                let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
                self.write(&text);
                self.write("\n");
            }
            Format::Human => {
                let s = &self.summary;
                let mut text = String::new();
                if !self.mismatches.is_empty() {
                    text.push_str(&format!("\nNot reproduced ({}):\n", self.mismatches.len()));
                    for m in &self.mismatches {
                        text.push_str(&format!("  {m}\n"));
                    }
                }
                text.push_str(&format!(
                    "\n{} records read: {} assessed, {} rejected",
                    s.read, s.assessed, s.rejected
                ));
                if s.evaluation_errors > 0 {
                    text.push_str(&format!(", {} with evaluation errors", s.evaluation_errors));
                }
                text.push('\n');
                if !s.by_priority.is_empty() {
                    let parts: Vec<String> = s
                        .by_priority
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect();
                    text.push_str(&format!("priority: {}\n", parts.join(", ")));
                }
                if !s.by_validity.is_empty() {
                    let parts: Vec<String> = s
                        .by_validity
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect();
                    text.push_str(&format!("validity: {}\n", parts.join(", ")));
                }
                if s.compared > 0 {
                    text.push_str(&format!(
                        "recorded priority reproduced: {}/{} ({:.2}%)\n",
                        s.agreed,
                        s.compared,
                        100.0 * s.agreed as f64 / s.compared as f64
                    ));
                }
                self.write(&text);
            }
            Format::Jsonl | Format::Csv => {}
        }
        let s = &self.summary;
        if s.rejected > MAX_SHOWN {
            eprintln!(
                "error: {} more rejected records not shown",
                s.rejected - MAX_SHOWN
            );
        }
        if matches!(self.args.format, Format::Jsonl | Format::Csv) {
            {
                super::note!(
                    "{} records read: {} assessed, {} rejected",
                    s.read,
                    s.assessed,
                    s.rejected
                );
            }
        }
        if let Err(e) = self.out.flush() {
            self.write_error.get_or_insert(e);
        }
    }
}

fn explain_priority(p: &crate::eval::PriorityOutcome) -> String {
    let detail: Vec<String> = p
        .methods
        .iter()
        .map(|m| format!("{} `{}`: {} [line {}]", m.kind, m.method, m.reason, m.line))
        .collect();
    let mut s = format!("decided by {}", p.decided_by);
    if !detail.is_empty() {
        s.push_str(&format!("; {}", detail.join("; ")));
    }
    s
}

fn human_block(row: &Row<'_>) -> String {
    let a = row.assessment;
    let mut s = match row.line {
        Some(l) => format!("{}  ({}:{l}, record {})\n", row.id, row.file, row.record),
        None => format!("{}  ({}, record {})\n", row.id, row.file, row.record),
    };
    if a.applies == Some(false) {
        s.push_str("  applies    no: the procedure's `applies when` is false for these facts\n");
    }
    if let Some(v) = &a.validity {
        s.push_str(&format!(
            "  validity   {} (score {}, {}) [line {}]\n",
            v.band.as_deref().unwrap_or("none"),
            v.score,
            v.band_rule,
            v.line
        ));
        for f in &v.fired {
            s.push_str(&format!(
                "               {:+} {} [line {}]\n",
                f.weight, f.rule, f.line
            ));
        }
    }
    if let Some(p) = &a.priority {
        s.push_str(&format!(
            "  priority   {} — decided by {}\n",
            p.level.as_deref().unwrap_or("none"),
            p.decided_by
        ));
        for o in &p.overrides {
            let req = if o.requires.is_empty() {
                String::new()
            } else {
                format!(" (requires {})", o.requires.join(", "))
            };
            s.push_str(&format!(
                "               override {} fired{req} [line {}]\n",
                o.level, o.line
            ));
        }
        for m in &p.methods {
            s.push_str(&format!(
                "               {} `{}`: {} [line {}]\n",
                m.kind, m.method, m.reason, m.line
            ));
        }
    }
    for d in &a.decisions {
        let shown = match d.values.as_slice() {
            [] => "none".to_string(),
            [one] => one.to_string(),
            many => format!(
                "[{}]",
                many.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        s.push_str(&format!(
            "  decision   {} = {shown}: {} [line {}]\n",
            d.method, d.reason, d.line
        ));
    }
    if !a.targets.is_empty() {
        let t: Vec<String> = a
            .targets
            .iter()
            .map(|t| format!("{} within {}", t.kind, t.limit))
            .collect();
        s.push_str(&format!(
            "  targets    {} [line {}]\n",
            t.join(", "),
            a.targets[0].line
        ));
    }
    if let Some(r) = row.recorded_priority {
        let mark = if row.agrees == Some(true) {
            "agrees"
        } else {
            "DISAGREES"
        };
        s.push_str(&format!("  recorded   {r} ({mark})\n"));
    }
    for e in &a.errors {
        s.push_str(&format!("  error      {e}\n"));
    }
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_line(row: &Row<'_>) -> String {
    let a = row.assessment;
    let targets: Vec<String> = a
        .targets
        .iter()
        .map(|t| format!("{}={}", t.kind, t.limit))
        .collect();
    let fields = [
        row.id.to_string(),
        row.file.to_string(),
        row.record.to_string(),
        a.applies.map_or(String::new(), |b| b.to_string()),
        a.validity
            .as_ref()
            .map_or(String::new(), |v| v.score.to_string()),
        a.validity
            .as_ref()
            .and_then(|v| v.band.clone())
            .unwrap_or_default(),
        a.priority
            .as_ref()
            .and_then(|p| p.level.clone())
            .unwrap_or_default(),
        a.priority
            .as_ref()
            .map_or(String::new(), |p| p.decided_by.clone()),
        targets.join(";"),
        row.recorded_priority.unwrap_or_default().to_string(),
        row.agrees.map_or(String::new(), |b| b.to_string()),
        a.errors.join("; "),
    ];
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// The incident formats, as `--input-format` spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum IncidentFormat {
    Yaml,
    Json,
    Jsonl,
    Csv,
}

impl IncidentFormat {
    fn into_input(self) -> InputFormat {
        match self {
            IncidentFormat::Yaml => InputFormat::Yaml,
            IncidentFormat::Json => InputFormat::Json,
            IncidentFormat::Jsonl => InputFormat::Jsonl,
            IncidentFormat::Csv => InputFormat::Csv,
        }
    }
}
