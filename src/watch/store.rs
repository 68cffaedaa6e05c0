//! `watch`'s durable state in one SQLite database (WAL, one transaction per batch):
//! the events of each open case as received, every alert raised (with its order), each
//! closed case's final verdict, how far each sink has delivered, the input position
//! and the clock. A restart reads it back and goes on where the last committed batch
//! ended: nothing committed is lost, and nothing is raised twice.

use rayon::prelude::*;
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::{Alert, Changes, Stats};

/// Sets one `meta` value.
const SET_META: &str = "INSERT INTO meta(key, value) VALUES (?1, ?2)
     ON CONFLICT(key) DO UPDATE SET value = excluded.value";

/// Records how far a sink has delivered.
const SET_SINK: &str = "INSERT INTO sinks(name, seq, length) VALUES (?1, ?2, ?3)
     ON CONFLICT(name) DO UPDATE SET seq = excluded.seq, length = excluded.length";

/// The schema's version, stored in the database; another version is refused.
pub const SCHEMA: &str = "1";

/// Where the input had been read to when a batch was committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// What was read (a file's path, `-`, or `http`).
    pub input: String,
    /// The file's identity (device and inode) when it was read, to tell a rotated file.
    pub identity: String,
    /// Bytes (lines, for a pipe) consumed.
    pub offset: u64,
}

/// How far a sink has delivered: the last alert seq written, and (for a file) its
/// length after that write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delivered {
    pub seq: u64,
    pub length: Option<u64>,
}

/// An open case as stored: its id, its events' texts in arrival order, and the ids
/// (without the case) of the alerts it has raised.
pub type StoredCase = (String, Vec<String>, Vec<String>);

pub struct Store {
    conn: Connection,
    next_alert: u64,
    next_closed: u64,
}

fn db(e: rusqlite::Error) -> String {
    format!("state database: {e}")
}

impl Store {
    /// Opens (creating if need be) the state at `path` for `procedure` (its name and
    /// a hash of its text). State made for another procedure is refused: its open
    /// cases were judged by other rules.
    pub fn open(path: &Path, procedure: &str) -> Result<Store, String> {
        let conn = Connection::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             PRAGMA busy_timeout=5000;
             PRAGMA wal_autocheckpoint=0;
             CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS events(n INTEGER PRIMARY KEY, case_id TEXT NOT NULL, line TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS events_case ON events(case_id);
             CREATE TABLE IF NOT EXISTS alerts(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, case_id TEXT NOT NULL, json TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS alerts_case ON alerts(case_id);
             CREATE TABLE IF NOT EXISTS closed(case_id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, at TEXT NOT NULL, why TEXT NOT NULL, verdict TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS sinks(name TEXT PRIMARY KEY, seq INTEGER NOT NULL, length INTEGER);",
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut s = Store {
            conn,
            next_alert: 1,
            next_closed: 1,
        };
        match s.meta("schema")? {
            None => {
                s.set_meta("schema", SCHEMA)?;
                s.set_meta("procedure", procedure)?;
            }
            Some(v) if v != SCHEMA => {
                return Err(format!(
                    "{}: state of schema {v}, this procedo writes schema {SCHEMA}",
                    path.display()
                ));
            }
            Some(_) => {}
        }
        if let Some(p) = s.meta("procedure")?
            && p != procedure
        {
            return Err(format!(
                "{}: this state was made with procedure {p}, not {procedure}; its open cases \
                 were judged by other rules (use a new --state, or remove it to start again)",
                path.display()
            ));
        }
        s.next_alert = s.max("SELECT MAX(seq) FROM alerts")? + 1;
        s.next_closed = s.max("SELECT MAX(seq) FROM closed")? + 1;
        Ok(s)
    }

    /// Copies the write-ahead log back into the database from a connection of its own,
    /// every `every`, without blocking the writer (a passive checkpoint): the writer's
    /// commits never wait for the copy and its fsync.
    pub fn checkpointer(path: &Path, every: std::time::Duration) -> Result<(), String> {
        let conn = Connection::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(every);
                let ok = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                if ok.is_err() {
                    // The database is gone (the run is ending); nothing to copy.
                    return;
                }
            }
        });
        Ok(())
    }

