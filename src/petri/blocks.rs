//! Block structure of a workflow net, and exact alignments on it by dynamic programming.
//!
//! Nets made by the inductive miner, by procedo's own compiler and by most BPMN tools
//! are block-structured: every part between an entry place and an exit place is a
//! single transition, a sequence, a choice, a loop (`do (redo do)*`) or a parallel
//! block between a split and a join transition. [`Blocks::of`] recognises that structure
//! by reducing the net (each rule keeps the net's behaviour: a place with one way in and
//! one way out is a sequence, two ways between the same places a choice, a way there and
//! a way back a loop, a split whose branches all meet in one join a parallel block). A
//! net that does not reduce to one block is not block-structured, and the search in
//! [`super::align`] aligns it.
//!
//! On a block-structured net whose parallel branches share no label, an optimal
//! alignment decomposes: a block only sees the events whose labels it has (the others,
//! inside its window, are log moves for the block above it), a sequence splits its
//! window in two, a loop into iterations, and a parallel block hands each branch the
//! events of its own labels (its branches interleave freely). The cost of every block
//! on every window of its events is computed bottom-up, once per trace, in time cubic
//! in the trace's length and independent of how many markings the net can reach: the
//! concurrency that makes a state search explode costs nothing here. The costs are
//! pm4py's (10,000 per deviation, 1 per silent transition fired), so the optimum is the
//! same number a complete search finds.

use super::Net;
use super::align::{Alignment, DEVIATION, Move, SILENT};

/// A block of the net: what runs when a token enters its entry place, until a token
/// reaches its exit place.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    /// One transition, visible or silent.
    Leaf { transition: usize },
    /// Nothing at all (an empty branch of a parallel block, the body of a self-loop).
    Empty,
    /// The first block, then the second.
    Seq(usize, usize),
    /// One of the blocks.
    Xor(Vec<usize>),
    /// All the blocks, interleaved; their label sets are disjoint.
    Par(Vec<usize>),
    /// `body (redo body)*`.
    Loop { body: usize, redo: usize },
}

/// The block structure of a workflow net (see the module documentation).
#[derive(Debug, Clone)]
pub struct Blocks {
    /// Children always come before their parents.
    blocks: Vec<Block>,
    /// Per block: the label ids its transitions have, as a bit set.
    alphabet: Vec<Vec<u64>>,
    /// The block of the whole net.
    root: usize,
    /// The label id of each transition (as the aligner numbers them).
    transition_label: Vec<Option<u32>>,
}

/// The most table cells (block × window) one trace may need: beyond it the search
/// aligns the trace instead (the tables would take more than 128 MiB).
const MAX_CELLS: u64 = 16 << 20;

/// The most work (window splits tried) one trace may need before the search is used.
const MAX_WORK: u64 = 3_000_000_000;

/// The largest net whose block structure is looked for (the reduction's rules scan the
/// edges; a larger net is aligned by the search).
const MAX_TRANSITIONS: usize = 10_000;

/// An edge of the reduction: a block from one place to another.
#[derive(Debug, Clone)]
struct Edge {
    from: usize,
    to: usize,
    block: usize,
    alive: bool,
}

/// A transition that is not (yet) a block: it has several inputs or several outputs.
#[derive(Debug, Clone)]
struct Raw {
    /// `None`: a split or join that is no transition of the net (see
    /// [`Reduction::join_splits`]).
    transition: Option<usize>,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
    alive: bool,
}

/// A branch of a split: its start place, its edge (none for an empty branch) and its
/// end place.
type Branch = (usize, Option<usize>, usize);

struct Reduction {
    blocks: Vec<Block>,
    edges: Vec<Edge>,
    raws: Vec<Raw>,
    places: usize,
    initial: usize,
    last: usize,
}

impl Reduction {
    fn block(&mut self, b: Block) -> usize {
        self.blocks.push(b);
        self.blocks.len() - 1
    }

    fn edge(&mut self, from: usize, to: usize, block: usize) {
        self.edges.push(Edge {
            from,
            to,
            block,
            alive: true,
        });
    }

    fn outs(&self, p: usize) -> Vec<usize> {
        (0..self.edges.len())
            .filter(|&e| self.edges[e].alive && self.edges[e].from == p)
            .collect()
    }

