//! `allow-without-reason`: an allow comment that does not say why.

use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::allow;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct AllowWithoutReason;

static META: RuleMeta = RuleMeta {
    name: "allow-without-reason",
    category: Category::Suspicious,
    default_severity: Severity::Warning,
    summary: "a `# procedo: allow(...)` comment without `reason \"...\"`",
    explanation: "Silencing a finding is sometimes right, but the next author, and the auditor, need \
to know why. A comment without a reason still silences the finding, and is reported itself until \
a reason is written.",
    bad: "facts\n  urgent: bool\n  # procedo: allow(unused-fact)\n  legacy_code: text\n\nflow\n  decide route on urgent\n    when true\n      step dispatch\n    else\n      step advise\n  end\n  end closed\n",
    good: "facts\n  urgent: bool\n  # procedo: allow(unused-fact) reason \"kept for the 2025 log import\"\n  legacy_code: text\n\nflow\n  decide route on urgent\n    when true\n      step dispatch\n    else\n      step advise\n  end\n  end closed\n",
};

impl Rule for AllowWithoutReason {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        allow::collect(p)
            .directives()
            .iter()
            .filter(|d| d.malformed.is_none() && d.reason.is_none())
            .map(|d| {
                Diagnostic::warning(META.name, "this allow comment gives no reason")
                    .with_label(d.span, "no `reason \"...\"`")
                    .with_help(
                        "say why the finding is fine here: `# procedo: allow(RULE) reason \"...\"`",
                    )
            })
            .collect()
    }
}
