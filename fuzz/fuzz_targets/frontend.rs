//! The procedure front end: parse, resolve, type-check, lint, compile to a net, draw;
//! and `fmt`: a file that parses formats, the output re-parses to the same model, and
//! formatting is idempotent.
#![no_main]

use procedo::SourceFile;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let root = procedo_fuzz::repo().join("procedures");
    let built = procedo::model::build_text(&root, "fuzz.proc", &text);
    let _ = procedo::diagnostic::render(&built.diagnostics, false);
    for d in &built.diagnostics {
        assert!(!d.code.is_empty(), "a diagnostic has a code: {d:?}");
    }
    if let Some(p) = &built.procedure {
        // A procedure that builds lints and compiles to a net.
        let _ = procedo::lint::run(p);
        let net = procedo::petri::compile::compile(p);
        assert!(!net.places.is_empty(), "a built procedure has a net");
        let _ = procedo::petri::pnml::write_pnml(&net, "fuzz");
        let _ = procedo::report::graph::to_dot("fuzz", &p.graph);
        let _ = procedo::report::graph::to_mermaid(&p.graph);
    }
    let source = SourceFile::new("fuzz.proc", text.to_string());
    if procedo::ast::lower(&source).is_err() {
        return;
    }
    let formatted = match procedo::fmt::format_checked(&source) {
        Ok(f) => f,
        // The canonical layout of an item can be longer than the parser's line limit
        // (a tab in a string is written `\t`): a located error, not a bug.
        Err(d) if d.code == "fmt-line-too-long" && d.location().is_some() => return,
        Err(d) => panic!("fmt refused a file that parses: {}", d.message),
    };
    let again = procedo::fmt::format_checked(&SourceFile::new("fuzz.proc", formatted.clone()))
        .unwrap_or_else(|d| panic!("fmt refused its own output: {}", d.message));
    assert_eq!(again, formatted, "fmt is idempotent");
    let rebuilt = procedo::model::build_text(&root, "fuzz.proc", &formatted);
    match (&built.procedure, &rebuilt.procedure) {
        (Some(a), Some(b)) => {
            assert_eq!(a.semantic_view(), b.semantic_view(), "fmt keeps the model")
        }
        (None, None) => {}
        (a, b) => panic!(
            "fmt changed whether the file builds: before {}, after {}",
            a.is_some(),
            b.is_some()
        ),
    }
});
