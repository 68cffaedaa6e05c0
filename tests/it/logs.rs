//! Reading logs never gives a silently wrong verdict (issue 12): blank cells, the
//! procedure's mapping, time zones, byte-order marks, CRLF, standard input, capped errors,
//! missing timestamps and empty logs, each through the binary.

use std::path::{Path, PathBuf};

use crate::procedo;

const REPLY: &str = "tests/logs/reply.proc";

/// The shipped procedures that have a flow (the ones with an example log).
fn shipped() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir("examples/logs")
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".jsonl.gz").map(str::to_string)
        })
        .map(|n| {
            let mut found = None;
            for dir in std::fs::read_dir("procedures").unwrap() {
                let p = dir.unwrap().path().join(format!("{n}.proc"));
                if p.exists() {
                    found = Some(p);
                }
            }
            found.unwrap_or_else(|| panic!("no procedure for examples/logs/{n}"))
        })
        .collect();
    out.sort();
    out
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Runs the binary with `input` on standard input.
fn procedo_stdin(args: &[&str], input: &str) -> (i32, String, String) {
    use assert_cmd::cargo::CommandCargoExt;
    let mut child = std::process::Command::cargo_bin("procedo")
        .unwrap()
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        // The binary may refuse its arguments and exit before reading its input.
        if let Err(e) = stdin.write_all(input.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The reply procedure without its mapping's `timezone` line (no zone declared for the
/// log; the calendar keeps its own).
fn reply_without_zone(dir: &Path) -> String {
    let text = std::fs::read_to_string(REPLY).unwrap();
    let text = text.replace(MAPPED_ZONE, "  attribute \"Who\" -> actor\n");
    write(dir, "reply.proc", &text)
}

const MAPPED_ZONE: &str = "  attribute \"Who\" -> actor\n  timezone \"Europe/London\"\n";

// ------------------------------------------------------------------ 1. blank cells

/// The same simulation as JSON Lines, CSV and XES gives the same verdict and findings for
/// every case of every shipped procedure (a blank `acknowledges` or `escalated_to` cell
/// used to make every CSV case non-conforming).
#[test]
fn simulated_logs_check_the_same_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let procs = shipped();
    assert_eq!(procs.len(), 11);
    for p in &procs {
        let p = p.to_str().unwrap();
        let mut outputs = Vec::new();
        let truth_path = dir.path().join("truth.jsonl");
        let truth_arg = truth_path.to_str().unwrap();
        for format in ["jsonl", "csv", "xes"] {
            let (code, log, err) = procedo(&[
                "simulate", "-p", p, "--cases", "100", "--seed", "1", "--format", format,
                "--truth", truth_arg,
            ]);
            assert_eq!(code, 0, "{p} {format}: {err}");
            let path = write(dir.path(), &format!("sim.{format}"), &log);
            let (code, out, err) = procedo(&["check", "-p", p, &path, "--format", "jsonl"]);
            assert_eq!(code, 0, "{p} {format}: {err}");
            assert_eq!(out.lines().count(), 100, "{p} {format}");
            // No set-up warning: the only one a simulated log may give is that some
            // decisions read an optional fact the simulation left out.
            assert!(
                err.lines().all(|l| l.starts_with("100 cases: ")
                    || (l.starts_with("warning: ")
                        && l.contains("decision passes could not be judged"))),
                "{p} {format}: no set-up warning expected: {err}"
            );
            assert_eq!(
                err.lines().filter(|l| l.starts_with("100 cases: ")).count(),
                1
            );
            outputs.push((format, out, err));
        }
        for (format, out, err) in &outputs[1..] {
            assert_eq!(out, &outputs[0].1, "{p}: {format} differs from jsonl");
            assert_eq!(err, &outputs[0].2, "{p}: {format} differs from jsonl");
        }
        // The ground truth, through the binary: every injected deviation is found (or an
        // equally cheap reading of it), and nothing else is reported.
        let truth = std::fs::read_to_string(&truth_path).unwrap();
        assert_matches_truth(p, &outputs[0].1, &truth);
    }
    // The IT service desk, as the issue reported it: 0 of 100 from CSV, 78 from JSON Lines.
    let (code, log, _) = procedo(&[
        "simulate",
        "-p",
        "procedures/itsm/it_service_desk.proc",
        "--cases",
        "100",
        "--seed",
        "1",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0);
    let path = write(dir.path(), "itsm.csv", &log);
    let (code, out, _) = procedo(&["check", "-p", "procedures/itsm/it_service_desk.proc", &path]);
    assert_eq!(code, 0);
    assert!(
        out.contains("100 cases: 80 conforming (80.0%), mean fitness 0.9915\n"),
        "{out}"
    );
}

/// A library has no flow: simulating it is refused rather than writing empty cases (which
/// XES keeps and CSV and JSON Lines cannot hold).
#[test]
fn simulating_a_library_is_refused() {
    let (code, out, err) = procedo(&[
        "simulate",
        "-p",
        "procedures/shared/itsm_common.proc",
        "--cases",
        "3",
    ]);
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "error: `procedures/shared/itsm_common.proc` has no flow to walk (a library?): there is nothing to simulate\n"
    );
}

/// An empty CSV cell, and `""` or `null` in JSON Lines, is no attribute: a blank
/// `acknowledges` or `escalated_to` does not set the event aside from control flow.
#[test]
fn blank_cells_are_absent_values() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "blank.csv",
        "Ref,Action,When,Who,acknowledges,escalated_to\n\
         m1,log,2026-06-01 09:00,ann,,\n\
         m1,reply,2026-06-01 09:30,bob, ,\n\
         m1,close,2026-06-01 10:00,bob,,\n",
    );
    let jsonl = write(
        dir.path(),
        "blank.jsonl",
        "{\"Ref\":\"m1\",\"Action\":\"log\",\"When\":\"2026-06-01 09:00\",\"Who\":\"ann\",\"acknowledges\":\"\",\"escalated_to\":null}\n\
         {\"Ref\":\"m1\",\"Action\":\"reply\",\"When\":\"2026-06-01 09:30\",\"Who\":\"bob\",\"acknowledges\":null,\"escalated_to\":\"\"}\n\
         {\"Ref\":\"m1\",\"Action\":\"close\",\"When\":\"2026-06-01 10:00\",\"Who\":\"bob\",\"acknowledges\":\"\"}\n",
    );
    for log in [&csv, &jsonl] {
        let (code, out, err) = procedo(&["check", "-p", REPLY, log, "--format", "json"]);
        assert_eq!(code, 0, "{log}: {err}");
        assert_eq!(err, "", "{log}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["summary"]["cases"], 1, "{log}");
        assert_eq!(v["summary"]["conforming"], 1, "{log}");
        assert_eq!(v["summary"]["events_checked"], 3, "{log}");
        assert_eq!(v["summary"]["events_set_aside"], 0, "{log}");
    }
}

