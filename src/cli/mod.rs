//! The command line: clap types, file discovery, printing and exit codes.
//!
//! The only module that knows clap, the filesystem layout of inputs, stdout and
//! exit codes. Each subcommand is one file calling the library.

mod assess;
mod check;
mod completions;
mod diff;
mod explain;
mod export;
mod fmt;
mod graph;
mod import;
mod inspect;
mod lint;
mod lsp;
mod review;
mod rules;
mod simulate;
mod test;
mod watch;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Exit statuses: 0 clean, 1 findings, 2 bad usage or unreadable input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success = 0,
    Failure = 1,
    Error = 2,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        ExitCode::from(s as u8)
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "procedo",
    version,
    about = "Audit how incidents referred to a contact centre were handled: procedures as code",
    long_about = "procedo compiles incident-handling procedures written in its small language into \
decision graphs; lints, formats, tests and draws them; assesses incidents' validity and priority \
from their facts; checks recorded handling logs against the permitted paths and every other \
perspective the procedure declares; explains one case for a complaint; judges a change to a \
procedure against history (diff); and simulates logs with known deviations.\n\nExit codes: \
0 clean, 1 findings (lint errors, unformatted files, failed tests, and non-conforming cases or \
failing incidents or a diff gate with --fail-on), 2 bad usage or unreadable input."
)]
pub struct Cli {
    /// When to use colour in human output.
    /// (`auto`: colour only on a terminal, and never when `NO_COLOR` is set and not empty.)
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    /// Leave out notes, progress and closing summaries on standard error; errors and
    /// warnings are still shown.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse, resolve, type-check and lint procedures (files or directories, recursively).
    Lint(lint::Args),
    /// Rewrite procedures in the canonical layout (comments kept).
    Fmt(fmt::Args),
    /// Assess incidents' validity and priority from their facts, with the rules that fired.
    Assess(assess::Args),
    /// Check recorded cases against a procedure: the permitted paths by optimal alignment, and
    /// decisions, time limits, informing, monitoring, resources and constraints.
    Check(check::Args),
    /// What a procedure change means: the changes in the procedure's own terms, and the
    /// verdicts, obligations and priorities of past cases and incidents that it changes.
    Diff(diff::Args),
    /// Tell one case as a story: each event and obligation, the verdict and the procedure line.
    Explain(explain::Args),
    /// Team performance from the checked cases: rates per criterion with intervals, by
    /// operator, team, shift, step, week…; systemic causes told from individual ones; support
    /// needs with their evidence; the agreed plan's before and after; HTML, Markdown, CSV, JSON.
    Review(review::Args),
    /// Watch open incidents live: each event judged as it arrives, alerts before a breach
    /// (at risk, violated, acknowledgement overdue, escalation due), durable state that a
    /// restart resumes from with nothing lost or written twice.
    Watch(watch::Args),
    /// A log's profile before trusting a check on it: columns chosen and why, time
    /// zone, labels and the steps they map to, what each perspective can read.
    Inspect(inspect::Args),
    /// Export a procedure's control flow for other tools (PNML workflow net).
    Export(export::Args),
    /// Draw a procedure's decision graph as Graphviz DOT or Mermaid.
    Graph(graph::Args),
    /// Simulate a handling log from a procedure, with known injected deviations.
    Simulate(simulate::Args),
    /// Run the tests beside procedures (`NAME.test.yaml`), with coverage.
    Test(test::Args),
    /// List the lint rules, or print one rule's documentation.
    Rules(rules::Args),
    /// Draft a procedure from a BPMN 2.0 process (Camunda Modeler, bpmn.io): the draft on
    /// standard output, what could not be carried over as diagnostics on standard error.
    Import(import::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(completions::Args),
    /// Print the manual page (roff), generated from these command-line definitions.
    Man,
    /// Run the language server (LSP over standard input and output) for editors:
    /// diagnostics as you type, hover, definitions, references, outline, formatting,
    /// completion, rename and quick fixes.
    Lsp(lsp::Args),
}

/// Runs the CLI with the given arguments and returns the exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    // clap's own help and errors follow `--color` too (its `auto` honours NO_COLOR); the
    // flag is read before the rest so that a help or an error already knows it.
    let choice = match color_flag(&args) {
        Some(Color::Always) => clap::ColorChoice::Always,
        Some(Color::Never) => clap::ColorChoice::Never,
        _ => clap::ColorChoice::Auto,
    };
    let parsed = Cli::command()
        .color(choice)
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitStatus::Error.into()
            } else {
                ExitStatus::Success.into()
            };
        }
    };
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    // Diagnostics go to standard error, except `lint`'s report, which is the output.
    let color = match &cli.command {
        Command::Lint(_) => use_color(
            cli.color,
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        ),
        _ => use_color(
            cli.color,
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        ),
    };
    let status = match cli.command {
        Command::Lint(a) => lint::run(&a, color),
        Command::Fmt(a) => fmt::run(&a, color),
        Command::Graph(a) => graph::run(&a, color),
        Command::Assess(a) => assess::run(&a, color),
        Command::Check(a) => check::run(&a, color),
        Command::Diff(a) => diff::run(&a, color),
        Command::Explain(a) => explain::run(&a, color),
        Command::Inspect(a) => inspect::run(&a, color),
        Command::Review(a) => review::run(&a, color),
        Command::Watch(a) => watch::run(&a, color),
        Command::Export(a) => export::run(&a, color),
        Command::Rules(a) => rules::run(&a),
        Command::Lsp(a) => lsp::run(&a),
        Command::Test(a) => test::run(&a, color),
        Command::Simulate(a) => simulate::run(&a, color),
        Command::Import(a) => import::run(&a, color),
        Command::Completions(a) => completions::run(&a),
        Command::Man => completions::man(),
    };
    status.into()
}

