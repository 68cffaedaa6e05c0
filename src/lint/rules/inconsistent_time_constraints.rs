//! `inconsistent-time-constraints`: time limits, constraints and the order of the
//! flow that cannot all hold (a simple temporal network with a negative cycle).

use std::collections::BTreeMap;

use crate::ast::{Anchor, ConstraintKind, Section, StepAttr, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::flow::{all_stmts, stmt_name};
use crate::lint::analysis::{Cx, NumKind, domain::num_text};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;
use crate::source::Span;

pub struct InconsistentTimeConstraints;

static META: RuleMeta = RuleMeta {
    name: "inconsistent-time-constraints",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "time limits, `constraints` and the order of the flow that no timing of the steps can satisfy together",
    explanation: "Each rule about time is a bound on the gap between two moments: the flow puts a \
step no earlier than the steps that always come before it; `within D of X` puts it after X and \
at most D later; `a before b` and `a followed by b [within D]` put b strictly after a (and at most \
D later). procedo builds this simple temporal network and looks for a negative cycle with \
Bellman-Ford: a set of bounds that would need a moment to come before itself. Such a procedure \
cannot be followed, and every case will break one of the rules. Steps inside loops (which happen \
more than once) and conditional limits are left out, so what is reported is a real conflict.",
    bad: "flow\n  step answer\n  step brief_crew\n  step dispatch\n  end closed\n\nconstraints\n  brief_after_dispatch: dispatch followed by brief_crew within 2m\n",
    good: "flow\n  step answer\n  step dispatch\n  step brief_crew\n  end closed\n\nconstraints\n  brief_after_dispatch: dispatch followed by brief_crew within 2m\n",
};

/// A bound `t[to] - t[from] <= w`: (milliseconds, strictness count).
#[derive(Debug, Clone)]
struct Bound {
    from: usize,
    to: usize,
    w: (f64, i64),
    why: String,
    span: Option<Span>,
}

impl Rule for InconsistentTimeConstraints {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let g = &p.graph;
        let levels = p.symbols.levels.clone();
        let in_loop: Vec<bool> = {
            let mut v = vec![false; g.node_count()];
            for c in g.cycles() {
                for n in c {
                    v[n.0] = true;
                }
            }
            v
        };
        let reachable = g.reachable();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let mut names: Vec<String> = Vec::new();
        let mut point = |name: &str| -> usize {
            if let Some(&i) = index.get(name) {
                return i;
            }
            names.push(name.to_string());
            index.insert(name.to_string(), names.len() - 1);
            names.len() - 1
        };
        let usable = |name: &str| -> bool {
            match g.by_name(name) {
                Some(n) => !in_loop[n.0] && reachable.binary_search(&n).is_ok(),
                None => p
                    .symbols
                    .steps
                    .get(name)
                    .is_some_and(|s| s.role == crate::model::StepRole::Event),
            }
        };
        let mut bounds: Vec<Bound> = Vec::new();
        // Flow order: a node is no earlier than its immediate dominator.
        let idom = g.immediate_dominators();
        for id in reachable.iter().copied() {
            if in_loop[id.0] {
                continue;
            }
            let Some(d) = idom[id.0] else { continue };
            if in_loop[d.0] {
                continue;
            }
            let (a, b) = (g.node(d), g.node(id));
            let (ia, ib) = (point(&a.name), point(&b.name));
            bounds.push(Bound {
                from: ib,
                to: ia,
                w: (0.0, 0),
                why: format!("the flow puts `{}` before `{}`", a.name, b.name),
                span: None,
            });
        }
        // Step time limits with a plain anchor.
        if let Some(body) = cx.flow() {
            all_stmts(body, &mut |s| {
                let attrs = match s {
                    Stmt::Step(x) => &x.attrs,
                    Stmt::Call(x) => &x.attrs,
                    _ => return,
                };
                let Some(name) = stmt_name(s) else { return };
                if !usable(&name) {
                    return;
                }
                for a in attrs {
                    let StepAttr::Within {
                        limit,
                        of: Some(Anchor::Ref { name: anchor, .. }),
                        span,
                        ..
                    } = a
                    else {
                        continue;
                    };
                    if !usable(&anchor.text) || anchor.text == name {
                        continue;
                    }
                    let Some(max) = cx
                        .durations(limit, &levels)
                        .iter()
                        .map(|d| d.0)
                        .reduce(f64::max)
                    else {
                        continue;
                    };
                    let (ix, is) = (point(&anchor.text), point(&name));
                    bounds.push(Bound {
                        from: ix,
                        to: is,
                        w: (max, 0),
                        why: format!(
                            "`{name}` is due within {} of `{}`",
                            num_text(max, NumKind::Duration),
                            anchor.text
                        ),
                        span: Some(*span),
                    });
                    bounds.push(Bound {
                        from: is,
                        to: ix,
                        w: (0.0, 0),
                        why: format!(
                            "`{name}` is timed from `{}`, so comes after it",
                            anchor.text
                        ),
                        span: Some(*span),
                    });
                }
            });
        }
        // Constraints without a condition.
        for s in &p.ast().sections {
            let Section::Constraints { items, .. } = s else {
                continue;
            };
            for c in items.iter().filter(|c| c.when.is_none()) {
                let (first, then, within) = match &c.kind {
                    ConstraintKind::Precedence { first, then } => (first, then, None),
                    ConstraintKind::Response {
                        first,
                        then,
                        within,
                    } => (first, then, within.as_ref()),
                    _ => continue,
                };
                if !usable(&first.text) || !usable(&then.text) {
                    continue;
                }
                let (ia, ib) = (point(&first.text), point(&then.text));
                bounds.push(Bound {
                    from: ib,
                    to: ia,
                    w: (0.0, -1),
                    why: format!(
                        "`{}` requires `{}` after `{}`",
                        c.name.text, then.text, first.text
                    ),
                    span: Some(c.span),
                });
                if let Some(w) = within
                    && let Some(max) = cx
                        .durations(w, &levels)
                        .iter()
                        .map(|d| d.0)
                        .reduce(f64::max)
                {
                    bounds.push(Bound {
                        from: ia,
                        to: ib,
                        w: (max, 0),
                        why: format!(
                            "`{}` requires `{}` within {} of `{}`",
                            c.name.text,
                            then.text,
                            num_text(max, NumKind::Duration),
                            first.text
                        ),
                        span: Some(c.span),
                    });
                }
            }
        }
        let Some(cycle) = negative_cycle(names.len(), &bounds) else {
            return Vec::new();
        };
        let mut cycle: Vec<&Bound> = cycle.iter().map(|&i| &bounds[i]).collect();
        cycle.sort_by_key(|b| b.span.is_none());
        let primary = cycle.iter().find_map(|b| b.span).unwrap_or_default();
        let mut d = Diagnostic::error(META.name, "these time rules cannot all hold")
            .with_label(primary, cycle[0].why.clone());
        for b in &cycle[1..] {
            if let Some(s) = b.span
                && s != primary
            {
                d = d.with_label(s, b.why.clone());
            }
        }
        let flow_facts: Vec<&str> = cycle
            .iter()
            .filter(|b| b.span.is_none())
            .map(|b| b.why.as_str())
            .collect();
        let help = if flow_facts.is_empty() {
            "relax or remove one of these rules".to_string()
        } else {
            format!(
                "{}; change the order of the steps or relax one of the rules",
                flow_facts.join("; ")
            )
        };
        vec![d.with_help(help)]
    }
}

