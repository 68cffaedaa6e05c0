//! `matrix-gap`: a matrix with no row or column for some value of its subjects.

use crate::ast::DecisionDef;
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::{Const, Cx, Dom, decisions};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct MatrixGap;

static META: RuleMeta = RuleMeta {
    name: "matrix-gap",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a matrix that lacks a row or column for a value of its row or column subject, or lists one twice",
    explanation: "A matrix such as impact by urgency must give a result for every pair of values. A \
missing row or column leaves those incidents without a priority; a repeated one makes the matrix \
ambiguous.",
    bad: "facts\n  impact: enum high | medium | low\n  urgency: enum high | low\n\npriority\n  scale P1 > P2 > P3\n  matrix impact_urgency impact by urgency\n    | impact \\ urgency | high | low |\n    | high             | P1   | P2  |\n    | medium           | P2   | P3  |\n\nflow\n  step answer\n  end closed\n",
    good: "facts\n  impact: enum high | medium | low\n  urgency: enum high | low\n\npriority\n  scale P1 > P2 > P3\n  matrix impact_urgency impact by urgency\n    | impact \\ urgency | high | low |\n    | high             | P1   | P2  |\n    | medium           | P2   | P3  |\n    | low              | P3   | P3  |\n\nflow\n  step answer\n  end closed\n",
};

impl Rule for MatrixGap {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let mut out = Vec::new();
        for (d, _) in decisions(p.ast()) {
            let DecisionDef::Matrix(m) = d else { continue };
            let axes = [
                (
                    "row",
                    &m.rows_by,
                    m.rows.iter().map(|r| &r.key).collect::<Vec<_>>(),
                ),
                (
                    "column",
                    &m.cols_by,
                    m.col_values.iter().collect::<Vec<_>>(),
                ),
            ];
            for (what, subject, keys) in axes {
                let Dom::Finite(all) = cx.dom_of(subject) else {
                    continue;
                };
                let mut listed: Vec<String> = Vec::new();
                for k in keys {
                    let Some(Const::Sym(v)) = cx.const_of(k) else {
                        continue;
                    };
                    if listed.contains(&v) {
                        out.push(
                            Diagnostic::error(
                                META.name,
                                format!("matrix `{}` has two {what}s for `{v}`", m.name.text),
                            )
                            .with_label(k.span, "listed again here")
                            .with_help(format!("keep one {what} for `{v}`")),
                        );
                    }
                    listed.push(v);
                }
                let missing: Vec<&String> = all.iter().filter(|v| !listed.contains(v)).collect();
                if !missing.is_empty() {
                    let subject = crate::fmt::expr_to_string(subject);
                    let list = missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    out.push(
                        Diagnostic::error(
                            META.name,
                            format!(
                                "matrix `{}` has no {what} for {subject} = {list}",
                                m.name.text
                            ),
                        )
                        .with_label(
                            m.name.span,
                            format!("incidents with {subject} = {list} get no result"),
                        )
                        .with_help(format!("add a {what} for {list}")),
                    );
                }
            }
        }
        out
    }
}
