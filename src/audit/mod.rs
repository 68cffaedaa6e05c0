//! Every perspective of a recorded case beyond its control flow: decisions re-computed
//! from the facts known at the time, regrades and overrides, time limits on clocks and
//! calendars, informing and instructing with acknowledgement, monitoring and escalation,
//! resources, and declarative constraints.
//!
//! [`Auditor::new`] compiles what a procedure demands once; [`Auditor::audit`] reads one
//! case (its activities already renamed to steps by
//! [`ActivityMap::prepare`](crate::conformance::ActivityMap::prepare)) and returns the
//! findings, with the obligations behind them. The finding codes are listed in
//! [`codes`].

pub use crate::codes;
pub(crate) mod constraints;
pub(crate) mod decisions;
mod perspectives;
pub mod roster;
pub mod time;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use crate::ast::{self, Anchor, AnchorPos, Section, StepAttr, Stmt};
use crate::conformance::{CaseResult, Finding};
use crate::eval::{Assessment, Assessor, FlowExpr, Situation, Value};
use crate::log::{Event, Trace};
use crate::model::Procedure;

pub use roster::Roster;
use time::{Calendar, Running};

/// Which perspectives to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perspectives {
    pub decisions: bool,
    pub time: bool,
    pub communication: bool,
    pub monitoring: bool,
    pub resources: bool,
    pub constraints: bool,
}

impl Perspectives {
    pub const ALL: Perspectives = Perspectives {
        decisions: true,
        time: true,
        communication: true,
        monitoring: true,
        resources: true,
        constraints: true,
    };
    pub const NONE: Perspectives = Perspectives {
        decisions: false,
        time: false,
        communication: false,
        monitoring: false,
        resources: false,
        constraints: false,
    };

    /// Any perspective beyond control flow.
    pub fn any(&self) -> bool {
        *self != Perspectives::NONE
    }
}

/// Where an obligation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Met,
    /// Not yet due, and the case is still running.
    Pending,
    /// Not yet met, past the declared share of its limit.
    AtRisk,
    Violated,
    /// Waived by a recorded exemption.
    Waived,
    /// Could not be judged: the value it rests on is missing or unknown, or set by a
    /// caller and not recorded.
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::Pending => "pending",
            Status::AtRisk => "at-risk",
            Status::Violated => "violated",
            Status::Waived => "waived",
            Status::Unknown => "unknown",
        }
    }
}

/// A time as RFC 3339 text with its offset (`2026-03-06T09:00:00+00:00`).
fn rfc3339<S: serde::Serializer>(
    t: &Option<DateTime<FixedOffset>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&crate::log::rfc3339(t)),
        None => s.serialize_none(),
    }
}

/// One thing the procedure required of the case, and whether it was done.
#[derive(Debug, Clone, Serialize)]
pub struct Obligation {
    /// `deadline`, `acknowledgement`, `monitoring`, `escalation`, `decision`, `inform`,
    /// `instruct`, `resources`, `constraint`.
    pub kind: &'static str,
    pub step: String,
    /// What was required, in words.
    pub required: String,
    /// The procedure line behind it.
    pub line: usize,
    /// When its clock started.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "rfc3339")]
    pub from: Option<DateTime<FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "rfc3339")]
    pub due: Option<DateTime<FixedOffset>>,
    /// When a limit not met yet becomes at risk (the declared share of it passed).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "rfc3339")]
    pub risk_from: Option<DateTime<FixedOffset>>,
    /// When it was done (the time of the event that met it, as recorded).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "rfc3339")]
    pub done: Option<DateTime<FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_index: Option<usize>,
    pub status: Status,
    /// For a `decision`: the branch the case took, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken: Option<String>,
    /// Who was responsible for it, by the rule findings are attributed by
    /// ([`crate::conformance::responsible`]); filled by the check pipeline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

impl Obligation {
    /// An obligation met or not at event `event_index` (if it has one), without times.
    pub fn at(
        kind: &'static str,
        step: impl Into<String>,
        required: String,
        line: usize,
        event_index: Option<usize>,
        status: Status,
    ) -> Self {
        Obligation {
            kind,
            step: step.into(),
            required,
            line,
            from: None,
            due: None,
            risk_from: None,
            done: None,
            event_index,
            status,
            taken: None,
            actor: None,
        }
    }
}

/// A branch of a `decide` the case's alignment took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchTaken {
    pub decision: String,
    /// The branch as written (`when true`, `else`).
    pub branch: String,
    /// The facts told which branch was required, and the decisions perspective judged it.
    pub judged: bool,
}

/// The audit of one case.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Audit {
    pub findings: Vec<Finding>,
    pub obligations: Vec<Obligation>,
    /// The case is still running (no end reached, checked `--as-of`).
    pub running: bool,
    /// The priority in force at the end of the case (assessed, or justifiably regraded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// Steps waived by recorded exemptions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waived: Vec<String>,
    /// The validity band assessed from the facts in force at the end of the case.
    #[serde(skip)]
    pub validity: Option<String>,
}

/// What a procedure's perspectives need a log to carry (see
/// [`crate::check::setup_warnings`]).
#[derive(Debug, Clone, Default)]
pub struct Needs {
    /// Some limit, acknowledgement, escalation or monitor needs event times.
    pub times: bool,
    /// The fields informs and instructs are checked on (`to`, `responsibilities`,
    /// `actions`), those the procedure uses.
    pub communication: Vec<String>,
    pub acknowledgements: bool,
    pub resources: bool,
    pub resource_field: String,
    /// The columns of the procedure's facts.
    pub facts: Vec<String>,
}

/// Column names of the event fields the perspectives read.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub role: String,
    pub reason: String,
    pub to: String,
    pub responsibilities: String,
    pub actions: String,
    pub resource: String,
    pub capabilities: String,
    pub priority: String,
    pub outcome: String,
}

