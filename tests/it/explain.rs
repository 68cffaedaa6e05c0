//! `procedo explain`: one case as a story, and its evidence record.

use crate::procedo;

/// The hash changes with every edit of the procedure: snapshots show a placeholder.
fn redact(out: &str) -> String {
    out.lines()
        .map(|l| match l.find("sha256") {
            Some(i) => format!("{}sha256 <hash>", &l[..i]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn explain_tells_a_case_with_every_perspective() {
    let (code, out, err) = procedo(&[
        "explain",
        "-p",
        "tests/audit/perspectives.proc",
        "tests/audit/log.yaml",
        "--case",
        "many-deviations",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("explain_fixture_many_deviations", redact(&out));
}

#[test]
fn explain_a_running_case_as_of_a_time() {
    let (code, out, err) = procedo(&[
        "explain",
        "-p",
        "tests/audit/perspectives.proc",
        "tests/audit/log.yaml",
        "--case",
        "running",
        "--as-of",
        "2026-03-30T12:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("explain_fixture_running", redact(&out));
}

#[test]
fn explain_a_bpic2013_case() {
    let (code, out, err) = procedo(&[
        "explain",
        "-p",
        "procedures/bpic2013/bpic2013_incident.proc",
        "examples/data/BPI_Challenge_2013_incidents.xes.gz",
        "--activity",
        "concept:name,lifecycle:transition",
        "--case",
        "1-364285768",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("explain_bpic2013_case", redact(&out));
}

#[test]
fn the_evidence_record_names_the_procedure_by_content_hash() {
    let (code, out, err) = procedo(&[
        "explain",
        "-p",
        "tests/audit/perspectives.proc",
        "tests/audit/log.yaml",
        "--case",
        "on-roster",
        "--roster",
        "tests/audit/roster.csv",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    use sha2::Digest;
    let text = std::fs::read("tests/audit/perspectives.proc").unwrap();
    let mut h = sha2::Sha256::new();
    h.update(&text);
    h.update([0u8]);
    let want: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v["procedure"]["sha256"], want);
    assert_eq!(v["procedure"]["id"], "fixture.perspectives");
    assert_eq!(v["procedure"]["version"], "1");
    assert_eq!(v["conforming"], true);
    // The facts used and every rule that fired are in the record.
    assert_eq!(v["assessment"]["priority"]["level"], "urgent");
    assert_eq!(
        v["assessment"]["priority"]["methods"][0]["matched_lines"][0],
        37
    );
    let met: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["obligations"].as_array().into_iter().flatten())
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        met,
        [
            "deadline",
            "decision",
            "deadline",
            "resources",
            "inform",
            "acknowledgement",
            "monitoring"
        ]
    );
}

#[test]
fn explain_errors_name_the_case_or_the_problem() {
    let (code, _, err) = procedo(&[
        "explain",
        "-p",
        "tests/audit/perspectives.proc",
        "tests/audit/log.yaml",
        "--case",
        "no-such-case",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no case `no-such-case` in `tests/audit/log.yaml`"),
        "{err}"
    );
}

/// `explain` on a case from each shipped procedure's example log (`examples/logs/`, made by
/// `procedo simulate --cases 200 --seed 7`): the first case with an injected deviation.
#[test]
fn explain_a_case_from_each_shipped_example_log() {
    let mut names: Vec<String> = std::fs::read_dir("examples/logs")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".jsonl.gz").map(str::to_string))
        .collect();
    names.sort();
    assert_eq!(names.len(), 11, "{names:?}");
    for name in names {
        let truth = std::fs::read_to_string(format!("examples/logs/{name}.truth.jsonl")).unwrap();
        let case = truth
            .lines()
            .next()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["case_id"].as_str().unwrap().to_string()
            })
            .unwrap_or_else(|| "case-00001".to_string());
        let proc_ = glob_procedure(&name);
        let (code, out, err) = procedo(&[
            "explain",
            "-p",
            &proc_,
            &format!("examples/logs/{name}.jsonl.gz"),
            "--case",
            &case,
        ]);
        assert_eq!(code, 0, "{name}: {err}");
        insta::assert_snapshot!(format!("explain_example_{name}"), redact(&out));
    }
}

fn glob_procedure(name: &str) -> String {
    for dir in std::fs::read_dir("procedures").unwrap() {
        let p = dir.unwrap().path().join(format!("{name}.proc"));
        if p.exists() {
            return p.to_string_lossy().into_owned();
        }
    }
    panic!("no procedure {name}");
}
