//! `resource-over-demand`: a step that needs more resources than exist.

use crate::ast::{Section, StepAttr, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::Cx;
use crate::lint::analysis::flow::all_stmts;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct ResourceOverDemand;

static META: RuleMeta = RuleMeta {
    name: "resource-over-demand",
    category: Category::PerformanceOfOperations,
    default_severity: Severity::Warning,
    summary: "a step that needs more of a resource type than its declared `count`",
    explanation: "If a step needs three armed response vehicles and the force has two, the step can \
never be completed as written, even on a quiet day. Either the count is out of date or the step \
asks for too much.",
    bad: "resources\n  armed_response \"Armed response vehicle\" with [firearms] count 2\n\nflow\n  step deploy\n    needs 3 armed_response with [firearms]\n  end closed\n",
    good: "resources\n  armed_response \"Armed response vehicle\" with [firearms] count 4\n\nflow\n  step deploy\n    needs 3 armed_response with [firearms]\n  end closed\n",
};

impl Rule for ResourceOverDemand {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let mut counts: std::collections::BTreeMap<String, (u32, Vec<String>)> = Default::default();
        fn gather(
            unit: &crate::model::Unit,
            counts: &mut std::collections::BTreeMap<String, (u32, Vec<String>)>,
            depth: usize,
        ) {
            if depth > 32 {
                return;
            }
            for (_, u) in &unit.uses {
                gather(u, counts, depth + 1);
            }
            if let Some(parsed) = &unit.parsed {
                for s in &parsed.file.sections {
                    if let Section::Resources { items, .. } = s {
                        for r in items {
                            if let Some(c) = r.count {
                                counts.insert(
                                    r.name.text.clone(),
                                    (c, r.capabilities.iter().map(|c| c.text.clone()).collect()),
                                );
                            }
                        }
                    }
                }
            }
        }
        gather(&p.unit, &mut counts, 0);
        let mut out = Vec::new();
        let Some(body) = Cx::new(p).flow() else {
            return out;
        };
        all_stmts(body, &mut |s| {
            let attrs = match s {
                Stmt::Step(x) => &x.attrs,
                Stmt::Call(x) => &x.attrs,
                Stmt::Monitor(x) => &x.attrs,
                _ => return,
            };
            for a in attrs {
                let StepAttr::Needs {
                    count,
                    resource,
                    capabilities,
                    span,
                } = a
                else {
                    continue;
                };
                let available: Option<u32> = if resource.text == "any" {
                    let fitting: Vec<u32> = counts
                        .values()
                        .filter(|(_, caps)| capabilities.iter().all(|c| caps.contains(&c.text)))
                        .map(|(n, _)| *n)
                        .collect();
                    (!fitting.is_empty()
                        && fitting.len()
                            == p.symbols
                                .resources
                                .values()
                                .filter(|caps| capabilities.iter().all(|c| caps.contains(&c.text)))
                                .count())
                    .then(|| fitting.iter().sum())
                } else {
                    counts.get(&resource.text).map(|c| c.0)
                };
                if let Some(n) = available
                    && *count > n
                {
                    out.push(
                        Diagnostic::warning(
                            META.name,
                            format!(
                                "this step needs {count} `{}` but only {n} exist",
                                resource.text
                            ),
                        )
                        .with_label(*span, format!("more than the {n} declared"))
                        .with_help(
                            "check the `count` in `resources`, or ask for no more than exist",
                        ),
                    );
                }
            }
        });
        out
    }
}
