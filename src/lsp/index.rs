//! Every name of one file, where it is defined and where it is mentioned.
//!
//! Read off the typed AST: a definition has a kind (fact, step, role, level…), its
//! name's span, the span of the whole item, its doc comment and the source lines
//! that show it; a mention has the kinds it may refer to, most likely first (a
//! bare name in an expression may be a fact, a param, a decision, a level, a band
//! or an enum value; an anchor a step or an event). Which definition a mention
//! means is decided against the definitions in scope (see `lsp::workspace`).

use crate::ast::*;
use crate::source::{SourceFile, Span};

/// What a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Procedure,
    Type,
    Fact,
    EnumValue,
    Param,
    Role,
    Resource,
    Calendar,
    Clock,
    Level,
    Band,
    TargetKind,
    Decision,
    End,
    Event,
    Step,
    Constraint,
    Standard,
    Exemption,
    Link,
    Outcome,
}

impl Kind {
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Procedure => "procedure",
            Kind::Type => "type",
            Kind::Fact => "fact",
            Kind::EnumValue => "enum value",
            Kind::Param => "param",
            Kind::Role => "role",
            Kind::Resource => "resource type",
            Kind::Calendar => "calendar",
            Kind::Clock => "clock",
            Kind::Level => "priority level",
            Kind::Band => "band",
            Kind::TargetKind => "target kind",
            Kind::Decision => "decision",
            Kind::End => "end state",
            Kind::Event => "event",
            Kind::Step => "step",
            Kind::Constraint => "constraint",
            Kind::Standard => "standard",
            Kind::Exemption => "exemption",
            Kind::Link => "link",
            Kind::Outcome => "outcome",
        }
    }
}

/// What a bare name in an expression may be, most likely first.
pub const EXPR_KINDS: &[Kind] = &[
    Kind::Fact,
    Kind::Param,
    Kind::Decision,
    Kind::Level,
    Kind::Band,
    Kind::EnumValue,
    Kind::Outcome,
    Kind::TargetKind,
];
const ANCHOR_KINDS: &[Kind] = &[Kind::Step, Kind::Event];

/// A definition.
#[derive(Debug, Clone)]
pub struct Def {
    pub kind: Kind,
    pub name: String,
    /// The name where it is defined.
    pub span: Span,
    /// The whole item (for the outline).
    pub full: Span,
    pub docs: Vec<String>,
    /// The source lines that show it (hover).
    pub detail: String,
    /// The definition this one belongs to (a step inside a `decide`, an enum value's type or fact).
    pub parent: Option<usize>,
}

/// A mention of a name.
#[derive(Debug, Clone)]
pub struct Mention {
    pub name: String,
    pub span: Span,
    /// The kinds it may refer to, most likely first.
    pub kinds: &'static [Kind],
    /// A name that may refer to nothing declared: a `records` field, a log field in the
    /// mapping, a table's output value. It is linked when it does.
    pub free: bool,
}

/// The names of one file.
#[derive(Debug, Clone, Default)]
pub struct Index {
    pub defs: Vec<Def>,
    pub mentions: Vec<Mention>,
    /// `use "PATH"`: the path as written and its span (the string, quotes included).
    pub uses: Vec<(String, Span)>,
    /// Sections in order: keyword, span.
    pub sections: Vec<(&'static str, Span)>,
    /// Comment spans (for semantic tokens).
    pub comments: Vec<Span>,
}

impl Index {
    /// The mention or definition name at a byte offset.
    pub fn at(&self, offset: usize) -> Option<At<'_>> {
        let inside = |s: Span| s.start <= offset && offset <= s.end;
        if let Some(d) = self.defs.iter().position(|d| inside(d.span)) {
            return Some(At::Def(d));
        }
        if let Some(m) = self.mentions.iter().find(|m| inside(m.span)) {
            return Some(At::Mention(m));
        }
        self.uses
            .iter()
            .find(|(_, s)| inside(*s))
            .map(|(p, s)| At::Use(p, *s))
    }

    /// The definitions of a name with one of the kinds, in the order the kinds are given.
    pub fn find(&self, name: &str, kinds: &[Kind]) -> Option<&Def> {
        kinds
            .iter()
            .find_map(|k| self.defs.iter().find(|d| d.kind == *k && d.name == name))
    }
}