/// Bellman-Ford from a virtual source; the indices of the bounds on a negative cycle.
fn negative_cycle(n: usize, bounds: &[Bound]) -> Option<Vec<usize>> {
    if n == 0 {
        return None;
    }
    let add = |a: (f64, i64), b: (f64, i64)| (a.0 + b.0, a.1 + b.1);
    let less = |a: (f64, i64), b: (f64, i64)| a.0 < b.0 || (a.0 == b.0 && a.1 < b.1);
    let mut dist = vec![(0.0, 0i64); n];
    let mut pred: Vec<Option<usize>> = vec![None; n];
    let mut last = None;
    for _ in 0..n {
        last = None;
        for (i, b) in bounds.iter().enumerate() {
            let cand = add(dist[b.from], b.w);
            if less(cand, dist[b.to]) {
                dist[b.to] = cand;
                pred[b.to] = Some(i);
                last = Some(b.to);
            }
        }
        last?;
    }
    // Walk back n steps to land inside the cycle, then collect it.
    let mut v = last?;
    for _ in 0..n {
        v = bounds[pred[v]?].from;
    }
    let start = v;
    let mut out = Vec::new();
    loop {
        let e = pred[v]?;
        out.push(e);
        v = bounds[e].from;
        if v == start {
            break;
        }
        if out.len() > bounds.len() {
            return None;
        }
    }
    out.reverse();
    Some(out)
}
