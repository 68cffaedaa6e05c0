//! The lint rule registry and runner.
//!
//! Front-end checks (syntax, names, types) run while the model is built; the
//! rules here run on a built [`Procedure`]. Each rule is one file under
//! `rules/`, with a stable kebab-case name, a category, a default severity and
//! its documentation. A rule is a pure function of the procedure.

use crate::diagnostic::{Diagnostic, Severity};
use crate::model::Procedure;

pub mod rules;

/// The families rules belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Correctness,
    Suspicious,
    Style,
    PerformanceOfOperations,
    Preview,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Correctness => "correctness",
            Category::Suspicious => "suspicious",
            Category::Style => "style",
            Category::PerformanceOfOperations => "performance-of-operations",
            Category::Preview => "preview",
        }
    }
}

/// What every rule declares about itself; the rule docs are generated from it.
#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    pub name: &'static str,
    pub category: Category,
    pub default_severity: Severity,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// Why it matters.
    pub explanation: &'static str,
    /// A procedure (or fragment placed in a minimal procedure) that triggers the rule.
    pub bad: &'static str,
    /// The same, fixed.
    pub good: &'static str,
}

/// A lint rule.
pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    /// Findings on one procedure; the runner sets code and severity.
    fn check(&self, procedure: &Procedure) -> Vec<Diagnostic>;
}

/// Every registered rule, in name order.
pub fn all_rules() -> Vec<&'static dyn Rule> {
    let mut rules = rules::ALL.to_vec();
    rules.sort_by_key(|r| r.meta().name);
    rules
}

/// Runs every rule on a procedure; findings are sorted by position, then rule.
pub fn run(procedure: &Procedure) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rule in all_rules() {
        let meta = rule.meta();
        for mut d in rule.check(procedure) {
            d.code = meta.name.to_string();
            d.severity = meta.default_severity;
            if d.source.is_none() {
                d.source = Some(procedure.unit.source.clone());
            }
            out.push(d);
        }
    }
    out.sort_by_key(Diagnostic::sort_key);
    out
}

/// The Markdown documentation of a rule, generated from its metadata.
pub fn rule_doc(m: &RuleMeta) -> String {
    format!(
        "# {name}\n\n{summary}.\n\n- Category: {cat}\n- Default severity: {sev}\n\n## Why\n\n{why}\n\n## Example\n\n```proc\n{bad}```\n\n## Use instead\n\n```proc\n{good}```\n",
        name = m.name,
        summary = m.summary,
        cat = m.category.name(),
        sev = format!("{:?}", m.default_severity).to_lowercase(),
        why = m.explanation,
        bad = m.bad,
        good = m.good,
    )
}
