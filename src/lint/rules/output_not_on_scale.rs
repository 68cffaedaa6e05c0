//! `output-not-on-scale`: a general decision whose outputs are priority levels,
//! except one that is not on the scale.

use crate::ast::{Cell, Column, DecisionDef, ExprKind, TestKind};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::decisions;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;
use crate::source::Span;

pub struct OutputNotOnScale;

static META: RuleMeta = RuleMeta {
    name: "output-not-on-scale",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a table or matrix in `decisions` that outputs priority levels, one of which is not on the scale",
    explanation: "Priority methods in the `priority` section are checked against the scale when the \
procedure is built. A table or matrix in `decisions` has no declared output type, so a level \
written wrongly there (`P6` on a five-level scale, `cat5`) silently becomes a value of its own, \
and every comparison with the real levels fails.",
    bad: "facts\n  impact: enum high | low\n\npriority\n  scale P1 > P2 > P3\n\ndecisions\n  table suggested hit first\n    | impact | => level |\n    | high   | P1       |\n    | low    | P4       |\n\nflow\n  decide route on suggested\n    when P1\n      step dispatch\n    else\n      step schedule\n  end\n  end closed\n",
    good: "facts\n  impact: enum high | low\n\npriority\n  scale P1 > P2 > P3\n\ndecisions\n  table suggested hit first\n    | impact | => level |\n    | high   | P1       |\n    | low    | P3       |\n\nflow\n  decide route on suggested\n    when P1\n      step dispatch\n    else\n      step schedule\n  end\n  end closed\n",
};

fn bare(e: &crate::ast::Expr) -> Option<(String, Span)> {
    match &e.kind {
        ExprKind::Path(parts) if parts.len() == 1 => Some((parts[0].text.clone(), e.span)),
        _ => None,
    }
}

impl Rule for OutputNotOnScale {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let levels = &p.symbols.levels;
        let mut out = Vec::new();
        if levels.is_empty() {
            return out;
        }
        for (d, priority) in decisions(p.ast()) {
            if priority {
                continue;
            }
            let mut values: Vec<Vec<(String, Span)>> = Vec::new();
            match d {
                DecisionDef::Table(t) => {
                    for (ci, c) in t.columns.iter().enumerate() {
                        if !matches!(c, Column::Output { ty: None, .. }) {
                            continue;
                        }
                        let col = t
                            .rows
                            .iter()
                            .filter_map(|r| match r.cells.get(ci) {
                                Some(Cell::Tests(ts, _)) => {
                                    ts.first().and_then(|t| match &t.kind {
                                        TestKind::Equals(e) => bare(e),
                                        _ => None,
                                    })
                                }
                                _ => None,
                            })
                            .collect();
                        values.push(col);
                    }
                }
                DecisionDef::Matrix(m) => {
                    values.push(
                        m.rows
                            .iter()
                            .flat_map(|r| r.cells.iter().filter_map(bare))
                            .collect(),
                    );
                }
                DecisionDef::Score(_) => {}
            }
            for col in values {
                let on_scale = col.iter().filter(|(v, _)| levels.contains(v)).count();
                if on_scale == 0 || on_scale == col.len() {
                    continue;
                }
                for (v, span) in col.iter().filter(|(v, _)| !levels.contains(v)) {
                    out.push(
                        Diagnostic::error(
                            META.name,
                            format!("`{v}` is not a level of the priority scale"),
                        )
                        .with_label(
                            *span,
                            format!("the other outputs of `{}` are levels", d.name().text),
                        )
                        .with_help(format!("use one of the levels {}", levels.join(", "))),
                    );
                }
            }
        }
        out
    }
}
