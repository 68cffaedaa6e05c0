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
