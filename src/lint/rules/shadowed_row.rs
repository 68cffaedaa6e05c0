//! `shadowed-row`: a row of a `first` table that never fires.

use crate::ast::{DecisionDef, HitPolicy};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::{Cx, decisions};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct ShadowedRow;

static META: RuleMeta = RuleMeta {
    name: "shadowed-row",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a row of a `hit first` table that never applies because the rows above it match every input it matches",
    explanation: "Under `hit first` the first matching row wins. A row whose inputs are all taken by \
earlier rows is dead: its output is never given. Usually a more general row was put above a more \
specific one.",
    bad: "facts\n  injury: enum serious | minor | none\n  vulnerable: bool\n\npriority\n  scale P1 > P2 > P3\n  table grading hit first\n    | injury  | vulnerable | => level |\n    | -       | true       | P2       |\n    | serious | -          | P1       |\n    | serious | true       | P1       |\n    | -       | -          | P3       |\n\nflow\n  step answer\n  end closed\n",
    good: "facts\n  injury: enum serious | minor | none\n  vulnerable: bool\n\npriority\n  scale P1 > P2 > P3\n  table grading hit first\n    | injury  | vulnerable | => level |\n    | serious | -          | P1       |\n    | -       | true       | P2       |\n    | -       | -          | P3       |\n\nflow\n  step answer\n  end closed\n",
};

impl Rule for ShadowedRow {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let mut out = Vec::new();
        for (d, _) in decisions(p.ast()) {
            let DecisionDef::Table(t) = d else { continue };
            if t.hit != HitPolicy::First {
                continue;
            }
            let model = cx.table_model(t);
            for i in 1..model.rows.len() {
                if !model.shadowed(i) {
                    continue;
                }
                let row = &model.rows[i];
                let mut d = Diagnostic::error(
                    META.name,
                    format!(
                        "row {} of table `{}` never applies",
                        row.number, t.name.text
                    ),
                )
                .with_label(
                    row.span,
                    "every input this row matches is taken by a row above",
                );
                for (j, r) in model.rows[..i].iter().enumerate() {
                    if model.overlap(j, i).is_some() {
                        d = d.with_label(r.span, format!("row {} comes first", r.number));
                    }
                }
                out.push(d.with_help(
                    "move the row above the more general rows that take its inputs, or remove it",
                ));
            }
        }
        out
    }
}
