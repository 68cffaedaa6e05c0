//! Expressions: the input (one line) is put where expressions go in a procedure with
//! facts of every type (`applies when`, a `decide` condition, a parameter), built,
//! and when it builds, assessed on a few records so that the expression is evaluated.
#![no_main]

use std::sync::OnceLock;

const TEMPLATE: &str = r#"procedure fuzz.expr "Expressions"
  version "1"
  owner "fuzz"
  effective 2026-01-01
  applies when EXPR

facts
  b: bool
  u: bool or unknown counts as false
  n: int optional
  d: decimal optional
  t: text optional
  dur: duration optional
  ts: timestamp optional
  day: date optional
  e: enum low | mid | high
  xs: list of enum red | green | blue
  c: code "NN-L-NN" optional

params
  limit = EXPR

ends
  done "Done"

flow
  step a "A"
  decide which
    when EXPR
      step x "X"
    else
      step y "Y"
  end
  end done
"#;

const RECORDS: &[&str] = &[
    r#"{"b": true, "u": "unknown", "n": 3, "d": 2.5, "t": "abc", "dur": "10m", "ts": "2026-03-01T08:00:00Z", "day": "2026-03-01", "e": "mid", "xs": ["red", "blue"], "c": "10-C-01"}"#,
    r#"{"b": false, "u": true, "n": -9223372036854775808, "d": -0.0, "t": "", "e": "low", "xs": []}"#,
    r#"{"b": true, "u": false, "n": 9223372036854775807, "d": 1e308, "dur": "0s", "e": "high", "xs": ["green"]}"#,
    r#"{"b": false, "u": "unknown", "n": 0, "d": 0, "e": "low", "xs": ["red"]}"#,
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static ROOT: OnceLock<std::path::PathBuf> = OnceLock::new();
    let root = ROOT.get_or_init(|| procedo_fuzz::repo().join("procedures"));
    let expr = String::from_utf8_lossy(data).replace(['\n', '\r'], " ");
    let text = TEMPLATE.replace("EXPR", &expr);
    let built = procedo::model::build_text(root, "expr.proc", &text);
    let Some(p) = built.procedure else {
        assert!(!built.diagnostics.is_empty(), "a failed build says why");
        return;
    };
    let _ = procedo::lint::run(&p);
    let _ = procedo::petri::compile::compile(&p);
    let assessor = procedo::eval::Assessor::new(&p);
    for r in RECORDS {
        if let Ok((facts, _)) = assessor.facts_from_json_str(r, true, &[]) {
            let _ = assessor.assess(facts);
        }
    }
});
