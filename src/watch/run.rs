//! `watch`'s loop: input (a pipe, a followed file, an HTTP endpoint) → the
//! [`Monitor`](super::Monitor) → one transaction per batch in the [`Store`] → the
//! sinks. Alerts reach a file sink exactly once across crashes (its length is recorded
//! with what it delivered, and a restart cuts what was written after that record and
//! writes the rest); a webhook gets them at least once, with their stable ids, retried
//! with backoff.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::store::{Delivered, Position, Store};
use super::{Alert, Changes, Monitor};

/// The longest event line taken; a longer one is rejected (counted, with its place).
pub const MAX_LINE: usize = 1 << 20;
/// Events committed together at most.
pub const BATCH: usize = 2_000;
/// Events whose judgements are worked out ahead together (a replay).
const FORESEEN: usize = 256;

/// Where events come from.
pub enum Input {
    /// Standard input (a pipe, or a file it was redirected from: then a restart seeks
    /// to where the last batch ended).
    Stdin,
    /// A file, read from where the last batch ended; followed as `tail -F` does (new
    /// lines, and a new file at the path after rotation) unless `follow` is false.
    File { path: PathBuf, follow: bool },
    /// `POST /events` on an HTTP endpoint (one JSON object, an array, or JSON Lines).
    Http {
        addr: String,
        /// Required as `Authorization: Bearer TOKEN` on every request, when set.
        token: Option<String>,
        max_body: usize,
    },
}

/// Which clock judges time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clock {
    /// The wall clock: timers fire when it reaches them.
    Wall,
    /// The events' own times (a replay): the clock is the latest event time; with a
    /// speed, events are paced at that many times real time.
    Event { speed: Option<f64> },
}

/// Where alerts (or final verdicts) go.
pub enum Target {
    /// A regular file (exactly once across restarts).
    File { name: String, file: File },
    /// A pipe or terminal: written after commit; across a crash, at least once (the
    /// last batch may be written again, with the same ids and seqs).
    Stream {
        name: String,
        out: Box<dyn Write + Send>,
    },
    /// POSTed as a JSON array, retried with backoff until accepted (at least once).
    Webhook { url: String },
}

/// Everything `watch` needs besides the monitor and the store.
pub struct Settings {
    pub input: Input,
    pub clock: Clock,
    pub alerts: Vec<Target>,
    pub verdicts: Option<Target>,
    /// How an alert is written (one line, without the newline).
    pub format: Box<dyn Fn(&Alert) -> String + Send>,
    /// At the end of the input (not followed), close every open case.
    pub close_at_end: bool,
    /// How often a followed file is polled.
    pub poll: StdDuration,
}

/// What a run did, for the summary line and the exit code.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    pub events: u64,
    pub rejected: u64,
    pub alerts: u64,
    pub closed: u64,
    pub open: usize,
    /// Rejections, first ones with their place: (where, kind, reason).
    pub rejections: Vec<(String, String, String)>,
}

/// How many rejections an outcome keeps with their place.
pub const REJECTIONS_KEPT: usize = 100;

enum Msg {
    Line {
        text: Result<String, String>,
        place: String,
        position: Position,
    },
    Http {
        lines: Vec<String>,
        reply: Sender<HttpReply>,
    },
    Status {
        reply: Sender<String>,
    },
    /// Lines read together (sent as one message: fewer hand-offs between threads).
    Lines(Vec<Msg>),
    End,
    Failed(String),
}

/// Queues a message from a reader, a chunk as its lines.
fn enqueue(queue: &mut std::collections::VecDeque<Msg>, m: Msg) {
    match m {
        Msg::Lines(v) => queue.extend(v),
        m => queue.push_back(m),
    }
}

/// Lines a reader sends together at most.
const CHUNK: usize = 256;

/// Messages (chunks of lines) waiting between a reader and the loop at most: a reader
/// running ahead of the judging holds at most this many chunks in memory.
const QUEUED: usize = 16;

/// Adds a line to the reader's chunk, sending the chunk when full or when nothing more
/// is buffered (the next read may wait). False when the receiver has gone.
fn chunked(tx: &SyncSender<Msg>, chunk: &mut Vec<Msg>, m: Option<Msg>, idle: bool) -> bool {
    if let Some(m) = m {
        chunk.push(m);
    }
    if !chunk.is_empty() && (idle || chunk.len() >= CHUNK) {
        return tx.send(Msg::Lines(std::mem::take(chunk))).is_ok();
    }
    true
}

#[derive(Serialize)]
struct HttpReply {
    accepted: usize,
    rejected: Vec<HttpRejected>,
}

