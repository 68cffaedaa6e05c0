//! Decisions re-computed from the facts known at the time (`wrong-branch`), and
//! recorded priorities checked against the procedure's regrade and override rules
//! (`unjustified-override`).

use std::collections::{BTreeMap, BTreeSet};

use super::{Audit, Auditor, CaseView};
use crate::ast::{self, BranchBody, ExprKind, Stmt};
use crate::conformance::Finding;
use crate::eval::{DecideRule, Value};

/// A `decide` compiled for re-checking.
#[derive(Debug, Clone)]
pub(crate) struct DecideCheck {
    pub name: String,
    pub rule: DecideRule,
    /// Steps that belong to exactly one branch → that branch (the `else` is last).
    pub identifies: BTreeMap<String, usize>,
    /// Monitors inside a branch → that branch.
    pub monitors: BTreeMap<String, usize>,
    /// Each branch as written (`when P1, P2`, `else`).
    pub labels: Vec<String>,
    /// Each branch as its obligation requires it, in words.
    pub required: Vec<String>,
    /// Per branch, the steps every pass through it records: its top-level steps and
    /// calls that are not optional, or the step it jumps to.
    pub must: Vec<Vec<String>>,
    /// The subject (`decide NAME on SUBJECT`) as written, compiled to evaluate it.
    pub subject: Option<(String, crate::eval::FlowExpr)>,
    /// Facts the decision reads.
    pub reads: Vec<String>,
    /// The decision reads a parameter, which a calling procedure sets and a log does not
    /// record: it is not re-checked.
    pub reads_param: bool,
    pub line: usize,
}

