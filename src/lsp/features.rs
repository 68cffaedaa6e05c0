//! The requests: hover, definition, references, outline, formatting, completion,
//! rename, quick fixes, semantic tokens and workspace symbols, each answered from
//! an open document's [`Analysis`] (names from the AST, types from the model,
//! findings and rule documentation from `lint`, layout from `fmt`).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use lsp_server::ErrorCode;
use lsp_types::*;

use super::index::{Def, Kind};
use super::text::{LineIndex, is_name_byte, path_to_uri, whole};
use super::workspace::{Analysis, FileView, canonical, resolve, root_files};
use super::{Failure, Server};
use crate::ast::{self, Section, Stmt};
use crate::diagnostic::Diagnostic as ProcDiagnostic;
use crate::lint::{RuleMeta, find_rule};
use crate::source::{SourceFile, Span};

fn failed(message: impl Into<String>) -> Failure {
    (ErrorCode::RequestFailed as i32, message.into())
}

/// The analysis of a document and the byte offset of a position in it.
fn at<'s>(
    server: &'s mut Server,
    uri: &Uri,
    pos: Position,
) -> Result<(&'s Analysis, usize), Failure> {
    let a = server.analysis(uri)?;
    let offset = a.view.lines.offset(a.view.source.text(), pos);
    Ok((a, offset))
}

// ------------------------------------------------------------------ hover

/// The Markdown shown for a rule: what it finds, why, and where its page is.
pub fn rule_markdown(m: &RuleMeta) -> String {
    format!(
        "**{}** ({}, {} by default)\n\n{}.\n\n{}\n\n[Documentation]({})",
        m.name,
        m.category.name(),
        match m.default_severity {
            crate::Severity::Error => "error",
            crate::Severity::Warning => "warning",
            crate::Severity::Info => "info",
        },
        upper_first(m.summary),
        m.explanation,
        m.docs_url()
    )
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn def_markdown(a: &Analysis, file: &FileView, d: &Def) -> String {
    let mut out = format!("**{}** `{}`", d.kind.noun(), d.name);
    if file.key != a.view.key {
        out.push_str(&format!(" — from `{}`", file.source.name()));
    }
    out.push_str(&format!("\n\n```proc\n{}\n```", d.detail));
    let symbols = a.procedure.as_ref().map(|p| &p.symbols);
    match d.kind {
        Kind::Fact => {
            if let Some(info) = symbols.and_then(|s| s.facts.get(&d.name)) {
                let mut line = format!("\n\ntype: `{}`", info.ty);
                if info.optional {
                    line.push_str(", optional");
                }
                if info.three_valued {
                    line.push_str(", may be unknown");
                }
                out.push_str(&line);
            }
        }
        Kind::Param => {
            if let Some(t) = symbols.and_then(|s| s.params.get(&d.name)) {
                out.push_str(&format!("\n\ntype: `{t}`"));
            }
        }
        Kind::Step => {
            if let Some(info) = symbols.and_then(|s| s.steps.get(&d.name))
                && !info.outcomes.is_empty()
            {
                out.push_str(&format!("\n\noutcomes: {}", info.outcomes.join(", ")));
            }
        }
        _ => {}
    }
    if !d.docs.is_empty() {
        out.push_str("\n\n");
        out.push_str(&d.docs.join("\n"));
    }
    out
}

/// The rule named by an allow comment at this offset.
fn allow_rule_at(text: &str, offset: usize) -> Option<&'static RuleMeta> {
    let line_start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line_end = text[offset.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |i| offset + i);
    let line = &text[line_start..line_end];
    let hash = line.find('#')?;
    if !line[hash..]
        .trim_start_matches('#')
        .trim_start()
        .starts_with("procedo:")
    {
        return None;
    }
    if offset < line_start + hash {
        return None;
    }
    // Rule names have `-` in them: widen the word by `-` too.
    let bytes = text.as_bytes();
    let mut s = offset.min(bytes.len());
    while s > line_start && (is_name_byte(bytes[s - 1]) || bytes[s - 1] == b'-') {
        s -= 1;
    }
    let mut e = offset.min(bytes.len());
    while e < line_end && (is_name_byte(bytes[e]) || bytes[e] == b'-') {
        e += 1;
    }
    find_rule(&text[s..e]).map(|r| r.meta())
}

pub fn hover(server: &mut Server, p: HoverParams) -> Result<Option<Hover>, Failure> {
    let pp = p.text_document_position_params;
    let (a, offset) = at(server, &pp.text_document.uri, pp.position)?;
    let text = a.view.source.text();
    let mut parts: Vec<String> = Vec::new();
    let mut range: Option<Range> = None;
    // A finding's rule, when the position is on the finding.
    let mut seen = BTreeSet::new();
    for d in &a.diagnostics {
        let Some(l) = d.labels.first() else { continue };
        if l.span.start <= offset
            && offset <= l.span.end.max(l.span.start + 1)
            && let Some(rule) = find_rule(&d.code)
            && seen.insert(d.code.clone())
        {
            parts.push(rule_markdown(rule.meta()));
            range.get_or_insert(a.view.range(l.span));
        }
    }
    if let Some(m) = allow_rule_at(text, offset)
        && seen.insert(m.name.to_string())
    {
        parts.push(rule_markdown(m));
    }
    match a.view.index.at(offset) {
        Some(super::index::At::Use(path, span)) => {
            let target = a
                .view
                .use_targets
                .iter()
                .find(|(s, _)| *s == span)
                .and_then(|(_, key)| a.file(key));
            let mut s = format!("**use** `{path}`");
            if let Some(f) = target
                && let Some(id) = f.index.defs.iter().find(|d| d.kind == Kind::Procedure)
            {
                s.push_str(&format!("\n\n```proc\n{}\n```", id.detail));
                if !id.docs.is_empty() {
                    s.push_str(&format!("\n\n{}", id.docs.join("\n")));
                }
            }
            parts.insert(0, s);
            range = Some(a.view.range(span));
        }
        Some(super::index::At::Mention(m))
            if m.free
                && (m.name == "priority" || m.name == "validity")
                && a.resolve_at(offset).is_none() =>
        {
            let symbols = a.procedure.as_ref().map(|p| &p.symbols);
            let s = if m.name == "priority" {
                let levels = symbols.map(|s| s.levels.join(" > ")).unwrap_or_default();
                format!("**priority**: the incident's assessed level\n\nscale: {levels}")
            } else {
                let bands = symbols
                    .and_then(|s| s.validity_bands.as_ref())
                    .map(|b| b.join(", "))
                    .unwrap_or_default();
                format!("**validity**: the incident's assessed validity band\n\nbands: {bands}")
            };
            parts.insert(0, s);
            range = Some(a.view.range(m.span));
        }
        Some(_) => {
            if let Some((file, d)) = a.resolve_at(offset) {
                parts.insert(0, def_markdown(a, file, d));
                let span = match a.view.index.at(offset) {
                    Some(super::index::At::Mention(m)) => m.span,
                    _ if file.key == a.view.key => d.span,
                    _ => Span::new(offset, offset),
                };
                range = Some(a.view.range(span));
            }
        }
        None => {}
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: parts.join("\n\n---\n\n"),
        }),
        range,
    }))
}

