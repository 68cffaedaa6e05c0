//! Conformance: exact agreement with pm4py's optimal alignments on BPIC 2013, the
//! finding codes, the log readers' handling of bad input, and the PNML round trip.

use crate::procedo;

use std::collections::BTreeMap;

use procedo::log::{Event, Trace};
use procedo::petri::align::Aligner;
use procedo::petri::pnml::{parse_pnml, read_pnml, write_pnml};

/// pm4py's per-case costs on the inductive-miner net: procedo's must equal every one.
#[test]
fn every_bpic2013_case_costs_what_pm4py_says() {
    let (code, out, err) = procedo(&[
        "check",
        "--model",
        "tests/oracle/bpic2013_incidents.im_noise0.2.pnml",
        "examples/data/BPI_Challenge_2013_incidents.xes.gz",
        "--activity",
        "concept:name,lifecycle:transition",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("7554 cases: 5542 conforming; 65533 events read = 65533 checked + 0 rejected"),
        "{err}"
    );
    let ours: BTreeMap<String, (String, String)> = out
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), (f[2].to_string(), f[3].to_string()))
        })
        .collect();
    let oracle =
        std::fs::read_to_string("tests/oracle/bpic2013_incidents.im_noise0.2.costs.csv").unwrap();
    let mut compared = 0;
    for line in oracle.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[1] == "True" {
            continue;
        }
        let (cost, fitness) = ours
            .get(f[0])
            .unwrap_or_else(|| panic!("case {} not reported", f[0]));
        let want: f64 = f[2].parse().unwrap();
        assert_eq!(cost.parse::<f64>().unwrap(), want, "case {}: cost", f[0]);
        let fit: f64 = f[3].parse().unwrap();
        assert!(
            (fitness.parse::<f64>().unwrap() - fit).abs() < 1e-12,
            "case {}: fitness {fitness} vs {fit}",
            f[0]
        );
        compared += 1;
    }
    assert_eq!(compared, 7554);
}

fn ev(a: &str) -> Event {
    Event {
        activity: a.into(),
        timestamp: None,
        resource: None,
        attributes: Vec::new(),
    }
}

/// a ; (b || c) ; d, with d optional through a silent skip.
const NET: &str = r#"<pnml><net id="n"><page id="p">
<place id="i"><initialMarking><text>1</text></initialMarking></place>
<place id="p1"/><place id="p2"/><place id="p3"/><place id="p4"/><place id="p5"/><place id="o"/>
<transition id="a"><name><text>a</text></name></transition>
<transition id="split"><name><text>split</text></name><toolspecific tool="ProM" version="6.4" activity="$invisible$"/></transition>
<transition id="b"><name><text>b</text></name></transition>
<transition id="c"><name><text>c</text></name></transition>
<transition id="join"><name><text>join</text></name><toolspecific tool="ProM" version="6.4" activity="$invisible$"/></transition>
<transition id="d"><name><text>d</text></name></transition>
<arc id="1" source="i" target="a"/><arc id="2" source="a" target="p1"/>
<arc id="3" source="p1" target="split"/><arc id="4" source="split" target="p2"/><arc id="5" source="split" target="p3"/>
<arc id="6" source="p2" target="b"/><arc id="7" source="b" target="p4"/>
<arc id="8" source="p3" target="c"/><arc id="9" source="c" target="p5"/>
<arc id="10" source="p4" target="join"/><arc id="11" source="p5" target="join"/><arc id="12" source="join" target="o"/>
</page></net></pnml>"#;

fn codes(trace: &[&str]) -> Vec<(String, String, Option<usize>)> {
    let net = parse_pnml(NET).unwrap();
    let mut al = Aligner::new(&net);
    let t = Trace {
        id: "x".into(),
        events: trace.iter().map(|a| ev(a)).collect(),
    };
    let r = procedo::conformance::check_case(&mut al, &net, &t, None, true);
    r.findings
        .into_iter()
        .map(|f| (f.code.to_string(), f.step, f.event_index))
        .collect()
}

#[test]
fn finding_codes_locate_each_deviation() {
    assert!(codes(&["a", "b", "c"]).is_empty());
    assert!(
        codes(&["a", "c", "b"]).is_empty(),
        "parallel branches in any order"
    );
    assert_eq!(
        codes(&["a", "b", "x", "c"]),
        [("unexpected-step".to_string(), "x".to_string(), Some(2))]
    );
    assert_eq!(
        codes(&["a", "c"]),
        [("incomplete".to_string(), "b".to_string(), None)]
    );
    assert_eq!(
        codes(&["b", "c"]),
        [("missing-step".to_string(), "a".to_string(), Some(0))]
    );
    assert_eq!(
        codes(&["b", "a", "c"]),
        [("wrong-order".to_string(), "b".to_string(), Some(0))]
    );
}

