//! Alignment alone, without reading or reporting: every case of a log aligned on a net
//! with a fresh aligner (no answers carried over between rounds), on one thread and on
//! all. The log is read once, before the clock starts; times are best of 5.
//!
//! Run: `cargo bench --bench align -- NET.pnml LOG [ACTIVITY]` (defaults: the BPIC 2013
//! incidents on pm4py's noise-0.2 and noise-0 nets). `benches/hard_nets.sh` prints these
//! beside pm4py's alignment times on the same net and log.

use std::path::Path;
use std::time::Instant;

use procedo::log::{LogOptions, read_log};
use procedo::petri::align::{Aligner, Guards, Key};
use procedo::petri::pnml::read_pnml;

fn run(net_path: &str, log_path: &str, activity: &str) {
    let net = read_pnml(Path::new(net_path)).unwrap_or_else(|e| panic!("{e}"));
    let opts = LogOptions {
        activity: activity.split(',').map(String::from).collect(),
        ..LogOptions::default()
    };
    let mut traces: Vec<Vec<String>> = Vec::new();
    read_log(
        Path::new(log_path),
        &opts,
        &mut |t| traces.push(t.events.iter().map(|e| e.activity.clone()).collect()),
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let events: usize = traces.iter().map(Vec::len).sum();
    let probe = Aligner::new(&net);
    let keys: Vec<Key> = traces
        .iter()
        .map(|t| {
            let acts: Vec<&str> = t.iter().map(String::as_str).collect();
            (probe.encode(&acts), Guards::default())
        })
        .collect();
    let mut distinct = keys.clone();
    distinct.sort();
    distinct.dedup();
    println!(
        "{net_path}: {} cases, {} variants, {events} events, block-structured: {}",
        keys.len(),
        distinct.len(),
        probe.block_structured()
    );
    for threads in [1, 0] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut best = f64::MAX;
        let mut total = 0u64;
        for _ in 0..5 {
            let start = Instant::now();
            total = pool.install(|| {
                let mut a = Aligner::new(&net);
                a.prepare(&keys);
                keys.iter()
                    .map(|k| a.align_with(k).map_or(0, |al| al.cost))
                    .sum()
            });
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!(
            "  {} thread(s): {:.4} s (best of 5), total cost {total}",
            if threads == 1 {
                "1".to_string()
            } else {
                rayon::current_num_threads().to_string()
            },
            best
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let log = "examples/data/BPI_Challenge_2013_incidents.xes.gz";
    let act = "concept:name,lifecycle:transition";
    match args.as_slice() {
        [net, log] => run(net, log, "concept:name"),
        [net, log, act] => run(net, log, act),
        _ => {
            run("tests/oracle/bpic2013_incidents.im_noise0.2.pnml", log, act);
            run("tests/oracle/bpic2013_incidents.im_noise0.pnml", log, act);
        }
    }
}
