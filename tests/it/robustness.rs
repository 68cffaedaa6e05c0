//! No input panics the front end: arbitrary bytes, and mutations of the shipped
//! procedures, always give a model or diagnostics. Formatting any file that parses
//! succeeds and keeps its meaning.

use std::path::Path;

use proptest::prelude::*;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/procedures"))
}

fn corpus() -> Vec<String> {
    ["itsm/it_service_desk.proc", "shared/itsm_common.proc"]
        .iter()
        .map(|p| std::fs::read_to_string(root().join(p)).unwrap())
        .collect()
}

const TOKENS: &[&str] = &[
    "end",
    "when",
    "else",
    "->",
    "|",
    "step x",
    "decide d on",
    "repeat",
    "until",
    "parallel",
    "branch",
    "\"",
    "##",
    "#",
    "within",
    "10m",
    "of",
    "(",
    ")",
    "[",
    "]",
    ",",
    "and",
    "not",
    "is missing",
    "99999999999999999999",
    "2026-02-30",
    "25:00",
    "\n",
    "  ",
    "use \"../x.proc\"",
    "go to nowhere",
    "=>",
    "-",
    "..",
    "target(",
    "é",
];

fn exercise(text: &str) {
    let built = procedo::model::build_text(root(), "mutant.proc", text);
    if let Some(p) = &built.procedure {
        let _ = procedo::lint::run(p);
        let _ = procedo::report::graph::to_dot("x", &p.graph);
    }
    let src = procedo::SourceFile::new("mutant.proc", text);
    if procedo::ast::lower(&src).is_ok()
        && let Err(d) = procedo::fmt::format_checked(&src)
    {
        panic!(
            "fmt failed on a file that parses: {}\n---\n{text}",
            d.message
        );
    }
    let _ = procedo::diagnostic::render(&built.diagnostics, false);
}

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Insert(usize, usize),
    Truncate(usize),
    DeleteChar(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Insert(a, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        any::<usize>().prop_map(Mutation::DeleteChar),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let n = lines.len().max(1);
    match m {
        Mutation::DeleteLine(i) => {
            if !lines.is_empty() {
                lines.remove(i % n);
            }
        }
        Mutation::DuplicateLine(i) => {
            if !lines.is_empty() {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
        }
        Mutation::SwapLines(a, b) => {
            if !lines.is_empty() {
                lines.swap(a % n, b % n);
            }
        }
        Mutation::Insert(pos, tok) => {
            let joined = lines.join("\n");
            let mut at = pos % (joined.len() + 1);
            while !joined.is_char_boundary(at) {
                at -= 1;
            }
            return format!(
                "{}{}{}",
                &joined[..at],
                TOKENS[tok % TOKENS.len()],
                &joined[at..]
            );
        }
        Mutation::Truncate(at) => {
            let joined = lines.join("\n");
            let mut at = at % (joined.len() + 1);
            while !joined.is_char_boundary(at) {
                at -= 1;
            }
            return joined[..at].to_string();
        }
        Mutation::DeleteChar(at) => {
            let mut joined = lines.join("\n");
            if !joined.is_empty() {
                let mut at = at % joined.len();
                while !joined.is_char_boundary(at) {
                    at -= 1;
                }
                joined.remove(at);
            }
            return joined;
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_procedures_never_panic(which in 0usize..2, ms in proptest::collection::vec(mutation(), 1..4)) {
        let mut text = corpus()[which].clone();
        for m in &ms {
            text = apply(&text, m);
        }
        exercise(&text);
    }
}

/// Procedures whose every perspective the random cases below exercise.
fn audited() -> &'static [procedo::Procedure] {
    static P: std::sync::OnceLock<Vec<procedo::Procedure>> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        [
            "tests/audit/perspectives.proc",
            "procedures/ambulance/ambulance_arp_dispatch.proc",
            "procedures/facilities/facilities_helpdesk_reactive.proc",
            "procedures/police/police_call_grading.proc",
        ]
        .iter()
        .map(|f| {
            crate::check_file(std::path::Path::new(f))
                .0
                .expect("builds")
        })
        .collect()
    })
}

const VALUES: &[&str] = &[
    "",
    "x",
    "true",
    "maybe",
    "P1",
    "urgent",
    "crew, supervisor",
    "[a, b]",
    "- a\n- b",
    "-3",
    "99999999999999999999",
    "2026-13-40",
    "é",
    "team_lead",
    "cat1",
    "brief",
    "c1;c2",
];
const KEYS: &[&str] = &[
    "priority",
    "role",
    "reason",
    "to",
    "responsibilities",
    "actions",
    "resource",
    "capabilities",
    "acknowledges",
    "escalated_to",
    "outcome",
    "vulnerable",
    "injury",
    "case:vulnerable",
    "case:injury",
    "case:impact",
    "conscious",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Any case — steps in any order, any times (or none), any attributes — is audited and
    /// explained without a panic, with or without `--as-of`.
    #[test]
    fn random_cases_are_audited_without_panic(
        which in 0usize..4,
        events in proptest::collection::vec(
            (0usize..40, proptest::option::of(-100_000i64..10_000_000), proptest::collection::vec((0usize..KEYS.len(), 0usize..VALUES.len()), 0..4)),
            0..14,
        ),
        as_of in proptest::option::of(-1_000i64..20_000_000),
    ) {
        let p = &audited()[which];
        let steps: Vec<&String> = p.symbols.steps.keys().collect();
        let base = chrono::DateTime::parse_from_rfc3339("2026-03-27T16:00:00Z").unwrap();
        let trace = procedo::log::Trace {
            id: "x".into(),
            events: events
                .iter()
                .map(|(s, t, attrs)| procedo::log::Event {
                    activity: steps.get(*s).map_or_else(|| format!("other{s}"), |x| x.to_string()),
                    timestamp: t.map(|secs| base + chrono::Duration::seconds(secs)),
                    resource: Some(format!("a{}", s % 3)),
                    attributes: attrs
                        .iter()
                        .map(|(k, v)| (std::sync::Arc::from(KEYS[*k]), VALUES[*v].to_string()))
                        .collect(),
                })
                .collect(),
        };
        let as_of = as_of.map(|secs| (base + chrono::Duration::seconds(secs)).with_timezone(&chrono::Utc));
        let e = procedo::explain::explain(p, &trace, None, as_of, None).unwrap();
        let _ = e.human();
    }
}

// ------------------------------------------------------------------ resource bounds
// Each bound of docs/robustness.md, exceeded: a clear error, or a counted, located
// rejection.

use procedo::log::{LogOptions, ReadStats, Rejected, Trace, read_log};

/// Reads a log file: (cases as (id, activities), rejections, counts) or the error.
#[allow(clippy::type_complexity)]
fn read(
    path: &Path,
    opts: &LogOptions,
) -> Result<(Vec<(String, Vec<String>)>, Vec<Rejected>, ReadStats), String> {
    let mut cases = Vec::new();
    let mut rejected = Vec::new();
    let stats = read_log(
        path,
        opts,
        &mut |t: Trace| {
            cases.push((t.id, t.events.into_iter().map(|e| e.activity).collect()));
        },
        &mut |r| rejected.push(r),
    )?;
    Ok((cases, rejected, stats))
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_procedure_line_over_the_bound_is_a_syntax_error() {
    let long = format!("# {}", "x".repeat(10_000));
    let text = format!("procedure t.long \"Long\"\n{long}\n");
    let built = procedo::model::build_text(root(), "long.proc", &text);
    assert!(built.procedure.is_none());
    assert_eq!(built.diagnostics.len(), 1);
    let d = &built.diagnostics[0];
    assert_eq!(d.code, "syntax");
    assert_eq!(
        d.message,
        "a line of 10002 bytes, longer than the 10000 allowed"
    );
    assert_eq!(
        d.labels[0].span.start, 24,
        "the label is at the line's start"
    );
    // At the bound itself the line is read (and is only a comment).
    let at_bound = format!("procedure t.long \"Long\"\n# {}\n", "x".repeat(9_998));
    let built = procedo::model::build_text(root(), "long.proc", &at_bound);
    assert!(
        built
            .diagnostics
            .iter()
            .all(|d| !d.message.contains("bytes, longer"))
    );
}

#[test]
fn a_long_line_starting_with_a_wide_character_is_reported_without_a_panic() {
    let text = format!("procedure t.long \"Long\"\né{}\n", "é".repeat(5_000));
    let built = procedo::model::build_text(root(), "long.proc", &text);
    let d = &built.diagnostics[0];
    assert_eq!(
        d.message,
        "a line of 10002 bytes, longer than the 10000 allowed"
    );
    assert_eq!((d.labels[0].span.start, d.labels[0].span.end), (24, 26));
    assert!(crate::render(&built.diagnostics).contains("this line is too long"));
}

const MIB: usize = 1 << 20;

#[test]
fn a_json_lines_record_over_the_bound_is_rejected_at_its_line_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let huge = format!(
        "{{\"case:concept:name\": \"a\", \"concept:name\": \"{}\"}}\n",
        "x".repeat(16 * MIB)
    );
    let text = format!(
        "{{\"case:concept:name\": \"a\", \"concept:name\": \"one\"}}\n{huge}{{\"case:concept:name\": \"a\", \"concept:name\": \"two\"}}\n"
    );
    let path = write(&dir, "long.jsonl", text.as_bytes());
    let (cases, rejected, stats) = read(&path, &LogOptions::default()).unwrap();
    assert_eq!(
        cases,
        vec![("a".to_string(), vec!["one".into(), "two".into()])]
    );
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        rejected[0].location,
        format!("{}:2: record 2", path.display())
    );
    assert_eq!(
        rejected[0].reason,
        "the line is longer than 16 MiB, the most one record may be"
    );
    assert_eq!(rejected[0].kind, "unreadable-record");
    assert_eq!(
        (
            stats.events_read,
            stats.events_in_cases,
            stats.events_rejected
        ),
        (3, 2, 1)
    );
}

