//! Simulated handling logs with known deviations.
//!
//! [`simulate`] draws each case's facts from the procedure's fact types (or from given
//! weights), assesses them, walks the flow the way the facts call for (decisions
//! re-computed with [`Assessor::choose`], parallel branches interleaved, loops run one to
//! three times, optional steps sometimes skipped, `go to` followed), times each step
//! inside its limits and meets every perspective's demands (recipients,
//! responsibilities, actions, acknowledgements, monitoring updates, resources,
//! constraints). With probability `deviation_rate` a case gets one injected deviation,
//! recorded as a [`TruthRecord`] with the code `check` should report.
//!
//! Deterministic: the same seed gives the same cases (a splitmix64 stream per case).

mod rng;
mod walk;
pub mod write;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::ast::{self, Anchor, AnchorPos, Section, StepAttr, Stmt};
use crate::audit::time::{Calendar, Running};
use crate::conformance::ActivityMap;
use crate::eval::{Assessment, Assessor, DecideRule, FlowExpr, Situation, Value};
use crate::model::Procedure;
use crate::model::types::Type;

pub use rng::Rng;
use walk::{Item, Walker};

/// Weights of each fact's values (`fact -> {value: weight}`); the value `missing` leaves
/// an optional fact out.
pub type FactWeights = BTreeMap<String, Vec<(String, f64)>>;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Options {
    pub cases: usize,
    pub seed: u64,
    /// Share of cases that get one injected deviation, in `[0, 1]`.
    pub deviation_rate: f64,
    /// The first case's start; later cases start a few minutes apart.
    pub start: DateTime<Utc>,
    pub facts: Option<FactWeights>,
    /// The kinds of deviation to inject (from [`KINDS`]); empty: all of them.
    pub kinds: Vec<String>,
    /// Chosen operators' and steps' own deviation rates (see [`Profile`]).
    pub profile: Option<Profile>,
}

/// Who deviates how often: a profile gives chosen operators (and chosen steps, for
/// everyone) their own deviation rates, so a review can be tested on known truth.
///
/// With a profile, each role's work in a case is done by one of `operators` people
/// (`ROLE_1` … `ROLE_N`), drawn from a stream of their own. For each case the entries are
/// tried in order (steps first, then operators, then the base rate): an entry that
/// applies fires with its rate and injects one deviation of its kinds at its step (or at
/// a step of the operator's role done by that operator). A case gets at most one
/// deviation, so later entries fire a little less often than their rate when earlier
/// ones are high; the truth records which entry fired and who was responsible.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// People per role.
    #[serde(default = "default_operators")]
    pub operators: usize,
    /// Share of cases with a deviation anywhere, for everyone (instead of
    /// `--deviation-rate`).
    #[serde(default)]
    pub base: Option<f64>,
    #[serde(default)]
    pub deviations: Vec<ProfileEntry>,
}

fn default_operators() -> usize {
    6
}

/// One raised rate: for an operator, or for a step.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileEntry {
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub step: Option<String>,
    /// Share of the cases it applies to that get its deviation.
    pub rate: f64,
    /// Kinds (from [`KINDS`]); empty: every kind that can be put at a step.
    #[serde(default)]
    pub kinds: Vec<String>,
}

impl ProfileEntry {
    /// `operator NAME` or `step NAME`.
    pub fn name(&self) -> String {
        match (&self.operator, &self.step) {
            (Some(o), _) => format!("operator {o}"),
            (None, Some(s)) => format!("step {s}"),
            (None, None) => "base".into(),
        }
    }
}

impl Options {
    pub fn new(cases: usize, seed: u64) -> Self {
        Options {
            cases,
            seed,
            deviation_rate: 0.2,
            start: DateTime::parse_from_rfc3339("2026-03-02T08:00:00Z")
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
            facts: None,
            kinds: Vec::new(),
            profile: None,
        }
    }
}

