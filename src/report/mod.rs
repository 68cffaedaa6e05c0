//! Output formats: `graph` (DOT, Mermaid), `diff` and the `lint` report formats
//! (`json`, `sarif`, `github`; the human format is miette's rendering).

pub mod check;
pub mod diff;
pub mod github;
pub mod graph;
pub mod inspect;
pub mod json;
pub mod review;
pub mod sarif;
pub mod watch;

use std::path::{Component, Path, PathBuf};

use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::Allowed;

/// What `procedo lint` found in a set of files.
#[derive(Debug, Default)]
pub struct LintReport {
    /// Files linted (ignored files not counted).
    pub files: usize,
    /// Files skipped by `ignore` in `procedo.yaml`.
    pub ignored: usize,
    /// Front-end diagnostics and lint findings, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// Findings silenced by inline allow comments.
    pub allowed: Vec<Allowed>,
}

impl LintReport {
    pub fn count(&self, s: Severity) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == s).count()
    }
}

/// A diagnostic's file as a path relative to `base` with `/` separators (as given
/// when it is relative already).
pub fn relative_path(name: &str, base: &Path) -> String {
    let p = Path::new(name);
    let rel: PathBuf = if p.is_absolute() {
        diff_paths(p, base).unwrap_or_else(|| p.to_path_buf())
    } else {
        p.components()
            .filter(|c| !matches!(c, Component::CurDir))
            .collect()
    };
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn diff_paths(path: &Path, base: &Path) -> Option<PathBuf> {
    let path: Vec<Component> = path.components().collect();
    let base: Vec<Component> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for c in &path[common..] {
        out.push(c.as_os_str());
    }
    Some(out)
}

/// The start and end (line, column) of a diagnostic's primary label, 1-based.
pub fn region(d: &Diagnostic) -> Option<((usize, usize), (usize, usize))> {
    let src = d.source.as_ref()?;
    let l = d.labels.first()?;
    Some((
        src.line_col(l.span.start),
        src.line_col(l.span.end.max(l.span.start)),
    ))
}