#[test]
fn a_json_lines_record_that_is_not_utf8_is_rejected_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"{\"case:concept:name\": \"a\", \"concept:name\": \"one\"}\n".to_vec();
    bytes.extend_from_slice(b"{\"case:concept:name\": \"a\", \"concept:name\": \"\xff\"}\n");
    bytes.extend_from_slice(b"{\"case:concept:name\": \"a\", \"concept:name\": \"two\"}\n");
    let path = write(&dir, "latin1.jsonl", &bytes);
    let (cases, rejected, stats) = read(&path, &LogOptions::default()).unwrap();
    assert_eq!(
        cases,
        vec![("a".to_string(), vec!["one".into(), "two".into()])]
    );
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        rejected[0].location,
        format!("{}:2: record 2", path.display())
    );
    assert_eq!(rejected[0].reason, "not UTF-8 text (byte 45 of the line)");
    assert_eq!(stats.rejected_by_kind.get("unreadable-record"), Some(&1));
}

#[test]
fn a_csv_row_over_the_bound_stops_the_read_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("case:concept:name,concept:name\na,one\na,\"");
    text.push_str(&"x".repeat(16 * MIB + 10));
    text.push_str("\"\na,two\n");
    let path = write(&dir, "quote.csv", text.as_bytes());
    let err = read(&path, &LogOptions::default()).unwrap_err();
    assert_eq!(
        err,
        format!(
            "{}: reading stopped: the row starting at line 3 is longer than 16 MiB, the most one record may be (an unclosed quote?)",
            path.display()
        )
    );
}

