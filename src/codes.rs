//! The one list of finding codes `check`, `explain` and `procedo test` report, with
//! their severities. `docs/findings.md` is generated from it ([`markdown`]); a test
//! fails when the page is stale.

/// How much a finding weighs: errors make a case non-conforming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// What one finding code means.
pub struct Code {
    pub code: &'static str,
    pub perspective: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    /// What the log must show for the finding not to arise.
    pub evidence: &'static str,
}

use Severity::{Error, Warning};

/// Every code, in report order.
pub const CODES: &[Code] = &[
    Code {
        code: "unexpected-step",
        perspective: "control flow",
        severity: Error,
        summary: "A step was recorded where the procedure does not allow it.",
        evidence: "Only steps on a permitted path, in a permitted order.",
    },
    Code {
        code: "wrong-order",
        perspective: "control flow",
        severity: Error,
        summary: "A step was recorded out of the permitted order (recorded, and required elsewhere).",
        evidence: "The step where the procedure places it.",
    },
    Code {
        code: "missing-step",
        perspective: "control flow",
        severity: Error,
        summary: "A required step was not recorded before the case went on.",
        evidence: "An event mapped to the step.",
    },
    Code {
        code: "incomplete",
        perspective: "control flow",
        severity: Error,
        summary: "The case stops before an end. With `--as-of` such a case is running instead.",
        evidence: "Events up to an `end`.",
    },
    Code {
        code: "not-aligned",
        perspective: "control flow",
        severity: Error,
        summary: "The alignment search gave up (its state limit, `--max-states`, or its time limit, `--case-timeout`, reached); no verdict on the case, only the bounds of its optimal cost: it is counted, in no rate, and the exit code is 2.",
        evidence: "",
    },
    Code {
        code: "wrong-branch",
        perspective: "decisions",
        severity: Error,
        summary: "At a `decide`, the branch taken (an empty one included) is not the one the facts known at that moment call for.",
        evidence: "The branch taken is read off the data-aware alignment, silent moves included; facts are case attributes, or event attributes from their event on, read at the first control-flow event after the decision.",
    },
    Code {
        code: "unjustified-override",
        perspective: "decisions",
        severity: Error,
        summary: "A recorded priority departs from the assessment (or from the previous grade) without the role or reason the procedure requires, or in a direction it does not allow.",
        evidence: "A `priority` attribute with `role` and `reason` as the `regrade` or `override` line requires.",
    },
    Code {
        code: "deadline-missed",
        perspective: "time",
        severity: Error,
        summary: "A step was done after its `within` limit (measured on its clock and calendar, if any), or was not done by it.",
        evidence: "The step's event within the limit of its anchor.",
    },
    Code {
        code: "not-informed",
        perspective: "communication",
        severity: Error,
        summary: "An `inform` (or `instruct` with `to`) was recorded without a required recipient or responsibility.",
        evidence: "`to` and `responsibilities` attributes on the step's event listing each one required.",
    },
    Code {
        code: "not-acknowledged",
        perspective: "communication",
        severity: Error,
        summary: "An `inform` with `ack within` was not acknowledged, or acknowledged late.",
        evidence: "An event with `acknowledges: STEP` within the limit of the step's event.",
    },
    Code {
        code: "action-not-specified",
        perspective: "communication",
        severity: Error,
        summary: "An `instruct` was recorded without one of the actions it must specify.",
        evidence: "An `actions` attribute on the step's event listing each action required.",
    },
    Code {
        code: "monitoring-gap",
        perspective: "monitoring",
        severity: Error,
        summary: "A gap between monitoring events (or before the first) longer than the monitor allows, before its `until` step.",
        evidence: "Events of the monitor at least every interval, the first within `first within`.",
    },
    Code {
        code: "missed-escalation",
        perspective: "monitoring",
        severity: Error,
        summary: "A step was not done by an escalation point of its ladder, and no escalation to the named role was recorded.",
        evidence: "An event with `escalated_to: ROLE`.",
    },
    Code {
        code: "resource-lacks-capability",
        perspective: "resources",
        severity: Error,
        summary: "The resources recorded at a step are fewer than it needs, or lack a required capability.",
        evidence: "A `resource` attribute listing enough units, whose capabilities (from `--roster`, or a `capabilities` attribute) include those required.",
    },
    Code {
        code: "resource-unavailable",
        perspective: "resources",
        severity: Error,
        summary: "A resource recorded at a step is not on the roster, or was not available at the time.",
        evidence: "Each unit on the roster, available from/to around the event's time.",
    },
    Code {
        code: "constraint-violated",
        perspective: "constraints",
        severity: Error,
        summary: "A declarative constraint of the procedure does not hold (response within, precedence, absence, counts, not both, different actor).",
        evidence: "The constraint's steps as it states.",
    },
    Code {
        code: "at-risk",
        perspective: "time",
        severity: Warning,
        summary: "Checked `--as-of`: an obligation not yet met is past the declared share of its limit (the first `escalate at N%`, else 80%).",
        evidence: "",
    },
    Code {
        code: "unreadable-fact",
        perspective: "decisions",
        severity: Warning,
        summary: "A fact recorded in the log has a value its declared type does not allow; decisions that read it are not re-checked.",
        evidence: "",
    },
];

