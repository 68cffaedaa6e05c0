//! The one check pipeline: a procedure (or a net) and options in, one [`Verdict`] per
//! case out. `check`, `explain`, `test`, the simulator's ground-truth checks and every
//! later command run cases through [`Checker`]; none assembles the steps itself.
//!
//! For each case, in order:
//! 1. the procedure's activity mapping renames recorded labels to steps and sets aside
//!    what is not control flow ([`ActivityMap::prepare`]);
//! 2. the case is read as the perspectives read it (facts in force at each event,
//!    grades, outcomes), and at every position of its control-flow events the branch
//!    each `decide` requires is worked out from the facts then in force;
//! 3. the case is aligned with the net, data-aware: among the alignments with the
//!    fewest deviations, one that takes the fewest branches the facts rule out, then
//!    the fewest silent moves ([`Aligner::align_with`]); a running case (`as_of`) is
//!    aligned as a prefix, steps still to come costing nothing;
//! 4. the decisions the alignment passed are read off it, silent moves included, and
//!    every other perspective audits the case ([`Auditor`]);
//! 5. control-flow and audit findings are merged into the verdict.
//!
//! [`Checker::run`] streams logs through this in batches: one thread reads and groups
//! cases while the calling thread aligns (new variants in parallel) and audits (cases
//! in parallel), so memory follows the batch, not the log.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::Serialize;

use crate::audit::decisions::Pass;
use crate::audit::{Auditor, Obligation, Perspectives, Roster};
use crate::conformance::{ActivityMap, CaseResult};
use crate::log::{LogOptions, ReadStats, Rejected, Trace, read_log};
use crate::model::Procedure;
use crate::petri::Net;
use crate::petri::align::{Aligner, Guards, Key, Outcome, UNKNOWN};

/// A case's control-flow result, the decisions its alignment passed, and (running) the
/// steps its path still requires.
type CaseFlow = (CaseResult, Vec<Pass>, Option<Vec<String>>);

/// Ties the lifetime of a case's view to the case's trace (a closure alone cannot say it).
fn prepare_fn<'t, F>(f: F) -> F
where
    F: Fn(((&'t Trace, &'t Vec<usize>), bool)) -> (Option<crate::audit::CaseView<'t>>, Key),
{
    f
}
/// What to check and how.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Perspectives beyond control flow (control flow and loop bounds are always
    /// checked).
    pub perspectives: Perspectives,
    /// Cases without an end are running at this time.
    pub as_of: Option<DateTime<Utc>>,
    /// Keep each case's alignment as (log, model) rows.
    pub with_alignment: bool,
    /// Most states one case's alignment search may visit; a case that reaches it is
    /// `not-aligned` (counted, never a verdict). `None`: the default (5,000,000).
    pub max_states: Option<usize>,
    /// Longest one case's alignment search may run; a case that reaches it is
    /// `not-aligned` like one that reaches `max_states`. `None`: no limit.
    pub case_timeout: Option<std::time::Duration>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            perspectives: Perspectives::ALL,
            as_of: None,
            with_alignment: false,
            max_states: None,
            case_timeout: None,
        }
    }
}

/// The verdict on one case with what the perspectives add.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    #[serde(flatten)]
    pub result: CaseResult,
    /// The case is still running (no end reached, checked `as_of`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub running: bool,
    /// The priority in force at the end of the case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// The validity band assessed from the facts in force at the end of the case (not
    /// written by `check`; read by `diff`).
    #[serde(skip)]
    pub validity: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub obligations: Vec<Obligation>,
    /// The branches the alignment took, whatever the perspectives (for coverage).
    #[serde(skip)]
    pub branches: Vec<BranchTaken>,
}

pub use crate::audit::BranchTaken;

/// One case checked: the trace with its activities renamed to steps, the indices of
/// its control-flow events, and the verdict.
#[derive(Debug, Clone)]
pub struct Checked {
    pub trace: Trace,
    pub flow: Vec<usize>,
    pub verdict: Verdict,
}

/// A procedure (or a net) ready to check cases against.
pub struct Checker<'a> {
    net: &'a Net,
    aligner: Aligner<'a>,
    auditor: Option<Auditor<'a>>,
    map: Option<ActivityMap>,
    opts: CheckOptions,
    /// Each step's `by` role, to attribute findings without an event of their own.
    roles: BTreeMap<String, String>,
}

/// Cases aligned together (in parallel) before their verdicts are handed on in order.
pub const BATCH: usize = 512;

