//! Time limits and escalation, informing and instructing, monitoring, and resources:
//! each step's demands checked on the events that record it.

use chrono::{DateTime, Duration, FixedOffset, Utc};

use super::{Audit, Auditor, CaseView, Obligation, Status, StepRule, dur, list, list_items};
use crate::audit::codes::FindingCode;
use crate::conformance::Finding;
use crate::eval::Value;

fn rfc(t: DateTime<Utc>) -> String {
    crate::log::rfc3339(&t.fixed_offset())
}

/// An obligation's time: UTC, written with its `+00:00` offset.
fn fixed(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.fixed_offset()
}

/// Whether the case took (or, when no branch is recorded yet, is bound for) another
/// branch of a decision than the one `branch_of` places something in.
fn off_path(
    a: &Auditor<'_>,
    case: &CaseView<'_>,
    branch_of: impl Fn(&super::decisions::DecideCheck) -> Option<usize>,
) -> bool {
    a.decides.iter().enumerate().any(|(k, d)| {
        let Some(b) = branch_of(d) else {
            return false;
        };
        // The branches the alignment took, where it passed the decision.
        let passed: Vec<usize> = case
            .passes
            .iter()
            .filter(|p| p.decide == k)
            .map(|p| p.branch)
            .collect();
        if !passed.is_empty() {
            return !passed.contains(&b);
        }
        let taken: Vec<usize> = d
            .identifies
            .iter()
            .filter(|(s, _)| !case.occurrences(s).is_empty())
            .map(|(_, &x)| x)
            .collect();
        if taken.is_empty() {
            let last = case.trace.events.len().saturating_sub(1);
            return super::decisions::choose(a, d, case, last).is_some_and(|want| want != b);
        }
        !taken.contains(&b)
    })
}

/// Whether a step sits in a branch the case did not take.
fn branch_not_taken(a: &Auditor<'_>, case: &CaseView<'_>, step: &str) -> bool {
    if case.running
        && let Some(rest) = &case.still_to_come
    {
        return !rest.iter().any(|s| s == step);
    }
    off_path(a, case, |d| d.identifies.get(step).copied())
}

/// The status of an obligation due at `due`, done at `done` (if it was).
fn judge(
    case: &CaseView<'_>,
    due: Option<DateTime<Utc>>,
    done: Option<DateTime<Utc>>,
    risk_from: Option<DateTime<Utc>>,
) -> Status {
    match (done, due) {
        (Some(t), Some(d)) => {
            if t <= d {
                Status::Met
            } else {
                Status::Violated
            }
        }
        (Some(_), None) => Status::Met,
        (None, due) => {
            let Some(now) = case.now else {
                return Status::Pending;
            };
            match due {
                Some(d) if now > d => Status::Violated,
                // Checked as of a time before it is due, a case that looks finished may
                // still record it (an acknowledgement comes after the last step).
                Some(d) if !case.running && case.as_of.is_some_and(|t| t <= d) => {
                    if risk_from.is_some_and(|r| case.as_of.is_some_and(|t| t >= r)) {
                        Status::AtRisk
                    } else {
                        Status::Pending
                    }
                }
                _ if !case.running => Status::Violated,
                _ if risk_from.is_some_and(|r| now >= r) => Status::AtRisk,
                _ => Status::Pending,
            }
        }
    }
}

pub(crate) fn check(a: &Auditor<'_>, case: &CaseView<'_>, audit: &mut Audit) {
    let persp = a.perspectives;
    for rule in &a.steps {
        if persp.time {
            deadline(a, case, rule, audit);
        }
        if persp.communication {
            communication(a, case, rule, audit);
        }
        if persp.resources && !rule.needs.is_empty() {
            resources(a, case, rule, audit);
        }
    }
    if persp.monitoring {
        for m in &a.monitors {
            monitor(a, case, m, audit);
        }
    }
}

/// An `at-risk` warning for an obligation past `share` of its limit and not met yet.
fn at_risk(share: f64, case: &CaseView<'_>, o: &Obligation, audit: &mut Audit) {
    if o.status == Status::AtRisk {
        let mut f = Finding::new(
            crate::audit::codes::FindingCode::AtRisk,
            o.step.clone(),
            None,
            case.now.map(rfc),
            format!(
                "{} is not met yet and is past {:.0}% of its limit (due {})",
                o.required,
                share * 100.0,
                o.due.map(|d| d.to_rfc3339()).unwrap_or_default()
            ),
        );
        f.line = Some(o.line);
        audit.findings.push(f);
    }
}