#[test]
fn an_xes_element_over_the_bound_stops_the_read_naming_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let head = "<log><trace><string key=\"concept:name\" value=\"a\"/><event><string key=\"concept:name\" value=\"";
    let text = format!(
        "{head}{}\"/></event></trace></log>",
        "x".repeat(16 * MIB + 10)
    );
    let path = write(&dir, "long.xes", text.as_bytes());
    let err = read(&path, &LogOptions::default()).unwrap_err();
    let offset = head.len() - "<string key=\"concept:name\" value=\"".len();
    assert!(
        err.starts_with(&format!(
            "{}: invalid XML near byte {offset}: ",
            path.display()
        )),
        "{err}"
    );
    assert!(
        err.ends_with(&format!(
            "the element starting at byte {offset} is longer than 16 MiB, the most one record may be"
        )),
        "{err}"
    );
}

/// An attribute element naming its key or value twice is malformed XML: the read stops
/// saying so, in the trace; other attributes may repeat (they are not read), and a key
/// written with escapes is read unescaped.
#[test]
fn an_xes_attribute_with_its_key_given_twice_stops_the_read() {
    let dir = tempfile::tempdir().unwrap();
    let log = |attr: &str| {
        format!(
            "<log><trace><string key=\"concept:name\" value=\"c1\"/><event>{attr}\
             <date key=\"time:timestamp\" value=\"2026-01-01T10:00:00Z\"/></event></trace></log>"
        )
    };
    for (attr, which) in [
        (r#"<string key="concept:name" key="x" value="A"/>"#, "key"),
        (
            r#"<string key="concept:name" value="A" value="B"/>"#,
            "value",
        ),
    ] {
        let path = write(&dir, "twice.xes", log(attr).as_bytes());
        let err = read(&path, &LogOptions::default()).unwrap_err();
        assert_eq!(
            err,
            format!(
                "{}: trace 1: bad XML attribute: `{which}` is given twice in one element",
                path.display()
            )
        );
    }
    let path = write(
        &dir,
        "ok.xes",
        log(r#"<string id="1" id="2" key="concept&#58;name" value="A &amp; B"/>"#).as_bytes(),
    );
    let (cases, rejected, _) = read(&path, &LogOptions::default()).unwrap();
    assert!(rejected.is_empty());
    assert_eq!(cases, vec![("c1".to_string(), vec!["A & B".to_string()])]);
}

/// Case ids alike but for a few digits (`INC0001234`, as service desks number them) once
/// collided in the reader's case hash: two cases with one hash looked like one case
/// scattered through the log, both were held to the end, and every later case waited
/// behind them, so the whole log was held in memory (UCI's 141,712 events: 226 MiB) and
/// cases came out of order. Every case of a sorted log now comes out as soon as it is
/// complete, in file order, whatever the per-process hash seed.
#[test]
fn alike_case_ids_do_not_collide_and_a_sorted_log_streams_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let n = 30_000;
    let mut csv = String::from("number,state,updated\n");
    for i in 0..n {
        for s in ["New", "Closed"] {
            csv.push_str(&format!("INC{i:07},{s},2016-02-29T10:00:00Z\n"));
        }
    }
    let path = write(&dir, "alike.csv", csv.as_bytes());
    let opts = LogOptions {
        case: "number".into(),
        activity: vec!["state".into()],
        timestamp: "updated".into(),
        // Few cases may wait: held ones would be handed on out of order, and counted.
        max_open_cases: 50,
        ..LogOptions::default()
    };
    let (cases, rejected, stats) = read(&path, &opts).unwrap();
    assert!(rejected.is_empty());
    assert_eq!(stats.cases_out_of_order, 0, "no case waited");
    assert_eq!(cases.len(), n);
    for (i, (id, acts)) in cases.iter().enumerate() {
        assert_eq!(id, &format!("INC{i:07}"), "case {i} in file order");
        assert_eq!(acts, &["New", "Closed"]);
    }
}

/// The same log (case `a` with five events, `b` with one) in each format.
fn five_and_one(dir: &tempfile::TempDir, format: &str) -> std::path::PathBuf {
    let events = [
        ("a", "e1"),
        ("a", "e2"),
        ("b", "f1"),
        ("a", "e3"),
        ("a", "e4"),
        ("a", "e5"),
    ];
    let text = match format {
        "csv" => std::iter::once("case:concept:name,concept:name\n".to_string())
            .chain(events.iter().map(|(c, a)| format!("{c},{a}\n")))
            .collect::<String>(),
        "jsonl" => events
            .iter()
            .map(|(c, a)| format!("{{\"case:concept:name\": \"{c}\", \"concept:name\": \"{a}\"}}\n"))
            .collect(),
        "yaml" => "cases:\n  - id: a\n    events: [{activity: e1}, {activity: e2}, {activity: e3}, {activity: e4}, {activity: e5}]\n  - id: b\n    events: [{activity: f1}]\n".to_string(),
        _ => "<log><trace><string key=\"concept:name\" value=\"a\"/><event><string key=\"concept:name\" value=\"e1\"/></event><event><string key=\"concept:name\" value=\"e2\"/></event><event><string key=\"concept:name\" value=\"e3\"/></event><event><string key=\"concept:name\" value=\"e4\"/></event><event><string key=\"concept:name\" value=\"e5\"/></event></trace><trace><string key=\"concept:name\" value=\"b\"/><event><string key=\"concept:name\" value=\"f1\"/></event></trace></log>".to_string(),
    };
    write(dir, &format!("log.{format}"), text.as_bytes())
}

#[test]
fn events_beyond_the_case_bound_are_rejected_with_their_location_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let opts = LogOptions {
        max_events_per_case: 3,
        ..LogOptions::default()
    };
    for (format, locations) in [
        ("csv", [":6: record 5", ":7: record 6"]),
        ("jsonl", [":5: record 5", ":6: record 6"]),
        ("yaml", [": case a, event 4", ": case a, event 5"]),
        ("xes", [": trace 1 (a), event 4", ": trace 1 (a), event 5"]),
    ] {
        let path = five_and_one(&dir, format);
        let (cases, rejected, stats) = read(&path, &opts).unwrap();
        let a: Vec<String> = ["e1", "e2", "e3"].map(String::from).into();
        assert!(cases.contains(&("a".to_string(), a)), "{format}: {cases:?}");
        assert!(
            cases.contains(&("b".to_string(), vec!["f1".to_string()])),
            "{format}"
        );
        let got: Vec<String> = rejected.iter().map(|r| r.location.clone()).collect();
        let want: Vec<String> = locations
            .iter()
            .map(|l| format!("{}{l}", path.display()))
            .collect();
        assert_eq!(got, want, "{format}");
        for r in &rejected {
            assert_eq!(r.kind, "case-too-long");
            assert_eq!(
                r.reason,
                "case `a` already has 3 events, the most one case may hold"
            );
        }
        assert_eq!(
            (
                stats.events_read,
                stats.events_in_cases,
                stats.events_rejected,
                stats.cases
            ),
            (6, 4, 2, 2),
            "{format}"
        );
        assert_eq!(
            stats.rejected_by_kind.get("case-too-long"),
            Some(&2),
            "{format}"
        );
    }
}

