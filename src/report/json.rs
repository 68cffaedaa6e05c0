//! `lint --format json`: a versioned report.
//!
//! Schema version 1: `{ version, files, ignored, errors, warnings, infos, allowed,
//! diagnostics: [Diagnostic], allowed_diagnostics: [Diagnostic + reason] }`, where a
//! diagnostic is `{ code, severity, message, file, line, column, end_line,
//! end_column, labels, help }`. Fields are only ever added within a version.

use serde::Serialize;

use super::LintReport;
use crate::diagnostic::{JsonDiagnostic, Severity};

#[derive(Serialize)]
struct JsonAllowed {
    #[serde(flatten)]
    diagnostic: JsonDiagnostic,
    reason: Option<String>,
}

#[derive(Serialize)]
struct JsonReport {
    /// Schema version of this output.
    version: u32,
    files: usize,
    ignored: usize,
    errors: usize,
    warnings: usize,
    infos: usize,
    allowed: usize,
    diagnostics: Vec<JsonDiagnostic>,
    allowed_diagnostics: Vec<JsonAllowed>,
}

/// The report as pretty-printed JSON.
pub fn to_json(r: &LintReport) -> Result<String, serde_json::Error> {
    let report = JsonReport {
        version: 1,
        files: r.files,
        ignored: r.ignored,
        errors: r.count(Severity::Error),
        warnings: r.count(Severity::Warning),
        infos: r.count(Severity::Info),
        allowed: r.allowed.len(),
        diagnostics: r.diagnostics.iter().map(JsonDiagnostic::from).collect(),
        allowed_diagnostics: r
            .allowed
            .iter()
            .map(|a| JsonAllowed {
                diagnostic: JsonDiagnostic::from(&a.diagnostic),
                reason: a.reason.clone(),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&report)
}
