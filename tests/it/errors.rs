//! Broken procedures in `tests/errors/`: each gives a located diagnostic with help.
//!
//! The first line of each fixture says `# expect: CODE`; the first diagnostic must
//! have that code. The rendered diagnostics are snapshot-tested.

use std::path::Path;

#[test]
fn every_broken_procedure_gives_its_diagnostic() {
    insta::glob!("../errors", "*.proc", |path| {
        let rel = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(path);
        let text = std::fs::read_to_string(path).unwrap();
        let expected = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("{} lacks a `# expect: CODE` first line", rel.display()))
            .to_string();
        let (_, diags) = crate::check_file(Path::new(rel));
        assert!(!diags.is_empty(), "{} gave no diagnostic", rel.display());
        assert_eq!(
            diags[0].code,
            expected,
            "{}: first diagnostic\n{}",
            rel.display(),
            crate::render(&diags)
        );
        let rendered = crate::render(&diags);
        let name = rel.display().to_string();
        assert!(
            rendered.contains(&format!("[{name}:")),
            "{name}: rendering lacks file:line:col\n{rendered}"
        );
        assert!(
            rendered.contains("help:"),
            "{name}: rendering lacks a help line\n{rendered}"
        );
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn there_are_at_least_forty_distinct_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/errors");
    let n = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "proc"))
        })
        .count();
    assert!(n >= 40, "only {n} broken procedures");
}
