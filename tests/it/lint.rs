//! The lint rules: fixtures, executed documentation, generated docs, the shipped
//! library, configuration and allow comments, and SARIF validity.
//!
//! Fixtures live in `tests/lint/<rule-name>/`: every `bad*.proc` must give at
//! least one finding of that rule, every `good*.proc` none. Only the folder's own
//! rule is run on its fixtures (other rules may fire on a fixture; the executed
//! docs test is the one that checks examples trigger exactly one rule). The
//! rendered findings of each bad fixture are snapshot-tested.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use procedo::lint::{self, Config, all_rules, check_rule, example_procedure, rules_index};

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(manifest().join("tests/lint"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn build(path: &Path) -> procedo::Procedure {
    let mut loader = procedo::Loader::new(procedo::model::find_root(path));
    let unit = loader.load_path(path).unwrap();
    let built = procedo::build(&unit);
    built.procedure.unwrap_or_else(|| {
        panic!(
            "{} does not build:\n{}",
            path.display(),
            crate::render(&built.diagnostics)
        )
    })
}

#[test]
fn every_rule_has_a_fixture_folder_and_every_folder_names_a_rule() {
    let names: Vec<String> = fixture_dirs()
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for r in all_rules() {
        assert!(
            names.iter().any(|n| n == r.meta().name),
            "rule `{}` has no fixture folder tests/lint/{}/",
            r.meta().name,
            r.meta().name
        );
    }
    for n in &names {
        assert!(
            lint::find_rule(n).is_some(),
            "tests/lint/{n}/ names no rule"
        );
    }
    assert!(all_rules().len() >= 30, "only {} rules", all_rules().len());
}

#[test]
fn fixtures_trigger_their_rule_and_near_misses_do_not() {
    for dir in fixture_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let rule = lint::find_rule(&name).unwrap();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "proc"))
            .collect();
        files.sort();
        let (mut bad, mut good) = (0, 0);
        for f in files {
            let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
            if !(stem.starts_with("bad") || stem.starts_with("good")) {
                continue;
            }
            let rel = f.strip_prefix(manifest()).unwrap().to_path_buf();
            let p = build(&rel);
            let found = check_rule(&p, rule);
            if stem.starts_with("bad") {
                bad += 1;
                assert!(
                    !found.is_empty(),
                    "{} gives no `{name}` finding",
                    rel.display()
                );
                let rendered = crate::render(&found);
                assert!(
                    rendered.contains("help:"),
                    "{}: no help line\n{rendered}",
                    rel.display()
                );
                insta::assert_snapshot!(format!("{name}__{stem}"), rendered);
            } else {
                good += 1;
                assert!(
                    found.is_empty(),
                    "near miss {} gives `{name}` findings:\n{}",
                    rel.display(),
                    crate::render(&found)
                );
            }
        }
        assert!(
            bad >= 1 && good >= 1,
            "tests/lint/{name}/ needs a bad*.proc and a good*.proc"
        );
    }
}

/// Builds an example with the fixtures root (so `use` works) and runs every rule
/// the default configuration enables, plus the rule itself.
fn lint_example(text: &str, rule: &str) -> Vec<procedo::Diagnostic> {
    let root = manifest().join("tests/lint");
    let built = procedo::model::build_text(
        &root,
        &format!("{rule}-example.proc"),
        &example_procedure(text),
    );
    let p = built.procedure.unwrap_or_else(|| {
        panic!(
            "the example of `{rule}` does not build:\n{}",
            crate::render(&built.diagnostics)
        )
    });
    let mut config = Config::default();
    config.rules.insert(rule.to_string(), lint::Level::Warning);
    lint::run_with(&p, &config).findings
}

