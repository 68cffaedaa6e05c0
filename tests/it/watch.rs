//! `procedo watch` through the binary: a replayed day gives, case by case, the final
//! verdict `check` gives, and alerts at the instants `check --as-of` implies; a replay
//! killed with SIGKILL at random points and restarted writes exactly the alerts of an
//! uninterrupted run; bad events are rejected with their place and counted.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use procedo::audit::Status;
use procedo::check::{CheckOptions, Checker};
use procedo::log::{LogFlags, LogOptions, Trace, log_options, read_log};
use serde_json::Value;

use crate::{load_procedure, procedo};

const PROCEDURES: [&str; 4] = [
    "procedures/ambulance/ambulance_arp_dispatch.proc",
    "procedures/itsm/it_service_desk.proc",
    "procedures/gas/gas_emergency_line.proc",
    "procedures/fire/fire_control_mobilising.proc",
];

/// A simulated log of `proc` and the same events in time order across cases (a day as a
/// control room receives it).
fn day(dir: &Path, proc: &str, cases: usize, seed: u64) -> (PathBuf, PathBuf) {
    let (code, log, err) = procedo(&[
        "simulate",
        "-p",
        proc,
        "--cases",
        &cases.to_string(),
        "--seed",
        &seed.to_string(),
        "--deviation-rate",
        "0.4",
    ]);
    assert_eq!(code, 0, "{err}");
    let raw = dir.join("log.jsonl");
    std::fs::write(&raw, &log).unwrap();
    let p = load_procedure(Path::new(proc));
    let column = log_options(Some(&p), &LogFlags::default())
        .unwrap()
        .timestamp;
    let mut rows: Vec<(DateTime<Utc>, &str)> = log
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let t = DateTime::parse_from_rfc3339(v[&column].as_str().unwrap()).unwrap();
            (t.with_timezone(&Utc), l)
        })
        .collect();
    rows.sort_by_key(|(t, _)| *t);
    let sorted = dir.join("day.jsonl");
    let mut text = String::new();
    for (_, l) in rows {
        text.push_str(l);
        text.push('\n');
    }
    std::fs::write(&sorted, text).unwrap();
    (raw, sorted)
}

