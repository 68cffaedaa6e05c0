//! Procedure tests: `NAME.test.yaml` beside `NAME.proc`.
//!
//! Two kinds of test case: incidents (facts → expected validity band, priority level
//! and targets) and recorded cases (events → expected verdict and the exact set of
//! findings). Coverage counts the steps the case tests pass through and the table and
//! matrix rows the incident tests reach.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::eval::Assessor;
use crate::log::{Event, Trace};
use crate::model::Procedure;

/// The test file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    #[serde(default)]
    pub incidents: Vec<IncidentTest>,
    #[serde(default)]
    pub cases: Vec<CaseTest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentTest {
    pub name: String,
    pub facts: serde_json::Map<String, serde_json::Value>,
    pub expect: IncidentExpect,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentExpect {
    pub validity: Option<String>,
    pub priority: Option<String>,
    /// Target kind → duration as written in the procedure's style (`15m`, `1h30m`).
    #[serde(default)]
    pub targets: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseTest {
    pub name: String,
    /// Case facts (as `case:` attributes of the events).
    #[serde(default)]
    pub facts: BTreeMap<String, serde_yaml::Value>,
    /// Events in order: activity names (control flow only), or maps with `activity`,
    /// `time`, `actor` and any attributes (every perspective).
    pub events: Vec<EventSpec>,
    /// Judge the case as running at this time (`check --as-of`).
    #[serde(default)]
    pub as_of: Option<String>,
    pub expect: CaseExpect,
}

/// One recorded event of a case test.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum EventSpec {
    Name(String),
    Full(BTreeMap<String, serde_yaml::Value>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseExpect {
    pub conforming: bool,
    /// The exact set of findings; omitted means "not checked".
    pub findings: Option<Vec<ExpectedFinding>>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFinding {
    pub code: String,
    pub step: String,
    #[serde(default)]
    pub event_index: Option<usize>,
}

/// One test's result.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub name: String,
    pub kind: &'static str,
    pub passed: bool,
    /// Expected vs actual, line by line, when it failed.
    pub diff: Vec<String>,
}

/// A test file's results and coverage.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub procedure: String,
    pub outcomes: Vec<Outcome>,
    pub steps_total: usize,
    pub steps_covered: usize,
    pub rows_total: usize,
    pub rows_covered: usize,
    /// Branches of `decide`s, the empty ones included, and those some recorded case took.
    pub branches_total: usize,
    pub branches_covered: usize,
    /// Branches taken by a case whose facts told the branch required (judged, not only
    /// walked).
    pub branches_judged: usize,
    /// Constraints whose steps all occur in some case test.
    pub constraints_total: usize,
    pub constraints_covered: usize,
    pub uncovered: Vec<String>,
}

impl Report {
    /// Covered share of steps and rows together, in percent.
    pub fn coverage(&self) -> f64 {
        let total =
            self.steps_total + self.rows_total + self.branches_total + self.constraints_total;
        if total == 0 {
            100.0
        } else {
            let covered = self.steps_covered
                + self.rows_covered
                + self.branches_covered
                + self.constraints_covered;
            100.0 * covered as f64 / total as f64
        }
    }
}

/// Runs a test file against a built procedure.
pub fn run(p: &Procedure, tests: &TestFile) -> Report {
    let assessor = Assessor::new(p);
    let mut outcomes = Vec::new();
    let mut rows_hit: BTreeSet<usize> = BTreeSet::new();
    for t in &tests.incidents {
        let mut diff = Vec::new();
        match assessor.facts_from_json(&t.facts, false) {
            Err(errors) => {
                for e in errors {
                    diff.push(format!("facts: field `{}`: {}", e.field, e.message));
                }
            }
            Ok(facts) => {
                let a = assessor.assess(facts);
                if let Some(pr) = &a.priority {
                    for m in &pr.methods {
                        rows_hit.extend(m.matched_lines.iter().copied());
                    }
                }
                for d in &a.decisions {
                    rows_hit.extend(d.matched_lines.iter().copied());
                }
                let band = a.validity.as_ref().and_then(|v| v.band.clone());
                if let Some(want) = &t.expect.validity
                    && band.as_ref() != Some(want)
                {
                    diff.push(format!(
                        "validity: expected {want}, got {}",
                        band.as_deref().unwrap_or("none")
                    ));
                }
                let level = a.priority.as_ref().and_then(|pr| pr.level.clone());
                if let Some(want) = &t.expect.priority
                    && level.as_ref() != Some(want)
                {
                    let why = a.priority.as_ref().map_or(String::new(), |pr| {
                        format!(" (decided by {})", pr.decided_by)
                    });
                    diff.push(format!(
                        "priority: expected {want}, got {}{why}",
                        level.as_deref().unwrap_or("none")
                    ));
                }
                for (kind, want) in &t.expect.targets {
                    let got = a.targets.iter().find(|x| &x.kind == kind);
                    let want_ms = crate::ast::parse_duration(want);
                    if got.map(|g| g.limit_ms) != want_ms {
                        diff.push(format!(
                            "target {kind}: expected {want}, got {}",
                            got.map_or("none".to_string(), |g| g.limit.clone())
                        ));
                    }
                }
                for e in &a.errors {
                    diff.push(format!("evaluation error: {e}"));
                }
            }
        }
        outcomes.push(Outcome {
            name: t.name.clone(),
            kind: "incident",
            passed: diff.is_empty(),
            diff,
        });
    }
    let net = crate::petri::compile::compile(p);
    let mut steps_hit: BTreeSet<String> = BTreeSet::new();
    let mut branches_taken: BTreeSet<(String, String)> = BTreeSet::new();
    let mut branches_judged: BTreeSet<(String, String)> = BTreeSet::new();
    let mut step_sets: Vec<BTreeSet<String>> = Vec::new();
    let auditor = crate::audit::Auditor::new(p, crate::audit::Perspectives::ALL);
    for t in &tests.cases {
        let mut diff = Vec::new();
        let (trace, full) = case_trace(t, &mut diff);
        // A case written as event names carries no times, recipients or resources: the
        // perspectives that read them are left out (as `check` warns for a log without
        // them), and the decisions too when it gives no facts. Constraints always run.
        let perspectives = match &auditor {
            Ok(a) if !full => {
                let mut carried = crate::check::Carried::default();
                carried.add(&trace);
                crate::check::supported(a, crate::audit::Perspectives::ALL, &carried)
            }
            _ => crate::audit::Perspectives::ALL,
        };
        // A recorded case runs exactly what `procedo check` runs: every perspective.
        let as_of = match t
            .as_of
            .as_deref()
            .map(crate::audit::parse_as_of)
            .transpose()
        {
            Ok(x) => x,
            Err(e) => {
                diff.push(e);
                None
            }
        };
        let opts = crate::check::CheckOptions {
            perspectives,
            as_of,
            with_alignment: true,
            ..crate::check::CheckOptions::default()
        };
        let checked = match crate::check::Checker::new(&net, Some(p), opts, None) {
            Ok(mut c) => c.check(trace),
            Err(e) => {
                diff.push(e);
                outcomes.push(Outcome {
                    name: t.name.clone(),
                    kind: "case",
                    passed: false,
                    diff,
                });
                continue;
            }
        };
        step_sets.push(
            checked
                .trace
                .events
                .iter()
                .map(|e| e.activity.clone())
                .collect(),
        );
        for b in &checked.verdict.branches {
            branches_taken.insert((b.decision.clone(), b.branch.clone()));
            if b.judged {
                branches_judged.insert((b.decision.clone(), b.branch.clone()));
            }
        }
        let r = checked.verdict.result;
        for (log, model) in &r.alignment {
            if log == model {
                steps_hit.insert(model.clone());
            }
        }
        if r.conforming != t.expect.conforming {
            diff.push(format!(
                "conforming: expected {}, got {} ({})",
                t.expect.conforming,
                r.conforming,
                match r.cost {
                    Some(c) => format!("alignment cost {c}"),
                    None => "no alignment: the search gave up".into(),
                }
            ));
        }
        if let Some(want) = &t.expect.findings {
            let mut want = want.clone();
            want.sort();
            let mut got: Vec<ExpectedFinding> = r
                .findings
                .iter()
                .map(|f| ExpectedFinding {
                    code: f.code.to_string(),
                    step: f.step.clone(),
                    event_index: f.event_index,
                })
                .collect();
            got.sort();
            for w in want.iter().filter(|w| !got.contains(w)) {
                diff.push(format!(
                    "- expected {} at `{}` ({}), not reported",
                    w.code,
                    w.step,
                    at_event(w.event_index)
                ));
            }
            for g in got.iter().filter(|g| !want.contains(g)) {
                diff.push(format!(
                    "+ reported {} at `{}` ({}), not expected",
                    g.code,
                    g.step,
                    at_event(g.event_index)
                ));
            }
        }
        outcomes.push(Outcome {
            name: t.name.clone(),
            kind: "case",
            passed: diff.is_empty(),
            diff,
        });
    }
    // Coverage: steps (visible transitions) and rows of tables and matrices.
    let steps: BTreeSet<String> = net
        .transitions
        .iter()
        .filter_map(|t| t.label.clone())
        .collect();
    let rows = table_rows(p);
    let mut uncovered: Vec<String> = steps
        .iter()
        .filter(|s| !steps_hit.contains(*s))
        .map(|s| format!("step `{s}`"))
        .collect();
    uncovered.extend(
        rows.iter()
            .filter(|(l, _)| !rows_hit.contains(l))
            .map(|(l, what)| format!("{what} row at line {l}")),
    );
    // Decision branches, the empty ones included: reached when a recorded case's alignment
    // took the branch; judged when, there, the facts told which branch was required.
    let (mut branches_total, mut branches_covered) = (0, 0);
    let (mut constraints_total, mut constraints_covered) = (0, 0);
    if let Ok(a) = &auditor {
        for (decision, label, line) in a.branch_keys() {
            branches_total += 1;
            if branches_taken.contains(&(decision.clone(), label.clone())) {
                branches_covered += 1;
            } else {
                uncovered.push(format!("branch `{label}` of `{decision}` at line {line}"));
            }
        }
        for (name, steps, together) in a.constraint_steps() {
            constraints_total += 1;
            let exercised = if together {
                step_sets
                    .iter()
                    .any(|set| steps.iter().all(|s| set.contains(s)))
            } else {
                steps
                    .iter()
                    .all(|s| step_sets.iter().any(|set| set.contains(s)))
            };
            if exercised {
                constraints_covered += 1;
            } else {
                uncovered.push(format!("constraint `{name}` (no case records its steps)"));
            }
        }
    }
    Report {
        procedure: p.ast().id.text.clone(),
        outcomes,
        steps_total: steps.len(),
        steps_covered: steps.iter().filter(|s| steps_hit.contains(*s)).count(),
        rows_total: rows.len(),
        rows_covered: rows.iter().filter(|(l, _)| rows_hit.contains(l)).count(),
        branches_total,
        branches_covered,
        branches_judged: branches_judged.len(),
        constraints_total,
        constraints_covered,
        uncovered,
    }
}

/// A case test as a trace; whether any event was written in full.
fn case_trace(t: &CaseTest, errors: &mut Vec<String>) -> (Trace, bool) {
    let mut full = false;
    let case: Vec<(std::sync::Arc<str>, String)> = t
        .facts
        .iter()
        .map(|(k, v)| {
            (
                std::sync::Arc::from(format!("case:{k}")),
                crate::log::yaml_text(v),
            )
        })
        .collect();
    let events = t
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| match e {
            EventSpec::Name(a) => Event {
                activity: a.clone(),
                timestamp: None,
                resource: None,
                attributes: case.clone(),
            },
            EventSpec::Full(m) => {
                full = true;
                let mut ev = Event {
                    activity: String::new(),
                    timestamp: None,
                    resource: None,
                    attributes: case.clone(),
                };
                for (k, v) in m {
                    let text = crate::log::yaml_text(v);
                    match k.as_str() {
                        "activity" => ev.activity = text,
                        "time" => {
                            ev.timestamp = crate::eval::value::parse_timestamp(&text);
                            if ev.timestamp.is_none() {
                                errors.push(format!("event {}: `{text}` is not a time", i + 1));
                            }
                        }
                        "actor" => ev.resource = Some(text),
                        _ => ev.attributes.push((std::sync::Arc::from(k.as_str()), text)),
                    }
                }
                ev
            }
        })
        .collect();
    (
        Trace {
            id: t.name.clone(),
            events,
        },
        full,
    )
}

/// Source lines of every table and matrix row, with the decision's name.
fn table_rows(p: &Procedure) -> Vec<(usize, String)> {
    use crate::ast::{DecisionDef, PriorityItem, Section};
    let line = |s: crate::source::Span| p.unit.source.line_col(s.start).0;
    let mut out = Vec::new();
    let mut add = |d: &DecisionDef| match d {
        DecisionDef::Table(t) => out.extend(
            t.rows
                .iter()
                .map(|r| (line(r.span), format!("table `{}`", t.name.text))),
        ),
        DecisionDef::Matrix(m) => out.extend(
            m.rows
                .iter()
                .map(|r| (line(r.span), format!("matrix `{}`", m.name.text))),
        ),
        DecisionDef::Score(_) => {}
    };
    for s in &p.ast().sections {
        match s {
            Section::Priority(pr) => {
                for item in &pr.items {
                    if let PriorityItem::Method(d) = item {
                        add(d);
                    }
                }
            }
            Section::Decisions { items, .. } => items.iter().for_each(&mut add),
            _ => {}
        }
    }
    out
}

/// Where a finding is, as the test file writes it (`event_index`, 0-based).
fn at_event(i: Option<usize>) -> String {
    match i {
        Some(i) => format!("event_index {i}"),
        None => "no event".into(),
    }
}
