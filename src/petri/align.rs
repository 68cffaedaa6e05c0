//! Optimal alignments of a trace against a workflow net.
//!
//! Costs are pm4py's standard: 10,000 per log-only move and per model-only move on a
//! visible transition, 1 per silent transition, 0 per synchronous move. The search is
//! Dijkstra's algorithm over (marking, trace position) states of the synchronous
//! product, so the cost it returns is the exact optimum; an admissible lower bound
//! (events whose label no transition has must be log moves) prunes the search.

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap};

use super::Net;

pub const DEVIATION: u64 = 10_000;
pub const SILENT: u64 = 1;

/// One move of an alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Event `event` matched transition `transition`.
    Sync { event: usize, transition: usize },
    /// Event `event` recorded where the net does not allow it.
    Log { event: usize },
    /// Transition fired without an event (silent or missing).
    Model { transition: usize },
}

/// An optimal alignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alignment {
    pub cost: u64,
    pub moves: Vec<Move>,
}

impl Alignment {
    pub fn deviations(&self) -> u64 {
        self.cost / DEVIATION
    }
}

/// Labels of the trace as indices into the net's label table (`None`: no transition has it).
pub struct Aligner<'n> {
    net: &'n Net,
    label_ids: HashMap<&'n str, u32>,
    transition_label: Vec<Option<u32>>,
    /// Cost of aligning the empty trace (the cheapest complete run of the net).
    empty_cost: Option<u64>,
    /// Alignments already computed, by trace of label ids.
    cache: HashMap<Vec<Option<u32>>, Option<Alignment>>,
    /// Most states one search may visit before giving up (0: no limit).
    pub state_limit: usize,
}

#[derive(Clone)]
struct Node {
    marking: Box<[u8]>,
    pos: u32,
    parent: u32,
    mv: Option<Move>,
}

impl<'n> Aligner<'n> {
    pub fn new(net: &'n Net) -> Self {
        let mut label_ids = HashMap::new();
        let transition_label = net
            .transitions
            .iter()
            .map(|t| {
                t.label.as_deref().map(|l| {
                    let n = label_ids.len() as u32;
                    *label_ids.entry(l).or_insert(n)
                })
            })
            .collect();
        Aligner {
            net,
            label_ids,
            transition_label,
            empty_cost: None,
            cache: HashMap::new(),
            state_limit: 5_000_000,
        }
    }

    /// Maps activity names to the net's labels.
    pub fn encode(&self, activities: &[&str]) -> Vec<Option<u32>> {
        activities
            .iter()
            .map(|a| self.label_ids.get(a).copied())
            .collect()
    }

    /// The cost of the cheapest complete run of the net (aligning the empty trace).
    pub fn empty_cost(&mut self) -> Option<u64> {
        if self.empty_cost.is_none() {
            self.empty_cost = self.search(&[]).map(|a| a.cost);
        }
        self.empty_cost
    }

    /// Aligns an encoded trace, reusing the answer for a trace seen before.
    pub fn align(&mut self, trace: &[Option<u32>]) -> Option<Alignment> {
        if let Some(a) = self.cache.get(trace) {
            return a.clone();
        }
        let a = self.search(trace);
        self.cache.insert(trace.to_vec(), a.clone());
        a
    }

    /// pm4py's fitness: 1 − deviations / (events + visible moves of the cheapest run).
    pub fn fitness(&mut self, alignment: &Alignment, events: usize) -> f64 {
        let worst = self.empty_cost().unwrap_or(0) / DEVIATION + events as u64;
        if worst == 0 {
            1.0
        } else {
            1.0 - alignment.deviations() as f64 / worst as f64
        }
    }

    fn enabled(&self, marking: &[u8], t: usize) -> bool {
        let tr = &self.net.transitions[t];
        // Arc weights are repeated places: count each.
        tr.inputs.iter().all(|&p| {
            let need = tr.inputs.iter().filter(|&&q| q == p).count();
            marking[p] as usize >= need
        })
    }

    fn fire(&self, marking: &[u8], t: usize) -> Option<Box<[u8]>> {
        let tr = &self.net.transitions[t];
        let mut m = marking.to_vec().into_boxed_slice();
        for &p in &tr.inputs {
            m[p] -= 1;
        }
        for &p in &tr.outputs {
            m[p] = m[p].checked_add(1)?;
        }
        Some(m)
    }