fn deadline(a: &Auditor<'_>, case: &CaseView<'_>, rule: &StepRule, audit: &mut Audit) {
    let Some((limit_e, of, on, _)) = &rule.within else {
        return;
    };
    let anchor = match of {
        Some(an) => case.anchor(an),
        None => match on
            .as_ref()
            .and_then(|c| a.clocks.get(c))
            .and_then(|c| c.starts.as_ref())
        {
            Some(s) => case.anchor(s),
            None => case.start(),
        },
    };
    let Some((t0, ai)) = anchor else { return };
    let occ = case.occurrences(&rule.name);
    // The step's first event at or after its anchor: one recorded only before the anchor
    // does not meet a limit that runs from it.
    let done_i = occ.iter().copied().find(|&i| i >= ai);
    if done_i.is_none() && (!case.running || branch_not_taken(a, case, &rule.name)) {
        return;
    }
    let at = done_i.unwrap_or(case.trace.events.len().saturating_sub(1));
    let Some(Value::Duration(limit)) = case.value_at(a, limit_e, at) else {
        return;
    };
    let clock = case.running(a, on.as_deref());
    let due = clock.due(t0, limit);
    let done = done_i.and_then(|i| case.times[i]);
    let share = rule
        .escalations
        .iter()
        .find_map(|e| e.percent)
        .map_or(a.at_risk_share, |p| p / 100.0);
    let risk_from = clock.due(t0, (limit as f64 * share) as i64);
    let status = match done {
        // Judged by the time the clock ran, not by the due instant: a step done after
        // closing on its due day, before any more working time ran, is on time.
        Some(t) if clock.elapsed_ms(t0, t) <= limit => Status::Met,
        Some(_) => Status::Violated,
        None => judge(case, due, done, risk_from),
    };
    let o = Obligation {
        kind: "deadline",
        step: rule.name.clone(),
        required: rule.required.deadline.clone(),
        line: rule.line,
        from: Some(fixed(t0)),
        due: due.map(fixed),
        risk_from: risk_from.map(fixed),
        done: done.map(fixed),
        event_index: done_i,
        status,
        taken: None,
        actor: None,
    };
    at_risk(share, case, &o, audit);
    if status == Status::Violated {
        let anchor_name = case.event(ai).activity.clone();
        let clock_note = on.as_ref().map_or(String::new(), |c| format!(" on {c}"));
        let mut f = match (done_i, done) {
            (Some(i), Some(t)) => {
                let took = clock.elapsed_ms(t0, t);
                let mut f = Finding::new(
                    crate::audit::codes::FindingCode::DeadlineMissed,
                    rule.name.clone(),
                    Some(i),
                    Some(rfc(t)),
                    format!(
                        "`{}` (event {}) was done {} after `{anchor_name}`{clock_note}; the limit is {}: {} late",
                        rule.name,
                        i + 1,
                        dur(took),
                        dur(limit),
                        dur(took - limit)
                    ),
                );
                f.evidence.insert("actual", dur(took));
                f.evidence.insert("late", dur(took - limit));
                f
            }
            _ => {
                let now = case.now.unwrap_or(t0);
                let took = clock.elapsed_ms(t0, now);
                let mut f = Finding::new(
                    crate::audit::codes::FindingCode::DeadlineMissed,
                    rule.name.clone(),
                    None,
                    Some(rfc(now)),
                    format!(
                        "`{}` was not done by {}, {} after `{anchor_name}`{clock_note}: {} late",
                        rule.name,
                        due.map_or("its due time".into(), rfc),
                        dur(limit),
                        dur(took - limit)
                    ),
                );
                f.evidence.insert("late", dur(took - limit));
                f
            }
        };
        f.line = Some(rule.line);
        f.evidence.insert("limit", dur(limit));
        f.evidence.insert("from", anchor_name);
        if let Some(d) = due {
            f.evidence.insert("due", rfc(d));
        }
        if let Some(c) = on {
            f.evidence.insert("clock", c.clone());
        }
        audit.findings.push(f);
    }
    audit.obligations.push(o);
    // The escalation ladder: each point passed before the step was done needs an
    // escalation to its role.
    for e in &rule.escalations {
        if let Some(w) = &e.when
            && case.value_at(a, w, at) != Some(Value::Bool(true))
        {
            continue;
        }
        let point_ms = match (e.percent, &e.after) {
            (Some(p), _) => (limit as f64 * p / 100.0) as i64,
            (None, Some(x)) => match case.value_at(a, x, at) {
                Some(Value::Duration(ms)) => ms,
                _ => continue,
            },
            (None, None) => continue,
        };
        let Some(point) = clock.due(t0, point_ms) else {
            continue;
        };
        let passed = match done {
            Some(t) => t > point,
            None => case.now.is_some_and(|n| n > point),
        };
        // An escalation answers the point when it is recorded at or after the limit's
        // anchor (it concerns this round of the limit), before or after the point.
        let recorded = (ai..case.trace.events.len()).find(|&j| {
            case.attr(j, "escalated_to")
                .is_some_and(|v| list_items(v).any(|r| e.to.iter().any(|want| want == r)))
        });
        let status = if !passed {
            if done.is_some() {
                Status::Met
            } else {
                Status::Pending
            }
        } else if recorded.is_some() {
            Status::Met
        } else if case.running && done.is_none() {
            // Due and not recorded yet: a finished case may still record it later.
            Status::AtRisk
        } else {
            Status::Violated
        };
        let to = e.to.join(", ");
        audit.obligations.push(Obligation {
            kind: "escalation",
            step: rule.name.clone(),
            required: format!(
                "escalate `{}` to {to} if not done by {}",
                rule.name,
                dur(point_ms)
            ),
            line: e.line,
            from: Some(fixed(t0)),
            due: Some(fixed(point)),
            risk_from: None,
            done: recorded.and_then(|j| case.times[j]).map(fixed),
            event_index: recorded,
            status,
            taken: None,
            actor: None,
        });
        if status == Status::AtRisk {
            let mut f = Finding::new(
                crate::audit::codes::FindingCode::AtRisk,
                rule.name.clone(),
                None,
                case.now.map(rfc),
                format!(
                    "`{}` is not done {} after `{}` ({}): escalation to {to} is due and not recorded yet",
                    rule.name,
                    dur(point_ms),
                    case.event(ai).activity,
                    rfc(point)
                ),
            );
            f.line = Some(e.line);
            audit.findings.push(f);
        }
        if status == Status::Violated {
            let mut f = Finding::new(
                crate::audit::codes::FindingCode::MissedEscalation,
                rule.name.clone(),
                done_i,
                Some(rfc(point)),
                format!(
                    "`{}` was not done {} after `{}` ({}), and no escalation to {to} was recorded",
                    rule.name,
                    dur(point_ms),
                    case.event(ai).activity,
                    rfc(point)
                ),
            );
            f.line = Some(e.line);
            f.evidence.insert("escalate to", to);
            f.evidence.insert("point", dur(point_ms));
            audit.findings.push(f);
        }
    }
}

