//! `dead-end`: a path that stops at something that does not continue the flow.

use crate::ast::{BranchBody, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::Cx;
use crate::lint::analysis::flow::all_stmts;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::graph::NodeKind;
use crate::model::{Procedure, StepRole};

pub struct DeadEnd;

static META: RuleMeta = RuleMeta {
    name: "dead-end",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a path that stops without reaching an end state, because it jumps to an event or a monitor",
    explanation: "`go to` and `->` may name anything the flow can refer to, but only a step, decision \
or block continues the flow. Jumping to an event or a monitor leaves the handler with nothing to \
do next and the incident never closed: no end state is ever recorded on that path.",
    bad: "facts\n  urgent: bool\n\nevents\n  call_presented \"Call presented\"\n\nflow\n  step answer\n  decide route on urgent\n    when true\n      step dispatch\n      end closed\n    else -> call_presented\n  end\n",
    good: "facts\n  urgent: bool\n\nevents\n  call_presented \"Call presented\"\n\nflow\n  step answer\n  decide route on urgent\n    when true\n      step dispatch\n      end closed\n    else\n      end closed\n  end\n",
};

impl Rule for DeadEnd {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let Some(body) = Cx::new(p).flow().map(<[Stmt]>::to_vec) else {
            return out;
        };
        let mut jumps = Vec::new();
        all_stmts(&body, &mut |s| match s {
            Stmt::Goto { target, span, .. } => jumps.push((target.clone(), *span)),
            Stmt::Decide(d) => {
                for b in &d.branches {
                    if let BranchBody::Goto(t) = &b.body {
                        jumps.push((t.clone(), b.span));
                    }
                }
                if let Some((BranchBody::Goto(t), span)) = &d.otherwise {
                    jumps.push((t.clone(), *span));
                }
            }
            _ => {}
        });
        let mut explained = false;
        for (target, _) in jumps {
            let what = match p.symbols.steps.get(&target.text).map(|s| s.role) {
                Some(StepRole::Event) => "an event",
                Some(StepRole::Monitor) => "a monitor",
                _ => continue,
            };
            explained = true;
            out.push(
                Diagnostic::error(
                    META.name,
                    format!(
                        "this path stops here: `{}` is {what}, not a step",
                        target.text
                    ),
                )
                .with_label(
                    target.span,
                    format!("the path jumps here, but {what} does not continue the flow"),
                )
                .with_help(
                    "jump to a step of the flow instead, or finish the path with `end STATE`",
                ),
            );
        }
        if explained {
            return out;
        }
        let reachable = p.graph.reachable();
        for id in reachable {
            let n = p.graph.node(id);
            if matches!(n.kind, NodeKind::End | NodeKind::Monitor) {
                continue;
            }
            if p.graph.flow_successors(id).is_empty() {
                out.push(
                    Diagnostic::error(META.name, format!("the flow stops at `{}`", n.name))
                        .with_label(n.span, "nothing comes after this")
                        .with_help("continue the path with a step or `go to`, or finish it with `end STATE`"),
                );
            }
        }
        out
    }
}
