//! Analyses shared by several rules: value domains of facts, conditions as
//! restrictions of those domains, the flow walked with what is known at each
//! statement, decision tables, and durations.
//!
//! Everything here over-approximates: a set of possible values may be larger than
//! the truth, never smaller. So "impossible" and "not covered" conclusions are
//! sound; rules report them, and say nothing when the analysis cannot tell.
//!
//! Facts are taken as fixed for one incident: a decision on `priority` holds for
//! the statements inside its branch even if the call is regraded later.

pub mod domain;
pub mod flow;
pub mod table;

use std::collections::BTreeMap;

use crate::ast::{self, BinaryOp, Expr, ExprKind, Literal, PriorityItem, Section, UnaryOp};
use crate::model::{Procedure, Type};

pub use domain::{Env, Interval, IntervalSet, NumKind, Vals};

/// A constant value of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Const {
    /// An enum value, level, band or `true`/`false`.
    Sym(String),
    /// A number; durations in milliseconds.
    Num(f64, NumKind),
    Str(String),
}

impl Const {
    pub fn text(&self) -> String {
        match self {
            Const::Sym(s) => s.clone(),
            Const::Num(n, k) => domain::num_text(*n, *k),
            Const::Str(s) => format!("\"{s}\""),
        }
    }
}

/// The finite or numeric domain of a subject.
#[derive(Debug, Clone, PartialEq)]
pub enum Dom {
    Finite(Vec<String>),
    Numeric(NumKind),
    Opaque,
}

/// Level → target kind → (limit in ms, the target's `when` text).
pub type Targets = BTreeMap<String, BTreeMap<String, Vec<(f64, Option<String>)>>>;

/// Procedure-wide facts the analyses need: symbols, parameter constants, targets.
pub struct Cx<'p> {
    pub p: &'p Procedure,
    params: BTreeMap<String, Const>,
    pub targets: Targets,
}

