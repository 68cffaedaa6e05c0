//! The perspectives beyond control flow: every finding code, on the fixture in
//! `tests/audit/`, from the library and through `procedo check`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use procedo::audit::codes::{self, Severity};

use crate::procedo;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> procedo::Procedure {
    let path = manifest().join("tests/audit/perspectives.proc");
    let (p, diags) = crate::check_file(&path);
    assert!(
        !diags.iter().any(|d| d.severity == procedo::Severity::Error),
        "{}",
        crate::render(&diags)
    );
    p.expect("the fixture builds")
}

#[test]
fn every_case_of_the_perspectives_fixture_passes() {
    let p = fixture();
    let text =
        std::fs::read_to_string(manifest().join("tests/audit/perspectives.test.yaml")).unwrap();
    let tests: procedo::suite::TestFile = serde_yaml::from_str(&text).unwrap();
    let report = procedo::suite::run(&p, &tests);
    let failed: Vec<String> = report
        .outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| format!("{}: {}", o.name, o.diff.join("; ")))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert_eq!(report.outcomes.len(), 30);
}

/// Each code beyond control flow is expected by a fixture case, and each has a near miss:
/// a case whose name says so and that conforms.
#[test]
fn every_perspective_code_has_a_case_and_the_fixture_has_near_misses() {
    let text =
        std::fs::read_to_string(manifest().join("tests/audit/perspectives.test.yaml")).unwrap();
    let tests: procedo::suite::TestFile = serde_yaml::from_str(&text).unwrap();
    let mut expected: BTreeSet<String> = BTreeSet::new();
    for c in &tests.cases {
        for f in c.expect.findings.iter().flatten() {
            expected.insert(f.code.clone());
        }
    }
    // resource-unavailable needs a roster: `check --roster` below.
    expected.insert("resource-unavailable".into());
    let control_flow = [
        "unexpected-step",
        "wrong-order",
        "missing-step",
        "incomplete",
        "not-aligned",
    ];
    let missing: Vec<&str> = codes::CODES
        .iter()
        .map(|c| c.code)
        .filter(|c| !control_flow.contains(c) && !expected.contains(*c))
        .collect();
    assert!(missing.is_empty(), "no fixture case for {missing:?}");
    let near_misses = tests
        .cases
        .iter()
        .filter(|c| c.name.starts_with("near miss") && c.expect.conforming)
        .count();
    assert!(near_misses >= 5, "{near_misses} near misses");
}

#[test]
fn codes_have_severities_and_errors_decide_the_verdict() {
    assert_eq!(codes::severity_of("deadline-missed"), Severity::Error);
    assert_eq!(codes::severity_of("at-risk"), Severity::Warning);
    assert_eq!(codes::severity_of("unreadable-fact"), Severity::Warning);
    let names: BTreeSet<&str> = codes::CODES.iter().map(|c| c.code).collect();
    assert_eq!(names.len(), codes::CODES.len(), "codes are unique");
}

#[test]
fn finding_codes_doc_is_generated_from_the_code_list() {
    let path = manifest().join("docs/findings.md");
    let want = codes::markdown();
    if std::env::var_os("PROCEDO_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).ok().as_deref(),
        Some(want.as_str()),
        "docs/findings.md is stale; run `PROCEDO_BLESS=1 cargo test --test integration audit`"
    );
}

fn check(args: &[&str]) -> (i32, String, String) {
    let mut all = vec![
        "check",
        "-p",
        "tests/audit/perspectives.proc",
        "tests/audit/log.yaml",
    ];
    all.extend_from_slice(args);
    procedo(&all)
}