#[derive(Serialize)]
struct HttpRejected {
    index: usize,
    kind: String,
    reason: String,
}

/// The status `watch --status` and `GET /status` report.
#[derive(Debug, Serialize)]
pub struct Status {
    pub procedure: String,
    pub open_cases: u64,
    pub at_risk: Option<u64>,
    pub events: u64,
    pub rejected: u64,
    pub late_events: u64,
    pub alerts: u64,
    pub cases_closed: u64,
    pub clock: Option<DateTime<Utc>>,
    pub committed: Option<String>,
    /// Alerts raised and not yet recorded as delivered, per sink.
    pub undelivered: Vec<(String, u64)>,
    pub input: Option<String>,
    pub offset: Option<u64>,
    /// Bytes of a file input not read yet.
    pub behind_bytes: Option<u64>,
}

/// The status of stored state.
pub fn status(store: &Store) -> Result<Status, String> {
    let stats = store.stats()?;
    let (open, alerts, closed) = store.counts()?;
    let pos = store.position()?;
    let mut undelivered = Vec::new();
    for name in ["alerts", "stdout", "verdicts", "webhook"] {
        if let Some(d) = store.delivered(name)? {
            // Verdicts are numbered apart from alerts: by the cases closed.
            let raised = if name == "verdicts" { closed } else { alerts };
            undelivered.push((name.to_string(), raised.saturating_sub(d.seq)));
        }
    }
    let behind = pos.as_ref().and_then(|p| {
        (p.input != "-" && p.input != "http")
            .then(|| std::fs::metadata(&p.input).ok())
            .flatten()
            .map(|m| m.len().saturating_sub(p.offset))
    });
    Ok(Status {
        procedure: store.meta("procedure")?.unwrap_or_default(),
        open_cases: open,
        at_risk: store.meta("at_risk")?.and_then(|v| v.parse().ok()),
        events: stats.events,
        rejected: stats.rejected,
        late_events: stats.late,
        alerts,
        cases_closed: closed,
        clock: store.clock()?,
        committed: store.meta("committed")?,
        undelivered,
        input: pos.as_ref().map(|p| p.input.clone()),
        offset: pos.as_ref().map(|p| p.offset),
        behind_bytes: behind,
    })
}

struct Sink {
    name: String,
    kind: SinkKind,
    delivered: Delivered,
}

enum SinkKind {
    File(File),
    Stream(Box<dyn Write + Send>),
    Webhook {
        tx: Option<SyncSender<Vec<Alert>>>,
        done: Option<std::thread::JoinHandle<()>>,
        give_up: Arc<AtomicBool>,
    },
}

fn identity(m: &std::fs::Metadata) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        format!("{}:{}", m.dev(), m.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        String::new()
    }
}

/// Opens a sink where its last record says it had delivered to: a file is cut back to
/// the length it had then (dropping whatever a crash left written after it).
fn open_sink(
    t: Target,
    store: &Store,
    state: &std::path::Path,
    procedure: &str,
) -> Result<Sink, String> {
    match t {
        Target::File { name, file } => {
            let len = file.metadata().map_err(|e| format!("{name}: {e}"))?.len();
            // A file this state has not written to yet: where it starts is recorded
            // before anything is written, so that a crash after the first write (before
            // the commit that records it) is cut back to here, not written twice.
            let d = match store.delivered(&name)? {
                Some(d) => d,
                None => {
                    let d = Delivered {
                        seq: 0,
                        length: Some(len),
                    };
                    store.set_delivered(&name, d)?;
                    d
                }
            };
            match d.length {
                Some(l) if len > l => file
                    .set_len(l)
                    .map_err(|e| format!("{name}: cannot cut back to {l} bytes: {e}"))?,
                Some(l) if len < l => {
                    return Err(format!(
                        "{name}: is {len} bytes, shorter than the {l} bytes already delivered to it: \
                         it was changed by someone else (give another file, or a new --state)"
                    ));
                }
                _ => {}
            }
            let mut file = file;
            file.seek(SeekFrom::End(0))
                .map_err(|e| format!("{name}: {e}"))?;
            Ok(Sink {
                name,
                kind: SinkKind::File(file),
                delivered: Delivered {
                    length: Some(d.length.unwrap_or(len)),
                    ..d
                },
            })
        }
        Target::Stream { name, out } => Ok(Sink {
            delivered: store.delivered(&name)?.unwrap_or_default(),
            name,
            kind: SinkKind::Stream(out),
        }),
        Target::Webhook { url } => {
            let name = "webhook".to_string();
            let delivered = store.delivered(&name)?.unwrap_or_default();
            let (tx, rx) = mpsc::sync_channel::<Vec<Alert>>(64);
            let own = Store::open(state, procedure)?;
            let give_up = Arc::new(AtomicBool::new(false));
            let stop = give_up.clone();
            let done = std::thread::spawn(move || webhook(url, rx, own, stop));
            Ok(Sink {
                name,
                kind: SinkKind::Webhook {
                    tx: Some(tx),
                    done: Some(done),
                    give_up,
                },
                delivered,
            })
        }
    }
}

