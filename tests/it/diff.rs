//! `procedo diff`: the semantic change list of realistic edits to shipped procedures
//! (snapshots), and the flips it reports checked against two independent `check` runs
//! over the example logs (exactly those cases, no more, no fewer); `--base` on a git
//! history made in the test; gates, exit codes and every output format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::procedo;

/// A realistic edit: its name and the text replacements that make it (each must apply).
struct Edit {
    name: &'static str,
    subs: &'static [(&'static str, &'static str)],
}

/// The shipped procedures edited, with their example logs and edits.
fn cases() -> Vec<(&'static str, &'static str, Vec<Edit>)> {
    vec![
        (
            "procedures/gas/gas_emergency_line.proc",
            "examples/logs/gas_emergency_line.jsonl.gz",
            vec![
                Edit {
                    name: "tighten-deadline",
                    subs: &[("dispatch_window = 10m", "dispatch_window = 3m")],
                },
                Edit {
                    name: "tighten-target",
                    subs: &[(
                        "target uncontrolled attend within 1h, repair within 12h",
                        "target uncontrolled attend within 20m, repair within 12h",
                    )],
                },
                Edit {
                    name: "change-table-row",
                    subs: &[(
                        "| false        | true         | inside            | true           | true           | controlled   |",
                        "| false        | true         | inside            | true           | true           | uncontrolled |",
                    )],
                },
                Edit {
                    name: "remove-branch",
                    subs: &[
                        (
                            "        when found_internal\n          ## Escape on the customer's pipework or an appliance: isolate and label; the customer\n          ## calls a Gas Safe registered engineer.\n          step isolate_appliance \"Isolate and label the appliance or pipework\"\n            by first_call_operative\n            records [isolation_point, warning_notice, advice_given]\n",
                            "",
                        ),
                        (
                            "  activity \"Appliance isolated\" -> isolate_appliance\n",
                            "  activity \"Appliance isolated\" -> ignore\n",
                        ),
                    ],
                },
                Edit {
                    name: "declare-log-timezone",
                    subs: &[(
                        "  attribute \"job_ref\" -> case\n",
                        "  attribute \"job_ref\" -> case\n  timezone \"Europe/London\"\n",
                    )],
                },
                Edit {
                    name: "loosen-deadline",
                    subs: &[("dispatch_window = 10m", "dispatch_window = 1h")],
                },
                Edit {
                    name: "loosen-target",
                    subs: &[(
                        "target uncontrolled attend within 1h, repair within 12h",
                        "target uncontrolled attend within 4h, repair within 12h",
                    )],
                },
                Edit {
                    name: "drop-acknowledgement",
                    subs: &[(
                        "        responsibilities [attend, locate_escape, make_safe, report_to_control]\n        ack within 5m\n",
                        "        responsibilities [attend, locate_escape, make_safe, report_to_control]\n",
                    )],
                },
                Edit {
                    name: "remove-constraint",
                    subs: &[(
                        "  ## The operative is briefed promptly after dispatch (illustrative).\n  brief_after_dispatch: dispatch_fco followed by brief_fco within 5m\n",
                        "",
                    )],
                },
                Edit {
                    name: "add-constraint",
                    subs: &[(
                        "  one_close: at most 1 close_job\n",
                        "  one_close: at most 1 close_job\n  ## Dispatch follows classification promptly.\n  prompt_dispatch: classify_escape followed by dispatch_fco within 2m\n",
                    )],
                },
            ],
        ),
        (
            "procedures/ambulance/ambulance_arp_dispatch.proc",
            "examples/logs/ambulance_arp_dispatch.jsonl.gz",
            vec![
                Edit {
                    name: "tighten-target",
                    subs: &[(
                        "target cat2 respond within 40m",
                        "target cat2 respond within 20m",
                    )],
                },
                Edit {
                    name: "make-step-mandatory",
                    subs: &[(
                        "step clinical_validation \"Clinician validates the category\" optional",
                        "step clinical_validation \"Clinician validates the category\"",
                    )],
                },
                Edit {
                    name: "change-table-row",
                    subs: &[(
                        "| \"*-B-*\"     | -                         | -         | cat3           |",
                        "| \"*-B-*\"     | -                         | -         | cat2           |",
                    )],
                },
                Edit {
                    name: "add-constraint",
                    subs: &[(
                        "  one_category: exactly 1 categorise\n",
                        "  one_category: exactly 1 categorise\n  triage_once: at most 1 triage\n  categorise_promptly: triage followed by categorise within 1m\n",
                    )],
                },
            ],
        ),
        (
            "procedures/police/police_call_grading.proc",
            "examples/logs/police_call_grading.jsonl.gz",
            vec![
                Edit {
                    name: "tighten-target",
                    subs: &[(
                        "target emergency deploy within 4m, attend within 15m when area == urban",
                        "target emergency deploy within 2m, attend within 15m when area == urban",
                    )],
                },
                Edit {
                    name: "change-table-row",
                    subs: &[(
                        "| -              | -                    | significant | -                 | rtc                                  | -                 | priority      |",
                        "| -              | -                    | significant | -                 | rtc                                  | -                 | emergency     |",
                    )],
                },
                Edit {
                    name: "change-weight",
                    subs: &[("location_confirmed +40", "location_confirmed +20")],
                },
                Edit {
                    name: "invert-branch",
                    subs: &[(
                        "        when true\n          step allocate_dog \"Allocate a dog unit to track the offender\"\n            needs 1 dog_unit with [tracking]\n            by dispatcher\n        else\n        # Offender still on scene or never there: no track.\n",
                        "        when false\n        # Offender still on scene or never there: no track.\n        else\n          step allocate_dog \"Allocate a dog unit to track the offender\"\n            needs 1 dog_unit with [tracking]\n            by dispatcher\n",
                    )],
                },
                Edit {
                    name: "add-constraint",
                    subs: &[(
                        "  thrive_before_grade: thrive_assess before grade\n",
                        "  thrive_before_grade: thrive_assess before grade\n  grade_once: at most 1 grade\n  grade_promptly: answer followed by grade within 1m\n",
                    )],
                },
            ],
        ),
        (
            "procedures/itsm/it_service_desk.proc",
            "examples/logs/it_service_desk.jsonl.gz",
            vec![
                Edit {
                    name: "tighten-target",
                    subs: &[(
                        "target P2 respond within 1h, resolve within 8h",
                        "target P2 respond within 20m, resolve within 8h",
                    )],
                },
                Edit {
                    name: "change-matrix-cell",
                    subs: &[(
                        "    | medium           | P2   | P3     | P4  |",
                        "    | medium           | P1   | P3     | P4  |",
                    )],
                },
                Edit {
                    name: "make-step-mandatory",
                    subs: &[(
                        "step on_hold \"On hold, awaiting caller\" optional",
                        "step on_hold \"On hold, awaiting caller\"",
                    )],
                },
                Edit {
                    name: "tighten-acknowledgement",
                    subs: &[("ack within 30m", "ack within 5m")],
                },
            ],
        ),
    ]
}

