//! `procedo diff`: a procedure change judged against history.
//!
//! Three results, all typed: what changed in the procedure's own terms
//! ([`changes::changes`], from the two resolved models); what the change does to
//! recorded cases ([`compare_logs`]: every case of the logs is read once and checked
//! under both versions through [`crate::check::run_pair`], and the verdicts that differ
//! are reported, with the findings and obligations behind them and the line of the new
//! version that caused each); and what it does to the assessment of incidents
//! ([`compare_incidents`], validity band and priority under both versions). [`Gate`]
//! decides whether a CI run fails. Nothing here prints or reads the environment.

pub mod changes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use changes::{ChangeKind, ProcedureChange, changes, format_ms};

use crate::audit::Status;
use crate::check::{CheckOptions, Checked, Checker, RunStats, Verdict};
use crate::codes::Severity;
use crate::eval::Assessor;
use crate::input::{InputFormat, Location, RawRecord, read_records};
use crate::log::{LogOptions, Rejected};
use crate::model::Procedure;
use crate::petri::Net;

/// The version of the JSON document `diff --format json` writes; fields are only added
/// within a version.
pub const JSON_VERSION: u32 = 1;

/// How many example case ids a group keeps.
pub const EXAMPLES: usize = 5;

/// One version of a procedure ready to check: the model and its net.
pub struct Version<'a> {
    pub procedure: &'a Procedure,
    pub net: &'a Net,
}

/// Whether two nets are the same net (places, transitions, labels, arcs, branches,
/// markings): then control flow cannot differ, and alignments are shared.
pub fn same_net(a: &Net, b: &Net) -> bool {
    a == b
}

/// Why a log cannot be read once for both versions: the two versions' mappings read it
/// with different columns, zone or format. Then [`compare_logs_apart`] reads it with
/// each.
pub fn reading_conflict(a: &LogOptions, b: &LogOptions) -> Option<String> {
    let mut diffs = Vec::new();
    if a.activity != b.activity {
        diffs.push(format!(
            "activity `{}` vs `{}`",
            a.activity.join("+"),
            b.activity.join("+")
        ));
    }
    for (what, x, y) in [
        ("case", &a.case, &b.case),
        ("timestamp", &a.timestamp, &b.timestamp),
        ("actor", &a.resource, &b.resource),
    ] {
        if x != y {
            diffs.push(format!("{what} column `{x}` vs `{y}`"));
        }
    }
    if a.timestamp_format != b.timestamp_format {
        diffs.push("timestamp format".into());
    }
    if a.timezone != b.timezone {
        diffs.push("time zone".into());
    }
    (!diffs.is_empty()).then(|| {
        format!(
            "the two versions read logs differently ({}): each version reads them on its \
             own and cases are matched by id",
            diffs.join(", ")
        )
    })
}

/// A case's verdict under one version, as the diff reads it.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// `conforming` or `non-conforming`.
    pub verdict: &'static str,
    pub conforming: bool,
    /// The case is still running (`--as-of`): obligations not yet due are pending.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub running: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validity: Option<String>,
}

fn side(v: &Verdict) -> Side {
    Side {
        verdict: if v.result.conforming {
            "conforming"
        } else {
            "non-conforming"
        },
        conforming: v.result.conforming,
        running: v.running,
        priority: v.priority.clone(),
        validity: v.validity.clone(),
    }
}

/// A finding behind a flip: present under one version and not the other.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Cause {
    pub code: String,
    pub step: String,
    /// `new`: the finding appears under the new version only; `old`: under the old only.
    pub under: &'static str,
    /// The line of the new version behind it (the finding's own line under the new
    /// version; for a finding gone under it, the line of its step or constraint there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_line: Option<usize>,
    /// The finding's line under the old version, when it had one there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_line: Option<usize>,
}

/// A case whose conforming verdict differs between the versions.
#[derive(Debug, Clone, Serialize)]
pub struct Flip {
    pub case_id: String,
    pub old: Side,
    pub new: Side,
    /// The error findings that make the difference.
    pub codes: Vec<Cause>,
}

/// Flips grouped by direction, code and step.
#[derive(Debug, Clone, Serialize)]
pub struct FlipGroup {
    /// `to-non-conforming` or `to-conforming`.
    pub direction: &'static str,
    pub code: String,
    pub step: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_line: Option<usize>,
    pub cases: usize,
    pub examples: Vec<String>,
    /// The changes behind it, as indices into the procedure's `changes` (see [`link`]).
    pub changes: Vec<usize>,
}

/// Obligations whose status changed, grouped by kind, step and criterion.
#[derive(Debug, Clone, Serialize)]
pub struct ObligationChange {
    /// `newly-violated` or `newly-met`.
    pub change: &'static str,
    /// `deadline`, `acknowledgement`, `decision`, ...
    pub kind: String,
    pub step: String,
    /// What the new version requires, in words (for one no longer asked, the old one's).
    pub criterion: String,
    /// The line of the new version behind it (of the old one when it is gone there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_line: Option<usize>,
    pub cases: usize,
    pub examples: Vec<String>,
    /// The changes behind it, as indices into the procedure's `changes` (see [`link`]).
    pub changes: Vec<usize>,
}

/// A case or incident whose assessed level differs.
#[derive(Debug, Clone, Serialize)]
pub struct LevelChange {
    pub case_id: String,
    pub old: Option<String>,
    pub new: Option<String>,
    /// Levels moved on the new version's scale (positive: higher priority or a stronger
    /// band); `None` when a level is not on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub levels: Option<i64>,
}