/// What [`Checker::run`] read and set aside, reconciled.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunStats {
    pub read: ReadStats,
    /// Events the procedure maps to `ignore`, to recorded events or to monitors, and
    /// acknowledgements and escalations: read by the perspectives, not control flow.
    pub events_set_aside: usize,
    /// Logs that could not be read at all: (path, reason).
    pub unreadable: Vec<(String, String)>,
    /// What the logs carried (gathered when perspectives beyond control flow are checked).
    pub carried: Carried,
    /// Control-flow activity labels no step of the net has, with how many events carry
    /// each (at most [`LABELS_KEPT`] labels; the rest are counted in `unmapped_other`).
    pub unmapped: BTreeMap<String, usize>,
    pub unmapped_other: usize,
    /// `acknowledges` values that name no step, with their counts.
    pub unknown_acknowledged: BTreeMap<String, usize>,
    /// Decision passes the facts could not judge (`unknown` obligations), by decision.
    pub undecided: BTreeMap<String, usize>,
}

/// How many distinct unmapped labels a run remembers by name.
pub const LABELS_KEPT: usize = 200;

impl<'a> Checker<'a> {
    /// A checker for `net`; with the procedure it was compiled from, the procedure's
    /// mapping and every perspective apply. Fails on a calendar with an unknown zone.
    pub fn new(
        net: &'a Net,
        procedure: Option<&'a Procedure>,
        opts: CheckOptions,
        roster: Option<Roster>,
    ) -> Result<Self, String> {
        let auditor = match procedure {
            Some(p) => {
                let a = Auditor::new(p, opts.perspectives)?;
                Some(match roster {
                    Some(r) => a.with_roster(r),
                    None => a,
                })
            }
            None if roster.is_some() => {
                return Err("a roster needs a procedure (-p), not a net".into());
            }
            None => None,
        };
        let mut aligner = Aligner::new(net);
        // A procedure's net is aligned by the search, whose choice among equally cheap
        // alignments (which step is told missing or out of order) its findings and tests
        // are written for; nets read from PNML or BPMN use the block alignment.
        if procedure.is_some() {
            aligner.disable_blocks();
        }
        if let Some(n) = opts.max_states {
            aligner.state_limit = n;
        }
        aligner.time_limit = opts.case_timeout;
        Ok(Checker {
            net,
            aligner,
            auditor,
            map: procedure.map(ActivityMap::from_procedure),
            opts,
            roles: procedure.map(step_roles).unwrap_or_default(),
        })
    }

    /// Reads timestamp facts the way the log writes its times (see
    /// [`Auditor::with_log_times`]).
    pub fn read_times_as(&mut self, opts: &LogOptions) {
        if let Some(a) = self.auditor.take() {
            self.auditor = Some(a.with_log_times(opts));
        }
    }

    pub fn options(&self) -> &CheckOptions {
        &self.opts
    }