    /// Opens existing state for reading only (`watch --status`).
    pub fn read_only(path: &Path) -> Result<Store, String> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        let s = Store {
            conn,
            next_alert: 0,
            next_closed: 0,
        };
        if s.meta("schema")?.is_none() {
            return Err(format!("{}: not a watch state", path.display()));
        }
        Ok(s)
    }

    fn max(&self, sql: &str) -> Result<u64, String> {
        self.conn
            .query_row(sql, [], |r| r.get::<_, Option<i64>>(0))
            .map(|v| v.unwrap_or(0).max(0) as u64)
            .map_err(db)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, String> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(db)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), String> {
        self.conn
            .execute(SET_META, params![key, value])
            .map(|_| ())
            .map_err(db)
    }

    /// The input position of the last committed batch.
    pub fn position(&self) -> Result<Option<Position>, String> {
        let (Some(input), Some(identity), Some(offset)) = (
            self.meta("input")?,
            self.meta("identity")?,
            self.meta("offset")?,
        ) else {
            return Ok(None);
        };
        Ok(Some(Position {
            input,
            identity,
            offset: offset.parse().unwrap_or(0),
        }))
    }

    pub fn clock(&self) -> Result<Option<DateTime<Utc>>, String> {
        Ok(self
            .meta("clock")?
            .and_then(|c| DateTime::parse_from_rfc3339(&c).ok())
            .map(|c| c.with_timezone(&Utc)))
    }

    pub fn stats(&self) -> Result<Stats, String> {
        Ok(self
            .meta("stats")?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    /// Every open case: its id, its events' texts in arrival order, and the ids (without
    /// the case) of the alerts it has raised.
    pub fn open_cases(&self) -> Result<Vec<StoredCase>, String> {
        let mut out: Vec<StoredCase> = Vec::new();
        let mut idx: std::collections::HashMap<String, usize> = Default::default();
        let mut q = self
            .conn
            .prepare("SELECT case_id, line FROM events ORDER BY n")
            .map_err(db)?;
        let rows = q
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(db)?;
        for row in rows {
            let (case, line) = row.map_err(db)?;
            let i = *idx.entry(case.clone()).or_insert_with(|| {
                out.push((case, Vec::new(), Vec::new()));
                out.len() - 1
            });
            out[i].1.push(line);
        }
        let mut q = self
            .conn
            .prepare("SELECT id FROM alerts WHERE case_id = ?1")
            .map_err(db)?;
        for (case, _, sent) in &mut out {
            let prefix = format!("{case}/");
            let rows = q
                .query_map([&*case], |r| r.get::<_, String>(0))
                .map_err(db)?;
            for id in rows {
                let id = id.map_err(db)?;
                sent.push(id.strip_prefix(&prefix).unwrap_or(&id).to_string());
            }
        }
        Ok(out)
    }

    /// Whether case `id` has closed (its final verdict is stored).
    pub fn is_closed(&self, id: &str) -> Result<bool, String> {
        self.conn
            .prepare_cached("SELECT 1 FROM closed WHERE case_id = ?1")
            .and_then(|mut s| s.query_row([id], |_| Ok(())).optional())
            .map(|r| r.is_some())
            .map_err(db)
    }

    /// Commits one batch in one transaction: the events taken, the alerts raised (given
    /// their seq, which is set on them), the cases closed (their events removed, their
    /// verdicts kept), the input position, the clock, the counts and how far each sink
    /// had delivered.
    pub fn commit(
        &mut self,
        changes: &mut Changes,
        position: Option<&Position>,
        clock: Option<DateTime<Utc>>,
        stats: &Stats,
        sinks: &[(String, Delivered)],
    ) -> Result<(), String> {
        // Alerts and verdicts as JSON, on all cores: for a replay's batch, the
        // verdicts of hundreds of cases.
        for (a, seq) in changes.alerts.iter_mut().zip(self.next_alert..) {
            a.seq = seq;
        }
        let json = |r: serde_json::Result<String>| r.map_err(|e| e.to_string());
        let alerts: Vec<String> = changes
            .alerts
            .par_iter()
            .map(|a| json(serde_json::to_string(a)))
            .collect::<Result<_, _>>()?;
        let verdicts: Vec<String> = changes
            .closed
            .par_iter()
            .map(|c| json(serde_json::to_string(&c.verdict)))
            .collect::<Result<_, _>>()?;
        let tx = self.conn.transaction().map_err(db)?;
        {
            let mut ins = tx
                .prepare_cached("INSERT INTO events(case_id, line) VALUES (?1, ?2)")
                .map_err(db)?;
            for (case, line) in &changes.accepted {
                ins.execute(params![case, line]).map_err(db)?;
            }
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO alerts(seq, id, case_id, json) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(db)?;
            for (a, json) in changes.alerts.iter().zip(alerts) {
                ins.execute(params![a.seq as i64, a.id, a.case, json])
                    .map_err(db)?;
                self.next_alert += 1;
            }
            let mut del = tx
                .prepare_cached("DELETE FROM events WHERE case_id = ?1")
                .map_err(db)?;
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO closed(case_id, seq, at, why, verdict) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(db)?;
            for (c, verdict) in changes.closed.iter().zip(verdicts) {
                del.execute([&c.case]).map_err(db)?;
                let why = serde_json::to_value(c.why)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                ins.execute(params![
                    c.case,
                    self.next_closed as i64,
                    c.at.to_rfc3339(),
                    why,
                    verdict
                ])
                .map_err(db)?;
                self.next_closed += 1;
            }
            let mut meta = tx.prepare_cached(SET_META).map_err(db)?;
            if let Some(p) = position {
                meta.execute(params!["input", p.input]).map_err(db)?;
                meta.execute(params!["identity", p.identity]).map_err(db)?;
                meta.execute(params!["offset", p.offset.to_string()])
                    .map_err(db)?;
            }
            if let Some(c) = clock {
                meta.execute(params!["clock", c.to_rfc3339()]).map_err(db)?;
            }
            let s = serde_json::to_string(stats).map_err(|e| e.to_string())?;
            meta.execute(params!["stats", s]).map_err(db)?;
            meta.execute(params!["committed", Utc::now().to_rfc3339()])
                .map_err(db)?;
            let mut sink = tx.prepare_cached(SET_SINK).map_err(db)?;
            for (name, d) in sinks {
                sink.execute(params![name, d.seq as i64, d.length.map(|l| l as i64)])
                    .map_err(db)?;
            }
        }
        tx.commit().map_err(db)
    }

    /// Records how far a sink has delivered, on its own (outside a batch).
    pub fn set_delivered(&self, name: &str, d: Delivered) -> Result<(), String> {
        self.conn
            .execute(
                SET_SINK,
                params![name, d.seq as i64, d.length.map(|l| l as i64)],
            )
            .map(|_| ())
            .map_err(db)
    }

    /// How far sink `name` had delivered when last recorded.
    pub fn delivered(&self, name: &str) -> Result<Option<Delivered>, String> {
        self.conn
            .query_row(
                "SELECT seq, length FROM sinks WHERE name = ?1",
                [name],
                |r| {
                    Ok(Delivered {
                        seq: r.get::<_, i64>(0)?.max(0) as u64,
                        length: r.get::<_, Option<i64>>(1)?.map(|l| l.max(0) as u64),
                    })
                },
            )
            .optional()
            .map_err(db)
    }

    /// Alerts raised after seq `after`, in order.
    pub fn alerts_after(&self, after: u64) -> Result<Vec<Alert>, String> {
        let mut q = self
            .conn
            .prepare("SELECT json FROM alerts WHERE seq > ?1 ORDER BY seq")
            .map_err(db)?;
        let rows = q
            .query_map([after as i64], |r| r.get::<_, String>(0))
            .map_err(db)?;
        let mut out = Vec::new();
        for j in rows {
            let j = j.map_err(db)?;
            out.push(serde_json::from_str(&j).map_err(|e| format!("state database: {e}"))?);
        }
        Ok(out)
    }

    /// Final verdicts (their seq and JSON) stored after seq `after`, in order.
    pub fn verdicts_after(&self, after: u64) -> Result<Vec<(u64, String)>, String> {
        let mut q = self
            .conn
            .prepare("SELECT seq, verdict FROM closed WHERE seq > ?1 ORDER BY seq")
            .map_err(db)?;
        let rows = q
            .query_map([after as i64], |r| {
                Ok((r.get::<_, i64>(0)?.max(0) as u64, r.get::<_, String>(1)?))
            })
            .map_err(db)?;
        rows.map(|r| r.map_err(db)).collect()
    }

    /// Counts for `--status`: open cases, alerts raised, cases closed.
    pub fn counts(&self) -> Result<(u64, u64, u64), String> {
        let open = self.max("SELECT COUNT(DISTINCT case_id) FROM events")?;
        let alerts = self.max("SELECT COUNT(*) FROM alerts")?;
        let closed = self.max("SELECT COUNT(*) FROM closed")?;
        Ok((open, alerts, closed))
    }

    pub fn set(&self, key: &str, value: &str) -> Result<(), String> {
        self.set_meta(key, value)
    }
}
