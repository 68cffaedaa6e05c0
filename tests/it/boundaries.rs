//! What procedo does at every boundary (docs/semantics.md), one second either side.
