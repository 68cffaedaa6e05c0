//! The lint rule registry and runner.
//!
//! Front-end checks (syntax, names, types) run while the model is built; the
//! rules here run on a built [`Procedure`]. Each rule is one file under
//! `rules/`, with a stable kebab-case name, a category, a default severity and
//! its documentation. A rule is a pure function of the procedure; rules never
//! call each other (shared analyses live in [`analysis`]).
//!
//! [`run_with`] applies a [`Config`] (severity per rule and category, from
//! `procedo.yaml`) and the inline `# procedo: allow(rule) reason "..."` comments
//! ([`allow`]); a finding silenced by a comment is kept aside as [`Allowed`].

use crate::diagnostic::{Diagnostic, Severity};
use crate::model::Procedure;

pub mod allow;
pub mod analysis;
pub mod config;
pub mod rules;

pub use config::{Config, Level};

/// Where the generated rule documentation is published; `<name>.md` is appended.
pub const DOCS_BASE: &str = "https://github.com/procedo/procedo/blob/main/docs/rules";

/// The families rules belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Correctness,
    Suspicious,
    Style,
    PerformanceOfOperations,
    Preview,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Correctness,
        Category::Suspicious,
        Category::Style,
        Category::PerformanceOfOperations,
        Category::Preview,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::Correctness => "correctness",
            Category::Suspicious => "suspicious",
            Category::Style => "style",
            Category::PerformanceOfOperations => "performance-of-operations",
            Category::Preview => "preview",
        }
    }

    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == name)
    }

    /// What the category is for, in one line (for the rule index).
    pub fn description(self) -> &'static str {
        match self {
            Category::Correctness => {
                "the procedure is wrong: a path, table or time limit cannot work as written"
            }
            Category::Suspicious => {
                "probably a mistake; allow it inline with a reason when it is intended"
            }
            Category::Style => "naming, metadata and documentation that make procedures readable",
            Category::PerformanceOfOperations => {
                "the procedure works but will make the control room slower or less safe"
            }
            Category::Preview => "new rules, off unless enabled in `procedo.yaml`",
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
    /// A complete procedure that triggers the rule (and no other rule).
    pub bad: &'static str,
    /// The same, fixed: triggers no rule.
    pub good: &'static str,
}

impl RuleMeta {
    /// The URL of the rule's generated documentation.
    pub fn docs_url(&self) -> String {
        format!("{DOCS_BASE}/{}.md", self.name)
    }

    /// Whether the rule runs when no configuration mentions it.
    pub fn enabled_by_default(&self) -> bool {
        self.category != Category::Preview
    }
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

/// The rule with this name.
pub fn find_rule(name: &str) -> Option<&'static dyn Rule> {
    rules::ALL.iter().copied().find(|r| r.meta().name == name)
}

/// A finding silenced by an inline allow comment.
#[derive(Debug, Clone)]
pub struct Allowed {
    pub diagnostic: Diagnostic,
    /// The reason written in the comment (`None` when it has none).
    pub reason: Option<String>,
}

/// The result of linting one procedure.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Diagnostic>,
    pub allowed: Vec<Allowed>,
}

/// Runs one rule on a procedure, ignoring configuration and allow comments.
pub fn check_rule(procedure: &Procedure, rule: &dyn Rule) -> Vec<Diagnostic> {
    let meta = rule.meta();
    let mut out: Vec<Diagnostic> = rule
        .check(procedure)
        .into_iter()
        .map(|mut d| {
            d.code = meta.name.to_string();
            d.severity = meta.default_severity;
            if d.source.is_none() {
                d.source = Some(procedure.unit.source.clone());
            }
            d
        })
        .collect();
    out.sort_by_key(Diagnostic::sort_key);
    out
}

/// Runs every rule enabled by default; findings silenced inline are dropped.
pub fn run(procedure: &Procedure) -> Vec<Diagnostic> {
    run_with(procedure, &Config::default()).findings
}

