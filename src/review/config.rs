//! What an organisation sets for its reviews (the `review:` key of `procedo.yaml`) and
//! the support plan agreed with colleagues (`support-plan.yaml`). Both are read with their
//! locations: a bad key or value is an error with its line and column.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span};

/// The default support areas, by the kind of requirement.
pub const DEFAULT_AREAS: &[(&str, &str)] = &[
    ("decision", "decision-making and grading"),
    ("deadline", "time standards"),
    ("inform", "informing and acknowledgement"),
    ("acknowledgement", "informing and acknowledgement"),
    ("instruct", "instructing"),
    ("monitoring", "monitoring and escalation"),
    ("escalation", "monitoring and escalation"),
    ("resources", "resource selection"),
    ("constraint", "record keeping"),
    ("path", "record keeping"),
];

/// The kinds of support a rule may suggest.
pub const SUPPORT_TYPES: &[&str] = &[
    "coaching conversation",
    "side-by-side or shadowing",
    "refresher training",
    "procedure clarification or job aid",
    "workload review",
];

/// A rule choosing the type of support for a flagged area. Every condition given must
/// hold; the first rule that matches gives the type.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SupportRule {
    /// The area it applies to (any, when absent).
    #[serde(default)]
    pub area: Option<String>,
    /// At least this many opportunities in the area.
    #[serde(default)]
    pub min_n: Option<u64>,
    /// The rate at least this far above the expected rate (0.10 = ten points).
    #[serde(default)]
    pub gap: Option<f64>,
    /// Above the expected rate in at least this many of the last `of_last` weeks.
    #[serde(default)]
    pub weeks_above: Option<u32>,
    #[serde(default)]
    pub of_last: Option<u32>,
    /// A caseload at least this many times the team's median.
    #[serde(default)]
    pub caseload_above: Option<f64>,
    /// The type of support (one of [`SUPPORT_TYPES`], or the organisation's own words).
    #[serde(rename = "type")]
    pub kind: String,
}

/// The default rules, in order.
pub fn default_rules() -> Vec<SupportRule> {
    let rule = |kind: &str| SupportRule {
        area: None,
        min_n: None,
        gap: None,
        weeks_above: None,
        of_last: None,
        caseload_above: None,
        kind: kind.to_string(),
    };
    vec![
        SupportRule {
            caseload_above: Some(1.5),
            ..rule("workload review")
        },
        SupportRule {
            weeks_above: Some(3),
            of_last: Some(4),
            ..rule("side-by-side or shadowing")
        },
        SupportRule {
            gap: Some(0.2),
            ..rule("refresher training")
        },
        rule("coaching conversation"),
    ]
}

/// The `review:` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewConfig {
    /// No group is flagged or ranked below this many opportunities.
    pub min_opportunities: u64,
    /// A criterion is systemic when its rate is at least `systemic_rate` and at least
    /// `systemic_share` of the operators with opportunities at it are at that rate too.
    pub systemic_rate: f64,
    pub systemic_share: f64,
    /// No support need rests on fewer deviations than this in its area.
    pub min_deviations: u64,
    /// Requirement kind → support area.
    pub areas: BTreeMap<String, String>,
    pub rules: Vec<SupportRule>,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig {
            min_opportunities: 20,
            systemic_rate: 0.10,
            systemic_share: 0.5,
            min_deviations: 3,
            areas: DEFAULT_AREAS
                .iter()
                .map(|(k, a)| (k.to_string(), a.to_string()))
                .collect(),
            rules: default_rules(),
        }
    }
}

impl ReviewConfig {
    /// The area of a requirement kind.
    pub fn area(&self, kind: &str) -> String {
        self.areas
            .get(kind)
            .cloned()
            .unwrap_or_else(|| "record keeping".to_string())
    }
}