    pub fn auditor(&self) -> Option<&Auditor<'a>> {
        self.auditor.as_ref()
    }

    pub fn activity_map(&self) -> Option<&ActivityMap> {
        self.map.as_ref()
    }

    /// The columns the perspectives read beyond activity, time and actor, to keep when
    /// reading a log.
    pub fn columns(&self) -> Vec<String> {
        self.auditor
            .as_ref()
            .filter(|_| self.opts.perspectives.any())
            .map(|a| a.columns())
            .unwrap_or_default()
    }

    /// Checks one case (activities as recorded).
    pub fn check(&mut self, trace: Trace) -> Checked {
        self.check_batch(vec![trace])
            .pop()
            .expect("check_batch gives one verdict per case")
    }

    /// Keeps at most `n` alignments in the cache (at least 1): a long-running caller
    /// that checks many prefixes (`watch`) trades some speed for a smaller footprint.
    pub fn limit_cache(&mut self, n: usize) {
        self.aligner.cache_limit = n.max(1);
    }

    /// Checks one case as of `as_of` (running if it has no end), whatever the options
    /// say; `None` checks it as finished. `watch` judges each open case this way.
    pub fn check_as_of(&mut self, trace: Trace, as_of: Option<DateTime<Utc>>) -> Checked {
        self.check_each_as_of(vec![(trace, as_of)])
            .pop()
            .expect("check_each_as_of gives one verdict per case")
    }

    /// Checks a batch of cases (activities as recorded); verdicts come back in order.
    pub fn check_batch(&mut self, traces: Vec<Trace>) -> Vec<Checked> {
        let as_of = self.opts.as_of;
        self.check_each_as_of(traces.into_iter().map(|t| (t, as_of)).collect())
    }

    /// Checks a batch of cases, each as of its own instant (as [`Checker::check_as_of`]
    /// does one), in parallel; verdicts come back in order. `watch` works out the
    /// judgements of a batch of events ahead this way.
    pub fn check_each_as_of(&mut self, cases: Vec<(Trace, Option<DateTime<Utc>>)>) -> Vec<Checked> {
        let (mut traces, as_ofs): (Vec<Trace>, Vec<Option<DateTime<Utc>>>) =
            cases.into_iter().unzip();
        let map = self.map.as_ref();
        let flow_of = |t: &mut Trace| match map {
            Some(m) => m.prepare(t),
            None => (0..t.events.len()).collect(),
        };
        let flows: Vec<Vec<usize>> = if traces.len() < 64 {
            traces.iter_mut().map(flow_of).collect()
        } else {
            traces.par_iter_mut().map(flow_of).collect()
        };
        let auditor = self.auditor.as_ref();
        let decisions = self.aligner.decisions().to_vec();
        // A running case (checked as of an instant) is aligned as a prefix.
        let prefixes: Vec<bool> = as_ofs.iter().map(Option::is_some).collect();
        // The case as the perspectives read it, and what its facts require at each
        // decision, case by case in parallel.
        // One case (as `watch` judges them) is checked on the caller's thread: handing it
        // to the pool and waiting for it costs more than the work.
        let one = traces.len() <= 1;
        let prepare = prepare_fn(|((t, flow), prefix): ((&Trace, &Vec<usize>), bool)| {
            let view = auditor.and_then(|a| a.view(t)).map(|mut v| {
                v.flow = flow.clone();
                v
            });
            let required = match auditor {
                Some(a) => a.required_branches(view.as_ref(), flow, &decisions),
                None => Vec::new(),
            };
            let acts: Vec<&str> = flow
                .iter()
                .map(|&i| t.events[i].activity.as_str())
                .collect();
            let key = (self.aligner.encode(&acts), Guards { required, prefix });
            (view, key)
        });
        let prepared: Vec<(Option<crate::audit::CaseView<'_>>, Key)> = if one {
            traces
                .iter()
                .zip(flows.iter())
                .zip(prefixes.iter().copied())
                .map(prepare)
                .collect()
        } else {
            traces
                .par_iter()
                .zip(flows.par_iter())
                .zip(prefixes.par_iter().copied())
                .map(prepare)
                .collect()
        };
        let (views, keys): (Vec<_>, Vec<Key>) = prepared.into_iter().unzip();
        self.aligner.prepare(&keys);
        // The alignments, from the cache (sequential); the rest case by case in parallel.
        let empty_cost = self.aligner.empty_cost();
        let cached: Vec<Option<Outcome>> = if keys.len() < 64 {
            keys.iter().map(|k| self.aligner.cached(k)).collect()
        } else {
            let aligner = &self.aligner;
            keys.par_iter().map(|k| aligner.cached(k)).collect()
        };
        let outcomes: Vec<Outcome> = cached
            .into_iter()
            .zip(&keys)
            .map(|(c, k)| c.unwrap_or_else(|| self.aligner.outcome(k)))
            .collect();
        let aligner = &self.aligner;
        let net = self.net;
        let with_alignment = self.opts.with_alignment;
        let case_flow = |t: &Trace, flow: &Vec<usize>, key: &Key, outcome: &Outcome| -> CaseFlow {
            let r = crate::conformance::result(
                net,
                empty_cost,
                t,
                flow,
                outcome.as_ref(),
                with_alignment,
                key.1.prefix && auditor.is_some(),
            );
            let al = outcome.as_ref().ok();
            let passes: Vec<Pass> = match (&al, auditor) {
                (Some(al), Some(a)) => {
                    let positions = flow.len() + 1;
                    crate::conformance::decision_passes(aligner, al)
                        .into_iter()
                        .filter_map(|(d, branch, position)| {
                            let decide = a.decide_index(decisions.get(d)?)?;
                            let required = key
                                .1
                                .required
                                .get(d * positions + position)
                                .copied()
                                .filter(|&b| b != UNKNOWN)
                                .map(usize::from);
                            Some(Pass {
                                decide,
                                branch,
                                position,
                                required,
                            })
                        })
                        .collect()
                }
                _ => Vec::new(),
            };
            // What a running case's path still requires after its last event.
            let still: Option<Vec<String>> = match (&al, key.1.prefix) {
                (Some(al), true) => {
                    let last = al.moves.iter().rposition(|m| {
                        matches!(
                            m,
                            crate::petri::align::Move::Sync { .. }
                                | crate::petri::align::Move::Log { .. }
                        )
                    });
                    Some(
                        al.moves
                            .iter()
                            .skip(last.map_or(0, |k| k + 1))
                            .filter_map(|m| match *m {
                                crate::petri::align::Move::Model { transition } => {
                                    net.transitions[transition].label.clone()
                                }
                                _ => None,
                            })
                            .collect(),
                    )
                }
                _ => None,
            };
            (r, passes, still)
        };
        let judge = |i: usize, view: Option<crate::audit::CaseView<'_>>| -> Verdict {
            let t = &traces[i];
            let (mut r, passes, still) = case_flow(t, &flows[i], &keys[i], &outcomes[i]);
            match auditor {
                Some(a) => {
                    let mut audit = a.audit_view(t, view, &r, &passes, still, as_ofs[i]);
                    a.merge(&mut r, &mut audit);
                    let by = crate::conformance::Responsible::new(t, &self.roles);
                    crate::conformance::attribute(&mut r.findings, &by);
                    for o in &mut audit.obligations {
                        o.actor = by.of(&o.step, &[], o.event_index);
                    }
                    Verdict {
                        result: r,
                        running: audit.running,
                        priority: audit.priority,
                        validity: audit.validity,
                        obligations: audit.obligations,
                        branches: a.branches_taken(&passes),
                    }
                }
                None => Verdict {
                    result: r,
                    running: false,
                    priority: None,
                    validity: None,
                    obligations: Vec::new(),
                    branches: Vec::new(),
                },
            }
        };
        let verdicts: Vec<Verdict> = if one {
            views
                .into_iter()
                .enumerate()
                .map(|(i, v)| judge(i, v))
                .collect()
        } else {
            views
                .into_par_iter()
                .enumerate()
                .map(|(i, v)| judge(i, v))
                .collect()
        };
        traces
            .into_iter()
            .zip(flows)
            .zip(verdicts)
            .map(|((trace, flow), verdict)| Checked {
                trace,
                flow,
                verdict,
            })
            .collect()
    }

    /// Counts the control-flow labels of a checked case that no step has, and the
    /// `acknowledges` values that name no step.
    fn tally_labels(&self, c: &Checked, stats: &mut RunStats) {
        for &i in &c.flow {
            let a = &c.trace.events[i].activity;
            if !self.aligner.knows(a) {
                let room = stats.unmapped.len() < LABELS_KEPT;
                match stats.unmapped.get_mut(a) {
                    Some(n) => *n += 1,
                    None if room => {
                        stats.unmapped.insert(a.clone(), 1);
                    }
                    None => stats.unmapped_other += 1,
                }
            }
        }
        let Some(p) = self.auditor.as_ref().map(|a| a.procedure()) else {
            return;
        };
        for e in &c.trace.events {
            let Some(v) = crate::log::attribute(&e.attributes, "acknowledges") else {
                continue;
            };
            for step in crate::audit::list(v) {
                if !p.symbols.steps.contains_key(&step)
                    && stats.unknown_acknowledged.len() < LABELS_KEPT
                {
                    *stats.unknown_acknowledged.entry(step).or_default() += 1;
                }
            }
        }
    }

    /// What a checked case adds to a run's tallies: events set aside, unmapped labels,
    /// decisions left unjudged.
    fn account(&self, c: &Checked, stats: &mut RunStats) {
        stats.events_set_aside += c.trace.events.len() - c.flow.len();
        self.tally_labels(c, stats);
        for o in c
            .verdict
            .obligations
            .iter()
            .filter(|o| o.kind == "decision" && o.status == crate::audit::Status::Unknown)
        {
            match stats.undecided.get_mut(&o.step) {
                Some(n) => *n += 1,
                None => {
                    stats.undecided.insert(o.step.clone(), 1);
                }
            }
        }
    }

    /// Reads each log (streamed) and checks its cases in batches, handing each checked
    /// case to `each` in log order and each rejected record to `reject`. `each`
    /// returning an error stops the run (e.g. a closed output).
    pub fn run<E>(
        &mut self,
        logs: &[PathBuf],
        log_opts: &LogOptions,
        each: &mut dyn FnMut(Checked) -> Result<(), E>,
        reject: &mut (dyn FnMut(Rejected) + Send),
    ) -> Result<RunStats, E> {
        let mut stats = RunStats::default();
        let mut batch = |batch: Vec<Trace>| -> Result<(), E> {
            if self.opts.perspectives.any() {
                for t in &batch {
                    stats.carried.add(t);
                }
            }
            for c in self.check_batch(batch) {
                self.account(&c, &mut stats);
                each(c)?;
            }
            Ok(())
        };
        let read = stream(logs, log_opts, &mut batch, reject)?;
        for (log, r) in read {
            match r {
                Ok(s) => stats.read.add(&s),
                Err(e) => stats.unreadable.push((log, e)),
            }
        }
        Ok(stats)
    }
}

