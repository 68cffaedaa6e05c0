//! Live monitoring of open incidents: events arrive one at a time, each open case is
//! judged as `check --as-of` would judge it at that instant, and what has become true
//! since (an obligation at risk or violated, an acknowledgement overdue, a monitoring
//! check or an escalation due, an unexpected step, a case closed with findings) is
//! raised once as an [`Alert`] with a stable id.
//!
//! Time is the caller's clock ([`Monitor::advance`]): the wall clock, or the events'
//! own times on a replay. Each open case carries the next instant at which its
//! judgement can change without a new event (a limit's at-risk share passing, a due
//! time passing, an idle case to close); [`Monitor::advance`] fires those instants in
//! order, so an alert is raised at the instant it became true, not when the next event
//! happens to arrive.
//!
//! A case is judged from its events so far, through the one check pipeline
//! ([`Checker::check_as_of`]); alignments of prefixes other cases already had come from
//! the checker's cache, so a case is not searched again from nothing at every event
//! when its path is a common one. A case closes when it has reached an end with
//! nothing pending (or has been idle for the configured time, or the input ended and
//! the caller closes all): its final verdict is the one `check` gives the finished case.
//!
//! Nothing here does IO; [`store`] keeps the state durable.

pub mod run;
pub mod store;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{Obligation, Status};
use crate::check::{Checked, Checker, Verdict};
use crate::codes::{FindingCode, Severity};
use crate::log::{CaseHash, Event, LineError, LineReader};
use rayon::prelude::*;

/// What an alert says has become true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    /// An obligation not met yet is past the declared share of its limit.
    AtRisk,
    /// An obligation is violated (a limit passed, a constraint broken, a wrong branch).
    Violated,
    /// A deployed resource has not acknowledged what it was told within its limit.
    AcknowledgementOverdue,
    /// A monitoring check is close to due (past the share of its interval).
    MonitoringDue,
    /// An escalation point has passed and no escalation is recorded yet.
    EscalationDue,
    /// A step the procedure does not allow here (or out of order) was recorded.
    UnexpectedStep,
    /// The case closed, and its final verdict has findings of error severity.
    ClosedWithFindings,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::AtRisk => "at-risk",
            AlertKind::Violated => "violated",
            AlertKind::AcknowledgementOverdue => "acknowledgement-overdue",
            AlertKind::MonitoringDue => "monitoring-due",
            AlertKind::EscalationDue => "escalation-due",
            AlertKind::UnexpectedStep => "unexpected-step",
            AlertKind::ClosedWithFindings => "closed-with-findings",
        }
    }
}

/// One alert. `id` is stable (case, obligation or finding, kind): the same alert is
/// never raised twice, and a consumer can drop a redelivered one by it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The order alerts were raised in, from 1 (set when the alert is stored).
    pub seq: u64,
    pub id: String,
    pub case: String,
    pub kind: AlertKind,
    /// The obligation's kind (`deadline`, `acknowledgement`, …), for obligation alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obligation: Option<String>,
    pub step: String,
    /// The procedure line behind it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// When it became true.
    pub at: DateTime<Utc>,
    /// The clock when it was raised.
    pub raised: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<DateTime<Utc>>,
    /// Who is responsible, by the rule findings are attributed by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    pub message: String,
}

/// A case closed: its final verdict (as `check` gives the finished case).
#[derive(Debug, Clone)]
pub struct Closed {
    pub case: String,
    /// The clock when it closed.
    pub at: DateTime<Utc>,
    pub why: CloseReason,
    pub verdict: Verdict,
}

/// Why a case closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloseReason {
    /// It reached an end of the procedure with nothing pending.
    Finished,
    /// No event came for the idle time.
    Idle,
    /// The input ended and open cases were closed.
    EndOfInput,
}

/// What one call changed, for the caller to store and deliver.
#[derive(Debug, Default)]
pub struct Changes {
    pub alerts: Vec<Alert>,
    pub closed: Vec<Closed>,
    /// Events taken: (case, the event's text as received).
    pub accepted: Vec<(String, String)>,
}

/// Counts since the state was created.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub events: u64,
    pub rejected: u64,
    /// Rejected events by kind (`unreadable-record`, `no-case-id`, `case-closed`, …).
    #[serde(default)]
    pub rejected_by_kind: std::collections::BTreeMap<String, u64>,
    /// Events older than the clock when they arrived (judged, and counted).
    pub late: u64,
    pub alerts: u64,
    pub cases_opened: u64,
    pub cases_closed: u64,
}

/// How the monitor behaves.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Close a case that has had no event for this long (its final verdict as it stands).
    pub close_idle: Option<Duration>,
    /// How long a case that has finished stays open for late entries (a second
    /// `Clear`, a late acknowledgement) before it closes; `None` closes it at once.
    pub linger: Option<Duration>,
    /// The clock is the events' own time (a replay): before an event is taken, every
    /// timer before its time fires.
    pub event_clock: bool,
}

