//! The integration tests: one binary, one module per boundary.

#![allow(clippy::result_large_err)]

mod architecture;
mod assess;
mod audit;
mod boundaries;
mod bpmn;
mod cli;
mod conformance;
mod conventions;
mod corpus;
mod decisions;
mod diff;
mod errors;
mod explain;
mod graph;
mod hard_nets;
mod inspect;
mod lint;
mod logs;
mod lsp;
mod review;
mod robustness;
mod simulate;
mod suite;
mod watch;

/// Renders diagnostics the way the CLI does with `--color never`.
pub fn render(diags: &[procedo::Diagnostic]) -> String {
    procedo::diagnostic::render(diags, false)
}

/// Builds a file from disk with its procedures root, returning model diagnostics and lint findings.
pub fn check_file(
    path: &std::path::Path,
) -> (Option<procedo::Procedure>, Vec<procedo::Diagnostic>) {
    let mut loader = procedo::Loader::new(procedo::model::find_root(path));
    let unit = loader.load_path(path).expect("fixture is readable");
    let built = procedo::build(&unit);
    let mut diags = built.diagnostics;
    if let Some(p) = &built.procedure {
        diags.extend(procedo::lint::run(p));
    }
    (built.procedure, diags)
}

/// Builds a shipped (or fixture) procedure that must build.
pub fn load_procedure(path: &std::path::Path) -> procedo::Procedure {
    let mut loader = procedo::Loader::new(procedo::model::find_root(path));
    let unit = loader.load_path(path).unwrap();
    procedo::build(&unit)
        .procedure
        .expect("the procedure builds")
}

/// A case of `check --format jsonl` output: its findings as (code, step).
pub fn findings_of(case: &serde_json::Value) -> Vec<(String, String)> {
    case["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["step"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A simulation truth record's readings: its (code, step) and every equally cheap one.
pub fn truth_readings(t: &serde_json::Value) -> Vec<(String, String)> {
    let pair = |x: &serde_json::Value| {
        (
            x["code"].as_str().unwrap().to_string(),
            x["step"].as_str().unwrap().to_string(),
        )
    };
    std::iter::once(pair(t))
        .chain(t["alternatives"].as_array().unwrap().iter().map(pair))
        .collect()
}

/// Every shipped procedure with a flow of its own (libraries left out), in path order.
pub fn shipped_procedures() -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from("procedures")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "proc") {
                let text = std::fs::read_to_string(&p).unwrap();
                if !text.lines().any(|l| l.starts_with("library ")) {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// Runs the binary from the package root with colour off: (exit code, stdout, stderr).
pub fn procedo(args: &[&str]) -> (i32, String, String) {
    use assert_cmd::cargo::CommandCargoExt;
    let out = std::process::Command::cargo_bin("procedo")
        .unwrap()
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
