//! `procedo simulate -p PROC --cases N --seed S`: a log with known deviations.

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use super::{ExitStatus, usage_error};
use crate::simulate::{FactWeights, Options, simulate, write};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The procedure whose cases to simulate.
    #[arg(short, long)]
    procedure: PathBuf,
    /// How many cases to simulate (at least 1).
    #[arg(long)]
    cases: usize,
    /// Seed of the random choices: the same seed gives the same log, byte for byte.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of cases (0 to 1) that get one injected deviation.
    #[arg(long, default_value_t = 0.2, value_name = "R")]
    deviation_rate: f64,
    /// Output format of the log on standard output.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
    /// Write the injected deviations here as JSON Lines (case_id, code, step,
    /// event_index, alternatives).
    #[arg(long, value_name = "FILE")]
    truth: Option<PathBuf>,
    /// Start of the first case (RFC 3339); later cases start a few minutes apart.
    #[arg(long, value_name = "TIME", default_value = "2026-03-02T08:00:00Z")]
    start: String,
    /// YAML weights of fact values (`fact: {value: weight}`; `missing` leaves an optional
    /// fact out) instead of drawing them from the fact types.
    #[arg(long, value_name = "FILE")]
    facts: Option<PathBuf>,
    /// Inject only these kinds of deviation (comma-separated finding codes: missing-step,
    /// unexpected-step, wrong-order, wrong-branch, deadline-missed, not-acknowledged,
    /// monitoring-gap, resource-lacks-capability).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    kinds: Vec<String>,
    /// YAML profile giving chosen operators and steps their own deviation rates
    /// (`operators: N`, `base: R`, `deviations:` a list of `operator` or `step`, `rate`,
    /// `kinds`); the truth then records the operator and the entry behind each deviation.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
}

fn read_profile(path: &PathBuf) -> Result<crate::simulate::Profile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    serde_yaml::from_str(&text).map_err(|e| {
        format!(
            "`{}` is not a profile (`operators`, `base`, `deviations:` of `operator` or              `step`, `rate`, `kinds`): {e}",
            path.display()
        )
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Jsonl,
    Csv,
    Xes,
}

fn read_weights(path: &PathBuf) -> Result<FactWeights, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let raw: std::collections::BTreeMap<String, serde_yaml::Mapping> = serde_yaml::from_str(&text)
        .map_err(|e| {
            format!(
                "`{}` is not a map of facts to {{value: weight}}: {e}",
                path.display()
            )
        })?;
    let mut out = FactWeights::new();
    for (fact, m) in raw {
        let mut values = Vec::new();
        for (k, v) in m {
            let key = match k {
                serde_yaml::Value::String(s) => s,
                serde_yaml::Value::Bool(b) => b.to_string(),
                serde_yaml::Value::Number(n) => n.to_string(),
                serde_yaml::Value::Null => "missing".into(),
                other => {
                    return Err(format!(
                        "`{}`: `{fact}` has a value that is not text: {other:?}",
                        path.display()
                    ));
                }
            };
            let Some(w) = v.as_f64() else {
                return Err(format!(
                    "`{}`: the weight of `{fact}: {key}` is not a number",
                    path.display()
                ));
            };
            values.push((key, w));
        }
        out.insert(fact, values);
    }
    Ok(out)
}

pub(crate) fn run(args: &Args, color: bool) -> ExitStatus {
    if args.cases == 0 {
        return usage_error("--cases must be at least 1");
    }
    if !(0.0..=1.0).contains(&args.deviation_rate) {
        return usage_error(&format!(
            "--deviation-rate must be between 0 and 1, not {}",
            args.deviation_rate
        ));
    }
    let start = match crate::audit::parse_as_of(&args.start) {
        Ok(t) => t,
        Err(_) => {
            return usage_error(&format!(
                "--start `{}` is not a time (use RFC 3339, e.g. 2026-03-02T08:00:00Z)",
                args.start
            ));
        }
    };
    let facts = match args.facts.as_ref().map(read_weights).transpose() {
        Ok(f) => f,
        Err(e) => return usage_error(&e),
    };
    let p = match super::load_procedure(&args.procedure, color, "simulate it") {
        Ok(p) => p,
        Err(s) => return s,
    };
    // Open the truth file before the work, so an unwritable path fails fast.
    let mut truth_file = match &args.truth {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Some(std::io::BufWriter::new(f)),
            Err(e) => {
                return usage_error(&format!("cannot write `{}`: {e}", path.display()));
            }
        },
        None => None,
    };
    let mut opts = Options::new(args.cases, args.seed);
    opts.deviation_rate = args.deviation_rate;
    opts.start = start;
    opts.facts = facts;
    if let Some(k) = args
        .kinds
        .iter()
        .find(|k| !crate::simulate::KINDS.contains(&k.as_str()))
    {
        return usage_error(&format!(
            "--kinds: `{k}` is not a kind of deviation the simulator injects (one of {})",
            crate::simulate::KINDS.join(", ")
        ));
    }
    opts.kinds = args.kinds.clone();
    opts.profile = match args.profile.as_ref().map(read_profile).transpose() {
        Ok(p) => p,
        Err(e) => return usage_error(&e),
    };
    let (cases, truth) = match simulate(&p, &opts) {
        Ok(x) => x,
        Err(e) => return usage_error(&e),
    };
    if cases.iter().all(|c| c.events.is_empty()) {
        return usage_error(&format!(
            "`{}` has no flow to walk (a library?): there is nothing to simulate",
            args.procedure.display()
        ));
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // The log is written in the procedure's profile (its `mapping`), so `check` reads it back.
    let cols = crate::log::Mapping::of(&p).columns();
    let written = match args.format {
        Format::Jsonl => write::jsonl_as(&cases, &cols, &mut out),
        Format::Csv => write::csv_as(&cases, &cols, &mut out),
        Format::Xes => write::xes_as(&cases, &cols, &mut out),
    }
    .and_then(|_| out.flush());
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write output: {e}");
        return ExitStatus::Error;
    }
    if let Some(f) = &mut truth_file {
        let mut res = Ok(());
        for t in &truth {
            res = res.and_then(|_| writeln!(f, "{}", serde_json::to_string(t).unwrap_or_default()));
        }
        if let Err(e) = res.and_then(|_| f.flush()) {
            eprintln!("error: cannot write the truth file: {e}");
            return ExitStatus::Error;
        }
    }
    ExitStatus::Success
}
