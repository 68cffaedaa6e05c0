//! `unknown-without-policy`: a three-valued fact with no `counts as` policy that a
//! decision depends on.

use std::collections::BTreeSet;

use crate::ast::{Column, DecisionDef, Expr, ExprKind, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::flow::{all_stmts, branch_condition};
use crate::lint::analysis::{Cx, decisions, for_each_sub_expr};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;
use crate::source::Span;

pub struct UnknownWithoutPolicy;

static META: RuleMeta = RuleMeta {
    name: "unknown-without-policy",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a fact declared `or unknown` without `counts as` that a `decide`, table or matrix depends on",
    explanation: "A caller often cannot say whether a weapon is involved or the patient is breathing. \
`or unknown` admits that; `counts as` says what to assume then — the \"when in doubt, respond\" \
rule. A decision on such a fact without a policy has no branch or row for unknown, so the \
handler is left without guidance exactly when it matters most. (Scores and conditions simply do \
not count an unknown indicator.)",
    bad: "facts\n  weapons: bool or unknown\n\nflow\n  decide armed on weapons\n    when true\n      step armed_response\n    when false\n      step standard_response\n  end\n  end closed\n",
    good: "facts\n  weapons: bool or unknown counts as true\n\nflow\n  decide armed on weapons\n    when true\n      step armed_response\n    when false\n      step standard_response\n  end\n  end closed\n",
};

fn facts_in(e: &Expr, risky: &BTreeSet<String>, out: &mut Vec<(String, Span)>) {
    for_each_sub_expr(e, &mut |x| {
        if let ExprKind::Path(parts) = &x.kind
            && parts.len() == 1
            && risky.contains(&parts[0].text)
            && !out.iter().any(|(n, _)| *n == parts[0].text)
        {
            out.push((parts[0].text.clone(), x.span));
        }
    });
}

impl Rule for UnknownWithoutPolicy {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let risky: BTreeSet<String> = p
            .symbols
            .facts
            .iter()
            .filter(|(_, f)| f.three_valued && !f.has_unknown_policy)
            .map(|(n, _)| n.clone())
            .collect();
        let mut out = Vec::new();
        if risky.is_empty() {
            return out;
        }
        // (decision name, uses)
        let mut found: Vec<(String, Vec<(String, Span)>)> = Vec::new();
        if let Some(body) = Cx::new(p).flow() {
            all_stmts(body, &mut |s| {
                let Stmt::Decide(d) = s else { return };
                let mut uses = Vec::new();
                if let Some(subject) = &d.subject {
                    facts_in(subject, &risky, &mut uses);
                } else {
                    for b in &d.branches {
                        if let Some(c) = branch_condition(&b.tests) {
                            facts_in(&c, &risky, &mut uses);
                        }
                    }
                }
                found.push((format!("decide {}", d.name.text), uses));
            });
        }
        for (d, _) in decisions(p.ast()) {
            let mut uses = Vec::new();
            match d {
                DecisionDef::Table(t) => {
                    for c in &t.columns {
                        if let Column::Input(e) = c {
                            facts_in(e, &risky, &mut uses);
                        }
                    }
                }
                DecisionDef::Matrix(m) => {
                    facts_in(&m.rows_by, &risky, &mut uses);
                    facts_in(&m.cols_by, &risky, &mut uses);
                }
                DecisionDef::Score(_) => {}
            }
            found.push((d.name().text.clone(), uses));
        }
        for (decision, uses) in found {
            for (fact, span) in uses {
                out.push(
                    Diagnostic::error(META.name, format!("`{decision}` depends on `{fact}`, which can be unknown, and says nothing for unknown"))
                        .with_label(span, format!("`{fact}` is declared `or unknown` without `counts as`"))
                        .with_help(format!("say what to assume when it is not known, e.g. `{fact}: ... or unknown counts as VALUE` (when in doubt, the safer answer)")),
                );
            }
        }
        out
    }
}
