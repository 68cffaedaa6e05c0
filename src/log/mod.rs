//! Event logs of recorded handling: cases (traces) of events, read from XES
//! (`.xes`, `.xes.gz`), CSV, JSON Lines or hand-written YAML.
//!
//! XES is streamed trace by trace (memory grows with the largest case). CSV and JSON
//! Lines hold one event per row, cases possibly spread through the file. They are read
//! in two passes (three when needed): the first finds the cases whose rows are not all
//! in one run, with a Bloom filter of finished runs (a few KiB, at most about 11 MiB);
//! for those cases only, a second pass counts their events; the last pass builds events
//! and hands each case on when its run ends (contiguous cases) or its count is reached
//! (scattered cases), in order of first appearance. Memory follows the cases in flight, not the log. Every
//! record is either part of a case or rejected with its location; [`ReadStats`]
//! reconciles the counts and says what the log carries (times, actors, columns).
//!
//! Bounds (docs/robustness.md): a case holds at most [`LogOptions::max_events_per_case`]
//! events, later ones are rejected (`case-too-long`) at their location, and its events
//! take at most [`LogOptions::max_case_bytes`] of memory (`case-too-large`); a CSV or JSON
//! Lines read holds at most [`LogOptions::max_open_cases`] unfinished cases, beyond which
//! it stops with an error naming the record, and as many finished cases waiting for an
//! earlier one, beyond which finished cases are handed on early (counted in
//! [`ReadStats::cases_out_of_order`]); one record is bounded by
//! [`crate::input::MAX_RECORD_BYTES`], a YAML log by [`crate::input::MAX_DOCUMENT_BYTES`].
//!
//! A blank value (an empty CSV cell, `""` or `null` in JSON Lines, an empty XES value) is
//! an absent attribute. A UTF-8 byte-order mark is skipped. `-` reads standard input
//! (with [`LogOptions::format`]). The columns read come from [`log_options`]: the
//! procedure's `mapping`, overridden by explicit flags.

mod profile;
mod xes;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

pub use profile::{Columns, LogFlags, LogFormat, Mapping, actor_constraints, log_options};
pub use xes::read_xes;

pub use profile::{TimeError, event_time, rfc3339};

/// An event's attributes as (key, text) pairs; keys are shared between events.
pub type Attributes = Vec<(Arc<str>, String)>;

/// The text of attribute `key`, if present.
pub fn attribute<'a>(attrs: &'a Attributes, key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| &**k == key)
        .map(|(_, v)| v.as_str())
}

/// Shares attribute keys between events: one allocation per distinct key.
#[derive(Default)]
pub(crate) struct Interner {
    keys: HashMap<Box<str>, Arc<str>, FastHash>,
    /// The key last met at each position of a record (rows of a log mostly have the
    /// same keys in the same order), with its interned form when it is kept: compared
    /// before the table is looked up and the options asked.
    fields: Vec<(Box<str>, Option<Arc<str>>)>,
}

impl Interner {
    pub(crate) fn get(&mut self, key: &str) -> Arc<str> {
        if let Some(k) = self.keys.get(key) {
            return k.clone();
        }
        let k: Arc<str> = Arc::from(key);
        self.keys.insert(key.into(), k.clone());
        k
    }

    /// The interned `key`, met at position `i` of a record, when `wants(key)`.
    pub(crate) fn wanted_at(
        &mut self,
        i: usize,
        key: &str,
        wants: impl Fn(&str) -> bool,
    ) -> Option<Arc<str>> {
        if let Some((k, kept)) = self.fields.get(i)
            && **k == *key
        {
            return kept.clone();
        }
        let kept = wants(key).then(|| self.get(key));
        let slot = (Box::from(key), kept.clone());
        if i < self.fields.len() {
            self.fields[i] = slot;
        } else if i == self.fields.len() && i < 64 {
            self.fields.push(slot);
        }
        kept
    }
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The activity label (several columns joined with `+` when asked).
    pub activity: String,
    pub timestamp: Option<DateTime<FixedOffset>>,
    pub resource: Option<String>,
    /// Every other attribute, as text.
    pub attributes: Attributes,
}

/// One case: its id and events in log order.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub id: String,
    pub events: Vec<Event>,
}

impl Trace {
    /// Keeps the first of each run of consecutive events with the same activity; returns
    /// how many were removed.
    pub fn collapse_repeats(&mut self) -> usize {
        let before = self.events.len();
        self.events
            .dedup_by(|later, earlier| later.activity == earlier.activity);
        before - self.events.len()
    }

    /// Orders events by timestamp, keeping file order among equal times (pm4py's
    /// convention); an event without a time keeps its place, the timed events are
    /// ordered among the places of timed events.
    pub fn sort_by_time(&mut self) {
        // (comparing a missing time as equal to every time is not an order, and a sort
        // may panic on it: the timed events are sorted on their own)
        let slots: Vec<usize> = (0..self.events.len())
            .filter(|&i| self.events[i].timestamp.is_some())
            .collect();
        if slots.len() < 2
            || slots
                .windows(2)
                .all(|w| self.events[w[0]].timestamp <= self.events[w[1]].timestamp)
        {
            return;
        }
        let mut timed: Vec<Event> = slots
            .iter()
            .map(|&i| std::mem::replace(&mut self.events[i], placeholder()))
            .collect();
        timed.sort_by_key(|e| e.timestamp);
        for (i, e) in slots.into_iter().zip(timed) {
            self.events[i] = e;
        }
    }
}

/// An empty event, held in a slot while the events are ordered.
fn placeholder() -> Event {
    Event {
        activity: String::new(),
        timestamp: None,
        resource: None,
        attributes: Vec::new(),
    }
}

