//! Helpers shared by the fuzz targets: the fixed procedures the inputs are read
//! against, a scratch file per process (the readers take paths, as the CLI does),
//! gzip, and the reconciliation of what a log reader reports.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use procedo::Procedure;

/// The repository root (the fuzz crate lives in `fuzz/`).
pub fn repo() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

/// Builds a procedure of the repository, which must build (`use` resolved against
/// `procedures/` for a shipped procedure, else against its folder).
pub fn procedure(relative: &str) -> Procedure {
    let path = repo().join(relative);
    let text = std::fs::read_to_string(&path).expect("fixture procedure readable");
    let root = if relative.starts_with("procedures/") {
        repo().join("procedures")
    } else {
        path.parent().expect("has a folder").to_path_buf()
    };
    let built = procedo::model::build_text(&root, relative, &text);
    built
        .procedure
        .unwrap_or_else(|| panic!("{relative} must build: {:?}", built.diagnostics))
}

/// A scratch directory of this process (in /dev/shm when there is one).
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("procedo-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    })
}

/// How the fuzz input is stored: as it is, gzipped (a valid stream of its bytes), or
/// as it is under a `.gz` name (a corrupt stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    Plain,
    Gzip,
    BadGzip,
}

impl Packing {
    pub fn from_flag(flag: u8) -> Packing {
        match flag % 4 {
            0 | 1 => Packing::Plain,
            2 => Packing::Gzip,
            _ => Packing::BadGzip,
        }
    }
}

/// Writes `data` to the scratch file `name` (with `.gz` added unless `Plain`), returns
/// its path.
pub fn write_input(name: &str, data: &[u8], packing: Packing) -> PathBuf {
    let path = match packing {
        Packing::Plain => scratch().join(name),
        Packing::Gzip | Packing::BadGzip => scratch().join(format!("{name}.gz")),
    };
    let bytes = match packing {
        Packing::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(data).expect("gzip in memory");
            gz.finish().expect("gzip in memory")
        }
        Packing::Plain | Packing::BadGzip => data.to_vec(),
    };
    std::fs::write(&path, bytes).expect("scratch file writable");
    path
}

/// Splits a flag byte off the input.
pub fn split_flag(data: &[u8]) -> Option<(u8, &[u8])> {
    data.split_first().map(|(f, rest)| (*f, rest))
}

/// Checks that a log read reconciles: every event read is in a case or rejected, the
/// rejections by kind add up, every rejection was handed on with a location and a
/// reason, and every case handed on was counted.
pub fn reconcile(
    stats: &procedo::log::ReadStats,
    rejections: &[procedo::log::Rejected],
    cases_seen: usize,
    events_seen: usize,
) {
    assert_eq!(
        stats.events_read,
        stats.events_in_cases + stats.events_rejected,
        "events read = in cases + rejected: {stats:?}"
    );
    assert_eq!(
        stats.rejected_by_kind.values().sum::<usize>(),
        stats.events_rejected,
        "rejections by kind add up: {stats:?}"
    );
    assert_eq!(
        rejections.len(),
        stats.events_rejected,
        "each rejection handed on"
    );
    for r in rejections {
        assert!(!r.location.is_empty(), "a rejection has a location: {r:?}");
        assert!(!r.reason.is_empty(), "a rejection has a reason: {r:?}");
        assert!(!r.kind.is_empty(), "a rejection has a kind: {r:?}");
    }
    assert_eq!(stats.cases, cases_seen, "every case counted is handed on");
    assert_eq!(
        stats.events_in_cases,
        events_seen + stats.events_collapsed,
        "events in cases = events handed on + collapsed: {stats:?}"
    );
}

