//! `target-order-inverted`: a lower priority level with a shorter target than a
//! higher one.

use crate::ast::{PriorityItem, Section};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::{Const, Cx, NumKind, domain::num_text};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct TargetOrderInverted;

static META: RuleMeta = RuleMeta {
    name: "target-order-inverted",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a lower priority level whose target of some kind is shorter than a higher level's",
    explanation: "The scale lists levels from most to least urgent, so each kind of target (respond, \
attend, resolve) should get longer, or stay the same, down the scale. A Category 2 response due \
sooner than a Category 1 one is almost always a typo, and it would make handlers serve less \
urgent calls first. Targets with a `when` are compared with those under the same condition and \
with unconditional ones.",
    bad: "priority\n  scale cat1 > cat2 > cat3\n  target cat1 respond within 15m\n  target cat2 respond within 10m\n  target cat3 respond within 2h\n\nflow\n  step answer\n  end closed\n",
    good: "priority\n  scale cat1 > cat2 > cat3\n  target cat1 respond within 10m\n  target cat2 respond within 15m\n  target cat3 respond within 2h\n\nflow\n  step answer\n  end closed\n",
};

impl Rule for TargetOrderInverted {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let cx = Cx::new(p);
        let levels = &p.symbols.levels;
        let rank = |l: &str| levels.iter().position(|x| x == l);
        // (level rank, kind, ms, when, span)
        let mut targets = Vec::new();
        for s in &p.ast().sections {
            let Section::Priority(pr) = s else { continue };
            for item in &pr.items {
                let PriorityItem::Target(t) = item else {
                    continue;
                };
                let Some(r) = rank(&t.level.text) else {
                    continue;
                };
                for (kind, e) in &t.entries {
                    if let Some(Const::Num(ms, NumKind::Duration)) = cx.const_of(e) {
                        let when = t.when.as_ref().map(crate::fmt::expr_to_string);
                        targets.push((
                            r,
                            kind.text.clone(),
                            ms,
                            when,
                            e.span,
                            t.level.text.clone(),
                        ));
                    }
                }
            }
        }
        let mut out = Vec::new();
        for lower in &targets {
            let worst = targets
                .iter()
                .filter(|higher| {
                    higher.0 < lower.0
                        && higher.1 == lower.1
                        && (higher.3.is_none() || lower.3.is_none() || higher.3 == lower.3)
                        && lower.2 < higher.2
                })
                .max_by(|a, b| a.2.total_cmp(&b.2));
            if let Some(higher) = worst {
                out.push(
                    Diagnostic::error(
                        META.name,
                        format!(
                            "`{}` must {} within {}, sooner than the more urgent `{}` ({})",
                            lower.5, lower.1, num_text(lower.2, NumKind::Duration), higher.5, num_text(higher.2, NumKind::Duration)
                        ),
                    )
                    .with_label(lower.4, format!("shorter than `{}`'s target", higher.5))
                    .with_label(higher.4, format!("`{}` target", higher.5))
                    .with_help("a less urgent level should have the same or a longer target: check the two limits and the order of the scale"),
                );
            }
        }
        out
    }
}
