//! `unused-role`: a role nothing refers to.

use crate::ast::{FileKind, PriorityItem, Requirement, Section, StepAttr, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::Cx;
use crate::lint::analysis::flow::all_stmts;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct UnusedRole;

static META: RuleMeta = RuleMeta {
    name: "unused-role",
    category: Category::Suspicious,
    default_severity: Severity::Warning,
    summary: "a role declared in `roles` that no step, escalation, requirement or reporting line mentions",
    explanation: "Roles say who does what and who is told when things go wrong. A role nobody refers \
to is a job the procedure forgot to give, or a leftover from an earlier version. Roles of a \
`library` are for the procedures that use it and are not checked.",
    bad: "roles\n  call_handler \"Call handler\"\n  duty_officer \"Duty officer\"\n\nflow\n  step answer\n    by call_handler\n  end closed\n",
    good: "roles\n  call_handler \"Call handler\" reports to duty_officer\n  duty_officer \"Duty officer\"\n\nflow\n  step answer\n    by call_handler\n  end closed\n",
};

impl Rule for UnusedRole {
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
        let reqs = |rs: &Option<Vec<Requirement>>, used: &mut Vec<String>| {
            for r in rs.iter().flatten() {
                if let Requirement::Role(n) = r {
                    used.push(n.text.clone());
                }
            }
        };
        for s in &file.sections {
            match s {
                Section::Roles { items, .. } => {
                    used.extend(
                        items
                            .iter()
                            .filter_map(|r| r.reports_to.as_ref().map(|n| n.text.clone())),
                    );
                }
                Section::Priority(pr) => {
                    for item in &pr.items {
                        match item {
                            PriorityItem::Override(o) => reqs(&o.requires, &mut used),
                            PriorityItem::Regrade { requires, .. } => reqs(requires, &mut used),
                            _ => {}
                        }
                    }
                }
                Section::Exemptions { items, .. } => {
                    for e in items {
                        reqs(&e.requires, &mut used);
                    }
                }
                _ => {}
            }
        }
        if let Some(body) = Cx::new(p).flow() {
            all_stmts(body, &mut |s| {
                let attrs = match s {
                    Stmt::Step(x) => &x.attrs,
                    Stmt::Call(x) => &x.attrs,
                    Stmt::Monitor(x) => &x.attrs,
                    _ => return,
                };
                for a in attrs {
                    match a {
                        StepAttr::By(rs, _)
                        | StepAttr::To(rs, _)
                        | StepAttr::Escalate { to: rs, .. } => {
                            used.extend(rs.iter().map(|r| r.text.clone()));
                        }
                        _ => {}
                    }
                }
            });
        }
        for s in &file.sections {
            let Section::Roles { items, .. } = s else {
                continue;
            };
            for r in items {
                if !used.contains(&r.name.text) {
                    out.push(
                        Diagnostic::warning(META.name, format!("role `{}` is never used", r.name.text))
                            .with_label(r.name.span, "no step, escalation or requirement mentions it")
                            .with_help("give the role its steps (`by`, `to`), escalations or approvals, or remove it"),
                    );
                }
            }
        }
        out
    }
}
