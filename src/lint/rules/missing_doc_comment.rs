//! `missing-doc-comment`: an `inform` or `instruct` step without a `##` doc comment.

use crate::ast::{StepKind, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::Cx;
use crate::lint::analysis::flow::all_stmts;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct MissingDocComment;

static META: RuleMeta = RuleMeta {
    name: "missing-doc-comment",
    category: Category::Style,
    default_severity: Severity::Warning,
    summary: "an `inform` or `instruct` step without a `##` doc comment saying why and on whose authority",
    explanation: "`inform` and `instruct` steps hand responsibilities or safety actions to someone \
else: the crew, the caller, a partner agency. Whoever reviews the procedure, or a handler reading \
it under pressure, needs to know why the message is given and which standard requires it. A `##` \
line above the step carries that, and reports show it.",
    bad: "roles\n  crew \"Ambulance crew\"\n\nflow\n  inform brief_crew \"Pass the incident to the crew\"\n    to crew\n    responsibilities [respond, assess_patient]\n  end closed\n",
    good: "roles\n  crew \"Ambulance crew\"\n\nflow\n  ## The crew owns the response from here (local dispatch policy 4.2).\n  inform brief_crew \"Pass the incident to the crew\"\n    to crew\n    responsibilities [respond, assess_patient]\n  end closed\n",
};

impl Rule for MissingDocComment {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let Some(body) = Cx::new(p).flow() else {
            return out;
        };
        all_stmts(body, &mut |s| {
            let Stmt::Step(st) = s else { return };
            if st.kind == StepKind::Step || !st.docs.is_empty() {
                return;
            }
            out.push(
                Diagnostic::warning(META.name, format!("`{} {}` has no doc comment", st.kind.keyword(), st.name.text))
                    .with_label(st.name.span, "no `##` line above this step")
                    .with_help("add a `##` line above it saying why this is passed on and which policy or standard requires it"),
            );
        });
        out
    }
}
