//! `table-overlap`: two rows of a `unique` table (or of an `any` table with
//! different outputs) that match the same input.

use crate::ast::{DecisionDef, HitPolicy};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::{Cx, decisions};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct TableOverlap;

static META: RuleMeta = RuleMeta {
    name: "table-overlap",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "two rows of a `unique` table, or of an `any` table with different outputs, that match the same input",
    explanation: "`hit unique` promises that exactly one row applies to any input, and `hit any` that \
rows applying together agree. When two rows match the same incident the table's answer is \
undefined. The finding names both rows and an input they share.",
    bad: "facts\n  impact: enum high | medium | low\n  vip: bool\n\ndecisions\n  table handling hit unique\n    | impact | vip  | => queue: enum fast | normal |\n    | high   | -    | fast                       |\n    | -      | true | fast                       |\n    | medium, low | false | normal                |\n\nflow\n  decide route on handling\n    when fast\n      step dispatch\n    else\n      step schedule\n  end\n  end closed\n",
    good: "facts\n  impact: enum high | medium | low\n  vip: bool\n\ndecisions\n  table handling hit first\n    | impact | vip  | => queue: enum fast | normal |\n    | high   | -    | fast                       |\n    | -      | true | fast                       |\n    | medium, low | false | normal                |\n\nflow\n  decide route on handling\n    when fast\n      step dispatch\n    else\n      step schedule\n  end\n  end closed\n",
};

impl Rule for TableOverlap {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let mut out = Vec::new();
        for (d, _) in decisions(p.ast()) {
            let DecisionDef::Table(t) = d else { continue };
            if !matches!(t.hit, HitPolicy::Unique | HitPolicy::Any) {
                continue;
            }
            let model = cx.table_model(t);
            let mut found = 0;
            for b in 1..model.rows.len() {
                for a in 0..b {
                    if t.hit == HitPolicy::Any && model.rows[a].outputs == model.rows[b].outputs {
                        continue;
                    }
                    let Some(point) = model.overlap(a, b) else {
                        continue;
                    };
                    found += 1;
                    if found > 10 {
                        break;
                    }
                    let (ra, rb) = (&model.rows[a], &model.rows[b]);
                    let input = model.describe_for(&point, &[a, b]);
                    let what = if t.hit == HitPolicy::Any {
                        "with different outputs "
                    } else {
                        ""
                    };
                    out.push(
                        Diagnostic::error(
                            META.name,
                            format!("rows {} and {} of table `{}` both match {input}", ra.number, rb.number, t.name.text),
                        )
                        .with_label(rb.span, format!("row {} matches {what}the same input", rb.number))
                        .with_label(ra.span, format!("as row {}", ra.number))
                        .with_help(if t.hit == HitPolicy::Unique {
                            "narrow one of the rows so they never match the same incident, or use `hit first` if the earlier row should win"
                        } else {
                            "make rows that can match together give the same output, or use `hit first` or `hit priority`"
                        }),
                    );
                }
            }
        }
        out
    }
}
