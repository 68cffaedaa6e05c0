//! Assessment semantics: every hit policy (with DMN's edge cases), unknown-fact
//! policies, overrides, band boundaries, targets, fact validation, and the real
//! ServiceNow log whose recorded priorities the IT service desk procedure reproduces.

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use procedo::eval::{Assessment, Assessor, FactError, MethodOutcome, Value};
use serde_json::json;

fn assessor() -> Assessor {
    let path = Path::new("tests/assess/hit_policies.proc");
    let (p, diags) = crate::check_file(path);
    let p = p.unwrap_or_else(|| panic!("{}", crate::render(&diags)));
    Assessor::new(&p)
}

fn facts(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    let mut base = json!({"kind": "a", "n": 1, "flag": false, "maybe": false, "impact": "low", "urgency": "low"});
    for (k, x) in v.as_object().unwrap() {
        base[k] = x.clone();
    }
    base.as_object().unwrap().clone()
}

fn run(v: serde_json::Value) -> Assessment {
    let a = assessor();
    let f = a
        .facts_from_json(&facts(v), false)
        .unwrap_or_else(|e| panic!("{e:?}"));
    a.assess(f)
}

fn decision<'a>(a: &'a Assessment, name: &str) -> &'a MethodOutcome {
    a.decisions.iter().find(|d| d.method == name).unwrap()
}

fn sym(s: &str) -> Value {
    Value::Symbol(s.into())
}

#[test]
fn unique_single_match_no_match_and_overlap_error_naming_both_rows() {
    let a = run(json!({"kind": "b"}));
    assert_eq!(decision(&a, "t_unique").values, [sym("amber")]);
    let a = run(json!({"kind": "c"}));
    let d = decision(&a, "t_unique");
    assert!(d.values.is_empty());
    assert_eq!(d.reason, "no row matches kind = c, n = 1");
    let a = run(json!({"kind": "a", "n": 7}));
    let d = decision(&a, "t_unique");
    assert!(d.values.is_empty());
    assert_eq!(
        d.error.as_deref(),
        Some(
            "hit policy `unique` but row 1 (line 45) and row 2 (line 46) both match kind = a, n = 7"
        )
    );
    assert_eq!(d.matched_lines, [45, 46]);
    assert_eq!(a.errors.len(), 1);
}

#[test]
fn first_takes_the_first_matching_row() {
    assert_eq!(
        decision(&run(json!({"n": 7})), "t_first").values,
        [sym("red")]
    );
    assert_eq!(
        decision(&run(json!({"n": 1})), "t_first").values,
        [sym("green")]
    );
    assert!(
        decision(&run(json!({"kind": "c"})), "t_first")
            .values
            .is_empty()
    );
}

#[test]
fn priority_takes_the_highest_output_and_breaks_ties_by_rule_order() {
    let a = run(json!({"n": 7}));
    let d = decision(&a, "t_priority");
    assert_eq!(d.values, [sym("red")]);
    assert_eq!(d.matched_lines, [54, 55, 56]);
    assert_eq!(
        decision(&run(json!({"n": 1})), "t_priority").values,
        [sym("amber")]
    );
    let d = decision(&run(json!({"kind": "b"})), "t_priority").clone();
    assert_eq!(d.values, [sym("amber")]);
    assert_eq!(
        d.reason,
        "row 3 (line 56) of 2 matching rows gives the highest-priority output `amber`; 2 rows give it, the first in rule order wins"
    );
}

#[test]
fn any_requires_agreement() {
    assert_eq!(
        decision(&run(json!({"kind": "a"})), "t_any").values,
        [sym("red")]
    );
    let a = run(json!({"kind": "b"}));
    let d = decision(&a, "t_any");
    assert!(d.values.is_empty());
    assert_eq!(
        d.error.as_deref(),
        Some(
            "hit policy `any` but row 1 (line 60) and row 3 (line 62) match with different outputs"
        )
    );
}

#[test]
fn collect_and_its_aggregations() {
    let list = |a: &Assessment, n: &str| decision(a, n).values.clone();
    let a = run(json!({"n": 8}));
    assert_eq!(
        list(&a, "t_collect"),
        [Value::List(vec![sym("red"), sym("green"), sym("amber")])]
    );
    assert_eq!(list(&a, "t_max"), [Value::Int(4)]);
    assert_eq!(list(&a, "t_min"), [Value::Int(1)]);
    assert_eq!(list(&a, "t_sum"), [Value::Int(7)]);
    let a = run(json!({"n": 5}));
    assert_eq!(list(&a, "t_sum"), [Value::Int(3)]);
    assert_eq!(list(&a, "t_count"), [Value::Int(2)]);
    assert_eq!(
        list(&a, "t_rule_order"),
        [Value::List(vec![sym("green"), sym("red")])]
    );
    assert_eq!(
        list(&a, "t_output_order"),
        [sym("red"), sym("amber"), sym("green")]
    );
    let a = run(json!({"n": 1}));
    assert_eq!(list(&a, "t_count"), [Value::Int(1)]);
}

