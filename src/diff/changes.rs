//! What changed between two versions of a procedure, in the procedure's own terms: the
//! two resolved models are walked item by item (steps by name, `decide` branches by their
//! tests, table rows by their input cells, matrix cells by row and column, facts,
//! limits, constraints, ...), never their text line by line. Layout, comments and `##`
//! docs are not changes. Each change carries its line in the old and in the new file.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::ast::{self, StepAttr, Stmt};
use crate::model::Procedure;
use crate::source::Span;

/// What kind of change: serialised as kebab-case text (`step-added`), stable within a
/// version of the JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    StepAdded,
    StepRemoved,
    StepRenamed,
    StepMadeOptional,
    StepMadeMandatory,
    StepChanged,
    InformAdded,
    InformRemoved,
    MonitorAdded,
    MonitorRemoved,
    MonitorChanged,
    DecideAdded,
    DecideRemoved,
    DecideChanged,
    BranchAdded,
    BranchRemoved,
    FlowChanged,
    LimitTightened,
    LimitLoosened,
    LimitAdded,
    LimitRemoved,
    LimitChanged,
    EscalationAdded,
    EscalationRemoved,
    ResourceNeedAdded,
    ResourceNeedRemoved,
    TableAdded,
    TableRemoved,
    TableChanged,
    RowAdded,
    RowRemoved,
    RowChanged,
    MatrixChanged,
    MatrixCellChanged,
    IndicatorAdded,
    IndicatorRemoved,
    IndicatorChanged,
    WeightChanged,
    BandsChanged,
    TargetTightened,
    TargetLoosened,
    TargetAdded,
    TargetRemoved,
    TargetChanged,
    OverrideAdded,
    OverrideRemoved,
    OverrideChanged,
    PriorityRuleChanged,
    ConstraintAdded,
    ConstraintRemoved,
    ConstraintChanged,
    FactAdded,
    FactRemoved,
    FactChanged,
    ParamChanged,
    MappingChanged,
    DeclarationAdded,
    DeclarationRemoved,
    DeclarationChanged,
    HeaderChanged,
    Other,
}

impl ChangeKind {
    /// The kind as written in every output (`step-added`).
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// One change between the old and the new version of a procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcedureChange {
    pub kind: ChangeKind,
    /// What changed, named as the procedure names it: "step `dispatch_fco`".
    pub subject: String,
    /// The line of the item in the old file (`None`: not in the old version).
    pub old_line: Option<usize>,
    /// The line of the item in the new file (`None`: not in the new version).
    pub new_line: Option<usize>,
    /// The change in words, with the old and new values.
    pub description: String,
    /// By how much a limit, target, interval or weight moved, when it is a quantity
    /// (`5m`, `-10`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// A facts schema change that makes existing logs, incident files or tests fail to
    /// read (a required fact added, a fact removed, a type narrowed, an enum value gone).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub breaking: bool,
}

/// Every change from `old` to `new`, in the order of the new file (removed items at
/// their old place).
pub fn changes(old: &Procedure, new: &Procedure) -> Vec<ProcedureChange> {
    let o = Side::new(old);
    let n = Side::new(new);
    let mut cx = Cx {
        o: &o,
        n: &n,
        out: Vec::new(),
    };
    cx.header();
    cx.facts();
    cx.params();
    cx.declarations();
    cx.validity();
    cx.priority();
    cx.tables();
    cx.flow();
    cx.constraints();
    cx.mapping();
    if cx.out.is_empty() && !same(o.file, n.file) {
        cx.out.push(ProcedureChange {
            kind: ChangeKind::Other,
            subject: format!("procedure `{}`", n.file.id.text),
            old_line: Some(1),
            new_line: Some(1),
            description: "the procedure changed in a way not described item by item".into(),
            amount: None,
            breaking: false,
        });
    }
    let mut out = cx.out;
    out.sort_by_key(|c| {
        (
            c.new_line.or(c.old_line).unwrap_or(0),
            c.old_line.unwrap_or(0),
            c.kind,
        )
    });
    out.dedup();
    out
}

/// One version: its file, lines and texts.
struct Side<'a> {
    p: &'a Procedure,
    file: &'a ast::File,
    /// Params declared in the file with a literal duration value, in milliseconds.
    durations: BTreeMap<String, i64>,
}

impl<'a> Side<'a> {
    fn new(p: &'a Procedure) -> Self {
        let file = p.ast();
        let mut durations = BTreeMap::new();
        for s in &file.sections {
            if let ast::Section::Params { items, .. } = s {
                for it in items {
                    if let Some(ms) = it.value.as_ref().and_then(literal_ms) {
                        durations.insert(it.name.text.clone(), ms);
                    }
                }
            }
        }
        Side { p, file, durations }
    }

    fn line(&self, span: Span) -> usize {
        self.p.unit.source.line_col(span.start).0
    }

    /// The source text of a span on one line, whitespace collapsed.
    fn text(&self, span: Span) -> String {
        let t = self.p.unit.source.text();
        let s = t.get(span.start.min(span.end)..span.end).unwrap_or("");
        let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.chars().count() > 120 {
            let cut: String = s.chars().take(117).collect();
            format!("{cut}...")
        } else {
            s
        }
    }

    /// An expression's duration in milliseconds: a literal, or a param of this file with
    /// a literal duration.
    fn ms(&self, e: &ast::Expr) -> Option<i64> {
        literal_ms(e).or_else(|| match &e.kind {
            ast::ExprKind::Path(p) if p.len() == 1 => self.durations.get(&p[0].text).copied(),
            _ => None,
        })
    }

    fn sections(&self) -> impl Iterator<Item = &'a ast::Section> {
        self.file.sections.iter()
    }
}

fn literal_ms(e: &ast::Expr) -> Option<i64> {
    match &e.kind {
        ast::ExprKind::Literal(ast::Literal::Duration(ms, _)) => Some(*ms),
        _ => None,
    }
}

/// Whether two nodes mean the same: equal once spans (serialised as `null`) and `##`
/// docs are set aside.
fn same<T: Serialize>(a: &T, b: &T) -> bool {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("docs");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(xs) => xs.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let (Ok(mut x), Ok(mut y)) = (serde_json::to_value(a), serde_json::to_value(b)) else {
        return false;
    };
    strip(&mut x);
    strip(&mut y);
    x == y
}

/// A duration in the language's own units (`1h30m`, `45s`, `2d`).
pub use crate::eval::value::format_duration as format_ms;

struct Cx<'s, 'a> {
    o: &'s Side<'a>,
    n: &'s Side<'a>,
    out: Vec<ProcedureChange>,
}

