//! `lint --format github`: GitHub Actions workflow commands, one per finding,
//! which the runner turns into annotations on the pull request.

use std::path::Path;

use super::{LintReport, region, relative_path};
use crate::diagnostic::Severity;

/// Escapes the message part of a workflow command.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error file=...,line=...::message` line per finding.
pub fn to_github(r: &LintReport, base: &Path) -> String {
    let mut out = String::new();
    for d in &r.diagnostics {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = vec![format!(
            "title={}",
            escape_property(&format!("procedo({})", d.code))
        )];
        if let Some(src) = &d.source {
            props.insert(
                0,
                format!("file={}", escape_property(&relative_path(src.name(), base))),
            );
            if let Some(((l, c), (el, ec))) = region(d) {
                props.insert(1, format!("line={l},col={c},endLine={el},endColumn={ec}"));
            }
        }
        let mut message = d.message.clone();
        if let Some(h) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(h);
        }
        out.push_str(&format!(
            "::{command} {}::{}\n",
            props.join(","),
            escape_data(&message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(super::escape_data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(super::escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