/// Level changes counted by (old, new).
#[derive(Debug, Clone, Serialize)]
pub struct LevelShift {
    pub old: Option<String>,
    pub new: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub levels: Option<i64>,
    pub cases: usize,
    pub examples: Vec<String>,
}

/// Level changes summed up: how many, up and down, per (old, new) pair.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LevelSummary {
    pub changed: usize,
    pub up: usize,
    pub down: usize,
    /// Changes whose direction cannot be told (a level not on the new scale, or none).
    pub other: usize,
    pub by_level: Vec<LevelShift>,
}

fn summarise(changes: &[LevelChange]) -> LevelSummary {
    let mut s = LevelSummary {
        changed: changes.len(),
        ..LevelSummary::default()
    };
    let mut groups: BTreeMap<(Option<String>, Option<String>), LevelShift> = BTreeMap::new();
    for c in changes {
        match c.levels {
            Some(l) if l > 0 => s.up += 1,
            Some(l) if l < 0 => s.down += 1,
            _ => s.other += 1,
        }
        let g = groups
            .entry((c.old.clone(), c.new.clone()))
            .or_insert_with(|| LevelShift {
                old: c.old.clone(),
                new: c.new.clone(),
                levels: c.levels,
                cases: 0,
                examples: Vec::new(),
            });
        g.cases += 1;
        if g.examples.len() < EXAMPLES {
            g.examples.push(c.case_id.clone());
        }
    }
    s.by_level = groups.into_values().collect();
    s.by_level.sort_by_key(|g| std::cmp::Reverse(g.cases));
    s
}

/// What the change does to recorded cases.
#[derive(Debug, Clone, Default, Serialize)]
pub struct History {
    pub logs: Vec<String>,
    /// Cases read and checked under both versions.
    pub cases: usize,
    pub conforming_old: usize,
    pub conforming_new: usize,
    /// The nets of both versions are identical: control flow cannot differ.
    pub same_net: bool,
    pub flips: Vec<Flip>,
    pub flip_groups: Vec<FlipGroup>,
    pub obligations: Vec<ObligationChange>,
    pub priority_changes: Vec<LevelChange>,
    pub priority_summary: LevelSummary,
    pub validity_changes: Vec<LevelChange>,
    pub validity_summary: LevelSummary,
    /// Records the log reader rejected (read once: the same for both versions; read
    /// apart: under either).
    pub rejected: usize,
    /// Whether the logs were read once for both versions (`false`: the versions read
    /// them differently, so each read them on its own and cases were matched by id).
    pub read_once: bool,
    /// Cases not compared: read under one version only (read apart), or whose alignment
    /// search gave up (`--max-states`) under a version.
    pub not_comparable: usize,
    /// Of those, the cases not aligned under a version (`not-aligned`: nothing is known
    /// of them there, so they are no verdict and no flip).
    pub not_aligned: usize,
    /// The first [`MAX_NOT_COMPARABLE`] of them, with why.
    pub not_comparable_examples: Vec<NotComparable>,
    /// Logs that could not be read: (path, reason).
    pub unreadable: Vec<(String, String)>,
    /// The run tallies of each version (for warnings).
    #[serde(skip)]
    pub stats: (RunStats, RunStats),
}

impl History {
    pub fn to_non_conforming(&self) -> usize {
        self.flips.iter().filter(|f| !f.new.conforming).count()
    }

    pub fn to_conforming(&self) -> usize {
        self.flips.iter().filter(|f| f.new.conforming).count()
    }

    pub fn newly_violated(&self) -> usize {
        self.obligations
            .iter()
            .filter(|o| o.change == "newly-violated")
            .map(|o| o.cases)
            .sum()
    }
}

/// Accumulates the comparison case by case.
struct Acc<'a> {
    new: &'a Procedure,
    h: History,
    groups: BTreeMap<(&'static str, String, String), FlipGroup>,
    obligations: BTreeMap<(&'static str, String, String, String), ObligationChange>,
    new_lines: BTreeMap<String, usize>,
    levels: Vec<String>,
    bands: Vec<String>,
}

/// The line of each step, monitor, decide and constraint of a procedure, by name.
fn item_lines(p: &Procedure) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let line = |s: crate::source::Span| p.unit.source.line_col(s.start).0;
    for sec in &p.ast().sections {
        match sec {
            crate::ast::Section::Flow { body, .. } => {
                crate::audit::decisions::each_stmt(body, &mut |st| {
                    let (name, span) = match st {
                        crate::ast::Stmt::Step(s) => (s.name.text.clone(), s.span),
                        crate::ast::Stmt::Monitor(m) => (m.name.text.clone(), m.span),
                        crate::ast::Stmt::Decide(d) => (d.name.text.clone(), d.span),
                        crate::ast::Stmt::Call(c) => (c.step_name().text, c.span),
                        _ => return,
                    };
                    out.entry(name).or_insert(line(span));
                });
            }
            crate::ast::Section::Constraints { items, .. } => {
                for c in items {
                    out.entry(c.name.text.clone()).or_insert(line(c.span));
                }
            }
            _ => {}
        }
    }
    out
}

