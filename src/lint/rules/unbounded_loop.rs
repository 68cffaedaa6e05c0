//! `unbounded-loop`: a loop with no limit on how often it may run.

use crate::ast::Stmt;
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::Cx;
use crate::lint::analysis::flow::all_stmts;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;
use crate::model::graph::NodeKind;

pub struct UnboundedLoop;

static META: RuleMeta = RuleMeta {
    name: "unbounded-loop",
    category: Category::PerformanceOfOperations,
    default_severity: Severity::Warning,
    summary: "a `repeat` without `at most N`, or a `go to` loop, that may run any number of times",
    explanation: "A call-back loop or a re-assessment cycle with no limit can keep a case open and a \
handler busy indefinitely. Saying how many attempts are allowed (`repeat ... at most 3`) makes the \
procedure say what happens after the last one, and lets an audit flag cases that looped too often.",
    bad: "flow\n  repeat call_back\n    step try_call\n      outcomes [reached, no_answer]\n  until outcome of try_call == reached\n  end closed\n",
    good: "flow\n  repeat call_back at most 3\n    step try_call\n      outcomes [reached, no_answer]\n  until outcome of try_call == reached\n  end closed\n",
};

impl Rule for UnboundedLoop {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let cx = Cx::new(p);
        let Some(body) = cx.flow() else {
            return out;
        };
        let mut repeats = Vec::new();
        all_stmts(body, &mut |s| {
            if let Stmt::Repeat(r) = s {
                repeats.push((
                    r.span,
                    r.max.is_some(),
                    r.name.as_ref().map(|n| n.text.clone()),
                ));
            }
        });
        for (span, bounded, name) in &repeats {
            if !bounded {
                let what = name
                    .as_ref()
                    .map_or("this `repeat`".to_string(), |n| format!("`repeat {n}`"));
                out.push(
                    Diagnostic::warning(META.name, format!("{what} has no limit on how often it runs"))
                        .with_label(*span, "no `at most N`")
                        .with_help("add `at most N` with the number of attempts the procedure allows, and say after the loop what happens when they run out"),
                );
            }
        }
        // `go to` loops: cycles with a way out that are not a `repeat` block.
        for scc in p.graph.cycles() {
            let has_repeat = scc.iter().any(|&n| {
                let node = p.graph.node(n);
                node.kind == NodeKind::LoopStart && repeats.iter().any(|(s, _, _)| *s == node.span)
            });
            if has_repeat {
                continue;
            }
            let leaves = scc.iter().any(|&n| {
                p.graph
                    .flow_successors(n)
                    .iter()
                    .any(|(t, _)| !scc.contains(t))
            });
            if !leaves {
                continue;
            }
            let first = scc.iter().map(|&n| p.graph.node(n)).min_by_key(|n| n.span);
            if let Some(first) = first {
                out.push(
                    Diagnostic::warning(META.name, format!("the `go to` loop through `{}` has no limit on how often it runs", first.name))
                        .with_label(first.span, "the loop starts here")
                        .with_help("write the loop as `repeat NAME at most N ... until CONDITION` so the number of rounds is bounded"),
                );
            }
        }
        out
    }
}