/// Reads each log once and checks every case with two checkers (two versions of a
/// procedure, say), handing each case's results to `each` in log order: the first
/// checker's verdict and the second checker's checked case. The logs are read and
/// grouped once; the first checker checks each case, which then goes on (its activities
/// as recorded again) to the second. When both checkers have the same net, they share
/// one aligner: an alignment is a function of the net and the key (the trace's labels
/// and the branches its facts require), so a case whose key is the same under both is
/// aligned once, and one whose required branches differ is aligned anew. Returns each
/// checker's run tallies (the read counts are the same in both).
pub fn run_pair<'a, E>(
    first: &mut Checker<'a>,
    second: &mut Checker<'a>,
    logs: &[PathBuf],
    log_opts: &LogOptions,
    each: &mut dyn FnMut(Verdict, Checked) -> Result<(), E>,
    reject: &mut (dyn FnMut(Rejected) + Send),
) -> Result<(RunStats, RunStats), E> {
    let mut a = RunStats::default();
    let mut b = RunStats::default();
    let share = first.net == second.net;
    let mut batch = |batch: Vec<Trace>| -> Result<(), E> {
        for t in &batch {
            if first.opts.perspectives.any() {
                a.carried.add(t);
            }
            if second.opts.perspectives.any() {
                b.carried.add(t);
            }
        }
        // The mapping only renames activities: keep the recorded ones to put back.
        let recorded: Vec<Vec<String>> = batch
            .iter()
            .map(|t| t.events.iter().map(|e| e.activity.clone()).collect())
            .collect();
        let xs = first.check_batch(batch);
        let mut verdicts = Vec::with_capacity(xs.len());
        let mut again = Vec::with_capacity(xs.len());
        for (x, acts) in xs.into_iter().zip(recorded) {
            first.account(&x, &mut a);
            let mut t = x.trace;
            for (e, act) in t.events.iter_mut().zip(acts) {
                e.activity = act;
            }
            verdicts.push(x.verdict);
            again.push(t);
        }
        if share {
            std::mem::swap(&mut first.aligner, &mut second.aligner);
        }
        let ys = second.check_batch(again);
        if share {
            std::mem::swap(&mut first.aligner, &mut second.aligner);
        }
        for (x, y) in verdicts.into_iter().zip(ys) {
            second.account(&y, &mut b);
            each(x, y)?;
        }
        Ok(())
    };
    let read = stream(logs, log_opts, &mut batch, reject)?;
    for (log, r) in read {
        match r {
            Ok(s) => {
                a.read.add(&s);
                b.read.add(&s);
            }
            Err(e) => {
                a.unreadable.push((log.clone(), e.clone()));
                b.unreadable.push((log, e));
            }
        }
    }
    Ok((a, b))
}