    fn ins(&self, p: usize) -> Vec<usize> {
        (0..self.edges.len())
            .filter(|&e| self.edges[e].alive && self.edges[e].to == p)
            .collect()
    }

    fn raw_touches(&self, p: usize) -> (bool, bool) {
        let produced = self.raws.iter().any(|r| r.alive && r.outputs.contains(&p));
        let consumed = self.raws.iter().any(|r| r.alive && r.inputs.contains(&p));
        (produced, consumed)
    }

    /// Two or more edges between the same places become one choice.
    fn choices(&mut self) -> bool {
        let mut changed = false;
        for e in 0..self.edges.len() {
            if !self.edges[e].alive {
                continue;
            }
            let (from, to) = (self.edges[e].from, self.edges[e].to);
            let same: Vec<usize> = (e + 1..self.edges.len())
                .filter(|&f| {
                    self.edges[f].alive && self.edges[f].from == from && self.edges[f].to == to
                })
                .collect();
            if same.is_empty() {
                continue;
            }
            let mut options = Vec::new();
            for &x in std::iter::once(&e).chain(&same) {
                self.edges[x].alive = false;
                match &self.blocks[self.edges[x].block] {
                    Block::Xor(inner) => options.extend(inner.iter().copied()),
                    _ => options.push(self.edges[x].block),
                }
            }
            let b = self.block(Block::Xor(options));
            self.edge(from, to, b);
            changed = true;
        }
        changed
    }

    /// A place with one edge in and one edge out, and nothing else, joins them in sequence.
    fn sequences(&mut self) -> bool {
        let mut changed = false;
        for p in 0..self.places {
            if p == self.initial || p == self.last {
                continue;
            }
            let (ins, outs) = (self.ins(p), self.outs(p));
            if ins.len() != 1 || outs.len() != 1 || ins[0] == outs[0] {
                continue;
            }
            if self.raw_touches(p) != (false, false) {
                continue;
            }
            let (a, b) = (ins[0], outs[0]);
            self.edges[a].alive = false;
            self.edges[b].alive = false;
            let (from, to) = (self.edges[a].from, self.edges[b].to);
            let s = self.block(Block::Seq(self.edges[a].block, self.edges[b].block));
            self.edge(from, to, s);
            changed = true;
        }
        changed
    }

    /// An edge from a place back to itself: the place's way on goes through a new place
    /// after a loop of nothing, redone by the edge.
    fn self_loops(&mut self) -> bool {
        let Some(e) = (0..self.edges.len())
            .find(|&e| self.edges[e].alive && self.edges[e].from == self.edges[e].to)
        else {
            return false;
        };
        let p = self.edges[e].from;
        self.edges[e].alive = false;
        let q = self.fresh_place();
        for x in 0..self.edges.len() {
            if self.edges[x].alive && self.edges[x].from == p {
                self.edges[x].from = q;
            }
        }
        for r in &mut self.raws {
            if r.alive {
                for i in &mut r.inputs {
                    if *i == p {
                        *i = q;
                    }
                }
            }
        }
        if self.last == p {
            self.last = q;
        }
        let body = self.block(Block::Empty);
        let l = self.block(Block::Loop {
            body,
            redo: self.edges[e].block,
        });
        self.edge(p, q, l);
        true
    }

    /// An edge there (the body) and an edge back (the redo), where the body is the only
    /// way out of its entry and the only way into its exit, become a loop.
    fn loops(&mut self) -> bool {
        for a in 0..self.edges.len() {
            if !self.edges[a].alive {
                continue;
            }
            let (x, y) = (self.edges[a].from, self.edges[a].to);
            if x == y {
                continue;
            }
            let Some(b) = (0..self.edges.len())
                .find(|&b| self.edges[b].alive && self.edges[b].from == y && self.edges[b].to == x)
            else {
                continue;
            };
            // The run may end at the final place and starts at the initial one: ways out
            // of and into the loop that are no edges.
            if self.outs(x) != [a] || self.ins(y) != [a] || x == self.last || y == self.initial {
                continue;
            }
            if self.raw_touches(x).1 || self.raw_touches(y).0 {
                continue;
            }
            self.edges[a].alive = false;
            self.edges[b].alive = false;
            let l = self.block(Block::Loop {
                body: self.edges[a].block,
                redo: self.edges[b].block,
            });
            self.edge(x, y, l);
            return true;
        }
        false
    }

