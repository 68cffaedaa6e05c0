//! Loading a procedure and the files it `use`s, confined to the procedures root.
//!
//! The root is the nearest ancestor directory holding `procedo.yaml`, or else the
//! directory the user named. A `use` path is relative to the root; one that leaves
//! it, does not exist, or closes a cycle is an error at the `use` line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::ast::{self, HeaderItem, Parsed};
use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span};

/// One parsed file.
#[derive(Debug)]
pub struct Unit {
    pub path: PathBuf,
    pub source: SourceFile,
    /// `None` when the file has a syntax error (reported in `diagnostics`).
    pub parsed: Option<Parsed>,
    pub diagnostics: Vec<Diagnostic>,
    /// The units this one `use`s, in order, with the span of each `use` path.
    pub uses: Vec<(Span, Arc<Unit>)>,
    /// Files found to lie on a `use` cycle while loading this one.
    pub in_cycles: BTreeSet<PathBuf>,
}

/// Finds the procedures root for a path: the nearest ancestor with `procedo.yaml`.
pub fn find_root(path: &Path) -> PathBuf {
    let start = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let start = if start.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        start
    };
    // Walk up by name while the path has names, then with `..` (so `.` and `../x` find a
    // root above them too), as far as the filesystem root.
    let depth = std::fs::canonicalize(&start).map_or(0, |c| c.components().count());
    let mut dir = start.clone();
    for _ in 0..depth {
        if dir.join("procedo.yaml").is_file() {
            return dir;
        }
        dir = match (dir.parent(), dir.file_name()) {
            (Some(p), Some(_)) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => dir.join(".."),
        };
    }
    start
}

/// Loads files, caching each by canonical path.
#[derive(Debug)]
pub struct Loader {
    root: PathBuf,
    canonical_root: PathBuf,
    cache: BTreeMap<PathBuf, Arc<Unit>>,
    /// Texts read instead of the files on disk, by canonical path (an editor's unsaved buffers).
    overlay: BTreeMap<PathBuf, String>,
    /// Text that is not a file (an editor's unsaved buffer): it has no folder, so its
    /// `use`s cannot be resolved and nothing is read from disk.
    detached: bool,
}