/// The level moved between `old` and `new` on `scale` (highest first): positive up.
fn moved(scale: &[String], old: Option<&str>, new: Option<&str>) -> Option<i64> {
    let i = scale.iter().position(|l| Some(l.as_str()) == old)?;
    let j = scale.iter().position(|l| Some(l.as_str()) == new)?;
    Some(i as i64 - j as i64)
}

impl<'a> Acc<'a> {
    fn new(new: &'a Procedure) -> Self {
        Acc {
            new,
            h: History::default(),
            groups: BTreeMap::new(),
            obligations: BTreeMap::new(),
            new_lines: item_lines(new),
            levels: new.symbols.levels.clone(),
            bands: new.symbols.validity_bands.clone().unwrap_or_default(),
        }
    }

    /// A case not compared, with why.
    fn skip(&mut self, id: &str, reason: String) {
        self.h.not_comparable += 1;
        if self.h.not_comparable_examples.len() < MAX_NOT_COMPARABLE {
            self.h.not_comparable_examples.push(NotComparable {
                id: id.to_string(),
                location: String::new(),
                reason,
            });
        }
    }

    fn add(&mut self, old: &Verdict, new: &Verdict) {
        let id = new.result.case_id.clone();
        // A search that gave up says nothing of the case: no verdict to compare.
        let unaligned: Vec<&str> = [("old", old), ("new", new)]
            .iter()
            .filter(|(_, v)| v.result.cost.is_none())
            .map(|(w, _)| *w)
            .collect();
        if !unaligned.is_empty() {
            self.h.not_aligned += 1;
            self.skip(
                &id,
                format!(
                    "not aligned under the {} version (the search reached --max-states)",
                    unaligned.join(" and the ")
                ),
            );
            return;
        }
        self.h.cases += 1;
        self.h.conforming_old += usize::from(old.result.conforming);
        self.h.conforming_new += usize::from(new.result.conforming);
        if old.result.conforming != new.result.conforming {
            let codes = self.causes(old, new);
            let direction = if new.result.conforming {
                "to-conforming"
            } else {
                "to-non-conforming"
            };
            for c in &codes {
                let g = self
                    .groups
                    .entry((direction, c.code.clone(), c.step.clone()))
                    .or_insert_with(|| FlipGroup {
                        direction,
                        code: c.code.clone(),
                        step: c.step.clone(),
                        new_line: c.new_line,
                        cases: 0,
                        examples: Vec::new(),
                        changes: Vec::new(),
                    });
                g.cases += 1;
                if g.examples.len() < EXAMPLES {
                    g.examples.push(id.clone());
                }
            }
            self.h.flips.push(Flip {
                case_id: id.clone(),
                old: side(old),
                new: side(new),
                codes,
            });
        }
        self.obligations_of(&id, old, new);
        if old.priority != new.priority {
            self.h.priority_changes.push(LevelChange {
                case_id: id.clone(),
                levels: moved(
                    &self.levels,
                    old.priority.as_deref(),
                    new.priority.as_deref(),
                ),
                old: old.priority.clone(),
                new: new.priority.clone(),
            });
        }
        if old.validity != new.validity {
            self.h.validity_changes.push(LevelChange {
                case_id: id,
                levels: moved(
                    &self.bands,
                    old.validity.as_deref(),
                    new.validity.as_deref(),
                ),
                old: old.validity.clone(),
                new: new.validity.clone(),
            });
        }
    }

    /// The error findings under one version that the other does not have (by code and
    /// step, counted).
    fn causes(&self, old: &Verdict, new: &Verdict) -> Vec<Cause> {
        let errors = |v: &Verdict| -> Vec<(String, String, Option<usize>)> {
            v.result
                .findings
                .iter()
                .filter(|f| crate::codes::severity(f.code) == Severity::Error)
                .map(|f| (f.code.as_str().to_string(), f.step.clone(), f.line))
                .collect()
        };
        let (o, n) = (errors(old), errors(new));
        let only = |xs: &[(String, String, Option<usize>)],
                    ys: &[(String, String, Option<usize>)]| {
            let mut left: Vec<bool> = vec![true; ys.len()];
            let mut out = Vec::new();
            for x in xs {
                match ys
                    .iter()
                    .enumerate()
                    .position(|(i, y)| left[i] && y.0 == x.0 && y.1 == x.1)
                {
                    Some(i) => left[i] = false,
                    None => out.push(x.clone()),
                }
            }
            out
        };
        let mut out: Vec<Cause> = Vec::new();
        if !new.result.conforming {
            for (code, step, line) in only(&n, &o) {
                // A control-flow finding has no line of its own: its step's.
                let new_line = line.or_else(|| self.new_lines.get(&step).copied());
                out.push(Cause {
                    code,
                    step,
                    under: "new",
                    new_line,
                    old_line: None,
                });
            }
        } else {
            for (code, step, line) in only(&o, &n) {
                let new_line = self.new_lines.get(&step).copied();
                out.push(Cause {
                    code,
                    step,
                    under: "old",
                    new_line,
                    old_line: line,
                });
            }
        }
        out.sort();
        out.dedup();
        out
    }