#[test]
fn more_unfinished_cases_than_the_bound_stop_the_read_at_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "interleaved.csv",
        b"case:concept:name,concept:name\na,x\nb,x\nc,x\na,y\nb,y\nc,y\n",
    );
    let opts = LogOptions {
        max_open_cases: 2,
        ..LogOptions::default()
    };
    let err = read(&path, &opts).unwrap_err();
    assert_eq!(
        err,
        format!(
            "{}:4: record 3: more than 2 cases are unfinished at once, the most a read holds; the rows of a case are far apart: sort the log by case",
            path.display()
        )
    );
    // Within the bound the same log reads whole.
    let (cases, _, stats) = read(&path, &LogOptions::default()).unwrap();
    assert_eq!(cases.len(), 3);
    assert_eq!(stats.cases_out_of_order, 0);
}

#[test]
fn finished_cases_waiting_beyond_the_bound_are_handed_on_early_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    // `a` stays unfinished until the last row; b, c and d finish behind it.
    let path = write(
        &dir,
        "waiting.jsonl",
        br#"{"case:concept:name": "a", "concept:name": "a1"}
{"case:concept:name": "b", "concept:name": "b1"}
{"case:concept:name": "c", "concept:name": "c1"}
{"case:concept:name": "d", "concept:name": "d1"}
{"case:concept:name": "a", "concept:name": "a2"}
"#,
    );
    let opts = LogOptions {
        max_open_cases: 2,
        ..LogOptions::default()
    };
    let (cases, rejected, stats) = read(&path, &opts).unwrap();
    let ids: Vec<&str> = cases.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["b", "c", "a", "d"]);
    assert_eq!(cases[2].1, ["a1", "a2"]);
    assert!(rejected.is_empty());
    assert_eq!(stats.cases_out_of_order, 2);
    assert_eq!((stats.cases, stats.events_in_cases), (4, 5));
    // Within the bound: order of first appearance.
    let (cases, _, stats) = read(&path, &LogOptions::default()).unwrap();
    let ids: Vec<&str> = cases.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d"]);
    assert_eq!(stats.cases_out_of_order, 0);
}

#[test]
fn a_document_over_the_bound_once_decompressed_is_refused() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    // 257 MiB of spaces compress to a few hundred KiB.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let block = vec![b' '; MIB];
    for _ in 0..257 {
        gz.write_all(&block).unwrap();
    }
    let bytes = gz.finish().unwrap();
    let path = write(&dir, "bomb.yaml.gz", &bytes);
    let err = read(&path, &LogOptions::default()).unwrap_err();
    assert_eq!(
        err,
        format!(
            "{}: larger than 256 MiB (once decompressed), the most a document read whole may be; write the records as JSON Lines or CSV, which are read one record at a time",
            path.display()
        )
    );
    let err =
        procedo::input::read_records(&path, procedo::input::InputFormat::Yaml, &mut |_, _| {
            panic!("no record of an oversized document")
        })
        .unwrap_err();
    assert!(
        err.contains("larger than 256 MiB (once decompressed)"),
        "{err}"
    );
}

// ------------------------------------------------------------------ defects the fuzzers found