/// Posts each batch until the endpoint accepts it (2xx), backing off from 200 ms to
/// 30 s between tries; records what it delivered in its own connection. Once `give_up`
/// is set (the run is ending and has waited long enough) it stops retrying: what it has
/// not delivered is delivered by the next run, from the state.
fn webhook(url: String, rx: Receiver<Vec<Alert>>, store: Store, give_up: Arc<AtomicBool>) {
    let agent = ureq::Agent::new_with_defaults();
    for batch in rx {
        let Some(last) = batch.last().map(|a| a.seq) else {
            continue;
        };
        let body = serde_json::to_string(&batch).unwrap_or_else(|_| "[]".into());
        let mut wait = StdDuration::from_millis(200);
        loop {
            let ok = agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.as_str())
                .is_ok_and(|r| r.status().is_success());
            if ok {
                let _ = store.set_delivered(
                    "webhook",
                    Delivered {
                        seq: last,
                        length: None,
                    },
                );
                break;
            }
            if give_up.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(StdDuration::from_secs(30));
        }
    }
}

impl Sink {
    fn deliver(&mut self, alerts: &[Alert], line: &dyn Fn(&Alert) -> String) -> Result<(), String> {
        let fresh: Vec<&Alert> = alerts
            .iter()
            .filter(|a| a.seq > self.delivered.seq)
            .collect();
        let Some(last) = fresh.last().map(|a| a.seq) else {
            return Ok(());
        };
        let mut text = String::new();
        for a in &fresh {
            text.push_str(&line(a));
            text.push('\n');
        }
        self.write(&text, last)
    }

    fn write(&mut self, text: &str, last: u64) -> Result<(), String> {
        let name = self.name.clone();
        let err = |e: std::io::Error| format!("{name}: {e}");
        match &mut self.kind {
            SinkKind::File(f) => {
                f.write_all(text.as_bytes()).map_err(err)?;
                f.flush().map_err(err)?;
                self.delivered.length =
                    Some(self.delivered.length.unwrap_or(0) + text.len() as u64);
            }
            SinkKind::Stream(w) => {
                w.write_all(text.as_bytes()).map_err(err)?;
                w.flush().map_err(err)?;
            }
            SinkKind::Webhook { .. } => {}
        }
        self.delivered.seq = last;
        Ok(())
    }
}

/// Runs `watch` until the input ends (or forever, when followed or served). The
/// monitor is restored from the store first, and what a crash left undelivered is
/// delivered before anything new is read.
pub fn run(
    monitor: &mut Monitor<'_>,
    store: &mut Store,
    state: &std::path::Path,
    procedure: &str,
    settings: Settings,
) -> Result<Outcome, String> {
    // Restore.
    for (case, lines, sent) in store.open_cases()? {
        monitor
            .restore(&case, &lines, sent)
            .map_err(|e| format!("state: case `{case}`: {}", e.reason))?;
    }
    let first = monitor.resume(store.clock()?, store.stats()?);
    let line = settings.format;
    let mut sinks = Vec::new();
    for t in settings.alerts {
        sinks.push(open_sink(t, store, state, procedure)?);
    }
    let mut verdict_sink = match settings.verdicts {
        Some(t) => Some(open_sink(t, store, state, procedure)?),
        None => None,
    };
    // Deliver what was committed and not delivered (a crash between commit and write).
    let low = sinks
        .iter()
        .map(|s| s.delivered.seq)
        .min()
        .unwrap_or(u64::MAX);
    if low != u64::MAX {
        let pending = store.alerts_after(low)?;
        deliver_all(&mut sinks, &pending, &*line)?;
    }
    if let Some(v) = &mut verdict_sink {
        let pending = store.verdicts_after(v.delivered.seq)?;
        deliver_verdicts(v, &pending)?;
    }
    Store::checkpointer(state, StdDuration::from_millis(500))?;
    let position = store.position()?;
    let (tx, rx) = mpsc::sync_channel::<Msg>(QUEUED);
    let mut input_name = String::from("-");
    match settings.input {
        Input::Stdin => {
            let skip = position
                .as_ref()
                .filter(|p| p.input == "-")
                .map_or(0, |p| p.offset);
            std::thread::spawn(move || read_stdin(skip, tx));
        }
        Input::File { path, follow } => {
            input_name = path.display().to_string();
            let start = position.filter(|p| p.input == input_name);
            let poll = settings.poll;
            std::thread::spawn(move || read_file(path, follow, start, poll, tx));
        }
        Input::Http {
            addr,
            token,
            max_body,
        } => {
            input_name = "http".into();
            let server = tiny_http::Server::http(&addr)
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            std::thread::spawn(move || serve(server, token, max_body, tx));
        }
    }
    // Events are taken while the batch before is committed and delivered on a thread
    // of its own; whether a case has closed is read from a connection of their own.
    let closed_cases = Store::read_only(state)?;
    std::thread::scope(|scope| {
        let durable = Durable {
            store,
            sinks,
            verdicts: verdict_sink,
            pending: Vec::new(),
            line,
        };
        let events = Events {
            rx,
            name: input_name,
            clock: settings.clock,
            close_at_end: settings.close_at_end,
        };
        take_all(monitor, &closed_cases, durable, first, events, scope)
    })
}

