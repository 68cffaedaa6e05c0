//! `table-gap`: inputs that no row of a decision table matches.

use crate::ast::{DecisionDef, HitPolicy};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::{Cx, decisions};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct TableGap;

static META: RuleMeta = RuleMeta {
    name: "table-gap",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "inputs that no row of a `unique`, `first`, `any` or `priority` table matches",
    explanation: "A table that has no row for some inputs gives no answer for them: the priority or \
decision is simply missing for those incidents. The finding names one concrete input that falls \
through. Enum, bool, level and band columns are checked value by value; number and duration \
columns between the constants written in the column.",
    bad: "facts\n  impact: enum high | medium | low\n  urgency: enum high | low\n\npriority\n  scale P1 > P2 > P3\n  table grading hit unique\n    | impact       | urgency | => level |\n    | high         | -       | P1       |\n    | medium       | high    | P2       |\n    | medium, low  | low     | P3       |\n\nflow\n  step answer\n  end closed\n",
    good: "facts\n  impact: enum high | medium | low\n  urgency: enum high | low\n\npriority\n  scale P1 > P2 > P3\n  table grading hit unique\n    | impact       | urgency | => level |\n    | high         | -       | P1       |\n    | medium, low  | high    | P2       |\n    | medium, low  | low     | P3       |\n\nflow\n  step answer\n  end closed\n",
};

impl Rule for TableGap {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let mut out = Vec::new();
        for (d, _) in decisions(p.ast()) {
            let DecisionDef::Table(t) = d else { continue };
            if !matches!(
                t.hit,
                HitPolicy::Unique | HitPolicy::First | HitPolicy::Any | HitPolicy::Priority
            ) {
                continue;
            }
            let model = cx.table_model(t);
            if let Some(point) = model.gap() {
                let input = model.describe(&point);
                out.push(
                    Diagnostic::error(META.name, format!("no row of table `{}` matches {input}", t.name.text))
                        .with_label(t.name.span, format!("nothing is decided for {input}"))
                        .with_label(t.header_span, "the inputs")
                        .with_help("add a row for these inputs, or end the table with a row of `-` cells that says what happens otherwise"),
                );
            }
        }
        out
    }
}