fn watch_args<'a>(proc: &'a str, dir: &'a str) -> Vec<String> {
    [
        "watch",
        "-p",
        proc,
        "--state",
        &format!("{dir}/state"),
        "--input",
        &format!("{dir}/day.jsonl"),
        "--no-follow",
        "--clock",
        "event",
        "--close-at-end",
        // Long enough that no case of the day closes before its last entry.
        "--linger",
        "30d",
        "--alerts",
        &format!("{dir}/alerts.jsonl"),
        "--verdicts",
        &format!("{dir}/verdicts.jsonl"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The obligation an alert id names (`case/kind/step/line/n/alert`), as of `at`, judged
/// by `check --as-of` on the events recorded by then.
fn status_as_of(
    checker: &mut Checker<'_>,
    trace: &Trace,
    id: &str,
    case: &str,
    at: DateTime<Utc>,
) -> Option<Status> {
    let rest = id.strip_prefix(&format!("{case}/")).unwrap();
    let parts: Vec<&str> = rest.split('/').collect();
    let (kind, step, line, n) = (parts[0], parts[1], parts[2], parts[3]);
    let n: usize = n.parse().unwrap();
    let mut prefix = trace.clone();
    prefix
        .events
        .retain(|e| e.timestamp.is_none_or(|t| t.with_timezone(&Utc) <= at));
    let v = checker.check_as_of(prefix, Some(at)).verdict;
    v.obligations
        .iter()
        .filter(|o| o.kind == kind && o.step == step && o.line.to_string() == line)
        .nth(n - 1)
        .map(|o| o.status)
}

#[test]
fn a_replayed_day_gives_the_verdicts_of_check_and_the_alerts_check_as_of_implies() {
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut justified = 0;
    let mut timed = 0;
    for (k, proc) in PROCEDURES.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let (raw, sorted) = day(dir.path(), proc, 250, 5 + k as u64);
        let args = watch_args(proc, d);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = procedo(&args);
        assert_eq!(code, 0, "{proc}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("250 cases closed, 0 open"), "{err}");
        // Every case's final verdict is the one `check` gives.
        let (code, batch, err) = procedo(&[
            "check",
            "-p",
            proc,
            raw.to_str().unwrap(),
            "--format",
            "jsonl",
        ]);
        assert!(code == 0 || code == 1, "{err}");
        let batch: HashMap<String, Value> = batch
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .map(|v| (v["case_id"].as_str().unwrap().to_string(), v))
            .collect();
        let verdicts = jsonl(&dir.path().join("verdicts.jsonl"));
        assert_eq!(verdicts.len(), 250, "{proc}");
        for v in &verdicts {
            let id = v["case_id"].as_str().unwrap();
            assert_eq!(Some(v), batch.get(id), "{proc}: case {id}");
        }
        // Every alert on an obligation is what `check --as-of` says at its instant, and
        // was not yet true just before.
        let p = load_procedure(Path::new(proc));
        let net = procedo::petri::compile::compile(&p);
        let mut checker = Checker::new(&net, Some(&p), CheckOptions::default(), None).unwrap();
        let opts = LogOptions {
            keep_attributes: true,
            ..log_options(Some(&p), &LogFlags::default()).unwrap()
        };
        checker.read_times_as(&opts);
        let mut traces: HashMap<String, Trace> = HashMap::new();
        read_log(
            &sorted,
            &opts,
            &mut |t| {
                traces.insert(t.id.clone(), t);
            },
            &mut |r| panic!("{}: {}", r.location, r.reason),
        )
        .unwrap();
        let end = traces
            .values()
            .flat_map(|t| t.events.iter().filter_map(|e| e.timestamp))
            .max()
            .unwrap()
            .with_timezone(&Utc);
        let alerts = jsonl(&dir.path().join("alerts.jsonl"));
        for (i, a) in alerts.iter().enumerate() {
            assert_eq!(a["seq"].as_u64(), Some(i as u64 + 1), "{a}");
        }
        let mut raised: Vec<(String, String, String)> = Vec::new();
        for a in &alerts {
            let kind = a["kind"].as_str().unwrap().to_string();
            *kinds.entry(kind.clone()).or_default() += 1;
            let case = a["case"].as_str().unwrap();
            let id = a["id"].as_str().unwrap();
            raised.push((
                case.to_string(),
                a["step"].as_str().unwrap().to_string(),
                kind.clone(),
            ));
            if a["obligation"].is_null() {
                continue;
            }
            // `at` is when it became true (a limit's instant); `raised` the first instant
            // `check --as-of`, on the events recorded by then, says so.
            let at = time(&a["at"]).unwrap();
            let when = time(&a["raised"]).unwrap();
            assert!(at <= when, "{a}");
            let trace = &traces[case];
            let want = match kind.as_str() {
                "at-risk" | "monitoring-due" | "escalation-due" => Status::AtRisk,
                _ => Status::Violated,
            };
            assert_eq!(
                status_as_of(&mut checker, trace, id, case, when),
                Some(want),
                "{proc}: {a}"
            );
            // Raised by a timer at the limit's instant: not true a moment before.
            if when - at <= Duration::milliseconds(1) && a["due"] != Value::Null {
                let before = at - Duration::milliseconds(1);
                let s = status_as_of(&mut checker, trace, id, case, before);
                assert_ne!(
                    s,
                    Some(want),
                    "{proc}: {a} was already {want:?} at {before}"
                );
                timed += 1;
            }
            justified += 1;
        }
        // And none is missing: every deadline and acknowledgement that `check --as-of`
        // says is at risk at its at-risk instant, or violated just after its due time
        // (before the day ended), was alerted.
        let mut converse = 0;
        for v in &verdicts {
            let case = v["case_id"].as_str().unwrap();
            let mut seen: HashMap<String, usize> = HashMap::new();
            for o in v["obligations"].as_array().into_iter().flatten() {
                let kind = o["kind"].as_str().unwrap();
                let step = o["step"].as_str().unwrap().to_string();
                let key = format!("{kind}/{step}/{}", o["line"]);
                let n = seen.entry(key.clone()).or_default();
                *n += 1;
                if kind != "deadline" && kind != "acknowledgement" {
                    continue;
                }
                let id = format!("{case}/{key}/{n}/x");
                let has =
                    |k: &str| raised.contains(&(case.to_string(), step.clone(), k.to_string()));
                let trace = &traces[case];
                if let Some(r) = time(&o["risk_from"]).filter(|&r| r < end)
                    && status_as_of(&mut checker, trace, &id, case, r) == Some(Status::AtRisk)
                {
                    assert!(
                        has("at-risk"),
                        "{proc}: case {case}: no at-risk alert for {o}"
                    );
                    converse += 1;
                }
                if let Some(d) = time(&o["due"]).filter(|&d| d < end) {
                    let after = d + Duration::milliseconds(1);
                    if status_as_of(&mut checker, trace, &id, case, after) == Some(Status::Violated)
                    {
                        let k = if kind == "deadline" {
                            "violated"
                        } else {
                            "acknowledgement-overdue"
                        };
                        assert!(has(k), "{proc}: case {case}: no {k} alert for {o}");
                        converse += 1;
                    }
                }
            }
        }
        assert!(converse > 20, "{proc}: {converse}");
    }
    for k in [
        "at-risk",
        "violated",
        "acknowledgement-overdue",
        "escalation-due",
        "unexpected-step",
        "closed-with-findings",
    ] {
        assert!(
            kinds.get(k).copied().unwrap_or(0) > 0,
            "no {k} alert: {kinds:?}"
        );
    }
    assert!(justified > 200, "{justified}: {kinds:?}");
    assert!(timed > 100, "{timed} of {justified}");
}

/// A simulated day of `proc` watched without interruption in one folder (its alerts and
/// verdicts there), and a fresh folder with the same day to watch otherwise.
fn uninterrupted_and_fresh(
    proc: &str,
    cases: usize,
    seed: u64,
) -> (tempfile::TempDir, tempfile::TempDir) {
    let reference = tempfile::tempdir().unwrap();
    day(reference.path(), proc, cases, seed);
    let args = watch_args(proc, reference.path().to_str().unwrap());
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = procedo(&a);
    assert_eq!(code, 0, "{err}");
    let fresh = tempfile::tempdir().unwrap();
    std::fs::copy(
        reference.path().join("day.jsonl"),
        fresh.path().join("day.jsonl"),
    )
    .unwrap();
    (reference, fresh)
}

#[cfg(unix)]
#[test]
fn killed_at_random_points_and_restarted_it_writes_exactly_the_alerts_of_an_uninterrupted_run() {
    use assert_cmd::cargo::CommandCargoExt;
    let proc = PROCEDURES[0];
    let (reference, crashed) = uninterrupted_and_fresh(proc, 900, 21);
    let c = crashed.path().to_str().unwrap();
    let args = watch_args(proc, c);
    // A fixed sequence of pseudo-random delays (xorshift), so a failure can be replayed.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut kills = 0;
    let mut runs = 0;
    loop {
        runs += 1;
        let mut child = std::process::Command::cargo_bin("procedo")
            .unwrap()
            .args(&args)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let wait = std::time::Duration::from_millis(40 + x % 260);
        std::thread::sleep(wait);
        match child.try_wait().unwrap() {
            Some(status) => {
                assert_eq!(status.code(), Some(0), "run {runs}");
                if kills >= 20 {
                    break;
                }
                // Finished before 20 kills: start the replay again from nothing.
                std::fs::remove_dir_all(crashed.path().join("state")).unwrap();
                std::fs::remove_file(crashed.path().join("alerts.jsonl")).unwrap();
                std::fs::remove_file(crashed.path().join("verdicts.jsonl")).unwrap();
                kills = 0;
            }
            None if kills >= 20 => {
                let status = child.wait().unwrap();
                assert_eq!(status.code(), Some(0), "run {runs}");
                break;
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
            }
        }
        assert!(runs < 400, "the replay never finished");
    }
    assert!(kills >= 20);
    let want = std::fs::read_to_string(reference.path().join("alerts.jsonl")).unwrap();
    let got = std::fs::read_to_string(crashed.path().join("alerts.jsonl")).unwrap();
    assert!(want.lines().count() > 300, "{}", want.lines().count());
    assert_eq!(got, want, "alerts after {kills} kills differ");
    let want = std::fs::read_to_string(reference.path().join("verdicts.jsonl")).unwrap();
    let got = std::fs::read_to_string(crashed.path().join("verdicts.jsonl")).unwrap();
    assert_eq!(got.lines().count(), 900);
    assert_eq!(got, want, "verdicts after {kills} kills differ");
}

#[test]
fn bad_events_are_rejected_with_their_place_counted_and_the_rest_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let proc = PROCEDURES[0];
    let (_, sorted) = day(dir.path(), proc, 5, 2);
    let mut text = std::fs::read_to_string(&sorted).unwrap();
    let n = text.lines().count();
    text.push_str("{not json\n");
    text.push_str("{\"concept:name\": \"Call Answered\"}\n");
    text.push_str(&format!("{}\n", "x".repeat(2 << 20)));
    std::fs::write(&sorted, text).unwrap();
    let d = dir.path().to_str().unwrap();
    let args = watch_args(proc, d);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = procedo(&a);
    assert_eq!(code, 2, "{err}");
    let file = sorted.display().to_string();
    assert!(
        err.contains(&format!("error: {file}:+{}: not a JSON object", n + 1)),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "error: {file}:+{}: no case id in `cad_incident`",
            n + 2
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "error: {file}:+{}: the line is longer than 1048576 bytes",
            n + 3
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("watched {n} events (3 rejected)")),
        "{err}"
    );
    let (code, status, _) = procedo(&["watch", "--state", &format!("{d}/state"), "--status"]);
    assert_eq!(code, 0);
    let s: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(s["events"], n as u64);
    assert_eq!(s["rejected"], 3);
    assert_eq!(s["cases_closed"], 5);
    assert_eq!(s["open_cases"], 0);
}

