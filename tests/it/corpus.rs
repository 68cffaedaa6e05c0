//! Every shipped procedure builds cleanly, is in canonical layout, and formatting
//! keeps its model: `fmt(fmt(x)) == fmt(x)` and `model(fmt(x)) == model(x)`, also
//! for a version of `x` whose indentation and spacing were scrambled.

use std::path::{Path, PathBuf};

use procedo::model::{Loader, build, find_root};
use procedo::source::SourceFile;

fn shipped() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "proc") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("procedures"),
        &mut out,
    );
    out.sort();
    assert!(out.len() >= 3, "the procedure library is missing");
    out
}

fn model_of(path: &Path, text: &str) -> serde_json::Value {
    let mut loader = Loader::new(find_root(path));
    let unit = loader.load_text(&path.display().to_string(), text);
    let built = build(&unit);
    let p = built.procedure.unwrap_or_else(|| {
        panic!(
            "{} does not build:\n{}",
            path.display(),
            crate::render(&built.diagnostics)
        )
    });
    p.semantic_view()
}

fn fmt(name: &str, text: &str) -> String {
    procedo::fmt::format_checked(&SourceFile::new(name, text))
        .unwrap_or_else(|d| panic!("{name}: {}", d.message))
}

/// Same statements, different layout: random indentation and doubled spaces outside strings.
fn scramble(text: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        out.push_str(&" ".repeat((i * 7) % 5));
        let mut in_str = false;
        for c in t.chars() {
            if c == '"' {
                in_str = !in_str;
            }
            out.push(c);
            if c == ' ' && !in_str && !t.starts_with('#') {
                out.push(' ');
            }
        }
        out.push('\n');
    }
    out
}

#[test]
fn shipped_procedures_build_and_lint_clean() {
    for path in shipped() {
        let (p, diags) = crate::check_file(&path);
        let errors: Vec<_> = diags
            .iter()
            .filter(|d| d.severity == procedo::Severity::Error)
            .cloned()
            .collect();
        assert!(
            errors.is_empty(),
            "{}:\n{}",
            path.display(),
            crate::render(&errors)
        );
        assert!(p.is_some());
    }
}

#[test]
fn shipped_procedures_are_formatted_and_formatting_keeps_the_model() {
    for path in shipped() {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let once = fmt(&name, &text);
        assert_eq!(
            once, text,
            "{name} is not in canonical layout (run `procedo fmt`)"
        );
        assert_eq!(fmt(&name, &once), once, "{name}: fmt is not idempotent");
        assert!(
            model_of(&path, &once) == model_of(&path, &text),
            "{name}: fmt changed the model"
        );

        let messy = scramble(&text);
        assert_ne!(messy, text);
        let tidy = fmt(&name, &messy);
        assert_eq!(
            fmt(&name, &tidy),
            tidy,
            "{name}: fmt of a scrambled copy is not idempotent"
        );
        assert!(
            model_of(&path, &tidy) == model_of(&path, &text),
            "{name}: fmt of a scrambled copy changed the model"
        );
        assert_eq!(
            tidy, text,
            "{name}: a scrambled copy does not format back to the original"
        );
    }
}

#[test]
fn every_comment_survives_formatting() {
    for path in shipped() {
        let text = std::fs::read_to_string(&path).unwrap();
        let messy = scramble(&text);
        let tidy = fmt(&path.display().to_string(), &messy);
        for line in text.lines().filter(|l| l.trim_start().starts_with('#')) {
            assert!(
                tidy.contains(line.trim()),
                "{}: comment lost: {line}",
                path.display()
            );
        }
    }
}