    fn obligations_of(&mut self, id: &str, old: &Verdict, new: &Verdict) {
        // Pair the k-th obligation of a (kind, step) under each version.
        let mut olds: BTreeMap<(&str, &str), Vec<&crate::audit::Obligation>> = BTreeMap::new();
        for o in &old.obligations {
            olds.entry((o.kind, o.step.as_str())).or_default().push(o);
        }
        let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        let mut events: Vec<(&'static str, String, String, String, Option<usize>)> = Vec::new();
        for n in &new.obligations {
            let k = (n.kind, n.step.as_str());
            let i = seen.entry(k).or_default();
            let o = olds.get(&k).and_then(|xs| xs.get(*i));
            *i += 1;
            let was_violated = o.is_some_and(|o| o.status == Status::Violated);
            if n.status == Status::Violated && !was_violated {
                events.push((
                    "newly-violated",
                    n.kind.to_string(),
                    n.step.clone(),
                    n.required.clone(),
                    Some(n.line),
                ));
            } else if n.status == Status::Met && was_violated {
                events.push((
                    "newly-met",
                    n.kind.to_string(),
                    n.step.clone(),
                    n.required.clone(),
                    Some(n.line),
                ));
            }
        }
        // Violated obligations the new version no longer asks for are met by it.
        for (k, xs) in &olds {
            let asked = seen.get(k).copied().unwrap_or(0);
            for o in xs.iter().skip(asked) {
                if o.status == Status::Violated {
                    events.push((
                        "newly-met",
                        o.kind.to_string(),
                        o.step.clone(),
                        format!("{} (no longer asked)", o.required),
                        self.new_lines.get(&o.step).copied().or(Some(o.line)),
                    ));
                }
            }
        }
        events.sort();
        events.dedup();
        for (change, kind, step, criterion, line) in events {
            let g = self
                .obligations
                .entry((change, kind.clone(), step.clone(), criterion.clone()))
                .or_insert_with(|| ObligationChange {
                    change,
                    kind,
                    step,
                    criterion,
                    new_line: line,
                    cases: 0,
                    examples: Vec::new(),
                    changes: Vec::new(),
                });
            g.cases += 1;
            if g.examples.len() < EXAMPLES {
                g.examples.push(id.to_string());
            }
        }
    }

    fn finish(mut self) -> History {
        let _ = self.new;
        self.h.flip_groups = self.groups.into_values().collect();
        self.h
            .flip_groups
            .sort_by(|a, b| b.cases.cmp(&a.cases).then(a.code.cmp(&b.code)));
        self.h.obligations = self.obligations.into_values().collect();
        self.h
            .obligations
            .sort_by(|a, b| b.cases.cmp(&a.cases).then(a.step.cmp(&b.step)));
        self.h.priority_summary = summarise(&self.h.priority_changes);
        self.h.validity_summary = summarise(&self.h.validity_changes);
        self.h
    }
}

/// Reads the logs once and checks every case under both versions (with the resources
/// roster, if any, under both); `reject` receives each record the reader rejects. `log_opts` is how both versions read the logs (see
/// [`reading_conflict`]); the columns either version's perspectives read are added.
/// Fails when a checker cannot be made (a calendar with an unknown zone).
#[allow(clippy::too_many_arguments)]
pub fn compare_logs<'a>(
    old: &Version<'a>,
    new: &Version<'a>,
    opts: &CheckOptions,
    roster: Option<crate::audit::Roster>,
    logs: &[PathBuf],
    log_opts: &LogOptions,
    reject: &mut (dyn FnMut(Rejected) + Send),
) -> Result<History, String> {
    let mut a = Checker::new(old.net, Some(old.procedure), opts.clone(), roster.clone())
        .map_err(|e| format!("the old version: {e}"))?;
    let mut b = Checker::new(new.net, Some(new.procedure), opts.clone(), roster)
        .map_err(|e| format!("the new version: {e}"))?;
    let mut log_opts = log_opts.clone();
    log_opts.keep_attributes = false;
    log_opts.extra.extend(a.columns());
    log_opts.extra.extend(b.columns());
    a.read_times_as(&log_opts);
    b.read_times_as(&log_opts);
    let mut acc = Acc::new(new.procedure);
    let mut rejected = 0usize;
    let mut count = |r: Rejected| {
        rejected += 1;
        reject(r);
    };
    let mut each = |x: Verdict, y: Checked| -> Result<(), std::convert::Infallible> {
        acc.add(&x, &y.verdict);
        Ok(())
    };
    let (sa, sb) =
        match crate::check::run_pair(&mut a, &mut b, logs, &log_opts, &mut each, &mut count) {
            Ok(x) => x,
            Err(never) => match never {},
        };
    let mut h = acc.finish();
    h.logs = logs.iter().map(|p| p.display().to_string()).collect();
    h.same_net = same_net(old.net, new.net);
    h.read_once = true;
    h.rejected = rejected;
    h.unreadable = sa.unreadable.clone();
    h.stats = (sa, sb);
    Ok(h)
}