impl<'p> Cx<'p> {
    pub fn new(p: &'p Procedure) -> Cx<'p> {
        let mut cx = Cx {
            p,
            params: BTreeMap::new(),
            targets: BTreeMap::new(),
        };
        let file = p.ast();
        for s in &file.sections {
            if let Section::Params { items, .. } = s {
                for item in items {
                    if let Some(v) = &item.value
                        && let Some(c) = cx.literal(v)
                    {
                        cx.params.insert(item.name.text.clone(), c);
                    }
                }
            }
        }
        let mut targets: Targets = BTreeMap::new();
        for s in &file.sections {
            if let Section::Priority(pr) = s {
                for item in &pr.items {
                    if let PriorityItem::Target(t) = item {
                        for (kind, e) in &t.entries {
                            if let Some(Const::Num(ms, NumKind::Duration)) = cx.const_of(e) {
                                targets
                                    .entry(t.level.text.clone())
                                    .or_default()
                                    .entry(kind.text.clone())
                                    .or_default()
                                    .push((ms, t.when.as_ref().map(crate::fmt::expr_to_string)));
                            }
                        }
                    }
                }
            }
        }
        cx.targets = targets;
        cx
    }

    fn literal(&self, e: &Expr) -> Option<Const> {
        match &e.kind {
            ExprKind::Literal(l) => match l {
                Literal::Bool(b) => Some(Const::Sym(b.to_string())),
                Literal::Int(i) => Some(Const::Num(*i as f64, NumKind::Int)),
                Literal::Decimal(d) => d.parse().ok().map(|n| Const::Num(n, NumKind::Decimal)),
                Literal::Duration(ms, _) => Some(Const::Num(*ms as f64, NumKind::Duration)),
                Literal::Str(s) => Some(Const::Str(s.clone())),
                Literal::Unknown | Literal::Date(_) | Literal::Timestamp(_) => None,
            },
            ExprKind::Unary(UnaryOp::Neg, inner) => match self.literal(inner)? {
                Const::Num(n, k) => Some(Const::Num(-n, k)),
                _ => None,
            },
            _ => None,
        }
    }

    /// The constant an expression denotes: a literal, a constant parameter, or a
    /// bare name that is not a fact, parameter or decision (an enum value or level).
    pub fn const_of(&self, e: &Expr) -> Option<Const> {
        if let Some(c) = self.literal(e) {
            return Some(c);
        }
        match &e.kind {
            ExprKind::Path(parts) if parts.len() == 1 => {
                let n = &parts[0].text;
                if let Some(c) = self.params.get(n) {
                    return Some(c.clone());
                }
                let sym = &self.p.symbols;
                if sym.facts.contains_key(n)
                    || sym.params.contains_key(n)
                    || sym.decisions.contains_key(n)
                    || n == "priority"
                    || n == "validity"
                {
                    return None;
                }
                Some(Const::Sym(n.clone()))
            }
            _ => None,
        }
    }

    /// The key under which a subject's possible values are tracked.
    pub fn key_of(&self, e: &Expr) -> String {
        match &e.kind {
            ExprKind::Path(parts) => parts
                .iter()
                .map(|p| p.text.as_str())
                .collect::<Vec<_>>()
                .join("."),
            ExprKind::OutcomeOf(n) => format!("outcome of {}", n.text),
            _ => crate::fmt::expr_to_string(e),
        }
    }

    /// The static type of a subject, when it can be told without the checker.
    pub fn type_of(&self, e: &Expr) -> Option<Type> {
        let sym = &self.p.symbols;
        match &e.kind {
            ExprKind::Path(parts) if parts.len() == 1 => {
                let n = &parts[0].text;
                if n == "priority" {
                    return Some(Type::Level);
                }
                if n == "validity" {
                    return sym
                        .validity_bands
                        .clone()
                        .map(|b| Type::Band("validity".into(), b));
                }
                if let Some(f) = sym.facts.get(n) {
                    return Some(f.ty.clone());
                }
                if let Some(t) = sym.params.get(n) {
                    return Some(t.clone());
                }
                sym.decisions
                    .get(n)
                    .and_then(|outs| (outs.len() == 1).then(|| outs[0].1.clone()))
            }
            ExprKind::Path(parts) if parts.len() == 2 => sym
                .decisions
                .get(&parts[0].text)
                .and_then(|outs| outs.iter().find(|o| o.0 == parts[1].text))
                .map(|o| o.1.clone()),
            ExprKind::OutcomeOf(n) => sym
                .steps
                .get(&n.text)
                .filter(|s| !s.outcomes.is_empty())
                .map(|s| Type::Enum(s.outcomes.clone())),
            ExprKind::Binary(
                BinaryOp::And
                | BinaryOp::Or
                | BinaryOp::Eq
                | BinaryOp::Ne
                | BinaryOp::Lt
                | BinaryOp::Le
                | BinaryOp::Gt
                | BinaryOp::Ge
                | BinaryOp::In
                | BinaryOp::NotIn
                | BinaryOp::Matches,
                _,
                _,
            ) => Some(Type::Bool),
            ExprKind::Unary(UnaryOp::Not, _) | ExprKind::IsMissing { .. } => Some(Type::Bool),
            _ => None,
        }
    }

    /// The domain of a type.
    pub fn dom_of_type(&self, t: &Type) -> Dom {
        match t {
            Type::Bool => Dom::Finite(vec!["true".into(), "false".into()]),
            Type::Enum(vs) | Type::Band(_, vs) => Dom::Finite(vs.clone()),
            Type::Level => Dom::Finite(self.p.symbols.levels.clone()),
            Type::Int => Dom::Numeric(NumKind::Int),
            Type::Decimal => Dom::Numeric(NumKind::Decimal),
            Type::Duration => Dom::Numeric(NumKind::Duration),
            _ => Dom::Opaque,
        }
    }

    /// The domain of a subject expression.
    pub fn dom_of(&self, e: &Expr) -> Dom {
        self.type_of(e)
            .map_or(Dom::Opaque, |t| self.dom_of_type(&t))
    }

    /// Every value a subject can take, as a set.
    pub fn full(&self, dom: &Dom) -> Option<Vals> {
        match dom {
            Dom::Finite(vs) => Some(Vals::Finite(vs.iter().cloned().collect())),
            Dom::Numeric(k) => Some(Vals::Num(IntervalSet::all(*k))),
            Dom::Opaque => None,
        }
    }

    /// The possible values of a duration expression where the priority may be any
    /// of `levels`: each value with the level it belongs to (for `target(KIND)`).
    pub fn durations(&self, e: &Expr, levels: &[String]) -> Vec<(f64, Option<String>)> {
        if let Some(Const::Num(ms, NumKind::Duration)) = self.const_of(e) {
            return vec![(ms, None)];
        }
        if let ExprKind::Call(f, args) = &e.kind
            && f.text == "target"
            && let [arg] = args.as_slice()
            && let ExprKind::Path(parts) = &arg.kind
        {
            let kind = &parts[0].text;
            let mut out = Vec::new();
            for l in levels {
                if let Some(vs) = self.targets.get(l).and_then(|k| k.get(kind)) {
                    out.extend(vs.iter().map(|(ms, _)| (*ms, Some(l.clone()))));
                }
            }
            return out;
        }
        Vec::new()
    }

    /// The levels possible under an environment.
    pub fn levels(&self, env: &Env) -> Vec<String> {
        match env.get("priority") {
            Some(Vals::Finite(s)) => self
                .p
                .symbols
                .levels
                .iter()
                .filter(|l| s.contains(*l))
                .cloned()
                .collect(),
            _ => self.p.symbols.levels.clone(),
        }
    }
}

/// Every `Expr` in the file, with nothing skipped: used to find references.
pub fn for_each_expr(file: &ast::File, f: &mut dyn FnMut(&Expr)) {
    visit::file(file, f);
}

mod visit;

/// Names referred to anywhere in expressions of the file (paths, first segment and
/// full text, `outcome of` steps, `target` kinds and function names excluded).
pub fn referenced_names(file: &ast::File) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    visit::file(file, &mut |e: &Expr| collect_names(e, &mut out));
    out
}