/// One simulated event.
#[derive(Debug, Clone, PartialEq)]
pub struct SimEvent {
    /// The log label (the procedure's mapping label when the step has exactly one).
    pub activity: String,
    /// The step, event or monitor it records (for acknowledgements and escalations,
    /// the step they concern).
    pub step: String,
    pub time: DateTime<Utc>,
    pub actor: String,
    /// Other columns (`to`, `resource`, `acknowledges`, ...), as text.
    pub attributes: Vec<(String, String)>,
}

/// One simulated case.
#[derive(Debug, Clone, PartialEq)]
pub struct SimCase {
    pub id: String,
    /// Case facts as (column, text); written as `case:<column>`.
    pub facts: Vec<(String, String)>,
    pub events: Vec<SimEvent>,
}

/// Another finding an optimal alignment may report for the same deviation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alternative {
    pub code: String,
    pub step: String,
}

/// One injected deviation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TruthRecord {
    pub case_id: String,
    pub code: String,
    pub step: String,
    pub event_index: Option<usize>,
    pub alternatives: Vec<Alternative>,
    /// With a profile: the person responsible for the step (its role's person).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// With a profile: the entry behind it (`operator NAME`, `step NAME` or `base`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// The kinds of deviation the simulator injects (the codes `check` reports).
pub const KINDS: [&str; 8] = [
    "missing-step",
    "unexpected-step",
    "wrong-order",
    "wrong-branch",
    "deadline-missed",
    "not-acknowledged",
    "monitoring-gap",
    "resource-lacks-capability",
];

/// Simulates `options.cases` cases of a procedure, with the truth of what was injected.
pub fn simulate(
    p: &Procedure,
    options: &Options,
) -> Result<(Vec<SimCase>, Vec<TruthRecord>), String> {
    let sim = Sim::new(p, options)?;
    let mut cases = Vec::with_capacity(options.cases);
    let mut truth = Vec::new();
    for n in 0..options.cases {
        let (c, t) = sim.case(n)?;
        cases.push(c);
        truth.extend(t);
    }
    Ok((cases, truth))
}

/// `escalate at N%` or `after D`, to roles, when a condition holds.
pub(crate) type Escalation = (Option<f64>, Option<FlowExpr>, Vec<String>, Option<FlowExpr>);

/// What one step demands, compiled once.
#[derive(Debug, Clone)]
pub(crate) struct StepRule {
    pub optional: bool,
    pub within: Option<(FlowExpr, Option<Anchor>, Option<String>)>,
    /// (percent of the limit, or a delay; roles; condition).
    pub escalations: Vec<Escalation>,
    pub needs: Vec<(u32, String, Vec<String>)>,
    pub to: Vec<String>,
    pub responsibilities: Vec<String>,
    pub actions: Vec<String>,
    pub ack_ms: Option<i64>,
    pub outcomes: Vec<String>,
    pub role: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct DecideInfo {
    pub name: String,
    /// Per branch: a walk through it may record nothing.
    pub may_be_empty: Vec<bool>,
    pub reads_param: bool,
    pub rule: DecideRule,
    /// Steps in exactly one branch → that branch.
    pub identifies: BTreeMap<String, usize>,
    /// Facts, priority or validity decide it (not only recorded outcomes).
    pub branches: usize,
}

struct MonitorRule {
    name: String,
    every_ms: i64,
    first_ms: Option<i64>,
    after: Option<Anchor>,
    until: Anchor,
    role: Option<String>,
}

struct ClockInfo {
    starts: Option<Anchor>,
    calendar: Option<String>,
    pauses: Vec<String>,
}

struct ConstraintInfo {
    name: String,
    kind: ast::ConstraintKind,
    when: Option<FlowExpr>,
    within: Option<FlowExpr>,
}

/// The procedure compiled for simulation.
pub(crate) struct Sim<'p> {
    pub p: &'p Procedure,
    pub assessor: Assessor,
    opts: Options,
    map: ActivityMap,
    pub steps: BTreeMap<String, StepRule>,
    pub decides: BTreeMap<usize, DecideInfo>,
    monitors: BTreeMap<String, MonitorRule>,
    calendars: BTreeMap<String, Calendar>,
    clocks: BTreeMap<String, ClockInfo>,
    constraints: Vec<ConstraintInfo>,
    /// Steps named by any constraint.
    constrained: BTreeSet<String>,
    /// Steps used as `last X` anchors.
    last_anchors: BTreeSet<String>,
    /// Steps on a cycle of the decision graph.
    cyclic: BTreeSet<String>,
    /// Declared events (not exemption triggers) and where the log needs them.
    events: BTreeSet<String>,
    exemption_events: BTreeSet<String>,
    always: Calendar,
    fields: BTreeMap<&'static str, String>,
    /// Steps some `go to` reaches.
    goto_targets: BTreeSet<String>,
}