#[test]
fn check_reports_every_perspective_with_the_roster() {
    let (code, out, err) = check(&["--roster", "tests/audit/roster.csv", "-v"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("check_perspectives_human", out);
}

#[test]
fn check_json_carries_limits_lateness_and_obligations() {
    let (code, out, err) = check(&[
        "--roster",
        "tests/audit/roster.csv",
        "--format",
        "jsonl",
        "--as-of",
        "2026-03-30T12:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    let cases: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cases.len(), 4);
    let by_id = |id: &str| cases.iter().find(|c| c["case_id"] == id).unwrap();
    // The roster: c3 is off shift at 10:20, c9 is not on it.
    let codes_of = |c: &serde_json::Value| -> Vec<String> {
        c["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        codes_of(by_id("off-shift-and-unknown")),
        [
            "resource-lacks-capability",
            "resource-unavailable",
            "resource-unavailable"
        ]
    );
    assert_eq!(codes_of(by_id("on-roster")), Vec::<String>::new());
    // Lateness and the procedure line travel with the finding.
    let late = by_id("many-deviations")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "deadline-missed")
        .unwrap()
        .clone();
    assert_eq!(late["evidence"]["limit"], "10m");
    assert_eq!(late["evidence"]["actual"], "25m");
    assert_eq!(late["evidence"]["late"], "15m");
    assert_eq!(late["line"], 47);
    // A running case with its clock paused: nothing is due, nothing incomplete; but the
    // wall-time constraint `log followed by close within 1d` has already failed, and in a
    // running case what is already certain is reported.
    let running = by_id("running");
    assert_eq!(running["running"], true);
    assert_eq!(running["conforming"], false);
    assert_eq!(codes_of(running), ["constraint-violated"]);
    let statuses: Vec<(&str, &str, &str)> = running["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap(),
                o["step"].as_str().unwrap(),
                o["status"].as_str().unwrap(),
            )
        })
        .collect();
    // The decision is judged on the branch the facts call for, which the running case
    // is aligned to; the appointment it leads to is still to come.
    assert_eq!(
        statuses,
        [
            ("decision", "route", "met"),
            ("deadline", "grade", "met"),
            ("deadline", "appointment", "pending"),
            ("constraint", "log", "violated")
        ]
    );
}

#[test]
fn perspectives_can_be_turned_off_and_fail_on_reads_severities() {
    let (code, out, _) = check(&["--perspectives", "none", "--format", "csv"]);
    assert_eq!(code, 0);
    // Control flow alone: only the running case is non-conforming (incomplete).
    assert_eq!(
        out.lines().filter(|l| l.contains(",false,")).count(),
        1,
        "{out}"
    );
    let (code, _, _) = check(&["--fail-on", "error"]);
    assert_eq!(code, 1);
    let (code, _, err) = check(&["--roster", "tests/audit/missing.csv"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot read `tests/audit/missing.csv`"),
        "{err}"
    );
    let (code, _, err) = check(&["--as-of", "yesterday"]);
    assert_eq!(code, 2);
    assert!(err.contains("`yesterday` is not a time"), "{err}");
}

#[test]
fn a_bad_roster_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "resource,type,capabilities,available_from,available_to\nc1,car,driving,soon,\n",
    )
    .unwrap();
    let err = procedo::audit::Roster::read(&roster).unwrap_err();
    assert!(
        err.ends_with(
            "roster.csv:2: `soon` is not a timestamp (use RFC 3339, e.g. 2026-03-01T08:00:00Z)"
        ),
        "{err}"
    );
    let _ = Path::new("");
}

#[test]
fn a_loop_recorded_more_rounds_than_it_allows_is_over_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("procedo.yaml"), "").unwrap();
    std::fs::write(
        dir.path().join("l.proc"),
        "procedure t.l \"L\"\n\nends\n  done\n\nflow\n  step a\n  repeat tries at most 2\n    step b\n      outcomes [yes, no]\n  until outcome of b == yes\n  end done\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("l.test.yaml"),
        "cases:\n  - name: two rounds\n    events: [a, b, b]\n    expect: {conforming: true, findings: []}\n  - name: three rounds\n    events: [a, b, b, b]\n    expect:\n      conforming: false\n      findings:\n        - {code: unexpected-step, step: b, event_index: 3}\n",
    )
    .unwrap();
    let (code, out, err) = procedo(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 tests: 2 passed"), "{out}");
}

/// Typed findings in the JSON output: the code as text, the steps as a list, and the
/// actor each finding is attributed to (the event's actor; for a finding without an
/// actor on its own event, whoever had the case before it).
#[test]
fn findings_carry_their_steps_and_actor() {
    let (_, out, _) = check(&["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let case = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case_id"] == "many-deviations")
        .unwrap();
    let got: Vec<(String, Vec<String>, String)> = case["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["steps"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect(),
                f["actor"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    let s = |x: &[&str]| x.iter().map(|y| y.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        [
            ("unjustified-override".into(), s(&["grade"]), "bob".into()),
            ("deadline-missed".into(), s(&["grade"]), "bob".into()),
            // The decision after `grade` went the wrong way: `advise` has no actor of its
            // own, so the finding goes to bob, who had the case before it.
            (
                "wrong-branch".into(),
                s(&["route", "appointment"]),
                "bob".into()
            ),
            ("action-not-specified".into(), s(&["advise"]), "bob".into()),
            ("constraint-violated".into(), s(&["close"]), "bob".into()),
            ("constraint-violated".into(), s(&["close"]), "bob".into()),
        ]
    );
    // `incomplete` lists every step still required.
    let running = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case_id"] == "running")
        .unwrap();
    let incomplete = running["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "incomplete")
        .unwrap();
    assert_eq!(
        incomplete["steps"],
        serde_json::json!(["appointment", "close"])
    );
    assert_eq!(incomplete["step"], "appointment, close");
}

/// The at-risk warning names the share the procedure declared (`escalate at 75%`), not
/// the default 80%; an escalation point passed in a running case with no escalation
/// recorded yet is at risk, not violated. One second either side of the point.
#[test]
fn at_risk_names_the_declared_share() {
    let run = |as_of: &str| {
        let (code, out, err) = procedo(&[
            "check",
            "-p",
            "tests/audit/at_risk.proc",
            "tests/audit/at_risk.yaml",
            "--as-of",
            as_of,
            "--format",
            "jsonl",
        ]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        let findings: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{}: {}",
                    f["code"].as_str().unwrap(),
                    f["message"].as_str().unwrap()
                )
            })
            .collect();
        let statuses: Vec<String> = v["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                format!(
                    "{} {}",
                    o["kind"].as_str().unwrap(),
                    o["status"].as_str().unwrap()
                )
            })
            .collect();
        (findings, statuses)
    };
    // 09:44:59 is before 75% of the hour: nothing at risk yet.
    let (f, s) = run("2026-03-02T09:44:59Z");
    assert_eq!(f, Vec::<String>::new());
    assert_eq!(s, ["deadline pending", "escalation pending"]);
    // 09:45:01 is past it.
    let (f, s) = run("2026-03-02T09:45:01Z");
    assert_eq!(
        f,
        [
            "at-risk: `reply` within 1h of log is not met yet and is past 75% of its limit (due 2026-03-02T10:00:00+00:00)",
            "at-risk: `reply` is not done 45m after `log` (2026-03-02T09:45:00+00:00): escalation to supervisor is due and not recorded yet",
        ]
    );
    assert_eq!(s, ["deadline at-risk", "escalation at-risk"]);
    // Past the limit, the deadline is violated; the escalation still may be recorded.
    let (f, s) = run("2026-03-02T10:00:01Z");
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(
        f[0].starts_with("deadline-missed: `reply` was not done by 2026-03-02T10:00:00+00:00"),
        "{f:?}"
    );
    assert_eq!(s, ["deadline violated", "escalation at-risk"]);
}
