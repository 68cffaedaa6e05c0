//! `procedo test`: the shipped tests pass, failures show a diff, bad test files are
//! located errors, and coverage is measured.

use crate::procedo;

#[test]
fn shipped_procedure_tests_pass_with_full_coverage() {
    let (code, out, err) = procedo(&[
        "test",
        "procedures/itsm",
        "procedures/bpic2013",
        "--min-coverage",
        "90",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(
            "coverage 100.0%: 10/10 steps, 2/2 decision branches (1 judged against facts), 3/3 table rows, 0/0 constraints"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "coverage 100.0%: 12/12 steps, 9/9 decision branches (0 judged against facts), 0/0 table rows, 0/0 constraints"
        ),
        "{out}"
    );
    let (code, out, _) = procedo(&["test", "procedures/itsm", "--format", "junit"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("<testsuites tests=\"33\" failures=\"0\">"),
        "{out}"
    );
}

fn sandbox(test_yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("procedo.yaml"), "").unwrap();
    std::fs::write(
        dir.path().join("p.proc"),
        "procedure t.p \"P\"\n\nfacts\n  urgent: bool\n\npriority\n  scale high > low\n  target high respond within 10m\n  target low respond within 1h\n  table grade hit first\n    | urgent | => level |\n    | true   | high     |\n    | false  | low      |\n\nends\n  done\n\nflow\n  step a\n  step b\n  end done\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("p.test.yaml"), test_yaml).unwrap();
    dir
}

#[test]
fn a_failing_test_shows_expected_and_actual() {
    let dir = sandbox(
        "incidents:\n  - name: urgent is high\n    facts: {urgent: true}\n    expect: {priority: low, targets: {respond: 1h}}\ncases:\n  - name: b before a\n    events: [b, a]\n    expect: {conforming: true}\n",
    );
    let (code, out, _) = procedo(&["test", dir.path().to_str().unwrap(), "--coverage"]);
    assert_eq!(code, 1);
    assert!(out.contains("FAIL incident urgent is high"), "{out}");
    assert!(
        out.contains("priority: expected low, got high (decided by table `grade`)"),
        "{out}"
    );
    assert!(
        out.contains("target respond: expected 1h, got 10m"),
        "{out}"
    );
    assert!(
        out.contains("conforming: expected true, got false"),
        "{out}"
    );
    assert!(
        out.contains("not reached: table `grade` row at line 13"),
        "{out}"
    );
    assert!(out.contains("2 tests: 0 passed, 2 failed"), "{out}");
}

/// Failures print values as the test file writes them, never Rust's `Some(..)`/`None`.
#[test]
fn failures_print_values_not_debug_forms() {
    let dir = sandbox(
        "cases:\n  - name: b before a\n    events: [b, a]\n    expect:\n      conforming: true\n      findings:\n        - {code: missing-step, step: b, event_index: 1}\n",
    );
    let (code, out, _) = procedo(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        out.contains("conforming: expected true, got false (alignment cost 20002)"),
        "{out}"
    );
    assert!(
        out.contains("- expected missing-step at `b` (event_index 1), not reported"),
        "{out}"
    );
    assert!(
        out.contains("+ reported wrong-order at `b` (event_index 0), not expected"),
        "{out}"
    );
    assert!(!out.contains("Some(") && !out.contains("None"), "{out}");
}

#[test]
fn a_bad_test_file_is_a_located_error() {
    let dir =
        sandbox("cases:\n  - name: x\n    events: [a, b]\n    expect: {conforming: yes-please}\n");
    let (code, _, err) = procedo(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("p.test.yaml:4:"), "{err}");
    let dir = sandbox("cases:\n  - name: x\n    evnts: [a, b]\n    expect: {conforming: true}\n");
    let (code, _, err) = procedo(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown field `evnts`"), "{err}");
}

#[test]
fn coverage_threshold_fails_below_it() {
    let dir = sandbox(
        "cases:\n  - name: a then b\n    events: [a, b]\n    expect: {conforming: true, findings: []}\n",
    );
    let (code, out, err) = procedo(&["test", dir.path().to_str().unwrap(), "--min-coverage", "90"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "coverage 50.0%: 2/2 steps, 0/0 decision branches (0 judged against facts), 0/2 table rows, 0/0 constraints"
        ),
        "{out}"
    );
    assert!(err.contains("coverage below 90%"), "{err}");
}
