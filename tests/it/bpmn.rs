//! `procedo import FILE.bpmn` and `procedo check --model FILE.bpmn`, through the binary: the
//! drafts of three diagrams as Camunda Modeler and bpmn.io save them lint with exactly the
//! expected warnings, the import says what it dropped (with the element's id and place),
//! and checking a log simulated from the draft against the BPMN gives the draft's verdicts.

use std::collections::BTreeSet;
use std::path::Path;

use crate::procedo;

/// The diagnostic codes in a rendered report (`procedo::CODE` lines).
fn codes(rendered: &str) -> Vec<String> {
    rendered
        .lines()
        .filter_map(|l| l.trim().strip_prefix("procedo::"))
        .map(|c| c.trim().to_string())
        .collect()
}

/// Imports a fixture into `dir/draft.proc`; returns the draft and the import's stderr.
fn import(fixture: &str, dir: &Path) -> (String, String) {
    let (code, out, err) = procedo(&["import", &format!("tests/bpmn/{fixture}")]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(dir.join("draft.proc"), &out).unwrap();
    (out, err)
}

/// The lint rule codes of a draft, sorted.
fn lint_codes(dir: &Path) -> Vec<String> {
    let draft = dir.join("draft.proc");
    let (code, out, err) = procedo(&["lint", "--format", "json", draft.to_str().unwrap()]);
    assert!(code == 0 || code == 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["errors"], 0, "{out}");
    let mut c: Vec<String> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect();
    c.sort();
    c
}

/// Per case: (id, conforming, deviations = cost / 10000, control-flow finding codes).
type Verdicts = Vec<(String, bool, u64, Vec<String>)>;

fn verdicts(jsonl: &str) -> Verdicts {
    const CONTROL_FLOW: &[&str] = &[
        "missing-step",
        "unexpected-step",
        "wrong-order",
        "incomplete",
    ];
    jsonl
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let mut codes: Vec<String> = v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["code"].as_str().unwrap().to_string())
                .filter(|c| CONTROL_FLOW.contains(&c.as_str()))
                .collect();
            codes.sort();
            (
                v["case_id"].as_str().unwrap().to_string(),
                v["conforming"].as_bool().unwrap(),
                v["cost"].as_u64().unwrap() / 10_000,
                codes,
            )
        })
        .collect()
}

