//! `procedo lint [--format human|json|sarif|github] [--deny warnings] [--show-allowed] PATHS...`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::ValueEnum;

use super::{ExitStatus, discover, usage_error};
use crate::diagnostic::{Diagnostic, Severity, render};
use crate::lint::{Config, run_with};
use crate::model::{Loader, build, find_root};
use crate::report::{LintReport, github, json, relative_path, sarif};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Procedure files or directories (searched recursively for `.proc` files).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format: human text, versioned JSON, SARIF 2.1.0 (GitHub code scanning),
    /// or GitHub Actions annotations.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Fail (exit 1) on warnings as well as errors.
    #[arg(long, value_enum)]
    deny: Option<Deny>,
    /// List the findings silenced by `# procedo: allow(...)` comments, with their reasons.
    #[arg(long)]
    show_allowed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Sarif,
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Deny {
    Warnings,
}

/// Lints every file with the configuration of its procedures root.
/// `Err` carries configuration problems (bad `procedo.yaml`).
pub(crate) fn lint_paths(files: &[PathBuf]) -> Result<LintReport, Vec<Diagnostic>> {
    let mut loaders: BTreeMap<PathBuf, Loader> = BTreeMap::new();
    let mut configs: BTreeMap<PathBuf, Config> = BTreeMap::new();
    let mut report = LintReport::default();
    for f in files {
        let root = find_root(f);
        if !configs.contains_key(&root) {
            configs.insert(root.clone(), Config::load(&root)?);
        }
        let config = &configs[&root];
        let rel = f.strip_prefix(&root).map_or_else(
            |_| relative_path(&f.display().to_string(), &root),
            |p| relative_path(&p.display().to_string(), Path::new("")),
        );
        if config.is_ignored(&rel) {
            report.ignored += 1;
            continue;
        }
        report.files += 1;
        let loader = loaders
            .entry(root.clone())
            .or_insert_with(|| Loader::new(root));
        match loader.load_path(f) {
            Ok(unit) => {
                let built = build(&unit);
                report.diagnostics.extend(built.diagnostics);
                if let Some(p) = built.procedure {
                    let outcome = run_with(&p, config);
                    report.diagnostics.extend(outcome.findings);
                    report.allowed.extend(outcome.allowed);
                }
            }
            Err(e) => report.diagnostics.push(
                Diagnostic::error(
                    "unreadable-input",
                    format!("cannot read `{}`: {e}", f.display()),
                )
                .with_help("check the path and its permissions"),
            ),
        }
    }
    Ok(report)
}

fn plural(n: usize, w: &str) -> String {
    format!("{n} {w}{}", if n == 1 { "" } else { "s" })
}

pub(crate) fn run(args: &Args, color: bool) -> ExitStatus {
    let files = match discover(&args.paths) {
        Ok(f) => f,
        Err(e) => return usage_error(&e),
    };
    let report = match lint_paths(&files) {
        Ok(r) => r,
        Err(config_errors) => {
            eprint!("{}", render(&config_errors, color));
            return usage_error("the lint configuration (`procedo.yaml`) has errors");
        }
    };
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let infos = report.count(Severity::Info);
    let base = std::env::current_dir().unwrap_or_default();
    match args.format {
        Format::Human => {
            print!("{}", render(&report.diagnostics, color));
            if args.show_allowed && !report.allowed.is_empty() {
                println!("allowed by comments:");
                for a in &report.allowed {
                    let at = a
                        .diagnostic
                        .location()
                        .map_or(String::new(), |(f, l, c)| format!("{f}:{l}:{c}: "));
                    println!(
                        "  {at}{} — {} (reason: {})",
                        a.diagnostic.code,
                        a.diagnostic.message,
                        a.reason.as_deref().unwrap_or("none given")
                    );
                }
            }
            let mut summary = format!(
                "{} checked: {}, {}",
                plural(report.files, "file"),
                plural(errors, "error"),
                plural(warnings, "warning")
            );
            if infos > 0 {
                summary.push_str(&format!(", {}", plural(infos, "note")));
            }
            if !report.allowed.is_empty() {
                summary.push_str(&format!(", {} allowed", report.allowed.len()));
                if !args.show_allowed {
                    summary.push_str(" (--show-allowed lists them)");
                }
            }
            if report.ignored > 0 {
                summary.push_str(&format!(", {} ignored", plural(report.ignored, "file")));
            }
            println!("{summary}");
        }
        Format::Json => match json::to_json(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => return usage_error(&format!("cannot write JSON: {e}")),
        },
        Format::Sarif => match serde_json::to_string_pretty(&sarif::to_sarif(&report, &base)) {
            Ok(s) => println!("{s}"),
            Err(e) => return usage_error(&format!("cannot write SARIF: {e}")),
        },
        Format::Github => print!("{}", github::to_github(&report, &base)),
    }
    if report
        .diagnostics
        .iter()
        .any(|d| d.code == "unreadable-input")
    {
        ExitStatus::Error
    } else if errors > 0 || (args.deny == Some(Deny::Warnings) && warnings > 0) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}
