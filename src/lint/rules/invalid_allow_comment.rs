//! `invalid-allow-comment`: a `# procedo:` comment that cannot be read or names no
//! known rule.

use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::{Category, Rule, RuleMeta, allow, find_rule};
use crate::model::Procedure;

pub struct InvalidAllowComment;

static META: RuleMeta = RuleMeta {
    name: "invalid-allow-comment",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a `# procedo:` comment that is not `allow(RULE, ...) reason \"...\"`, or names a rule that does not exist",
    explanation: "A misspelt rule name or a malformed comment silences nothing, so the finding it was \
meant for is still reported, or worse, the author believes it was looked at. `procedo rules` lists \
the rule names.",
    bad: "facts\n  urgent: bool\n  # procedo: allow(unused-facts) reason \"kept for the 2025 log import\"\n  legacy_code: text\n\nflow\n  decide route on urgent\n    when true\n      step dispatch\n    else\n      step advise\n  end\n  end closed\n\nmapping\n  attribute \"LEGACY_CODE\" -> legacy_code\n",
    good: "facts\n  urgent: bool\n  # procedo: allow(unused-fact) reason \"kept for the 2025 log import\"\n  legacy_code: text\n\nflow\n  decide route on urgent\n    when true\n      step dispatch\n    else\n      step advise\n  end\n  end closed\n\nmapping\n  attribute \"LEGACY_CODE\" -> legacy_code\n",
};

impl Rule for InvalidAllowComment {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for d in allow::collect(p).directives() {
            if let Some(why) = &d.malformed {
                out.push(
                    Diagnostic::error(META.name, "this `# procedo:` comment cannot be read")
                        .with_label(d.span, why.clone())
                        .with_help("write `# procedo: allow(RULE) reason \"why\"`; `procedo rules` lists the rules"),
                );
                continue;
            }
            for (name, span) in &d.rules {
                if find_rule(name).is_none() {
                    let close = crate::lint::all_rules()
                        .into_iter()
                        .map(|r| r.meta().name)
                        .find(|r| r.starts_with(name.trim_end_matches('s')) || name.starts_with(r));
                    let help = match close {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => "`procedo rules` lists the rule names".into(),
                    };
                    out.push(
                        Diagnostic::error(META.name, format!("there is no rule named `{name}`"))
                            .with_label(*span, "not a rule")
                            .with_help(help),
                    );
                }
            }
        }
        out
    }
}
