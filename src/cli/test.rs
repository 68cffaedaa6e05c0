//! `procedo test PATHS...`: run the `NAME.test.yaml` files beside procedures.

use std::path::PathBuf;

use clap::ValueEnum;

use super::{ExitStatus, discover, usage_error};
use crate::diagnostic::render;
use crate::model::{Loader, build, find_root};
use crate::suite::{Report, TestFile};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Procedure files or directories; each `NAME.proc` is tested with `NAME.test.yaml`.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// List the steps and table rows no test reaches.
    #[arg(long)]
    coverage: bool,
    /// Fail (exit 1) when a procedure's coverage is below this percentage.
    #[arg(long, value_name = "PERCENT")]
    min_coverage: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Junit,
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) fn run(args: &Args, color: bool) -> ExitStatus {
    let files = match discover(&args.paths) {
        Ok(f) => f,
        Err(e) => return usage_error(&e),
    };
    let mut reports: Vec<(PathBuf, Report)> = Vec::new();
    let mut status = ExitStatus::Success;
    let mut untested = Vec::new();
    for f in &files {
        let test_path = f.with_extension("test.yaml");
        let mut loader = Loader::new(find_root(f));
        let unit = match loader.load_path(f) {
            Ok(u) => u,
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", f.display());
                status = ExitStatus::Error;
                continue;
            }
        };
        let is_library = unit
            .parsed
            .as_ref()
            .is_some_and(|p| p.file.kind == crate::ast::FileKind::Library);
        if is_library {
            continue;
        }
        if !test_path.is_file() {
            untested.push(f.clone());
            continue;
        }
        let text = match std::fs::read_to_string(&test_path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", test_path.display());
                status = ExitStatus::Error;
                continue;
            }
        };
        let tests: TestFile = match serde_yaml::from_str(&text) {
            Ok(t) => t,
            Err(e) => {
                let at = e
                    .location()
                    .map_or(String::new(), |l| format!(":{}:{}", l.line(), l.column()));
                eprintln!("error: {}{at}: {e}", test_path.display());
                status = ExitStatus::Error;
                continue;
            }
        };
        let built = build(&unit);
        let Some(p) = built.procedure else {
            eprint!("{}", render(&built.diagnostics, color));
            eprintln!(
                "error: `{}` has errors; fix them before testing it",
                f.display()
            );
            status = ExitStatus::Failure.max_with(status);
            continue;
        };
        reports.push((f.clone(), crate::suite::run(&p, &tests)));
    }
    let failed: usize = reports
        .iter()
        .map(|(_, r)| r.outcomes.iter().filter(|o| !o.passed).count())
        .sum();
    let total: usize = reports.iter().map(|(_, r)| r.outcomes.len()).sum();
    let below: Vec<String> = match args.min_coverage {
        Some(min) => reports
            .iter()
            .filter(|(_, r)| r.coverage() < min)
            .map(|(f, r)| format!("{} ({:.1}%)", f.display(), r.coverage()))
            .chain(
                untested
                    .iter()
                    .map(|f| format!("{} (no tests)", f.display())),
            )
            .collect(),
        None => Vec::new(),
    };
    match args.format {
        Format::Human => {
            for (f, r) in &reports {
                println!("{} ({})", f.display(), r.procedure);
                for o in &r.outcomes {
                    println!(
                        "  {} {} {}",
                        if o.passed { "pass" } else { "FAIL" },
                        o.kind,
                        o.name
                    );
                    for d in &o.diff {
                        println!("       {d}");
                    }
                }
                println!(
                    "  coverage {:.1}%: {}/{} steps, {}/{} decision branches ({} judged against facts), {}/{} table rows, {}/{} constraints",
                    r.coverage(),
                    r.steps_covered,
                    r.steps_total,
                    r.branches_covered,
                    r.branches_total,
                    r.branches_judged,
                    r.rows_covered,
                    r.rows_total,
                    r.constraints_covered,
                    r.constraints_total
                );
                if args.coverage {
                    for u in &r.uncovered {
                        println!("    not reached: {u}");
                    }
                }
            }
            for f in &untested {
                println!(
                    "{}: no tests (add {})",
                    f.display(),
                    f.with_extension("test.yaml").display()
                );
            }
            println!(
                "{} tests: {} passed, {} failed",
                total,
                total - failed,
                failed
            );
        }
        Format::Json => {
            let doc = serde_json::json!({
                "version": 1,
                "files": reports.iter().map(|(f, r)| serde_json::json!({"file": f.display().to_string(), "report": r, "coverage": r.coverage()})).collect::<Vec<_>>(),
                "untested": untested.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
                "passed": total - failed,
                "failed": failed,
            });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        Format::Junit => {
            println!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"{total}\" failures=\"{failed}\">"
            );
            for (f, r) in &reports {
                let fails = r.outcomes.iter().filter(|o| !o.passed).count();
                println!(
                    "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{fails}\">",
                    xml(&f.display().to_string()),
                    r.outcomes.len()
                );
                for o in &r.outcomes {
                    if o.passed {
                        println!(
                            "    <testcase classname=\"{}\" name=\"{}\"/>",
                            xml(&r.procedure),
                            xml(&o.name)
                        );
                    } else {
                        println!(
                            "    <testcase classname=\"{}\" name=\"{}\">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                            xml(&r.procedure),
                            xml(&o.name),
                            xml(o.diff.first().map_or("", String::as_str)),
                            xml(&o.diff.join("\n"))
                        );
                    }
                }
                println!("  </testsuite>");
            }
            println!("</testsuites>");
        }
    }
    if !below.is_empty() {
        eprintln!(
            "error: coverage below {}%: {}",
            args.min_coverage.unwrap_or(0.0),
            below.join(", ")
        );
    }
    if status == ExitStatus::Error {
        status
    } else if failed > 0 || !below.is_empty() || status == ExitStatus::Failure {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}

impl ExitStatus {
    fn max_with(self, other: ExitStatus) -> ExitStatus {
        if other as u8 > self as u8 {
            other
        } else {
            self
        }
    }
}
