//! `decision-not-exhaustive`: a `decide` without `else` that has no branch for
//! some values its subject can take.

use crate::ast::Stmt;
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::{Cx, Dom};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct DecisionNotExhaustive;

static META: RuleMeta = RuleMeta {
    name: "decision-not-exhaustive",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a `decide` on an enum, bool, level, band or number that has no branch for some values and no `else`",
    explanation: "When the subject takes a value no `when` lists, the procedure says nothing about \
what to do: the handler is left without a next step. Values already ruled out by an enclosing \
decision on the same subject are not required.",
    bad: "priority\n  scale P1 > P2 > P3\n\nflow\n  decide route on priority\n    when P1\n      step dispatch\n    when P2\n      step schedule\n  end\n  end closed\n",
    good: "priority\n  scale P1 > P2 > P3\n\nflow\n  decide route on priority\n    when P1\n      step dispatch\n    when P2\n      step schedule\n    else\n      step advise\n  end\n  end closed\n",
};

/// The one subject every `when` condition of a subject-less `decide` tests, when
/// the conditions only compare it with values (so the analysis is exact for it).
fn single_subject(cx: &Cx, d: &crate::ast::Decide) -> Option<(String, Dom)> {
    use crate::ast::{BinaryOp, ExprKind, UnaryOp};
    fn go(cx: &Cx, e: &crate::ast::Expr, key: &mut Option<(String, Dom)>) -> bool {
        let mut subject = |x: &crate::ast::Expr| -> bool {
            let dom = cx.dom_of(x);
            if !matches!(dom, Dom::Finite(_)) || !matches!(x.kind, ExprKind::Path(_)) {
                return false;
            }
            let k = cx.key_of(x);
            match key {
                Some((old, _)) => *old == k,
                None => {
                    *key = Some((k, dom));
                    true
                }
            }
        };
        match &e.kind {
            ExprKind::Binary(BinaryOp::And | BinaryOp::Or, l, r) => {
                go(cx, l, key) && go(cx, r, key)
            }
            ExprKind::Unary(UnaryOp::Not, x) => go(cx, x, key),
            ExprKind::Binary(BinaryOp::Eq | BinaryOp::Ne, l, r) => {
                (cx.const_of(r).is_some() && subject(l)) || (cx.const_of(l).is_some() && subject(r))
            }
            ExprKind::Binary(BinaryOp::In | BinaryOp::NotIn, l, r) => {
                matches!(&r.kind, ExprKind::List(xs) if xs.iter().all(|x| cx.const_of(x).is_some()))
                    && subject(l)
            }
            ExprKind::Path(_) => {
                matches!(cx.dom_of(e), Dom::Finite(vs) if vs == ["true", "false"]) && subject(e)
            }
            _ => false,
        }
    }
    let mut key = None;
    for b in &d.branches {
        let c = crate::lint::analysis::flow::branch_condition(&b.tests)?;
        if !go(cx, &c, &mut key) {
            return None;
        }
    }
    key
}

impl Rule for DecisionNotExhaustive {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let mut out = Vec::new();
        cx.walk(&mut |s, env| {
            let Stmt::Decide(d) = s else { return };
            if d.otherwise.is_some() {
                return;
            }
            let info = cx.decide(d, env);
            let (subject_text, missing, dom) = match &d.subject {
                Some(subject) => {
                    let Some(m) = info.uncovered(&cx) else { return };
                    (crate::fmt::expr_to_string(subject), m, info.dom.clone())
                }
                // `when CONDITION` branches that all test one subject with a finite domain.
                None => {
                    let Some((key, dom)) = single_subject(&cx, d) else {
                        return;
                    };
                    let Some(rest) = &info.rest else { return };
                    let Some(m) = rest.get(&key).cloned().or_else(|| cx.full(&dom)) else {
                        return;
                    };
                    (key, m, dom)
                }
            };
            if missing.is_empty() {
                return;
            }
            let order = match &dom {
                Dom::Finite(vs) => vs.clone(),
                _ => Vec::new(),
            };
            let values = missing.describe(&order);
            let phrase = if !matches!(dom, Dom::Numeric(_)) {
                format!("{subject_text} = {values}")
            } else if values.starts_with(['<', '>']) {
                format!("{subject_text} {values}")
            } else if values.contains("..") {
                format!("{subject_text} in {values}")
            } else {
                format!("{subject_text} = {values}")
            };
            out.push(
                Diagnostic::error(
                    META.name,
                    format!("`decide {}` has no branch for {phrase}", d.name.text),
                )
                .with_label(d.span, format!("no `when` for {phrase} and no `else`"))
                .with_help(format!(
                    "add a `when` for {phrase} saying what to do, or an `else` branch"
                )),
            );
        });
        out
    }
}
