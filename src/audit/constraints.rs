//! The procedure's declarative constraints, checked on the whole case
//! (`constraint-violated`, located at the events involved).

use super::{Audit, Auditor, CaseView, Obligation, Status, dur};
use crate::ast::{self, ConstraintKind, CountKind};
use crate::conformance::Finding;
use crate::eval::{FlowExpr, Value};

#[derive(Debug, Clone)]
pub(crate) struct ConstraintRule {
    pub name: String,
    pub kind: ConstraintKind,
    pub within: Option<FlowExpr>,
    pub when: Option<FlowExpr>,
    pub line: usize,
    pub text: String,
    /// What its obligation requires, in words: the same for every case.
    pub required: String,
}

impl ConstraintRule {
    pub fn new(a: &Auditor<'_>, c: &ast::Constraint) -> Self {
        let within = match &c.kind {
            ConstraintKind::Response {
                within: Some(w), ..
            } => Some(a.assessor.compile_expr(a.p, w)),
            _ => None,
        };
        let src = a.p.unit.source.text();
        let text = src
            .get(c.span.start..c.span.end)
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .trim_start_matches(c.name.text.as_str())
            .trim_start_matches(':')
            .trim()
            .to_string();
        ConstraintRule {
            name: c.name.text.clone(),
            kind: c.kind.clone(),
            within,
            when: c.when.as_ref().map(|w| a.assessor.compile_expr(a.p, w)),
            line: a.p.unit.source.line_col(c.span.start).0,
            required: format!("constraint `{}`: {text}", c.name.text),
            text,
        }
    }
}

impl ConstraintRule {
    /// The steps the constraint names.
    pub fn steps(&self) -> Vec<String> {
        steps_of(&self.kind)
    }
}

/// The steps a constraint names.
pub(crate) fn steps_of(kind: &ConstraintKind) -> Vec<String> {
    match kind {
        ConstraintKind::Response { first, then, .. }
        | ConstraintKind::Precedence { first, then } => {
            vec![first.text.clone(), then.text.clone()]
        }
        ConstraintKind::Absence(s) | ConstraintKind::Count { step: s, .. } => vec![s.text.clone()],
        ConstraintKind::NotCoexist(x, y) | ConstraintKind::Actor { a: x, b: y, .. } => {
            vec![x.text.clone(), y.text.clone()]
        }
    }
}

