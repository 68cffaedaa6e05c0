//! `lint --format sarif`: SARIF 2.1.0 for GitHub code scanning and other tools.
//!
//! Rule ids are the stable rule names (front-end checks under their diagnostic
//! codes); paths are relative to the current directory under `%SRCROOT%`;
//! columns count Unicode code points; findings silenced by an allow comment are
//! included with an `inSource` suppression carrying the reason.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::{LintReport, region, relative_path};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::{DOCS_BASE, all_rules};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const LANGUAGE_DOC: &str = "https://github.com/procedo/procedo/blob/main/docs/language.md";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A URI path: unreserved characters and `/` kept, everything else %-encoded.
fn uri_path(p: &str) -> String {
    let mut out = String::new();
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A stable fingerprint of a finding: rule, file, message and the text of its line.
fn fingerprint(d: &Diagnostic, file: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let line = match (&d.source, d.labels.first()) {
        (Some(s), Some(l)) => {
            let n = s.line_of(l.span.start);
            s.text().lines().nth(n).unwrap_or("").trim().to_string()
        }
        _ => String::new(),
    };
    for part in [d.code.as_str(), file, d.message.as_str(), line.as_str()] {
        for b in part.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// The SARIF log of a lint report; paths relative to `base`.
pub fn to_sarif(r: &LintReport, base: &Path) -> Value {
    let mut rules = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for rule in all_rules() {
        let m = rule.meta();
        index.insert(m.name.to_string(), rules.len());
        rules.push(json!({
            "id": m.name,
            "name": m.name,
            "shortDescription": { "text": m.summary },
            "fullDescription": { "text": m.explanation },
            "helpUri": format!("{DOCS_BASE}/{}.md", m.name),
            "help": { "text": format!("{}. See {DOCS_BASE}/{}.md", m.summary, m.name) },
            "defaultConfiguration": { "level": level(m.default_severity), "enabled": m.enabled_by_default() },
            "properties": { "category": m.category.name(), "tags": [m.category.name()] },
        }));
    }
    let all = r.diagnostics.iter().map(|d| (d, None)).chain(
        r.allowed
            .iter()
            .map(|a| (&a.diagnostic, Some(a.reason.clone()))),
    );
    let mut results = Vec::new();
    for (d, allowed) in all {
        if !index.contains_key(&d.code) {
            index.insert(d.code.clone(), rules.len());
            rules.push(json!({
                "id": d.code,
                "name": d.code,
                "shortDescription": { "text": format!("front-end check `{}`", d.code) },
                "fullDescription": { "text": "The procedure does not parse, resolve or type-check; procedo reports this before any lint rule runs." },
                "helpUri": LANGUAGE_DOC,
                "defaultConfiguration": { "level": "error" },
                "properties": { "category": "front-end", "tags": ["front-end"] },
            }));
        }
        let mut text = d.message.clone();
        if let Some(h) = &d.help {
            text.push_str("\nhelp: ");
            text.push_str(h);
        }
        let mut result = json!({
            "ruleId": d.code,
            "ruleIndex": index[&d.code],
            "level": level(d.severity),
            "message": { "text": text },
        });
        if let Some(src) = &d.source {
            let file = relative_path(src.name(), base);
            let mut physical = json!({
                "artifactLocation": { "uri": uri_path(&file), "uriBaseId": "%SRCROOT%" },
            });
            if let Some(((l, c), (el, ec))) = region(d) {
                physical["region"] =
                    json!({ "startLine": l, "startColumn": c, "endLine": el, "endColumn": ec });
            }
            result["locations"] = json!([{ "physicalLocation": physical }]);
            let related: Vec<Value> = d
                .labels
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, l)| {
                    let (s, e) = (src.line_col(l.span.start), src.line_col(l.span.end.max(l.span.start)));
                    json!({
                        "id": i,
                        "message": { "text": if l.text.is_empty() { "related".to_string() } else { l.text.clone() } },
                        "physicalLocation": {
                            "artifactLocation": { "uri": uri_path(&file), "uriBaseId": "%SRCROOT%" },
                            "region": { "startLine": s.0, "startColumn": s.1, "endLine": e.0, "endColumn": e.1 },
                        },
                    })
                })
                .collect();
            if !related.is_empty() {
                result["relatedLocations"] = Value::Array(related);
            }
            result["partialFingerprints"] =
                json!({ "procedoFingerprint/v1": fingerprint(d, &file) });
        }
        if let Some(reason) = allowed {
            let mut s = json!({ "kind": "inSource", "status": "accepted" });
            if let Some(reason) = reason {
                s["justification"] = Value::String(reason);
            }
            result["suppressions"] = json!([s]);
        }
        results.push(result);
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "procedo",
                    "informationUri": "https://github.com/procedo/procedo",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}