fn names(xs: &[ast::Name]) -> Vec<String> {
    xs.iter().map(|n| n.text.clone()).collect()
}

fn duration_literal(e: &ast::Expr) -> Option<i64> {
    match &e.kind {
        ast::ExprKind::Literal(ast::Literal::Duration(ms, _)) => Some(*ms),
        _ => None,
    }
}

use crate::audit::files;

impl<'p> Sim<'p> {
    fn new(p: &'p Procedure, opts: &Options) -> Result<Self, String> {
        if opts.cases == 0 {
            return Err("--cases must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&opts.deviation_rate) || opts.deviation_rate.is_nan() {
            return Err(format!(
                "the deviation rate must be between 0 and 1, not {}",
                opts.deviation_rate
            ));
        }
        let assessor = Assessor::new(p);
        if let Some(pr) = &opts.profile {
            if pr.operators == 0 {
                return Err("the profile's `operators` must be at least 1".into());
            }
            for (what, r) in pr
                .base
                .iter()
                .map(|b| ("base".to_string(), *b))
                .chain(pr.deviations.iter().map(|e| (e.name(), e.rate)))
            {
                if !(0.0..=1.0).contains(&r) || r.is_nan() {
                    return Err(format!(
                        "the profile gives {what} the rate {r}; rates are between 0 and 1"
                    ));
                }
            }
            for e in &pr.deviations {
                match (&e.operator, &e.step) {
                    (Some(_), Some(_)) | (None, None) => {
                        return Err(format!(
                            "a profile entry names an `operator` or a `step`, one of them ({})",
                            e.name()
                        ));
                    }
                    (None, Some(st)) if !p.symbols.steps.contains_key(st) => {
                        return Err(format!(
                            "the profile names the step `{st}`, which is not a step of the procedure"
                        ));
                    }
                    _ => {}
                }
                if let Some(k) = e.kinds.iter().find(|k| !KINDS.contains(&k.as_str())) {
                    return Err(format!(
                        "the profile names the kind `{k}`; the kinds are {}",
                        KINDS.join(", ")
                    ));
                }
            }
        }
        if let Some(w) = &opts.facts {
            for (fact, values) in w {
                let Some(info) = p.symbols.facts.get(fact) else {
                    return Err(format!(
                        "the facts file names `{fact}`, which is not a fact of the procedure"
                    ));
                };
                for (v, weight) in values {
                    if !weight.is_finite() || *weight < 0.0 {
                        return Err(format!(
                            "the facts file gives `{fact}: {v}` the weight {weight}; weights are numbers >= 0"
                        ));
                    }
                    if v == "missing" || (v == "unknown" && info.three_valued) {
                        continue;
                    }
                    if let Err(m) = crate::eval::value::from_text(v, &info.ty) {
                        return Err(format!("the facts file gives `{fact}` the value {m}"));
                    }
                }
                if values.iter().all(|(_, w)| *w <= 0.0) {
                    return Err(format!(
                        "the facts file gives `{fact}` no value with a positive weight"
                    ));
                }
            }
        }
        let col = |f: &str| assessor.column_for(f).unwrap_or_else(|| f.to_string());
        let mut fields = BTreeMap::new();
        for f in [
            "to",
            "responsibilities",
            "actions",
            "resource",
            "capabilities",
            "outcome",
        ] {
            fields.insert(f, col(f));
        }
        let mut sim = Sim {
            p,
            map: ActivityMap::from_procedure(p),
            assessor,
            opts: opts.clone(),
            steps: BTreeMap::new(),
            decides: BTreeMap::new(),
            monitors: BTreeMap::new(),
            calendars: BTreeMap::new(),
            clocks: BTreeMap::new(),
            constraints: Vec::new(),
            constrained: BTreeSet::new(),
            last_anchors: BTreeSet::new(),
            cyclic: BTreeSet::new(),
            events: BTreeSet::new(),
            exemption_events: BTreeSet::new(),
            always: Calendar::always(),
            fields,
            goto_targets: BTreeSet::new(),
        };
        for s in &p.ast().sections {
            if let Section::Flow { body, .. } = s {
                crate::audit::decisions::goto_targets(body, &mut sim.goto_targets);
            }
        }
        for f in files(p) {
            for s in &f.sections {
                match s {
                    Section::Calendar(c) => {
                        sim.calendars
                            .insert(c.name.text.clone(), Calendar::from_ast(c)?);
                    }
                    Section::Clock(c) => {
                        let mut info = ClockInfo {
                            starts: None,
                            calendar: None,
                            pauses: Vec::new(),
                        };
                        for item in &c.items {
                            match item {
                                ast::ClockItem::Starts(a, _) => info.starts = Some(a.clone()),
                                ast::ClockItem::Calendar(n, _) => {
                                    info.calendar = Some(n.text.clone())
                                }
                                ast::ClockItem::Pauses { from, .. } => {
                                    info.pauses.push(from.text.clone())
                                }
                                ast::ClockItem::Stops(..) => {}
                            }
                        }
                        sim.clocks.insert(c.name.text.clone(), info);
                    }
                    _ => {}
                }
            }
        }
        let file = p.ast();
        for s in &file.sections {
            match s {
                Section::Flow { body, .. } => sim.collect(body),
                Section::Events { items, .. } => {
                    for e in items {
                        sim.events.insert(e.name.text.clone());
                    }
                }
                Section::Exemptions { items, .. } => {
                    for e in items {
                        sim.exemption_events.insert(e.on.text.clone());
                    }
                }
                Section::Constraints { items, .. } => {
                    for c in items {
                        sim.constrained
                            .extend(crate::audit::constraints::steps_of(&c.kind));
                        let within = match &c.kind {
                            ast::ConstraintKind::Response {
                                within: Some(w), ..
                            } => Some(sim.assessor.compile_expr(p, w)),
                            _ => None,
                        };
                        sim.constraints.push(ConstraintInfo {
                            name: c.name.text.clone(),
                            kind: c.kind.clone(),
                            when: c.when.as_ref().map(|w| sim.assessor.compile_expr(p, w)),
                            within,
                        });
                    }
                }
                _ => {}
            }
        }
        let g = &p.graph;
        for cycle in g.cycles() {
            for id in cycle {
                sim.cyclic.insert(g.node(id).name.clone());
            }
        }
        for e in &sim.exemption_events {
            sim.events.remove(e);
        }
        Ok(sim)
    }

    fn note_anchor(&mut self, a: &Anchor) {
        match a {
            Anchor::Ref {
                pos: Some(AnchorPos::Last),
                name,
                ..
            } => {
                self.last_anchors.insert(name.text.clone());
            }
            Anchor::Ref { .. } => {}
            Anchor::EarliestOf(xs, _) | Anchor::LatestOf(xs, _) => {
                for x in xs {
                    self.note_anchor(x);
                }
            }
        }
    }

    fn collect(&mut self, body: &[Stmt]) {
        let mut stmts: Vec<&Stmt> = Vec::new();
        crate::audit::decisions::each_stmt(body, &mut |st| stmts.push(st));
        for st in stmts {
            match st {
                Stmt::Step(s) => {
                    let rule = self.step_rule(s);
                    self.steps.insert(s.name.text.clone(), rule);
                }
                Stmt::Monitor(m) => {
                    let Some(every) = duration_literal(&m.every) else {
                        continue;
                    };
                    if let Some(a) = &m.after {
                        self.note_anchor(a);
                    }
                    self.note_anchor(&m.until);
                    let role = m.attrs.iter().find_map(|a| match a {
                        StepAttr::By(xs, _) => xs.first().map(|n| n.text.clone()),
                        _ => None,
                    });
                    self.monitors.insert(
                        m.name.text.clone(),
                        MonitorRule {
                            name: m.name.text.clone(),
                            every_ms: every,
                            first_ms: m.first_within.as_ref().and_then(duration_literal),
                            after: m.after.clone(),
                            until: m.until.clone(),
                            role,
                        },
                    );
                }
                Stmt::Call(c) => {
                    let name = c.step_name().text;
                    self.steps.insert(
                        name,
                        StepRule {
                            optional: false,
                            within: None,
                            escalations: Vec::new(),
                            needs: Vec::new(),
                            to: Vec::new(),
                            responsibilities: Vec::new(),
                            actions: Vec::new(),
                            ack_ms: None,
                            outcomes: Vec::new(),
                            role: None,
                        },
                    );
                }
                Stmt::Decide(d) => {
                    // The same reading of branches as the checker's.
                    let (identifies, branches) =
                        crate::audit::decisions::identifying(d, &self.goto_targets);
                    let reads_param = crate::audit::decisions::reads_params(self.p, d);
                    let identifies = if reads_param {
                        BTreeMap::new()
                    } else {
                        identifies
                    };
                    self.decides.insert(
                        d.span.start,
                        DecideInfo {
                            name: d.name.text.clone(),
                            may_be_empty: d
                                .branches
                                .iter()
                                .map(|b| &b.body)
                                .chain(d.otherwise.iter().map(|(b, _)| b))
                                .map(|b| {
                                    matches!(b, ast::BranchBody::Block(xs) if walk::may_be_empty(xs))
                                })
                                .collect(),
                            reads_param,
                            rule: self.assessor.compile_decide(self.p, d),
                            identifies,
                            branches,
                        },
                    );
                }
                Stmt::Parallel(_) | Stmt::Repeat(_) | Stmt::Goto { .. } | Stmt::End { .. } => {}
            }
        }
    }

    fn step_rule(&mut self, s: &ast::Step) -> StepRule {
        let mut r = StepRule {
            optional: s.optional,
            within: None,
            escalations: Vec::new(),
            needs: Vec::new(),
            to: Vec::new(),
            responsibilities: Vec::new(),
            actions: Vec::new(),
            ack_ms: None,
            outcomes: Vec::new(),
            role: None,
        };
        for attr in &s.attrs {
            match attr {
                StepAttr::Within { limit, of, on, .. } => {
                    if let Some(a) = of {
                        self.note_anchor(a);
                    }
                    r.within = Some((
                        self.assessor.compile_expr(self.p, limit),
                        of.clone(),
                        on.as_ref().map(|n| n.text.clone()),
                    ));
                }
                StepAttr::Escalate {
                    trigger, to, when, ..
                } => r.escalations.push((
                    match trigger {
                        ast::EscalateTrigger::Percent(p) => p.parse().ok(),
                        ast::EscalateTrigger::After(_) => None,
                    },
                    match trigger {
                        ast::EscalateTrigger::After(e) => {
                            Some(self.assessor.compile_expr(self.p, e))
                        }
                        ast::EscalateTrigger::Percent(_) => None,
                    },
                    names(to),
                    when.as_ref().map(|w| self.assessor.compile_expr(self.p, w)),
                )),
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
                StepAttr::Ack(e, _) => r.ack_ms = duration_literal(e),
                StepAttr::Outcomes(xs, _) => r.outcomes = names(xs),
                StepAttr::By(xs, _) => r.role = xs.first().map(|n| n.text.clone()),
                StepAttr::Records(..) => {}
            }
        }
        r
    }

    pub(crate) fn label(&self, step: &str) -> String {
        self.map
            .label_for(step)
            .map_or_else(|| step.to_string(), str::to_string)
    }

    /// Draws one case's facts: (fact, text); `None` text leaves the fact out.
    fn draw_facts(&self, rng: &mut Rng) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (name, info) in &self.p.symbols.facts {
            if let Some(w) = self.opts.facts.as_ref().and_then(|w| w.get(name)) {
                let total: f64 = w.iter().map(|(_, x)| *x).sum();
                let mut r = rng.unit() * total;
                let mut chosen = w.last().map(|(v, _)| v.clone());
                for (v, x) in w {
                    if r < *x {
                        chosen = Some(v.clone());
                        break;
                    }
                    r -= x;
                }
                if let Some(v) = chosen.filter(|v| v != "missing") {
                    out.push((name.clone(), v));
                }
                continue;
            }
            if info.optional && rng.chance(0.25) {
                continue;
            }
            if info.three_valued && rng.chance(0.1) {
                out.push((name.clone(), "unknown".into()));
                continue;
            }
            if let Some(v) = draw_value(&info.ty, rng, &self.opts.start, 0) {
                out.push((name.clone(), v));
            }
        }
        out
    }