fn collect_names(e: &Expr, out: &mut std::collections::BTreeSet<String>) {
    if let ExprKind::Path(parts) = &e.kind
        && let Some(first) = parts.first()
    {
        out.insert(first.text.clone());
    }
}

/// Every decision table, matrix and score of the file, with whether it is a
/// priority method.
pub fn decisions(file: &ast::File) -> Vec<(&ast::DecisionDef, bool)> {
    let mut out = Vec::new();
    for s in &file.sections {
        match s {
            Section::Priority(p) => {
                for item in &p.items {
                    if let PriorityItem::Method(d) = item {
                        out.push((d, true));
                    }
                }
            }
            Section::Decisions { items, .. } => out.extend(items.iter().map(|d| (d, false))),
            _ => {}
        }
    }
    out
}

/// A score's bands against the totals its indicators can add up to.
pub struct BandModel {
    /// The score's name (`validity` for the validity section).
    pub name: String,
    /// Per band: name, its span, and the totals it takes (after earlier bands).
    pub bands: Vec<(String, crate::source::Span, IntervalSet)>,
    /// Every total the indicators can reach (each fires or not), with the
    /// indicators that make it; `None` when there are too many to list.
    pub totals: Option<Vec<(f64, Vec<String>)>>,
    /// The lowest and highest possible totals.
    pub range: (f64, f64),
    /// Totals no band takes.
    pub uncovered: IntervalSet,
}

/// Builds the band model of the validity section or a score.
pub fn band_model(name: &str, indicators: &[ast::Indicator], bands: &ast::Bands) -> BandModel {
    let weights: Vec<(String, f64)> = indicators
        .iter()
        .map(|i| (i.name.text.clone(), i.weight.parse::<f64>().unwrap_or(0.0)))
        .collect();
    let lo: f64 = weights.iter().map(|w| w.1.min(0.0)).sum();
    let hi: f64 = weights.iter().map(|w| w.1.max(0.0)).sum();
    let totals = (weights.len() <= 16).then(|| {
        let mut seen: BTreeMap<i64, (f64, Vec<String>)> = BTreeMap::new();
        for mask in 0u32..(1u32 << weights.len()) {
            let mut sum = 0.0;
            let mut names = Vec::new();
            for (i, (n, w)) in weights.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    sum += w;
                    names.push(n.clone());
                }
            }
            let key = (sum * 1000.0).round() as i64;
            let better = seen
                .get(&key)
                .is_none_or(|(_, old)| names.len() < old.len());
            if better {
                seen.insert(key, (sum, names));
            }
        }
        seen.into_values().collect()
    });
    let mut taken = IntervalSet::empty(NumKind::Decimal);
    let mut out = Vec::new();
    for b in &bands.bands {
        let own = match &b.bound {
            Some((op, n)) => match n.parse::<f64>() {
                Ok(n) => IntervalSet::of(NumKind::Decimal, Interval::cmp(*op, n)),
                Err(_) => IntervalSet::all(NumKind::Decimal),
            },
            None => IntervalSet::all(NumKind::Decimal),
        };
        out.push((b.name.text.clone(), b.name.span, own.minus(&taken)));
        taken = taken.union(&own);
    }
    BandModel {
        name: name.to_string(),
        bands: out,
        totals,
        range: (lo, hi),
        uncovered: taken.complement(),
    }
}

impl BandModel {
    /// Whether a total is possible.
    pub fn reaches(&self, set: &IntervalSet) -> Option<(f64, Vec<String>)> {
        match &self.totals {
            Some(ts) => ts
                .iter()
                .find(|(t, _)| {
                    !set.intersect(&IntervalSet::of(NumKind::Decimal, Interval::point(*t)))
                        .is_empty()
                })
                .cloned(),
            None => {
                let range = IntervalSet::of(
                    NumKind::Decimal,
                    Interval {
                        lo: self.range.0,
                        lo_in: true,
                        hi: self.range.1,
                        hi_in: true,
                    },
                );
                set.intersect(&range).sample().map(|x| (x, Vec::new()))
            }
        }
    }
}

/// Calls `f` on an expression and every sub-expression.
pub fn for_each_sub_expr(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    visit::expr(e, f);
}