#[derive(Debug, Deserialize)]
struct RawFile {
    #[serde(default)]
    review: Option<RawReview>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReview {
    #[serde(default)]
    min_opportunities: Option<u64>,
    #[serde(default)]
    min_deviations: Option<u64>,
    #[serde(default)]
    systemic: Option<RawSystemic>,
    #[serde(default)]
    areas: BTreeMap<String, String>,
    #[serde(default)]
    support: Option<Vec<SupportRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSystemic {
    #[serde(default)]
    rate: Option<f64>,
    #[serde(default)]
    share: Option<f64>,
}

fn yaml_error(source: &SourceFile, e: serde_yaml::Error, help: &str) -> Diagnostic {
    crate::lint::config::yaml_error(source, &e, help)
}

fn bad(source: &SourceFile, key: &str, message: String, help: &str) -> Diagnostic {
    let offset = source.text().find(key).unwrap_or(0);
    Diagnostic::error("bad-config", format!("`{}`: {message}", source.name()))
        .with_label(Span::new(offset, offset + key.len()), "here")
        .with_help(help.to_string())
        .with_source(source)
}

/// Reads the `review:` key of a `procedo.yaml`; other keys are lint's.
pub fn parse(source: &SourceFile) -> Result<ReviewConfig, Diagnostic> {
    let help = "`review:` takes `min_opportunities` and `min_deviations` (counts), `systemic` (`rate`, `share`), \
                `areas` (kind: area) and `support` (rules: `area`, `min_n`, `gap`, \
                `weeks_above`, `of_last`, `caseload_above`, `type`); see docs/review.md";
    let text = source.text();
    let only_comments = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    let mut config = ReviewConfig::default();
    if only_comments {
        return Ok(config);
    }
    let raw: Option<RawFile> =
        serde_yaml::from_str(text).map_err(|e| yaml_error(source, e, help))?;
    let Some(raw) = raw.and_then(|r| r.review) else {
        return Ok(config);
    };
    if let Some(n) = raw.min_opportunities {
        config.min_opportunities = n;
    }
    if let Some(n) = raw.min_deviations {
        config.min_deviations = n;
    }
    if let Some(s) = raw.systemic {
        for (key, v) in [("rate", s.rate), ("share", s.share)] {
            if let Some(x) = v
                && !(0.0..=1.0).contains(&x)
            {
                return Err(bad(
                    source,
                    key,
                    format!("`systemic.{key}` is {x}; it is a share between 0 and 1"),
                    help,
                ));
            }
        }
        config.systemic_rate = s.rate.unwrap_or(config.systemic_rate);
        config.systemic_share = s.share.unwrap_or(config.systemic_share);
    }
    for (kind, area) in raw.areas {
        if !DEFAULT_AREAS.iter().any(|(k, _)| *k == kind) {
            return Err(bad(
                source,
                &kind,
                format!("`areas` names `{kind}`, which is not a kind of requirement"),
                "the kinds are decision, deadline, inform, acknowledgement, instruct, \
                 monitoring, escalation, resources, constraint and path",
            ));
        }
        config.areas.insert(kind, area);
    }
    if let Some(rules) = raw.support {
        for r in &rules {
            if let Some(g) = r.gap
                && !(0.0..=1.0).contains(&g)
            {
                return Err(bad(
                    source,
                    "gap",
                    format!("a support rule's `gap` is {g}; it is a share between 0 and 1"),
                    help,
                ));
            }
            if r.weeks_above.is_some() != r.of_last.is_some()
                || r.weeks_above
                    .zip(r.of_last)
                    .is_some_and(|(a, b)| a > b || b == 0)
            {
                return Err(bad(
                    source,
                    "weeks_above",
                    "a support rule gives `weeks_above: N` with `of_last: M`, N ≤ M".into(),
                    help,
                ));
            }
        }
        config.rules = rules;
    }
    Ok(config)
}

/// One agreement with a colleague.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    pub who: String,
    /// The areas agreed (support areas); the criteria of those areas are reviewed.
    #[serde(default)]
    pub areas: Vec<String>,
    /// Or particular criteria, by id (`deadline:dispatch:47`).
    #[serde(default)]
    pub criteria: Vec<String>,
    #[serde(rename = "type")]
    pub kind: String,
    /// The rate to reach, as a share (0.05) or a percentage text (`5%`).
    pub target: Target,
    pub start: NaiveDate,
    /// When it is reviewed; cases after it are not counted as "after".
    #[serde(default)]
    pub review: Option<NaiveDate>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// A target rate.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "serde_yaml::Value")]
pub struct Target(pub f64);

impl TryFrom<serde_yaml::Value> for Target {
    type Error = String;
    fn try_from(v: serde_yaml::Value) -> Result<Self, String> {
        let x = match &v {
            serde_yaml::Value::Number(n) => n.as_f64(),
            serde_yaml::Value::String(s) => s
                .trim()
                .strip_suffix('%')
                .and_then(|p| p.trim().parse::<f64>().ok())
                .map(|p| p / 100.0),
            _ => None,
        };
        match x {
            Some(x) if (0.0..=1.0).contains(&x) => Ok(Target(x)),
            _ => Err(format!(
                "a target is a rate between 0 and 1 (0.05) or a percentage (`5%`), not {}",
                serde_yaml::to_string(&v).unwrap_or_default().trim()
            )),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    plans: Vec<Agreement>,
}

/// Reads a support plan (`plans:` a list of agreements).
pub fn parse_plan(source: &SourceFile) -> Result<Vec<Agreement>, Diagnostic> {
    let help = "a support plan is `plans:` a list of `who`, `areas` (or `criteria`), `type`, \
                `target`, `start` (YYYY-MM-DD) and optionally `review` and `notes`; see \
                docs/review.md";
    let raw: RawPlan =
        serde_yaml::from_str(source.text()).map_err(|e| yaml_error(source, e, help))?;
    for a in &raw.plans {
        if a.areas.is_empty() && a.criteria.is_empty() {
            return Err(bad(
                source,
                &a.who,
                format!("the plan for `{}` names no `areas` or `criteria`", a.who),
                help,
            ));
        }
        if a.review.is_some_and(|r| r < a.start) {
            return Err(bad(
                source,
                &a.who,
                format!("the plan for `{}` is reviewed before it starts", a.who),
                help,
            ));
        }
    }
    Ok(raw.plans)
}