/// The batch before: committed and delivered on its own thread while events are taken.
type Committing<'scope, 's> = std::thread::ScopedJoinHandle<'scope, Result<Durable<'s>, String>>;

/// Where events come from and how they are taken.
struct Events {
    rx: Receiver<Msg>,
    /// The input's name, for the position stored.
    name: String,
    clock: Clock,
    close_at_end: bool,
}

/// Takes events a batch at a time, each batch committed (then delivered) on a thread of
/// its own while the next is taken; at most one batch is being committed at a time.
/// `closed_cases` answers whether a case has closed (as committed); `first` is what the
/// restart found, committed with the first batch.
fn take_all<'scope, 's: 'scope>(
    monitor: &mut Monitor<'_>,
    closed_cases: &Store,
    durable: Durable<'s>,
    first: Changes,
    events: Events,
    scope: &'scope std::thread::Scope<'scope, '_>,
) -> Result<Outcome, String> {
    let Events {
        rx,
        name: input_name,
        clock,
        close_at_end,
    } = events;
    let mut durable = Some(durable);
    let mut committing: Option<Committing<'scope, 's>> = None;
    let mut out = Outcome::default();
    let mut paced: Option<(DateTime<Utc>, Instant)> = None;
    let mut last_position: Option<Position> = None;
    // The first commit records what the restart found (normally nothing).
    let mut changes = first;
    let mut ended = false;
    let mut queue: std::collections::VecDeque<Msg> = std::collections::VecDeque::new();
    let mut replies: Vec<(Sender<HttpReply>, HttpReply)> = Vec::new();
    loop {
        let mut taken = 0usize;
        let wait = match clock {
            Clock::Wall => monitor
                .next_timer()
                .map(|t| (t - Utc::now()).to_std().unwrap_or_default())
                .unwrap_or(StdDuration::from_secs(1))
                .min(StdDuration::from_secs(1)),
            Clock::Event { .. } => StdDuration::from_millis(200),
        };
        if queue.is_empty() {
            match rx.recv_timeout(wait) {
                Ok(m) => enqueue(&mut queue, m),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => queue.push_back(Msg::End),
            }
        }
        if clock == Clock::Wall {
            monitor.advance(Utc::now(), true, &mut changes);
        } else {
            // A replay: take up to a batch of what is waiting, to work out judgements
            // ahead.
            while queue.len() < BATCH
                && let Ok(m) = rx.try_recv()
            {
                enqueue(&mut queue, m);
            }
        }
        while let Some(m) = queue.pop_front() {
            match m {
                // `enqueue` unpacks chunks; none is nested.
                Msg::Lines(v) => {
                    for m in v.into_iter().rev() {
                        queue.push_front(m);
                    }
                    continue;
                }
                Msg::Line {
                    text,
                    place,
                    position,
                } => {
                    last_position = Some(position);
                    match text {
                        Ok(t) => {
                            if let Clock::Event { speed: Some(s) } = clock {
                                pace(monitor, &t, s, &mut paced);
                            }
                            if clock == Clock::Wall {
                                monitor.advance(Utc::now(), true, &mut changes);
                            }
                            if !monitor.foreseeing() {
                                // The judgements of this event and those waiting after
                                // it, worked out ahead in parallel.
                                let texts: Vec<&str> = std::iter::once(t.as_str())
                                    .chain(queue.iter().filter_map(|m| match m {
                                        Msg::Line { text: Ok(t), .. } => Some(t.as_str()),
                                        _ => None,
                                    }))
                                    .take(FORESEEN)
                                    .collect();
                                monitor.foresee(&texts);
                            }
                            if let Err(e) = take(monitor, closed_cases, &t, &mut changes)? {
                                if e.fatal {
                                    return Err(format!("{place}: {}", e.reason));
                                }
                                reject(&mut out, place, e.kind, e.reason);
                            }
                        }
                        Err(reason) => {
                            monitor.reject("unreadable-record");
                            reject(&mut out, place, "unreadable-record", reason);
                        }
                    }
                    taken += 1;
                }
                Msg::Http { lines, reply } => {
                    let mut r = HttpReply {
                        accepted: 0,
                        rejected: Vec::new(),
                    };
                    for (i, t) in lines.iter().enumerate() {
                        if clock == Clock::Wall {
                            monitor.advance(Utc::now(), true, &mut changes);
                        }
                        match take(monitor, closed_cases, t, &mut changes)? {
                            Ok(()) => r.accepted += 1,
                            Err(e) => {
                                reject(
                                    &mut out,
                                    format!("POST /events, event {}", i + 1),
                                    e.kind,
                                    e.reason.clone(),
                                );
                                r.rejected.push(HttpRejected {
                                    index: i,
                                    kind: e.kind.to_string(),
                                    reason: e.reason,
                                });
                            }
                        }
                        taken += 1;
                    }
                    last_position = Some(Position {
                        input: "http".into(),
                        identity: String::new(),
                        offset: monitor.stats.events + monitor.stats.rejected,
                    });
                    replies.push((reply, r));
                }
                Msg::Status { reply } => {
                    let s = status(closed_cases).map(|mut s| {
                        s.open_cases = monitor.open_cases() as u64;
                        s.at_risk = Some(monitor.at_risk() as u64);
                        s.events = monitor.stats.events;
                        s.rejected = monitor.stats.rejected;
                        s.clock = monitor.clock();
                        s
                    });
                    let _ = reply.send(match s {
                        Ok(s) => serde_json::to_string_pretty(&s).unwrap_or_default(),
                        Err(e) => serde_json::json!({ "error": e }).to_string(),
                    });
                }
                Msg::End => ended = true,
                Msg::Failed(e) => return Err(e),
            }
            if ended || taken >= BATCH {
                break;
            }
            if queue.is_empty()
                && let Ok(m) = rx.try_recv()
            {
                enqueue(&mut queue, m);
            }
        }
        if ended && close_at_end {
            monitor.close_all(&mut changes);
        }
        // Commit, then deliver, then (with the next commit) record the delivery: on a
        // thread of its own, while the next batch is taken. The batch before is
        // finished first (its cases closed are then stored).
        let dirty = taken > 0 || !changes.alerts.is_empty() || !changes.closed.is_empty();
        let must = dirty || ended || !replies.is_empty();
        if let Some(h) = committing.take_if(|h| must || h.is_finished()) {
            durable = Some(finish(h)?);
            monitor.stored();
        }
        if let Some(d) = durable.take_if(|d| must || !d.pending.is_empty()) {
            let position = last_position.clone().map(|mut p| {
                if p.input.is_empty() {
                    p.input = input_name.clone();
                }
                p
            });
            out.alerts += changes.alerts.len() as u64;
            out.closed += changes.closed.len() as u64;
            let batch = Batch {
                changes: std::mem::take(&mut changes),
                position,
                clock: monitor.clock(),
                stats: monitor.stats.clone(),
                at_risk: monitor.at_risk(),
                replies: std::mem::take(&mut replies),
            };
            monitor.storing();
            committing = Some(scope.spawn(move || {
                let mut d = d;
                d.commit(batch).map(|()| d)
            }));
        }
        if ended {
            if let Some(h) = committing.take() {
                durable = Some(finish(h)?);
                monitor.stored();
            }
            if let Some(d) = &mut durable {
                for (name, delivered) in &d.pending {
                    d.store.set_delivered(name, *delivered)?;
                }
                drain_webhooks(&mut d.sinks, WEBHOOK_GRACE);
            }
            break;
        }
    }
    out.events = monitor.stats.events;
    out.rejected = monitor.stats.rejected;
    out.open = monitor.open_cases();
    Ok(out)
}