/// A copy of the shipped procedures root in a temporary directory, so that an edited
/// procedure still resolves its `use`s.
fn copy_root(to: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            let t = to.join(p.file_name().unwrap());
            if p.is_dir() {
                copy(&p, &t);
            } else {
                std::fs::copy(&p, &t).unwrap();
            }
        }
    }
    copy(Path::new("procedures"), to);
}

/// The edited text of a procedure; every replacement must apply.
fn edited(text: &str, edit: &Edit) -> String {
    let mut out = text.to_string();
    for (from, to) in edit.subs {
        assert!(
            out.contains(from),
            "edit `{}`: `{from}` is not in the procedure",
            edit.name
        );
        out = out.replacen(from, to, 1);
    }
    out
}

/// `check --format json` through the binary: case id → (conforming, priority).
fn check(proc_path: &str, log: &str) -> BTreeMap<String, (bool, Option<String>)> {
    let (code, out, err) = procedo(&["check", "-p", proc_path, log, "--format", "json"]);
    assert!(code == 0 || code == 1, "check failed ({code}): {err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["case_id"].as_str().unwrap().to_string(),
                (
                    c["conforming"].as_bool().unwrap(),
                    c["priority"].as_str().map(str::to_string),
                ),
            )
        })
        .collect()
}

/// One line per change: `kind old→new subject: description`.
fn change_lines(doc: &serde_json::Value) -> String {
    let mut out = String::new();
    for c in doc["procedures"][0]["changes"].as_array().unwrap() {
        let line = |v: &serde_json::Value| v.as_u64().map_or("-".to_string(), |l| l.to_string());
        out.push_str(&format!(
            "{} {}→{} {}: {}{}\n",
            c["kind"].as_str().unwrap(),
            line(&c["old_line"]),
            line(&c["new_line"]),
            c["subject"].as_str().unwrap(),
            c["description"].as_str().unwrap(),
            if c["breaking"].as_bool() == Some(true) {
                " [breaking]"
            } else {
                ""
            }
        ));
    }
    out
}

