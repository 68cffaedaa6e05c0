//! `procedo watch -p PROC --state DIR|FILE [--input -|FILE | --listen ADDR]
//! [--alerts -|FILE] [--webhook URL] [--clock wall|event]`, and `watch --status`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::ValueEnum;

use super::{ExitStatus, usage_error};
use crate::report::watch as report;
use crate::watch::run::{Clock, Input, Settings, Target};
use crate::watch::store::Store;
use crate::watch::{Monitor, Options};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Events are JSON objects with the log fields of docs/logs.md, one per \
line (JSON Lines). Alerts are written as JSON Lines (docs/watch.md has the schema). Exit codes: \
0 the input ended and every event was taken; 2 bad usage, unreadable state, or events \
rejected (each printed with its place and counted)."
)]
pub(crate) struct Args {
    /// The procedure whose obligations are watched.
    #[arg(short, long, required_unless_present = "status")]
    procedure: Option<PathBuf>,
    /// The durable state: a directory (holding `watch.sqlite`) or a database file. A
    /// restart with the same state goes on where the last committed batch ended.
    #[arg(long, value_name = "DIR|FILE")]
    state: PathBuf,
    /// Print the state's status (open cases, at risk, counts, lag) and exit.
    #[arg(long)]
    status: bool,
    /// Where events come from: `-` (standard input) or a file, followed as `tail -F`
    /// (across rotation) unless --no-follow.
    #[arg(
        long,
        value_name = "-|FILE",
        default_value = "-",
        conflicts_with = "listen"
    )]
    input: PathBuf,
    /// Stop at the end of the input file instead of following it.
    #[arg(long)]
    no_follow: bool,
    /// Serve `POST /events` and `GET /status` on this address (e.g. 127.0.0.1:8080).
    /// Any address but loopback needs a bearer token (--token-file or
    /// PROCEDO_WATCH_TOKEN).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// A file holding the bearer token the HTTP endpoint requires.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Largest HTTP request body taken, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_body: usize,
    /// Where alerts go: `-` (standard output) or a file (appended to; exactly once
    /// across restarts).
    #[arg(long, value_name = "-|FILE", default_value = "-")]
    alerts: PathBuf,
    /// Also POST alerts (a JSON array per batch) to this URL, at least once, retried
    /// with backoff.
    #[arg(long, value_name = "URL")]
    webhook: Option<String>,
    /// Write each closed case's final verdict (as `check --format jsonl` writes it) here.
    #[arg(long, value_name = "FILE")]
    verdicts: Option<PathBuf>,
    /// Alert format (and --status format).
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
    /// The clock: `wall` (live) or `event` (the events' own times: a replay).
    #[arg(long, value_enum, default_value_t = ClockArg::Wall)]
    clock: ClockArg,
    /// With --clock event: replay at N times real time (timers fire between events).
    #[arg(long, value_name = "N", requires = "clock")]
    speed: Option<f64>,
    /// Close a case with no event for this long (e.g. 24h); its verdict as it stands.
    #[arg(long, value_name = "DURATION")]
    close_idle: Option<String>,
    /// How long a finished case stays open for late entries (a second `Clear`, a late
    /// acknowledgement) before its verdict is final and it closes; `0` closes at once.
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    linger: String,
    /// When the input ends (with --no-follow or standard input), close every open case
    /// with its final verdict.
    #[arg(long)]
    close_at_end: bool,
    /// How often a followed file is polled, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    poll_ms: u64,
    /// CSV/JSON Lines column holding the case id [default: the procedure's mapping, else
    /// case:concept:name].
    #[arg(long, value_name = "COLUMN")]
    case_column: Option<String>,
    #[command(flatten)]
    read: super::LogArgs,
    #[command(flatten)]
    judge: super::JudgeArgs,
}

/// Alignments `watch` keeps cached.
const WATCH_CACHE: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Jsonl,
    Human,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ClockArg {
    Wall,
    Event,
}