// ------------------------------------------------------------------ definition and references

pub fn definition(
    server: &mut Server,
    p: GotoDefinitionParams,
) -> Result<Option<GotoDefinitionResponse>, Failure> {
    let pp = p.text_document_position_params;
    let (a, offset) = at(server, &pp.text_document.uri, pp.position)?;
    if let Some(super::index::At::Use(_, span)) = a.view.index.at(offset) {
        let target = a.view.use_targets.iter().find(|(s, _)| *s == span);
        let loc = target.and_then(|(_, key)| {
            let uri = a
                .file(key)
                .and_then(|f| f.uri.clone())
                .or_else(|| path_to_uri(key))?;
            Some(Location::new(uri, Range::default()))
        });
        return Ok(loc.map(GotoDefinitionResponse::Scalar));
    }
    Ok(a.resolve_at(offset)
        .and_then(|(f, d)| f.location(d.span))
        .map(GotoDefinitionResponse::Scalar))
}

/// The definition a name refers to: its file's canonical path, name span, name and kind.
#[derive(Debug, Clone)]
struct Target {
    key: PathBuf,
    span: Span,
    name: String,
    kind: Kind,
}

/// The files a search for references reads: everything under the procedures root
/// (open or on disk), or only the document's own scope when it has no file.
fn search_groups(server: &Server, a: &Analysis) -> Vec<Vec<FileView>> {
    if a.view
        .uri
        .as_ref()
        .is_some_and(|u| u.as_str().starts_with("file:"))
        && a.view.key.starts_with(canonical(&a.root))
    {
        root_files(&server.ws, &a.root)
    } else {
        vec![a.files.clone()]
    }
}

/// Every place the target is defined or mentioned: (file view, span), definition first.
fn occurrences(groups: &[Vec<FileView>], t: &Target) -> Vec<(FileView, Span)> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for g in groups {
        let Some(f) = g.first() else { continue };
        if f.key != t.key && !f.scope.contains(&t.key) {
            continue;
        }
        if f.key == t.key && seen.insert((f.key.clone(), t.span)) {
            out.insert(0, (f.clone(), t.span));
        }
        for m in &f.index.mentions {
            if m.name != t.name {
                continue;
            }
            if let Some((rf, d)) = resolve(g, f, &m.name, m.kinds)
                && rf.key == t.key
                && d.span == t.span
                && seen.insert((f.key.clone(), m.span))
            {
                out.push((f.clone(), m.span));
            }
        }
    }
    out
}

fn target_at(a: &Analysis, offset: usize) -> Option<Target> {
    let (f, d) = a.resolve_at(offset)?;
    Some(Target {
        key: f.key.clone(),
        span: d.span,
        name: d.name.clone(),
        kind: d.kind,
    })
}

