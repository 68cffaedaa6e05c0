//! `band-gap-or-overlap`: score bands that leave reachable totals without a band,
//! or a band the bands before it make impossible.

use crate::ast::{DecisionDef, Section};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::{NumKind, band_model, decisions, domain::num_text};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct BandGapOrOverlap;

static META: RuleMeta = RuleMeta {
    name: "band-gap-or-overlap",
    category: Category::Correctness,
    default_severity: Severity::Error,
    summary: "validity or score bands that leave a reachable total without a band, or a band that the bands before it always take first",
    explanation: "Bands are tried in order and the first whose bound holds wins. If the indicators \
can add up to a total that no band takes, that incident gets no band at all; if a band's totals \
are all taken by earlier bands, it can never be given. Only totals the indicators can actually \
reach count as a gap.",
    bad: "facts\n  location_verified: bool\n  hoax_caller: bool\n\nvalidity\n  located +40 when location_verified\n  known_hoax -60 when hoax_caller\n  bands valid >= 40, doubtful >= 0\n\nflow\n  step answer\n  end closed\n",
    good: "facts\n  location_verified: bool\n  hoax_caller: bool\n\nvalidity\n  located +40 when location_verified\n  known_hoax -60 when hoax_caller\n  bands valid >= 40, doubtful >= 0, invalid\n\nflow\n  step answer\n  end closed\n",
};

impl Rule for BandGapOrOverlap {
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
                models.push((band_model("validity", indicators, bands), bands.span));
            }
        }
        for (d, _) in decisions(p.ast()) {
            if let DecisionDef::Score(sc) = d {
                models.push((
                    band_model(&sc.name.text, &sc.indicators, &sc.bands),
                    sc.bands.span,
                ));
            }
        }
        let mut out = Vec::new();
        for (m, span) in models {
            for (i, (name, bspan, set)) in m.bands.iter().enumerate() {
                if set.is_empty() && i > 0 {
                    out.push(
                        Diagnostic::error(META.name, format!("band `{name}` of `{}` can never be given", m.name))
                            .with_label(*bspan, "the bands before it take every total it covers")
                            .with_help("bands are tried in order: put the narrower band first, or change its bound"),
                    );
                }
            }
            if let Some((total, names)) = m.reaches(&m.uncovered) {
                let how = if names.is_empty() {
                    "when no indicator applies".to_string()
                } else {
                    format!("with {}", names.join(" and "))
                };
                out.push(
                    Diagnostic::error(
                        META.name,
                        format!("a total of {} for `{}` falls in no band", num_text(total, NumKind::Decimal), m.name),
                    )
                    .with_label(span, format!("a case scores {} {how}", num_text(total, NumKind::Decimal)))
                    .with_help("add a last band without a bound (`bands high >= 40, low`), or lower the last bound"),
                );
            }
        }
        out
    }
}
