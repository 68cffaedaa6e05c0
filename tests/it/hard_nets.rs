//! Nets full of silent transitions and concurrency: the inductive miner's noise-0 net of
//! BPIC 2013, where pm4py's search does not finish, against pm4py's answers; and random
//! block-structured nets, where the block alignment must cost what the state search
//! finds and replay as a valid run of the net.

use crate::procedo;

use std::collections::BTreeMap;

use procedo::petri::Net;
use procedo::petri::align::{Aligner, DEVIATION, Move, SILENT};
use proptest::prelude::*;

/// Per case: (cost, fitness) from `check --format csv`.
fn costs(out: &str) -> BTreeMap<String, (f64, f64)> {
    out.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                (f[2].parse().unwrap(), f[3].parse().unwrap()),
            )
        })
        .collect()
}

/// Every case of BPIC 2013 aligned on the noise-0 net, each cost pm4py's where pm4py
/// finished: the 200 shortest cases, and the longer ones `extend_oracle.py` reached.
#[test]
fn the_noise0_net_aligns_every_case_with_pm4pys_costs() {
    let (code, out, err) = procedo(&[
        "check",
        "--model",
        "tests/oracle/bpic2013_incidents.im_noise0.pnml",
        "examples/data/BPI_Challenge_2013_incidents.xes.gz",
        "--activity",
        "concept:name,lifecycle:transition",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("7554 cases: 7554 conforming; 65533 events read = 65533 checked + 0 rejected"),
        "{err}"
    );
    let ours = costs(&out);
    assert_eq!(ours.len(), 7554);
    let mut compared = 0;
    for (file, cost_col) in [
        (
            "tests/oracle/bpic2013_incidents.im_noise0.first200.costs.csv",
            2,
        ),
        (
            "tests/oracle/bpic2013_incidents.im_noise0.longer.costs.csv",
            2,
        ),
    ] {
        let text = std::fs::read_to_string(file).unwrap();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.trim_end().split(',').collect();
            if f.last() == Some(&"True") || f[cost_col].is_empty() {
                continue;
            }
            let (cost, fitness) = ours[f[0]];
            assert_eq!(cost, f[cost_col].parse::<f64>().unwrap(), "case {}", f[0]);
            assert_eq!(fitness, 1.0, "case {}", f[0]);
            compared += 1;
        }
    }
    assert!(compared >= 200, "{compared}");
}

/// A net's name, its log, the flags, the summary expected, and how many cases pm4py
/// answered (`None`: no pm4py answers for it).
type Run<'a> = (&'a str, &'a str, Vec<&'a str>, &'a str, Option<usize>);