/// Whether human output is coloured: `always`, `never`, or (`auto`) on a terminal unless
/// `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
/// `no_color` is the value of `NO_COLOR`, if set.
fn use_color(choice: Color, terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
    }
}

/// The last `--color WHEN` (or `--color=WHEN`) among the arguments, if any.
fn color_flag(args: &[std::ffi::OsString]) -> Option<Color> {
    let mut found = None;
    let mut it = args.iter().map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        let value = match a.strip_prefix("--color") {
            Some("") => it.next().map(|v| v.into_owned()),
            Some(rest) => rest.strip_prefix('=').map(str::to_string),
            None => None,
        };
        if let Some(v) = value {
            found = Color::from_str(&v, true).ok().or(found);
        }
    }
    found
}

/// `--quiet`, set once when the arguments are read.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether `--quiet` was given: notes, progress and summaries on standard error are left out.
pub(crate) fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// Prints a non-essential line on standard error (a note, a closing summary) unless `--quiet`.
macro_rules! note {
    ($($arg:tt)*) => {
        if !$crate::cli::quiet() {
            eprintln!($($arg)*);
        }
    };
}
pub(crate) use note;

/// Expands files and directories into `.proc` files, sorted; reports unreadable paths.
pub(crate) fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)
                .map_err(|e| format!("cannot read directory `{}`: {e}", p.display()))?;
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!("no such file or directory: `{}`", p.display()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            walk(&e, out)?;
        } else if e.extension().is_some_and(|x| x == "proc") {
            out.push(e);
        }
    }
    Ok(())
}

/// Loads and builds a procedure for a command; on failure prints why and returns exit
/// status 2 (the procedure cannot be read, or has errors and so cannot be used). `purpose` completes
/// "fix them to ...".
pub(crate) fn load_procedure(
    path: &Path,
    color: bool,
    purpose: &str,
) -> Result<crate::model::Procedure, ExitStatus> {
    let mut loader = crate::model::Loader::new(crate::model::find_root(path));
    let unit = loader
        .load_path(path)
        .map_err(|e| usage_error(&format!("cannot read `{}`: {e}", path.display())))?;
    let built = crate::model::build(&unit);
    match built.procedure {
        Some(p) => Ok(p),
        None => {
            eprint!("{}", crate::diagnostic::render(&built.diagnostics, color));
            eprintln!(
                "error: `{}` has errors; fix them to {purpose}",
                path.display()
            );
            Err(ExitStatus::Error)
        }
    }
}

