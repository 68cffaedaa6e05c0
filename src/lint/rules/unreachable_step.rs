//! `unreachable-step`: a step no path from the start reaches.

use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;
use crate::model::graph::NodeKind;

pub struct UnreachableStep;

static META: RuleMeta = RuleMeta {
    name: "unreachable-step",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a step that no path from the start of the flow reaches",
    explanation: "A step that can never be reached is either dead text or a sign that a branch or \
`go to` is missing. Handlers following the procedure will never do it, and an audit will never \
expect it.",
    bad: "flow\n  step answer\n  end closed\n  step record\n  end closed\n",
    good: "flow\n  step answer\n  step record\n  end closed\n",
};

impl Rule for UnreachableStep {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let reachable = p.graph.reachable();
        p.graph
            .nodes()
            .filter(|(id, n)| {
                matches!(
                    n.kind,
                    NodeKind::Step(_) | NodeKind::Call { .. } | NodeKind::Decision
                ) && reachable.binary_search(id).is_err()
            })
            .map(|(_, n)| {
                Diagnostic::error(META.name, format!("step `{}` can never be reached", n.name))
                    .with_label(n.span, "no path from the start leads here")
                    .with_help("add a branch or `go to` that leads here, or delete the step")
            })
            .collect()
    }
}
