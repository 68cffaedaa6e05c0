//! A log's profile before a check is trusted on it (`procedo inspect`): the columns, the
//! case, activity, time and actor columns chosen and why, the timestamps' format and zone,
//! cases, events and time span, each activity label with its count and the step it maps
//! to, and per perspective whether the log carries what the procedure needs.
//!
//! [`inspect`] reads the logs with the same options `check` would use and the same
//! activity mapping; [`Profile`] is serialised as the JSON form, and
//! [`crate::report::inspect`] writes the human form.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use crate::audit::{Auditor, Perspectives};
use crate::check::{Carried, SetupWarning};
use crate::conformance::ActivityMap;
use crate::log::{LogOptions, ReadStats, Rejected, read_log};
use crate::model::Procedure;

/// A column chosen for a field of the events, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Chosen {
    /// `case`, `activity`, `timestamp`, `actor`.
    pub field: &'static str,
    pub column: String,
    /// `flag`, `procedure mapping` or `default`.
    pub source: &'static str,
    /// Events that carry it (for `case`: events read into cases).
    pub events: usize,
}

/// One activity label of the log.
#[derive(Debug, Clone, Serialize)]
pub struct Label {
    pub label: String,
    pub events: usize,
    /// The step it is read as, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// `mapping`, `step name`, `ignored` (mapped to `ignore`), `recorded event` (a declared
    /// event or monitor: read by the perspectives, not control flow), `acknowledgement or
    /// escalation` (every event with it has `acknowledges` or `escalated_to`: set aside
    /// from control flow) or `unmapped`.
    pub how: &'static str,
    /// For an unmapped label: the nearest step, if one is near.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub did_you_mean: Option<String>,
}

/// Whether a perspective can be checked on this log.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub perspective: &'static str,
    pub ready: bool,
    pub why: String,
}

/// The timestamps of the log.
#[derive(Debug, Clone, Serialize)]
pub struct Times {
    /// The strftime format given (flag or mapping); `None`: RFC 3339 and ISO forms.
    pub format: Option<String>,
    /// The zone of times written without an offset (flag or mapping).
    pub zone: Option<String>,
    pub assume_utc: bool,
    pub with_time: usize,
    pub without_time: usize,
    pub assumed_utc: usize,
    pub first: Option<String>,
    pub last: Option<String>,
}

/// A log's profile.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub version: u32,
    pub logs: Vec<String>,
    /// The procedure the labels and perspectives were judged against.
    pub procedure: Option<String>,
    /// Columns seen (in the first records of each log; a CSV log's header).
    pub columns: Vec<String>,
    pub chosen: Vec<Chosen>,
    pub times: Times,
    pub cases: usize,
    pub events: usize,
    pub rejected: usize,
    pub labels: Vec<Label>,
    pub perspectives: Vec<Readiness>,
    /// Logs that could not be read: (path, reason).
    pub unreadable: Vec<(String, String)>,
}

/// The fields a log's events are read by, with the flag that chose each (`None`: not
/// given on the command line).
pub struct Given {
    pub case: bool,
    pub activity: bool,
    pub timestamp: bool,
    pub actor: bool,
}

