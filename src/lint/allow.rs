//! Inline allow comments: `# procedo: allow(rule-name, other-rule) reason "why"`.
//!
//! A comment after code on a line covers that line. A comment on a line of its
//! own covers the next line that has code (doc comments are skipped). When the
//! covered line opens a block — the `procedure` line, a section keyword, a step
//! with its attribute lines, `decide`, `when`, `parallel`, `branch`, `repeat`, a
//! table, matrix or score — the whole block is covered. A comment without a
//! reason still applies, and is itself a finding (`allow-without-reason`).

use std::collections::BTreeMap;

use crate::ast::{self, BranchBody, DecisionDef, PriorityItem, Section, Stmt};
use crate::diagnostic::Diagnostic;
use crate::model::Procedure;
use crate::source::{SourceFile, Span};

/// One parsed `# procedo:` comment.
#[derive(Debug, Clone)]
pub struct Directive {
    /// Rule names with their spans.
    pub rules: Vec<(String, Span)>,
    pub reason: Option<String>,
    /// The whole comment.
    pub span: Span,
    /// First and last covered line, 0-based, inclusive.
    pub lines: (usize, usize),
    /// Why the comment could not be read, if it could not.
    pub malformed: Option<String>,
}

/// The allow comments of one procedure.
#[derive(Debug, Default)]
pub struct Allows {
    directives: Vec<Directive>,
    source: Option<SourceFile>,
}

impl Allows {
    /// The reason of the first directive covering this finding, when one covers it.
    pub fn covering(&self, d: &Diagnostic) -> Option<Option<String>> {
        let src = self.source.as_ref()?;
        let same_file = d.source.as_ref().is_none_or(|s| s.name() == src.name());
        if !same_file {
            return None;
        }
        let line = src.line_of(d.labels.first()?.span.start);
        self.directives
            .iter()
            .filter(|x| x.malformed.is_none())
            .find(|x| {
                x.lines.0 <= line && line <= x.lines.1 && x.rules.iter().any(|(r, _)| *r == d.code)
            })
            .map(|x| x.reason.clone())
    }

    pub fn directives(&self) -> &[Directive] {
        &self.directives
    }
}

/// Reads every `# procedo:` comment of a procedure.
pub fn collect(p: &Procedure) -> Allows {
    let Some(parsed) = &p.unit.parsed else {
        return Allows::default();
    };
    let src = &p.unit.source;
    let text = src.text();
    let extents = extents(&parsed.file, src);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut directives = Vec::new();
    for c in &parsed.comments {
        let body = c.text.trim_start_matches('#').trim_start();
        let Some(rest) = body.strip_prefix("procedo:") else {
            continue;
        };
        let line = src.line_of(c.span.start);
        let line_start = text[..c.span.start].rfind('\n').map_or(0, |i| i + 1);
        let own_line = text
            .get(line_start..c.span.start)
            .is_some_and(|s| s.trim().is_empty());
        let target = if own_line {
            (line + 1..lines.len())
                .find(|&i| {
                    let t = lines[i].trim();
                    !t.is_empty() && !t.starts_with('#')
                })
                .unwrap_or(line)
        } else {
            line
        };
        let end = extents.get(&target).copied().unwrap_or(target).max(target);
        let rest_offset = c.span.start + (c.text.len() - rest.len());
        let mut d = parse_directive(rest, rest_offset);
        d.span = c.span;
        d.lines = (target.min(line), end);
        directives.push(d);
    }
    Allows {
        directives,
        source: Some(src.clone()),
    }
}

/// Parses `allow(a, b) reason "text"` (what follows `procedo:`), at byte `offset`.
fn parse_directive(rest: &str, offset: usize) -> Directive {
    let mut d = Directive {
        rules: Vec::new(),
        reason: None,
        span: Span::default(),
        lines: (0, 0),
        malformed: None,
    };
    let trimmed = rest.trim_start();
    let mut pos = offset + (rest.len() - trimmed.len());
    let Some(after) = trimmed.strip_prefix("allow") else {
        d.malformed = Some("a `# procedo:` comment must be `allow(RULE) reason \"...\"`".into());
        return d;
    };
    pos += "allow".len();
    let after_ws = after.trim_start();
    pos += after.len() - after_ws.len();
    let Some(inner) = after_ws.strip_prefix('(') else {
        d.malformed = Some("`allow` must be followed by the rule names in brackets".into());
        return d;
    };
    pos += 1;
    let Some(close) = inner.find(')') else {
        d.malformed = Some("the rule list has no closing `)`".into());
        return d;
    };
    let mut at = pos;
    for part in inner[..close].split(',') {
        let name = part.trim();
        let lead = part.len() - part.trim_start().len();
        if !name.is_empty() {
            d.rules.push((
                name.to_string(),
                Span::new(at + lead, at + lead + name.len()),
            ));
        }
        at += part.len() + 1;
    }
    if d.rules.is_empty() {
        d.malformed = Some("`allow()` names no rule".into());
        return d;
    }
    let tail = inner[close + 1..].trim();
    if tail.is_empty() {
        return d;
    }
    match tail
        .strip_prefix("reason")
        .map(str::trim_start)
        .and_then(|t| t.strip_prefix('"'))
        .and_then(|t| t.strip_suffix('"'))
    {
        Some(reason) if !reason.trim().is_empty() => d.reason = Some(reason.to_string()),
        Some(_) => {}
        None => {
            d.malformed = Some(format!(
                "expected `reason \"...\"` after the rule list, found `{tail}`"
            ))
        }
    }
    d
}