fn communication(a: &Auditor<'_>, case: &CaseView<'_>, rule: &StepRule, audit: &mut Audit) {
    if rule.to.is_empty()
        && rule.responsibilities.is_empty()
        && rule.actions.is_empty()
        && rule.ack.is_none()
    {
        return;
    }
    let Some(&i) = case.occurrences(&rule.name).first() else {
        return;
    };
    let missing = |key: &str, want: &[String]| -> Vec<String> {
        if want.is_empty() {
            return Vec::new();
        }
        let got: Vec<&str> = list_items(case.attr(i, key).unwrap_or_default()).collect();
        want.iter()
            .filter(|w| !got.contains(&w.as_str()))
            .cloned()
            .collect()
    };
    let mut push = |code: FindingCode, msg: String, key: &'static str, what: Vec<String>| {
        let mut f = Finding::new(code, rule.name.clone(), Some(i), case.time_text(i), msg);
        f.line = Some(rule.line);
        f.evidence.insert(key, what.join(", "));
        audit.findings.push(f);
    };
    let who = missing(&a.fields.to, &rule.to);
    let resp = missing(&a.fields.responsibilities, &rule.responsibilities);
    let informed = who.is_empty() && resp.is_empty();
    if !who.is_empty() {
        push(
            FindingCode::NotInformed,
            format!(
                "`{}` (event {}) does not record informing {}",
                rule.name,
                i + 1,
                who.join(", ")
            ),
            "missing recipients",
            who,
        );
    }
    if !resp.is_empty() {
        push(
            FindingCode::NotInformed,
            format!(
                "`{}` (event {}) does not record the responsibilities {}",
                rule.name,
                i + 1,
                resp.join(", ")
            ),
            "missing responsibilities",
            resp,
        );
    }
    let acts = missing(&a.fields.actions, &rule.actions);
    // Each requirement met or not at the step's event is an obligation too, so a review
    // can count the opportunities, not only the deviations.
    let (shall_inform, shall_instruct) = (
        !rule.to.is_empty() || !rule.responsibilities.is_empty(),
        !rule.actions.is_empty(),
    );
    let instructed = acts.is_empty();
    let mut told: Vec<Obligation> = Vec::new();
    if shall_inform {
        told.push(Obligation::at(
            "inform",
            rule.name.clone(),
            rule.required.inform.clone(),
            rule.line,
            Some(i),
            if informed {
                Status::Met
            } else {
                Status::Violated
            },
        ));
    }
    if shall_instruct {
        told.push(Obligation::at(
            "instruct",
            rule.name.clone(),
            rule.required.instruct.clone(),
            rule.line,
            Some(i),
            if instructed {
                Status::Met
            } else {
                Status::Violated
            },
        ));
    }
    for o in &mut told {
        o.from = case.times[i].map(fixed);
    }
    if !acts.is_empty() {
        push(
            FindingCode::ActionNotSpecified,
            format!(
                "`{}` (event {}) does not specify the actions {}",
                rule.name,
                i + 1,
                acts.join(", ")
            ),
            "missing actions",
            acts,
        );
    }
    audit.obligations.extend(told);
    let Some((ack_ms, line)) = rule.ack else {
        return;
    };
    let Some(t0) = case.times[i] else { return };
    let due = t0 + Duration::milliseconds(ack_ms);
    // An acknowledgement comes at or after the step it acknowledges.
    let ack = (i..case.trace.events.len()).find(|&j| {
        case.attr(j, "acknowledges")
            .is_some_and(|v| list_items(v).any(|r| r == rule.name))
    });
    let done = ack.and_then(|j| case.times[j]);
    let risk = t0 + Duration::milliseconds((ack_ms as f64 * a.at_risk_share) as i64);
    let status = match (ack, done) {
        (Some(_), None) => Status::Met,
        _ => judge(case, Some(due), done, Some(risk)),
    };
    let o = Obligation {
        kind: "acknowledgement",
        step: rule.name.clone(),
        required: rule.required.ack.clone(),
        line,
        from: Some(fixed(t0)),
        due: Some(fixed(due)),
        risk_from: Some(fixed(risk)),
        done: done.map(fixed),
        event_index: ack,
        status,
        taken: None,
        actor: None,
    };
    at_risk(a.at_risk_share, case, &o, audit);
    if status == Status::Violated {
        let mut f = match (ack, done) {
            (Some(j), Some(t)) => {
                let took = (t - t0).num_milliseconds();
                let mut f = Finding::new(
                    crate::audit::codes::FindingCode::NotAcknowledged,
                    rule.name.clone(),
                    Some(j),
                    Some(rfc(t)),
                    format!(
                        "`{}` (event {}) was acknowledged {} later (event {}); the limit is {}: {} late",
                        rule.name,
                        i + 1,
                        dur(took),
                        j + 1,
                        dur(ack_ms),
                        dur(took - ack_ms)
                    ),
                );
                f.evidence.insert("actual", dur(took));
                f.evidence.insert("late", dur(took - ack_ms));
                f
            }
            _ => Finding::new(
                crate::audit::codes::FindingCode::NotAcknowledged,
                rule.name.clone(),
                Some(i),
                case.time_text(i),
                format!(
                    "`{}` (event {}) was not acknowledged within {}",
                    rule.name,
                    i + 1,
                    dur(ack_ms)
                ),
            ),
        };
        f.line = Some(line);
        f.evidence.insert("limit", dur(ack_ms));
        audit.findings.push(f);
    }
    audit.obligations.push(o);
}