/// Reads each log (streamed: one thread reads and groups cases while the caller's
/// thread handles batches of [`BATCH`] cases) and hands each batch to `batch`, in log
/// order. `batch` returning an error stops reading. Returns, per log, what the reader
/// counted or why the log could not be read.
#[allow(clippy::type_complexity)]
fn stream<E>(
    logs: &[PathBuf],
    log_opts: &LogOptions,
    batch: &mut dyn FnMut(Vec<Trace>) -> Result<(), E>,
    reject: &mut (dyn FnMut(Rejected) + Send),
) -> Result<Vec<(String, Result<ReadStats, String>)>, E> {
    let mut out = Vec::new();
    for log in logs {
        let reject = &mut *reject;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Trace>>(2);
        let mut failed: Option<E> = None;
        let read = std::thread::scope(|scope| {
            let reader = scope.spawn(move || {
                let mut pending: Vec<Trace> = Vec::new();
                let r = read_log(
                    log,
                    log_opts,
                    &mut |trace| {
                        pending.push(trace);
                        if pending.len() >= BATCH {
                            let _ = tx.send(std::mem::take(&mut pending));
                        }
                    },
                    reject,
                );
                if !pending.is_empty() {
                    let _ = tx.send(pending);
                }
                drop(tx);
                r
            });
            for b in rx.iter() {
                if failed.is_some() {
                    continue;
                }
                if let Err(e) = batch(b) {
                    failed = Some(e);
                }
            }
            reader
                .join()
                .unwrap_or_else(|_| Err("the log reader stopped unexpectedly".to_string()))
        });
        if let Some(e) = failed {
            return Err(e);
        }
        out.push((log.display().to_string(), read));
    }
    Ok(out)
}

