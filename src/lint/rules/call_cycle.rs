//! `call-cycle`: sub-procedure calls that lead back to the calling procedure.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::ast::{FileKind, Section, Stmt};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::flow::all_stmts;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::{Procedure, Unit};

pub struct CallCycle;

static META: RuleMeta = RuleMeta {
    name: "call-cycle",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a `call` that, through the procedures it calls, comes back to the calling procedure",
    explanation: "Calls are resolved by procedure id when a case runs. `use` cycles between files are \
already rejected, but two files can declare the same procedure id (a copy, a renamed draft), and \
then a chain of calls can lead back to where it started: the case would call itself for ever. \
This rule follows calls by id through every file the procedure uses.",
    bad: "procedure cycle.intake \"Intake\"\n  version \"1.0\"\n  owner \"Control room manager\"\n  effective 2026-01-01\n  use \"call-cycle/review.proc\"\n\nends\n  closed \"Closed\"\n\nflow\n  step answer\n  call cycle.review\n  end closed\n",
    good: "procedure cycle.intake \"Intake\"\n  version \"1.0\"\n  owner \"Control room manager\"\n  effective 2026-01-01\n  use \"call-cycle/review_final.proc\"\n\nends\n  closed \"Closed\"\n\nflow\n  step answer\n  call cycle.review_final\n  end closed\n",
};

/// Procedure id → (the calls it makes, by id).
fn call_graph(
    unit: &Arc<Unit>,
    out: &mut BTreeMap<String, Vec<String>>,
    seen: &mut Vec<std::path::PathBuf>,
) {
    if seen.contains(&unit.path) {
        return;
    }
    seen.push(unit.path.clone());
    if let Some(parsed) = &unit.parsed
        && parsed.file.kind == FileKind::Procedure
    {
        let mut calls = Vec::new();
        for s in &parsed.file.sections {
            if let Section::Flow { body, .. } = s {
                all_stmts(body, &mut |st| {
                    if let Stmt::Call(c) = st {
                        calls.push(c.procedure.text.clone());
                    }
                });
            }
        }
        out.entry(parsed.file.id.text.clone())
            .or_default()
            .extend(calls);
    }
    for (_, used) in &unit.uses {
        call_graph(used, out, seen);
    }
}

impl Rule for CallCycle {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let file = p.ast();
        if file.kind != FileKind::Procedure {
            return out;
        }
        let me = file.id.text.clone();
        let mut graph = BTreeMap::new();
        call_graph(&p.unit, &mut graph, &mut Vec::new());
        let Some(body) = file.sections.iter().find_map(|s| match s {
            Section::Flow { body, .. } => Some(body),
            _ => None,
        }) else {
            return out;
        };
        let mut direct = Vec::new();
        all_stmts(body, &mut |st| {
            if let Stmt::Call(c) = st {
                direct.push(c.procedure.clone());
            }
        });
        for call in direct {
            // Breadth-first search from the callee back to this procedure.
            let mut prev: BTreeMap<String, String> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([call.text.clone()]);
            let mut found = call.text == me;
            while let Some(n) = queue.pop_front() {
                if found {
                    break;
                }
                for next in graph.get(&n).into_iter().flatten() {
                    if prev.contains_key(next) || *next == call.text {
                        continue;
                    }
                    prev.insert(next.clone(), n.clone());
                    if *next == me {
                        found = true;
                        break;
                    }
                    queue.push_back(next.clone());
                }
            }
            if !found {
                continue;
            }
            let mut chain = vec![me.clone()];
            if call.text != me {
                let mut cur = me.clone();
                let mut back = Vec::new();
                while let Some(pv) = prev.get(&cur) {
                    back.push(pv.clone());
                    if *pv == call.text {
                        break;
                    }
                    cur = pv.clone();
                }
                back.reverse();
                chain.extend(back);
            }
            chain.push(me.clone());
            out.push(
                Diagnostic::error(META.name, format!("calling `{}` leads back to `{me}`", call.text))
                    .with_label(call.span, format!("the calls go {}", chain.join(" → ")))
                    .with_help("two files probably declare the same procedure id: give each procedure its own id, or stop the called procedure calling back"),
            );
        }
        out
    }
}