    /// A transition with several inputs and several outputs is a join followed by a
    /// split: its outputs go to a new place, from which a split that is no transition
    /// (it costs nothing and records nothing) puts the tokens where they went.
    fn join_splits(&mut self) -> bool {
        let Some(r) = (0..self.raws.len()).find(|&r| {
            let x = &self.raws[r];
            x.alive && x.inputs.len() >= 2 && x.outputs.len() >= 2
        }) else {
            return false;
        };
        let v = self.fresh_place();
        let outputs = std::mem::replace(&mut self.raws[r].outputs, vec![v]);
        self.raws.push(Raw {
            transition: None,
            inputs: vec![v],
            outputs,
            alive: true,
        });
        true
    }

    fn fresh_place(&mut self) -> usize {
        self.places += 1;
        self.places - 1
    }

    /// Branches of a split that each run one edge (or none) to the same join become a
    /// parallel block. When they are all of the split's branches and all of the join's
    /// inputs, the block takes in the split and the join; otherwise the split (or the
    /// join) keeps its other places, and the block starts (or ends) at a new place after
    /// a split (or before a join) that is no transition: the net's runs and their costs
    /// are unchanged, as the inductive miner's nets need where it merged silent joins.
    fn parallels(&mut self) -> bool {
        for s in 0..self.raws.len() {
            let split = &self.raws[s];
            if !split.alive || split.inputs.len() != 1 || split.outputs.len() < 2 {
                continue;
            }
            // Per join: the branches that end at it.
            let mut groups: Vec<(usize, Vec<Branch>)> = Vec::new();
            for &a in &split.outputs {
                let producers = self
                    .raws
                    .iter()
                    .filter(|r| r.alive && r.outputs.contains(&a))
                    .count();
                if producers != 1 || !self.ins(a).is_empty() || a == self.last || a == self.initial
                {
                    continue;
                }
                let (end, branch) = match self.outs(a).as_slice() {
                    [] => (a, None),
                    [e] => (self.edges[*e].to, Some(*e)),
                    _ => continue,
                };
                let consumers: Vec<usize> = (0..self.raws.len())
                    .filter(|&r| self.raws[r].alive && self.raws[r].inputs.contains(&end))
                    .collect();
                let fine = consumers.len() == 1
                    && consumers[0] != s
                    && self.raws[consumers[0]].outputs.len() == 1
                    && self.outs(end).is_empty()
                    && end != self.last
                    && end != self.initial
                    && match branch {
                        Some(e) => self.ins(end) == [e] && !self.raw_touches(end).0,
                        None => true,
                    };
                if !fine {
                    continue;
                }
                match groups.iter_mut().find(|(j, _)| *j == consumers[0]) {
                    Some((_, g)) => g.push((a, branch, end)),
                    None => groups.push((consumers[0], vec![(a, branch, end)])),
                }
            }
            let Some((j, group)) = groups.into_iter().find(|(_, g)| g.len() >= 2) else {
                continue;
            };
            let whole_split = group.len() == self.raws[s].outputs.len();
            let whole_join = group.len() == self.raws[j].inputs.len();
            let starts: Vec<usize> = group.iter().map(|g| g.0).collect();
            let ends: Vec<usize> = group.iter().map(|g| g.2).collect();
            let mut parts = Vec::new();
            for &(_, br, _) in &group {
                parts.push(match br {
                    Some(e) => {
                        self.edges[e].alive = false;
                        self.edges[e].block
                    }
                    None => self.block(Block::Empty),
                });
            }
            let mut block = self.block(Block::Par(parts));
            let from = if whole_split {
                self.raws[s].alive = false;
                if let Some(t) = self.raws[s].transition {
                    let first = self.block(Block::Leaf { transition: t });
                    block = self.block(Block::Seq(first, block));
                }
                self.raws[s].inputs[0]
            } else {
                let v = self.fresh_place();
                self.raws[s].outputs.retain(|o| !starts.contains(o));
                self.raws[s].outputs.push(v);
                v
            };
            let to = if whole_join {
                self.raws[j].alive = false;
                if let Some(t) = self.raws[j].transition {
                    let last = self.block(Block::Leaf { transition: t });
                    block = self.block(Block::Seq(block, last));
                }
                self.raws[j].outputs[0]
            } else {
                let v = self.fresh_place();
                self.raws[j].inputs.retain(|i| !ends.contains(i));
                self.raws[j].inputs.push(v);
                v
            };
            self.edge(from, to, block);
            return true;
        }
        false
    }
}