#[test]
fn documented_examples_trigger_exactly_their_rule() {
    let mut problems = Vec::new();
    for r in all_rules() {
        let m = r.meta();
        let bad = lint_example(m.bad, m.name);
        if bad.is_empty() {
            problems.push(format!("the bad example of `{}` triggers nothing", m.name));
        }
        let others: Vec<_> = bad.iter().filter(|d| d.code != m.name).collect();
        if !others.is_empty() {
            problems.push(format!(
                "the bad example of `{}` also triggers: {}",
                m.name,
                others
                    .iter()
                    .map(|d| format!("{} ({})", d.code, d.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        let good = lint_example(m.good, m.name);
        if !good.is_empty() {
            problems.push(format!(
                "the fixed example of `{}` triggers: {}",
                m.name,
                good.iter()
                    .map(|d| format!("{} ({})", d.code, d.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn rule_docs_are_generated_from_metadata() {
    let dir = manifest().join("docs/rules");
    let bless = std::env::var_os("PROCEDO_BLESS").is_some();
    if bless {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut expected = vec![("README.md".to_string(), rules_index())];
    for r in all_rules() {
        let said = lint::example_output(r.meta(), &manifest().join("tests/lint"));
        assert!(
            said.is_some(),
            "the bad example of `{}` gives no output",
            r.meta().name
        );
        expected.push((
            format!("{}.md", r.meta().name),
            lint::rule_doc_with(r.meta(), said.as_deref()),
        ));
    }
    let mut stale = Vec::new();
    for (file, text) in &expected {
        let path = dir.join(file);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            if bless {
                std::fs::write(&path, text).unwrap();
            } else {
                stale.push(file.clone());
            }
        }
    }
    for e in std::fs::read_dir(&dir).into_iter().flatten() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if !expected.iter().any(|(f, _)| *f == name) {
            if bless {
                std::fs::remove_file(dir.join(&name)).unwrap();
            } else {
                stale.push(format!("{name} (no such rule)"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "docs/rules is stale: {stale:?}; run `PROCEDO_BLESS=1 cargo test --test integration lint`"
    );
}

#[test]
fn shipped_procedures_lint_clean_and_every_allow_has_a_reason() {
    let out = procedo_cmd(&["lint", "--format", "json", "procedures/"]);
    assert_eq!(out.0, 0, "{}", out.1);
    let v: serde_json::Value = serde_json::from_str(&out.1).unwrap();
    assert_eq!(v["diagnostics"], serde_json::json!([]), "{}", out.1);
    for a in v["allowed_diagnostics"].as_array().unwrap() {
        assert!(a["reason"].is_string(), "allowed without a reason: {a}");
    }
}

fn procedo_cmd(args: &[&str]) -> (i32, String, String) {
    procedo_in(manifest(), args)
}

fn procedo_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("procedo")
        .unwrap()
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn validate_sarif(text: &str) {
    // The 2.1.0 schema's `run.language` pattern has a stray `]` that regex checkers
    // reject (the OASIS errata fixed it); apply the errata pattern in memory.
    let schema_text =
        std::fs::read_to_string(manifest().join("tests/sarif/sarif-schema-2.1.0.json"))
            .unwrap()
            .replace(
                r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#,
                r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#,
            );
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let log: serde_json::Value = serde_json::from_str(text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not validate:\n{}",
        errors.join("\n")
    );
    assert_eq!(log["version"], "2.1.0");
}

#[test]
fn sarif_of_the_library_validates_against_the_schema() {
    let (code, out, err) = procedo_cmd(&["lint", "--format", "sarif", "procedures/"]);
    assert_eq!(code, 0, "{err}");
    validate_sarif(&out);
    let log: serde_json::Value = serde_json::from_str(&out).unwrap();
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.len() >= 30);
    for r in rules {
        let uri = r["helpUri"].as_str().unwrap();
        assert!(
            uri.ends_with(&format!("docs/rules/{}.md", r["id"].as_str().unwrap())),
            "{uri}"
        );
    }
    // Allowed findings are present, suppressed in source with their reason.
    for res in run["results"].as_array().unwrap() {
        assert_eq!(res["suppressions"][0]["kind"], "inSource", "{res}");
        let uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(uri.starts_with("procedures/"), "{uri}");
        let idx = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
    }
}

#[test]
fn sarif_of_findings_and_front_end_errors_validates() {
    let (code, out, _) = procedo_cmd(&[
        "lint",
        "--format",
        "sarif",
        "tests/lint/table-gap/bad.proc",
        "tests/lint/allow-without-reason/bad.proc",
        "tests/errors/03_misspelled_step_keyword.proc",
    ]);
    assert_eq!(code, 1);
    validate_sarif(&out);
    let log: serde_json::Value = serde_json::from_str(&out).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"table-gap") && ids.contains(&"syntax"),
        "{ids:?}"
    );
    let gap = results.iter().find(|r| r["ruleId"] == "table-gap").unwrap();
    let loc = &gap["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "tests/lint/table-gap/bad.proc"
    );
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert!(loc["region"]["startLine"].as_u64().unwrap() > 1);
}

#[test]
fn deny_warnings_github_annotations_and_show_allowed() {
    let f = "tests/lint/unused-fact/bad.proc";
    assert_eq!(procedo_cmd(&["lint", f]).0, 0, "warnings alone pass");
    assert_eq!(procedo_cmd(&["lint", "--deny", "warnings", f]).0, 1);
    let (_, out, _) = procedo_cmd(&["lint", "--format", "github", f]);
    assert!(
        out.starts_with("::warning file=tests/lint/unused-fact/bad.proc,line="),
        "{out}"
    );
    assert!(
        out.contains("title=procedo(unused-fact)::fact `caller_age` is never used%0Ahelp: "),
        "{out}"
    );
    let (code, out, _) = procedo_cmd(&[
        "lint",
        "--show-allowed",
        "tests/lint/allow-without-reason/good.proc",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "unused-fact — fact `legacy_code` is never used (reason: kept for the 2025 log import)"
        ),
        "{out}"
    );
    assert!(out.contains("0 errors, 0 warnings, 1 allowed"), "{out}");
}

fn scratch(config: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("procedo.yaml"), config).unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

#[test]
fn configuration_sets_severities_ignores_paths_and_reports_its_own_errors() {
    let unused =
        std::fs::read_to_string(manifest().join("tests/lint/unused-fact/bad.proc")).unwrap();
    let naming =
        std::fs::read_to_string(manifest().join("tests/lint/naming-convention/bad.proc")).unwrap();
    let dir = scratch(
        "rules:\n  unused-fact: error\ncategories:\n  style: off\nignore:\n  - \"drafts/**\"\n",
        &[
            ("a.proc", &unused),
            ("b.proc", &naming),
            ("drafts/c.proc", "not a procedure\n"),
        ],
    );
    let (code, out, err) = procedo_in(dir.path(), &["lint", "--format", "json", "."]);
    assert_eq!(code, 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["files"], 2);
    assert_eq!(v["ignored"], 1);
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["unused-fact"], "{out}");
    assert_eq!(v["diagnostics"][0]["severity"], "error");

    let dir = scratch(
        "rules:\n  unused-fact: off\n  no-such-rule: warning\n",
        &[("a.proc", &unused)],
    );
    let (code, _, err) = procedo_in(dir.path(), &["lint", "--color", "never", "."]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown rule `no-such-rule`"), "{err}");
    assert!(err.contains("procedo.yaml:3:"), "{err}");

    let dir = scratch("rules: [1, 2\n", &[("a.proc", &unused)]);
    let (code, _, err) = procedo_in(dir.path(), &["lint", "--color", "never", "."]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("procedo.yaml:"), "{err}");
}

#[test]
fn allow_comments_cover_their_line_the_next_line_and_whole_blocks() {
    let text = "procedure example \"Example\"\n  version \"1.0\"\n  owner \"Control room manager\"\n  effective 2026-01-01\n\nends\n  closed \"Closed\"\n\nfacts\n  a: bool  # procedo: allow(unused-fact) reason \"trailing\"\n  # procedo: allow(unused-fact) reason \"next line\"\n  b: bool\n  c: bool\n\nroles\n  crew\n\n# procedo: allow(missing-doc-comment) reason \"the whole section\"\nflow\n  inform tell_crew\n    to crew\n  end closed\n";
    let built = procedo::model::build_text(manifest(), "allow.proc", text);
    let p = built.procedure.unwrap();
    let outcome = lint::run_with(&p, &Config::default());
    let left: Vec<String> = outcome
        .findings
        .iter()
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    assert_eq!(left, ["unused-fact: fact `c` is never used"], "{left:?}");
    let allowed: Vec<(&str, Option<&str>)> = outcome
        .allowed
        .iter()
        .map(|a| (a.diagnostic.code.as_str(), a.reason.as_deref()))
        .collect();
    assert_eq!(
        allowed,
        [
            ("unused-fact", Some("trailing")),
            ("unused-fact", Some("next line")),
            ("missing-doc-comment", Some("the whole section")),
        ],
        "{allowed:?}"
    );
}
