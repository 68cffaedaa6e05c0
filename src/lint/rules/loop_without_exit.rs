//! `loop-without-exit`: steps that jump back to each other with no way out.

use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct LoopWithoutExit;

static META: RuleMeta = RuleMeta {
    name: "loop-without-exit",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a loop made with `go to` that has no way out",
    explanation: "Once a handler enters such a loop the procedure never tells them to stop: every \
step in it leads back into it, and no end state can be reached. Usually a `decide` with a branch \
that leaves the loop is missing, or the loop should be a `repeat ... until CONDITION`.",
    bad: "facts\n  urgent: bool\n\nflow\n  step answer\n  decide route on urgent\n    when true\n      end closed\n    else\n      step wait\n      step check_again\n      go to wait\n  end\n",
    good: "facts\n  urgent: bool\n\nflow\n  step answer\n  decide route on urgent\n    when true\n      end closed\n    else\n      repeat waiting at most 3\n        step wait\n        step check_again\n          outcomes [ready, not_ready]\n      until outcome of check_again == ready\n      end closed\n  end\n",
};

impl Rule for LoopWithoutExit {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let reachable = p.graph.reachable();
        let mut out = Vec::new();
        for scc in p.graph.cycles() {
            if !scc.iter().any(|n| reachable.binary_search(n).is_ok()) {
                continue;
            }
            let leaves = scc.iter().any(|&n| {
                p.graph
                    .flow_successors(n)
                    .iter()
                    .any(|(t, _)| !scc.contains(t))
            });
            if leaves {
                continue;
            }
            let mut nodes: Vec<_> = scc.iter().map(|&n| p.graph.node(n)).collect();
            nodes.sort_by_key(|n| n.span);
            let names: Vec<&str> = nodes
                .iter()
                .filter(|n| !n.name.contains('#') && !n.name.contains('/'))
                .map(|n| n.name.as_str())
                .collect();
            let first = nodes[0];
            out.push(
                Diagnostic::error(
                    META.name,
                    format!("the loop through {} has no way out", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
                )
                .with_label(first.span, "the loop starts here and every path in it comes back")
                .with_help("add a `decide` inside the loop with a branch that leaves it, or write it as `repeat ... until CONDITION`"),
            );
        }
        out
    }
}
