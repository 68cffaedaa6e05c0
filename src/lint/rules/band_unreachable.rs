//! `band-unreachable`: a band no combination of indicator weights can reach.

use crate::ast::{DecisionDef, Section};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::{NumKind, band_model, decisions, domain::num_text};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct BandUnreachable;

static META: RuleMeta = RuleMeta {
    name: "band-unreachable",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "a validity or score band that no combination of the indicators' weights can reach",
    explanation: "Each indicator adds its weight when its condition holds. If no combination of \
weights lands in a band, that band (often the most urgent one) is never given: the weights or the \
bound are wrong. The check assumes any combination of indicators may hold, so a band it reports \
is unreachable for certain.",
    bad: "facts\n  threat_to_life: bool\n  weapons: bool\n\npriority\n  scale P1 > P2 > P3\n  score thrive\n    threat +40 when threat_to_life\n    armed  +20 when weapons\n    bands P1 >= 70, P2 >= 30, P3\n\nflow\n  step answer\n  end closed\n",
    good: "facts\n  threat_to_life: bool\n  weapons: bool\n\npriority\n  scale P1 > P2 > P3\n  score thrive\n    threat +40 when threat_to_life\n    armed  +20 when weapons\n    bands P1 >= 60, P2 >= 30, P3\n\nflow\n  step answer\n  end closed\n",
};

impl Rule for BandUnreachable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let mut models = Vec::new();
        for s in &p.ast().sections {
            if let Section::Validity {
                indicators, bands, ..
            } = s
            {
                models.push(band_model("validity", indicators, bands));
            }
        }
        for (d, _) in decisions(p.ast()) {
            if let DecisionDef::Score(sc) = d {
                models.push(band_model(&sc.name.text, &sc.indicators, &sc.bands));
            }
        }
        let mut out = Vec::new();
        for m in models {
            for (name, span, set) in &m.bands {
                if set.is_empty() || m.reaches(set).is_some() {
                    continue;
                }
                let (lo, hi) = m.range;
                out.push(
                    Diagnostic::error(META.name, format!("no combination of indicators reaches band `{name}` of `{}`", m.name))
                        .with_label(*span, format!("needs a total of {}; totals run from {} to {}", set.describe(), num_text(lo, NumKind::Decimal), num_text(hi, NumKind::Decimal)))
                        .with_help("change the band's bound, or the weights of the indicators that should lead to it"),
                );
            }
        }
        out
    }
}