/// Simulates a log from the draft (control-flow deviations in 40% of cases), checks it
/// against the draft and against the BPMN, and compares the verdicts case by case.
fn same_verdicts(fixture: &str, dir: &Path) -> Verdicts {
    let draft = dir.join("draft.proc");
    let log = dir.join("log.jsonl");
    let (code, out, err) = procedo(&[
        "simulate",
        "-p",
        draft.to_str().unwrap(),
        "--cases",
        "150",
        "--seed",
        "7",
        "--deviation-rate",
        "0.4",
        "--kinds",
        "missing-step,unexpected-step,wrong-order",
    ]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(&log, out).unwrap();
    let log = log.to_str().unwrap();
    let (code, by_draft, err) = procedo(&[
        "check",
        "-p",
        draft.to_str().unwrap(),
        log,
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    let bpmn = format!("tests/bpmn/{fixture}");
    let (code, by_bpmn, err) = procedo(&["check", "--model", &bpmn, log, "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let (a, b) = (verdicts(&by_draft), verdicts(&by_bpmn));
    assert_eq!(a.len(), 150);
    assert_eq!(a, b);
    // Both kinds of case are there, so the comparison can fail.
    let conforming = a.iter().filter(|v| v.1).count();
    assert!(
        conforming > 60 && conforming < 150,
        "{conforming} conforming"
    );
    let deviations: BTreeSet<&str> = a
        .iter()
        .flat_map(|v| v.3.iter().map(|c| c.as_str()))
        .collect();
    assert!(
        deviations.contains("missing-step") && deviations.contains("unexpected-step"),
        "{deviations:?}"
    );
    a
}

#[test]
fn service_desk_triage_exclusive_gateway_and_lanes() {
    let dir = tempfile::tempdir().unwrap();
    let (draft, err) = import("service_desk_triage.bpmn", dir.path());
    // Lanes are roles (only the lanes that hold a step), the gateway a `decide` on the
    // outcome of the step before it, its condition a TODO comment, the default flow said.
    for line in [
        "procedure draft.process_service_desk_triage \"IT service desk triage\"",
        "  version \"2.3\"",
        "  service_desk_agent \"Service desk agent\"",
        "  resolver_group \"Resolver group\"",
        // A gateway after the start: a placeholder fact, one value per way.
        "  reported_via_branch: enum phone | self_service_portal",
        "  decide reported_via on reported_via_branch",
        "    # TODO `Flow_1portl1` (\"Self-service portal\") condition: ${channel == \"portal\"}",
        "    when self_service_portal",
        "  ## Record the caller, the service and the symptoms in the ticket.",
        "  step categorise_and_prioritise \"Categorise and prioritise\"",
        "    outcomes [yes, no]",
        "  decide first_line_fix_known on outcome of categorise_and_prioritise",
        "    # TODO `Flow_0yesFx1` (\"Yes\") condition: ${knownErrorMatched && impact != \"high\"}",
        "    # `Flow_1noFix0` (\"No\") is the default flow: taken when no other condition holds",
        "      step investigate_and_fix \"Investigate and fix\"",
        "        by resolver_group",
        "  end incident_closed",
        "  activity \"Close incident\" -> close_incident",
    ] {
        assert!(
            draft.lines().any(|l| l == line),
            "no line `{line}` in\n{draft}"
        );
    }
    assert!(!draft.contains("major_incident_manager"), "{draft}");
    // The text annotation is a comment on the decision it annotates: nothing is dropped.
    assert!(
        draft.contains(
            "  # note: P1 incidents go to the major incident manager (not modelled)\n  decide first_line_fix_known"
        ),
        "{draft}"
    );
    assert_eq!(codes(&err), Vec::<String>::new(), "{err}");
    assert_eq!(lint_codes(dir.path()), ["missing-metadata"]);
    same_verdicts("service_desk_triage.bpmn", dir.path());
}

#[test]
fn ambulance_dispatch_parallel_inclusive_and_timer() {
    let dir = tempfile::tempdir().unwrap();
    let (draft, err) = import("ambulance_dispatch.bpmn", dir.path());
    for line in [
        "## Dispatch for 999 calls under the Ambulance Response Programme.",
        "      # Ask for every service the scene needs.",
        "  parallel gateway_0split1",
        "    branch \"Give pre-arrival advice\"",
        "        within 8m of triage_call_arp_category",
        "        escalate after 8m to duty_manager",
        "      parallel other_services_needed",
        "          step notify_police \"Notify police\" optional",
        "        # TODO `Flow_0fir01` (\"Fire\") condition: ${entrapment}",
        "  end patient_handed_over",
    ] {
        assert!(
            draft.lines().any(|l| l == line),
            "no line `{line}` in\n{draft}"
        );
    }
    // The timer's path is an escalation, not flow.
    assert!(!draft.contains("escalate_unassigned_call"), "{draft}");
    assert_eq!(codes(&err), ["bpmn-timer"], "{err}");
    assert!(
        err.contains("Event_0tmr8mn") && err.contains("ambulance_dispatch.bpmn:55:5"),
        "{err}"
    );
    assert_eq!(lint_codes(dir.path()), ["missing-metadata"]);
    same_verdicts("ambulance_dispatch.bpmn", dir.path());
}

#[test]
fn complaint_review_loop_sub_process_and_rework() {
    let dir = tempfile::tempdir().unwrap();
    let (draft, err) = import("complaint_review_loop.bpmn", dir.path());
    for line in [
        "  # sub-process `Activity_1invest` (\"Investigate complaint\") from here",
        "  step gather_evidence \"Gather evidence\"",
        "  repeat response_approved",
        "      outcomes [approved, needs_changes]",
        "  until outcome of review_response == approved",
        "  decide details_valid on outcome of verify_contact_details",
        "      go to verify_contact_details",
        "      end complaint_closed",
        "  end referred_to_ombudsman",
    ] {
        assert!(
            draft.lines().any(|l| l == line),
            "no line `{line}` in\n{draft}"
        );
    }
    let mut c = codes(&err);
    c.sort();
    assert_eq!(
        c,
        [
            "bpmn-dropped",
            "bpmn-dropped",
            "bpmn-dropped",
            "bpmn-unstructured"
        ],
        "{err}"
    );
    assert!(
        err.contains("timer `Event_1invTmr` on sub-process `Activity_1invest` is dropped"),
        "{err}"
    );
    assert!(
        err.contains("Event_0wait2d") && err.contains("complaint_review_loop.bpmn:112:5"),
        "{err}"
    );
    assert!(err.contains("1 way(s) back or across"), "{err}");
    assert_eq!(
        lint_codes(dir.path()),
        ["missing-metadata", "unbounded-loop", "unbounded-loop"]
    );
    let v = same_verdicts("complaint_review_loop.bpmn", dir.path());
    // The loops were taken: some cases review a response more than once.
    let log = std::fs::read_to_string(dir.path().join("log.jsonl")).unwrap();
    let reviews = log.matches("\"Review response\"").count();
    assert!(reviews > v.len(), "{reviews} reviews in {} cases", v.len());
}

#[test]
fn quiet_leaves_out_notes_but_not_warnings() {
    let (code, _, err) = procedo(&["import", "--quiet", "tests/bpmn/complaint_review_loop.bpmn"]);
    assert_eq!(code, 0);
    let mut c = codes(&err);
    c.sort();
    // The message trigger's note and the closing summary are gone; warnings stay.
    assert_eq!(
        c,
        ["bpmn-dropped", "bpmn-dropped", "bpmn-unstructured"],
        "{err}"
    );
    assert!(!err.contains("imported `"), "{err}");
}

#[test]
fn malformed_xml_is_a_located_error() {
    for args in [
        vec!["import", "tests/bpmn/bad_unclosed.bpmn"],
        vec![
            "check",
            "--model",
            "tests/bpmn/bad_unclosed.bpmn",
            "tests/audit/log.yaml",
        ],
    ] {
        let (code, out, err) = procedo(&args);
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty(), "{out}");
        assert_eq!(codes(&err), ["bpmn-invalid-xml"], "{err}");
        assert!(err.contains("bad_unclosed.bpmn:6:3"), "{err}");
        assert!(err.contains("expected `</bpmn:task>`"), "{err}");
    }
}

#[test]
fn a_file_without_a_process_is_a_clear_error() {
    let (code, out, err) = procedo(&["import", "tests/bpmn/no_process.bpmn"]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert_eq!(codes(&err), ["bpmn-no-process"], "{err}");
    assert!(
        err.contains("the file has no `<process>`: nothing to import"),
        "{err}"
    );
    let (code, _, err) = procedo(&[
        "import",
        "--process",
        "Process_x",
        "tests/bpmn/service_desk_triage.bpmn",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("there is no process `Process_x`")
            && err.contains("`Process_ServiceDeskTriage`"),
        "{err}"
    );
    let (code, _, err) = procedo(&["import", "Cargo.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("bpmn-invalid-xml"), "{err}");
}

#[test]
fn unstructured_flow_is_said_and_the_draft_still_comes_out() {
    let (code, out, err) = procedo(&["import", "tests/bpmn/unjoined_parallel.bpmn"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(codes(&err), ["bpmn-unstructured"], "{err}");
    assert!(
        err.contains("the branches of `Gateway_0split0` never join"),
        "{err}"
    );
    assert!(out.contains("  parallel gateway_0split0\n"), "{out}");
    assert!(
        err.contains("the draft joins them before the end `Event_0mobd001`"),
        "{err}"
    );
    // The branches are joined and the case ends once: the draft lints.
    assert!(
        out.contains("      step inform_premises \"Inform premises\"\n  end\n  end mobilised\n"),
        "{out}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("draft.proc"), out).unwrap();
    assert_eq!(lint_codes(dir.path()), ["missing-metadata"]);
}

#[test]
fn iso_durations_become_procedo_durations() {
    use procedo::bpmn::graph::iso_duration;
    assert_eq!(iso_duration("PT8M").as_deref(), Some("8m"));
    assert_eq!(iso_duration("P1DT2H30M").as_deref(), Some("1d2h30m"));
    assert_eq!(iso_duration("P2W").as_deref(), Some("2w"));
    assert_eq!(iso_duration(" PT45S ").as_deref(), Some("45s"));
    assert_eq!(iso_duration("PT0.5H"), None);
    assert_eq!(iso_duration("P1M"), None); // months have no fixed length
    assert_eq!(iso_duration("PT"), None);
    assert_eq!(iso_duration("R3/PT10M"), None);
}

/// Every sequence flow of the fixtures sent to every other element (loops, jumps across
/// branches, into parallel blocks, dead ends): the import never panics, every draft it
/// writes parses, and the net always has its one source and sink.
#[test]
fn rewired_diagrams_never_panic_and_drafts_always_parse() {
    for fixture in [
        "ambulance_dispatch.bpmn",
        "complaint_review_loop.bpmn",
        "service_desk_triage.bpmn",
    ] {
        let text = std::fs::read_to_string(format!("tests/bpmn/{fixture}")).unwrap();
        let ids: Vec<&str> = text
            .match_indices(" id=\"")
            .map(|(k, _)| {
                let rest = &text[k + 5..];
                &rest[..rest.find('"').unwrap()]
            })
            .filter(|id| {
                id.starts_with("Activity_")
                    || id.starts_with("Gateway_")
                    || id.starts_with("Event_")
            })
            .collect();
        let targets: Vec<usize> = text
            .match_indices("targetRef=\"")
            .map(|(k, _)| k + 11)
            .collect();
        let (mut drafts, mut clean) = (0, 0);
        for &at in &targets {
            let end = at + text[at..].find('"').unwrap();
            for id in &ids {
                let rewired = format!("{}{id}{}", &text[..at], &text[end..]);
                let source = procedo::SourceFile::new("rewired.bpmn", rewired);
                let Ok(import) = procedo::bpmn::import(&source, None, "rewired.bpmn") else {
                    continue;
                };
                drafts += 1;
                let draft = procedo::SourceFile::new("draft.proc", import.draft.clone());
                if let Err(d) = procedo::ast::lower(&draft) {
                    panic!(
                        "{fixture} with a flow to {id}: the draft does not parse: {d:?}\n{}",
                        import.draft
                    );
                }
                // A draft the import raised no error about is a procedure that builds,
                // and lints without errors.
                if !import
                    .diagnostics
                    .iter()
                    .any(|d| d.severity == procedo::Severity::Error)
                {
                    clean += 1;
                    let mut loader = procedo::Loader::new(std::path::PathBuf::from("tests/bpmn"));
                    let unit = loader.load_text("draft.proc", &import.draft);
                    let built = procedo::build(&unit);
                    let mut errors: Vec<String> = built
                        .diagnostics
                        .iter()
                        .filter(|d| d.severity == procedo::Severity::Error)
                        .map(|d| d.code.clone())
                        .collect();
                    if let Some(p) = &built.procedure {
                        errors.extend(
                            procedo::lint::run(p)
                                .into_iter()
                                .filter(|d| d.severity == procedo::Severity::Error)
                                .map(|d| d.code),
                        );
                    }
                    assert!(
                        built.procedure.is_some() && errors.is_empty(),
                        "{fixture} with a flow to {id}: {errors:?}\n{}",
                        import.draft
                    );
                }
                let (net, _) = procedo::bpmn::to_net(&source, None).unwrap();
                assert_eq!(net.initial.iter().map(|&t| t as usize).sum::<usize>(), 1);
                assert_eq!(
                    net.final_marking.iter().map(|&t| t as usize).sum::<usize>(),
                    1
                );
            }
        }
        assert!(
            drafts > 100 && clean > 50,
            "{fixture}: {drafts} drafts, {clean} without errors"
        );
    }
}

/// Every prefix of a fixture (a file cut short): an error or a draft, never a panic.
#[test]
fn truncated_files_never_panic() {
    let text = std::fs::read_to_string("tests/bpmn/complaint_review_loop.bpmn").unwrap();
    for cut in (0..text.len()).step_by(13) {
        let source = procedo::SourceFile::new("cut.bpmn", text[..cut].to_string());
        if let Err(d) = procedo::bpmn::import(&source, None, "cut.bpmn") {
            assert!(d.location().is_some(), "{d:?}");
        }
    }
}

/// Every fifth rewired diagram the import raises no error about (loops, jumps, merges at
/// odd places): a log simulated from its draft gets the same verdicts from the draft as
/// from the BPMN's own net.
#[test]
fn rewired_diagrams_give_their_drafts_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let (bpmn, draft, log) = (
        dir.path().join("v.bpmn"),
        dir.path().join("d.proc"),
        dir.path().join("l.jsonl"),
    );
    let (bpmn, draft, log) = (
        bpmn.to_str().unwrap(),
        draft.to_str().unwrap(),
        log.to_str().unwrap(),
    );
    let mut compared = 0;
    let mut k = 0;
    for fixture in [
        "ambulance_dispatch.bpmn",
        "complaint_review_loop.bpmn",
        "service_desk_triage.bpmn",
    ] {
        let text = std::fs::read_to_string(format!("tests/bpmn/{fixture}")).unwrap();
        let ids: Vec<String> = text
            .match_indices(" id=\"")
            .map(|(k, _)| text[k + 5..].split('"').next().unwrap().to_string())
            .filter(|id| {
                !id.ends_with("_di") && (id.starts_with("Activity_") || id.starts_with("Gateway_"))
            })
            .collect();
        for (at, _) in text.match_indices("targetRef=\"") {
            let at = at + 11;
            let end = at + text[at..].find('"').unwrap();
            for id in &ids {
                let source = procedo::SourceFile::new(
                    "v.bpmn",
                    format!("{}{id}{}", &text[..at], &text[end..]),
                );
                let Ok(import) = procedo::bpmn::import(&source, None, "v.bpmn") else {
                    continue;
                };
                if import
                    .diagnostics
                    .iter()
                    .any(|d| d.severity == procedo::Severity::Error)
                {
                    continue;
                }
                k += 1;
                if k % 5 != 0 {
                    continue;
                }
                std::fs::write(bpmn, source.text()).unwrap();
                std::fs::write(draft, &import.draft).unwrap();
                let (code, out, err) = procedo(&[
                    "simulate",
                    "-p",
                    draft,
                    "--cases",
                    "30",
                    "--seed",
                    "3",
                    "--deviation-rate",
                    "0.3",
                    "--kinds",
                    "missing-step,unexpected-step,wrong-order",
                ]);
                assert_eq!(code, 0, "{fixture} to {id}: {err}");
                std::fs::write(log, out).unwrap();
                let (_, by_draft, _) = procedo(&[
                    "check",
                    "-p",
                    draft,
                    log,
                    "--format",
                    "jsonl",
                    "--perspectives",
                    "none",
                ]);
                let (_, by_bpmn, _) =
                    procedo(&["check", "--model", bpmn, log, "--format", "jsonl"]);
                // Equally cheap alignments may name a deviation differently (a missing
                // step or an unexpected one): the verdict and the cost must agree.
                let judged = |v: Verdicts| -> Vec<(String, bool, u64)> {
                    v.into_iter().map(|(c, ok, d, _)| (c, ok, d)).collect()
                };
                assert_eq!(
                    judged(verdicts(&by_draft)),
                    judged(verdicts(&by_bpmn)),
                    "{fixture} with a flow to {id}:\n{}",
                    import.draft
                );
                assert_eq!(verdicts(&by_draft).len(), 30);
                compared += 1;
            }
        }
    }
    assert!(compared >= 60, "{compared} compared");
}

#[test]
fn import_reads_standard_input_and_says_when_there_is_no_step() {
    use assert_cmd::cargo::CommandCargoExt;
    let text = std::fs::read("tests/bpmn/ambulance_dispatch.bpmn").unwrap();
    let out = std::process::Command::cargo_bin("procedo")
        .unwrap()
        .args(["import", "-"])
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&text)?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let (_, from_file, _) = procedo(&["import", "tests/bpmn/ambulance_dispatch.bpmn"]);
    // The same draft, but for the file's name in the header comment.
    let stdin_draft = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdin_draft.lines().skip(1).collect::<Vec<_>>(),
        from_file.lines().skip(1).collect::<Vec<_>>()
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("[-:55:5]"));

    // A start that runs straight to its end: a draft with no step, and a warning.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.bpmn");
    std::fs::write(
        &empty,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_1">
  <bpmn:process id="Process_1" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:endEvent id="Event_1" name="Nothing to do" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Event_1" />
  </bpmn:process>
</bpmn:definitions>
"#,
    )
    .unwrap();
    let (code, out, err) = procedo(&["import", empty.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(codes(&err), ["bpmn-no-tasks"], "{err}");
    assert!(out.contains("flow\n  end nothing_to_do\n"), "{out}");
}

#[test]
fn check_against_a_diagram_notes_what_its_net_leaves_out() {
    let args = [
        "check",
        "--model",
        "tests/bpmn/ambulance_dispatch.bpmn",
        "tests/audit/log.yaml",
        "--format",
        "jsonl",
    ];
    let (code, out, err) = procedo(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 4);
    assert!(
        err.contains("note: 1 elements of `tests/bpmn/ambulance_dispatch.bpmn` are dropped or approximated in its net"),
        "{err}"
    );
    // --quiet leaves out the note and the closing line, not the warning about labels.
    let quiet: Vec<&str> = std::iter::once("--quiet").chain(args).collect();
    let (code, quiet_out, err) = procedo(&quiet);
    assert_eq!((code, quiet_out), (0, out));
    assert!(!err.contains("note:") && !err.contains("4 cases"), "{err}");
    assert!(
        err.starts_with("warning: 23 of 23 control-flow events carry a label no step has"),
        "{err}"
    );
}

#[test]
fn names_with_quotes_and_backslashes_reach_the_log_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let bpmn = dir.path().join("quotes.bpmn");
    std::fs::write(
        &bpmn,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_1">
  <bpmn:process id="Process_1" name="Say &quot;hello&quot;" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:task id="Activity_1" name="Tell caller &quot;stay on the line&quot; \ wait" />
    <bpmn:endEvent id="Event_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_1" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_1" targetRef="Event_1" />
  </bpmn:process>
</bpmn:definitions>
"#,
    )
    .unwrap();
    let (code, out, err) = procedo(&["import", bpmn.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(r#"procedure draft.process_1 "Say \"hello\"""#),
        "{out}"
    );
    assert!(out.contains(r#"  activity "Tell caller \"stay on the line\" \\ wait" -> tell_caller_stay_on_the_line_wait"#), "{out}");
    let draft = dir.path().join("draft.proc");
    std::fs::write(&draft, out).unwrap();
    let (code, log, err) = procedo(&[
        "simulate",
        "-p",
        draft.to_str().unwrap(),
        "--cases",
        "2",
        "--deviation-rate",
        "0",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        log.contains(r#""concept:name":"Tell caller \"stay on the line\" \\ wait""#),
        "{log}"
    );
    let path = dir.path().join("log.jsonl");
    std::fs::write(&path, log).unwrap();
    let (code, out, err) = procedo(&[
        "check",
        "--model",
        bpmn.to_str().unwrap(),
        path.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(verdicts(&out).iter().filter(|v| v.1).count(), 2, "{out}");
}

/// Exclusive diamonds nested `n` deep (each split's second way is the next split).
fn nested_diamonds(n: usize) -> String {
    let mut nodes = vec![
        r#"<bpmn:startEvent id="S" />"#.to_string(),
        r#"<bpmn:endEvent id="E" />"#.to_string(),
    ];
    let mut flows = Vec::new();
    let mut flow = |a: &str, b: &str| {
        let k = flows.len();
        flows.push(format!(
            r#"<bpmn:sequenceFlow id="F{k}" sourceRef="{a}" targetRef="{b}" />"#
        ));
    };
    flow("S", "G0");
    flow("J0", "E");
    for i in 0..n {
        nodes.push(format!(r#"<bpmn:exclusiveGateway id="G{i}" />"#));
        nodes.push(format!(r#"<bpmn:task id="A{i}" name="a {i}" />"#));
        nodes.push(format!(r#"<bpmn:exclusiveGateway id="J{i}" />"#));
        flow(&format!("G{i}"), &format!("A{i}"));
        flow(&format!("A{i}"), &format!("J{i}"));
        if i + 1 < n {
            flow(&format!("G{i}"), &format!("G{}", i + 1));
            flow(&format!("J{}", i + 1), &format!("J{i}"));
        } else {
            nodes.push(r#"<bpmn:task id="Z" name="z" />"#.to_string());
            flow(&format!("G{i}"), "Z");
            flow("Z", &format!("J{i}"));
        }
    }
    format!(
        r#"<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="P">{}{}</bpmn:process></bpmn:definitions>"#,
        nodes.concat(),
        flows.concat()
    )
}

#[test]
fn splits_nested_deeper_than_the_language_allows_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested.bpmn");
    std::fs::write(&path, nested_diamonds(32)).unwrap();
    let (code, out, err) = procedo(&["import", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("decide ").count(), 32);
    std::fs::write(dir.path().join("draft.proc"), out).unwrap();
    assert_eq!(lint_codes(dir.path()), ["missing-metadata"]);
    std::fs::write(&path, nested_diamonds(33)).unwrap();
    let (code, out, err) = procedo(&["import", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert_eq!(codes(&err), ["bpmn-too-deep"], "{err}");
    assert!(
        err.contains("nest 33 deep; procedo's blocks nest at most 32"),
        "{err}"
    );
}

#[test]
fn very_long_names_ids_and_texts_still_give_a_draft_that_parses() {
    let long_name = "Call back ".repeat(1_300);
    let long_id = format!("Activity_{}", "x".repeat(12_000));
    let long_doc = "Say why. ".repeat(1_500);
    let text = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_1">
  <bpmn:process id="Process_1" isExecutable="true">
    <bpmn:documentation>{long_doc}</bpmn:documentation>
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:task id="Activity_1" name="{long_name}"><bpmn:documentation>{long_doc}</bpmn:documentation></bpmn:task>
    <bpmn:task id="{long_id}" />
    <bpmn:endEvent id="Event_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_1" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_1" targetRef="{long_id}" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="{long_id}" targetRef="Event_1" />
  </bpmn:process>
</bpmn:definitions>
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let bpmn = dir.path().join("long.bpmn");
    std::fs::write(&bpmn, text).unwrap();
    let (code, out, err) = procedo(&["import", bpmn.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().all(|l| l.len() < 10_000));
    assert!(out.contains("…"));
    let draft = dir.path().join("draft.proc");
    std::fs::write(&draft, out).unwrap();
    assert_eq!(lint_codes(dir.path()), ["missing-metadata"]);
    // The cut labels are the net's labels too: a simulated log conforms to both.
    let (code, log, err) = procedo(&[
        "simulate",
        "-p",
        draft.to_str().unwrap(),
        "--cases",
        "2",
        "--deviation-rate",
        "0",
    ]);
    assert_eq!(code, 0, "{err}");
    let path = dir.path().join("log.jsonl");
    std::fs::write(&path, log).unwrap();
    let (code, out, err) = procedo(&[
        "check",
        "--model",
        bpmn.to_str().unwrap(),
        path.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(verdicts(&out).iter().filter(|v| v.1).count(), 2, "{out}");
}