impl Cx<'_, '_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: ChangeKind,
        subject: String,
        old_line: Option<usize>,
        new_line: Option<usize>,
        description: String,
    ) {
        self.out.push(ProcedureChange {
            kind,
            subject,
            old_line,
            new_line,
            description,
            amount: None,
            breaking: false,
        });
    }

    fn push_amount(
        &mut self,
        kind: ChangeKind,
        subject: String,
        lines: (Option<usize>, Option<usize>),
        description: String,
        amount: String,
    ) {
        self.out.push(ProcedureChange {
            kind,
            subject,
            old_line: lines.0,
            new_line: lines.1,
            description,
            amount: Some(amount),
            breaking: false,
        });
    }

    /// A duration moved: tightened when shorter (limits, intervals), loosened when longer.
    #[allow(clippy::too_many_arguments)]
    fn duration(
        &mut self,
        tight: ChangeKind,
        loose: ChangeKind,
        subject: String,
        what: &str,
        (a, b): (i64, i64),
        texts: (String, String),
        lines: (Option<usize>, Option<usize>),
    ) {
        if a == b {
            return;
        }
        let (kind, verb) = if b < a {
            (tight, "tightened")
        } else {
            (loose, "loosened")
        };
        let by = format_ms((a - b).abs());
        self.push_amount(
            kind,
            subject,
            lines,
            format!("{what} {verb} by {by}: {} → {}", texts.0, texts.1),
            by,
        );
    }

    // ------------------------------------------------------------ header

    fn header(&mut self) {
        fn key(h: &ast::HeaderItem) -> &'static str {
            match h {
                ast::HeaderItem::Title(_) => "title",
                ast::HeaderItem::Version(_) => "version",
                ast::HeaderItem::Owner(_) => "owner",
                ast::HeaderItem::Effective { .. } => "effective",
                ast::HeaderItem::Applies(_) => "applies when",
                ast::HeaderItem::Use(_) => "use",
            }
        }
        fn span(h: &ast::HeaderItem) -> Span {
            match h {
                ast::HeaderItem::Title(s)
                | ast::HeaderItem::Version(s)
                | ast::HeaderItem::Owner(s)
                | ast::HeaderItem::Use(s) => s.span,
                ast::HeaderItem::Effective { span, .. } => *span,
                ast::HeaderItem::Applies(e) => e.span,
            }
        }
        fn gather<'x>(s: &Side<'x>) -> BTreeMap<String, Vec<&'x ast::HeaderItem>> {
            let mut m: BTreeMap<String, Vec<&'x ast::HeaderItem>> = BTreeMap::new();
            for h in &s.file.header {
                m.entry(key(h).to_string()).or_default().push(h);
            }
            m
        }
        let (om, nm) = (gather(self.o), gather(self.n));
        if self.o.file.title.as_ref().map(|t| &t.value)
            != self.n.file.title.as_ref().map(|t| &t.value)
        {
            self.push(
                ChangeKind::HeaderChanged,
                "title".into(),
                Some(self.o.line(self.o.file.id.span)),
                Some(self.n.line(self.n.file.id.span)),
                "the procedure's title changed".into(),
            );
        }
        if self.o.file.id.text != self.n.file.id.text {
            self.push(
                ChangeKind::HeaderChanged,
                "id".into(),
                Some(self.o.line(self.o.file.id.span)),
                Some(self.n.line(self.n.file.id.span)),
                format!(
                    "the procedure's id changed: `{}` → `{}`",
                    self.o.file.id.text, self.n.file.id.text
                ),
            );
        }
        for k in om.keys().chain(nm.keys()).collect::<BTreeSet<_>>() {
            let a = om.get(k).cloned().unwrap_or_default();
            let b = nm.get(k).cloned().unwrap_or_default();
            if a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| same(*x, *y)) {
                continue;
            }
            let texts = |s: &Side<'_>, xs: &[&ast::HeaderItem]| {
                xs.iter()
                    .map(|h| s.text(span(h)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let (ta, tb) = (texts(self.o, &a), texts(self.n, &b));
            let desc = match (a.is_empty(), b.is_empty()) {
                (true, _) => format!("`{k}` added: {tb}"),
                (_, true) => format!("`{k}` removed (was {ta})"),
                _ => format!("`{k}` changed: {ta} → {tb}"),
            };
            self.push(
                ChangeKind::HeaderChanged,
                k.clone(),
                a.first().map(|h| self.o.line(span(h))),
                b.first().map(|h| self.n.line(span(h))),
                desc,
            );
        }
    }

    // ------------------------------------------------------------ facts

    fn facts(&mut self) {
        let decls = |s: &Side<'_>| {
            let mut m: BTreeMap<String, usize> = BTreeMap::new();
            for sec in s.sections() {
                if let ast::Section::Facts { items, .. } = sec {
                    for it in items {
                        match it {
                            ast::FactItem::Fact(f) => {
                                m.insert(f.name.text.clone(), s.line(f.span));
                            }
                            ast::FactItem::Type { name, span, .. } => {
                                m.insert(format!("type {}", name.text), s.line(*span));
                            }
                        }
                    }
                }
            }
            m
        };
        let (ol, nl) = (decls(self.o), decls(self.n));
        let of = &self.o.p.symbols.facts;
        let nf = &self.n.p.symbols.facts;
        for name in of.keys().chain(nf.keys()).collect::<BTreeSet<_>>() {
            let lines = (ol.get(name).copied(), nl.get(name).copied());
            let subject = format!("fact `{name}`");
            match (of.get(name), nf.get(name)) {
                (None, Some(b)) => {
                    let breaking = !b.optional;
                    let desc = if breaking {
                        format!(
                            "required fact added ({}): logs, incident files and tests \
                             without it no longer read",
                            b.ty
                        )
                    } else {
                        format!("optional fact added ({})", b.ty)
                    };
                    self.out.push(ProcedureChange {
                        kind: ChangeKind::FactAdded,
                        subject,
                        old_line: None,
                        new_line: lines.1,
                        description: desc,
                        amount: None,
                        breaking,
                    });
                }
                (Some(a), None) => self.out.push(ProcedureChange {
                    kind: ChangeKind::FactRemoved,
                    subject,
                    old_line: lines.0,
                    new_line: None,
                    description: format!(
                        "fact removed (was {}): incident files and tests that give it are \
                         rejected",
                        a.ty
                    ),
                    amount: None,
                    breaking: true,
                }),
                (Some(a), Some(b)) => {
                    let mut said = Vec::new();
                    let mut breaking = false;
                    if a.ty != b.ty {
                        let narrowed = !b.ty.accepts(&a.ty);
                        breaking |= narrowed;
                        let gone = match (&a.ty, &b.ty) {
                            (crate::model::Type::Enum(x), crate::model::Type::Enum(y)) => {
                                let gone: Vec<&String> =
                                    x.iter().filter(|v| !y.contains(v)).collect();
                                let added: Vec<&String> =
                                    y.iter().filter(|v| !x.contains(v)).collect();
                                let mut t = String::new();
                                if !gone.is_empty() {
                                    t.push_str(&format!(
                                        "; values removed: {}",
                                        gone.iter()
                                            .map(|v| format!("`{v}`"))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ));
                                }
                                if !added.is_empty() {
                                    t.push_str(&format!(
                                        "; values added: {}",
                                        added
                                            .iter()
                                            .map(|v| format!("`{v}`"))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ));
                                }
                                t
                            }
                            _ => String::new(),
                        };
                        said.push(format!("type {} → {}{gone}", a.ty, b.ty));
                    }
                    if a.optional != b.optional {
                        if a.optional {
                            breaking = true;
                            said.push("now required".into());
                        } else {
                            said.push("now optional".into());
                        }
                    }
                    if a.three_valued != b.three_valued {
                        if a.three_valued {
                            breaking = true;
                            said.push("no longer accepts `unknown`".into());
                        } else {
                            said.push("now accepts `unknown`".into());
                        }
                    }
                    if a.has_unknown_policy != b.has_unknown_policy {
                        said.push("`unknown counts as` changed".into());
                    }
                    let decl_changed = self.fact_decl_changed(name);
                    if said.is_empty() && decl_changed {
                        said.push("its declaration changed".into());
                    }
                    if said.is_empty() {
                        continue;
                    }
                    let mut desc = said.join(", ");
                    if breaking {
                        desc.push_str(
                            ": existing logs, incident files or tests may no longer read",
                        );
                    }
                    self.out.push(ProcedureChange {
                        kind: ChangeKind::FactChanged,
                        subject,
                        old_line: lines.0,
                        new_line: lines.1,
                        description: desc,
                        amount: None,
                        breaking,
                    });
                }
                (None, None) => {}
            }
        }
    }

    /// Whether a fact's declaration (e.g. its `unknown counts as` value) differs.
    fn fact_decl_changed(&self, name: &str) -> bool {
        let find = |s: &Side<'_>| {
            s.sections()
                .filter_map(|sec| match sec {
                    ast::Section::Facts { items, .. } => Some(items),
                    _ => None,
                })
                .flatten()
                .find_map(|it| match it {
                    ast::FactItem::Fact(f) if f.name.text == name => Some(f.clone()),
                    _ => None,
                })
        };
        match (find(self.o), find(self.n)) {
            (Some(a), Some(b)) => !same(&a, &b),
            _ => false,
        }
    }

    // ------------------------------------------------------------ params

    fn params(&mut self) {
        let gather = |s: &Side<'_>| {
            let mut m: BTreeMap<String, ast::Param> = BTreeMap::new();
            for sec in s.sections() {
                if let ast::Section::Params { items, .. } = sec {
                    for p in items {
                        m.insert(p.name.text.clone(), p.clone());
                    }
                }
            }
            m
        };
        let (om, nm) = (gather(self.o), gather(self.n));
        for name in om.keys().chain(nm.keys()).collect::<BTreeSet<_>>() {
            let subject = format!("param `{name}`");
            match (om.get(name), nm.get(name)) {
                (Some(a), Some(b)) if !same(a, b) => {
                    let lines = (Some(self.o.line(a.span)), Some(self.n.line(b.span)));
                    let ta = a
                        .value
                        .as_ref()
                        .map(|e| self.o.text(e.span))
                        .unwrap_or_default();
                    let tb = b
                        .value
                        .as_ref()
                        .map(|e| self.n.text(e.span))
                        .unwrap_or_default();
                    match (
                        a.value.as_ref().and_then(literal_ms),
                        b.value.as_ref().and_then(literal_ms),
                    ) {
                        (Some(x), Some(y)) if x != y => self.duration(
                            ChangeKind::LimitTightened,
                            ChangeKind::LimitLoosened,
                            subject,
                            "limit",
                            (x, y),
                            (ta, tb),
                            lines,
                        ),
                        _ => self.push(
                            ChangeKind::ParamChanged,
                            subject,
                            lines.0,
                            lines.1,
                            format!("value {ta} → {tb}"),
                        ),
                    }
                }
                (None, Some(b)) => self.push(
                    ChangeKind::DeclarationAdded,
                    subject,
                    None,
                    Some(self.n.line(b.span)),
                    format!("param added: {}", self.n.text(b.span)),
                ),
                (Some(a), None) => self.push(
                    ChangeKind::DeclarationRemoved,
                    subject,
                    Some(self.o.line(a.span)),
                    None,
                    format!("param removed (was {})", self.o.text(a.span)),
                ),
                _ => {}
            }
        }
    }

    // ------------------------------------------------------------ named declarations

    fn declarations(&mut self) {
        type Named = BTreeMap<(String, String), (serde_json::Value, Span)>;
        fn add<T: Serialize>(m: &mut Named, what: &str, name: &str, node: &T, span: Span) {
            let mut v = serde_json::to_value(node).unwrap_or_default();
            if let serde_json::Value::Object(o) = &mut v {
                o.remove("docs");
            }
            m.insert((what.to_string(), name.to_string()), (v, span));
        }
        let gather = |s: &Side<'_>| {
            let mut m = Named::new();
            for sec in s.sections() {
                match sec {
                    ast::Section::Roles { items, .. } => {
                        for r in items {
                            add(&mut m, "role", &r.name.text, r, r.span);
                        }
                    }
                    ast::Section::Resources { items, .. } => {
                        for r in items {
                            add(&mut m, "resource", &r.name.text, r, r.span);
                        }
                    }
                    ast::Section::Calendar(c) => add(&mut m, "calendar", &c.name.text, c, c.span),
                    ast::Section::Clock(c) => add(&mut m, "clock", &c.name.text, c, c.span),
                    ast::Section::Ends { items, .. } => {
                        for d in items {
                            add(&mut m, "end", &d.name.text, d, d.span);
                        }
                    }
                    ast::Section::Events { items, .. } => {
                        for d in items {
                            add(&mut m, "event", &d.name.text, d, d.span);
                        }
                    }
                    ast::Section::Standards { items, .. } => {
                        for d in items {
                            add(&mut m, "standard", &d.name.text, d, d.span);
                        }
                    }
                    ast::Section::Exemptions { items, .. } => {
                        for d in items {
                            add(&mut m, "exemption", &d.name.text, d, d.span);
                        }
                    }
                    ast::Section::Links { items, .. } => {
                        for d in items {
                            add(&mut m, "link", &d.name.text, d, d.span);
                        }
                    }
                    _ => {}
                }
            }
            m
        };
        let (om, nm) = (gather(self.o), gather(self.n));
        for key in om.keys().chain(nm.keys()).collect::<BTreeSet<_>>() {
            let (what, name) = key;
            let subject = format!("{what} `{name}`");
            match (om.get(key), nm.get(key)) {
                (Some(a), Some(b)) if a.0 != b.0 => self.push(
                    ChangeKind::DeclarationChanged,
                    subject,
                    Some(self.o.line(a.1)),
                    Some(self.n.line(b.1)),
                    format!("{} → {}", self.o.text(a.1), self.n.text(b.1)),
                ),
                (None, Some(b)) => self.push(
                    ChangeKind::DeclarationAdded,
                    subject,
                    None,
                    Some(self.n.line(b.1)),
                    format!("{what} added: {}", self.n.text(b.1)),
                ),
                (Some(a), None) => self.push(
                    ChangeKind::DeclarationRemoved,
                    subject,
                    Some(self.o.line(a.1)),
                    None,
                    format!("{what} removed (was {})", self.o.text(a.1)),
                ),
                _ => {}
            }
        }
    }

    // ------------------------------------------------------------ validity and scores

    fn validity(&mut self) {
        let find = |s: &Side<'_>| -> Option<(Vec<ast::Indicator>, ast::Bands, Span)> {
            s.sections().find_map(|sec| match sec {
                ast::Section::Validity {
                    indicators,
                    bands,
                    span,
                } => Some((indicators.clone(), bands.clone(), *span)),
                _ => None,
            })
        };
        match (find(self.o), find(self.n)) {
            (Some(a), Some(b)) => self.score("validity", (&a.0, &a.1), (&b.0, &b.1)),
            (None, Some(b)) => self.push(
                ChangeKind::DeclarationAdded,
                "validity".into(),
                None,
                Some(self.n.line(b.2)),
                "a validity assessment was added".into(),
            ),
            (Some(a), None) => self.push(
                ChangeKind::DeclarationRemoved,
                "validity".into(),
                Some(self.o.line(a.2)),
                None,
                "the validity assessment was removed".into(),
            ),
            (None, None) => {}
        }
    }

    /// Indicators (by name: weight and condition) and bands (by name: bound) of a score.
    fn score(
        &mut self,
        name: &str,
        (ai, ab): (&[ast::Indicator], &ast::Bands),
        (bi, bb): (&[ast::Indicator], &ast::Bands),
    ) {
        let oi: BTreeMap<&str, &ast::Indicator> =
            ai.iter().map(|i| (i.name.text.as_str(), i)).collect();
        let ni: BTreeMap<&str, &ast::Indicator> =
            bi.iter().map(|i| (i.name.text.as_str(), i)).collect();
        for k in oi.keys().chain(ni.keys()).collect::<BTreeSet<_>>() {
            let subject = format!("{name} indicator `{k}`");
            match (oi.get(k), ni.get(k)) {
                (Some(a), Some(b)) => {
                    let lines = (Some(self.o.line(a.span)), Some(self.n.line(b.span)));
                    if a.weight != b.weight {
                        let amount = match (a.weight.parse::<f64>(), b.weight.parse::<f64>()) {
                            (Ok(x), Ok(y)) => Some(format!("{:+}", y - x)),
                            _ => None,
                        };
                        self.out.push(ProcedureChange {
                            kind: ChangeKind::WeightChanged,
                            subject: subject.clone(),
                            old_line: lines.0,
                            new_line: lines.1,
                            description: format!("weight {} → {}", a.weight, b.weight),
                            amount,
                            breaking: false,
                        });
                    }
                    if !same(&a.when, &b.when) {
                        self.push(
                            ChangeKind::IndicatorChanged,
                            subject,
                            lines.0,
                            lines.1,
                            format!(
                                "condition `{}` → `{}`",
                                self.o.text(a.when.span),
                                self.n.text(b.when.span)
                            ),
                        );
                    }
                }
                (None, Some(b)) => self.push(
                    ChangeKind::IndicatorAdded,
                    subject,
                    None,
                    Some(self.n.line(b.span)),
                    format!("indicator added: {}", self.n.text(b.span)),
                ),
                (Some(a), None) => self.push(
                    ChangeKind::IndicatorRemoved,
                    subject,
                    Some(self.o.line(a.span)),
                    None,
                    format!("indicator removed (was {})", self.o.text(a.span)),
                ),
                (None, None) => {}
            }
        }
        if !same(ab, bb) {
            let show = |b: &ast::Bands| {
                b.bands
                    .iter()
                    .map(|x| match &x.bound {
                        Some((op, v)) => format!("{} {} {v}", x.name.text, op.text()),
                        None => x.name.text.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            self.push(
                ChangeKind::BandsChanged,
                format!("{name} bands"),
                Some(self.o.line(ab.span)),
                Some(self.n.line(bb.span)),
                format!("bands {} → {}", show(ab), show(bb)),
            );
        }
    }

    // ------------------------------------------------------------ priority

    fn priority(&mut self) {
        let find = |s: &Side<'_>| -> Option<ast::Priority> {
            s.sections().find_map(|sec| match sec {
                ast::Section::Priority(p) => Some(p.clone()),
                _ => None,
            })
        };
        let (a, b) = match (find(self.o), find(self.n)) {
            (Some(a), Some(b)) => (a, b),
            (None, Some(b)) => {
                self.push(
                    ChangeKind::DeclarationAdded,
                    "priority".into(),
                    None,
                    Some(self.n.line(b.span)),
                    "a priority assessment was added".into(),
                );
                return;
            }
            (Some(a), None) => {
                self.push(
                    ChangeKind::DeclarationRemoved,
                    "priority".into(),
                    Some(self.o.line(a.span)),
                    None,
                    "the priority assessment was removed".into(),
                );
                return;
            }
            (None, None) => return,
        };
        if !same(&a.scale, &b.scale) {
            let show = |x: &[ast::Level]| {
                x.iter()
                    .map(|l| l.name.text.clone())
                    .collect::<Vec<_>>()
                    .join(" > ")
            };
            self.push(
                ChangeKind::PriorityRuleChanged,
                "priority scale".into(),
                Some(self.o.line(a.scale_span)),
                Some(self.n.line(b.scale_span)),
                format!("scale {} → {}", show(&a.scale), show(&b.scale)),
            );
        }
        // Targets: (level, kind, when) → limit.
        type Targets = BTreeMap<(String, String, String), (ast::Expr, Span)>;
        let targets = |s: &Side<'_>, p: &ast::Priority| {
            let mut m = Targets::new();
            for it in &p.items {
                if let ast::PriorityItem::Target(t) = it {
                    let when = t.when.as_ref().map(|w| s.text(w.span)).unwrap_or_default();
                    for (k, e) in &t.entries {
                        m.insert(
                            (t.level.text.clone(), k.text.clone(), when.clone()),
                            (e.clone(), t.span),
                        );
                    }
                }
            }
            m
        };
        let (ot, nt) = (targets(self.o, &a), targets(self.n, &b));
        for key in ot.keys().chain(nt.keys()).collect::<BTreeSet<_>>() {
            let (level, kind, when) = key;
            let when_text = if when.is_empty() {
                String::new()
            } else {
                format!(" when {when}")
            };
            let subject = format!("target `{kind}` of `{level}`{when_text}");
            match (ot.get(key), nt.get(key)) {
                (Some((x, xs)), Some((y, ys))) if !same(x, y) => {
                    let lines = (Some(self.o.line(*xs)), Some(self.n.line(*ys)));
                    let texts = (self.o.text(x.span), self.n.text(y.span));
                    match (self.o.ms(x), self.n.ms(y)) {
                        (Some(p), Some(q)) if p != q => self.duration(
                            ChangeKind::TargetTightened,
                            ChangeKind::TargetLoosened,
                            subject,
                            "target",
                            (p, q),
                            texts,
                            lines,
                        ),
                        _ => self.push(
                            ChangeKind::TargetChanged,
                            subject,
                            lines.0,
                            lines.1,
                            format!("target {} → {}", texts.0, texts.1),
                        ),
                    }
                }
                (None, Some((y, ys))) => self.push(
                    ChangeKind::TargetAdded,
                    subject,
                    None,
                    Some(self.n.line(*ys)),
                    format!("target added: {kind} within {}", self.n.text(y.span)),
                ),
                (Some((x, xs)), None) => self.push(
                    ChangeKind::TargetRemoved,
                    subject,
                    Some(self.o.line(*xs)),
                    None,
                    format!("target removed (was {kind} within {})", self.o.text(x.span)),
                ),
                _ => {}
            }
        }
        // Overrides, regrades and the combine rule, by their text.
        type Rules = BTreeMap<String, (ast::PriorityItem, Span)>;
        let rules = |s: &Side<'_>, p: &ast::Priority| {
            let mut m = Rules::new();
            for it in &p.items {
                let (key, span) = match it {
                    ast::PriorityItem::Override(o) => (
                        format!(
                            "override {}{} when {}",
                            if o.at_least { "at least " } else { "" },
                            o.level.text,
                            s.text(o.when.span)
                        ),
                        o.span,
                    ),
                    ast::PriorityItem::Regrade {
                        direction, span, ..
                    } => (format!("regrade {direction:?}").to_lowercase(), *span),
                    ast::PriorityItem::Combine(_, span) => ("combine".to_string(), *span),
                    _ => continue,
                };
                m.insert(key, (it.clone(), span));
            }
            m
        };
        let (or, nr) = (rules(self.o, &a), rules(self.n, &b));
        for key in or.keys().chain(nr.keys()).collect::<BTreeSet<_>>() {
            let is_override = key.starts_with("override");
            let (added, removed, changed) = if is_override {
                (
                    ChangeKind::OverrideAdded,
                    ChangeKind::OverrideRemoved,
                    ChangeKind::OverrideChanged,
                )
            } else {
                (
                    ChangeKind::PriorityRuleChanged,
                    ChangeKind::PriorityRuleChanged,
                    ChangeKind::PriorityRuleChanged,
                )
            };
            match (or.get(key), nr.get(key)) {
                (Some((x, xs)), Some((y, ys))) if !same(x, y) => self.push(
                    changed,
                    format!("`{key}`"),
                    Some(self.o.line(*xs)),
                    Some(self.n.line(*ys)),
                    format!("{} → {}", self.o.text(*xs), self.n.text(*ys)),
                ),
                (None, Some((_, ys))) => self.push(
                    added,
                    format!("`{key}`"),
                    None,
                    Some(self.n.line(*ys)),
                    format!("added: {}", self.n.text(*ys)),
                ),
                (Some((_, xs)), None) => self.push(
                    removed,
                    format!("`{key}`"),
                    Some(self.o.line(*xs)),
                    None,
                    format!("removed (was {})", self.o.text(*xs)),
                ),
                _ => {}
            }
        }
    }

    // ------------------------------------------------------------ tables, matrices, scores

    fn tables(&mut self) {
        let gather = |s: &Side<'_>| {
            let mut m: BTreeMap<String, ast::DecisionDef> = BTreeMap::new();
            for sec in s.sections() {
                match sec {
                    ast::Section::Decisions { items, .. } => {
                        for d in items {
                            m.insert(d.name().text.clone(), d.clone());
                        }
                    }
                    ast::Section::Priority(p) => {
                        for it in &p.items {
                            if let ast::PriorityItem::Method(d) = it {
                                m.insert(d.name().text.clone(), d.clone());
                            }
                        }
                    }
                    _ => {}
                }
            }
            m
        };
        let (om, nm) = (gather(self.o), gather(self.n));
        for name in om.keys().chain(nm.keys()).collect::<BTreeSet<_>>() {
            match (om.get(name), nm.get(name)) {
                (Some(a), Some(b)) if !same(a, b) => match (a, b) {
                    (ast::DecisionDef::Table(x), ast::DecisionDef::Table(y)) => self.table(x, y),
                    (ast::DecisionDef::Matrix(x), ast::DecisionDef::Matrix(y)) => self.matrix(x, y),
                    (ast::DecisionDef::Score(x), ast::DecisionDef::Score(y)) => self.score(
                        &format!("score `{name}`"),
                        (&x.indicators, &x.bands),
                        (&y.indicators, &y.bands),
                    ),
                    _ => self.push(
                        ChangeKind::TableChanged,
                        format!("decision `{name}`"),
                        Some(self.o.line(def_span(a))),
                        Some(self.n.line(def_span(b))),
                        "the decision is now of another kind (table, matrix, score)".into(),
                    ),
                },
                (None, Some(b)) => self.push(
                    ChangeKind::TableAdded,
                    format!("decision `{name}`"),
                    None,
                    Some(self.n.line(def_span(b))),
                    "decision added".into(),
                ),
                (Some(a), None) => self.push(
                    ChangeKind::TableRemoved,
                    format!("decision `{name}`"),
                    Some(self.o.line(def_span(a))),
                    None,
                    "decision removed".into(),
                ),
                _ => {}
            }
        }
    }

    fn table(&mut self, a: &ast::Table, b: &ast::Table) {
        let name = &b.name.text;
        let subject = format!("table `{name}`");
        let header = |s: &Side<'_>, t: &ast::Table| s.text(t.header_span);
        if a.hit != b.hit || !same(&a.columns, &b.columns) {
            self.push(
                ChangeKind::TableChanged,
                subject.clone(),
                Some(self.o.line(a.header_span)),
                Some(self.n.line(b.header_span)),
                format!(
                    "hit policy or columns changed: {:?} {} → {:?} {}",
                    a.hit,
                    header(self.o, a),
                    b.hit,
                    header(self.n, b)
                )
                .to_lowercase()
                .replace("  ", " "),
            );
        }
        let inputs = |t: &ast::Table| -> Vec<bool> {
            t.columns
                .iter()
                .map(|c| matches!(c, ast::Column::Input(_)))
                .collect()
        };
        // Row key: its input cells; value: its output cells. Repeated keys are numbered.
        let rows = |s: &Side<'_>, t: &ast::Table| {
            let is_in = inputs(t);
            let mut m: BTreeMap<String, (String, usize, usize)> = BTreeMap::new();
            for (i, r) in t.rows.iter().enumerate() {
                let mut ins = Vec::new();
                let mut outs = Vec::new();
                for (k, c) in r.cells.iter().enumerate() {
                    let text = s.text(c.span());
                    if is_in.get(k).copied().unwrap_or(false) {
                        ins.push(text);
                    } else {
                        outs.push(text);
                    }
                }
                let mut key = format!("| {} |", ins.join(" | "));
                let mut n = 2;
                while m.contains_key(&key) {
                    key = format!("| {} | (#{n})", ins.join(" | "));
                    n += 1;
                }
                m.insert(key, (outs.join(", "), s.line(r.span), i));
            }
            m
        };
        let (or, nr) = (rows(self.o, a), rows(self.n, b));
        for key in or.keys().chain(nr.keys()).collect::<BTreeSet<_>>() {
            match (or.get(key), nr.get(key)) {
                (Some(x), Some(y)) if x.0 != y.0 => self.push(
                    ChangeKind::RowChanged,
                    subject.clone(),
                    Some(x.1),
                    Some(y.1),
                    format!("inputs {key}: output {} → {}", x.0, y.0),
                ),
                (None, Some(y)) => self.push(
                    ChangeKind::RowAdded,
                    subject.clone(),
                    None,
                    Some(y.1),
                    format!("row added: inputs {key} => {}", y.0),
                ),
                (Some(x), None) => self.push(
                    ChangeKind::RowRemoved,
                    subject.clone(),
                    Some(x.1),
                    None,
                    format!("row removed: inputs {key} => {}", x.0),
                ),
                _ => {}
            }
        }
        // Under `first`/`priority`-like policies the order of rows decides.
        let common: Vec<&String> = or.keys().filter(|k| nr.contains_key(*k)).collect();
        let mut by_old = common.clone();
        by_old.sort_by_key(|k| or.get(*k).map(|x| x.2));
        let mut by_new = common;
        by_new.sort_by_key(|k| nr.get(*k).map(|x| x.2));
        if by_old != by_new && matches!(b.hit, ast::HitPolicy::First | ast::HitPolicy::RuleOrder) {
            self.push(
                ChangeKind::TableChanged,
                subject,
                Some(self.o.line(a.span)),
                Some(self.n.line(b.span)),
                "the order of rows changed (the first matching row decides)".into(),
            );
        }
    }

    fn matrix(&mut self, a: &ast::Matrix, b: &ast::Matrix) {
        let subject = format!("matrix `{}`", b.name.text);
        if !same(&a.rows_by, &b.rows_by) || !same(&a.cols_by, &b.cols_by) {
            self.push(
                ChangeKind::MatrixChanged,
                subject.clone(),
                Some(self.o.line(a.span)),
                Some(self.n.line(b.span)),
                format!(
                    "looked up by {} × {} → {} × {}",
                    self.o.text(a.rows_by.span),
                    self.o.text(a.cols_by.span),
                    self.n.text(b.rows_by.span),
                    self.n.text(b.cols_by.span)
                ),
            );
        }
        let cells = |s: &Side<'_>, m: &ast::Matrix| {
            let cols: Vec<String> = m.col_values.iter().map(|c| s.text(c.span)).collect();
            let mut out: BTreeMap<(String, String), (String, usize)> = BTreeMap::new();
            let mut rows: BTreeMap<String, usize> = BTreeMap::new();
            for r in &m.rows {
                let key = s.text(r.key.span);
                rows.insert(key.clone(), s.line(r.span));
                for (c, v) in cols.iter().zip(&r.cells) {
                    out.insert((key.clone(), c.clone()), (s.text(v.span), s.line(r.span)));
                }
            }
            (cols, rows, out)
        };
        let (oc, orows, ocells) = cells(self.o, a);
        let (nc, nrows, ncells) = cells(self.n, b);
        for k in orows.keys().chain(nrows.keys()).collect::<BTreeSet<_>>() {
            match (orows.get(k), nrows.get(k)) {
                (None, Some(l)) => self.push(
                    ChangeKind::MatrixChanged,
                    subject.clone(),
                    None,
                    Some(*l),
                    format!("row `{k}` added"),
                ),
                (Some(l), None) => self.push(
                    ChangeKind::MatrixChanged,
                    subject.clone(),
                    Some(*l),
                    None,
                    format!("row `{k}` removed"),
                ),
                _ => {}
            }
        }
        if oc != nc {
            self.push(
                ChangeKind::MatrixChanged,
                subject.clone(),
                Some(self.o.line(a.header_span)),
                Some(self.n.line(b.header_span)),
                format!("columns {} → {}", oc.join(", "), nc.join(", ")),
            );
        }
        for (key, (y, yl)) in &ncells {
            if let Some((x, xl)) = ocells.get(key)
                && x != y
            {
                self.push(
                    ChangeKind::MatrixCellChanged,
                    subject.clone(),
                    Some(*xl),
                    Some(*yl),
                    format!("cell ({}, {}): {x} → {y}", key.0, key.1),
                );
            }
        }
    }

    // ------------------------------------------------------------ flow

    fn flow(&mut self) {
        let (oi, oorder, oshape) = flow_items(self.o);
        let (ni, norder, nshape) = flow_items(self.n);
        let before = self.out.len();
        let removed: Vec<&String> = oi.keys().filter(|k| !ni.contains_key(*k)).collect();
        let added: Vec<&String> = ni.keys().filter(|k| !oi.contains_key(*k)).collect();
        // Renames: a removed and an added step that the mapping gives the same label (or
        // that share a title).
        let mut renamed: BTreeMap<String, String> = BTreeMap::new();
        let olabels = mapped_labels(self.o.file);
        let nlabels = mapped_labels(self.n.file);
        for r in &removed {
            let Some(a) = oi.get(*r) else { continue };
            let by_label = added.iter().find(|x| {
                !renamed.values().any(|v| v == **x)
                    && olabels
                        .get(*r)
                        .is_some_and(|ls| nlabels.get(**x).is_some_and(|m| !ls.is_disjoint(m)))
            });
            let by_title = || {
                added.iter().find(|x| {
                    !renamed.values().any(|v| v == **x)
                        && a.title.is_some()
                        && ni.get(**x).is_some_and(|b| b.title == a.title)
                })
            };
            if let Some(x) = by_label.or_else(by_title) {
                renamed.insert((*r).clone(), (*x).clone());
            }
        }
        for r in &removed {
            let Some(a) = oi.get(*r) else { continue };
            if let Some(to) = renamed.get(*r) {
                if let Some(b) = ni.get(to) {
                    self.push(
                        ChangeKind::StepRenamed,
                        format!("{} `{r}`", a.what),
                        Some(a.line),
                        Some(b.line),
                        format!("renamed `{r}` → `{to}` (the mapping or title ties them)"),
                    );
                    self.item(a, b);
                }
                continue;
            }
            let kind = match a.what {
                "inform" | "instruct" => ChangeKind::InformRemoved,
                "monitor" => ChangeKind::MonitorRemoved,
                "decide" => ChangeKind::DecideRemoved,
                _ => ChangeKind::StepRemoved,
            };
            self.push(
                kind,
                format!("{} `{r}`", a.what),
                Some(a.line),
                None,
                format!("{} removed{}", a.what, where_(&a.context)),
            );
        }
        for x in &added {
            if renamed.values().any(|v| v == *x) {
                continue;
            }
            let Some(b) = ni.get(*x) else { continue };
            let kind = match b.what {
                "inform" | "instruct" => ChangeKind::InformAdded,
                "monitor" => ChangeKind::MonitorAdded,
                "decide" => ChangeKind::DecideAdded,
                _ => ChangeKind::StepAdded,
            };
            let optional = if b.optional { " (optional)" } else { "" };
            self.push(
                kind,
                format!("{} `{x}`", b.what),
                None,
                Some(b.line),
                format!("{} added{optional}{}", b.what, where_(&b.context)),
            );
        }
        for (k, a) in &oi {
            if let Some(b) = ni.get(k) {
                self.item(a, b);
            }
        }
        // Order of the items both versions have, context by context.
        for (ctx, names) in &norder {
            let Some(old) = oorder.get(ctx) else { continue };
            let rename = |n: &String| renamed.get(n).cloned().unwrap_or_else(|| n.clone());
            let o: Vec<String> = old
                .iter()
                .map(rename)
                .filter(|n| names.contains(n))
                .collect();
            let n: Vec<String> = names.iter().filter(|x| o.contains(x)).cloned().collect();
            if o != n {
                let first = n
                    .iter()
                    .zip(&o)
                    .find(|(a, b)| a != b)
                    .map(|(a, _)| a.clone());
                let line = first.as_ref().and_then(|f| ni.get(f)).map(|i| i.line);
                let oline = first.as_ref().and_then(|f| oi.get(f)).map(|i| i.line);
                self.push(
                    ChangeKind::FlowChanged,
                    format!("flow{}", where_(ctx)),
                    oline,
                    line,
                    format!("order changed: {} → {}", o.join(", "), n.join(", ")),
                );
            }
        }
        // Gotos, ends, repeat bounds and conditions, parallel blocks.
        for (k, (l, detail, max)) in &nshape {
            let Some((ol, odetail, omax)) = oshape.get(k) else {
                self.push(
                    ChangeKind::FlowChanged,
                    "flow".into(),
                    None,
                    Some(*l),
                    format!("added: {k} {detail}").trim_end().to_string(),
                );
                continue;
            };
            if odetail == detail {
                continue;
            }
            match (omax, max) {
                (Some(x), Some(y)) if x != y => {
                    let (kind, verb) = if y < x {
                        (ChangeKind::LimitTightened, "tightened")
                    } else {
                        (ChangeKind::LimitLoosened, "loosened")
                    };
                    self.push_amount(
                        kind,
                        k.clone(),
                        (Some(*ol), Some(*l)),
                        format!("loop bound {verb}: at most {x} → at most {y}"),
                        format!("{:+}", i64::from(*y) - i64::from(*x)),
                    );
                }
                _ => self.push(
                    ChangeKind::FlowChanged,
                    k.clone(),
                    Some(*ol),
                    Some(*l),
                    format!("{odetail} → {detail}"),
                ),
            }
            let strip = |d: &str| d.split_once("until ").map(|x| x.1.to_string());
            if omax != max && strip(odetail) != strip(detail) {
                self.push(
                    ChangeKind::FlowChanged,
                    k.clone(),
                    Some(*ol),
                    Some(*l),
                    format!("{odetail} → {detail}"),
                );
            }
        }
        for (k, (l, _, _)) in &oshape {
            if !nshape.contains_key(k) {
                self.push(
                    ChangeKind::FlowChanged,
                    "flow".into(),
                    Some(*l),
                    None,
                    format!("removed: {k}"),
                );
            }
        }
        // Anything else in the flow.
        let flow_of = |s: &Side<'_>| {
            s.sections().find_map(|sec| match sec {
                ast::Section::Flow { body, span } => Some((body.clone(), *span)),
                _ => None,
            })
        };
        if self.out.len() == before
            && let (Some((ob, os)), Some((nb, ns))) = (flow_of(self.o), flow_of(self.n))
            && !same(&ob, &nb)
        {
            let (ol, nl) = first_difference(self.o, &ob, self.n, &nb)
                .unwrap_or((self.o.line(os), self.n.line(ns)));
            self.push(
                ChangeKind::FlowChanged,
                "flow".into(),
                Some(ol),
                Some(nl),
                "the flow's structure changed (a goto, an end, a parallel or repeat block)".into(),
            );
        }
    }

    /// An item both versions have (possibly renamed).
    fn item(&mut self, a: &FlowItem, b: &FlowItem) {
        let subject = format!("{} `{}`", b.what, b.name);
        let lines = (Some(a.line), Some(b.line));
        if a.what != b.what {
            self.push(
                ChangeKind::StepChanged,
                subject.clone(),
                lines.0,
                lines.1,
                format!("now {} (was {})", b.what, a.what),
            );
        }
        if a.context != b.context {
            self.push(
                ChangeKind::StepChanged,
                subject.clone(),
                lines.0,
                lines.1,
                format!("moved from {} to {}", place(&a.context), place(&b.context)),
            );
        }
        if a.optional != b.optional {
            let (kind, word) = if b.optional {
                (ChangeKind::StepMadeOptional, "optional")
            } else {
                (ChangeKind::StepMadeMandatory, "mandatory")
            };
            self.push(
                kind,
                subject.clone(),
                lines.0,
                lines.1,
                format!("made {word}"),
            );
        }
        if a.title != b.title && a.name == b.name {
            self.push(
                ChangeKind::StepChanged,
                subject.clone(),
                lines.0,
                lines.1,
                format!(
                    "title {} → {}",
                    a.title.as_deref().unwrap_or("(none)"),
                    b.title.as_deref().unwrap_or("(none)")
                ),
            );
        }
        match (&a.stmt, &b.stmt) {
            (Stmt::Step(x), Stmt::Step(y)) => self.attrs(&subject, &x.attrs, &y.attrs, lines),
            (Stmt::Monitor(x), Stmt::Monitor(y)) => {
                self.monitor(&subject, x, y, lines);
                self.attrs(&subject, &x.attrs, &y.attrs, lines);
            }
            (Stmt::Call(x), Stmt::Call(y)) => {
                if !same(&x.args, &y.args) || x.procedure.text != y.procedure.text {
                    self.push(
                        ChangeKind::StepChanged,
                        subject.clone(),
                        lines.0,
                        lines.1,
                        format!("call {} → {}", self.o.text(x.span), self.n.text(y.span)),
                    );
                }
                self.attrs(&subject, &x.attrs, &y.attrs, lines);
            }
            (Stmt::Decide(x), Stmt::Decide(y)) => self.decide(&subject, x, y, lines),
            _ => {}
        }
    }

    fn monitor(
        &mut self,
        subject: &str,
        a: &ast::Monitor,
        b: &ast::Monitor,
        lines: (Option<usize>, Option<usize>),
    ) {
        if !same(&a.every, &b.every) {
            let texts = (self.o.text(a.every.span), self.n.text(b.every.span));
            match (self.o.ms(&a.every), self.n.ms(&b.every)) {
                (Some(x), Some(y)) if x != y => self.duration(
                    ChangeKind::LimitTightened,
                    ChangeKind::LimitLoosened,
                    subject.to_string(),
                    "interval",
                    (x, y),
                    texts,
                    lines,
                ),
                _ => self.push(
                    ChangeKind::MonitorChanged,
                    subject.to_string(),
                    lines.0,
                    lines.1,
                    format!("every {} → {}", texts.0, texts.1),
                ),
            }
        }
        if !same(&a.first_within, &b.first_within) {
            let t = |s: &Side<'_>, e: &Option<ast::Expr>| {
                e.as_ref()
                    .map(|e| s.text(e.span))
                    .unwrap_or("(none)".into())
            };
            let texts = (t(self.o, &a.first_within), t(self.n, &b.first_within));
            match (
                a.first_within.as_ref().and_then(|e| self.o.ms(e)),
                b.first_within.as_ref().and_then(|e| self.n.ms(e)),
            ) {
                (Some(x), Some(y)) => self.duration(
                    ChangeKind::LimitTightened,
                    ChangeKind::LimitLoosened,
                    subject.to_string(),
                    "first reading",
                    (x, y),
                    texts,
                    lines,
                ),
                _ => self.push(
                    ChangeKind::MonitorChanged,
                    subject.to_string(),
                    lines.0,
                    lines.1,
                    format!("first within {} → {}", texts.0, texts.1),
                ),
            }
        }
        if !same(&a.after, &b.after) || !same(&a.until, &b.until) {
            self.push(
                ChangeKind::MonitorChanged,
                subject.to_string(),
                lines.0,
                lines.1,
                format!("{} → {}", self.o.text(a.span), self.n.text(b.span)),
            );
        }
    }

    fn attrs(
        &mut self,
        subject: &str,
        a: &[StepAttr],
        b: &[StepAttr],
        lines: (Option<usize>, Option<usize>),
    ) {
        let within = |xs: &[StepAttr]| {
            xs.iter()
                .find(|x| matches!(x, StepAttr::Within { .. }))
                .cloned()
        };
        match (within(a), within(b)) {
            (
                Some(StepAttr::Within {
                    limit: la,
                    of: oa,
                    on: ca,
                    span: sa,
                }),
                Some(StepAttr::Within {
                    limit: lb,
                    of: ob,
                    on: cb,
                    span: sb,
                }),
            ) => {
                let ll = (Some(self.o.line(sa)), Some(self.n.line(sb)));
                let texts = (self.o.text(la.span), self.n.text(lb.span));
                if !same(&la, &lb) {
                    match (self.o.ms(&la), self.n.ms(&lb)) {
                        (Some(x), Some(y)) if x != y => self.duration(
                            ChangeKind::LimitTightened,
                            ChangeKind::LimitLoosened,
                            subject.to_string(),
                            "time limit",
                            (x, y),
                            texts,
                            ll,
                        ),
                        _ => self.push(
                            ChangeKind::LimitChanged,
                            subject.to_string(),
                            ll.0,
                            ll.1,
                            format!("time limit {} → {}", texts.0, texts.1),
                        ),
                    }
                }
                if !same(&oa, &ob) || !same(&ca, &cb) {
                    self.push(
                        ChangeKind::LimitChanged,
                        subject.to_string(),
                        ll.0,
                        ll.1,
                        format!("{} → {}", self.o.text(sa), self.n.text(sb)),
                    );
                }
            }
            (None, Some(x)) => self.push(
                ChangeKind::LimitAdded,
                subject.to_string(),
                None,
                Some(self.n.line(x.span())),
                format!("time limit added: {}", self.n.text(x.span())),
            ),
            (Some(x), None) => self.push(
                ChangeKind::LimitRemoved,
                subject.to_string(),
                Some(self.o.line(x.span())),
                None,
                format!("time limit removed (was {})", self.o.text(x.span())),
            ),
            _ => {}
        }
        // Acknowledgement within.
        let ack = |xs: &[StepAttr]| {
            xs.iter().find_map(|x| match x {
                StepAttr::Ack(e, s) => Some((e.clone(), *s)),
                _ => None,
            })
        };
        match (ack(a), ack(b)) {
            (Some((x, xs)), Some((y, ys))) if !same(&x, &y) => {
                let ll = (Some(self.o.line(xs)), Some(self.n.line(ys)));
                let texts = (self.o.text(x.span), self.n.text(y.span));
                match (self.o.ms(&x), self.n.ms(&y)) {
                    (Some(p), Some(q)) => self.duration(
                        ChangeKind::LimitTightened,
                        ChangeKind::LimitLoosened,
                        subject.to_string(),
                        "acknowledgement limit",
                        (p, q),
                        texts,
                        ll,
                    ),
                    _ => self.push(
                        ChangeKind::LimitChanged,
                        subject.to_string(),
                        ll.0,
                        ll.1,
                        format!("acknowledgement within {} → {}", texts.0, texts.1),
                    ),
                }
            }
            (None, Some((_, ys))) => self.push(
                ChangeKind::LimitAdded,
                subject.to_string(),
                None,
                Some(self.n.line(ys)),
                format!("acknowledgement asked: {}", self.n.text(ys)),
            ),
            (Some((_, xs)), None) => self.push(
                ChangeKind::LimitRemoved,
                subject.to_string(),
                Some(self.o.line(xs)),
                None,
                format!("acknowledgement no longer asked (was {})", self.o.text(xs)),
            ),
            _ => {}
        }
        // Escalations and resource needs, by their text.
        let texts = |s: &Side<'_>, xs: &[StepAttr], esc: bool| {
            let mut m: BTreeMap<String, usize> = BTreeMap::new();
            for x in xs {
                let hit = match x {
                    StepAttr::Escalate { .. } => esc,
                    StepAttr::Needs { .. } => !esc,
                    _ => false,
                };
                if hit {
                    m.insert(s.text(x.span()), s.line(x.span()));
                }
            }
            m
        };
        // An escalation to the same roles under the same condition whose trigger moved is
        // tightened (earlier) or loosened (later), not removed and added.
        let escalations =
            |s: &Side<'_>, xs: &[StepAttr]| -> Vec<(String, String, Option<f64>, usize)> {
                xs.iter()
                    .filter_map(|x| match x {
                        StepAttr::Escalate {
                            trigger,
                            to,
                            when,
                            span,
                        } => Some((
                            s.text(*span),
                            format!(
                                "{}{}",
                                to.iter()
                                    .map(|n| n.text.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                when.as_ref()
                                    .map(|w| format!(" when {}", s.text(w.span)))
                                    .unwrap_or_default()
                            ),
                            match trigger {
                                ast::EscalateTrigger::Percent(p) => p.parse::<f64>().ok(),
                                ast::EscalateTrigger::After(_) => None,
                            },
                            s.line(*span),
                        )),
                        _ => None,
                    })
                    .collect()
            };
        let (oe, ne) = (escalations(self.o, a), escalations(self.n, b));
        let mut paired: BTreeSet<String> = BTreeSet::new();
        for (nt, nto, np, nl) in &ne {
            if oe.iter().any(|(t, ..)| t == nt) {
                continue;
            }
            let Some((ot, _, op, ol)) = oe.iter().find(|(t, to, _, _)| {
                to == nto && !ne.iter().any(|(x, ..)| x == t) && !paired.contains(t)
            }) else {
                continue;
            };
            let (Some(x), Some(y)) = (op, np) else {
                continue;
            };
            paired.insert(ot.clone());
            paired.insert(nt.clone());
            let (kind, verb) = if y < x {
                (ChangeKind::LimitTightened, "earlier")
            } else {
                (ChangeKind::LimitLoosened, "later")
            };
            self.push_amount(
                kind,
                subject.to_string(),
                (Some(*ol), Some(*nl)),
                format!("escalation to {nto} {verb}: at {x}% → at {y}% of the limit"),
                format!("{:+}%", y - x),
            );
        }
        for esc in [true, false] {
            let (mut om, mut nm) = (texts(self.o, a, esc), texts(self.n, b, esc));
            om.retain(|t, _| !paired.contains(t));
            nm.retain(|t, _| !paired.contains(t));
            let (added, removed, what) = if esc {
                (
                    ChangeKind::EscalationAdded,
                    ChangeKind::EscalationRemoved,
                    "escalation",
                )
            } else {
                (
                    ChangeKind::ResourceNeedAdded,
                    ChangeKind::ResourceNeedRemoved,
                    "resource need",
                )
            };
            for (t, l) in &nm {
                if !om.contains_key(t) {
                    self.push(
                        added,
                        subject.to_string(),
                        None,
                        Some(*l),
                        format!("{what} added: {t}"),
                    );
                }
            }
            for (t, l) in &om {
                if !nm.contains_key(t) {
                    self.push(
                        removed,
                        subject.to_string(),
                        Some(*l),
                        None,
                        format!("{what} removed: {t}"),
                    );
                }
            }
        }
        // Who does it, who is told, what is recorded.
        let simple = |xs: &[StepAttr], which: &str| {
            xs.iter().find_map(|x| match (x, which) {
                (StepAttr::By(n, s), "by")
                | (StepAttr::To(n, s), "to")
                | (StepAttr::Responsibilities(n, s), "responsibilities")
                | (StepAttr::Actions(n, s), "actions")
                | (StepAttr::Records(n, s), "records")
                | (StepAttr::Outcomes(n, s), "outcomes") => {
                    Some((n.iter().map(|x| x.text.clone()).collect::<Vec<_>>(), *s))
                }
                _ => None,
            })
        };
        for which in [
            "by",
            "to",
            "responsibilities",
            "actions",
            "records",
            "outcomes",
        ] {
            let (x, y) = (simple(a, which), simple(b, which));
            let (xs, ys) = (
                x.as_ref().map(|v| v.0.clone()).unwrap_or_default(),
                y.as_ref().map(|v| v.0.clone()).unwrap_or_default(),
            );
            if xs != ys {
                let show = |v: &[String]| {
                    if v.is_empty() {
                        "(none)".to_string()
                    } else {
                        v.join(", ")
                    }
                };
                self.push(
                    ChangeKind::StepChanged,
                    subject.to_string(),
                    x.map(|v| self.o.line(v.1)).or(lines.0),
                    y.map(|v| self.n.line(v.1)).or(lines.1),
                    format!("`{which}` {} → {}", show(&xs), show(&ys)),
                );
            }
        }
    }

    fn decide(
        &mut self,
        subject: &str,
        a: &ast::Decide,
        b: &ast::Decide,
        lines: (Option<usize>, Option<usize>),
    ) {
        if !same(&a.subject, &b.subject) {
            let t = |s: &Side<'_>, e: &Option<ast::Expr>| {
                e.as_ref()
                    .map(|e| s.text(e.span))
                    .unwrap_or("(none)".into())
            };
            self.push(
                ChangeKind::DecideChanged,
                subject.to_string(),
                lines.0,
                lines.1,
                format!(
                    "decides on {} → {}",
                    t(self.o, &a.subject),
                    t(self.n, &b.subject)
                ),
            );
        }
        let branches = |s: &Side<'_>, d: &ast::Decide| {
            let mut m: BTreeMap<String, usize> = BTreeMap::new();
            for br in &d.branches {
                m.insert(branch_label(s, br), s.line(br.span));
            }
            if let Some((_, sp)) = &d.otherwise {
                m.insert("else".into(), s.line(*sp));
            }
            m
        };
        let (om, nm) = (branches(self.o, a), branches(self.n, b));
        for (k, l) in &nm {
            if !om.contains_key(k) {
                self.push(
                    ChangeKind::BranchAdded,
                    subject.to_string(),
                    None,
                    Some(*l),
                    format!("branch `{k}` added"),
                );
            }
        }
        for (k, l) in &om {
            if !nm.contains_key(k) {
                self.push(
                    ChangeKind::BranchRemoved,
                    subject.to_string(),
                    Some(*l),
                    None,
                    format!("branch `{k}` removed"),
                );
            }
        }
        let order = |m: &[ast::Branch], s: &Side<'_>| -> Vec<String> {
            m.iter().map(|b| branch_label(s, b)).collect()
        };
        let (x, y) = (order(&a.branches, self.o), order(&b.branches, self.n));
        let xc: Vec<&String> = x.iter().filter(|k| y.contains(k)).collect();
        let yc: Vec<&String> = y.iter().filter(|k| x.contains(k)).collect();
        if xc != yc {
            self.push(
                ChangeKind::DecideChanged,
                subject.to_string(),
                lines.0,
                lines.1,
                "the order of the branches changed (the first that holds is taken)".into(),
            );
        }
    }

    // ------------------------------------------------------------ constraints

    fn constraints(&mut self) {
        let gather = |s: &Side<'_>| {
            let mut m: BTreeMap<String, ast::Constraint> = BTreeMap::new();
            for sec in s.sections() {
                if let ast::Section::Constraints { items, .. } = sec {
                    for c in items {
                        m.insert(c.name.text.clone(), c.clone());
                    }
                }
            }
            m
        };
        let (om, nm) = (gather(self.o), gather(self.n));
        for name in om.keys().chain(nm.keys()).collect::<BTreeSet<_>>() {
            let subject = format!("constraint `{name}`");
            match (om.get(name), nm.get(name)) {
                (Some(a), Some(b)) if !same(a, b) => {
                    let lines = (Some(self.o.line(a.span)), Some(self.n.line(b.span)));
                    let texts = (self.o.text(a.span), self.n.text(b.span));
                    match (&a.kind, &b.kind) {
                        (
                            ast::ConstraintKind::Response {
                                first: f1,
                                then: t1,
                                within: Some(w1),
                            },
                            ast::ConstraintKind::Response {
                                first: f2,
                                then: t2,
                                within: Some(w2),
                            },
                        ) if f1.text == f2.text
                            && t1.text == t2.text
                            && same(&a.when, &b.when)
                            && self.o.ms(w1).is_some()
                            && self.n.ms(w2).is_some() =>
                        {
                            let (x, y) = (self.o.ms(w1).unwrap_or(0), self.n.ms(w2).unwrap_or(0));
                            self.duration(
                                ChangeKind::LimitTightened,
                                ChangeKind::LimitLoosened,
                                subject,
                                "response limit",
                                (x, y),
                                (self.o.text(w1.span), self.n.text(w2.span)),
                                lines,
                            );
                        }
                        _ => self.push(
                            ChangeKind::ConstraintChanged,
                            subject,
                            lines.0,
                            lines.1,
                            format!("{} → {}", texts.0, texts.1),
                        ),
                    }
                }
                (None, Some(b)) => self.push(
                    ChangeKind::ConstraintAdded,
                    subject,
                    None,
                    Some(self.n.line(b.span)),
                    format!("constraint added: {}", self.n.text(b.span)),
                ),
                (Some(a), None) => self.push(
                    ChangeKind::ConstraintRemoved,
                    subject,
                    Some(self.o.line(a.span)),
                    None,
                    format!("constraint removed (was {})", self.o.text(a.span)),
                ),
                _ => {}
            }
        }
    }

    // ------------------------------------------------------------ mapping

    fn mapping(&mut self) {
        let gather = |s: &Side<'_>| {
            let mut m: BTreeMap<String, (String, Span)> = BTreeMap::new();
            for sec in s.sections() {
                if let ast::Section::Mapping { items, .. } = sec {
                    for it in items {
                        let (key, value, span) = match it {
                            ast::MapItem::Activity {
                                label,
                                target,
                                span,
                            } => (
                                format!("activity \"{}\"", label.value),
                                target
                                    .as_ref()
                                    .map_or("ignore".to_string(), |t| t.text.clone()),
                                *span,
                            ),
                            ast::MapItem::Attribute {
                                column,
                                field,
                                span,
                            } => (
                                format!("attribute \"{}\"", column.value),
                                field.text.clone(),
                                *span,
                            ),
                            ast::MapItem::Value {
                                fact,
                                raw,
                                value,
                                span,
                            } => (
                                format!("value {} \"{}\"", fact.text, raw.value),
                                s.text(value.span),
                                *span,
                            ),
                            ast::MapItem::Timezone { zone, span } => {
                                ("timezone".into(), zone.value.clone(), *span)
                            }
                            ast::MapItem::TimestampFormat { format, span } => {
                                ("timestamp format".into(), format.value.clone(), *span)
                            }
                        };
                        m.insert(key, (value, span));
                    }
                }
            }
            m
        };
        let (om, nm) = (gather(self.o), gather(self.n));
        for key in om.keys().chain(nm.keys()).collect::<BTreeSet<_>>() {
            let subject = format!("mapping {key}");
            match (om.get(key), nm.get(key)) {
                (Some(a), Some(b)) if a.0 != b.0 => self.push(
                    ChangeKind::MappingChanged,
                    subject,
                    Some(self.o.line(a.1)),
                    Some(self.n.line(b.1)),
                    format!("-> {} → -> {}", a.0, b.0),
                ),
                (None, Some(b)) => self.push(
                    ChangeKind::MappingChanged,
                    subject,
                    None,
                    Some(self.n.line(b.1)),
                    format!("added: -> {}", b.0),
                ),
                (Some(a), None) => self.push(
                    ChangeKind::MappingChanged,
                    subject,
                    Some(self.o.line(a.1)),
                    None,
                    format!("removed (was -> {})", a.0),
                ),
                _ => {}
            }
        }
    }
}