/// Like [`compare_logs`], for versions that read the logs differently (see
/// [`reading_conflict`]): each version reads the logs with its own options and checks
/// every case; cases are matched by id (in order, for an id met twice). A case read
/// under one version only is not compared, and counted with why.
#[allow(clippy::too_many_arguments)]
pub fn compare_logs_apart<'a>(
    old: &Version<'a>,
    new: &Version<'a>,
    opts: &CheckOptions,
    roster: Option<crate::audit::Roster>,
    logs: &[PathBuf],
    (old_opts, new_opts): (&LogOptions, &LogOptions),
    reject: &mut (dyn FnMut(Rejected) + Send),
) -> Result<History, String> {
    let checker = |v: &Version<'a>, log_opts: &LogOptions, roster, which: &str| {
        let mut c = Checker::new(v.net, Some(v.procedure), opts.clone(), roster)
            .map_err(|e| format!("the {which} version: {e}"))?;
        let mut log_opts = log_opts.clone();
        log_opts.keep_attributes = false;
        log_opts.extra.extend(c.columns());
        c.read_times_as(&log_opts);
        Ok::<_, String>((c, log_opts))
    };
    let (mut a, oa) = checker(old, old_opts, roster.clone(), "old")?;
    let (mut b, ob) = checker(new, new_opts, roster, "new")?;
    let mut rejected = 0usize;
    let mut count = |r: Rejected| {
        rejected += 1;
        reject(r);
    };
    let mut olds: BTreeMap<String, std::collections::VecDeque<Verdict>> = BTreeMap::new();
    let mut keep = |c: Checked| -> Result<(), std::convert::Infallible> {
        olds.entry(c.verdict.result.case_id.clone())
            .or_default()
            .push_back(c.verdict);
        Ok(())
    };
    let sa = match a.run(logs, &oa, &mut keep, &mut count) {
        Ok(x) => x,
        Err(never) => match never {},
    };
    let mut acc = Acc::new(new.procedure);
    let mut missing: Vec<(String, &'static str)> = Vec::new();
    let mut each = |c: Checked| -> Result<(), std::convert::Infallible> {
        let id = &c.verdict.result.case_id;
        match olds.get_mut(id).and_then(|q| q.pop_front()) {
            Some(o) => acc.add(&o, &c.verdict),
            None => missing.push((id.clone(), "read under the new version only")),
        }
        Ok(())
    };
    let sb = match b.run(logs, &ob, &mut each, &mut count) {
        Ok(x) => x,
        Err(never) => match never {},
    };
    for (id, q) in &olds {
        for _ in q {
            missing.push((id.clone(), "read under the old version only"));
        }
    }
    for (id, why) in missing {
        acc.skip(&id, why.to_string());
    }
    let mut h = acc.finish();
    h.logs = logs.iter().map(|p| p.display().to_string()).collect();
    h.same_net = same_net(old.net, new.net);
    h.read_once = false;
    h.rejected = rejected;
    h.unreadable = sa.unreadable.clone();
    for u in &sb.unreadable {
        if !h.unreadable.contains(u) {
            h.unreadable.push(u.clone());
        }
    }
    h.stats = (sa, sb);
    Ok(h)
}

/// Ties each group of flips and of obligation changes to the changes behind it: a change
/// of its step or constraint (named in the change's subject), a change on its line of the
/// new version, a change of a param, target or fact its step's attributes or its decide's
/// subject name (a step `within dispatch_window` is tied to a change of
/// `dispatch_window`), for a decide on `validity` the validity changes, and for a decide
/// on `priority` or a limit on a `target(...)` the changes that can move the priority.
pub fn link(h: &mut History, changes: &[ProcedureChange], new: &Procedure) {
    let texts = attribute_texts(new);
    for g in &mut h.flip_groups {
        g.changes = related(&g.step, g.new_line, changes, &texts);
    }
    for o in &mut h.obligations {
        o.changes = related(&o.step, o.new_line, changes, &texts);
    }
}

fn related(
    step: &str,
    line: Option<usize>,
    changes: &[ProcedureChange],
    texts: &BTreeMap<String, Vec<String>>,
) -> Vec<usize> {
    let attrs = texts.get(step).map(Vec::as_slice).unwrap_or_default();
    // A decide on the priority, a limit on a target: what moves the priority moves them.
    let on_priority = attrs
        .iter()
        .any(|t| t == "decide on priority" || t.replace(' ', "").contains("target("));
    let on_validity = attrs.iter().any(|t| t == "decide on validity");
    changes
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            (!step.is_empty() && c.subject.contains(&format!("`{step}`")))
                || (line.is_some() && c.new_line == line)
                || named_in(&c.subject, attrs)
                || (on_priority && moves_priority(c.kind))
                || (on_validity && c.subject.starts_with("validity"))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Changes that can move an incident's priority.
fn moves_priority(k: ChangeKind) -> bool {
    use ChangeKind::*;
    matches!(
        k,
        TableAdded
            | TableRemoved
            | TableChanged
            | RowAdded
            | RowRemoved
            | RowChanged
            | MatrixChanged
            | MatrixCellChanged
            | OverrideAdded
            | OverrideRemoved
            | OverrideChanged
            | PriorityRuleChanged
    )
}

/// Whether a change of a param or target is named in a step's attributes.
fn named_in(subject: &str, attrs: &[String]) -> bool {
    let quoted = |prefix: &str| {
        subject
            .strip_prefix(prefix)
            .and_then(|r| r.split('`').next())
            .map(str::to_string)
    };
    if let Some(name) = quoted("param `").or_else(|| quoted("fact `")) {
        return attrs.iter().any(|t| has_word(t, &name));
    }
    if let Some(kind) = quoted("target `") {
        let call = format!("target({kind})");
        return attrs.iter().any(|t| t.replace(' ', "").contains(&call));
    }
    false
}

fn has_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// The source text of each step's and monitor's attributes, and what each decide decides
/// on (`decide on validity` and the expression), by name.
fn attribute_texts(p: &Procedure) -> BTreeMap<String, Vec<String>> {
    let src = p.unit.source.text();
    let text =
        |s: crate::source::Span| src.get(s.start.min(s.end)..s.end).unwrap_or("").to_string();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for sec in &p.ast().sections {
        if let crate::ast::Section::Flow { body, .. } = sec {
            crate::audit::decisions::each_stmt(body, &mut |st| match st {
                crate::ast::Stmt::Step(s) => {
                    out.entry(s.name.text.clone())
                        .or_default()
                        .extend(s.attrs.iter().map(|a| text(a.span())));
                }
                crate::ast::Stmt::Monitor(m) => {
                    let e = out.entry(m.name.text.clone()).or_default();
                    e.push(text(m.span));
                    e.extend(m.attrs.iter().map(|a| text(a.span())));
                }
                crate::ast::Stmt::Decide(d) => {
                    if let Some(subject) = &d.subject {
                        let t: String = text(subject.span)
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ");
                        let e = out.entry(d.name.text.clone()).or_default();
                        e.push(format!("decide on {t}"));
                        // A decide on facts is tied to changes of those facts.
                        e.push(t);
                    }
                }
                _ => {}
            });
        }
    }
    out
}

/// An incident that could not be assessed under one version (or either).
#[derive(Debug, Clone, Serialize)]
pub struct NotComparable {
    pub id: String,
    /// `file:line: record N`.
    pub location: String,
    pub reason: String,
}

/// What the change does to the assessment of incidents (an incidents file).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Incidents {
    pub files: Vec<String>,
    pub read: usize,
    /// Assessed under both versions.
    pub compared: usize,
    pub not_comparable: usize,
    /// The first [`MAX_NOT_COMPARABLE`] incidents not compared, with why.
    pub not_comparable_examples: Vec<NotComparable>,
    pub priority_changes: Vec<LevelChange>,
    pub priority_summary: LevelSummary,
    pub validity_changes: Vec<LevelChange>,
    pub validity_summary: LevelSummary,
    /// Files that could not be read: (path, reason).
    pub unreadable: Vec<(String, String)>,
}