#[test]
fn state_made_for_another_procedure_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    day(dir.path(), PROCEDURES[0], 3, 1);
    let args = watch_args(PROCEDURES[0], d);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(procedo(&a).0, 0);
    let args = watch_args(PROCEDURES[1], d);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = procedo(&a);
    assert_eq!(code, 2);
    assert!(
        err.contains("this state was made with procedure ambulance.arp_dispatch"),
        "{err}"
    );
}

#[test]
fn a_state_that_cannot_tell_whether_a_case_closed_stops_the_run_before_anything_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    day(dir.path(), PROCEDURES[0], 3, 1);
    // The state, made on no events; then its closed cases become a view that fails when
    // asked about a case (and answers every other question it is asked at a start).
    let day_file = dir.path().join("day.jsonl");
    let events = std::fs::read_to_string(&day_file).unwrap();
    std::fs::write(&day_file, "").unwrap();
    let args = watch_args(PROCEDURES[0], d);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(procedo(&a).0, 0);
    std::fs::write(&day_file, events).unwrap();
    let db = rusqlite::Connection::open(dir.path().join("state")).unwrap();
    db.execute_batch(
        "DROP TABLE closed;
         CREATE TABLE closed_rows(case_id TEXT, seq INTEGER, at TEXT, why TEXT, verdict TEXT);
         INSERT INTO closed_rows VALUES ('x', NULL, '', '', '');
         CREATE VIEW closed AS SELECT
           CASE WHEN seq IS NULL THEN abs(-9223372036854775807 - 1) ELSE case_id END AS case_id,
           seq, at, why, verdict FROM closed_rows;",
    )
    .unwrap();
    drop(db);
    let (code, _, err) = procedo(&a);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("state: cannot tell whether case `case-00001` has closed"),
        "{err}"
    );
    // Nothing judged on the guess was sent.
    let alerts = std::fs::read_to_string(dir.path().join("alerts.jsonl")).unwrap_or_default();
    assert_eq!(alerts, "");
}

