//! Front-end speed: parse + lower + resolve + type-check + graph of a generated
//! 10,000-line procedure. Run: `cargo bench --bench frontend`.

#![allow(clippy::result_large_err)]

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// A procedure of about `lines` lines using facts, a table, a score and a long flow
/// of steps with attributes, decisions, parallel blocks and loops.
fn generate(lines: usize) -> String {
    let mut s = String::from(
        "procedure bench.big \"Generated\"\n  version 1\n  owner \"bench\"\n  applies when f0 or n0 >= 1\n\nfacts\n  kind: enum a | b | c\n",
    );
    let facts = lines / 50;
    for i in 0..facts {
        let _ = writeln!(s, "  f{i}: bool\n  n{i}: int optional");
    }
    s.push_str("\nroles\n  handler\n  supervisor\n\nresources\n  unit with [response, medic] count 10\n\nends\n  done\n  stopped\n\npriority\n  scale p1 > p2 > p3\n  target p1 respond within 15m\n  target p2 respond within 1h\n  target p3 respond within 4h\n  override p1 when f0 and f1\n  table grade hit first\n    | kind | n0 | f2 | => level |\n");
    for i in 0..(lines / 40) {
        let _ = writeln!(s, "    | a, b | >= {i} | - | p2 |");
    }
    s.push_str("    | - | - | - | p3 |\n\nflow\n");
    let mut written = s.lines().count();
    let mut i = 0;
    while written + 12 < lines {
        let _ = writeln!(
            s,
            "  step s{i} \"Step {i}\"\n    within 10m of s0\n    by handler\n  decide d{i} on kind\n    when a, b\n      step t{i}\n        needs 1 unit with [response]\n    else\n      step u{i}\n  end\n  repeat r{i} at most 3\n    step v{i}\n  until f{} and n{} > 2 * 3",
            i % facts.max(1),
            (i + 1) % facts.max(1)
        );
        written += 13;
        i += 1;
    }
    s.push_str("  end done\n");
    s
}

fn frontend(c: &mut Criterion) {
    let text = generate(10_000);
    let lines = text.lines().count();
    let root = std::env::temp_dir();
    // The generated procedure must be valid, or we would be timing the error path.
    let built = procedo::model::build_text(&root, "big.proc", &text);
    assert!(
        built.procedure.is_some(),
        "{}",
        procedo::diagnostic::render(&built.diagnostics[..built.diagnostics.len().min(3)], false)
    );
    let mut g = c.benchmark_group("frontend");
    g.throughput(Throughput::Elements(lines as u64));
    g.sample_size(20);
    g.bench_function(format!("build_{lines}_lines"), |b| {
        b.iter(|| {
            black_box(procedo::model::build_text(
                &root,
                "big.proc",
                black_box(&text),
            ))
        })
    });
    g.bench_function(format!("parse_only_{lines}_lines"), |b| {
        b.iter(|| {
            black_box(procedo::ast::lower(&procedo::SourceFile::new(
                "big.proc",
                black_box(text.clone()),
            )))
        })
    });
    g.bench_function(format!("pest_only_{lines}_lines"), |b| {
        b.iter(|| black_box(procedo::syntax::parse_only(black_box(&text))))
    });
    g.finish();
}

/// Every lint rule (preview ones included) on the generated procedure and on the
/// shipped library.
fn lint(c: &mut Criterion) {
    let text = generate(10_000);
    let lines = text.lines().count();
    let root = std::env::temp_dir();
    let Some(p) = procedo::model::build_text(&root, "big.proc", &text).procedure else {
        return;
    };
    let mut all = procedo::lint::Config::default();
    all.categories
        .insert(procedo::lint::Category::Preview, procedo::lint::Level::Info);
    let mut g = c.benchmark_group("lint");
    g.sample_size(10);
    g.bench_function(format!("rules_{lines}_lines"), |b| {
        b.iter(|| black_box(procedo::lint::run_with(black_box(&p), &all)))
    });
    let lib = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("procedures");
    let mut loader = procedo::Loader::new(&lib);
    let shipped: Vec<procedo::Procedure> = [
        "itsm/it_service_desk.proc",
        "police/police_call_grading.proc",
        "ambulance/ambulance_arp_dispatch.proc",
        "shared/methane_report.proc",
    ]
    .iter()
    .filter_map(|f| loader.load_path(&lib.join(f)).ok())
    .filter_map(|u| procedo::build(&u).procedure)
    .collect();
    g.bench_function("rules_shipped_library", |b| {
        b.iter(|| {
            for p in &shipped {
                black_box(procedo::lint::run_with(p, &all));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, frontend, lint);
criterion_main!(benches);