/// Each step's `by` role (the first, when a step names several).
fn step_roles(p: &Procedure) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for s in &p.ast().sections {
        if let crate::ast::Section::Flow { body, .. } = s {
            crate::audit::decisions::each_stmt(body, &mut |st| {
                if let crate::ast::Stmt::Step(step) = st {
                    for a in &step.attrs {
                        if let crate::ast::StepAttr::By(roles, _) = a
                            && let Some(r) = roles.first()
                        {
                            out.insert(step.name.text.clone(), r.text.clone());
                        }
                    }
                }
            });
        }
    }
    out
}

/// Totals over many verdicts: what the summaries of every output format show.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub cases: usize,
    pub conforming: usize,
    /// Cases whose alignment search reached its state limit: no verdict.
    pub not_aligned: usize,
    pub fitness_sum: f64,
    pub warnings: usize,
    pub running: usize,
    pub by_code: BTreeMap<&'static str, usize>,
    pub by_step: BTreeMap<String, usize>,
    pub obligations: BTreeMap<&'static str, usize>,
}

impl Summary {
    pub fn add(&mut self, v: &Verdict) {
        let r = &v.result;
        self.cases += 1;
        self.running += usize::from(v.running);
        self.not_aligned += usize::from(r.cost.is_none());
        for o in &v.obligations {
            *self.obligations.entry(o.status.as_str()).or_default() += 1;
        }
        self.warnings += r
            .findings
            .iter()
            .filter(|f| {
                crate::audit::codes::severity(f.code) == crate::audit::codes::Severity::Warning
            })
            .count();
        if r.conforming {
            self.conforming += 1;
        }
        self.fitness_sum += r.fitness.unwrap_or(0.0);
        for f in &r.findings {
            *self.by_code.entry(f.code.as_str()).or_default() += 1;
            if !f.step.is_empty() {
                *self.by_step.entry(f.step.clone()).or_default() += 1;
            }
        }
    }

    /// Over the cases aligned: a case the search gave up on has no fitness.
    pub fn mean_fitness(&self) -> Option<f64> {
        let aligned = self.cases - self.not_aligned.min(self.cases);
        (aligned > 0).then(|| self.fitness_sum / aligned as f64)
    }
}

/// What a log carries, gathered while it is checked: the fields the perspectives read
/// and how many events have a time and an actor.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Carried {
    pub events: usize,
    pub with_time: usize,
    pub with_actor: usize,
    /// Attribute names seen on any event (case attributes with their `case:` prefix).
    pub keys: std::collections::BTreeSet<String>,
    /// The interned keys already counted (a reader shares one allocation per key).
    #[serde(skip)]
    known: Vec<std::sync::Arc<str>>,
}

impl Carried {
    pub fn add(&mut self, trace: &Trace) {
        for e in &trace.events {
            self.events += 1;
            self.with_time += usize::from(e.timestamp.is_some());
            self.with_actor += usize::from(e.resource.is_some());
            for (k, _) in &e.attributes {
                if self.known.iter().any(|x| std::sync::Arc::ptr_eq(x, k)) {
                    continue;
                }
                if self.known.len() < 256 {
                    self.known.push(k.clone());
                }
                if !self.keys.contains(&**k) {
                    self.keys.insert(k.to_string());
                }
            }
        }
    }

    fn has(&self, key: &str) -> bool {
        self.keys.contains(key)
    }
}

/// A perspective that could not be checked as asked, for lack of data in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetupWarning {
    /// `no-actor`, `no-timestamps`, `some-without-timestamp`, `assumed-utc`,
    /// `no-communication-fields`, `no-acknowledgements`, `no-resources`, `no-facts`,
    /// `empty-log`, `unmapped-labels`, `unknown-acknowledged`, `undecided`.
    pub kind: &'static str,
    pub message: String,
}

