//! The shape of the code, enforced (rust-analyzer's `tidy` idea): layers only point down,
//! the crates that shape one layer stay in it, only the CLI prints or reads the
//! environment, and every file says what it is. ARCHITECTURE.md states the same layers.

use std::path::{Path, PathBuf};

/// The layers of `src/`, lowest first. A module may use modules of lower layers only
/// (never one of its own layer but itself, never one above).
const LAYERS: &[&[&str]] = &[
    &["source", "hash", "codes"],
    &["diagnostic"],
    &["syntax"],
    &["ast"],
    &["fmt"],
    &["model"],
    &["lint", "eval", "input", "petri"],
    &["log", "bpmn"],
    &["conformance"],
    &["audit"],
    &["simulate", "check"],
    &[
        "explain", "suite", "inspect", "review", "diff", "watch", "lsp",
    ],
    &["report"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs and main.rs).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix("src").ok()?;
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    match first.strip_suffix(".rs") {
        Some("lib" | "main") => None,
        Some(m) => Some(m.to_string()),
        None => Some(first),
    }
}

/// The file's code with comments and string literals blanked, so that prose and
/// messages do not count as uses.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_str = false;
        let mut prev = '\0';
        let mut kept = String::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if !in_str && c == '/' && chars.get(i + 1) == Some(&'/') {
                break;
            }
            if c == '"' && prev != '\\' {
                in_str = !in_str;
                kept.push('"');
            } else if !in_str {
                kept.push(c);
            }
            prev = if prev == '\\' && c == '\\' { '\0' } else { c };
            i += 1;
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

/// `crate::NAME` paths a file's code names, with the line of each.
fn crate_uses(code: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(k) = rest.find("crate::") {
            let after = &rest[k + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((name.clone(), n + 1));
            }
            // `use crate::{a, b}` names several.
            if let Some(group) = after.strip_prefix('{') {
                let inner: String = group.chars().take_while(|c| *c != '}').collect();
                for part in inner.split(',') {
                    let m: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !m.is_empty() {
                        out.push((m, n + 1));
                    }
                }
            }
            rest = after;
        }
    }
    out
}

fn files() -> Vec<(PathBuf, String)> {
    let mut paths = Vec::new();
    rust_files(Path::new("src"), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

#[test]
fn every_module_has_a_layer() {
    let mut missing = Vec::new();
    for (path, _) in files() {
        if let Some(m) = module_of(&path)
            && layer_of(&m).is_none()
        {
            missing.push(format!("{} (module `{m}`)", path.display()));
        }
    }
    missing.dedup();
    assert!(
        missing.is_empty(),
        "add these modules to LAYERS here and to ARCHITECTURE.md:\n{}",
        missing.join("\n")
    );
}

#[test]
fn layers_only_point_down() {
    let mut wrong = Vec::new();
    for (path, text) in files() {
        let Some(m) = module_of(&path) else { continue };
        let Some(own) = layer_of(&m) else { continue };
        for (used, line) in crate_uses(&code_only(&text)) {
            if used == m {
                continue;
            }
            let Some(theirs) = layer_of(&used) else {
                continue;
            };
            if theirs >= own {
                wrong.push(format!(
                    "{}:{line}: `{m}` (layer {own}) uses `{used}` (layer {theirs})",
                    path.display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Whether `code` names `krate` as a path (`krate::`, `use krate`), not as part of a word.
fn names_crate(code: &str, krate: &str) -> Option<usize> {
    for (n, line) in code.lines().enumerate() {
        let mut from = 0;
        while let Some(k) = line[from..].find(krate) {
            let at = from + k;
            let before = line[..at].chars().next_back();
            let after = &line[at + krate.len()..];
            let word_start = before.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
            if word_start && (after.starts_with("::") || after.starts_with(';')) {
                return Some(n + 1);
            }
            from = at + krate.len();
        }
    }
    None
}

#[test]
fn clap_pest_and_petgraph_stay_in_their_modules() {
    // (crate, files or folders of src/ allowed to name it)
    let rules: &[(&str, &[&str])] = &[
        ("clap", &["src/cli", "src/main.rs"]),
        ("clap_complete", &["src/cli"]),
        ("clap_mangen", &["src/cli"]),
        ("pest", &["src/syntax", "src/ast/lower.rs"]),
        ("pest_derive", &["src/syntax"]),
        ("petgraph", &["src/model/graph.rs"]),
    ];
    let mut wrong = Vec::new();
    for (path, text) in files() {
        let code = code_only(&text);
        for (krate, allowed) in rules {
            if allowed.iter().any(|a| path.starts_with(a)) {
                continue;
            }
            if let Some(line) = names_crate(&code, krate) {
                wrong.push(format!("{}:{line}: names `{krate}`", path.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn only_the_cli_prints_or_reads_the_environment() {
    let banned = [
        "println!",
        "eprintln!",
        "print!(",
        "eprint!(",
        "std::env",
        "dbg!(",
    ];
    let mut wrong = Vec::new();
    for (path, text) in files() {
        if path.starts_with("src/cli") || path == Path::new("src/main.rs") {
            continue;
        }
        let code = code_only(&text);
        for (n, line) in code.lines().enumerate() {
            for b in banned {
                // `print!(` would also match inside `eprint!(` and `println!`: look for
                // the token at a word start.
                if let Some(k) = line.find(b) {
                    let before = line[..k].chars().next_back();
                    if before.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_')) {
                        wrong.push(format!("{}:{}: {b}", path.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_file_says_what_it_is() {
    let missing: Vec<String> = files()
        .into_iter()
        .filter(|(_, text)| !text.trim_start().starts_with("//!"))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a module doc (`//!`):\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_checker_catches_what_it_should() {
    // The helpers themselves: a use inside a comment or string is no use.
    let code = code_only("let x = \"crate::cli\"; // crate::cli\nuse crate::{log, model::X};\n");
    let uses: Vec<String> = crate_uses(&code).into_iter().map(|(m, _)| m).collect();
    assert_eq!(uses, ["log", "model"]);
    assert_eq!(names_crate("the cheapest run", "pest"), None);
    assert_eq!(names_crate("x\nuse pest::Parser;", "pest"), Some(2));
    assert_eq!(
        module_of(Path::new("src/audit/time.rs")).as_deref(),
        Some("audit")
    );
    assert_eq!(
        module_of(Path::new("src/explain.rs")).as_deref(),
        Some("explain")
    );
    assert_eq!(module_of(Path::new("src/lib.rs")), None);
}