impl Blocks {
    /// The block structure of `net`, or `None` when the net is not a block-structured
    /// workflow net (one start place, one end place, no arc weights) or two parallel
    /// branches share a label. `transition_label` numbers the labels as the aligner does.
    pub fn of(net: &Net, transition_label: &[Option<u32>]) -> Option<Blocks> {
        let start: Vec<usize> = (0..net.places.len())
            .filter(|&p| net.initial[p] > 0)
            .collect();
        let end: Vec<usize> = (0..net.places.len())
            .filter(|&p| net.final_marking[p] > 0)
            .collect();
        if start.len() != 1 || end.len() != 1 || start == end {
            return None;
        }
        if net.transitions.len() > MAX_TRANSITIONS {
            return None;
        }
        if net.initial[start[0]] != 1 || net.final_marking[end[0]] != 1 {
            return None;
        }
        let mut r = Reduction {
            blocks: Vec::new(),
            edges: Vec::new(),
            raws: Vec::new(),
            places: net.places.len(),
            initial: start[0],
            last: end[0],
        };
        for (t, tr) in net.transitions.iter().enumerate() {
            let mut i = tr.inputs.clone();
            let mut o = tr.outputs.clone();
            i.sort_unstable();
            o.sort_unstable();
            i.dedup();
            o.dedup();
            if i.len() != tr.inputs.len() || o.len() != tr.outputs.len() {
                return None;
            }
            if i.is_empty() || o.is_empty() {
                return None;
            }
            if i.len() == 1 && o.len() == 1 {
                let b = r.block(Block::Leaf { transition: t });
                r.edge(i[0], o[0], b);
            } else {
                r.raws.push(Raw {
                    transition: Some(t),
                    inputs: i,
                    outputs: o,
                    alive: true,
                });
            }
        }
        // Each rule removes at least one edge, raw transition or self-loop, so this ends.
        loop {
            if r.choices()
                || r.sequences()
                || r.self_loops()
                || r.loops()
                || r.join_splits()
                || r.parallels()
            {
                continue;
            }
            break;
        }
        if r.raws.iter().any(|x| x.alive) {
            return None;
        }
        let alive: Vec<&Edge> = r.edges.iter().filter(|e| e.alive).collect();
        let [only] = alive.as_slice() else {
            return None;
        };
        if only.from != r.initial || only.to != r.last {
            return None;
        }
        let root = only.block;
        let words = transition_label
            .iter()
            .flatten()
            .map(|&l| l as usize / 64 + 1)
            .max()
            .unwrap_or(0);
        let mut alphabet: Vec<Vec<u64>> = Vec::with_capacity(r.blocks.len());
        for b in &r.blocks {
            let mut set = vec![0u64; words];
            let union = |set: &mut Vec<u64>, c: usize| {
                for (w, x) in set.iter_mut().zip(&alphabet[c]) {
                    *w |= x;
                }
            };
            match b {
                Block::Leaf { transition } => {
                    if let Some(l) = transition_label.get(*transition).copied().flatten() {
                        set[l as usize / 64] |= 1 << (l % 64);
                    }
                }
                Block::Empty => {}
                Block::Seq(a, c) => {
                    union(&mut set, *a);
                    union(&mut set, *c);
                }
                Block::Loop { body, redo } => {
                    union(&mut set, *body);
                    union(&mut set, *redo);
                }
                Block::Xor(cs) => cs.iter().for_each(|&c| union(&mut set, c)),
                Block::Par(cs) => {
                    for &c in cs {
                        if set.iter().zip(&alphabet[c]).any(|(w, x)| w & x != 0) {
                            return None;
                        }
                        union(&mut set, c);
                    }
                }
            }
            alphabet.push(set);
        }
        Some(Blocks {
            blocks: r.blocks,
            alphabet,
            root,
            transition_label: transition_label.to_vec(),
        })
    }

    fn owns(&self, block: usize, label: Option<u32>) -> bool {
        label.is_some_and(|l| {
            self.alphabet[block]
                .get(l as usize / 64)
                .is_some_and(|w| w & (1 << (l % 64)) != 0)
        })
    }

