//! `procedo diff OLD NEW [--log LOG...] [--incidents FILE...]` and
//! `procedo diff --base REV [PATHS...]`: arguments to options, the old version read
//! through git when asked (`git show`, no checkout), the library's comparison, the
//! report, the exit code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::ValueEnum;

use super::{ExitStatus, usage_error};
use crate::check::CheckOptions;
use crate::diff::{Comparison, Gate, GateOn, IncidentFile, Report, Threshold, Unpaired, Version};
use crate::input::InputFormat;
use crate::model::Procedure;
use crate::report::diff as report;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 no gate failed, 1 a gate of --fail-on failed, 2 bad \
usage, a procedure with errors, or a log or incidents file that could not be read (or had \
rejected records).\n\nExamples:\n  procedo diff old.proc new.proc --log cases.jsonl.gz\n  \
procedo diff --base origin/main procedures/ --log examples/logs/*.jsonl.gz --fail-on flips \
--max-flips 0.5%\n\nSee docs/diff.md."
)]
pub(crate) struct Args {
    /// OLD and NEW procedure files; with --base, the working-tree files or directories to
    /// compare with their version at REV [default with --base: the current directory].
    paths: Vec<PathBuf>,
    /// Compare each procedure in PATHS with its version at this git revision (a branch,
    /// tag or commit, e.g. origin/main), read with `git show`: no checkout.
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// Historical logs to check under both versions (read once; formats as for `check`);
    /// one or more after one `--log`, or `--log` repeated.
    /// With several procedures, a log goes with the procedure it is named after
    /// (`NAME.jsonl.gz`, `NAME.xes`, ... for `NAME.proc`).
    #[arg(long = "log", value_name = "LOG", num_args = 1..)]
    logs: Vec<PathBuf>,
    /// Incidents to assess under both versions (the `assess` input formats: YAML, JSON,
    /// JSON Lines, CSV; `.gz` allowed). Matched to procedures as --log is.
    #[arg(long = "incidents", value_name = "FILE", num_args = 1..)]
    incidents: Vec<PathBuf>,
    /// The incidents files' format, when the file name does not tell.
    #[arg(long, value_enum, value_name = "FORMAT")]
    incidents_format: Option<IncidentFormat>,
    /// CSV/JSON Lines column holding the case id [default: the procedure's mapping].
    #[arg(long, value_name = "COLUMN")]
    case_column: Option<String>,
    #[command(flatten)]
    read: super::LogArgs,
    /// Keep each case's events in file order instead of ordering them by timestamp.
    #[arg(long)]
    keep_file_order: bool,
    #[command(flatten)]
    judge: super::JudgeArgs,
    /// Treat cases without an end as running at this time (RFC 3339), as for `check`.
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit 1 when these go over their threshold (a comma-separated list): `flips`
    /// (verdicts that change either way), `new-violations` (obligations violated under NEW
    /// only), `priority-changes` (cases and incidents whose priority changes), `breaking`
    /// (facts schema changes that break existing logs, incident files or tests).
    #[arg(
        long = "fail-on",
        value_enum,
        value_delimiter = ',',
        value_name = "LIST"
    )]
    fail_on: Vec<FailOn>,
    /// Most flips allowed with `--fail-on flips`: a count (`3`) or a share of the cases
    /// (`0.5%`) [default: 0].
    #[arg(long, value_name = "N|P%")]
    max_flips: Option<String>,
    /// Most newly violated obligations allowed with `--fail-on new-violations` [default: 0].
    #[arg(long, value_name = "N|P%")]
    max_new_violations: Option<String>,
    /// Most priority changes allowed with `--fail-on priority-changes` [default: 0].
    #[arg(long, value_name = "N|P%")]
    max_priority_changes: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Markdown,
    Json,
    Github,
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Flips,
    NewViolations,
    PriorityChanges,
    Breaking,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum IncidentFormat {
    Yaml,
    Json,
    Jsonl,
    Csv,
}

/// One procedure to compare: where each version is read from and how it is named.
struct Pair {
    old_name: String,
    old_root: PathBuf,
    old_path: PathBuf,
    new_path: PathBuf,
    /// The old version was read from git into a scratch directory.
    from_git: bool,
}

pub(crate) fn run(args: &Args, color: bool) -> ExitStatus {
    let gate = match gate(args) {
        Ok(g) => g,
        Err(s) => return s,
    };
    let as_of = match super::as_of_arg(args.as_of.as_deref()) {
        Ok(x) => x,
        Err(s) => return s,
    };
    let opts = match args.judge.options(as_of, false) {
        Ok(o) => o,
        Err(s) => return s,
    };
    let mut scratch = Scratch(None);
    let (pairs, unpaired) = match &args.base {
        Some(rev) => match git_pairs(rev, &args.paths, &mut scratch) {
            Ok(x) => x,
            Err(e) => return usage_error(&e),
        },
        None => match args.paths.as_slice() {
            [old, new] => (
                vec![Pair {
                    old_name: old.display().to_string(),
                    old_root: crate::model::find_root(old),
                    old_path: old.clone(),
                    new_path: new.clone(),
                    from_git: false,
                }],
                Vec::new(),
            ),
            _ => {
                return usage_error(
                    "give two procedure files, OLD and NEW (or --base REV and the files or \
                     directories to compare with their version at REV)",
                );
            }
        },
    };
    if pairs.is_empty() && unpaired.is_empty() {
        return usage_error("no procedures to compare were found");
    }
    let single = pairs.len() == 1;
    let mut failed = false;
    let mut used_logs = vec![false; args.logs.len()];
    let mut used_incidents = vec![false; args.incidents.len()];
    let mut comparisons = Vec::new();
    for pair in &pairs {
        let old = match load(pair, color) {
            Ok(p) => p,
            Err(s) => return s,
        };
        let new = match super::load_procedure(&pair.new_path, color, "compare it") {
            Ok(p) => p,
            Err(s) => return s,
        };
        let changes = crate::diff::changes(&old, &new);
        let new_root = crate::model::find_root(&pair.new_path);
        let uses_changed = crate::diff::uses_changed(&old, &new, (&pair.old_root, &new_root));
        let logs = matching(&args.logs, &pair.new_path, single, &mut used_logs);
        let incidents = matching(&args.incidents, &pair.new_path, single, &mut used_incidents);
        let history = if logs.is_empty() {
            None
        } else {
            match history(args, &opts, &old, &new, &logs) {
                Ok((mut h, bad)) => {
                    failed |= bad;
                    crate::diff::link(&mut h, &changes, &new);
                    Some(h)
                }
                Err(s) => return s,
            }
        };
        let incidents = if incidents.is_empty() {
            None
        } else {
            let mut files = Vec::new();
            for p in incidents {
                let format = args
                    .incidents_format
                    .map(|f| match f {
                        IncidentFormat::Yaml => InputFormat::Yaml,
                        IncidentFormat::Json => InputFormat::Json,
                        IncidentFormat::Jsonl => InputFormat::Jsonl,
                        IncidentFormat::Csv => InputFormat::Csv,
                    })
                    .or_else(|| InputFormat::detect(&p));
                let Some(format) = format else {
                    return usage_error(&format!(
                        "cannot tell the format of `{}`; use --incidents-format \
                         yaml|json|jsonl|csv",
                        p.display()
                    ));
                };
                files.push(IncidentFile { path: p, format });
            }
            let i = crate::diff::compare_incidents(&old, &new, &files);
            for (_, e) in &i.unreadable {
                eprintln!("error: {e}");
                failed = true;
            }
            Some(i)
        };
        comparisons.push(Comparison {
            old: pair.old_name.clone(),
            new: pair.new_path.display().to_string(),
            procedure: new.ast().id.text.clone(),
            changes,
            uses_changed,
            history,
            incidents,
        });
    }
    for (p, used) in args.logs.iter().zip(&used_logs) {
        if !used {
            return usage_error(&format!(
                "`{}` goes with none of the procedures compared: name it after one \
                 (NAME.jsonl.gz for NAME.proc)",
                p.display()
            ));
        }
    }
    for (p, used) in args.incidents.iter().zip(&used_incidents) {
        if !used {
            return usage_error(&format!(
                "`{}` goes with none of the procedures compared: name it after one",
                p.display()
            ));
        }
    }
    let mut r = Report::new(comparisons, unpaired);
    gate.apply(&mut r);
    // Annotations name files relative to the current directory (the repository in CI).
    let base = std::env::current_dir().unwrap_or_default();
    let text = match args.format {
        Format::Human => report::human(&r),
        Format::Markdown => report::markdown(&r),
        Format::Json => format!("{}\n", report::json(&r)),
        Format::Github => report::github(&r, &base),
        Format::Sarif => format!("{}\n", report::sarif(&r, &base)),
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write output: {e}");
        return ExitStatus::Error;
    }
    drop(scratch);
    if failed {
        ExitStatus::Error
    } else if !r.gate_failures.is_empty() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}

fn gate(args: &Args) -> Result<Gate, ExitStatus> {
    let th = |flag: &str, v: &Option<String>| -> Result<Option<Threshold>, ExitStatus> {
        v.as_deref()
            .map(Threshold::parse)
            .transpose()
            .map_err(|e| usage_error(&format!("--{flag}: {e}")))
    };
    let g = Gate {
        on: args
            .fail_on
            .iter()
            .map(|f| match f {
                FailOn::Flips => GateOn::Flips,
                FailOn::NewViolations => GateOn::NewViolations,
                FailOn::PriorityChanges => GateOn::PriorityChanges,
                FailOn::Breaking => GateOn::Breaking,
            })
            .collect(),
        max_flips: th("max-flips", &args.max_flips)?,
        max_new_violations: th("max-new-violations", &args.max_new_violations)?,
        max_priority_changes: th("max-priority-changes", &args.max_priority_changes)?,
    };
    for (given, on, flag) in [
        (g.max_flips.is_some(), GateOn::Flips, "max-flips"),
        (
            g.max_new_violations.is_some(),
            GateOn::NewViolations,
            "max-new-violations",
        ),
        (
            g.max_priority_changes.is_some(),
            GateOn::PriorityChanges,
            "max-priority-changes",
        ),
    ] {
        if given && !g.on.contains(&on) {
            return Err(usage_error(&format!(
                "--{flag} is a threshold for --fail-on; add `--fail-on {}`",
                flag.trim_start_matches("max-")
            )));
        }
    }
    Ok(g)
}

/// Checks the logs under both versions; also says whether reading went wrong (a log
/// unreadable, records rejected, nothing read), which makes the exit status 2.
fn history(
    args: &Args,
    opts: &CheckOptions,
    old: &Procedure,
    new: &Procedure,
    logs: &[PathBuf],
) -> Result<(crate::diff::History, bool), ExitStatus> {
    let read_old = args.read.options(
        Some(old),
        args.case_column.clone(),
        args.keep_file_order,
        logs,
    )?;
    let read_new = args.read.options(
        Some(new),
        args.case_column.clone(),
        args.keep_file_order,
        logs,
    )?;
    let roster = super::read_roster(args.judge.roster.as_deref(), &read_new)?;
    let old_net = crate::petri::compile::compile(old);
    let new_net = crate::petri::compile::compile(new);
    let mut rejections = super::Rejections::new(args.read.max_errors);
    let mut reject = |r: crate::log::Rejected| rejections.add(&r);
    let versions = (
        Version {
            procedure: old,
            net: &old_net,
        },
        Version {
            procedure: new,
            net: &new_net,
        },
    );
    let h = match crate::diff::reading_conflict(&read_old, &read_new) {
        None => crate::diff::compare_logs(
            &versions.0,
            &versions.1,
            opts,
            roster,
            logs,
            &read_new,
            &mut reject,
        ),
        Some(why) => {
            eprintln!("warning: {why}");
            crate::diff::compare_logs_apart(
                &versions.0,
                &versions.1,
                opts,
                roster,
                logs,
                (&read_old, &read_new),
                &mut reject,
            )
        }
    }
    .map_err(|e| usage_error(&e))?;
    rejections.finish();
    for (_, e) in &h.unreadable {
        eprintln!("error: {e}");
    }
    for w in crate::check::warnings(Some(new), None, opts.perspectives, &h.stats.1, &read_new) {
        eprintln!("warning: {}", w.message);
    }
    let nothing = h.cases == 0;
    if nothing && h.unreadable.is_empty() {
        if h.stats.0.read.cases + h.stats.1.read.cases == 0 {
            eprintln!("error: no cases were read");
        } else {
            eprintln!("error: no case was read under both versions: nothing was compared");
        }
    }
    if h.not_aligned > 0 {
        eprintln!(
            "error: {} cases could not be aligned within --max-states under a version: they \
             are not compared, and the result is incomplete",
            h.not_aligned
        );
    }
    let bad = !h.unreadable.is_empty() || nothing || rejections.count() > 0 || h.not_aligned > 0;
    Ok((h, bad))
}

/// The files that go with a procedure: all of them when it is the only one, else those
/// named after it (`NAME.` then anything, for `NAME.proc`).
fn matching(files: &[PathBuf], procedure: &Path, single: bool, used: &mut [bool]) -> Vec<PathBuf> {
    let stem = procedure
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let name = f
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let fits = single
            || name
                .strip_prefix(&stem)
                .is_some_and(|rest| rest.starts_with('.'));
        if fits {
            out.push(f.clone());
            if let Some(u) = used.get_mut(i) {
                *u = true;
            }
        }
    }
    out
}

/// Loads the old version. One read from git is named `REV:path` in diagnostics and
/// resolves `use` against the same revision's root.
fn load(pair: &Pair, color: bool) -> Result<Procedure, ExitStatus> {
    if !pair.from_git {
        return super::load_procedure(&pair.old_path, color, "compare it");
    }
    let name = &pair.old_name;
    let text = std::fs::read_to_string(&pair.old_path)
        .map_err(|e| usage_error(&format!("cannot read `{name}`: {e}")))?;
    let mut loader = crate::model::Loader::new(&pair.old_root);
    let unit = loader.load_text(name, &text);
    let built = crate::model::build(&unit);
    match built.procedure {
        Some(p) => Ok(p),
        None => {
            eprint!("{}", crate::diagnostic::render(&built.diagnostics, color));
            eprintln!("error: `{name}` (the old version) has errors; fix them to compare it");
            Err(ExitStatus::Error)
        }
    }
}

/// A scratch directory for the files read from git, removed when dropped.
struct Scratch(Option<PathBuf>);

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(d) = &self.0 {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// The procedures under `paths` in the working tree paired with their version at `rev`,
/// which is written (with the rest of each procedures root at `rev`, so that `use`
/// resolves against the same revision) into a scratch directory.
fn git_pairs(
    rev: &str,
    paths: &[PathBuf],
    scratch: &mut Scratch,
) -> Result<(Vec<Pair>, Vec<Unpaired>), String> {
    let paths: Vec<PathBuf> = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let probe = paths
        .first()
        .map(|p| {
            if p.is_dir() {
                p.clone()
            } else {
                p.parent().map(Path::to_path_buf).unwrap_or_default()
            }
        })
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let top = git(&probe, &["rev-parse", "--show-toplevel"])
        .map_err(|e| format!("--base needs a git work tree: {e}"))?;
    let top = PathBuf::from(String::from_utf8_lossy(&top).trim());
    let top = top.canonicalize().unwrap_or(top);
    git(
        &top,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .map_err(|_| format!("`{rev}` is not a revision of this repository (--base)"))?;
    let dir = std::env::temp_dir().join(format!(
        "procedo-diff-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make a scratch directory: {e}"))?;
    scratch.0 = Some(dir.clone());
    let rel = |p: &Path| -> Result<PathBuf, String> {
        let abs = p
            .canonicalize()
            .map_err(|e| format!("cannot read `{}`: {e}", p.display()))?;
        abs.strip_prefix(&top)
            .map(Path::to_path_buf)
            .map_err(|_| format!("`{}` is outside the git work tree", p.display()))
    };
    let slash = |p: &Path| {
        p.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/")
    };
    // Everything of the trees at `rev` that procedures read: .proc files and procedo.yaml.
    let listed = git(&top, &["ls-tree", "-r", "--name-only", "-z", rev])?;
    let at_rev: Vec<String> = listed
        .split(|b| *b == 0)
        .filter(|x| !x.is_empty())
        .map(|x| String::from_utf8_lossy(x).into_owned())
        .filter(|f| f.ends_with(".proc") || f.ends_with("procedo.yaml"))
        .collect();
    for f in &at_rev {
        let bytes = git(&top, &["show", &format!("{rev}:{f}")])?;
        let target = dir.join(f);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot write `{}`: {e}", target.display()))?;
        }
        std::fs::write(&target, bytes)
            .map_err(|e| format!("cannot write `{}`: {e}", target.display()))?;
    }
    let mut pairs = Vec::new();
    let mut unpaired = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for p in &paths {
        let base_rel = rel(p)?;
        let prefix = slash(&base_rel);
        let files = super::discover(std::slice::from_ref(p))?;
        for f in files {
            let r = slash(&rel(&f)?);
            seen.insert(r.clone());
            let old = dir.join(&r);
            if old.is_file() {
                // The old version's root: the same place relative to the work tree.
                let root_rel = rel(&crate::model::find_root(&f)).unwrap_or_default();
                pairs.push(Pair {
                    old_name: format!("{rev}:{r}"),
                    old_root: dir.join(root_rel),
                    old_path: old,
                    new_path: f.clone(),
                    from_git: true,
                });
            } else {
                unpaired.push(Unpaired {
                    path: f.display().to_string(),
                    status: "added",
                });
            }
        }
        for f in &at_rev {
            let inside = prefix.is_empty() || f == &prefix || f.starts_with(&format!("{prefix}/"));
            if inside && f.ends_with(".proc") && !seen.contains(f) {
                unpaired.push(Unpaired {
                    path: format!("{rev}:{f}"),
                    status: "removed",
                });
                seen.insert(f.clone());
            }
        }
    }
    Ok((pairs, unpaired))
}
