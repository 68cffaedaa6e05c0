//! `procedo.yaml`: the lint configuration (severities, ignored paths) applied to a
//! procedure, and the review configuration; also read as a review plan.
#![no_main]

use std::sync::OnceLock;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static P: OnceLock<procedo::Procedure> = OnceLock::new();
    let p = P.get_or_init(|| procedo_fuzz::procedure("tests/audit/perspectives.proc"));
    let text = String::from_utf8_lossy(data);
    let source = procedo::SourceFile::new("procedo.yaml", text.to_string());
    match procedo::lint::config::Config::parse(&source) {
        Ok(config) => {
            let out = procedo::lint::run_with(p, &config);
            let _ = out.findings.len();
            for path in ["a.proc", "x/y/z.proc", "", "../b.proc"] {
                let _ = config.is_ignored(path);
            }
        }
        Err(ds) => {
            assert!(!ds.is_empty(), "a refused configuration says why");
            for d in &ds {
                assert!(!d.code.is_empty() && !d.message.is_empty(), "{d:?}");
            }
        }
    }
    let _ = procedo::review::config::parse(&source);
    let _ = procedo::review::config::parse_plan(&source);
});