/// How activity names and other fields are taken from the log.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// Attributes joined with `+` to make the activity label.
    pub activity: Vec<String>,
    pub case: String,
    pub timestamp: String,
    pub resource: String,
    pub timestamp_format: Option<String>,
    /// Keep file order instead of sorting each case by timestamp.
    pub keep_file_order: bool,
    /// A state log (one row per record update, the activity being the record's state):
    /// consecutive events of a case with the same activity are one, the first kept; the
    /// others are counted as collapsed, never dropped silently.
    pub collapse_repeats: bool,
    /// Keep every attribute of an event; when false, only the activity, time, resource
    /// and case attributes are kept (faster, for control-flow checks).
    pub keep_attributes: bool,
    /// Attributes kept even when `keep_attributes` is false.
    pub extra: KeySet,
    /// The zone of timestamps written without an offset (local times).
    pub timezone: Option<chrono_tz::Tz>,
    /// With no `timezone`, read local times as UTC (counted in
    /// [`ReadStats::events_assumed_utc`]) instead of failing.
    pub assume_utc: bool,
    /// The log's format; `None`: from the file name.
    pub format: Option<LogFormat>,
    /// Most events one case may hold; later events of the case are rejected
    /// (`case-too-long`). Default [`MAX_EVENTS_PER_CASE`].
    pub max_events_per_case: usize,
    /// Most unfinished cases a CSV or JSON Lines read may hold at once. Default
    /// [`MAX_OPEN_CASES`].
    pub max_open_cases: usize,
    /// Most memory (about, in bytes) one case's events may take; later events of the
    /// case are rejected (`case-too-large`). Default [`MAX_CASE_BYTES`].
    pub max_case_bytes: usize,
}

/// The default most memory one case's events may take.
pub const MAX_CASE_BYTES: usize = 256 << 20;

/// The default most events one case may hold.
pub const MAX_EVENTS_PER_CASE: usize = 100_000;

/// The default most cases held at once by a CSV or JSON Lines read (unfinished ones,
/// and finished ones waiting for an earlier case to finish).
pub const MAX_OPEN_CASES: usize = 500_000;

/// A set of attribute names with a fast hash (names are short and trusted to be few).
pub type KeySet = std::collections::HashSet<String, FastHash>;

pub(crate) use crate::hash::SeededHash as CaseHash;
pub use crate::hash::{FastHash, Fnv};

/// Event attributes that mark an event as outside control flow (an acknowledgement, an
/// escalation).
pub const SET_ASIDE_ATTRIBUTES: [&str; 2] = ["acknowledges", "escalated_to"];

impl LogOptions {
    /// Whether an attribute is kept on events.
    pub(crate) fn wants(&self, key: &str) -> bool {
        self.keep_attributes
            || key == self.timestamp
            || key == self.resource
            || key == self.case
            || self.activity.iter().any(|a| a == key)
            || SET_ASIDE_ATTRIBUTES.contains(&key)
            || self.extra.contains(key)
    }
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            activity: vec!["concept:name".into()],
            case: "case:concept:name".into(),
            timestamp: "time:timestamp".into(),
            resource: "org:resource".into(),
            timestamp_format: None,
            keep_file_order: false,
            collapse_repeats: false,
            keep_attributes: true,
            extra: KeySet::default(),
            timezone: None,
            assume_utc: false,
            format: None,
            max_events_per_case: MAX_EVENTS_PER_CASE,
            max_open_cases: MAX_OPEN_CASES,
            max_case_bytes: MAX_CASE_BYTES,
        }
    }
}

/// A record that could not be used, with where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub location: String,
    pub reason: String,
    /// What was wrong, for counting: `unreadable-record`, `no-case-id`, `no-activity`,
    /// `unreadable-timestamp`, `ambiguous-local-time`, `nonexistent-local-time`,
    /// `case-too-long` or `case-too-large`.
    pub kind: &'static str,
}

/// Counts that reconcile (every event read is in a case or rejected), and what the
/// events carry, so that a caller can tell a perspective that had no data.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ReadStats {
    pub cases: usize,
    pub events_read: usize,
    pub events_in_cases: usize,
    /// Events of cases folded into the one before them (`collapse_repeats`): in
    /// `events_in_cases`, not in the traces handed on.
    pub events_collapsed: usize,
    pub events_rejected: usize,
    /// Events in cases without a time (no value in the timestamp column).
    pub events_without_timestamp: usize,
    /// Events whose zone-less time was read as UTC (`assume_utc`).
    pub events_assumed_utc: usize,
    /// Events in cases with an actor (the actor column has a value).
    pub events_with_actor: usize,
    /// Events in cases with an `acknowledges` value.
    pub events_with_acknowledges: usize,
    /// Events in cases with an `escalated_to` value.
    pub events_with_escalated_to: usize,
    /// Rejected events by [`Rejected::kind`].
    pub rejected_by_kind: BTreeMap<String, usize>,
    /// The columns (attribute keys) seen on the first [`COLUMN_SAMPLE`] records of each
    /// log (a CSV log's header), case attributes included.
    pub columns: std::collections::BTreeSet<String>,
    /// Finished cases handed on before an earlier, unfinished one, because more than
    /// [`LogOptions::max_open_cases`] were waiting (CSV and JSON Lines).
    #[serde(skip_serializing_if = "is_zero")]
    pub cases_out_of_order: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl ReadStats {
    /// Adds another log's counts to these.
    pub fn add(&mut self, o: &ReadStats) {
        self.cases += o.cases;
        self.events_read += o.events_read;
        self.events_in_cases += o.events_in_cases;
        self.events_collapsed += o.events_collapsed;
        self.events_rejected += o.events_rejected;
        self.events_without_timestamp += o.events_without_timestamp;
        self.events_assumed_utc += o.events_assumed_utc;
        self.events_with_actor += o.events_with_actor;
        self.events_with_acknowledges += o.events_with_acknowledges;
        self.events_with_escalated_to += o.events_with_escalated_to;
        self.cases_out_of_order += o.cases_out_of_order;
        for (k, n) in &o.rejected_by_kind {
            *self.rejected_by_kind.entry(k.clone()).or_default() += n;
        }
        self.columns.extend(o.columns.iter().cloned());
    }

    /// Counts a case handed on.
    fn tally(&mut self, t: &Trace) {
        self.cases += 1;
        self.events_in_cases += t.events.len();
        for e in &t.events {
            self.events_without_timestamp += usize::from(e.timestamp.is_none());
            self.events_with_actor += usize::from(e.resource.is_some());
            self.events_with_acknowledges +=
                usize::from(attribute(&e.attributes, "acknowledges").is_some());
            self.events_with_escalated_to +=
                usize::from(attribute(&e.attributes, "escalated_to").is_some());
        }
    }

    /// Counts a rejected event and passes it on.
    fn reject(&mut self, r: Rejected, reject: &mut dyn FnMut(Rejected)) {
        self.events_rejected += 1;
        *self.rejected_by_kind.entry(r.kind.to_string()).or_default() += 1;
        reject(r);
    }
}

/// Whether a value is blank: blank values are absent attributes.
pub(crate) fn blank(v: &str) -> bool {
    match v.as_bytes().first() {
        None => true,
        // (a visible ASCII character is never trimmed: the common case, without a scan)
        Some(&b) if b > b' ' && b < 0x80 => false,
        Some(_) => v.trim().is_empty(),
    }
}