pub fn references(server: &mut Server, p: ReferenceParams) -> Result<Vec<Location>, Failure> {
    let pp = p.text_document_position;
    let uri = pp.text_document.uri;
    let (a, offset) = at(server, &uri, pp.position)?;
    // On a `use` path: the file it names, and every `use` of that file.
    let used_file = match a.view.index.at(offset) {
        Some(super::index::At::Use(_, span)) => a
            .view
            .use_targets
            .iter()
            .find(|(s, _)| *s == span)
            .map(|(_, key)| key.clone()),
        _ => None,
    };
    let t = target_at(a, offset);
    let a = server
        .analyses
        .get(uri.as_str())
        .ok_or_else(|| failed("not analysed"))?;
    let groups = search_groups(server, a);
    let mut out = Vec::new();
    if let Some(t) = &t {
        out.extend(
            occurrences(&groups, t)
                .into_iter()
                .filter(|(f, s)| p.context.include_declaration || !(f.key == t.key && *s == t.span))
                .filter_map(|(f, s)| f.location(s)),
        );
    }
    // A file is referred to by its `use`s (from its id or from a `use` of it).
    let file = used_file.or_else(|| {
        t.as_ref()
            .filter(|t| t.kind == Kind::Procedure)
            .map(|t| t.key.clone())
    });
    if let Some(key) = file {
        if p.context.include_declaration
            && t.is_none()
            && let Some(f) = groups
                .iter()
                .filter_map(|g| g.first())
                .find(|f| f.key == key)
            && let Some(id) = f.index.defs.iter().find(|d| d.kind == Kind::Procedure)
        {
            out.extend(f.location(id.span));
        }
        for g in &groups {
            let Some(f) = g.first() else { continue };
            for (span, target) in &f.use_targets {
                if *target == key {
                    out.extend(f.location(*span));
                }
            }
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------ outline

fn symbol_kind(k: Kind) -> SymbolKind {
    match k {
        Kind::Procedure => SymbolKind::MODULE,
        Kind::Type => SymbolKind::TYPE_PARAMETER,
        Kind::Fact => SymbolKind::FIELD,
        Kind::EnumValue | Kind::Level | Kind::Band => SymbolKind::ENUM_MEMBER,
        Kind::Param => SymbolKind::CONSTANT,
        Kind::Role => SymbolKind::CLASS,
        Kind::Resource => SymbolKind::STRUCT,
        Kind::Calendar | Kind::Clock => SymbolKind::OBJECT,
        Kind::TargetKind => SymbolKind::PROPERTY,
        Kind::Decision => SymbolKind::FUNCTION,
        Kind::End | Kind::Event => SymbolKind::EVENT,
        Kind::Step => SymbolKind::METHOD,
        Kind::Constraint | Kind::Standard | Kind::Exemption | Kind::Link => SymbolKind::INTERFACE,
        Kind::Outcome => SymbolKind::ENUM_MEMBER,
    }
}

#[allow(deprecated)]
fn doc_symbol(view: &FileView, i: usize, d: &Def) -> DocumentSymbol {
    let children: Vec<DocumentSymbol> = view
        .index
        .defs
        .iter()
        .enumerate()
        .filter(|(_, c)| c.parent == Some(i))
        .map(|(j, c)| doc_symbol(view, j, c))
        .collect();
    let detail = d.detail.lines().next().map(str::to_string);
    let mut range = view.range(d.full.join(d.span));
    for c in &children {
        if c.range.end > range.end {
            range.end = c.range.end;
        }
    }
    DocumentSymbol {
        name: d.name.clone(),
        detail,
        kind: symbol_kind(d.kind),
        tags: None,
        deprecated: None,
        range,
        selection_range: view.range(d.span),
        children: (!children.is_empty()).then_some(children),
    }
}

/// The outline of a file: its id, then each section with what it defines.
#[allow(deprecated)]
pub fn outline(view: &FileView) -> Vec<DocumentSymbol> {
    let idx = &view.index;
    let mut out = Vec::new();
    if let Some((i, d)) = idx
        .defs
        .iter()
        .enumerate()
        .find(|(_, d)| d.kind == Kind::Procedure)
    {
        out.push(doc_symbol(view, i, d));
    }
    let text_len = view.source.text().len();
    for (n, (keyword, span)) in idx.sections.iter().enumerate() {
        let end = idx
            .sections
            .get(n + 1)
            .map_or(text_len, |(_, s)| s.start.max(span.end));
        let section = Span::new(span.start, end.max(span.end));
        let children: Vec<DocumentSymbol> = idx
            .defs
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                d.parent.is_none()
                    && d.kind != Kind::Procedure
                    && d.kind != Kind::EnumValue
                    && section.start <= d.span.start
                    && d.span.end <= section.end
            })
            .map(|(i, d)| doc_symbol(view, i, d))
            .collect();
        let name_end = view.source.text()[span.start..]
            .find(|c: char| c.is_whitespace())
            .map_or(span.end, |k| span.start + k);
        let head = Span::new(span.start, name_end);
        let mut range = view.range(Span::new(span.start, span.end.max(head.end)));
        for c in &children {
            if c.range.end > range.end {
                range.end = c.range.end;
            }
        }
        out.push(DocumentSymbol {
            name: (*keyword).to_string(),
            detail: None,
            kind: SymbolKind::NAMESPACE,
            tags: None,
            deprecated: None,
            range,
            selection_range: view.range(head),
            children: (!children.is_empty()).then_some(children),
        });
    }
    out
}

pub fn document_symbols(
    server: &mut Server,
    p: DocumentSymbolParams,
) -> Result<Option<DocumentSymbolResponse>, Failure> {
    let uri = p.text_document.uri;
    let a = server.analysis(&uri)?;
    if a.parsed {
        return Ok(Some(DocumentSymbolResponse::Nested(outline(&a.view))));
    }
    // While the text does not parse, the outline of the last text that did.
    let last = server
        .ws
        .last_good
        .get(uri.as_str())
        .and_then(|(files, _)| files.first());
    Ok(last.map(|v| DocumentSymbolResponse::Nested(outline(v))))
}

#[allow(deprecated)]
pub fn workspace_symbols(
    server: &mut Server,
    p: WorkspaceSymbolParams,
) -> Result<Option<WorkspaceSymbolResponse>, Failure> {
    let query = p.query.to_lowercase();
    let roots: BTreeSet<PathBuf> = server
        .ws
        .docs
        .values()
        .filter_map(|d| d.path.as_deref().map(crate::model::find_root))
        .collect();
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for root in roots {
        for g in root_files(&server.ws, &root) {
            let Some(f) = g.first() else { continue };
            if !seen.insert(f.key.clone()) {
                continue;
            }
            let container = f
                .index
                .defs
                .iter()
                .find(|d| d.kind == Kind::Procedure)
                .map(|d| d.name.clone());
            for d in &f.index.defs {
                if d.kind == Kind::EnumValue || !d.name.to_lowercase().contains(&query) {
                    continue;
                }
                let Some(location) = f.location(d.span) else {
                    continue;
                };
                out.push(SymbolInformation {
                    name: d.name.clone(),
                    kind: symbol_kind(d.kind),
                    tags: None,
                    deprecated: None,
                    location,
                    container_name: container.clone(),
                });
                if out.len() >= 1000 {
                    return Ok(Some(WorkspaceSymbolResponse::Flat(out)));
                }
            }
        }
    }
    Ok(Some(WorkspaceSymbolResponse::Flat(out)))
}

// ------------------------------------------------------------------ formatting

pub fn formatting(
    server: &mut Server,
    p: DocumentFormattingParams,
) -> Result<Option<Vec<TextEdit>>, Failure> {
    let uri = p.text_document.uri;
    let doc = server.ws.get(&uri).ok_or_else(|| super::not_open(&uri))?;
    let source = SourceFile::new(uri.as_str(), doc.text.clone());
    let out = crate::fmt::format_checked(&source).map_err(|d| {
        let at = d
            .location()
            .map_or(String::new(), |(_, l, c)| format!(" at {l}:{c}"));
        failed(format!("cannot format: {}{at}", d.message))
    })?;
    if out == doc.text {
        return Ok(Some(Vec::new()));
    }
    Ok(Some(vec![TextEdit::new(whole(&doc.text), out)]))
}

// ------------------------------------------------------------------ completion

use crate::syntax::SECTION_WORDS as SECTIONS;
const HEADER: &[&str] = &["version", "owner", "effective", "applies when", "use"];
const STATEMENTS: &[&str] = &[
    "step", "inform", "instruct", "decide", "when", "else", "end", "parallel", "branch", "repeat",
    "until", "monitor", "call", "go to",
];
const STEP_ATTRS: &[&str] = &[
    "within",
    "by",
    "needs",
    "records",
    "outcomes",
    "escalate",
    "to",
    "responsibilities",
    "ack within",
    "actions",
];
/// The keywords that start a line inside a section (other lines start with a new name).
const SECTION_ITEMS: &[(&str, &[&str])] = &[
    ("facts", &["type"]),
    (
        "priority",
        &[
            "scale", "target", "override", "regrade", "matrix", "table", "score", "combine",
        ],
    ),
    ("validity", &["bands"]),
    ("decisions", &["table", "matrix", "score"]),
    ("calendar", &["timezone", "hours", "holiday", "calls after"]),
    (
        "clock",
        &["starts at", "stops at", "pauses from", "calendar"],
    ),
    (
        "mapping",
        &[
            "activity",
            "attribute",
            "value",
            "timestamp format",
            "timezone",
        ],
    ),
];
const TYPES: &[&str] = &[
    "bool",
    "int",
    "decimal",
    "text",
    "duration",
    "timestamp",
    "date",
    "enum",
    "list of",
    "code",
];
const EXPR_WORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "is missing",
    "is not missing",
    "matches",
    "priority",
    "validity",
    "outcome of",
    "target",
    "len",
    "min",
    "max",
];
const DURATION_UNITS: &[(&str, &str)] = &[
    ("s", "seconds"),
    ("m", "minutes"),
    ("h", "hours"),
    ("d", "days"),
    ("w", "weeks"),
];