// ------------------------------------------------------------------ 2. the mapping

/// `check` and `explain` read the columns the procedure's mapping names (case, activity,
/// timestamp, actor); flags given explicitly override it.
#[test]
fn the_procedures_mapping_is_honoured_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    // Ann logs and replies: the actor mapping (`Who`) makes the constraint fail.
    let mapped = write(
        dir.path(),
        "mapped.csv",
        "Ref,Action,When,Who\n\
         m1,log,2026-06-01 09:00,ann\n\
         m1,reply,2026-06-01 09:30,ann\n\
         m1,close,2026-06-01 10:00,bob\n",
    );
    let (code, out, err) = procedo(&["check", "-p", REPLY, &mapped, "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["case_id"], "m1");
    assert_eq!(v["conforming"], false);
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["constraint-violated"], "{out}");
    // The standard columns, named by flags over the mapping.
    let standard = write(
        dir.path(),
        "standard.csv",
        "case:concept:name,concept:name,time:timestamp,org:resource,Who\n\
         m1,log,2026-06-01 09:00,ann,ann\n\
         m1,reply,2026-06-01 09:30,bob,ann\n\
         m1,close,2026-06-01 10:00,bob,bob\n",
    );
    let (code, out, err) = procedo(&[
        "check",
        "-p",
        REPLY,
        &standard,
        "--case-column",
        "case:concept:name",
        "--activity",
        "concept:name",
        "--timestamp",
        "time:timestamp",
        "--actor",
        "org:resource",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 cases: 1 conforming (100.0%)"), "{out}");
    // Without the flags the mapping's `Ref` is looked for, and its absence is named.
    let (code, _, err) = procedo(&["check", "-p", REPLY, &standard, "--max-errors", "1"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        format!(
            "error: {standard}:2: record 1: no case id in `Ref`\n\
             error: 2 more rejected records not shown (--max-errors 1): 2 no-case-id\n\
             error: no cases were read\n"
        )
    );
    // `explain` reads the same mapping.
    let (code, out, err) = procedo(&["explain", "-p", REPLY, &mapped, "--case", "m1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("replier_is_not_logger"), "{out}");
    let (code, _, err) = procedo(&[
        "explain",
        "-p",
        REPLY,
        &standard,
        "--case",
        "m1",
        "--case-column",
        "case:concept:name",
        "--activity",
        "concept:name",
        "--timestamp",
        "time:timestamp",
    ]);
    assert_eq!(code, 0, "{err}");
}

/// The shipped IT service desk procedure reads the UCI ServiceNow export with no column
/// flags; the one thing it lacks is the zone of its local times, and it says so once.
#[test]
fn the_uci_log_needs_only_its_time_zone() {
    let args = [
        "check",
        "-p",
        "procedures/itsm/it_service_desk.proc",
        "examples/data/uci_incident_event_log.csv.gz",
    ];
    let (code, out, err) = procedo(&args);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: examples/data/uci_incident_event_log.csv.gz:2: record 1: timestamp `29/2/2016 01:23` \
         has no time zone, and none is declared: give --timezone ZONE (an IANA name such as \
         Europe/London), or `timezone \"ZONE\"` in the procedure's mapping, or read such times \
         as UTC with --assume-utc\n"
    );
    assert!(out.contains("no cases were read\n"), "{out}");
    let mut with_zone = args.to_vec();
    with_zone.extend(["--timezone", "UTC", "--format", "json"]);
    let (code, out, err) = procedo(&with_zone);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["cases"], 24918);
    assert_eq!(v["summary"]["events_read"], 141712);
    assert_eq!(v["summary"]["events_rejected"], 0);
}

// ------------------------------------------------------------------ 3. time zones

/// A UK summer export: `2026-06-01 10:00` in Europe/London is 09:00Z. Read in the
/// procedure's zone the reply is on time; read as UTC (what procedo did silently) it is
/// 20 minutes late.
#[test]
fn zone_less_times_are_local_times_in_the_declared_zone() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "uk.csv",
        "Ref,Action,When,Who\n\
         m1,log,2026-06-01 08:30,ann\n\
         m1,reply,2026-06-01 09:50,bob\n\
         m1,close,2026-06-01 10:00,bob\n",
    );
    let (code, out, err) = procedo(&[
        "explain", "-p", REPLY, &log, "--case", "m1", "--format", "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let times: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["time"].as_str().unwrap())
        .collect();
    assert_eq!(
        times,
        [
            "2026-06-01T08:30:00+01:00",
            "2026-06-01T09:50:00+01:00",
            "2026-06-01T10:00:00+01:00"
        ]
    );
    let ten = chrono::DateTime::parse_from_rfc3339(times[2]).unwrap();
    assert_eq!(
        ten.with_timezone(&chrono::Utc).to_rfc3339(),
        "2026-06-01T09:00:00+00:00"
    );
    let (code, out, _) = procedo(&["check", "-p", REPLY, &log]);
    assert_eq!(code, 0);
    assert!(out.contains("1 cases: 1 conforming (100.0%)"), "{out}");
    // --timezone overrides the procedure's zone.
    let (code, out, _) = procedo(&["check", "-p", REPLY, &log, "--timezone", "UTC", "-v"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(
            "deadline-missed: `reply` (event 2) was done 1h20m after `log` on working; the limit is 1h: 20m late"
        ),
        "{out}"
    );
    // Timestamps with an offset are unaffected by the zone.
    let zoned = write(
        dir.path(),
        "zoned.csv",
        "Ref,Action,When,Who\nm1,log,2026-06-01T08:30:00Z,ann\nm1,reply,2026-06-01T09:50:00Z,bob\nm1,close,2026-06-01T10:00:00Z,bob\n",
    );
    for zone in ["Europe/London", "America/New_York"] {
        let (code, out, _) = procedo(&["check", "-p", REPLY, &zoned, "--timezone", zone, "-v"]);
        assert_eq!(code, 0);
        assert!(out.contains("20m late"), "{zone}: {out}");
    }
    // A zone that is not an IANA name is a usage error.
    let (code, _, err) = procedo(&["check", "-p", REPLY, &log, "--timezone", "Europe/Londn"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: `Europe/Londn` is not an IANA time zone name (use e.g. Europe/London or UTC)\n"
    );
}

/// Around the clock changes of 2026 in Europe/London, one second either side: a local
/// time that does not exist (29 March, 01:00:00–01:59:59) or happens twice (25 October,
/// 01:00:00–01:59:59) rejects its record, with its location; the seconds outside are read.
#[test]
fn local_times_at_the_clock_changes() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("2026-03-29 00:59:59", Ok("2026-03-29T00:59:59+00:00")),
        (
            "2026-03-29 01:00:00",
            Err("does not exist in Europe/London (the clocks go forward over it)"),
        ),
        (
            "2026-03-29 01:59:59",
            Err("does not exist in Europe/London (the clocks go forward over it)"),
        ),
        ("2026-03-29 02:00:00", Ok("2026-03-29T02:00:00+01:00")),
        ("2026-10-25 00:59:59", Ok("2026-10-25T00:59:59+01:00")),
        (
            "2026-10-25 01:00:00",
            Err(
                "happens twice in Europe/London (the clocks go back): write it with its offset, 2026-10-25T01:00:00+01:00 or 2026-10-25T01:00:00+00:00",
            ),
        ),
        (
            "2026-10-25 01:59:59",
            Err(
                "happens twice in Europe/London (the clocks go back): write it with its offset, 2026-10-25T01:59:59+01:00 or 2026-10-25T01:59:59+00:00",
            ),
        ),
        ("2026-10-25 02:00:00", Ok("2026-10-25T02:00:00+00:00")),
    ];
    for (local, expected) in cases {
        let log = write(
            dir.path(),
            "dst.csv",
            &format!("Ref,Action,When,Who\nm1,log,{local},ann\n"),
        );
        let (code, out, err) = procedo(&[
            "explain", "-p", REPLY, &log, "--case", "m1", "--format", "json",
        ]);
        match expected {
            Ok(time) => {
                assert_eq!(code, 0, "{local}: {err}");
                let v: serde_json::Value = serde_json::from_str(&out).unwrap();
                assert_eq!(v["events"][0]["time"], time, "{local}");
            }
            Err(reason) => {
                assert_eq!(code, 2, "{local}");
                assert_eq!(
                    err,
                    format!(
                        "error: {log}:2: record 1: local time `{local}` {reason}\n\
                         error: no case `m1` in `{log}`\n"
                    )
                );
            }
        }
    }
}

/// With no zone declared, a zone-less timestamp stops the check, naming the record; with
/// --assume-utc it is read as UTC with one warning.
#[test]
fn zone_less_times_without_a_zone_are_an_error_or_a_loud_assumption() {
    let dir = tempfile::tempdir().unwrap();
    let proc_ = reply_without_zone(dir.path());
    let log = write(
        dir.path(),
        "local.csv",
        "Ref,Action,When,Who\n\
         m1,log,2026-06-01T09:00:00Z,ann\n\
         m1,reply,2026-06-01 09:30,bob\n\
         m1,close,2026-06-01 10:00,bob\n",
    );
    let (code, out, err) = procedo(&["check", "-p", &proc_, &log]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        format!(
            "error: {log}:3: record 2: timestamp `2026-06-01 09:30` has no time zone, and none is \
             declared: give --timezone ZONE (an IANA name such as Europe/London), or `timezone \
             \"ZONE\"` in the procedure's mapping, or read such times as UTC with --assume-utc\n"
        )
    );
    assert!(out.contains("no cases were read"), "{out}");
    let (code, out, err) = procedo(&["check", "-p", &proc_, &log, "--assume-utc"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err,
        "warning: 2 timestamps without a time zone were read as UTC (--assume-utc); if they \
         are local times, give --timezone ZONE instead\n"
    );
    assert!(out.contains("1 cases: 1 conforming (100.0%)"), "{out}");
}

/// The procedure's `timezone` and `timestamp format` lines are checked and formatted.
#[test]
fn the_mapping_timezone_line_is_validated() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(REPLY).unwrap().replace(
        MAPPED_ZONE,
        "  attribute \"Who\" -> actor\n  timezone \"Mars/Olympus\"\n",
    );
    let p = write(dir.path(), "bad.proc", &text);
    let (code, out, _) = procedo(&["lint", "--color", "never", &p]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("`Mars/Olympus` is not an IANA time zone name"),
        "{out}"
    );
    let twice = std::fs::read_to_string(REPLY)
        .unwrap()
        .replace(MAPPED_ZONE, &format!("{MAPPED_ZONE}  timezone \"UTC\"\n"));
    let p = write(dir.path(), "twice.proc", &twice);
    let (code, out, _) = procedo(&["lint", "--color", "never", &p]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the mapping has more than one time zone"),
        "{out}"
    );
    let (code, out, _) = procedo(&["fmt", "--check", REPLY]);
    assert_eq!(code, 0, "{out}");
}

// ------------------------------------------------------------------ 4. BOM, CRLF, stdin, caps

/// A UTF-8 byte-order mark is skipped in .proc files, JSON Lines, CSV and YAML logs.
#[test]
fn a_byte_order_mark_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let bom = "\u{feff}";
    let proc_text = std::fs::read_to_string(REPLY).unwrap();
    let p = write(dir.path(), "reply.proc", &format!("{bom}{proc_text}"));
    let csv = write(
        dir.path(),
        "bom.csv",
        &format!(
            "{bom}Ref,Action,When,Who\nm1,log,2026-06-01 09:00,ann\nm1,reply,2026-06-01 09:30,bob\nm1,close,2026-06-01 10:00,bob\n"
        ),
    );
    let jsonl = write(
        dir.path(),
        "bom.jsonl",
        &format!(
            "{bom}{{\"Ref\":\"m1\",\"Action\":\"log\",\"When\":\"2026-06-01 09:00\",\"Who\":\"ann\"}}\n{{\"Ref\":\"m1\",\"Action\":\"reply\",\"When\":\"2026-06-01 09:30\",\"Who\":\"bob\"}}\n{{\"Ref\":\"m1\",\"Action\":\"close\",\"When\":\"2026-06-01 10:00\",\"Who\":\"bob\"}}\n"
        ),
    );
    let yaml = write(
        dir.path(),
        "bom.yaml",
        &format!(
            "{bom}cases:\n  - id: m1\n    events:\n      - {{activity: log, time: \"2026-06-01 09:00\", actor: ann}}\n      - {{activity: reply, time: \"2026-06-01 09:30\", actor: bob}}\n      - {{activity: close, time: \"2026-06-01 10:00\", actor: bob}}\n"
        ),
    );
    for log in [&csv, &jsonl, &yaml] {
        let (code, out, err) = procedo(&["check", "-p", &p, log]);
        assert_eq!(code, 0, "{log}: {err}");
        assert_eq!(err, "", "{log}");
        assert!(
            out.contains("1 cases: 1 conforming (100.0%), mean fitness 1.0000\n3 events read = 3 checked + 0 rejected\n"),
            "{log}: {out}"
        );
    }
}

/// CSV line numbers in errors are right with CRLF line endings (they were one too low).
#[test]
fn crlf_csv_line_numbers_are_right() {
    let dir = tempfile::tempdir().unwrap();
    for (name, eol) in [("crlf.csv", "\r\n"), ("lf.csv", "\n")] {
        let text = [
            "Ref,Action,When,Who",
            "m1,log,2026-06-01 09:00,ann",
            "m1,reply,soon,bob",
            "m1,close",
        ]
        .join(eol)
            + eol;
        let log = write(dir.path(), name, &text);
        let (code, _, err) = procedo(&["check", "-p", REPLY, &log]);
        assert_eq!(code, 2);
        assert_eq!(
            err,
            format!(
                "error: {log}:3: record 2: timestamp `soon` cannot be read (use --timestamp-format)\n\
                 error: {log}:4: record 3: has 2 fields but the header has 4\n"
            ),
            "{name}"
        );
    }
}

/// `-` reads standard input, with --input-format; without it, a usage error.
#[test]
fn a_dash_reads_standard_input() {
    let csv = "Ref,Action,When,Who\nm1,log,2026-06-01 09:00,ann\nm1,reply,2026-06-01 09:30,bob\nm1,close,2026-06-01 10:00,bob\n";
    let (code, out, err) = procedo_stdin(&["check", "-p", REPLY, "-"], csv);
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "error: reading a log from standard input (`-`) needs --input-format xes|csv|jsonl|yaml\n"
    );
    let (code, out, err) =
        procedo_stdin(&["check", "-p", REPLY, "-", "--input-format", "csv"], csv);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 cases: 1 conforming (100.0%)"), "{out}");
    let (code, out, err) = procedo_stdin(
        &[
            "explain",
            "-p",
            REPLY,
            "-",
            "--input-format",
            "csv",
            "--case",
            "m1",
        ],
        csv,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("m1"), "{out}");
    let (code, _, err) = procedo(&["check", "-p", REPLY, "-", "--input-format", "tsv"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`tsv` is not a log format: use xes, csv, jsonl or yaml"),
        "{err}"
    );
}

/// --max-errors caps the rejected records printed; the rest are counted by kind.
#[test]
fn max_errors_caps_the_rejections_printed() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "bad.csv",
        "Ref,Action,When,Who\n\
         m1,log,2026-06-01 09:00,ann\n\
         m1,reply,soon,bob\n\
         ,close,2026-06-01 10:00,bob\n\
         m1,close,later,bob\n\
         m2,log,never,ann\n\
         m2,,2026-06-01 10:00,bob\n",
    );
    let (code, _, err) = procedo(&["check", "-p", REPLY, &log, "--max-errors", "2"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        format!(
            "error: {log}:3: record 2: timestamp `soon` cannot be read (use --timestamp-format)\n\
             error: {log}:4: record 3: no case id in `Ref`\n\
             error: 3 more rejected records not shown (--max-errors 2): 1 no-activity, 2 unreadable-timestamp\n"
        )
    );
}

// ------------------------------------------------------------------ 5. what the log lacks

/// A timestamp column absent from every event does not silently switch off every time
/// check: check warns, naming the column it looked for and the columns it saw.
#[test]
fn a_missing_timestamp_column_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "notime.csv",
        "Ref,Action,Time,Who\n\
         m1,log,2026-06-01 09:00,ann\n\
         m1,reply,2026-06-01 12:30,bob\n\
         m1,close,2026-06-01 13:00,bob\n",
    );
    let (code, out, err) = procedo(&["check", "-p", REPLY, &log]);
    assert_eq!(code, 0);
    assert_eq!(
        err,
        "warning: no event has a time in `When` (columns seen: Action, Ref, Time, Who): time \
         limits, acknowledgements, escalation, monitoring and rosters were not checked; name the \
         time column with --timestamp or `attribute \"COLUMN\" -> timestamp` in the mapping\n"
    );
    assert!(out.contains("1 cases: 1 conforming (100.0%)"), "{out}");
    let (code, out, err) = procedo(&["check", "-p", REPLY, &log, "--timestamp", "Time", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("deadline-missed"), "{out}");
}