#[test]
fn flips_are_exact_on_realistic_edits_of_shipped_procedures() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("procedures");
    copy_root(&root);
    let mut total_flips = 0;
    let mut total_to_conforming = 0;
    let mut total_priority = 0;
    let mut snapshots = String::new();
    for (path, log, edits) in cases() {
        let text = std::fs::read_to_string(path).unwrap();
        let old = check(path, log);
        let rel = Path::new(path).strip_prefix("procedures").unwrap();
        let new_path: PathBuf = root.join(rel);
        for edit in &edits {
            std::fs::write(&new_path, edited(&text, edit)).unwrap();
            let new_str = new_path.to_str().unwrap();
            let new = check(new_str, log);
            assert_eq!(
                old.keys().collect::<Vec<_>>(),
                new.keys().collect::<Vec<_>>(),
                "{path} {}: the two checks read different cases",
                edit.name
            );
            // The flips and priority changes of two independent check runs.
            let expected: BTreeMap<&String, (bool, bool)> = old
                .iter()
                .filter_map(|(id, (c, _))| {
                    let n = new[id].0;
                    (n != *c).then_some((id, (*c, n)))
                })
                .collect();
            let expected_priority: BTreeMap<&String, (Option<String>, Option<String>)> = old
                .iter()
                .filter_map(|(id, (_, p))| {
                    let q = &new[id].1;
                    (q != p).then(|| (id, (p.clone(), q.clone())))
                })
                .collect();
            let (code, out, err) =
                procedo(&["diff", path, new_str, "--log", log, "--format", "json"]);
            assert_eq!(code, 0, "{path} {}: {err}", edit.name);
            let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
            let h = &doc["procedures"][0]["history"];
            assert_eq!(h["cases"].as_u64().unwrap() as usize, old.len());
            let got: BTreeMap<String, (bool, bool)> = h["flips"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["case_id"].as_str().unwrap().to_string(),
                        (
                            f["old"]["conforming"].as_bool().unwrap(),
                            f["new"]["conforming"].as_bool().unwrap(),
                        ),
                    )
                })
                .collect();
            let expected_owned: BTreeMap<String, (bool, bool)> =
                expected.iter().map(|(k, v)| ((*k).clone(), *v)).collect();
            assert_eq!(got, expected_owned, "{path} {}: flips", edit.name);
            // Every flip names the codes behind it, each with a line of NEW.
            for f in h["flips"].as_array().unwrap() {
                let codes = f["codes"].as_array().unwrap();
                assert!(
                    !codes.is_empty(),
                    "{path} {}: a flip without a cause: {f}",
                    edit.name
                );
                assert!(
                    codes
                        .iter()
                        .all(|c| c["new_line"].as_u64().is_some()
                            || c["old_line"].as_u64().is_some()),
                    "{path} {}: a cause without a line: {f}",
                    edit.name
                );
            }
            let got_priority: BTreeMap<String, (Option<String>, Option<String>)> =
                h["priority_changes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| {
                        (
                            p["case_id"].as_str().unwrap().to_string(),
                            (
                                p["old"].as_str().map(str::to_string),
                                p["new"].as_str().map(str::to_string),
                            ),
                        )
                    })
                    .collect();
            let expected_priority: BTreeMap<String, (Option<String>, Option<String>)> =
                expected_priority
                    .into_iter()
                    .map(|(k, v)| (k.clone(), v))
                    .collect();
            assert_eq!(
                got_priority, expected_priority,
                "{path} {}: priority changes",
                edit.name
            );
            total_flips += got.len();
            total_priority += got_priority.len();
            let changes = change_lines(&doc);
            assert!(!changes.is_empty(), "{path} {}: no change found", edit.name);
            let to_nc = got.values().filter(|(_, n)| !n).count();
            total_to_conforming += got.len() - to_nc;
            snapshots.push_str(&format!(
                "## {path} {}\n{changes}=> {} flips ({to_nc} to non-conforming, {} to \
                 conforming), {} priority changes\n\n",
                edit.name,
                got.len(),
                got.len() - to_nc,
                got_priority.len()
            ));
        }
        std::fs::write(&new_path, &text).unwrap();
    }
    // The edits are not idle: they flip verdicts and move priorities.
    assert!(total_flips > 0);
    assert!(total_to_conforming > 0);
    assert!(total_priority > 0);
    insta::assert_snapshot!("diff_changes_of_realistic_edits", snapshots);
}