/// Reads `--as-of`, shared by `check` and `explain`.
pub(crate) fn as_of_arg(
    as_of: Option<&str>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ExitStatus> {
    as_of
        .map(crate::audit::parse_as_of)
        .transpose()
        .map_err(|e| usage_error(&e))
}

/// Reads `--roster`, its times as the log's are read (format, zone).
pub(crate) fn read_roster(
    path: Option<&Path>,
    log: &crate::log::LogOptions,
) -> Result<Option<crate::audit::Roster>, ExitStatus> {
    path.map(|p| crate::audit::Roster::read_with(p, Some(log)))
        .transpose()
        .map_err(|e| usage_error(&e))
}

/// What `check` (and `review`), `diff` and `watch` judge beyond control flow and how
/// hard they search: one definition, so the three spell and read these flags alike.
#[derive(Debug, clap::Args)]
pub(crate) struct JudgeArgs {
    /// Perspectives to check beyond control flow (always checked): `all`, `none`, or a list
    /// of decisions, time, communication, monitoring, resources, constraints.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "all",
        value_name = "LIST"
    )]
    perspectives: Vec<check::Perspective>,
    /// Resources roster (CSV or YAML: resource, type, capabilities, available_from,
    /// available_to) to check that recorded resources were on it and available.
    #[arg(long, value_name = "FILE")]
    pub(crate) roster: Option<PathBuf>,
    /// Most states one case's alignment search may visit [default: 5000000]. A case that
    /// reaches it is reported `not-aligned` with the bounds of its cost (`diff`: not compared),
    /// counted, and the exit code is 2: the result is incomplete.
    #[arg(long, value_name = "N")]
    max_states: Option<usize>,
    /// Longest one case's alignment search may run (e.g. 10s, 2m). A case that reaches it
    /// is reported `not-aligned` with the bounds of its optimal cost, counted, and the
    /// exit code is 2. Unlike --max-states, where it stops depends on the machine's speed.
    #[arg(long, value_name = "DURATION")]
    case_timeout: Option<String>,
}

/// A duration flag's value (`15m`, `24h`, …), zero only when `zero` allows it.
pub(crate) fn duration(
    flag: &str,
    text: &str,
    zero: bool,
    examples: &str,
) -> Result<chrono::Duration, ExitStatus> {
    match crate::ast::parse_duration(text) {
        Some(ms) if ms > 0 || (zero && ms == 0) => Ok(chrono::Duration::milliseconds(ms)),
        _ => Err(usage_error(&format!(
            "{flag} `{text}` is not a {}duration (e.g. {examples})",
            if zero { "" } else { "positive " }
        ))),
    }
}

impl JudgeArgs {
    /// The check options these flags give, with the time and alignment asked for.
    pub(crate) fn options(
        &self,
        as_of: Option<chrono::DateTime<chrono::Utc>>,
        with_alignment: bool,
    ) -> Result<crate::check::CheckOptions, ExitStatus> {
        if self.max_states == Some(0) {
            return Err(usage_error("--max-states must be at least 1"));
        }
        let case_timeout = match self.case_timeout.as_deref() {
            None => None,
            Some(t) => duration("--case-timeout", t, false, "500ms, 10s, 2m")?
                .to_std()
                .ok(),
        };
        Ok(crate::check::CheckOptions {
            perspectives: check::perspectives(&self.perspectives),
            as_of,
            with_alignment,
            max_states: self.max_states,
            case_timeout,
        })
    }
}

/// How `check` and `explain` read a log: each flag given overrides the procedure's
/// `mapping`, which overrides the default.
#[derive(Debug, clap::Args)]
pub(crate) struct LogArgs {
    /// Attribute(s) naming the activity; several are joined with `+`
    /// (`concept:name,lifecycle:transition` for BPIC 2013) [default: the procedure's
    /// mapping, else concept:name].
    #[arg(long, value_delimiter = ',')]
    activity: Option<Vec<String>>,
    /// Column holding the event time [default: the procedure's mapping, else time:timestamp].
    #[arg(long, value_name = "COLUMN")]
    timestamp: Option<String>,
    /// Column holding the actor of an event [default: the procedure's mapping, else
    /// org:resource].
    #[arg(long, value_name = "COLUMN")]
    actor: Option<String>,
    /// strftime format of the timestamps, e.g. `%d/%m/%Y %H:%M` [default: the procedure's
    /// `timestamp format`, else RFC 3339 and ISO forms].
    #[arg(long, value_name = "FMT")]
    timestamp_format: Option<String>,
    /// IANA time zone of timestamps written without an offset, e.g. Europe/London
    /// [default: the procedure's `timezone`]; they are local times there (DST-correct).
    #[arg(long, value_name = "ZONE")]
    timezone: Option<String>,
    /// With no time zone declared, read timestamps without an offset as UTC (with a warning)
    /// instead of stopping.
    #[arg(long, conflicts_with = "timezone")]
    assume_utc: bool,
    /// The log's format (xes, csv, jsonl or yaml); needed to read standard input (`-`).
    #[arg(long, value_name = "FORMAT", value_parser = clap::value_parser!(crate::log::LogFormat))]
    input_format: Option<crate::log::LogFormat>,
    /// Print at most N rejected records; the rest are counted by kind in one line.
    #[arg(long, value_name = "N", default_value_t = 20)]
    max_errors: usize,
    /// A state log (one row per record update, the activity being its state, as
    /// ServiceNow exports): consecutive events of a case with the same activity are one
    /// event, the first; the others are counted as collapsed.
    #[arg(long)]
    collapse_repeats: bool,
}