/// Checks the declarative constraints on a case. In a running case (`case.running`) only
/// what more events cannot undo is reported: a response already past its `within` (or
/// come late), a step recorded without the one that must precede it, a step that must
/// never happen, a count already over its bound, both of a `not both`, and the actors of
/// recorded pairs. A response still awaited within its time, or a count still under its
/// bound, is not judged yet.
pub(crate) fn check(a: &Auditor<'_>, case: &CaseView<'_>, audit: &mut Audit) {
    let last = case.trace.events.len().saturating_sub(1);
    for c in &a.constraints {
        if let Some(w) = &c.when
            && case.value_at(a, w, last) != Some(Value::Bool(true))
        {
            continue;
        }
        let before = audit.findings.len();
        // Whether the case gave the constraint an opportunity, whether more events could
        // still change its outcome, and the step it is located at.
        let occurs = |s: &ast::Name| !case.occurrences(&s.text).is_empty();
        let (applies, open, at_step) = match &c.kind {
            ConstraintKind::Response { first, then, .. } => {
                let awaited = case
                    .occurrences(&first.text)
                    .iter()
                    .any(|&i| !case.occurrences(&then.text).iter().any(|&j| j > i));
                (occurs(first), case.running && awaited, &first.text)
            }
            ConstraintKind::Precedence { then, .. } => (occurs(then), false, &then.text),
            ConstraintKind::Absence(s) | ConstraintKind::Count { step: s, .. } => {
                (true, case.running, &s.text)
            }
            ConstraintKind::NotCoexist(x, _) => (true, case.running, &x.text),
            ConstraintKind::Actor { a: x, b: y, .. } => (occurs(x) && occurs(y), false, &y.text),
        };
        let at_step = at_step.clone();
        let mut violate = |step: &str, at: Option<usize>, why: String| {
            let mut f = Finding::new(
                crate::audit::codes::FindingCode::ConstraintViolated,
                step,
                at,
                at.and_then(|i| case.time_text(i)),
                format!("constraint `{}` ({}): {why}", c.name, c.text),
            );
            f.line = Some(c.line);
            f.evidence.insert("constraint", c.name.clone());
            audit.findings.push(f);
        };
        match &c.kind {
            ConstraintKind::Response { first, then, .. } => {
                let limit = c
                    .within
                    .as_ref()
                    .and_then(|w| match case.value_at(a, w, last) {
                        Some(Value::Duration(ms)) => Some(ms),
                        _ => None,
                    });
                let thens = case.occurrences(&then.text);
                for &i in case.occurrences(&first.text) {
                    let next = thens.iter().copied().find(|&j| j > i);
                    match (next, limit) {
                        // Still awaited in a running case: a breach only once its time
                        // has run out.
                        (None, _) if case.running => {
                            if let (Some(ms), Some(t0), Some(now)) =
                                (limit, case.times[i], case.now)
                                && (now - t0).num_milliseconds() > ms
                            {
                                violate(
                                    &first.text,
                                    Some(i),
                                    format!(
                                        "`{}` (event {}) is not followed by `{}` within {}",
                                        first.text,
                                        i + 1,
                                        then.text,
                                        dur(ms)
                                    ),
                                );
                            }
                        }
                        (None, _) => violate(
                            &first.text,
                            Some(i),
                            format!(
                                "`{}` (event {}) is not followed by `{}`",
                                first.text,
                                i + 1,
                                then.text
                            ),
                        ),
                        (Some(j), Some(ms)) => {
                            if let (Some(t0), Some(t1)) = (case.times[i], case.times[j]) {
                                let took = (t1 - t0).num_milliseconds();
                                if took > ms {
                                    violate(
                                        &then.text,
                                        Some(j),
                                        format!(
                                            "`{}` (event {}) came {} after `{}`, over the {} allowed",
                                            then.text,
                                            j + 1,
                                            dur(took),
                                            first.text,
                                            dur(ms)
                                        ),
                                    );
                                }
                            }
                        }
                        (Some(_), None) => {}
                    }
                }
            }
            ConstraintKind::Precedence { first, then } => {
                let firsts = case.occurrences(&first.text);
                for &j in case.occurrences(&then.text) {
                    if !firsts.iter().any(|&i| i < j) {
                        violate(
                            &then.text,
                            Some(j),
                            format!(
                                "`{}` (event {}) has no `{}` before it",
                                then.text,
                                j + 1,
                                first.text
                            ),
                        );
                    }
                }
            }
            ConstraintKind::Absence(step) => {
                for &i in case.occurrences(&step.text) {
                    violate(
                        &step.text,
                        Some(i),
                        format!("`{}` was recorded (event {})", step.text, i + 1),
                    );
                }
            }
            ConstraintKind::Count { kind, n, step } => {
                let occ = case.occurrences(&step.text);
                let k = occ.len() as u32;
                let bad = match kind {
                    // A running case may still record more.
                    CountKind::Exactly if case.running => k > *n,
                    CountKind::AtLeast if case.running => false,
                    CountKind::Exactly => k != *n,
                    CountKind::AtLeast => k < *n,
                    CountKind::AtMost => k > *n,
                };
                if bad {
                    let at = match kind {
                        CountKind::AtMost | CountKind::Exactly if k > *n => {
                            occ.get(*n as usize).copied()
                        }
                        _ => None,
                    };
                    violate(
                        &step.text,
                        at,
                        format!("`{}` was recorded {k} time(s)", step.text),
                    );
                }
            }
            ConstraintKind::NotCoexist(x, y) => {
                let (ox, oy) = (case.occurrences(&x.text), case.occurrences(&y.text));
                if let (Some(&i), Some(&j)) = (ox.first(), oy.first()) {
                    let (step, at) = if i > j { (&x.text, i) } else { (&y.text, j) };
                    violate(
                        step,
                        Some(at),
                        format!("both `{}` and `{}` were recorded", x.text, y.text),
                    );
                }
            }
            ConstraintKind::Actor {
                different,
                a: x,
                b: y,
            } => {
                let actor = |i: usize| case.event(i).resource.clone();
                for &j in case.occurrences(&y.text) {
                    let Some(ay) = actor(j) else { continue };
                    for &i in case.occurrences(&x.text) {
                        let Some(ax) = actor(i) else { continue };
                        if (ax == ay) == *different {
                            violate(
                                &y.text,
                                Some(j),
                                if *different {
                                    format!(
                                        "`{}` (event {}) and `{}` (event {}) were both done by {ax}",
                                        x.text,
                                        i + 1,
                                        y.text,
                                        j + 1
                                    )
                                } else {
                                    format!(
                                        "`{}` was done by {ax} but `{}` (event {}) by {ay}",
                                        x.text,
                                        y.text,
                                        j + 1
                                    )
                                },
                            );
                            break;
                        }
                    }
                }
            }
        }
        let violated = audit.findings.len() > before;
        if applies || violated {
            let status = if violated {
                Status::Violated
            } else if open {
                Status::Pending
            } else {
                Status::Met
            };
            let at = audit.findings.get(before).and_then(|f| f.event_index);
            audit.obligations.push(Obligation::at(
                "constraint",
                at_step,
                c.required.clone(),
                c.line,
                at,
                status,
            ));
        }
    }
}

/// `repeat ... at most N`: a step of the loop recorded more than N times is over the bound
/// (an optimal alignment can repeat a loop freely, so the bound is checked here).
pub(crate) fn loops(a: &Auditor<'_>, trace: &crate::log::Trace, audit: &mut Audit) {
    let time = |i: usize| trace.events[i].timestamp.map(|t| crate::log::rfc3339(&t));
    for l in &a.loops {
        for step in &l.steps {
            let occ = trace
                .events
                .iter()
                .enumerate()
                .filter(|(_, e)| e.activity == *step)
                .map(|(i, _)| i)
                .nth(l.max as usize);
            if let Some(i) = occ {
                let mut f = Finding::new(
                    crate::audit::codes::FindingCode::UnexpectedStep,
                    step.clone(),
                    Some(i),
                    time(i),
                    format!(
                        "`{step}` (event {}) is its round {} of {}, which allows at most {}",
                        i + 1,
                        l.max + 1,
                        l.name
                            .as_ref()
                            .map_or("the loop".to_string(), |n| format!("`repeat {n}`")),
                        l.max
                    ),
                );
                f.line = Some(l.line);
                f.evidence.insert("at most", l.max.to_string());
                audit.findings.push(f);
            }
        }
    }
}
