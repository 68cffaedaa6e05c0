//! `deadline-anchor-not-before`: a step timed from a step that does not come
//! before it on every path.

use crate::ast::{Anchor, StepAttr, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::Cx;
use crate::lint::analysis::flow::{all_stmts, stmt_name};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::graph::NodeId;
use crate::model::{Procedure, StepRole};

pub struct DeadlineAnchorNotBefore;

static META: RuleMeta = RuleMeta {
    name: "deadline-anchor-not-before",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "`within D of X` where X does not happen before the step on every path",
    explanation: "A time limit counts from its anchor. If some path reaches the step without passing \
the anchor step first (the anchor is on another branch, or after the step), the limit has no \
starting point on that path and cannot be checked. The check uses the flow's dominators: the \
anchor must lie on every path from the start to the step. Events are always accepted; \
`earliest_of` needs one of its steps on every path, `latest_of` all of them.",
    bad: "facts\n  urgent: bool\n\nflow\n  step answer\n  decide route on urgent\n    when true\n      step triage\n    else\n      step advise\n  end\n  step dispatch\n    within 10m of triage\n  end closed\n",
    good: "facts\n  urgent: bool\n\nflow\n  step answer\n  decide route on urgent\n    when true\n      step triage\n    else\n      step advise\n  end\n  step dispatch\n    within 10m of answer\n  end closed\n",
};

/// Whether the anchor has happened on every path to `at`; the unmet step names otherwise.
fn unmet(p: &Procedure, a: &Anchor, at: NodeId) -> Vec<String> {
    let step = |name: &str| -> Option<NodeId> {
        match p.symbols.steps.get(name).map(|s| s.role) {
            Some(StepRole::Event) | None => None,
            _ => p.graph.by_name(name),
        }
    };
    match a {
        Anchor::Ref { name, .. } => match step(&name.text) {
            Some(n) if n == at || !p.graph.dominates(n, at) => vec![name.text.clone()],
            _ => Vec::new(),
        },
        Anchor::LatestOf(xs, _) => xs.iter().flat_map(|x| unmet(p, x, at)).collect(),
        Anchor::EarliestOf(xs, _) => {
            let mut nodes = Vec::new();
            for x in xs {
                let names = x.names();
                for n in names {
                    match step(&n.text) {
                        Some(id) => nodes.push(id),
                        None => return Vec::new(),
                    }
                }
            }
            if p.graph.reachable_avoiding(&nodes)[at.0] {
                xs.iter()
                    .flat_map(|x| x.names())
                    .map(|n| n.text.clone())
                    .collect()
            } else {
                Vec::new()
            }
        }
    }
}

impl Rule for DeadlineAnchorNotBefore {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let mut out = Vec::new();
        let Some(body) = cx.flow() else { return out };
        let reachable = p.graph.reachable();
        all_stmts(body, &mut |s| {
            let attrs = match s {
                Stmt::Step(x) => &x.attrs,
                Stmt::Call(x) => &x.attrs,
                _ => return,
            };
            let Some(name) = stmt_name(s) else { return };
            let Some(at) = p.graph.by_name(&name) else {
                return;
            };
            if reachable.binary_search(&at).is_err() {
                return;
            }
            for a in attrs {
                let StepAttr::Within {
                    of: Some(anchor),
                    span,
                    ..
                } = a
                else {
                    continue;
                };
                let missing = unmet(p, anchor, at);
                if missing.is_empty() {
                    continue;
                }
                let list = missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let why = if missing.contains(&name) {
                    "a step cannot be timed from itself".to_string()
                } else {
                    format!("{list} does not happen before `{name}` on every path")
                };
                out.push(
                    Diagnostic::error(
                        META.name,
                        format!("`{name}` is timed from {list}, which may not have happened"),
                    )
                    .with_label(anchor.span(), why)
                    .with_label(*span, "the time limit")
                    .with_help(
                        "time the step from a step that always comes before it, or from an event",
                    ),
                );
            }
        });
        out
    }
}