/// How many incidents not compared are listed by name.
pub const MAX_NOT_COMPARABLE: usize = 100;

/// One incidents file and its format.
pub struct IncidentFile {
    pub path: PathBuf,
    pub format: InputFormat,
}

/// Assesses each incident (the `assess` input formats) under both versions. Fields
/// that are facts of neither version are ignored (a fact removed in the new version
/// is in the change list, marked breaking); a record one version cannot read (a
/// required fact it lacks, a value out of its type) is counted as not comparable, with
/// why.
pub fn compare_incidents(old: &Procedure, new: &Procedure, files: &[IncidentFile]) -> Incidents {
    let a = Assessor::new(old);
    let b = Assessor::new(new);
    let id_field = b
        .column_for("case")
        .or_else(|| a.column_for("case"))
        .unwrap_or_else(|| "id".to_string());
    let levels = new.symbols.levels.clone();
    let bands = new.symbols.validity_bands.clone().unwrap_or_default();
    let mut out = Incidents {
        files: files.iter().map(|f| f.path.display().to_string()).collect(),
        ..Incidents::default()
    };
    for f in files {
        let mut record = |loc: Location, rec: Result<RawRecord, String>| {
            out.read += 1;
            let assess = |x: &Assessor,
                          rec: &RawRecord|
             -> Result<(crate::eval::Assessment, Option<String>), String> {
                let r = match rec {
                    RawRecord::JsonText(text) => x
                        .facts_from_json_str(text, true, &[&id_field])
                        .map(|(f, mut t)| (f, t.pop().flatten())),
                    RawRecord::Json(m) => x
                        .facts_from_json(m, true)
                        .map(|f| (f, rec.get_text(&id_field))),
                    RawRecord::Text(..) => x
                        .facts_from_text(rec.text_fields(), &[])
                        .map(|f| (f, rec.get_text(&id_field))),
                };
                r.map(|(f, id)| (x.assess(f), id)).map_err(|errs| {
                    errs.iter()
                        .map(|e| {
                            if e.field.is_empty() {
                                e.message.clone()
                            } else {
                                format!("`{}`: {}", e.field, e.message)
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
            };
            let fallback = format!("#{}", loc.record);
            let mut not_comparable = |id: String, reason: String| {
                out.not_comparable += 1;
                if out.not_comparable_examples.len() < MAX_NOT_COMPARABLE {
                    out.not_comparable_examples.push(NotComparable {
                        id,
                        location: loc.to_string(),
                        reason,
                    });
                }
            };
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    not_comparable(fallback, format!("unreadable record: {e}"));
                    return;
                }
            };
            let (x, y) = (assess(&a, &rec), assess(&b, &rec));
            let (x, y, id) = match (x, y) {
                (Ok((x, i)), Ok((y, _))) => (x, y, i.unwrap_or(fallback)),
                (Err(e), Ok((_, i))) => {
                    not_comparable(i.unwrap_or(fallback), format!("the old version: {e}"));
                    return;
                }
                (Ok((_, i)), Err(e)) => {
                    not_comparable(i.unwrap_or(fallback), format!("the new version: {e}"));
                    return;
                }
                (Err(e), Err(_)) => {
                    let id = rec.get_text(&id_field).unwrap_or(fallback);
                    not_comparable(id, format!("both versions: {e}"));
                    return;
                }
            };
            out.compared += 1;
            let level =
                |a: &crate::eval::Assessment| a.priority.as_ref().and_then(|p| p.level.clone());
            let band =
                |a: &crate::eval::Assessment| a.validity.as_ref().and_then(|v| v.band.clone());
            let (pa, pb) = (level(&x), level(&y));
            if pa != pb {
                out.priority_changes.push(LevelChange {
                    case_id: id.clone(),
                    levels: moved(&levels, pa.as_deref(), pb.as_deref()),
                    old: pa,
                    new: pb,
                });
            }
            let (ba, bb) = (band(&x), band(&y));
            if ba != bb {
                out.validity_changes.push(LevelChange {
                    case_id: id,
                    levels: moved(&bands, ba.as_deref(), bb.as_deref()),
                    old: ba,
                    new: bb,
                });
            }
        };
        if let Err(e) = read_records(&f.path, f.format, &mut record) {
            out.unreadable.push((f.path.display().to_string(), e));
        }
    }
    out.priority_summary = summarise(&out.priority_changes);
    out.validity_summary = summarise(&out.validity_changes);
    out
}

/// The comparison of one procedure: its two files, the change list, and what it does
/// to history and incidents when given.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The old file as named (`REV:path` with `--base`).
    pub old: String,
    pub new: String,
    pub procedure: String,
    pub changes: Vec<ProcedureChange>,
    /// Files the procedure `use`s (directly or not) whose text differs between the
    /// versions, or that only one version uses: their changes are listed under them, and
    /// their effect on cases under this procedure.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uses_changed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<History>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incidents: Option<Incidents>,
}

/// The files used (directly or not) by one version and not the other, or whose text
/// differs, by their path relative to each version's procedures root.
pub fn uses_changed(old: &Procedure, new: &Procedure, roots: (&Path, &Path)) -> Vec<String> {
    fn gather(u: &crate::model::Unit, root: &Path, out: &mut BTreeMap<String, String>) {
        for (_, used) in &u.uses {
            let name = used
                .path
                .strip_prefix(root)
                .unwrap_or(&used.path)
                .display()
                .to_string();
            if out.contains_key(&name) {
                continue;
            }
            out.insert(name, used.source.text().to_string());
            gather(used, root, out);
        }
    }
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    gather(&old.unit, &canonical(roots.0), &mut a);
    gather(&new.unit, &canonical(roots.1), &mut b);
    let mut out: Vec<String> = a
        .iter()
        .filter(|(k, t)| b.get(*k) != Some(*t))
        .map(|(k, _)| k.clone())
        .collect();
    out.extend(b.keys().filter(|k| !a.contains_key(*k)).cloned());
    out.sort();
    out
}

impl Comparison {
    pub fn breaking(&self) -> usize {
        self.changes.iter().filter(|c| c.breaking).count()
    }
}

/// A procedure only one side has (`--base` over a root).
#[derive(Debug, Clone, Serialize)]
pub struct Unpaired {
    pub path: String,
    /// `added` (not at the base revision) or `removed` (not in the working tree).
    pub status: &'static str,
}

/// Everything `diff` found, over one or more procedures.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: u32,
    pub procedures: Vec<Comparison>,
    pub unpaired: Vec<Unpaired>,
    pub totals: Totals,
    /// The gates checked (`flips`, `new-violations`, `priority-changes`, `breaking`).
    pub gates: Vec<&'static str>,
    /// The gates that failed, in words (empty: the run passes).
    pub gate_failures: Vec<String>,
}

/// Sums over every procedure compared.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub changes: usize,
    pub breaking: usize,
    pub cases: usize,
    pub flips: usize,
    pub to_non_conforming: usize,
    pub to_conforming: usize,
    pub newly_violated: usize,
    pub priority_changes: usize,
    pub validity_changes: usize,
    pub incidents_compared: usize,
    pub incidents_not_comparable: usize,
}

