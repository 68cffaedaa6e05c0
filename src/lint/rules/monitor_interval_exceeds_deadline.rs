//! `monitor-interval-exceeds-deadline`: monitoring whose first check comes after
//! the deadline of the step it waits for.

use crate::ast::{Anchor, StepAttr, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::flow::{all_stmts, stmt_name};
use crate::lint::analysis::{Cx, NumKind, domain::num_text};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct MonitorIntervalExceedsDeadline;

static META: RuleMeta = RuleMeta {
    name: "monitor-interval-exceeds-deadline",
    category: Category::PerformanceOfOperations,
    default_severity: Severity::Warning,
    summary: "a `monitor` whose first check comes later than the deadline of the step it runs until",
    explanation: "Monitoring (welfare calls, caller updates) protects a case while it waits for a step \
with a deadline. If the first check is due only after that deadline, the monitoring never happens \
while the step is on time, and comes too late to notice it is late. Use `first within` for an \
earlier first check, or a shorter interval. Where the deadline depends on the level, each level \
the monitor can run for is checked.",
    bad: "priority\n  scale P1 > P2\n  target P1 attend within 15m\n  target P2 attend within 1h\n\nflow\n  step answer\n  monitor caller_update every 30m after answer until arrive\n  step arrive\n    within target(attend) of answer\n  end closed\n",
    good: "priority\n  scale P1 > P2\n  target P1 attend within 15m\n  target P2 attend within 1h\n\nflow\n  step answer\n  monitor caller_update every 30m first within 10m after answer until arrive\n  step arrive\n    within target(attend) of answer\n  end closed\n",
};

impl Rule for MonitorIntervalExceedsDeadline {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let mut limits = std::collections::BTreeMap::new();
        if let Some(body) = cx.flow() {
            all_stmts(body, &mut |s| {
                let attrs = match s {
                    Stmt::Step(x) => &x.attrs,
                    Stmt::Call(x) => &x.attrs,
                    _ => return,
                };
                for a in attrs {
                    if let StepAttr::Within { limit, .. } = a
                        && let Some(n) = stmt_name(s)
                    {
                        limits.insert(n, limit.clone());
                    }
                }
            });
        }
        let mut out = Vec::new();
        cx.walk(&mut |s, env| {
            let Stmt::Monitor(m) = s else { return };
            let Anchor::Ref { name: until, .. } = &m.until else { return };
            let Some(limit) = limits.get(&until.text) else { return };
            let levels = cx.levels(env);
            let first = m.first_within.as_ref().unwrap_or(&m.every);
            let firsts = cx.durations(first, &levels);
            let Some(first_ms) = firsts.iter().map(|f| f.0).reduce(f64::max) else { return };
            let deadlines = cx.durations(limit, &levels);
            let Some((due, level)) = deadlines.iter().filter(|(d, _)| *d < first_ms).min_by(|a, b| a.0.total_cmp(&b.0)) else {
                return;
            };
            let for_level = level.as_ref().map_or(String::new(), |l| format!(" for `{l}`"));
            out.push(
                Diagnostic::warning(
                    META.name,
                    format!(
                        "the first `{}` check comes after {}, but `{}` is due within {}{for_level}",
                        m.name.text,
                        num_text(first_ms, NumKind::Duration),
                        until.text,
                        num_text(*due, NumKind::Duration)
                    ),
                )
                .with_label(first.span, "first check")
                .with_label(limit.span, format!("the deadline it protects{for_level}"))
                .with_help("add `first within DURATION` (shorter than the deadline) to the monitor, or shorten its interval"),
            );
        });
        out
    }
}
