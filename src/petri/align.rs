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
use super::blocks::Blocks;

pub const DEVIATION: u64 = 10_000;
pub const SILENT: u64 = 1;

/// In [`Guards::required`]: the facts do not tell which branch the decision must take.
pub const UNKNOWN: u8 = u8::MAX;

/// What the facts of one case say at each decision of the net, for a data-aware
/// alignment (see [`Aligner::align_with`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guards {
    /// Per decision (in the order of [`Aligner::decisions`]), per trace position
    /// `0..=n` (the number of events consumed before the decision is passed): the
    /// branch the facts then in force require, or [`UNKNOWN`]. Empty: no decision is
    /// known, and the search is pm4py's exactly.
    pub required: Vec<u8>,
    /// The case is still running: steps the net requires after the last event are
    /// still to come, not missing, so they cost no more than a silent move.
    pub prefix: bool,
}

impl Guards {
    fn active(&self) -> bool {
        self.prefix || self.required.iter().any(|&r| r != UNKNOWN)
    }
}

/// The weights a search minimises. With guards, the order is lexicographic: first the
/// deviations (log moves and visible model moves), then the branches taken against the
/// facts, then the silent moves.
#[derive(Debug, Clone, Copy)]
struct Costs {
    dev: u64,
    viol: u64,
    silent: u64,
}

const PM4PY: Costs = Costs {
    dev: DEVIATION,
    viol: 0,
    silent: SILENT,
};

/// Data-aware weights: a deviation outweighs 2^21 contradicted branches, one of which
/// outweighs 2^22 silent moves (more than any search visits within its state limit).
const DATA: Costs = Costs {
    dev: 1 << 43,
    viol: 1 << 22,
    silent: SILENT,
};

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

/// Why a search stopped without an alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    /// It visited [`Aligner::state_limit`] states (`--max-states`).
    States,
    /// It ran for [`Aligner::time_limit`] (`--case-timeout`).
    Time,
    /// No run of the net reaches its final marking: no alignment exists.
    NoRun,
}

/// What a search that stopped knew of the optimum: the optimal cost (pm4py's) lies in
/// `lower..=upper`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct GaveUp {
    pub limit: Limit,
    /// States visited.
    pub states: usize,
    /// No alignment costs less (the least estimate still open when it stopped).
    pub lower: u64,
    /// A complete alignment costs this much (every event a log move, then the net's
    /// cheapest run); `None` when that run is not known either.
    pub upper: Option<u64>,
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
    /// Alignments already computed, by trace of label ids and guards.
    cache: HashMap<Key, Outcome, FxBuild>,
    /// Per transition: the decision (index into `decisions`) and branch it takes.
    branch_of: Vec<Option<(u32, u8)>>,
    /// The names of the decisions whose branches the net's transitions take.
    decisions: Vec<String>,
    /// Most states one search may visit before giving up (0: no limit).
    pub state_limit: usize,
    /// Most states the search for the net's cheapest run ([`Aligner::empty_cost`]) may
    /// visit (0: no limit); [`DEFAULT_STATE_LIMIT`] unless set.
    pub empty_state_limit: usize,
    /// Longest one search may run (`None`: no limit). A search stopped by it depends on
    /// the machine's speed; one stopped by [`Aligner::state_limit`] does not.
    pub time_limit: Option<std::time::Duration>,
    /// Most alignments kept in the cache ([`CACHE_MAX`] unless set).
    pub cache_limit: usize,
    /// About how many bytes the cached alignments take (keys and moves).
    cache_bytes: usize,
    /// Input and output place masks per transition, for 1-safe nets.
    safe: Option<Vec<(u128, u128)>>,
    /// For each reachable marking of a 1-safe net: the labels that can still fire from
    /// it, and whether the final marking can still be reached.
    future: Option<HashMap<u128, (u64, bool), FxBuild>>,
    /// The net's block structure, when it has one and no decision branches: searches
    /// without guards are then solved exactly by dynamic programming over it.
    blocks: Option<Blocks>,
}