fn item(label: &str, kind: CompletionItemKind, detail: Option<String>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail,
        ..Default::default()
    }
}

fn completion_kind(k: Kind) -> CompletionItemKind {
    match k {
        Kind::Fact => CompletionItemKind::FIELD,
        Kind::Param => CompletionItemKind::CONSTANT,
        Kind::EnumValue | Kind::Level | Kind::Band | Kind::Outcome => {
            CompletionItemKind::ENUM_MEMBER
        }
        Kind::Type => CompletionItemKind::TYPE_PARAMETER,
        Kind::Role => CompletionItemKind::CLASS,
        Kind::Step => CompletionItemKind::METHOD,
        Kind::Decision => CompletionItemKind::FUNCTION,
        Kind::End | Kind::Event => CompletionItemKind::EVENT,
        _ => CompletionItemKind::REFERENCE,
    }
}

/// What a completion may offer at a place.
#[derive(Debug, PartialEq)]
enum Want {
    Sections,
    Header,
    Statement,
    /// A section's line keywords: the section and its keywords.
    Keywords(&'static str, &'static [&'static str]),
    Kinds(Vec<Kind>),
    Values(Vec<String>),
    Types,
    Units(String),
    Expression,
    Nothing,
}

/// The section the line belongs to: the last line at or above it that starts (unindented)
/// with a section keyword.
fn section_of(text: &str, line_start: usize) -> Option<&'static str> {
    text[..line_start].lines().rev().find_map(|l| {
        let w = l.split_whitespace().next()?;
        if l.starts_with(char::is_whitespace) {
            return None;
        }
        SECTIONS
            .iter()
            .find(|s| **s == w)
            .copied()
            .or_else(|| (w == "procedure" || w == "library").then_some("header"))
    })
}

/// The subject of the innermost `decide … on SUBJECT` above a `when` line.
fn decide_subject(text: &str, line_start: usize, indent: usize) -> Option<String> {
    // The nearest line above that is indented less than the `when`: its `decide`.
    let opener = text[..line_start].lines().rev().find(|l| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('#') && l.len() - t.len() < indent
    })?;
    let (_, subject) = opener
        .trim_start()
        .strip_prefix("decide ")?
        .split_once(" on ")?;
    Some(subject.trim().to_string())
}

fn want(text: &str, offset: usize, symbols: Option<&crate::model::Symbols>) -> Want {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &text[line_start..offset];
    if prefix.contains('#') {
        return Want::Nothing;
    }
    let trimmed = prefix.trim_start();
    let indent = prefix.len() - trimmed.len();
    let partial_start = trimmed
        .bytes()
        .rposition(|b| !is_name_byte(b))
        .map_or(0, |i| i + 1);
    let partial = &trimmed[partial_start..];
    let before = trimmed[..partial_start].trim_end();
    if partial.starts_with(|c: char| c.is_ascii_digit()) {
        return Want::Units(partial.to_string());
    }
    let section = section_of(text, line_start);
    if indent == 0 && before.is_empty() {
        return Want::Sections;
    }
    let words: Vec<&str> = before
        .split(|c: char| c.is_whitespace() || c == '[' || c == ',' || c == '(')
        .filter(|w| !w.is_empty())
        .collect();
    let last = words.last().copied().unwrap_or("");
    let prev = words
        .len()
        .checked_sub(2)
        .and_then(|i| words.get(i))
        .copied()
        .unwrap_or("");
    if before.is_empty() {
        return match section {
            Some("header") => Want::Header,
            Some("flow") => Want::Statement,
            Some(s) => SECTION_ITEMS
                .iter()
                .find(|(name, _)| *name == s)
                .map_or(Want::Nothing, |(name, items)| Want::Keywords(name, items)),
            None => Want::Nothing,
        };
    }
    let open_list = |kw: &str| before.rfind(kw).is_some_and(|i| !before[i..].contains(']'));
    if open_list("records [") {
        return Want::Kinds(vec![Kind::Fact]);
    }
    if section == Some("facts") && (last.ends_with(':') || last == "of") {
        return Want::Types;
    }
    match last {
        "by" => return Want::Kinds(vec![Kind::Role]),
        "to" if prev == "go" => return Want::Kinds(vec![Kind::Step]),
        "to" | "reports" => return Want::Kinds(vec![Kind::Role]),
        "of" if prev == "outcome" => return Want::Kinds(vec![Kind::Step]),
        "of" | "->" | "after" | "until" | "first" | "last" | "at" | "from" | "followed"
        | "before"
            if matches!(
                section,
                Some("flow" | "clock" | "constraints" | "standards" | "mapping")
            ) =>
        {
            return Want::Kinds(vec![Kind::Step, Kind::Event]);
        }
        "end" if section == Some("flow") => return Want::Kinds(vec![Kind::End]),
        "calendar" => return Want::Kinds(vec![Kind::Calendar]),
        "on" if before.trim_start().starts_with("within") => {
            return Want::Kinds(vec![Kind::Clock]);
        }
        "on" if before.trim_start().starts_with("decide") => return Want::Expression,
        "step" | "inform" | "instruct" | "decide" | "monitor" | "repeat" | "parallel" => {
            return Want::Nothing;
        }
        _ => {}
    }
    if prev == "needs" && last.chars().all(|c| c.is_ascii_digit()) {
        return Want::Kinds(vec![Kind::Resource]);
    }
    // `when` values of a `decide … on SUBJECT`.
    if section == Some("flow")
        && words.first() == Some(&"when")
        && let Some(subject) = decide_subject(text, line_start, indent)
    {
        let values = values_of(&subject, symbols);
        if !values.is_empty() {
            return Want::Values(values);
        }
    }
    // `fact == v`, `fact in [v, …`: the fact's values.
    for op in ["==", "!=", " in "] {
        if let Some(i) = before.rfind(op) {
            let lhs = before[..i].trim_end();
            let start = lhs
                .bytes()
                .rposition(|b| !is_name_byte(b))
                .map_or(0, |k| k + 1);
            let values = values_of(&lhs[start..], symbols);
            if !values.is_empty() {
                return Want::Values(values);
            }
        }
    }
    Want::Expression
}