fn monitor(a: &Auditor<'_>, case: &CaseView<'_>, m: &super::MonitorRule, audit: &mut Audit) {
    // A monitor inside a branch the case did not take is not demanded.
    if off_path(a, case, |d| d.monitors.get(&m.name).copied()) {
        return;
    }
    let start = match &m.after {
        Some(an) => case.anchor(an),
        None => case.start(),
    };
    let Some((t0, si)) = start else { return };
    let end = case
        .anchor(&m.until)
        .filter(|(t, _)| *t >= t0)
        .map(|(t, _)| t)
        .or(case.now);
    let Some(end) = end else { return };
    let updates: Vec<(usize, DateTime<Utc>)> = case
        .occurrences(&m.name)
        .iter()
        .filter_map(|&i| case.times[i].map(|t| (i, t)))
        .filter(|(_, t)| *t >= t0 && *t <= end)
        .collect();
    let from_name = case.event(si).activity.clone();
    let mut prev = (t0, from_name.clone());
    let mut violated = false;
    let mut gap =
        |from: (DateTime<Utc>, String), to: DateTime<Utc>, at: Option<usize>, allowed: i64| {
            let len = (to - from.0).num_milliseconds();
            if len <= allowed {
                return;
            }
            violated = true;
            let mut f = Finding::new(
                crate::audit::codes::FindingCode::MonitoringGap,
                m.name.clone(),
                at,
                Some(rfc(to)),
                format!(
                    "no `{}` for {} after {} ({}); the monitor allows {}",
                    m.name,
                    dur(len),
                    from.1,
                    rfc(from.0),
                    dur(allowed)
                ),
            );
            f.line = Some(m.line);
            f.evidence.insert("gap", dur(len));
            f.evidence.insert("allowed", dur(allowed));
            f.evidence.insert("from", rfc(from.0));
            f.evidence.insert("to", rfc(to));
            audit.findings.push(f);
        };
    for (k, &(i, t)) in updates.iter().enumerate() {
        let allowed = if k == 0 {
            m.first_ms.unwrap_or(m.every_ms)
        } else {
            m.every_ms
        };
        gap(prev.clone(), t, Some(i), allowed);
        prev = (t, format!("update at event {}", i + 1));
    }
    let allowed = if updates.is_empty() {
        m.first_ms.unwrap_or(m.every_ms)
    } else {
        m.every_ms
    };
    let until_done = case.anchor(&m.until).is_some_and(|(t, _)| t >= t0);
    let next_due = prev.0 + Duration::milliseconds(allowed);
    let status = if case.running && !until_done {
        if end > next_due {
            gap(prev.clone(), end, None, allowed);
            Status::Violated
        } else if end >= prev.0 + Duration::milliseconds((allowed as f64 * a.at_risk_share) as i64)
        {
            Status::AtRisk
        } else if violated {
            Status::Violated
        } else {
            Status::Pending
        }
    } else {
        gap(prev.clone(), end, None, allowed);
        if violated {
            Status::Violated
        } else {
            Status::Met
        }
    };
    let o = Obligation {
        kind: "monitoring",
        step: m.name.clone(),
        required: m.required.clone(),
        line: m.line,
        from: Some(fixed(t0)),
        due: Some(fixed(next_due)),
        risk_from: (case.running && !until_done).then(|| {
            fixed(prev.0 + Duration::milliseconds((allowed as f64 * a.at_risk_share) as i64))
        }),
        done: updates.last().map(|(_, t)| fixed(*t)),
        event_index: updates.last().map(|(i, _)| *i),
        status,
        taken: None,
        actor: None,
    };
    at_risk(a.at_risk_share, case, &o, audit);
    audit.obligations.push(o);
}

