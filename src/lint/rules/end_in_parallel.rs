//! `end-in-parallel`: a branch of a `parallel` block that ends the procedure or
//! jumps out of the block.

use crate::ast::{BranchBody, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::Cx;
use crate::lint::analysis::flow::all_stmts;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct EndInParallel;

static META: RuleMeta = RuleMeta {
    name: "end-in-parallel",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "an `end` or a `go to` inside a branch of a `parallel` block",
    explanation: "Every branch of a `parallel` block happens, and the flow continues after `end` only \
when all of them are done. A branch that ends the procedure closes the case while the other \
branches are still under way; a branch that jumps out with `go to` never arrives at the join, so \
the steps after the block wait for ever.",
    bad: "flow\n  parallel notify\n    branch \"Police\"\n      step notify_police\n      end closed\n    branch \"Fire\"\n      step notify_fire\n  end\n  end closed\n",
    good: "flow\n  parallel notify\n    branch \"Police\"\n      step notify_police\n    branch \"Fire\"\n      step notify_fire\n  end\n  end closed\n",
};

impl Rule for EndInParallel {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let mut out = Vec::new();
        let Some(body) = cx.flow() else { return out };
        all_stmts(body, &mut |s| {
            let Stmt::Parallel(par) = s else { return };
            let name = par
                .name
                .as_ref()
                .map_or("parallel".to_string(), |n| format!("parallel {}", n.text));
            for b in &par.branches {
                all_stmts(&b.body, &mut |inner| {
                    let found = match inner {
                        Stmt::End { state, span, .. } => Some((
                            *span,
                            format!(
                                "`end {}` closes the case while the other branches run",
                                state.text
                            ),
                        )),
                        Stmt::Goto { target, span, .. } => Some((
                            *span,
                            format!(
                                "`go to {}` leaves the block before the other branches finish",
                                target.text
                            ),
                        )),
                        Stmt::Decide(d) => {
                            let jump = d
                                .branches
                                .iter()
                                .find_map(|b| match &b.body {
                                    BranchBody::Goto(t) => Some((b.span, t.text.clone())),
                                    _ => None,
                                })
                                .or_else(|| match &d.otherwise {
                                    Some((BranchBody::Goto(t), s)) => Some((*s, t.text.clone())),
                                    _ => None,
                                });
                            jump.map(|(s, t)| {
                                (
                                    s,
                                    format!(
                                        "`-> {t}` leaves the block before the other branches finish"
                                    ),
                                )
                            })
                        }
                        _ => None,
                    };
                    if let Some((span, label)) = found {
                        out.push(
                            Diagnostic::error(META.name, format!("a branch of `{name}` does not come back to the end of the block"))
                                .with_label(span, label)
                                .with_label(par.span, "every branch of this block must finish before the flow goes on")
                                .with_help("let the branch finish at the block's `end`, and put the `end STATE` or `go to` after the block"),
                        );
                    }
                });
            }
        });
        out
    }
}
