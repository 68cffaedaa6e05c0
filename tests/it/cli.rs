//! The command line contract: exit codes, output formats, usage errors.

use crate::procedo;

#[test]
fn lint_clean_library_exits_zero() {
    let (code, out, _) = procedo(&["lint", "procedures/"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(" checked: 0 errors"), "{out}");
}

#[test]
fn lint_broken_file_exits_one_with_location_and_help() {
    let (code, out, _) = procedo(&[
        "lint",
        "--color",
        "never",
        "tests/errors/03_misspelled_step_keyword.proc",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("[tests/errors/03_misspelled_step_keyword.proc:"),
        "{out}"
    );
    assert!(out.contains("help:"), "{out}");
}

#[test]
fn lint_json_is_versioned_and_located() {
    let (code, out, _) = procedo(&[
        "lint",
        "--format",
        "json",
        "tests/errors/03_misspelled_step_keyword.proc",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["files"], 1);
    assert_eq!(v["errors"], 1);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "syntax");
    assert_eq!(d["severity"], "error");
    assert!(d["line"].as_u64().unwrap() > 0 && d["column"].as_u64().unwrap() > 0);
    assert!(d["help"].is_string());
}

#[test]
fn missing_path_and_bad_flags_exit_two() {
    let (code, _, err) = procedo(&["lint", "no/such/dir"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no such file or directory: `no/such/dir`"),
        "{err}"
    );
    let (code, _, _) = procedo(&["lint", "--format", "xml", "procedures/"]);
    assert_eq!(code, 2);
    let (code, _, _) = procedo(&["frobnicate"]);
    assert_eq!(code, 2);
}

#[test]
fn fmt_check_reports_unformatted_files_and_fmt_fixes_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.proc");
    std::fs::write(
        &file,
        "procedure x\nends\n done\nflow\n      step a   # why\n end done\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let (code, out, _) = procedo(&["fmt", "--check", f]);
    assert_eq!(code, 1);
    assert!(out.contains("would reformat"), "{out}");
    assert_eq!(procedo(&["fmt", f]).0, 0);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "procedure x\n\nends\n  done\n\nflow\n  step a  # why\n  end done\n"
    );
    assert_eq!(procedo(&["fmt", "--check", f]).0, 0);
}

#[test]
fn fmt_refuses_a_file_with_a_syntax_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.proc");
    std::fs::write(&file, "procedure x\nflow\n  stpe a\n").unwrap();
    let (code, _, err) = procedo(&["fmt", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("syntax error"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "procedure x\nflow\n  stpe a\n"
    );
}

#[test]
fn graph_of_a_library_is_a_usage_error() {
    let (code, _, err) = procedo(&["graph", "procedures/shared/itsm_common.proc"]);
    assert_eq!(code, 2);
    assert!(err.contains("is a library"), "{err}");
}

#[test]
fn rules_lists_and_documents_rules() {
    let (code, out, _) = procedo(&["rules"]);
    assert_eq!(code, 0);
    assert!(out.contains("unreachable-step"));
    let (code, out, _) = procedo(&["rules", "unreachable-step"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("# unreachable-step\n"));
    assert_eq!(procedo(&["rules", "nope"]).0, 2);
}

#[test]
fn help_describes_exit_codes() {
    let (code, out, _) = procedo(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Exit codes: 0 clean, 1 findings"), "{out}");
}

#[test]
fn the_procedures_root_is_found_from_a_relative_path_inside_it() {
    use assert_cmd::cargo::CommandCargoExt;
    let out = std::process::Command::cargo_bin("procedo")
        .unwrap()
        .args(["lint", "."])
        .current_dir("procedures/complaints")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("0 errors"), "{stdout}");
}
