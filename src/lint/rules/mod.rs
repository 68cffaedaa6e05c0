//! One file per rule. Add a rule: write the file, then list it in [`ALL`].

mod unreachable_step;

use super::Rule;

/// The registry.
pub static ALL: &[&dyn Rule] = &[&unreachable_step::UnreachableStep];
