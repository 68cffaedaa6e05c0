//! `procedo review` through the binary: known truth from simulator profiles found
//! (flagged operators, the systemic step, nobody else), in JSON Lines, CSV and XES; the
//! JSON fields and their sums; one CSV row per finding; the support plan's before and
//! after; errors; and the HTML report in headless Chromium.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::procedo;

const AMBULANCE: &str = "procedures/ambulance/ambulance_arp_dispatch.proc";
const PROFILE: &str = "tests/review/profile.yaml";
const RAISED: [&str; 3] = ["call_handler_3", "call_handler_7", "dispatcher_2"];

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("procedo-review-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Simulates 600 cases of the ambulance procedure under the profile.
fn simulated(seed: u64, format: &str) -> (PathBuf, PathBuf) {
    let ext = match format {
        "jsonl" => "jsonl",
        "csv" => "csv",
        _ => "xes",
    };
    // Files of their own for each call: tests run in parallel, and two that simulated the
    // same seed into one file could read it half written.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let log = tmp(&format!("sim-{seed}-{n}.{ext}"));
    let truth = tmp(&format!("sim-{seed}-{n}-{ext}.truth.jsonl"));
    let seed_s = seed.to_string();
    let (code, out, err) = procedo(&[
        "simulate",
        "-p",
        AMBULANCE,
        "--cases",
        "600",
        "--seed",
        &seed_s,
        "--profile",
        PROFILE,
        "--format",
        format,
        "--truth",
        truth.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(&log, out).unwrap();
    (log, truth)
}

fn review_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["review", "--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = procedo(&all);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn keys_flagged(r: &serde_json::Value, flag: &str) -> BTreeSet<String> {
    r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["flag"] == flag)
        .map(|g| g["key"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn known_truth_is_found_across_seeds() {
    let raised: BTreeSet<String> = RAISED.iter().map(|s| s.to_string()).collect();
    for seed in 1..=3 {
        let (log, truth) = simulated(seed, "jsonl");
        // The truth names, for each operator entry, that operator as responsible: the
        // simulator's own account, independent of the reviewer.
        let truth_text = std::fs::read_to_string(&truth).unwrap();
        let mut fired_for: BTreeSet<String> = BTreeSet::new();
        for line in truth_text.lines() {
            let t: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(p) = t["profile"].as_str()
                && let Some(op) = p.strip_prefix("operator ")
            {
                assert_eq!(t["operator"], op, "{line}");
                fired_for.insert(op.to_string());
            }
        }
        assert_eq!(fired_for, raised, "seed {seed}");
        let r = review_json(&["-p", AMBULANCE, log.to_str().unwrap(), "--by", "operator"]);
        assert_eq!(r["cases"], 600);
        assert_eq!(keys_flagged(&r, "above"), raised, "seed {seed}");
        assert_eq!(keys_flagged(&r, "below"), BTreeSet::new(), "seed {seed}");
        let systemic: Vec<&str> = r["systemic"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["criterion"].as_str().unwrap())
            .collect();
        assert_eq!(systemic, ["deadline:nature_of_call:149"], "seed {seed}");
        let s = &r["systemic"][0];
        assert_eq!(s["step"], "nature_of_call");
        assert_eq!(s["code"], "deadline-missed");
        assert_eq!(s["operators"], s["operators_above"]);
        let support: BTreeSet<String> = r["support"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["who"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(support, raised, "seed {seed}");
        // Every need cites cases in which that colleague deviated.
        for n in r["support"].as_array().unwrap() {
            assert!(!n["evidence"].as_array().unwrap().is_empty());
            assert!(n["type"].is_string());
        }
    }
}

#[test]
fn every_log_format_gives_the_same_review() {
    let mut reviews = Vec::new();
    for format in ["jsonl", "csv", "xes"] {
        let (log, _) = simulated(1, format);
        let mut r = review_json(&["-p", AMBULANCE, log.to_str().unwrap(), "--by", "operator"]);
        r.as_object_mut().unwrap().remove("procedure");
        reviews.push((format, r));
    }
    for (format, r) in &reviews[1..] {
        assert_eq!(r, &reviews[0].1, "{format} differs from JSON Lines");
    }
}

#[test]
fn markdown_for_a_team_meeting() {
    let (log, _) = simulated(1, "jsonl");
    let (code, out, err) = procedo(&[
        "review",
        "-p",
        AMBULANCE,
        log.to_str().unwrap(),
        "--by",
        "operator",
        "--format",
        "markdown",
    ]);
    assert_eq!(code, 0, "{err}");
    // The same text as docs/review/simulated-ambulance-by-operator.md.
    insta::assert_snapshot!("review_markdown_simulated_ambulance", out);
}

#[test]
fn json_fields_reconcile() {
    let log = "examples/logs/ambulance_arp_dispatch.jsonl.gz";
    let r = review_json(&["-p", AMBULANCE, log, "--by", "operator"]);
    assert_eq!(r["version"], 1);
    assert_eq!(r["cases"], 200);
    let n = r["opportunities"].as_u64().unwrap();
    let d = r["deviations"].as_u64().unwrap();
    let sum = |xs: &serde_json::Value, k: &str| -> u64 {
        xs.as_array()
            .unwrap()
            .iter()
            .map(|g| g[k].as_u64().unwrap())
            .sum()
    };
    // Every opportunity is in one group and at one criterion.
    assert_eq!(sum(&r["groups"], "opportunities"), n);
    assert_eq!(sum(&r["groups"], "deviations"), d);
    assert_eq!(sum(&r["criteria"], "opportunities"), n);
    assert_eq!(sum(&r["criteria"], "deviations"), d);
    for g in r["groups"].as_array().unwrap() {
        for k in [
            "key",
            "cases",
            "opportunities",
            "deviations",
            "rate",
            "ci",
            "flag",
        ] {
            assert!(g.get(k).is_some(), "group lacks {k}: {g}");
        }
        let ci = g["ci"].as_array().unwrap();
        let rate = g["rate"].as_f64().unwrap();
        assert!(ci[0].as_f64().unwrap() <= rate && rate <= ci[1].as_f64().unwrap());
        // Below the minimum n nobody is flagged.
        if g["opportunities"].as_u64().unwrap() < 20 {
            assert!(g["flag"].is_null() && g["small"] == true);
        }
    }
    // The deviations counted match `check`'s findings on the same log: the path's
    // (control flow) and each obligation's.
    let (code, out, _) = procedo(&["check", "-p", AMBULANCE, log, "--format", "json"]);
    assert_eq!(code, 0);
    let c: serde_json::Value = serde_json::from_str(&out).unwrap();
    let violated = c["summary"]["obligations"]["violated"]
        .as_u64()
        .unwrap_or(0);
    let flow: u64 = [
        "unexpected-step",
        "wrong-order",
        "missing-step",
        "incomplete",
    ]
    .iter()
    .map(|k| c["summary"]["deviations_by_code"][k].as_u64().unwrap_or(0))
    .sum();
    // A missing-step finding naming several steps counts once per step.
    assert!(d >= violated + flow, "{d} < {violated} + {flow}");
    assert_eq!(
        r["not_judged"]["unknown"].as_u64().unwrap(),
        c["summary"]["obligations"]["unknown"].as_u64().unwrap()
    );
}

#[test]
fn csv_has_one_row_per_finding() {
    let log = "examples/logs/ambulance_arp_dispatch.jsonl.gz";
    let (code, out, err) = procedo(&["review", "-p", AMBULANCE, log, "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("case_id,code,criterion,step,actor,team,time")
    );
    let rows: Vec<&str> = lines.collect();
    let (_, out, _) = procedo(&["check", "-p", AMBULANCE, log, "--format", "jsonl"]);
    let findings: usize = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["findings"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(rows.len(), findings);
    assert!(rows.iter().all(|r| r.split(',').count() == 7), "{rows:?}");
}

#[test]
fn csv_never_hands_a_spreadsheet_a_formula() {
    let dir = tmp("formula");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("log.yaml");
    std::fs::write(
        &log,
        "cases:\n  - id: \"=HYPERLINK(\\\"x\\\")\"\n    events:\n      - {activity: nope, time: \"2026-03-02T08:00:00Z\", actor: \"@evil\"}\n",
    )
    .unwrap();
    let (_, out, _) = procedo(&[
        "review",
        "-p",
        AMBULANCE,
        log.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    let row = out.lines().nth(1).unwrap_or("");
    assert!(row.starts_with("\"'=HYPERLINK"), "{row}");
    assert!(!out.contains(",@evil"), "{out}");
}

#[test]
fn the_plan_reports_before_and_after_on_its_criteria_only() {
    let (log, _) = simulated(1, "jsonl");
    let plan = tmp("plan.yaml");
    std::fs::write(
        &plan,
        "plans:\n  - who: dispatcher_2\n    areas: [resource selection]\n    type: side-by-side or shadowing\n    target: 5%\n    start: 2026-03-03\n    review: 2026-03-31\n",
    )
    .unwrap();
    let r = review_json(&[
        "-p",
        AMBULANCE,
        log.to_str().unwrap(),
        "--by",
        "operator,area",
        "--plan",
        plan.to_str().unwrap(),
    ]);
    let p = &r["plan"][0];
    assert_eq!(p["who"], "dispatcher_2");
    assert_eq!(p["target"], 0.05);
    let cell = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "dispatcher_2 × resource selection")
        .unwrap();
    // Before and after split exactly that colleague's opportunities in those areas.
    let before = p["before"]["opportunities"].as_u64().unwrap();
    let after = p["after"]["opportunities"].as_u64().unwrap();
    assert!(before > 0 && after > 0);
    assert_eq!(before + after, cell["opportunities"].as_u64().unwrap());
    assert_eq!(
        p["before"]["deviations"].as_u64().unwrap() + p["after"]["deviations"].as_u64().unwrap(),
        cell["deviations"].as_u64().unwrap()
    );
    // Raised all along: the target is not met.
    assert_eq!(p["target_met"], false);
}

#[test]
fn bad_input_is_a_located_error() {
    let log = "examples/logs/ambulance_arp_dispatch.jsonl.gz";
    let (code, _, err) = procedo(&["review", "-p", AMBULANCE, log, "--by", "colour"]);
    assert_eq!(code, 2);
    assert!(err.contains("`--by colour` is not a breakdown"), "{err}");
    let (code, _, err) = procedo(&["review", "-p", AMBULANCE, log, "--by", "team"]);
    assert_eq!(code, 2);
    assert!(err.contains("team:COLUMN"), "{err}");
    let plan = tmp("bad-plan.yaml");
    std::fs::write(
        &plan,
        "plans:\n  - who: x\n    areas: [time standards]\n    type: coaching conversation\n    target: 150%\n    start: 2026-03-03\n",
    )
    .unwrap();
    let (code, _, err) = procedo(&[
        "review",
        "-p",
        AMBULANCE,
        log,
        "--plan",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("a target is a rate between 0 and 1"), "{err}");
    // Located at the agreement it belongs to.
    assert!(
        err.contains("plans[0]") && err.contains("bad-plan.yaml:2:"),
        "{err}"
    );
    let config = tmp("procedo.yaml");
    std::fs::write(&config, "review:\n  systemic:\n    rate: 3\n").unwrap();
    let (code, _, err) = procedo(&[
        "review",
        "-p",
        AMBULANCE,
        log,
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("`systemic.rate` is 3"), "{err}");
}

#[test]
fn a_breakdown_column_the_log_lacks_is_said() {
    let log = "examples/logs/ambulance_arp_dispatch.jsonl.gz";
    let (code, out, err) = procedo(&[
        "review",
        "-p",
        AMBULANCE,
        log,
        "--by",
        "team:no_such",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("no case of the log has a value in the column for `--by team:no_such`"),
        "{err}"
    );
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["without_column"]["team:no_such"], r["opportunities"]);
    assert_eq!(r["groups"][0]["key"], "(none)");
}

#[test]
fn support_rules_come_from_the_configuration() {
    let (log, _) = simulated(2, "jsonl");
    let config = tmp("rules.yaml");
    std::fs::write(
        &config,
        "review:\n  support:\n    - area: resource selection\n      type: refresher training\n    - type: coaching conversation\n",
    )
    .unwrap();
    let r = review_json(&[
        "-p",
        AMBULANCE,
        log.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    let dispatcher = r["support"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["who"] == "dispatcher_2")
        .unwrap();
    let area = dispatcher["areas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["area"] == "resource selection")
        .unwrap();
    assert_eq!(area["type"], "refresher training");
    assert!(area["rule"].as_str().unwrap().starts_with("rule 1:"));
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|c| {
            std::process::Command::new("sh")
                .args(["-c", &format!("command -v {c}")])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        })
}

const CHROMIUM_FLAGS: [&str; 7] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Loads the HTML report in headless Chromium: no console errors, the DOM holds the
/// figures of the JSON review, a screenshot is taken. CI sets
/// `PROCEDO_REQUIRE_CHROMIUM=1`, so there a missing browser is a failure, not a skip.
#[test]
fn the_html_report_works_in_a_real_browser() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("PROCEDO_REQUIRE_CHROMIUM").is_none(),
            "PROCEDO_REQUIRE_CHROMIUM is set but no chromium is installed"
        );
        eprintln!("note: chromium not installed; the HTML report was not loaded in a browser");
        return;
    };
    let (log, _) = simulated(3, "jsonl");
    let html = tmp("report.html");
    let (code, _, err) = procedo(&[
        "review",
        "-p",
        AMBULANCE,
        log.to_str().unwrap(),
        "--by",
        "operator",
        "--format",
        "html",
        "-o",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&html).unwrap();
    // Offline: nothing fetched from anywhere.
    for bad in ["http://", "https://", "<script", "<link", "@import"] {
        assert!(!text.contains(bad), "the report contains {bad}");
    }
    let r = review_json(&["-p", AMBULANCE, log.to_str().unwrap(), "--by", "operator"]);
    let run = |extra: &[&str]| {
        let profile = tmp(&format!("chromium-profile-{}", extra.len()));
        let out = std::process::Command::new(&browser)
            .args(CHROMIUM_FLAGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(["--enable-logging=stderr", "--v=0"])
            .args(extra)
            .arg(format!("file://{}", html.display()))
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (dom, log_text) = run(&["--dump-dom"]);
    assert!(
        !log_text
            .lines()
            .any(|l| l.contains("CONSOLE") && (l.contains("ERROR") || l.contains("Uncaught"))),
        "console errors: {log_text}"
    );
    let figure = |id: &str| -> String {
        let start = dom
            .find(&format!("id=\"{id}\">"))
            .unwrap_or_else(|| panic!("no #{id} in the DOM"));
        let rest = &dom[start + id.len() + 6..];
        rest[..rest.find('<').unwrap()].to_string()
    };
    assert_eq!(figure("cases"), r["cases"].to_string());
    assert_eq!(figure("opportunities"), r["opportunities"].to_string());
    assert_eq!(figure("deviations"), r["deviations"].to_string());
    for who in RAISED {
        assert!(
            dom.contains(&format!("<tr data-key=\"{who}\">")),
            "{who} not in the DOM"
        );
    }
    assert!(dom.contains("id=\"systemic\""));
    assert!(dom.contains("id=\"heatmap\""));
    assert!(dom.matches("<svg").count() >= 3, "trend, funnel and graph");
    let shot = tmp("report.png");
    let _ = std::fs::remove_file(&shot);
    let (_, _) = run(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1280,2400",
    ]);
    let png = std::fs::read(&shot).expect("a screenshot was written");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
}