/// The unfinished cases of a read by id: each one's order of first appearance, its
/// events, their size.
type OpenCases = HashMap<String, (usize, Vec<Event>, usize), CaseHash>;

/// Cases by order of first appearance; `None` while a case is still open.
type ReadyQueue = BTreeMap<usize, Option<(String, Vec<Event>)>>;

/// A Bloom filter of case-id hashes that grows in stages (a scalable Bloom filter):
/// it starts at 8 KiB and adds a stage four times larger whenever the newest holds
/// `1/BITS_PER_ITEM` of its bits, up to a last stage of 8 MiB that takes every later
/// insert. A short log costs a few KiB, a long one at most about 11 MiB; about 0.2%
/// false positives per stage while under capacity, more once the last stage is full.
struct Bloom {
    stages: Vec<Vec<u64>>,
    /// Inserts into the newest stage.
    in_newest: u64,
}

impl Bloom {
    const FIRST_BITS: u64 = 1 << 16;
    const LAST_BITS: u64 = 1 << 26;
    const BITS_PER_ITEM: u64 = 24;

    fn new() -> Self {
        Bloom {
            stages: vec![vec![0; (Self::FIRST_BITS / 64) as usize]],
            in_newest: 0,
        }
    }

    fn positions(h: u64, bits: u64) -> [u64; 3] {
        let h2 = h.rotate_left(31).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        [0u64, 1, 2].map(|i| h.wrapping_add(i.wrapping_mul(h2)) % bits)
    }

    fn insert(&mut self, h: u64) {
        let bits = self.stages.last().map_or(0, |s| s.len() as u64 * 64);
        if bits < Self::LAST_BITS && self.in_newest * Self::BITS_PER_ITEM >= bits {
            let next = (bits * 4).min(Self::LAST_BITS);
            self.stages.push(vec![0; (next / 64) as usize]);
            self.in_newest = 0;
        }
        self.in_newest += 1;
        if let Some(stage) = self.stages.last_mut() {
            let bits = stage.len() as u64 * 64;
            for p in Self::positions(h, bits) {
                stage[(p / 64) as usize] |= 1 << (p % 64);
            }
        }
    }

    fn maybe_contains(&self, h: u64) -> bool {
        self.stages.iter().any(|stage| {
            let bits = stage.len() as u64 * 64;
            Self::positions(h, bits)
                .iter()
                .all(|p| stage[(p / 64) as usize] & (1 << (p % 64)) != 0)
        })
    }
}

/// A case id's hash: a word-at-a-time folded-multiply mix from a per-process random
/// seed, with a full avalanche at the end (the Bloom filter takes its low bits). Ids
/// that are alike (`INC0001234`, `INC0001243`) must not collide: two cases with one hash
/// look like one scattered case, and both are held to the end of the read.
fn hash(s: &str) -> u64 {
    crate::hash::seeded(s.as_bytes())
}

/// A field name, borrowed from the input when it has no escapes.
struct Key<'a>(std::borrow::Cow<'a, str>);
impl<'de> serde::Deserialize<'de> for Key<'de> {
    // (visit_borrowed_str keeps the common case free of allocation)
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// One field of a JSON object as text, skipping the others without building them.
fn json_field(text: &str, field: &str) -> Option<String> {
    use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};
    struct Find<'f>(&'f str);
    impl<'de> Visitor<'de> for Find<'_> {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
            let mut found = None;
            while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                if key == self.0 {
                    found = match map.next_value::<serde_json::Value>()? {
                        serde_json::Value::String(s) => Some(s),
                        serde_json::Value::Null => None,
                        other => Some(other.to_string()),
                    };
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }
    serde_json::Deserializer::from_str(text)
        .deserialize_map(Find(field))
        .ok()
        .flatten()
}

/// Most fields [`flat_json`] reads; a longer object is read by serde_json.
const FLAT_FIELDS: usize = 32;

/// A field of a flat JSON object: its name and its text (`None`: `null`).
type FlatField<'t> = (&'t str, Option<&'t str>);

/// The fields of a flat JSON object whose values are all strings without escapes or
/// `null` (a log's usual row), borrowed from `text`, in order; how many in `out`. `None`
/// for anything else (an escape, a control character, a number, a nested value, more
/// than [`FLAT_FIELDS`] fields, text after the object, a malformed object): serde_json
/// reads those, with the same results as for the rows read here.
fn flat_json<'t>(text: &'t str, out: &mut [FlatField<'t>; FLAT_FIELDS]) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = 0;
    let ws = |i: &mut usize| {
        while *i < b.len() && matches!(b[*i], b' ' | b'\n' | b'\t' | b'\r') {
            *i += 1;
        }
    };
    // A string's content after its opening quote, up to (and past) its closing one.
    let string = |i: &mut usize| -> Option<&'t str> {
        let start = *i;
        let len = string_end(&b[start..])?;
        if b[start + len] != b'"' {
            return None;
        }
        *i = start + len + 1;
        // (quotes are ASCII: both ends are character boundaries)
        text.get(start..start + len)
    };
    ws(&mut i);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    ws(&mut i);
    let mut n = 0;
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if n == FLAT_FIELDS || b.get(i) != Some(&b'"') {
                return None;
            }
            i += 1;
            let key = string(&mut i)?;
            ws(&mut i);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i += 1;
            ws(&mut i);
            let value = match b.get(i) {
                Some(b'"') => {
                    i += 1;
                    Some(string(&mut i)?)
                }
                Some(b'n') if b[i..].starts_with(b"null") => {
                    i += 4;
                    None
                }
                _ => return None,
            };
            out[n] = (key, value);
            n += 1;
            ws(&mut i);
            match b.get(i) {
                Some(b',') => {
                    i += 1;
                    ws(&mut i);
                }
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    ws(&mut i);
    (i == b.len()).then_some(n)
}

/// Where the first `"`, `\\` or control character (below 0x20) of `b` is: eight bytes
/// at a time.
fn string_end(b: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // (a byte is flagged when it is zero, after the xor, or below 0x20; a borrow only
    // flags bytes above a flagged one, so the lowest flag is exact)
    let zero = |x: u64| x.wrapping_sub(LO) & !x;
    let mut i = 0;
    while let Some(w) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        let m = (zero(x ^ (LO * u64::from(b'"')))
            | zero(x ^ (LO * u64::from(b'\\')))
            | (x.wrapping_sub(LO * 0x20) & !x))
            & HI;
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| i + p)
}

