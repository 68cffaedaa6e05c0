//! Conformance of recorded cases: the optimal alignment of each case with the
//! permitted paths, turned into located findings with stable codes.
//!
//! Codes: `unexpected-step` (recorded where the procedure does not allow it),
//! `missing-step` (required but not recorded), `wrong-order` (a step recorded out of
//! place: a log move and a model move of the same step), `incomplete` (the case stops
//! before an end).

use serde::Serialize;

use crate::log::Trace;
use crate::petri::Net;
use crate::petri::align::{Aligner, Alignment, GaveUp, Move};

/// One deviation, located in the case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub code: crate::codes::FindingCode,
    pub step: String,
    /// 0-based index of the event concerned (the first of a pair), if any.
    pub event_index: Option<usize>,
    pub time: Option<String>,
    pub message: String,
    /// The procedure line behind the finding (the step, constraint or rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// What the finding rests on: limits, durations, facts, the rule that decided.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub evidence: std::collections::BTreeMap<&'static str, String>,
    /// The steps it concerns, as a list (`step` joins them for `incomplete`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    /// Who it is attributed to (see [`attribute`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

impl Finding {
    /// A finding without a procedure line or evidence.
    pub fn new(
        code: crate::codes::FindingCode,
        step: impl Into<String>,
        event_index: Option<usize>,
        time: Option<String>,
        message: String,
    ) -> Self {
        let step = step.into();
        Finding {
            code,
            steps: if step.is_empty() {
                Vec::new()
            } else {
                vec![step.clone()]
            },
            step,
            event_index,
            time,
            message,
            line: None,
            evidence: Default::default(),
            actor: None,
        }
    }
}

/// The verdict on one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub case_id: String,
    pub events: usize,
    pub conforming: bool,
    /// `None` when the search gave up (state limit).
    pub cost: Option<u64>,
    pub fitness: Option<f64>,
    /// When the search gave up: why, and the bounds of the optimal cost it reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounds: Option<GaveUp>,
    pub findings: Vec<Finding>,
    /// The alignment as (log, model) pairs; `>>` marks a skip. Filled on request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alignment: Vec<(String, String)>,
}

/// Checks one case against the net.
///
/// `flow` lists the indices of the events that are control flow (see
/// [`ActivityMap::prepare`]); `None` means every event. Findings locate events by their
/// index in the whole case.
pub fn check_case(
    aligner: &mut Aligner<'_>,
    net: &Net,
    trace: &Trace,
    flow: Option<&[usize]>,
    with_alignment: bool,
) -> CaseResult {
    let all: Vec<usize>;
    let flow = match flow {
        Some(f) => f,
        None => {
            all = (0..trace.events.len()).collect();
            &all
        }
    };
    let activities: Vec<&str> = flow
        .iter()
        .map(|&i| trace.events[i].activity.as_str())
        .collect();
    let encoded = aligner.encode(&activities);
    let key = (encoded, crate::petri::align::Guards::default());
    let outcome = aligner.outcome(&key);
    let empty_cost = aligner.empty_cost();
    result(
        net,
        empty_cost,
        trace,
        flow,
        outcome.as_ref(),
        with_alignment,
        false,
    )
}

/// The verdict on one case from its alignment, or from what the search knew when it
/// stopped (`not-aligned`, with the bounds of the optimal cost).
/// `empty_cost` is the aligner's [`Aligner::empty_cost`] (fitness reads it). With
/// `running` (a case judged as of an instant, whose `incomplete` finding the audit drops
/// once it knows from it that the case is running), that finding is left without words.
pub fn result(
    net: &Net,
    empty_cost: Option<u64>,
    trace: &Trace,
    flow: &[usize],
    al: Result<&Alignment, &GaveUp>,
    with_alignment: bool,
    running: bool,
) -> CaseResult {
    let al = match al {
        Ok(al) => al,
        Err(g) => {
            return CaseResult {
                case_id: trace.id.clone(),
                events: trace.events.len(),
                conforming: false,
                cost: None,
                fitness: None,
                bounds: Some(*g),
                findings: vec![Finding::new(
                    crate::codes::FindingCode::NotAligned,
                    "",
                    None,
                    None,
                    gave_up_message(g),
                )],
                alignment: Vec::new(),
            };
        }
    };
    let fitness = Aligner::fitness_given(empty_cost, al, flow.len());
    let findings = findings(al, net, trace, flow, running);
    let alignment = if with_alignment {
        rows(al, net, trace, flow)
    } else {
        Vec::new()
    };
    CaseResult {
        case_id: trace.id.clone(),
        events: trace.events.len(),
        conforming: al.deviations() == 0,
        cost: Some(al.cost),
        fitness: Some(fitness),
        bounds: None,
        findings,
        alignment,
    }
}