#[test]
fn a_procedure_against_itself_changes_nothing() {
    let p = "procedures/gas/gas_emergency_line.proc";
    let (code, out, err) = procedo(&[
        "diff",
        p,
        p,
        "--log",
        "examples/logs/gas_emergency_line.jsonl.gz",
        "--format",
        "json",
        "--fail-on",
        "flips,new-violations,priority-changes,breaking",
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["version"], 1);
    let c = &doc["procedures"][0];
    assert_eq!(c["changes"].as_array().unwrap().len(), 0);
    assert_eq!(c["history"]["same_net"], true);
    assert_eq!(c["history"]["flips"].as_array().unwrap().len(), 0);
    assert_eq!(doc["totals"]["cases"], 200);
}

#[test]
fn layout_and_comments_are_no_change() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("procedures");
    copy_root(&root);
    let p = "procedures/gas/gas_emergency_line.proc";
    let text = std::fs::read_to_string(p).unwrap();
    let new = root.join("gas/gas_emergency_line.proc");
    let moved = text
        .replace(
            "  advice_window = 2m\n",
            "  # a comment\n  advice_window = 2m\n",
        )
        .replace(
            "## The emergency job number given to the caller.",
            "## The job number.",
        );
    std::fs::write(&new, moved).unwrap();
    let (code, out, err) = procedo(&["diff", p, new.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no change in meaning"), "{out}");
}

/// A small procedure and an edit of it that touches facts, validity, a table, the flow,
/// limits and constraints at once.
const SMALL: &str = r#"procedure t.small "Small"
  version "1"

facts
  kind: enum a | b | c
  urgent: bool
  note: text optional

params
  reply_window = 1h

validity
  has_kind +40 when kind == a
  bands confirmed >= 40, unconfirmed

priority
  scale high > low
  target high reply within 1h
  target low reply within 4h
  table grade hit first
    | kind | urgent | => level |
    | a    | true   | high     |
    | -    | -      | low      |
  combine highest

ends
  done "Done"

flow
  step receive "Receive"
  step reply "Reply" optional
    within target(reply) of receive
  decide route on kind
    when a
      step escalate_a "Escalate"
    else
      step handle "Handle"
  end
  step close "Close"
  end done

constraints
  reply_first: receive before close
"#;

fn small_edit(text: &str) -> String {
    text.replace(
        "  kind: enum a | b | c\n",
        "  kind: enum a | b\n  channel: text\n",
    )
    .replace("  note: text optional\n", "")
    .replace("has_kind +40", "has_kind +30")
    .replace(
        "target high reply within 1h",
        "target high reply within 30m",
    )
    .replace(
        "    | a    | true   | high     |\n",
        "    | a    | true   | high     |\n    | b    | true   | high     |\n",
    )
    .replace("step reply \"Reply\" optional", "step reply \"Reply\"")
    .replace(
        "      step escalate_a \"Escalate\"\n",
        "      step escalate_a \"Escalate\"\n        within 2h of receive\n",
    )
    .replace(
        "  reply_first: receive before close\n",
        "  reply_first: receive before close\n  once: at most 1 close\n",
    )
}

#[test]
fn the_change_list_of_a_small_procedure() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("procedo.yaml"), "").unwrap();
    let old = tmp.path().join("old.proc");
    let new = tmp.path().join("new.proc");
    std::fs::write(&old, SMALL).unwrap();
    std::fs::write(&new, small_edit(SMALL)).unwrap();
    let (code, out, err) = procedo(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    insta::assert_snapshot!("diff_changes_of_a_small_procedure", change_lines(&doc));
    // Breaking schema changes fail `--fail-on breaking`.
    let (code, _, _) = procedo(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--fail-on",
        "breaking",
    ]);
    assert_eq!(code, 1);
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.email=test@example.com",
            "-c",
            "user.name=test",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn base_compares_the_working_tree_with_a_revision_through_git() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    git(repo, &["init", "-q"]);
    let root = repo.join("procedures");
    copy_root(&root);
    std::fs::write(repo.join("procedures/small.proc"), SMALL).unwrap();
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "first"]);
    // The working tree: one procedure edited, one removed, one added; the library that
    // two complaint procedures `use` edited too (so that the old version must resolve
    // against the old library).
    std::fs::write(repo.join("procedures/small.proc"), small_edit(SMALL)).unwrap();
    std::fs::remove_file(repo.join("procedures/psap/psap_call_taking.proc")).unwrap();
    std::fs::write(
        repo.join("procedures/added.proc"),
        SMALL.replace("t.small", "t.added"),
    )
    .unwrap();
    // The library the complaint procedures use gains a channel.
    let lib = repo.join("procedures/complaints/complaints_common.proc");
    let lib_text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        lib_text.replace(
            "enum phone | email | web_form | letter | in_person",
            "enum phone | email | web_form | letter | in_person | chat",
        ),
    )
    .unwrap();
    let gas = repo.join("procedures/gas/gas_emergency_line.proc");
    let text = std::fs::read_to_string(&gas).unwrap();
    std::fs::write(
        &gas,
        text.replace("dispatch_window = 10m", "dispatch_window = 3m"),
    )
    .unwrap();
    use assert_cmd::cargo::CommandCargoExt;
    let out = std::process::Command::cargo_bin("procedo")
        .unwrap()
        .current_dir(repo)
        .args(["diff", "--base", "HEAD", "procedures", "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let changed: BTreeMap<String, usize> = doc["procedures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["changes"].as_array().unwrap().is_empty())
        .map(|c| {
            (
                c["new"].as_str().unwrap().to_string(),
                c["changes"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        changed.keys().collect::<Vec<_>>(),
        [
            "procedures/complaints/complaint_handling_police.proc",
            "procedures/complaints/complaint_handling_two_stage.proc",
            "procedures/complaints/complaints_common.proc",
            "procedures/gas/gas_emergency_line.proc",
            "procedures/small.proc"
        ],
        "{changed:?}"
    );
    // The procedures that use the library see its change in their facts, resolved against
    // the library at each revision, and name the library.
    for c in doc["procedures"].as_array().unwrap() {
        let new = c["new"].as_str().unwrap();
        if new.starts_with("procedures/complaints/complaint_handling") {
            assert_eq!(
                c["uses_changed"],
                serde_json::json!(["complaints/complaints_common.proc"]),
                "{new}"
            );
        } else {
            assert!(c.get("uses_changed").is_none(), "{new}");
        }
    }
    let gas_doc = doc["procedures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["new"] == "procedures/gas/gas_emergency_line.proc")
        .unwrap();
    assert_eq!(
        gas_doc["old"],
        "HEAD:procedures/gas/gas_emergency_line.proc"
    );
    assert_eq!(gas_doc["changes"][0]["kind"], "limit-tightened");
    assert_eq!(gas_doc["changes"][0]["amount"], "7m");
    let unpaired: Vec<(String, String)> = doc["unpaired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["path"].as_str().unwrap().to_string(),
                u["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        unpaired,
        [
            ("procedures/added.proc".to_string(), "added".to_string()),
            (
                "HEAD:procedures/psap/psap_call_taking.proc".to_string(),
                "removed".to_string()
            )
        ]
    );
    // The working tree is untouched: no checkout happened.
    assert_eq!(
        std::fs::read_to_string(repo.join("procedures/small.proc")).unwrap(),
        small_edit(SMALL)
    );
    // Logs go with the procedure they are named after, several after one --log.
    let logs = std::env::current_dir().unwrap().join("examples/logs");
    let gas_log = logs.join("gas_emergency_line.jsonl.gz");
    let police_log = logs.join("police_call_grading.jsonl.gz");
    let out = std::process::Command::cargo_bin("procedo")
        .unwrap()
        .current_dir(repo)
        .args([
            "diff",
            "--base",
            "HEAD",
            "procedures",
            "--format",
            "json",
            "--log",
        ])
        .arg(&gas_log)
        .arg(&police_log)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let history = |new: &str| {
        doc["procedures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["new"] == new)
            .unwrap()["history"]
            .clone()
    };
    let gas_h = history("procedures/gas/gas_emergency_line.proc");
    assert_eq!(gas_h["cases"], 200);
    assert!(!gas_h["flips"].as_array().unwrap().is_empty());
    let police_h = history("procedures/police/police_call_grading.proc");
    assert_eq!(police_h["cases"], 200);
    assert!(police_h["flips"].as_array().unwrap().is_empty());
    assert_eq!(doc["totals"]["cases"], 400);
    // A log named after no procedure is a usage error.
    let stray = tmp.path().join("stray.jsonl");
    std::fs::copy(&gas_log, &stray).unwrap();
    let out = std::process::Command::cargo_bin("procedo")
        .unwrap()
        .current_dir(repo)
        .args(["diff", "--base", "HEAD", "procedures", "--log"])
        .arg(&stray)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("goes with none"));
    // A bad revision is a usage error.
    let out = std::process::Command::cargo_bin("procedo")
        .unwrap()
        .current_dir(repo)
        .args(["diff", "--base", "no-such-rev", "procedures"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a revision"));
}

#[test]
fn gates_thresholds_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("procedures");
    copy_root(&root);
    let old = "procedures/gas/gas_emergency_line.proc";
    let new = root.join("gas/gas_emergency_line.proc");
    let text = std::fs::read_to_string(old).unwrap();
    std::fs::write(
        &new,
        text.replace("dispatch_window = 10m", "dispatch_window = 3m"),
    )
    .unwrap();
    let new = new.to_str().unwrap();
    let log = "examples/logs/gas_emergency_line.jsonl.gz";
    let run = |extra: &[&str]| {
        let mut args = vec!["diff", old, new, "--log", log];
        args.extend_from_slice(extra);
        procedo(&args)
    };
    let (code, out, _) = run(&["--fail-on", "flips"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("gate failed"), "{out}");
    let (code, _, _) = run(&["--fail-on", "flips", "--max-flips", "100%"]);
    assert_eq!(code, 0);
    let (code, _, _) = run(&["--fail-on", "flips", "--max-flips", "1000"]);
    assert_eq!(code, 0);
    let (code, _, _) = run(&["--fail-on", "new-violations"]);
    assert_eq!(code, 1);
    let (code, _, _) = run(&["--fail-on", "priority-changes"]);
    assert_eq!(code, 0);
    let (code, _, err) = run(&["--fail-on", "flips", "--max-flips", "lots"]);
    assert_eq!(code, 2);
    assert!(err.contains("--max-flips"), "{err}");
    let (code, _, err) = run(&["--max-flips", "1%"]);
    assert_eq!(code, 2);
    assert!(err.contains("--fail-on flips"), "{err}");
    let (code, _, err) = procedo(&["diff", old]);
    assert_eq!(code, 2);
    assert!(err.contains("OLD and NEW"), "{err}");
    let (code, _, err) = procedo(&["diff", old, "no/such.proc"]);
    assert_eq!(code, 2);
    assert!(err.contains("no/such.proc"), "{err}");
    let (code, _, _) = procedo(&["diff", old, new, "--log", "no/such/log.jsonl"]);
    assert_eq!(code, 2);
    let broken = root.join("gas/broken.proc");
    std::fs::write(
        &broken,
        text.replace("step answer \"Answer the call\"", "step answer \"Answer"),
    )
    .unwrap();
    let (code, _, err) = procedo(&["diff", old, broken.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("has errors"), "{err}");
    // A search cut short is no verdict: those cases are not compared, and exit 2.
    let (code, out, err) = run(&["--max-states", "1", "--format", "json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--max-states"), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let h = &doc["procedures"][0]["history"];
    assert!(h["not_aligned"].as_u64().unwrap() > 0);
    assert_eq!(h["not_aligned"], h["not_comparable"]);
    assert!(
        h["flips"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["old"]["verdict"] != "not-aligned")
    );
    let (code, _, _) = run(&["--max-states", "0"]);
    assert_eq!(code, 2);
    let (code, out, _) = procedo(&["diff", "--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("--base") && out.contains("Exit codes"),
        "{out}"
    );
}

#[test]
fn markdown_github_and_sarif_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("procedures");
    copy_root(&root);
    let old = "procedures/gas/gas_emergency_line.proc";
    let new = root.join("gas/gas_emergency_line.proc");
    let text = std::fs::read_to_string(old).unwrap();
    std::fs::write(
        &new,
        text.replace("dispatch_window = 10m", "dispatch_window = 3m"),
    )
    .unwrap();
    let new = new.to_str().unwrap();
    let log = "examples/logs/gas_emergency_line.jsonl.gz";
    // Each group of flips and obligations is tied to the change behind it: the step's
    // `within dispatch_window` ties it to the param's change.
    let (code, out, _) = procedo(&["diff", old, new, "--log", log, "--format", "json"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let h = &doc["procedures"][0]["history"];
    for g in h["flip_groups"]
        .as_array()
        .unwrap()
        .iter()
        .chain(h["obligations"].as_array().unwrap())
    {
        assert_eq!(g["changes"], serde_json::json!([0]), "{g}");
    }
    let (code, md, _) = procedo(&["diff", old, new, "--log", log, "--format", "markdown"]);
    assert_eq!(code, 0);
    assert!(md.starts_with("## procedo diff"), "{md}");
    assert!(md.contains("| `limit-tightened` |"), "{md}");
    assert!(
        md.contains("| to-non-conforming | `deadline-missed` | `dispatch_fco` |"),
        "{md}"
    );
    let (code, gh, _) = procedo(&["diff", old, new, "--log", log, "--format", "github"]);
    assert_eq!(code, 0);
    assert!(
        gh.lines()
            .any(|l| l.starts_with("::notice file=") && l.contains("line=54")),
        "{gh}"
    );
    assert!(
        gh.lines()
            .any(|l| l.starts_with("::warning file=") && l.contains("deadline-missed")),
        "{gh}"
    );
    let (code, sarif, _) = procedo(&["diff", old, new, "--log", log, "--format", "sarif"]);
    assert_eq!(code, 0);
    crate::lint::validate_sarif(&sarif);
    let doc: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "limit-tightened"
        && r["locations"][0]["physicalLocation"]["region"]["startLine"] == 54));
}

#[test]
fn incidents_are_assessed_under_both_versions() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("procedo.yaml"), "").unwrap();
    let old = tmp.path().join("old.proc");
    let new = tmp.path().join("new.proc");
    std::fs::write(&old, SMALL).unwrap();
    // Urgent `b` incidents are now high.
    std::fs::write(
        &new,
        SMALL.replace(
            "    | a    | true   | high     |\n",
            "    | a    | true   | high     |\n    | b    | true   | high     |\n",
        ),
    )
    .unwrap();
    let incidents = tmp.path().join("incidents.yaml");
    std::fs::write(
        &incidents,
        "- {id: i1, kind: a, urgent: true}\n- {id: i2, kind: b, urgent: true}\n- {id: i3, kind: b, urgent: false}\n- {id: i4, kind: z, urgent: true}\n",
    )
    .unwrap();
    let (code, out, err) = procedo(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--incidents",
        incidents.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let i = &doc["procedures"][0]["incidents"];
    assert_eq!(i["read"], 4);
    assert_eq!(i["compared"], 3);
    assert_eq!(i["not_comparable"], 1);
    assert_eq!(i["not_comparable_examples"][0]["id"], "i4");
    assert_eq!(i["priority_changes"].as_array().unwrap().len(), 1);
    assert_eq!(i["priority_changes"][0]["case_id"], "i2");
    assert_eq!(i["priority_changes"][0]["old"], "low");
    assert_eq!(i["priority_changes"][0]["new"], "high");
    assert_eq!(i["priority_changes"][0]["levels"], 1);
    assert_eq!(i["priority_summary"]["up"], 1);
    let (code, _, _) = procedo(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--incidents",
        incidents.to_str().unwrap(),
        "--fail-on",
        "priority-changes",
        "--max-priority-changes",
        "50%",
    ]);
    assert_eq!(code, 0);
    let (code, _, _) = procedo(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--incidents",
        incidents.to_str().unwrap(),
        "--fail-on",
        "priority-changes",
    ]);
    assert_eq!(code, 1);
}

#[test]
fn the_change_list_of_many_edits_to_one_procedure() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("procedures");
    copy_root(&root);
    let old = "procedures/gas/gas_emergency_line.proc";
    let new = root.join("gas/gas_emergency_line.proc");
    let text = std::fs::read_to_string(old).unwrap();
    let edit = Edit {
        name: "many",
        subs: &[
            (
                "step area_search \"Search the area for the reported smell\"",
                "step area_sweep \"Search the area for the reported smell\"",
            ),
            (
                "activity \"Area search\" -> area_search",
                "activity \"Area search\" -> area_sweep",
            ),
            (
                "monitor gas_readings every reading_interval first within 30m",
                "monitor gas_readings every 30m first within 15m",
            ),
            (
                "        escalate at 75% to duty_engineer\n        escalate at 100% to network_duty_manager\n      decide trace",
                "        escalate at 50% to duty_engineer\n        escalate at 100% to network_duty_manager\n      decide trace",
            ),
            (
                "  one_close: at most 1 close_job",
                "  one_close: at most 2 close_job",
            ),
            (
                "  network_major_incident: bool optional",
                "  network_major_incident: bool optional\n  caller_age: int optional",
            ),
            (
                "  corroborated    +20 when independent_callers >= 2",
                "  corroborated    +20 when independent_callers >= 3",
            ),
            (
                "  bands confirmed >= 40, probable > 0, unconfirmed",
                "  bands confirmed >= 50, probable > 0, unconfirmed",
            ),
            (
                "  step classify_escape \"Classify the escape\"\n    by call_handler",
                "  step classify_escape \"Classify the escape\"\n    by control_supervisor",
            ),
            (
                "  step close_job \"Close the job\"\n        by control_supervisor\n        records [outcome, supply_status, time_on_site]\n",
                "  step close_job \"Close the job\"\n        by control_supervisor\n        records [outcome, supply_status, time_on_site]\n        needs 1 psr_pack with [heating]\n",
            ),
        ],
    };
    std::fs::write(&new, edited(&text, &edit)).unwrap();
    let (code, out, err) = procedo(&[
        "diff",
        old,
        new.to_str().unwrap(),
        "--log",
        "examples/logs/gas_emergency_line.jsonl.gz",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    insta::assert_snapshot!("diff_changes_of_many_edits", change_lines(&doc));
    // The flips of the decision on validity are tied to the validity changes.
    let changes = doc["procedures"][0]["changes"].as_array().unwrap();
    let groups = doc["procedures"][0]["history"]["flip_groups"]
        .as_array()
        .unwrap();
    let trace = groups.iter().find(|g| g["step"] == "trace").unwrap();
    let kinds: Vec<&str> = trace["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            changes[i.as_u64().unwrap() as usize]["kind"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(kinds, ["indicator-changed", "bands-changed"]);
}

#[test]
fn a_roster_and_as_of_apply_to_both_versions() {
    let p = "tests/audit/perspectives.proc";
    let (code, out, err) = procedo(&[
        "diff",
        p,
        p,
        "--log",
        "tests/audit/log.yaml",
        "--roster",
        "tests/audit/roster.csv",
        "--as-of",
        "2026-03-02T12:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let h = &doc["procedures"][0]["history"];
    assert!(h["cases"].as_u64().unwrap() > 0);
    assert_eq!(h["flips"].as_array().unwrap().len(), 0);
    assert_eq!(h["conforming_old"], h["conforming_new"]);
    let (code, _, err) = procedo(&[
        "diff",
        p,
        p,
        "--log",
        "tests/audit/log.yaml",
        "--roster",
        "no/such.csv",
    ]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn versions_that_read_the_log_differently_read_it_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("procedures");
    copy_root(&root);
    let old = "procedures/gas/gas_emergency_line.proc";
    let new = root.join("gas/gas_emergency_line.proc");
    let text = std::fs::read_to_string(old).unwrap();
    let log = "examples/logs/gas_emergency_line.jsonl.gz";
    // Another zone: each version reads the log on its own, every case matched.
    std::fs::write(
        &new,
        text.replace(
            "  attribute \"job_ref\" -> case\n",
            "  attribute \"job_ref\" -> case\n  timezone \"Europe/London\"\n",
        ),
    )
    .unwrap();
    let (code, out, err) = procedo(&[
        "diff",
        old,
        new.to_str().unwrap(),
        "--log",
        log,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("read logs differently"), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let h = &doc["procedures"][0]["history"];
    assert_eq!(h["read_once"], false);
    assert_eq!(h["cases"], 200);
    assert_eq!(h["not_comparable"], 0);
    // Another case column: no case of one reading is a case of the other, and each is
    // counted as not comparable, never as a flip.
    std::fs::write(
        &new,
        text.replace(
            "  attribute \"job_ref\" -> case\n",
            "  attribute \"case:job_number\" -> case\n",
        ),
    )
    .unwrap();
    let (code, out, err) = procedo(&[
        "diff",
        old,
        new.to_str().unwrap(),
        "--log",
        log,
        "--format",
        "json",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nothing was compared"), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let h = &doc["procedures"][0]["history"];
    assert_eq!(h["read_once"], false);
    assert_eq!(h["cases"], 0);
    assert_eq!(h["flips"].as_array().unwrap().len(), 0);
    // Every case of the old reading (200) and of the new one (by job number).
    assert!(h["not_comparable"].as_u64().unwrap() > 200);
}
