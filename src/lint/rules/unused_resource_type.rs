//! `unused-resource-type`: a resource type no step needs.

use crate::ast::{FileKind, Section, StepAttr, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::Cx;
use crate::lint::analysis::flow::all_stmts;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct UnusedResourceType;

static META: RuleMeta = RuleMeta {
    name: "unused-resource-type",
    category: Category::Suspicious,
    default_severity: Severity::Warning,
    summary: "a resource type declared in `resources` that no step `needs`",
    explanation: "Declaring a resource type says the procedure deploys it. If no step asks for it, \
either a dispatch step is missing or the declaration is left over, and capacity planning based on \
the procedure will count vehicles it never uses. (`needs N any with [...]` counts for every type \
with those capabilities.)",
    bad: "resources\n  ambulance \"Ambulance\" with [transport] count 40\n  motorcycle \"Motorcycle paramedic\" with [paramedic] count 4\n\nflow\n  step dispatch\n    needs 1 ambulance with [transport]\n  end closed\n",
    good: "resources\n  ambulance \"Ambulance\" with [transport] count 40\n\nflow\n  step dispatch\n    needs 1 ambulance with [transport]\n  end closed\n",
};

impl Rule for UnusedResourceType {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let file = p.ast();
        let mut out = Vec::new();
        if file.kind != FileKind::Procedure {
            return out;
        }
        let mut used: Vec<String> = Vec::new();
        if let Some(body) = Cx::new(p).flow() {
            all_stmts(body, &mut |s| {
                let attrs = match s {
                    Stmt::Step(x) => &x.attrs,
                    Stmt::Call(x) => &x.attrs,
                    Stmt::Monitor(x) => &x.attrs,
                    _ => return,
                };
                for a in attrs {
                    if let StepAttr::Needs {
                        resource,
                        capabilities,
                        ..
                    } = a
                    {
                        if resource.text == "any" {
                            for (n, caps) in &p.symbols.resources {
                                if capabilities.iter().all(|c| caps.contains(&c.text)) {
                                    used.push(n.clone());
                                }
                            }
                        } else {
                            used.push(resource.text.clone());
                        }
                    }
                }
            });
        }
        for s in &file.sections {
            let Section::Resources { items, .. } = s else {
                continue;
            };
            for r in items {
                if !used.contains(&r.name.text) {
                    out.push(
                        Diagnostic::warning(META.name, format!("resource type `{}` is never needed", r.name.text))
                            .with_label(r.name.span, "no step asks for it")
                            .with_help(format!("add `needs N {}` to the step that deploys it, or remove the declaration", r.name.text)),
                    );
                }
            }
        }
        out
    }
}