/// `expr` target: `-n` with `n` the smallest 64-bit integer overflowed (a panic with
/// debug assertions, a wrong sign without). The fixture is the crashing input in the
/// target's template.
#[test]
fn fuzz_negating_the_smallest_integer_is_unknown() {
    let (code, out, err) = crate::procedo(&[
        "assess",
        "-p",
        "tests/robustness/negate_min.proc",
        "tests/robustness/negate_min.jsonl",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], "min");
    assert_eq!(rows[0]["applies"], serde_json::Value::Null);
    // The same overflow in a plain condition, and in durations: unknown, not wrapped.
    let text = "procedure t.neg \"Neg\"\n  version \"1\"\n  owner \"t\"\n  effective 2026-01-01\n  applies when -n < 0 and -(dur / -1) <= dur\n\nfacts\n  n: int\n  dur: duration\n\nends\n  done \"Done\"\n\nflow\n  step a \"A\"\n  end done\n";
    let built = procedo::model::build_text(root(), "neg.proc", text);
    let p = built
        .procedure
        .unwrap_or_else(|| panic!("{}", crate::render(&built.diagnostics)));
    let assessor = procedo::eval::Assessor::new(&p);
    let applies = |record: &str| {
        let (facts, _) = assessor.facts_from_json_str(record, false, &[]).unwrap();
        assessor.assess(facts).applies
    };
    assert_eq!(applies(r#"{"n": 3, "dur": "10m"}"#), Some(true));
    assert_eq!(applies(r#"{"n": -3, "dur": "10m"}"#), Some(false));
    assert_eq!(
        applies(r#"{"n": -9223372036854775808, "dur": "10m"}"#),
        None
    );
}

/// `log_jsonl` target: ordering a case's events by time compared an event without a
/// time as equal to every other, which is not an order; the standard sort panics on
/// such a comparison. The fixture is the crashing log.
#[test]
fn fuzz_a_case_mixing_timed_and_untimed_events_is_ordered_without_a_panic() {
    let path = Path::new("tests/robustness/mixed_times.jsonl");
    let mut cases = Vec::new();
    let mut rejected = Vec::new();
    let stats = read_log(
        path,
        &LogOptions::default(),
        &mut |t| cases.push(t),
        &mut |r| rejected.push(r),
    )
    .unwrap();
    assert_eq!(
        stats.events_read,
        stats.events_in_cases + stats.events_rejected
    );
    assert_eq!(
        (
            stats.cases,
            stats.events_read,
            stats.events_in_cases,
            stats.events_rejected
        ),
        (cases.len(), 80, 50, 30)
    );
    assert_eq!(cases.len(), 5);
    assert_eq!(rejected.len(), 30);
    for t in &cases {
        let times: Vec<_> = t.events.iter().filter_map(|e| e.timestamp).collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "case {} in time order",
            t.id
        );
    }
}

#[test]
fn events_without_a_time_keep_their_place_and_the_timed_ones_are_ordered() {
    let at = |s: &str| Some(chrono::DateTime::parse_from_rfc3339(s).unwrap());
    let event = |a: &str, t| procedo::log::Event {
        activity: a.into(),
        timestamp: t,
        resource: None,
        attributes: Vec::new(),
    };
    let mut t = Trace {
        id: "x".into(),
        events: vec![
            event("late", at("2026-03-02T10:00:00Z")),
            event("untimed", None),
            event("early", at("2026-03-02T09:00:00Z")),
            event("tie-first", at("2026-03-02T09:30:00Z")),
            event("tie-second", at("2026-03-02T09:30:00Z")),
        ],
    };
    t.sort_by_time();
    let order: Vec<&str> = t.events.iter().map(|e| e.activity.as_str()).collect();
    assert_eq!(
        order,
        ["early", "untimed", "tie-first", "tie-second", "late"]
    );
}

/// `pnml` target: a net whose final marking has no tokens was read, then written with
/// no final marking at all, and the written net no longer read back. The fixture is
/// the crashing input (a mutated oracle net: one final token count changed to 0).
#[test]
fn fuzz_a_net_whose_final_marking_has_no_tokens_is_refused() {
    let bytes = std::fs::read("tests/robustness/final_marking_zero.pnml").unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(
        procedo::petri::pnml::parse_pnml(&text).unwrap_err(),
        "the final marking has no tokens"
    );
    // Every net that reads writes a net that reads back the same.
    let good = std::fs::read_to_string("tests/oracle/bpic2013_incidents.im_noise0.2.pnml").unwrap();
    let net = procedo::petri::pnml::parse_pnml(&good).unwrap();
    let again =
        procedo::petri::pnml::parse_pnml(&procedo::petri::pnml::write_pnml(&net, "x")).unwrap();
    assert_eq!(again, net);
}

#[test]
fn fuzz_a_transition_labelled_by_an_id_with_line_breaks_keeps_its_label_when_written() {
    // The fuzzer's input: a transition whose id holds line breaks and mark-up and which
    // has no name of its own, so its id is its label. The label was the id as written
    // (leading line break and spaces); written as a name and read back, it was trimmed.
    let bytes =
        std::fs::read("tests/robustness/pnml_label_from_an_id_with_line_breaks.pnml").unwrap();
    let net = procedo::petri::pnml::parse_pnml(&String::from_utf8_lossy(&bytes)).unwrap();
    let again =
        procedo::petri::pnml::parse_pnml(&procedo::petri::pnml::write_pnml(&net, "x")).unwrap();
    let labels = |n: &procedo::petri::Net| {
        n.transitions
            .iter()
            .map(|t| t.label.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(labels(&again), labels(&net));
    assert!(
        labels(&net)
            .iter()
            .flatten()
            .any(|l| l.starts_with("<name>")
                && l.contains("<text>p_8</text>")
                && !l.contains('\n')),
        "{:?}",
        labels(&net)
    );
    // By hand: an id's line breaks and tabs are spaces (as XML reads an attribute), the
    // label from an id is trimmed, and an empty name falls back to the id.
    let text = "<pnml><net><page>\
         <place id=\"start\"><initialMarking><text>1</text></initialMarking></place>\
         <place id=\"end\"/>\
         <transition id=\" Log&#10;call\t\"/>\
         <transition id=\"t2\"><name><text>  </text></name></transition>\
         <arc id=\"a1\" source=\"start\" target=\" Log&#10;call\t\"/>\
         <arc id=\"a2\" source=\" Log call \" target=\"end\"/>\
         <arc id=\"a3\" source=\"start\" target=\"t2\"/>\
         <arc id=\"a4\" source=\"t2\" target=\"end\"/>\
         </page></net></pnml>";
    let net = procedo::petri::pnml::parse_pnml(text).unwrap();
    assert_eq!(
        labels(&net),
        vec![Some("Log call".to_string()), Some("t2".to_string())]
    );
    let again =
        procedo::petri::pnml::parse_pnml(&procedo::petri::pnml::write_pnml(&net, "x")).unwrap();
    assert_eq!(labels(&again), labels(&net));
}

#[test]
fn a_net_declaring_an_id_twice_is_refused() {
    let net = |extra: &str| {
        format!(
            "<pnml><net><page>\
             <place id=\"start\"><initialMarking><text>1</text></initialMarking></place>\
             <place id=\"end\"/>{extra}\
             <transition id=\"t\"><name><text>a</text></name></transition>\
             <arc id=\"a1\" source=\"start\" target=\"t\"/><arc id=\"a2\" source=\"t\" target=\"end\"/>\
             </page></net></pnml>"
        )
    };
    assert!(procedo::petri::pnml::parse_pnml(&net("")).is_ok());
    assert_eq!(
        procedo::petri::pnml::parse_pnml(&net("<place id=\"end\"/>")).unwrap_err(),
        "place `end` is declared twice"
    );
    assert_eq!(
        procedo::petri::pnml::parse_pnml(&net("<transition id=\"start\"/>")).unwrap_err(),
        "`start` is declared twice"
    );
}

#[test]
fn events_past_the_memory_bound_of_a_case_are_rejected_with_their_location_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let note = "n".repeat(1_000);
    let events = [
        ("a", "e1"),
        ("a", "e2"),
        ("a", "e3"),
        ("a", "e4"),
        ("b", "f1"),
    ];
    let xes_event = |a: &str| {
        format!(
            "<event><string key=\"concept:name\" value=\"{a}\"/><string key=\"note\" value=\"{note}\"/></event>"
        )
    };
    let logs = [
        (
            "csv",
            std::iter::once("case:concept:name,concept:name,note\n".to_string())
                .chain(events.iter().map(|(c, a)| format!("{c},{a},{note}\n")))
                .collect::<String>(),
            [":4: record 3", ":5: record 4"],
        ),
        (
            "jsonl",
            events
                .iter()
                .map(|(c, a)| {
                    format!("{{\"case:concept:name\": \"{c}\", \"concept:name\": \"{a}\", \"note\": \"{note}\"}}\n")
                })
                .collect(),
            [":3: record 3", ":4: record 4"],
        ),
        (
            "yaml",
            format!(
                "cases:\n  - id: a\n    events: [{}]\n  - id: b\n    events: [{{activity: f1, note: {note}}}]\n",
                ["e1", "e2", "e3", "e4"].map(|a| format!("{{activity: {a}, note: {note}}}")).join(", ")
            ),
            [": case a, event 3", ": case a, event 4"],
        ),
        (
            "xes",
            format!(
                "<log><trace><string key=\"concept:name\" value=\"a\"/>{}</trace><trace><string key=\"concept:name\" value=\"b\"/>{}</trace></log>",
                ["e1", "e2", "e3", "e4"].map(xes_event).join(""),
                xes_event("f1")
            ),
            [": trace 1 (a), event 3", ": trace 1 (a), event 4"],
        ),
    ];
    let opts = LogOptions {
        max_case_bytes: 2_500,
        ..LogOptions::default()
    };
    for (format, text, locations) in logs {
        let path = write(&dir, &format!("big.{format}"), text.as_bytes());
        let (cases, rejected, stats) = read(&path, &opts).unwrap();
        assert_eq!(
            cases,
            vec![
                ("a".to_string(), vec!["e1".to_string(), "e2".to_string()]),
                ("b".to_string(), vec!["f1".to_string()])
            ],
            "{format}"
        );
        let got: Vec<String> = rejected.iter().map(|r| r.location.clone()).collect();
        let want: Vec<String> = locations
            .iter()
            .map(|l| format!("{}{l}", path.display()))
            .collect();
        assert_eq!(got, want, "{format}");
        for r in &rejected {
            assert_eq!(r.kind, "case-too-large");
            assert_eq!(
                r.reason,
                "case `a` would take more than 2500 bytes of memory with this event, the most one case may take"
            );
        }
        assert_eq!(
            (
                stats.events_read,
                stats.events_in_cases,
                stats.events_rejected
            ),
            (5, 3, 2),
            "{format}"
        );
    }
    // The default bound is written in MiB.
    assert_eq!(LogOptions::default().max_case_bytes, 256 << 20);
}

/// `frontend` target: a `#` comment between an item's doc comments (or between them
/// and the item) made the item's line that comment's, and formatting moved the comment
/// again each time: not idempotent. The fixture is the crashing input (a mutated
/// shipped procedure).
#[test]
fn fuzz_formatting_a_comment_among_doc_comments_is_idempotent() {
    let bytes = std::fs::read("tests/robustness/fmt_comment_in_docs.proc").unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let once = procedo::fmt::format_checked(&procedo::SourceFile::new("f.proc", text.to_string()))
        .unwrap();
    let twice =
        procedo::fmt::format_checked(&procedo::SourceFile::new("f.proc", once.clone())).unwrap();
    assert_eq!(once, twice);
    let small = "procedure t.x \"X\"\n  version \"1\"\n  owner \"o\"\n  effective 2026-01-01\n\nfacts\n  a: bool\n  # c0\n  ## one\n  # c1\n  ## two\n  # c2\n  b: bool\n\nends\n  done \"Done\"\n\nflow\n  step s \"S\"\n  end done\n";
    let once = procedo::fmt::format_checked(&procedo::SourceFile::new("s.proc", small)).unwrap();
    assert!(
        once.contains("  a: bool\n  # c0\n  ## one\n  ## two\n  # c1\n  # c2\n  b: bool\n"),
        "{once}"
    );
    let twice =
        procedo::fmt::format_checked(&procedo::SourceFile::new("s.proc", once.clone())).unwrap();
    assert_eq!(once, twice);
    // The item's line is its own, not a comment's: a diagnostic on `b` points at `b`.
    let built =
        procedo::model::build_text(root(), "s.proc", &small.replace("b: bool", "b: nothing"));
    let d = built
        .diagnostics
        .iter()
        .find(|d| d.message.contains("nothing"))
        .unwrap();
    let at = d.labels[0].span.start;
    assert!(
        small.replace("b: bool", "b: nothing")[at..].starts_with("nothing"),
        "{d:?}"
    );
}

/// Defect 10: a table cell `em---…---ergency` (a subtraction, then 41 negations) parses,
/// but `fmt` wrote each negation of a negation in brackets, `-(-(-(…)))`, past the 32
/// levels of nesting the parser takes, and refused its own output.
#[test]
fn fuzz_a_chain_of_negations_formats_without_brackets() {
    let bytes = std::fs::read("tests/robustness/frontend_many_negations.proc").unwrap();
    let source =
        procedo::SourceFile::new("fuzz.proc", String::from_utf8_lossy(&bytes).into_owned());
    assert!(procedo::ast::lower(&source).is_ok());
    let formatted = procedo::fmt::format_checked(&source).unwrap();
    assert!(
        formatted.contains(&format!("em - {}ergency", "-".repeat(41))),
        "{formatted}"
    );
    let again =
        procedo::fmt::format_checked(&procedo::SourceFile::new("fuzz.proc", formatted.clone()));
    assert_eq!(again.unwrap(), formatted);
    // By hand: a negation of a negation, and of a bracketed sum.
    let e = |text: &str| {
        let src = format!(
            "procedure t.x \"X\"\n\nfacts\n  n: integer\n\nparams\n  k = {text}\n\nends\n  done \"Done\"\n\nflow\n  step log \"Log\"\n  end done\n"
        );
        let out = procedo::fmt::format_checked(&procedo::SourceFile::new("e.proc", src)).unwrap();
        out.lines()
            .find(|l| l.trim_start().starts_with("k ="))
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(e("-(-(-n))"), "k = ---n");
    assert_eq!(e("-(n + 1)"), "k = -(n + 1)");
}

/// Defect 11: `fmt`'s canonical layout can be longer than what was written (a tab in a
/// string is written `\t`, table columns are padded to align), and a line within the
/// parser's 10,000-byte limit came out past it: `fmt` refused its own output with an
/// "internal error". Now a table or an indicator list is left unaligned when aligning it
/// would pass the limit, and a line that is too long whatever is done (here a title
/// holding 128 tabs) is a located `fmt-line-too-long` error with the file left unchanged.
#[test]
fn fuzz_fmt_never_writes_a_line_too_long_to_parse() {
    let bytes = std::fs::read("tests/robustness/frontend_fmt_line_too_long.proc").unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let source = procedo::SourceFile::new("fuzz.proc", text.clone());
    assert!(procedo::ast::lower(&source).is_ok());
    let d = procedo::fmt::format_checked(&source).unwrap_err();
    assert_eq!(d.code, "fmt-line-too-long", "{d:?}");
    assert!(
        d.message
            .contains("a line of 10008 bytes, longer than the 10000 allowed"),
        "{}",
        d.message
    );
    let at = d.labels[0].span.start;
    assert_eq!(d.location().map(|(_, l, c)| (l, c)), Some((2, 11)));
    assert!(text[at..].starts_with("test.use_transitive"), "{d:?}");
    // Through the binary: an error (exit 2), the file untouched.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fuzz.proc");
    std::fs::write(&file, &text).unwrap();
    let (code, _, err) = crate::procedo(&["fmt", "--color", "never", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("fmt-line-too-long"), "{err}");
    assert!(!err.contains("internal error"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);

    let formats_to_itself = |text: String| {
        let out = procedo::fmt::format_checked(&procedo::SourceFile::new("wide.proc", text));
        let out = out.unwrap();
        let again =
            procedo::fmt::format_checked(&procedo::SourceFile::new("wide.proc", out.clone()));
        assert_eq!(again.unwrap(), out);
        out
    };
    // By hand: two rows of a table whose long cells are in different columns. Aligned,
    // each row would be over 12,000 bytes; the table is written unaligned, parses, and
    // formats to itself.
    let library =
        std::fs::read_to_string("procedures/complaints/complaint_handling_two_stage.proc").unwrap();
    let row = "    | true                  | serious, moderate | urgent   |";
    assert!(library.contains(row));
    let (x, y) = ("x".repeat(6000), "y".repeat(6000));
    let wide = library.replace(
        row,
        &format!("    | \"{x}\" | serious | urgent |\n    | true | \"{y}\" | urgent |"),
    );
    let formatted = formats_to_itself(wide);
    assert!(formatted.contains(&format!("    | \"{x}\" | serious | urgent |\n")));
    assert!(formatted.contains(&format!("    | true | \"{y}\" | urgent |\n")));
    assert!(formatted.contains("    | service_still_failing | harm | => level |\n"));
    // The other tables are still aligned.
    assert!(formatted.contains("    | minor             | high     | standard | standard |\n"));

    // By hand: validity indicators, a long name on one and a long condition on another.
    let police =
        std::fs::read_to_string("procedures/complaints/complaint_handling_police.proc").unwrap();
    let (eligible, out_of_time) = (
        "  eligible         +20 when relation != other",
        "  out_of_time      -30 when months_since_conduct > 12 and not good_reason_for_delay",
    );
    assert!(police.contains(eligible) && police.contains(out_of_time));
    let name = format!("eligible_{}", "e".repeat(6000));
    let wide = police.replace(eligible, &format!("  {name} +20 when relation != other"));
    let wide = wide.replace(
        out_of_time,
        &format!("  out_of_time -30 when \"{y}\" == \"\""),
    );
    let formatted = formats_to_itself(wide);
    assert!(formatted.contains(&format!("\n  {name} +20 when relation != other\n")));
    assert!(formatted.contains(&format!("\n  out_of_time -30 when \"{y}\" == \"\"\n")));
}

/// `frontend` target: a carriage return not followed by a line feed inside a comment.
/// The grammar reads it as a line end (pest's `NEWLINE`), so the next line was the
/// procedure's header; `fmt` read the comment to the line feed, kept the header inside
/// it, and its output no longer parsed (its safety net refused: "internal error", file
/// unchanged). Diagnostics numbered lines by line feeds too. A lone carriage return is
/// now a line feed when a source is read. The fixture is the crashing input (a mutated
/// test procedure, not UTF-8: read as the target reads it).
#[test]
fn fuzz_a_lone_carriage_return_ends_a_line_for_fmt_and_diagnostics_too() {
    let bytes = std::fs::read("tests/robustness/frontend_lone_carriage_return.proc").unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    assert!(text.contains("not exist%\rprocedure test.use_transitive"));
    let source = procedo::SourceFile::new("fuzz.proc", text);
    assert!(procedo::ast::lower(&source).is_ok());
    let formatted = procedo::fmt::format_checked(&source).unwrap();
    assert!(
        formatted.contains("not exist%\nprocedure test.use_transitive"),
        "{formatted}"
    );
    let again =
        procedo::fmt::format_checked(&procedo::SourceFile::new("fuzz.proc", formatted.clone()));
    assert_eq!(again.unwrap(), formatted);

    // Through the binary: the header after a lone carriage return is on line 2, `fmt`
    // rewrites the line end and the result checks clean.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cr.proc");
    std::fs::write(
        &path,
        "# a comment\rprocedure t.x \"X\"\n\nends\n  done \"Done\"\n\nflow\n  step log \"Log\"\n  end done\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let (code, out, err) = crate::procedo(&["lint", p]);
    assert!(
        err.contains("cr.proc:2:11") || out.contains("cr.proc:2:11"),
        "{code} {out} {err}"
    );
    let (code, out, _) = crate::procedo(&["fmt", "--check", p]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("would reformat"), "{out}");
    let (code, _, err) = crate::procedo(&["fmt", p]);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("# a comment\nprocedure t.x \"X\"\n")
    );
    let (code, _, _) = crate::procedo(&["fmt", "--check", p]);
    assert_eq!(code, 0);
}

/// `bpmn` target: a process id with a line break in it (a modeller's file edited by
/// hand) was written into the draft's first comment line as it was, so the draft's
/// second line began in the middle of the id and did not parse. Attribute values are now
/// read as XML reads them: line breaks and tabs (also written as `&#10;`) become spaces.
/// The fixture is the crashing input (a mutated shipped diagram).
#[test]
fn fuzz_an_id_with_a_line_break_gives_a_draft_that_parses() {
    let check = |text: String| {
        let source = procedo::SourceFile::new("x.bpmn", text);
        let import = procedo::bpmn::import(&source, None, "x.bpmn").unwrap();
        let draft = procedo::SourceFile::new("draft.proc", import.draft.clone());
        assert!(procedo::ast::lower(&draft).is_ok(), "{}", import.draft);
        import.draft
    };
    let bytes = std::fs::read("tests/robustness/bpmn_id_line_break.bpmn").unwrap();
    let draft = check(String::from_utf8_lossy(&bytes).into_owned());
    assert!(
        draft.starts_with(
            "# Draft procedure imported by `procedo import` from x.bpmn (process `Process_Compl  ntReview`).\n"
        ),
        "{draft}"
    );
    let by_reference = String::from_utf8_lossy(&bytes).replace("Compl\r\nnt", "Compl&#10;&#9;nt");
    let draft = check(by_reference);
    assert!(
        draft.contains("(process `Process_Compl  ntReview`)"),
        "{draft}"
    );
}

/// `watch_events` target: on the events' clock, an event of a finished case that lingers
/// came after its linger had ended. The timers due before the event closed the case,
/// then the event opened it again, and it closed a second time with a second final
/// verdict. The event is now rejected as `case-closed`. Through the binary: a small day
/// made for it, and the crashing input (mutated fixture events; its first byte was the
/// target's flag: the events' clock, an hour's linger).
#[test]
fn fuzz_a_case_closes_once_in_watch() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |name: &str, events: &[u8]| {
        let input = d.join(format!("{name}.jsonl"));
        std::fs::write(&input, events).unwrap();
        let verdicts = d.join(format!("{name}.verdicts.jsonl"));
        let (code, _, err) = crate::procedo(&[
            "watch",
            "-p",
            "tests/audit/perspectives.proc",
            "--state",
            d.join(format!("{name}.state")).to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--no-follow",
            "--clock",
            "event",
            "--linger",
            "1h",
            "--close-at-end",
            "--assume-utc",
            "--alerts",
            d.join(format!("{name}.alerts.jsonl")).to_str().unwrap(),
            "--verdicts",
            verdicts.to_str().unwrap(),
        ]);
        let ids: Vec<String> = std::fs::read_to_string(&verdicts)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["case_id"].as_str().unwrap().to_string()
            })
            .collect();
        (code, err, ids)
    };
    let event = |case: &str, step: &str, time: &str| {
        format!(
            "{{\"case:concept:name\": \"{case}\", \"concept:name\": \"{step}\", \"time:timestamp\": \"{time}\"}}\n"
        )
    };
    let day = [
        event("a", "log", "2026-03-02T09:00:00Z"),
        event("a", "advise", "2026-03-02T09:01:00Z"),
        event("a", "note", "2026-03-02T09:02:00Z"),
        event("a", "close", "2026-03-02T09:03:00Z"),
        // Inside the hour's linger: taken.
        event("a", "note", "2026-03-02T09:30:00Z"),
        // After it: the case closed at 10:30, its verdict is final.
        event("a", "close", "2026-03-02T11:00:00Z"),
    ]
    .concat();
    let (code, err, ids) = run("day", day.as_bytes());
    assert_eq!(code, 2, "{err}");
    assert_eq!(ids, ["a"], "{err}");
    assert!(
        err.contains(":+6: case `a` closed before this event's time; its verdict is final"),
        "{err}"
    );
    assert!(err.contains("watched 5 events (1 rejected)"), "{err}");
    let crash = std::fs::read("tests/robustness/watch_closed_twice.bin").unwrap();
    let (_, err, ids) = run("crash", &crash[1..]);
    let mut once = ids.clone();
    once.sort();
    once.dedup();
    assert_eq!(once.len(), ids.len(), "a case closes once: {ids:?}");
    assert!(
        err.contains("case `unknown-counts-as-true` closed before this event's time"),
        "{err}"
    );
}
