//! `unused-fact`: a fact declared but never used.

use crate::ast::{FactItem, FileKind, MapItem, Section, StepAttr, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::flow::all_stmts;
use crate::lint::analysis::{Cx, referenced_names};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct UnusedFact;

static META: RuleMeta = RuleMeta {
    name: "unused-fact",
    category: Category::Suspicious,
    default_severity: Severity::Warning,
    summary: "a fact that no condition, table, decision, record or mapping uses",
    explanation: "Every fact is a question a handler must answer or a field the log must carry. One \
that nothing uses costs call time for nothing, or shows that a rule meant to use it was never \
written. Facts count as used in expressions, tables, `records` lists and the `mapping` section. \
Facts of a `library` are for the procedures that use it, and are not checked.",
    bad: "facts\n  urgent: bool\n  caller_age: int\n\nflow\n  decide route on urgent\n    when true\n      step dispatch\n    else\n      step advise\n  end\n  end closed\n",
    good: "facts\n  urgent: bool\n\nflow\n  decide route on urgent\n    when true\n      step dispatch\n    else\n      step advise\n  end\n  end closed\n",
};

impl Rule for UnusedFact {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let file = p.ast();
        let mut out = Vec::new();
        if file.kind != FileKind::Procedure {
            return out;
        }
        let mut used = referenced_names(file);
        for s in &file.sections {
            if let Section::Links { items, .. } = s {
                used.extend(items.iter().map(|l| l.via.text.clone()));
            }
            if let Section::Mapping { items, .. } = s {
                for m in items {
                    match m {
                        MapItem::Attribute { field, .. } => {
                            used.insert(field.text.clone());
                        }
                        MapItem::Value { fact, .. } => {
                            used.insert(fact.text.clone());
                        }
                        MapItem::Activity { .. }
                        | MapItem::Timezone { .. }
                        | MapItem::TimestampFormat { .. } => {}
                    }
                }
            }
        }
        if let Some(body) = Cx::new(p).flow() {
            all_stmts(body, &mut |s| {
                let attrs = match s {
                    Stmt::Step(x) => &x.attrs,
                    Stmt::Monitor(x) => &x.attrs,
                    Stmt::Call(x) => &x.attrs,
                    _ => return,
                };
                for a in attrs {
                    if let StepAttr::Records(names, _) = a {
                        used.extend(names.iter().map(|n| n.text.clone()));
                    }
                }
            });
        }
        for s in &file.sections {
            let Section::Facts { items, .. } = s else {
                continue;
            };
            for item in items {
                let FactItem::Fact(f) = item else { continue };
                if !used.contains(&f.name.text) {
                    out.push(
                        Diagnostic::warning(META.name, format!("fact `{}` is never used", f.name.text))
                            .with_label(f.name.span, "declared here, used nowhere")
                            .with_help("use it in a condition, table or `records` list, map it from the log, or remove it"),
                    );
                }
            }
        }
        out
    }
}