    /// The column a fact is read from.
    fn fact_column(&self, fact: &str) -> String {
        self.assessor
            .column_for(fact)
            .unwrap_or_else(|| fact.to_string())
    }

    fn situation<'a>(
        assessment: &'a Assessment,
        level: Option<&'a str>,
        outcomes: &'a [(String, String)],
    ) -> Situation<'a> {
        Situation {
            assessment,
            prepared: None,
            priority: level,
            targets: None,
            outcomes,
        }
    }

    /// Builds case `n`.
    fn case(&self, n: usize) -> Result<(SimCase, Vec<TruthRecord>), String> {
        let mut rng = Rng::stream(self.opts.seed, n as u64);
        let id = format!("case-{:05}", n + 1);
        let facts = self.draw_facts(&mut rng);
        let parsed = self
            .assessor
            .facts_from_text(facts.iter().map(|(k, v)| (k.as_str(), v.as_str())), &[])
            .map_err(|errs| {
                errs.iter()
                    .map(|e| format!("fact `{}`: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
        let assessment = self.assessor.assess(parsed);
        let level = assessment.priority.as_ref().and_then(|p| p.level.clone());
        let start = self.opts.start + Duration::minutes(7 * n as i64 + rng.range(0, 4));
        let base_rate = self
            .opts
            .profile
            .as_ref()
            .and_then(|p| p.base)
            .unwrap_or(self.opts.deviation_rate);
        let inject = rng.chance(base_rate);
        let walk_seed = rng.next_u64();
        let walker = |force: Option<(usize, usize)>| {
            let mut w = Walker::new(self, &assessment, level.as_deref(), Rng::new(walk_seed));
            w.force = force;
            w.run();
            w
        };
        let normal = walker(None);
        let case_facts: Vec<(String, String)> = facts
            .iter()
            .map(|(k, v)| (self.fact_column(k), v.clone()))
            .collect();
        let ctx = CaseCtx {
            assessment: &assessment,
            level: level.as_deref(),
        };
        let mut plan = Plan {
            items: normal.items.clone(),
            monitors: normal.monitors.clone(),
            deviation: None,
        };
        // With a profile: who does each role's work, and the entries that fire.
        let mut fired: Option<String> = None;
        let people: Option<BTreeMap<String, String>> = self.opts.profile.as_ref().map(|pr| {
            let mut side = Rng::stream(self.opts.seed ^ 0x9e37_79b9_7f4a_7c15, n as u64);
            let mut roles: BTreeSet<String> =
                self.steps.values().filter_map(|r| r.role.clone()).collect();
            roles.insert("handler".into());
            roles
                .into_iter()
                .map(|r| {
                    let who = format!("{r}_{}", 1 + side.below(pr.operators));
                    (r, who)
                })
                .collect()
        });
        if let (Some(pr), Some(people)) = (&self.opts.profile, &people) {
            let mut side = Rng::stream(self.opts.seed ^ 0x51_7cc1_b727_220a, n as u64);
            let entries = pr
                .deviations
                .iter()
                .filter(|e| e.step.is_some())
                .chain(pr.deviations.iter().filter(|e| e.operator.is_some()));
            'entries: for e in entries {
                // The steps it may put its deviation at.
                let allowed: Vec<&String> = match (&e.step, &e.operator) {
                    (Some(st), _) => vec![st],
                    (None, Some(op)) => self
                        .steps
                        .iter()
                        .filter(|(_, r)| {
                            r.role
                                .as_ref()
                                .is_some_and(|role| people.get(role) == Some(op))
                        })
                        .map(|(k, _)| k)
                        .collect(),
                    _ => Vec::new(),
                };
                if allowed.is_empty()
                    || !normal.items.iter().any(|it| allowed.contains(&&it.step))
                    || !side.chance(e.rate)
                {
                    continue;
                }
                let kinds: Vec<&str> = KINDS
                    .iter()
                    .copied()
                    .filter(|k| *k != "monitoring-gap" && *k != "wrong-branch")
                    .filter(|k| e.kinds.is_empty() || e.kinds.iter().any(|x| x == k))
                    .collect();
                // Rejection: a few draws until the deviation falls at an allowed step.
                for _ in 0..24 {
                    let Some(&k) = side.pick(&kinds) else { break };
                    if let Some(p) = self.inject(k, &normal, &walker, &ctx, &mut side)
                        && p.deviation
                            .as_ref()
                            .and_then(Deviation::step)
                            .is_some_and(|s| allowed.contains(&&s.to_string()))
                    {
                        plan = p;
                        fired = Some(e.name());
                        break 'entries;
                    }
                }
            }
        }
        if inject && fired.is_none() {
            let mut kinds: Vec<&str> = KINDS
                .iter()
                .copied()
                .filter(|k| self.opts.kinds.is_empty() || self.opts.kinds.iter().any(|x| x == k))
                .collect();
            while !kinds.is_empty() {
                let k = kinds.remove(rng.below(kinds.len()));
                if let Some(p) = self.inject(k, &normal, &walker, &ctx, &mut rng) {
                    plan = p;
                    if people.is_some() {
                        fired = Some("base".into());
                    }
                    break;
                }
            }
        }
        let (events, truth) = self.render(&plan, &ctx, people.as_ref(), start, &mut rng)?;
        let truth = truth
            .map(|(code, step, tag, alternatives)| {
                let event_index = tag.and_then(|t| events.iter().position(|(tg, _)| *tg == t));
                let operator = people.as_ref().and_then(|people| {
                    let role = self
                        .steps
                        .get(&step)
                        .and_then(|r| r.role.clone())
                        .or_else(|| self.monitors.get(&step).and_then(|m| m.role.clone()))?;
                    people.get(&role).cloned()
                });
                TruthRecord {
                    case_id: id.clone(),
                    code: code.to_string(),
                    step,
                    event_index,
                    alternatives,
                    operator,
                    profile: fired.clone(),
                }
            })
            .into_iter()
            .collect();
        Ok((
            SimCase {
                id,
                facts: case_facts,
                events: events.into_iter().map(|(_, e)| e).collect(),
            },
            truth,
        ))
    }
}

/// What the assessment of a case gives the renderer.
pub(crate) struct CaseCtx<'a> {
    pub assessment: &'a Assessment,
    pub level: Option<&'a str>,
}

impl Deviation {
    /// The step it is put at, where the plan tells (a monitoring gap's monitor is chosen
    /// while rendering).
    fn step(&self) -> Option<&str> {
        match self {
            Deviation::Flow(_, s, _, _)
            | Deviation::Late(s)
            | Deviation::NoAck(s)
            | Deviation::Resource(s) => Some(s),
            Deviation::Gap => None,
        }
    }
}

/// The deviation a plan carries into rendering.
#[derive(Debug, Clone)]
enum Deviation {
    /// Control flow already changed in the items: (code, step, index of the item to
    /// locate it by, alternatives).
    Flow(&'static str, String, Option<usize>, Vec<Alternative>),
    /// The first event of this step is done late.
    Late(String),
    NoAck(String),
    Gap,
    Resource(String),
}

#[derive(Debug, Clone)]
struct Plan {
    items: Vec<Item>,
    monitors: Vec<String>,
    deviation: Option<Deviation>,
}

fn draw_value(ty: &Type, rng: &mut Rng, start: &DateTime<Utc>, depth: usize) -> Option<String> {
    Some(match ty {
        Type::Bool => (if rng.chance(0.5) { "true" } else { "false" }).to_string(),
        Type::Int => {
            let r = rng.unit();
            if r < 0.6 {
                rng.range(0, 5)
            } else if r < 0.9 {
                rng.range(0, 30)
            } else {
                rng.range(0, 90)
            }
            .to_string()
        }
        Type::Decimal => format!("{:.1}", rng.range(0, 1000) as f64 / 10.0),
        Type::Text => format!("T{}", rng.range(1000, 9999)),
        Type::Duration => format!("{}m", rng.range(1, 120)),
        Type::Timestamp => (*start - Duration::minutes(rng.range(0, 600)))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        Type::Date => (*start - Duration::days(rng.range(0, 400)))
            .format("%Y-%m-%d")
            .to_string(),
        Type::Enum(values) | Type::Band(_, values) => rng.pick(values)?.clone(),
        Type::Code(format) => format
            .chars()
            .map(|c| match c {
                'N' | 'D' => char::from(b'0' + rng.below(10) as u8),
                'L' => char::from(b'A' + rng.below(5) as u8),
                'A' => char::from(b'0' + rng.below(10) as u8),
                other => other,
            })
            .collect(),
        Type::List(inner) => {
            if depth > 0 {
                return None;
            }
            let k = rng.below(3);
            let mut parts: Vec<String> = Vec::new();
            for _ in 0..k {
                if let Some(v) = draw_value(inner, rng, start, depth + 1)
                    && !parts.contains(&v)
                {
                    parts.push(v);
                }
            }
            if parts.is_empty() {
                return None;
            }
            parts.join("; ")
        }
        Type::Level | Type::Error => return None,
    })
}

/// An event being rendered: its tag (stable through sorting) and the event.
type Tagged = (usize, SimEvent);

/// A timing demand: `target` within `[lo, hi]` of `anchor` on a calendar.
#[derive(Debug, Clone)]
struct TimeDemand {
    anchor: usize,
    target: usize,
    lo: i64,
    hi: i64,
    limit: i64,
    calendar: Option<String>,
    /// A step's own deadline (not an acknowledgement or a constraint).
    step: Option<String>,
}

/// One skeleton event before times are given.
#[derive(Debug, Clone)]
struct Skel {
    step: String,
    label: String,
    role: String,
    attrs: Vec<(String, String)>,
    /// Index of the walk item it records.
    item: Option<usize>,
    flow: bool,
}

mod render;