/// What a procedure's perspectives need that the log did not carry. Findings in those
/// perspectives rest on absent data: a warning says so (and `--strict` fails on it).
pub fn setup_warnings(
    auditor: Option<&Auditor<'_>>,
    perspectives: Perspectives,
    carried: &Carried,
) -> Vec<SetupWarning> {
    let mut out = Vec::new();
    if carried.events == 0 {
        out.push(SetupWarning {
            kind: "empty-log",
            message: "the log holds no events: nothing was checked".into(),
        });
        return out;
    }
    let Some(a) = auditor else {
        return out;
    };
    let needs = a.needs();
    if (perspectives.time || perspectives.monitoring) && needs.times && carried.with_time == 0 {
        out.push(SetupWarning {
            kind: "no-timestamps",
            message: "no event has a readable timestamp: time limits, acknowledgements, \
                      monitoring and escalations cannot be checked (is the timestamp column \
                      named right? see --timestamp and --timestamp-format)"
                .into(),
        });
    }
    if perspectives.communication
        && !needs.communication.is_empty()
        && !needs.communication.iter().any(|k| carried.has(k))
    {
        out.push(SetupWarning {
            kind: "no-communication-fields",
            message: format!(
                "no event carries {}: every inform and instruct will read as not done",
                needs
                    .communication
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    if perspectives.communication && needs.acknowledgements && !carried.has("acknowledges") {
        out.push(SetupWarning {
            kind: "no-acknowledgements",
            message: "no event carries `acknowledges`: every acknowledgement the procedure \
                      asks for will read as missing"
                .into(),
        });
    }
    if perspectives.resources
        && needs.resources
        && carried.with_actor == 0
        && !carried.has(&needs.resource_field)
    {
        out.push(SetupWarning {
            kind: "no-resources",
            message: format!(
                "no event names a resource (`{}` or the actor column): resource needs will \
                 read as unmet",
                needs.resource_field
            ),
        });
    }
    if perspectives.decisions
        && !needs.facts.is_empty()
        && !needs
            .facts
            .iter()
            .any(|f| carried.has(f) || carried.has(&format!("case:{f}")))
    {
        out.push(SetupWarning {
            kind: "no-facts",
            message: "no event or case carries any of the procedure's facts: decisions \
                      cannot be re-checked"
                .into(),
        });
    }
    out
}

/// Set-up warnings from what a log carried: no times at all, no actors for the
/// procedure's actor constraints, times read as UTC.
pub fn read_warnings(
    stats: &crate::log::ReadStats,
    opts: &crate::log::LogOptions,
    procedure: Option<&Procedure>,
) -> Vec<SetupWarning> {
    let mut out = Vec::new();
    let mut say = |kind: &'static str, message: String| out.push(SetupWarning { kind, message });
    let actor_rules = procedure
        .map(crate::log::actor_constraints)
        .unwrap_or_default();
    if stats.events_in_cases > 0 && stats.events_with_actor == 0 && !actor_rules.is_empty() {
        say(
            "no-actor",
            format!(
                "no event has an actor in `{}`: {} could not be checked; name the actor \
             column with --actor or `attribute \"COLUMN\" -> actor` in the mapping",
                opts.resource,
                actor_rules.join(", ")
            ),
        );
    }
    if stats.events_in_cases > 0 && stats.events_without_timestamp == stats.events_in_cases {
        let seen: Vec<&str> = stats.columns.iter().map(String::as_str).collect();
        say(
            "no-timestamps",
            format!(
                "no event has a time in `{}` (columns seen: {}): time limits, \
             acknowledgements, escalation, monitoring and rosters were not checked; name the \
             time column with --timestamp or `attribute \"COLUMN\" -> timestamp` in the mapping",
                opts.timestamp,
                seen.join(", ")
            ),
        );
    } else if stats.events_without_timestamp > 0 {
        say(
            "some-without-timestamp",
            format!(
                "{} of {} events have no time in `{}`: the checks that need their time \
             were not made on them",
                stats.events_without_timestamp, stats.events_in_cases, opts.timestamp
            ),
        );
    }
    if stats.events_assumed_utc > 0 {
        say(
            "assumed-utc",
            format!(
                "{} timestamps without a time zone were read as UTC (--assume-utc); if \
             they are local times, give --timezone ZONE instead",
                stats.events_assumed_utc
            ),
        );
    }
    out
}

/// Every warning of a run, in the order `check` gives them: how the log was read (no
/// actors for actor constraints, no times, times assumed UTC), what the perspectives need
/// and the log lacks, how its labels met the procedure, and decisions left unjudged.
pub fn warnings(
    procedure: Option<&Procedure>,
    auditor: Option<&Auditor<'_>>,
    perspectives: Perspectives,
    stats: &RunStats,
    log: &LogOptions,
) -> Vec<SetupWarning> {
    let mut out = read_warnings(&stats.read, log, procedure);
    // The reader's own warning on times names the column it looked for.
    out.extend(
        setup_warnings(auditor, perspectives, &stats.carried)
            .into_iter()
            .filter(|w| w.kind != "no-timestamps" && w.kind != "empty-log"),
    );
    let events = stats
        .read
        .events_in_cases
        .saturating_sub(stats.events_set_aside + stats.read.events_collapsed);
    out.extend(label_warnings(procedure, stats, events));
    out
}

/// Warnings on how the log's labels met the procedure: control-flow labels no step has
/// (with counts and the nearest step or mapped label), and `acknowledges` values naming
/// no step. `events` is the number of control-flow events checked.
pub fn label_warnings(
    procedure: Option<&Procedure>,
    stats: &RunStats,
    events: usize,
) -> Vec<SetupWarning> {
    let mut out = Vec::new();
    let unmapped: usize = stats.unmapped.values().sum::<usize>() + stats.unmapped_other;
    if unmapped > 0 {
        let mut top: Vec<(&String, &usize)> = stats.unmapped.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let shown = named_counts(procedure, top.iter().copied());
        out.push(SetupWarning {
            kind: "unmapped-labels",
            message: format!(
                "{unmapped} of {events} control-flow events carry a label no step has, so \
                 they read as unexpected steps: {}{}; map them in the procedure's `mapping` \
                 (`activity \"LABEL\" -> step`) or check --activity",
                shown.join(", "),
                if top.len() > 5 {
                    format!(" and {} more labels", top.len() - 5)
                } else {
                    String::new()
                }
            ),
        });
    }
    if !stats.undecided.is_empty() {
        let n: usize = stats.undecided.values().sum();
        let each: Vec<String> = stats
            .undecided
            .iter()
            .map(|(d, k)| format!("`{d}` ({k})"))
            .collect();
        out.push(SetupWarning {
            kind: "undecided",
            message: format!(
                "{n} decision passes could not be judged, the values they read being missing, \
                 unknown or set by a caller: {}; they are counted as `unknown` obligations, \
                 not as met",
                each.join(", ")
            ),
        });
    }
    if !stats.unknown_acknowledged.is_empty() {
        let shown = named_counts(procedure, stats.unknown_acknowledged.iter());
        out.push(SetupWarning {
            kind: "unknown-acknowledged",
            message: format!(
                "`acknowledges` names no step of the procedure: {}; it must name the step \
                 (not the log's label), so these acknowledge nothing",
                shown.join(", ")
            ),
        });
    }
    out
}

/// The first five names with their counts and the nearest step, if one is near:
/// "`Reply` (1; did you mean `reply`?)".
fn named_counts<'s>(
    procedure: Option<&Procedure>,
    items: impl Iterator<Item = (&'s String, &'s usize)>,
) -> Vec<String> {
    items
        .take(5)
        .map(|(l, n)| match procedure.and_then(|p| nearest(p, l)) {
            Some(s) => format!("`{l}` ({n}; did you mean `{s}`?)"),
            None => format!("`{l}` ({n})"),
        })
        .collect()
}

/// The step (or mapped label's step) nearest to a label, when it is near enough.
pub fn nearest(p: &Procedure, label: &str) -> Option<String> {
    let low = label.to_lowercase();
    let mut best: Option<(usize, String)> = None;
    let mut consider = |cand: &str, step: &str| {
        let d = crate::diagnostic::edit_distance(&low, &cand.to_lowercase());
        if d <= (cand.len().max(3) / 3) && best.as_ref().is_none_or(|(b, _)| d < *b) {
            best = Some((d, step.to_string()));
        }
    };
    for s in p.symbols.steps.keys() {
        consider(s, s);
    }
    for (l, s) in &ActivityMap::from_procedure(p).labels {
        if let Some(s) = s {
            consider(l, s);
        }
    }
    best.map(|(_, s)| s)
}

/// The perspectives a log with what `carried` holds can support: those whose data is
/// wholly absent are left out (used where a case is written by hand, as in a test).
pub fn supported(auditor: &Auditor<'_>, mut p: Perspectives, carried: &Carried) -> Perspectives {
    for w in setup_warnings(Some(auditor), p, carried) {
        match w.kind {
            "no-timestamps" => {
                p.time = false;
                p.monitoring = false;
            }
            "no-communication-fields" | "no-acknowledgements" => p.communication = false,
            "no-resources" => p.resources = false,
            "no-facts" => p.decisions = false,
            _ => {}
        }
    }
    p
}
