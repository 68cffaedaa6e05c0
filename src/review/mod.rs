//! `procedo review`: team performance from the check pipeline's verdicts.
//!
//! Each requirement of the procedure the checker judged is a *criterion*: every
//! obligation kind at its step and procedure line (a deadline, recipients, actions, an
//! acknowledgement, monitoring, an escalation, a decision, resources, a constraint), and
//! the path itself (one per case: no control-flow finding). A case gives an *opportunity*
//! for a criterion only where the checker judged it (the facts in force made it
//! applicable, the step was recorded, the constraint applied): met or violated. Pending,
//! at-risk, waived and unknown obligations are not opportunities; they are counted as
//! not judged. Findings of no criterion (an unjustified override, an unreadable fact)
//! are counted apart, never dropped.
//!
//! [`Reviewer`] takes verdicts one at a time (memory grows with operators × criteria ×
//! weeks, not with cases) and [`Reviewer::finish`] gives the typed [`Review`]: rates with
//! Wilson intervals per criterion and per group, groups compared with what their own mix
//! of opportunities leads one to expect (indirect standardisation; funnel limits at 95%
//! and 99.8%), systemic criteria told apart from individual ones, support needs chosen by
//! the organisation's rules with their evidence, and the agreed plan's before and after.

pub mod config;
pub mod stats;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use crate::audit::{Obligation, Status};
use crate::check::Checked;
use crate::codes::FindingCode;
use crate::log::Trace;
use crate::model::Procedure;
use crate::model::graph::NodeKind;

pub use config::{Agreement, ReviewConfig, SupportRule};
use stats::{P95, P998, Standing, overdispersion, rate, round};

/// What to group the opportunities by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum By {
    /// The person responsible (the check pipeline's actor).
    Operator,
    /// A log column naming the team.
    Team(String),
    /// A log column naming the shift.
    Shift(String),
    Step,
    /// The finding code of the criterion (`deadline-missed`, …; `control-flow` for the path).
    Code,
    Criterion,
    Area,
    /// The priority in force at the case's end.
    Priority,
    /// The procedure version (or a log column with `version:COLUMN`).
    Version(Option<String>),
    /// The ISO week the case started in (`2026-W10`).
    Week,
    Month,
}

impl By {
    /// Reads `operator`, `team:COLUMN`, `shift:COLUMN`, `step`, `code`, `criterion`,
    /// `area`, `priority`, `version[:COLUMN]`, `week`, `month`.
    pub fn parse(s: &str) -> Result<By, String> {
        let (head, col) = match s.split_once(':') {
            Some((h, c)) => (h, Some(c.trim().to_string()).filter(|c| !c.is_empty())),
            None => (s, None),
        };
        let need = |c: Option<String>| {
            c.ok_or_else(|| format!("`--by {head}` names its column: `--by {head}:COLUMN`"))
        };
        Ok(match head.trim() {
            "operator" => By::Operator,
            "team" => By::Team(need(col)?),
            "shift" => By::Shift(need(col)?),
            "step" => By::Step,
            "code" => By::Code,
            "criterion" => By::Criterion,
            "area" => By::Area,
            "priority" => By::Priority,
            "version" => By::Version(col),
            "week" => By::Week,
            "month" => By::Month,
            other => {
                return Err(format!(
                    "`--by {other}` is not a breakdown; use operator, team:COLUMN, \
                     shift:COLUMN, step, code, criterion, area, priority, version[:COLUMN], \
                     week or month"
                ));
            }
        })
    }

    pub fn name(&self) -> String {
        match self {
            By::Operator => "operator".into(),
            By::Team(c) => format!("team:{c}"),
            By::Shift(c) => format!("shift:{c}"),
            By::Step => "step".into(),
            By::Code => "code".into(),
            By::Criterion => "criterion".into(),
            By::Area => "area".into(),
            By::Priority => "priority".into(),
            By::Version(None) => "version".into(),
            By::Version(Some(c)) => format!("version:{c}"),
            By::Week => "week".into(),
            By::Month => "month".into(),
        }
    }

    /// The log column it reads, if any.
    pub fn column(&self) -> Option<&str> {
        match self {
            By::Team(c) | By::Shift(c) | By::Version(Some(c)) => Some(c),
            _ => None,
        }
    }
}

/// A requirement of the procedure, as reviewed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Criterion {
    /// `kind:step:line` (`path` for the path).
    pub id: String,
    pub kind: String,
    pub step: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub area: String,
    /// The finding code a deviation at it gets.
    pub code: String,
    /// What is required, in words.
    pub label: String,
}

/// Counts of opportunities and deviations.
#[derive(Debug, Clone, Default)]
struct Tally {
    n: u64,
    d: u64,
    cases: u64,
    last_case: u64,
}

impl Tally {
    fn add(&mut self, case: u64, deviated: bool) {
        self.n += 1;
        self.d += deviated as u64;
        if self.last_case != case {
            self.cases += 1;
            self.last_case = case;
        }
    }
}

/// A rate with its interval, as reported.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rate {
    pub opportunities: u64,
    pub deviations: u64,
    /// deviations ÷ opportunities; null without opportunities.
    pub rate: Option<f64>,
    /// Wilson 95% interval.
    pub ci: [f64; 2],
}

impl Rate {
    fn of(d: u64, n: u64) -> Rate {
        let (r, ci) = rate(d, n);
        Rate {
            opportunities: n,
            deviations: d,
            rate: r,
            ci,
        }
    }
}

/// One group of a breakdown.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Group {
    /// The group's values joined with ` × ` (one per `--by`).
    pub key: String,
    pub keys: Vec<String>,
    pub cases: u64,
    #[serde(flatten)]
    pub rate: Rate,
    /// The rate its mix of criteria would have at the reference rate of each (the team
    /// without the operators far above it, see [`Reviewer::finish`]).
    pub expected: Option<f64>,
    /// (observed − expected deviations) / sd.
    pub z: f64,
    /// `above` or `below` the 99.8% funnel limits, or null (also below the minimum n).
    pub flag: Option<&'static str>,
    /// Outside the 95% limits only (an alert, not a flag).
    pub alert: bool,
    /// Fewer opportunities than the minimum: shown, never ranked or flagged.
    pub small: bool,
}

/// One period of a trend.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Period {
    /// Empty for the whole team.
    pub key: String,
    pub period: String,
    #[serde(flatten)]
    pub rate: Rate,
}

/// A criterion where most operators deviate: a matter for the procedure, tooling or
/// training for all.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Systemic {
    pub criterion: String,
    pub kind: String,
    pub step: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub code: String,
    pub area: String,
    #[serde(flatten)]
    pub rate: Rate,
    /// Operators with opportunities at it.
    pub operators: u64,
    /// Of them, those at or above the systemic rate.
    pub operators_above: u64,
    pub why: String,
    pub action: String,
}