/// What commits a batch and delivers it: moved to a thread of its own while the next
/// batch is taken, and back.
struct Durable<'s> {
    store: &'s mut Store,
    sinks: Vec<Sink>,
    verdicts: Option<Sink>,
    /// How far each sink had delivered, recorded with the next commit.
    pending: Vec<(String, Delivered)>,
    line: Box<dyn Fn(&Alert) -> String + Send>,
}

/// One batch to commit and deliver, with what the monitor counted at its end.
struct Batch {
    changes: Changes,
    position: Option<Position>,
    clock: Option<DateTime<Utc>>,
    stats: super::Stats,
    at_risk: usize,
    /// HTTP requests answered once their events are committed.
    replies: Vec<(Sender<HttpReply>, HttpReply)>,
}

impl Durable<'_> {
    /// Commits `b` in one transaction, then delivers its alerts (and the final verdicts
    /// stored since the last delivery) and answers its requests.
    fn commit(&mut self, mut b: Batch) -> Result<(), String> {
        self.store.commit(
            &mut b.changes,
            b.position.as_ref(),
            b.clock,
            &b.stats,
            &self.pending,
        )?;
        self.store.set("at_risk", &b.at_risk.to_string())?;
        self.pending.clear();
        deliver_all(&mut self.sinks, &b.changes.alerts, &*self.line)?;
        if let Some(v) = &mut self.verdicts {
            let fresh = self.store.verdicts_after(v.delivered.seq)?;
            deliver_verdicts(v, &fresh)?;
            self.pending.push((v.name.clone(), v.delivered));
        }
        for s in &self.sinks {
            self.pending.push((s.name.clone(), s.delivered));
        }
        self.pending.retain(|(n, _)| n != "webhook");
        for (reply, r) in b.replies {
            let _ = reply.send(r);
        }
        Ok(())
    }
}