/// The inductive miner's noise-0 nets of the other real logs (discovered with pm4py,
/// `tests/oracle/SOURCES.md`): every case aligned, each cost pm4py's where pm4py has
/// an answer.
#[test]
fn the_noise0_nets_of_the_other_real_logs_align_every_case_with_pm4pys_costs() {
    let bpic = "concept:name,lifecycle:transition";
    let uci = [
        "--case-column",
        "number",
        "--activity",
        "incident_state",
        "--timestamp",
        "sys_updated_at",
        "--timestamp-format",
        "%d/%m/%Y %H:%M",
        "--assume-utc",
    ];
    let runs: [Run; 7] = [
        (
            "helpdesk",
            "helpdesk.xes.gz",
            vec![],
            "4580 cases: 4580 conforming",
            Some(4580),
        ),
        (
            "bpic2013_closed",
            "BPI_Challenge_2013_closed_problems.xes.gz",
            vec!["--activity", bpic],
            "1487 cases: 1487 conforming",
            Some(1487),
        ),
        (
            "bpic2013_open",
            "BPI_Challenge_2013_open_problems.xes.gz",
            vec!["--activity", bpic],
            "819 cases: 819 conforming",
            Some(819),
        ),
        (
            "receipt",
            "receipt.csv.gz",
            vec![],
            "1434 cases: 1434 conforming",
            Some(1433),
        ),
        (
            "roadtraffic100",
            "roadtraffic100traces.xes",
            vec![],
            "100 cases: 100 conforming",
            Some(100),
        ),
        (
            "uci",
            "uci_incident_event_log.csv.gz",
            uci.to_vec(),
            "24918 cases: 24918 conforming",
            Some(24808),
        ),
        (
            "bpic14",
            "BPIC14_incident_activity_filtered.xes.gz",
            vec![],
            "41353 cases: 41353 conforming",
            None,
        ),
    ];
    for (name, log, extra, summary, oracle) in runs {
        let net = format!("tests/oracle/{name}.im_noise0.pnml");
        let log = format!("examples/data/{log}");
        let mut args = vec!["check", "--model", &net, &log, "--format", "csv"];
        args.extend(extra);
        let (code, out, err) = procedo(&args);
        assert_eq!(code, 0, "{name}: {err}");
        assert!(err.contains(summary), "{name}: {err}");
        let Some(want) = oracle else { continue };
        let ours = costs(&out);
        let text =
            std::fs::read_to_string(format!("tests/oracle/{name}.im_noise0.costs.csv")).unwrap();
        let mut compared = 0;
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.trim_end().split(',').collect();
            if f[2] == "True" {
                continue;
            }
            let want: f64 = f[3].parse().unwrap();
            assert_eq!(ours[f[0]].0, want, "{name}: case {}", f[0]);
            compared += 1;
        }
        assert_eq!(compared, want, "{name}");
    }
}

/// Traces not in the log, on the noise-0 net, through the library: the log's variants
/// changed (an event removed, one added, the order reversed), those procedo finds
/// deviating given to pm4py with five minutes each (`extend_oracle.py --traces`).
#[test]
fn deviating_traces_on_the_noise0_net_cost_what_pm4py_says() {
    let net = procedo::petri::pnml::read_pnml(std::path::Path::new(
        "tests/oracle/bpic2013_incidents.im_noise0.pnml",
    ))
    .unwrap();
    let mut aligner = Aligner::new(&net);
    assert!(aligner.block_structured());
    let text =
        std::fs::read_to_string("tests/oracle/bpic2013_incidents.im_noise0.deviating.costs.csv")
            .unwrap();
    let mut compared = 0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.trim_end().split(',').collect();
        if f[4] == "True" {
            continue;
        }
        let labels: Vec<&str> = f[0].split('|').collect();
        let want: u64 = f[2].parse().unwrap();
        assert!(want >= DEVIATION, "{labels:?}");
        let enc = aligner.encode(&labels);
        let got = aligner.align(&enc).expect("aligned").cost;
        assert_eq!(got, want, "{labels:?}");
        compared += 1;
    }
    assert!(compared >= DEVIATING_ANSWERS, "{compared}");
}

/// How many deviating traces pm4py answered in the time it was given.
const DEVIATING_ANSWERS: usize = 10;

