//! Procedure tests (`NAME.test.yaml`): parsed as `procedo test` does and run against
//! a procedure with every perspective (flag byte: which procedure).
#![no_main]

use std::sync::OnceLock;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static P: OnceLock<Vec<procedo::Procedure>> = OnceLock::new();
    let ps = P.get_or_init(|| {
        [
            "tests/audit/perspectives.proc",
            "tests/assess/hit_policies.proc",
            "procedures/police/police_call_grading.proc",
        ]
        .iter()
        .map(|f| procedo_fuzz::procedure(f))
        .collect()
    });
    let Some((flag, body)) = procedo_fuzz::split_flag(data) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    let Ok(tests) = serde_yaml::from_str::<procedo::suite::TestFile>(text) else {
        return;
    };
    let p = &ps[flag as usize % ps.len()];
    let report = procedo::suite::run(p, &tests);
    assert_eq!(
        report.outcomes.len(),
        tests.incidents.len() + tests.cases.len(),
        "one outcome per test"
    );
    let c = report.coverage();
    assert!((0.0..=100.0).contains(&c), "coverage is a percentage: {c}");
});