impl Loader {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let canonical_root = root.canonicalize().unwrap_or_else(|_| root.clone());
        Loader {
            root,
            canonical_root,
            cache: BTreeMap::new(),
            overlay: BTreeMap::new(),
            detached: false,
        }
    }

    /// A loader for text that is not a file: the unit's key is its name as given (not a
    /// path under any folder), and every `use` in it is reported as not resolvable
    /// instead of being looked up relative to the current directory.
    pub fn detached() -> Self {
        Loader {
            detached: true,
            ..Loader::new(PathBuf::new())
        }
    }

    /// Reads these texts (by canonical path) instead of the files on disk, for the
    /// file itself and for every file it `use`s: an editor's unsaved buffers.
    #[must_use]
    pub fn with_overlay(mut self, overlay: BTreeMap<PathBuf, String>) -> Self {
        self.overlay = overlay;
        self
    }

    fn read(&self, key: &Path, path: &Path) -> std::io::Result<String> {
        match self.overlay.get(key) {
            Some(text) => Ok(text.clone()),
            None => std::fs::read_to_string(path),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Loads a file given by the user (its name is shown as given).
    pub fn load_path(&mut self, path: &Path) -> Result<Arc<Unit>, std::io::Error> {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let text = self.read(&key, path)?;
        let source = SourceFile::new(path.display().to_string(), text);
        Ok(self.load_source(key, source, &mut Vec::new()))
    }

    /// Loads text that is not on disk (tests, stdin); `use` still resolves against the root.
    pub fn load_text(&mut self, name: &str, text: &str) -> Arc<Unit> {
        let source = SourceFile::new(name, text);
        self.load_source(self.canonical_root.join(name), source, &mut Vec::new())
    }

    fn load_source(
        &mut self,
        key: PathBuf,
        source: SourceFile,
        stack: &mut Vec<PathBuf>,
    ) -> Arc<Unit> {
        if let Some(u) = self.cache.get(&key) {
            return u.clone();
        }
        stack.push(key.clone());
        let mut diagnostics = Vec::new();
        let mut uses = Vec::new();
        let mut in_cycles = BTreeSet::new();
        let parsed = match ast::lower(&source) {
            Ok(p) => Some(p),
            Err(d) => {
                diagnostics.push(d);
                None
            }
        };
        if let Some(parsed) = &parsed {
            for item in &parsed.file.header {
                let HeaderItem::Use(path) = item else {
                    continue;
                };
                match self.resolve_use(&path.value) {
                    Err((message, help)) => diagnostics.push(
                        Diagnostic::error(
                            if message.contains("outside") {
                                "use-escapes-root"
                            } else {
                                "use-not-found"
                            },
                            message,
                        )
                        .with_label(path.span, "this path")
                        .with_help(help)
                        .with_source(&source),
                    ),
                    Ok((display, canonical)) => {
                        if let Some(pos) = stack.iter().position(|p| *p == canonical) {
                            in_cycles.extend(stack[pos..].iter().cloned());
                            let chain: Vec<String> = stack[pos..]
                                .iter()
                                .chain(std::iter::once(&canonical))
                                .map(|p| self.display(p))
                                .collect();
                            diagnostics.push(
                                Diagnostic::error("use-cycle", format!("`use` forms a cycle: {}", chain.join(" → ")))
                                    .with_label(path.span, "this `use` leads back here")
                                    .with_help("move the shared definitions into a library that neither file uses back")
                                    .with_source(&source),
                            );
                            continue;
                        }
                        let text = match self.read(&canonical, &canonical) {
                            Ok(t) => t,
                            Err(e) => {
                                diagnostics.push(
                                    Diagnostic::error(
                                        "use-not-found",
                                        format!("cannot read `{}`: {e}", path.value),
                                    )
                                    .with_label(path.span, "this path")
                                    .with_help("check the file exists and is readable")
                                    .with_source(&source),
                                );
                                continue;
                            }
                        };
                        let used =
                            self.load_source(canonical, SourceFile::new(display, text), stack);
                        in_cycles.extend(used.in_cycles.iter().cloned());
                        let broken = used.parsed.is_none()
                            || used.diagnostics.iter().any(|d| d.code.starts_with("use-"));
                        if used.in_cycles.contains(&key) {
                            diagnostics.push(
                                Diagnostic::error("use-cycle", format!("`use \"{}\"` leads back to this file through a cycle of `use`s", path.value))
                                    .with_label(path.span, "this `use` is part of a cycle")
                                    .with_help("move the shared definitions into a library that neither file uses back")
                                    .with_source(&source),
                            );
                        } else if broken {
                            let first = used
                                .diagnostics
                                .first()
                                .map(|d| d.message.clone())
                                .unwrap_or_default();
                            diagnostics.push(
                                Diagnostic::error(
                                    "use-has-errors",
                                    format!("`{}` cannot be used: {first}", path.value),
                                )
                                .with_label(path.span, "this file has errors")
                                .with_help(format!(
                                    "run `procedo lint {}` and fix it first",
                                    used.source.name()
                                ))
                                .with_source(&source),
                            );
                        }
                        uses.push((path.span, used));
                    }
                }
            }
        }
        stack.pop();
        let unit = Arc::new(Unit {
            path: key.clone(),
            source,
            parsed,
            diagnostics,
            uses,
            in_cycles,
        });
        self.cache.insert(key, unit.clone());
        unit
    }

    fn display(&self, canonical: &Path) -> String {
        canonical.strip_prefix(&self.canonical_root).map_or_else(
            |_| canonical.display().to_string(),
            |p| p.display().to_string(),
        )
    }

    /// Resolves a `use` path to (display name, canonical path), confined to the root.
    fn resolve_use(&self, text: &str) -> Result<(String, PathBuf), (String, String)> {
        if self.detached {
            return Err((
                format!("`use \"{text}\"` cannot be resolved: this document is not saved as a file"),
                "`use` paths are read from the procedures root a file lives in; save the document there"
                    .to_string(),
            ));
        }
        let rel = Path::new(text);
        let escapes = || {
            (
                format!("`use \"{text}\"` points outside the procedures root"),
                format!(
                    "`use` paths are relative to the procedures root ({}); copy the shared file inside it",
                    self.root.display()
                ),
            )
        };
        let mut depth: i32 = 0;
        for c in rel.components() {
            match c {
                Component::ParentDir => depth -= 1,
                Component::Normal(_) => depth += 1,
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => return Err(escapes()),
            }
            if depth < 0 {
                return Err(escapes());
            }
        }
        let joined = self.root.join(rel);
        let canonical = joined.canonicalize().map_err(|_| {
            (
                format!("`use \"{text}\"`: no such file in the procedures root"),
                format!(
                    "paths are relative to the procedures root ({})",
                    self.root.display()
                ),
            )
        })?;
        if !canonical.starts_with(&self.canonical_root) {
            return Err(escapes());
        }
        Ok((joined.display().to_string(), canonical))
    }
}