/// The bare values a subject can take: an enum fact's values, the levels, the bands.
fn values_of(subject: &str, symbols: Option<&crate::model::Symbols>) -> Vec<String> {
    let Some(s) = symbols else {
        return Vec::new();
    };
    if subject == "priority" {
        return s.levels.clone();
    }
    if subject == "validity" {
        return s.validity_bands.clone().unwrap_or_default();
    }
    let ty = s
        .facts
        .get(subject)
        .map(|f| f.ty.clone())
        .or_else(|| s.params.get(subject).cloned());
    match ty {
        Some(crate::model::Type::Bool) => vec!["true".to_string(), "false".to_string()],
        Some(crate::model::Type::Level) => s.levels.clone(),
        Some(t) => t.symbols().map(<[String]>::to_vec).unwrap_or_default(),
        None => Vec::new(),
    }
}

pub fn completion(
    server: &mut Server,
    p: CompletionParams,
) -> Result<Option<CompletionResponse>, Failure> {
    let pp = p.text_document_position;
    let uri = pp.text_document.uri;
    let (a, offset) = at(server, &uri, pp.position)?;
    let text = a.view.source.text().to_string();
    // The names of the last text that parsed (this one, when it does) and the symbols of
    // the last that built: while the author types, the line being written rarely parses.
    let (files, symbols) = match server.ws.last_good.get(uri.as_str()) {
        Some((f, s)) => (f.as_slice(), s.as_ref()),
        None => (&[][..], None),
    };
    let mut items: Vec<CompletionItem> = Vec::new();
    let names = |kinds: &[Kind], items: &mut Vec<CompletionItem>| {
        let mut seen = BTreeSet::new();
        for f in files {
            for d in &f.index.defs {
                if kinds.contains(&d.kind) && seen.insert((d.kind, d.name.clone())) {
                    items.push(item(
                        &d.name,
                        completion_kind(d.kind),
                        Some(d.kind.noun().to_string()),
                    ));
                }
            }
        }
    };
    match want(&text, offset, symbols) {
        Want::Sections => {
            for s in SECTIONS {
                items.push(item(s, CompletionItemKind::KEYWORD, Some("section".into())));
            }
        }
        Want::Header => {
            for s in HEADER {
                items.push(item(s, CompletionItemKind::KEYWORD, Some("header".into())));
            }
        }
        Want::Statement => {
            for s in STATEMENTS {
                items.push(item(
                    s,
                    CompletionItemKind::KEYWORD,
                    Some("statement".into()),
                ));
            }
            for s in STEP_ATTRS {
                items.push(item(
                    s,
                    CompletionItemKind::KEYWORD,
                    Some("step detail".into()),
                ));
            }
        }
        Want::Keywords(section, words) => {
            for w in words {
                items.push(item(
                    w,
                    CompletionItemKind::KEYWORD,
                    Some(format!("in `{section}`")),
                ));
            }
        }
        Want::Kinds(kinds) => names(&kinds, &mut items),
        Want::Values(values) => {
            for v in values {
                items.push(item(
                    &v,
                    CompletionItemKind::ENUM_MEMBER,
                    Some("value".into()),
                ));
            }
        }
        Want::Types => {
            for t in TYPES {
                items.push(item(t, CompletionItemKind::KEYWORD, Some("type".into())));
            }
            names(&[Kind::Type], &mut items);
        }
        Want::Units(number) => {
            let digits: String = number.chars().take_while(char::is_ascii_digit).collect();
            for (u, what) in DURATION_UNITS {
                let mut it = item(
                    &format!("{digits}{u}"),
                    CompletionItemKind::UNIT,
                    Some((*what).to_string()),
                );
                it.filter_text = Some(format!("{digits}{u}"));
                items.push(it);
            }
        }
        Want::Expression => {
            names(
                &[
                    Kind::Fact,
                    Kind::Param,
                    Kind::Decision,
                    Kind::Level,
                    Kind::EnumValue,
                ],
                &mut items,
            );
            for w in EXPR_WORDS {
                items.push(item(w, CompletionItemKind::KEYWORD, None));
            }
        }
        Want::Nothing => {}
    }
    Ok(Some(CompletionResponse::Array(items)))
}