#[derive(Default)]
struct Open {
    events: Held,
    /// Alert ids (without the case) already raised.
    sent: HashSet<String, CaseHash>,
    timer: Option<(DateTime<Utc>, Timer)>,
    last: Option<DateTime<Utc>>,
    /// Obligations at risk when last judged.
    at_risk: usize,
    /// The size of its events' texts, against the per-case bound.
    bytes: usize,
    /// Its final verdict worked out ahead, for this many events: taken when it closes
    /// holding just those.
    last_verdict: Option<(usize, Box<Verdict>)>,
}

/// A case's events as held between judgements: the first whole (it carries the case
/// attributes), the others compact (activity and actor shared between cases, values
/// boxed), so that many open cases fit in little memory.
#[derive(Default)]
struct Held {
    first: Option<Event>,
    rest: Vec<Compact>,
}

struct Compact {
    activity: Arc<str>,
    timestamp: Option<DateTime<chrono::FixedOffset>>,
    resource: Option<Arc<str>>,
    attributes: Box<[(Arc<str>, Box<str>)]>,
}

/// Event `e` as a case whose first event is `first` holds it, whole: case attributes
/// repeated from the first event dropped, and after the first, the case id, time and
/// activity columns too (held once, in the fields and on the first event: a later
/// event's copies add nothing the checks read).
fn as_held(reader: &LineReader, first: Option<&Event>, mut e: Event) -> Event {
    reader.trim(first, &mut e);
    if first.is_some() {
        e.attributes.retain(|(k, _)| !reader.is_structural(k));
    }
    e
}

/// Names (activities, actors) shared between held events, at most this many.
const NAMES_KEPT: usize = 100_000;

/// The names held events share (they come from the input: seeded hash).
type Names = HashMap<Box<str>, Arc<str>, CaseHash>;

impl Held {
    fn push(&mut self, reader: &LineReader, names: &mut Names, e: Event) {
        let e = as_held(reader, self.first.as_ref(), e);
        self.push_held(names, e);
    }

    /// [`Held::push`] for an event already as this case holds it ([`as_held`]).
    fn push_held(&mut self, names: &mut Names, e: Event) {
        if self.first.is_none() {
            self.first = Some(e);
            return;
        }
        let mut name = |s: String| -> Arc<str> {
            if let Some(n) = names.get(s.as_str()) {
                return n.clone();
            }
            let n: Arc<str> = Arc::from(s.as_str());
            if names.len() < NAMES_KEPT {
                names.insert(s.into_boxed_str(), n.clone());
            }
            n
        };
        self.rest.push(Compact {
            activity: name(e.activity),
            timestamp: e.timestamp,
            resource: e.resource.map(&mut name),
            attributes: e
                .attributes
                .into_iter()
                .map(|(k, v)| (k, v.into_boxed_str()))
                .collect(),
        });
    }

    /// The events, whole again, in arrival order.
    fn events(&self) -> Vec<Event> {
        self.prefix(self.len())
    }

    /// The first `n` events, whole again, in arrival order.
    fn prefix(&self, n: usize) -> Vec<Event> {
        let mut out = Vec::with_capacity(n.min(self.len()));
        out.extend(self.first.iter().take(n).cloned());
        out.extend(self.rest.iter().take(n.saturating_sub(1)).map(|c| {
            Event {
                activity: c.activity.to_string(),
                timestamp: c.timestamp,
                resource: c.resource.as_deref().map(str::to_string),
                attributes: c
                    .attributes
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect(),
            }
        }));
        out
    }

    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// How many events are held.
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    fn last(&self) -> Option<DateTime<Utc>> {
        self.first
            .iter()
            .filter_map(|e| e.timestamp)
            .chain(self.rest.iter().filter_map(|c| c.timestamp))
            .max()
            .map(utc)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Judge,
    Idle,
    /// A finished case's linger has ended.
    Close,
}

/// The live state: open cases, their timers and the clock.
pub struct Monitor<'a> {
    checker: Checker<'a>,
    reader: LineReader,
    opts: Options,
    open: HashMap<String, Open, CaseHash>,
    timers: BTreeSet<(DateTime<Utc>, String)>,
    clock: Option<DateTime<Utc>>,
    /// Cases closed since the caller last began to store what closed
    /// ([`Monitor::storing`]).
    closing: HashSet<String, CaseHash>,
    /// Cases closed that the caller is storing and has not yet stored
    /// ([`Monitor::stored`]).
    storing: HashSet<String, CaseHash>,
    /// Activity and actor names shared by held events.
    names: Names,
    /// For each of the events about to be taken, in order: the judgement worked out
    /// ahead for it, or `None` where it was assumed to be rejected
    /// ([`Monitor::foresee`]).
    foreseen: VecDeque<Option<Foreseen>>,
    pub stats: Stats,
}