impl Report {
    pub fn new(procedures: Vec<Comparison>, unpaired: Vec<Unpaired>) -> Report {
        let mut t = Totals::default();
        for c in &procedures {
            t.changes += c.changes.len();
            t.breaking += c.breaking();
            if let Some(h) = &c.history {
                t.cases += h.cases;
                t.flips += h.flips.len();
                t.to_non_conforming += h.to_non_conforming();
                t.to_conforming += h.to_conforming();
                t.newly_violated += h.newly_violated();
                t.priority_changes += h.priority_changes.len();
                t.validity_changes += h.validity_changes.len();
            }
            if let Some(i) = &c.incidents {
                t.incidents_compared += i.compared;
                t.incidents_not_comparable += i.not_comparable;
                t.priority_changes += i.priority_changes.len();
                t.validity_changes += i.validity_changes.len();
            }
        }
        Report {
            version: JSON_VERSION,
            procedures,
            unpaired,
            totals: t,
            gates: Vec::new(),
            gate_failures: Vec::new(),
        }
    }
}

/// A threshold: a count (`3`) or a share of the cases compared (`0.5%`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    Count(usize),
    Percent(f64),
}

impl Threshold {
    /// Reads `3` or `0.5%`.
    pub fn parse(s: &str) -> Result<Threshold, String> {
        let t = s.trim();
        if let Some(p) = t.strip_suffix('%') {
            match p.trim().parse::<f64>() {
                Ok(x) if x.is_finite() && (0.0..=100.0).contains(&x) => Ok(Threshold::Percent(x)),
                _ => Err(format!(
                    "`{s}` is not a share: write a percentage from 0% to 100%, e.g. `0.5%`"
                )),
            }
        } else {
            t.parse::<usize>().map(Threshold::Count).map_err(|_| {
                format!("`{s}` is not a threshold: write a count (`3`) or a share (`0.5%`)")
            })
        }
    }