/// A procedure with a `different actor` constraint warns when no event has an actor,
/// instead of letting the constraint pass unchecked.
#[test]
fn a_missing_actor_column_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "noactor.csv",
        "Ref,Action,When,User\n\
         m1,log,2026-06-01 09:00,ann\n\
         m1,reply,2026-06-01 09:30,ann\n\
         m1,close,2026-06-01 10:00,bob\n",
    );
    let (code, out, err) = procedo(&["check", "-p", REPLY, &log]);
    assert_eq!(code, 0);
    assert_eq!(
        err,
        "warning: no event has an actor in `Who`: replier_is_not_logger could not be checked; \
         name the actor column with --actor or `attribute \"COLUMN\" -> actor` in the mapping\n"
    );
    assert!(out.contains("1 cases: 1 conforming (100.0%)"), "{out}");
    let (code, out, err) = procedo(&["check", "-p", REPLY, &log, "--actor", "User"]);
    assert_eq!(code, 0);
    assert_eq!(err, "");
    assert!(out.contains("1 cases: 0 conforming (0.0%)"), "{out}");
}

/// An empty or header-only log is not "100% conforming": no cases were read, exit 2.
#[test]
fn an_empty_log_is_not_conforming() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("empty.csv", ""),
        ("header.csv", "Ref,Action,When,Who\n"),
        ("empty.jsonl", ""),
        ("empty.yaml", "cases: []\n"),
    ] {
        let log = write(dir.path(), name, text);
        let (code, out, err) = procedo(&["check", "-p", REPLY, &log]);
        assert_eq!(code, 2, "{name}");
        assert_eq!(
            out,
            "checked against logs.reply\nno cases were read\n0 events read = 0 checked + 0 rejected\n",
            "{name}"
        );
        assert_eq!(err, "error: no cases were read\n", "{name}");
        let (code, out, _) = procedo(&["check", "-p", REPLY, &log, "--format", "jsonl"]);
        assert_eq!(code, 2, "{name}");
        assert_eq!(out, "", "{name}");
    }
}