#[test]
fn pnml_round_trip_keeps_the_net() {
    let net = read_pnml(std::path::Path::new(
        "tests/oracle/bpic2013_incidents.im_noise0.2.pnml",
    ))
    .unwrap();
    assert_eq!((net.places.len(), net.transitions.len()), (34, 50));
    assert_eq!(
        net.transitions.iter().filter(|t| t.label.is_none()).count(),
        39
    );
    let again = parse_pnml(&write_pnml(&net, "again")).unwrap();
    assert_eq!(again.places, net.places);
    assert_eq!(again.initial, net.initial);
    assert_eq!(again.final_marking, net.final_marking);
    for (a, b) in net.transitions.iter().zip(&again.transitions) {
        assert_eq!(
            (&a.id, &a.label, &a.inputs, &a.outputs),
            (&b.id, &b.label, &b.inputs, &b.outputs)
        );
    }
}

#[test]
fn bad_logs_give_located_errors_and_counted_rejections() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("n.pnml");
    std::fs::write(&net, NET).unwrap();
    let net = net.to_str().unwrap();
    // Malformed rows, an unparsable timestamp and a row without a case: rejected with
    // their line; the good rows are checked; exit 2.
    let csv = dir.path().join("log.csv");
    std::fs::write(
        &csv,
        "case:concept:name,concept:name,time:timestamp\nc1,a,2026-01-01T10:00:00Z\nc1,b,2026-01-01T10:01:00Z\nc1,c,not a time\nc1,c,2026-01-01T10:02:00Z\nc2,a\n,a,2026-01-01T10:00:00Z\nc2,zzz,2026-01-01T10:00:00Z\n",
    )
    .unwrap();
    let (code, out, err) = procedo(&[
        "check",
        "--model",
        net,
        csv.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("log.csv:4: record 3: timestamp `not a time` cannot be read"),
        "{err}"
    );
    assert!(
        err.contains("log.csv:6: record 5: has 2 fields but the header has 3"),
        "{err}"
    );
    assert!(
        err.contains("log.csv:7: record 6: no case id in `case:concept:name`"),
        "{err}"
    );
    assert!(
        err.contains("2 cases: 1 conforming; 7 events read = 4 checked + 3 rejected"),
        "{err}"
    );
    let cases: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cases[0]["case_id"], "c1");
    assert_eq!(cases[0]["conforming"], true);
    assert_eq!(
        cases[1]["findings"][0]["code"], "unexpected-step",
        "an unknown activity is a log move"
    );

    // Invalid XML and a truncated .gz: located errors, exit 2, no panic.
    let xml = dir.path().join("bad.xes");
    std::fs::write(&xml, "<log><trace><string key=\"concept:name\" value=\"t1\"/><event><string key=\"concept:name\" value=\"a\"/></trace></log>").unwrap();
    let (code, _, err) = procedo(&["check", "--model", net, xml.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.xes: invalid XML"), "{err}");
    let full = std::fs::read("examples/data/BPI_Challenge_2013_incidents.xes.gz").unwrap();
    let gz = dir.path().join("cut.xes.gz");
    std::fs::write(&gz, &full[..full.len() / 2]).unwrap();
    let (code, _, err) = procedo(&["check", "--model", net, gz.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("cut.xes.gz"), "{err}");
    // An event without the activity attribute is rejected, not dropped.
    let noact = dir.path().join("noact.xes");
    std::fs::write(&noact, "<log><trace><string key=\"concept:name\" value=\"t1\"/><event><string key=\"org:resource\" value=\"r\"/></event></trace></log>").unwrap();
    let (code, _, err) = procedo(&["check", "--model", net, noact.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("trace 1 (t1), event 1: the event has no `concept:name` attribute"),
        "{err}"
    );
}

#[test]
fn check_formats_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("n.pnml");
    std::fs::write(&net, NET).unwrap();
    let log = dir.path().join("log.jsonl");
    std::fs::write(
        &log,
        "{\"case:concept:name\":\"c1\",\"concept:name\":\"a\"}\n{\"case:concept:name\":\"c1\",\"concept:name\":\"b\"}\n{\"case:concept:name\":\"c2\",\"concept:name\":\"a\"}\n{\"case:concept:name\":\"c1\",\"concept:name\":\"c\"}\n",
    )
    .unwrap();
    let (net, log) = (net.to_str().unwrap(), log.to_str().unwrap());
    let (code, out, _) = procedo(&[
        "check",
        "--model",
        net,
        log,
        "--fail-on",
        "nonconforming",
        "-v",
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(out.replace(net, "NET"));
    let (code, out, _) = procedo(&["check", "--model", net, log, "--format", "junit"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("<testsuite name=") && out.contains("tests=\"2\" failures=\"1\""),
        "{out}"
    );
    let (_, out, _) = procedo(&["check", "--model", net, log, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["cases"], 2);
    assert_eq!(v["cases"][1]["findings"][0]["code"], "incomplete");
}

#[test]
fn cases_spread_through_a_log_are_grouped() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("n.pnml");
    std::fs::write(&net, NET).unwrap();
    let log = dir.path().join("log.jsonl");
    let lines: Vec<String> = [("c1", "a", 1), ("c2", "a", 2), ("c1", "c", 4), ("c2", "b", 3), ("c1", "b", 3), ("c2", "c", 5)]
        .iter()
        .map(|(c, a, m)| format!("{{\"case:concept:name\":\"{c}\",\"concept:name\":\"{a}\",\"time:timestamp\":\"2026-01-01T10:0{m}:00Z\"}}"))
        .collect();
    std::fs::write(&log, lines.join("\n")).unwrap();
    let (code, out, err) = procedo(&[
        "check",
        "--model",
        net.to_str().unwrap(),
        log.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "case_id,conforming,cost,fitness,events,deviations,codes\nc1,true,2,1,3,0,\nc2,true,2,1,3,0,\n"
    );
    // In file order c1 is a, c, b: still conforming (b and c are parallel).
    let (_, out, _) = procedo(&[
        "check",
        "--model",
        net.to_str().unwrap(),
        log.to_str().unwrap(),
        "--format",
        "csv",
        "--keep-file-order",
    ]);
    assert!(out.contains("c1,true,2,1,3,0,"), "{out}");
}

#[test]
fn the_bpic2013_procedure_checks_the_log_and_exports_a_workflow_net() {
    let (code, out, err) = procedo(&[
        "check",
        "-p",
        "procedures/bpic2013/bpic2013_incident.proc",
        "examples/data/BPI_Challenge_2013_incidents.xes.gz",
        "--activity",
        "concept:name,lifecycle:transition",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("7554 cases: 6943 conforming (91.9%)"), "{out}");
    assert!(
        out.contains(&format!("  {:26} 752\n", "unexpected-step")),
        "{out}"
    );
    // Every shipped procedure exports a net whose ids are unique and which reads back.
    for p in [
        "procedures/bpic2013/bpic2013_incident.proc",
        "procedures/itsm/it_service_desk.proc",
        "procedures/police/police_call_grading.proc",
        "procedures/ambulance/ambulance_arp_dispatch.proc",
    ] {
        let (code, pnml, err) = procedo(&["export", p]);
        assert_eq!(code, 0, "{p}: {err}");
        let net = parse_pnml(&pnml).unwrap();
        let mut ids: Vec<&String> = net
            .places
            .iter()
            .chain(net.transitions.iter().map(|t| &t.id))
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "{p}: duplicate ids in the exported net");
        assert_eq!(
            net.initial.iter().map(|&x| x as usize).sum::<usize>(),
            1,
            "{p}"
        );
        // The empty trace can be aligned: the net has a complete run.
        let mut al = Aligner::new(&net);
        assert!(al.empty_cost().is_some(), "{p}: no path from start to end");
    }
}

/// The net procedo exports for its own BPIC 2013 procedure, aligned by pm4py (A*): the
/// same cost for every case pm4py answered, and the exported net is unchanged.
#[test]
fn pm4py_agrees_on_the_exported_procedure_net() {
    let (code, pnml, _) = procedo(&["export", "procedures/bpic2013/bpic2013_incident.proc"]);
    assert_eq!(code, 0);
    assert_eq!(
        pnml,
        std::fs::read_to_string("tests/oracle/bpic2013_incident_procedure.pnml").unwrap(),
        "the export changed: re-run the oracle (tests/oracle/SOURCES.md)"
    );
    let (code, out, err) = procedo(&[
        "check",
        "--model",
        "tests/oracle/bpic2013_incident_procedure.pnml",
        "examples/data/BPI_Challenge_2013_incidents.xes.gz",
        "--activity",
        "concept:name,lifecycle:transition",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    let ours: BTreeMap<&str, &str> = out
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0], f[2])
        })
        .collect();
    let oracle =
        std::fs::read_to_string("tests/oracle/bpic2013_incident_procedure.costs.csv").unwrap();
    let mut compared = 0;
    for line in oracle.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[2] == "True" {
            continue;
        }
        assert_eq!(
            ours[f[0]].parse::<f64>().unwrap(),
            f[3].parse::<f64>().unwrap(),
            "case {}",
            f[0]
        );
        compared += 1;
    }
    assert_eq!(compared, 7553);
}

#[test]
fn hand_written_yaml_logs_carry_cases_with_facts() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("cases.yaml");
    std::fs::write(
        &log,
        "cases:\n  - id: c1\n    facts: {impact: high}\n    events:\n      - {activity: \"Accepted+In Progress\", time: 2012-01-01T10:00:00Z, actor: Ann}\n      - {activity: \"Completed+In Call\", time: 2012-01-01T10:05:00Z}\n  - id: c2\n    events:\n      - {activity: \"Completed+Closed\", time: 2012-01-01T10:00:00Z}\n      - {time: 2012-01-01T10:00:00Z}\n",
    )
    .unwrap();
    let (code, out, err) = procedo(&[
        "check",
        "-p",
        "procedures/bpic2013/bpic2013_incident.proc",
        log.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 2, "an event without an activity is rejected: {err}");
    assert!(
        err.contains("cases.yaml: case c2, event 2: the event has no `concept:name` attribute"),
        "{err}"
    );
    assert!(
        err.contains("2 cases: 1 conforming; 4 events read = 3 checked + 1 rejected"),
        "{err}"
    );
    let cases: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cases[0]["conforming"], true);
    assert_eq!(cases[1]["findings"][0]["code"], "missing-step");
    assert_eq!(cases[1]["findings"][0]["step"], "resolved");
}

/// A search bound hit is said, counted and shown by the exit code: never a verdict.
#[test]
fn a_case_the_search_gave_up_on_is_counted_and_the_result_is_incomplete() {
    let p = "procedures/ambulance/ambulance_arp_dispatch.proc";
    let log = "examples/logs/ambulance_arp_dispatch.jsonl.gz";
    let (code, out, _) = crate::procedo(&["check", "-p", p, log, "--max-states", "3"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("200 cases: 0 conforming, none aligned"),
        "{out}"
    );
    assert!(out.contains("200 cases not aligned"), "{out}");
    let (code, out, _) = crate::procedo(&[
        "check",
        "-p",
        p,
        log,
        "--max-states",
        "3",
        "--format",
        "json",
    ]);
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["not_aligned"], 200);
    assert_eq!(v["summary"]["mean_fitness"], serde_json::Value::Null);
    let f = &v["cases"][0]["findings"][0];
    assert_eq!(f["code"], "not-aligned");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("after visiting 3 states (--max-states); the optimal cost is at least 0"),
        "{f}"
    );
    assert_eq!(v["cases"][0]["bounds"]["limit"], "states");
    assert_eq!(v["cases"][0]["bounds"]["states"], 3);
    // Each case the search gave up on carries bounds that hold its optimal cost.
    let full = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["check", "-p", p, log, "--format", "json"];
        args.extend_from_slice(extra);
        serde_json::from_str(&crate::procedo(&args).1).unwrap()
    };
    let (bounded, exact) = (full(&["--max-states", "20"]), full(&[]));
    let mut checked = 0;
    let mut positive = 0;
    for (b, e) in bounded["cases"]
        .as_array()
        .unwrap()
        .iter()
        .zip(exact["cases"].as_array().unwrap())
    {
        assert_eq!(b["case_id"], e["case_id"]);
        if b["bounds"].is_null() {
            assert_eq!(b["cost"], e["cost"]);
            continue;
        }
        let (lo, up) = (
            b["bounds"]["lower"].as_u64().unwrap(),
            b["bounds"]["upper"].as_u64().unwrap(),
        );
        let cost = e["cost"].as_u64().unwrap();
        assert!(lo <= cost && cost <= up, "{lo} <= {cost} <= {up}");
        checked += 1;
        positive += usize::from(lo > 0);
    }
    assert_eq!((checked, positive), (153, 11));
    let (code, _, err) = crate::procedo(&["check", "-p", p, log, "--case-timeout", "soon"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--case-timeout `soon` is not a positive duration"),
        "{err}"
    );
    // The review keeps them out of every rate and says so.
    let (code, out, err) = crate::procedo(&[
        "review",
        "-p",
        p,
        log,
        "--max-states",
        "3",
        "--format",
        "json",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("200 cases could not be aligned"), "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["not_judged"]["not-aligned"], 200);
    // With the default bound every case is aligned.
    let (code, _, _) = crate::procedo(&["check", "-p", p, log]);
    assert_eq!(code, 0);
    let (code, _, err) = crate::procedo(&["check", "-p", p, log, "--max-states", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("--max-states must be at least 1"), "{err}");
}