/// A finding code: the typed form of the codes in [`CODES`] (serialised as the
/// kebab-case text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingCode {
    UnexpectedStep,
    WrongOrder,
    MissingStep,
    Incomplete,
    NotAligned,
    WrongBranch,
    UnjustifiedOverride,
    DeadlineMissed,
    NotInformed,
    NotAcknowledged,
    ActionNotSpecified,
    MonitoringGap,
    MissedEscalation,
    ResourceLacksCapability,
    ResourceUnavailable,
    ConstraintViolated,
    AtRisk,
    UnreadableFact,
}

impl FindingCode {
    /// Every code, in report order.
    pub const ALL: [FindingCode; 18] = [
        FindingCode::UnexpectedStep,
        FindingCode::WrongOrder,
        FindingCode::MissingStep,
        FindingCode::Incomplete,
        FindingCode::NotAligned,
        FindingCode::WrongBranch,
        FindingCode::UnjustifiedOverride,
        FindingCode::DeadlineMissed,
        FindingCode::NotInformed,
        FindingCode::NotAcknowledged,
        FindingCode::ActionNotSpecified,
        FindingCode::MonitoringGap,
        FindingCode::MissedEscalation,
        FindingCode::ResourceLacksCapability,
        FindingCode::ResourceUnavailable,
        FindingCode::ConstraintViolated,
        FindingCode::AtRisk,
        FindingCode::UnreadableFact,
    ];

    /// The code as reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::UnexpectedStep => "unexpected-step",
            FindingCode::WrongOrder => "wrong-order",
            FindingCode::MissingStep => "missing-step",
            FindingCode::Incomplete => "incomplete",
            FindingCode::NotAligned => "not-aligned",
            FindingCode::WrongBranch => "wrong-branch",
            FindingCode::UnjustifiedOverride => "unjustified-override",
            FindingCode::DeadlineMissed => "deadline-missed",
            FindingCode::NotInformed => "not-informed",
            FindingCode::NotAcknowledged => "not-acknowledged",
            FindingCode::ActionNotSpecified => "action-not-specified",
            FindingCode::MonitoringGap => "monitoring-gap",
            FindingCode::MissedEscalation => "missed-escalation",
            FindingCode::ResourceLacksCapability => "resource-lacks-capability",
            FindingCode::ResourceUnavailable => "resource-unavailable",
            FindingCode::ConstraintViolated => "constraint-violated",
            FindingCode::AtRisk => "at-risk",
            FindingCode::UnreadableFact => "unreadable-fact",
        }
    }

    /// The code a report wrote.
    pub fn parse(s: &str) -> Option<FindingCode> {
        FindingCode::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// What the code means.
    pub fn info(self) -> &'static Code {
        &CODES[self as usize]
    }

    pub fn severity(self) -> Severity {
        self.info().severity
    }

    pub fn perspective(self) -> &'static str {
        self.info().perspective
    }
}

impl std::fmt::Display for FindingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for FindingCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<str> for FindingCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for FindingCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for FindingCode {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

/// The severity of a code.
pub fn severity(code: FindingCode) -> Severity {
    code.severity()
}

/// The severity of a code written as text (unknown codes are errors).
pub fn severity_of(code: &str) -> Severity {
    CODES
        .iter()
        .find(|c| c.code == code)
        .map_or(Severity::Error, |c| c.severity)
}

/// A code's position in the list, to order findings at the same event.
pub fn rank(code: FindingCode) -> usize {
    code as usize
}

/// The reference page of finding codes.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Finding codes\n\n<!-- generated from src/codes.rs; refresh with `PROCEDO_BLESS=1 cargo test --test integration audit` -->\n\n\
`procedo check`, `procedo explain` and recorded-case tests in `procedo test` report these codes. \
Errors make a case non-conforming; `check --fail-on error` (or `nonconforming`) exits 1 when any \
case has one, `--fail-on warning` also on warnings. The log fields each perspective reads are \
described in [logs.md](logs.md).\n\n\
| code | perspective | severity | meaning | what the log must show |\n|---|---|---|---|---|\n",
    );
    for c in CODES {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            c.code,
            c.perspective,
            c.severity.as_str(),
            c.summary,
            c.evidence
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_enum_and_the_list_agree() {
        assert_eq!(FindingCode::ALL.len(), CODES.len());
        for (c, info) in FindingCode::ALL.iter().zip(CODES) {
            assert_eq!(c.as_str(), info.code);
            assert_eq!(c.info().code, info.code);
            assert_eq!(FindingCode::parse(info.code), Some(*c));
        }
        assert_eq!(FindingCode::parse("no-such-code"), None);
    }
}