/// Runs the rules the configuration enables, at the configured severities, and
/// applies the allow comments. Findings are sorted by position, then rule.
pub fn run_with(procedure: &Procedure, config: &Config) -> Outcome {
    let allows = allow::collect(procedure);
    let mut out = Outcome::default();
    for rule in all_rules() {
        let meta = rule.meta();
        let Some(severity) = config.severity_of(meta) else {
            continue;
        };
        for mut d in check_rule(procedure, rule) {
            d.severity = severity;
            match allows.covering(&d) {
                Some(reason) => out.allowed.push(Allowed {
                    diagnostic: d,
                    reason,
                }),
                None => out.findings.push(d),
            }
        }
    }
    out.findings.sort_by_key(Diagnostic::sort_key);
    out.allowed.sort_by_key(|a| a.diagnostic.sort_key());
    out
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}

/// The complete procedure an example stands for: a fragment (starting at a
/// section) gets the shared header and, unless it declares `ends`, `ends closed`.
pub fn example_procedure(text: &str) -> String {
    if text.starts_with("procedure ") || text.starts_with("library ") || text.starts_with("##") {
        return text.to_string();
    }
    let mut out = String::from(
        "procedure example \"Example\"\n  version \"1.0\"\n  owner \"Control room manager\"\n  effective 2026-01-01\n",
    );
    if !text.starts_with("ends\n") && !text.contains("\nends\n") {
        out.push_str("\nends\n  closed \"Closed\"\n");
    }
    out.push('\n');
    out.push_str(text);
    out
}

/// What the rule reports on its bad example, rendered as the CLI prints it.
/// `root` is the procedures root `use` paths resolve against; `None` when the
/// example does not build there.
pub fn example_output(m: &RuleMeta, root: &std::path::Path) -> Option<String> {
    let built = crate::model::build_text(root, "example.proc", &example_procedure(m.bad));
    let p = built.procedure?;
    let rule = find_rule(m.name)?;
    let found = check_rule(&p, rule);
    (!found.is_empty()).then(|| crate::diagnostic::render(&found, false))
}

/// The Markdown documentation of a rule, generated from its metadata, with what
/// procedo says about the bad example when it is given.
pub fn rule_doc_with(m: &RuleMeta, said: Option<&str>) -> String {
    let doc = rule_doc(m);
    match said {
        Some(text) => doc.replacen(
            "\n## Use instead\n",
            &format!(
                "\nprocedo says:\n\n```text\n{}```\n\n## Use instead\n",
                text.trim_end_matches('\n').to_string() + "\n"
            ),
            1,
        ),
        None => doc,
    }
}

/// The Markdown documentation of a rule, generated from its metadata.
pub fn rule_doc(m: &RuleMeta) -> String {
    let enabled = if m.enabled_by_default() {
        String::new()
    } else {
        "- Off by default: enable it in `procedo.yaml` (`rules: {NAME: warning}`)\n"
            .replace("NAME", m.name)
    };
    format!(
        "# {name}\n\n{summary}.\n\n- Category: {cat}\n- Default severity: {sev}\n{enabled}\n## Why\n\n{why}\n\n## Example\n\n```proc\n{bad}```\n\n## Use instead\n\n```proc\n{good}```\n\n## Silencing it\n\nIn `procedo.yaml` at the procedures root:\n\n```yaml\nrules:\n  {name}: off\n```\n\nor for one line or block, with the reason it is fine:\n\n```proc\n# procedo: allow({name}) reason \"why this is intended\"\n```\n",
        name = m.name,
        summary = upper_first(m.summary),
        cat = m.category.name(),
        sev = severity_name(m.default_severity),
        why = m.explanation,
        bad = example_procedure(m.bad),
        good = example_procedure(m.good),
    )
}

/// The Markdown index of every rule (`docs/rules/README.md`).
pub fn rules_index() -> String {
    let mut out = String::from(
        "# Lint rules\n\nGenerated from the rules' metadata (`PROCEDO_BLESS=1 cargo test --test integration lint` rewrites this folder). `procedo rules` lists them; `procedo rules NAME` prints one.\n\n",
    );
    for cat in Category::ALL {
        let rules: Vec<_> = all_rules()
            .into_iter()
            .filter(|r| r.meta().category == cat)
            .collect();
        if rules.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "## {}\n\n{}.\n\n| Rule | Severity | Finds |\n| --- | --- | --- |\n",
            cat.name(),
            upper_first(cat.description())
        ));
        for r in rules {
            let m = r.meta();
            out.push_str(&format!(
                "| [{0}]({0}.md) | {1} | {2} |\n",
                m.name,
                severity_name(m.default_severity),
                m.summary
            ));
        }
        out.push('\n');
    }
    out
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