/// What a walk over a flow body meets: a statement, or the step a `when ... -> step`
/// jumps to.
enum Met<'a> {
    Stmt(&'a Stmt),
    Jump(&'a ast::Name),
}

/// The bodies of a decision's branches, the `else` last.
fn bodies(d: &ast::Decide) -> impl Iterator<Item = &BranchBody> {
    d.branches
        .iter()
        .map(|b| &b.body)
        .chain(d.otherwise.iter().map(|(b, _)| b))
}

/// Visits every statement of a body, nested blocks included (and the bodies of `repeat`s
/// when `into_loops`).
fn visit<'a>(body: &'a [Stmt], into_loops: bool, f: &mut impl FnMut(Met<'a>)) {
    for s in body {
        f(Met::Stmt(s));
        match s {
            Stmt::Decide(d) => {
                for b in bodies(d) {
                    match b {
                        BranchBody::Goto(n) => f(Met::Jump(n)),
                        BranchBody::Block(xs) => visit(xs, into_loops, f),
                    }
                }
            }
            Stmt::Parallel(p) => {
                for b in &p.branches {
                    visit(&b.body, into_loops, f);
                }
            }
            Stmt::Repeat(r) if into_loops => visit(&r.body, into_loops, f),
            _ => {}
        }
    }
}

/// Every statement of a flow body, nested blocks and loops included, in order.
pub(crate) fn each_stmt<'a>(body: &'a [Stmt], f: &mut impl FnMut(&'a Stmt)) {
    visit(body, true, &mut |m| {
        if let Met::Stmt(s) = m {
            f(s);
        }
    });
}

/// The name of the step a statement records, if it records one.
fn step_name(s: &Stmt) -> Option<String> {
    match s {
        Stmt::Step(st) => Some(st.name.text.clone()),
        Stmt::Call(c) => Some(c.step_name().text),
        _ => None,
    }
}

/// Steps a body holds, with the steps its branches jump to.
fn steps_in(body: &[Stmt], out: &mut BTreeSet<String>) {
    visit(body, true, &mut |m| match m {
        Met::Stmt(s) => out.extend(step_name(s)),
        Met::Jump(n) => {
            out.insert(n.text.clone());
        }
    });
}

/// Steps a body records at most once per pass: not those inside nested loops.
pub(crate) fn steps_in_once(body: &[Stmt], out: &mut BTreeSet<String>) {
    visit(body, false, &mut |m| {
        if let Met::Stmt(s) = m {
            out.extend(step_name(s));
        }
    });
}

fn monitors_in(body: &[Stmt], out: &mut BTreeSet<String>) {
    visit(body, true, &mut |m| {
        if let Met::Stmt(Stmt::Monitor(mo)) = m {
            out.insert(mo.name.text.clone());
        }
    });
}

/// Every step a `go to` (or `-> step`) names.
pub(crate) fn goto_targets(body: &[Stmt], out: &mut BTreeSet<String>) {
    visit(body, true, &mut |m| match m {
        Met::Stmt(Stmt::Goto { target, .. }) | Met::Jump(target) => {
            out.insert(target.text.clone());
        }
        Met::Stmt(_) => {}
    });
}

fn branch_steps(b: &BranchBody, out: &mut BTreeSet<String>) {
    match b {
        BranchBody::Goto(n) => {
            out.insert(n.text.clone());
        }
        BranchBody::Block(xs) => steps_in(xs, out),
    }
}

fn names_in(e: &ast::Expr, out: &mut BTreeSet<String>) {
    match &e.kind {
        ExprKind::Path(p) => {
            out.insert(p[0].text.clone());
        }
        ExprKind::Call(_, args) | ExprKind::List(args) => {
            args.iter().for_each(|a| names_in(a, out))
        }
        ExprKind::Range(a, b) | ExprKind::Binary(_, a, b) => {
            names_in(a, out);
            names_in(b, out);
        }
        ExprKind::Unary(_, x) => names_in(x, out),
        ExprKind::IsMissing { operand, .. } => names_in(operand, out),
        ExprKind::Literal(_) | ExprKind::OutcomeOf(_) => {}
    }
}

/// The steps that tell which branch of `d` a case took: each step that only one branch
/// holds and that no `go to` reaches (step → branch, the `else` last), and the number of
/// branches.
pub(crate) fn identifying(
    d: &ast::Decide,
    goto_targets: &BTreeSet<String>,
) -> (BTreeMap<String, usize>, usize) {
    let mut sets: Vec<BTreeSet<String>> = Vec::new();
    for b in bodies(d) {
        let mut s = BTreeSet::new();
        branch_steps(b, &mut s);
        sets.push(s);
    }
    let mut identifies = BTreeMap::new();
    for (i, s) in sets.iter().enumerate() {
        for step in s {
            if !goto_targets.contains(step)
                && sets
                    .iter()
                    .enumerate()
                    .all(|(j, o)| j == i || !o.contains(step))
            {
                identifies.insert(step.clone(), i);
            }
        }
    }
    (identifies, sets.len())
}

/// Whether a decision reads a parameter: a calling procedure sets it and a log does not
/// record it, so the decision cannot be re-checked from the case.
pub(crate) fn reads_params(p: &crate::model::Procedure, d: &ast::Decide) -> bool {
    names_read(d)
        .iter()
        .any(|n| p.symbols.params.contains_key(n))
}

/// Every name the subject and the tests of a decision mention.
fn names_read(d: &ast::Decide) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if let Some(s) = &d.subject {
        names_in(s, &mut names);
    }
    for t in d.branches.iter().flat_map(|b| &b.tests) {
        match &t.kind {
            ast::TestKind::Equals(e) | ast::TestKind::Compare(_, e) => names_in(e, &mut names),
            ast::TestKind::Range(x, y) => {
                names_in(x, &mut names);
                names_in(y, &mut names);
            }
        }
    }
    names
}