    fn search(&self, trace: &[Option<u32>]) -> Option<Alignment> {
        let n = trace.len();
        // Lower bound: events no transition can match are log moves, whatever happens.
        let mut unmatched_after = vec![0u64; n + 1];
        for i in (0..n).rev() {
            unmatched_after[i] = unmatched_after[i + 1] + u64::from(trace[i].is_none());
        }
        let h = |pos: usize| unmatched_after[pos] * DEVIATION;
        let mut nodes: Vec<Node> = Vec::new();
        let mut best: HashMap<(Box<[u8]>, u32), (u64, u32)> = HashMap::new();
        let mut heap: BinaryHeap<Reverse<(u64, u64, u32)>> = BinaryHeap::new();
        let start = Node {
            marking: self.net.initial.clone().into_boxed_slice(),
            pos: 0,
            parent: u32::MAX,
            mv: None,
        };
        best.insert((start.marking.clone(), 0), (0, 0));
        nodes.push(start);
        heap.push(Reverse((h(0), 0, 0)));
        let mut expanded = 0usize;
        while let Some(Reverse((_, g, id))) = heap.pop() {
            let node = nodes[id as usize].clone();
            let key = (node.marking.clone(), node.pos);
            if best.get(&key).is_some_and(|&(c, _)| c < g) {
                continue;
            }
            let pos = node.pos as usize;
            if pos == n && *node.marking == *self.net.final_marking {
                let mut moves = Vec::new();
                let mut cur = id;
                while let Some(mv) = nodes[cur as usize].mv {
                    moves.push(mv);
                    cur = nodes[cur as usize].parent;
                }
                moves.reverse();
                return Some(Alignment { cost: g, moves });
            }
            expanded += 1;
            if self.state_limit > 0 && expanded > self.state_limit {
                return None;
            }
            let mut push = |nodes: &mut Vec<Node>,
                            heap: &mut BinaryHeap<Reverse<(u64, u64, u32)>>,
                            marking: Box<[u8]>,
                            npos: usize,
                            cost: u64,
                            mv: Move| {
                let key = (marking, npos as u32);
                let id_new = nodes.len() as u32;
                match best.entry(key) {
                    Entry::Occupied(mut o) => {
                        if o.get().0 <= cost {
                            return;
                        }
                        o.insert((cost, id_new));
                        let marking = o.key().0.clone();
                        nodes.push(Node {
                            marking,
                            pos: npos as u32,
                            parent: id,
                            mv: Some(mv),
                        });
                    }
                    Entry::Vacant(v) => {
                        let marking = v.key().0.clone();
                        v.insert((cost, id_new));
                        nodes.push(Node {
                            marking,
                            pos: npos as u32,
                            parent: id,
                            mv: Some(mv),
                        });
                    }
                }
                heap.push(Reverse((cost + h(npos), cost, id_new)));
            };
            if pos < n {
                // Log move.
                push(
                    &mut nodes,
                    &mut heap,
                    node.marking.clone(),
                    pos + 1,
                    g + DEVIATION,
                    Move::Log { event: pos },
                );
            }
            for t in 0..self.net.transitions.len() {
                if !self.enabled(&node.marking, t) {
                    continue;
                }
                let Some(m2) = self.fire(&node.marking, t) else {
                    continue;
                };
                let label = self.transition_label[t];
                if pos < n && label.is_some() && label == trace[pos] {
                    push(
                        &mut nodes,
                        &mut heap,
                        m2.clone(),
                        pos + 1,
                        g,
                        Move::Sync {
                            event: pos,
                            transition: t,
                        },
                    );
                }
                let c = if label.is_some() { DEVIATION } else { SILENT };
                push(
                    &mut nodes,
                    &mut heap,
                    m2,
                    pos,
                    g + c,
                    Move::Model { transition: t },
                );
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// a then (b or silent skip) then c.
    fn net() -> Net {
        let mut n = Net::default();
        let p: Vec<usize> = (0..4).map(|i| n.add_place(format!("p{i}"))).collect();
        n.initial[p[0]] = 1;
        n.final_marking[p[3]] = 1;
        n.add_transition("a", Some("a".into()), vec![p[0]], vec![p[1]]);
        n.add_transition("b", Some("b".into()), vec![p[1]], vec![p[2]]);
        n.add_transition("skip", None, vec![p[1]], vec![p[2]]);
        n.add_transition("c", Some("c".into()), vec![p[2]], vec![p[3]]);
        n
    }

    fn cost(trace: &[&str]) -> u64 {
        let n = net();
        let mut a = Aligner::new(&n);
        let enc = a.encode(trace);
        a.align(&enc).unwrap().cost
    }

    #[test]
    fn costs_follow_the_standard_cost_function() {
        assert_eq!(cost(&["a", "b", "c"]), 0);
        assert_eq!(cost(&["a", "c"]), 1, "the silent skip costs 1");
        assert_eq!(
            cost(&["a", "x", "c"]),
            10_001,
            "an unknown event is a log move"
        );
        assert_eq!(
            cost(&["a"]),
            10_001,
            "c is missing: a model move, plus the skip"
        );
        assert_eq!(cost(&["c", "a"]), 20_001);
        assert_eq!(cost(&[]), 20_001);
        let n = net();
        let mut a = Aligner::new(&n);
        assert_eq!(a.empty_cost(), Some(20_001));
        let enc = a.encode(&["a"]);
        let al = a.align(&enc).unwrap();
        assert!((a.fitness(&al, 1) - (1.0 - 1.0 / 3.0)).abs() < 1e-12);
    }
}
