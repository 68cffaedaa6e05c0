//! BPMN 2.0 import (`procedo import`, `check --model FILE.bpmn`): any bytes give an error
//! located in the file or a draft; a draft always parses, and one the import raised no
//! error about builds; the net always has one token at its source and one at its sink.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let source = procedo::SourceFile::new("fuzz.bpmn", text.into_owned());
    let import = match procedo::bpmn::import(&source, None, "fuzz.bpmn") {
        Ok(i) => i,
        Err(d) => {
            assert!(d.location().is_some(), "an error has a place: {d:?}");
            return;
        }
    };
    let draft = procedo::SourceFile::new("draft.proc", import.draft.clone());
    if let Err(d) = procedo::ast::lower(&draft) {
        panic!("the draft parses: {d:?}\n{}", import.draft);
    }
    let clean = !import
        .diagnostics
        .iter()
        .any(|d| d.severity == procedo::Severity::Error);
    if clean {
        let mut loader = procedo::Loader::new(std::path::PathBuf::from("."));
        let unit = loader.load_text("draft.proc", &import.draft);
        let built = procedo::build(&unit);
        assert!(
            built.procedure.is_some(),
            "a draft without import errors builds: {:?}\n{}",
            built.diagnostics,
            import.draft
        );
    }
    let (net, _) = procedo::bpmn::to_net(&source, None).expect("read once, read twice");
    assert_eq!(net.initial.iter().map(|&t| t as usize).sum::<usize>(), 1);
    assert_eq!(
        net.final_marking.iter().map(|&t| t as usize).sum::<usize>(),
        1
    );
});