/// What a `not-aligned` finding says: the limit the search reached and the bounds of
/// the optimal cost.
fn gave_up_message(g: &GaveUp) -> String {
    use crate::petri::align::{DEVIATION, Limit};
    let why = match g.limit {
        Limit::States => format!(
            "the alignment search gave up after visiting {} states (--max-states)",
            g.states
        ),
        Limit::Time => format!(
            "the alignment search gave up at its time limit (--case-timeout) after {} states",
            g.states
        ),
        Limit::NoRun => {
            return "no run of the net reaches its final marking: the case \
                                cannot be aligned"
                .to_string();
        }
    };
    let upper = match g.upper {
        Some(u) => format!("at most {u} ({} deviations)", u / DEVIATION),
        None => "an upper bound is not known".to_string(),
    };
    format!(
        "{why}; the optimal cost is at least {} (at least {} deviations) and {upper}; no \
         verdict",
        g.lower,
        g.lower / DEVIATION
    )
}

/// The decisions an alignment passes, in order: (decision index in
/// [`Aligner::decisions`], branch taken, control-flow events consumed before it).
pub fn decision_passes(aligner: &Aligner<'_>, al: &Alignment) -> Vec<(usize, usize, usize)> {
    let mut pos = 0;
    let mut out = Vec::new();
    for m in &al.moves {
        match *m {
            Move::Sync { .. } | Move::Log { .. } => pos += 1,
            Move::Model { transition } => {
                if let Some((d, b)) = aligner.branch_of(transition) {
                    out.push((d, b, pos));
                }
            }
        }
    }
    out
}

fn label(net: &Net, t: usize) -> &str {
    net.transitions[t].label.as_deref().unwrap_or("τ")
}

fn rows(al: &Alignment, net: &Net, trace: &Trace, flow: &[usize]) -> Vec<(String, String)> {
    al.moves
        .iter()
        .filter_map(|m| match *m {
            Move::Sync { event, transition } => Some((
                trace.events[flow[event]].activity.clone(),
                label(net, transition).to_string(),
            )),
            Move::Log { event } => Some((trace.events[flow[event]].activity.clone(), ">>".into())),
            Move::Model { transition } if net.transitions[transition].label.is_some() => {
                Some((">>".into(), label(net, transition).to_string()))
            }
            Move::Model { .. } => None,
        })
        .collect()
}

