//! `end-state-never-reached`: an end state declared in `ends` that no path reaches.

use crate::ast::Section;
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;
use crate::model::graph::NodeKind;

pub struct EndStateNeverReached;

static META: RuleMeta = RuleMeta {
    name: "end-state-never-reached",
    category: Category::Suspicious,
    default_severity: Severity::Warning,
    summary: "an end state declared in `ends` that no path of the flow reaches",
    explanation: "Reports and audits count cases by end state. A declared end state the flow never \
reaches is either a path the author forgot to write (cancellations, duplicates) or a leftover that \
will confuse whoever reads the figures.",
    bad: "ends\n  closed \"Closed\"\n  cancelled \"Cancelled\"\n\nflow\n  step answer\n  end closed\n",
    good: "facts\n  genuine: bool\n\nends\n  closed \"Closed\"\n  cancelled \"Cancelled\"\n\nflow\n  step answer\n  decide check on genuine\n    when true\n      end closed\n    else\n      end cancelled\n  end\n",
};

impl Rule for EndStateNeverReached {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        if p.ast().kind != crate::ast::FileKind::Procedure {
            return out;
        }
        let reachable = p.graph.reachable();
        let reached: Vec<&str> = reachable
            .iter()
            .map(|&i| p.graph.node(i))
            .filter(|n| n.kind == NodeKind::End)
            .map(|n| n.name.as_str())
            .collect();
        for s in &p.ast().sections {
            let Section::Ends { items, .. } = s else {
                continue;
            };
            for e in items {
                if !reached.contains(&e.name.text.as_str()) {
                    out.push(
                        Diagnostic::warning(META.name, format!("end state `{}` is never reached", e.name.text))
                            .with_label(e.name.span, "no path of the flow ends here")
                            .with_help(format!("finish the path that should close this way with `end {}`, or remove the end state", e.name.text)),
                    );
                }
            }
        }
        out
    }
}