/// Checks `check --format jsonl` output against a simulation's truth file.
fn assert_matches_truth(procedure: &str, checked: &str, truth: &str) {
    let mut injected: std::collections::BTreeMap<String, Vec<serde_json::Value>> =
        Default::default();
    for line in truth.lines().filter(|l| !l.trim().is_empty()) {
        let t: serde_json::Value = serde_json::from_str(line).unwrap();
        injected
            .entry(t["case_id"].as_str().unwrap().to_string())
            .or_default()
            .push(t);
    }
    let reads = crate::truth_readings;
    let mut problems = Vec::new();
    for line in checked.lines() {
        let c: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = c["case_id"].as_str().unwrap();
        let found = crate::findings_of(&c);
        let truths = injected.remove(id).unwrap_or_default();
        for t in &truths {
            if !reads(t).iter().any(|r| found.contains(r)) {
                problems.push(format!(
                    "{procedure} {id}: injected {t} not found in {found:?}"
                ));
            }
        }
        for f in &found {
            if !truths.iter().any(|t| reads(t).contains(f)) {
                problems.push(format!("{procedure} {id}: {f:?} not injected"));
            }
        }
    }
    assert!(
        injected.is_empty(),
        "cases not checked: {:?}",
        injected.keys()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A state log: updates within one state are one event with `--collapse-repeats`, and the
/// counts still reconcile (read = checked + rejected + collapsed); without the flag the
/// repeats read as steps out of place.
#[test]
fn a_state_log_collapses_its_repeated_states() {
    let p = "procedures/itsm/servicenow_states.proc";
    let log = "tests/logs/states.csv";
    let (code, out, err) = procedo(&[
        "check",
        "-p",
        p,
        log,
        "--timezone",
        "UTC",
        "--collapse-repeats",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let s = &v["summary"];
    assert_eq!(s["events_read"], 12);
    assert_eq!(s["events_collapsed"], 4);
    assert_eq!(s["events_checked"], 8);
    assert_eq!(s["conforming"], 1);
    // INC2 is P1 (4h to resolve) and was resolved 5h30m after it was logged; INC1 is P3.
    let inc2 = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case_id"] == "INC2")
        .unwrap();
    let codes: Vec<&str> = inc2["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["deadline-missed"]);
    let (_, out, _) = procedo(&[
        "check",
        "-p",
        p,
        log,
        "--timezone",
        "UTC",
        "--collapse-repeats",
    ]);
    assert!(
        out.contains("12 events read = 8 checked + 0 rejected + 4 collapsed (repeated states)"),
        "{out}"
    );
    // Without the flag the repeated states are steps the procedure does not allow there.
    let (_, out, _) = procedo(&["check", "-p", p, log, "--timezone", "UTC"]);
    assert!(out.contains("2 cases: 0 conforming"), "{out}");
    // The same rows as JSON Lines collapse the same way (the reader is not the CSV one).
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(log).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let jsonl: String = lines
        .map(|l| {
            let row: serde_json::Map<String, serde_json::Value> = header
                .iter()
                .zip(l.split(','))
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                .collect();
            serde_json::Value::Object(row).to_string() + "\n"
        })
        .collect();
    let jl = write(dir.path(), "states.jsonl", &jsonl);
    let (code, out, err) = procedo(&[
        "check",
        "-p",
        p,
        &jl,
        "--timezone",
        "UTC",
        "--collapse-repeats",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("12 events read = 8 checked + 0 rejected + 4 collapsed (repeated states)")
            && out.contains("2 cases: 1 conforming"),
        "{out}"
    );
}

/// `procedo::log::rfc3339` against chrono.
mod rfc3339 {
    use proptest::prelude::*;

    proptest! {
        /// Times are written as chrono writes RFC 3339, digit for digit: every second of
        /// years 0–9999, each kind of fraction (none, milli, micro, nano), every offset in
        /// minutes, leap seconds and offsets with seconds (left to chrono).
        #[test]
        fn times_are_written_as_chrono_writes_rfc3339(
            secs in -62_167_219_200i64..253_402_300_799,
            nanos in prop_oneof![
                Just(0u32),
                (0u32..1000).prop_map(|m| m * 1_000_000),
                (0u32..1_000_000).prop_map(|u| u * 1_000),
                0u32..2_000_000_000,
            ],
            offset in prop_oneof![
                (-1439i32..=1439).prop_map(|m| m * 60),
                -86_399i32..86_400,
            ],
        ) {
            let Some(utc) = chrono::DateTime::from_timestamp(secs, nanos) else {
                return Ok(());
            };
            let Some(zone) = chrono::FixedOffset::east_opt(offset) else {
                return Ok(());
            };
            let t = utc.with_timezone(&zone);
            prop_assert_eq!(procedo::log::rfc3339(&t), t.to_rfc3339());
        }
    }
}