    /// Whether `n` of `total` goes over the threshold.
    pub fn exceeded(self, n: usize, total: usize) -> bool {
        match self {
            Threshold::Count(max) => n > max,
            Threshold::Percent(p) => total > 0 && (n as f64) * 100.0 / (total as f64) > p,
        }
    }

    pub fn text(self) -> String {
        match self {
            Threshold::Count(n) => n.to_string(),
            Threshold::Percent(p) => format!("{p}%"),
        }
    }
}

/// What fails a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateOn {
    /// Cases whose conforming verdict flips (either way).
    Flips,
    /// Obligations violated under the new version and not under the old.
    NewViolations,
    /// Cases or incidents whose priority changes.
    PriorityChanges,
    /// A facts schema change that breaks existing logs, incident files or tests.
    Breaking,
}

/// The gates of a run, each with its threshold (exceeding it fails).
#[derive(Debug, Clone, Default)]
pub struct Gate {
    pub on: Vec<GateOn>,
    pub max_flips: Option<Threshold>,
    pub max_new_violations: Option<Threshold>,
    pub max_priority_changes: Option<Threshold>,
}

impl GateOn {
    pub fn as_str(self) -> &'static str {
        match self {
            GateOn::Flips => "flips",
            GateOn::NewViolations => "new-violations",
            GateOn::PriorityChanges => "priority-changes",
            GateOn::Breaking => "breaking",
        }
    }
}

impl Gate {
    /// Checks the report against the gates: records which were checked and which failed.
    pub fn apply(&self, r: &mut Report) {
        r.gates = self.on.iter().map(|g| g.as_str()).collect();
        r.gate_failures = self.failures(r);
    }

    /// The gates the report fails, in words.
    pub fn failures(&self, r: &Report) -> Vec<String> {
        let t = &r.totals;
        let zero = Threshold::Count(0);
        let mut out = Vec::new();
        for on in &self.on {
            match on {
                GateOn::Flips => {
                    let th = self.max_flips.unwrap_or(zero);
                    if th.exceeded(t.flips, t.cases) {
                        out.push(format!(
                            "{} of {} cases flip verdict ({} to non-conforming, {} to \
                             conforming), over --max-flips {}",
                            t.flips,
                            t.cases,
                            t.to_non_conforming,
                            t.to_conforming,
                            th.text()
                        ));
                    }
                }
                GateOn::NewViolations => {
                    let th = self.max_new_violations.unwrap_or(zero);
                    if th.exceeded(t.newly_violated, t.cases) {
                        out.push(format!(
                            "{} obligations newly violated in {} cases, over \
                             --max-new-violations {}",
                            t.newly_violated,
                            t.cases,
                            th.text()
                        ));
                    }
                }
                GateOn::PriorityChanges => {
                    let th = self.max_priority_changes.unwrap_or(zero);
                    let total = t.cases + t.incidents_compared;
                    if th.exceeded(t.priority_changes, total) {
                        out.push(format!(
                            "{} of {} cases and incidents change priority, over \
                             --max-priority-changes {}",
                            t.priority_changes,
                            total,
                            th.text()
                        ));
                    }
                }
                GateOn::Breaking => {
                    if t.breaking > 0 {
                        out.push(format!(
                            "{} facts schema changes break existing logs, incident files \
                             or tests",
                            t.breaking
                        ));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_counts_or_shares() {
        assert_eq!(Threshold::parse("3"), Ok(Threshold::Count(3)));
        assert_eq!(Threshold::parse("0.5%"), Ok(Threshold::Percent(0.5)));
        assert!(Threshold::parse("lots").is_err());
        assert!(Threshold::parse("-1").is_err());
        assert!(Threshold::parse("101%").is_err());
        assert!(Threshold::parse("NaN%").is_err());
        assert!(!Threshold::Count(3).exceeded(3, 10));
        assert!(Threshold::Count(3).exceeded(4, 10));
        assert!(!Threshold::Percent(0.5).exceeded(1, 200));
        assert!(Threshold::Percent(0.5).exceeded(2, 200));
        assert!(!Threshold::Percent(0.0).exceeded(0, 0));
    }

    #[test]
    fn durations_in_the_languages_units() {
        assert_eq!(format_ms(0), "0s");
        assert_eq!(format_ms(420_000), "7m");
        assert_eq!(format_ms(5_400_000), "1h30m");
        assert_eq!(format_ms(-86_400_000), "-1d");
    }

    #[test]
    fn names_are_words() {
        assert!(has_word("within dispatch_window of x", "dispatch_window"));
        assert!(!has_word("within dispatch_window2 of x", "dispatch_window"));
        assert!(!has_word("within my_dispatch_window", "dispatch_window"));
        assert!(named_in(
            "target `attend` of `uncontrolled`",
            &["within target(attend) of answer".to_string()]
        ));
    }

    #[test]
    fn levels_move_on_the_scale() {
        let scale: Vec<String> = ["high", "mid", "low"].map(String::from).to_vec();
        assert_eq!(moved(&scale, Some("low"), Some("high")), Some(2));
        assert_eq!(moved(&scale, Some("high"), Some("mid")), Some(-1));
        assert_eq!(moved(&scale, Some("high"), Some("gone")), None);
        assert_eq!(moved(&scale, None, Some("high")), None);
    }
}