/// A colleague's need for support in some areas.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Need {
    pub who: String,
    pub cases: u64,
    pub areas: Vec<AreaNeed>,
    /// The type of support for the first (largest) area.
    #[serde(rename = "type")]
    pub kind: String,
    /// Case ids with a deviation in the areas (up to ten).
    pub evidence: Vec<String>,
}

/// One area of a need.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AreaNeed {
    pub area: String,
    #[serde(flatten)]
    pub rate: Rate,
    pub expected: Option<f64>,
    pub z: f64,
    /// The type of support the rules give, and the rule (its index and its words).
    #[serde(rename = "type")]
    pub kind: String,
    pub rule: String,
    /// Weeks above expected in the last weeks looked at: (above, of).
    pub weeks_above: [u32; 2],
    /// The criteria behind it, with their procedure lines.
    pub criteria: Vec<String>,
    pub evidence: Vec<Evidence>,
}

/// A deviation cited as evidence.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evidence {
    pub case_id: String,
    pub criterion: String,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// An agreement reviewed: before and after its start, on its criteria only.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlanResult {
    pub who: String,
    pub areas: Vec<String>,
    pub criteria: Vec<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub target: f64,
    pub start: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
    pub before: Rate,
    pub after: Rate,
    /// The rate after is at or below the target (null without opportunities after).
    pub target_met: Option<bool>,
    /// The whole 95% interval after is at or below the target.
    pub confident: bool,
    /// Better (interval after wholly below the interval before), worse, or `unclear`.
    pub change: &'static str,
}

/// One of the cases with most deviations.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorstCase {
    pub case_id: String,
    pub deviations: u64,
    pub codes: Vec<String>,
    pub steps: Vec<String>,
}

/// The procedure graph with deviation counts, laid out in layers for a picture.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Sketch {
    pub nodes: Vec<SketchNode>,
    pub edges: Vec<SketchEdge>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SketchNode {
    pub name: String,
    /// `start`, `step`, `decision`, `end`, `block`.
    pub kind: &'static str,
    pub layer: usize,
    pub deviations: u64,
    pub opportunities: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SketchEdge {
    pub from: usize,
    pub to: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Decisions that took this branch against the facts.
    pub wrong: u64,
}

/// A heat map of operators × criteria: rates where there were opportunities.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct HeatMap {
    pub operators: Vec<String>,
    pub criteria: Vec<String>,
    /// `cells[o][c]`: (deviations, opportunities).
    pub cells: Vec<Vec<[u64; 2]>>,
}

/// The review (its JSON form is versioned: `version`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Review {
    pub version: u32,
    pub procedure: String,
    pub cases: u64,
    #[serde(flatten)]
    pub overall: Rate,
    pub by: Vec<String>,
    pub min_opportunities: u64,
    /// The groups' overdispersion factor (1: they vary as chance would; more: the funnel
    /// limits are widened by its square root).
    pub overdispersion: f64,
    /// The same for the operators, used for support needs.
    pub overdispersion_operators: f64,
    pub groups: Vec<Group>,
    pub criteria: Vec<CriterionRate>,
    pub trend: Vec<Period>,
    pub systemic: Vec<Systemic>,
    pub support: Vec<Need>,
    pub recognition: Vec<Group>,
    pub plan: Vec<PlanResult>,
    pub worst_cases: Vec<WorstCase>,
    /// Deviations by the finding codes reported (several codes can share a criterion).
    pub deviations_by_code: BTreeMap<String, u64>,
    /// Obligations not judged, by why: `pending`, `at-risk`, `waived`, `unknown`,
    /// `not-aligned`, `running`.
    pub not_judged: BTreeMap<String, u64>,
    /// Findings at no criterion, by code (counted, never dropped).
    pub outside_criteria: BTreeMap<String, u64>,
    /// Opportunities with no one to attribute them to.
    pub unattributed: u64,
    /// Per `--by` with a column (`team:COLUMN`, …): opportunities whose case has no value in
    /// it (grouped as `(none)`).
    pub without_column: BTreeMap<String, u64>,
    /// Plan opportunities in cases with no time (neither before nor after).
    pub undated: u64,
    pub heatmap: HeatMap,
    pub graph: Sketch,
}

/// A criterion with its rate.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CriterionRate {
    #[serde(flatten)]
    pub criterion: Criterion,
    #[serde(flatten)]
    pub rate: Rate,
    pub systemic: bool,
}

/// One finding as a row for a spreadsheet.
#[derive(Debug, Clone, Serialize)]
pub struct FindingRow<'a> {
    pub case_id: &'a str,
    pub code: &'static str,
    pub criterion: String,
    pub step: &'a str,
    pub actor: Option<&'a str>,
    pub team: Option<String>,
    pub time: Option<&'a str>,
}

/// What a review is asked for.
#[derive(Debug, Clone)]
pub struct ReviewOptions {
    pub by: Vec<By>,
    pub config: ReviewConfig,
    pub plan: Vec<Agreement>,
    /// How many worst cases to keep.
    pub worst: usize,
}

#[derive(Default)]
struct Operator {
    cases: Tally,
    /// Per criterion.
    crit: BTreeMap<String, (u64, u64)>,
    /// Per (week, criterion).
    weekly: BTreeMap<(String, String), (u64, u64)>,
    /// Deviations as evidence, per area (up to ten each).
    evidence: BTreeMap<String, Vec<Evidence>>,
}

#[derive(Default)]
struct GroupAcc {
    tally: Tally,
    crit: BTreeMap<String, (u64, u64)>,
}

/// What `finish` works from: the accumulators with their names put back.
struct Totals {
    criteria: BTreeMap<String, Criterion>,
    by_criterion: BTreeMap<String, Tally>,
    groups: BTreeMap<Vec<String>, GroupAcc>,
    trend: BTreeMap<(String, String), Tally>,
    operators: BTreeMap<String, Operator>,
    step_devs: BTreeMap<String, (u64, u64)>,
}

/// Interns names to dense indices, so that the per-opportunity work allocates nothing.
#[derive(Default)]
struct Names {
    names: Vec<String>,
    index: std::collections::HashMap<String, u32, crate::hash::FastHash>,
}

impl Names {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }

    fn name(&self, i: u32) -> &str {
        self.names.get(i as usize).map_or("", String::as_str)
    }
}

/// An operator's counts, by criterion index and (week index, criterion index).
#[derive(Default)]
struct OpAcc {
    cases: Tally,
    crit: Vec<(u64, u64)>,
    weekly: std::collections::HashMap<(u32, u32), (u64, u64), crate::hash::FastHash>,
    evidence: BTreeMap<String, Vec<Evidence>>,
}

/// A group's counts, by criterion index.
#[derive(Default)]
struct GroupFast {
    tally: Tally,
    crit: Vec<(u64, u64)>,
}

