//! `superfluous-decision`: a `decide` whose branches all do the same thing.

use crate::ast::{BranchBody, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::Cx;
use crate::lint::analysis::flow::all_stmts;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct SuperfluousDecision;

static META: RuleMeta = RuleMeta {
    name: "superfluous-decision",
    category: Category::Suspicious,
    default_severity: Severity::Warning,
    summary: "a `decide` whose branches all lead to the same place",
    explanation: "A decision that sends every case the same way asks the handler a question whose \
answer changes nothing. Either a branch should go somewhere else (a step was forgotten), or the \
decision can go.",
    bad: "facts\n  urgent: bool\n\nflow\n  step answer\n  decide route on urgent\n    when true -> dispatch\n    else -> dispatch\n  end\n  step dispatch\n  end closed\n",
    good: "facts\n  urgent: bool\n\nflow\n  step answer\n  decide route on urgent\n    when true -> dispatch\n    else -> schedule\n  end\n  step schedule\n  step dispatch\n  end closed\n",
};

impl Rule for SuperfluousDecision {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let mut out = Vec::new();
        let Some(body) = cx.flow() else { return out };
        all_stmts(body, &mut |s| {
            let Stmt::Decide(d) = s else { return };
            let mut bodies: Vec<&BranchBody> = d.branches.iter().map(|b| &b.body).collect();
            if let Some((b, _)) = &d.otherwise {
                bodies.push(b);
            }
            let key = |b: &BranchBody| match b {
                BranchBody::Goto(t) => Some(format!("-> {}", t.text)),
                BranchBody::Block(xs) if xs.is_empty() => Some(String::new()),
                BranchBody::Block(_) => None,
            };
            let Some(first) = key(bodies[0]) else { return };
            let all_same =
                bodies.len() > 1 && bodies.iter().all(|b| key(b).as_ref() == Some(&first));
            if all_same && d.otherwise.is_some() {
                let where_to = if first.is_empty() {
                    "the next step".to_string()
                } else {
                    format!("`{}`", first.trim_start_matches("-> "))
                };
                out.push(
                    Diagnostic::warning(
                        META.name,
                        format!(
                            "every branch of `decide {}` leads to {where_to}",
                            d.name.text
                        ),
                    )
                    .with_label(d.span, "the answer to this decision changes nothing")
                    .with_help("send a branch where it should go, or remove the decision"),
                );
            }
        });
        out
    }
}
