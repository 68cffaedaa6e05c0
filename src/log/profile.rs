//! The log profile: which columns hold the case, activity, time and actor, the log's
//! format, the timestamp format and the zone of local times. It comes from the
//! procedure's `mapping` section; options given explicitly (the command line) override it.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, LocalResult, TimeZone};

use super::{KeySet, LogOptions};
use crate::eval::value::{Stamp, read_stamp};

/// A log's format, when its file name does not tell (standard input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Xes,
    Csv,
    Jsonl,
    Yaml,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "xes" => Ok(LogFormat::Xes),
            "csv" => Ok(LogFormat::Csv),
            "jsonl" | "ndjson" => Ok(LogFormat::Jsonl),
            "yaml" | "yml" => Ok(LogFormat::Yaml),
            _ => Err(format!(
                "`{s}` is not a log format: use xes, csv, jsonl or yaml"
            )),
        }
    }
}

impl LogFormat {
    /// The format a file name tells (`.gz` looked through), if any.
    pub fn of_path(path: &std::path::Path) -> Option<LogFormat> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".xes") {
            Some(LogFormat::Xes)
        } else if name.ends_with(".csv") {
            Some(LogFormat::Csv)
        } else if name.ends_with(".jsonl") || name.ends_with(".ndjson") {
            Some(LogFormat::Jsonl)
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            Some(LogFormat::Yaml)
        } else {
            None
        }
    }
}

/// What a procedure's `mapping` says about the log: `attribute "X" -> case | activity |
/// timestamp | actor`, `timezone "ZONE"` and `timestamp format "FMT"`. Several `->
/// activity` lines are joined with `+` in the order written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    pub case: Option<String>,
    pub activity: Vec<String>,
    pub timestamp: Option<String>,
    pub actor: Option<String>,
    pub timezone: Option<String>,
    pub timestamp_format: Option<String>,
}

impl Mapping {
    /// The mapping of a procedure's own file (the last line wins where one is repeated).
    pub fn of(p: &crate::model::Procedure) -> Mapping {
        use crate::ast::{MapItem, Section};
        let mut m = Mapping::default();
        for s in &p.ast().sections {
            let Section::Mapping { items, .. } = s else {
                continue;
            };
            for item in items {
                match item {
                    MapItem::Attribute { column, field, .. } => {
                        let column = column.value.clone();
                        match field.text.as_str() {
                            "case" => m.case = Some(column),
                            "activity" => m.activity.push(column),
                            "timestamp" => m.timestamp = Some(column),
                            "actor" => m.actor = Some(column),
                            _ => {}
                        }
                    }
                    MapItem::Timezone { zone, .. } => m.timezone = Some(zone.value.clone()),
                    MapItem::TimestampFormat { format, .. } => {
                        m.timestamp_format = Some(format.value.clone());
                    }
                    MapItem::Activity { .. } | MapItem::Value { .. } => {}
                }
            }
        }
        m
    }

    /// The four columns a log in this profile has (the defaults where not mapped): the
    /// simulator writes its logs with them, so that `check` reads them back.
    pub fn columns(&self) -> Columns {
        let d = LogOptions::default();
        Columns {
            case: self.case.clone().unwrap_or(d.case),
            activity: self
                .activity
                .first()
                .cloned()
                .unwrap_or_else(|| d.activity.join("+")),
            timestamp: self.timestamp.clone().unwrap_or(d.timestamp),
            actor: self.actor.clone().unwrap_or(d.resource),
        }
    }
}

/// The constraints of a procedure's own file that compare actors (`different actor` or
/// `same actor`): they need the log's actor column.
pub fn actor_constraints(p: &crate::model::Procedure) -> Vec<String> {
    use crate::ast::{ConstraintKind, Section};
    let mut out = Vec::new();
    for s in &p.ast().sections {
        if let Section::Constraints { items, .. } = s {
            for c in items {
                if matches!(c.kind, ConstraintKind::Actor { .. }) {
                    out.push(c.name.text.clone());
                }
            }
        }
    }
    out
}