/// At most this many `--by` dimensions (a cross-table of four is already hard to read).
pub const MAX_BY: usize = 4;

fn bump(v: &mut Vec<(u64, u64)>, i: u32, deviated: bool) {
    let i = i as usize;
    if v.len() <= i {
        v.resize(i + 1, (0, 0));
    }
    v[i].0 += 1;
    v[i].1 += deviated as u64;
}

/// Takes verdicts one at a time; [`Reviewer::finish`] gives the review.
pub struct Reviewer<'p> {
    p: Option<&'p Procedure>,
    name: String,
    version: Option<String>,
    opts: ReviewOptions,
    seq: u64,
    /// Criteria by index, and the indices by (kind, line, step) and by path step.
    criteria: Vec<Criterion>,
    crit_by_ob:
        std::collections::HashMap<(&'static str, usize), Vec<(String, u32)>, crate::hash::FastHash>,
    crit_by_path: std::collections::HashMap<String, u32, crate::hash::FastHash>,
    overall: Tally,
    by_criterion: Vec<Tally>,
    /// Per `--by` dimension, its values.
    dims: Vec<Names>,
    groups: std::collections::HashMap<[u32; MAX_BY], u32, crate::hash::FastHash>,
    group_list: Vec<([u32; MAX_BY], GroupFast)>,
    weeks: Names,
    /// (group index or `u32::MAX` for the team, week index).
    trend: std::collections::HashMap<(u32, u32), Tally, crate::hash::FastHash>,
    ops: Names,
    operators: Vec<OpAcc>,
    not_judged: BTreeMap<&'static str, u64>,
    outside: BTreeMap<String, u64>,
    by_code: BTreeMap<&'static str, u64>,
    wrong_edges: BTreeMap<(String, String), u64>,
    worst: Vec<WorstCase>,
    plan: Vec<(Tally, Tally)>,
    unattributed: u64,
    undated: u64,
    /// Per `--by` dimension: opportunities whose case has no value in its column.
    without_column: [u64; MAX_BY],
}

/// The finding code a deviation at a criterion of this kind gets.
fn code_of(kind: &str) -> &'static str {
    match kind {
        "deadline" => "deadline-missed",
        "acknowledgement" => "not-acknowledged",
        "monitoring" => "monitoring-gap",
        "escalation" => "missed-escalation",
        "decision" => "wrong-branch",
        "inform" => "not-informed",
        "instruct" => "action-not-specified",
        "resources" => "resource-lacks-capability",
        "constraint" => "constraint-violated",
        _ => "control-flow",
    }
}

fn is_control_flow(c: FindingCode) -> bool {
    matches!(
        c,
        FindingCode::UnexpectedStep
            | FindingCode::WrongOrder
            | FindingCode::MissingStep
            | FindingCode::Incomplete
    )
}

/// The findings an obligation kind's deviations are reported as.
fn covered(c: FindingCode) -> bool {
    is_control_flow(c)
        || matches!(
            c,
            FindingCode::WrongBranch
                | FindingCode::DeadlineMissed
                | FindingCode::NotInformed
                | FindingCode::NotAcknowledged
                | FindingCode::ActionNotSpecified
                | FindingCode::MonitoringGap
                | FindingCode::MissedEscalation
                | FindingCode::ResourceLacksCapability
                | FindingCode::ResourceUnavailable
                | FindingCode::ConstraintViolated
                | FindingCode::AtRisk
        )
}

