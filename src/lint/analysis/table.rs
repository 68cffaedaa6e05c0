//! Decision tables as boxes over partitioned input domains.
//!
//! Each input column's domain is split into atoms: every value of an enum, bool,
//! level or band; for numbers and durations the points and open intervals between
//! the constants written in that column; for text and code columns whose cells
//! are plain values, each value and "anything else". A row is then a box (a set
//! of atoms per column), and gaps, overlaps and shadowed rows are exact box
//! computations. Columns with wildcard patterns or expressions the analysis
//! cannot read make the table "inexact": gaps and shadowing are then not
//! reported, and overlaps only when the patterns provably intersect.

use super::{Const, Cx, Dom, Interval, IntervalSet, NumKind, Vals, domain::num_text};
use crate::ast::{Cell, CellTest, Column, Table, TestKind};
use crate::fmt::expr_to_string;
use crate::model::Type;
use crate::source::Span;

#[derive(Debug, Clone)]
pub enum Atom {
    Sym(String),
    Num(Interval, NumKind),
    Lit(String),
    Other,
}

impl Atom {
    pub fn text(&self) -> String {
        match self {
            Atom::Sym(s) => s.clone(),
            Atom::Lit(s) => format!("\"{s}\""),
            Atom::Other => "(a value no row names)".into(),
            Atom::Num(i, k) => {
                let set = IntervalSet::of(*k, *i);
                set.sample().map_or_else(|| "?".into(), |x| num_text(x, *k))
            }
        }
    }
}

#[derive(Debug)]
pub struct ColModel {
    /// The column heading as written.
    pub name: String,
    pub atoms: Vec<Atom>,
    /// Plain patterns of a wildcard column (for overlap checks only).
    pub patterned: bool,
}

#[derive(Debug)]
pub struct RowModel {
    /// 1-based row number, as authors count.
    pub number: usize,
    pub span: Span,
    /// Per input column, which atoms the cell matches.
    pub sets: Vec<Vec<bool>>,
    /// Per input column, the cell's patterns when the column is patterned.
    pub patterns: Vec<Option<Vec<String>>>,
    pub outputs: Vec<String>,
}

#[derive(Debug)]
pub struct TableModel {
    pub cols: Vec<ColModel>,
    pub rows: Vec<RowModel>,
    /// Whether gaps and shadowing can be decided.
    pub exact: bool,
}

impl TableModel {
    /// An input no row matches, as one atom index per column.
    pub fn gap(&self) -> Option<Vec<usize>> {
        if !self.exact {
            return None;
        }
        let full: Vec<Vec<bool>> = self
            .cols
            .iter()
            .map(|c| vec![true; c.atoms.len()])
            .collect();
        let rows: Vec<&RowModel> = self.rows.iter().collect();
        match uncovered(&full, &rows, 0, &mut BUDGET.clone()) {
            Search::Found(w) => Some(w),
            Search::Covered | Search::GaveUp => None,
        }
    }

    /// Whether row `i` (0-based) is covered by the rows before it.
    pub fn shadowed(&self, i: usize) -> bool {
        if !self.exact {
            return false;
        }
        let row = &self.rows[i];
        let contains = |r: &RowModel| {
            r.sets
                .iter()
                .zip(&row.sets)
                .all(|(outer, inner)| inner.iter().zip(outer).all(|(x, o)| !*x || *o))
        };
        if self.rows[..i].iter().any(contains) {
            return true;
        }
        let rows: Vec<&RowModel> = self.rows[..i].iter().collect();
        matches!(
            uncovered(&row.sets, &rows, 0, &mut BUDGET.clone()),
            Search::Covered
        )
    }