fn def_span(d: &ast::DecisionDef) -> Span {
    match d {
        ast::DecisionDef::Table(t) => t.span,
        ast::DecisionDef::Matrix(m) => m.span,
        ast::DecisionDef::Score(s) => s.span,
    }
}

fn where_(ctx: &str) -> String {
    if ctx.is_empty() {
        String::new()
    } else {
        format!(" in {ctx}")
    }
}

fn place(ctx: &str) -> String {
    if ctx.is_empty() {
        "the top of the flow".into()
    } else {
        ctx.to_string()
    }
}

/// A branch as written: `when true`, `when at_meter, outside`.
fn branch_label(s: &Side<'_>, b: &ast::Branch) -> String {
    let tests: Vec<String> = b.tests.iter().map(|t| s.text(t.span)).collect();
    format!("when {}", tests.join(", "))
}

/// A named item of the flow with where it sits.
struct FlowItem {
    /// `step`, `inform`, `instruct`, `monitor`, `call`, `decide`.
    what: &'static str,
    name: String,
    title: Option<String>,
    optional: bool,
    line: usize,
    /// The decide branch, parallel branch or repeat it sits in (innermost), in words.
    context: String,
    stmt: Stmt,
}

type Order = BTreeMap<String, Vec<String>>;

/// The flow's unnamed structure (gotos, ends, repeat bounds and conditions, parallel
/// blocks), each as words with its context, and its line.
type Structure = BTreeMap<String, (usize, String, Option<u32>)>;