/// ISO week (`2026-W10`) and month (`2026-03`) of a time.
fn week_of(t: DateTime<Utc>) -> String {
    let w = t.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

fn month_of(t: DateTime<Utc>) -> String {
    format!("{}-{:02}", t.year(), t.month())
}

/// A column's value for an opportunity: at its event, else at the first event of the
/// case by the same person that has it, else the first event that has it, else the case
/// attribute.
fn column_value(
    trace: &Trace,
    col: &str,
    event: Option<usize>,
    actor: Option<&str>,
) -> Option<String> {
    let get = |i: usize| {
        trace
            .events
            .get(i)
            .and_then(|e| crate::log::attribute(&e.attributes, col))
            .filter(|v| !v.is_empty())
    };
    if let Some(v) = event.and_then(get) {
        return Some(v.to_string());
    }
    let by_actor = actor.and_then(|a| {
        (0..trace.events.len())
            .filter(|&i| trace.events[i].resource.as_deref() == Some(a))
            .find_map(get)
    });
    if let Some(v) = by_actor.or_else(|| (0..trace.events.len()).find_map(get)) {
        return Some(v.to_string());
    }
    let case_col = format!("case:{col}");
    trace
        .events
        .iter()
        .find_map(|e| crate::log::attribute(&e.attributes, &case_col))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// One opportunity of a case.
struct Opp<'a> {
    criterion: u32,
    deviated: bool,
    actor: Option<&'a str>,
    event: Option<usize>,
    time: Option<std::borrow::Cow<'a, str>>,
    code: &'static str,
}

impl<'p> Reviewer<'p> {
    /// A reviewer of cases checked against `p` (or a bare net, named `name`).
    pub fn new(p: Option<&'p Procedure>, name: &str, opts: ReviewOptions) -> Self {
        let version = p.and_then(|p| {
            p.ast().header.iter().find_map(|h| match h {
                crate::ast::HeaderItem::Version(v) => Some(v.value.clone()),
                _ => None,
            })
        });
        let plan = vec![(Tally::default(), Tally::default()); opts.plan.len()];
        Reviewer {
            p,
            name: name.to_string(),
            version,
            opts,
            seq: 0,
            criteria: Vec::new(),
            crit_by_ob: Default::default(),
            crit_by_path: Default::default(),
            overall: Tally::default(),
            by_criterion: Vec::new(),
            dims: (0..MAX_BY).map(|_| Names::default()).collect(),
            groups: Default::default(),
            group_list: Vec::new(),
            weeks: Names::default(),
            trend: Default::default(),
            ops: Names::default(),
            operators: Vec::new(),
            not_judged: BTreeMap::new(),
            outside: BTreeMap::new(),
            by_code: BTreeMap::new(),
            wrong_edges: BTreeMap::new(),
            worst: Vec::new(),
            plan,
            unattributed: 0,
            undated: 0,
            without_column: [0; MAX_BY],
        }
    }

    /// The log columns the breakdowns read (to keep when reading the log).
    pub fn columns(&self) -> Vec<String> {
        self.opts
            .by
            .iter()
            .filter_map(|b| b.column())
            .flat_map(|c| [c.to_string(), format!("case:{c}")])
            .collect()
    }

    fn add_criterion(&mut self, c: Criterion) -> u32 {
        let i = self.criteria.len() as u32;
        self.criteria.push(c);
        self.by_criterion.push(Tally::default());
        i
    }

    fn criterion_for(&mut self, o: &Obligation) -> u32 {
        if let Some(xs) = self.crit_by_ob.get(&(o.kind, o.line))
            && let Some((_, i)) = xs.iter().find(|(st, _)| *st == o.step)
        {
            return *i;
        }
        let c = Criterion {
            id: format!("{}:{}:{}", o.kind, o.step, o.line),
            kind: o.kind.to_string(),
            step: o.step.clone(),
            line: Some(o.line),
            area: self.opts.config.area(o.kind),
            code: code_of(o.kind).to_string(),
            label: match o.kind {
                "decision" => format!("decision `{}` as the facts call for", o.step),
                _ => o.required.clone(),
            },
        };
        let i = self.add_criterion(c);
        self.crit_by_ob
            .entry((o.kind, o.line))
            .or_default()
            .push((o.step.clone(), i));
        i
    }

    fn path_criterion(&mut self, step: &str) -> u32 {
        if let Some(&i) = self.crit_by_path.get(step) {
            return i;
        }
        let line = self.p.and_then(|p| {
            let n = p.graph.by_name(step)?;
            Some(p.unit.source.line_col(p.graph.node(n).span.start).0)
        });
        let c = Criterion {
            id: format!("path:{step}"),
            kind: "path".into(),
            step: step.to_string(),
            line,
            area: self.opts.config.area("path"),
            code: "control-flow".into(),
            label: format!("`{step}` where the procedure permits it"),
        };
        let i = self.add_criterion(c);
        self.crit_by_path.insert(step.to_string(), i);
        i
    }

    fn not_judged(&mut self, why: &'static str) {
        *self.not_judged.entry(why).or_default() += 1;
    }

    /// Adds one checked case; `row`, if given, receives each of its findings as a row.
    pub fn add(&mut self, c: &Checked, row: Option<&mut dyn FnMut(FindingRow<'_>)>) {
        self.seq += 1;
        let case = self.seq;
        let v = &c.verdict;
        let r = &v.result;
        let start: Option<DateTime<Utc>> = c
            .trace
            .events
            .iter()
            .filter_map(|e| e.timestamp)
            .min()
            .map(|t| t.with_timezone(&Utc));
        let mut opps: Vec<Opp<'_>> = Vec::new();
        // The path, step by step: each step recorded is an opportunity at `path:STEP`,
        // deviated when a control-flow finding is on its event (unexpected, out of
        // order); each step found missing is a deviated opportunity of its own. Nothing
        // is judged of a case the search gave up on, nor of a running case's steps still
        // to come.
        if r.findings.iter().any(|f| f.code == FindingCode::NotAligned) {
            self.not_judged("not-aligned");
        } else {
            if v.running {
                self.not_judged("running");
            }
            let all = c.flow.is_empty();
            let count = if all {
                c.trace.events.len()
            } else {
                c.flow.len()
            };
            for k in 0..count {
                let i = if all { k } else { c.flow[k] };
                let Some(e) = c.trace.events.get(i) else {
                    continue;
                };
                let on_it = r
                    .findings
                    .iter()
                    .find(|f| is_control_flow(f.code) && f.event_index == Some(i));
                let criterion = self.path_criterion(&e.activity);
                opps.push(Opp {
                    criterion,
                    deviated: on_it.is_some(),
                    actor: on_it
                        .and_then(|f| f.actor.as_deref())
                        .or(e.resource.as_deref()),
                    event: Some(i),
                    time: on_it.and_then(|f| f.time.as_deref()).map(Into::into),
                    code: on_it.map_or("control-flow", |f| f.code.as_str()),
                });
            }
            for f in r
                .findings
                .iter()
                .filter(|f| matches!(f.code, FindingCode::MissingStep | FindingCode::Incomplete))
            {
                let mut one = |this: &mut Self, st: &str| {
                    if st.is_empty() {
                        return;
                    }
                    let criterion = this.path_criterion(st);
                    opps.push(Opp {
                        criterion,
                        deviated: true,
                        actor: f.actor.as_deref(),
                        event: f.event_index,
                        time: f.time.as_deref().map(Into::into),
                        code: f.code.as_str(),
                    });
                };
                if f.steps.is_empty() {
                    one(self, &f.step);
                } else {
                    for st in &f.steps {
                        one(self, st);
                    }
                }
            }
        }
        for o in &v.obligations {
            match o.status {
                Status::Met | Status::Violated => {
                    let criterion = self.criterion_for(o);
                    opps.push(Opp {
                        criterion,
                        deviated: o.status == Status::Violated,
                        actor: o.actor.as_deref(),
                        event: o.event_index,
                        time: o.from.map(|t| t.to_rfc3339().into()),
                        code: code_of(o.kind),
                    });
                    if o.kind == "decision"
                        && o.status == Status::Violated
                        && let Some(t) = &o.taken
                    {
                        *self
                            .wrong_edges
                            .entry((o.step.clone(), t.clone()))
                            .or_default() += 1;
                    }
                }
                s => self.not_judged(s.as_str()),
            }
        }
        for f in &r.findings {
            if codes_severity_error(f.code) {
                *self.by_code.entry(f.code.as_str()).or_default() += 1;
            }
            if !covered(f.code) {
                *self.outside.entry(f.code.as_str().to_string()).or_default() += 1;
            }
        }
        // Rows for the spreadsheet: each finding with its criterion.
        if let Some(row) = row {
            let team_col = self.opts.by.iter().find_map(|b| match b {
                By::Team(c) => Some(c.clone()),
                _ => None,
            });
            for f in &r.findings {
                // The criterion's id as the rates name it (interned already).
                let index = if is_control_flow(f.code) {
                    self.crit_by_path.get(f.step.as_str()).copied()
                } else {
                    v.obligations
                        .iter()
                        .find(|o| {
                            o.status == Status::Violated
                                && code_of(o.kind) == f.code.as_str()
                                && (o.step == f.step || f.line == Some(o.line))
                        })
                        .map(|o| self.criterion_for(o))
                };
                let criterion = match index {
                    Some(i) => self.criteria[i as usize].id.clone(),
                    None if is_control_flow(f.code) => format!("path:{}", f.step),
                    None => String::new(),
                };
                row(FindingRow {
                    case_id: &r.case_id,
                    code: f.code.as_str(),
                    criterion,
                    step: &f.step,
                    actor: f.actor.as_deref(),
                    team: team_col.as_deref().and_then(|col| {
                        column_value(&c.trace, col, f.event_index, f.actor.as_deref())
                    }),
                    time: f.time.as_deref(),
                });
            }
        }
        // Worst cases.
        let devs = opps.iter().filter(|o| o.deviated).count() as u64;
        let pos = self.worst.partition_point(|x| x.deviations >= devs);
        if devs > 0 && pos < self.opts.worst {
            let mut codes: Vec<String> = r
                .findings
                .iter()
                .filter(|f| codes_severity_error(f.code))
                .map(|f| f.code.as_str().to_string())
                .collect();
            codes.dedup();
            let mut steps: Vec<String> = r
                .findings
                .iter()
                .filter(|f| !f.step.is_empty())
                .map(|f| f.step.clone())
                .collect();
            steps.dedup();
            self.worst.insert(
                pos,
                WorstCase {
                    case_id: r.case_id.clone(),
                    deviations: devs,
                    codes,
                    steps,
                },
            );
            self.worst.truncate(self.opts.worst);
        }
        let week = start.map(|t| self.weeks.id(&week_of(t)));
        let week_or_none = week.unwrap_or_else(|| self.weeks.id("(no time)"));
        let month = start
            .filter(|_| self.opts.by.contains(&By::Month))
            .map(month_of);
        let start_date: Option<NaiveDate> = start.map(|t| t.date_naive());
        let by = std::mem::take(&mut self.opts.by);
        for o in &opps {
            let ci = o.criterion as usize;
            self.overall.add(case, o.deviated);
            self.by_criterion[ci].add(case, o.deviated);
            if o.actor.is_none() {
                self.unattributed += 1;
            }
            let actor = o.actor.unwrap_or("(unattributed)");
            // The group's key, one interned value per `--by`.
            let mut key = [0u32; MAX_BY];
            for (d, b) in by.iter().enumerate() {
                let crit = &self.criteria[ci];
                let value: std::borrow::Cow<'_, str> = match b {
                    By::Operator => actor.into(),
                    By::Team(col) | By::Shift(col) => column_value(&c.trace, col, o.event, o.actor)
                        .map_or("(none)".into(), Into::into),
                    By::Step => {
                        if crit.step.is_empty() {
                            "(path)".into()
                        } else {
                            crit.step.as_str().into()
                        }
                    }
                    By::Code => crit.code.as_str().into(),
                    By::Criterion => crit.id.as_str().into(),
                    By::Area => crit.area.as_str().into(),
                    By::Priority => v.priority.as_deref().unwrap_or("(none)").into(),
                    By::Version(None) => self.version.as_deref().unwrap_or("(none)").into(),
                    By::Version(Some(col)) => column_value(&c.trace, col, o.event, None)
                        .map_or("(none)".into(), Into::into),
                    By::Week => self.weeks.name(week_or_none).to_string().into(),
                    By::Month => month.as_deref().unwrap_or("(no time)").to_string().into(),
                };
                if value == "(none)" && b.column().is_some() {
                    self.without_column[d] += 1;
                }
                key[d] = self.dims[d].id(&value);
            }
            let g = match self.groups.get(&key) {
                Some(&g) => g,
                None => {
                    let g = self.group_list.len() as u32;
                    self.group_list.push((key, GroupFast::default()));
                    self.groups.insert(key, g);
                    g
                }
            };
            let acc = &mut self.group_list[g as usize].1;
            acc.tally.add(case, o.deviated);
            bump(&mut acc.crit, o.criterion, o.deviated);
            if !by.is_empty() {
                self.trend
                    .entry((g, week_or_none))
                    .or_default()
                    .add(case, o.deviated);
            }
            self.trend
                .entry((u32::MAX, week_or_none))
                .or_default()
                .add(case, o.deviated);
            // Per operator, for support needs.
            if let Some(a) = o.actor {
                let k = self.ops.id(a) as usize;
                if self.operators.len() <= k {
                    self.operators.resize_with(k + 1, OpAcc::default);
                }
                let op = &mut self.operators[k];
                if op.cases.last_case != case {
                    op.cases.add(case, false);
                }
                bump(&mut op.crit, o.criterion, o.deviated);
                let e = op.weekly.entry((week_or_none, o.criterion)).or_default();
                e.0 += 1;
                e.1 += o.deviated as u64;
                if o.deviated {
                    let crit = &self.criteria[ci];
                    let ev = op.evidence.entry(crit.area.clone()).or_default();
                    if ev.len() < 10 && !ev.iter().any(|x| x.case_id == r.case_id) {
                        ev.push(Evidence {
                            case_id: r.case_id.clone(),
                            criterion: crit.id.clone(),
                            code: o.code.to_string(),
                            line: crit.line,
                            event: o.event.map(|i| i + 1),
                            time: o.time.as_deref().map(str::to_string),
                        });
                    }
                }
            }
            // The plan.
            for (k, agreement) in self.opts.plan.iter().enumerate() {
                let crit = &self.criteria[ci];
                if o.actor != Some(agreement.who.as_str())
                    || !(agreement.areas.contains(&crit.area)
                        || agreement.criteria.contains(&crit.id))
                {
                    continue;
                }
                let Some(d) = start_date else {
                    self.undated += 1;
                    continue;
                };
                if d < agreement.start {
                    self.plan[k].0.add(case, o.deviated);
                } else if agreement.review.is_none_or(|r| d <= r) {
                    self.plan[k].1.add(case, o.deviated);
                }
            }
        }
        self.opts.by = by;
    }

    /// The accumulators with their names put back, for `finish`.
    fn totals(&self) -> Totals {
        let pairs = |v: &Vec<(u64, u64)>| -> BTreeMap<String, (u64, u64)> {
            v.iter()
                .enumerate()
                .filter(|(_, x)| x.0 > 0)
                .map(|(i, x)| (self.criteria[i].id.clone(), *x))
                .collect()
        };
        let criteria = self
            .criteria
            .iter()
            .map(|c| (c.id.clone(), c.clone()))
            .collect();
        let by_criterion = self
            .criteria
            .iter()
            .zip(&self.by_criterion)
            .map(|(c, t)| (c.id.clone(), t.clone()))
            .collect();
        let nby = self.opts.by.len();
        let key_of = |key: &[u32; MAX_BY]| -> Vec<String> {
            (0..nby)
                .map(|d| self.dims[d].name(key[d]).to_string())
                .collect()
        };
        let groups = self
            .group_list
            .iter()
            .map(|(key, g)| {
                (
                    key_of(key),
                    GroupAcc {
                        tally: g.tally.clone(),
                        crit: pairs(&g.crit),
                    },
                )
            })
            .collect();
        let trend = self
            .trend
            .iter()
            .map(|((g, w), t)| {
                let k = if *g == u32::MAX {
                    String::new()
                } else {
                    key_of(&self.group_list[*g as usize].0).join(" × ")
                };
                ((k, self.weeks.name(*w).to_string()), t.clone())
            })
            .collect();
        let operators = self
            .operators
            .iter()
            .enumerate()
            .map(|(k, op)| {
                (
                    self.ops.name(k as u32).to_string(),
                    Operator {
                        cases: op.cases.clone(),
                        crit: pairs(&op.crit),
                        weekly: op
                            .weekly
                            .iter()
                            .map(|((w, c), x)| {
                                (
                                    (
                                        self.weeks.name(*w).to_string(),
                                        self.criteria[*c as usize].id.clone(),
                                    ),
                                    *x,
                                )
                            })
                            .collect(),
                        evidence: op.evidence.clone(),
                    },
                )
            })
            .collect();
        let mut step_devs: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (c, t) in self.criteria.iter().zip(&self.by_criterion) {
            if !c.step.is_empty() {
                let e = step_devs.entry(c.step.clone()).or_default();
                e.0 += t.d;
                e.1 += t.n;
            }
        }
        Totals {
            criteria,
            by_criterion,
            groups,
            trend,
            operators,
            step_devs,
        }
    }

    /// The team's rate at each criterion.
    fn criterion_rates(tot: &Totals) -> BTreeMap<&str, f64> {
        tot.by_criterion
            .iter()
            .map(|(k, t)| {
                (
                    k.as_str(),
                    if t.n > 0 {
                        t.d as f64 / t.n as f64
                    } else {
                        0.0
                    },
                )
            })
            .collect()
    }

    fn standing(rates: &BTreeMap<&str, f64>, crit: &BTreeMap<String, (u64, u64)>) -> Standing {
        let mut s = Standing {
            expected: 0.0,
            variance: 0.0,
        };
        for (c, (n, _)) in crit {
            let p = rates.get(c.as_str()).copied().unwrap_or(0.0);
            s.expected += p * *n as f64;
            s.variance += p * (1.0 - p) * *n as f64;
        }
        s
    }

    /// The operators' overdispersion at the given reference rates.
    fn operator_overdispersion(tot: &Totals, reference: &BTreeMap<&str, f64>, min_n: u64) -> f64 {
        overdispersion(
            &tot.operators
                .values()
                .filter(|o| o.crit.values().map(|x| x.0).sum::<u64>() >= min_n)
                .map(|o| {
                    let d: u64 = o.crit.values().map(|x| x.1).sum();
                    (Self::standing(reference, &o.crit), d)
                })
                .filter(|(s, _)| s.expected >= 5.0)
                .map(|(s, d)| s.z(d))
                .collect::<Vec<_>>(),
        )
    }

    /// The review.
    pub fn finish(self) -> Review {
        let cfg = &self.opts.config;
        let min_n = cfg.min_opportunities;
        let tot = self.totals();
        let rates = Self::criterion_rates(&tot);
        // Systemic criteria.
        let mut systemic = Vec::new();
        let mut systemic_ids: BTreeSet<String> = BTreeSet::new();
        for (id, t) in &tot.by_criterion {
            let Some(c) = tot.criteria.get(id) else {
                continue;
            };
            let r = if t.n > 0 {
                t.d as f64 / t.n as f64
            } else {
                0.0
            };
            let mut with = 0u64;
            let mut above = 0u64;
            for op in tot.operators.values() {
                if let Some((n, d)) = op.crit.get(id)
                    && *n > 0
                {
                    with += 1;
                    if *d as f64 / *n as f64 >= cfg.systemic_rate {
                        above += 1;
                    }
                }
            }
            if t.n >= min_n
                && r >= cfg.systemic_rate
                && with >= 3
                && above as f64 >= cfg.systemic_share * with as f64
            {
                systemic_ids.insert(id.clone());
                systemic.push(Systemic {
                    criterion: id.clone(),
                    kind: c.kind.clone(),
                    step: c.step.clone(),
                    line: c.line,
                    code: c.code.clone(),
                    area: c.area.clone(),
                    rate: Rate::of(t.d, t.n),
                    operators: with,
                    operators_above: above,
                    why: format!(
                        "{above} of the {with} operators with opportunities here deviate at \
                         {:.0}% or more (the criterion's rate is {:.1}%): the cause is shared, \
                         not individual",
                        cfg.systemic_rate * 100.0,
                        r * 100.0
                    ),
                    action: format!(
                        "review `{}`{} with the procedure's owner: the procedure, the tooling or \
                         training for all (not {with} individual support needs)",
                        if c.step.is_empty() {
                            "the path"
                        } else {
                            &c.step
                        },
                        c.line.map_or(String::new(), |l| format!(" (line {l})"))
                    ),
                });
            }
        }
        // The reference: the team's rate at each criterion without the operators far
        // above it (a first pass at the 99.8% limit), so that a few outliers do not make
        // everyone else look better than they are.
        let phi0 = Self::operator_overdispersion(&tot, &rates, min_n);
        let outliers: BTreeSet<&String> = tot
            .operators
            .iter()
            .filter(|(_, op)| {
                let d: u64 = op.crit.values().map(|x| x.1).sum();
                let n: u64 = op.crit.values().map(|x| x.0).sum();
                n >= min_n && Self::standing(&rates, &op.crit).tails_over(d, phi0).0 < P998
            })
            .map(|(k, _)| k)
            .collect();
        let reference: BTreeMap<&str, f64> =
            if outliers.is_empty() || outliers.len() == tot.operators.len() {
                rates.clone()
            } else {
                let mut rest: BTreeMap<&str, (u64, u64)> = tot
                    .by_criterion
                    .iter()
                    .map(|(k, t)| (k.as_str(), (t.n, t.d)))
                    .collect();
                for o in &outliers {
                    for (c, (n, d)) in &tot.operators[*o].crit {
                        if let Some(x) = rest.get_mut(c.as_str()) {
                            x.0 = x.0.saturating_sub(*n);
                            x.1 = x.1.saturating_sub(*d);
                        }
                    }
                }
                rest.into_iter()
                    .map(|(k, (n, d))| {
                        let p = if n > 0 {
                            d as f64 / n as f64
                        } else {
                            rates.get(k).copied().unwrap_or(0.0)
                        };
                        (k, p)
                    })
                    .collect()
            };
        // Overdispersion of the groups, and of the operators (for support needs): real
        // teams differ by more than chance; the limits widen by it so that only groups
        // beyond that spread are flagged. Estimated from the groups expected to have at
        // least five deviations, where z is near normal.
        let phi_groups = overdispersion(
            &tot.groups
                .values()
                .filter(|g| g.tally.n >= min_n)
                .map(|g| (Self::standing(&reference, &g.crit), g.tally.d))
                .filter(|(s, _)| s.expected >= 5.0)
                .map(|(s, d)| s.z(d))
                .collect::<Vec<_>>(),
        );
        let phi_ops = Self::operator_overdispersion(&tot, &reference, min_n);
        // Groups.
        let mut groups = Vec::new();
        for (keys, g) in &tot.groups {
            let crit = &g.crit;
            let (cn, cd) = (g.tally.n, g.tally.d);
            let s = Self::standing(&reference, crit);
            let z = s.z(cd);
            let (p_above, p_below) = s.tails_over(cd, phi_groups);
            let small = cn < min_n;
            let flag = if small {
                None
            } else if p_above < P998 {
                Some("above")
            } else if p_below < P998 {
                Some("below")
            } else {
                None
            };
            groups.push(Group {
                key: keys.join(" × "),
                keys: keys.clone(),
                cases: g.tally.cases,
                rate: Rate::of(g.tally.d, g.tally.n),
                expected: (cn > 0).then(|| round(s.expected / cn as f64)),
                z: round(z),
                flag,
                alert: !small && flag.is_none() && p_above.min(p_below) < P95,
                small,
            });
        }
        // Highest rate first; small groups last.
        groups.sort_by(|a, b| {
            a.small
                .cmp(&b.small)
                .then(
                    b.rate
                        .rate
                        .unwrap_or(0.0)
                        .total_cmp(&a.rate.rate.unwrap_or(0.0)),
                )
                .then(a.key.cmp(&b.key))
        });
        let recognition: Vec<Group> = groups
            .iter()
            .filter(|g| g.flag == Some("below") && self.opts.by == [By::Operator])
            .cloned()
            .collect();
        // Support needs, per operator and area, systemic criteria left out.
        let weeks: Vec<String> = {
            let mut w: BTreeSet<&String> = BTreeSet::new();
            for (k, p) in tot.trend.keys() {
                if k.is_empty() && p != "(no time)" {
                    w.insert(p);
                }
            }
            w.into_iter().cloned().collect()
        };
        // The median caseload of the operators compared (those with enough opportunities).
        let mut caseloads: Vec<u64> = tot
            .operators
            .values()
            .filter(|o| o.crit.values().map(|x| x.0).sum::<u64>() >= min_n)
            .map(|o| o.cases.cases)
            .collect();
        caseloads.sort_unstable();
        let median = caseloads.get(caseloads.len() / 2).copied().unwrap_or(0) as f64;
        let mut support = Vec::new();
        for (who, op) in &tot.operators {
            let individual = &op.crit;
            let total_n: u64 = individual.values().map(|x| x.0).sum();
            let total_d: u64 = individual.values().map(|x| x.1).sum();
            if total_n < min_n {
                continue;
            }
            let overall_p = Self::standing(&reference, individual)
                .tails_over(total_d, phi_ops)
                .0;
            let mut by_area: BTreeMap<String, BTreeMap<String, (u64, u64)>> = BTreeMap::new();
            for (c, x) in individual {
                if let Some(crit) = tot.criteria.get(c) {
                    by_area
                        .entry(crit.area.clone())
                        .or_default()
                        .insert(c.clone(), *x);
                }
            }
            let mut areas = Vec::new();
            for (area, crit) in &by_area {
                let n: u64 = crit.values().map(|x| x.0).sum();
                let d: u64 = crit.values().map(|x| x.1).sum();
                let s = Self::standing(&reference, crit);
                let z = s.z(d);
                let p_area = s.tails_over(d, phi_ops).0;
                // An operator flagged overall is supported in the areas above expected at
                // 95%; any operator in an area above the 99.8% limit with enough
                // opportunities there.
                let flagged = (overall_p < P998 && p_area < P95) || (n >= min_n && p_area < P998);
                if !flagged || d < cfg.min_deviations {
                    continue;
                }
                let observed = d as f64 / n.max(1) as f64;
                let expected = s.expected / n.max(1) as f64;
                // Weeks above expected, in the last weeks of the review.
                let above_in = |last: u32| -> [u32; 2] {
                    let recent: Vec<&String> = weeks.iter().rev().take(last as usize).collect();
                    let mut above = 0;
                    for w in &recent {
                        let (mut wn, mut wd, mut we) = (0u64, 0u64, 0.0);
                        for c in crit.keys() {
                            if let Some((n, d)) = op.weekly.get(&((*w).clone(), c.clone())) {
                                wn += n;
                                wd += d;
                                we += reference.get(c.as_str()).copied().unwrap_or(0.0) * *n as f64;
                            }
                        }
                        if wn > 0 && wd as f64 > we {
                            above += 1;
                        }
                    }
                    [above, recent.len() as u32]
                };
                let mut chosen = None;
                for (k, rule) in cfg.rules.iter().enumerate() {
                    let ok = rule.area.as_ref().is_none_or(|a| a == area)
                        && rule.min_n.is_none_or(|m| n >= m)
                        && rule.gap.is_none_or(|g| observed - expected >= g)
                        && rule
                            .caseload_above
                            .is_none_or(|r| median > 0.0 && op.cases.cases as f64 >= r * median)
                        && match (rule.weeks_above, rule.of_last) {
                            (Some(a), Some(m)) => above_in(m)[0] >= a,
                            _ => true,
                        };
                    if ok {
                        chosen = Some((k, rule));
                        break;
                    }
                }
                let (kind, rule) = match chosen {
                    Some((k, r)) => (r.kind.clone(), format!("rule {}: {}", k + 1, describe(r))),
                    None => (
                        "coaching conversation".to_string(),
                        "no rule matched; the default".to_string(),
                    ),
                };
                let weeks_above = above_in(cfg.rules.iter().find_map(|r| r.of_last).unwrap_or(4));
                areas.push(AreaNeed {
                    area: area.clone(),
                    rate: Rate::of(d, n),
                    expected: Some(round(expected)),
                    z: round(z),
                    kind,
                    rule,
                    weeks_above,
                    criteria: crit
                        .keys()
                        .filter(|c| op.crit.get(*c).is_some_and(|x| x.1 > 0))
                        .cloned()
                        .collect(),
                    evidence: op.evidence.get(area).cloned().unwrap_or_default(),
                });
            }
            if areas.is_empty() {
                continue;
            }
            areas.sort_by(|a, b| b.z.total_cmp(&a.z));
            let mut evidence: Vec<String> = Vec::new();
            for a in &areas {
                for e in &a.evidence {
                    if evidence.len() < 10 && !evidence.contains(&e.case_id) {
                        evidence.push(e.case_id.clone());
                    }
                }
            }
            support.push(Need {
                who: who.clone(),
                cases: op.cases.cases,
                kind: areas[0].kind.clone(),
                areas,
                evidence,
            });
        }
        support.sort_by(|a, b| b.areas[0].z.total_cmp(&a.areas[0].z));
        // The plan.
        let plan = self
            .opts
            .plan
            .iter()
            .zip(&self.plan)
            .map(|(a, (before, after))| {
                let b = Rate::of(before.d, before.n);
                let af = Rate::of(after.d, after.n);
                let met = af.rate.map(|r| r <= a.target.0);
                let change = if before.n == 0 || after.n == 0 {
                    "unclear"
                } else if af.ci[1] < b.ci[0] {
                    "better"
                } else if af.ci[0] > b.ci[1] {
                    "worse"
                } else {
                    "unclear"
                };
                PlanResult {
                    who: a.who.clone(),
                    areas: a.areas.clone(),
                    criteria: a.criteria.clone(),
                    kind: a.kind.clone(),
                    target: a.target.0,
                    start: a.start.to_string(),
                    review: a.review.map(|d| d.to_string()),
                    confident: after.n > 0 && af.ci[1] <= a.target.0,
                    before: b,
                    after: af,
                    target_met: met,
                    change,
                }
            })
            .collect();
        let trend = tot
            .trend
            .iter()
            .map(|((k, p), t)| Period {
                key: k.clone(),
                period: p.clone(),
                rate: Rate::of(t.d, t.n),
            })
            .collect();
        let criteria: Vec<CriterionRate> = tot
            .by_criterion
            .iter()
            .filter_map(|(id, t)| {
                Some(CriterionRate {
                    criterion: tot.criteria.get(id)?.clone(),
                    rate: Rate::of(t.d, t.n),
                    systemic: systemic_ids.contains(id),
                })
            })
            .collect();
        let heatmap = {
            let ops: Vec<String> = tot
                .operators
                .iter()
                .filter(|(_, o)| o.crit.values().map(|x| x.0).sum::<u64>() >= min_n)
                .map(|(k, _)| k.clone())
                .collect();
            // Criteria where anyone deviated: the rest would be columns of zeros.
            let crits: Vec<String> = tot
                .by_criterion
                .iter()
                .filter(|(_, t)| t.d > 0)
                .map(|(k, _)| k.clone())
                .collect();
            let cells = ops
                .iter()
                .map(|o| {
                    crits
                        .iter()
                        .map(|c| {
                            let x = tot.operators[o].crit.get(c).copied().unwrap_or((0, 0));
                            [x.1, x.0]
                        })
                        .collect()
                })
                .collect();
            HeatMap {
                operators: ops,
                criteria: crits,
                cells,
            }
        };
        let graph = self.sketch(&tot);
        Review {
            version: 1,
            procedure: self.name.clone(),
            overdispersion: round(phi_groups),
            overdispersion_operators: round(phi_ops),
            cases: self.seq,
            overall: Rate::of(self.overall.d, self.overall.n),
            by: self.opts.by.iter().map(By::name).collect(),
            min_opportunities: min_n,
            groups,
            criteria,
            trend,
            systemic,
            support,
            recognition,
            plan,
            worst_cases: self.worst.clone(),
            deviations_by_code: self
                .by_code
                .iter()
                .map(|(k, n)| (k.to_string(), *n))
                .collect(),
            not_judged: self
                .not_judged
                .iter()
                .map(|(k, n)| (k.to_string(), *n))
                .collect(),
            outside_criteria: self.outside.clone(),
            unattributed: self.unattributed,
            without_column: self
                .opts
                .by
                .iter()
                .enumerate()
                .filter(|(d, b)| b.column().is_some() && self.without_column[*d] > 0)
                .map(|(d, b)| (b.name(), self.without_column[d]))
                .collect(),
            undated: self.undated,
            heatmap,
            graph,
        }
    }

    /// The decision graph in layers (longest path from the start along forward edges),
    /// with deviations on its steps and wrong branches on its edges.
    fn sketch(&self, tot: &Totals) -> Sketch {
        let Some(p) = self.p else {
            return Sketch::default();
        };
        let g = &p.graph;
        let Some(start) = g.start() else {
            return Sketch::default();
        };
        let ids: Vec<_> = g.reachable();
        let index: BTreeMap<usize, usize> = ids.iter().enumerate().map(|(i, n)| (n.0, i)).collect();
        // Layers by breadth-first depth: back edges (loops, `go to`) do not push nodes down.
        let mut layer = vec![usize::MAX; ids.len()];
        let mut queue = std::collections::VecDeque::new();
        if let Some(&s) = index.get(&start.0) {
            layer[s] = 0;
            queue.push_back(start);
        }
        while let Some(n) = queue.pop_front() {
            let Some(&i) = index.get(&n.0) else { continue };
            for (m, e) in g.successors(n) {
                if e.kind != crate::model::graph::EdgeKind::Flow {
                    continue;
                }
                if let Some(&j) = index.get(&m.0)
                    && layer[j] == usize::MAX
                {
                    layer[j] = layer[i] + 1;
                    queue.push_back(m);
                }
            }
        }
        let nodes = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let n = g.node(*id);
                let (d, o) = tot.step_devs.get(&n.name).copied().unwrap_or((0, 0));
                SketchNode {
                    name: n.name.clone(),
                    kind: match n.kind {
                        NodeKind::Start => "start",
                        NodeKind::Step(_) | NodeKind::Monitor | NodeKind::Call { .. } => "step",
                        NodeKind::Decision => "decision",
                        NodeKind::End => "end",
                        _ => "block",
                    },
                    layer: if layer[i] == usize::MAX { 0 } else { layer[i] },
                    deviations: d,
                    opportunities: o,
                }
            })
            .collect::<Vec<_>>();
        let mut edges = Vec::new();
        for (a, b, e) in g.edges() {
            if e.kind != crate::model::graph::EdgeKind::Flow {
                continue;
            }
            let (Some(&from), Some(&to)) = (index.get(&a.0), index.get(&b.0)) else {
                continue;
            };
            let wrong = e
                .label
                .as_ref()
                .and_then(|l| {
                    self.wrong_edges
                        .iter()
                        .find(|((d, t), _)| *d == g.node(a).name && t.contains(l.as_str()))
                        .map(|(_, n)| *n)
                })
                .unwrap_or(0);
            edges.push(SketchEdge {
                from,
                to,
                label: e.label.clone(),
                wrong,
            });
        }
        Sketch { nodes, edges }
    }
}

fn codes_severity_error(c: FindingCode) -> bool {
    crate::codes::severity(c) == crate::codes::Severity::Error
}

/// A support rule in words.
pub fn describe(r: &SupportRule) -> String {
    let mut parts = Vec::new();
    if let Some(a) = &r.area {
        parts.push(format!("area {a}"));
    }
    if let Some(n) = r.min_n {
        parts.push(format!("n ≥ {n}"));
    }
    if let Some(g) = r.gap {
        parts.push(format!("gap ≥ {:.0} points", g * 100.0));
    }
    if let (Some(a), Some(m)) = (r.weeks_above, r.of_last) {
        parts.push(format!("above expected in {a} of the last {m} weeks"));
    }
    if let Some(c) = r.caseload_above {
        parts.push(format!("caseload ≥ {c}× the median"));
    }
    if parts.is_empty() {
        format!("otherwise, {}", r.kind)
    } else {
        format!("{} → {}", parts.join(", "), r.kind)
    }
}