/// The last line of every block, by the line that opens it (0-based).
fn extents(file: &ast::File, src: &SourceFile) -> BTreeMap<usize, usize> {
    let mut out: BTreeMap<usize, usize> = BTreeMap::new();
    let last_line = src.line_of(src.text().len().saturating_sub(1));
    let mut add = |start: Span, end: Span| {
        let a = src.line_of(start.start);
        let b = src.line_of(end.end.max(start.start));
        let e = out.entry(a).or_insert(a);
        *e = (*e).max(b);
    };
    add(file.id.span, Span::new(src.text().len(), src.text().len()));
    let mut starts: Vec<Span> = file.sections.iter().map(section_span).collect();
    starts.sort();
    for (i, s) in starts.iter().enumerate() {
        let end = match starts.get(i + 1) {
            Some(next) => {
                let line = src.line_of(next.start).saturating_sub(1);
                line_end_span(src, line)
            }
            None => line_end_span(src, last_line),
        };
        add(*s, end);
    }
    for s in &file.sections {
        match s {
            Section::Flow { body, .. } => stmts(src, body, &mut add),
            Section::Priority(p) => {
                for item in &p.items {
                    if let PriorityItem::Method(d) = item {
                        decision(d, &mut add);
                    }
                }
            }
            Section::Decisions { items, .. } => {
                for d in items {
                    decision(d, &mut add);
                }
            }
            _ => {}
        }
    }
    out
}

fn line_end_span(src: &SourceFile, line: usize) -> Span {
    let mut offset = 0;
    for (i, l) in src.text().split_inclusive('\n').enumerate() {
        if i == line {
            let end = offset + l.trim_end_matches(['\n', '\r']).len();
            return Span::new(offset, end);
        }
        offset += l.len();
    }
    Span::new(offset, offset)
}

fn section_span(s: &Section) -> Span {
    match s {
        Section::Facts { span, .. }
        | Section::Params { span, .. }
        | Section::Roles { span, .. }
        | Section::Resources { span, .. }
        | Section::Validity { span, .. }
        | Section::Decisions { span, .. }
        | Section::Ends { span, .. }
        | Section::Events { span, .. }
        | Section::Flow { span, .. }
        | Section::Constraints { span, .. }
        | Section::Standards { span, .. }
        | Section::Exemptions { span, .. }
        | Section::Mapping { span, .. }
        | Section::Links { span, .. } => *span,
        Section::Calendar(c) => c.span,
        Section::Clock(c) => c.span,
        Section::Priority(p) => p.span,
    }
}

fn decision(d: &DecisionDef, add: &mut impl FnMut(Span, Span)) {
    match d {
        DecisionDef::Table(t) => add(t.span, t.rows.last().map_or(t.header_span, |r| r.span)),
        DecisionDef::Matrix(m) => add(m.span, m.rows.last().map_or(m.header_span, |r| r.span)),
        DecisionDef::Score(s) => add(s.span, s.bands.span),
    }
}

/// A span on the line before the one `s` starts on.
fn before(src: &SourceFile, s: Span) -> Span {
    let at = src.text()[..s.start.min(src.text().len())]
        .rfind('\n')
        .unwrap_or(0);
    Span::new(at, at)
}

fn stmts(src: &SourceFile, body: &[Stmt], add: &mut impl FnMut(Span, Span)) {
    for s in body {
        match s {
            Stmt::Step(st) => add(
                st.span,
                st.attrs.last().map_or(st.span, ast::StepAttr::span),
            ),
            Stmt::Monitor(m) => add(m.span, m.attrs.last().map_or(m.span, ast::StepAttr::span)),
            Stmt::Call(c) => add(c.span, c.attrs.last().map_or(c.span, ast::StepAttr::span)),
            Stmt::Decide(d) => {
                add(d.span, d.end_span);
                let mut heads: Vec<Span> = d.branches.iter().map(|b| b.span).collect();
                if let Some((_, s)) = &d.otherwise {
                    heads.push(*s);
                }
                heads.push(d.end_span);
                for (i, b) in d.branches.iter().enumerate() {
                    add(b.span, before(src, heads[i + 1]));
                    if let BranchBody::Block(xs) = &b.body {
                        stmts(src, xs, add);
                    }
                }
                if let Some((BranchBody::Block(xs), s)) = &d.otherwise {
                    add(*s, before(src, d.end_span));
                    stmts(src, xs, add);
                }
            }
            Stmt::Parallel(p) => {
                add(p.span, p.end_span);
                for (i, b) in p.branches.iter().enumerate() {
                    let next = p.branches.get(i + 1).map_or(p.end_span, |n| n.span);
                    add(b.span, before(src, next));
                    stmts(src, &b.body, add);
                }
            }
            Stmt::Repeat(r) => {
                add(r.span, r.until_span);
                stmts(src, &r.body, add);
            }
            Stmt::Goto { .. } | Stmt::End { .. } => {}
        }
    }
}