/// A process tree, turned into a workflow net by the test's own construction.
#[derive(Debug, Clone)]
enum Tree {
    Leaf(Option<&'static str>),
    Seq(Vec<Tree>),
    Xor(Vec<Tree>),
    Par(Vec<Tree>),
    /// `body (redo body)*`, entered and left through silent transitions.
    Loop(Box<Tree>, Box<Tree>),
    /// A transition that returns to its own place, any number of times.
    Star(Option<&'static str>),
}

fn tree() -> impl Strategy<Value = Tree> {
    let label = prop_oneof![
        Just(None),
        Just(Some("a")),
        Just(Some("b")),
        Just(Some("c")),
        Just(Some("d")),
        Just(Some("e")),
        Just(Some("f")),
        Just(Some("g")),
        Just(Some("h")),
        Just(Some("i")),
        Just(Some("j")),
    ];
    let leaf = prop_oneof![
        4 => label.clone().prop_map(Tree::Leaf),
        1 => label.prop_map(Tree::Star),
    ];
    leaf.prop_recursive(4, 16, 3, |inner| {
        prop_oneof![
            2 => proptest::collection::vec(inner.clone(), 2..4).prop_map(Tree::Seq),
            2 => proptest::collection::vec(inner.clone(), 2..4).prop_map(Tree::Xor),
            4 => proptest::collection::vec(inner.clone(), 2..4).prop_map(Tree::Par),
            1 => (inner.clone(), inner).prop_map(|(a, b)| Tree::Loop(Box::new(a), Box::new(b))),
        ]
    })
}

fn labels(t: &Tree, out: &mut Vec<&'static str>) {
    match t {
        Tree::Leaf(l) | Tree::Star(l) => out.extend(l.iter().copied()),
        Tree::Seq(c) | Tree::Xor(c) | Tree::Par(c) => c.iter().for_each(|c| labels(c, out)),
        Tree::Loop(a, b) => {
            labels(a, out);
            labels(b, out);
        }
    }
}

/// Whether two branches of some parallel block share a label.
fn shared_in_parallel(t: &Tree) -> bool {
    match t {
        Tree::Leaf(_) | Tree::Star(_) => false,
        Tree::Seq(c) | Tree::Xor(c) => c.iter().any(shared_in_parallel),
        Tree::Loop(a, b) => shared_in_parallel(a) || shared_in_parallel(b),
        Tree::Par(c) => {
            let sets: Vec<Vec<&str>> = c
                .iter()
                .map(|c| {
                    let mut v = Vec::new();
                    labels(c, &mut v);
                    v
                })
                .collect();
            c.iter().any(shared_in_parallel)
                || sets.iter().enumerate().any(|(i, s)| {
                    sets[i + 1..]
                        .iter()
                        .any(|o| s.iter().any(|l| o.contains(l)))
                })
        }
    }
}

fn build(t: &Tree, net: &mut Net, from: usize, to: usize) {
    let n = net.transitions.len();
    match t {
        Tree::Leaf(l) => {
            net.add_transition(format!("t{n}"), l.map(String::from), vec![from], vec![to]);
        }
        Tree::Star(l) => {
            let x = net.add_place(format!("s{n}"));
            net.add_transition(format!("in{n}"), None, vec![from], vec![x]);
            net.add_transition(format!("t{n}"), l.map(String::from), vec![x], vec![x]);
            net.add_transition(format!("out{n}"), None, vec![x], vec![to]);
        }
        Tree::Seq(c) => {
            let mut at = from;
            for (i, c) in c.iter().enumerate() {
                let next = if i + 1 == c_len(t) {
                    to
                } else {
                    net.add_place(format!("q{}", net.places.len()))
                };
                build(c, net, at, next);
                at = next;
            }
        }
        Tree::Xor(c) => c.iter().for_each(|c| build(c, net, from, to)),
        Tree::Par(c) => {
            let starts: Vec<usize> = c
                .iter()
                .map(|_| net.add_place(format!("a{}", net.places.len())))
                .collect();
            let ends: Vec<usize> = c
                .iter()
                .map(|_| net.add_place(format!("b{}", net.places.len())))
                .collect();
            net.add_transition(format!("split{n}"), None, vec![from], starts.clone());
            net.add_transition(format!("join{n}"), None, ends.clone(), vec![to]);
            for (i, c) in c.iter().enumerate() {
                build(c, net, starts[i], ends[i]);
            }
        }
        Tree::Loop(a, b) => {
            let x = net.add_place(format!("x{}", net.places.len()));
            let y = net.add_place(format!("y{}", net.places.len()));
            net.add_transition(format!("enter{n}"), None, vec![from], vec![x]);
            net.add_transition(format!("exit{n}"), None, vec![y], vec![to]);
            build(a, net, x, y);
            build(b, net, y, x);
        }
    }
}

fn c_len(t: &Tree) -> usize {
    match t {
        Tree::Seq(c) | Tree::Xor(c) | Tree::Par(c) => c.len(),
        _ => 0,
    }
}

fn net_of(t: &Tree, merge: bool) -> Net {
    let mut net = Net::default();
    let i = net.add_place("start");
    let o = net.add_place("end");
    net.initial[i] = 1;
    net.final_marking[o] = 1;
    build(t, &mut net, i, o);
    if merge {
        merge_silent(&mut net);
    }
    net
}

/// Merges silent transitions the way pm4py's reductions do: a silent join whose only
/// output feeds only another silent transition is merged into it (a join into a join,
/// or a join into a split, giving a transition with several inputs and outputs), and
/// likewise a silent split fed only by another silent split. The place between goes.
fn merge_silent(net: &mut Net) {
    loop {
        let mut merged = false;
        for a in 0..net.transitions.len() {
            let ta = &net.transitions[a];
            if ta.label.is_some() || ta.outputs.len() != 1 {
                continue;
            }
            let y = ta.outputs[0];
            let producers = net
                .transitions
                .iter()
                .filter(|t| t.outputs.contains(&y))
                .count();
            let consumers: Vec<usize> = (0..net.transitions.len())
                .filter(|&t| net.transitions[t].inputs.contains(&y))
                .collect();
            let [b] = consumers.as_slice() else { continue };
            let b = *b;
            let tb = &net.transitions[b];
            let joins = ta.inputs.len() >= 2 && tb.inputs.len() >= 2;
            let join_split = ta.inputs.len() >= 2 && tb.outputs.len() >= 2 && tb.inputs.len() == 1;
            if b == a || tb.label.is_some() || producers != 1 || !(joins || join_split) {
                continue;
            }
            if net.initial[y] > 0 || net.final_marking[y] > 0 {
                continue;
            }
            let mut inputs: Vec<usize> = tb.inputs.iter().copied().filter(|&p| p != y).collect();
            inputs.extend(net.transitions[a].inputs.iter().copied());
            net.transitions[b].inputs = inputs;
            net.transitions.remove(a);
            merged = true;
            break;
        }
        if !merged {
            merged = merge_splits(net);
        }
        if !merged {
            break;
        }
    }
}

/// A silent split one of whose outputs is the only input of another silent split,
/// produced by nothing else: the second's outputs become the first's.
fn merge_splits(net: &mut Net) -> bool {
    for a in 0..net.transitions.len() {
        let ta = &net.transitions[a];
        if ta.label.is_some() || ta.inputs.len() != 1 || ta.outputs.len() < 2 {
            continue;
        }
        for &y in &ta.outputs {
            let producers = net
                .transitions
                .iter()
                .filter(|t| t.outputs.contains(&y))
                .count();
            let consumers: Vec<usize> = (0..net.transitions.len())
                .filter(|&t| net.transitions[t].inputs.contains(&y))
                .collect();
            let [b] = consumers.as_slice() else { continue };
            let tb = &net.transitions[*b];
            if *b == a
                || producers != 1
                || tb.label.is_some()
                || tb.inputs != [y]
                || tb.outputs.len() < 2
                || net.final_marking[y] > 0
            {
                continue;
            }
            let b = *b;
            let mut outputs: Vec<usize> = ta.outputs.iter().copied().filter(|&p| p != y).collect();
            outputs.extend(net.transitions[b].outputs.iter().copied());
            net.transitions[a].outputs = outputs;
            net.transitions.remove(b);
            return true;
        }
    }
    false
}

/// Replays an alignment on the net: every transition enabled when it fires, the
/// events consumed once each in order, the final marking reached. Returns its cost.
fn replay(net: &Net, trace: &[&str], moves: &[Move]) -> u64 {
    let mut m = net.initial.clone();
    let mut next = 0usize;
    let mut cost = 0u64;
    for mv in moves {
        let t = match *mv {
            Move::Log { event } => {
                assert_eq!(event, next, "events in order");
                next += 1;
                cost += DEVIATION;
                continue;
            }
            Move::Sync { event, transition } => {
                assert_eq!(event, next, "events in order");
                assert_eq!(
                    net.transitions[transition].label.as_deref(),
                    Some(trace[event])
                );
                next += 1;
                transition
            }
            Move::Model { transition } => {
                cost += if net.transitions[transition].label.is_some() {
                    DEVIATION
                } else {
                    SILENT
                };
                transition
            }
        };
        for &p in &net.transitions[t].inputs {
            assert!(m[p] > 0, "transition {} not enabled", net.transitions[t].id);
            m[p] -= 1;
        }
        for &p in &net.transitions[t].outputs {
            m[p] += 1;
        }
    }
    assert_eq!(next, trace.len(), "every event consumed");
    assert_eq!(m, net.final_marking, "final marking reached");
    cost
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]
    #[test]
    fn block_alignments_cost_what_the_search_finds_and_replay_on_the_net(
        t in tree(),
        trace in proptest::collection::vec(
            prop_oneof![
                Just("a"), Just("b"), Just("c"), Just("d"), Just("e"), Just("f"), Just("g"),
                Just("h"), Just("i"), Just("j"), Just("z"),
            ],
            0..7,
        ),
        merge in any::<bool>(),
    ) {
        let net = net_of(&t, merge);
        let mut blocks = Aligner::new(&net);
        prop_assert_eq!(blocks.block_structured(), !shared_in_parallel(&t));
        let mut search = Aligner::new(&net);
        search.disable_blocks();
        let enc = blocks.encode(&trace);
        let a = blocks.align(&enc).expect("aligned");
        let s = search.align(&enc).expect("searched");
        prop_assert_eq!(a.cost, s.cost);
        prop_assert_eq!(replay(&net, &trace, &a.moves), a.cost);
    }
}

/// An arbitrary small net (not made from a tree): its places 0 (start) and 1 (end),
/// transitions with random inputs and outputs, mostly one of each (state machines of
/// any shape, unstructured loops and choices included).
fn arbitrary_net() -> impl Strategy<Value = Net> {
    let places = || {
        prop_oneof![
            4 => proptest::collection::vec(0usize..5, 1..2),
            1 => proptest::collection::vec(0usize..5, 1..3),
        ]
    };
    let transition = (
        places(),
        places(),
        prop_oneof![
            Just(None),
            Just(Some("a")),
            Just(Some("b")),
            Just(Some("c"))
        ],
    );
    proptest::collection::vec(transition, 1..8).prop_map(|ts| {
        let mut net = Net::default();
        for i in 0..5 {
            net.add_place(format!("p{i}"));
        }
        net.initial[0] = 1;
        net.final_marking[1] = 1;
        for (k, (mut i, mut o, l)) in ts.into_iter().enumerate() {
            i.sort_unstable();
            i.dedup();
            o.sort_unstable();
            o.dedup();
            net.add_transition(format!("t{k}"), l.map(String::from), i, o);
        }
        net
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6000, ..ProptestConfig::default() })]
    /// Whatever the net, recognising blocks ends; where it finds them, the block
    /// alignment is a valid run costing what the search finds.
    #[test]
    fn on_arbitrary_nets_a_block_alignment_is_the_searchs_optimum(
        net in arbitrary_net(),
        trace in proptest::collection::vec(
            prop_oneof![Just("a"), Just("b"), Just("c"), Just("z")],
            0..5,
        ),
    ) {
        let mut blocks = Aligner::new(&net);
        if blocks.block_structured() {
            let mut search = Aligner::new(&net);
            search.disable_blocks();
            search.state_limit = 100_000;
            let enc = blocks.encode(&trace);
            let a = blocks.align(&enc).expect("aligned");
            prop_assert_eq!(replay(&net, &trace, &a.moves), a.cost);
            if let Some(s) = search.align(&enc) {
                prop_assert_eq!(a.cost, s.cost);
            }
        }
    }
}
