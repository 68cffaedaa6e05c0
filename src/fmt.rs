//! The canonical layout: AST and comments → text.
//!
//! Two-space indentation per level, one statement per line, table columns aligned,
//! a blank line before each section, single blank lines kept where the author had
//! them, and every `#` comment kept on its line. Formatting is idempotent and never
//! changes the model. This module does not depend on `model`.

use crate::ast::*;
use crate::source::{SourceFile, Span};
use crate::syntax::MAX_LINE_BYTES;

/// Formats a parsed file.
pub fn format(source: &SourceFile, parsed: &Parsed) -> String {
    layout(source, parsed).0
}

/// Whether `text`, indented `indent` levels, is a line short enough to parse.
fn fits(indent: usize, text: &str) -> bool {
    2 * indent + text.len() <= MAX_LINE_BYTES
}

/// A line of the canonical layout longer than the parser allows: the source of the item
/// written on it, and its length in bytes.
struct TooLong {
    span: Span,
    len: usize,
}

/// Formats a parsed file, and reports the first line (if any) that came out longer than
/// [`MAX_LINE_BYTES`].
fn layout(source: &SourceFile, parsed: &Parsed) -> (String, Option<TooLong>) {
    let mut p = Printer {
        out: String::new(),
        source,
        comments: classify(source, &parsed.comments),
        next: 0,
        last_line: None,
        too_long: None,
    };
    p.file(&parsed.file);
    p.flush_comments(usize::MAX, 0);
    let mut out = p.out.trim_end().to_string();
    out.push('\n');
    (out, p.too_long)
}

struct LineComment {
    span: Span,
    line: usize,
    own_line: bool,
    text: String,
}

fn classify(source: &SourceFile, comments: &[Comment]) -> Vec<LineComment> {
    comments
        .iter()
        .map(|c| {
            let line = source.line_of(c.span.start);
            let line_start = source.text()[..c.span.start]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let own_line = source.text()[line_start..c.span.start].trim().is_empty();
            LineComment {
                span: c.span,
                line,
                own_line,
                text: c.text.trim_end().to_string(),
            }
        })
        .collect()
}

struct Printer<'a> {
    out: String,
    source: &'a SourceFile,
    comments: Vec<LineComment>,
    next: usize,
    last_line: Option<usize>,
    too_long: Option<TooLong>,
}

