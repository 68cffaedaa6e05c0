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
            let Some(subject) = &d.subject else { return };
            let info = cx.decide(d, env);
            let Some(missing) = info.uncovered(&cx) else {
                return;
            };
            if missing.is_empty() {
                return;
            }
            let order = match &info.dom {
                Dom::Finite(vs) => vs.clone(),
                _ => Vec::new(),
            };
            let subject_text = crate::fmt::expr_to_string(subject);
            let values = missing.describe(&order);
            let phrase = if !matches!(info.dom, Dom::Numeric(_)) {
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
                .with_label(d.span, format!("no `when` for {values} and no `else`"))
                .with_help(format!(
                    "add a `when` for {values} saying what to do, or an `else` branch"
                )),
            );
        });
        out
    }
}
