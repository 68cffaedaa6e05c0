//! The open documents and what the library says about each: the same pipeline as
//! `procedo lint` (procedures root, `procedo.yaml`, ignored paths, load with the
//! files it `use`s, build, every enabled rule, allow comments), reading open
//! editors' unsaved text instead of the files on disk.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    Range, Uri,
};

use super::index::{self, Def, Index, Kind};
use super::text::{LineIndex, path_to_uri};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::{Config, find_rule, run_with};
use crate::model::{Loader, Procedure, Unit, build, find_root};
use crate::source::{SourceFile, Span};

/// At most this many `.proc` files are read under a root when looking for users of a file.
pub const MAX_ROOT_FILES: usize = 5_000;

/// An open document.
#[derive(Debug, Clone)]
pub struct Document {
    pub uri: Uri,
    /// `None` for URIs that are not `file:` paths (they are still analysed, without `use`s).
    pub path: Option<PathBuf>,
    pub text: String,
    pub version: i32,
}

/// One file's text and names (an open document or a file read from disk).
#[derive(Debug, Clone)]
pub struct FileView {
    /// Canonical path (the key files are matched by).
    pub key: PathBuf,
    pub uri: Option<Uri>,
    pub source: SourceFile,
    pub lines: LineIndex,
    pub index: Index,
    /// Files this one `use`s, transitively (canonical paths), nearest first.
    pub scope: Vec<PathBuf>,
    /// Each `use` path's span and the canonical path it names.
    pub use_targets: Vec<(Span, PathBuf)>,
}

impl FileView {
    pub fn range(&self, span: Span) -> Range {
        self.lines.range(self.source.text(), span)
    }

    pub fn location(&self, span: Span) -> Option<Location> {
        Some(Location::new(self.uri.clone()?, self.range(span)))
    }
}

/// What the library says about one document.
#[derive(Debug)]
pub struct Analysis {
    pub view: FileView,
    /// Syntax, resolution, type and lint findings of this file, as `procedo lint` reports them.
    pub diagnostics: Vec<Diagnostic>,
    pub procedure: Option<Procedure>,
    /// Every file in scope (this one first, then what it `use`s), with its names.
    pub files: Vec<FileView>,
    pub root: PathBuf,
    /// Whether the text parsed (when it did not, completion and the outline use the
    /// last text that did).
    pub parsed: bool,
}

impl Analysis {
    /// The file in scope with this canonical path.
    pub fn file(&self, key: &Path) -> Option<&FileView> {
        self.files.iter().find(|f| f.key == key)
    }

    /// The definition a name at an offset of this document means: (file, definition).
    pub fn resolve_at(&self, offset: usize) -> Option<(&FileView, &Def)> {
        match self.view.index.at(offset)? {
            index::At::Def(d) => Some((&self.view, self.view.index.defs.get(d)?)),
            index::At::Mention(m) => resolve(&self.files, &self.view, &m.name, m.kinds),
            index::At::Use(..) => None,
        }
    }
}

/// The canonical form of a path (the path itself when it does not exist).
pub fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// Resolves a name mentioned in `from`: its own definitions first, then those of
/// the files it `use`s, nearest first.
pub fn resolve<'a>(
    files: &'a [FileView],
    from: &'a FileView,
    name: &str,
    kinds: &[Kind],
) -> Option<(&'a FileView, &'a Def)> {
    for k in kinds {
        if let Some(d) = from.index.find(name, std::slice::from_ref(k)) {
            return Some((from, d));
        }
        for key in &from.scope {
            if let Some(f) = files.iter().find(|f| f.key == *key)
                && let Some(d) = f.index.find(name, std::slice::from_ref(k))
            {
                return Some((f, d));
            }
        }
    }
    None
}

/// The views of a unit and every unit it uses, transitively (each once).
pub fn views_of(unit: &Arc<Unit>, uri_of: &dyn Fn(&Path) -> Option<Uri>) -> Vec<FileView> {
    let mut out: Vec<FileView> = Vec::new();
    let mut queue = vec![unit.clone()];
    let mut seen = BTreeSet::new();
    while let Some(u) = queue.pop() {
        if !seen.insert(u.path.clone()) {
            continue;
        }
        out.push(view_of(&u, uri_of));
        for (_, used) in u.uses.iter().rev() {
            queue.push(used.clone());
        }
    }
    out
}

