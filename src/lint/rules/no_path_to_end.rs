//! `no-path-to-end`: a point from which the procedure can never finish, because
//! every way on depends on a condition that cannot hold there.

use std::collections::BTreeSet;

use crate::ast::Stmt;
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::Cx;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;
use crate::model::graph::{NodeKind, tests_label};
use crate::source::Span;

pub struct NoPathToEnd;

static META: RuleMeta = RuleMeta {
    name: "no-path-to-end",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a point from which no end state can be reached, because the only ways on need conditions that cannot hold there",
    explanation: "The flow's structure may look complete while the conditions on it are not: a \
`repeat` waiting for something that can never be true on its path, or a `decide` whose only \
branches that lead on can never be taken. A handler who gets there can never finish the case. \
(Loops and jumps that have no way out at all are `loop-without-exit` and `dead-end`.)",
    bad: "facts\n  urgent: bool\n\nflow\n  decide triage on urgent\n    when true\n      repeat attempts at most 3\n        step call_back\n      until urgent == false\n      end closed\n    else\n      end closed\n  end\n",
    good: "facts\n  urgent: bool\n\nflow\n  decide triage on urgent\n    when true\n      repeat attempts at most 3\n        step call_back\n          outcomes [reached, no_answer]\n      until outcome of call_back == reached\n      end closed\n    else\n      end closed\n  end\n",
};

impl Rule for NoPathToEnd {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        // Edges that can never be taken: (span of the node they leave, label).
        let mut blocked: BTreeSet<(Span, String)> = BTreeSet::new();
        let mut why: Vec<(Span, String)> = Vec::new();
        cx.walk(&mut |s, env| match s {
            Stmt::Decide(d) => {
                let info = cx.decide(d, env);
                for (b, e) in d.branches.iter().zip(&info.branches) {
                    if e.is_none() {
                        blocked.insert((d.span, tests_label(&b.tests)));
                    }
                }
                if d.otherwise.is_some() && info.rest.is_none() && info.exact {
                    blocked.insert((d.span, "else".into()));
                }
            }
            Stmt::Repeat(r) if cx.refine(env, &r.until, true).is_none() => {
                blocked.insert((r.until_span, crate::fmt::expr_to_string(&r.until)));
                why.push((r.until_span, crate::fmt::expr_to_string(&r.until)));
            }
            _ => {}
        });
        if blocked.is_empty() {
            return Vec::new();
        }
        let g = &p.graph;
        let ends: Vec<_> = g
            .nodes()
            .filter(|(_, n)| n.kind == NodeKind::End)
            .map(|(i, _)| i)
            .collect();
        let free = g.can_reach(&ends, &|_, _, _| false);
        let guarded = g.can_reach(&ends, &|from, _, label| {
            let span = g.node(from).span;
            label.is_some_and(|l| blocked.contains(&(span, l.to_string())))
        });
        let mut out = Vec::new();
        for id in g.reachable() {
            if !free[id.0] || guarded[id.0] {
                continue;
            }
            let n = g.node(id);
            let blocked_here = g
                .flow_successors(id)
                .iter()
                .any(|(_, l)| l.is_some_and(|l| blocked.contains(&(n.span, l.to_string()))));
            if !blocked_here {
                continue;
            }
            let d = match n.kind {
                NodeKind::LoopTest => {
                    let cond = why.iter().find(|(s, _)| *s == n.span).map_or(String::new(), |w| w.1.clone());
                    Diagnostic::error(META.name, "this loop can never finish, so no end state can be reached from it")
                        .with_label(n.span, format!("`{cond}` can never be true on this path"))
                        .with_help("loop until something the handler's steps can change (such as `outcome of STEP == VALUE`), or give the loop a way out")
                }
                _ => Diagnostic::error(META.name, format!("no end state can be reached after `{}`", n.name))
                    .with_label(n.span, "the branches that lead on can never be taken here")
                    .with_help("make a branch that can be taken lead to the rest of the procedure, or add an `else` that does"),
            };
            out.push(d);
        }
        out
    }
}
