//! The typed syntax tree of a procedure file.
//!
//! Value types only: every node carries its [`Span`]; no names are resolved here,
//! no semantics, no graph. Comments live beside the tree (see [`Comment`]) so that
//! `fmt` can put them back.

mod lower;

use serde::Serialize;

pub use lower::{RESERVED, lower, parse_duration};

use crate::source::Span;

/// A name as written, with its place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

/// A string literal (unescaped value).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Str {
    pub value: String,
    pub span: Span,
}

/// `##` doc comment lines, without the `##`.
pub type Docs = Vec<String>;

/// A `#` comment kept for `fmt`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FileKind {
    Procedure,
    Library,
}

/// A whole `.proc` file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct File {
    pub kind: FileKind,
    pub docs: Docs,
    pub id: Name,
    pub title: Option<Str>,
    pub header: Vec<HeaderItem>,
    pub sections: Vec<Section>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum HeaderItem {
    Title(Str),
    Version(Str),
    Owner(Str),
    Effective {
        from: Literal,
        until: Option<Literal>,
        span: Span,
    },
    Applies(Expr),
    Use(Str),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Section {
    Facts {
        items: Vec<FactItem>,
        span: Span,
    },
    Params {
        items: Vec<Param>,
        span: Span,
    },
    Roles {
        items: Vec<Role>,
        span: Span,
    },
    Resources {
        items: Vec<Resource>,
        span: Span,
    },
    Calendar(Calendar),
    Clock(Clock),
    Validity {
        indicators: Vec<Indicator>,
        bands: Bands,
        span: Span,
    },
    Priority(Priority),
    Decisions {
        items: Vec<DecisionDef>,
        span: Span,
    },
    Ends {
        items: Vec<Declared>,
        span: Span,
    },
    Events {
        items: Vec<Declared>,
        span: Span,
    },
    Flow {
        body: Vec<Stmt>,
        span: Span,
    },
    Constraints {
        items: Vec<Constraint>,
        span: Span,
    },
    Standards {
        items: Vec<Standard>,
        span: Span,
    },
    Exemptions {
        items: Vec<Exemption>,
        span: Span,
    },
    Mapping {
        items: Vec<MapItem>,
        span: Span,
    },
    Links {
        items: Vec<Link>,
        span: Span,
    },
}

// ---------------------------------------------------------------- facts and types

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum FactItem {
    Type {
        docs: Docs,
        name: Name,
        ty: TypeExpr,
        span: Span,
    },
    Fact(FactDecl),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FactDecl {
    pub docs: Docs,
    pub name: Name,
    pub ty: TypeExpr,
    /// `or unknown [counts as V]`: the fact is three-valued.
    pub unknown: Option<UnknownClause>,
    pub optional: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnknownClause {
    pub counts_as: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scalar {
    Bool,
    Int,
    Decimal,
    Text,
    Duration,
    Timestamp,
    Date,
}

impl Scalar {
    pub fn keyword(self) -> &'static str {
        match self {
            Scalar::Bool => "bool",
            Scalar::Int => "int",
            Scalar::Decimal => "decimal",
            Scalar::Text => "text",
            Scalar::Duration => "duration",
            Scalar::Timestamp => "timestamp",
            Scalar::Date => "date",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TypeExpr {
    Scalar(Scalar, Span),
    Enum(Vec<Name>, Span),
    List(Box<TypeExpr>, Span),
    Code(Str),
    Named(Name),
}

impl TypeExpr {
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Scalar(_, s) | TypeExpr::Enum(_, s) | TypeExpr::List(_, s) => *s,
            TypeExpr::Code(s) => s.span,
            TypeExpr::Named(n) => n.span,
        }
    }
}

// ---------------------------------------------------------------- params, roles, resources

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    pub docs: Docs,
    pub name: Name,
    pub ty: Option<TypeExpr>,
    pub value: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Role {
    pub docs: Docs,
    pub name: Name,
    pub title: Option<Str>,
    pub reports_to: Option<Name>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    pub docs: Docs,
    pub name: Name,
    pub title: Option<Str>,
    pub capabilities: Vec<Name>,
    pub count: Option<u32>,
    pub span: Span,
}

/// A name declared with an optional title: end states and events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Declared {
    pub docs: Docs,
    pub name: Name,
    pub title: Option<Str>,
    pub span: Span,
}

// ---------------------------------------------------------------- calendars and clocks

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calendar {
    pub docs: Docs,
    pub name: Name,
    pub items: Vec<CalendarItem>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum CalendarItem {
    Timezone(Str),
    Hours {
        from_day: Name,
        to_day: Option<Name>,
        open: String,
        close: String,
        span: Span,
    },
    Holiday {
        date: Literal,
        title: Option<Str>,
        span: Span,
    },
    Cutoff {
        after: String,
        span: Span,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clock {
    pub docs: Docs,
    pub name: Name,
    pub items: Vec<ClockItem>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ClockItem {
    Starts(Anchor, Span),
    Stops(Anchor, Span),
    Pauses { from: Name, until: Name, span: Span },
    Calendar(Name, Span),
}

// ---------------------------------------------------------------- assessment

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    pub docs: Docs,
    pub name: Name,
    /// The weight as written, e.g. `+40`.
    pub weight: String,
    pub when: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bands {
    pub bands: Vec<Band>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    pub name: Name,
    /// `>= 40`: comparison and the bound as written.
    pub bound: Option<(CmpOp, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CmpOp {
    Ge,
    Gt,
    Le,
    Lt,
}

impl CmpOp {
    pub fn text(self) -> &'static str {
        match self {
            CmpOp::Ge => ">=",
            CmpOp::Gt => ">",
            CmpOp::Le => "<=",
            CmpOp::Lt => "<",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Priority {
    pub scale: Vec<Level>,
    pub scale_span: Span,
    pub items: Vec<PriorityItem>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Level {
    pub name: Name,
    pub title: Option<Str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum PriorityItem {
    Target(TargetDecl),
    Override(Override),
    Regrade {
        direction: RegradeDir,
        requires: Option<Vec<Requirement>>,
        span: Span,
    },
    Combine(CombineRule, Span),
    Method(DecisionDef),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetDecl {
    pub level: Name,
    pub entries: Vec<(Name, Expr)>,
    pub when: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Override {
    pub docs: Docs,
    /// `override at least L`: raises a lower result to L, never lowers a higher one.
    pub at_least: bool,
    pub level: Name,
    pub when: Expr,
    pub requires: Option<Vec<Requirement>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Requirement {
    Role(Name),
    Reason(Span),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RegradeDir {
    Up,
    Down,
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CombineRule {
    Highest,
    Lowest,
    First,
}

/// A decision table, matrix or weighted score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum DecisionDef {
    Table(Table),
    Matrix(Matrix),
    Score(Score),
}

impl DecisionDef {
    pub fn name(&self) -> &Name {
        match self {
            DecisionDef::Table(t) => &t.name,
            DecisionDef::Matrix(m) => &m.name,
            DecisionDef::Score(s) => &s.name,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CollectOp {
    Max,
    Min,
    Sum,
    Count,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum HitPolicy {
    Unique,
    First,
    Priority,
    Any,
    RuleOrder,
    OutputOrder,
    Collect(Option<CollectOp>),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub docs: Docs,
    pub name: Name,
    pub hit: HitPolicy,
    pub columns: Vec<Column>,
    pub header_span: Span,
    pub rows: Vec<Row>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Column {
    Input(Expr),
    Output {
        name: Name,
        ty: Option<TypeExpr>,
        span: Span,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Cell {
    /// `-`: matches anything.
    Any(Span),
    /// One or more tests; the cell matches when any test does.
    Tests(Vec<CellTest>, Span),
}

impl Cell {
    pub fn span(&self) -> Span {
        match self {
            Cell::Any(s) | Cell::Tests(_, s) => *s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellTest {
    pub negated: bool,
    pub kind: TestKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TestKind {
    Range(Expr, Expr),
    Compare(CmpOp, Expr),
    Equals(Expr),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matrix {
    pub docs: Docs,
    pub name: Name,
    pub rows_by: Expr,
    pub cols_by: Expr,
    pub corner: Option<String>,
    pub col_values: Vec<Expr>,
    pub header_span: Span,
    pub rows: Vec<MatrixRow>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatrixRow {
    pub key: Expr,
    pub cells: Vec<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub docs: Docs,
    pub name: Name,
    pub indicators: Vec<Indicator>,
    pub bands: Bands,
    pub span: Span,
}

// ---------------------------------------------------------------- flow

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StepKind {
    Step,
    Inform,
    Instruct,
}

impl StepKind {
    pub fn keyword(self) -> &'static str {
        match self {
            StepKind::Step => "step",
            StepKind::Inform => "inform",
            StepKind::Instruct => "instruct",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Stmt {
    Step(Step),
    Monitor(Monitor),
    Call(Call),
    Decide(Decide),
    Parallel(Parallel),
    Repeat(Repeat),
    Goto {
        docs: Docs,
        target: Name,
        span: Span,
    },
    End {
        docs: Docs,
        state: Name,
        span: Span,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub docs: Docs,
    pub kind: StepKind,
    pub name: Name,
    pub title: Option<Str>,
    pub optional: bool,
    pub attrs: Vec<StepAttr>,
    /// The first line only.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum EscalateTrigger {
    /// Percentage of the step's time limit, as written (`75`).
    Percent(String),
    After(Expr),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum StepAttr {
    Within {
        limit: Expr,
        of: Option<Anchor>,
        on: Option<Name>,
        span: Span,
    },
    Needs {
        count: u32,
        resource: Name,
        capabilities: Vec<Name>,
        span: Span,
    },
    By(Vec<Name>, Span),
    Records(Vec<Name>, Span),
    Outcomes(Vec<Name>, Span),
    Escalate {
        trigger: EscalateTrigger,
        to: Vec<Name>,
        when: Option<Expr>,
        span: Span,
    },
    To(Vec<Name>, Span),
    Responsibilities(Vec<Name>, Span),
    Ack(Expr, Span),
    Actions(Vec<Name>, Span),
}

impl StepAttr {
    pub fn span(&self) -> Span {
        match self {
            StepAttr::Within { span, .. }
            | StepAttr::Needs { span, .. }
            | StepAttr::Escalate { span, .. }
            | StepAttr::By(_, span)
            | StepAttr::Records(_, span)
            | StepAttr::Outcomes(_, span)
            | StepAttr::To(_, span)
            | StepAttr::Responsibilities(_, span)
            | StepAttr::Ack(_, span)
            | StepAttr::Actions(_, span) => *span,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Monitor {
    pub docs: Docs,
    pub name: Name,
    pub every: Expr,
    pub first_within: Option<Expr>,
    pub after: Option<Anchor>,
    pub until: Anchor,
    pub attrs: Vec<StepAttr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Call {
    pub docs: Docs,
    pub procedure: Name,
    pub alias: Option<Name>,
    pub args: Vec<(Name, Expr)>,
    pub attrs: Vec<StepAttr>,
    pub span: Span,
}

impl Call {
    /// The step name the call is known by: its alias or the procedure's last segment.
    pub fn step_name(&self) -> Name {
        self.alias.clone().unwrap_or_else(|| Name {
            text: self
                .procedure
                .text
                .rsplit('.')
                .next()
                .unwrap_or(&self.procedure.text)
                .to_string(),
            span: self.procedure.span,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decide {
    pub docs: Docs,
    pub name: Name,
    pub subject: Option<Expr>,
    pub branches: Vec<Branch>,
    pub otherwise: Option<(BranchBody, Span)>,
    pub span: Span,
    pub end_span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Branch {
    pub tests: Vec<CellTest>,
    pub body: BranchBody,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum BranchBody {
    Goto(Name),
    Block(Vec<Stmt>),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parallel {
    pub docs: Docs,
    pub name: Option<Name>,
    pub branches: Vec<ParBranch>,
    pub span: Span,
    pub end_span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParBranch {
    pub label: Option<Str>,
    pub body: Vec<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Repeat {
    pub docs: Docs,
    pub name: Option<Name>,
    pub max: Option<u32>,
    pub body: Vec<Stmt>,
    pub until: Expr,
    pub span: Span,
    pub until_span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AnchorPos {
    First,
    Last,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Anchor {
    Ref {
        pos: Option<AnchorPos>,
        name: Name,
        span: Span,
    },
    EarliestOf(Vec<Anchor>, Span),
    LatestOf(Vec<Anchor>, Span),
}

impl Anchor {
    pub fn span(&self) -> Span {
        match self {
            Anchor::Ref { span, .. } | Anchor::EarliestOf(_, span) | Anchor::LatestOf(_, span) => {
                *span
            }
        }
    }

    /// Every step or event name the anchor mentions.
    pub fn names(&self) -> Vec<&Name> {
        match self {
            Anchor::Ref { name, .. } => vec![name],
            Anchor::EarliestOf(xs, _) | Anchor::LatestOf(xs, _) => {
                xs.iter().flat_map(Anchor::names).collect()
            }
        }
    }
}

// ---------------------------------------------------------------- constraints, standards, exemptions

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Constraint {
    pub docs: Docs,
    pub name: Name,
    pub kind: ConstraintKind,
    pub when: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CountKind {
    Exactly,
    AtLeast,
    AtMost,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ConstraintKind {
    Response {
        first: Name,
        then: Name,
        within: Option<Expr>,
    },
    Precedence {
        first: Name,
        then: Name,
    },
    Absence(Name),
    Count {
        kind: CountKind,
        n: u32,
        step: Name,
    },
    NotCoexist(Name, Name),
    Actor {
        different: bool,
        a: Name,
        b: Name,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standard {
    pub docs: Docs,
    pub name: Name,
    pub measure: Measure,
    pub from: Anchor,
    pub to: Anchor,
    pub filter: Option<Expr>,
    pub excluding: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Statistic {
    Mean,
    Median,
    Max,
    /// `90th centile`: the ordinal as written.
    Centile(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Measure {
    /// `90% within 10s`: the share as written and the limit.
    Share { percent: String, within: Expr },
    Stat {
        stat: Statistic,
        op: CmpOp,
        limit: Expr,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exemption {
    pub docs: Docs,
    pub name: Name,
    pub title: Option<Str>,
    pub waives: Vec<Name>,
    pub on: Name,
    pub requires: Option<Vec<Requirement>>,
    pub span: Span,
}

// ---------------------------------------------------------------- mapping and links

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum MapItem {
    /// `activity "X" -> step`; `None` target means `ignore`.
    Activity {
        label: Str,
        target: Option<Name>,
        span: Span,
    },
    Attribute {
        column: Str,
        field: Name,
        span: Span,
    },
    Value {
        fact: Name,
        raw: Str,
        value: Expr,
        span: Span,
    },
    /// `timezone "Europe/London"`: the zone of zone-less timestamps in the log.
    Timezone { zone: Str, span: Span },
    /// `timestamp format "%d/%m/%Y %H:%M"`: the strftime format of the log's timestamps.
    TimestampFormat { format: Str, span: Span },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub docs: Docs,
    pub name: Name,
    pub via: Name,
    /// `Some(true)` inherited, `Some(false)` independent.
    pub clock_inherited: Option<bool>,
    pub span: Span,
}

// ---------------------------------------------------------------- expressions

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Literal {
    Bool(bool),
    Unknown,
    Int(i64),
    /// Kept as written, so that formatting never changes a number.
    Decimal(String),
    Str(String),
    /// Milliseconds, and the text as written (`24h` stays `24h`).
    Duration(i64, String),
    /// `YYYY-MM-DD`
    Date(String),
    /// RFC 3339 as written.
    Timestamp(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Matches,
    Add,
    Sub,
    Mul,
    Div,
}

impl BinaryOp {
    pub fn text(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::NotIn => "not in",
            BinaryOp::Matches => "matches",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }

    /// Binding strength; higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In
            | BinaryOp::NotIn
            | BinaryOp::Matches => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div => 6,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ExprKind {
    Literal(Literal),
    /// A name or dotted path: a fact, param, decision, enum value or scale level.
    Path(Vec<Name>),
    Call(Name, Vec<Expr>),
    OutcomeOf(Name),
    List(Vec<Expr>),
    Range(Box<Expr>, Box<Expr>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `x is missing` (`negated`: `x is not missing`).
    IsMissing {
        operand: Box<Expr>,
        negated: bool,
    },
}

/// The parsed file and its comments.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub file: File,
    pub comments: Vec<Comment>,
}
