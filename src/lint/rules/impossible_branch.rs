//! `impossible-branch`: a `when` (or `else`) that can never be taken.

use crate::ast::Stmt;
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::flow::branch_condition;
use crate::lint::analysis::{Cx, Dom};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;
use crate::model::graph::tests_label;

pub struct ImpossibleBranch;

static META: RuleMeta = RuleMeta {
    name: "impossible-branch",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a branch whose condition can never be true there, given the facts' types, enclosing decisions and the branches before it",
    explanation: "Branches are tried in order. A branch whose values were all taken by earlier \
branches, ruled out by an enclosing decision, or whose condition contradicts itself \
(`age > 70 and age < 18`) is never taken: the steps in it never happen, which is usually not what \
the author meant. An `else` after branches that cover every value is never taken either.",
    bad: "priority\n  scale P1 > P2 > P3\n\nflow\n  decide route on priority\n    when P1, P2\n      decide urgent on priority\n        when P1\n          step dispatch_now\n        when P3\n          step schedule\n        else\n          step dispatch_soon\n      end\n    else\n      step advise\n  end\n  end closed\n",
    good: "priority\n  scale P1 > P2 > P3\n\nflow\n  decide route on priority\n    when P1, P2\n      decide urgent on priority\n        when P1\n          step dispatch_now\n        else\n          step dispatch_soon\n      end\n    else\n      step advise\n  end\n  end closed\n",
};

impl Rule for ImpossibleBranch {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let mut out = Vec::new();
        cx.walk(&mut |s, env| {
            let Stmt::Decide(d) = s else { return };
            let info = cx.decide(d, env);
            let order = match &info.dom {
                Dom::Finite(vs) => vs.clone(),
                _ => Vec::new(),
            };
            let mut seen_tests: Vec<String> = Vec::new();
            let mut seen_conditions: Vec<String> = Vec::new();
            let mut before = Some(env.clone());
            for (i, b) in d.branches.iter().enumerate() {
                let texts: Vec<String> = b
                    .tests
                    .iter()
                    .map(|t| tests_label(std::slice::from_ref(t)))
                    .collect();
                let duplicate = if d.subject.is_some() {
                    texts.iter().all(|t| seen_tests.contains(t))
                } else {
                    branch_condition(&b.tests)
                        .is_some_and(|c| seen_conditions.contains(&crate::fmt::expr_to_string(&c)))
                };
                if info.branches[i].is_none() && !duplicate {
                    let label = match (&info.key, &before) {
                        (Some(k), Some(e)) => {
                            match e.get(k).cloned().or_else(|| cx.full(&info.dom)) {
                                Some(v) => format!("here `{k}` can only be {}", v.describe(&order)),
                                None => "this can never be true here".into(),
                            }
                        }
                        (Some(k), None) => format!("the branches above take every value of `{k}`"),
                        _ => "this condition can never be true here".into(),
                    };
                    out.push(
                        Diagnostic::error(
                            META.name,
                            format!("this branch of `decide {}` can never be taken", d.name.text),
                        )
                        .with_label(b.span, label)
                        .with_help(
                            "remove the branch, or change the values it tests so it can be reached",
                        ),
                    );
                }
                seen_tests.extend(texts);
                if let Some(c) = branch_condition(&b.tests) {
                    seen_conditions.push(crate::fmt::expr_to_string(&c));
                }
                before = recompute_rest(&cx, d, env, i + 1);
            }
            if let Some((_, span)) = &d.otherwise
                && info.exact
                && info.rest.is_none()
                && info.branches.iter().any(Option::is_some)
            {
                out.push(
                    Diagnostic::error(
                        META.name,
                        format!("the `else` of `decide {}` can never be taken", d.name.text),
                    )
                    .with_label(*span, "the branches above already cover every value")
                    .with_help("remove the `else`, or turn the last `when` into the `else`"),
                );
            }
        });
        out
    }
}

/// What is left after the first `n` branches.
fn recompute_rest(
    cx: &Cx,
    d: &crate::ast::Decide,
    env: &crate::lint::analysis::Env,
    n: usize,
) -> Option<crate::lint::analysis::Env> {
    let mut partial = d.clone();
    partial.branches.truncate(n);
    cx.decide(&partial, env).rest
}