/// What is at a position.
#[derive(Debug, Clone, Copy)]
pub enum At<'a> {
    Def(usize),
    Mention(&'a Mention),
    Use(&'a str, Span),
}

const MAX_DETAIL_LINES: usize = 14;

struct Builder<'a> {
    src: &'a SourceFile,
    out: Index,
}

/// Indexes a parsed file.
pub fn index(src: &SourceFile, parsed: &Parsed) -> Index {
    let mut b = Builder {
        src,
        out: Index::default(),
    };
    b.out.comments = parsed.comments.iter().map(|c| c.span).collect();
    b.file(&parsed.file);
    b.out
}

impl Builder<'_> {
    /// The source lines of a span, at most a screenful, common indentation removed.
    fn lines(&self, span: Span) -> String {
        let text = self.src.text();
        let start = text[..span.start.min(text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let slice = text.get(start..span.end.min(text.len())).unwrap_or("");
        let lines: Vec<&str> = slice.lines().collect();
        let indent = lines
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        let mut out: Vec<String> = lines
            .iter()
            .take(MAX_DETAIL_LINES)
            .map(|l| {
                l.get(indent..)
                    .unwrap_or(l.trim_start())
                    .trim_end()
                    .to_string()
            })
            .collect();
        if lines.len() > MAX_DETAIL_LINES {
            out.push("…".to_string());
        }
        out.join("\n")
    }

    fn def(&mut self, kind: Kind, name: &Name, full: Span, docs: &[String]) -> usize {
        let detail = self.lines(full);
        self.def_with(kind, name, full, docs, detail, None)
    }

    fn def_with(
        &mut self,
        kind: Kind,
        name: &Name,
        full: Span,
        docs: &[String],
        detail: String,
        parent: Option<usize>,
    ) -> usize {
        self.out.defs.push(Def {
            kind,
            name: name.text.clone(),
            span: name.span,
            full: full.join(name.span),
            docs: docs.iter().map(|d| d.trim().to_string()).collect(),
            detail,
            parent,
        });
        self.out.defs.len() - 1
    }

    fn mention(&mut self, name: &Name, kinds: &'static [Kind]) {
        self.push_mention(name, kinds, false);
    }

    fn free_mention(&mut self, name: &Name, kinds: &'static [Kind]) {
        self.push_mention(name, kinds, true);
    }

    fn push_mention(&mut self, name: &Name, kinds: &'static [Kind], free: bool) {
        if name.text.is_empty() || name.span == Span::default() {
            return;
        }
        self.out.mentions.push(Mention {
            name: name.text.clone(),
            span: name.span,
            kinds,
            free,
        });
    }

    fn file(&mut self, f: &File) {
        self.def(Kind::Procedure, &f.id, f.id.span, &f.docs);
        for h in &f.header {
            match h {
                HeaderItem::Use(p) => self.out.uses.push((p.value.clone(), p.span)),
                HeaderItem::Applies(e) => self.expr(e),
                HeaderItem::Effective { .. }
                | HeaderItem::Title(_)
                | HeaderItem::Version(_)
                | HeaderItem::Owner(_) => {}
            }
        }
        for s in &f.sections {
            self.section(s);
        }
    }

    fn section(&mut self, s: &Section) {
        let (keyword, span) = section_keyword(s);
        self.out.sections.push((keyword, span));
        match s {
            Section::Facts { items, .. } => {
                for item in items {
                    match item {
                        FactItem::Type {
                            docs,
                            name,
                            ty,
                            span,
                        } => {
                            let d = self.def(Kind::Type, name, *span, docs);
                            self.ty(ty, Some(d));
                        }
                        FactItem::Fact(f) => {
                            let d = self.def(Kind::Fact, &f.name, f.span, &f.docs);
                            self.ty(&f.ty, Some(d));
                            if let Some(UnknownClause {
                                counts_as: Some(e), ..
                            }) = &f.unknown
                            {
                                self.expr(e);
                            }
                        }
                    }
                }
            }
            Section::Params { items, .. } => {
                for p in items {
                    self.def(Kind::Param, &p.name, p.span, &p.docs);
                    if let Some(t) = &p.ty {
                        self.ty(t, None);
                    }
                    if let Some(v) = &p.value {
                        self.expr(v);
                    }
                }
            }
            Section::Roles { items, .. } => {
                for r in items {
                    self.def(Kind::Role, &r.name, r.span, &r.docs);
                    if let Some(to) = &r.reports_to {
                        self.mention(to, &[Kind::Role]);
                    }
                }
            }
            Section::Resources { items, .. } => {
                for r in items {
                    self.def(Kind::Resource, &r.name, r.span, &r.docs);
                }
            }
            Section::Calendar(c) => {
                self.def(Kind::Calendar, &c.name, c.span, &c.docs);
            }
            Section::Clock(c) => {
                self.def(Kind::Clock, &c.name, c.span, &c.docs);
                for item in &c.items {
                    match item {
                        ClockItem::Starts(a, _) | ClockItem::Stops(a, _) => self.anchor(a),
                        ClockItem::Pauses { from, until, .. } => {
                            self.mention(from, ANCHOR_KINDS);
                            self.mention(until, ANCHOR_KINDS);
                        }
                        ClockItem::Calendar(n, _) => self.mention(n, &[Kind::Calendar]),
                    }
                }
            }
            Section::Validity {
                indicators, bands, ..
            } => {
                for i in indicators {
                    self.expr(&i.when);
                }
                self.bands(bands);
            }
            Section::Priority(p) => self.priority(p),
            Section::Decisions { items, .. } => {
                for d in items {
                    self.decision(d);
                }
            }
            Section::Ends { items, .. } => {
                for d in items {
                    self.def(Kind::End, &d.name, d.span, &d.docs);
                }
            }
            Section::Events { items, .. } => {
                for d in items {
                    self.def(Kind::Event, &d.name, d.span, &d.docs);
                }
            }
            Section::Flow { body, .. } => self.stmts(body, None),
            Section::Constraints { items, .. } => {
                for c in items {
                    self.def(Kind::Constraint, &c.name, c.span, &c.docs);
                    match &c.kind {
                        ConstraintKind::Response {
                            first,
                            then,
                            within,
                        } => {
                            self.mention(first, ANCHOR_KINDS);
                            self.mention(then, ANCHOR_KINDS);
                            if let Some(w) = within {
                                self.expr(w);
                            }
                        }
                        ConstraintKind::Precedence { first, then } => {
                            self.mention(first, ANCHOR_KINDS);
                            self.mention(then, ANCHOR_KINDS);
                        }
                        ConstraintKind::Absence(n) | ConstraintKind::Count { step: n, .. } => {
                            self.mention(n, ANCHOR_KINDS);
                        }
                        ConstraintKind::NotCoexist(a, b) | ConstraintKind::Actor { a, b, .. } => {
                            self.mention(a, ANCHOR_KINDS);
                            self.mention(b, ANCHOR_KINDS);
                        }
                    }
                    if let Some(w) = &c.when {
                        self.expr(w);
                    }
                }
            }
            Section::Standards { items, .. } => {
                for st in items {
                    self.def(Kind::Standard, &st.name, st.span, &st.docs);
                    match &st.measure {
                        Measure::Share { within, .. } => self.expr(within),
                        Measure::Stat { limit, .. } => self.expr(limit),
                    }
                    self.anchor(&st.from);
                    self.anchor(&st.to);
                    for e in st.filter.iter().chain(&st.excluding) {
                        self.expr(e);
                    }
                }
            }
            Section::Exemptions { items, .. } => {
                for x in items {
                    self.def(Kind::Exemption, &x.name, x.span, &x.docs);
                    for w in &x.waives {
                        self.mention(w, &[Kind::Step, Kind::Standard, Kind::Constraint]);
                    }
                    self.mention(&x.on, ANCHOR_KINDS);
                    self.requirements(x.requires.as_deref());
                }
            }
            Section::Mapping { items, .. } => {
                for m in items {
                    match m {
                        MapItem::Activity {
                            target: Some(t), ..
                        } => self.mention(t, ANCHOR_KINDS),
                        MapItem::Attribute { field, .. } => {
                            self.free_mention(field, &[Kind::Fact]);
                        }
                        MapItem::Value { fact, value, .. } => {
                            self.free_mention(fact, &[Kind::Fact]);
                            self.expr(value);
                        }
                        MapItem::Activity { target: None, .. }
                        | MapItem::Timezone { .. }
                        | MapItem::TimestampFormat { .. } => {}
                    }
                }
            }
            Section::Links { items, .. } => {
                for l in items {
                    self.def(Kind::Link, &l.name, l.span, &l.docs);
                    self.mention(&l.via, &[Kind::Fact]);
                }
            }
        }
    }

    fn ty(&mut self, t: &TypeExpr, owner: Option<usize>) {
        match t {
            TypeExpr::Named(n) => self.mention(n, &[Kind::Type]),
            TypeExpr::List(inner, _) => self.ty(inner, owner),
            TypeExpr::Enum(values, span) => {
                let detail = self.lines(*span);
                for v in values {
                    self.def_with(Kind::EnumValue, v, v.span, &[], detail.clone(), owner);
                }
            }
            TypeExpr::Scalar(..) | TypeExpr::Code(_) => {}
        }
    }

    fn bands(&mut self, b: &Bands) {
        let detail = self.lines(b.span);
        for band in &b.bands {
            self.def_with(
                Kind::Band,
                &band.name,
                band.name.span,
                &[],
                detail.clone(),
                None,
            );
        }
    }

    fn requirements(&mut self, r: Option<&[Requirement]>) {
        for req in r.unwrap_or_default() {
            if let Requirement::Role(n) = req {
                self.mention(n, &[Kind::Role]);
            }
        }
    }

    fn priority(&mut self, p: &Priority) {
        for l in &p.scale {
            let full = l
                .title
                .as_ref()
                .map_or(l.name.span, |t| l.name.span.join(t.span));
            let detail = self.src.slice(full).to_string();
            self.def_with(Kind::Level, &l.name, full, &[], detail, None);
        }
        for item in &p.items {
            match item {
                PriorityItem::Target(t) => {
                    self.mention(&t.level, &[Kind::Level]);
                    for (kind, e) in &t.entries {
                        if self.out.find(&kind.text, &[Kind::TargetKind]).is_none() {
                            self.def(Kind::TargetKind, kind, kind.span, &[]);
                        } else {
                            self.mention(kind, &[Kind::TargetKind]);
                        }
                        self.expr(e);
                    }
                    if let Some(w) = &t.when {
                        self.expr(w);
                    }
                }
                PriorityItem::Override(o) => {
                    self.mention(&o.level, &[Kind::Level]);
                    self.expr(&o.when);
                    self.requirements(o.requires.as_deref());
                }
                PriorityItem::Regrade { requires, .. } => self.requirements(requires.as_deref()),
                PriorityItem::Combine(..) => {}
                PriorityItem::Method(d) => self.decision(d),
            }
        }
        // A level's hover shows its targets.
        for item in &p.items {
            if let PriorityItem::Target(t) = item {
                let line = self.lines(t.span);
                for d in &mut self.out.defs {
                    if d.kind == Kind::Level && d.name == t.level.text {
                        d.detail.push('\n');
                        d.detail.push_str(&line);
                    }
                }
            }
        }
    }

    fn decision(&mut self, d: &DecisionDef) {
        match d {
            DecisionDef::Table(t) => {
                let me = self.def(Kind::Decision, &t.name, t.span, &t.docs);
                for c in &t.columns {
                    match c {
                        Column::Input(e) => self.expr(e),
                        Column::Output { ty: Some(ty), .. } => self.ty(ty, Some(me)),
                        Column::Output { ty: None, .. } => {}
                    }
                }
                for r in &t.rows {
                    for c in &r.cells {
                        if let Cell::Tests(ts, _) = c {
                            self.tests(ts);
                        }
                    }
                }
            }
            DecisionDef::Matrix(m) => {
                self.def(Kind::Decision, &m.name, m.span, &m.docs);
                self.expr(&m.rows_by);
                self.expr(&m.cols_by);
                for v in &m.col_values {
                    self.expr(v);
                }
                for r in &m.rows {
                    self.expr(&r.key);
                    for c in &r.cells {
                        self.expr(c);
                    }
                }
            }
            DecisionDef::Score(s) => {
                self.def(Kind::Decision, &s.name, s.span, &s.docs);
                for i in &s.indicators {
                    self.expr(&i.when);
                }
                self.bands(&s.bands);
            }
        }
    }

    fn tests(&mut self, ts: &[CellTest]) {
        for t in ts {
            match &t.kind {
                TestKind::Range(a, b) => {
                    self.expr(a);
                    self.expr(b);
                }
                TestKind::Compare(_, e) | TestKind::Equals(e) => self.expr(e),
            }
        }
    }

    fn anchor(&mut self, a: &Anchor) {
        for n in a.names() {
            self.mention(n, ANCHOR_KINDS);
        }
    }

    /// A step's first line and its attribute lines.
    fn step_detail(&self, first: Span, attrs: &[StepAttr]) -> String {
        let end = attrs
            .iter()
            .map(|a| a.span().end)
            .max()
            .unwrap_or(first.end);
        self.lines(Span::new(first.start, end.max(first.end)))
    }

    fn attrs(&mut self, attrs: &[StepAttr]) {
        for a in attrs {
            match a {
                StepAttr::Within { limit, of, on, .. } => {
                    self.expr(limit);
                    if let Some(of) = of {
                        self.anchor(of);
                    }
                    if let Some(on) = on {
                        self.mention(on, &[Kind::Clock]);
                    }
                }
                StepAttr::Needs { resource, .. } => self.mention(resource, &[Kind::Resource]),
                StepAttr::By(names, _) | StepAttr::To(names, _) => {
                    for n in names {
                        self.mention(n, &[Kind::Role]);
                    }
                }
                StepAttr::Records(names, _) => {
                    for n in names {
                        self.free_mention(n, &[Kind::Fact]);
                    }
                }
                StepAttr::Outcomes(names, span) => {
                    let detail = self.lines(*span);
                    for n in names {
                        self.def_with(Kind::Outcome, n, n.span, &[], detail.clone(), None);
                    }
                }
                StepAttr::Escalate {
                    trigger, to, when, ..
                } => {
                    if let EscalateTrigger::After(e) = trigger {
                        self.expr(e);
                    }
                    for n in to {
                        self.mention(n, &[Kind::Role]);
                    }
                    if let Some(w) = when {
                        self.expr(w);
                    }
                }
                StepAttr::Ack(e, _) => self.expr(e),
                StepAttr::Responsibilities(..) | StepAttr::Actions(..) => {}
            }
        }
    }

    fn stmts(&mut self, body: &[Stmt], parent: Option<usize>) {
        for s in body {
            match s {
                Stmt::Step(st) => {
                    let detail = self.step_detail(st.span, &st.attrs);
                    let end = st
                        .attrs
                        .iter()
                        .map(|a| a.span().end)
                        .max()
                        .unwrap_or(st.span.end);
                    self.def_with(
                        Kind::Step,
                        &st.name,
                        Span::new(st.span.start, end.max(st.span.end)),
                        &st.docs,
                        detail,
                        parent,
                    );
                    self.attrs(&st.attrs);
                }
                Stmt::Monitor(m) => {
                    let detail = self.step_detail(m.span, &m.attrs);
                    self.def_with(Kind::Step, &m.name, m.span, &m.docs, detail, parent);
                    self.expr(&m.every);
                    if let Some(e) = &m.first_within {
                        self.expr(e);
                    }
                    if let Some(a) = &m.after {
                        self.anchor(a);
                    }
                    self.anchor(&m.until);
                    self.attrs(&m.attrs);
                }
                Stmt::Call(c) => {
                    self.mention(&c.procedure, &[Kind::Procedure]);
                    let detail = self.step_detail(c.span, &c.attrs);
                    match &c.alias {
                        Some(alias) => {
                            self.def_with(Kind::Step, alias, c.span, &c.docs, detail, parent);
                        }
                        // Without `as`, the step is the procedure's last segment.
                        None => {
                            let step = c.step_name();
                            let start = c.procedure.span.end.saturating_sub(step.text.len());
                            let name = Name {
                                span: Span::new(
                                    start.max(c.procedure.span.start),
                                    c.procedure.span.end,
                                ),
                                text: step.text,
                            };
                            self.def_with(Kind::Step, &name, c.span, &c.docs, detail, parent);
                        }
                    }
                    for (_, e) in &c.args {
                        self.expr(e);
                    }
                    self.attrs(&c.attrs);
                }
                Stmt::Decide(d) => {
                    let detail = self.lines(d.span);
                    let me = self.def_with(
                        Kind::Step,
                        &d.name,
                        d.span.join(d.end_span),
                        &d.docs,
                        detail,
                        parent,
                    );
                    if let Some(e) = &d.subject {
                        self.expr(e);
                    }
                    for b in &d.branches {
                        self.tests(&b.tests);
                        self.branch(&b.body, Some(me));
                    }
                    if let Some((b, _)) = &d.otherwise {
                        self.branch(b, Some(me));
                    }
                }
                Stmt::Parallel(p) => {
                    let me = match &p.name {
                        Some(n) => {
                            let detail = self.lines(p.span);
                            Some(self.def_with(
                                Kind::Step,
                                n,
                                p.span.join(p.end_span),
                                &p.docs,
                                detail,
                                parent,
                            ))
                        }
                        None => parent,
                    };
                    for b in &p.branches {
                        self.stmts(&b.body, me);
                    }
                }
                Stmt::Repeat(r) => {
                    let me = match &r.name {
                        Some(n) => {
                            let detail = self.lines(r.span);
                            Some(self.def_with(
                                Kind::Step,
                                n,
                                r.span.join(r.until_span),
                                &r.docs,
                                detail,
                                parent,
                            ))
                        }
                        None => parent,
                    };
                    self.stmts(&r.body, me);
                    self.expr(&r.until);
                }
                Stmt::Goto { target, .. } => self.mention(target, ANCHOR_KINDS),
                Stmt::End { state, .. } => self.mention(state, &[Kind::End]),
            }
        }
    }

    fn branch(&mut self, b: &BranchBody, parent: Option<usize>) {
        match b {
            BranchBody::Goto(n) => self.mention(n, ANCHOR_KINDS),
            BranchBody::Block(xs) => self.stmts(xs, parent),
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Path(names) => {
                // `priority` and `validity` are the assessed level and band, unless a fact says otherwise.
                if let Some(first) = names.first() {
                    if first.text == "priority" || first.text == "validity" {
                        self.free_mention(first, EXPR_KINDS);
                    } else {
                        self.mention(first, EXPR_KINDS);
                    }
                }
            }
            ExprKind::OutcomeOf(n) => self.mention(n, ANCHOR_KINDS),
            ExprKind::Call(_, args) | ExprKind::List(args) => {
                for a in args {
                    self.expr(a);
                }
            }
            ExprKind::Range(a, b) | ExprKind::Binary(_, a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Unary(_, a) => self.expr(a),
            ExprKind::IsMissing { operand, .. } => self.expr(operand),
            ExprKind::Literal(_) => {}
        }
    }
}

/// A section's keyword and span.
pub fn section_keyword(s: &Section) -> (&'static str, Span) {
    match s {
        Section::Facts { span, .. } => ("facts", *span),
        Section::Params { span, .. } => ("params", *span),
        Section::Roles { span, .. } => ("roles", *span),
        Section::Resources { span, .. } => ("resources", *span),
        Section::Calendar(c) => ("calendar", c.span),
        Section::Clock(c) => ("clock", c.span),
        Section::Validity { span, .. } => ("validity", *span),
        Section::Priority(p) => ("priority", p.span),
        Section::Decisions { span, .. } => ("decisions", *span),
        Section::Ends { span, .. } => ("ends", *span),
        Section::Events { span, .. } => ("events", *span),
        Section::Flow { span, .. } => ("flow", *span),
        Section::Constraints { span, .. } => ("constraints", *span),
        Section::Standards { span, .. } => ("standards", *span),
        Section::Exemptions { span, .. } => ("exemptions", *span),
        Section::Mapping { span, .. } => ("mapping", *span),
        Section::Links { span, .. } => ("links", *span),
    }
}