// ------------------------------------------------------------------ rename

/// Kinds whose every mention the index knows, so renaming them is safe.
fn renamable(k: Kind) -> bool {
    !matches!(
        k,
        Kind::Procedure | Kind::EnumValue | Kind::TargetKind | Kind::Band
    )
}

pub fn prepare_rename(
    server: &mut Server,
    p: TextDocumentPositionParams,
) -> Result<Option<PrepareRenameResponse>, Failure> {
    let (a, offset) = at(server, &p.text_document.uri, p.position)?;
    let Some((_, d)) = a.resolve_at(offset) else {
        return Ok(None);
    };
    if !renamable(d.kind) {
        return Err(failed(format!("a {} cannot be renamed", d.kind.noun())));
    }
    let span = match a.view.index.at(offset) {
        Some(super::index::At::Mention(m)) => m.span,
        Some(super::index::At::Def(i)) => a.view.index.defs.get(i).map_or(d.span, |x| x.span),
        _ => return Ok(None),
    };
    Ok(Some(PrepareRenameResponse::RangeWithPlaceholder {
        range: a.view.range(span),
        placeholder: d.name.clone(),
    }))
}

/// Whether a new name is a valid procedo name.
fn valid_name(name: &str) -> Result<(), Failure> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.bytes().all(is_name_byte);
    if !ok {
        return Err((
            ErrorCode::InvalidParams as i32,
            format!(
                "`{name}` is not a name: use letters, digits and `_`, not starting with a digit"
            ),
        ));
    }
    if ast::RESERVED.contains(&name) {
        return Err((
            ErrorCode::InvalidParams as i32,
            format!("`{name}` is a reserved word"),
        ));
    }
    Ok(())
}

/// The test file beside a procedure: `NAME.test.yaml`.
fn test_yaml(key: &Path) -> Option<PathBuf> {
    let stem = key.file_stem()?.to_str()?;
    let p = key.with_file_name(format!("{stem}.test.yaml"));
    p.is_file().then_some(p)
}

/// Edits renaming a name in a test file: every whole-word occurrence outside comments,
/// quoted strings and `name:` values.
pub fn yaml_renames(text: &str, old: &str, new: &str) -> Vec<TextEdit> {
    let lines = LineIndex::new(text);
    let mut out = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_start();
        let skip_line = body.starts_with('#')
            || body
                .trim_start_matches("- ")
                .trim_start()
                .starts_with("name:");
        if !skip_line {
            let bytes = line.as_bytes();
            let mut quote: Option<u8> = None;
            let mut i = 0;
            while i < bytes.len() {
                let b = bytes[i];
                match quote {
                    Some(q) if b == q => quote = None,
                    Some(_) => {}
                    None if b == b'"' || b == b'\'' => quote = Some(b),
                    None if b == b'#' && (i == 0 || bytes[i - 1] == b' ') => break,
                    None if is_name_byte(b) && (i == 0 || !is_name_byte(bytes[i - 1])) => {
                        let mut e = i;
                        while e < bytes.len() && is_name_byte(bytes[e]) {
                            e += 1;
                        }
                        if &line[i..e] == old {
                            let span = Span::new(line_start + i, line_start + e);
                            out.push(TextEdit::new(lines.range(text, span), new.to_string()));
                        }
                        i = e;
                        continue;
                    }
                    None => {}
                }
                i += 1;
            }
        }
        line_start += line.len();
    }
    out
}

// lsp-types keys `WorkspaceEdit::changes` by `Uri`, which caches its parts in cells.
#[allow(clippy::mutable_key_type)]
pub fn rename(server: &mut Server, p: RenameParams) -> Result<Option<WorkspaceEdit>, Failure> {
    let pp = p.text_document_position;
    let uri = pp.text_document.uri;
    valid_name(&p.new_name)?;
    let (a, offset) = at(server, &uri, pp.position)?;
    let Some(t) = target_at(a, offset) else {
        return Ok(None);
    };
    let changes = rename_changes(server, &uri, &t, &p.new_name)?;
    Ok(Some(WorkspaceEdit {
        changes: Some(changes),
        ..Default::default()
    }))
}

/// The edits renaming a definition: every mention in the files under the root that
/// see it, and the test files beside them.
// lsp-types keys `WorkspaceEdit::changes` by `Uri`, which caches its parts in cells.
#[allow(clippy::mutable_key_type)]
fn rename_changes(
    server: &Server,
    uri: &Uri,
    t: &Target,
    new_name: &str,
) -> Result<HashMap<Uri, Vec<TextEdit>>, Failure> {
    if !renamable(t.kind) {
        return Err(failed(format!("a {} cannot be renamed", t.kind.noun())));
    }
    let a = server
        .analyses
        .get(uri.as_str())
        .ok_or_else(|| failed("not analysed"))?;
    let groups = search_groups(server, a);
    if let Some((f, d)) = groups
        .iter()
        .filter_map(|g| g.first())
        .find(|f| f.key == t.key)
        .and_then(|f| Some((f, f.index.find(new_name, &[t.kind])?)))
    {
        return Err(failed(format!(
            "`{}` is already a {} in {} (line {})",
            new_name,
            t.kind.noun(),
            f.source.name(),
            f.source.line_col(d.span.start).0
        )));
    }
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for (f, span) in occurrences(&groups, t) {
        let Some(u) = f.uri.clone() else { continue };
        changes
            .entry(u)
            .or_default()
            .push(TextEdit::new(f.range(span), new_name.to_string()));
    }
    // The tests beside the file and beside every file that uses it.
    if matches!(
        t.kind,
        Kind::Fact | Kind::Step | Kind::Level | Kind::End | Kind::Event | Kind::Param | Kind::Role
    ) {
        let mut yamls = BTreeSet::new();
        for g in &groups {
            let Some(f) = g.first() else { continue };
            // A document that is not a file has no tests beside it.
            let on_disk = f
                .uri
                .as_ref()
                .is_some_and(|u| u.as_str().starts_with("file:"));
            if on_disk
                && (f.key == t.key || f.scope.contains(&t.key))
                && let Some(y) = test_yaml(&f.key)
            {
                yamls.insert(y);
            }
        }
        for y in yamls {
            let Some(yuri) = server.ws.uri_of(&canonical(&y)) else {
                continue;
            };
            let text = match server.ws.get(&yuri) {
                Some(d) => d.text.clone(),
                None => std::fs::read_to_string(&y).unwrap_or_default(),
            };
            let edits = yaml_renames(&text, &t.name, new_name);
            if !edits.is_empty() {
                changes.entry(yuri).or_default().extend(edits);
            }
        }
    }
    Ok(changes)
}

