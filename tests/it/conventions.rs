//! Command-line conventions: shell completions, the manual page, `--quiet`, `NO_COLOR`,
//! and the flags `check`, `diff` and `watch` share spelled and read alike.

use crate::procedo;

#[test]
fn completions_for_each_shell_name_the_subcommands() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef procedo"),
        ("fish", "complete -c procedo"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let (code, out, err) = procedo(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains(marker), "{shell}: no `{marker}`");
        for sub in ["check", "import", "lint", "completions", "man"] {
            assert!(out.contains(sub), "{shell}: no `{sub}`");
        }
        // Flags of subcommands are completed too.
        assert!(out.contains("max-states"), "{shell}: no --max-states");
    }
    let (code, _, err) = procedo(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid value 'tcsh'"), "{err}");
}

#[test]
fn the_manual_page_is_roff_with_every_subcommand() {
    let (code, out, err) = procedo(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(".ie \\n(.g .ds Aq") || out.contains("\n.TH procedo 1"),
        "{}",
        &out[..200.min(out.len())]
    );
    assert!(
        out.lines().any(|l| l.starts_with(".TH procedo")),
        "no .TH line"
    );
    for sub in ["CHECK", "IMPORT", "DIFF", "WATCH", "COMPLETIONS"] {
        assert!(
            out.contains(&format!(".SH \"PROCEDO {sub}\"")),
            "no section for {sub}"
        );
    }
    assert!(out.contains("\\-\\-perspectives"), "options are listed");
}

#[test]
fn quiet_leaves_out_summaries_but_not_errors() {
    let log = "examples/logs/gas_emergency_line.jsonl.gz";
    let p = "procedures/gas/gas_emergency_line.proc";
    let (code, out, err) = procedo(&[
        "check",
        "-p",
        p,
        log,
        "--format",
        "jsonl",
        "--perspectives",
        "none",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(" cases: "), "the closing line: {err}");
    let (code, quiet_out, quiet_err) = procedo(&[
        "check",
        "-p",
        p,
        log,
        "--format",
        "jsonl",
        "--perspectives",
        "none",
        "--quiet",
    ]);
    assert_eq!(code, 0);
    assert_eq!(quiet_out, out);
    assert_eq!(quiet_err, "");
    // fmt's count line goes; an error stays.
    let (code, _, err) = procedo(&[
        "-q",
        "fmt",
        "--check",
        "procedures/gas/gas_emergency_line.proc",
    ]);
    assert_eq!((code, err.as_str()), (0, ""));
    let (code, _, err) = procedo(&["check", "-q", "-p", p, "no/such.jsonl"]);
    assert_eq!(code, 2);
    assert!(err.contains("error: "), "{err}");
}

/// Runs the binary under a pseudo-terminal (`script`), so that `--color auto` sees one.
fn on_a_terminal(no_color: Option<&str>, args: &str) -> Option<String> {
    let script = std::path::Path::new("/usr/bin/script");
    if !script.exists() {
        return None;
    }
    let bin = assert_cmd::cargo::cargo_bin("procedo");
    let mut cmd = std::process::Command::new(script);
    cmd.args(["-qec", &format!("{} {args}", bin.display()), "/dev/null"]);
    cmd.env_remove("NO_COLOR");
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let out = cmd.output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn no_color_turns_colour_off_everywhere() {
    let broken = "tests/errors/01_missing_end_of_decide.proc";
    for args in [
        format!("lint {broken}"),
        format!("graph {broken}"),
        "import tests/bpmn/complaint_review_loop.bpmn".to_string(),
        "check --help".to_string(),
        "check --no-such-flag".to_string(),
    ] {
        let Some(coloured) = on_a_terminal(None, &args) else {
            return; // no pseudo-terminal here; the unit test covers the rule
        };
        assert!(
            coloured.contains('\u{1b}'),
            "a terminal gets colour: {args}"
        );
        let plain = on_a_terminal(Some("1"), &args).unwrap();
        assert!(!plain.contains('\u{1b}'), "NO_COLOR=1 `{args}`: {plain}");
        let forced = on_a_terminal(Some("1"), &format!("--color always {args}")).unwrap();
        assert!(forced.contains('\u{1b}'), "--color always wins: {args}");
    }
    // `--color never` turns clap's own help colour off on a terminal too.
    if let Some(plain) = on_a_terminal(None, "--color never check --help") {
        assert!(!plain.contains('\u{1b}'), "{plain}");
    }
    // Not a terminal (the harness pipes): never colour with auto.
    let (_, out, err) = procedo(&["lint", broken]);
    assert!(!out.contains('\u{1b}') && !err.contains('\u{1b}'));
}

#[test]
fn check_diff_and_watch_share_their_judging_flags() {
    for cmd in ["check", "diff", "watch"] {
        let (code, out, _) = procedo(&[cmd, "--help"]);
        assert_eq!(code, 0);
        for flag in [
            "--perspectives <LIST>",
            "--roster <FILE>",
            "--max-states <N>",
        ] {
            assert!(out.contains(flag), "`{cmd} --help` lacks {flag}");
        }
    }
    let gas = "procedures/gas/gas_emergency_line.proc";
    let log = "examples/logs/gas_emergency_line.jsonl.gz";
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    for args in [
        vec!["check", "-p", gas, log, "--max-states", "0"],
        vec!["diff", gas, gas, "--log", log, "--max-states", "0"],
        vec![
            "watch",
            "-p",
            gas,
            "--state",
            state,
            "--input",
            log,
            "--no-follow",
            "--max-states",
            "0",
        ],
    ] {
        let (code, _, err) = procedo(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.contains("--max-states must be at least 1"),
            "{args:?}: {err}"
        );
    }
    for cmd in ["check", "diff", "watch"] {
        let (code, _, err) = procedo(&[cmd, "--perspectives", "colour"]);
        assert_eq!(code, 2);
        assert!(
            err.contains("invalid value 'colour' for '--perspectives <LIST>'"),
            "{cmd}: {err}"
        );
    }
}
