//! A roster of resources: each unit's type, capabilities and when it was available.
//! Read from CSV (`resource,type,capabilities,available_from,available_to`, capabilities
//! separated by `;`) or YAML (a list of maps with those keys, capabilities a list).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

/// An availability window: from and to, either open.
pub type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// One unit on the roster.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub kind: Option<String>,
    pub capabilities: Vec<String>,
    /// Availability windows; a unit with none is always available.
    pub windows: Vec<Window>,
}

/// Units by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Roster {
    pub units: BTreeMap<String, Unit>,
}

/// A roster time. With the log's reading (`times`), a time without an offset is a local
/// time in the log's zone (or refused when none is declared, or UTC with `--assume-utc`),
/// as the log's own times are; without it, as RFC 3339 or an ISO form (UTC when zone-less).
fn time(
    s: &str,
    at: &str,
    times: Option<&crate::log::LogOptions>,
) -> Result<Option<DateTime<Utc>>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Some(opts) = times {
        return crate::log::event_time(s, opts, &mut 0)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| format!("{at}: {}", e.into_message()));
    }
    crate::eval::value::parse_timestamp(s)
        .map(|t| Some(t.with_timezone(&Utc)))
        .ok_or_else(|| {
            format!("{at}: `{s}` is not a timestamp (use RFC 3339, e.g. 2026-03-01T08:00:00Z)")
        })
}

impl Roster {
    /// Reads a roster file; errors carry the file and line (CSV) or record.
    pub fn read(path: &Path) -> Result<Roster, String> {
        Roster::read_with(path, None)
    }

    /// Reads a roster file with its times read as the log's are (format, zone).
    pub fn read_with(
        path: &Path,
        times: Option<&crate::log::LogOptions>,
    ) -> Result<Roster, String> {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read `{file}`: {e}"))?;
        let yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        let mut roster = Roster::default();
        let mut add = |id: String, unit: Unit| {
            let e = roster.units.entry(id).or_insert(Unit {
                kind: unit.kind.clone(),
                capabilities: unit.capabilities.clone(),
                windows: Vec::new(),
            });
            e.windows.extend(unit.windows);
        };
        if yaml {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Row {
                resource: String,
                #[serde(rename = "type")]
                kind: Option<String>,
                #[serde(default)]
                capabilities: Vec<String>,
                available_from: Option<String>,
                available_to: Option<String>,
            }
            let rows: Vec<Row> = serde_yaml::from_str(&text).map_err(|e| match e.location() {
                Some(l) => format!("{file}:{}:{}: {e}", l.line(), l.column()),
                None => format!("{file}: {e}"),
            })?;
            for (i, r) in rows.into_iter().enumerate() {
                let at = format!("{file}: record {}", i + 1);
                let from = time(r.available_from.as_deref().unwrap_or(""), &at, times)?;
                let to = time(r.available_to.as_deref().unwrap_or(""), &at, times)?;
                add(
                    r.resource,
                    Unit {
                        kind: r.kind,
                        capabilities: r.capabilities,
                        windows: if from.is_none() && to.is_none() {
                            Vec::new()
                        } else {
                            vec![(from, to)]
                        },
                    },
                );
            }
            return Ok(roster);
        }
        let mut rd = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(text.as_bytes());
        let headers = rd.headers().map_err(|e| format!("{file}:1: {e}"))?.clone();
        let col = |name: &str| headers.iter().position(|h| h.trim() == name);
        let Some(rc) = col("resource") else {
            return Err(format!("{file}:1: the roster needs a `resource` column"));
        };
        let (kc, cc, fc, tc) = (
            col("type"),
            col("capabilities"),
            col("available_from"),
            col("available_to"),
        );
        for (i, rec) in rd.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| format!("{file}:{line}: {e}"))?;
            let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("").trim();
            let at = format!("{file}:{line}");
            let from = time(get(fc), &at, times)?;
            let to = time(get(tc), &at, times)?;
            add(
                get(Some(rc)).to_string(),
                Unit {
                    kind: Some(get(kc).to_string()).filter(|k| !k.is_empty()),
                    capabilities: super::list(get(cc)),
                    windows: if from.is_none() && to.is_none() {
                        Vec::new()
                    } else {
                        vec![(from, to)]
                    },
                },
            );
        }
        Ok(roster)
    }

    /// Whether a unit was available at `t` (a unit with no window always is).
    pub fn available(&self, unit: &Unit, t: DateTime<Utc>) -> bool {
        unit.windows.is_empty()
            || unit
                .windows
                .iter()
                .any(|(f, e)| f.is_none_or(|f| f <= t) && e.is_none_or(|e| t <= e))
    }
}
