//! One file per rule. Add a rule: write the file, then list it in [`ALL`].

mod allow_without_reason;
mod band_gap_or_overlap;
mod band_unreachable;
mod call_cycle;
mod capability_not_provided;
mod condition_never_true;
mod dead_end;
mod deadline_anchor_not_before;
mod deadline_without_escalation;
mod decision_not_exhaustive;
mod duplicate_branch;
mod end_in_parallel;
mod end_state_never_reached;
mod escalation_out_of_order;
mod impossible_branch;
mod inconsistent_time_constraints;
mod invalid_allow_comment;
mod loop_without_exit;
mod matrix_gap;
mod missing_doc_comment;
mod missing_metadata;
mod monitor_interval_exceeds_deadline;
mod naming_convention;
mod no_path_to_end;
mod output_not_on_scale;
mod resource_over_demand;
mod shadowed_row;
mod superfluous_decision;
mod table_gap;
mod table_overlap;
mod target_missing_for_level;
mod target_order_inverted;
mod unbounded_loop;
mod unknown_without_policy;
mod unreachable_step;
mod unused_fact;
mod unused_resource_type;
mod unused_role;

use super::Rule;

/// The registry.
pub static ALL: &[&dyn Rule] = &[
    &allow_without_reason::AllowWithoutReason,
    &band_gap_or_overlap::BandGapOrOverlap,
    &band_unreachable::BandUnreachable,
    &call_cycle::CallCycle,
    &capability_not_provided::CapabilityNotProvided,
    &condition_never_true::ConditionNeverTrue,
    &dead_end::DeadEnd,
    &deadline_anchor_not_before::DeadlineAnchorNotBefore,
    &deadline_without_escalation::DeadlineWithoutEscalation,
    &decision_not_exhaustive::DecisionNotExhaustive,
    &duplicate_branch::DuplicateBranch,
    &end_in_parallel::EndInParallel,
    &end_state_never_reached::EndStateNeverReached,
    &escalation_out_of_order::EscalationOutOfOrder,
    &impossible_branch::ImpossibleBranch,
    &inconsistent_time_constraints::InconsistentTimeConstraints,
    &invalid_allow_comment::InvalidAllowComment,
    &loop_without_exit::LoopWithoutExit,
    &matrix_gap::MatrixGap,
    &missing_doc_comment::MissingDocComment,
    &missing_metadata::MissingMetadata,
    &monitor_interval_exceeds_deadline::MonitorIntervalExceedsDeadline,
    &naming_convention::NamingConvention,
    &no_path_to_end::NoPathToEnd,
    &output_not_on_scale::OutputNotOnScale,
    &resource_over_demand::ResourceOverDemand,
    &shadowed_row::ShadowedRow,
    &superfluous_decision::SuperfluousDecision,
    &table_gap::TableGap,
    &table_overlap::TableOverlap,
    &target_missing_for_level::TargetMissingForLevel,
    &target_order_inverted::TargetOrderInverted,
    &unbounded_loop::UnboundedLoop,
    &unknown_without_policy::UnknownWithoutPolicy,
    &unreachable_step::UnreachableStep,
    &unused_fact::UnusedFact,
    &unused_resource_type::UnusedResourceType,
    &unused_role::UnusedRole,
];
