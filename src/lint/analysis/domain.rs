//! Sets of possible values: finite sets of names, and unions of numeric intervals.

use std::collections::{BTreeMap, BTreeSet};

use super::{Const, Cx, Dom};
use crate::ast::{BinaryOp, CellTest, CmpOp, Expr, ExprKind, Literal, TestKind, UnaryOp};

/// What kind of number: integers and durations (milliseconds) are whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumKind {
    Int,
    Decimal,
    Duration,
}

/// Formats a number of a kind: durations as `1h30m`, others as written.
pub fn num_text(n: f64, k: NumKind) -> String {
    if k == NumKind::Duration && n.is_finite() && n >= 0.0 {
        let mut ms = n as i64;
        if ms == 0 {
            return "0s".into();
        }
        let mut out = String::new();
        for (unit, size) in [
            ("w", 604_800_000),
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
            ("ms", 1),
        ] {
            if ms >= size {
                out.push_str(&format!("{}{unit}", ms / size));
                ms %= size;
            }
        }
        return out;
    }
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// An interval with open or closed ends; infinite ends are open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub lo: f64,
    pub lo_in: bool,
    pub hi: f64,
    pub hi_in: bool,
}

impl Interval {
    pub fn point(n: f64) -> Interval {
        Interval {
            lo: n,
            lo_in: true,
            hi: n,
            hi_in: true,
        }
    }

    pub fn all() -> Interval {
        Interval {
            lo: f64::NEG_INFINITY,
            lo_in: false,
            hi: f64::INFINITY,
            hi_in: false,
        }
    }

    /// The values `op n` selects: `>= 3` is `[3, ∞)`.
    pub fn cmp(op: CmpOp, n: f64) -> Interval {
        let mut i = Interval::all();
        match op {
            CmpOp::Ge | CmpOp::Gt => {
                i.lo = n;
                i.lo_in = op == CmpOp::Ge;
            }
            CmpOp::Le | CmpOp::Lt => {
                i.hi = n;
                i.hi_in = op == CmpOp::Le;
            }
        }
        i
    }

    fn is_empty(&self) -> bool {
        self.lo > self.hi || (self.lo == self.hi && !(self.lo_in && self.hi_in))
    }

    fn intersect(&self, o: &Interval) -> Interval {
        let (lo, lo_in) = if self.lo > o.lo {
            (self.lo, self.lo_in)
        } else if o.lo > self.lo {
            (o.lo, o.lo_in)
        } else {
            (self.lo, self.lo_in && o.lo_in)
        };
        let (hi, hi_in) = if self.hi < o.hi {
            (self.hi, self.hi_in)
        } else if o.hi < self.hi {
            (o.hi, o.hi_in)
        } else {
            (self.hi, self.hi_in && o.hi_in)
        };
        Interval {
            lo,
            lo_in,
            hi,
            hi_in,
        }
    }
}

/// A union of disjoint intervals, sorted; whole-numbered when the kind says so.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalSet {
    pub kind: NumKind,
    pub parts: Vec<Interval>,
}

impl IntervalSet {
    pub fn all(kind: NumKind) -> IntervalSet {
        IntervalSet {
            kind,
            parts: vec![Interval::all()],
        }
    }

    pub fn empty(kind: NumKind) -> IntervalSet {
        IntervalSet {
            kind,
            parts: Vec::new(),
        }
    }

    pub fn of(kind: NumKind, i: Interval) -> IntervalSet {
        IntervalSet {
            kind,
            parts: vec![i],
        }
        .normal()
    }

    fn whole(&self) -> bool {
        self.kind != NumKind::Decimal
    }