fn view_of(u: &Arc<Unit>, uri_of: &dyn Fn(&Path) -> Option<Uri>) -> FileView {
    let index = u
        .parsed
        .as_ref()
        .map(|p| index::index(&u.source, p))
        .unwrap_or_default();
    FileView {
        key: u.path.clone(),
        uri: uri_of(&u.path),
        lines: LineIndex::new(u.source.text()),
        source: u.source.clone(),
        index,
        scope: scope_of(u),
        use_targets: u.uses.iter().map(|(s, x)| (*s, x.path.clone())).collect(),
    }
}

/// The canonical paths a unit uses, transitively, nearest first.
fn scope_of(unit: &Arc<Unit>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut level: Vec<Arc<Unit>> = unit.uses.iter().map(|(_, u)| u.clone()).collect();
    let mut seen = BTreeSet::from([unit.path.clone()]);
    while !level.is_empty() {
        let mut next = Vec::new();
        for u in level {
            if seen.insert(u.path.clone()) {
                out.push(u.path.clone());
                next.extend(u.uses.iter().map(|(_, x)| x.clone()));
            }
        }
        level = next;
    }
    out
}

/// The open documents.
#[derive(Debug, Default)]
pub struct Workspace {
    pub docs: BTreeMap<String, Document>,
    /// The files in scope of each document when its text last parsed, and its symbols
    /// when it last built (for completion and the outline while the author types).
    pub last_good: BTreeMap<String, (Vec<FileView>, Option<crate::model::Symbols>)>,
}

impl Workspace {
    /// The open documents' texts by canonical path.
    pub fn overlay(&self) -> BTreeMap<PathBuf, String> {
        self.docs
            .values()
            .filter_map(|d| Some((canonical(d.path.as_ref()?), d.text.clone())))
            .collect()
    }

    /// The URI of a canonical path: the open document's own URI when it is open. A
    /// document that is not a file is keyed by its URI's text (see `Loader::detached`).
    pub fn uri_of(&self, key: &Path) -> Option<Uri> {
        self.docs
            .values()
            .find(|d| match d.path.as_deref() {
                Some(p) => canonical(p) == key,
                None => Path::new(d.uri.as_str()) == key,
            })
            .map(|d| d.uri.clone())
            .or_else(|| path_to_uri(key))
    }

    pub fn get(&self, uri: &Uri) -> Option<&Document> {
        self.docs.get(uri.as_str())
    }

    /// Analyses an open document.
    pub fn analyse(&mut self, uri: &Uri) -> Option<Analysis> {
        let doc = self.get(uri)?.clone();
        let analysis = self.analyse_text(&doc);
        if analysis.parsed {
            let key = uri.as_str().to_string();
            let symbols = analysis
                .procedure
                .as_ref()
                .map(|p| p.symbols.clone())
                .or_else(|| self.last_good.get(&key).and_then(|(_, s)| s.clone()));
            self.last_good
                .insert(key, (analysis.files.clone(), symbols));
        }
        Some(analysis)
    }

    fn analyse_text(&self, doc: &Document) -> Analysis {
        let overlay = self.overlay();
        let uri_of = |p: &Path| self.uri_of(p);
        let Some(path) = &doc.path else {
            // Not a file: no root, no `use`s, nothing read from disk.
            let mut loader = Loader::detached();
            let unit = loader.load_text(doc.uri.as_str(), &doc.text);
            return finish(unit, Config::default(), PathBuf::from("."), &uri_of);
        };
        let root = find_root(path);
        let (config, mut config_errors) = match Config::load(&root) {
            Ok(c) => (c, Vec::new()),
            Err(errors) => (Config::default(), errors),
        };
        let mut loader = Loader::new(root.clone()).with_overlay(overlay);
        let unit = match loader.load_path(path) {
            Ok(u) => u,
            Err(_) => loader.load_text(&path.display().to_string(), &doc.text),
        };
        let rel = path
            .strip_prefix(&root)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let mut analysis = finish(unit, config.clone(), root, &uri_of);
        if !rel.is_empty() && config.is_ignored(&rel) {
            analysis.diagnostics.clear();
        }
        // Configuration problems are shown at the top of every file under that root.
        analysis.diagnostics.splice(0..0, config_errors.drain(..));
        analysis
    }

