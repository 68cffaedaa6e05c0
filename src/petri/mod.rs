//! Workflow nets: the control flow as a Petri net, read from and written to PNML,
//! and optimal alignments of recorded cases against it.

pub mod align;
pub mod blocks;
pub mod compile;
pub mod pnml;

/// A labelled Petri net with an initial and a final marking.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Net {
    pub places: Vec<String>,
    pub transitions: Vec<Transition>,
    /// Token count per place.
    pub initial: Vec<u8>,
    pub final_marking: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub id: String,
    /// `None` for a silent (invisible) transition.
    pub label: Option<String>,
    /// Input and output places (indices; repeated for arc weights).
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
    /// For a silent transition that takes a branch of a procedure's `decide`: the
    /// decision's name and the branch (0-based, the `else` last). `None` in nets read
    /// from PNML.
    pub branch: Option<(String, usize)>,
}

impl Net {
    pub fn add_place(&mut self, name: impl Into<String>) -> usize {
        self.places.push(name.into());
        self.initial.push(0);
        self.final_marking.push(0);
        self.places.len() - 1
    }

    pub fn add_transition(
        &mut self,
        id: impl Into<String>,
        label: Option<String>,
        inputs: Vec<usize>,
        outputs: Vec<usize>,
    ) -> usize {
        self.transitions.push(Transition {
            id: id.into(),
            label,
            inputs,
            outputs,
            branch: None,
        });
        self.transitions.len() - 1
    }

    /// The visible labels of the net.
    pub fn labels(&self) -> std::collections::BTreeSet<&str> {
        self.transitions
            .iter()
            .filter_map(|t| t.label.as_deref())
            .collect()
    }
}