    /// An optimal alignment of `trace` (label ids; `None`: a label no transition has)
    /// with pm4py's costs, or `None` when the trace is too long for the tables
    /// ([`MAX_CELLS`], [`MAX_WORK`]); the caller then searches.
    pub fn align(&self, trace: &[Option<u32>]) -> Option<Alignment> {
        let nb = self.blocks.len();
        // The events each block owns (global positions), in order.
        let mut owned: Vec<Vec<u32>> = Vec::with_capacity(nb);
        let mut cells = 0u64;
        let mut work = 0u64;
        for b in 0..nb {
            let ev: Vec<u32> = (0..trace.len())
                .filter(|&i| self.owns(b, trace[i]))
                .map(|i| i as u32)
                .collect();
            let m = ev.len() as u64 + 1;
            cells += m * (m + 1) / 2;
            if matches!(self.blocks[b], Block::Seq(..) | Block::Loop { .. }) {
                work += m * m * m / 3;
            }
            owned.push(ev);
        }
        if cells > MAX_CELLS || work > MAX_WORK {
            return None;
        }
        let mut t = Tables {
            blocks: self,
            owned,
            cost: vec![Vec::new(); nb],
        };
        for b in 0..nb {
            t.fill(b);
        }
        let root = self.root;
        let m = t.owned[root].len();
        let cost = t.get(root, 0, m) + DEVIATION * (trace.len() - m) as u64;
        let mut moves = Vec::new();
        t.emit(root, 0, m, &mut moves);
        let foreign: Vec<Move> = (0..trace.len())
            .filter(|&i| !self.owns(root, trace[i]))
            .map(|event| Move::Log { event })
            .collect();
        Some(Alignment {
            cost,
            moves: merge(vec![moves, foreign]),
        })
    }
}

/// Index of window `(a, b)`, `a <= b`, in a triangular table.
fn tri(a: usize, b: usize) -> usize {
    b * (b + 1) / 2 + a
}

/// The per-trace tables: for every block, the cost of every window of its own events.
struct Tables<'b> {
    blocks: &'b Blocks,
    owned: Vec<Vec<u32>>,
    /// Per block: its cost on each window `(lo, hi)` of its own events ([`tri`]).
    cost: Vec<Vec<u64>>,
}