impl DecideCheck {
    pub fn new(a: &Auditor<'_>, d: &ast::Decide) -> Self {
        let src = a.p.unit.source.text();
        let first_line = |s: crate::source::Span| {
            src.get(s.start..s.end)
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let mut labels: Vec<String> = d.branches.iter().map(|b| first_line(b.span)).collect();
        if let Some((_, span)) = &d.otherwise {
            labels.push(first_line(*span));
        }
        let (identifies, _) = identifying(d, &a.goto_targets);
        // Monitors that sit in one branch are demanded only when it is taken.
        let mut monitors = BTreeMap::new();
        for (i, b) in bodies(d).enumerate() {
            if let BranchBody::Block(xs) = b {
                let mut ms = BTreeSet::new();
                monitors_in(xs, &mut ms);
                for m in ms {
                    monitors.insert(m, i);
                }
            }
        }
        let must = bodies(d)
            .map(|b| match b {
                BranchBody::Goto(n) => vec![n.text.clone()],
                BranchBody::Block(xs) => xs
                    .iter()
                    .filter_map(|s| match s {
                        Stmt::Step(st) if !st.optional => Some(st.name.text.clone()),
                        Stmt::Call(c) => Some(c.step_name().text),
                        _ => None,
                    })
                    .collect(),
            })
            .collect();
        let reads = names_read(d);
        let facts = &a.p.symbols.facts;
        let reads_param = reads_params(a.p, d);
        let reads = reads
            .into_iter()
            .filter(|n| facts.contains_key(n) || n == "priority" || n == "validity")
            .collect();
        DecideCheck {
            name: d.name.text.clone(),
            rule: a.assessor.compile_decide(a.p, d),
            identifies,
            monitors,
            required: labels.iter().map(|l| format!("`{l}`")).collect(),
            labels,
            must,
            subject: d.subject.as_ref().map(|e| {
                (
                    crate::fmt::expr_to_string(e),
                    a.assessor.compile_expr(a.p, e),
                )
            }),
            reads,
            reads_param,
            line: a.p.unit.source.line_col(d.span.start).0,
        }
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Missing => "missing".into(),
        Value::Unknown => "unknown".into(),
        Value::Symbol(s) | Value::Text(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::Duration(ms) => super::dur(*ms),
        other => format!("{other:?}"),
    }
}

/// One pass of a case through a `decide`, read off its alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pass {
    /// Index into [`Auditor::decides`](super::Auditor).
    pub decide: usize,
    /// The branch taken (0-based, the `else` last).
    pub branch: usize,
    /// Control-flow events consumed before the decision was passed.
    pub position: usize,
    /// The branch the facts then in force require, when they tell.
    pub required: Option<usize>,
}

/// The event the facts at a decision passed at `position` are read at: the first
/// control-flow event after it (facts recorded with it count), else the last event of
/// the case; and the events whose outcomes are known then (those before it, or all).
fn moment(case: &CaseView<'_>, flow: &[usize], position: usize) -> Option<(usize, usize)> {
    match flow.get(position) {
        Some(&i) => Some((i, i)),
        None => {
            let n = case.trace.events.len();
            (n > 0).then(|| (n - 1, n))
        }
    }
}

/// What a decision's answer depends on at a moment: the facts version, the grade in
/// force and how many outcomes are known.
type Moment<'c> = (usize, Option<&'c str>, usize);

