//! A procedure's assessment rules compiled for fast evaluation: facts become
//! slots, names become indices, constants are folded, and every rule keeps the
//! source line that explanations cite.

use std::collections::BTreeMap;

use super::value::Value;
use crate::ast::{
    self, BinaryOp, CmpOp, DecisionDef, ExprKind, HitPolicy, Literal, PriorityItem, Section,
    TestKind, UnaryOp,
};
use crate::model::{Procedure, Type};

#[derive(Debug, Clone)]
pub(crate) enum CExpr {
    Const(Value),
    Fact(usize),
    IsUnknown(usize),
    IsMissing(usize, bool),
    Priority,
    Validity,
    Decision(usize, usize),
    Target(String),
    Not(Box<CExpr>),
    And(Box<CExpr>, Box<CExpr>),
    Or(Box<CExpr>, Box<CExpr>),
    Neg(Box<CExpr>),
    Cmp(BinaryOp, Box<CExpr>, Box<CExpr>),
    In(Box<CExpr>, Box<CExpr>, bool),
    Matches(Box<CExpr>, String),
    Arith(BinaryOp, Box<CExpr>, Box<CExpr>),
    List(Vec<CExpr>),
    Range(Box<CExpr>, Box<CExpr>),
    Len(Box<CExpr>),
    MinMax(bool, Box<CExpr>, Box<CExpr>),
    /// `outcome of STEP`: known only when checking a recorded case.
    Outcome(String),
}

#[derive(Debug, Clone)]
pub(crate) enum CTest {
    Eq(CExpr),
    Cmp(CmpOp, CExpr),
    Range(CExpr, CExpr),
    Pattern(String),
}

