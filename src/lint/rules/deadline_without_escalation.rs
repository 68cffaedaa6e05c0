//! `deadline-without-escalation` (preview): a timed step with no escalation.

use crate::ast::{StepAttr, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::Cx;
use crate::lint::analysis::flow::all_stmts;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct DeadlineWithoutEscalation;

static META: RuleMeta = RuleMeta {
    name: "deadline-without-escalation",
    category: Category::Preview,
    default_severity: Severity::Info,
    summary: "a step with a time limit but no `escalate`, so a missed limit goes unnoticed until the audit",
    explanation: "A time limit nobody is told about when it is missed is found only afterwards. An \
escalation (`escalate at 100% to supervisor`) makes a late step someone's problem while it can \
still be fixed. Many limits are short on purpose and watched on the wallboard instead, so this \
rule is a preview: enable it in `procedo.yaml` to review them.",
    bad: "roles\n  supervisor \"Supervisor\"\n\nflow\n  step answer\n    by supervisor\n  step dispatch\n    within 10m of answer\n  end closed\n",
    good: "roles\n  supervisor \"Supervisor\"\n\nflow\n  step answer\n    by supervisor\n  step dispatch\n    within 10m of answer\n    escalate at 100% to supervisor\n  end closed\n",
};

impl Rule for DeadlineWithoutEscalation {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let Some(body) = Cx::new(p).flow() else {
            return out;
        };
        all_stmts(body, &mut |s| {
            let (attrs, name) = match s {
                Stmt::Step(x) => (&x.attrs, x.name.clone()),
                Stmt::Call(x) => (&x.attrs, x.step_name()),
                _ => return,
            };
            let within = attrs.iter().find_map(|a| match a {
                StepAttr::Within { span, .. } => Some(*span),
                _ => None,
            });
            let escalates = attrs.iter().any(|a| matches!(a, StepAttr::Escalate { .. }));
            if let Some(span) = within
                && !escalates
            {
                out.push(
                    Diagnostic::new(Severity::Info, META.name, format!("`{}` has a time limit but no escalation", name.text))
                        .with_label(span, "nobody is told when this is missed")
                        .with_help("add `escalate at 100% to ROLE` (or earlier) so a late step reaches someone who can act"),
                );
            }
        });
        out
    }
}
