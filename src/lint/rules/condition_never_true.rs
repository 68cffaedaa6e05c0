//! `condition-never-true`: a condition outside `decide` branches that can never hold.

use crate::ast::{Expr, HeaderItem, PriorityItem, Section, StepAttr, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::{Cx, Env, decisions};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct ConditionNeverTrue;

static META: RuleMeta = RuleMeta {
    name: "condition-never-true",
    category: Category::Suspicious,
    default_severity: Severity::Warning,
    summary: "an `applies when`, override, target, indicator, escalation or constraint condition that can never be true",
    explanation: "A condition that contradicts itself (`age >= 75 and age < 18`), or one that tests \
a level the enclosing decision has already ruled out, silently switches off the rule it guards: \
the override never fires, the escalation never happens, the indicator never scores.",
    bad: "facts\n  age: int\n\npriority\n  scale P1 > P2\n  override P1 when age >= 75 and age < 18\n\nflow\n  step answer\n  end closed\n",
    good: "facts\n  age: int\n\npriority\n  scale P1 > P2\n  override P1 when age >= 75 or age < 18\n\nflow\n  step answer\n  end closed\n",
};

impl Rule for ConditionNeverTrue {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let mut conds: Vec<(&Expr, &'static str, Env)> = Vec::new();
        let file = p.ast();
        for h in &file.header {
            if let HeaderItem::Applies(e) = h {
                conds.push((e, "the procedure never applies", Env::default()));
            }
        }
        for s in &file.sections {
            match s {
                Section::Validity { indicators, .. } => {
                    conds.extend(
                        indicators
                            .iter()
                            .map(|i| (&i.when, "this indicator never scores", Env::default())),
                    );
                }
                Section::Priority(pr) => {
                    for item in &pr.items {
                        match item {
                            PriorityItem::Override(o) => {
                                conds.push((&o.when, "this override never fires", Env::default()))
                            }
                            PriorityItem::Target(t) => {
                                if let Some(w) = &t.when {
                                    conds.push((w, "this target never applies", Env::default()));
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Section::Constraints { items, .. } => {
                    for c in items {
                        if let Some(w) = &c.when {
                            conds.push((w, "this constraint never applies", Env::default()));
                        }
                    }
                }
                _ => {}
            }
        }
        for (d, _) in decisions(file) {
            if let crate::ast::DecisionDef::Score(sc) = d {
                conds.extend(
                    sc.indicators
                        .iter()
                        .map(|i| (&i.when, "this indicator never scores", Env::default())),
                );
            }
        }
        let mut flow_conds: Vec<(Expr, &'static str, Env)> = Vec::new();
        cx.walk(&mut |s, env| {
            let attrs = match s {
                Stmt::Step(x) => &x.attrs,
                Stmt::Call(x) => &x.attrs,
                Stmt::Monitor(x) => &x.attrs,
                _ => return,
            };
            for a in attrs {
                if let StepAttr::Escalate { when: Some(w), .. } = a {
                    flow_conds.push((w.clone(), "this escalation never happens", env.clone()));
                }
            }
        });
        let mut out = Vec::new();
        let all = conds
            .into_iter()
            .map(|(e, w, env)| (e.clone(), w, env))
            .chain(flow_conds);
        for (e, what, env) in all {
            if cx.refine(&env, &e, true).is_none() {
                out.push(
                    Diagnostic::warning(
                        META.name,
                        format!("this condition can never be true: {what}"),
                    )
                    .with_label(e.span, "never true here")
                    .with_help(
                        "check the comparisons (`and` where `or` was meant?) and the values tested",
                    ),
                );
            }
        }
        out
    }
}