#[test]
fn numeric_boundaries_are_inclusive_or_exclusive_as_written() {
    let heavy = |w: serde_json::Value| {
        decision(&run(json!({"weight_kg": w})), "t_decimal")
            .values
            .clone()
    };
    assert_eq!(heavy(json!(99.5)), [Value::Bool(false)]);
    assert_eq!(heavy(json!(99.6)), [Value::Bool(true)]);
    assert_eq!(heavy(json!(0.0)), [Value::Bool(false)]);
    assert!(
        heavy(json!(null)).is_empty(),
        "a missing fact matches no row"
    );
}

#[test]
fn validity_bands_and_their_boundaries() {
    let v = |f: serde_json::Value| {
        let a = run(f);
        let v = a.validity.unwrap();
        (
            v.score,
            v.band.unwrap(),
            v.fired.iter().map(|x| x.rule.clone()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        v(json!({"n": 10})),
        (40.0, "valid".into(), vec!["big_n".to_string()])
    );
    assert_eq!(v(json!({"n": 9})), (0.0, "doubtful".into(), vec![]));
    // -20 is not `> -20`: the exclusive bound puts it in the next band.
    assert_eq!(
        v(json!({"n": 10, "flag": true})),
        (
            -20.0,
            "invalid".into(),
            vec!["big_n".to_string(), "flagged".to_string()]
        )
    );
    assert_eq!(v(json!({"n": 10, "maybe": true})).0, 50.0);
}

#[test]
fn unknown_facts_follow_their_policy_or_fire_nothing() {
    // `flag` counts unknown as true; `maybe` has no policy, so `when maybe` does not fire.
    let a = run(json!({"flag": "unknown", "maybe": "unknown"}));
    let v = a.validity.unwrap();
    assert_eq!(
        v.fired.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(),
        ["flagged"]
    );
    assert_eq!(v.score, -60.0);
    assert!(a.facts.contains(&("flag".into(), Value::Bool(true))));
    assert!(a.facts.contains(&("maybe".into(), Value::Unknown)));
}

#[test]
fn overrides_come_first_and_carry_their_requirements() {
    let a = run(json!({"kind": "c", "maybe": "unknown", "impact": "low", "urgency": "low"}));
    let p = a.priority.unwrap();
    assert_eq!(p.level.as_deref(), Some("P1"));
    assert_eq!(p.decided_by, "override (line 32)");
    assert_eq!(p.overrides[0].requires, ["role supervisor", "reason"]);
    assert_eq!(
        p.methods[0].result.as_deref(),
        Some("P3"),
        "the matrix is still reported"
    );
}

#[test]
fn methods_combine_by_the_highest_level_and_targets_follow_the_level() {
    let a = run(json!({"impact": "high", "urgency": "low"}));
    let p = a.priority.as_ref().unwrap();
    assert_eq!(p.level.as_deref(), Some("P2"));
    assert_eq!(p.decided_by, "matrix `im`");
    assert_eq!(a.targets[0].limit, "1h");
    let a = run(json!({"impact": "high", "urgency": "low", "kind": "c"}));
    assert_eq!(
        a.targets[0].limit, "30m",
        "a target line whose condition holds wins"
    );
    let a = run(json!({"code": "09-E-01"}));
    let p = a.priority.unwrap();
    assert_eq!(p.level.as_deref(), Some("P1"));
    assert_eq!(
        p.decided_by,
        "table `by_code` (combine highest of 2 methods)"
    );
    assert_eq!(a.targets[0].limit_ms, 900_000);
}

#[test]
fn assessment_is_deterministic() {
    let f = json!({"n": 8, "kind": "b", "flag": "unknown", "code": "12-D-03"});
    let a = serde_json::to_string(&run(f.clone())).unwrap();
    let b = serde_json::to_string(&run(f)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn bad_facts_are_errors_naming_the_field() {
    let a = assessor();
    let errs = |v: serde_json::Value| -> Vec<FactError> {
        a.facts_from_json(v.as_object().unwrap(), false)
            .unwrap_err()
    };
    let e = errs(
        json!({"kind": "a", "flag": false, "maybe": false, "impact": "low", "urgency": "low"}),
    );
    assert_eq!(
        e,
        [FactError {
            field: "n".into(),
            message: "required fact `n` (int) is missing".into()
        }]
    );
    let e = errs(
        json!({"kind": "z", "n": "x", "flag": false, "maybe": false, "impact": "low", "urgency": "low", "nn": 1, "code": "9-E-1", "impact2": 1}),
    );
    let fields: Vec<&str> = e.iter().map(|x| x.field.as_str()).collect();
    assert_eq!(fields, ["code", "impact2", "kind", "n", "nn"]);
    assert_eq!(
        e[0].message,
        "`9-E-1` does not have the code format \"NN-L-NN\""
    );
    assert_eq!(
        e[1].message,
        "`impact2` is not a fact of this procedure; did you mean `impact`?"
    );
    assert_eq!(e[2].message, "`z` is not one of a, b, c");
    assert_eq!(e[3].message, "`x` is not a whole number");
    let e = errs(
        json!({"kind": "a", "n": 1, "flag": false, "maybe": false, "impact": "unknown", "urgency": "low"}),
    );
    assert_eq!(
        e[0].message, "`unknown` is not one of high, low",
        "only three-valued facts accept `unknown`"
    );
}

#[test]
fn cli_explains_each_incident_with_source_lines() {
    let out = Command::cargo_bin("procedo")
        .unwrap()
        .args([
            "assess",
            "-p",
            "tests/assess/hit_policies.proc",
            "tests/assess/incidents.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "evaluation errors (unique, any) exit 1"
    );
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn cli_rejects_bad_records_with_their_location_and_assesses_the_rest() {
    let out = Command::cargo_bin("procedo")
        .unwrap()
        .args([
            "assess",
            "-p",
            "tests/assess/hit_policies.proc",
            "tests/assess/bad.jsonl",
            "--format",
            "jsonl",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    insta::assert_snapshot!(stderr);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], "ok1");
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[1]["id"], "ok2");
    assert_eq!(lines[1]["priority"]["level"], "P3");
}

/// The real ServiceNow export: every row's recorded priority follows from its impact and
/// urgency under the shipped IT service desk procedure.
#[test]
fn uci_servicenow_priorities_are_reproduced() {
    let out = Command::cargo_bin("procedo")
        .unwrap()
        .args([
            "assess",
            "-p",
            "procedures/itsm/it_service_desk.proc",
            "examples/data/uci_incident_event_log.csv.gz",
            "--missing",
            "?",
            "--timestamp-format",
            "%d/%m/%Y %H:%M",
            "--summary",
            "--fail-on",
            "mismatch",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("141712 records read: 141712 assessed, 0 rejected"),
        "{stdout}"
    );
    assert!(
        stdout.contains("priority: P1 2258, P2 2972, P3 132452, P4 4030"),
        "{stdout}"
    );
    assert!(
        stdout.contains("recorded priority reproduced: 141712/141712 (100.00%)"),
        "{stdout}"
    );
}

#[test]
fn a_decision_table_can_read_the_validity_band() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("procedo.yaml"), "").unwrap();
    std::fs::write(
        dir.path().join("v.proc"),
        "procedure t.v \"V\"\n\nfacts\n  ok: bool\n\nvalidity\n  good +10 when ok\n  bands valid >= 10, invalid\n\ndecisions\n  table size hit first\n    | validity | => n: int |\n    | valid    | 2         |\n    | -        | 1         |\n\nends\n  done\n\nflow\n  step a\n  end done\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("i.yaml"), "- {ok: true}\n- {ok: false}\n").unwrap();
    let p = dir.path().join("v.proc");
    let i = dir.path().join("i.yaml");
    let (code, out, err) = crate::procedo(&[
        "assess",
        "-p",
        p.to_str().unwrap(),
        i.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["incidents"][0]["decisions"][0]["result"], "2");
    assert_eq!(v["incidents"][1]["decisions"][0]["result"], "1");
}

#[test]
fn an_at_least_override_raises_but_never_lowers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("procedo.yaml"), "").unwrap();
    std::fs::write(
        dir.path().join("o.proc"),
        "procedure t.o \"O\"\n\nfacts\n  danger: bool\n  vip: bool\n\npriority\n  scale P1 > P2 > P3\n  override at least P2 when vip\n  table t hit first\n    | danger | => level |\n    | true   | P1       |\n    | -      | P3       |\n\nends\n  done\n\nflow\n  step a\n  end done\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("i.yaml"),
        "- {danger: true, vip: true}\n- {danger: false, vip: true}\n- {danger: false, vip: false}\n",
    )
    .unwrap();
    let p = dir.path().join("o.proc");
    let i = dir.path().join("i.yaml");
    let (code, out, err) = crate::procedo(&[
        "assess",
        "-p",
        p.to_str().unwrap(),
        i.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let levels: Vec<&str> = (0..3)
        .map(|k| v["incidents"][k]["priority"]["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["P1", "P2", "P3"]);
    assert_eq!(
        v["incidents"][1]["priority"]["decided_by"],
        "override at least (line 9), above table `t`"
    );
}