/// The hash of a row's case id, if it has one.
fn case_hash(rec: &crate::input::Row<'_>, field: &str) -> Option<u64> {
    match *rec {
        crate::input::Row::Json(t) => {
            let mut fields = [("", None); FLAT_FIELDS];
            match flat_json(t, &mut fields) {
                // (the last field of that name, as serde_json's reading has it)
                Some(n) => fields[..n]
                    .iter()
                    .rev()
                    .find(|(k, _)| *k == field)
                    .and_then(|(_, v)| *v)
                    .filter(|c| !c.is_empty())
                    .map(hash),
                None => json_field(t, field)
                    .filter(|c| !c.is_empty())
                    .map(|c| hash(&c)),
            }
        }
        crate::input::Row::Csv(headers, row) => headers
            .iter()
            .position(|h| h == field)
            .and_then(|i| row.get(i))
            .filter(|c| !c.is_empty())
            .map(hash),
    }
}

/// Every field of a row as text. `seen(case)` tells whether the case already has events:
/// then its other case attributes (`case:` keys after the case id) are not built again.
/// Blank cells and `""`/`null` values are left out. `columns` collects the keys seen
/// (given for the first [`COLUMN_SAMPLE`] records of a log).
fn attributes(
    rec: &crate::input::Row<'_>,
    keys: &mut Interner,
    opts: &LogOptions,
    seen: &dyn Fn(&str) -> bool,
    columns: Option<&mut KeySet>,
) -> Result<Attributes, String> {
    Ok(match *rec {
        crate::input::Row::Csv(headers, row) => {
            if let Some(columns) = columns
                && columns.is_empty()
            {
                columns.extend(headers.iter().filter(|h| !h.is_empty()).cloned());
            }
            let mut out = Vec::with_capacity(headers.len());
            for (i, (k, v)) in headers.iter().zip(row.iter()).enumerate() {
                if !blank(v)
                    && let Some(k) = keys.wanted_at(i, k, |k| opts.wants(k))
                {
                    out.push((k, v.to_string()));
                }
            }
            out
        }
        crate::input::Row::Json(t) => json_attributes(t, keys, opts, seen, columns)?,
    })
}

/// A JSON Lines record's fields found ahead, without building anything (so on any
/// thread): `None` when it is not a flat object of strings (then it is read as JSON).
pub struct Scanned<'t>(Option<Vec<FlatField<'t>>>);

/// Finds a record's fields ahead of [`LineReader::read_ahead_scanned`].
pub fn scan_json(text: &str) -> Scanned<'_> {
    let mut fields = [("", None); FLAT_FIELDS];
    Scanned(flat_json(text, &mut fields).map(|n| fields[..n].to_vec()))
}

/// The wanted fields of a JSON object as text; the others are skipped unbuilt.
fn json_attributes(
    text: &str,
    keys: &mut Interner,
    opts: &LogOptions,
    seen: &dyn Fn(&str) -> bool,
    columns: Option<&mut KeySet>,
) -> Result<Attributes, String> {
    let mut fields = [("", None); FLAT_FIELDS];
    let flat = flat_json(text, &mut fields).map(|n| &fields[..n]);
    json_attributes_of(text, flat, keys, opts, seen, columns)
}