impl Tables<'_> {
    fn get(&self, b: usize, lo: usize, hi: usize) -> u64 {
        self.cost[b][tri(lo, hi)]
    }

    /// For a boundary `k` among the parent's own events (0..=m): how many of the child's
    /// own events come before it.
    fn boundaries(&self, parent: usize, child: usize) -> Vec<u32> {
        let (pe, ce) = (&self.owned[parent], &self.owned[child]);
        let mut out = Vec::with_capacity(pe.len() + 1);
        let mut c = 0usize;
        out.push(0);
        for &e in pe {
            if c < ce.len() && ce[c] == e {
                c += 1;
            }
            out.push(c as u32);
        }
        out
    }

    /// The cost of child `c` on the parent's window `(lo, hi)`, with the parent's events
    /// the child does not own as log moves.
    fn within(&self, c: usize, map: &[u32], lo: usize, hi: usize) -> u64 {
        let (clo, chi) = (map[lo] as usize, map[hi] as usize);
        let foreign = (hi - lo) - (chi - clo);
        self.get(c, clo, chi) + DEVIATION * foreign as u64
    }

    fn fill(&mut self, b: usize) {
        let m = self.owned[b].len();
        let mut table = vec![0u64; (m + 1) * (m + 2) / 2];
        match self.blocks.blocks[b].clone() {
            Block::Leaf { transition } => {
                let visible = self.blocks.transition_label[transition].is_some();
                for hi in 0..=m {
                    for lo in 0..=hi {
                        let k = (hi - lo) as u64;
                        table[tri(lo, hi)] = if !visible {
                            SILENT + DEVIATION * k
                        } else if k == 0 {
                            DEVIATION
                        } else {
                            DEVIATION * (k - 1)
                        };
                    }
                }
            }
            Block::Empty => {
                for hi in 0..=m {
                    for lo in 0..=hi {
                        table[tri(lo, hi)] = DEVIATION * (hi - lo) as u64;
                    }
                }
            }
            Block::Seq(a, c) => {
                let (ma, mc) = (self.boundaries(b, a), self.boundaries(b, c));
                for hi in 0..=m {
                    for lo in 0..=hi {
                        let mut best = u64::MAX;
                        for k in lo..=hi {
                            let v = self.within(a, &ma, lo, k) + self.within(c, &mc, k, hi);
                            best = best.min(v);
                        }
                        table[tri(lo, hi)] = best;
                    }
                }
            }
            Block::Xor(cs) => {
                let maps: Vec<Vec<u32>> = cs.iter().map(|&c| self.boundaries(b, c)).collect();
                for hi in 0..=m {
                    for lo in 0..=hi {
                        table[tri(lo, hi)] = cs
                            .iter()
                            .zip(&maps)
                            .map(|(&c, map)| self.within(c, map, lo, hi))
                            .min()
                            .unwrap_or(u64::MAX);
                    }
                }
            }
            Block::Par(cs) => {
                let maps: Vec<Vec<u32>> = cs.iter().map(|&c| self.boundaries(b, c)).collect();
                for hi in 0..=m {
                    for lo in 0..=hi {
                        // Every event of the window belongs to exactly one branch.
                        table[tri(lo, hi)] = cs
                            .iter()
                            .zip(&maps)
                            .map(|(&c, map)| self.get(c, map[lo] as usize, map[hi] as usize))
                            .sum();
                    }
                }
            }
            Block::Loop { body, redo } => {
                let (mb, mr) = (self.boundaries(b, body), self.boundaries(b, redo));
                // For each end `hi`, windows by decreasing start: `q[k]` is the best cost
                // of `redo (body redo)* body` ending at `hi` and starting at `k`.
                let mut q = vec![u64::MAX; m + 1];
                for hi in 0..=m {
                    for lo in (0..=hi).rev() {
                        // A redo that takes events, then the loop again from a later start.
                        let mut qx = u64::MAX;
                        for mid in lo + 1..=hi {
                            let v = self.within(redo, &mr, lo, mid) + table[tri(mid, hi)];
                            qx = qx.min(v);
                        }
                        let mut best = self.within(body, &mb, lo, hi);
                        best = best.min(self.within(body, &mb, lo, lo).saturating_add(qx));
                        for (k, &qk) in q.iter().enumerate().take(hi + 1).skip(lo + 1) {
                            let v = self.within(body, &mb, lo, k).saturating_add(qk);
                            best = best.min(v);
                        }
                        table[tri(lo, hi)] = best;
                        q[lo] = (self.within(redo, &mr, lo, lo) + best).min(qx);
                    }
                }
            }
        }
        self.cost[b] = table;
    }

    /// The moves of block `b` on its window `(lo, hi)`, following the optimum.
    fn emit(&self, b: usize, lo: usize, hi: usize, out: &mut Vec<Move>) {
        let target = self.get(b, lo, hi);
        let own = &self.owned[b];
        // The events of the window that `c` does not own, as log moves.
        let foreign = |c: usize, map: &[u32], lo: usize, hi: usize| -> Vec<Move> {
            let ce = &self.owned[c][map[lo] as usize..map[hi] as usize];
            own[lo..hi]
                .iter()
                .filter(|e| ce.binary_search(e).is_err())
                .map(|&e| Move::Log { event: e as usize })
                .collect()
        };
        let child = |c: usize, map: &[u32], lo: usize, hi: usize| -> Vec<Move> {
            let mut mv = Vec::new();
            self.emit(c, map[lo] as usize, map[hi] as usize, &mut mv);
            merge(vec![mv, foreign(c, map, lo, hi)])
        };
        match &self.blocks.blocks[b] {
            Block::Leaf { transition } => {
                let transition = *transition;
                let events = &own[lo..hi];
                match events.split_first() {
                    Some((&first, rest)) if self.blocks.transition_label[transition].is_some() => {
                        out.push(Move::Sync {
                            event: first as usize,
                            transition,
                        });
                        out.extend(rest.iter().map(|&e| Move::Log { event: e as usize }));
                    }
                    _ => {
                        out.push(Move::Model { transition });
                        out.extend(events.iter().map(|&e| Move::Log { event: e as usize }));
                    }
                }
            }
            Block::Empty => {
                out.extend(own[lo..hi].iter().map(|&e| Move::Log { event: e as usize }))
            }
            Block::Seq(a, c) => {
                let (ma, mc) = (self.boundaries(b, *a), self.boundaries(b, *c));
                for k in lo..=hi {
                    if self.within(*a, &ma, lo, k) + self.within(*c, &mc, k, hi) == target {
                        out.extend(child(*a, &ma, lo, k));
                        out.extend(child(*c, &mc, k, hi));
                        return;
                    }
                }
            }
            Block::Xor(cs) => {
                for &c in cs {
                    let map = self.boundaries(b, c);
                    if self.within(c, &map, lo, hi) == target {
                        out.extend(child(c, &map, lo, hi));
                        return;
                    }
                }
            }
            Block::Par(cs) => {
                let parts = cs
                    .iter()
                    .map(|&c| {
                        let map = self.boundaries(b, c);
                        let mut mv = Vec::new();
                        self.emit(c, map[lo] as usize, map[hi] as usize, &mut mv);
                        mv
                    })
                    .collect();
                out.extend(merge(parts));
            }
            Block::Loop { body, redo } => {
                let (mb, mr) = (self.boundaries(b, *body), self.boundaries(b, *redo));
                // Peel iterations: body on (lo, k), redo on (k, mid), the loop on (mid, hi).
                let (mut lo, mut target) = (lo, target);
                loop {
                    if self.within(*body, &mb, lo, hi) == target {
                        out.extend(child(*body, &mb, lo, hi));
                        return;
                    }
                    let mut next = None;
                    'search: for k in lo..=hi {
                        let bk = self.within(*body, &mb, lo, k);
                        for mid in k..=hi {
                            if k == lo && mid == lo {
                                continue;
                            }
                            let rest = self.get(b, mid, hi);
                            if bk + self.within(*redo, &mr, k, mid) + rest == target {
                                next = Some((k, mid, rest));
                                break 'search;
                            }
                        }
                    }
                    let Some((k, mid, rest)) = next else {
                        return;
                    };
                    out.extend(child(*body, &mb, lo, k));
                    out.extend(child(*redo, &mr, k, mid));
                    lo = mid;
                    target = rest;
                }
            }
        }
    }
}

