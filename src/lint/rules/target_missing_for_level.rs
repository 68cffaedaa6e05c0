//! `target-missing-for-level`: `target(KIND)` used where the priority may be a
//! level that has no target of that kind.

use crate::ast::{ExprKind, StepAttr, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::Cx;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct TargetMissingForLevel;

static META: RuleMeta = RuleMeta {
    name: "target-missing-for-level",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "`target(KIND)` used where the priority can be a level that has no target of that kind",
    explanation: "`within target(respond)` takes the limit from the incident's level. If the flow can \
reach the step with a level that has no `respond` target, the step has no time limit for those \
incidents, and nobody is told when they are late. Levels ruled out by an enclosing `decide` on \
`priority` are not required.",
    bad: "priority\n  scale P1 > P2 > P3\n  target P1 respond within 15m\n  target P2 respond within 1h\n\nflow\n  step answer\n  step respond\n    within target(respond) of answer\n  end closed\n",
    good: "priority\n  scale P1 > P2 > P3\n  target P1 respond within 15m\n  target P2 respond within 1h\n  target P3 respond within 4h\n\nflow\n  step answer\n  step respond\n    within target(respond) of answer\n  end closed\n",
};

fn attrs_of(s: &Stmt) -> &[StepAttr] {
    match s {
        Stmt::Step(x) => &x.attrs,
        Stmt::Monitor(x) => &x.attrs,
        Stmt::Call(x) => &x.attrs,
        _ => &[],
    }
}

impl Rule for TargetMissingForLevel {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let mut out = Vec::new();
        cx.walk(&mut |s, env| {
            let mut exprs = Vec::new();
            for a in attrs_of(s) {
                match a {
                    StepAttr::Within { limit, .. } => exprs.push(limit),
                    StepAttr::Ack(e, _) => exprs.push(e),
                    StepAttr::Escalate { trigger: crate::ast::EscalateTrigger::After(e), .. } => exprs.push(e),
                    _ => {}
                }
            }
            if let Stmt::Monitor(m) = s {
                exprs.push(&m.every);
                exprs.extend(&m.first_within);
            }
            let levels = cx.levels(env);
            for e in exprs {
                let mut calls = Vec::new();
                crate::lint::analysis::for_each_sub_expr(e, &mut |x| {
                    if let ExprKind::Call(f, args) = &x.kind
                        && f.text == "target"
                        && let [arg] = args.as_slice()
                        && let ExprKind::Path(parts) = &arg.kind
                    {
                        calls.push((parts[0].text.clone(), x.span));
                    }
                });
                for (kind, span) in calls {
                    let missing: Vec<&String> = levels
                        .iter()
                        .filter(|l| cx.targets.get(*l).is_none_or(|k| !k.contains_key(&kind)))
                        .collect();
                    if missing.is_empty() {
                        continue;
                    }
                    let list = missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
                    out.push(
                        Diagnostic::error(META.name, format!("`target({kind})` has no value for {list}"))
                            .with_label(span, format!("the priority can be {list} here"))
                            .with_help(format!("add `target LEVEL {kind} within DURATION` for {list}, or reach this step only for levels that have one")),
                    );
                }
            }
        });
        out
    }
}