/// [`json_attributes`] with the record's flat fields found already (`flat`), if it
/// has them.
fn json_attributes_of(
    text: &str,
    flat: Option<&[FlatField<'_>]>,
    keys: &mut Interner,
    opts: &LogOptions,
    seen: &dyn Fn(&str) -> bool,
    columns: Option<&mut KeySet>,
) -> Result<Attributes, String> {
    if let Some(fields) = flat {
        let n = fields.len();
        // The usual row, read without serde_json: as `Collect` below reads it.
        let mut columns = columns;
        let mut out = Vec::with_capacity(n);
        let mut skip_case = false;
        for (i, &(key, v)) in fields.iter().enumerate() {
            if let Some(columns) = columns.as_deref_mut()
                && !columns.contains(key)
            {
                columns.insert(key.to_string());
            }
            if skip_case && key.starts_with("case:") {
                continue;
            }
            let Some(k) = keys.wanted_at(i, key, |k| opts.wants(k)) else {
                continue;
            };
            let Some(v) = v.filter(|v| !blank(v)) else {
                continue;
            };
            if key == opts.case {
                skip_case = seen(v);
            }
            out.push((k, v.to_string()));
        }
        return Ok(out);
    }
    use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};
    struct Collect<'a> {
        keys: &'a mut Interner,
        opts: &'a LogOptions,
        seen: &'a dyn Fn(&str) -> bool,
        columns: Option<&'a mut KeySet>,
    }
    impl<'de> Visitor<'de> for Collect<'_> {
        type Value = Attributes;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Attributes, A::Error> {
            let mut out = Vec::new();
            let mut skip_case = false;
            while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                if let Some(columns) = self.columns.as_deref_mut()
                    && !columns.contains(&*key)
                {
                    columns.insert(key.to_string());
                }
                let repeated = skip_case && key.starts_with("case:");
                if !repeated && self.opts.wants(&key) {
                    let v = match map.next_value::<serde_json::Value>()? {
                        serde_json::Value::Null => continue,
                        serde_json::Value::String(s) if blank(&s) => continue,
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    if *key == *self.opts.case {
                        skip_case = (self.seen)(&v);
                    }
                    out.push((self.keys.get(&key), v));
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }
    serde_json::Deserializer::from_str(text)
        .deserialize_map(Collect {
            keys,
            opts,
            seen,
            columns,
        })
        .map_err(|e| format!("not a JSON object: {e}"))
}

/// Case attributes (`case:` keys) are repeated on every row of a CSV or JSON Lines log:
/// the first event of the case keeps them, later events only where they differ.
fn drop_repeated_case_attributes(first: &Event, e: &mut Event) {
    e.attributes.retain(|(k, v)| {
        !(k.starts_with("case:")
            && first
                .attributes
                .iter()
                .any(|(fk, fv)| Arc::ptr_eq(fk, k) && fv == v))
    });
}

/// The columns a log has are gathered from its first records (CSV: its header).
pub const COLUMN_SAMPLE: usize = 1_000;

/// Why an event could not be built: a rejection of the record (`fatal` false), or a
/// problem with the whole log's set-up (`fatal`: reading stops).
pub(crate) struct Bad {
    pub(crate) kind: &'static str,
    pub(crate) reason: String,
    pub(crate) fatal: bool,
}

impl Bad {
    fn rejected(self, location: String) -> Rejected {
        Rejected {
            location,
            reason: self.reason,
            kind: self.kind,
        }
    }
}

/// About how many bytes an event takes in memory.
pub(crate) fn event_bytes(e: &Event) -> usize {
    std::mem::size_of::<Event>()
        + e.activity.len()
        + e.resource.as_ref().map_or(0, String::len)
        + e.attributes
            .iter()
            .map(|(_, v)| std::mem::size_of::<(Arc<str>, String)>() + v.len())
            .sum::<usize>()
}

/// An amount of memory in MiB when it is whole ones, else in bytes.
fn amount(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// The event with its size, when the case (holding `held` bytes) can take it within
/// [`LogOptions::max_case_bytes`]; else its rejection (`case-too-large`).
pub(crate) fn within_case_bytes(
    case: &str,
    held: usize,
    e: Event,
    opts: &LogOptions,
) -> Result<(Event, usize), Bad> {
    let size = event_bytes(&e);
    if held + size > opts.max_case_bytes {
        return Err(Bad {
            kind: "case-too-large",
            reason: format!(
                "case `{case}` would take more than {} of memory with this event, the most one \
                 case may take",
                amount(opts.max_case_bytes)
            ),
            fatal: false,
        });
    }
    Ok((e, size))
}

/// The rejection of an event beyond [`LogOptions::max_events_per_case`].
pub(crate) fn case_too_long(case: &str, opts: &LogOptions) -> Bad {
    Bad {
        kind: "case-too-long",
        reason: format!(
            "case `{case}` already has {} events, the most one case may hold",
            opts.max_events_per_case
        ),
        fatal: false,
    }
}

/// Builds an event from attribute pairs; a missing activity attribute or an unreadable
/// time rejects it; a local time with no zone declared is fatal. `assumed` counts local
/// times read as UTC.
pub(crate) fn make_event(
    attrs: Attributes,
    opts: &LogOptions,
    assumed: &mut usize,
) -> Result<Event, Bad> {
    // The activity columns' values joined with `+`, built in place.
    let mut activity = String::new();
    for (i, key) in opts.activity.iter().enumerate() {
        match attribute(&attrs, key) {
            Some(v) => {
                if i > 0 {
                    activity.push('+');
                }
                activity.push_str(v);
            }
            None => {
                return Err(Bad {
                    kind: "no-activity",
                    reason: format!("the event has no `{key}` attribute for its activity"),
                    fatal: false,
                });
            }
        }
    }
    let timestamp = match attribute(&attrs, &opts.timestamp) {
        Some(t) => Some(event_time(t, opts, assumed).map_err(|e| Bad {
            kind: e.kind(),
            fatal: e.fatal(),
            reason: e.into_message(),
        })?),
        None => None,
    };
    let resource = attribute(&attrs, &opts.resource).map(str::to_string);
    Ok(Event {
        activity,
        timestamp,
        resource,
        attributes: attrs,
    })
}

/// Reads every case of a log file, calling `each` per case; rejected events are
/// passed to `reject`. The format is [`LogOptions::format`], else follows the file name
/// (`.xes`, `.xes.gz`, `.csv`, `.csv.gz`, `.jsonl`, `.yaml`); `-` is standard input.
/// Fails when the log as a whole cannot be read, or when a timestamp has no zone and
/// none is declared (naming the record).
pub fn read_log(
    path: &Path,
    opts: &LogOptions,
    each: &mut dyn FnMut(Trace),
    reject: &mut dyn FnMut(Rejected),
) -> Result<ReadStats, String> {
    if !opts.collapse_repeats {
        return read_log_as_is(path, opts, each, reject);
    }
    let mut collapsed = 0usize;
    let mut stats = read_log_as_is(
        path,
        opts,
        &mut |mut t| {
            collapsed += t.collapse_repeats();
            each(t)
        },
        reject,
    )?;
    stats.events_collapsed = collapsed;
    Ok(stats)
}

/// [`read_log`] without collapsing repeats.
fn read_log_as_is(
    path: &Path,
    opts: &LogOptions,
    each: &mut dyn FnMut(Trace),
    reject: &mut dyn FnMut(Rejected),
) -> Result<ReadStats, String> {
    let Some(format) = opts.format.or_else(|| LogFormat::of_path(path)) else {
        return Err(if path.as_os_str() == "-" {
            "reading a log from standard input (`-`) needs --input-format xes|csv|jsonl|yaml"
                .to_string()
        } else {
            format!(
                "cannot tell the log format of `{}`: use .xes, .xes.gz, .csv, .csv.gz, .jsonl or .yaml (or --input-format)",
                path.display()
            )
        });
    };
    let mut stats = ReadStats::default();
    let mut columns = KeySet::default();
    match format {
        LogFormat::Xes => {
            let mut assumed = 0usize;
            let mut rejected = ReadStats::default();
            xes::read_xes_into(
                path,
                opts,
                &mut |mut t| {
                    stats.tally(&t);
                    if !opts.keep_file_order {
                        t.sort_by_time();
                    }
                    each(t);
                },
                &mut |r| rejected.reject(r, reject),
                &mut assumed,
                &mut columns,
            )?;
            stats.events_rejected = rejected.events_rejected;
            stats.rejected_by_kind = rejected.rejected_by_kind;
            stats.events_assumed_utc = assumed;
            stats.events_read = stats.events_in_cases + stats.events_rejected;
        }
        LogFormat::Yaml => read_yaml(path, opts, each, reject, &mut stats, &mut columns)?,
        LogFormat::Csv | LogFormat::Jsonl => {
            let format = if format == LogFormat::Csv {
                crate::input::InputFormat::Csv
            } else {
                crate::input::InputFormat::Jsonl
            };
            read_rows(path, format, opts, each, reject, &mut stats, &mut columns)?;
        }
    }
    stats.columns = columns.into_iter().collect();
    Ok(stats)
}

/// CSV and JSON Lines: one event per row, in passes (see the module documentation).
fn read_rows(
    path: &Path,
    format: crate::input::InputFormat,
    opts: &LogOptions,
    each: &mut dyn FnMut(Trace),
    reject: &mut dyn FnMut(Rejected),
    stats: &mut ReadStats,
    columns: &mut KeySet,
) -> Result<(), String> {
    // Pass 1: which cases are scattered (their events not all in one run of rows)?
    // A Bloom filter of finished runs keeps this pass's memory bounded; a false
    // positive only makes a contiguous case take the counted path below.
    let mut finished_runs = Bloom::new();
    let mut scattered: std::collections::HashSet<u64, CaseHash> = Default::default();
    let mut last: Option<u64> = None;
    crate::input::read_rows(path, format, &mut |_, rec| {
        if let Ok(rec) = rec
            && let Some(h) = case_hash(&rec, &opts.case)
            && last != Some(h)
        {
            if finished_runs.maybe_contains(h) {
                scattered.insert(h);
            }
            if let Some(l) = last {
                finished_runs.insert(l);
            }
            last = Some(h);
        }
    })?;
    drop(finished_runs);
    // Pass 1b, only for scattered cases: how many events each has, so that pass 2
    // can hand it on as soon as its last event is read.
    let mut expected: HashMap<u64, u32, CaseHash> = Default::default();
    if !scattered.is_empty() {
        crate::input::read_rows(path, format, &mut |_, rec| {
            if let Ok(rec) = rec
                && let Some(h) = case_hash(&rec, &opts.case)
                && scattered.contains(&h)
            {
                *expected.entry(h).or_default() += 1;
            }
        })?;
    }
    // Pass 2: build events; hand cases on in order of first appearance, each as soon
    // as it and every case that started before it are complete.
    // Each unfinished case: its order of first appearance, its events, their size.
    let mut open: OpenCases = Default::default();
    let mut keys = Interner::default();
    let mut ready: ReadyQueue = BTreeMap::new();
    let mut order = 0usize;
    let mut assumed = 0usize;
    // A set-up problem (a local time with no zone declared): reading stops.
    let mut fatal: Option<String> = None;
    let mut emit = |id: String, events: Vec<Event>, stats: &mut ReadStats| {
        let mut t = Trace { id, events };
        stats.tally(&t);
        if !opts.keep_file_order {
            t.sort_by_time();
        }
        each(t);
    };
    let held = opts.max_open_cases.max(1);
    let mut flush = |ready: &mut ReadyQueue, stats: &mut ReadStats, all: bool| {
        while let Some(mut entry) = ready.first_entry() {
            if entry.get().is_none() && !all {
                break;
            }
            if let Some((id, events)) = entry.get_mut().take() {
                emit(id, events, stats);
            }
            entry.remove();
        }
        // Too many finished cases waiting behind an unfinished one: hand them on now.
        if ready.len() > held {
            ready.retain(|_, c| match c.take() {
                Some((id, events)) => {
                    stats.cases_out_of_order += 1;
                    emit(id, events, stats);
                    false
                }
                None => true,
            });
        }
    };
    // The case of the current run of rows: a contiguous case is complete when its run ends.
    let mut run: Option<String> = None;
    let end_run = |run: &mut Option<String>,
                   next: Option<&str>,
                   open: &mut OpenCases,
                   ready: &mut ReadyQueue,
                   stats: &mut ReadStats,
                   flush: &mut dyn FnMut(&mut ReadyQueue, &mut ReadStats, bool)| {
        if run.as_deref() == next {
            return;
        }
        if let Some(done) = run.take()
            && !scattered.contains(&hash(&done))
            && let Some((o, events, _)) = open.remove(&done)
        {
            ready.insert(o, Some((done, events)));
            flush(ready, stats, false);
        }
        *run = next.map(str::to_string);
    };
    crate::input::read_rows(path, format, &mut |loc, rec| {
        if fatal.is_some() {
            return;
        }
        stats.events_read += 1;
        let rec = match rec {
            Ok(r) => r,
            Err(reason) => {
                stats.reject(
                    Rejected {
                        location: loc.to_string(),
                        reason,
                        kind: "unreadable-record",
                    },
                    reject,
                );
                return;
            }
        };
        let sample = (stats.events_read < COLUMN_SAMPLE).then_some(&mut *columns);
        let attrs = match attributes(&rec, &mut keys, opts, &|c| open.contains_key(c), sample) {
            Ok(a) => a,
            Err(reason) => {
                stats.reject(
                    Rejected {
                        location: loc.to_string(),
                        reason,
                        kind: "unreadable-record",
                    },
                    reject,
                );
                return;
            }
        };
        let Some(case) = attribute(&attrs, &opts.case).map(str::to_string) else {
            stats.reject(
                Rejected {
                    location: loc.to_string(),
                    reason: format!("no case id in `{}`", opts.case),
                    kind: "no-case-id",
                },
                reject,
            );
            return;
        };
        end_run(
            &mut run,
            Some(&case),
            &mut open,
            &mut ready,
            stats,
            &mut flush,
        );
        // (one look-up: whether the case is open, how many events and bytes it holds)
        let (is_open, full, held_bytes) = match open.get(&case) {
            Some((_, evs, b)) => (true, evs.len() >= opts.max_events_per_case.max(1), *b),
            None => (false, false, 0),
        };
        let made = if full {
            Err(case_too_long(&case, opts))
        } else {
            make_event(attrs, opts, &mut assumed)
        };
        let made = made.and_then(|e| within_case_bytes(&case, held_bytes, e, opts));
        match made {
            Ok(_) if !is_open && open.len() >= held => {
                fatal = Some(format!(
                    "{loc}: more than {held} cases are unfinished at once, the most a read \
                     holds; the rows of a case are far apart: sort the log by case"
                ));
            }
            Ok((mut e, size)) => {
                if !is_open {
                    order += 1;
                    ready.insert(order, None);
                    open.insert(case.clone(), (order, Vec::new(), 0));
                }
                let entry = open.get_mut(&case).expect("the case is open");
                if let Some(first) = entry.1.first() {
                    drop_repeated_case_attributes(first, &mut e);
                }
                entry.1.push(e);
                entry.2 += size;
                let done = !expected.is_empty()
                    && expected
                        .get(&hash(&case))
                        .is_some_and(|&n| entry.1.len() >= n as usize);
                if done && let Some((o, events, _)) = open.remove(&case) {
                    ready.insert(o, Some((case, events)));
                    flush(&mut ready, stats, false);
                }
            }
            Err(bad) if bad.fatal => {
                fatal = Some(format!("{loc}: {}", bad.reason));
            }
            Err(bad) => {
                stats.reject(bad.rejected(loc.to_string()), reject);
                // Pass 1 counted this event; the case is complete one event sooner.
                let n = expected.get_mut(&hash(&case)).map(|n| {
                    *n = n.saturating_sub(1);
                    *n
                });
                let complete = open
                    .get(&case)
                    .is_some_and(|(_, evs, _)| n.is_some_and(|n| evs.len() >= n as usize));
                if complete && let Some((o, events, _)) = open.remove(&case) {
                    ready.insert(o, Some((case, events)));
                    flush(&mut ready, stats, false);
                }
            }
        }
    })?;
    if let Some(f) = fatal {
        return Err(f);
    }
    end_run(&mut run, None, &mut open, &mut ready, stats, &mut flush);
    // Cases whose count was off (a rejected event, a hash collision) go last, in order.
    for (id, (o, events, _)) in open {
        ready.insert(o, Some((id, events)));
    }
    flush(&mut ready, stats, true);
    stats.events_assumed_utc += assumed;
    Ok(())
}

/// A hand-written YAML log: `cases:` with `id`, optional `facts` and `events`; each event
/// has `activity`, optional `time`, `actor`, and any other fields as attributes.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlLog {
    cases: Vec<YamlCase>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlCase {
    id: String,
    #[serde(default)]
    facts: BTreeMap<String, serde_yaml::Value>,
    #[serde(default)]
    events: Vec<BTreeMap<String, serde_yaml::Value>>,
}

/// A YAML value as the text of an attribute (a list joined with `, `).
pub(crate) fn yaml_text(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Null => String::new(),
        serde_yaml::Value::Sequence(xs) => xs.iter().map(yaml_text).collect::<Vec<_>>().join(", "),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

fn read_yaml(
    path: &Path,
    opts: &LogOptions,
    each: &mut dyn FnMut(Trace),
    reject: &mut dyn FnMut(Rejected),
    stats: &mut ReadStats,
    columns: &mut KeySet,
) -> Result<(), String> {
    let file = path.display().to_string();
    let text = crate::input::read_document(
        &mut crate::input::open(path).map_err(|e| format!("cannot open `{file}`: {e}"))?,
        &file,
    )?;
    let log: YamlLog = serde_yaml::from_str(&text).map_err(|e| match e.location() {
        Some(l) => format!("{file}:{}:{}: {e}", l.line(), l.column()),
        None => format!("{file}: {e}"),
    })?;
    let mut keys = Interner::default();
    let mut assumed = 0usize;
    for case in log.cases {
        let mut events = Vec::new();
        let mut bytes = 0usize;
        for (i, raw) in case.events.iter().enumerate() {
            stats.events_read += 1;
            let mut attrs: Attributes = Vec::new();
            for (k, v) in raw {
                // The short names of hand-written logs map to the standard attributes.
                let key = match k.as_str() {
                    "activity" => opts.activity.first().map_or("concept:name", String::as_str),
                    "time" => opts.timestamp.as_str(),
                    "actor" => opts.resource.as_str(),
                    other => other,
                };
                if !columns.contains(key) {
                    columns.insert(key.to_string());
                }
                let v = yaml_text(v);
                if !blank(&v) {
                    attrs.push((keys.get(key), v));
                }
            }
            // Case facts hold for the whole case: the first event carries them.
            if i == 0 {
                for (k, v) in &case.facts {
                    let v = yaml_text(v);
                    if !blank(&v) {
                        attrs.push((keys.get(&format!("case:{k}")), v));
                    }
                }
            }
            let location = || format!("{file}: case {}, event {}", case.id, i + 1);
            let made = if events.len() >= opts.max_events_per_case.max(1) {
                Err(case_too_long(&case.id, opts))
            } else {
                make_event(attrs, opts, &mut assumed)
            }
            .and_then(|e| within_case_bytes(&case.id, bytes, e, opts));
            match made {
                Ok((e, size)) => {
                    bytes += size;
                    events.push(e);
                }
                Err(bad) if bad.fatal => return Err(format!("{}: {}", location(), bad.reason)),
                Err(bad) => stats.reject(bad.rejected(location()), reject),
            }
        }
        let mut t = Trace {
            id: case.id,
            events,
        };
        stats.tally(&t);
        if !opts.keep_file_order {
            t.sort_by_time();
        }
        each(t);
    }
    stats.events_assumed_utc += assumed;
    Ok(())
}

/// Reads events one JSON object at a time, as a JSON Lines log's rows are read (the same
/// columns, times and rejections), for a stream that has no end: `watch`'s input.
pub struct LineReader {
    opts: LogOptions,
    keys: Interner,
    assumed: usize,
}

/// Why one streamed event was not taken: a rejection of the record, or (`fatal`) a
/// problem with the set-up that every later record would share (a local time with no
/// zone declared).
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    pub kind: &'static str,
    pub reason: String,
    pub fatal: bool,
}

impl LineReader {
    pub fn new(opts: LogOptions) -> Self {
        LineReader {
            opts,
            keys: Interner::default(),
            assumed: 0,
        }
    }

    pub fn options(&self) -> &LogOptions {
        &self.opts
    }

    /// Events whose zone-less time was read as UTC so far.
    pub fn assumed_utc(&self) -> usize {
        self.assumed
    }

    /// The case id and event of one JSON object (a JSON Lines row).
    pub fn read(&mut self, text: &str) -> Result<(String, Event), LineError> {
        self.read_seen(text, &|_| false)
    }

    /// [`LineReader::read`], where `seen(case)` tells whether the case already has
    /// events: then its case attributes after the case id are not built again (as a log
    /// read skips them).
    pub fn read_seen(
        &mut self,
        text: &str,
        seen: &dyn Fn(&str) -> bool,
    ) -> Result<(String, Event), LineError> {
        let mut fields = [("", None); FLAT_FIELDS];
        let flat = flat_json(text, &mut fields).map(|n| &fields[..n]);
        self.read_flat(text, flat, seen)
    }

    /// [`LineReader::read_seen`] with the record's flat fields found already.
    fn read_flat(
        &mut self,
        text: &str,
        flat: Option<&[FlatField<'_>]>,
        seen: &dyn Fn(&str) -> bool,
    ) -> Result<(String, Event), LineError> {
        let attrs = json_attributes_of(text, flat, &mut self.keys, &self.opts, seen, None)
            .map_err(|reason| LineError {
                kind: "unreadable-record",
                reason,
                fatal: false,
            })?;
        let Some(case) = attribute(&attrs, &self.opts.case).map(str::to_string) else {
            return Err(LineError {
                kind: "no-case-id",
                reason: format!("no case id in `{}`", self.opts.case),
                fatal: false,
            });
        };
        let e = make_event(attrs, &self.opts, &mut self.assumed).map_err(|b| LineError {
            kind: b.kind,
            reason: b.reason,
            fatal: b.fatal,
        })?;
        Ok((case, e))
    }

    /// [`LineReader::read_seen`] for a look ahead at an event, whose fields were found
    /// ahead ([`scan_json`] of `text`, perhaps on another thread): nothing is counted.
    /// Gives too how many times a zone-less time was read as UTC, to count with
    /// [`LineReader::count_ahead`] if the event is taken as read here.
    pub fn read_ahead_scanned(
        &mut self,
        text: &str,
        scanned: &Scanned<'_>,
        seen: &dyn Fn(&str) -> bool,
    ) -> Result<(String, Event, usize), LineError> {
        let assumed = self.assumed;
        let read = self.read_flat(text, scanned.0.as_deref(), seen);
        let n = self.assumed - assumed;
        self.assumed = assumed;
        read.map(|(case, e)| (case, e, n))
    }

    /// Counts what an event read ahead ([`LineReader::read_ahead_scanned`]) would have counted
    /// when read: `assumed` zone-less times read as UTC.
    pub fn count_ahead(&mut self, assumed: usize) {
        self.assumed += assumed;
    }

    /// Whether `key` is the case id, time or activity column.
    pub fn is_structural(&self, key: &str) -> bool {
        key == self.opts.case
            || key == self.opts.timestamp
            || self.opts.activity.iter().any(|a| a == key)
    }

    /// Readies `e` to join a case whose first event is `first` (if it has one), as a log
    /// read keeps it: case attributes repeated from the first event are dropped.
    pub fn trim(&self, first: Option<&Event>, e: &mut Event) {
        if let Some(first) = first {
            drop_repeated_case_attributes(first, e);
        }
        // Held for the case's life: no room left over.
        e.attributes.shrink_to_fit();
    }

    /// A case's events in arrival order as a log read hands them on: ordered by time
    /// unless the log keeps file order.
    pub fn ordered(&self, id: &str, events: Vec<Event>) -> Trace {
        let mut t = Trace {
            id: id.to_string(),
            events,
        };
        if !self.opts.keep_file_order {
            t.sort_by_time();
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of a JSON object as serde_json reads them (the reading the fast path
    /// must agree with), or `None` when it is not an object of strings and nulls.
    fn by_serde(text: &str) -> Option<Vec<(String, Option<String>)>> {
        let mut de = serde_json::Deserializer::from_str(text);
        let m: serde_json::Map<String, serde_json::Value> =
            serde::Deserialize::deserialize(&mut de).ok()?;
        de.end().ok()?;
        m.into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => Some((k, Some(s))),
                serde_json::Value::Null => Some((k, None)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_bloom_filter_grows_in_stages_never_forgets_and_stops_at_its_last_stage() {
        let mut bloom = Bloom::new();
        assert_eq!(bloom.stages.len(), 1);
        assert_eq!(
            bloom.stages[0].len() * 8,
            8 << 10,
            "a short log costs 8 KiB"
        );
        let ids: Vec<u64> = (0..3_000_000u64)
            .map(|i| hash(&format!("INC{i:07}")))
            .collect();
        for (n, &h) in ids.iter().enumerate() {
            bloom.insert(h);
            // 65,536 bits take 2,731 inserts at 24 bits each; the next starts a stage.
            if n == 2_730 || n == 2_731 {
                assert_eq!(bloom.stages.len(), n - 2_729);
            }
        }
        assert!(
            ids.iter().all(|&h| bloom.maybe_contains(h)),
            "no false negative"
        );
        let bytes: usize = bloom.stages.iter().map(|s| s.len() * 8).sum();
        // 8 KiB, 32 KiB, 128 KiB, 512 KiB, 2 MiB, 8 MiB: then the last stage takes all.
        assert_eq!(bloom.stages.len(), 6);
        assert_eq!(bytes, (8 + 32 + 128 + 512 + 2048 + 8192) << 10);
        let absent = (0..100_000u64)
            .filter(|i| bloom.maybe_contains(hash(&format!("CASE-{i}"))))
            .count();
        assert!(absent < 2_000, "{absent} false positives in 100,000");
    }

    #[test]
    fn flat_rows_are_read_as_serde_json_reads_them_or_left_to_it() {
        let rows = [
            r#"{"a":"x","b":"y"}"#,
            r#" { "a" : "x" ,	"b":null } "#,
            r#"{}"#,
            r#"{"a":"é ü","long key with spaces":"a value longer than eight bytes"}"#,
            r#"{"a":"x\"y"}"#,
            r#"{"a\u0041":"x"}"#,
            r#"{"a":1}"#,
            r#"{"a":["x"]}"#,
            r#"{"a":"x"} trailing"#,
            r#"{"a":"x",}"#,
            r#"{"a":"x""#,
            r#"{"a" "x"}"#,
            r#"{"a":nul}"#,
            r#"{"a":nullx}"#,
            "{\"a\":\"tab\there\"}",
            r#"["a","b"]"#,
            r#""#,
        ];
        for row in rows {
            let mut fields = [("", None); FLAT_FIELDS];
            if let Some(n) = flat_json(row, &mut fields) {
                let fast: Vec<(String, Option<String>)> = fields[..n]
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                    .collect();
                assert_eq!(Some(fast), by_serde(row), "{row}");
            }
        }
        let mut fields = [("", None); FLAT_FIELDS];
        assert_eq!(flat_json(r#"{"a":"x","b":null}"#, &mut fields), Some(2));
        assert_eq!(flat_json(r#"{"a":"x\"y"}"#, &mut fields), None);
        assert_eq!(flat_json(r#"{"a":1}"#, &mut fields), None);
    }

    #[test]
    fn string_ends_are_found_eight_bytes_at_a_time_as_one_at_a_time() {
        let naive = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for len in 0..40 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        // mostly plain text, now and then a byte that ends a string
                        match x % 16 {
                            0 => b'"',
                            1 => b'\\',
                            2 => (x >> 8) as u8 % 0x20,
                            3 => 0x80 | (x >> 8) as u8,
                            _ => 0x20 + (x >> 8) as u8 % 0x5f,
                        }
                    })
                    .collect();
                assert_eq!(string_end(&bytes), naive(&bytes), "{bytes:?}");
            }
        }
    }

    #[test]
    fn blank_is_what_trimming_leaves_empty() {
        for v in [
            "",
            " ",
            "\t\n",
            "\u{a0}",
            "\u{3000}x",
            "x",
            " x",
            "x ",
            "\u{1f}",
            "é",
        ] {
            assert_eq!(blank(v), v.trim().is_empty(), "{v:?}");
        }
    }
}