// ------------------------------------------------------------------ quick fixes

#[allow(clippy::mutable_key_type)]
fn quick_fix(
    title: String,
    uri: &Uri,
    edits: Vec<TextEdit>,
    diag: Option<Diagnostic>,
    preferred: bool,
) -> CodeActionOrCommand {
    let mut changes = HashMap::new();
    changes.insert(uri.clone(), edits);
    CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: diag.map(|d| vec![d]),
        edit: Some(WorkspaceEdit {
            changes: Some(changes),
            ..Default::default()
        }),
        is_preferred: Some(preferred),
        ..Default::default()
    })
}

/// The `decide` whose first line is this span.
fn find_decide(stmts: &[Stmt], span: Span) -> Option<&ast::Decide> {
    for s in stmts {
        match s {
            Stmt::Decide(d) => {
                if d.span == span {
                    return Some(d);
                }
                for b in &d.branches {
                    if let ast::BranchBody::Block(xs) = &b.body
                        && let Some(x) = find_decide(xs, span)
                    {
                        return Some(x);
                    }
                }
                if let Some((ast::BranchBody::Block(xs), _)) = &d.otherwise
                    && let Some(x) = find_decide(xs, span)
                {
                    return Some(x);
                }
            }
            Stmt::Parallel(p) => {
                for b in &p.branches {
                    if let Some(x) = find_decide(&b.body, span) {
                        return Some(x);
                    }
                }
            }
            Stmt::Repeat(r) => {
                if let Some(x) = find_decide(&r.body, span) {
                    return Some(x);
                }
            }
            _ => {}
        }
    }
    None
}

/// The whole lines of a declaration, with the `##` lines just above it.
fn declaration_lines(text: &str, span: Span) -> Span {
    let mut start = line_start(text, span.start);
    while start > 0 {
        let prev = line_start(text, start - 1);
        if text[prev..start].trim_start().starts_with("##") {
            start = prev;
        } else {
            break;
        }
    }
    let end = text[span.end.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |i| span.end + i + 1);
    Span::new(start, end)
}

fn indent_of(text: &str, offset: usize) -> &str {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = &text[start..];
    &line[..line.len() - line.trim_start().len()]
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1)
}

/// The quick fixes for one finding.
fn fixes_for(
    a: &Analysis,
    uri: &Uri,
    d: &ProcDiagnostic,
    lsp: Diagnostic,
) -> Vec<CodeActionOrCommand> {
    let text = a.view.source.text();
    let Some(label) = d.labels.first() else {
        return Vec::new();
    };
    let span = label.span;
    let insert = |offset: usize, s: String| {
        let pos = a.view.lines.position(text, offset);
        TextEdit::new(Range::new(pos, pos), s)
    };
    let mut out = Vec::new();
    match d.code.as_str() {
        "allow-without-reason" => {
            let comment_end = text[span.start..]
                .find('\n')
                .map_or(text.len(), |i| span.start + i);
            let end = span.end.min(comment_end);
            let trimmed_end = span.start + text[span.start..end].trim_end().len();
            out.push(quick_fix(
                "Add a reason to the allow comment".to_string(),
                uri,
                vec![insert(
                    trimmed_end,
                    " reason \"TODO: say why this is intended\"".to_string(),
                )],
                Some(lsp.clone()),
                true,
            ));
        }
        "decision-not-exhaustive" => {
            let decide = a.procedure.as_ref().and_then(|p| {
                p.ast().sections.iter().find_map(|s| match s {
                    Section::Flow { body, .. } => find_decide(body, span),
                    _ => None,
                })
            });
            let end_state = a
                .procedure
                .as_ref()
                .and_then(|p| p.symbols.ends.iter().next().cloned());
            if let (Some(decide), Some(state)) = (decide, end_state) {
                let at = line_start(text, decide.end_span.start);
                let indent = indent_of(text, decide.span.start).to_string();
                out.push(quick_fix(
                    format!("Add an `else` branch that ends the case (`end {state}`)"),
                    uri,
                    vec![insert(
                        at,
                        format!("{indent}  else\n{indent}    end {state}\n"),
                    )],
                    Some(lsp.clone()),
                    true,
                ));
            }
        }
        // Nothing mentions it (the rule proves it): remove the declaration with its doc comment.
        "unused-fact" | "unused-role" | "unused-resource-type" => {
            let kind = match d.code.as_str() {
                "unused-fact" => Kind::Fact,
                "unused-role" => Kind::Role,
                _ => Kind::Resource,
            };
            if let Some(def) = a
                .view
                .index
                .defs
                .iter()
                .find(|x| x.kind == kind && x.span == span)
            {
                let remove = declaration_lines(text, def.full);
                out.push(quick_fix(
                    format!("Remove the unused {} `{}`", kind.noun(), def.name),
                    uri,
                    vec![TextEdit::new(a.view.range(remove), String::new())],
                    Some(lsp.clone()),
                    true,
                ));
            }
        }
        _ => {}
    }
    // `did you mean `x`?`: the name it means.
    if let Some(h) = &d.help
        && let Some(rest) = h.split("did you mean `").nth(1)
        && let Some(name) = rest.split('`').next()
        && !name.is_empty()
        && span.end > span.start
    {
        out.push(quick_fix(
            format!("Replace with `{name}`"),
            uri,
            vec![TextEdit::new(a.view.range(span), name.to_string())],
            Some(lsp.clone()),
            true,
        ));
    }
    // Any rule's finding: allow it here, with a reason to fill in.
    if find_rule(&d.code).is_some()
        && d.code != "allow-without-reason"
        && d.code != "invalid-allow-comment"
    {
        let at = line_start(text, span.start);
        let indent = indent_of(text, span.start).to_string();
        out.push(quick_fix(
            format!("Allow `{}` here (with a reason)", d.code),
            uri,
            vec![insert(
                at,
                format!(
                    "{indent}# procedo: allow({}) reason \"TODO: say why this is intended\"\n",
                    d.code
                ),
            )],
            Some(lsp),
            false,
        ));
    }
    out
}

