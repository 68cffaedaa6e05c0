//! Name resolution and static type checking.
//!
//! Declarations are gathered first (from used files, then from this file), then
//! every reference and expression in this file is checked against them. All
//! problems are collected; nothing stops at the first.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::types::{Type, pattern_fits_format};
use super::{Callable, FactInfo, StepInfo, StepRole, Symbols, Unit};
use crate::ast::*;
use crate::diagnostic::{Diagnostic, edit_distance as distance};
use crate::source::{SourceFile, Span};

pub(super) fn check(unit: &Arc<Unit>, file: &File) -> (Symbols, Vec<Diagnostic>) {
    let mut cx = Checker {
        src: &unit.source,
        diags: Vec::new(),
        sym: Symbols::default(),
        value_names: BTreeMap::new(),
    };
    // Declarations from used files first (transitively), then our own.
    let mut seen = BTreeSet::new();
    cx.declare_imports(unit, &mut seen);
    cx.declare(file, true);
    cx.check_file(file);
    (cx.sym, cx.diags)
}

struct Checker<'a> {
    src: &'a SourceFile,
    diags: Vec<Diagnostic>,
    sym: Symbols,
    /// Where each expression-level name was declared, to report duplicates.
    value_names: BTreeMap<String, (&'static str, Option<Span>)>,
}

fn suggest<'n>(name: &str, candidates: impl Iterator<Item = &'n String>) -> Option<String> {
    candidates
        .map(|c| (distance(name, c), c))
        .filter(|(d, c)| *d <= 2.max(name.len() / 3) && *d < c.len())
        .min()
        .map(|(_, c)| c.clone())
}

fn flow_of(file: &File) -> Option<(&Vec<Stmt>, Span)> {
    file.sections.iter().find_map(|s| match s {
        Section::Flow { body, span } => Some((body, *span)),
        _ => None,
    })
}

impl<'a> Checker<'a> {
    fn error(&mut self, code: &str, span: Span, message: String, label: &str, help: String) {
        self.diags.push(
            Diagnostic::error(code, message)
                .with_label(span, label)
                .with_help(help)
                .with_source(self.src),
        );
    }

