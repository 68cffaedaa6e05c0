//! `procedo graph` output is valid DOT (checked by Graphviz when installed, and by a
//! small structural parser always) and valid-looking Mermaid.

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

const PROC: &str = "procedures/itsm/it_service_desk.proc";

fn graph(format: &str) -> String {
    let out = Command::cargo_bin("procedo")
        .unwrap()
        .args(["graph", PROC, "--format", format])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Checks DOT structure: a digraph header, one statement per line, balanced quotes
/// and brackets, node statements and `->` edges between declared nodes.
fn check_dot(dot: &str) -> Result<(usize, usize), String> {
    let mut lines = dot.lines();
    let head = lines.next().ok_or("empty")?;
    if !(head.starts_with("digraph \"") && head.ends_with('{')) {
        return Err(format!("bad header: {head}"));
    }
    let mut nodes = std::collections::BTreeSet::new();
    let mut edges = 0;
    let mut closed = false;
    for line in lines {
        let l = line.trim();
        if l == "}" {
            closed = true;
            continue;
        }
        if closed {
            return Err("text after closing brace".into());
        }
        if !l.ends_with(';') {
            return Err(format!("statement without `;`: {l}"));
        }
        let mut in_str = false;
        let mut escaped = false;
        let mut depth = 0i32;
        for c in l.chars() {
            if in_str {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_str = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_str = true,
                '[' => depth += 1,
                ']' => depth -= 1,
                _ => {}
            }
        }
        if in_str || depth != 0 {
            return Err(format!("unbalanced: {l}"));
        }
        let first = l.split_whitespace().next().unwrap_or("");
        if ["rankdir=TB;", "node", "edge"].contains(&first) {
            continue;
        }
        if let Some((a, rest)) = l.split_once(" -> ") {
            let b = rest.split([' ', ';']).next().unwrap_or("");
            if !nodes.contains(a) || !nodes.contains(b) {
                return Err(format!("edge between undeclared nodes: {l}"));
            }
            edges += 1;
        } else {
            nodes.insert(first.to_string());
        }
    }
    if !closed {
        return Err("no closing brace".into());
    }
    Ok((nodes.len(), edges))
}

#[test]
fn dot_output_is_well_formed() {
    let dot = graph("dot");
    let (nodes, edges) = check_dot(&dot).unwrap();
    assert!(
        nodes >= 10 && edges >= nodes - 1,
        "{nodes} nodes, {edges} edges"
    );
    assert!(dot.contains("shape=diamond"), "decisions are diamonds");
    assert!(dot.contains("label=\"true\""), "branch labels are drawn");
    assert!(
        dot.contains("xlabel=\"≤ target(respond) of log\""),
        "time limits are on edges"
    );
}

#[test]
fn graphviz_renders_every_shipped_procedure() {
    let has_dot = Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("procedures");
    let mut count = 0;
    for entry in walk(&dir) {
        let text = std::fs::read_to_string(&entry).unwrap();
        if text.lines().any(|l| l.starts_with("library ")) {
            continue;
        }
        let out = Command::cargo_bin("procedo")
            .unwrap()
            .arg("graph")
            .arg(&entry)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            entry.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let dot = String::from_utf8(out.stdout).unwrap();
        check_dot(&dot).unwrap_or_else(|e| panic!("{}: {e}", entry.display()));
        if has_dot {
            let svg = Command::new("dot")
                .arg("-Tsvg")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut child| {
                    use std::io::Write;
                    child.stdin.take().unwrap().write_all(dot.as_bytes())?;
                    child.wait_with_output()
                })
                .unwrap();
            assert!(
                svg.status.success(),
                "dot rejected {}: {}",
                entry.display(),
                String::from_utf8_lossy(&svg.stderr)
            );
            assert!(String::from_utf8_lossy(&svg.stdout).contains("<svg"));
        }
        count += 1;
    }
    assert!(count >= 3);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "proc") {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn mermaid_output_is_a_flowchart() {
    let m = graph("mermaid");
    assert!(m.starts_with("flowchart TD\n"));
    assert!(m.contains("-->|\"true\"|"));
    assert!(m.contains("n0((start))"));
    assert!(m.lines().skip(1).all(|l| l.starts_with("  n")), "{m}");
}