fn findings(
    al: &Alignment,
    net: &Net,
    trace: &Trace,
    flow: &[usize],
    running: bool,
) -> Vec<Finding> {
    let time = |i: usize| {
        trace
            .events
            .get(i)
            .and_then(|e| e.timestamp)
            .map(|t| crate::log::rfc3339(&t))
    };
    // The position of the last event consumed: model moves after it mean the case stopped early.
    let last_event_move = al
        .moves
        .iter()
        .rposition(|m| matches!(m, Move::Sync { .. } | Move::Log { .. }));
    let mut log_moves: Vec<(usize, usize)> = Vec::new();
    let mut model_moves: Vec<(usize, usize)> = Vec::new();
    for (k, m) in al.moves.iter().enumerate() {
        match *m {
            Move::Log { event } => log_moves.push((k, flow[event])),
            Move::Model { transition } if net.transitions[transition].label.is_some() => {
                model_moves.push((k, transition))
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut used_model = vec![false; model_moves.len()];
    for &(_, event) in &log_moves {
        let activity = &trace.events[event].activity;
        // A log move and a model move of the same step: recorded, but out of place.
        if let Some(j) = model_moves.iter().enumerate().position(|(j, &(_, t))| {
            !used_model[j] && net.transitions[t].label.as_deref() == Some(activity)
        }) {
            used_model[j] = true;
            out.push(Finding {
                steps: vec![activity.clone()],
                actor: None,
                line: None,
                evidence: Default::default(),
                code: crate::codes::FindingCode::WrongOrder,
                step: activity.clone(),
                event_index: Some(event),
                time: time(event),
                message: format!(
                    "`{activity}` (event {}) was recorded out of the permitted order",
                    event + 1
                ),
            });
            continue;
        }
        out.push(Finding {
            steps: vec![activity.clone()],
            actor: None,
            line: None,
            evidence: Default::default(),
            code: crate::codes::FindingCode::UnexpectedStep,
            step: activity.clone(),
            event_index: Some(event),
            time: time(event),
            message: format!(
                "`{activity}` (event {}) is not permitted at this point",
                event + 1
            ),
        });
    }
    let mut tail = Vec::new();
    for (j, &(k, t)) in model_moves.iter().enumerate() {
        if used_model[j] {
            continue;
        }
        let step = label(net, t).to_string();
        if last_event_move.is_none_or(|last| k > last) {
            tail.push(step);
            continue;
        }
        // The event before which the step should have been recorded.
        let next_event = al.moves[k..].iter().find_map(|m| match *m {
            Move::Sync { event, .. } | Move::Log { event } => Some(flow[event]),
            Move::Model { .. } => None,
        });
        out.push(Finding {
            steps: vec![step.clone()],
            actor: None,
            line: None,
            evidence: Default::default(),
            code: crate::codes::FindingCode::MissingStep,
            step: step.clone(),
            event_index: next_event,
            time: next_event.and_then(time),
            message: match next_event {
                Some(e) => format!(
                    "`{step}` is required before event {} but was not recorded",
                    e + 1
                ),
                None => format!("`{step}` is required but was not recorded"),
            },
        });
    }
    if !tail.is_empty() {
        out.push(if running {
            // Dropped once the case is known to be running: it only tells that.
            Finding::new(
                crate::codes::FindingCode::Incomplete,
                "",
                None,
                None,
                String::new(),
            )
        } else {
            Finding {
                steps: tail.clone(),
                actor: None,
                line: None,
                evidence: Default::default(),
                code: crate::codes::FindingCode::Incomplete,
                step: tail.join(", "),
                event_index: None,
                time: trace
                    .events
                    .last()
                    .and_then(|e| e.timestamp)
                    .map(|t| crate::log::rfc3339(&t)),
                message: format!(
                    "the case stops before an end: still required {}",
                    tail.iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        });
    }
    out.sort_by_key(|f| (f.event_index.unwrap_or(usize::MAX), f.code));
    out
}

pub use crate::log::SET_ASIDE_ATTRIBUTES;

/// How a procedure reads activity names of an external log.
#[derive(Debug, Clone, Default)]
pub struct ActivityMap {
    /// Log label → step (`None`: `ignore`).
    pub labels: std::collections::BTreeMap<String, Option<String>>,
    /// Recorded events and monitor names: checked by other perspectives, not control flow.
    pub not_control_flow: std::collections::BTreeSet<String>,
}

impl ActivityMap {
    pub fn from_procedure(p: &crate::model::Procedure) -> Self {
        let mut map = ActivityMap::default();
        for s in &p.ast().sections {
            if let crate::ast::Section::Mapping { items, .. } = s {
                for item in items {
                    if let crate::ast::MapItem::Activity { label, target, .. } = item {
                        map.labels
                            .insert(label.value.clone(), target.as_ref().map(|t| t.text.clone()));
                    }
                }
            }
        }
        for (name, info) in &p.symbols.steps {
            if matches!(
                info.role,
                crate::model::StepRole::Event | crate::model::StepRole::Monitor
            ) {
                map.not_control_flow.insert(name.clone());
            }
        }
        map
    }

    /// Renames a trace's activities to steps (ignored events keep their label) and
    /// returns the indices of the control-flow events. Events mapped to `ignore`, to
    /// recorded `events` or to monitors, and acknowledgements and escalations (events
    /// with an `acknowledges` or `escalated_to` attribute), are set aside: other
    /// perspectives read them.
    pub fn prepare(&self, trace: &mut Trace) -> Vec<usize> {
        let mut flow = Vec::with_capacity(trace.events.len());
        for (i, e) in trace.events.iter_mut().enumerate() {
            let step = match self.labels.get(&e.activity) {
                Some(Some(step)) => step.clone(),
                Some(None) => continue,
                None => std::mem::take(&mut e.activity),
            };
            e.activity = step;
            if self.not_control_flow.contains(&e.activity)
                || e.attributes
                    .iter()
                    .any(|(k, _)| SET_ASIDE_ATTRIBUTES.contains(&&**k))
            {
                continue;
            }
            flow.push(i);
        }
        flow
    }

    /// Renames a trace's activities to steps and drops ignored and non-control-flow
    /// events. Returns how many events were set aside.
    pub fn apply(&self, trace: &mut Trace) -> usize {
        let before = trace.events.len();
        trace.events.retain_mut(|e| {
            let step = match self.labels.get(&e.activity) {
                Some(Some(step)) => step.clone(),
                Some(None) => return false,
                None => e.activity.clone(),
            };
            if self.not_control_flow.contains(&step) {
                return false;
            }
            e.activity = step;
            true
        });
        before - trace.events.len()
    }

    /// The log label for a step, when exactly one label maps to it.
    pub fn label_for(&self, step: &str) -> Option<&str> {
        let mut found = self
            .labels
            .iter()
            .filter(|(_, s)| s.as_deref() == Some(step))
            .map(|(l, _)| l.as_str());
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }
}

/// Attributes each finding to a person, by this rule:
///
/// 1. a finding on an event of the step it names (an unexpected or late step, a step
///    recorded without its recipients, ...) goes to that event's recorded actor;
/// 2. otherwise (a step never recorded, a decision taken the wrong way, a step not done
///    in time) to whoever recorded the case's other steps of the same role (`by ROLE`),
///    the last one before the finding's event, else the first after it;
/// 3. failing that, to the actor of the last event with an actor before it (the person
///    who had the case then), or of the case's last event with one.
///
/// `roles` gives each step's `by` role; a finding that has an actor already keeps it.
pub fn attribute(findings: &mut [Finding], by: &Responsible<'_>) {
    for f in findings.iter_mut().filter(|f| f.actor.is_none()) {
        f.actor = by.of(&f.step, &f.steps, f.event_index);
    }
}

/// Who is responsible for what concerns a step of one case, by the rule of
/// [`attribute`]: the case with the `by` role of each of its events, looked up once.
/// Obligations are attributed by it too, so that a review counts each person's
/// opportunities the way it counts their deviations.
pub struct Responsible<'t> {
    trace: &'t Trace,
    roles: &'t std::collections::BTreeMap<String, String>,
    /// The role of each event's step.
    event_roles: Vec<Option<&'t String>>,
}

impl<'t> Responsible<'t> {
    pub fn new(trace: &'t Trace, roles: &'t std::collections::BTreeMap<String, String>) -> Self {
        Responsible {
            trace,
            roles,
            event_roles: trace
                .events
                .iter()
                .map(|e| roles.get(&e.activity))
                .collect(),
        }
    }

    /// The person responsible for something concerning `step` (and `steps`) at event
    /// `event_index`.
    pub fn of(&self, step: &str, steps: &[String], event_index: Option<usize>) -> Option<String> {
        let (trace, roles) = (self.trace, self.roles);
        let n = trace.events.len();
        let actor = |i: usize| trace.events.get(i).and_then(|e| e.resource.clone());
        let at = event_index.unwrap_or(n).min(n);
        if let Some(i) = event_index
            && trace.events.get(i).is_some_and(|e| e.activity == step)
            && let Some(a) = actor(i)
        {
            return Some(a);
        }
        let role = steps
            .iter()
            .find_map(|s| roles.get(s))
            .or_else(|| roles.get(step));
        // The same role's last step before it, else its first step after (a missing first
        // step belongs to whoever did that role's later steps).
        let same_role = role.and_then(|r| {
            let of_role = |j: &usize| self.event_roles[*j] == Some(r);
            (0..at)
                .rev()
                .filter(of_role)
                .find_map(actor)
                .or_else(|| (at..n).filter(of_role).find_map(actor))
        });
        same_role.or_else(|| {
            (0..at)
                .rev()
                .find_map(actor)
                .or_else(|| (0..n).rev().find_map(actor))
        })
    }
}