/// Waits for the batch being committed and delivered.
fn finish<'s>(h: Committing<'_, 's>) -> Result<Durable<'s>, String> {
    h.join()
        .map_err(|_| "state: the thread committing a batch stopped unexpectedly".to_string())?
}

/// How long a run whose input has ended waits for a webhook to take what it was sent.
pub const WEBHOOK_GRACE: StdDuration = StdDuration::from_secs(30);

/// Waits up to `grace` for each webhook to deliver what it was sent, then stops it.
fn drain_webhooks(sinks: &mut [Sink], grace: StdDuration) {
    let until = std::time::Instant::now() + grace;
    for s in sinks {
        if let SinkKind::Webhook { tx, done, give_up } = &mut s.kind {
            drop(tx.take());
            if let Some(h) = done.take() {
                while !h.is_finished() && std::time::Instant::now() < until {
                    std::thread::sleep(StdDuration::from_millis(20));
                }
                give_up.store(true, Ordering::Relaxed);
                let _ = h.join();
            }
        }
    }
}

/// Takes one event (`Monitor::event`), asking the state whether its case has closed.
/// When the state cannot be read the answer is unknown: the run stops (`Err`) before the
/// batch is committed, so that nothing judged on a guess is kept or sent.
fn take(
    monitor: &mut Monitor,
    store: &Store,
    text: &str,
    changes: &mut Changes,
) -> Result<Result<(), super::Rejection>, String> {
    let mut unread = None;
    let closed = &mut |id: &str| match store.is_closed(id) {
        Ok(closed) => closed,
        Err(e) => {
            unread.get_or_insert_with(|| {
                format!("state: cannot tell whether case `{id}` has closed: {e}")
            });
            false
        }
    };
    let took = monitor.event(text, closed, changes);
    match unread {
        Some(e) => Err(e),
        None => Ok(took),
    }
}

fn reject(out: &mut Outcome, place: String, kind: &str, reason: String) {
    if out.rejections.len() < REJECTIONS_KEPT {
        out.rejections.push((place, kind.to_string(), reason));
    }
}

/// With `--speed`, waits until the event's time comes on a clock running `speed` times
/// real time from the first event.
fn pace(
    monitor: &mut Monitor<'_>,
    text: &str,
    speed: f64,
    paced: &mut Option<(DateTime<Utc>, Instant)>,
) {
    let Some(t) = monitor.peek_time(text) else {
        return;
    };
    let (t0, w0) = *paced.get_or_insert((t, Instant::now()));
    let ahead_ms = (t - t0).num_milliseconds() as f64 / speed.max(1e-9);
    let due = w0 + StdDuration::from_millis(ahead_ms.max(0.0) as u64);
    let now = Instant::now();
    if due > now {
        std::thread::sleep(due - now);
    }
}

fn deliver_all(
    sinks: &mut [Sink],
    alerts: &[Alert],
    line: &dyn Fn(&Alert) -> String,
) -> Result<(), String> {
    for s in sinks {
        if let SinkKind::Webhook { tx: Some(tx), .. } = &s.kind {
            let fresh: Vec<Alert> = alerts
                .iter()
                .filter(|a| a.seq > s.delivered.seq)
                .cloned()
                .collect();
            if let Some(last) = fresh.last().map(|a| a.seq) {
                let _ = tx.send(fresh);
                s.delivered.seq = last;
            }
            continue;
        }
        s.deliver(alerts, line)?;
    }
    Ok(())
}