fn state_file(p: &Path) -> PathBuf {
    if p.is_dir() || p.as_os_str().to_string_lossy().ends_with('/') {
        p.join("watch.sqlite")
    } else {
        p.to_path_buf()
    }
}

fn loopback(addr: &str) -> bool {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn token(args: &Args) -> Result<Option<String>, ExitStatus> {
    if let Some(f) = &args.token_file {
        let t = std::fs::read_to_string(f)
            .map_err(|e| usage_error(&format!("cannot read `{}`: {e}", f.display())))?;
        let t = t.trim().to_string();
        if t.is_empty() {
            return Err(usage_error(&format!("`{}` holds no token", f.display())));
        }
        return Ok(Some(t));
    }
    Ok(std::env::var("PROCEDO_WATCH_TOKEN")
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty()))
}

pub(crate) fn run(args: &Args, color: bool) -> ExitStatus {
    let db = state_file(&args.state);
    if args.status {
        return status(&db, args.format);
    }
    // One case (an event, a timer) is checked on this thread; the judgements a replay
    // works out ahead are checked on all cores (rayon's pool, RAYON_NUM_THREADS).
    match watch(args, &db, color) {
        Ok(s) => s,
        Err(s) => s,
    }
}

fn status(db: &Path, format: Format) -> ExitStatus {
    if !db.exists() {
        return usage_error(&format!("{}: no watch state here", db.display()));
    }
    let s = Store::read_only(db).and_then(|s| crate::watch::run::status(&s));
    match s {
        Ok(s) => {
            match format {
                Format::Jsonl => println!("{}", serde_json::to_string(&s).unwrap_or_default()),
                Format::Human => print!("{}", report::status_human(&s)),
            }
            ExitStatus::Success
        }
        Err(e) => usage_error(&e),
    }
}