/// The flow's named items by name, and the names in order in each context.
fn flow_items(s: &Side<'_>) -> (BTreeMap<String, FlowItem>, Order, Structure) {
    let mut items = BTreeMap::new();
    let mut order = Order::new();
    let mut structure = Structure::new();
    for sec in s.sections() {
        if let ast::Section::Flow { body, .. } = sec {
            walk(s, body, "", &mut items, &mut order, &mut structure);
        }
    }
    (items, order, structure)
}

fn walk(
    s: &Side<'_>,
    body: &[Stmt],
    ctx: &str,
    items: &mut BTreeMap<String, FlowItem>,
    order: &mut Order,
    structure: &mut Structure,
) {
    for st in body {
        let shape = match st {
            Stmt::Goto { target, span, .. } => {
                Some((format!("goto {}", target.text), *span, String::new(), None))
            }
            Stmt::End { state, span, .. } => {
                Some((format!("end {}", state.text), *span, String::new(), None))
            }
            Stmt::Repeat(r) => Some((
                format!(
                    "repeat `{}`",
                    r.name.as_ref().map_or("", |n| n.text.as_str())
                ),
                r.span,
                format!(
                    "{}until {}",
                    r.max.map_or(String::new(), |m| format!("at most {m} ")),
                    s.text(r.until.span)
                ),
                r.max,
            )),
            Stmt::Parallel(p) => Some((
                format!(
                    "parallel `{}` with {} branches",
                    p.name.as_ref().map_or("", |n| n.text.as_str()),
                    p.branches.len()
                ),
                p.span,
                String::new(),
                None,
            )),
            _ => None,
        };
        if let Some((text, span, detail, max)) = shape {
            let mut key = format!("{text}{}", where_(ctx));
            let mut n = 2;
            while structure.contains_key(&key) {
                key = format!("{text}{} (#{n})", where_(ctx));
                n += 1;
            }
            structure.insert(key, (s.line(span), detail, max));
        }
        let item = match st {
            Stmt::Step(x) => Some(FlowItem {
                what: x.kind.keyword(),
                name: x.name.text.clone(),
                title: x.title.as_ref().map(|t| t.value.clone()),
                optional: x.optional,
                line: s.line(x.span),
                context: ctx.to_string(),
                stmt: st.clone(),
            }),
            Stmt::Monitor(x) => Some(FlowItem {
                what: "monitor",
                name: x.name.text.clone(),
                title: None,
                optional: false,
                line: s.line(x.span),
                context: ctx.to_string(),
                stmt: st.clone(),
            }),
            Stmt::Call(x) => Some(FlowItem {
                what: "call",
                name: x.step_name().text,
                title: None,
                optional: false,
                line: s.line(x.span),
                context: ctx.to_string(),
                stmt: st.clone(),
            }),
            Stmt::Decide(x) => Some(FlowItem {
                what: "decide",
                name: x.name.text.clone(),
                title: None,
                optional: false,
                line: s.line(x.span),
                context: ctx.to_string(),
                stmt: st.clone(),
            }),
            _ => None,
        };
        if let Some(it) = item {
            order
                .entry(ctx.to_string())
                .or_default()
                .push(it.name.clone());
            items.entry(it.name.clone()).or_insert(it);
        }
        match st {
            Stmt::Decide(d) => {
                for b in &d.branches {
                    if let ast::BranchBody::Block(xs) = &b.body {
                        let c = format!("`{}` {}", d.name.text, branch_label(s, b));
                        walk(s, xs, &c, items, order, structure);
                    }
                }
                if let Some((ast::BranchBody::Block(xs), _)) = &d.otherwise {
                    let c = format!("`{}` else", d.name.text);
                    walk(s, xs, &c, items, order, structure);
                }
            }
            Stmt::Parallel(p) => {
                for (i, b) in p.branches.iter().enumerate() {
                    let label = b
                        .label
                        .as_ref()
                        .map_or_else(|| format!("#{}", i + 1), |l| format!("\"{}\"", l.value));
                    let name = p.name.as_ref().map_or("parallel", |n| n.text.as_str());
                    let c = format!("`{name}` branch {label}");
                    walk(s, &b.body, &c, items, order, structure);
                }
            }
            Stmt::Repeat(r) => {
                let name = r.name.as_ref().map_or("repeat", |n| n.text.as_str());
                let c = format!("`{name}` (repeat)");
                walk(s, &r.body, &c, items, order, structure);
            }
            _ => {}
        }
    }
}

