//! `procedo lint PATHS...`

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::ValueEnum;
use serde::Serialize;

use super::{ExitStatus, discover, usage_error};
use crate::diagnostic::{Diagnostic, JsonDiagnostic, Severity, render};
use crate::model::{Loader, build, find_root};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Procedure files or directories (searched recursively for `.proc` files).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    /// Schema version of this output.
    version: u32,
    files: usize,
    errors: usize,
    warnings: usize,
    diagnostics: &'a [JsonDiagnostic],
}

/// Lints every file; returns the diagnostics per file in order.
pub(crate) fn lint_paths(files: &[PathBuf]) -> Vec<Diagnostic> {
    let mut loaders: BTreeMap<PathBuf, Loader> = BTreeMap::new();
    let mut all = Vec::new();
    for f in files {
        let root = find_root(f);
        let loader = loaders
            .entry(root.clone())
            .or_insert_with(|| Loader::new(root));
        match loader.load_path(f) {
            Ok(unit) => {
                let built = build(&unit);
                all.extend(built.diagnostics);
                if let Some(p) = built.procedure {
                    all.extend(crate::lint::run(&p));
                }
            }
            Err(e) => all.push(
                Diagnostic::error(
                    "unreadable-input",
                    format!("cannot read `{}`: {e}", f.display()),
                )
                .with_help("check the path and its permissions"),
            ),
        }
    }
    all
}

pub(crate) fn run(args: &Args, color: bool) -> ExitStatus {
    let files = match discover(&args.paths) {
        Ok(f) => f,
        Err(e) => return usage_error(&e),
    };
    let diags = lint_paths(&files);
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    match args.format {
        Format::Human => {
            print!("{}", render(&diags, color));
            let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
            println!(
                "{} checked: {}, {}",
                plural(files.len(), "file"),
                plural(errors, "error"),
                plural(warnings, "warning")
            );
        }
        Format::Json => {
            let json: Vec<JsonDiagnostic> = diags.iter().map(JsonDiagnostic::from).collect();
            let report = JsonReport {
                version: 1,
                files: files.len(),
                errors,
                warnings,
                diagnostics: &json,
            };
            match serde_json::to_string_pretty(&report) {
                Ok(s) => println!("{s}"),
                Err(e) => return usage_error(&format!("cannot write JSON: {e}")),
            }
        }
    }
    if diags.iter().any(|d| d.code == "unreadable-input") {
        ExitStatus::Error
    } else if errors > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}