/// The case, activity, time and actor columns of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    pub case: String,
    pub activity: String,
    pub timestamp: String,
    pub actor: String,
}

impl Default for Columns {
    fn default() -> Self {
        Mapping::default().columns()
    }
}

/// What the user gave explicitly (`None`: not given, the procedure's mapping or the
/// default applies).
#[derive(Debug, Clone, Default)]
pub struct LogFlags {
    pub activity: Option<Vec<String>>,
    pub case: Option<String>,
    pub timestamp: Option<String>,
    pub actor: Option<String>,
    pub timestamp_format: Option<String>,
    /// An IANA zone name for timestamps without an offset.
    pub timezone: Option<String>,
    /// Read timestamps without an offset as UTC when no zone is declared.
    pub assume_utc: bool,
    pub format: Option<LogFormat>,
    pub keep_file_order: bool,
    /// Collapse runs of the same activity (a state log).
    pub collapse_repeats: bool,
    /// The logs to be read: `-` (standard input) needs `format`.
    pub paths: Vec<PathBuf>,
}

/// Resolves the log profile: each explicit flag, else the procedure's mapping, else the
/// default (`case:concept:name`, `concept:name`, `time:timestamp`, `org:resource`).
/// Fails on a time zone that is not an IANA name and on standard input without a format.
pub fn log_options(
    procedure: Option<&crate::model::Procedure>,
    flags: &LogFlags,
) -> Result<LogOptions, String> {
    let m = procedure.map(Mapping::of).unwrap_or_default();
    let d = LogOptions::default();
    let zone = flags.timezone.clone().or(m.timezone);
    let timezone = match zone {
        Some(z) => Some(z.parse::<chrono_tz::Tz>().map_err(|_| {
            format!("`{z}` is not an IANA time zone name (use e.g. Europe/London or UTC)")
        })?),
        None => None,
    };
    if flags.format.is_none() && flags.paths.iter().any(|p| p.as_os_str() == "-") {
        return Err(
            "reading a log from standard input (`-`) needs --input-format xes|csv|jsonl|yaml"
                .into(),
        );
    }
    Ok(LogOptions {
        activity: flags
            .activity
            .clone()
            .or((!m.activity.is_empty()).then_some(m.activity))
            .unwrap_or(d.activity),
        case: flags.case.clone().or(m.case).unwrap_or(d.case),
        timestamp: flags
            .timestamp
            .clone()
            .or(m.timestamp)
            .unwrap_or(d.timestamp),
        resource: flags.actor.clone().or(m.actor).unwrap_or(d.resource),
        timestamp_format: flags.timestamp_format.clone().or(m.timestamp_format),
        keep_file_order: flags.keep_file_order,
        collapse_repeats: flags.collapse_repeats,
        keep_attributes: true,
        extra: KeySet::default(),
        timezone,
        assume_utc: flags.assume_utc,
        format: flags.format,
        max_events_per_case: d.max_events_per_case,
        max_open_cases: d.max_open_cases,
        max_case_bytes: d.max_case_bytes,
    })
}

/// Why an event's time could not be used.
pub enum TimeError {
    /// Not a timestamp (or not in the given format).
    Unreadable(String),
    /// A local time that happens twice or never in the zone (a clock change).
    Ambiguous(String),
    Nonexistent(String),
    /// A local time with no zone declared: the log cannot be read without one.
    NoZone(String),
}

impl TimeError {
    /// The kind a rejected record is counted under.
    pub fn kind(&self) -> &'static str {
        match self {
            TimeError::Unreadable(_) => "unreadable-timestamp",
            TimeError::Ambiguous(_) => "ambiguous-local-time",
            TimeError::Nonexistent(_) => "nonexistent-local-time",
            TimeError::NoZone(_) => "no-time-zone",
        }
    }

    /// Whether the whole log cannot be read (no zone declared), not only this record.
    pub fn fatal(&self) -> bool {
        matches!(self, TimeError::NoZone(_))
    }

    /// Why, in words.
    pub fn into_message(self) -> String {
        match self {
            TimeError::Unreadable(m)
            | TimeError::Ambiguous(m)
            | TimeError::Nonexistent(m)
            | TimeError::NoZone(m) => m,
        }
    }
}