impl Printer<'_> {
    /// Emits own-line comments that come before source line `before`.
    fn flush_comments(&mut self, before: usize, indent: usize) {
        while self.next < self.comments.len() && self.comments[self.next].line < before {
            let c = &self.comments[self.next];
            let (line, text, span) = (c.line, c.text.clone(), c.span);
            if c.own_line {
                self.blank_if_gap(line);
            }
            // An own-line comment, or a trailing comment whose line printed nothing of
            // its own: either way it is kept on a line.
            self.push_raw(indent, &text, span);
            self.last_line = Some(line);
            self.next += 1;
        }
    }

    fn blank_if_gap(&mut self, line: usize) {
        if let Some(last) = self.last_line
            && line > last + 1
        {
            let text = self.source.text();
            let blank = text
                .lines()
                .skip(last + 1)
                .take(line - last - 1)
                .any(|l| l.trim().is_empty());
            if blank && !self.out.ends_with("\n\n") && !self.out.is_empty() {
                self.out.push('\n');
            }
        }
    }

    fn push_raw(&mut self, indent: usize, text: &str, span: Span) {
        let start = self.out.len();
        for _ in 0..indent {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.end_line(start, span);
    }

    /// Ends the line that began at byte `start` of the output, noting it if it is too
    /// long to parse.
    fn end_line(&mut self, start: usize, span: Span) {
        let len = self.out.len() - start;
        if len > MAX_LINE_BYTES && self.too_long.is_none() {
            self.too_long = Some(TooLong { span, len });
        }
        self.out.push('\n');
    }

    /// Emits one line for an item whose source is at `span`.
    fn line(&mut self, indent: usize, text: &str, span: Span) {
        self.line_in(indent, indent, text, span);
    }

    /// A line that closes a block (`end`, `until`): comments just before it belong
    /// inside the block, one level deeper.
    fn closer(&mut self, indent: usize, text: &str, span: Span) {
        self.line_in(indent + 1, indent, text, span);
    }

    fn line_in(&mut self, comment_indent: usize, indent: usize, text: &str, span: Span) {
        let line = self.source.line_of(span.start);
        let end_line = self.source.line_of(span.end.max(span.start));
        self.flush_comments(line, comment_indent);
        self.blank_if_gap(line);
        let start = self.out.len();
        for _ in 0..indent {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        // Trailing comments on the item's lines.
        while self.next < self.comments.len()
            && self.comments[self.next].line <= end_line
            && !self.comments[self.next].own_line
        {
            self.out.push_str("  ");
            let t = self.comments[self.next].text.clone();
            self.out.push_str(&t);
            self.next += 1;
        }
        self.end_line(start, span);
        self.last_line = Some(end_line.max(line));
    }

    /// The line of the first of the `n` doc comments before an item at `line` (whose
    /// text starts at byte `start`). Doc comments need not be on consecutive lines:
    /// blank lines and `#` comments may come between them (those comments are written
    /// after the docs, so a second formatting leaves them there).
    fn first_doc_line(&self, line: usize, n: usize, start: usize) -> usize {
        let text = self.source.text();
        let mut end = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let mut l = line;
        let mut found = 0;
        while found < n && end > 0 {
            let from = text[..end - 1].rfind('\n').map_or(0, |i| i + 1);
            l = l.saturating_sub(1);
            if text[from..end - 1].trim_start().starts_with("##") {
                found += 1;
            }
            end = from;
        }
        l
    }

    fn docs(&mut self, indent: usize, docs: &Docs, span: Span) {
        if docs.is_empty() {
            return;
        }
        let line = self.source.line_of(span.start);
        let first_doc_line = self.first_doc_line(line, docs.len(), span.start);
        self.flush_comments(first_doc_line, indent);
        self.blank_if_gap(first_doc_line);
        for d in docs {
            if d.is_empty() {
                self.push_raw(indent, "##", span);
            } else {
                self.push_raw(indent, &format!("## {d}"), span);
            }
        }
        self.last_line = Some(line.saturating_sub(1));
    }

    fn section_gap(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    fn file(&mut self, f: &File) {
        self.docs(0, &f.docs, f.id.span);
        let kw = if f.kind == FileKind::Procedure {
            "procedure"
        } else {
            "library"
        };
        let mut head = format!("{kw} {}", f.id.text);
        if let Some(t) = &f.title {
            head.push_str(&format!(" {}", quote(&t.value)));
        }
        self.line(0, &head, f.id.span);
        for h in &f.header {
            match h {
                HeaderItem::Title(s) => self.line(1, &format!("title {}", quote(&s.value)), s.span),
                HeaderItem::Version(s) => {
                    let v = if s.value.chars().all(|c| c.is_ascii_digit() || c == '.')
                        && !s.value.is_empty()
                        && self
                            .source
                            .slice(s.span)
                            .starts_with(|c: char| c.is_ascii_digit())
                    {
                        s.value.clone()
                    } else {
                        quote(&s.value)
                    };
                    self.line(1, &format!("version {v}"), s.span);
                }
                HeaderItem::Owner(s) => self.line(1, &format!("owner {}", quote(&s.value)), s.span),
                HeaderItem::Effective { from, until, span } => {
                    let mut t = format!("effective {}", literal(from));
                    if let Some(u) = until {
                        t.push_str(&format!(" until {}", literal(u)));
                    }
                    self.line(1, &t, *span);
                }
                HeaderItem::Applies(e) => {
                    self.line(1, &format!("applies when {}", expr_to_string(e)), e.span)
                }
                HeaderItem::Use(s) => self.line(1, &format!("use {}", quote(&s.value)), s.span),
            }
        }
        for s in &f.sections {
            self.section_gap();
            self.section(s);
        }
    }

    fn section(&mut self, s: &Section) {
        match s {
            Section::Facts { items, span } => {
                self.line(0, "facts", *span);
                for item in items {
                    match item {
                        FactItem::Type {
                            docs,
                            name,
                            ty,
                            span,
                        } => {
                            self.docs(1, docs, *span);
                            self.line(
                                1,
                                &format!("type {} = {}", name.text, type_to_string(ty)),
                                *span,
                            );
                        }
                        FactItem::Fact(f) => {
                            self.docs(1, &f.docs, f.span);
                            let mut t = format!("{}: {}", f.name.text, type_to_string(&f.ty));
                            if let Some(u) = &f.unknown {
                                t.push_str(" or unknown");
                                if let Some(v) = &u.counts_as {
                                    t.push_str(&format!(" counts as {}", expr_to_string(v)));
                                }
                            }
                            if f.optional {
                                t.push_str(" optional");
                            }
                            self.line(1, &t, f.span);
                        }
                    }
                }
            }
            Section::Params { items, span } => {
                self.line(0, "params", *span);
                for p in items {
                    self.docs(1, &p.docs, p.span);
                    let mut t = p.name.text.clone();
                    if let Some(ty) = &p.ty {
                        t.push_str(&format!(": {}", type_to_string(ty)));
                    }
                    if let Some(v) = &p.value {
                        t.push_str(&format!(" = {}", expr_to_string(v)));
                    }
                    self.line(1, &t, p.span);
                }
            }
            Section::Roles { items, span } => {
                self.line(0, "roles", *span);
                for r in items {
                    self.docs(1, &r.docs, r.span);
                    let mut t = r.name.text.clone();
                    if let Some(title) = &r.title {
                        t.push_str(&format!(" {}", quote(&title.value)));
                    }
                    if let Some(to) = &r.reports_to {
                        t.push_str(&format!(" reports to {}", to.text));
                    }
                    self.line(1, &t, r.span);
                }
            }
            Section::Resources { items, span } => {
                self.line(0, "resources", *span);
                for r in items {
                    self.docs(1, &r.docs, r.span);
                    let mut t = r.name.text.clone();
                    if let Some(title) = &r.title {
                        t.push_str(&format!(" {}", quote(&title.value)));
                    }
                    t.push_str(&format!(" with {}", names(&r.capabilities)));
                    if let Some(c) = r.count {
                        t.push_str(&format!(" count {c}"));
                    }
                    self.line(1, &t, r.span);
                }
            }
            Section::Calendar(c) => {
                self.docs(0, &c.docs, c.span);
                self.line(0, &format!("calendar {}", c.name.text), c.span);
                for item in &c.items {
                    match item {
                        CalendarItem::Timezone(s) => {
                            self.line(1, &format!("timezone {}", quote(&s.value)), s.span)
                        }
                        CalendarItem::Hours {
                            from_day,
                            to_day,
                            open,
                            close,
                            span,
                        } => {
                            let days = match to_day {
                                Some(t) => format!("{}-{}", from_day.text, t.text),
                                None => from_day.text.clone(),
                            };
                            self.line(1, &format!("hours {days} {open}-{close}"), *span);
                        }
                        CalendarItem::Holiday { date, title, span } => {
                            let mut t = format!("holiday {}", literal(date));
                            if let Some(title) = title {
                                t.push_str(&format!(" {}", quote(&title.value)));
                            }
                            self.line(1, &t, *span);
                        }
                        CalendarItem::Cutoff { after, span } => self.line(
                            1,
                            &format!("calls after {after} count as next working day"),
                            *span,
                        ),
                    }
                }
            }
            Section::Clock(c) => {
                self.docs(0, &c.docs, c.span);
                self.line(0, &format!("clock {}", c.name.text), c.span);
                for item in &c.items {
                    match item {
                        ClockItem::Starts(a, span) => {
                            self.line(1, &format!("starts at {}", anchor_to_string(a)), *span)
                        }
                        ClockItem::Stops(a, span) => {
                            self.line(1, &format!("stops at {}", anchor_to_string(a)), *span)
                        }
                        ClockItem::Pauses { from, until, span } => self.line(
                            1,
                            &format!("pauses from {} until {}", from.text, until.text),
                            *span,
                        ),
                        ClockItem::Calendar(n, span) => {
                            self.line(1, &format!("calendar {}", n.text), *span)
                        }
                    }
                }
            }
            Section::Validity {
                indicators,
                bands,
                span,
            } => {
                self.line(0, "validity", *span);
                self.indicators(1, indicators, bands);
            }
            Section::Priority(p) => {
                self.line(0, "priority", p.span);
                let scale: Vec<String> = p
                    .scale
                    .iter()
                    .map(|l| match &l.title {
                        Some(t) => format!("{} {}", l.name.text, quote(&t.value)),
                        None => l.name.text.clone(),
                    })
                    .collect();
                self.line(1, &format!("scale {}", scale.join(" > ")), p.scale_span);
                for item in &p.items {
                    match item {
                        PriorityItem::Target(t) => {
                            let entries: Vec<String> = t
                                .entries
                                .iter()
                                .map(|(k, e)| format!("{} within {}", k.text, expr_to_string(e)))
                                .collect();
                            let mut s = format!("target {} {}", t.level.text, entries.join(", "));
                            if let Some(w) = &t.when {
                                s.push_str(&format!(" when {}", expr_to_string(w)));
                            }
                            self.line(1, &s, t.span);
                        }
                        PriorityItem::Override(o) => {
                            self.docs(1, &o.docs, o.span);
                            let mut s = format!(
                                "override {}{} when {}",
                                if o.at_least { "at least " } else { "" },
                                o.level.text,
                                expr_to_string(&o.when)
                            );
                            if let Some(r) = &o.requires {
                                s.push_str(&requires(r));
                            }
                            self.line(1, &s, o.span);
                        }
                        PriorityItem::Regrade {
                            direction,
                            requires: r,
                            span,
                        } => {
                            let dir = match direction {
                                RegradeDir::Up => "up",
                                RegradeDir::Down => "down",
                                RegradeDir::Any => "any",
                            };
                            let rest = match r {
                                Some(r) => requires(r),
                                None => " allowed".to_string(),
                            };
                            self.line(1, &format!("regrade {dir}{rest}"), *span);
                        }
                        PriorityItem::Combine(c, span) => {
                            let c = match c {
                                CombineRule::Highest => "highest",
                                CombineRule::Lowest => "lowest",
                                CombineRule::First => "first",
                            };
                            self.line(1, &format!("combine {c}"), *span);
                        }
                        PriorityItem::Method(d) => self.decision(1, d),
                    }
                }
            }
            Section::Decisions { items, span } => {
                self.line(0, "decisions", *span);
                for d in items {
                    self.decision(1, d);
                }
            }
            Section::Ends { items, span } => {
                self.line(0, "ends", *span);
                self.declared(items);
            }
            Section::Events { items, span } => {
                self.line(0, "events", *span);
                self.declared(items);
            }
            Section::Flow { body, span } => {
                self.line(0, "flow", *span);
                self.statements(1, body);
            }
            Section::Constraints { items, span } => {
                self.line(0, "constraints", *span);
                for c in items {
                    self.docs(1, &c.docs, c.span);
                    let body = match &c.kind {
                        ConstraintKind::Response {
                            first,
                            then,
                            within,
                        } => {
                            let mut s = format!("{} followed by {}", first.text, then.text);
                            if let Some(w) = within {
                                s.push_str(&format!(" within {}", expr_to_string(w)));
                            }
                            s
                        }
                        ConstraintKind::Precedence { first, then } => {
                            format!("{} before {}", first.text, then.text)
                        }
                        ConstraintKind::Absence(s) => format!("never {}", s.text),
                        ConstraintKind::Count { kind, n, step } => {
                            let k = match kind {
                                CountKind::Exactly => "exactly",
                                CountKind::AtLeast => "at least",
                                CountKind::AtMost => "at most",
                            };
                            format!("{k} {n} {}", step.text)
                        }
                        ConstraintKind::NotCoexist(a, b) => {
                            format!("not both {} and {}", a.text, b.text)
                        }
                        ConstraintKind::Actor { different, a, b } => {
                            format!(
                                "{} actor for {} and {}",
                                if *different { "different" } else { "same" },
                                a.text,
                                b.text
                            )
                        }
                    };
                    let mut s = format!("{}: {body}", c.name.text);
                    if let Some(w) = &c.when {
                        s.push_str(&format!(" when {}", expr_to_string(w)));
                    }
                    self.line(1, &s, c.span);
                }
            }
            Section::Standards { items, span } => {
                self.line(0, "standards", *span);
                for st in items {
                    self.docs(1, &st.docs, st.span);
                    let interval = format!(
                        "from {} to {}",
                        anchor_to_string(&st.from),
                        anchor_to_string(&st.to)
                    );
                    let body = match &st.measure {
                        Measure::Share { percent, within } => {
                            format!("{percent}% within {} {interval}", expr_to_string(within))
                        }
                        Measure::Stat { stat, op, limit } => {
                            let s = match stat {
                                Statistic::Mean => "mean".to_string(),
                                Statistic::Median => "median".to_string(),
                                Statistic::Max => "max".to_string(),
                                Statistic::Centile(o) => format!("{o} centile"),
                            };
                            format!("{s} {interval} {} {}", op.text(), expr_to_string(limit))
                        }
                    };
                    let mut s = format!("{}: {body}", st.name.text);
                    if let Some(w) = &st.filter {
                        s.push_str(&format!(" where {}", expr_to_string(w)));
                    }
                    if let Some(w) = &st.excluding {
                        s.push_str(&format!(" excluding {}", expr_to_string(w)));
                    }
                    self.line(1, &s, st.span);
                }
            }
            Section::Exemptions { items, span } => {
                self.line(0, "exemptions", *span);
                for e in items {
                    self.docs(1, &e.docs, e.span);
                    let mut s = e.name.text.clone();
                    if let Some(t) = &e.title {
                        s.push_str(&format!(" {}", quote(&t.value)));
                    }
                    s.push_str(&format!(" waives {} on {}", names(&e.waives), e.on.text));
                    if let Some(r) = &e.requires {
                        s.push_str(&requires(r));
                    }
                    self.line(1, &s, e.span);
                }
            }
            Section::Mapping { items, span } => {
                self.line(0, "mapping", *span);
                for m in items {
                    match m {
                        MapItem::Activity {
                            label,
                            target,
                            span,
                        } => {
                            let t = target.as_ref().map_or("ignore", |n| n.text.as_str());
                            self.line(
                                1,
                                &format!("activity {} -> {t}", quote(&label.value)),
                                *span,
                            );
                        }
                        MapItem::Attribute {
                            column,
                            field,
                            span,
                        } => self.line(
                            1,
                            &format!("attribute {} -> {}", quote(&column.value), field.text),
                            *span,
                        ),
                        MapItem::Timezone { zone, span } => {
                            self.line(1, &format!("timezone {}", quote(&zone.value)), *span)
                        }
                        MapItem::TimestampFormat { format, span } => self.line(
                            1,
                            &format!("timestamp format {}", quote(&format.value)),
                            *span,
                        ),
                        MapItem::Value {
                            fact,
                            raw,
                            value,
                            span,
                        } => {
                            self.line(
                                1,
                                &format!(
                                    "value {} {} -> {}",
                                    fact.text,
                                    quote(&raw.value),
                                    expr_to_string(value)
                                ),
                                *span,
                            );
                        }
                    }
                }
            }
            Section::Links { items, span } => {
                self.line(0, "links", *span);
                for l in items {
                    self.docs(1, &l.docs, l.span);
                    let mut s = format!("{} via {}", l.name.text, l.via.text);
                    match l.clock_inherited {
                        Some(true) => s.push_str(" clock inherited"),
                        Some(false) => s.push_str(" clock independent"),
                        None => {}
                    }
                    self.line(1, &s, l.span);
                }
            }
        }
    }

    fn declared(&mut self, items: &[Declared]) {
        for d in items {
            self.docs(1, &d.docs, d.span);
            let mut s = d.name.text.clone();
            if let Some(t) = &d.title {
                s.push_str(&format!(" {}", quote(&t.value)));
            }
            self.line(1, &s, d.span);
        }
    }

    fn indicators(&mut self, indent: usize, indicators: &[Indicator], bands: &Bands) {
        let width = indicators
            .iter()
            .map(|i| i.name.text.len())
            .max()
            .unwrap_or(0);
        let text = |i: &Indicator, width: usize| {
            format!(
                "{:width$} {} when {}",
                i.name.text,
                i.weight,
                expr_to_string(&i.when)
            )
        };
        // Names are aligned unless that would make a line too long to parse.
        let width = if indicators.iter().all(|i| fits(indent, &text(i, width))) {
            width
        } else {
            0
        };
        for i in indicators {
            self.docs(indent, &i.docs, i.span);
            self.line(indent, &text(i, width), i.span);
        }
        let bs: Vec<String> = bands
            .bands
            .iter()
            .map(|b| match &b.bound {
                Some((op, n)) => format!("{} {} {n}", b.name.text, op.text()),
                None => b.name.text.clone(),
            })
            .collect();
        self.line(indent, &format!("bands {}", bs.join(", ")), bands.span);
    }

    fn decision(&mut self, indent: usize, d: &DecisionDef) {
        match d {
            DecisionDef::Score(s) => {
                self.docs(indent, &s.docs, s.span);
                self.line(indent, &format!("score {}", s.name.text), s.span);
                self.indicators(indent + 1, &s.indicators, &s.bands);
            }
            DecisionDef::Matrix(m) => {
                self.docs(indent, &m.docs, m.span);
                self.line(
                    indent,
                    &format!(
                        "matrix {} {} by {}",
                        m.name.text,
                        expr_to_string(&m.rows_by),
                        expr_to_string(&m.cols_by)
                    ),
                    m.span,
                );
                let mut grid: Vec<(Vec<String>, Span)> = Vec::new();
                let mut head = vec![m.corner.clone().unwrap_or_default()];
                head.extend(m.col_values.iter().map(expr_to_string));
                grid.push((head, m.header_span));
                for r in &m.rows {
                    let mut row = vec![expr_to_string(&r.key)];
                    row.extend(r.cells.iter().map(expr_to_string));
                    grid.push((row, r.span));
                }
                self.grid(indent + 1, &grid);
            }
            DecisionDef::Table(t) => {
                self.docs(indent, &t.docs, t.span);
                self.line(
                    indent,
                    &format!("table {} hit {}", t.name.text, hit_to_string(t.hit)),
                    t.span,
                );
                let mut grid: Vec<(Vec<String>, Span)> = Vec::new();
                grid.push((
                    t.columns
                        .iter()
                        .map(|c| match c {
                            Column::Input(e) => expr_to_string(e),
                            Column::Output {
                                name, ty: Some(ty), ..
                            } => format!("=> {}: {}", name.text, type_to_string(ty)),
                            Column::Output { name, ty: None, .. } => format!("=> {}", name.text),
                        })
                        .collect(),
                    t.header_span,
                ));
                for r in &t.rows {
                    grid.push((r.cells.iter().map(cell_to_string).collect(), r.span));
                }
                self.grid(indent + 1, &grid);
            }
        }
    }

    fn grid(&mut self, indent: usize, rows: &[(Vec<String>, Span)]) {
        let cols = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let mut widths = vec![0; cols];
        for (r, _) in rows {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let row = |r: &[String], aligned: bool| {
            let mut s = String::from("|");
            for (i, c) in r.iter().enumerate() {
                s.push(' ');
                s.push_str(c);
                if aligned {
                    s.push_str(&" ".repeat(widths[i] - c.chars().count()));
                }
                s.push_str(" |");
            }
            s
        };
        // Columns are aligned unless that would make a row too long to parse.
        let aligned = rows.iter().all(|(r, _)| fits(indent, &row(r, true)));
        for (r, span) in rows {
            self.line(indent, &row(r, aligned), *span);
        }
    }

    fn statements(&mut self, indent: usize, body: &[Stmt]) {
        for s in body {
            self.statement(indent, s);
        }
    }

    fn statement(&mut self, indent: usize, stmt: &Stmt) {
        match stmt {
            Stmt::Step(s) => {
                self.docs(indent, &s.docs, s.span);
                let mut t = format!("{} {}", s.kind.keyword(), s.name.text);
                if let Some(title) = &s.title {
                    t.push_str(&format!(" {}", quote(&title.value)));
                }
                if s.optional {
                    t.push_str(" optional");
                }
                self.line(indent, &t, s.span);
                self.attrs(indent + 1, &s.attrs);
            }
            Stmt::Monitor(m) => {
                self.docs(indent, &m.docs, m.span);
                let mut t = format!("monitor {} every {}", m.name.text, expr_to_string(&m.every));
                if let Some(f) = &m.first_within {
                    t.push_str(&format!(" first within {}", expr_to_string(f)));
                }
                if let Some(a) = &m.after {
                    t.push_str(&format!(" after {}", anchor_to_string(a)));
                }
                t.push_str(&format!(" until {}", anchor_to_string(&m.until)));
                self.line(indent, &t, m.span);
                self.attrs(indent + 1, &m.attrs);
            }
            Stmt::Call(c) => {
                self.docs(indent, &c.docs, c.span);
                let mut t = format!("call {}", c.procedure.text);
                if let Some(a) = &c.alias {
                    t.push_str(&format!(" as {}", a.text));
                }
                if !c.args.is_empty() {
                    let args: Vec<String> = c
                        .args
                        .iter()
                        .map(|(n, e)| format!("{} = {}", n.text, expr_to_string(e)))
                        .collect();
                    t.push_str(&format!(" with {}", args.join(", ")));
                }
                self.line(indent, &t, c.span);
                self.attrs(indent + 1, &c.attrs);
            }
            Stmt::Decide(d) => {
                self.docs(indent, &d.docs, d.span);
                let mut t = format!("decide {}", d.name.text);
                if let Some(s) = &d.subject {
                    t.push_str(&format!(" on {}", expr_to_string(s)));
                }
                self.line(indent, &t, d.span);
                for b in &d.branches {
                    let tests: Vec<String> = b.tests.iter().map(test_to_string).collect();
                    self.branch_body(
                        indent + 1,
                        &format!("when {}", tests.join(", ")),
                        &b.body,
                        b.span,
                    );
                }
                if let Some((body, span)) = &d.otherwise {
                    self.branch_body(indent + 1, "else", body, *span);
                }
                self.closer(indent, "end", d.end_span);
            }
            Stmt::Parallel(p) => {
                self.docs(indent, &p.docs, p.span);
                let t = match &p.name {
                    Some(n) => format!("parallel {}", n.text),
                    None => "parallel".to_string(),
                };
                self.line(indent, &t, p.span);
                for b in &p.branches {
                    let t = match &b.label {
                        Some(l) => format!("branch {}", quote(&l.value)),
                        None => "branch".to_string(),
                    };
                    self.line(indent + 1, &t, b.span);
                    self.statements(indent + 2, &b.body);
                }
                self.closer(indent, "end", p.end_span);
            }
            Stmt::Repeat(r) => {
                self.docs(indent, &r.docs, r.span);
                let mut t = "repeat".to_string();
                if let Some(n) = &r.name {
                    t.push_str(&format!(" {}", n.text));
                }
                if let Some(m) = r.max {
                    t.push_str(&format!(" at most {m}"));
                }
                self.line(indent, &t, r.span);
                self.statements(indent + 1, &r.body);
                self.closer(
                    indent,
                    &format!("until {}", expr_to_string(&r.until)),
                    r.until_span,
                );
            }
            Stmt::Goto { docs, target, span } => {
                self.docs(indent, docs, *span);
                self.line(indent, &format!("go to {}", target.text), *span);
            }
            Stmt::End { docs, state, span } => {
                self.docs(indent, docs, *span);
                self.line(indent, &format!("end {}", state.text), *span);
            }
        }
    }

    fn branch_body(&mut self, indent: usize, head: &str, body: &BranchBody, span: Span) {
        match body {
            BranchBody::Goto(t) => self.line(indent, &format!("{head} -> {}", t.text), span),
            BranchBody::Block(stmts) => {
                self.line(indent, head, span);
                self.statements(indent + 1, stmts);
            }
        }
    }

    fn attrs(&mut self, indent: usize, attrs: &[StepAttr]) {
        for a in attrs {
            let t = match a {
                StepAttr::Within { limit, of, on, .. } => {
                    let mut s = format!("within {}", expr_to_string(limit));
                    if let Some(o) = of {
                        s.push_str(&format!(" of {}", anchor_to_string(o)));
                    }
                    if let Some(c) = on {
                        s.push_str(&format!(" on {}", c.text));
                    }
                    s
                }
                StepAttr::Needs {
                    count,
                    resource,
                    capabilities,
                    ..
                } => {
                    let mut s = format!("needs {count} {}", resource.text);
                    if !capabilities.is_empty() {
                        s.push_str(&format!(" with {}", names(capabilities)));
                    }
                    s
                }
                StepAttr::By(rs, _) => format!("by {}", joined(rs)),
                StepAttr::To(rs, _) => format!("to {}", joined(rs)),
                StepAttr::Records(xs, _) => format!("records {}", names(xs)),
                StepAttr::Outcomes(xs, _) => format!("outcomes {}", names(xs)),
                StepAttr::Responsibilities(xs, _) => format!("responsibilities {}", names(xs)),
                StepAttr::Actions(xs, _) => format!("actions {}", names(xs)),
                StepAttr::Ack(e, _) => format!("ack within {}", expr_to_string(e)),
                StepAttr::Escalate {
                    trigger, to, when, ..
                } => {
                    let mut s = match trigger {
                        EscalateTrigger::Percent(p) => format!("escalate at {p}%"),
                        EscalateTrigger::After(e) => {
                            format!("escalate after {}", expr_to_string(e))
                        }
                    };
                    s.push_str(&format!(" to {}", joined(to)));
                    if let Some(w) = when {
                        s.push_str(&format!(" when {}", expr_to_string(w)));
                    }
                    s
                }
            };
            self.line(indent, &t, a.span());
        }
    }
}

fn names(xs: &[Name]) -> String {
    format!("[{}]", joined(xs))
}

fn joined(xs: &[Name]) -> String {
    xs.iter()
        .map(|x| x.text.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn requires(r: &[Requirement]) -> String {
    let parts: Vec<String> = r
        .iter()
        .map(|x| match x {
            Requirement::Role(n) => format!("role {}", n.text),
            Requirement::Reason(_) => "reason".to_string(),
        })
        .collect();
    format!(" requires {}", parts.join(", "))
}

fn hit_to_string(h: HitPolicy) -> String {
    match h {
        HitPolicy::Unique => "unique".into(),
        HitPolicy::First => "first".into(),
        HitPolicy::Priority => "priority".into(),
        HitPolicy::Any => "any".into(),
        HitPolicy::RuleOrder => "rule order".into(),
        HitPolicy::OutputOrder => "output order".into(),
        HitPolicy::Collect(None) => "collect".into(),
        HitPolicy::Collect(Some(op)) => format!(
            "collect {}",
            match op {
                CollectOp::Max => "max",
                CollectOp::Min => "min",
                CollectOp::Sum => "sum",
                CollectOp::Count => "count",
            }
        ),
    }
}

fn cell_to_string(c: &Cell) -> String {
    match c {
        Cell::Any(_) => "-".to_string(),
        Cell::Tests(tests, _) => tests
            .iter()
            .map(test_to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn test_to_string(t: &CellTest) -> String {
    let body = match &t.kind {
        TestKind::Range(a, b) => format!("{}..{}", expr_to_string(a), expr_to_string(b)),
        TestKind::Compare(op, e) => format!("{} {}", op.text(), expr_to_string(e)),
        TestKind::Equals(e) => expr_to_string(e),
    };
    if t.negated {
        format!("not {body}")
    } else {
        body
    }
}

/// A type as written in the canonical layout.
pub fn type_to_string(t: &TypeExpr) -> String {
    match t {
        TypeExpr::Scalar(s, _) => s.keyword().to_string(),
        TypeExpr::Enum(vs, _) => format!(
            "enum {}",
            vs.iter()
                .map(|v| v.text.as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        ),
        TypeExpr::List(inner, _) => format!("list of {}", type_to_string(inner)),
        TypeExpr::Code(s) => format!("code {}", quote(&s.value)),
        TypeExpr::Named(n) => n.text.clone(),
    }
}

/// A string literal with escapes.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

fn literal(l: &Literal) -> String {
    match l {
        Literal::Bool(b) => b.to_string(),
        Literal::Unknown => "unknown".into(),
        Literal::Int(i) => i.to_string(),
        Literal::Decimal(d) | Literal::Date(d) | Literal::Timestamp(d) => d.clone(),
        Literal::Str(s) => quote(s),
        Literal::Duration(_, text) => text.clone(),
    }
}

/// An anchor as written.
pub fn anchor_to_string(a: &Anchor) -> String {
    match a {
        Anchor::Ref { pos, name, .. } => match pos {
            Some(AnchorPos::First) => format!("first {}", name.text),
            Some(AnchorPos::Last) => format!("last {}", name.text),
            None => name.text.clone(),
        },
        Anchor::EarliestOf(xs, _) => format!(
            "earliest_of({})",
            xs.iter()
                .map(anchor_to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Anchor::LatestOf(xs, _) => format!(
            "latest_of({})",
            xs.iter()
                .map(anchor_to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary(op, ..) => op.precedence(),
        ExprKind::Unary(UnaryOp::Not, _) => 3,
        ExprKind::Unary(UnaryOp::Neg, _) => 7,
        ExprKind::IsMissing { .. } => 8,
        _ => 9,
    }
}

fn wrap(e: &Expr, min: u8) -> String {
    let s = expr_to_string(e);
    if prec(e) < min { format!("({s})") } else { s }
}

/// An expression in canonical form, with only the parentheses it needs.
pub fn expr_to_string(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Literal(l) => literal(l),
        ExprKind::Path(p) => p
            .iter()
            .map(|n| n.text.as_str())
            .collect::<Vec<_>>()
            .join("."),
        ExprKind::Call(f, args) => format!(
            "{}({})",
            f.text,
            args.iter()
                .map(expr_to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ExprKind::OutcomeOf(n) => format!("outcome of {}", n.text),
        ExprKind::List(xs) => format!(
            "[{}]",
            xs.iter().map(expr_to_string).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Range(a, b) => format!("{}..{}", expr_to_string(a), expr_to_string(b)),
        ExprKind::Unary(UnaryOp::Not, x) => format!("not {}", wrap(x, 3)),
        // A negation of a negation needs no brackets (`--x` reads back as it is): each
        // pair would be a level of nesting, and the parser refuses more than 32.
        ExprKind::Unary(UnaryOp::Neg, x) if matches!(x.kind, ExprKind::Unary(UnaryOp::Neg, _)) => {
            format!("-{}", expr_to_string(x))
        }
        ExprKind::Unary(UnaryOp::Neg, x) => format!("-{}", wrap(x, 8)),
        ExprKind::IsMissing { operand, negated } => {
            format!(
                "{} is {}missing",
                wrap(operand, 9),
                if *negated { "not " } else { "" }
            )
        }
        ExprKind::Binary(op, l, r) => {
            let p = op.precedence();
            format!("{} {} {}", wrap(l, p), op.text(), wrap(r, p + 1))
        }
    }
}

/// Formats a source file, and checks that the result means the same: it parses to
/// the same tree with the same comments. Returns the syntax error if it does not parse.
pub fn format_checked(source: &SourceFile) -> Result<String, Box<crate::diagnostic::Diagnostic>> {
    let parsed = crate::ast::lower(source).map_err(Box::new)?;
    let (out, too_long) = layout(source, &parsed);
    if let Some(TooLong { span, len }) = too_long {
        return Err(Box::new(
            crate::diagnostic::Diagnostic::error(
                "fmt-line-too-long",
                format!(
                    "cannot format `{}`: this item's canonical layout is a line of {len} bytes, \
                     longer than the {MAX_LINE_BYTES} allowed",
                    source.name()
                ),
            )
            .with_label(span, "written on one line, this is too long")
            .with_help(
                "shorten it (fmt writes each tab in a string as `\\t`, and spaces around \
                 operators); the file was left unchanged",
            )
            .with_source(source),
        ));
    }
    let again = SourceFile::new(source.name(), out.clone());
    let reparsed = crate::ast::lower(&again).map_err(|d| {
        Box::new(
            crate::diagnostic::Diagnostic::error(
                "internal",
                format!(
                    "internal error: formatting `{}` produced text that does not parse: {}",
                    source.name(),
                    d.message
                ),
            )
            .with_help("this is a bug in procedo; the file was left unchanged"),
        )
    })?;
    let same_tree =
        serde_json::to_value(&parsed.file).ok() == serde_json::to_value(&reparsed.file).ok();
    let texts = |p: &Parsed| {
        p.comments
            .iter()
            .map(|c| c.text.trim_end().to_string())
            .collect::<Vec<_>>()
    };
    if !same_tree || texts(&parsed) != texts(&reparsed) {
        return Err(Box::new(
            crate::diagnostic::Diagnostic::error(
                "internal",
                format!(
                    "internal error: formatting `{}` would change its meaning or drop a comment",
                    source.name()
                ),
            )
            .with_help("this is a bug in procedo; the file was left unchanged"),
        ));
    }
    Ok(out)
}
