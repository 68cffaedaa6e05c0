//! `escalation-out-of-order`: escalations of a step listed out of time order, at
//! the same moment, or going down the reporting line.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::ast::{EscalateTrigger, Section, StepAttr, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::flow::all_stmts;
use crate::lint::analysis::{Cx, NumKind, domain::num_text};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::{Procedure, Unit};

pub struct EscalationOutOfOrder;

/// One escalation: its moment, how it is written, its roles and its line.
type Rung = (f64, String, Vec<String>, crate::source::Span);

static META: RuleMeta = RuleMeta {
    name: "escalation-out-of-order",
    category: Category::Suspicious,
    default_severity: Severity::Warning,
    summary: "escalations of a step that are not in time order, fall at the same moment, or go down the reporting line",
    explanation: "Escalations are read as a ladder: each one later than the one before, each to \
someone at least as senior (by `reports to`). A ladder out of order usually means two thresholds \
or two roles were swapped, and the senior person would be called before the junior one had a \
chance. Escalations with different `when` conditions are separate ladders.",
    bad: "roles\n  resolver \"Resolver\" reports to team_lead\n  team_lead \"Team lead\"\n\nflow\n  step log\n  step resolve\n    within 4h of log\n    escalate at 75% to team_lead\n    escalate at 50% to resolver\n  end closed\n",
    good: "roles\n  resolver \"Resolver\" reports to team_lead\n  team_lead \"Team lead\"\n\nflow\n  step log\n  step resolve\n    within 4h of log\n    escalate at 50% to resolver\n    escalate at 75% to team_lead\n  end closed\n",
};

fn reports(
    unit: &Arc<Unit>,
    out: &mut BTreeMap<String, String>,
    seen: &mut Vec<std::path::PathBuf>,
) {
    if seen.contains(&unit.path) {
        return;
    }
    seen.push(unit.path.clone());
    if let Some(parsed) = &unit.parsed {
        for s in &parsed.file.sections {
            if let Section::Roles { items, .. } = s {
                for r in items {
                    if let Some(to) = &r.reports_to {
                        out.insert(r.name.text.clone(), to.text.clone());
                    }
                }
            }
        }
    }
    for (_, u) in &unit.uses {
        reports(u, out, seen);
    }
}

/// Whether `senior` is above `junior` in the reporting line.
fn above(line: &BTreeMap<String, String>, senior: &str, junior: &str) -> bool {
    let mut cur = junior;
    for _ in 0..64 {
        match line.get(cur) {
            Some(up) if up == senior => return true,
            Some(up) => cur = up,
            None => return false,
        }
    }
    false
}

impl Rule for EscalationOutOfOrder {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let mut line = BTreeMap::new();
        reports(&p.unit, &mut line, &mut Vec::new());
        let levels = p.symbols.levels.clone();
        let mut out = Vec::new();
        let Some(body) = cx.flow() else { return out };
        all_stmts(body, &mut |s| {
            let attrs = match s {
                Stmt::Step(x) => &x.attrs,
                Stmt::Call(x) => &x.attrs,
                Stmt::Monitor(x) => &x.attrs,
                _ => return,
            };
            let limit = attrs.iter().find_map(|a| match a {
                StepAttr::Within { limit, .. } => Some(limit),
                _ => None,
            });
            let limit_ms: Option<f64> = limit.and_then(|l| {
                let ds = cx.durations(l, &levels);
                let first = ds.first()?.0;
                ds.iter().all(|d| d.0 == first).then_some(first)
            });
            // Ladders by condition: (moment, text, roles, span).
            let mut ladders: BTreeMap<Option<String>, Vec<Rung>> = BTreeMap::new();
            for a in attrs {
                let StepAttr::Escalate {
                    trigger,
                    to,
                    when,
                    span,
                } = a
                else {
                    continue;
                };
                let (moment, text) = match trigger {
                    EscalateTrigger::Percent(pc) => {
                        let pc: f64 = pc.parse().unwrap_or(0.0);
                        match limit_ms {
                            Some(l) => (l * pc / 100.0, format!("at {pc}%")),
                            None => (pc, format!("at {pc}%")),
                        }
                    }
                    EscalateTrigger::After(e) => match cx.durations(e, &levels).first() {
                        Some((ms, _)) if limit_ms.is_some() => {
                            (*ms, format!("after {}", num_text(*ms, NumKind::Duration)))
                        }
                        _ => continue,
                    },
                };
                let roles = to.iter().map(|r| r.text.clone()).collect();
                ladders
                    .entry(when.as_ref().map(crate::fmt::expr_to_string))
                    .or_default()
                    .push((moment, text, roles, *span));
            }
            for ladder in ladders.values() {
                for pair in ladder.windows(2) {
                    let (a, b) = (&pair[0], &pair[1]);
                    let problem = if b.0 < a.0 {
                        Some(format!(
                            "the escalation {} is listed after the one {}, but happens before it",
                            b.1, a.1
                        ))
                    } else if b.0 == a.0 {
                        Some(format!("two escalations fall at the same moment ({})", b.1))
                    } else {
                        let top_a =
                            a.2.iter()
                                .find(|r| !a.2.iter().any(|o| above(&line, o, r)))
                                .cloned();
                        let top_b =
                            b.2.iter()
                                .find(|r| !b.2.iter().any(|o| above(&line, o, r)))
                                .cloned();
                        match (top_a, top_b) {
                            (Some(ta), Some(tb)) if above(&line, &ta, &tb) => Some(format!(
                                "the escalation {} goes to `{tb}`, who reports to `{ta}`, called earlier",
                                b.1
                            )),
                            _ => None,
                        }
                    };
                    if let Some(msg) = problem {
                        out.push(
                            Diagnostic::warning(META.name, msg)
                                .with_label(b.3, "out of order")
                                .with_label(a.3, "the escalation before it")
                                .with_help("list escalations in the order they happen, each later than the last and to someone at least as senior"),
                        );
                    }
                }
            }
        });
        out
    }
}