fn deliver_verdicts(s: &mut Sink, verdicts: &[(u64, String)]) -> Result<(), String> {
    let fresh: Vec<&(u64, String)> = verdicts
        .iter()
        .filter(|(q, _)| *q > s.delivered.seq)
        .collect();
    let Some(last) = fresh.last().map(|(q, _)| *q) else {
        return Ok(());
    };
    let mut text = String::new();
    for (_, v) in fresh {
        text.push_str(v);
        text.push('\n');
    }
    s.write(&text, last)
}

/// Reads one line of at most [`MAX_LINE`] bytes (without its newline). `Ok(None)` at
/// the end; a line without its newline at the end is returned only when `partial_ok`.
/// Returns the bytes consumed too.
fn bounded_line(r: &mut dyn BufRead, buf: &mut Vec<u8>) -> std::io::Result<(usize, bool)> {
    buf.clear();
    let mut consumed = 0usize;
    let mut too_long = false;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok((consumed, too_long));
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if buf.len() + take <= MAX_LINE + 1 {
            buf.extend_from_slice(&chunk[..take]);
        } else {
            too_long = true;
        }
        r.consume(take);
        consumed += take;
        if done {
            return Ok((consumed, too_long));
        }
    }
}

fn line_msg(buf: &[u8], too_long: bool, place: String, position: Position) -> Option<Msg> {
    let body = buf.strip_suffix(b"\n").unwrap_or(buf);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    if !too_long && body.iter().all(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let text = if too_long {
        Err(format!("the line is longer than {MAX_LINE} bytes"))
    } else {
        String::from_utf8(body.to_vec()).map_err(|_| "the line is not UTF-8".to_string())
    };
    Some(Msg::Line {
        text,
        place,
        position,
    })
}

fn read_stdin(skip: u64, tx: SyncSender<Msg>) {
    let mut r = BufReader::with_capacity(1 << 16, std::io::stdin());
    let mut offset = 0u64;
    let mut n = 0u64;
    let mut buf = Vec::new();
    let mut chunk = Vec::new();
    loop {
        match bounded_line(&mut r, &mut buf) {
            Ok((0, _)) => break,
            Ok((k, long)) => {
                offset += k as u64;
                n += 1;
                if offset <= skip {
                    continue;
                }
                let pos = Position {
                    input: "-".into(),
                    identity: String::new(),
                    offset,
                };
                let m = line_msg(&buf, long, format!("-:{n}"), pos);
                if !chunked(&tx, &mut chunk, m, r.buffer().is_empty()) {
                    return;
                }
            }
            Err(e) => {
                chunked(&tx, &mut chunk, None, true);
                let _ = tx.send(Msg::Failed(format!("standard input: {e}")));
                return;
            }
        }
    }
    chunked(&tx, &mut chunk, None, true);
    let _ = tx.send(Msg::End);
}

fn read_file(
    path: PathBuf,
    follow: bool,
    start: Option<Position>,
    poll: StdDuration,
    tx: SyncSender<Msg>,
) {
    let name = path.display().to_string();
    let mut resume = start;
    'files: loop {
        let file = loop {
            match File::open(&path) {
                Ok(f) => break f,
                Err(e) if follow => {
                    let _ = e;
                    std::thread::sleep(poll);
                }
                Err(e) => {
                    let _ = tx.send(Msg::Failed(format!("{name}: {e}")));
                    return;
                }
            }
        };
        let id = file.metadata().map(|m| identity(&m)).unwrap_or_default();
        let mut offset = 0u64;
        let mut r = BufReader::with_capacity(1 << 16, file);
        if let Some(p) = resume.take()
            && p.identity == id
            && r.seek(SeekFrom::Start(p.offset)).is_ok()
        {
            offset = p.offset;
        }
        // Line numbers are counted from where reading began.
        let mut n = 0u64;
        let mut buf = Vec::new();
        let mut partial: Vec<u8> = Vec::new();
        let mut chunk = Vec::new();
        loop {
            match bounded_line(&mut r, &mut buf) {
                Ok((0, _)) => {
                    if !chunked(&tx, &mut chunk, None, true) {
                        return;
                    }
                    if !follow {
                        if !partial.is_empty() {
                            n += 1;
                            offset += partial.len() as u64;
                            let pos = Position {
                                input: name.clone(),
                                identity: id.clone(),
                                offset,
                            };
                            if let Some(m) = line_msg(
                                &partial,
                                partial.len() > MAX_LINE,
                                format!("{name}:+{n}"),
                                pos,
                            ) {
                                let _ = tx.send(m);
                            }
                        }
                        let _ = tx.send(Msg::End);
                        return;
                    }
                    std::thread::sleep(poll);
                    // Rotated (another file at the path) or truncated: start it afresh.
                    match std::fs::metadata(&path) {
                        Ok(m) if identity(&m) != id => continue 'files,
                        Ok(m) if m.len() < offset + partial.len() as u64 => {
                            continue 'files;
                        }
                        _ => {}
                    }
                }
                Ok((k, long)) => {
                    let complete = buf.ends_with(b"\n");
                    if !complete {
                        // A line still being written: wait for its end.
                        partial.extend_from_slice(&buf);
                        continue;
                    }
                    let line = if partial.is_empty() {
                        std::mem::take(&mut buf)
                    } else {
                        partial.extend_from_slice(&buf);
                        std::mem::take(&mut partial)
                    };
                    let total = line.len() as u64;
                    let _ = k;
                    offset += total;
                    n += 1;
                    let pos = Position {
                        input: name.clone(),
                        identity: id.clone(),
                        offset,
                    };
                    let m = line_msg(
                        &line,
                        long || line.len() > MAX_LINE + 1,
                        format!("{name}:+{n}"),
                        pos,
                    );
                    if !chunked(&tx, &mut chunk, m, false) {
                        return;
                    }
                }
                Err(e) => {
                    chunked(&tx, &mut chunk, None, true);
                    let _ = tx.send(Msg::Failed(format!("{name}: {e}")));
                    return;
                }
            }
        }
    }
}