impl Fields {
    fn from_procedure(assessor: &Assessor) -> Fields {
        let col = |f: &str| assessor.column_for(f).unwrap_or_else(|| f.to_string());
        Fields {
            role: col("role"),
            reason: col("reason"),
            to: col("to"),
            responsibilities: col("responsibilities"),
            actions: col("actions"),
            resource: col("resource"),
            capabilities: col("capabilities"),
            priority: col("priority"),
            outcome: col("outcome"),
        }
    }

    /// Every column the perspectives read, to keep them when reading a log.
    pub fn all(&self) -> Vec<String> {
        vec![
            self.role.clone(),
            self.reason.clone(),
            self.to.clone(),
            self.responsibilities.clone(),
            self.actions.clone(),
            self.resource.clone(),
            self.capabilities.clone(),
            self.priority.clone(),
            self.outcome.clone(),
        ]
    }
}

/// A clock declaration.
#[derive(Debug, Clone)]
pub(crate) struct ClockDef {
    pub starts: Option<Anchor>,
    pub pauses: Vec<(String, String)>,
    pub calendar: Option<String>,
}

/// A step-like statement of the flow with what it demands.
#[derive(Debug, Clone)]
pub(crate) struct StepRule {
    pub name: String,
    pub line: usize,
    pub within: Option<(FlowExpr, Option<Anchor>, Option<String>, String)>,
    pub escalations: Vec<EscalationRule>,
    pub needs: Vec<(u32, String, Vec<String>)>,
    pub to: Vec<String>,
    pub responsibilities: Vec<String>,
    pub actions: Vec<String>,
    pub ack: Option<(i64, usize)>,
    /// What its obligations require, in words: the same for every case.
    pub required: Required,
}

/// What a step's obligations require, in words (see [`Required::of`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Required {
    pub deadline: String,
    pub inform: String,
    pub instruct: String,
    pub ack: String,
    pub resources: String,
}