    fn undefined(
        &mut self,
        what: &str,
        code: &str,
        name: &Name,
        candidates: Vec<String>,
        help_none: &str,
    ) {
        let suggestion = suggest(&name.text, candidates.iter());
        let help = match suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None => help_none.to_string(),
        };
        let message = if what.contains(" of ") {
            format!("`{}` is not a {what}", name.text)
        } else {
            format!("undefined {what} `{}`", name.text)
        };
        self.error(code, name.span, message, "not defined", help);
    }

    // ---------------------------------------------------------------- declarations

    fn declare_imports(&mut self, unit: &Arc<Unit>, seen: &mut BTreeSet<std::path::PathBuf>) {
        for (_, used) in &unit.uses {
            if !seen.insert(used.path.clone()) {
                continue;
            }
            self.declare_imports(used, seen);
            if let Some(parsed) = &used.parsed {
                if parsed.file.kind == FileKind::Procedure {
                    self.declare_callable(&parsed.file);
                } else {
                    self.declare(&parsed.file, false);
                }
            }
        }
    }

    fn declare_callable(&mut self, file: &File) {
        let mut sub = Checker {
            src: self.src,
            diags: Vec::new(),
            sym: Symbols::default(),
            value_names: BTreeMap::new(),
        };
        sub.declare(file, false);
        let mut params = Vec::new();
        for s in &file.sections {
            if let Section::Params { items, .. } = s {
                for p in items {
                    let ty = sub
                        .sym
                        .params
                        .get(&p.name.text)
                        .cloned()
                        .unwrap_or(Type::Error);
                    params.push((p.name.text.clone(), ty, p.value.is_some()));
                }
            }
        }
        let ends = sub.sym.ends.iter().cloned().collect();
        self.sym
            .procedures
            .insert(file.id.text.clone(), Callable { params, ends });
    }

    /// Records a name in the shared expression namespace (facts, params, decisions).
    fn claim(&mut self, name: &Name, what: &'static str, own: bool) -> bool {
        if let Some((prev_what, prev_span)) = self.value_names.get(&name.text).cloned() {
            if own {
                let mut d = Diagnostic::error(
                    "duplicate-definition",
                    format!("`{}` is defined twice", name.text),
                )
                .with_label(name.span, format!("this {what}"))
                .with_help("give each fact, parameter and decision its own name")
                .with_source(self.src);
                match prev_span {
                    Some(s) => d = d.with_label(s, format!("first defined here as a {prev_what}")),
                    None => {
                        d.message = format!(
                            "`{}` is defined twice (already a {prev_what} in a used file)",
                            name.text
                        )
                    }
                }
                self.diags.push(d);
            }
            return false;
        }
        self.value_names
            .insert(name.text.clone(), (what, own.then_some(name.span)));
        true
    }

    fn declare_set(
        &mut self,
        what: &str,
        set: fn(&mut Symbols) -> &mut BTreeSet<String>,
        name: &Name,
        own: bool,
    ) {
        let inserted = set(&mut self.sym).insert(name.text.clone());
        if !inserted && own {
            self.error(
                "duplicate-definition",
                name.span,
                format!("{what} `{}` is declared twice", name.text),
                "declared again here",
                format!("remove one of the two declarations of `{}`", name.text),
            );
        }
    }

    fn declare(&mut self, file: &File, own: bool) {
        // Named types first: facts may refer to them.
        for s in &file.sections {
            if let Section::Facts { items, .. } = s {
                for item in items {
                    if let FactItem::Type { name, ty, .. } = item {
                        let t = self.resolve_type(ty, own);
                        if self.sym.types.insert(name.text.clone(), t).is_some() && own {
                            self.error(
                                "duplicate-definition",
                                name.span,
                                format!("type `{}` is declared twice", name.text),
                                "declared again here",
                                "rename or remove one of them".into(),
                            );
                        }
                    }
                }
            }
        }
        for s in &file.sections {
            match s {
                Section::Facts { items, .. } => {
                    for item in items {
                        let FactItem::Fact(f) = item else { continue };
                        let ty = self.resolve_type(&f.ty, own);
                        if self.claim(&f.name, "fact", own) {
                            self.sym.facts.insert(
                                f.name.text.clone(),
                                FactInfo {
                                    ty,
                                    optional: f.optional,
                                    three_valued: f.unknown.is_some(),
                                    has_unknown_policy: f
                                        .unknown
                                        .as_ref()
                                        .is_some_and(|u| u.counts_as.is_some()),
                                },
                            );
                        }
                    }
                }
                Section::Params { items, .. } => {
                    for p in items {
                        let ty = match (&p.ty, &p.value) {
                            (Some(t), _) => self.resolve_type(t, own),
                            (None, Some(v)) => literal_type(v),
                            (None, None) => Type::Error,
                        };
                        if self.claim(&p.name, "parameter", own) {
                            self.sym.params.insert(p.name.text.clone(), ty);
                        }
                    }
                }
                Section::Roles { items, .. } => {
                    for r in items {
                        self.declare_set("role", |s| &mut s.roles, &r.name, own);
                    }
                }
                Section::Resources { items, .. } => {
                    for r in items {
                        let caps = r.capabilities.iter().map(|c| c.text.clone()).collect();
                        if self
                            .sym
                            .resources
                            .insert(r.name.text.clone(), caps)
                            .is_some()
                            && own
                        {
                            self.error(
                                "duplicate-definition",
                                r.name.span,
                                format!("resource type `{}` is declared twice", r.name.text),
                                "declared again here",
                                "merge the two declarations".into(),
                            );
                        }
                    }
                }
                Section::Calendar(c) => {
                    self.declare_set("calendar", |s| &mut s.calendars, &c.name, own)
                }
                Section::Clock(c) => self.declare_set("clock", |s| &mut s.clocks, &c.name, own),
                Section::Ends { items, .. } => {
                    for e in items {
                        self.declare_set("end state", |s| &mut s.ends, &e.name, own);
                    }
                }
                Section::Events { items, .. } => {
                    for e in items {
                        self.declare_step(&e.name, StepRole::Event, Vec::new(), own);
                    }
                }
                Section::Validity { bands, .. } => {
                    self.sym.validity_bands =
                        Some(bands.bands.iter().map(|b| b.name.text.clone()).collect());
                }
                Section::Priority(p) if (own || self.sym.levels.is_empty()) => {
                    let mut levels = Vec::new();
                    for l in &p.scale {
                        if levels.contains(&l.name.text) {
                            if own {
                                self.error(
                                    "duplicate-definition",
                                    l.name.span,
                                    format!("level `{}` appears twice in the scale", l.name.text),
                                    "again here",
                                    "each level appears once, highest first".into(),
                                );
                            }
                        } else {
                            levels.push(l.name.text.clone());
                        }
                    }
                    self.sym.levels = levels;
                    for item in &p.items {
                        if let PriorityItem::Target(t) = item {
                            for (kind, _) in &t.entries {
                                self.sym.target_kinds.insert(kind.text.clone());
                            }
                        }
                    }
                }
                Section::Decisions { items, .. } => {
                    for d in items {
                        if self.claim(d.name(), "decision", own) {
                            let outputs = self.decision_outputs(d, false);
                            self.sym.decisions.insert(d.name().text.clone(), outputs);
                        }
                    }
                }
                Section::Constraints { items, .. } => {
                    for c in items {
                        self.declare_set("constraint", |s| &mut s.constraints, &c.name, own);
                    }
                }
                Section::Standards { items, .. } => {
                    for c in items {
                        self.declare_set("standard", |s| &mut s.standards, &c.name, own);
                    }
                }
                Section::Flow { body, .. } if own => self.declare_flow(body),
                _ => {}
            }
        }
    }

    fn declare_step(&mut self, name: &Name, role: StepRole, outcomes: Vec<String>, own: bool) {
        if self.sym.steps.contains_key(&name.text) {
            if own {
                self.error(
                    "duplicate-step",
                    name.span,
                    format!("step `{}` is defined twice", name.text),
                    "defined again here",
                    "steps are referred to by name, so each needs its own; use `go to` to reach a step from a second place".into(),
                );
            }
            return;
        }
        self.sym
            .steps
            .insert(name.text.clone(), StepInfo { role, outcomes });
    }

    fn declare_flow(&mut self, body: &[Stmt]) {
        for stmt in body {
            match stmt {
                Stmt::Step(s) => {
                    let outcomes = s
                        .attrs
                        .iter()
                        .filter_map(|a| match a {
                            StepAttr::Outcomes(xs, _) => Some(xs.iter().map(|x| x.text.clone())),
                            _ => None,
                        })
                        .flatten()
                        .collect();
                    self.declare_step(&s.name, StepRole::Step(s.kind), outcomes, true);
                }
                Stmt::Monitor(m) => self.declare_step(&m.name, StepRole::Monitor, Vec::new(), true),
                Stmt::Call(c) => {
                    let outcomes = self
                        .sym
                        .procedures
                        .get(&c.procedure.text)
                        .map(|p| p.ends.clone())
                        .unwrap_or_default();
                    self.declare_step(&c.step_name(), StepRole::Call, outcomes, true);
                }
                Stmt::Decide(d) => {
                    self.declare_step(&d.name, StepRole::Decision, Vec::new(), true);
                    for b in &d.branches {
                        if let BranchBody::Block(xs) = &b.body {
                            self.declare_flow(xs);
                        }
                    }
                    if let Some((BranchBody::Block(xs), _)) = &d.otherwise {
                        self.declare_flow(xs);
                    }
                }
                Stmt::Parallel(p) => {
                    for b in &p.branches {
                        self.declare_flow(&b.body);
                    }
                }
                Stmt::Repeat(r) => self.declare_flow(&r.body),
                Stmt::Goto { .. } | Stmt::End { .. } => {}
            }
        }
    }

    fn resolve_type(&mut self, ty: &TypeExpr, own: bool) -> Type {
        match ty {
            TypeExpr::Scalar(s, _) => match s {
                Scalar::Bool => Type::Bool,
                Scalar::Int => Type::Int,
                Scalar::Decimal => Type::Decimal,
                Scalar::Text => Type::Text,
                Scalar::Duration => Type::Duration,
                Scalar::Timestamp => Type::Timestamp,
                Scalar::Date => Type::Date,
            },
            TypeExpr::Enum(values, _) => {
                let mut out: Vec<String> = Vec::new();
                for v in values {
                    if out.contains(&v.text) {
                        if own {
                            self.error(
                                "duplicate-definition",
                                v.span,
                                format!("enum value `{}` is listed twice", v.text),
                                "listed again here",
                                "remove the repeated value".into(),
                            );
                        }
                    } else {
                        out.push(v.text.clone());
                    }
                }
                Type::Enum(out)
            }
            TypeExpr::List(inner, _) => Type::List(Box::new(self.resolve_type(inner, own))),
            TypeExpr::Code(s) => {
                if s.value.is_empty()
                    || !s.value.chars().any(|c| matches!(c, 'N' | 'D' | 'L' | 'A'))
                {
                    if own {
                        self.error("invalid-pattern", s.span, format!("code format \"{}\" has no code positions", s.value), "no N, D, L or A here", "write the format with N or D for a digit, L for a letter, A for either, e.g. \"NN-L-DD\"".into());
                    }
                    return Type::Error;
                }
                Type::Code(s.value.clone())
            }
            TypeExpr::Named(n) => match self.sym.types.get(&n.text) {
                Some(t) => t.clone(),
                None => {
                    if own {
                        let c = self.sym.types.keys().cloned().collect();
                        self.undefined("type", "undefined-type", n, c, "declare it in `facts` with `type NAME = enum a | b`, or use bool, int, decimal, text, duration, timestamp, date, enum, list of, code");
                    }
                    Type::Error
                }
            },
        }
    }

    /// The outputs of a decision. Table outputs without a declared type take the
    /// type their cells imply: bare names make an enum, numbers a number.
    fn decision_outputs(&mut self, d: &DecisionDef, priority: bool) -> Vec<(String, Type)> {
        match d {
            DecisionDef::Score(s) => {
                let bands = s.bands.bands.iter().map(|b| b.name.text.clone()).collect();
                let ty = if priority {
                    Type::Level
                } else {
                    Type::Band(s.name.text.clone(), bands)
                };
                vec![(s.name.text.clone(), ty)]
            }
            DecisionDef::Matrix(m) => {
                let ty = if priority {
                    Type::Level
                } else {
                    infer_cells(m.rows.iter().flat_map(|r| r.cells.iter()))
                };
                vec![(m.name.text.clone(), ty)]
            }
            DecisionDef::Table(t) => {
                let mut out = Vec::new();
                for (i, col) in t.columns.iter().enumerate() {
                    let Column::Output { name, ty, .. } = col else {
                        continue;
                    };
                    let ty = match ty {
                        Some(te) => self.resolve_type(te, false),
                        None if priority => Type::Level,
                        None => infer_cells(t.rows.iter().filter_map(|r| match r.cells.get(i) {
                            Some(Cell::Tests(tests, _)) => {
                                tests.first().and_then(|t| match &t.kind {
                                    TestKind::Equals(e) => Some(e),
                                    _ => None,
                                })
                            }
                            _ => None,
                        })),
                    };
                    out.push((name.text.clone(), ty));
                }
                out
            }
        }
    }

    // ---------------------------------------------------------------- checking

    fn check_file(&mut self, file: &File) {
        let is_procedure = file.kind == FileKind::Procedure;
        for item in &file.header {
            match item {
                HeaderItem::Applies(e) => self.condition(e),
                HeaderItem::Effective {
                    from: Literal::Date(a),
                    until: Some(Literal::Date(b)),
                    span,
                } if b < a => {
                    self.error(
                        "invalid-literal",
                        *span,
                        format!("the procedure stops being effective ({b}) before it starts ({a})"),
                        "dates in the wrong order",
                        "`effective FROM until TO` needs FROM on or before TO".into(),
                    );
                }
                _ => {}
            }
        }
        let flow = flow_of(file);
        match (is_procedure, flow) {
            (true, None) => self.error("missing-flow", file.id.span, format!("procedure `{}` has no `flow` section", file.id.text), "this procedure", "add a `flow` section listing the steps, ending each path with `end STATE`".into()),
            (false, Some((_, span))) => self.error("misplaced-section", span, "a library cannot have a `flow`".into(), "flow in a library", "make this file a `procedure`, or move the flow into a procedure that `use`s this library".into()),
            _ => {}
        }
        let mut seen_sections: BTreeMap<&'static str, Span> = BTreeMap::new();
        for s in &file.sections {
            let (key, span) = match s {
                Section::Validity { span, .. } => ("validity", *span),
                Section::Priority(p) => ("priority", p.span),
                Section::Flow { span, .. } => ("flow", *span),
                _ => ("", Span::default()),
            };
            if !key.is_empty()
                && let Some(first) = seen_sections.insert(key, span)
            {
                self.diags.push(
                    Diagnostic::error(
                        "duplicate-definition",
                        format!("`{key}` section appears twice"),
                    )
                    .with_label(span, "second section")
                    .with_label(first, "first one here")
                    .with_help(format!("merge the two `{key}` sections into one"))
                    .with_source(self.src),
                );
            }
            self.check_section(s);
        }
    }

    fn check_section(&mut self, s: &Section) {
        match s {
            Section::Facts { items, .. } => {
                for item in items {
                    let FactItem::Fact(f) = item else { continue };
                    let Some(info) = self.sym.facts.get(&f.name.text).cloned() else {
                        continue;
                    };
                    if let Some(UnknownClause {
                        counts_as: Some(v), ..
                    }) = &f.unknown
                    {
                        let t = self.expr(v, Some(&info.ty));
                        self.expect(&info.ty, &t, v.span, "the value unknown counts as");
                    }
                }
            }
            Section::Params { items, .. } => {
                for p in items {
                    if let (Some(ty), Some(v)) = (&p.ty, &p.value) {
                        let t = self.resolve_type(ty, false);
                        let got = self.expr(v, Some(&t));
                        self.expect(&t, &got, v.span, "the default value");
                    } else if let Some(v) = &p.value {
                        self.expr(v, None);
                    }
                }
            }
            Section::Roles { items, .. } => {
                for r in items {
                    if let Some(to) = &r.reports_to {
                        self.role(to);
                    }
                }
            }
            Section::Calendar(c) => self.check_calendar(c),
            Section::Clock(c) => {
                for item in &c.items {
                    match item {
                        ClockItem::Starts(a, _) | ClockItem::Stops(a, _) => self.anchor(a),
                        ClockItem::Pauses { from, until, .. } => {
                            self.step_ref(from);
                            self.step_ref(until);
                        }
                        ClockItem::Calendar(n, _) => self.calendar_ref(n),
                    }
                }
            }
            Section::Validity {
                indicators, bands, ..
            } => self.check_score(indicators, bands),
            Section::Priority(p) => self.check_priority(p),
            Section::Decisions { items, .. } => {
                for d in items {
                    self.check_decision(d, false);
                }
            }
            Section::Flow { body, .. } => self.check_flow(body),
            Section::Constraints { items, .. } => {
                for c in items {
                    self.check_constraint(c);
                }
            }
            Section::Standards { items, .. } => {
                for st in items {
                    self.anchor(&st.from);
                    self.anchor(&st.to);
                    match &st.measure {
                        Measure::Share { percent, within } => {
                            self.percent(percent, st.span);
                            self.duration_expr(within);
                        }
                        Measure::Stat { stat, limit, .. } => {
                            if let Statistic::Centile(o) = stat {
                                let n: u32 =
                                    o.trim_end_matches(char::is_alphabetic).parse().unwrap_or(0);
                                if n == 0 || n >= 100 {
                                    self.error(
                                        "invalid-literal",
                                        st.span,
                                        format!("`{o} centile` is not a centile"),
                                        "centile out of range",
                                        "use a centile from 1st to 99th".into(),
                                    );
                                }
                            }
                            self.duration_expr(limit);
                        }
                    }
                    for e in st.filter.iter().chain(&st.excluding) {
                        self.condition(e);
                    }
                }
            }
            Section::Exemptions { items, .. } => {
                for ex in items {
                    for w in &ex.waives {
                        let known = self.sym.steps.contains_key(&w.text)
                            || self.sym.constraints.contains(&w.text)
                            || self.sym.standards.contains(&w.text);
                        if !known {
                            let mut c: Vec<String> = self.sym.steps.keys().cloned().collect();
                            c.extend(self.sym.constraints.iter().cloned());
                            c.extend(self.sym.standards.iter().cloned());
                            self.undefined("step, constraint or standard", "undefined-name", w, c, "an exemption waives the time limits of steps, or named constraints or standards");
                        }
                    }
                    self.step_ref(&ex.on);
                    self.requirements(ex.requires.as_deref());
                }
            }
            Section::Mapping { items, .. } => {
                let mut zones = 0;
                for m in items {
                    match m {
                        MapItem::Activity {
                            target: Some(t), ..
                        } => self.step_ref(t),
                        MapItem::Activity { .. } => {}
                        MapItem::Attribute { field, .. } => {
                            const SPECIAL: [&str; 10] = [
                                "case",
                                "activity",
                                "timestamp",
                                "actor",
                                "role",
                                "resource",
                                "outcome",
                                "reason",
                                "priority",
                                "validity",
                            ];
                            if !SPECIAL.contains(&field.text.as_str())
                                && !self.sym.facts.contains_key(&field.text)
                            {
                                let mut c: Vec<String> =
                                    SPECIAL.iter().map(ToString::to_string).collect();
                                c.extend(self.sym.facts.keys().cloned());
                                self.undefined("fact or event field", "undefined-name", field, c, "map a column to a fact, or to one of case, activity, timestamp, actor, role, resource, outcome, reason, priority (the recorded priority), validity");
                            }
                        }
                        MapItem::Value { fact, value, .. }
                            if fact.text == "priority" && !self.sym.levels.is_empty() =>
                        {
                            let t = self.expr(value, Some(&Type::Level));
                            self.expect(&Type::Level, &t, value.span, "the mapped priority");
                        }
                        MapItem::Value { fact, value, .. } => {
                            match self.sym.facts.get(&fact.text).cloned() {
                                Some(info) => {
                                    let t = self.expr(value, Some(&info.ty));
                                    self.expect(&info.ty, &t, value.span, "the mapped value");
                                }
                                None => {
                                    let c = self.sym.facts.keys().cloned().collect();
                                    self.undefined(
                                        "fact",
                                        "undefined-name",
                                        fact,
                                        c,
                                        "declare the fact in `facts`",
                                    );
                                }
                            }
                        }
                        MapItem::Timezone { zone, .. } => {
                            zones += 1;
                            if zones > 1 {
                                self.error(
                                    "duplicate-definition",
                                    zone.span,
                                    "the mapping has more than one time zone".into(),
                                    "second time zone",
                                    "the log's local times are in one zone".into(),
                                );
                            }
                            // The IANA database as chrono-tz carries it.
                            if zone.value.parse::<chrono_tz::Tz>().is_err() {
                                self.error(
                                    "invalid-literal",
                                    zone.span,
                                    format!("`{}` is not an IANA time zone name", zone.value),
                                    "not a time zone",
                                    "use a name such as \"Europe/London\" or \"UTC\"".into(),
                                );
                            }
                        }
                        MapItem::TimestampFormat { .. } => {}
                    }
                }
            }
            Section::Links { items, .. } => {
                for l in items {
                    if !self.sym.facts.contains_key(&l.via.text) {
                        let c = self.sym.facts.keys().cloned().collect();
                        self.undefined(
                            "fact",
                            "undefined-name",
                            &l.via,
                            c,
                            "a link names the fact that holds the linked case's id",
                        );
                    }
                }
            }
            Section::Resources { .. } | Section::Ends { .. } | Section::Events { .. } => {}
        }
    }

    fn check_calendar(&mut self, c: &Calendar) {
        let mut zones = 0;
        for item in &c.items {
            match item {
                CalendarItem::Timezone(tz) => {
                    zones += 1;
                    // The IANA database as chrono-tz carries it.
                    let ok = tz.value.parse::<chrono_tz::Tz>().is_ok();
                    if !ok {
                        self.error(
                            "invalid-literal",
                            tz.span,
                            format!("`{}` is not an IANA time zone name", tz.value),
                            "not a time zone",
                            "use a name such as \"Europe/London\" or \"UTC\"".into(),
                        );
                    }
                    if zones > 1 {
                        self.error(
                            "duplicate-definition",
                            tz.span,
                            format!("calendar `{}` has more than one time zone", c.name.text),
                            "second time zone",
                            "a calendar has one time zone".into(),
                        );
                    }
                }
                CalendarItem::Hours {
                    open, close, span, ..
                } if close <= open => {
                    self.error(
                        "invalid-literal",
                        *span,
                        format!("working hours {open}-{close} end before they start"),
                        "empty working hours",
                        "write hours as OPEN-CLOSE with OPEN earlier, e.g. 08:00-18:00".into(),
                    );
                }
                _ => {}
            }
        }
    }

    fn check_score(&mut self, indicators: &[Indicator], bands: &Bands) {
        let mut names = BTreeSet::new();
        for i in indicators {
            if !names.insert(&i.name.text) {
                self.error(
                    "duplicate-definition",
                    i.name.span,
                    format!("indicator `{}` is listed twice", i.name.text),
                    "again here",
                    "give each indicator its own name; explanations cite it".into(),
                );
            }
            self.condition(&i.when);
        }
        let n = bands.bands.len();
        for (i, b) in bands.bands.iter().enumerate() {
            if b.bound.is_none() && i + 1 < n {
                self.error(
                    "invalid-bands",
                    b.name.span,
                    format!(
                        "band `{}` has no bound but is not the last band",
                        b.name.text
                    ),
                    "catch-all band here",
                    "only the last band may omit its bound; it takes every score the others do not"
                        .into(),
                );
            }
        }
    }

    fn percent(&mut self, text: &str, span: Span) {
        let v: f64 = text.parse().unwrap_or(-1.0);
        if !(0.0..=100.0).contains(&v) {
            self.error(
                "invalid-literal",
                span,
                format!("{text}% is not a percentage"),
                "out of range",
                "use a percentage from 0% to 100%".into(),
            );
        }
    }

    fn check_priority(&mut self, p: &Priority) {
        let mut target_levels: BTreeMap<String, usize> = BTreeMap::new();
        for item in &p.items {
            match item {
                PriorityItem::Target(t) => {
                    self.level_ref(&t.level);
                    if t.when.is_none() {
                        *target_levels.entry(t.level.text.clone()).or_default() += 1;
                        if target_levels[&t.level.text] > 1 {
                            self.error("duplicate-definition", t.level.span, format!("level `{}` has two unconditional target lines", t.level.text), "second target line", "merge them into one line, or add `when CONDITION` to tell them apart".into());
                        }
                    }
                    for (_, e) in &t.entries {
                        self.duration_expr(e);
                    }
                    if let Some(w) = &t.when {
                        self.condition(w);
                    }
                }
                PriorityItem::Override(o) => {
                    self.level_ref(&o.level);
                    self.condition(&o.when);
                    self.requirements(o.requires.as_deref());
                }
                PriorityItem::Regrade { requires, .. } => self.requirements(requires.as_deref()),
                PriorityItem::Combine(..) => {}
                PriorityItem::Method(d) => self.check_decision(d, true),
            }
        }
    }

    fn requirements(&mut self, reqs: Option<&[Requirement]>) {
        for r in reqs.unwrap_or_default() {
            if let Requirement::Role(n) = r {
                self.role(n);
            }
        }
    }

    fn check_decision(&mut self, d: &DecisionDef, priority: bool) {
        match d {
            DecisionDef::Score(s) => {
                self.check_score(&s.indicators, &s.bands);
                if priority {
                    for b in &s.bands.bands {
                        self.level_ref(&b.name);
                    }
                }
            }
            DecisionDef::Matrix(m) => {
                let rt = self.expr(&m.rows_by, None);
                let ct = self.expr(&m.cols_by, None);
                for v in &m.col_values {
                    let t = self.expr(v, Some(&ct));
                    self.expect(&ct, &t, v.span, "a column value");
                }
                let out = if priority { Type::Level } else { Type::Error };
                for r in &m.rows {
                    let t = self.expr(&r.key, Some(&rt));
                    self.expect(&rt, &t, r.key.span, "a row value");
                    if r.cells.len() != m.col_values.len() {
                        self.error(
                            "table-shape",
                            r.span,
                            format!(
                                "this row has {} values but the header has {} columns",
                                r.cells.len(),
                                m.col_values.len()
                            ),
                            "row of the wrong width",
                            "give every row one value per column of the header".into(),
                        );
                    }
                    for c in &r.cells {
                        let t = self.expr(c, Some(&out));
                        if priority {
                            self.expect(&out, &t, c.span, "a matrix cell");
                        }
                    }
                }
            }
            DecisionDef::Table(t) => {
                let outputs: Vec<(String, Type)> = self.decision_outputs(d, priority);
                if outputs.is_empty() {
                    self.error(
                        "table-shape",
                        t.header_span,
                        format!("table `{}` has no output column", t.name.text),
                        "no `=>` column",
                        "mark the output column with `=>`, e.g. `| => level |`".into(),
                    );
                }
                let mut col_types = Vec::new();
                let mut out_i = 0;
                let mut seen_output = false;
                for col in &t.columns {
                    match col {
                        Column::Input(e) => {
                            if seen_output {
                                self.error(
                                    "table-shape",
                                    e.span,
                                    "input column after an output column".into(),
                                    "input here",
                                    "put the inputs first and the `=>` outputs last".into(),
                                );
                            }
                            let ty = self.expr(e, None);
                            col_types.push((false, ty));
                        }
                        Column::Output { .. } => {
                            seen_output = true;
                            let ty = outputs.get(out_i).map_or(Type::Error, |o| o.1.clone());
                            out_i += 1;
                            col_types.push((true, ty));
                        }
                    }
                }
                for row in &t.rows {
                    if row.cells.len() != col_types.len() {
                        self.error(
                            "table-shape",
                            row.span,
                            format!(
                                "this row has {} cells but the header has {} columns",
                                row.cells.len(),
                                col_types.len()
                            ),
                            "row of the wrong width",
                            "give every row one cell per header column; use `-` for \"any value\""
                                .into(),
                        );
                        continue;
                    }
                    for (cell, (is_out, ty)) in row.cells.iter().zip(&col_types) {
                        match cell {
                            Cell::Any(span) if *is_out => self.error(
                                "table-shape",
                                *span,
                                "an output cell cannot be `-`".into(),
                                "output left open",
                                "write the value this rule produces".into(),
                            ),
                            Cell::Any(_) => {}
                            Cell::Tests(tests, _) => {
                                for test in tests {
                                    if *is_out {
                                        match &test.kind {
                                            TestKind::Equals(e) if !test.negated => {
                                                let got = self.expr(e, Some(ty));
                                                self.expect(ty, &got, e.span, "an output value");
                                            }
                                            _ => self.error(
                                                "table-shape",
                                                test.span,
                                                "an output cell must be a single value".into(),
                                                "a test, not a value",
                                                "write just the value, e.g. `P2`".into(),
                                            ),
                                        }
                                    } else {
                                        self.cell_test(test, ty);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn cell_test(&mut self, test: &CellTest, subject: &Type) {
        match &test.kind {
            TestKind::Range(lo, hi) => {
                for b in [lo, hi] {
                    let t = self.expr(b, Some(subject));
                    if !subject.is_ordered() || !subject.accepts(&t) {
                        self.mismatch(b.span, format!("a range needs an ordered subject of the same type; the subject is {subject}, the bound is {t}"));
                    }
                }
            }
            TestKind::Compare(_, e) => {
                let t = self.expr(e, Some(subject));
                if !subject.is_ordered() {
                    self.mismatch(e.span, format!("values of type {subject} have no order, so `<` and `>` cannot compare them"));
                } else {
                    self.expect(subject, &t, e.span, "the compared value");
                }
            }
            TestKind::Equals(e) => {
                // A string against a code is a pattern; a list means any of.
                if let (Type::Code(fmt), ExprKind::Literal(Literal::Str(p))) = (subject, &e.kind) {
                    if !pattern_fits_format(fmt, p) {
                        self.error("invalid-pattern", e.span, format!("pattern \"{p}\" does not fit the code format \"{fmt}\""), "never matches", "use `*` for a whole part and `?` for one character, keeping the separators of the format".into());
                    }
                    return;
                }
                if *subject == Type::Bool || matches!(subject, Type::Error) {
                    let t = self.expr(e, Some(subject));
                    self.expect(subject, &t, e.span, "the cell value");
                    return;
                }
                let t = self.expr(e, Some(subject));
                let ok = subject.accepts(&t)
                    || matches!(subject, Type::List(inner) if inner.accepts(&t))
                    || (*subject == Type::Text && t == Type::Text);
                if !ok {
                    self.mismatch(
                        e.span,
                        format!("expected a value of type {subject}, found {t}"),
                    );
                }
            }
        }
    }

    fn check_constraint(&mut self, c: &Constraint) {
        match &c.kind {
            ConstraintKind::Response {
                first,
                then,
                within,
            } => {
                self.step_ref(first);
                self.step_ref(then);
                if let Some(w) = within {
                    self.duration_expr(w);
                }
            }
            ConstraintKind::Precedence { first, then } => {
                self.step_ref(first);
                self.step_ref(then);
            }
            ConstraintKind::Absence(s) | ConstraintKind::Count { step: s, .. } => self.step_ref(s),
            ConstraintKind::NotCoexist(a, b) | ConstraintKind::Actor { a, b, .. } => {
                self.step_ref(a);
                self.step_ref(b);
            }
        }
        if let Some(w) = &c.when {
            self.condition(w);
        }
    }

    fn check_flow(&mut self, body: &[Stmt]) {
        for stmt in body {
            match stmt {
                Stmt::Step(s) => self.check_step(s),
                Stmt::Monitor(m) => {
                    self.duration_expr(&m.every);
                    if let Some(f) = &m.first_within {
                        self.duration_expr(f);
                    }
                    if let Some(a) = &m.after {
                        self.anchor(a);
                    }
                    self.anchor(&m.until);
                    self.check_attrs(&m.attrs, "monitor", None);
                }
                Stmt::Call(c) => self.check_call(c),
                Stmt::Decide(d) => self.check_decide(d),
                Stmt::Parallel(p) => {
                    if p.branches.len() < 2 {
                        self.error("invalid-block", p.span, "a `parallel` block needs at least two branches".into(), "one branch only", "add another `branch`, or drop `parallel` and list the steps in sequence".into());
                    }
                    for b in &p.branches {
                        self.check_flow(&b.body);
                    }
                }
                Stmt::Repeat(r) => {
                    if r.body.is_empty() {
                        self.error(
                            "invalid-block",
                            r.span,
                            "`repeat` has no steps to repeat".into(),
                            "empty loop",
                            "put the repeated steps between `repeat` and `until`".into(),
                        );
                    }
                    if r.max == Some(0) {
                        self.error(
                            "invalid-literal",
                            r.span,
                            "`repeat at most 0` can never run".into(),
                            "zero repetitions",
                            "use `at most 1` or more, or remove the loop".into(),
                        );
                    }
                    self.check_flow(&r.body);
                    self.condition(&r.until);
                }
                Stmt::Goto { target, .. } => {
                    let info = self.sym.steps.get(&target.text).map(|i| i.role);
                    match info {
                        Some(StepRole::Monitor) | Some(StepRole::Event) => self.error(
                            "invalid-reference",
                            target.span,
                            format!(
                                "`go to {}` targets a {}, not a step",
                                target.text,
                                if info == Some(StepRole::Monitor) {
                                    "monitor"
                                } else {
                                    "recorded event"
                                }
                            ),
                            "not a step",
                            "`go to` continues the flow at a step, decision or call".into(),
                        ),
                        Some(_) => {}
                        None => {
                            let c = self.sym.steps.keys().cloned().collect();
                            self.undefined(
                                "step",
                                "undefined-step",
                                target,
                                c,
                                "`go to` needs the name of a step in this flow",
                            );
                        }
                    }
                }
                Stmt::End { state, .. } => {
                    if !self.sym.ends.contains(&state.text) {
                        let c = self.sym.ends.iter().cloned().collect();
                        self.undefined(
                            "end state",
                            "undefined-end",
                            state,
                            c,
                            "declare the end state in the `ends` section",
                        );
                    }
                }
            }
        }
    }

    fn check_step(&mut self, s: &Step) {
        self.check_attrs(&s.attrs, s.kind.keyword(), Some(s));
    }

    fn check_attrs(&mut self, attrs: &[StepAttr], kind: &str, step: Option<&Step>) {
        let mut has_to = false;
        let mut has_actions = false;
        let mut has_within = false;
        for a in attrs {
            let not_allowed = match a {
                StepAttr::To(..) => kind != "inform" && kind != "instruct",
                StepAttr::Responsibilities(..) | StepAttr::Ack(..) => kind != "inform",
                StepAttr::Actions(..) => kind != "instruct",
                _ => false,
            };
            if not_allowed {
                let line = self
                    .src
                    .slice(a.span())
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string();
                let owner = if line == "actions" {
                    "instruct"
                } else {
                    "inform"
                };
                let article = if kind.starts_with('i') { "an" } else { "a" };
                self.error("attribute-not-allowed", a.span(), format!("`{line}` is not allowed on {article} `{kind}`"), "not allowed here", format!("`{line}` belongs to `{owner}` steps; change the step to `{owner}` or remove the line"));
            }
            match a {
                StepAttr::Within { limit, of, on, .. } => {
                    has_within = true;
                    self.duration_expr(limit);
                    if let Some(o) = of {
                        self.anchor(o);
                    }
                    if let Some(c) = on
                        && !self.sym.clocks.contains(&c.text)
                        && !self.sym.calendars.contains(&c.text)
                    {
                        let mut cands: Vec<String> = self.sym.clocks.iter().cloned().collect();
                        cands.extend(self.sym.calendars.iter().cloned());
                        self.undefined(
                            "clock or calendar",
                            "undefined-name",
                            c,
                            cands,
                            "declare it with `clock NAME` or `calendar NAME`",
                        );
                    }
                }
                StepAttr::Needs {
                    count, resource, ..
                } => {
                    if *count == 0 {
                        self.error(
                            "invalid-literal",
                            a.span(),
                            "`needs 0` asks for nothing".into(),
                            "zero resources",
                            "state how many are needed (1 or more), or remove the line".into(),
                        );
                    }
                    if resource.text != "any" && !self.sym.resources.contains_key(&resource.text) {
                        let c = self.sym.resources.keys().cloned().collect();
                        self.undefined("resource type", "undefined-resource", resource, c, "declare it in `resources`, or write `any` with the capabilities needed");
                    }
                }
                StepAttr::By(roles, _) | StepAttr::To(roles, _) => {
                    if matches!(a, StepAttr::To(..)) {
                        has_to = true;
                    }
                    for r in roles {
                        self.role(r);
                    }
                }
                StepAttr::Escalate {
                    trigger, to, when, ..
                } => {
                    match trigger {
                        EscalateTrigger::Percent(p) => {
                            self.percent(p, a.span());
                            if !has_within {
                                self.error(
                                    "missing-attribute",
                                    a.span(),
                                    "`escalate at N%` needs a time limit to take a share of".into(),
                                    "no `within` before this",
                                    "add a `within` line to the step above the escalation lines"
                                        .into(),
                                );
                            }
                        }
                        EscalateTrigger::After(e) => self.duration_expr(e),
                    }
                    for r in to {
                        self.role(r);
                    }
                    if let Some(w) = when {
                        self.condition(w);
                    }
                }
                StepAttr::Ack(e, _) => self.duration_expr(e),
                StepAttr::Actions(..) => has_actions = true,
                StepAttr::Records(..) | StepAttr::Outcomes(..) | StepAttr::Responsibilities(..) => {
                }
            }
        }
        if let Some(s) = step {
            if s.kind == StepKind::Inform && !has_to {
                self.error(
                    "missing-attribute",
                    s.name.span,
                    format!("`inform {}` does not say whom to inform", s.name.text),
                    "no `to` line",
                    "add a line `to ROLE` under the step".into(),
                );
            }
            if s.kind == StepKind::Instruct && !has_actions {
                self.error(
                    "missing-attribute",
                    s.name.span,
                    format!(
                        "`instruct {}` does not list the actions required",
                        s.name.text
                    ),
                    "no `actions` line",
                    "add a line `actions [first_action, second_action]` under the step".into(),
                );
            }
        }
    }

    fn check_call(&mut self, c: &Call) {
        let Some(callee) = self.sym.procedures.get(&c.procedure.text).cloned() else {
            let cands = self.sym.procedures.keys().cloned().collect();
            self.undefined(
                "procedure",
                "undefined-procedure",
                &c.procedure,
                cands,
                "a called procedure must be `use`d in the header: `use \"path/to/it.proc\"`",
            );
            for (_, e) in &c.args {
                self.expr(e, None);
            }
            return;
        };
        let mut given = BTreeSet::new();
        for (name, e) in &c.args {
            given.insert(name.text.clone());
            match callee.params.iter().find(|p| p.0 == name.text) {
                Some((_, ty, _)) => {
                    let t = self.expr(e, Some(ty));
                    self.expect(ty, &t, e.span, &format!("parameter `{}`", name.text));
                }
                None => {
                    self.expr(e, None);
                    let cands = callee.params.iter().map(|p| p.0.clone()).collect();
                    self.undefined(
                        &format!("parameter of `{}`", c.procedure.text),
                        "bad-argument",
                        name,
                        cands,
                        "the called procedure declares its parameters in its `params` section",
                    );
                }
            }
        }
        for (p, _, has_default) in &callee.params {
            if !has_default && !given.contains(p) {
                self.error(
                    "bad-argument",
                    c.procedure.span,
                    format!(
                        "call of `{}` does not set parameter `{p}`",
                        c.procedure.text
                    ),
                    "parameter missing",
                    format!("add `with {p} = ...` to the call"),
                );
            }
        }
        self.check_attrs(&c.attrs, "call", None);
    }

    fn check_decide(&mut self, d: &Decide) {
        let subject = d.subject.as_ref().map(|e| self.expr(e, None));
        for b in &d.branches {
            match &subject {
                Some(t) => {
                    for test in &b.tests {
                        self.cell_test(test, t);
                    }
                }
                None => {
                    if b.tests.len() != 1
                        || b.tests[0].negated
                        || !matches!(b.tests[0].kind, TestKind::Equals(_))
                    {
                        self.error("type-mismatch", b.span, "without `on SUBJECT`, each `when` takes one condition".into(), "several values here", format!("write `decide {} on SUBJECT` to list values, or give one yes/no condition", d.name.text));
                    } else if let TestKind::Equals(e) = &b.tests[0].kind {
                        self.condition(e);
                    }
                }
            }
            match &b.body {
                BranchBody::Goto(t) => self.goto_ref(t),
                BranchBody::Block(xs) => self.check_flow(xs),
            }
        }
        match &d.otherwise {
            Some((BranchBody::Goto(t), _)) => self.goto_ref(t),
            Some((BranchBody::Block(xs), _)) => self.check_flow(xs),
            None => {}
        }
    }

    fn goto_ref(&mut self, t: &Name) {
        if !self.sym.steps.contains_key(&t.text) {
            let c = self.sym.steps.keys().cloned().collect();
            self.undefined(
                "step",
                "undefined-step",
                t,
                c,
                "a branch can jump (`->`) only to a step in this flow",
            );
        }
    }

    // ---------------------------------------------------------------- references

    fn step_ref(&mut self, n: &Name) {
        if !self.sym.steps.contains_key(&n.text) {
            let c = self.sym.steps.keys().cloned().collect();
            self.undefined(
                "step or event",
                "undefined-step",
                n,
                c,
                "name a step of the flow, or declare a recorded event in `events`",
            );
        }
    }

    fn anchor(&mut self, a: &Anchor) {
        for n in a.names() {
            if n.text != "start" {
                self.step_ref(n);
            }
        }
    }

    fn role(&mut self, n: &Name) {
        if !self.sym.roles.contains(&n.text) {
            let c = self.sym.roles.iter().cloned().collect();
            self.undefined(
                "role",
                "undefined-role",
                n,
                c,
                "declare the role in a `roles` section",
            );
        }
    }

    fn calendar_ref(&mut self, n: &Name) {
        if !self.sym.calendars.contains(&n.text) {
            let c = self.sym.calendars.iter().cloned().collect();
            self.undefined(
                "calendar",
                "undefined-name",
                n,
                c,
                "declare it with `calendar NAME`",
            );
        }
    }

    fn level_ref(&mut self, n: &Name) {
        if !self.sym.levels.contains(&n.text) {
            let c = self.sym.levels.clone();
            self.undefined(
                "priority level",
                "undefined-level",
                n,
                c,
                "use a level of the `scale` line",
            );
        }
    }

    // ---------------------------------------------------------------- expressions

    fn mismatch(&mut self, span: Span, message: String) {
        self.error(
            "type-mismatch",
            span,
            message,
            "wrong type",
            "check the facts schema for the type of each name used here".into(),
        );
    }

    fn expect(&mut self, want: &Type, got: &Type, span: Span, what: &str) {
        if !want.accepts(got) {
            self.error(
                "type-mismatch",
                span,
                format!("{what} should be {want}, but it is {got}"),
                &format!("this is {got}"),
                format!("give a value of type {want}"),
            );
        }
    }

    fn condition(&mut self, e: &Expr) {
        let t = self.expr(e, Some(&Type::Bool));
        if !Type::Bool.accepts(&t) {
            self.error(
                "condition-not-bool",
                e.span,
                format!("a condition must be true or false, but this is {t}"),
                &format!("this is {t}"),
                "compare it with something, e.g. `x == value` or `x >= 3`".into(),
            );
        }
    }

    fn duration_expr(&mut self, e: &Expr) {
        let t = self.expr(e, Some(&Type::Duration));
        if !Type::Duration.accepts(&t) {
            let help = if matches!(e.kind, ExprKind::Literal(Literal::Int(_))) {
                "add a unit: `s`, `m`, `h`, `d` or `w`, e.g. `15m`".to_string()
            } else {
                "give a duration such as `15m`, a duration parameter or `target(KIND)`".to_string()
            };
            self.error(
                "type-mismatch",
                e.span,
                format!("expected a duration, found {t}"),
                &format!("this is {t}"),
                help,
            );
        }
    }

    /// Whether a bare name is a declared value-level symbol.
    fn is_symbol(&self, name: &str) -> bool {
        self.sym.facts.contains_key(name)
            || self.sym.params.contains_key(name)
            || self.sym.decisions.contains_key(name)
            || name == "priority"
            || name == "validity"
    }

    fn is_bare_value(&self, e: &Expr) -> bool {
        matches!(&e.kind, ExprKind::Path(p) if p.len() == 1 && !self.is_symbol(&p[0].text))
    }

    fn expr(&mut self, e: &Expr, expected: Option<&Type>) -> Type {
        match &e.kind {
            ExprKind::Literal(l) => match l {
                Literal::Unknown => expected.cloned().unwrap_or(Type::Error),
                other => literal_type_of(other),
            },
            ExprKind::Path(parts) => self.path(parts, e.span, expected),
            ExprKind::Call(f, args) => self.call(f, args, e.span),
            ExprKind::OutcomeOf(step) => match self.sym.steps.get(&step.text).cloned() {
                Some(info) if !info.outcomes.is_empty() => Type::Enum(info.outcomes),
                Some(_) => {
                    self.error(
                        "invalid-reference",
                        step.span,
                        format!("step `{}` declares no outcomes", step.text),
                        "no `outcomes` line",
                        format!("add `outcomes [a, b]` under step `{}`", step.text),
                    );
                    Type::Error
                }
                None => {
                    self.step_ref(step);
                    Type::Error
                }
            },
            ExprKind::List(items) => {
                let elem = match expected {
                    Some(Type::List(t)) => Some((**t).clone()),
                    Some(t) => Some(t.clone()),
                    None => None,
                };
                let mut ty: Option<Type> = None;
                for it in items {
                    let t = self.expr(it, elem.as_ref().or(ty.as_ref()));
                    match &ty {
                        None => ty = Some(t),
                        Some(prev) if !prev.accepts(&t) && !t.accepts(prev) => {
                            self.mismatch(
                                it.span,
                                format!("list items must share one type: {prev} and {t} mixed"),
                            );
                        }
                        _ => {}
                    }
                }
                Type::List(Box::new(elem.or(ty).unwrap_or(Type::Error)))
            }
            ExprKind::Range(lo, hi) => {
                let a = self.expr(lo, expected);
                let b = self.expr(hi, expected);
                if !a.accepts(&b) && !b.accepts(&a) {
                    self.mismatch(
                        hi.span,
                        format!("range bounds have different types: {a} and {b}"),
                    );
                }
                Type::List(Box::new(a))
            }
            ExprKind::Unary(UnaryOp::Not, x) => {
                self.condition(x);
                Type::Bool
            }
            ExprKind::Unary(UnaryOp::Neg, x) => {
                let t = self.expr(x, expected);
                if !(t.is_numeric() || t == Type::Duration) {
                    self.mismatch(x.span, format!("cannot negate a value of type {t}"));
                    return Type::Error;
                }
                t
            }
            ExprKind::IsMissing { operand, .. } => {
                let is_fact = matches!(&operand.kind, ExprKind::Path(p) if p.len() == 1 && self.sym.facts.contains_key(&p[0].text));
                self.expr(operand, None);
                if !is_fact {
                    self.error(
                        "type-mismatch",
                        operand.span,
                        "`is missing` applies to a fact".into(),
                        "not a fact",
                        "write `FACT is missing` with a fact from the `facts` section".into(),
                    );
                }
                Type::Bool
            }
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r),
        }
    }

    fn binary(&mut self, op: BinaryOp, l: &Expr, r: &Expr) -> Type {
        use BinaryOp::*;
        match op {
            And | Or => {
                self.condition(l);
                self.condition(r);
                Type::Bool
            }
            Eq | Ne | Lt | Le | Gt | Ge => {
                let (lt, rt) = if self.is_bare_value(l) && !self.is_bare_value(r) {
                    let rt = self.expr(r, None);
                    (self.expr(l, Some(&rt)), rt)
                } else {
                    let lt = self.expr(l, None);
                    (lt.clone(), self.expr(r, Some(&lt)))
                };
                if matches!(r.kind, ExprKind::Literal(Literal::Unknown))
                    || matches!(l.kind, ExprKind::Literal(Literal::Unknown))
                {
                    let fact_side = if matches!(r.kind, ExprKind::Literal(Literal::Unknown)) {
                        l
                    } else {
                        r
                    };
                    let three = matches!(&fact_side.kind, ExprKind::Path(p) if p.len() == 1 && self.sym.facts.get(&p[0].text).is_some_and(|f| f.three_valued));
                    if !three {
                        self.error("type-mismatch", fact_side.span, "only a three-valued fact can be compared with `unknown`".into(), "not declared `or unknown`", "declare the fact as `TYPE or unknown`, or test `is missing` for an optional fact".into());
                    }
                    return Type::Bool;
                }
                let compatible =
                    lt.accepts(&rt) || rt.accepts(&lt) || (lt.is_numeric() && rt.is_numeric());
                if !compatible {
                    self.mismatch(r.span, format!("cannot compare {lt} with {rt}"));
                } else if matches!(op, Lt | Le | Gt | Ge) && !lt.is_ordered() {
                    self.mismatch(
                        l.span,
                        format!(
                            "values of type {lt} have no order, so `{}` cannot compare them",
                            op.text()
                        ),
                    );
                }
                Type::Bool
            }
            In | NotIn => {
                let lt = self.expr(l, None);
                let want = Type::List(Box::new(lt.clone()));
                let rt = self.expr(r, Some(&want));
                match &rt {
                    Type::List(inner) => {
                        if !(inner.accepts(&lt)
                            || lt.accepts(inner)
                            || (lt.is_numeric() && inner.is_numeric()))
                        {
                            self.mismatch(
                                l.span,
                                format!("cannot look for {lt} in a list of {inner}"),
                            );
                        }
                    }
                    Type::Error => {}
                    other => self.mismatch(
                        r.span,
                        format!(
                            "`{}` needs a list or a range on the right, found {other}",
                            op.text()
                        ),
                    ),
                }
                Type::Bool
            }
            Matches => {
                let lt = self.expr(l, None);
                match (&lt, &r.kind) {
                    (Type::Code(fmt), ExprKind::Literal(Literal::Str(p))) => {
                        if !pattern_fits_format(fmt, p) {
                            self.error("invalid-pattern", r.span, format!("pattern \"{p}\" does not fit the code format \"{fmt}\""), "never matches", "use `*` for a whole part and `?` for one character, keeping the separators".into());
                        }
                    }
                    (Type::Text | Type::Error, ExprKind::Literal(Literal::Str(_))) => {}
                    (_, ExprKind::Literal(Literal::Str(_))) => self.mismatch(
                        l.span,
                        format!("`matches` applies to codes and text, not {lt}"),
                    ),
                    _ => self.mismatch(
                        r.span,
                        "`matches` takes a quoted pattern such as \"*-E-*\"".into(),
                    ),
                }
                Type::Bool
            }
            Add | Sub | Mul | Div => {
                let lt = self.expr(l, None);
                let rt = self.expr(r, Some(&lt));
                let result = match (op, &lt, &rt) {
                    (_, Type::Error, _) | (_, _, Type::Error) => Some(Type::Error),
                    (_, Type::Int, Type::Int) => Some(Type::Int),
                    (_, a, b) if a.is_numeric() && b.is_numeric() => Some(Type::Decimal),
                    (Add | Sub, Type::Duration, Type::Duration) => Some(Type::Duration),
                    (Mul | Div, Type::Duration, b) if b.is_numeric() => Some(Type::Duration),
                    (Mul, a, Type::Duration) if a.is_numeric() => Some(Type::Duration),
                    (Sub, Type::Timestamp, Type::Timestamp) => Some(Type::Duration),
                    (Add | Sub, Type::Timestamp, Type::Duration) => Some(Type::Timestamp),
                    _ => None,
                };
                result.unwrap_or_else(|| {
                    self.mismatch(
                        r.span,
                        format!("cannot apply `{}` to {lt} and {rt}", op.text()),
                    );
                    Type::Error
                })
            }
        }
    }

    fn path(&mut self, parts: &[Name], span: Span, expected: Option<&Type>) -> Type {
        let first = &parts[0];
        if parts.len() > 1 {
            if let Some(outputs) = self.sym.decisions.get(&first.text).cloned() {
                let field = &parts[1];
                return match outputs.iter().find(|o| o.0 == field.text) {
                    Some(o) if parts.len() == 2 => o.1.clone(),
                    Some(_) => {
                        self.error(
                            "undefined-name",
                            span,
                            "a decision output has no fields".into(),
                            "too many parts",
                            "write `DECISION.OUTPUT`".into(),
                        );
                        Type::Error
                    }
                    None => {
                        let c = outputs.iter().map(|o| o.0.clone()).collect();
                        self.undefined(
                            &format!("output of `{}`", first.text),
                            "undefined-name",
                            field,
                            c,
                            "name an output column (`=> NAME`) of the table",
                        );
                        Type::Error
                    }
                };
            }
            let c = self.sym.decisions.keys().cloned().collect();
            self.undefined(
                "decision",
                "undefined-name",
                first,
                c,
                "a dotted name refers to an output of a table in the `decisions` section",
            );
            return Type::Error;
        }
        let name = &first.text;
        if let Some(f) = self.sym.facts.get(name) {
            return f.ty.clone();
        }
        if let Some(t) = self.sym.params.get(name) {
            return t.clone();
        }
        if let Some(outputs) = self.sym.decisions.get(name) {
            return match outputs.as_slice() {
                [one] => one.1.clone(),
                _ => {
                    self.error(
                        "undefined-name",
                        span,
                        format!("`{name}` has several outputs; say which"),
                        "which output?",
                        format!("write `{name}.OUTPUT`"),
                    );
                    Type::Error
                }
            };
        }
        if name == "priority" && !self.sym.levels.is_empty() {
            return Type::Level;
        }
        if name == "validity"
            && let Some(b) = &self.sym.validity_bands
        {
            return Type::Band("validity".into(), b.clone());
        }
        // A bare value: it takes its meaning from what is expected here.
        match expected {
            Some(Type::Level) if self.sym.levels.contains(name) => return Type::Level,
            Some(Type::Enum(vs)) if vs.contains(name) => return Type::Enum(vs.clone()),
            Some(Type::Band(b, vs)) if vs.contains(name) => {
                return Type::Band(b.clone(), vs.clone());
            }
            Some(Type::List(inner)) => {
                if let Some(t) = self.bare_in(name, inner) {
                    return t;
                }
            }
            Some(Type::Error) => return Type::Error,
            _ => {}
        }
        if expected.is_none() && self.sym.levels.contains(name) {
            return Type::Level;
        }
        let mut cands: Vec<String> = self.sym.facts.keys().cloned().collect();
        cands.extend(self.sym.params.keys().cloned());
        cands.extend(self.sym.decisions.keys().cloned());
        match expected {
            Some(t @ (Type::Enum(_) | Type::Band(..))) => {
                let vs = t.symbols().unwrap_or_default().to_vec();
                let suggestion = suggest(name, vs.iter());
                let help = match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the values allowed here are: {}", vs.join(", ")),
                };
                self.error(
                    "undefined-name",
                    span,
                    format!("`{name}` is not a value of {t}"),
                    "not one of the values",
                    help,
                );
            }
            Some(Type::Level) => {
                let levels = self.sym.levels.clone();
                self.undefined(
                    "priority level",
                    "undefined-level",
                    first,
                    levels,
                    "use a level of the `scale` line",
                );
            }
            _ => self.undefined(
                "name",
                "undefined-name",
                first,
                cands,
                "declare it in `facts` or `params`, or check the spelling",
            ),
        }
        Type::Error
    }

    fn bare_in(&self, name: &str, inner: &Type) -> Option<Type> {
        match inner {
            Type::Level if self.sym.levels.iter().any(|l| l == name) => Some(Type::Level),
            Type::Enum(vs) if vs.iter().any(|v| v == name) => Some(Type::Enum(vs.clone())),
            Type::Band(b, vs) if vs.iter().any(|v| v == name) => {
                Some(Type::Band(b.clone(), vs.clone()))
            }
            _ => None,
        }
    }

    fn call(&mut self, f: &Name, args: &[Expr], span: Span) -> Type {
        let arity = |cx: &mut Self, n: usize| {
            if args.len() != n {
                cx.error(
                    "bad-argument",
                    span,
                    format!(
                        "`{}` takes {n} argument{}, given {}",
                        f.text,
                        if n == 1 { "" } else { "s" },
                        args.len()
                    ),
                    "wrong number of arguments",
                    format!("write `{}({})`", f.text, if n == 1 { "x" } else { "a, b" }),
                );
                false
            } else {
                true
            }
        };
        match f.text.as_str() {
            "target" => {
                if arity(self, 1) {
                    match &args[0].kind {
                        ExprKind::Path(p)
                            if p.len() == 1 && self.sym.target_kinds.contains(&p[0].text) => {}
                        ExprKind::Path(p) if p.len() == 1 => {
                            let c = self.sym.target_kinds.iter().cloned().collect();
                            self.undefined(
                                "target",
                                "undefined-target",
                                &p[0],
                                c,
                                "declare it in `priority` with `target LEVEL KIND within DURATION`",
                            );
                        }
                        _ => self.mismatch(
                            args[0].span,
                            "`target` takes the name of a target, e.g. `target(attend)`".into(),
                        ),
                    }
                }
                Type::Duration
            }
            "len" => {
                if arity(self, 1) {
                    let t = self.expr(&args[0], None);
                    if !matches!(t, Type::List(_) | Type::Text | Type::Error) {
                        self.mismatch(
                            args[0].span,
                            format!("`len` needs a list or text, found {t}"),
                        );
                    }
                }
                Type::Int
            }
            "min" | "max" => {
                if !arity(self, 2) {
                    return Type::Error;
                }
                let a = self.expr(&args[0], None);
                let b = self.expr(&args[1], Some(&a));
                if !a.is_ordered() || !(a.accepts(&b) || b.accepts(&a)) {
                    self.mismatch(
                        args[1].span,
                        format!(
                            "`{}` needs two values of one ordered type, found {a} and {b}",
                            f.text
                        ),
                    );
                    return Type::Error;
                }
                if a == Type::Int && b == Type::Decimal {
                    b
                } else {
                    a
                }
            }
            _ => {
                for a in args {
                    self.expr(a, None);
                }
                let c = ["target", "len", "min", "max"]
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                self.undefined(
                    "function",
                    "undefined-name",
                    f,
                    c,
                    "the functions are target(KIND), len(LIST), min(A, B) and max(A, B)",
                );
                Type::Error
            }
        }
    }
}

fn literal_type_of(l: &Literal) -> Type {
    match l {
        Literal::Bool(_) => Type::Bool,
        Literal::Unknown => Type::Error,
        Literal::Int(_) => Type::Int,
        Literal::Decimal(_) => Type::Decimal,
        Literal::Str(_) => Type::Text,
        Literal::Duration(..) => Type::Duration,
        Literal::Date(_) => Type::Date,
        Literal::Timestamp(_) => Type::Timestamp,
    }
}

fn literal_type(e: &Expr) -> Type {
    match &e.kind {
        ExprKind::Literal(l) => literal_type_of(l),
        _ => Type::Error,
    }
}

/// The type implied by a set of output values: numbers, text, or bare names (an enum).
fn infer_cells<'e>(cells: impl Iterator<Item = &'e Expr>) -> Type {
    let mut names: Vec<String> = Vec::new();
    let mut ty: Option<Type> = None;
    for c in cells {
        match &c.kind {
            ExprKind::Path(p) if p.len() == 1 => {
                if !names.contains(&p[0].text) {
                    names.push(p[0].text.clone());
                }
            }
            ExprKind::Literal(l) => {
                let t = literal_type_of(l);
                ty = Some(match ty {
                    Some(Type::Int) if t == Type::Decimal => Type::Decimal,
                    Some(prev) => prev,
                    None => t,
                });
            }
            _ => return Type::Error,
        }
    }
    match (ty, names.is_empty()) {
        (Some(t), true) => t,
        (None, false) => Type::Enum(names),
        _ => Type::Error,
    }
}