#[derive(Debug, Clone)]
pub(crate) struct CRow {
    /// `None` for `-`; otherwise tests of which any may match, each with its negation.
    pub cells: Vec<Option<Vec<(bool, CTest)>>>,
    pub outputs: Vec<Value>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct CTable {
    pub hit: HitPolicy,
    pub inputs: Vec<CExpr>,
    pub input_names: Vec<String>,
    pub outputs: Vec<(String, Type)>,
    pub rows: Vec<CRow>,
}

#[derive(Debug, Clone)]
pub(crate) struct CMatrix {
    pub rows_by: CExpr,
    pub cols_by: CExpr,
    pub rows_name: String,
    pub cols_name: String,
    pub col_values: Vec<Value>,
    pub rows: Vec<(Value, Vec<Value>, usize)>,
}

#[derive(Debug, Clone)]
pub(crate) struct CIndicator {
    pub name: String,
    pub weight: f64,
    pub when: CExpr,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct CScore {
    pub indicators: Vec<CIndicator>,
    /// Band name and its bound (comparison, number); the last may have none.
    pub bands: Vec<(String, Option<(CmpOp, f64)>)>,
    pub bands_line: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum CMethodKind {
    Table(CTable),
    Matrix(CMatrix),
    Score(CScore),
}

#[derive(Debug, Clone)]
pub(crate) struct CMethod {
    pub name: String,
    pub kind: CMethodKind,
    pub line: usize,
}

impl CExpr {
    /// Whether the expression reads the validity band.
    pub(crate) fn reads_validity(&self) -> bool {
        match self {
            CExpr::Validity => true,
            CExpr::Not(x) | CExpr::Neg(x) | CExpr::Len(x) | CExpr::Matches(x, _) => {
                x.reads_validity()
            }
            CExpr::And(a, b)
            | CExpr::Or(a, b)
            | CExpr::Cmp(_, a, b)
            | CExpr::In(a, b, _)
            | CExpr::Arith(_, a, b)
            | CExpr::Range(a, b)
            | CExpr::MinMax(_, a, b) => a.reads_validity() || b.reads_validity(),
            CExpr::List(xs) => xs.iter().any(CExpr::reads_validity),
            _ => false,
        }
    }
}

impl CTest {
    fn reads_validity(&self) -> bool {
        match self {
            CTest::Eq(e) | CTest::Cmp(_, e) => e.reads_validity(),
            CTest::Range(a, b) => a.reads_validity() || b.reads_validity(),
            CTest::Pattern(_) => false,
        }
    }
}

impl CMethod {
    /// Whether the method reads the validity band (then it runs after validity).
    pub(crate) fn reads_validity(&self) -> bool {
        match &self.kind {
            CMethodKind::Table(t) => {
                t.inputs.iter().any(CExpr::reads_validity)
                    || t.rows.iter().any(|r| {
                        r.cells
                            .iter()
                            .flatten()
                            .flatten()
                            .any(|(_, t)| t.reads_validity())
                    })
            }
            CMethodKind::Matrix(m) => m.rows_by.reads_validity() || m.cols_by.reads_validity(),
            CMethodKind::Score(sc) => sc.indicators.iter().any(|i| i.when.reads_validity()),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct COverride {
    pub level: usize,
    pub at_least: bool,
    pub when: CExpr,
    pub requires: Vec<String>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct CTarget {
    pub level: usize,
    pub kind: String,
    pub limit: CExpr,
    pub when: Option<CExpr>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct FactSlot {
    pub name: String,
    pub shared_name: std::sync::Arc<str>,
    pub ty: Type,
    pub optional: bool,
    pub three_valued: bool,
    pub unknown_as: Option<Value>,
}

/// The compiled assessment rules of one procedure.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(crate) facts: Vec<FactSlot>,
    pub(crate) fact_index: BTreeMap<String, usize>,
    pub(crate) applies: Option<CExpr>,
    pub(crate) validity: Option<CScore>,
    pub(crate) levels: Vec<String>,
    pub(crate) overrides: Vec<COverride>,
    pub(crate) methods: Vec<CMethod>,
    pub(crate) combine: ast::CombineRule,
    pub(crate) targets: Vec<CTarget>,
    pub(crate) decisions: Vec<CMethod>,
    /// Input column → fact name, from the procedure's `mapping`.
    pub(crate) columns: BTreeMap<String, String>,
    /// (fact, raw text) → value text, from `value` mapping lines.
    pub(crate) values: BTreeMap<String, BTreeMap<String, String>>,
    pub(crate) id: String,
    pub(crate) version: Option<String>,
    /// Parameter values and decision names, to compile flow expressions later.
    pub(crate) params: BTreeMap<String, Value>,
    pub(crate) decision_names: BTreeMap<String, (usize, Vec<String>)>,
}

struct Compiler<'p> {
    p: &'p Procedure,
    fact_index: BTreeMap<String, usize>,
    params: BTreeMap<String, Value>,
    decisions: BTreeMap<String, (usize, Vec<String>)>,
}

fn line(p: &Procedure, span: crate::source::Span) -> usize {
    p.unit.source.line_col(span.start).0
}

fn literal(l: &Literal) -> Value {
    match l {
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Unknown => Value::Unknown,
        Literal::Int(i) => Value::Int(*i),
        Literal::Decimal(d) => d.parse().map_or(Value::Missing, Value::Decimal),
        Literal::Str(s) => Value::Text(s.clone()),
        Literal::Duration(ms, _) => Value::Duration(*ms),
        Literal::Date(d) => {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_or(Value::Missing, Value::Date)
        }
        Literal::Timestamp(t) => {
            super::value::parse_timestamp(t).map_or(Value::Missing, Value::Timestamp)
        }
    }
}

fn number(text: &str) -> f64 {
    text.trim_start_matches('+').parse().unwrap_or(0.0)
}

impl Compiler<'_> {
    fn expr(&self, e: &ast::Expr) -> CExpr {
        match &e.kind {
            ExprKind::Literal(l) => CExpr::Const(literal(l)),
            ExprKind::Path(parts) => {
                let name = &parts[0].text;
                if parts.len() == 1 {
                    if let Some(&i) = self.fact_index.get(name) {
                        return CExpr::Fact(i);
                    }
                    if let Some(v) = self.params.get(name) {
                        return CExpr::Const(v.clone());
                    }
                    if let Some((i, _)) = self.decisions.get(name) {
                        return CExpr::Decision(*i, 0);
                    }
                    if name == "priority" && !self.p.symbols.levels.is_empty() {
                        return CExpr::Priority;
                    }
                    if name == "validity" && self.p.symbols.validity_bands.is_some() {
                        return CExpr::Validity;
                    }
                    return CExpr::Const(Value::Symbol(name.clone()));
                }
                match self.decisions.get(name) {
                    Some((i, outs)) => CExpr::Decision(
                        *i,
                        outs.iter().position(|o| *o == parts[1].text).unwrap_or(0),
                    ),
                    None => CExpr::Const(Value::Missing),
                }
            }
            ExprKind::Call(f, args) => match (f.text.as_str(), args.as_slice()) {
                ("target", [a]) => match &a.kind {
                    ExprKind::Path(p) => CExpr::Target(p[0].text.clone()),
                    _ => CExpr::Const(Value::Missing),
                },
                ("len", [a]) => CExpr::Len(Box::new(self.expr(a))),
                ("min", [a, b]) => {
                    CExpr::MinMax(false, Box::new(self.expr(a)), Box::new(self.expr(b)))
                }
                ("max", [a, b]) => {
                    CExpr::MinMax(true, Box::new(self.expr(a)), Box::new(self.expr(b)))
                }
                _ => CExpr::Const(Value::Missing),
            },
            // Step outcomes are recorded events; assessment runs on facts alone.
            ExprKind::OutcomeOf(step) => CExpr::Outcome(step.text.clone()),
            ExprKind::List(xs) => CExpr::List(xs.iter().map(|x| self.expr(x)).collect()),
            ExprKind::Range(a, b) => CExpr::Range(Box::new(self.expr(a)), Box::new(self.expr(b))),
            ExprKind::Unary(UnaryOp::Not, x) => CExpr::Not(Box::new(self.expr(x))),
            ExprKind::Unary(UnaryOp::Neg, x) => CExpr::Neg(Box::new(self.expr(x))),
            ExprKind::IsMissing { operand, negated } => match &operand.kind {
                ExprKind::Path(p) => match self.fact_index.get(&p[0].text) {
                    Some(&i) => CExpr::IsMissing(i, *negated),
                    None => CExpr::Const(Value::Bool(*negated)),
                },
                _ => CExpr::Const(Value::Bool(*negated)),
            },
            ExprKind::Binary(op, l, r) => {
                // `fact == unknown` asks about the recorded value, before the unknown policy.
                if matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
                    let fact_vs_unknown = match (&l.kind, &r.kind) {
                        (ExprKind::Path(p), ExprKind::Literal(Literal::Unknown))
                        | (ExprKind::Literal(Literal::Unknown), ExprKind::Path(p)) => {
                            self.fact_index.get(&p[0].text).copied()
                        }
                        _ => None,
                    };
                    if let Some(i) = fact_vs_unknown {
                        let test = CExpr::IsUnknown(i);
                        return if *op == BinaryOp::Eq {
                            test
                        } else {
                            CExpr::Not(Box::new(test))
                        };
                    }
                }
                let (a, b) = (Box::new(self.expr(l)), Box::new(self.expr(r)));
                match op {
                    BinaryOp::And => CExpr::And(a, b),
                    BinaryOp::Or => CExpr::Or(a, b),
                    BinaryOp::In => CExpr::In(a, b, false),
                    BinaryOp::NotIn => CExpr::In(a, b, true),
                    BinaryOp::Matches => match &r.kind {
                        ExprKind::Literal(Literal::Str(p)) => CExpr::Matches(a, p.clone()),
                        _ => CExpr::Const(Value::Missing),
                    },
                    BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => {
                        CExpr::Arith(*op, a, b)
                    }
                    _ => CExpr::Cmp(*op, a, b),
                }
            }
        }
    }

    /// A table output or matrix value: a bare name is a symbol (an enum value or a level,
    /// even one called `priority`), a parameter its value, anything else a constant.
    fn value_of(&self, e: &ast::Expr) -> Value {
        match &e.kind {
            ExprKind::Path(parts) if parts.len() == 1 => match self.params.get(&parts[0].text) {
                Some(v) => v.clone(),
                None => Value::Symbol(parts[0].text.clone()),
            },
            _ => const_value(&self.expr(e)),
        }
    }

    fn cell(&self, cell: &ast::Cell, ty: &Type) -> Option<Vec<(bool, CTest)>> {
        match cell {
            ast::Cell::Any(_) => None,
            ast::Cell::Tests(tests, _) => Some(
                tests
                    .iter()
                    .map(|t| {
                        let test = match &t.kind {
                            TestKind::Equals(e) => match (ty, &e.kind) {
                                (Type::Code(_), ExprKind::Literal(Literal::Str(p))) => {
                                    CTest::Pattern(p.clone())
                                }
                                _ => CTest::Eq(self.expr(e)),
                            },
                            TestKind::Compare(op, e) => CTest::Cmp(*op, self.expr(e)),
                            TestKind::Range(a, b) => CTest::Range(self.expr(a), self.expr(b)),
                        };
                        (t.negated, test)
                    })
                    .collect(),
            ),
        }
    }

    fn expr_type(&self, e: &ast::Expr) -> Type {
        match &e.kind {
            ExprKind::Path(p) if p.len() == 1 => self
                .p
                .symbols
                .facts
                .get(&p[0].text)
                .map_or(Type::Error, |f| f.ty.clone()),
            _ => Type::Error,
        }
    }

    fn method(&self, d: &DecisionDef, outputs: Vec<(String, Type)>) -> CMethod {
        let p = self.p;
        match d {
            DecisionDef::Table(t) => {
                let mut inputs = Vec::new();
                let mut input_names = Vec::new();
                let mut input_types = Vec::new();
                for c in &t.columns {
                    if let ast::Column::Input(e) = c {
                        inputs.push(self.expr(e));
                        input_names.push(crate::fmt::expr_to_string(e));
                        input_types.push(self.expr_type(e));
                    }
                }
                let n_in = inputs.len();
                let rows = t
                    .rows
                    .iter()
                    .map(|r| CRow {
                        cells: r
                            .cells
                            .iter()
                            .take(n_in)
                            .zip(&input_types)
                            .map(|(c, ty)| self.cell(c, ty))
                            .collect(),
                        outputs: r
                            .cells
                            .iter()
                            .skip(n_in)
                            .map(|c| match c {
                                ast::Cell::Tests(ts, _) => match ts.first().map(|t| &t.kind) {
                                    Some(TestKind::Equals(e)) => self.value_of(e),
                                    _ => Value::Missing,
                                },
                                ast::Cell::Any(_) => Value::Missing,
                            })
                            .collect(),
                        line: line(p, r.span),
                    })
                    .collect();
                CMethod {
                    name: t.name.text.clone(),
                    kind: CMethodKind::Table(CTable {
                        hit: t.hit,
                        inputs,
                        input_names,
                        outputs,
                        rows,
                    }),
                    line: line(p, t.span),
                }
            }
            DecisionDef::Matrix(m) => CMethod {
                name: m.name.text.clone(),
                kind: CMethodKind::Matrix(CMatrix {
                    rows_by: self.expr(&m.rows_by),
                    cols_by: self.expr(&m.cols_by),
                    rows_name: crate::fmt::expr_to_string(&m.rows_by),
                    cols_name: crate::fmt::expr_to_string(&m.cols_by),
                    col_values: m.col_values.iter().map(|v| self.value_of(v)).collect(),
                    rows: m
                        .rows
                        .iter()
                        .map(|r| {
                            (
                                self.value_of(&r.key),
                                r.cells.iter().map(|c| self.value_of(c)).collect(),
                                line(p, r.span),
                            )
                        })
                        .collect(),
                }),
                line: line(p, m.span),
            },
            DecisionDef::Score(s) => CMethod {
                name: s.name.text.clone(),
                kind: CMethodKind::Score(self.score(&s.indicators, &s.bands)),
                line: line(p, s.span),
            },
        }
    }

    fn score(&self, indicators: &[ast::Indicator], bands: &ast::Bands) -> CScore {
        CScore {
            indicators: indicators
                .iter()
                .map(|i| CIndicator {
                    name: i.name.text.clone(),
                    weight: number(&i.weight),
                    when: self.expr(&i.when),
                    line: line(self.p, i.span),
                })
                .collect(),
            bands: bands
                .bands
                .iter()
                .map(|b| {
                    (
                        b.name.text.clone(),
                        b.bound.as_ref().map(|(op, n)| (*op, number(n))),
                    )
                })
                .collect(),
            bands_line: line(self.p, bands.span),
        }
    }
}

/// A constant's value; bare names are symbols.
fn const_value(e: &CExpr) -> Value {
    match e {
        CExpr::Const(v) => v.clone(),
        CExpr::Neg(x) => match const_value(x) {
            Value::Int(i) => Value::Int(-i),
            Value::Decimal(d) => Value::Decimal(-d),
            other => other,
        },
        _ => Value::Missing,
    }
}

impl Plan {
    /// Compiles the assessment rules of a built procedure.
    pub fn new(p: &Procedure) -> Plan {
        let mut facts = Vec::new();
        let mut fact_index = BTreeMap::new();
        // Facts from used libraries are in `symbols`; declared order follows the symbol table.
        let unknown_policies = collect_unknown_policies(p);
        for (name, info) in &p.symbols.facts {
            fact_index.insert(name.clone(), facts.len());
            facts.push(FactSlot {
                name: name.clone(),
                shared_name: std::sync::Arc::from(name.as_str()),
                ty: info.ty.clone(),
                optional: info.optional,
                three_valued: info.three_valued,
                unknown_as: unknown_policies.get(name).cloned(),
            });
        }
        let mut c = Compiler {
            p,
            fact_index: fact_index.clone(),
            params: BTreeMap::new(),
            decisions: BTreeMap::new(),
        };
        let file = p.ast();
        for s in &file.sections {
            if let Section::Params { items, .. } = s {
                for prm in items {
                    let v = prm
                        .value
                        .as_ref()
                        .map_or(Value::Missing, |e| const_value(&c.expr(e)));
                    c.params.insert(prm.name.text.clone(), v);
                }
            }
        }
        let mut decisions = Vec::new();
        for s in &file.sections {
            if let Section::Decisions { items, .. } = s {
                for d in items {
                    let outputs = p
                        .symbols
                        .decisions
                        .get(&d.name().text)
                        .cloned()
                        .unwrap_or_default();
                    let names = outputs.iter().map(|o| o.0.clone()).collect();
                    let m = c.method(d, outputs);
                    c.decisions
                        .insert(d.name().text.clone(), (decisions.len(), names));
                    decisions.push(m);
                }
            }
        }
        let mut plan = Plan {
            facts,
            fact_index,
            applies: None,
            validity: None,
            levels: p.symbols.levels.clone(),
            overrides: Vec::new(),
            methods: Vec::new(),
            combine: ast::CombineRule::Highest,
            targets: Vec::new(),
            decisions,
            columns: BTreeMap::new(),
            values: BTreeMap::new(),
            id: file.id.text.clone(),
            version: None,
            params: c.params.clone(),
            decision_names: c.decisions.clone(),
        };
        for h in &file.header {
            match h {
                ast::HeaderItem::Applies(e) => plan.applies = Some(c.expr(e)),
                ast::HeaderItem::Version(v) => plan.version = Some(v.value.clone()),
                _ => {}
            }
        }
        let level_index = |name: &str| plan.levels.iter().position(|l| l == name);
        for s in &file.sections {
            match s {
                Section::Validity {
                    indicators, bands, ..
                } => plan.validity = Some(c.score(indicators, bands)),
                Section::Priority(pr) => {
                    for item in &pr.items {
                        match item {
                            PriorityItem::Override(o) => {
                                if let Some(level) = level_index(&o.level.text) {
                                    let requires = o
                                        .requires
                                        .iter()
                                        .flatten()
                                        .map(|r| match r {
                                            ast::Requirement::Role(n) => format!("role {}", n.text),
                                            ast::Requirement::Reason(_) => "reason".to_string(),
                                        })
                                        .collect();
                                    plan.overrides.push(COverride {
                                        level,
                                        at_least: o.at_least,
                                        when: c.expr(&o.when),
                                        requires,
                                        line: line(p, o.span),
                                    });
                                }
                            }
                            PriorityItem::Target(t) => {
                                if let Some(level) = level_index(&t.level.text) {
                                    for (kind, e) in &t.entries {
                                        plan.targets.push(CTarget {
                                            level,
                                            kind: kind.text.clone(),
                                            limit: c.expr(e),
                                            when: t.when.as_ref().map(|w| c.expr(w)),
                                            line: line(p, t.span),
                                        });
                                    }
                                }
                            }
                            PriorityItem::Combine(rule, _) => plan.combine = *rule,
                            PriorityItem::Method(d) => {
                                let outputs = match d {
                                    DecisionDef::Table(t) => t
                                        .columns
                                        .iter()
                                        .filter_map(|col| match col {
                                            ast::Column::Output { name, .. } => {
                                                Some((name.text.clone(), Type::Level))
                                            }
                                            ast::Column::Input(_) => None,
                                        })
                                        .collect(),
                                    _ => vec![(d.name().text.clone(), Type::Level)],
                                };
                                plan.methods.push(c.method(d, outputs));
                            }
                            PriorityItem::Regrade { .. } => {}
                        }
                    }
                }
                Section::Mapping { items, .. } => {
                    for m in items {
                        match m {
                            ast::MapItem::Attribute { column, field, .. } => {
                                plan.columns
                                    .insert(column.value.clone(), field.text.clone());
                            }
                            ast::MapItem::Value {
                                fact, raw, value, ..
                            } => {
                                let v = crate::fmt::expr_to_string(value);
                                plan.values
                                    .entry(fact.text.clone())
                                    .or_default()
                                    .insert(raw.value.clone(), v);
                            }
                            ast::MapItem::Activity { .. }
                            | ast::MapItem::Timezone { .. }
                            | ast::MapItem::TimestampFormat { .. } => {}
                        }
                    }
                }
                _ => {}
            }
        }
        plan
    }

    /// Compiles an expression of the procedure's flow (a `decide` subject, a time
    /// limit, a `when` condition) against this plan's facts, parameters and decisions.
    pub(crate) fn compile_expr(&self, p: &Procedure, e: &ast::Expr) -> CExpr {
        self.compiler(p).expr(e)
    }

    /// Compiles the tests of one `when` of a `decide` (a cell, as in a table).
    pub(crate) fn compile_tests(
        &self,
        p: &Procedure,
        tests: &[ast::CellTest],
        subject: Option<&ast::Expr>,
    ) -> Vec<(bool, CTest)> {
        let c = self.compiler(p);
        let ty = subject.map_or(Type::Error, |s| c.expr_type(s));
        c.cell(
            &ast::Cell::Tests(tests.to_vec(), crate::source::Span::default()),
            &ty,
        )
        .unwrap_or_default()
    }

    fn compiler<'p>(&self, p: &'p Procedure) -> Compiler<'p> {
        Compiler {
            p,
            fact_index: self.fact_index.clone(),
            params: self.params.clone(),
            decisions: self.decision_names.clone(),
        }
    }

    /// The procedure's `version`, if it declares one.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The procedure's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Names of the facts in slot order.
    pub fn fact_names(&self) -> impl Iterator<Item = &str> {
        self.facts.iter().map(|f| f.name.as_str())
    }
}

fn collect_unknown_policies(p: &Procedure) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut files: Vec<&ast::File> = Vec::new();
    fn gather<'a>(u: &'a crate::model::Unit, files: &mut Vec<&'a ast::File>) {
        for (_, used) in &u.uses {
            gather(used, files);
        }
        if let Some(parsed) = &u.parsed {
            files.push(&parsed.file);
        }
    }
    gather(&p.unit, &mut files);
    for f in files {
        for s in &f.sections {
            let Section::Facts { items, .. } = s else {
                continue;
            };
            for item in items {
                let ast::FactItem::Fact(fd) = item else {
                    continue;
                };
                let Some(ast::UnknownClause {
                    counts_as: Some(v), ..
                }) = &fd.unknown
                else {
                    continue;
                };
                let value = match &v.kind {
                    ExprKind::Literal(l) => literal(l),
                    ExprKind::Path(parts) => Value::Symbol(parts[0].text.clone()),
                    _ => Value::Unknown,
                };
                out.insert(fd.name.text.clone(), value);
            }
        }
    }
    out
}