/// Reads an event's time: an offset is kept; a local time is placed in the declared zone
/// (DST-correct), or read as UTC with `assume_utc` (`*assumed` counts those).
pub fn event_time(
    text: &str,
    opts: &LogOptions,
    assumed: &mut usize,
) -> Result<DateTime<FixedOffset>, TimeError> {
    let stamp = read_stamp(text, opts.timestamp_format.as_deref()).ok_or_else(|| {
        TimeError::Unreadable(match &opts.timestamp_format {
            Some(f) => format!("timestamp `{text}` matches neither the format `{f}` nor RFC 3339"),
            None => format!("timestamp `{text}` cannot be read (use --timestamp-format)"),
        })
    })?;
    let local = match stamp {
        Stamp::Zoned(t) => return Ok(t),
        Stamp::Local(t) => t,
    };
    match opts.timezone {
        Some(tz) => match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Ok(t.fixed_offset()),
            LocalResult::Ambiguous(a, b) => Err(TimeError::Ambiguous(format!(
                "local time `{text}` happens twice in {tz} (the clocks go back): write it with its offset, {} or {}",
                a.fixed_offset().to_rfc3339(),
                b.fixed_offset().to_rfc3339()
            ))),
            LocalResult::None => Err(TimeError::Nonexistent(format!(
                "local time `{text}` does not exist in {tz} (the clocks go forward over it)"
            ))),
        },
        None if opts.assume_utc => {
            *assumed += 1;
            Ok(local.and_utc().fixed_offset())
        }
        None => Err(TimeError::NoZone(format!(
            "timestamp `{text}` has no time zone, and none is declared: give --timezone ZONE \
             (an IANA name such as Europe/London), or `timezone \"ZONE\"` in the procedure's \
             mapping, or read such times as UTC with --assume-utc"
        ))),
    }
}

/// A time as RFC 3339 text, exactly as `DateTime::to_rfc3339` writes it (the offset as
/// `+HH:MM`, fractions of a second in 3, 6 or 9 digits as needed), without its
/// formatting machinery: verdicts and findings write several times each. Years outside
/// 0–9999, leap seconds and offsets with seconds are left to chrono.
pub fn rfc3339(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    use chrono::{Datelike, Timelike};
    let local = t.naive_local();
    let offset = t.offset().local_minus_utc();
    let (year, nanos) = (local.year(), local.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 || offset % 60 != 0 {
        return t.to_rfc3339();
    }
    fn digits(out: &mut String, n: u32, width: u32) {
        for k in (0..width).rev() {
            out.push(char::from(b'0' + (n / 10u32.pow(k) % 10) as u8));
        }
    }
    let mut out = String::with_capacity(35);
    digits(&mut out, year as u32, 4);
    out.push('-');
    digits(&mut out, local.month(), 2);
    out.push('-');
    digits(&mut out, local.day(), 2);
    out.push('T');
    digits(&mut out, local.hour(), 2);
    out.push(':');
    digits(&mut out, local.minute(), 2);
    out.push(':');
    digits(&mut out, local.second(), 2);
    if nanos != 0 {
        out.push('.');
        if nanos % 1_000_000 == 0 {
            digits(&mut out, nanos / 1_000_000, 3);
        } else if nanos % 1_000 == 0 {
            digits(&mut out, nanos / 1_000, 6);
        } else {
            digits(&mut out, nanos, 9);
        }
    }
    out.push(if offset < 0 { '-' } else { '+' });
    let minutes = offset.unsigned_abs() / 60;
    digits(&mut out, minutes / 60, 2);
    out.push(':');
    digits(&mut out, minutes % 60, 2);
    out
}