/// Reads a log through the check pipeline, as `procedo check` does, against
/// `tests/audit/perspectives.proc` with its roster, and checks the counts reconcile.
/// The flag byte chooses the packing (bits 0-1), collapsing repeats (bit 2), file
/// order (bit 3) and assuming UTC for local times (bit 4).
pub fn check_log(extension: &str, data: &[u8]) {
    use procedo::check::{CheckOptions, Checker};
    struct Fixture {
        procedure: Procedure,
        net: procedo::petri::Net,
        roster: procedo::audit::Roster,
    }
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    let fx = FIXTURE.get_or_init(|| {
        let procedure = procedure("tests/audit/perspectives.proc");
        let net = procedo::petri::compile::compile(&procedure);
        let roster = procedo::audit::Roster::read(&repo().join("tests/audit/roster.csv"))
            .expect("fixture roster");
        Fixture {
            procedure,
            net,
            roster,
        }
    });
    let Some((flag, body)) = split_flag(data) else {
        return;
    };
    let path = write_input(&format!("log.{extension}"), body, Packing::from_flag(flag));
    let flags = procedo::log::LogFlags {
        collapse_repeats: flag & 4 != 0,
        keep_file_order: flag & 8 != 0,
        assume_utc: flag & 16 != 0,
        paths: vec![path.clone()],
        ..Default::default()
    };
    let read = procedo::log::log_options(Some(&fx.procedure), &flags).expect("log options");
    let opts = CheckOptions {
        // Small enough that a hostile case cannot hold the fuzzer for long.
        max_states: Some(5_000),
        ..CheckOptions::default()
    };
    let mut checker =
        Checker::new(&fx.net, Some(&fx.procedure), opts, Some(fx.roster.clone())).expect("checker");
    let log_opts = procedo::log::LogOptions {
        keep_attributes: false,
        extra: checker.columns().into_iter().collect(),
        ..read
    };
    checker.read_times_as(&log_opts);
    let mut cases = 0usize;
    let mut events = 0usize;
    let rejections = std::sync::Mutex::new(Vec::new());
    let stats = checker
        .run::<()>(
            &[path],
            &log_opts,
            &mut |c| {
                cases += 1;
                events += c.trace.events.len();
                Ok(())
            },
            &mut |r| rejections.lock().expect("not poisoned").push(r),
        )
        .expect("each never fails");
    let rejections = rejections.into_inner().expect("not poisoned");
    if stats.unreadable.is_empty() {
        reconcile(&stats.read, &rejections, cases, events);
    } else {
        for (log, why) in &stats.unreadable {
            assert!(
                !log.is_empty() && !why.is_empty(),
                "an unreadable log says why"
            );
        }
    }
}

/// `watch`'s events: each line of the input (after the flag byte) is one event given to
/// the monitor, as the CLI gives them; bit 0 of the flag replays on the events' clock,
/// bit 1 lets finished cases linger, bit 2 moves the clock an hour on after each event
/// (timers fire). Every line is taken or rejected with its kind and reason; every case
/// taken closes once, with a verdict.
pub fn watch_events(data: &[u8]) {
    use procedo::check::{CheckOptions, Checker};
    use procedo::watch::{Changes, Monitor, Options};
    use std::collections::BTreeSet;
    struct Fixture {
        procedure: Procedure,
        net: procedo::petri::Net,
    }
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    let fx = FIXTURE.get_or_init(|| {
        let procedure = procedure("tests/audit/perspectives.proc");
        let net = procedo::petri::compile::compile(&procedure);
        Fixture { procedure, net }
    });
    let Some((flag, body)) = split_flag(data) else {
        return;
    };
    let flags = procedo::log::LogFlags {
        paths: vec![PathBuf::from("events.jsonl")],
        assume_utc: true,
        ..Default::default()
    };
    let read = procedo::log::log_options(Some(&fx.procedure), &flags).expect("log options");
    let opts = CheckOptions {
        max_states: Some(5_000),
        ..CheckOptions::default()
    };
    let mut checker = Checker::new(&fx.net, Some(&fx.procedure), opts, None).expect("checker");
    let log_opts = procedo::log::LogOptions {
        format: Some(procedo::log::LogFormat::Jsonl),
        keep_attributes: false,
        extra: checker.columns().into_iter().collect(),
        ..read
    };
    checker.read_times_as(&log_opts);
    checker.limit_cache(1_000);
    let mut monitor = Monitor::new(
        checker,
        procedo::log::LineReader::new(log_opts),
        Options {
            close_idle: None,
            linger: (flag & 2 != 0).then(|| chrono::Duration::hours(1)),
            event_clock: flag & 1 != 0,
        },
    );
    let mut changes = Changes::default();
    let mut lines = 0u64;
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut closed: Vec<String> = Vec::new();
    for line in body.split(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines += 1;
        let Ok(text) = std::str::from_utf8(line) else {
            monitor.reject("unreadable-record");
            continue;
        };
        let before = changes.accepted.len();
        let gone = closed.clone();
        match monitor.event(text, &mut |c| gone.iter().any(|x| x == c), &mut changes) {
            Ok(()) => {
                assert_eq!(changes.accepted.len(), before + 1, "a taken event is recorded");
                taken.insert(changes.accepted[before].0.clone());
            }
            Err(e) => {
                assert!(!e.kind.is_empty() && !e.reason.is_empty(), "a rejection says why");
                if e.fatal {
                    return;
                }
            }
        }
        if flag & 4 != 0 {
            if let Some(now) = monitor.clock() {
                monitor.advance(now + chrono::Duration::hours(1), true, &mut changes);
            }
        }
        closed.extend(changes.closed.drain(..).map(|c| c.case));
    }
    monitor.close_all(&mut changes);
    closed.extend(changes.closed.drain(..).map(|c| c.case));
    assert_eq!(monitor.open_cases(), 0, "every case closes");
    assert_eq!(
        monitor.stats.events + monitor.stats.rejected,
        lines,
        "every line taken or rejected"
    );
    let mut once = closed.clone();
    once.sort();
    once.dedup();
    assert_eq!(once.len(), closed.len(), "a case closes once");
    assert_eq!(
        once.into_iter().collect::<BTreeSet<_>>(),
        taken,
        "the cases closed are the cases taken"
    );
}