pub fn code_actions(
    server: &mut Server,
    p: CodeActionParams,
) -> Result<Option<CodeActionResponse>, Failure> {
    let uri = p.text_document.uri;
    let a = server.analysis(&uri)?;
    let mut out = Vec::new();
    let mut renames = Vec::new();
    for d in &a.diagnostics {
        let Some(l) = d.labels.first() else { continue };
        let r = a.view.range(l.span);
        // Whole lines: a cursor anywhere on a finding's line is on the finding.
        let overlaps = r.start.line <= p.range.end.line && p.range.start.line <= r.end.line;
        if !overlaps {
            continue;
        }
        let lsp = super::workspace::to_lsp(d, &a.view, a.view.source.text(), 0);
        out.extend(fixes_for(a, &uri, d, lsp.clone()));
        // `naming-convention`: the name it suggests, everywhere the name is used.
        if d.code == "naming-convention"
            && let Some(name) = d
                .help
                .as_deref()
                .and_then(|h| h.strip_prefix("rename it `"))
                .and_then(|h| h.split('`').next())
            && let Some(def) = a.view.index.defs.iter().find(|x| x.span == l.span)
            && renamable(def.kind)
        {
            let t = Target {
                key: a.view.key.clone(),
                span: def.span,
                name: def.name.clone(),
                kind: def.kind,
            };
            renames.push((t, name.to_string(), lsp));
        }
    }
    for (t, name, lsp) in renames {
        if valid_name(&name).is_err() {
            continue;
        }
        let Ok(changes) = rename_changes(server, &uri, &t, &name) else {
            continue;
        };
        out.insert(
            0,
            CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("Rename `{}` to `{name}` everywhere", t.name),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![lsp]),
                edit: Some(WorkspaceEdit {
                    changes: Some(changes),
                    ..Default::default()
                }),
                is_preferred: Some(true),
                ..Default::default()
            }),
        );
    }
    Ok(Some(out))
}

// ------------------------------------------------------------------ semantic tokens

/// The token types and modifiers the server uses.
pub fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: vec![
            SemanticTokenType::NAMESPACE,
            SemanticTokenType::TYPE,
            SemanticTokenType::ENUM_MEMBER,
            SemanticTokenType::VARIABLE,
            SemanticTokenType::PARAMETER,
            SemanticTokenType::CLASS,
            SemanticTokenType::FUNCTION,
            SemanticTokenType::EVENT,
            SemanticTokenType::COMMENT,
            SemanticTokenType::KEYWORD,
            SemanticTokenType::PROPERTY,
        ],
        token_modifiers: vec![SemanticTokenModifier::DECLARATION],
    }
}

fn token_type(k: Kind) -> u32 {
    match k {
        Kind::Procedure | Kind::Calendar | Kind::Clock => 0,
        Kind::Type => 1,
        Kind::EnumValue | Kind::Level | Kind::Band | Kind::Outcome => 2,
        Kind::Fact => 3,
        Kind::Param => 4,
        Kind::Role | Kind::Resource => 5,
        Kind::Step | Kind::Decision => 6,
        Kind::End | Kind::Event => 7,
        Kind::TargetKind | Kind::Constraint | Kind::Standard | Kind::Exemption | Kind::Link => 10,
    }
}

/// The tokens of a file: names by what they are, comments, section keywords.
pub fn tokens(files: &[FileView], view: &FileView) -> Vec<SemanticToken> {
    let text = view.source.text();
    // (start, end, type, modifiers)
    let mut raw: Vec<(usize, usize, u32, u32)> = Vec::new();
    for d in &view.index.defs {
        raw.push((d.span.start, d.span.end, token_type(d.kind), 1));
    }
    for m in &view.index.mentions {
        if let Some((_, d)) = resolve(files, view, &m.name, m.kinds) {
            raw.push((m.span.start, m.span.end, token_type(d.kind), 0));
        }
    }
    for c in &view.index.comments {
        raw.push((c.start, c.end, 8, 0));
    }
    // Doc comments (`##`) are kept in the tree, not among the comments.
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_start();
        if body.starts_with("##") {
            let start = at + (line.len() - body.len());
            raw.push((start, at + line.trim_end().len(), 8, 0));
        }
        at += line.len();
    }
    for (kw, span) in &view.index.sections {
        raw.push((span.start, span.start + kw.len(), 9, 0));
    }
    raw.sort();
    let mut out = Vec::new();
    let (mut prev_line, mut prev_col) = (0u32, 0u32);
    let mut last_end = 0usize;
    for (s, e, ty, modifiers) in raw {
        if s < last_end || e <= s {
            continue;
        }
        let end = text[s..e.min(text.len())].find('\n').map_or(e, |k| s + k);
        let a = view.lines.position(text, s);
        let b = view.lines.position(text, end);
        if b.line != a.line || b.character <= a.character {
            continue;
        }
        let delta_line = a.line - prev_line;
        let delta_start = if delta_line == 0 {
            a.character - prev_col
        } else {
            a.character
        };
        out.push(SemanticToken {
            delta_line,
            delta_start,
            length: b.character - a.character,
            token_type: ty,
            token_modifiers_bitset: modifiers,
        });
        prev_line = a.line;
        prev_col = a.character;
        last_end = end;
    }
    out
}

pub fn semantic_tokens(
    server: &mut Server,
    p: SemanticTokensParams,
) -> Result<Option<SemanticTokensResult>, Failure> {
    let a = server.analysis(&p.text_document.uri)?;
    Ok(Some(SemanticTokensResult::Tokens(SemanticTokens {
        result_id: None,
        data: tokens(&a.files, &a.view),
    })))
}