fn resources(a: &Auditor<'_>, case: &CaseView<'_>, rule: &StepRule, audit: &mut Audit) {
    let Some(&i) = case.occurrences(&rule.name).first() else {
        return;
    };
    let mut units = case
        .attr(i, &a.fields.resource)
        .map(list)
        .unwrap_or_default();
    // A unit listed twice is one unit.
    let mut seen = std::collections::BTreeSet::new();
    units.retain(|u| seen.insert(u.clone()));
    let recorded_caps = case.attr(i, &a.fields.capabilities).map(list);
    let t = case.times[i];
    let before = audit.findings.len();
    resource_findings(a, case, rule, audit, i, units, recorded_caps, t);
    let status = if audit.findings.len() > before {
        Status::Violated
    } else {
        Status::Met
    };
    let mut o = Obligation::at(
        "resources",
        rule.name.clone(),
        rule.required.resources.clone(),
        rule.line,
        Some(i),
        status,
    );
    o.from = t.map(fixed);
    audit.obligations.push(o);
}

#[allow(clippy::too_many_arguments)]
fn resource_findings(
    a: &Auditor<'_>,
    case: &CaseView<'_>,
    rule: &StepRule,
    audit: &mut Audit,
    i: usize,
    units: Vec<String>,
    recorded_caps: Option<Vec<String>>,
    t: Option<DateTime<Utc>>,
) {
    let mut push = |code: FindingCode, msg: String| {
        let mut f = Finding::new(code, rule.name.clone(), Some(i), case.time_text(i), msg);
        f.line = Some(rule.line);
        f.evidence.insert("resources", units.join(", "));
        audit.findings.push(f);
    };
    let total_needed: u32 = rule.needs.iter().map(|(n, _, _)| *n).sum();
    if a.roster.is_none() && rule.needs.len() > 1 {
        if (units.len() as u32) < total_needed {
            push(
                FindingCode::ResourceLacksCapability,
                format!(
                    "`{}` (event {}) needs {total_needed} resources; {} recorded",
                    rule.name,
                    i + 1,
                    units.len()
                ),
            );
        }
        return;
    }
    for (n, kind, caps) in &rule.needs {
        let mut fit = 0u32;
        let mut unfit: Vec<String> = Vec::new();
        for u in &units {
            let (unit_kind, unit_caps) = match &a.roster {
                Some(r) => match r.units.get(u) {
                    None => {
                        push(
                            FindingCode::ResourceUnavailable,
                            format!(
                                "`{u}`, recorded at `{}` (event {}), is not on the roster",
                                rule.name,
                                i + 1
                            ),
                        );
                        continue;
                    }
                    Some(unit) => {
                        if let Some(t) = t
                            && !r.available(unit, t)
                        {
                            push(
                                FindingCode::ResourceUnavailable,
                                format!(
                                    "`{u}`, recorded at `{}` (event {}), was not available at {}",
                                    rule.name,
                                    i + 1,
                                    rfc(t)
                                ),
                            );
                            continue;
                        }
                        (unit.kind.clone(), Some(unit.capabilities.clone()))
                    }
                },
                None => (None, recorded_caps.clone()),
            };
            if let Some(k) = unit_kind.as_ref().filter(|k| *k != kind) {
                if rule.needs.len() == 1 {
                    unfit.push(format!(
                        "`{u}`, recorded at `{}` (event {}), is a {k}, not a {kind}",
                        rule.name,
                        i + 1
                    ));
                }
                continue;
            }
            if let Some(have) = unit_caps {
                let lacking: Vec<&String> = caps.iter().filter(|c| !have.contains(c)).collect();
                if !lacking.is_empty() {
                    unfit.push(format!(
                        "`{u}`, recorded at `{}` (event {}), lacks {}",
                        rule.name,
                        i + 1,
                        lacking
                            .iter()
                            .map(|c| format!("`{c}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    continue;
                }
            }
            fit += 1;
        }
        if fit >= *n {
            continue;
        }
        if !unfit.is_empty() {
            for m in unfit {
                push(FindingCode::ResourceLacksCapability, m);
            }
        } else {
            push(
                FindingCode::ResourceLacksCapability,
                format!(
                    "`{}` (event {}) needs {n} {kind}{}; {}",
                    rule.name,
                    i + 1,
                    if caps.is_empty() {
                        String::new()
                    } else {
                        format!(" with {}", caps.join(", "))
                    },
                    if fit as usize == units.len() {
                        format!("{fit} recorded")
                    } else {
                        format!("{fit} of the {} recorded can serve", units.len())
                    }
                ),
            );
        }
    }
}
