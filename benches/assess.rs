//! Assessment throughput on one core: generated JSON Lines incidents for the shipped IT
//! service desk procedure, read, validated and assessed (no output written).
//! Run: `cargo bench --bench assess` (prints records/s and peak memory for 100k and 1M).

#![allow(clippy::result_large_err)]

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use procedo::eval::Assessor;
use procedo::input::{InputFormat, RawRecord, read_records};

fn generate(path: &Path, n: usize) {
    let levels = ["high", "medium", "low"];
    let channels = ["phone", "email", "portal", "walk_in"];
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        writeln!(
            f,
            "{{\"id\":\"INC{i:07}\",\"impact\":\"{}\",\"urgency\":\"{}\",\"channel\":\"{}\",\"vip_affected\":{},\"users_affected\":{}}}",
            levels[i % 3],
            levels[(i / 3) % 3],
            channels[i % 4],
            i % 7 == 0,
            i % 500
        )
        .unwrap();
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let proc_path = root.join("procedures/itsm/it_service_desk.proc");
    let mut loader = procedo::Loader::new(root.join("procedures"));
    let unit = loader.load_path(&proc_path).unwrap();
    let p = procedo::build(&unit)
        .procedure
        .expect("the shipped procedure builds");
    let assessor = Assessor::new(&p);
    let dir = std::env::temp_dir().join("procedo-bench-assess");
    std::fs::create_dir_all(&dir).unwrap();
    for n in [100_000usize, 1_000_000] {
        let file = dir.join(format!("incidents-{n}.jsonl"));
        if !file.exists() {
            generate(&file, n);
        }
        let start = Instant::now();
        let mut assessed = 0usize;
        let mut p1 = 0usize;
        read_records(&file, InputFormat::Jsonl, &mut |_, rec| {
            if let Ok(RawRecord::JsonText(text)) = rec
                && let Ok((f, _)) = assessor.facts_from_json_str(&text, false, &[])
            {
                let a = assessor.assess(f);
                assessed += 1;
                if a.priority.and_then(|p| p.level).as_deref() == Some("P1") {
                    p1 += 1;
                }
            }
        })
        .unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(assessed, n);
        println!(
            "assess {n:>9} records: {secs:.3} s, {:.0} records/s on one core ({p1} P1), peak RSS {} MiB",
            n as f64 / secs,
            peak_rss_kib() / 1024
        );
    }
}