    /// Open documents whose files `use` this canonical path (directly or not); `deps`
    /// holds each open document's file and the files it uses.
    pub fn users_of(&self, key: &Path, deps: &BTreeMap<String, BTreeSet<PathBuf>>) -> Vec<Uri> {
        self.docs
            .values()
            .filter(|d| deps.get(d.uri.as_str()).is_some_and(|s| s.contains(key)))
            .map(|d| d.uri.clone())
            .collect()
    }
}

fn finish(
    unit: Arc<Unit>,
    config: Config,
    root: PathBuf,
    uri_of: &dyn Fn(&Path) -> Option<Uri>,
) -> Analysis {
    let built = build(&unit);
    let name = unit.source.name().to_string();
    let mut diagnostics = built.diagnostics;
    if let Some(p) = &built.procedure {
        diagnostics.extend(run_with(p, &config).findings);
    }
    diagnostics.retain(|d| d.source.as_ref().is_none_or(|s| s.name() == name));
    diagnostics.sort_by_key(Diagnostic::sort_key);
    let files = views_of(&unit, uri_of);
    let view = files
        .first()
        .cloned()
        .unwrap_or_else(|| view_of(&unit, uri_of));
    Analysis {
        view,
        diagnostics,
        parsed: unit.parsed.is_some(),
        procedure: built.procedure,
        files,
        root,
    }
}

/// An LSP diagnostic from a procedo diagnostic; `shift` is the bytes of a byte-order
/// mark the library dropped from the start of the text.
pub fn to_lsp(
    d: &Diagnostic,
    view: &FileView,
    doc_text: &str,
    shift: usize,
) -> lsp_types::Diagnostic {
    let lines = LineIndex::new(doc_text);
    let range_of = |s: Span| {
        if shift == 0 {
            view.range(s)
        } else {
            lines.range(doc_text, Span::new(s.start + shift, s.end + shift))
        }
    };
    // A finding in another file (`procedo.yaml`) is shown at the top, naming its place.
    let foreign = d
        .source
        .as_ref()
        .is_some_and(|s| s.name() != view.source.name());
    let range = match d.labels.first() {
        Some(l) if !foreign => range_of(l.span),
        _ => Range::default(),
    };
    let code_description = find_rule(&d.code)
        .and_then(|r| Uri::from_str(&r.meta().docs_url()).ok())
        .map(|href| CodeDescription { href });
    let mut message = match d.location() {
        Some((file, line, col)) if foreign => format!("{file}:{line}:{col}: {}", d.message),
        _ => d.message.clone(),
    };
    if let Some(l) = d.labels.first()
        && !l.text.is_empty()
    {
        message.push_str(&format!(" ({})", l.text));
    }
    if let Some(h) = &d.help {
        message.push_str(&format!("\nhelp: {h}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .skip(1)
        .filter(|_| !foreign)
        .filter_map(|l| {
            Some(DiagnosticRelatedInformation {
                location: Location::new(view.uri.clone()?, range_of(l.span)),
                message: l.text.clone(),
            })
        })
        .collect();
    lsp_types::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Info => DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(d.code.clone())),
        code_description,
        source: Some("procedo".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

/// Every `.proc` file under a root (at most [`MAX_ROOT_FILES`]), sorted.
pub fn proc_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                let hidden = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.') || n == "target");
                if !hidden {
                    dirs.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "proc") {
                out.push(p);
                if out.len() >= MAX_ROOT_FILES {
                    out.sort();
                    return out;
                }
            }
        }
    }
    out.sort();
    out
}

/// Every file under the root that is open or on disk, each with the files in its scope,
/// loaded with the open documents' text: the files a rename or a search for references reads.
pub fn root_files(ws: &Workspace, root: &Path) -> Vec<Vec<FileView>> {
    let mut loader = Loader::new(root.to_path_buf()).with_overlay(ws.overlay());
    let mut paths: BTreeSet<PathBuf> = proc_files(root)
        .into_iter()
        .map(|p| canonical(&p))
        .collect();
    for d in ws.docs.values() {
        if let Some(p) = &d.path {
            let c = canonical(p);
            if c.starts_with(canonical(root)) {
                paths.insert(c);
            }
        }
    }
    let uri_of = |p: &Path| ws.uri_of(p);
    paths
        .into_iter()
        .filter_map(|p| loader.load_path(&p).ok())
        .map(|u| views_of(&u, &uri_of))
        .collect()
}