/// A judgement worked out ahead for an event: its case, the instant and the number of
/// the case's events it assumed, and what judging them as of it called for.
struct Foreseen {
    case: String,
    now: DateTime<Utc>,
    count: usize,
    judged: Judged,
    /// The event as read ahead, from this text, as its case will hold it, and the
    /// zone-less times read as UTC in it: taken instead of reading the text again.
    text: Box<str>,
    event: Option<Event>,
    utc: usize,
}

/// What judging a case as of an instant calls for, from its check alone (so that it can
/// be worked out ahead, in parallel).
struct Judged {
    /// The alerts it raises, their ids without the case.
    alerts: Vec<Alert>,
    /// The next instant its status changes with no new event.
    next: Option<DateTime<Utc>>,
    /// Obligations at risk.
    at_risk: usize,
    /// It has reached an end with nothing pending.
    finished: bool,
    /// Worked out ahead for a finished case: its final verdict (as it closes, if no
    /// event comes first).
    last_verdict: Option<Box<Verdict>>,
}

/// The events a case will hold after those it holds now (as it will hold them), and its
/// latest time: what [`Monitor::foresee`] assumes.
type Later = (Vec<Event>, Option<DateTime<Utc>>);

/// Final verdicts worked out ahead together, at most this many cases at a time.
const FINALS_PART: usize = 1024;

/// Fewer events than this are judged one by one as they are taken: working them out
/// ahead in parallel costs more than it saves.
const FORESEE_MIN: usize = 64;

/// How many judgements are worked out ahead together.
const FORESEE_PART: usize = 128;

/// A rejected event: why, and whether it stops the run (a set-up problem).
pub type Rejection = LineError;