/// Reads `logs` as `check` would (with `opts`) and profiles them.
pub fn inspect(
    procedure: Option<&Procedure>,
    logs: &[PathBuf],
    opts: &LogOptions,
    given: &Given,
    reject: &mut dyn FnMut(Rejected),
) -> Profile {
    let map = procedure.map(ActivityMap::from_procedure);
    let mapping = procedure.map(crate::log::Mapping::of).unwrap_or_default();
    let mut stats = ReadStats::default();
    let mut unreadable = Vec::new();
    // Label -> (events, events set aside as acknowledgements or escalations).
    let mut labels: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut carried = Carried::default();
    let (mut first, mut last): (Option<DateTime<FixedOffset>>, Option<DateTime<FixedOffset>>) =
        (None, None);
    let opts = LogOptions {
        keep_attributes: true,
        ..opts.clone()
    };
    for log in logs {
        let r = read_log(
            log,
            &opts,
            &mut |t| {
                carried.add(&t);
                for e in &t.events {
                    let aside = e
                        .attributes
                        .iter()
                        .any(|(k, _)| crate::log::SET_ASIDE_ATTRIBUTES.contains(&&**k));
                    let room = labels.len() < 10_000;
                    match labels.get_mut(&e.activity) {
                        Some(n) => {
                            n.0 += 1;
                            n.1 += usize::from(aside);
                        }
                        None if room => {
                            labels.insert(e.activity.clone(), (1, usize::from(aside)));
                        }
                        None => {}
                    }
                    if let Some(ts) = e.timestamp {
                        first = Some(first.map_or(ts, |f| f.min(ts)));
                        last = Some(last.map_or(ts, |l| l.max(ts)));
                    }
                }
            },
            reject,
        );
        match r {
            Ok(s) => stats.add(&s),
            Err(e) => unreadable.push((log.display().to_string(), e)),
        }
    }
    let source = |flag: bool, mapped: bool| {
        if flag {
            "flag"
        } else if mapped {
            "procedure mapping"
        } else {
            "default"
        }
    };
    let chosen = vec![
        Chosen {
            field: "case",
            column: opts.case.clone(),
            source: source(given.case, mapping.case.is_some()),
            events: stats.events_in_cases,
        },
        Chosen {
            field: "activity",
            column: opts.activity.join("+"),
            source: source(given.activity, !mapping.activity.is_empty()),
            events: stats.events_in_cases,
        },
        Chosen {
            field: "timestamp",
            column: opts.timestamp.clone(),
            source: source(given.timestamp, mapping.timestamp.is_some()),
            events: stats.events_in_cases - stats.events_without_timestamp,
        },
        Chosen {
            field: "actor",
            column: opts.resource.clone(),
            source: source(given.actor, mapping.actor.is_some()),
            events: stats.events_with_actor,
        },
    ];
    let labels = labels
        .into_iter()
        .map(|(label, (events, aside))| {
            let (step, how) = match (procedure, &map) {
                _ if aside == events => (None, "acknowledgement or escalation"),
                (Some(p), Some(m)) => match m.labels.get(&label) {
                    Some(Some(step)) if m.not_control_flow.contains(step) => {
                        (Some(step.clone()), "recorded event")
                    }
                    Some(Some(step)) => (Some(step.clone()), "mapping"),
                    Some(None) => (None, "ignored"),
                    None if m.not_control_flow.contains(&label) => {
                        (Some(label.clone()), "recorded event")
                    }
                    None if p.symbols.steps.contains_key(&label) => {
                        (Some(label.clone()), "step name")
                    }
                    None => (None, "unmapped"),
                },
                _ => (None, "unmapped"),
            };
            let did_you_mean = match (how, procedure) {
                ("unmapped", Some(p)) => crate::check::nearest(p, &label),
                _ => None,
            };
            Label {
                label,
                events,
                step,
                how,
                did_you_mean,
            }
        })
        .collect();
    let perspectives = readiness(procedure, &carried, &stats);
    Profile {
        version: 1,
        logs: logs.iter().map(|l| l.display().to_string()).collect(),
        procedure: procedure.map(|p| p.ast().id.text.clone()),
        columns: stats.columns.iter().cloned().collect(),
        chosen,
        times: Times {
            format: opts.timestamp_format.clone(),
            zone: opts.timezone.map(|z| z.name().to_string()),
            assume_utc: opts.assume_utc,
            with_time: stats.events_in_cases - stats.events_without_timestamp,
            without_time: stats.events_without_timestamp,
            assumed_utc: stats.events_assumed_utc,
            first: first.map(|t| t.to_rfc3339()),
            last: last.map(|t| t.to_rfc3339()),
        },
        cases: stats.cases,
        events: stats.events_in_cases,
        rejected: stats.events_rejected,
        labels,
        perspectives,
        unreadable,
    }
}

/// Per perspective: can the log support it, from what it carried and what the procedure
/// needs (the set-up warnings `check` would give).
fn readiness(
    procedure: Option<&Procedure>,
    carried: &Carried,
    stats: &ReadStats,
) -> Vec<Readiness> {
    let Some(p) = procedure else {
        return Vec::new();
    };
    let Ok(auditor) = Auditor::new(p, Perspectives::ALL) else {
        return Vec::new();
    };
    let warnings: Vec<SetupWarning> =
        crate::check::setup_warnings(Some(&auditor), Perspectives::ALL, carried);
    let has = |k: &str| {
        warnings
            .iter()
            .find(|w| w.kind == k)
            .map(|w| w.message.clone())
    };
    let needs = auditor.needs();
    let actor_rules = crate::log::actor_constraints(p);
    let mut out = Vec::new();
    let mut push = |perspective: &'static str, problem: Option<String>, ok: String| {
        out.push(Readiness {
            perspective,
            ready: problem.is_none(),
            why: problem.unwrap_or(ok),
        })
    };
    push(
        "control flow",
        (stats.events_in_cases == 0).then(|| "no events were read".to_string()),
        format!("{} events in {} cases", stats.events_in_cases, stats.cases),
    );
    push(
        "decisions",
        has("no-facts"),
        "the log carries facts the decisions read".into(),
    );
    push(
        "time",
        has("no-timestamps").filter(|_| needs.times),
        if needs.times {
            format!(
                "{} of {} events have a time",
                stats.events_in_cases - stats.events_without_timestamp,
                stats.events_in_cases
            )
        } else {
            "the procedure sets no time limits".into()
        },
    );
    push(
        "communication",
        has("no-communication-fields").or(has("no-acknowledgements")),
        if needs.communication.is_empty() && !needs.acknowledgements {
            "the procedure has no informs or instructs with recipients".into()
        } else {
            let ack = "acknowledges".to_string();
            format!(
                "the log carries {}",
                needs
                    .communication
                    .iter()
                    .chain(needs.acknowledgements.then_some(&ack))
                    .filter(|k| carried.keys.contains(*k))
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    );
    push(
        "resources",
        has("no-resources"),
        if needs.resources {
            "the log names resources".into()
        } else {
            "the procedure needs no resources".into()
        },
    );
    push(
        "constraints",
        (!actor_rules.is_empty() && stats.events_with_actor == 0).then(|| {
            format!(
                "no event has an actor: {} cannot be checked",
                actor_rules.join(", ")
            )
        }),
        "every constraint reads steps the log records".into(),
    );
    out
}