impl LogArgs {
    pub(crate) fn gives_activity(&self) -> bool {
        self.activity.is_some()
    }

    pub(crate) fn gives_timestamp(&self) -> bool {
        self.timestamp.is_some()
    }

    pub(crate) fn gives_actor(&self) -> bool {
        self.actor.is_some()
    }

    fn flags(
        &self,
        case: Option<String>,
        keep_file_order: bool,
        paths: &[PathBuf],
    ) -> crate::log::LogFlags {
        crate::log::LogFlags {
            activity: self.activity.clone(),
            case,
            timestamp: self.timestamp.clone(),
            actor: self.actor.clone(),
            timestamp_format: self.timestamp_format.clone(),
            timezone: self.timezone.clone(),
            assume_utc: self.assume_utc,
            format: self.input_format,
            keep_file_order,
            collapse_repeats: self.collapse_repeats,
            paths: paths.to_vec(),
        }
    }

    /// The log options for a procedure (if any): flags over its mapping over the defaults.
    pub(crate) fn options(
        &self,
        procedure: Option<&crate::model::Procedure>,
        case: Option<String>,
        keep_file_order: bool,
        paths: &[PathBuf],
    ) -> Result<crate::log::LogOptions, ExitStatus> {
        crate::log::log_options(procedure, &self.flags(case, keep_file_order, paths))
            .map_err(|e| usage_error(&e))
    }
}

/// Prints rejected records up to `--max-errors`, counting the rest by kind.
pub(crate) struct Rejections {
    max: usize,
    shown: usize,
    more: std::collections::BTreeMap<&'static str, usize>,
}

impl Rejections {
    pub(crate) fn new(max: usize) -> Self {
        Rejections {
            max,
            shown: 0,
            more: Default::default(),
        }
    }

    pub(crate) fn add(&mut self, r: &crate::log::Rejected) {
        if self.shown < self.max {
            self.shown += 1;
            eprintln!("error: {}: {}", r.location, r.reason);
        } else {
            *self.more.entry(r.kind).or_default() += 1;
        }
    }

    /// How many were rejected in all.
    pub(crate) fn count(&self) -> usize {
        self.shown + self.more.values().sum::<usize>()
    }

    /// The closing line for those not shown, if any.
    pub(crate) fn finish(&self) {
        let n: usize = self.more.values().sum();
        if n > 0 {
            let kinds: Vec<String> = self.more.iter().map(|(k, n)| format!("{n} {k}")).collect();
            eprintln!(
                "error: {n} more rejected records not shown (--max-errors {}): {}",
                self.max,
                kinds.join(", ")
            );
        }
    }
}

pub(crate) fn usage_error(message: &str) -> ExitStatus {
    eprintln!("error: {message}");
    ExitStatus::Error
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn the_colour_flag_is_read_before_parsing() {
        use super::{Color, color_flag};
        let args = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            color_flag(&args(&["procedo", "--color", "never", "lint"])),
            Some(Color::Never)
        );
        assert_eq!(
            color_flag(&args(&["procedo", "lint", "--color=always"])),
            Some(Color::Always)
        );
        assert_eq!(color_flag(&args(&["procedo", "lint", "x.proc"])), None);
        assert_eq!(
            color_flag(&args(&["procedo", "--color", "sometimes"])),
            None
        );
        assert_eq!(
            color_flag(&args(&["procedo", "--", "--color", "never"])),
            None
        );
    }

    #[test]
    fn auto_colour_honours_no_color() {
        use super::{Color, use_color};
        use std::ffi::OsStr;
        assert!(use_color(Color::Auto, true, None));
        assert!(!use_color(Color::Auto, true, Some(OsStr::new("1"))));
        // An empty NO_COLOR is as if unset (no-color.org).
        assert!(use_color(Color::Auto, true, Some(OsStr::new(""))));
        assert!(!use_color(Color::Auto, false, None));
        // An explicit choice wins over the environment.
        assert!(use_color(Color::Always, false, Some(OsStr::new("1"))));
        assert!(!use_color(Color::Never, true, None));
    }
}
