//! `capability-not-provided`: `needs ... with [caps]` that the resource type (or,
//! for `any`, every resource type) lacks.

use crate::ast::{StepAttr, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::Cx;
use crate::lint::analysis::flow::all_stmts;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct CapabilityNotProvided;

static META: RuleMeta = RuleMeta {
    name: "capability-not-provided",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a step that needs a capability the named resource type (or, for `any`, every resource type) does not have",
    explanation: "`needs 1 ambulance with [transport]` asks for an ambulance that can transport. If \
the `ambulance` type is not declared with that capability, no resource can ever satisfy the step \
and the dispatcher is asked for the impossible.",
    bad: "resources\n  rapid_response_car \"Rapid response car\" with [paramedic, defibrillator] count 12\n\nflow\n  step dispatch\n    needs 1 rapid_response_car with [transport]\n  end closed\n",
    good: "resources\n  rapid_response_car \"Rapid response car\" with [paramedic, defibrillator] count 12\n\nflow\n  step dispatch\n    needs 1 rapid_response_car with [defibrillator]\n  end closed\n",
};

impl Rule for CapabilityNotProvided {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let res = &p.symbols.resources;
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
                    resource,
                    capabilities,
                    ..
                } = a
                else {
                    continue;
                };
                if resource.text == "any" {
                    let wanted: Vec<&str> = capabilities.iter().map(|c| c.text.as_str()).collect();
                    let ok = res
                        .values()
                        .any(|caps| wanted.iter().all(|w| caps.iter().any(|c| c == w)));
                    if !ok && !wanted.is_empty() {
                        out.push(
                            Diagnostic::error(META.name, format!("no resource type has all of [{}]", wanted.join(", ")))
                                .with_label(resource.span, "no declared resource can do this")
                                .with_help("declare a resource type with these capabilities in `resources`, or ask for fewer"),
                        );
                    }
                    continue;
                }
                let Some(caps) = res.get(&resource.text) else {
                    continue;
                };
                for c in capabilities {
                    if !caps.contains(&c.text) {
                        let others: Vec<&String> = res
                            .iter()
                            .filter(|(_, cs)| cs.contains(&c.text))
                            .map(|(n, _)| n)
                            .collect();
                        let help = if others.is_empty() {
                            format!(
                                "add `{}` to the capabilities of `{}` in `resources`, or remove it here",
                                c.text, resource.text
                            )
                        } else {
                            format!(
                                "`{}` has it: ask for that type, or add the capability to `{}`",
                                others
                                    .iter()
                                    .map(|s| s.as_str())
                                    .collect::<Vec<_>>()
                                    .join("`, `"),
                                resource.text
                            )
                        };
                        out.push(
                            Diagnostic::error(
                                META.name,
                                format!("`{}` has no `{}` capability", resource.text, c.text),
                            )
                            .with_label(c.span, format!("not a capability of `{}`", resource.text))
                            .with_help(help),
                        );
                    }
                }
            }
        });
        out
    }
}