impl<'a> Monitor<'a> {
    pub fn new(checker: Checker<'a>, reader: LineReader, opts: Options) -> Self {
        Monitor {
            checker,
            reader,
            opts,
            open: HashMap::default(),
            timers: BTreeSet::new(),
            clock: None,
            closing: HashSet::default(),
            storing: HashSet::default(),
            names: Names::default(),
            foreseen: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    pub fn clock(&self) -> Option<DateTime<Utc>> {
        self.clock
    }

    pub fn open_cases(&self) -> usize {
        self.open.len()
    }

    /// Obligations at risk, over the open cases, when each was last judged.
    pub fn at_risk(&self) -> usize {
        self.open.values().map(|o| o.at_risk).sum()
    }

    /// The caller begins to store the cases closed so far (while more events are
    /// taken): until [`Monitor::stored`], they are still known closed here.
    pub fn storing(&mut self) {
        self.storing.extend(self.closing.drain());
    }

    /// The caller has stored the cases it began to store: `closed` answers for them
    /// now.
    pub fn stored(&mut self) {
        self.storing.clear();
    }

    /// Whether case `id` has closed since what the caller has stored.
    fn closed_unstored(&self, id: &str) -> bool {
        self.closing.contains(id) || self.storing.contains(id)
    }

    /// The time of an event's text, if it reads (for pacing a replay).
    pub fn peek_time(&mut self, text: &str) -> Option<DateTime<Utc>> {
        self.reader
            .read(text)
            .ok()
            .and_then(|(_, e)| e.timestamp.map(utc))
    }

    /// The next instant a timer fires, if any.
    pub fn next_timer(&self) -> Option<DateTime<Utc>> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// Restores an open case from stored state (its events' texts in arrival order and
    /// the alert ids it has raised), without raising anything. Call [`Monitor::resume`]
    /// when all are restored.
    pub fn restore(
        &mut self,
        case: &str,
        lines: &[String],
        sent: impl IntoIterator<Item = String>,
    ) -> Result<(), LineError> {
        let mut events = Held::default();
        for l in lines {
            // As when it was taken: case attributes after the first event are not built.
            let seen = !events.is_empty();
            let (_, e) = self.reader.read_seen(l, &|_| seen)?;
            events.push(&self.reader, &mut self.names, e);
        }
        let last = events.last();
        self.open.insert(
            case.to_string(),
            Open {
                events,
                sent: sent.into_iter().collect(),
                last,
                bytes: lines.iter().map(String::len).sum(),
                ..Open::default()
            },
        );
        Ok(())
    }

    /// After restoring: sets the clock as stored and judges every open case again as of
    /// it, to rebuild timers and at-risk counts. Alerts already raised are not raised
    /// again; any this finds (none, when the state was stored whole) are returned.
    pub fn resume(&mut self, clock: Option<DateTime<Utc>>, stats: Stats) -> Changes {
        self.clock = clock;
        self.stats = stats;
        let mut out = Changes::default();
        let mut ids: Vec<String> = self.open.keys().cloned().collect();
        ids.sort();
        for id in ids {
            let now = self.now_for(&id);
            self.judge(&id, now, &mut out);
        }
        out
    }

    fn now_for(&self, id: &str) -> DateTime<Utc> {
        latest(self.clock, self.open.get(id).and_then(|o| o.last))
    }

    /// Whether judgements worked out ahead are waiting for the next events.
    pub fn foreseeing(&self) -> bool {
        !self.foreseen.is_empty()
    }

    /// Works out ahead, in parallel, the judgements that the events `texts` (the next
    /// ones [`Monitor::event`] will take, in order) will call for, on the assumption
    /// that the events go as far as can be told now (a line that cannot be read, or is
    /// for a case already closed, is rejected; the others are accepted) and the clock
    /// is the events' own (a replay). Each event then takes its judgement worked out
    /// ahead only while every event before it in the batch has gone as assumed, and
    /// only for the same case, instant and number of events; else it is judged as it
    /// is taken. An assumption that fails costs time, never an answer. With the wall
    /// clock nothing is worked out ahead (each event is judged at its arrival).
    pub fn foresee(&mut self, texts: &[&str]) {
        self.foreseen.clear();
        if !self.opts.event_clock || texts.len() < FORESEE_MIN {
            return;
        }
        // Each case touched: the events it will hold after those it holds now (as it
        // will hold them), and its latest time.
        let mut more: HashMap<String, Later, CaseHash> = HashMap::default();
        let mut clock = self.clock;
        let mut assumed = Vec::with_capacity(texts.len());
        // Each record's fields are found on all cores; building the events (their
        // names shared) is done in order.
        let scanned: Vec<crate::log::Scanned<'_>> =
            texts.par_iter().map(|t| crate::log::scan_json(t)).collect();
        for (text, scanned) in texts.iter().zip(&scanned) {
            let open = &self.open;
            let seen = |c: &str| open.contains_key(c) || more.contains_key(c);
            let case = match self.reader.read_ahead_scanned(text, scanned, &seen) {
                Ok((case, ..)) if !seen(&case) && self.closed_unstored(&case) => None,
                Ok(read) => Some(read),
                Err(_) => None,
            };
            let Some((case, e, zoneless)) = case else {
                assumed.push(None);
                continue;
            };
            let t = e.timestamp.map(utc);
            if let Some(t) = t {
                clock = Some(clock.map_or(t, |c| c.max(t)));
            }
            let held = open.get(&case);
            let (events, last) = more
                .entry(case.clone())
                .or_insert_with(|| (Vec::new(), held.and_then(|o| o.last)));
            let first = held.and_then(|o| o.events.first.as_ref());
            let e = as_held(&self.reader, first.or(events.first()), e);
            events.push(e);
            if let Some(t) = t {
                *last = Some(last.map_or(t, |l| l.max(t)));
            }
            let now = latest(clock, *last);
            let count = held.map_or(0, |o| o.events.len()) + events.len();
            assumed.push(Some((case, now, count, zoneless)));
        }
        // In parts: a whole batch's case views held at once cost more in memory
        // traffic than the parallel work saves. What each check calls for is worked
        // out in parallel too, against the alerts its case has already raised.
        let keys: Vec<_> = assumed.iter().flatten().collect();
        let mut judged = Vec::with_capacity(keys.len());
        for keys in keys.chunks(FORESEE_PART) {
            // Each case's events up to the event, in parallel.
            let (reader, open) = (&self.reader, &self.open);
            let trace = |case: &str, count: usize| {
                let held = open.get(case).map(|o| &o.events);
                let n = held.map_or(0, Held::len);
                let mut events = held.map(|h| h.prefix(count)).unwrap_or_default();
                if let Some((extra, _)) = more.get(case) {
                    events.extend_from_slice(&extra[..count.saturating_sub(n).min(extra.len())]);
                }
                reader.ordered(case, events)
            };
            let part: Vec<_> = keys
                .par_iter()
                .map(|(case, now, count, _)| (trace(case, *count), Some(*now)))
                .collect();
            let checked = self.checker.check_each_as_of(part);
            let start = judged.len();
            judged.par_extend(
                checked
                    .into_par_iter()
                    .zip(keys)
                    .map(|(c, (case, now, ..))| {
                        judge_check(case, *now, &c, open.get(case.as_str()).map(|o| &o.sent))
                    }),
            );
            // The final verdicts of the cases that finish, when they close at once or
            // their linger ends before the last of these events (unless one of these
            // events is for the case: then only time is lost).
            let linger = self.opts.linger;
            let finished: Vec<usize> = (0..keys.len())
                .filter(|&i| {
                    judged[start + i].finished
                        && linger.is_none_or(|d| clock.is_some_and(|c| keys[i].1 + d < c))
                })
                .collect();
            let part: Vec<_> = finished
                .par_iter()
                .map(|&i| (trace(&keys[i].0, keys[i].2), None))
                .collect();
            for (i, c) in finished
                .into_iter()
                .zip(self.checker.check_each_as_of(part))
            {
                judged[start + i].last_verdict = Some(Box::new(c.verdict));
            }
        }
        // The final verdicts of the cases whose linger or idle time ends before the
        // last of these events, if none of them is for the case: they close then.
        let closing: Vec<&str> = self
            .timers
            .iter()
            .take_while(|(t, _)| clock.is_some_and(|c| *t < c))
            .map(|(_, id)| id.as_str())
            .filter(|id| !more.contains_key(*id))
            .filter(|id| {
                self.open.get(*id).is_some_and(|o| {
                    matches!(o.timer, Some((_, Timer::Close | Timer::Idle)))
                        && o.last_verdict
                            .as_ref()
                            .is_none_or(|(n, _)| *n != o.events.len())
                })
            })
            .collect();
        if closing.len() > 1 {
            let closing: Vec<String> = closing.into_iter().map(str::to_string).collect();
            self.final_verdicts(&closing);
        }
        // Each event as read, for its slot: a case's events in the order they came.
        let mut judged = judged.into_iter();
        let mut events: HashMap<String, std::vec::IntoIter<Event>, CaseHash> = more
            .into_iter()
            .map(|(case, (events, _))| (case, events.into_iter()))
            .collect();
        for (a, text) in assumed.into_iter().zip(texts) {
            let f = a.and_then(|(case, now, count, zoneless)| {
                Some(Foreseen {
                    event: events.get_mut(&case).and_then(Iterator::next),
                    case,
                    now,
                    count,
                    judged: judged.next()?,
                    text: (*text).into(),
                    utc: zoneless,
                })
            });
            self.foreseen.push_back(f);
        }
    }

    /// Works out the final verdicts of open cases `ids` on all cores, a part at a time
    /// (not every case's events at once), each taken when the case closes holding the
    /// same events.
    fn final_verdicts(&mut self, ids: &[String]) {
        for ids in ids.chunks(FINALS_PART) {
            let (reader, open) = (&self.reader, &self.open);
            let part: Vec<_> = ids
                .par_iter()
                .filter_map(|id| {
                    let o = open.get(id)?;
                    Some((reader.ordered(id, o.events.events()), None))
                })
                .collect();
            for c in self.checker.check_each_as_of(part) {
                if let Some(o) = self.open.get_mut(&c.trace.id) {
                    o.last_verdict = Some((o.events.len(), Box::new(c.verdict)));
                }
            }
        }
    }

    /// Moves the clock to `to` (never back), firing every timer before it (and at it,
    /// when `inclusive`) in time order, each judged as of its own instant.
    pub fn advance(&mut self, to: DateTime<Utc>, inclusive: bool, out: &mut Changes) {
        while let Some((t, id)) = self.timers.first().cloned() {
            if t > to || (t == to && !inclusive) {
                break;
            }
            self.timers.pop_first();
            self.clock = Some(self.clock.map_or(t, |c| c.max(t)));
            let Some(open) = self.open.get_mut(&id) else {
                continue;
            };
            let kind = match open.timer.take() {
                Some((when, k)) if when == t => k,
                other => {
                    open.timer = other;
                    continue;
                }
            };
            match kind {
                Timer::Idle => self.close(&id, t, CloseReason::Idle, out),
                Timer::Close => self.close(&id, t, CloseReason::Finished, out),
                Timer::Judge => self.judge(&id, t, out),
            }
        }
        self.clock = Some(self.clock.map_or(to, |c| c.max(to)));
    }

    /// Takes one event (a JSON object as one line of a JSON Lines log). `closed(case)`
    /// tells whether a case has already closed (its later events are rejected, counted,
    /// with the reason). The event is judged as of the clock (or its own time, if later).
    pub fn event(
        &mut self,
        text: &str,
        closed: &mut dyn FnMut(&str) -> bool,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        let mut assumed = self.foreseen.pop_front();
        // The event as read ahead, if it was read from this text.
        let ahead = match &mut assumed {
            Some(Some(f)) if *f.text == *text => f.event.take().map(|e| (f.case.clone(), e, f.utc)),
            _ => None,
        };
        match self.take(text, ahead, closed, out) {
            Ok(case) => {
                let foreseen = match assumed {
                    Some(Some(f)) => Some(f),
                    Some(None) => {
                        // Assumed rejected, yet taken: the batch went otherwise.
                        self.foreseen.clear();
                        None
                    }
                    None => None,
                };
                let now = self.now_for(&case);
                self.judge_with(&case, now, out, foreseen);
                Ok(())
            }
            Err(e) => {
                if matches!(assumed, Some(Some(_))) {
                    // Assumed taken, yet rejected: the batch went otherwise.
                    self.foreseen.clear();
                }
                Err(e)
            }
        }
    }

    /// Takes one event into its case (not yet judged), or rejects it; gives its case.
    /// `ahead` is the event as [`Monitor::foresee`] read it from `text`, with every
    /// event before it gone as assumed (so read as it would be read now).
    fn take(
        &mut self,
        text: &str,
        ahead: Option<(String, Event, usize)>,
        closed: &mut dyn FnMut(&str) -> bool,
        out: &mut Changes,
    ) -> Result<String, Rejection> {
        // An event read ahead is already as its case will hold it.
        let read_ahead = ahead.is_some();
        let read = match ahead {
            Some((case, e, utc)) => {
                self.reader.count_ahead(utc);
                Ok((case, e))
            }
            None => {
                let open = &self.open;
                self.reader.read_seen(text, &|c| open.contains_key(c))
            }
        };
        let (case, e) = match read {
            Ok(x) => x,
            Err(err) => {
                self.reject(err.kind);
                return Err(err);
            }
        };
        if !self.open.contains_key(&case) && (self.closed_unstored(&case) || closed(&case)) {
            return Err(self.refuse(
                "case-closed",
                format!("case `{case}` has already closed; its verdict is final"),
            ));
        }
        let t = e.timestamp.map(utc);
        let late = matches!((t, self.clock), (Some(t), Some(c)) if t < c);
        if self.opts.event_clock
            && let Some(t) = t
        {
            self.advance(t, false, out);
            // The timers before the event may have closed its own case (its linger or
            // idle time ended first): the event comes after the final verdict.
            if !self.open.contains_key(&case) && self.closing.contains(&case) {
                return Err(self.refuse(
                    "case-closed",
                    format!("case `{case}` closed before this event's time; its verdict is final"),
                ));
            }
        }
        if late {
            self.stats.late += 1;
        }
        // The log readers' bounds on one case hold here too: events beyond them are
        // rejected where they are, the case goes on being judged.
        if let Some(o) = self.open.get(&case) {
            let opts = self.reader.options();
            let (n, bytes) = (1 + o.events.rest.len(), o.bytes + text.len());
            let too = if n >= opts.max_events_per_case {
                Some((
                    "case-too-long",
                    format!("case `{case}` already has {n} events, the most one case may have"),
                ))
            } else if bytes > opts.max_case_bytes {
                Some((
                    "case-too-large",
                    format!(
                        "case `{case}`'s events would take more than {} bytes",
                        opts.max_case_bytes
                    ),
                ))
            } else {
                None
            };
            if let Some((kind, reason)) = too {
                return Err(self.refuse(kind, reason));
            }
        }
        self.stats.events += 1;
        let open = self.open.entry(case.clone()).or_insert_with(|| {
            self.stats.cases_opened += 1;
            Open::default()
        });
        if read_ahead {
            open.events.push_held(&mut self.names, e);
        } else {
            open.events.push(&self.reader, &mut self.names, e);
        }
        open.bytes += text.len();
        if let Some(t) = t {
            open.last = Some(open.last.map_or(t, |l| l.max(t)));
        }
        out.accepted.push((case.clone(), text.to_string()));
        Ok(case)
    }

    /// Counts an event the monitor itself rejects (not fatal), and says why.
    fn refuse(&mut self, kind: &'static str, reason: String) -> Rejection {
        self.reject(kind);
        LineError {
            kind,
            reason,
            fatal: false,
        }
    }

    /// Counts a rejected event by its kind (the monitor's own rejections, and lines its
    /// caller could not read).
    pub fn reject(&mut self, kind: &str) {
        self.stats.rejected += 1;
        *self
            .stats
            .rejected_by_kind
            .entry(kind.to_string())
            .or_default() += 1;
    }

    /// Closes every open case (the input has ended), each with its final verdict.
    pub fn close_all(&mut self, out: &mut Changes) {
        let mut ids: Vec<String> = self.open.keys().cloned().collect();
        ids.sort();
        self.final_verdicts(&ids);
        for id in ids {
            let now = self.now_for(&id);
            self.close(&id, now, CloseReason::EndOfInput, out);
        }
    }

    /// Judges case `id` as of `now`: raises what has become true, closes it when it
    /// has finished with nothing pending, else sets its next timer.
    fn judge(&mut self, id: &str, now: DateTime<Utc>, out: &mut Changes) {
        self.judge_with(id, now, out, None);
    }

    /// Judges case `id` as [`Monitor::judge`] does, taking the judgement worked out
    /// ahead if it is for this case, instant and number of events.
    fn judge_with(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
        out: &mut Changes,
        foreseen: Option<Foreseen>,
    ) {
        let Some(open) = self.open.get(id) else {
            return;
        };
        let count = open.events.len();
        let judged = match foreseen {
            Some(f) if f.case == id && f.now == now && f.count == count => f.judged,
            other => {
                if other.is_some() {
                    // The batch went otherwise than assumed: none of the rest is used.
                    self.foreseen.clear();
                }
                let trace = self.reader.ordered(id, open.events.events());
                let checked = self.checker.check_as_of(trace, Some(now));
                judge_check(id, now, &checked, Some(&open.sent))
            }
        };
        let Judged {
            alerts: raised,
            next,
            at_risk,
            finished,
            last_verdict,
        } = judged;
        let Some(open) = self.open.get_mut(id) else {
            return;
        };
        open.last_verdict = last_verdict.map(|v| (count, v));
        open.at_risk = at_risk;
        for mut a in raised {
            if open.sent.insert(a.id.clone()) {
                a.id = format!("{id}/{}", a.id);
                self.stats.alerts += 1;
                out.alerts.push(a);
            }
        }
        let timer = if finished {
            match self.opts.linger {
                Some(d) => Some((open.last.unwrap_or(now).max(now) + d, Timer::Close)),
                None => {
                    self.close(id, now, CloseReason::Finished, out);
                    return;
                }
            }
        } else {
            let idle = self
                .opts
                .close_idle
                .and_then(|d| open.last.map(|l| (l + d, Timer::Idle)));
            match (next.map(|t| (t, Timer::Judge)), idle) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        if let Some((old, _)) = open.timer.take() {
            self.timers.remove(&(old, id.to_string()));
        }
        if let Some((t, k)) = timer {
            open.timer = Some((t, k));
            self.timers.insert((t, id.to_string()));
        }
    }

    /// Closes case `id` with its final verdict; a final verdict with errors raises
    /// `closed-with-findings`.
    fn close(&mut self, id: &str, now: DateTime<Utc>, why: CloseReason, out: &mut Changes) {
        let Some(open) = self.open.remove(id) else {
            return;
        };
        if let Some((t, _)) = open.timer {
            self.timers.remove(&(t, id.to_string()));
        }
        let v = match open.last_verdict {
            Some((n, v)) if n == open.events.len() => *v,
            _ => {
                let trace = self.reader.ordered(id, open.events.events());
                self.checker.check_as_of(trace, None).verdict
            }
        };
        let errors: Vec<&str> = v
            .result
            .findings
            .iter()
            .filter(|f| f.code.severity() == Severity::Error)
            .map(|f| f.code.as_str())
            .collect();
        if !errors.is_empty() && !open.sent.contains("closed") {
            let mut codes = errors.clone();
            codes.sort_unstable();
            codes.dedup();
            self.stats.alerts += 1;
            out.alerts.push(Alert {
                seq: 0,
                id: format!("{id}/closed"),
                case: id.to_string(),
                kind: AlertKind::ClosedWithFindings,
                obligation: None,
                step: String::new(),
                line: None,
                at: now,
                raised: now,
                due: None,
                actor: None,
                message: format!(
                    "closed ({}) with {} error finding{}: {}",
                    match why {
                        CloseReason::Finished => "finished",
                        CloseReason::Idle => "idle",
                        CloseReason::EndOfInput => "end of input",
                    },
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" },
                    codes.join(", ")
                ),
            });
        }
        self.stats.cases_closed += 1;
        self.closing.insert(id.to_string());
        out.closed.push(Closed {
            case: id.to_string(),
            at: now,
            why,
            verdict: v,
        });
    }
}

/// What judging case `id` as of `now` calls for, from its check: the alerts it raises
/// (ids without the case), leaving out those in `sent` (a case's alerts already raised,
/// or some of them: the caller leaves out the rest), the next instant its status
/// changes with no new event, how many obligations are at risk, and whether it has
/// finished.
fn judge_check(
    id: &str,
    now: DateTime<Utc>,
    checked: &Checked,
    sent: Option<&HashSet<String, CaseHash>>,
) -> Judged {
    let v = &checked.verdict;
    let mut raised = Vec::new();
    let times: Vec<Option<DateTime<Utc>>> = checked
        .trace
        .events
        .iter()
        .map(|e| e.timestamp.map(utc))
        .collect();
    // An obligation's occurrence among those of its kind, step and line (its alert
    // ids' `n`); the ids are only written for obligations that call for an alert.
    let mut seen: HashMap<(&str, &str, usize), usize, crate::hash::FastHash> =
        HashMap::with_capacity_and_hasher(v.obligations.len(), Default::default());
    let mut next: Option<DateTime<Utc>> = None;
    let mut at_risk = 0;
    let mut pending = false;
    for o in &v.obligations {
        let n = seen.entry((o.kind, o.step.as_str(), o.line)).or_default();
        *n += 1;
        if matches!(o.status, Status::Pending | Status::AtRisk) {
            pending = true;
            if let Some(t) = wake(o, now)
                && next.is_none_or(|x| t < x)
            {
                next = Some(t);
            }
        }
        if o.status == Status::AtRisk {
            at_risk += 1;
        }
        if let Some(kind) = alert_kind(o) {
            let alert = format!("{}/{}/{}/{n}/{}", o.kind, o.step, o.line, kind.as_str());
            if !sent.is_some_and(|s| s.contains(&alert))
                && let Some(a) = obligation_alert(id, alert, o, now, &times)
            {
                raised.push(a);
            }
        }
    }
    for f in &v.result.findings {
        if matches!(
            f.code,
            FindingCode::UnexpectedStep | FindingCode::WrongOrder
        ) {
            let at = f
                .event_index
                .and_then(|i| times.get(i).copied().flatten())
                .unwrap_or(now);
            let alert = format!(
                "unexpected/{}/{}",
                f.step,
                crate::log::rfc3339(&at.fixed_offset())
            );
            if sent.is_some_and(|s| s.contains(&alert)) {
                continue;
            }
            raised.push(Alert {
                seq: 0,
                id: alert,
                case: id.to_string(),
                kind: AlertKind::UnexpectedStep,
                obligation: None,
                step: f.step.clone(),
                line: f.line,
                at,
                raised: now,
                due: None,
                actor: f.actor.clone(),
                message: f.message.clone(),
            });
        }
    }
    Judged {
        alerts: raised,
        next,
        at_risk,
        finished: !v.running && !pending,
        last_verdict: None,
    }
}

/// The instant a case is judged at: the clock, or the case's latest event if later.
fn latest(clock: Option<DateTime<Utc>>, last: Option<DateTime<Utc>>) -> DateTime<Utc> {
    match (clock, last) {
        (Some(c), Some(l)) => c.max(l),
        (Some(c), None) => c,
        (None, Some(l)) => l,
        (None, None) => DateTime::<Utc>::UNIX_EPOCH,
    }
}

fn utc(t: DateTime<chrono::FixedOffset>) -> DateTime<Utc> {
    t.with_timezone(&Utc)
}

fn parse(t: Option<&DateTime<chrono::FixedOffset>>) -> Option<DateTime<Utc>> {
    t.copied().map(utc)
}

/// The next instant after `now` at which an open obligation's status changes with no
/// new event: its at-risk share passing (at-risk from that instant), or its due time
/// passing (violated just after it).
fn wake(o: &Obligation, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let due = parse(o.due.as_ref()).map(|d| d + Duration::milliseconds(1));
    let risk = parse(o.risk_from.as_ref()).filter(|_| o.status == Status::Pending);
    [risk, due].into_iter().flatten().filter(|&t| t > now).min()
}

/// The kind of alert an obligation's status calls for, if any.
fn alert_kind(o: &Obligation) -> Option<AlertKind> {
    Some(match (o.status, o.kind) {
        (Status::AtRisk, "escalation") => AlertKind::EscalationDue,
        (Status::AtRisk, "monitoring") => AlertKind::MonitoringDue,
        (Status::AtRisk, _) => AlertKind::AtRisk,
        (Status::Violated, "acknowledgement") => AlertKind::AcknowledgementOverdue,
        (Status::Violated, _) => AlertKind::Violated,
        _ => return None,
    })
}

/// The alert an obligation's status calls for, if any, with `id` (without the case; its
/// last part the alert's kind, as [`alert_kind`] gives it).
fn obligation_alert(
    case: &str,
    id: String,
    o: &Obligation,
    now: DateTime<Utc>,
    times: &[Option<DateTime<Utc>>],
) -> Option<Alert> {
    let due = parse(o.due.as_ref());
    let (kind, at, message) = match (o.status, o.kind) {
        (Status::AtRisk, "escalation") => (
            AlertKind::EscalationDue,
            due.unwrap_or(now),
            format!(
                "{}: the point has passed and no escalation is recorded",
                o.required
            ),
        ),
        (Status::AtRisk, kind) => (
            if kind == "monitoring" {
                AlertKind::MonitoringDue
            } else {
                AlertKind::AtRisk
            },
            parse(o.risk_from.as_ref()).unwrap_or(now),
            format!(
                "{} is not met yet and is at risk{}",
                o.required,
                o.due
                    .as_ref()
                    .map_or(String::new(), |d| format!(" (due {})", d.to_rfc3339()))
            ),
        ),
        (Status::Violated, kind) => {
            let done = parse(o.done.as_ref());
            // When it became true: the due time passed (before any late record), else the
            // event that broke it.
            let at = match (due, done) {
                (Some(d), Some(x)) => d.min(x),
                (Some(d), None) => d,
                (None, _) => o
                    .event_index
                    .and_then(|i| times.get(i).copied().flatten())
                    .unwrap_or(now),
            };
            (
                if kind == "acknowledgement" {
                    AlertKind::AcknowledgementOverdue
                } else {
                    AlertKind::Violated
                },
                at,
                format!("{}: violated", o.required),
            )
        }
        _ => return None,
    };
    Some(Alert {
        seq: 0,
        id,
        case: case.to_string(),
        kind,
        obligation: Some(o.kind.to_string()),
        step: o.step.clone(),
        line: Some(o.line),
        at,
        raised: now,
        due,
        actor: o.actor.clone(),
        message,
    })
}
