//! `procedo inspect`: a log's profile, on the real BPIC 2013 XES, the real UCI CSV and a
//! simulated log (snapshots), and the set-up warnings `check` gives for what inspect shows.

use crate::procedo;

#[test]
fn inspect_the_bpic2013_xes() {
    let (code, out, err) = procedo(&[
        "inspect",
        "-p",
        "procedures/bpic2013/bpic2013_incident.proc",
        "examples/data/BPI_Challenge_2013_incidents.xes.gz",
        "--activity",
        "concept:name,lifecycle:transition",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("inspect_bpic2013", out);
}

#[test]
fn inspect_the_uci_csv() {
    // Without a zone the export cannot be read: inspect says so, record by record.
    let (code, _, err) = procedo(&[
        "inspect",
        "-p",
        "procedures/itsm/it_service_desk.proc",
        "examples/data/uci_incident_event_log.csv.gz",
        "--max-errors",
        "1",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("has no time zone, and none is declared"),
        "{err}"
    );
    let (code, out, err) = procedo(&[
        "inspect",
        "-p",
        "procedures/itsm/it_service_desk.proc",
        "examples/data/uci_incident_event_log.csv.gz",
        "--timezone",
        "UTC",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("inspect_uci", out);
}

#[test]
fn inspect_a_simulated_log_as_json() {
    let (code, out, err) = procedo(&[
        "inspect",
        "-p",
        "procedures/gas/gas_emergency_line.proc",
        "examples/logs/gas_emergency_line.jsonl.gz",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("inspect_gas_simulated", out);
    let (code, out, _) = procedo(&[
        "inspect",
        "-p",
        "procedures/gas/gas_emergency_line.proc",
        "examples/logs/gas_emergency_line.jsonl.gz",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["cases"], 200);
    let case = v["chosen"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "case")
        .unwrap();
    assert_eq!(case["column"], "job_ref");
    assert_eq!(case["source"], "procedure mapping");
    let co = v["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["label"] == "CO advice given")
        .unwrap();
    assert_eq!(co["step"], "co_advice");
    assert_eq!(co["how"], "mapping");
    assert!(
        v["perspectives"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["ready"] == true)
    );
}

/// Labels no step has are named with their counts and the nearest step; an
/// `acknowledges` naming the log's label instead of the step is named too.
#[test]
fn check_warns_of_labels_no_step_has() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.yaml");
    std::fs::write(
        &log,
        "cases:\n  - id: c1\n    events:\n      - {activity: log, time: \"2026-03-02T09:00:00Z\", actor: ann}\n      - {activity: Reply, time: \"2026-03-02T09:10:00Z\", actor: bob}\n      - {activity: \"reply seen\", time: \"2026-03-02T09:11:00Z\", acknowledges: Reply}\n      - {activity: close, time: \"2026-03-02T09:20:00Z\", actor: bob}\n",
    )
    .unwrap();
    let (code, _, err) = procedo(&[
        "check",
        "-p",
        "tests/audit/at_risk.proc",
        log.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: 1 of 3 control-flow events carry a label no step has, so they read as unexpected steps: `Reply` (1; did you mean `reply`?)"),
        "{err}"
    );
    assert!(
        err.contains("warning: `acknowledges` names no step of the procedure: `Reply` (1; did you mean `reply`?)"),
        "{err}"
    );
    // With --strict a set-up warning is exit 2.
    let (code, _, _) = procedo(&[
        "check",
        "-p",
        "tests/audit/at_risk.proc",
        log.to_str().unwrap(),
        "--strict",
    ]);
    assert_eq!(code, 2);
    // The JSON output carries them.
    let (_, out, _) = procedo(&[
        "check",
        "-p",
        "tests/audit/at_risk.proc",
        log.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["warnings"].as_array().unwrap().len(),
        2,
        "{}",
        v["warnings"]
    );
}

/// Facts recorded on events (not as case attributes) are not reported missing before
/// the event that records them.
#[test]
fn facts_recorded_on_events_are_not_missing_before_they_come() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.yaml");
    std::fs::write(
        &log,
        "cases:\n  - id: c1\n    events:\n      - {activity: log, time: \"2026-03-02T10:00:00Z\", actor: ann}\n      - {activity: grade, time: \"2026-03-02T10:05:00Z\", actor: bob, vulnerable: true, injury: none}\n      - {activity: dispatch, time: \"2026-03-02T10:20:00Z\", resource: [c1, c2], capabilities: [driving]}\n",
    )
    .unwrap();
    let (_, out, err) = procedo(&[
        "check",
        "-p",
        "tests/audit/perspectives.proc",
        log.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    let unreadable: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "unreadable-fact")
        .collect();
    assert!(unreadable.is_empty(), "{unreadable:?}");
}

/// Decisions the facts cannot judge are said so, with their counts, and `--strict` fails.
#[test]
fn check_says_which_decisions_it_could_not_judge() {
    let (code, _, err) = procedo(&[
        "check",
        "-p",
        "procedures/gas/gas_emergency_line.proc",
        "examples/logs/gas_emergency_line.jsonl.gz",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: 67 decision passes could not be judged, the values they read being missing, unknown or set by a caller: `followup` (32), `found` (3), `psr` (32); they are counted as `unknown` obligations, not as met"),
        "{err}"
    );
    let (code, _, _) = procedo(&[
        "check",
        "-p",
        "procedures/gas/gas_emergency_line.proc",
        "examples/logs/gas_emergency_line.jsonl.gz",
        "--strict",
    ]);
    assert_eq!(code, 2);
}