/// Explores the reachability graph of a 1-safe net (up to a size limit) and returns,
/// per marking, the set of labels that can still fire and whether the final marking
/// is reachable. `None` when the net is unsafe or too large to explore.
fn reachable_futures(
    net: &Net,
    masks: &[(u128, u128)],
    labels: &[Option<u32>],
) -> Option<HashMap<u128, (u64, bool), FxBuild>> {
    const LIMIT: usize = 200_000;
    let bits = |m: &[u8]| {
        m.iter().enumerate().fold(
            0u128,
            |acc, (i, &c)| if c > 0 { acc | (1u128 << i) } else { acc },
        )
    };
    let initial = bits(&net.initial);
    let goal = bits(&net.final_marking);
    let mut index: HashMap<u128, usize, FxBuild> = HashMap::with_hasher(FxBuild);
    let mut markings = vec![initial];
    let mut succ: Vec<Vec<usize>> = vec![Vec::new()];
    let mut own: Vec<u64> = vec![0];
    index.insert(initial, 0);
    let mut i = 0;
    while i < markings.len() {
        let m = markings[i];
        for (t, &(inm, outm)) in masks.iter().enumerate() {
            if m & inm != inm {
                continue;
            }
            let rest = m & !inm;
            if rest & outm != 0 {
                return None;
            }
            let m2 = rest | outm;
            if let Some(l) = labels[t] {
                own[i] |= 1 << l;
            }
            let j = match index.get(&m2) {
                Some(&j) => j,
                None => {
                    if markings.len() >= LIMIT {
                        return None;
                    }
                    markings.push(m2);
                    succ.push(Vec::new());
                    own.push(0);
                    index.insert(m2, markings.len() - 1);
                    markings.len() - 1
                }
            };
            succ[i].push(j);
        }
        i += 1;
    }
    // Propagate backwards to a fixpoint: what a successor can do, this marking can do.
    let mut labels_of = own;
    let mut finishes: Vec<bool> = markings.iter().map(|&m| m == goal).collect();
    let mut changed = true;
    while changed {
        changed = false;
        for k in (0..markings.len()).rev() {
            for &j in &succ[k] {
                let merged = labels_of[k] | labels_of[j];
                if merged != labels_of[k] {
                    labels_of[k] = merged;
                    changed = true;
                }
                if finishes[j] && !finishes[k] {
                    finishes[k] = true;
                    changed = true;
                }
            }
        }
    }
    Some(
        markings
            .iter()
            .enumerate()
            .map(|(k, &m)| (m, (labels_of[k], finishes[k])))
            .collect::<HashMap<_, _, FxBuild>>(),
    )
}

/// About the most bytes an [`Aligner`]'s cache of alignments holds (keys and moves).
pub const CACHE_BYTES: usize = 256 << 20;

/// About the bytes one cached alignment takes: its key and its moves.
fn entry_bytes((trace, guards): &Key, outcome: &Outcome) -> usize {
    let moves = outcome.as_ref().map_or(0, |a| a.moves.len());
    96 + trace.len() * std::mem::size_of::<Option<u32>>()
        + guards.required.len()
        + moves * std::mem::size_of::<Move>()
}

/// Most states one search visits unless [`Aligner::state_limit`] is set.
pub const DEFAULT_STATE_LIMIT: usize = 5_000_000;

/// Most alignments kept in an [`Aligner`]'s cache (distinct variants with their facts).
pub const CACHE_MAX: usize = 100_000;

/// What a search gives: an optimal alignment, or what it knew when it stopped.
pub type Outcome = Result<Alignment, GaveUp>;

/// A search stopped: the limit, states visited and the least estimate still open, in
/// the search's own weights.
struct Stopped {
    limit: Limit,
    states: usize,
    lower: u64,
}

/// What an alignment is computed and cached for: the trace's label ids and the guards.
pub type Key = (Vec<Option<u32>>, Guards);

/// A marking (tokens per place) and a trace position.
type GeneralState = (Box<[u8]>, u32);

/// A firing would put two tokens in one place: the bit-set search does not apply.
struct Unsafe;

/// A fast, non-cryptographic hasher for small fixed-size keys (FxHash's multiply-rotate).
#[derive(Default, Clone, Copy)]
struct FxBuild;

struct Fx(u64);

impl std::hash::BuildHasher for FxBuild {
    type Hasher = Fx;
    fn build_hasher(&self) -> Fx {
        Fx(0)
    }
}