    /// An input both rows match, one atom per column, when they overlap. For
    /// patterned columns the atom index is meaningless (`usize::MAX`).
    pub fn overlap(&self, a: usize, b: usize) -> Option<Vec<usize>> {
        let (ra, rb) = (&self.rows[a], &self.rows[b]);
        let mut out = Vec::new();
        for (c, col) in self.cols.iter().enumerate() {
            if col.patterned {
                match (&ra.patterns[c], &rb.patterns[c]) {
                    (Some(pa), Some(pb)) => {
                        if !pa.iter().any(|x| pb.iter().any(|y| patterns_meet(x, y))) {
                            return None;
                        }
                    }
                    // A negated pattern cell: cannot tell, so assume no overlap.
                    _ => return None,
                }
                out.push(usize::MAX);
                continue;
            }
            let common = (0..col.atoms.len()).find(|&i| ra.sets[c][i] && rb.sets[c][i])?;
            out.push(common);
        }
        Some(out)
    }

    /// `impact = low, urgency = high`
    pub fn describe(&self, point: &[usize]) -> String {
        self.cols
            .iter()
            .zip(point)
            .filter(|(c, _)| !c.patterned)
            .map(|(c, &i)| format!("{} = {}", c.name, c.atoms[i].text()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The same, leaving out columns where every row has `-`... and columns
    /// whose value does not matter for the rows given.
    pub fn describe_for(&self, point: &[usize], rows: &[usize]) -> String {
        let relevant: Vec<bool> = (0..self.cols.len())
            .map(|c| {
                self.cols[c].patterned
                    || rows
                        .iter()
                        .any(|&r| self.rows[r].sets[c].iter().any(|m| !m))
            })
            .collect();
        let parts: Vec<String> = self
            .cols
            .iter()
            .zip(point)
            .zip(&relevant)
            .filter(|((c, _), rel)| **rel && !c.patterned)
            .map(|((c, &i), _)| format!("{} = {}", c.name, c.atoms[i].text()))
            .collect();
        if parts.is_empty() {
            self.describe(point)
        } else {
            parts.join(", ")
        }
    }
}

/// How many cells the exact search may visit before it gives up (and reports nothing).
const BUDGET: usize = 200_000;

enum Search {
    Found(Vec<usize>),
    Covered,
    GaveUp,
}

fn uncovered(bx: &[Vec<bool>], rows: &[&RowModel], c: usize, budget: &mut usize) -> Search {
    if c == bx.len() {
        return if rows.is_empty() {
            Search::Found(Vec::new())
        } else {
            Search::Covered
        };
    }
    for (a, _) in bx[c].iter().enumerate().filter(|(_, m)| **m) {
        *budget = budget.saturating_sub(rows.len() + 1);
        if *budget == 0 {
            return Search::GaveUp;
        }
        let next: Vec<&RowModel> = rows.iter().copied().filter(|r| r.sets[c][a]).collect();
        if next.is_empty() {
            // Nothing matches here: complete the witness with any atom per column.
            let mut w = vec![a];
            for col in &bx[c + 1..] {
                match col.iter().position(|m| *m) {
                    Some(i) => w.push(i),
                    None => return Search::Covered,
                }
            }
            return Search::Found(w);
        }
        match uncovered(bx, &next, c + 1, budget) {
            Search::Found(mut rest) => {
                rest.insert(0, a);
                return Search::Found(rest);
            }
            Search::GaveUp => return Search::GaveUp,
            Search::Covered => {}
        }
    }
    Search::Covered
}

/// Whether two code or text patterns (`*` a whole part, `?` one character) can
/// match the same value. Different shapes are assumed to meet.
pub fn patterns_meet(a: &str, b: &str) -> bool {
    let split = |s: &str| -> Vec<String> {
        s.split(|c: char| !(c.is_alphanumeric() || c == '*' || c == '?'))
            .map(String::from)
            .collect()
    };
    let (sa, sb) = (split(a), split(b));
    if sa.len() != sb.len() {
        return true;
    }
    sa.iter().zip(&sb).all(|(x, y)| {
        x == "*"
            || y == "*"
            || (x.chars().count() == y.chars().count()
                && x.chars()
                    .zip(y.chars())
                    .all(|(p, q)| p == q || p == '?' || q == '?'))
    })
}

impl Cx<'_> {
    /// Builds the box model of a table.
    pub fn table_model(&self, t: &Table) -> TableModel {
        let mut exact = true;
        let inputs: Vec<(usize, &crate::ast::Expr)> = t
            .columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match c {
                Column::Input(e) => Some((i, e)),
                Column::Output { .. } => None,
            })
            .collect();
        let outputs: Vec<usize> = t
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c, Column::Output { .. }))
            .map(|(i, _)| i)
            .collect();
        let mut cols = Vec::new();
        // Per column: the set a cell selects (None = unreadable), or its patterns.
        let mut cell_sets: Vec<Vec<CellView>> = Vec::new();
        for &(ci, e) in &inputs {
            let dom = self.dom_of(e);
            let cells: Vec<&Cell> = t.rows.iter().filter_map(|r| r.cells.get(ci)).collect();
            let name = expr_to_string(e);
            match &dom {
                Dom::Finite(vs) => {
                    let views: Vec<CellView> = cells
                        .iter()
                        .map(|c| match c {
                            Cell::Any(_) => CellView::Any,
                            Cell::Tests(ts, _) => self
                                .cell_set(ts, &dom)
                                .map_or(CellView::Unknown, CellView::Set),
                        })
                        .collect();
                    cols.push(ColModel {
                        name,
                        atoms: vs.iter().map(|v| Atom::Sym(v.clone())).collect(),
                        patterned: false,
                    });
                    cell_sets.push(views);
                }
                Dom::Numeric(k) => {
                    let mut points: Vec<f64> = Vec::new();
                    for c in &cells {
                        if let Cell::Tests(ts, _) = c {
                            for tt in ts {
                                points.extend(self.test_constants(tt));
                            }
                        }
                    }
                    points.sort_by(f64::total_cmp);
                    points.dedup();
                    let mut atoms = Vec::new();
                    let mut lo = f64::NEG_INFINITY;
                    for &p in &points {
                        atoms.push(Interval {
                            lo,
                            lo_in: false,
                            hi: p,
                            hi_in: false,
                        });
                        atoms.push(Interval::point(p));
                        lo = p;
                    }
                    atoms.push(Interval {
                        lo,
                        lo_in: false,
                        hi: f64::INFINITY,
                        hi_in: false,
                    });
                    let atoms: Vec<Atom> = atoms
                        .into_iter()
                        .filter(|i| !IntervalSet::of(*k, *i).is_empty())
                        .map(|i| Atom::Num(i, *k))
                        .collect();
                    let views = cells
                        .iter()
                        .map(|c| match c {
                            Cell::Any(_) => CellView::Any,
                            Cell::Tests(ts, _) => self
                                .cell_set(ts, &dom)
                                .map_or(CellView::Unknown, CellView::Set),
                        })
                        .collect();
                    cols.push(ColModel {
                        name,
                        atoms,
                        patterned: false,
                    });
                    cell_sets.push(views);
                }
                Dom::Opaque => {
                    let texty = matches!(self.type_of(e), Some(Type::Text) | Some(Type::Code(_)));
                    let mut lits: Vec<String> = Vec::new();
                    let mut plain = texty;
                    let mut views = Vec::new();
                    for c in &cells {
                        views.push(match c {
                            Cell::Any(_) => CellView::Any,
                            Cell::Tests(ts, _) => match string_tests(ts) {
                                Some((pats, negated)) => {
                                    if pats.iter().any(|p| p.contains(['*', '?'])) {
                                        plain = false;
                                    }
                                    for p in &pats {
                                        if !lits.contains(p) {
                                            lits.push(p.clone());
                                        }
                                    }
                                    CellView::Patterns(pats, negated)
                                }
                                None => {
                                    plain = false;
                                    CellView::Unknown
                                }
                            },
                        });
                    }
                    let mut atoms: Vec<Atom> = lits.iter().map(|l| Atom::Lit(l.clone())).collect();
                    atoms.push(Atom::Other);
                    if !plain {
                        exact = false;
                    }
                    cols.push(ColModel {
                        name,
                        atoms,
                        patterned: !plain,
                    });
                    cell_sets.push(views);
                }
            }
        }
        let mut rows = Vec::new();
        for (ri, r) in t.rows.iter().enumerate() {
            let mut sets = Vec::new();
            let mut patterns = Vec::new();
            for (c, col) in cols.iter().enumerate() {
                let view = &cell_sets[c][ri.min(cell_sets[c].len().saturating_sub(1))];
                let n = col.atoms.len();
                let (set, pats) = match view {
                    CellView::Any => (vec![true; n], Some(vec!["*".to_string()])),
                    CellView::Unknown => {
                        exact = false;
                        (vec![true; n], None)
                    }
                    CellView::Set(v) => (col.atoms.iter().map(|a| atom_in(a, v)).collect(), None),
                    CellView::Patterns(ps, negated) => {
                        let hits: Vec<bool> = col
                            .atoms
                            .iter()
                            .map(|a| match a {
                                Atom::Lit(l) => ps.contains(l) != *negated,
                                _ => *negated,
                            })
                            .collect();
                        (hits, (!negated).then(|| ps.clone()))
                    }
                };
                sets.push(set);
                patterns.push(if col.patterned { pats } else { None });
            }
            let outs = outputs
                .iter()
                .map(|&o| match r.cells.get(o) {
                    Some(Cell::Tests(ts, _)) => ts
                        .iter()
                        .map(|t| match &t.kind {
                            TestKind::Equals(e) => expr_to_string(e),
                            _ => "?".into(),
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    _ => "-".into(),
                })
                .collect();
            rows.push(RowModel {
                number: ri + 1,
                span: r.span,
                sets,
                patterns,
                outputs: outs,
            });
        }
        TableModel { cols, rows, exact }
    }

    fn test_constants(&self, t: &CellTest) -> Vec<f64> {
        let num = |e| match self.const_of(e) {
            Some(Const::Num(n, _)) => vec![n],
            _ => Vec::new(),
        };
        match &t.kind {
            TestKind::Equals(e) | TestKind::Compare(_, e) => num(e),
            TestKind::Range(a, b) => {
                let mut v = num(a);
                v.extend(num(b));
                v
            }
        }
    }
}

enum CellView {
    Any,
    Unknown,
    Set(Vals),
    Patterns(Vec<String>, bool),
}

fn atom_in(a: &Atom, v: &Vals) -> bool {
    match (a, v) {
        (Atom::Sym(s), Vals::Finite(set)) => set.contains(s),
        (Atom::Num(i, k), Vals::Num(set)) => !IntervalSet::of(*k, *i).intersect(set).is_empty(),
        _ => true,
    }
}

/// String cells: the values or patterns, and whether they are negated.
fn string_tests(ts: &[CellTest]) -> Option<(Vec<String>, bool)> {
    let mut out = Vec::new();
    let negated = ts.first()?.negated;
    for t in ts {
        if t.negated != negated {
            return None;
        }
        match &t.kind {
            TestKind::Equals(e) => match &e.kind {
                crate::ast::ExprKind::Literal(crate::ast::Literal::Str(s)) => out.push(s.clone()),
                _ => return None,
            },
            _ => return None,
        }
    }
    Some((out, negated))
}

#[cfg(test)]
mod tests {
    #[test]
    fn patterns() {
        assert!(super::patterns_meet("*-E-*", "09-*-*"));
        assert!(!super::patterns_meet("*-E-*", "*-D-*"));
        assert!(super::patterns_meet("09-?-01", "*-E-*"));
        assert!(!super::patterns_meet("09-E-01", "10-E-01"));
    }
}