    /// Sorts, closes whole-number bounds, drops empties and merges neighbours.
    fn normal(mut self) -> IntervalSet {
        if self.whole() {
            for p in &mut self.parts {
                if p.lo.is_finite() {
                    let lo = if p.lo_in {
                        p.lo.ceil()
                    } else {
                        (p.lo + 1.0).floor()
                    };
                    p.lo = lo;
                    p.lo_in = true;
                }
                if p.hi.is_finite() {
                    let hi = if p.hi_in {
                        p.hi.floor()
                    } else {
                        (p.hi - 1.0).ceil()
                    };
                    p.hi = hi;
                    p.hi_in = true;
                }
            }
        }
        self.parts.retain(|p| !p.is_empty());
        self.parts
            .sort_by(|a, b| a.lo.total_cmp(&b.lo).then(b.lo_in.cmp(&a.lo_in)));
        let whole = self.whole();
        let mut out: Vec<Interval> = Vec::new();
        for p in self.parts {
            if let Some(last) = out.last_mut() {
                let touches = p.lo < last.hi
                    || (p.lo == last.hi && (p.lo_in || last.hi_in))
                    || (whole && p.lo == last.hi + 1.0);
                if touches {
                    if p.hi > last.hi {
                        last.hi = p.hi;
                        last.hi_in = p.hi_in;
                    } else if p.hi == last.hi {
                        last.hi_in |= p.hi_in;
                    }
                    continue;
                }
            }
            out.push(p);
        }
        IntervalSet {
            kind: self.kind,
            parts: out,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    pub fn intersect(&self, o: &IntervalSet) -> IntervalSet {
        let mut parts = Vec::new();
        for a in &self.parts {
            for b in &o.parts {
                parts.push(a.intersect(b));
            }
        }
        IntervalSet {
            kind: self.kind,
            parts,
        }
        .normal()
    }

    pub fn complement(&self) -> IntervalSet {
        let mut parts = Vec::new();
        let mut lo = f64::NEG_INFINITY;
        let mut lo_in = false;
        for p in &self.parts {
            parts.push(Interval {
                lo,
                lo_in,
                hi: p.lo,
                hi_in: !p.lo_in && p.lo.is_finite(),
            });
            lo = p.hi;
            lo_in = !p.hi_in && p.hi.is_finite();
        }
        parts.push(Interval {
            lo,
            lo_in,
            hi: f64::INFINITY,
            hi_in: false,
        });
        IntervalSet {
            kind: self.kind,
            parts,
        }
        .normal()
    }

    pub fn union(&self, o: &IntervalSet) -> IntervalSet {
        let mut parts = self.parts.clone();
        parts.extend(o.parts.iter().copied());
        IntervalSet {
            kind: self.kind,
            parts,
        }
        .normal()
    }

    pub fn minus(&self, o: &IntervalSet) -> IntervalSet {
        self.intersect(&o.complement())
    }

    /// One value in the set, preferring a bound that is written in the procedure.
    pub fn sample(&self) -> Option<f64> {
        let p = self.parts.first()?;
        Some(match (p.lo.is_finite(), p.hi.is_finite()) {
            (false, false) => 0.0,
            (true, _) if p.lo_in => p.lo,
            (false, true) if p.hi_in => p.hi,
            (false, true) => p.hi - 1.0,
            (true, false) => p.lo + 1.0,
            (true, true) => (p.lo + p.hi) / 2.0,
        })
    }

    /// A readable description: `>= 3`, `< 10`, `3..9`, `5`.
    pub fn describe(&self) -> String {
        self.parts
            .iter()
            .map(|p| {
                let t = |n| num_text(n, self.kind);
                match (p.lo.is_finite(), p.hi.is_finite()) {
                    (false, false) => "any value".to_string(),
                    (true, false) => format!("{} {}", if p.lo_in { ">=" } else { ">" }, t(p.lo)),
                    (false, true) => format!("{} {}", if p.hi_in { "<=" } else { "<" }, t(p.hi)),
                    (true, true) if p.lo == p.hi => t(p.lo),
                    (true, true) => format!(
                        "{}{}..{}{}",
                        if p.lo_in { "" } else { "> " },
                        t(p.lo),
                        t(p.hi),
                        if p.hi_in { "" } else { " (exclusive)" }
                    ),
                }
            })
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// A set of possible values.
#[derive(Debug, Clone, PartialEq)]
pub enum Vals {
    Finite(BTreeSet<String>),
    Num(IntervalSet),
}

impl Vals {
    pub fn is_empty(&self) -> bool {
        match self {
            Vals::Finite(s) => s.is_empty(),
            Vals::Num(n) => n.is_empty(),
        }
    }

    pub fn intersect(&self, o: &Vals) -> Vals {
        match (self, o) {
            (Vals::Finite(a), Vals::Finite(b)) => {
                Vals::Finite(a.intersection(b).cloned().collect())
            }
            (Vals::Num(a), Vals::Num(b)) => Vals::Num(a.intersect(b)),
            _ => self.clone(),
        }
    }

    pub fn minus(&self, o: &Vals) -> Vals {
        match (self, o) {
            (Vals::Finite(a), Vals::Finite(b)) => Vals::Finite(a.difference(b).cloned().collect()),
            (Vals::Num(a), Vals::Num(b)) => Vals::Num(a.minus(b)),
            _ => self.clone(),
        }
    }

    pub fn union(&self, o: &Vals) -> Vals {
        match (self, o) {
            (Vals::Finite(a), Vals::Finite(b)) => Vals::Finite(a.union(b).cloned().collect()),
            (Vals::Num(a), Vals::Num(b)) => Vals::Num(a.union(b)),
            _ => self.clone(),
        }
    }

    /// Whether every value of `o` is in `self`.
    pub fn contains_all(&self, o: &Vals) -> bool {
        o.minus(self).is_empty()
    }

    /// A readable list of the values, in domain order for finite sets.
    pub fn describe(&self, order: &[String]) -> String {
        match self {
            Vals::Finite(s) => {
                let mut v: Vec<&String> = order.iter().filter(|x| s.contains(*x)).collect();
                v.extend(s.iter().filter(|x| !order.contains(x)));
                v.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
            }
            Vals::Num(n) => n.describe(),
        }
    }

    /// One value of the set, as text.
    pub fn sample_text(&self, order: &[String]) -> Option<String> {
        match self {
            Vals::Finite(s) => order
                .iter()
                .find(|x| s.contains(*x))
                .or_else(|| s.iter().next())
                .cloned(),
            Vals::Num(n) => n.sample().map(|x| num_text(x, n.kind)),
        }
    }
}

/// What is known at a point: the possible values of some subjects. A subject that
/// is absent may take any value of its domain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Env(pub BTreeMap<String, Vals>);

impl Env {
    pub fn get(&self, key: &str) -> Option<&Vals> {
        self.0.get(key)
    }

    /// Values where both are possible: the union per subject known in both.
    pub fn join(a: Option<Env>, b: Option<Env>) -> Option<Env> {
        match (a, b) {
            (None, x) | (x, None) => x,
            (Some(a), Some(b)) => {
                let mut out = BTreeMap::new();
                for (k, va) in a.0 {
                    if let Some(vb) = b.0.get(&k) {
                        out.insert(k, va.union(vb));
                    }
                }
                Some(Env(out))
            }
        }
    }

    /// Restricts a subject to `set` (or to its complement when `keep` is false).
    /// `None` when no value is left.
    pub fn restrict(&self, key: &str, full: &Vals, set: &Vals, keep: bool) -> Option<Env> {
        let cur = self.0.get(key).cloned().unwrap_or_else(|| full.clone());
        let next = if keep {
            cur.intersect(set)
        } else {
            cur.minus(set)
        };
        if next.is_empty() {
            return None;
        }
        let mut env = self.clone();
        env.0.insert(key.to_string(), next);
        Some(env)
    }
}

impl Cx<'_> {
    /// The values of `dom` one cell test selects (ignoring `not`), when known.
    pub fn test_set(&self, t: &CellTest, dom: &Dom) -> Option<Vals> {
        match (dom, &t.kind) {
            (Dom::Finite(vs), TestKind::Equals(e)) if bare_in(e, vs).is_some() => {
                Some(Vals::Finite(bare_in(e, vs).into_iter().collect()))
            }
            (Dom::Finite(_), TestKind::Equals(e)) => match self.const_of(e)? {
                Const::Sym(s) => Some(Vals::Finite([s].into_iter().collect())),
                _ => None,
            },
            (Dom::Numeric(k), TestKind::Equals(e)) => match self.const_of(e)? {
                Const::Num(n, _) => Some(Vals::Num(IntervalSet::of(*k, Interval::point(n)))),
                _ => None,
            },
            (Dom::Numeric(k), TestKind::Compare(op, e)) => match self.const_of(e)? {
                Const::Num(n, _) => Some(Vals::Num(IntervalSet::of(*k, Interval::cmp(*op, n)))),
                _ => None,
            },
            (Dom::Numeric(k), TestKind::Range(a, b)) => {
                match (self.const_of(a)?, self.const_of(b)?) {
                    (Const::Num(a, _), Const::Num(b, _)) => Some(Vals::Num(IntervalSet::of(
                        *k,
                        Interval {
                            lo: a,
                            lo_in: true,
                            hi: b,
                            hi_in: true,
                        },
                    ))),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The values a cell (tests joined by `,`: any may match) selects, `not` applied.
    pub fn cell_set(&self, tests: &[CellTest], dom: &Dom) -> Option<Vals> {
        let full = self.full(dom)?;
        let mut acc: Option<Vals> = None;
        for t in tests {
            let s = self.test_set(t, dom)?;
            let s = if t.negated { full.minus(&s) } else { s };
            acc = Some(match acc {
                None => s,
                Some(a) => a.union(&s),
            });
        }
        acc
    }

    /// Restricts `env` to where `cond` evaluates to `want`; `None` when it never can.
    pub fn refine(&self, env: &Env, cond: &Expr, want: bool) -> Option<Env> {
        match &cond.kind {
            ExprKind::Literal(Literal::Bool(b)) => (*b == want).then(|| env.clone()),
            ExprKind::Unary(UnaryOp::Not, inner) => self.refine(env, inner, !want),
            ExprKind::Binary(BinaryOp::And, l, r) => {
                if want {
                    let e = self.refine(env, l, true)?;
                    self.refine(&e, r, true)
                } else {
                    Env::join(self.refine(env, l, false), self.refine(env, r, false))
                }
            }
            ExprKind::Binary(BinaryOp::Or, l, r) => {
                if want {
                    Env::join(self.refine(env, l, true), self.refine(env, r, true))
                } else {
                    let e = self.refine(env, l, false)?;
                    self.refine(&e, r, false)
                }
            }
            ExprKind::Binary(op, l, r) => {
                let is_value = |x: &Expr, other: &Expr| {
                    self.const_of(x).is_some()
                        || matches!(self.dom_of(other), Dom::Finite(vs) if bare_in(x, &vs).is_some())
                };
                let (subject, value, op) = if is_value(r, l) && !is_value(l, r) {
                    (l, r, *op)
                } else if is_value(l, r) && !is_value(r, l) {
                    (r, l, flip(*op))
                } else {
                    return Some(env.clone());
                };
                let dom = self.dom_of(subject);
                let Some(full) = self.full(&dom) else {
                    return Some(env.clone());
                };
                let key = self.key_of(subject);
                let test = |kind: TestKind| CellTest {
                    negated: false,
                    kind,
                    span: cond.span,
                };
                let (set, keep) = match op {
                    BinaryOp::Eq => (
                        self.test_set(&test(TestKind::Equals((**value).clone())), &dom),
                        want,
                    ),
                    BinaryOp::Ne => (
                        self.test_set(&test(TestKind::Equals((**value).clone())), &dom),
                        !want,
                    ),
                    BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                        let c = match op {
                            BinaryOp::Lt => CmpOp::Lt,
                            BinaryOp::Le => CmpOp::Le,
                            BinaryOp::Gt => CmpOp::Gt,
                            _ => CmpOp::Ge,
                        };
                        (
                            self.test_set(&test(TestKind::Compare(c, (**value).clone())), &dom),
                            want,
                        )
                    }
                    _ => (None, want),
                };
                match set {
                    Some(s) => env.restrict(&key, &full, &s, keep),
                    None => Some(env.clone()),
                }
            }
            _ => self.refine_membership(env, cond, want),
        }
    }

    fn refine_membership(&self, env: &Env, cond: &Expr, want: bool) -> Option<Env> {
        // `x in [a, b]`, `x not in [..]`, `x in 1..5` parse as binary In/NotIn.
        if let ExprKind::Binary(op @ (BinaryOp::In | BinaryOp::NotIn), l, r) = &cond.kind {
            let dom = self.dom_of(l);
            let Some(full) = self.full(&dom) else {
                return Some(env.clone());
            };
            let tests: Vec<CellTest> = match &r.kind {
                ExprKind::List(xs) => xs
                    .iter()
                    .map(|x| CellTest {
                        negated: false,
                        kind: TestKind::Equals(x.clone()),
                        span: x.span,
                    })
                    .collect(),
                ExprKind::Range(a, b) => vec![CellTest {
                    negated: false,
                    kind: TestKind::Range((**a).clone(), (**b).clone()),
                    span: r.span,
                }],
                _ => return Some(env.clone()),
            };
            let keep = want == (*op == BinaryOp::In);
            return match self.cell_set(&tests, &dom) {
                Some(s) => env.restrict(&self.key_of(l), &full, &s, keep),
                None => Some(env.clone()),
            };
        }
        // A bare boolean subject: `threat_to_life`.
        if matches!(cond.kind, ExprKind::Path(_))
            && let Dom::Finite(vs) = self.dom_of(cond)
            && vs == ["true", "false"]
        {
            let full = Vals::Finite(vs.into_iter().collect());
            let set = Vals::Finite(["true".to_string()].into_iter().collect());
            return env.restrict(&self.key_of(cond), &full, &set, want);
        }
        Some(env.clone())
    }
}

/// A bare name that is one of the domain's values (`priority` the level, not the keyword).
fn bare_in(e: &Expr, values: &[String]) -> Option<String> {
    match &e.kind {
        ExprKind::Path(parts) if parts.len() == 1 && values.contains(&parts[0].text) => {
            Some(parts[0].text.clone())
        }
        _ => None,
    }
}

fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Le => BinaryOp::Ge,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Ge => BinaryOp::Le,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_intervals_close_and_merge() {
        let a = IntervalSet::of(NumKind::Int, Interval::cmp(CmpOp::Gt, 2.0));
        let b = IntervalSet::of(NumKind::Int, Interval::cmp(CmpOp::Lt, 3.0));
        assert!(a.intersect(&b).is_empty());
        let c = a.union(&b);
        assert_eq!(c, IntervalSet::all(NumKind::Int));
        let d = IntervalSet::of(NumKind::Decimal, Interval::cmp(CmpOp::Gt, 2.0)).intersect(
            &IntervalSet::of(NumKind::Decimal, Interval::cmp(CmpOp::Lt, 3.0)),
        );
        assert!(!d.is_empty());
        let ge5 = IntervalSet::of(NumKind::Int, Interval::cmp(CmpOp::Ge, 5.0));
        assert_eq!(ge5.complement().describe(), "<= 4");
        assert_eq!(num_text(5_400_000.0, NumKind::Duration), "1h30m");
    }
}