impl Required {
    /// Worked out once per step, not at every case.
    fn of(r: &StepRule) -> Required {
        let name = &r.name;
        let whom: Vec<&str> =
            r.to.iter()
                .chain(&r.responsibilities)
                .map(String::as_str)
                .collect();
        let needs: Vec<String> = r
            .needs
            .iter()
            .map(|(n, kind, caps)| {
                if caps.is_empty() {
                    format!("{n} {kind}")
                } else {
                    format!("{n} {kind} with {}", caps.join(", "))
                }
            })
            .collect();
        Required {
            deadline: r
                .within
                .as_ref()
                .map_or(String::new(), |(.., text)| format!("`{name}` {text}")),
            inform: format!("`{name}` records {}", whom.join(", ")),
            instruct: format!("`{name}` specifies {}", r.actions.join(", ")),
            ack: r.ack.map_or(String::new(), |(ms, _)| {
                format!("`{name}` acknowledged within {}", dur(ms))
            }),
            resources: format!("`{name}` has {}", needs.join(" and ")),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct EscalationRule {
    /// Share of the step's limit (percent), or a fixed delay.
    pub percent: Option<f64>,
    pub after: Option<FlowExpr>,
    pub to: Vec<String>,
    pub when: Option<FlowExpr>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct MonitorRule {
    pub name: String,
    pub every_ms: i64,
    pub first_ms: Option<i64>,
    pub after: Option<Anchor>,
    pub until: Anchor,
    pub line: usize,
    /// What its obligation requires, in words: the same for every case.
    pub required: String,
}

/// A `repeat ... at most N` and the steps each round records at most once.
#[derive(Debug, Clone)]
pub(crate) struct LoopRule {
    pub name: Option<String>,
    pub max: u32,
    pub steps: Vec<String>,
    pub line: usize,
}

/// Compiled demands of one procedure, and the options of the run.
pub struct Auditor<'p> {
    pub(crate) p: &'p Procedure,
    pub(crate) assessor: Assessor,
    pub(crate) perspectives: Perspectives,
    pub(crate) fields: Fields,
    pub(crate) calendars: BTreeMap<String, Calendar>,
    pub(crate) clocks: BTreeMap<String, ClockDef>,
    pub(crate) steps: Vec<StepRule>,
    pub(crate) monitors: Vec<MonitorRule>,
    pub(crate) decides: Vec<decisions::DecideCheck>,
    pub(crate) regrades: Vec<(ast::RegradeDir, Vec<ast::Requirement>, usize)>,
    pub(crate) constraints: Vec<constraints::ConstraintRule>,
    pub(crate) exemptions: Vec<(String, Vec<String>, bool)>,
    pub(crate) loops: Vec<LoopRule>,
    pub(crate) goto_targets: std::collections::BTreeSet<String>,
    /// Role → the roles it reports to, transitively.
    pub(crate) above: BTreeMap<String, Vec<String>>,
    pub(crate) roster: Option<Roster>,
    /// Share of a limit after which an unmet obligation is at risk.
    pub at_risk_share: f64,
    /// How the log writes times (format, zone), for facts of type timestamp.
    pub(crate) times: Option<crate::log::LogOptions>,
    pub(crate) always: Calendar,
    /// Assessments already made, by the facts they were made from (see [`Assessed`]).
    memo: std::sync::Mutex<Memo>,
    /// What each attribute key that names a fact means: the fact, whether the key is a
    /// case attribute (`case:` and the column), and whether the fact is a timestamp.
    /// Worked out once, not for every case (as [`Assessor::fact_for_column`] tells it).
    key_facts: HashMap<String, KeyFact, crate::hash::FastHash>,
}

/// What an attribute key that names a fact means (see `Auditor::key_facts`).
#[derive(Debug, Clone)]
pub(crate) struct KeyFact {
    pub fact: String,
    pub is_case: bool,
    pub timestamp: bool,
}

/// An assessment with its values laid out for evaluation, or the facts' errors (field,
/// message). Cases that record the same facts share one: an assessment is a function of
/// the facts alone, and `watch` judges each prefix of a case again at every event.
type Assessed =
    Result<std::sync::Arc<(Assessment, crate::eval::Prepared)>, std::sync::Arc<[(String, String)]>>;

/// Assessments by the seeded hash of the facts they were made from (the facts come
/// from the log), each with those facts.
type Memo = HashMap<u64, Vec<(Vec<(String, String)>, Assessed)>, crate::hash::FastHash>;

/// Assessments kept by [`Auditor`] (emptied when full).
const MEMO_MAX: usize = 4_096;

/// What each attribute key that names a fact means: a column (or a fact's own name)
/// as [`Assessor::fact_for_column`] maps it, to a fact the plan reads; with `case:`
/// before it, the same as a case attribute.
fn key_facts(
    p: &Procedure,
    assessor: &Assessor,
) -> HashMap<String, KeyFact, crate::hash::FastHash> {
    let plan = assessor.plan();
    let mut out: HashMap<String, KeyFact, crate::hash::FastHash> = HashMap::default();
    let columns = plan.columns.keys().map(String::as_str);
    for key in plan.fact_index.keys().map(String::as_str).chain(columns) {
        let Some(fact) = assessor
            .fact_for_column(key)
            .filter(|f| plan.fact_index.contains_key(*f))
        else {
            continue;
        };
        let timestamp = p
            .symbols
            .facts
            .get(fact)
            .is_some_and(|f| f.ty == crate::model::types::Type::Timestamp);
        for (k, is_case) in [(key.to_string(), false), (format!("case:{key}"), true)] {
            out.insert(
                k,
                KeyFact {
                    fact: fact.to_string(),
                    is_case,
                    timestamp,
                },
            );
        }
    }
    out
}

/// Every file of a procedure with what it uses, used files first.
pub(crate) fn files(p: &Procedure) -> Vec<&ast::File> {
    fn gather<'a>(u: &'a crate::model::Unit, out: &mut Vec<&'a ast::File>) {
        for (_, used) in &u.uses {
            gather(used, out);
        }
        if let Some(parsed) = &u.parsed {
            out.push(&parsed.file);
        }
    }
    let mut out = Vec::new();
    gather(&p.unit, &mut out);
    out
}

impl<'p> Auditor<'p> {
    /// Compiles a procedure's demands. Fails on a calendar with an unknown time zone.
    pub fn new(p: &'p Procedure, perspectives: Perspectives) -> Result<Self, String> {
        let assessor = Assessor::new(p);
        let key_facts = key_facts(p, &assessor);
        let line = |s: crate::source::Span| p.unit.source.line_col(s.start).0;
        let mut a = Auditor {
            p,
            fields: Fields::from_procedure(&assessor),
            assessor,
            perspectives,
            calendars: BTreeMap::new(),
            clocks: BTreeMap::new(),
            steps: Vec::new(),
            monitors: Vec::new(),
            decides: Vec::new(),
            regrades: Vec::new(),
            constraints: Vec::new(),
            exemptions: Vec::new(),
            loops: Vec::new(),
            goto_targets: Default::default(),
            above: BTreeMap::new(),
            roster: None,
            at_risk_share: 0.8,
            times: None,
            always: Calendar::always(),
            memo: Default::default(),
            key_facts,
        };
        let mut reports_to: BTreeMap<String, String> = BTreeMap::new();
        for f in files(p) {
            for s in &f.sections {
                match s {
                    Section::Calendar(c) => {
                        a.calendars
                            .insert(c.name.text.clone(), Calendar::from_ast(c)?);
                    }
                    Section::Clock(c) => {
                        let mut def = ClockDef {
                            starts: None,
                            pauses: Vec::new(),
                            calendar: None,
                        };
                        for item in &c.items {
                            match item {
                                ast::ClockItem::Starts(an, _) => def.starts = Some(an.clone()),
                                ast::ClockItem::Pauses { from, until, .. } => {
                                    def.pauses.push((from.text.clone(), until.text.clone()))
                                }
                                ast::ClockItem::Calendar(n, _) => {
                                    def.calendar = Some(n.text.clone())
                                }
                                ast::ClockItem::Stops(..) => {}
                            }
                        }
                        a.clocks.insert(c.name.text.clone(), def);
                    }
                    Section::Roles { items, .. } => {
                        for r in items {
                            if let Some(up) = &r.reports_to {
                                reports_to.insert(r.name.text.clone(), up.text.clone());
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        for role in reports_to.keys() {
            let mut chain = Vec::new();
            let mut cur = role.clone();
            while let Some(up) = reports_to.get(&cur) {
                if chain.contains(up) || up == role {
                    break;
                }
                chain.push(up.clone());
                cur = up.clone();
            }
            a.above.insert(role.clone(), chain);
        }
        let file = p.ast();
        for s in &file.sections {
            if let Section::Flow { body, .. } = s {
                decisions::goto_targets(body, &mut a.goto_targets);
            }
        }
        for s in &file.sections {
            match s {
                Section::Flow { body, .. } => a.collect(body),
                Section::Priority(pr) => {
                    for item in &pr.items {
                        if let ast::PriorityItem::Regrade {
                            direction,
                            requires,
                            span,
                        } = item
                        {
                            a.regrades.push((
                                *direction,
                                requires.clone().unwrap_or_default(),
                                line(*span),
                            ));
                        }
                    }
                }
                Section::Constraints { items, .. } => {
                    for c in items {
                        a.constraints.push(constraints::ConstraintRule::new(&a, c));
                    }
                }
                Section::Exemptions { items, .. } => {
                    for e in items {
                        let reason = e
                            .requires
                            .iter()
                            .flatten()
                            .any(|r| matches!(r, ast::Requirement::Reason(_)));
                        a.exemptions.push((
                            e.on.text.clone(),
                            e.waives.iter().map(|w| w.text.clone()).collect(),
                            reason,
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(a)
    }

    /// Reads facts of type timestamp the way the log writes its times (its timestamp
    /// format and time zone), as the event times are read.
    pub fn with_log_times(mut self, opts: &crate::log::LogOptions) -> Self {
        self.times = Some(opts.clone());
        self
    }

    /// A fact value as the assessor reads it: a timestamp fact in the log's own format
    /// (and zone) is rewritten as RFC 3339.
    /// The assessment of the facts `fields` (column, text), made once for all cases
    /// that record the same ones.
    fn assessed(&self, fields: &[(&str, &str)]) -> Assessed {
        use std::hash::{BuildHasher, Hasher};
        let mut h = crate::hash::SeededHash::default().build_hasher();
        for (k, v) in fields {
            h.write(k.as_bytes());
            h.write_u8(0xff);
            h.write(v.as_bytes());
            h.write_u8(0xff);
        }
        let hash = h.finish();
        let same = |made: &[(String, String)]| {
            made.len() == fields.len()
                && made
                    .iter()
                    .zip(fields)
                    .all(|((a, b), (c, d))| a == c && b == d)
        };
        if let Ok(memo) = self.memo.lock()
            && let Some((_, x)) = memo
                .get(&hash)
                .and_then(|bucket| bucket.iter().find(|(made, _)| same(made)))
        {
            return x.clone();
        }
        let made: Assessed = match self.assessor.facts_from_text(fields.iter().copied(), &[]) {
            Ok(f) => {
                let a = self.assessor.assess(f);
                let prepared = crate::eval::Prepared::new(&a);
                Ok(std::sync::Arc::new((a, prepared)))
            }
            Err(errs) => Err(errs.into_iter().map(|e| (e.field, e.message)).collect()),
        };
        if let Ok(mut memo) = self.memo.lock() {
            if memo.len() >= MEMO_MAX {
                memo.clear();
            }
            let owned = fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            memo.entry(hash).or_default().push((owned, made.clone()));
        }
        made
    }

    /// A fact's value as recorded, a timestamp (`timestamp`) read as the log writes
    /// times.
    fn fact_text_as<'v>(&self, timestamp: bool, value: &'v str) -> std::borrow::Cow<'v, str> {
        if let Some(opts) = &self.times
            && timestamp
            && chrono::DateTime::parse_from_rfc3339(value.trim()).is_err()
            && let Ok(t) = crate::log::event_time(value, opts, &mut 0)
        {
            return crate::log::rfc3339(&t).into();
        }
        value.into()
    }

    /// Checks resources against a roster too.
    pub fn with_roster(mut self, roster: Roster) -> Self {
        self.roster = Some(roster);
        self
    }

    /// What the procedure's perspectives need a log to carry.
    pub fn needs(&self) -> Needs {
        let mut communication = Vec::new();
        if self.steps.iter().any(|s| !s.to.is_empty()) {
            communication.push(self.fields.to.clone());
        }
        if self.steps.iter().any(|s| !s.responsibilities.is_empty()) {
            communication.push(self.fields.responsibilities.clone());
        }
        if self.steps.iter().any(|s| !s.actions.is_empty()) {
            communication.push(self.fields.actions.clone());
        }
        let facts: Vec<String> = self
            .assessor
            .plan()
            .fact_names()
            .map(|f| self.assessor.column_for(f).unwrap_or_else(|| f.to_string()))
            .collect();
        Needs {
            times: self
                .steps
                .iter()
                .any(|s| s.within.is_some() || s.ack.is_some() || !s.escalations.is_empty())
                || !self.monitors.is_empty(),
            communication,
            acknowledgements: self.steps.iter().any(|s| s.ack.is_some()),
            resources: self.steps.iter().any(|s| !s.needs.is_empty()),
            resource_field: self.fields.resource.clone(),
            facts,
        }
    }

    /// The columns the perspectives read, beyond activity, time and actor.
    pub fn columns(&self) -> Vec<String> {
        let mut out = self.fields.all();
        for f in self.assessor.plan().fact_names() {
            out.push(f.to_string());
            out.push(format!("case:{f}"));
            if let Some(c) = self.assessor.column_for(f) {
                out.push(c.clone());
                out.push(format!("case:{c}"));
            }
        }
        out
    }

    fn line(&self, s: crate::source::Span) -> usize {
        self.p.unit.source.line_col(s.start).0
    }

    fn collect(&mut self, body: &[Stmt]) {
        let mut stmts: Vec<&Stmt> = Vec::new();
        decisions::each_stmt(body, &mut |st| stmts.push(st));
        for st in stmts {
            match st {
                Stmt::Step(s) => {
                    let rule = self.step_rule(s);
                    self.steps.push(rule);
                }
                Stmt::Monitor(m) => {
                    let dur = |e: &ast::Expr| match &e.kind {
                        ast::ExprKind::Literal(ast::Literal::Duration(ms, _)) => Some(*ms),
                        _ => None,
                    };
                    if let Some(every) = dur(&m.every) {
                        let first_ms = m.first_within.as_ref().and_then(dur);
                        let required = format!(
                            "`{}` every {}{} until {}",
                            m.name.text,
                            self::dur(every),
                            first_ms.map_or(String::new(), |f| format!(
                                ", the first within {}",
                                self::dur(f)
                            )),
                            m.until.names().first().map_or("", |n| n.text.as_str())
                        );
                        self.monitors.push(MonitorRule {
                            name: m.name.text.clone(),
                            every_ms: every,
                            first_ms,
                            after: m.after.clone(),
                            until: m.until.clone(),
                            line: self.line(m.span),
                            required,
                        });
                    }
                }
                Stmt::Decide(d) => self.decides.push(decisions::DecideCheck::new(self, d)),
                Stmt::Repeat(r) => {
                    if let Some(max) = r.max {
                        let mut steps = std::collections::BTreeSet::new();
                        decisions::steps_in_once(&r.body, &mut steps);
                        self.loops.push(LoopRule {
                            name: r.name.as_ref().map(|n| n.text.clone()),
                            max,
                            steps: steps.into_iter().collect(),
                            line: self.line(r.span),
                        });
                    }
                }
                Stmt::Parallel(_) | Stmt::Call(_) | Stmt::Goto { .. } | Stmt::End { .. } => {}
            }
        }
    }

    fn step_rule(&self, s: &ast::Step) -> StepRule {
        let mut r = StepRule {
            name: s.name.text.clone(),
            line: self.line(s.span),
            within: None,
            escalations: Vec::new(),
            needs: Vec::new(),
            to: Vec::new(),
            responsibilities: Vec::new(),
            actions: Vec::new(),
            ack: None,
            required: Required::default(),
        };
        let names = |xs: &[ast::Name]| xs.iter().map(|n| n.text.clone()).collect::<Vec<_>>();
        for attr in &s.attrs {
            match attr {
                StepAttr::Within {
                    limit,
                    of,
                    on,
                    span,
                } => {
                    let text = self.p.unit.source.text()[span.start.min(span.end)..span.end]
                        .trim()
                        .to_string();
                    r.within = Some((
                        self.assessor.compile_expr(self.p, limit),
                        of.clone(),
                        on.as_ref().map(|n| n.text.clone()),
                        text,
                    ));
                }
                StepAttr::Escalate {
                    trigger,
                    to,
                    when,
                    span,
                } => r.escalations.push(EscalationRule {
                    percent: match trigger {
                        ast::EscalateTrigger::Percent(p) => p.parse().ok(),
                        ast::EscalateTrigger::After(_) => None,
                    },
                    after: match trigger {
                        ast::EscalateTrigger::After(e) => {
                            Some(self.assessor.compile_expr(self.p, e))
                        }
                        ast::EscalateTrigger::Percent(_) => None,
                    },
                    to: names(to),
                    when: when.as_ref().map(|w| self.assessor.compile_expr(self.p, w)),
                    line: self.line(*span),
                }),
                StepAttr::Needs {
                    count,
                    resource,
                    capabilities,
                    ..
                } => r
                    .needs
                    .push((*count, resource.text.clone(), names(capabilities))),
                StepAttr::To(xs, _) => r.to = names(xs),
                StepAttr::Responsibilities(xs, _) => r.responsibilities = names(xs),
                StepAttr::Actions(xs, _) => r.actions = names(xs),
                StepAttr::Ack(e, span) => {
                    if let ast::ExprKind::Literal(ast::Literal::Duration(ms, _)) = &e.kind {
                        r.ack = Some((*ms, self.line(*span)));
                    }
                }
                StepAttr::By(..) | StepAttr::Records(..) | StepAttr::Outcomes(..) => {}
            }
        }
        r.required = Required::of(&r);
        r
    }

    /// The case as the perspectives read it, built before the alignment so that the
    /// alignment can follow the facts. `None` when no perspective beyond control flow
    /// is checked.
    pub(crate) fn view<'t>(&self, trace: &'t Trace) -> Option<CaseView<'t>> {
        self.perspectives
            .any()
            .then(|| CaseView::new(self, trace, None))
    }

    /// For each decision the alignment knows (`decisions`, by name), for each position
    /// `0..=n` of the control-flow events `flow`: the branch the facts then in force
    /// require ([`UNKNOWN`](crate::petri::align::UNKNOWN) where they do not tell).
    /// Empty when the decisions perspective is off or nothing is known.
    pub(crate) fn required_branches(
        &self,
        case: Option<&CaseView<'_>>,
        flow: &[usize],
        decisions: &[String],
    ) -> Vec<u8> {
        match case {
            Some(c) if self.perspectives.decisions => {
                decisions::required_branches(self, c, flow, decisions)
            }
            _ => Vec::new(),
        }
    }

    /// Audits one case: `trace` has its activities renamed to steps, `flow` is the
    /// control-flow result and `passes` the decisions its alignment passed. With
    /// `as_of`, a case that has not reached an end is running: obligations not yet due
    /// are pending (or at risk), not violated.
    pub(crate) fn audit_view(
        &self,
        trace: &Trace,
        case: Option<CaseView<'_>>,
        flow: &CaseResult,
        passes: &[decisions::Pass],
        still_to_come: Option<Vec<String>>,
        as_of: Option<DateTime<Utc>>,
    ) -> Audit {
        let running = as_of.is_some() && flow.findings.iter().any(|f| f.code == "incomplete");
        // Loop bounds are control flow: checked whatever the perspectives.
        let mut loops = Audit::default();
        constraints::loops(self, trace, &mut loops);
        let Some(mut case) = case.filter(|_| self.perspectives.any()) else {
            return Audit {
                running,
                findings: loops.findings,
                ..Audit::default()
            };
        };
        case.as_of = as_of;
        if running {
            case.now = as_of;
            case.running = true;
            case.still_to_come = still_to_come;
        }
        let mut audit = Audit {
            running,
            findings: loops.findings,
            ..Audit::default()
        };
        case.passes = passes.to_vec();
        if self.perspectives.decisions {
            decisions::check(self, &case, passes, &mut audit);
        }
        audit.priority = case.priority_at(trace.events.len()).map(str::to_string);
        audit.validity = case
            .assessment_at(trace.events.len())
            .and_then(|a| a.validity.as_ref())
            .and_then(|v| v.band.clone());
        perspectives::check(self, &case, &mut audit);
        if self.perspectives.constraints {
            // In a running case only what is already certain is reported.
            constraints::check(self, &case, &mut audit);
        }

        // Facts are read for the decisions; without that perspective (or with a log that
        // carries no facts at all, see `check::supported`) their absence is no finding.
        for (i, e) in case
            .fact_errors
            .iter()
            .filter(|_| self.perspectives.decisions)
        {
            audit.findings.push(Finding::new(
                crate::audit::codes::FindingCode::UnreadableFact,
                "",
                *i,
                None,
                e.clone(),
            ));
        }
        // Exemptions recorded in the case waive the findings on the steps they name.
        for (on, waives, needs_reason) in &self.exemptions {
            let Some(&i) = case.occurrences(on).first() else {
                continue;
            };
            if *needs_reason && case.attr(i, &self.fields.reason).is_none_or(str::is_empty) {
                continue;
            }
            audit.waived.extend(waives.iter().cloned());
            audit.findings.retain(|f| !waives.contains(&f.step));
            for o in &mut audit.obligations {
                if waives.contains(&o.step) {
                    o.status = Status::Waived;
                }
            }
        }
        audit
    }

    /// Merges the control-flow findings with the audit's, in event order. A running
    /// case has no `incomplete` finding: the steps still to come are not missing yet.
    pub fn merge(&self, r: &mut CaseResult, audit: &mut Audit) {
        if audit.running {
            r.findings.retain(|f| f.code != "incomplete");
        }
        if !audit.waived.is_empty() {
            r.findings.retain(|f| !audit.waived.contains(&f.step));
        }
        // A round over a loop's bound may already be an unexpected step of the alignment.
        let located: std::collections::BTreeSet<(usize, codes::FindingCode)> = r
            .findings
            .iter()
            .filter_map(|f| f.event_index.map(|i| (i, f.code)))
            .collect();
        audit.findings.retain(|f| {
            f.event_index.is_none_or(|i| {
                !located.contains(&(i, codes::FindingCode::UnexpectedStep))
                    || f.code != "unexpected-step"
            })
        });
        r.findings.append(&mut audit.findings);
        r.findings
            .sort_by_key(|f| (f.event_index.unwrap_or(usize::MAX), codes::rank(f.code)));
        r.conforming = !r
            .findings
            .iter()
            .any(|f| codes::severity(f.code) == codes::Severity::Error);
    }

    pub fn assessor(&self) -> &Assessor {
        &self.assessor
    }

    /// The procedure the auditor was compiled from.
    pub fn procedure(&self) -> &'p Procedure {
        self.p
    }

    /// The index of the `decide` called `name` among the decisions checked.
    pub(crate) fn decide_index(&self, name: &str) -> Option<usize> {
        self.decides.iter().position(|d| d.name == name)
    }

    /// The branches a case's alignment took, and whether each was judged against the facts.
    pub(crate) fn branches_taken(&self, passes: &[decisions::Pass]) -> Vec<BranchTaken> {
        passes
            .iter()
            .filter_map(|p| {
                let d = self.decides.get(p.decide)?;
                Some(BranchTaken {
                    decision: d.name.clone(),
                    branch: d.labels.get(p.branch)?.clone(),
                    judged: self.perspectives.decisions && !d.reads_param && p.required.is_some(),
                })
            })
            .collect()
    }

    /// Every branch of every `decide`: (decision, branch as written, line).
    pub fn branch_keys(&self) -> Vec<(String, String, usize)> {
        self.decides
            .iter()
            .flat_map(|d| {
                d.labels
                    .iter()
                    .map(move |l| (d.name.clone(), l.clone(), d.line))
            })
            .collect()
    }

    /// Every constraint with the steps it names, and whether a case exercises it only by
    /// recording them together (not for `not both` and `never`, which a conforming case
    /// exercises by recording each apart).
    pub fn constraint_steps(&self) -> Vec<(String, Vec<String>, bool)> {
        self.constraints
            .iter()
            .map(|c| {
                let together = !matches!(
                    c.kind,
                    ast::ConstraintKind::NotCoexist(..) | ast::ConstraintKind::Absence(_)
                );
                (c.name.clone(), c.steps(), together)
            })
            .collect()
    }
}

/// One case as the perspectives read it.
pub(crate) struct CaseView<'a> {
    pub trace: &'a Trace,
    pub times: Vec<Option<DateTime<Utc>>>,
    by_step: HashMap<&'a str, Vec<usize>, crate::log::FastHash>,
    /// Assessments by the number of fact-setting events before the moment.
    /// (Each with its values laid out for evaluating flow expressions.)
    assessments: Vec<Option<std::sync::Arc<(Assessment, crate::eval::Prepared)>>>,
    /// Event indices that set a fact.
    fact_events: Vec<usize>,
    fact_errors: Vec<(Option<usize>, String)>,
    /// (event index, level in force from it on).
    priorities: Vec<(usize, String)>,
    /// Recorded grades that break the regrade and override rules.
    override_findings: Vec<Finding>,
    /// Recorded outcomes (step, outcome) in case order, and the event of each.
    pub outcomes: Vec<(String, String)>,
    outcome_at: Vec<usize>,
    /// The moment the case is judged at: `--as-of` for a running case, else its end.
    pub now: Option<DateTime<Utc>>,
    pub running: bool,
    /// The indices of the control-flow events (set by the checker).
    pub flow: Vec<usize>,
    /// The decisions the alignment passed (set by the checker).
    pub passes: Vec<decisions::Pass>,
    /// In a running case: the steps the alignment's continuation (the path the facts
    /// allow from the last event to an end) still requires. A step neither done nor
    /// among them is not on the case's path.
    pub still_to_come: Option<Vec<String>>,
    /// The time the case is checked as of (`--as-of`), running or not.
    pub as_of: Option<DateTime<Utc>>,
}

/// Splits a recorded list: `[a, b]`, `a, b`, `a; b` or YAML `- a` lines.
pub(crate) fn list(text: &str) -> Vec<String> {
    list_items(text).map(str::to_string).collect()
}

/// The items of a recorded list, as [`list`] splits it, without copying them.
pub(crate) fn list_items(text: &str) -> impl Iterator<Item = &str> {
    text.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split([',', ';', '\n', '|'])
        .map(|x| {
            let mut x = x.trim();
            while let Some(rest) = x.strip_prefix("- ") {
                x = rest;
            }
            x.trim().trim_matches('"')
        })
        .filter(|x| !x.is_empty())
}

impl<'a> CaseView<'a> {
    fn new(a: &Auditor<'_>, trace: &'a Trace, as_of: Option<DateTime<Utc>>) -> Self {
        let times: Vec<Option<DateTime<Utc>>> = trace
            .events
            .iter()
            .map(|e| e.timestamp.map(|t| t.with_timezone(&Utc)))
            .collect();
        let mut by_step: HashMap<&str, Vec<usize>, crate::log::FastHash> =
            HashMap::with_capacity_and_hasher(trace.events.len(), Default::default());
        for (i, e) in trace.events.iter().enumerate() {
            by_step.entry(e.activity.as_str()).or_default().push(i);
        }
        // Case facts (prefixed `case:`) hold from the start; event attributes that name
        // a fact set it from that event on.
        let mut case_fields: Vec<(&str, std::borrow::Cow<'_, str>)> = Vec::new();
        // (event, column, value) of each fact that changes, in case order.
        let mut changes: Vec<(usize, &str, std::borrow::Cow<'_, str>)> = Vec::new();
        // Few: one per fact of the procedure at most (searched in place, not hashed).
        let mut seen_case: Vec<&str> = Vec::new();
        let mut current: Vec<(&str, &String)> = Vec::new();
        // Attribute keys are shared between events: what each key means is looked up once
        // per case (the fact it names, and whether it is a case attribute).
        let mut meaning: Vec<(&std::sync::Arc<str>, Option<&KeyFact>)> = Vec::new();
        for (i, e) in trace.events.iter().enumerate() {
            for (k, v) in &e.attributes {
                let known = meaning
                    .iter()
                    .find(|(x, _)| std::sync::Arc::ptr_eq(x, k))
                    .map(|(_, m)| *m);
                let m = match known {
                    Some(m) => m,
                    None => {
                        let m = a.key_facts.get(&**k);
                        meaning.push((k, m));
                        m
                    }
                };
                let Some(m) = m else {
                    continue;
                };
                let fact = m.fact.as_str();
                if m.is_case {
                    let key = &k[5..];
                    if !seen_case.contains(&key) {
                        seen_case.push(key);
                        case_fields.push((key, a.fact_text_as(m.timestamp, v)));
                    }
                } else {
                    // Only a change of value is a new fact.
                    match current.iter_mut().find(|(f, _)| *f == fact) {
                        Some((_, c)) if *c == v => continue,
                        Some((_, c)) => *c = v,
                        None => current.push((fact, v)),
                    }
                    changes.push((i, &**k, a.fact_text_as(m.timestamp, v)));
                }
            }
        }
        let mut fact_events: Vec<usize> = changes.iter().map(|c| c.0).collect();
        fact_events.dedup();
        let mut assessments = Vec::with_capacity(fact_events.len() + 1);
        let mut fact_errors = Vec::new();
        let mut fields: Vec<(&str, &str)> = case_fields.iter().map(|(k, v)| (*k, &**v)).collect();
        let mut next_change = changes.iter().peekable();
        for version in 0..=fact_events.len() {
            if version > 0 {
                let i = fact_events[version - 1];
                while let Some((_, k, v)) = next_change.next_if(|c| c.0 == i) {
                    fields.push((k, v));
                }
            }
            let at = if version == 0 {
                None
            } else {
                Some(fact_events[version - 1])
            };
            match a.assessed(&fields) {
                Ok(x) => assessments.push(Some(x)),
                Err(errs) => {
                    let last = version == fact_events.len();
                    for (field, message) in errs.iter() {
                        // A required fact not recorded yet may come with a later event:
                        // it is missing only if the case never records it. A value that
                        // cannot be read is reported where it is recorded, once.
                        let missing = message.contains("is missing");
                        let text = format!("fact `{field}`: {message}");
                        if (last || !missing) && !fact_errors.iter().any(|(_, t)| *t == text) {
                            fact_errors.push((at, text));
                        }
                    }
                    assessments.push(None);
                }
            }
        }
        let mut outcomes = Vec::new();
        let mut outcome_at = Vec::new();
        for (i, e) in trace.events.iter().enumerate() {
            if let Some(o) = crate::log::attribute(&e.attributes, &a.fields.outcome) {
                outcomes.push((e.activity.clone(), o.to_string()));
                outcome_at.push(i);
            }
        }
        let last = times.iter().rev().flatten().next().copied();
        let mut view = CaseView {
            trace,
            times,
            by_step,
            assessments,
            fact_events,
            fact_errors,
            priorities: Vec::new(),
            override_findings: Vec::new(),
            outcomes,
            outcome_at,
            now: as_of.or(last),
            running: as_of.is_some(),
            flow: (0..trace.events.len()).collect(),
            passes: Vec::new(),
            still_to_come: None,
            as_of: None,
        };
        (view.priorities, view.override_findings) = decisions::priorities(a, &view);
        view
    }

    /// The event indices of a step (or event, or monitor), in case order.
    pub fn occurrences(&self, step: &str) -> &[usize] {
        self.by_step.get(step).map_or(&[], Vec::as_slice)
    }

    pub fn attr(&self, i: usize, key: &str) -> Option<&str> {
        self.trace
            .events
            .get(i)
            .and_then(|e| crate::log::attribute(&e.attributes, key))
    }

    pub fn event(&self, i: usize) -> &Event {
        &self.trace.events[i]
    }

    pub fn time_text(&self, i: usize) -> Option<String> {
        self.trace
            .events
            .get(i)
            .and_then(|e| e.timestamp)
            .map(|t| crate::log::rfc3339(&t))
    }

    /// The assessment from the facts known before event `i` (and at it).
    pub fn assessment_at(&self, i: usize) -> Option<&Assessment> {
        self.assessments
            .get(self.version_at(i))
            .and_then(Option::as_ref)
            .map(|x| &x.0)
    }

    /// How many fact changes are in force at event `i` (the index of its assessment).
    fn version_at(&self, i: usize) -> usize {
        self.fact_events.partition_point(|&j| j <= i)
    }

    /// The priority in force at event `i`.
    pub fn priority_at(&self, i: usize) -> Option<&str> {
        let recorded = self
            .priorities
            .iter()
            .rev()
            .find(|(j, _)| *j <= i)
            .map(|(_, l)| l.as_str());
        recorded.or_else(|| {
            self.assessment_at(i)
                .and_then(|a| a.priority.as_ref())
                .and_then(|p| p.level.as_deref())
        })
    }

    /// The outcomes recorded before event `i`, in case order.
    pub fn outcomes_before(&self, i: usize) -> &[(String, String)] {
        let k = self.outcome_at.partition_point(|&j| j < i);
        &self.outcomes[..k]
    }

    /// Runs `f` in the situation at event `i`: the facts then in force (prepared once
    /// per change), the priority then in force with its targets, and the outcomes
    /// recorded before event `before`.
    pub fn in_situation<R>(
        &self,
        a: &Auditor<'_>,
        i: usize,
        before: usize,
        f: impl FnOnce(&Situation<'_>) -> R,
    ) -> Option<R> {
        let version = self.version_at(i);
        let (assessment, prepared) = &**self.assessments.get(version)?.as_ref()?;
        let prepared = Some(prepared);
        let level = self.priority_at(i);
        let assessed = assessment
            .priority
            .as_ref()
            .and_then(|p| p.level.as_deref());
        let regraded: Option<Vec<(String, i64)>> = match level {
            Some(l) if Some(l) != assessed => Some(
                a.assessor
                    .targets_for(l, assessment)
                    .into_iter()
                    .map(|t| (t.kind, t.limit_ms))
                    .collect(),
            ),
            _ => None,
        };
        let s = Situation {
            assessment,
            prepared,
            priority: level,
            targets: regraded.as_deref(),
            outcomes: self.outcomes_before(before),
        };
        Some(f(&s))
    }

    /// Evaluates a flow expression at event `i`.
    pub fn value_at(&self, a: &Auditor<'_>, e: &FlowExpr, i: usize) -> Option<Value> {
        self.in_situation(a, i, i + 1, |s| a.assessor.evaluate(e, s))
    }

    /// The time of an anchor, and the event it rests on.
    pub fn anchor(&self, an: &Anchor) -> Option<(DateTime<Utc>, usize)> {
        match an {
            Anchor::Ref { pos, name, .. } => {
                let occ = self.occurrences(&name.text);
                let i = match pos {
                    Some(AnchorPos::Last) => *occ.last()?,
                    _ => *occ.first()?,
                };
                Some((self.times[i]?, i))
            }
            Anchor::EarliestOf(xs, _) => xs.iter().filter_map(|x| self.anchor(x)).min(),
            Anchor::LatestOf(xs, _) => xs.iter().filter_map(|x| self.anchor(x)).max(),
        }
    }

    /// The first event of the case with a time.
    pub fn start(&self) -> Option<(DateTime<Utc>, usize)> {
        self.times
            .iter()
            .enumerate()
            .find_map(|(i, t)| t.map(|t| (t, i)))
    }

    /// A clock as it ran in this case (its pauses), or wall time.
    pub fn running<'c>(&self, a: &'c Auditor<'_>, clock: Option<&str>) -> Running<'c> {
        let Some(def) = clock.and_then(|c| a.clocks.get(c)) else {
            return Running {
                calendar: &a.always,
                pauses: Vec::new(),
            };
        };
        let calendar = def
            .calendar
            .as_ref()
            .and_then(|c| a.calendars.get(c))
            .unwrap_or(&a.always);
        let mut pauses = Vec::new();
        for (from, until) in &def.pauses {
            for &i in self.occurrences(from) {
                let Some(s) = self.times[i] else { continue };
                let end = self
                    .occurrences(until)
                    .iter()
                    .filter_map(|&j| self.times[j])
                    .find(|&t| t >= s);
                pauses.push((s, end));
            }
        }
        pauses.sort();
        Running { calendar, pauses }
    }
}

/// Parses an `--as-of` time: RFC 3339, or `YYYY-MM-DD HH:MM[:SS]` in UTC.
pub fn parse_as_of(s: &str) -> Result<DateTime<Utc>, String> {
    crate::eval::value::parse_timestamp(s)
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            format!("as-of time `{s}` is not a time (use RFC 3339, e.g. 2026-03-01T12:00:00Z)")
        })
}

/// Formats a duration in milliseconds the way procedures write them.
pub(crate) fn dur(ms: i64) -> String {
    crate::eval::value::format_duration(ms)
}