/// The HTTP endpoint: `POST /events` and `GET /status`; every other path is 404.
fn serve(server: tiny_http::Server, token: Option<String>, max_body: usize, tx: SyncSender<Msg>) {
    let json = || {
        tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..])
            .expect("a constant header is valid")
    };
    for mut req in server.incoming_requests() {
        let respond = |req: tiny_http::Request, code: u16, body: String| {
            let _ = req.respond(
                tiny_http::Response::from_string(body)
                    .with_status_code(code)
                    .with_header(json()),
            );
        };
        let error = |msg: &str| serde_json::json!({ "error": msg }).to_string();
        if let Some(t) = &token {
            let want = format!("Bearer {t}");
            let ok = req
                .headers()
                .iter()
                .any(|h| h.field.equiv("Authorization") && h.value.as_str() == want);
            if !ok {
                respond(req, 401, error("a bearer token is required"));
                continue;
            }
        }
        let path = req.url().split('?').next().unwrap_or("").to_string();
        match (req.method(), path.as_str()) {
            (tiny_http::Method::Get, "/status") => {
                let (rtx, rrx) = mpsc::channel();
                if tx.send(Msg::Status { reply: rtx }).is_err() {
                    return;
                }
                let body = rrx.recv().unwrap_or_default();
                respond(req, 200, body);
            }
            (tiny_http::Method::Post, "/events") => {
                let mut body = Vec::new();
                let read = req
                    .as_reader()
                    .take(max_body as u64 + 1)
                    .read_to_end(&mut body);
                if read.is_err() {
                    respond(req, 400, error("the body could not be read"));
                    continue;
                }
                if body.len() > max_body {
                    respond(
                        req,
                        413,
                        error(&format!("the body is larger than {max_body} bytes")),
                    );
                    continue;
                }
                let Ok(text) = String::from_utf8(body) else {
                    respond(req, 400, error("the body is not UTF-8"));
                    continue;
                };
                let lines = match split_events(&text) {
                    Ok(l) => l,
                    Err(e) => {
                        respond(req, 400, error(&e));
                        continue;
                    }
                };
                let (rtx, rrx) = mpsc::channel();
                if tx.send(Msg::Http { lines, reply: rtx }).is_err() {
                    return;
                }
                match rrx.recv() {
                    Ok(r) => {
                        let code = if r.rejected.is_empty() { 200 } else { 400 };
                        respond(req, code, serde_json::to_string(&r).unwrap_or_default());
                    }
                    Err(_) => respond(req, 503, error("watch is stopping")),
                }
            }
            _ => respond(
                req,
                404,
                error("no such endpoint: POST /events or GET /status"),
            ),
        }
    }
}

/// A body's events: a JSON array of objects, or one object per line.
pub fn split_events(text: &str) -> Result<Vec<String>, String> {
    let t = text.trim_start();
    if t.starts_with('[') {
        let v: Vec<serde_json::Value> =
            serde_json::from_str(t).map_err(|e| format!("not a JSON array of events: {e}"))?;
        return Ok(v.iter().map(|e| e.to_string()).collect());
    }
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect())
}