/// For each decision named in `decisions` (the alignment's order), for each position
/// `0..=flow.len()`: the branch the facts then in force require, or `UNKNOWN`. Empty
/// when no decision can be told.
pub(crate) fn required_branches(
    a: &Auditor<'_>,
    case: &CaseView<'_>,
    flow: &[usize],
    decisions: &[String],
) -> Vec<u8> {
    use crate::petri::align::UNKNOWN;
    let positions = flow.len() + 1;
    // The decisions the facts can tell, with their index in `decisions`.
    let told: Vec<(usize, &DecideCheck)> = decisions
        .iter()
        .enumerate()
        .filter_map(|(k, name)| {
            a.decides
                .iter()
                .find(|d| &d.name == name)
                .filter(|d| !d.reads_param)
                .map(|d| (k, d))
        })
        .collect();
    if told.is_empty() {
        return Vec::new();
    }
    let mut out = vec![UNKNOWN; decisions.len() * positions];
    let mut any = false;
    // The answers change only with the facts, the grade or the outcomes in force: each
    // situation is made once for all the decisions.
    let mut last: Option<(Moment<'_>, Vec<u8>)> = None;
    for pos in 0..positions {
        let Some((i, before)) = moment(case, flow, pos) else {
            continue;
        };
        let key = (
            case.version_at(i),
            case.priority_at(i),
            case.outcomes_before(before).len(),
        );
        if last.as_ref().is_none_or(|(k0, _)| *k0 != key) {
            let answers = case
                .in_situation(a, i, before, |s| {
                    told.iter()
                        .map(|(_, d)| {
                            a.assessor
                                .choose(&d.rule, s)
                                .and_then(|b| u8::try_from(b).ok())
                                .unwrap_or(UNKNOWN)
                        })
                        .collect::<Vec<u8>>()
                })
                .unwrap_or_else(|| vec![UNKNOWN; told.len()]);
            last = Some((key, answers));
        }
        if let Some((_, answers)) = &last {
            for (&(k, _), &b) in told.iter().zip(answers) {
                any |= b != UNKNOWN;
                out[k * positions + pos] = b;
            }
        }
    }
    if any { out } else { Vec::new() }
}

/// Each decision the case passed, judged against the facts then in force: a
/// `wrong-branch` finding where the branch taken is not the one required (the empty
/// branch included), and a `decision` obligation for each pass (met, violated,
/// pending in a running case when no event follows it, unknown where the facts do
/// not tell); and the `unjustified-override` findings of the case.
pub(crate) fn check(a: &Auditor<'_>, case: &CaseView<'_>, passes: &[Pass], audit: &mut Audit) {
    audit
        .findings
        .extend(case.override_findings.iter().cloned());
    let flow = &case.flow;
    for pass in passes {
        let Some(d) = a.decides.get(pass.decide) else {
            continue;
        };
        let event = flow.get(pass.position).copied();
        let mut obligation = super::Obligation {
            kind: "decision",
            step: d.name.clone(),
            required: String::new(),
            line: d.line,
            from: None,
            due: None,
            risk_from: None,
            done: event.and_then(|i| case.event(i).timestamp),
            event_index: event,
            status: super::Status::Met,
            taken: d.labels.get(pass.branch).cloned(),
            actor: None,
        };
        let want = match pass.required {
            Some(w) if !d.reads_param => w,
            _ => {
                obligation.required = if d.reads_param {
                    "the branch its caller's parameters call for (not recorded)".into()
                } else {
                    format!(
                        "the branch the facts call for, which they do not tell ({})",
                        read_values(a, d, case, pass.position).join(", ")
                    )
                };
                obligation.status = super::Status::Unknown;
                audit.obligations.push(obligation);
                continue;
            }
        };
        obligation.required = d.required.get(want).cloned().unwrap_or_else(|| "``".into());
        if want == pass.branch {
            audit.obligations.push(obligation);
            continue;
        }
        let want_label = d.labels.get(want).cloned().unwrap_or_default();
        if case.running && event.is_none() {
            // Nothing recorded after the decision yet: the branch may still be taken.
            obligation.status = super::Status::Pending;
            obligation.done = None;
            audit.obligations.push(obligation);
            continue;
        }
        obligation.status = super::Status::Violated;
        audit.obligations.push(obligation);
        let from = event.unwrap_or(0);
        let not_done: Vec<String> = d
            .must
            .get(want)
            .into_iter()
            .flatten()
            .filter(|s| event.is_none() || !case.occurrences(s).iter().any(|&j| j >= from))
            .cloned()
            .collect();
        let read = read_values(a, d, case, pass.position);
        let taken = d.labels.get(pass.branch).cloned().unwrap_or_default();
        let at = match event {
            Some(i) => format!("before event {}", i + 1),
            None => "after the last event".to_string(),
        };
        let mut message = format!(
            "decision `{}` took `{taken}` ({at}), but the facts known then ({}) call for `{want_label}`",
            d.name,
            read.join(", ")
        );
        if !not_done.is_empty() {
            message.push_str(&format!(
                "; not done: {}",
                not_done
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let time = event.and_then(|i| case.time_text(i)).or_else(|| {
            case.trace
                .events
                .len()
                .checked_sub(1)
                .and_then(|i| case.time_text(i))
        });
        let mut f = Finding::new(
            crate::audit::codes::FindingCode::WrongBranch,
            d.name.clone(),
            event,
            time,
            message,
        );
        f.line = Some(d.line);
        f.steps.extend(not_done.iter().cloned());
        f.evidence.insert("decision", d.name.clone());
        f.evidence.insert("taken", taken);
        f.evidence.insert("required", want_label);
        f.evidence.insert("facts", read.join(", "));
        if !not_done.is_empty() {
            f.evidence.insert("not done", not_done.join(", "));
        }
        audit.findings.push(f);
    }
}

/// The values of what decision `d` reads, at a decision passed at `position`.
fn read_values(
    a: &Auditor<'_>,
    d: &DecideCheck,
    case: &CaseView<'_>,
    position: usize,
) -> Vec<String> {
    let Some((i, before)) = moment(case, &case.flow, position) else {
        return Vec::new();
    };
    let assessment = case.assessment_at(i);
    let level = case.priority_at(i);
    let subject = d.subject.as_ref().and_then(|(text, e)| {
        if d.reads.len() == 1 && &d.reads[0] == text {
            return None;
        }
        let v = case.in_situation(a, i, before, |s| a.assessor.evaluate(e, s))?;
        Some(format!("{text} = {}", show(&v)))
    });
    subject
        .into_iter()
        .chain(d.reads.iter().map(|n| {
            let v = match n.as_str() {
                "priority" => level.unwrap_or("missing").to_string(),
                "validity" => assessment
                    .and_then(|x| x.validity.as_ref())
                    .and_then(|v| v.band.clone())
                    .unwrap_or_else(|| "missing".into()),
                _ => assessment
                    .and_then(|x| x.facts.iter().find(|(k, _)| &**k == n))
                    .map_or("missing".into(), |(_, v)| show(v)),
            };
            format!("{n} = {v}")
        }))
        .collect()
}

/// The branch of `d` the facts in force at event `i` call for, if they tell.
pub(crate) fn choose(
    a: &Auditor<'_>,
    d: &DecideCheck,
    case: &CaseView<'_>,
    i: usize,
) -> Option<usize> {
    case.in_situation(a, i, i, |s| a.assessor.choose(&d.rule, s))?
}

/// The recorded grades of a case: (event, level in force from it), keeping only the
/// justified ones, and an `unjustified-override` finding for each of the others.
pub(crate) fn priorities(
    a: &Auditor<'_>,
    case: &CaseView<'_>,
) -> (Vec<(usize, String)>, Vec<Finding>) {
    let levels = a.assessor.levels();
    let mut kept: Vec<(usize, String)> = Vec::new();
    let mut findings = Vec::new();
    if levels.is_empty() {
        return (kept, findings);
    }
    for i in 0..case.trace.events.len() {
        let Some(recorded) = case.attr(i, &a.fields.priority) else {
            continue;
        };
        let recorded = recorded.trim();
        let Some(to) = levels.iter().position(|l| l == recorded) else {
            continue;
        };
        let assessment = case.assessment_at(i);
        let assessed = assessment
            .and_then(|x| x.priority.as_ref())
            .and_then(|p| p.level.clone());
        let current = kept.last().map(|(_, l)| l.clone()).or(assessed.clone());
        let Some(current) = current else {
            kept.push((i, recorded.to_string()));
            continue;
        };
        let role = case.attr(i, &a.fields.role).map(str::trim).unwrap_or("");
        let reason = case.attr(i, &a.fields.reason).map(str::trim).unwrap_or("");
        let has_role = |r: &str| {
            role == r
                || a.above
                    .iter()
                    .any(|(lower, ups)| lower == r && ups.iter().any(|u| u == role))
        };
        let mut fail = |why: String, line: Option<usize>| {
            let mut f = Finding::new(
                crate::audit::codes::FindingCode::UnjustifiedOverride,
                case.trace.events[i].activity.clone(),
                Some(i),
                case.time_text(i),
                why,
            );
            f.line = line;
            f.evidence.insert("recorded", recorded.to_string());
            f.evidence.insert("in force", current.clone());
            if let Some(x) = &assessed {
                f.evidence.insert("assessed", x.clone());
            }
            findings.push(f);
        };
        if recorded == current {
            // The assessed level came from an override: its requirements apply to whoever
            // records it.
            if kept.is_empty()
                && let Some(pr) = assessment.and_then(|x| x.priority.as_ref())
                && let Some(o) = pr.overrides.iter().find(|o| o.level == recorded)
            {
                let missing: Vec<&String> = o
                    .requires
                    .iter()
                    .filter(|r| match r.strip_prefix("role ") {
                        Some(role) => !has_role(role),
                        None => reason.is_empty(),
                    })
                    .collect();
                if !missing.is_empty() {
                    fail(
                        format!(
                            "override to `{recorded}` (event {}) is recorded without {}",
                            i + 1,
                            missing
                                .iter()
                                .map(|m| m.as_str())
                                .collect::<Vec<_>>()
                                .join(" and ")
                        ),
                        Some(o.line),
                    );
                }
                kept.push((i, recorded.to_string()));
            }
            continue;
        }
        let from = levels.iter().position(|l| *l == current).unwrap_or(to);
        let up = to < from;
        let dir = if up { "up" } else { "down" };
        let rule = a.regrades.iter().find(|(d, _, _)| {
            matches!(
                (d, up),
                (ast::RegradeDir::Any, _)
                    | (ast::RegradeDir::Up, true)
                    | (ast::RegradeDir::Down, false)
            )
        });
        let Some((_, requires, line)) = rule else {
            fail(
                format!(
                    "regrade {dir} from `{current}` to `{recorded}` (event {}) is not allowed by the procedure",
                    i + 1
                ),
                None,
            );
            continue;
        };
        let mut missing = Vec::new();
        for r in requires {
            match r {
                ast::Requirement::Role(n) if !has_role(&n.text) => {
                    missing.push(format!("role {}", n.text))
                }
                ast::Requirement::Reason(_) if reason.is_empty() => missing.push("a reason".into()),
                _ => {}
            }
        }
        if missing.is_empty() {
            kept.push((i, recorded.to_string()));
        } else {
            fail(
                format!(
                    "regrade {dir} from `{current}` to `{recorded}` (event {}) needs {}{}",
                    i + 1,
                    missing.join(" and "),
                    if role.is_empty() {
                        String::new()
                    } else {
                        format!(" (recorded role: {role})")
                    }
                ),
                Some(*line),
            );
        }
    }
    (kept, findings)
}