#[test]
fn a_non_loopback_address_needs_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, _, err) = procedo(&[
        "watch",
        "-p",
        PROCEDURES[0],
        "--state",
        &format!("{d}/s"),
        "--listen",
        "0.0.0.0:0",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("is not a loopback address: give a bearer token"),
        "{err}"
    );
}

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_http_endpoint_takes_events_rejects_bad_ones_with_400_and_reports_status() {
    use assert_cmd::cargo::CommandCargoExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (_, sorted) = day(dir.path(), PROCEDURES[0], 3, 4);
    let port = free_port();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let mut child = std::process::Command::cargo_bin("procedo")
        .unwrap()
        .args([
            "watch",
            "-p",
            PROCEDURES[0],
            "--state",
            &format!("{d}/state"),
            "--listen",
            &format!("0.0.0.0:{port}"),
            "--token-file",
            token.to_str().unwrap(),
            "--max-body",
            "100000",
            "--clock",
            "event",
            "--alerts",
            &format!("{d}/alerts.jsonl"),
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut up = false;
    for _ in 0..100 {
        if agent.get(format!("{url}/status")).call().is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(up, "the endpoint did not come up");
    // No token: 401, and nothing taken.
    let r = agent.post(format!("{url}/events")).send("{}").unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let auth = "Bearer s3cret";
    // A batch with one malformed event: 400 naming it, the rest taken.
    let text = std::fs::read_to_string(&sorted).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut body = String::new();
    body.push_str(lines[0]);
    body.push('\n');
    body.push_str("{\"cad_incident\": \"case-x\", \"event_time\": \"<script>\"}\n");
    for l in &lines[1..] {
        body.push_str(l);
        body.push('\n');
    }
    let mut r = agent
        .post(format!("{url}/events"))
        .header("Authorization", auth)
        .send(body.as_str())
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let reply: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(reply["accepted"], lines.len() as u64);
    assert_eq!(reply["rejected"][0]["index"], 1);
    assert_eq!(reply["rejected"][0]["kind"], "no-activity");
    // Too large a body: 413.
    let big = "x".repeat(100_001);
    let r = agent
        .post(format!("{url}/events"))
        .header("Authorization", auth)
        .send(big.as_str())
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let mut r = agent
        .get(format!("{url}/status"))
        .header("Authorization", auth)
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let s: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(s["events"], lines.len() as u64);
    assert_eq!(s["rejected"], 1);
    let r = agent
        .get(format!("{url}/nowhere"))
        .header("Authorization", auth)
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    child.kill().unwrap();
    child.wait().unwrap();
    // What was acknowledged with a reply is durable.
    let (code, status, _) = procedo(&["watch", "--state", &format!("{d}/state"), "--status"]);
    assert_eq!(code, 0);
    let s: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(s["events"], lines.len() as u64);
}

#[test]
fn a_followed_file_is_read_across_rotation() {
    use assert_cmd::cargo::CommandCargoExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (_, sorted) = day(dir.path(), PROCEDURES[0], 4, 9);
    let text = std::fs::read_to_string(&sorted).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let half = lines.len() / 2;
    let live = dir.path().join("live.jsonl");
    std::fs::write(&live, lines[..half].join("\n") + "\n").unwrap();
    let mut child = std::process::Command::cargo_bin("procedo")
        .unwrap()
        .args([
            "watch",
            "-p",
            PROCEDURES[0],
            "--state",
            &format!("{d}/state"),
            "--input",
            live.to_str().unwrap(),
            "--poll-ms",
            "20",
            "--clock",
            "event",
            "--alerts",
            &format!("{d}/alerts.jsonl"),
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let events = |want: usize| {
        for _ in 0..200 {
            let (_, s, _) = procedo(&["watch", "--state", &format!("{d}/state"), "--status"]);
            if let Ok(v) = serde_json::from_str::<Value>(&s)
                && v["events"] == want as u64
            {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    };
    assert!(events(half), "the first half was not read");
    // Rotate: the old file moves away, a new one takes its name.
    std::fs::rename(&live, dir.path().join("live.jsonl.1")).unwrap();
    std::fs::write(&live, lines[half..].join("\n") + "\n").unwrap();
    assert!(events(lines.len()), "the rotated file was not read");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_webhook_gets_every_alert_at_least_once_through_failures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    day(dir.path(), PROCEDURES[0], 40, 6);
    // An endpoint that fails its first two requests, then takes every batch.
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let sink = got.clone();
    std::thread::spawn(move || {
        for (n, mut req) in server.incoming_requests().enumerate() {
            let mut body = String::new();
            std::io::Read::read_to_string(req.as_reader(), &mut body).unwrap();
            let code = if n < 2 { 500 } else { 200 };
            if code == 200 {
                let batch: Vec<Value> = serde_json::from_str(&body).unwrap();
                sink.lock().unwrap().extend(batch);
            }
            let _ = req.respond(tiny_http::Response::empty(code));
        }
    });
    let mut args = watch_args(PROCEDURES[0], d);
    args.push("--webhook".into());
    args.push(format!("http://127.0.0.1:{port}/alerts"));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = procedo(&a);
    assert_eq!(code, 0, "{err}");
    let want: Vec<String> = jsonl(&dir.path().join("alerts.jsonl"))
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert!(want.len() > 20, "{}", want.len());
    // The run ends when its input does; the webhook's retries finish within seconds.
    let mut ids: Vec<String> = Vec::new();
    for _ in 0..100 {
        ids = got
            .lock()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        if want.iter().all(|w| ids.contains(w)) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for w in &want {
        assert!(ids.contains(w), "{w} never reached the webhook");
    }
}

/// `watch` works out the judgements of a batch of events ahead, in parallel, assuming
/// each is accepted (or rejected) as far as can be told before it is taken. When events
/// go otherwise (a case closes mid-batch and its late event is refused, an event passes
/// its case's byte budget and a later one does not, a line cannot be read), nothing
/// assumed may reach an answer: the monitor fed batch by batch with its look ahead gives
/// exactly the alerts, rejections and final verdicts of the monitor fed event by event.
#[test]
fn judgements_worked_out_ahead_give_the_answers_of_judging_event_by_event() {
    let dir = tempfile::tempdir().unwrap();
    let proc = PROCEDURES[0];
    let (_, sorted) = day(dir.path(), proc, 150, 11);
    let p = load_procedure(Path::new(proc));
    let net = procedo::petri::compile::compile(&p);
    let column = log_options(Some(&p), &LogFlags::default()).unwrap().case;
    // The day, with: a line that cannot be read every 97 lines; a case's first event
    // again 40 lines after its last (the case has closed: refused); and every 23rd event
    // padded past its case's byte budget once the case holds a few events (refused,
    // while the case's later, smaller events are taken).
    let lines: Vec<String> = std::fs::read_to_string(&sorted)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let case_of = |l: &str| -> String {
        let v: Value = serde_json::from_str(l).unwrap();
        v[&column].as_str().unwrap().to_string()
    };
    let mut last: HashMap<String, usize> = HashMap::new();
    let mut first: HashMap<String, usize> = HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        let c = case_of(l);
        first.entry(c.clone()).or_insert(i);
        last.insert(c, i);
    }
    let mut late: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (c, &i) in last.iter().filter(|(c, _)| c.ends_with('7')) {
        late.entry(i + 40)
            .or_default()
            .push(lines[first[c]].clone());
    }
    let mut input = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if i % 97 == 50 {
            input.push("{not json".to_string());
        }
        if i % 23 == 7 {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v["note"] = Value::String("x".repeat(15_000));
            input.push(v.to_string());
        } else {
            input.push(l.clone());
        }
        input.extend(late.remove(&i).unwrap_or_default());
    }
    let opts = LogOptions {
        format: Some(procedo::log::LogFormat::Jsonl),
        keep_attributes: true,
        max_case_bytes: 20_000,
        ..log_options(Some(&p), &LogFlags::default()).unwrap()
    };
    let run = |batch: usize, linger: Option<i64>, idle: Option<i64>| {
        let mut m = event_clock_monitor(&net, &p, &opts, linger, idle);
        let mut out = procedo::watch::Changes::default();
        let mut rejected = Vec::new();
        for (k, chunk) in input.chunks(batch).enumerate() {
            let texts: Vec<&str> = chunk.iter().map(String::as_str).collect();
            m.foresee(&texts);
            for (i, t) in texts.iter().enumerate() {
                if let Err(e) = m.event(t, &mut |_| false, &mut out) {
                    rejected.push((k * batch + i, e.kind, e.reason));
                }
            }
        }
        m.close_all(&mut out);
        let closed: Vec<String> = out
            .closed
            .iter()
            .map(|c| {
                format!(
                    "{} {} {:?} {}",
                    c.case,
                    c.at,
                    c.why,
                    serde_json::to_string(&c.verdict).unwrap()
                )
            })
            .collect();
        (out.alerts, rejected, closed, m.stats.clone())
    };
    // Cases closing as they finish; and lingering for 20 minutes, or closing when idle
    // for an hour (final verdicts worked out ahead for the cases whose linger or idle
    // time ends within a batch).
    for (linger, idle) in [(None, None), (Some(20), Some(60))] {
        // Batches of one are judged as they are taken (too few to work out ahead).
        let (alerts, rejected, closed, stats) = run(1, linger, idle);
        let kinds = |k: &str| rejected.iter().filter(|r| r.1 == k).count();
        assert!(kinds("unreadable-record") >= 20, "{rejected:?}");
        assert!(kinds("case-closed") >= 10, "{rejected:?}");
        assert!(kinds("case-too-large") >= 10, "{rejected:?}");
        assert!(alerts.len() > 100, "{}", alerts.len());
        assert_eq!(closed.len(), 150);
        if idle.is_some() {
            assert!(
                closed.iter().any(|c| c.contains(" Idle ")),
                "no case closed idle"
            );
            assert!(
                closed.iter().any(|c| c.contains(" Finished ")),
                "no case closed finished"
            );
        }
        for batch in [100, 500, 2_000] {
            let (a, r, c, st) = run(batch, linger, idle);
            assert_eq!(r, rejected, "batches of {batch}");
            assert_eq!(a, alerts, "batches of {batch}");
            assert_eq!(c, closed, "batches of {batch}");
            assert_eq!(st, stats, "batches of {batch}");
        }
    }
}

/// A case closed in a batch whose commit is still under way (so the state cannot tell
/// yet) is closed all the same: a later event for it is refused as `case-closed` while
/// the batch is being stored, and after it is stored the state answers for it.
#[test]
fn a_case_closed_in_a_batch_being_stored_stays_closed() {
    let proc = PROCEDURES[0];
    let dir = tempfile::tempdir().unwrap();
    let (_, sorted) = day(dir.path(), proc, 3, 5);
    let p = load_procedure(Path::new(proc));
    let net = procedo::petri::compile::compile(&p);
    let opts = LogOptions {
        format: Some(procedo::log::LogFormat::Jsonl),
        keep_attributes: true,
        ..log_options(Some(&p), &LogFlags::default()).unwrap()
    };
    let lines: Vec<String> = std::fs::read_to_string(&sorted)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let mut m = event_clock_monitor(&net, &p, &opts, None, None);
    let mut out = procedo::watch::Changes::default();
    for l in &lines {
        m.event(l, &mut |_| false, &mut out).unwrap();
    }
    m.close_all(&mut out);
    assert_eq!(out.closed.len(), 3);
    let again = lines.last().unwrap();
    // The batch is being stored: the state does not know the case yet.
    m.storing();
    let refused = m.event(again, &mut |_| false, &mut out).unwrap_err();
    assert_eq!(refused.kind, "case-closed", "{}", refused.reason);
    // Stored: the state answers for it.
    m.stored();
    let refused = m.event(again, &mut |_| true, &mut out).unwrap_err();
    assert_eq!(refused.kind, "case-closed", "{}", refused.reason);
    // (Had the state not stored it, the monitor no longer claims to know.)
    assert!(m.event(again, &mut |_| false, &mut out).is_ok());
}

/// A monitor of `p` on the events' clock, lingering and closing idle cases after the
/// minutes given, reading events as `opts` says.
fn event_clock_monitor<'a>(
    net: &'a procedo::petri::Net,
    p: &'a procedo::Procedure,
    opts: &LogOptions,
    linger: Option<i64>,
    idle: Option<i64>,
) -> procedo::watch::Monitor<'a> {
    let mut checker = Checker::new(net, Some(p), CheckOptions::default(), None).unwrap();
    checker.read_times_as(opts);
    procedo::watch::Monitor::new(
        checker,
        procedo::log::LineReader::new(opts.clone()),
        procedo::watch::Options {
            close_idle: idle.map(chrono::Duration::minutes),
            linger: linger.map(chrono::Duration::minutes),
            event_clock: true,
        },
    )
}

/// Killed just after its first alerts reach the file, before the commit that records
/// that delivery, a restart writes each alert once: where the file started is recorded
/// in the state before anything is written to it.
#[cfg(unix)]
#[test]
fn killed_after_its_first_delivery_a_restart_writes_each_alert_once() {
    use assert_cmd::cargo::CommandCargoExt;
    let proc = PROCEDURES[0];
    let (reference, crashed) = uninterrupted_and_fresh(proc, 300, 8);
    let want = std::fs::read_to_string(reference.path().join("alerts.jsonl")).unwrap();
    assert!(want.lines().count() > 100, "{}", want.lines().count());
    let c = crashed.path().to_str().unwrap();
    let args = watch_args(proc, c);
    let alerts = crashed.path().join("alerts.jsonl");
    let mut child = std::process::Command::cargo_bin("procedo")
        .unwrap()
        .args(&args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::fs::metadata(&alerts).map_or(0, |m| m.len()) == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before any alert"
        );
        assert!(started.elapsed().as_secs() < 60, "no alert written");
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = procedo(&a);
    assert_eq!(code, 0, "{err}");
    let got = std::fs::read_to_string(&alerts).unwrap();
    assert_eq!(got, want, "alerts written again after the restart");
}