/// Interleaves move lists, each in its own order, into one whose events are in trace
/// order: a model move goes as soon as it heads its list, otherwise the earliest event.
fn merge(mut lists: Vec<Vec<Move>>) -> Vec<Move> {
    lists.retain(|l| !l.is_empty());
    if lists.len() <= 1 {
        return lists.pop().unwrap_or_default();
    }
    let total = lists.iter().map(Vec::len).sum();
    let mut heads = vec![0usize; lists.len()];
    let mut out = Vec::with_capacity(total);
    let event = |m: &Move| match *m {
        Move::Sync { event, .. } | Move::Log { event } => Some(event),
        Move::Model { .. } => None,
    };
    while out.len() < total {
        let mut pick: Option<(usize, usize)> = None;
        for (i, l) in lists.iter().enumerate() {
            let Some(m) = l.get(heads[i]) else { continue };
            match event(m) {
                None => {
                    pick = Some((i, 0));
                    break;
                }
                Some(e) if pick.is_none_or(|(_, best)| e + 1 < best) => pick = Some((i, e + 1)),
                Some(_) => {}
            }
        }
        let Some((i, _)) = pick else { break };
        out.push(lists[i][heads[i]]);
        heads[i] += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::petri::align::Aligner;

    /// a, then b or a silent skip, then c.
    fn choice() -> Net {
        crate::petri::align::tests::net()
    }

    fn both(net: &Net, trace: &[&str]) -> (u64, u64) {
        let a = Aligner::new(net);
        assert!(a.block_structured());
        let enc = a.encode(trace);
        let labels: Vec<Option<u32>> = net
            .transitions
            .iter()
            .map(|t| t.label.as_deref().and_then(|l| a.encode(&[l])[0]))
            .collect();
        let blocks = Blocks::of(net, &labels).unwrap();
        let dp = blocks.align(&enc).unwrap();
        let mut search = Aligner::new(net);
        search.disable_blocks();
        let s = search.align(&enc).unwrap();
        (dp.cost, s.cost)
    }

    #[test]
    fn a_choice_costs_what_the_search_finds() {
        let n = choice();
        for t in [
            vec!["a", "b", "c"],
            vec!["a", "c"],
            vec!["a"],
            vec![],
            vec!["c", "a"],
            vec!["a", "x", "c"],
        ] {
            let (dp, s) = both(&n, &t);
            assert_eq!(dp, s, "{t:?}");
        }
    }
}