/// The activity labels the mapping gives each step.
fn mapped_labels(f: &ast::File) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for sec in &f.sections {
        if let ast::Section::Mapping { items, .. } = sec {
            for it in items {
                if let ast::MapItem::Activity {
                    label,
                    target: Some(t),
                    ..
                } = it
                {
                    m.entry(t.text.clone())
                        .or_default()
                        .insert(label.value.clone());
                }
            }
        }
    }
    m
}

/// The lines of the first statements that differ between two flows, walking both in
/// order.
fn first_difference(o: &Side<'_>, a: &[Stmt], n: &Side<'_>, b: &[Stmt]) -> Option<(usize, usize)> {
    let mut xs = Vec::new();
    crate::audit::decisions::each_stmt(a, &mut |s| xs.push(s.clone()));
    let mut ys = Vec::new();
    crate::audit::decisions::each_stmt(b, &mut |s| ys.push(s.clone()));
    for (x, y) in xs.iter().zip(&ys) {
        if !same(x, y) {
            return Some((o.line(stmt_span(x)), n.line(stmt_span(y))));
        }
    }
    None
}

fn stmt_span(s: &Stmt) -> Span {
    match s {
        Stmt::Step(x) => x.span,
        Stmt::Monitor(x) => x.span,
        Stmt::Call(x) => x.span,
        Stmt::Decide(x) => x.span,
        Stmt::Parallel(x) => x.span,
        Stmt::Repeat(x) => x.span,
        Stmt::Goto { span, .. } | Stmt::End { span, .. } => *span,
    }
}
