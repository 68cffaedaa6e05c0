//! `duplicate-branch`: the same value or condition in two branches of a `decide`.

use crate::ast::{Stmt, TestKind};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::Cx;
use crate::lint::analysis::flow::{all_stmts, branch_condition};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;
use crate::model::graph::tests_label;

pub struct DuplicateBranch;

static META: RuleMeta = RuleMeta {
    name: "duplicate-branch",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a value or condition listed in two branches of the same `decide`",
    explanation: "Branches are tried in order, so a value listed again in a later branch never \
reaches it. The author almost always meant a different value: a copied line that was not edited, \
or a typo that happens to be another valid value.",
    bad: "facts\n  impact: enum high | medium | low\n\nflow\n  decide route on impact\n    when high\n      step dispatch\n    when high\n      step schedule\n    else\n      step advise\n  end\n  end closed\n",
    good: "facts\n  impact: enum high | medium | low\n\nflow\n  decide route on impact\n    when high\n      step dispatch\n    when medium\n      step schedule\n    else\n      step advise\n  end\n  end closed\n",
};

impl Rule for DuplicateBranch {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let mut out = Vec::new();
        let Some(body) = cx.flow() else { return out };
        all_stmts(body, &mut |s| {
            let Stmt::Decide(d) = s else { return };
            let mut seen: Vec<(String, crate::source::Span)> = Vec::new();
            for b in &d.branches {
                let items: Vec<(String, crate::source::Span)> = if d.subject.is_some() {
                    b.tests
                        .iter()
                        .filter(|t| matches!(t.kind, TestKind::Equals(_)) || !t.negated)
                        .map(|t| (tests_label(std::slice::from_ref(t)), t.span))
                        .collect()
                } else {
                    branch_condition(&b.tests)
                        .map(|c| vec![(crate::fmt::expr_to_string(&c), c.span)])
                        .unwrap_or_default()
                };
                for (text, span) in items {
                    if let Some((_, first)) = seen.iter().find(|(t, _)| *t == text) {
                        out.push(
                            Diagnostic::error(
                                META.name,
                                format!("`{text}` is listed twice in `decide {}`", d.name.text),
                            )
                            .with_label(span, "never reaches this branch")
                            .with_label(*first, "already taken here")
                            .with_help("remove the repeated value, or write the value this branch was meant for"),
                        );
                    } else {
                        seen.push((text, span));
                    }
                }
            }
        });
        out
    }
}