fn watch(args: &Args, db: &Path, color: bool) -> Result<ExitStatus, ExitStatus> {
    let Some(path) = &args.procedure else {
        return Err(usage_error("give the procedure to watch (-p PROC)"));
    };
    if args.speed.is_some_and(|s| !(s > 0.0 && s.is_finite())) {
        return Err(usage_error("--speed must be a positive number"));
    }
    if args.speed.is_some() && args.clock != ClockArg::Event {
        return Err(usage_error(
            "--speed paces a replay: use it with --clock event",
        ));
    }
    let close_idle = match &args.close_idle {
        Some(d) => Some(super::duration("--close-idle", d, false, "30m, 24h, 7d")?),
        None => None,
    };
    let linger = match args.linger.as_str() {
        "0" => None,
        d => Some(super::duration("--linger", d, true, "0, 15m, 1h")?).filter(|d| !d.is_zero()),
    };
    let token = token(args)?;
    if let Some(addr) = &args.listen
        && !loopback(addr)
        && token.is_none()
    {
        return Err(usage_error(&format!(
            "--listen {addr} is not a loopback address: give a bearer token (--token-file \
             FILE or PROCEDO_WATCH_TOKEN) that every request must carry"
        )));
    }
    let text = std::fs::read(path)
        .map_err(|e| usage_error(&format!("cannot read `{}`: {e}", path.display())))?;
    let p = super::load_procedure(path, color, "watch with it")?;
    let mut h = crate::hash::Fnv::default();
    std::hash::Hasher::write(&mut h, &text);
    let identity = format!("{} {:016x}", p.ast().id.text, std::hash::Hasher::finish(&h));
    let net = crate::petri::compile::compile(&p);
    let read = args.read.options(
        Some(&p),
        args.case_column.clone(),
        false,
        &[PathBuf::from("events.jsonl")],
    )?;
    let read = crate::log::LogOptions {
        format: Some(crate::log::LogFormat::Jsonl),
        ..read
    };
    let roster = super::read_roster(args.judge.roster.as_deref(), &read)?;
    let prepared = super::check::Prepared {
        net,
        name: p.ast().id.text.clone(),
        loaded: Some((crate::conformance::ActivityMap::from_procedure(&p), p)),
        opts: args.judge.options(None, false)?,
        read,
        roster,
    };
    let (mut checker, log_opts) = prepared.checker(Vec::new())?;
    // Prefix alignments are many and each is kept with its guards: a smaller cache keeps
    // a long-running watch's memory to the open cases.
    checker.limit_cache(WATCH_CACHE);
    if let Some(dir) = db.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| usage_error(&format!("cannot create `{}`: {e}", dir.display())))?;
    }
    let mut store = Store::open(db, &identity).map_err(|e| usage_error(&e))?;
    let mut monitor = Monitor::new(
        checker,
        crate::log::LineReader::new(log_opts),
        Options {
            close_idle,
            linger,
            event_clock: args.clock == ClockArg::Event,
        },
    );
    let append = |p: &Path| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map_err(|e| usage_error(&format!("cannot open `{}`: {e}", p.display())))
    };
    let mut alerts = Vec::new();
    if args.alerts.as_os_str() == "-" {
        alerts.push(stdout_target()?);
    } else {
        alerts.push(Target::File {
            name: "alerts".into(),
            file: append(&args.alerts)?,
        });
    }
    if let Some(url) = &args.webhook {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(usage_error(&format!(
                "--webhook `{url}` is not an http:// or https:// URL"
            )));
        }
        alerts.push(Target::Webhook { url: url.clone() });
    }
    let verdicts = match &args.verdicts {
        Some(v) => Some(Target::File {
            name: "verdicts".into(),
            file: append(v)?,
        }),
        None => None,
    };
    let input = match &args.listen {
        Some(addr) => Input::Http {
            addr: addr.clone(),
            token,
            max_body: args.max_body,
        },
        None if args.input.as_os_str() == "-" => Input::Stdin,
        None => Input::File {
            path: args.input.clone(),
            follow: !args.no_follow,
        },
    };
    let settings = Settings {
        input,
        clock: match args.clock {
            ClockArg::Wall => Clock::Wall,
            ClockArg::Event => Clock::Event { speed: args.speed },
        },
        alerts,
        verdicts,
        format: match args.format {
            Format::Jsonl => Box::new(report::alert_json),
            Format::Human => Box::new(report::alert_human),
        },
        close_at_end: args.close_at_end,
        poll: std::time::Duration::from_millis(args.poll_ms.max(1)),
    };
    let identity_for_sinks = identity.clone();
    let outcome =
        crate::watch::run::run(&mut monitor, &mut store, db, &identity_for_sinks, settings)
            .map_err(|e| usage_error(&e))?;
    for (place, _, reason) in outcome.rejections.iter().take(args.read_max_errors()) {
        eprintln!("error: {place}: {reason}");
    }
    let shown = outcome.rejections.len().min(args.read_max_errors()) as u64;
    if outcome.rejected > shown {
        eprintln!("error: {} more events rejected", outcome.rejected - shown);
    }
    super::note!(
        "watched {} events ({} rejected): {} alerts, {} cases closed, {} open",
        outcome.events,
        outcome.rejected,
        outcome.alerts,
        outcome.closed,
        outcome.open
    );
    let _ = std::io::stdout().flush();
    Ok(if outcome.rejected > 0 {
        ExitStatus::Error
    } else {
        ExitStatus::Success
    })
}

impl Args {
    fn read_max_errors(&self) -> usize {
        self.read.max_errors
    }
}

/// Standard output as a sink: a regular file it was redirected to is a file sink
/// (exactly once); a pipe or terminal is a stream.
fn stdout_target() -> Result<Target, ExitStatus> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let out = std::io::stdout();
        if let Ok(fd) = out.as_fd().try_clone_to_owned() {
            let f = std::fs::File::from(fd);
            if f.metadata().is_ok_and(|m| m.is_file()) {
                return Ok(Target::File {
                    name: "stdout".into(),
                    file: f,
                });
            }
        }
    }
    Ok(Target::Stream {
        name: "stdout".into(),
        out: Box::new(std::io::stdout()),
    })
}