impl std::hash::Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_u128(&mut self, v: u128) {
        self.write_u64(v as u64);
        self.write_u64((v >> 64) as u64);
    }
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
        let transition_label: Vec<Option<u32>> = net
            .transitions
            .iter()
            .map(|t| {
                t.label.as_deref().map(|l| {
                    let n = label_ids.len() as u32;
                    *label_ids.entry(l).or_insert(n)
                })
            })
            .collect();
        // Bit masks of input and output places, when the net fits the 1-safe fast path.
        let plain = net.places.len() <= 128
            && net
                .initial
                .iter()
                .chain(&net.final_marking)
                .all(|&c| c <= 1)
            && net.transitions.iter().all(|t| {
                let mut i = t.inputs.clone();
                i.sort_unstable();
                i.dedup();
                let mut o = t.outputs.clone();
                o.sort_unstable();
                o.dedup();
                i.len() == t.inputs.len() && o.len() == t.outputs.len()
            });
        let safe: Option<Vec<(u128, u128)>> = plain.then(|| {
            net.transitions
                .iter()
                .map(|t| {
                    let bits = |ps: &[usize]| ps.iter().fold(0u128, |acc, &p| acc | (1u128 << p));
                    (bits(&t.inputs), bits(&t.outputs))
                })
                .collect()
        });
        let future = match &safe {
            Some(masks) if label_ids.len() <= 64 => {
                reachable_futures(net, masks, &transition_label)
            }
            _ => None,
        };
        let mut decisions: Vec<String> = Vec::new();
        let branch_of: Vec<Option<(u32, u8)>> = net
            .transitions
            .iter()
            .map(|t| {
                let (name, b) = t.branch.as_ref()?;
                let b = u8::try_from(*b).ok().filter(|&b| b != UNKNOWN)?;
                let d = match decisions.iter().position(|x| x == name) {
                    Some(d) => d,
                    None => {
                        decisions.push(name.clone());
                        decisions.len() - 1
                    }
                };
                Some((d as u32, b))
            })
            .collect();
        let blocks = if branch_of.iter().all(Option::is_none) {
            Blocks::of(net, &transition_label)
        } else {
            None
        };
        Aligner {
            net,
            blocks,
            label_ids,
            transition_label,
            empty_cost: None,
            cache: HashMap::with_hasher(FxBuild),
            branch_of,
            decisions,
            state_limit: DEFAULT_STATE_LIMIT,
            time_limit: None,
            empty_state_limit: DEFAULT_STATE_LIMIT,
            cache_limit: CACHE_MAX,
            cache_bytes: 0,
            safe,
            future,
        }
    }

    /// Whether the net is block-structured, so that alignments without guards are
    /// computed over its blocks rather than searched (see [`super::blocks`]).
    pub fn block_structured(&self) -> bool {
        self.blocks.is_some()
    }

    /// Aligns by search alone, even on a block-structured net (for tests that compare
    /// the two).
    pub fn disable_blocks(&mut self) {
        self.blocks = None;
        self.cache.clear();
        self.cache_bytes = 0;
    }

    /// Whether some transition of the net has this label.
    pub fn knows(&self, label: &str) -> bool {
        self.label_ids.contains_key(label)
    }

    /// Maps activity names to the net's labels.
    pub fn encode(&self, activities: &[&str]) -> Vec<Option<u32>> {
        activities
            .iter()
            .map(|a| self.label_ids.get(a).copied())
            .collect()
    }

    /// The cost of the cheapest complete run of the net (aligning the empty trace).
    ///
    /// It is searched once a run, within [`Aligner::empty_state_limit`] whatever a case's
    /// limits are, since fitness and every upper bound rest on it.
    pub fn empty_cost(&mut self) -> Option<u64> {
        if self.empty_cost.is_none() {
            let limits = (self.state_limit, self.time_limit);
            self.state_limit = self.empty_state_limit;
            self.time_limit = None;
            self.empty_cost = self.search(&[]).map(|a| a.cost);
            (self.state_limit, self.time_limit) = limits;
        }
        self.empty_cost
    }

    /// The decisions whose branches the net's transitions take, in the order
    /// [`Guards::required`] lists them.
    pub fn decisions(&self) -> &[String] {
        &self.decisions
    }

    /// Per transition: the decision (index into [`Aligner::decisions`]) and the branch
    /// it takes.
    pub fn branch_of(&self, transition: usize) -> Option<(usize, usize)> {
        self.branch_of
            .get(transition)
            .copied()
            .flatten()
            .map(|(d, b)| (d as usize, usize::from(b)))
    }

    /// Aligns an encoded trace, reusing the answer for a trace seen before.
    pub fn align(&mut self, trace: &[Option<u32>]) -> Option<Alignment> {
        self.align_with(&(trace.to_vec(), Guards::default()))
    }

    /// Aligns an encoded trace with what its facts say at each decision: among the
    /// alignments with the fewest deviations, one that takes the fewest branches the
    /// facts rule out, then the fewest silent moves. The cost returned is pm4py's
    /// (10,000 per deviation, 1 per silent move) of the alignment chosen; without
    /// guards it is pm4py's optimum.
    pub fn align_with(&mut self, key: &Key) -> Option<Alignment> {
        self.outcome(key).ok()
    }

    /// The alignment of `key` if the cache has one (as [`Aligner::outcome`] gives it;
    /// a search that gave up is left to it, which adds its bounds).
    pub fn cached(&self, key: &Key) -> Option<Outcome> {
        match self.cache.get(key)? {
            Ok(a) => Some(Ok(a.clone())),
            Err(_) => None,
        }
    }

    /// Like [`Aligner::align_with`], with what the search knew when it stopped: the
    /// bounds of the optimal cost (the upper one completed with the net's cheapest run).
    pub fn outcome(&mut self, key: &Key) -> Outcome {
        let a = match self.cache.get(key) {
            Some(a) => a.clone(),
            None => {
                let a = self.search_key(key);
                let done = vec![(key.clone(), a.clone())];
                self.make_room(&done);
                self.cache.extend(done);
                a
            }
        };
        a.map_err(|mut g| {
            if g.limit != Limit::NoRun && g.upper.is_none() {
                g.upper = self
                    .empty_cost()
                    .map(|c| c + DEVIATION * key.0.len() as u64);
            }
            g
        })
    }

    /// Keeps the cache of alignments under [`Aligner::cache_limit`] entries and about
    /// [`CACHE_BYTES`]: when `more` would not fit, it is emptied (the search is
    /// deterministic, so only speed is lost, never a result). The bytes `more` takes are
    /// counted in.
    fn make_room(&mut self, more: &[(Key, Outcome)]) {
        let bytes: usize = more.iter().map(|(k, o)| entry_bytes(k, o)).sum();
        if self.cache.len() + more.len() > self.cache_limit
            || self.cache_bytes + bytes > CACHE_BYTES
        {
            self.cache.clear();
            self.cache.shrink_to(self.cache_limit / 4);
            self.cache_bytes = 0;
        }
        self.cache_bytes += bytes;
    }

    /// Aligns every trace not seen before, in parallel, so that later [`Aligner::align`]
    /// calls are answered from the cache. Results do not depend on the thread count.
    pub fn prepare(&mut self, traces: &[Key]) {
        use rayon::prelude::*;
        let mut todo: Vec<&Key> = traces
            .iter()
            .filter(|t| !self.cache.contains_key(*t))
            .collect();
        todo.sort();
        todo.dedup();
        if todo.is_empty() {
            return;
        }
        let this = &*self;
        // Handing a few searches to the thread pool costs more than it saves.
        if todo.len() < 4 {
            let done: Vec<(Key, Outcome)> = todo
                .iter()
                .map(|t| ((*t).clone(), this.search_key(t)))
                .collect();
            self.make_room(&done);
            self.cache.extend(done);
            return;
        }
        let done: Vec<(Key, Outcome)> = todo
            .par_iter()
            .map(|t| ((*t).clone(), this.search_key(t)))
            .collect();
        self.make_room(&done);
        self.cache.extend(done);
    }

    /// pm4py's fitness: 1 − deviations / (events + visible moves of the cheapest run).
    pub fn fitness(&mut self, alignment: &Alignment, events: usize) -> f64 {
        Self::fitness_given(self.empty_cost(), alignment, events)
    }

    /// [`Aligner::fitness`] with the net's [`Aligner::empty_cost`] given (asked once
    /// before checking cases in parallel).
    pub fn fitness_given(empty_cost: Option<u64>, alignment: &Alignment, events: usize) -> f64 {
        let worst = empty_cost.unwrap_or(0) / DEVIATION + events as u64;
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
        self.search_key(&(trace.to_vec(), Guards::default())).ok()
    }

    fn search_key(&self, (trace, guards): &Key) -> Outcome {
        // The data-aware weights leave room for 2^20 deviations; a longer trace (no real
        // case is) is aligned by pm4py's cost alone, its decisions still judged after.
        let (costs, guards) = if guards.active() && trace.len() < 1 << 20 {
            (DATA, Some(guards))
        } else {
            (PM4PY, None)
        };
        if guards.is_none()
            && let Some(a) = self.blocks.as_ref().and_then(|b| b.align(trace))
        {
            return Ok(a);
        }
        let found = match &self.safe {
            Some(masks) => match self.search_safe(trace, masks, costs, guards) {
                Ok(a) => a,
                Err(Unsafe) => self.search_general(trace, costs, guards),
            },
            None => self.search_general(trace, costs, guards),
        };
        let mut a = found.map_err(|s| GaveUp {
            limit: s.limit,
            states: s.states,
            // With the data-aware weights, the estimate bounds the deviations.
            lower: if guards.is_some() {
                s.lower / costs.dev * DEVIATION
            } else {
                s.lower
            },
            upper: None,
        })?;
        if guards.is_some() {
            // Report pm4py's cost of the alignment chosen.
            a.cost = a
                .moves
                .iter()
                .map(|m| match *m {
                    Move::Sync { .. } => 0,
                    Move::Log { .. } => DEVIATION,
                    Move::Model { transition } if self.transition_label[transition].is_some() => {
                        DEVIATION
                    }
                    Move::Model { .. } => SILENT,
                })
                .sum();
        }
        Ok(a)
    }

    /// The cost of firing transition `t` without an event at position `pos` of a trace
    /// of `n` events.
    fn model_cost(
        &self,
        t: usize,
        pos: usize,
        n: usize,
        costs: Costs,
        guards: Option<&Guards>,
    ) -> u64 {
        if self.transition_label[t].is_some() {
            return match guards {
                Some(g) if g.prefix && pos == n => costs.silent,
                _ => costs.dev,
            };
        }
        let mut c = costs.silent;
        if let (Some(g), Some((d, b))) = (guards, self.branch_of[t]) {
            let required = g
                .required
                .get(d as usize * (n + 1) + pos)
                .copied()
                .unwrap_or(UNKNOWN);
            if required != UNKNOWN && required != b {
                c += costs.viol;
            }
        }
        c
    }

    /// The search for 1-safe nets of at most 128 places: a marking is a bit set.
    /// Returns `Err(Unsafe)` if a firing would put a second token in a place.
    fn search_safe(
        &self,
        trace: &[Option<u32>],
        masks: &[(u128, u128)],
        costs: Costs,
        guards: Option<&Guards>,
    ) -> Result<Result<Alignment, Stopped>, Unsafe> {
        let n = trace.len();
        let mut unmatched_after = vec![0u64; n + 1];
        for i in (0..n).rev() {
            unmatched_after[i] = unmatched_after[i + 1] + u64::from(trace[i].is_none());
        }
        // occurrences[l][pos]: events labelled l at or after pos.
        let n_labels = self.label_ids.len();
        let mut occurrences =
            vec![vec![0u32; n + 1]; if self.future.is_some() { n_labels } else { 0 }];
        let mut trace_labels = 0u64;
        if self.future.is_some() {
            for i in (0..n).rev() {
                for (l, occ) in occurrences.iter_mut().enumerate() {
                    occ[i] = occ[i + 1] + u32::from(trace[i] == Some(l as u32));
                }
                if let Some(l) = trace[i] {
                    trace_labels |= 1 << l;
                }
            }
        }
        // Lower bound on the cost still to come: events no transition has, and events
        // whose label can no longer fire from this marking, must be log moves. `None`:
        // the final marking cannot be reached.
        let h = |m: u128, pos: usize| -> Option<u64> {
            let mut k = unmatched_after[pos];
            if let Some(future) = &self.future {
                let (labels, can_finish) = future.get(&m).copied().unwrap_or((u64::MAX, true));
                if !can_finish {
                    return None;
                }
                let mut missing = trace_labels & !labels;
                while missing != 0 {
                    let l = missing.trailing_zeros() as usize;
                    k += u64::from(occurrences[l][pos]);
                    missing &= missing - 1;
                }
            }
            Some(k * costs.dev)
        };
        let to_bits = |m: &[u8]| {
            m.iter().enumerate().fold(
                0u128,
                |acc, (i, &c)| if c > 0 { acc | (1u128 << i) } else { acc },
            )
        };
        let initial = to_bits(&self.net.initial);
        let goal = to_bits(&self.net.final_marking);
        // Arena of (marking, position, parent, move); best cost per state.
        let mut nodes: Vec<(u128, u32, u32, Option<Move>)> = vec![(initial, 0, u32::MAX, None)];
        let mut best: HashMap<(u128, u32), u64, FxBuild> =
            HashMap::with_capacity_and_hasher(4096, FxBuild);
        best.insert((initial, 0), 0);
        let mut heap: BinaryHeap<Reverse<(u64, u64, u32)>> = BinaryHeap::new();
        // Among states of equal estimate, the one with the most cost already paid (the
        // least still to come) is taken first: same optimum, fewer states.
        heap.push(Reverse((h(initial, 0).unwrap_or(0), u64::MAX, 0)));
        let mut expanded = 0usize;
        let started = std::time::Instant::now();
        while let Some(Reverse((f, inv_g, id))) = heap.pop() {
            let g = u64::MAX - inv_g;
            let (m, pos32, _, _) = nodes[id as usize];
            let pos = pos32 as usize;
            if best.get(&(m, pos32)).is_some_and(|&c| c < g) {
                continue;
            }
            if pos == n && m == goal {
                let mut moves = Vec::new();
                let mut cur = id;
                while let Some(mv) = nodes[cur as usize].3 {
                    moves.push(mv);
                    cur = nodes[cur as usize].2;
                }
                moves.reverse();
                return Ok(Ok(Alignment { cost: g, moves }));
            }
            expanded += 1;
            if let Some(limit) = self.over(expanded, started) {
                return Ok(Err(Stopped {
                    limit,
                    states: expanded - 1,
                    lower: f,
                }));
            }
            let mut push = |m2: u128, npos: usize, cost: u64, mv: Move| {
                let Some(hv) = h(m2, npos) else { return };
                let key = (m2, npos as u32);
                match best.get_mut(&key) {
                    Some(c) if *c <= cost => return,
                    Some(c) => *c = cost,
                    None => {
                        best.insert(key, cost);
                    }
                }
                nodes.push((m2, npos as u32, id, Some(mv)));
                heap.push(Reverse((
                    cost + hv,
                    u64::MAX - cost,
                    (nodes.len() - 1) as u32,
                )));
            };
            if pos < n {
                push(m, pos + 1, g + costs.dev, Move::Log { event: pos });
            }
            for (t, &(inm, outm)) in masks.iter().enumerate() {
                if m & inm != inm {
                    continue;
                }
                let rest = m & !inm;
                if rest & outm != 0 {
                    return Err(Unsafe);
                }
                let m2 = rest | outm;
                let label = self.transition_label[t];
                if pos < n && label.is_some() && label == trace[pos] {
                    push(
                        m2,
                        pos + 1,
                        g,
                        Move::Sync {
                            event: pos,
                            transition: t,
                        },
                    );
                }
                let c = self.model_cost(t, pos, n, costs, guards);
                push(m2, pos, g + c, Move::Model { transition: t });
            }
        }
        Ok(Err(Stopped {
            limit: Limit::NoRun,
            states: expanded,
            lower: u64::MAX,
        }))
    }

    fn search_general(
        &self,
        trace: &[Option<u32>],
        costs: Costs,
        guards: Option<&Guards>,
    ) -> Result<Alignment, Stopped> {
        let n = trace.len();
        // Lower bound: events no transition can match are log moves, whatever happens.
        let mut unmatched_after = vec![0u64; n + 1];
        for i in (0..n).rev() {
            unmatched_after[i] = unmatched_after[i + 1] + u64::from(trace[i].is_none());
        }
        let h = |pos: usize| unmatched_after[pos] * costs.dev;
        let mut nodes: Vec<Node> = Vec::new();
        let mut best: HashMap<GeneralState, (u64, u32), crate::hash::SeededHash> =
            HashMap::with_capacity_and_hasher(1024, Default::default());
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
        let started = std::time::Instant::now();
        while let Some(Reverse((f, g, id))) = heap.pop() {
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
                return Ok(Alignment { cost: g, moves });
            }
            expanded += 1;
            if let Some(limit) = self.over(expanded, started) {
                return Err(Stopped {
                    limit,
                    states: expanded - 1,
                    lower: f,
                });
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
                    g + costs.dev,
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
                let c = self.model_cost(t, pos, n, costs, guards);
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
        Err(Stopped {
            limit: Limit::NoRun,
            states: expanded,
            lower: u64::MAX,
        })
    }

    /// Whether a search that has expanded `expanded` states since `started` must stop,
    /// and by which limit (the clock is read every 1,024 states).
    fn over(&self, expanded: usize, started: std::time::Instant) -> Option<Limit> {
        if self.state_limit > 0 && expanded > self.state_limit {
            return Some(Limit::States);
        }
        match self.time_limit {
            Some(t) if expanded.is_multiple_of(1024) && started.elapsed() > t => Some(Limit::Time),
            _ => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// a then (b or silent skip) then c.
    pub(crate) fn net() -> Net {
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
