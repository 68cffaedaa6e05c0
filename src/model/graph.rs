//! The decision graph: the flow compiled into nodes and labelled edges.
//!
//! This file owns petgraph; no petgraph type leaves it. Other modules see
//! [`NodeId`], [`Node`] and [`Edge`] and the queries below.

use std::collections::BTreeMap;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::ast::{self, BranchBody, CellTest, StepAttr, StepKind, Stmt, TestKind};
use crate::diagnostic::Diagnostic;
use crate::fmt::expr_to_string;
use crate::source::{SourceFile, Span};

/// A node's index in the graph, stable for one build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct NodeId(pub usize);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum NodeKind {
    Start,
    Step(StepKind),
    Monitor,
    Call {
        procedure: String,
    },
    Decision,
    /// Opens a parallel block.
    Split,
    /// Closes a parallel block: every branch has happened.
    Join,
    /// Entry of a `repeat` block.
    LoopStart,
    /// The `until` test of a `repeat` block.
    LoopTest,
    /// Before an optional step: do it, or skip it.
    Skip,
    /// Where the ways out of a parallel branch meet before the join.
    Merge,
    End,
}

#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub kind: NodeKind,
    /// Step, decision or end-state name (a generated name for blocks).
    pub name: String,
    pub title: Option<String>,
    /// A time limit on reaching this node, e.g. `within 10s of answer`.
    pub limit: Option<String>,
    pub optional: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum EdgeKind {
    /// Ordinary sequence, branch or loop edge.
    Flow,
    /// From where a monitoring obligation starts to the monitor (not a path).
    Obligation,
}

#[derive(Debug, Clone, Serialize)]
pub struct Edge {
    pub kind: EdgeKind,
    pub label: Option<String>,
    /// On an edge leaving a decision: the branch it takes (0-based, the `else` last).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<usize>,
}

/// A compiled flow.
#[derive(Debug, Clone, Default)]
pub struct DecisionGraph {
    g: DiGraph<Node, Edge>,
    start: Option<NodeIndex>,
    by_name: BTreeMap<String, NodeIndex>,
    /// Immediate dominators along flow edges, computed on first use.
    idoms: std::sync::OnceLock<Vec<Option<NodeId>>>,
}

/// A serialisable view: nodes in order and edges as index pairs.
#[derive(Debug, Serialize)]
pub struct GraphView<'a> {
    pub nodes: Vec<&'a Node>,
    pub edges: Vec<(usize, usize, &'a Edge)>,
}

impl DecisionGraph {
    pub fn start(&self) -> Option<NodeId> {
        self.start.map(|n| NodeId(n.index()))
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.g[NodeIndex::new(id.0)]
    }

    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.g
            .node_indices()
            .map(|i| (NodeId(i.index()), &self.g[i]))
    }

    pub fn edges(&self) -> impl Iterator<Item = (NodeId, NodeId, &Edge)> {
        self.g.edge_references().map(|e| {
            (
                NodeId(e.source().index()),
                NodeId(e.target().index()),
                e.weight(),
            )
        })
    }

    pub fn successors(&self, id: NodeId) -> Vec<(NodeId, &Edge)> {
        let mut out: Vec<_> = self
            .g
            .edges_directed(NodeIndex::new(id.0), Direction::Outgoing)
            .map(|e| (NodeId(e.target().index()), e.weight()))
            .collect();
        out.reverse();
        out
    }

    pub fn by_name(&self, name: &str) -> Option<NodeId> {
        self.by_name.get(name).map(|n| NodeId(n.index()))
    }

    pub fn node_count(&self) -> usize {
        self.g.node_count()
    }

    /// Nodes reachable from the start along flow edges.
    pub fn reachable(&self) -> Vec<NodeId> {
        let Some(start) = self.start else {
            return Vec::new();
        };
        let mut seen = vec![false; self.g.node_count()];
        let mut stack = vec![start];
        let mut out = Vec::new();
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut seen[n.index()], true) {
                continue;
            }
            out.push(NodeId(n.index()));
            for e in self.g.edges_directed(n, Direction::Outgoing) {
                if e.weight().kind == EdgeKind::Flow {
                    stack.push(e.target());
                }
            }
        }
        out.sort();
        out
    }

    /// Flow predecessors of a node.
    pub fn predecessors(&self, id: NodeId) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = self
            .g
            .edges_directed(NodeIndex::new(id.0), Direction::Incoming)
            .filter(|e| e.weight().kind == EdgeKind::Flow)
            .map(|e| NodeId(e.source().index()))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Flow edges leaving a node, with their labels.
    pub fn flow_successors(&self, id: NodeId) -> Vec<(NodeId, Option<&str>)> {
        self.successors(id)
            .into_iter()
            .filter(|(_, e)| e.kind == EdgeKind::Flow)
            .map(|(n, e)| (n, e.label.as_deref()))
            .collect()
    }

    /// Nodes from which one of `targets` can be reached along flow edges, skipping
    /// the edges for which `blocked(from, to, label)` is true. Indexed by node.
    pub fn can_reach(
        &self,
        targets: &[NodeId],
        blocked: &dyn Fn(NodeId, NodeId, Option<&str>) -> bool,
    ) -> Vec<bool> {
        let mut seen = vec![false; self.g.node_count()];
        let mut stack: Vec<NodeIndex> = targets.iter().map(|t| NodeIndex::new(t.0)).collect();
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut seen[n.index()], true) {
                continue;
            }
            for e in self.g.edges_directed(n, Direction::Incoming) {
                let w = e.weight();
                if w.kind == EdgeKind::Flow
                    && !blocked(
                        NodeId(e.source().index()),
                        NodeId(n.index()),
                        w.label.as_deref(),
                    )
                {
                    stack.push(e.source());
                }
            }
        }
        seen
    }

    /// Nodes reachable from the start along flow edges without passing through any
    /// of `avoid`. Indexed by node. `avoid` nodes themselves are not entered.
    pub fn reachable_avoiding(&self, avoid: &[NodeId]) -> Vec<bool> {
        let mut seen = vec![false; self.g.node_count()];
        let Some(start) = self.start else {
            return seen;
        };
        let mut stack = vec![start];
        while let Some(n) = stack.pop() {
            if avoid.contains(&NodeId(n.index())) || std::mem::replace(&mut seen[n.index()], true) {
                continue;
            }
            for e in self.g.edges_directed(n, Direction::Outgoing) {
                if e.weight().kind == EdgeKind::Flow {
                    stack.push(e.target());
                }
            }
        }
        seen
    }

    /// Whether `a` dominates `b`: every flow path from the start to `b` passes
    /// through `a` (a node dominates itself). False when `b` is unreachable.
    pub fn dominates(&self, a: NodeId, b: NodeId) -> bool {
        let idoms = self.idoms();
        let Some(start) = self.start() else {
            return false;
        };
        if b != start && idoms.get(b.0).copied().flatten().is_none() {
            return false;
        }
        let mut cur = b;
        for _ in 0..=idoms.len() {
            if cur == a {
                return true;
            }
            match idoms.get(cur.0).copied().flatten() {
                Some(up) => cur = up,
                None => return false,
            }
        }
        false
    }

    fn idoms(&self) -> &[Option<NodeId>] {
        self.idoms.get_or_init(|| {
            let mut out = vec![None; self.g.node_count()];
            let Some(start) = self.start else {
                return out;
            };
            let flow = petgraph::visit::EdgeFiltered::from_fn(&self.g, |e| {
                e.weight().kind == EdgeKind::Flow
            });
            let doms = petgraph::algo::dominators::simple_fast(&flow, start);
            for n in self.g.node_indices() {
                out[n.index()] = doms.immediate_dominator(n).map(|d| NodeId(d.index()));
            }
            out
        })
    }

    /// The immediate dominator of every node reachable from the start (the start
    /// has none). Indexed by node.
    pub fn immediate_dominators(&self) -> Vec<Option<NodeId>> {
        self.idoms().to_vec()
    }

    /// Strongly connected components along flow edges that contain a cycle,
    /// each sorted by node id; components in order of their first node.
    pub fn cycles(&self) -> Vec<Vec<NodeId>> {
        let flow =
            petgraph::visit::EdgeFiltered::from_fn(&self.g, |e| e.weight().kind == EdgeKind::Flow);
        let mut out: Vec<Vec<NodeId>> = petgraph::algo::tarjan_scc(&flow)
            .into_iter()
            .filter(|c| {
                c.len() > 1
                    || self
                        .g
                        .edges_directed(c[0], Direction::Outgoing)
                        .any(|e| e.target() == c[0] && e.weight().kind == EdgeKind::Flow)
            })
            .map(|c| {
                let mut v: Vec<NodeId> = c.into_iter().map(|n| NodeId(n.index())).collect();
                v.sort();
                v
            })
            .collect();
        out.sort();
        out
    }

    pub fn view(&self) -> GraphView<'_> {
        GraphView {
            nodes: self.g.node_weights().collect(),
            edges: self
                .g
                .edge_references()
                .map(|e| (e.source().index(), e.target().index(), e.weight()))
                .collect(),
        }
    }
}

/// A way out of the statements compiled so far: the node, the label of the edge that
/// leaves it, and for a decision's branch its index (the `else` last).
type Frontier = Vec<(NodeIndex, Option<String>, Option<usize>)>;

struct Compiler {
    g: DiGraph<Node, Edge>,
    by_name: BTreeMap<String, NodeIndex>,
    ends: BTreeMap<String, NodeIndex>,
    gotos: Vec<(NodeIndex, Option<String>, Option<usize>, String)>,
    blocks: usize,
    diags: Vec<Diagnostic>,
}

/// Compiles the `flow` of a file. Returns an empty graph for a library.
pub(super) fn compile(file: &ast::File, source: &SourceFile) -> (DecisionGraph, Vec<Diagnostic>) {
    let Some((body, flow_span)) = file.sections.iter().find_map(|s| match s {
        ast::Section::Flow { body, span } => Some((body, *span)),
        _ => None,
    }) else {
        return (DecisionGraph::default(), Vec::new());
    };
    let mut c = Compiler {
        g: DiGraph::new(),
        by_name: BTreeMap::new(),
        ends: BTreeMap::new(),
        gotos: Vec::new(),
        blocks: 0,
        diags: Vec::new(),
    };
    let start = c.node(NodeKind::Start, "start".into(), None, flow_span);
    let exits = c.block(body, vec![(start, None, None)]);
    if !exits.is_empty() {
        let last = exits
            .iter()
            .map(|(n, _, _)| c.g[*n].span)
            .max()
            .unwrap_or(flow_span);
        c.diags.push(
            Diagnostic::error(
                "missing-end",
                "the flow can run past its last step without reaching an end state",
            )
            .with_label(last, "a path continues after this")
            .with_help("finish every path with `end STATE` (declared in `ends`), or `go to` a step")
            .with_source(source),
        );
    }
    for (from, label, branch, target) in std::mem::take(&mut c.gotos) {
        if let Some(&to) = c.by_name.get(&target) {
            c.g.add_edge(
                from,
                to,
                Edge {
                    kind: EdgeKind::Flow,
                    label,
                    branch,
                },
            );
        }
    }
    let graph = DecisionGraph {
        g: c.g,
        start: Some(start),
        by_name: c.by_name,
        idoms: std::sync::OnceLock::new(),
    };
    (graph, c.diags)
}

pub fn tests_label(tests: &[CellTest]) -> String {
    tests
        .iter()
        .map(|t| {
            let body = match &t.kind {
                TestKind::Equals(e) => expr_to_string(e),
                TestKind::Compare(op, e) => format!("{} {}", op.text(), expr_to_string(e)),
                TestKind::Range(a, b) => format!("{}..{}", expr_to_string(a), expr_to_string(b)),
            };
            if t.negated {
                format!("not {body}")
            } else {
                body
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn limit_of(attrs: &[StepAttr]) -> Option<String> {
    attrs.iter().find_map(|a| match a {
        StepAttr::Within { limit, of, .. } => Some(match of {
            Some(anchor) => format!(
                "≤ {} of {}",
                expr_to_string(limit),
                crate::fmt::anchor_to_string(anchor)
            ),
            None => format!("≤ {}", expr_to_string(limit)),
        }),
        _ => None,
    })
}

impl Compiler {
    fn node(
        &mut self,
        kind: NodeKind,
        name: String,
        title: Option<String>,
        span: Span,
    ) -> NodeIndex {
        self.g.add_node(Node {
            kind,
            name,
            title,
            limit: None,
            optional: false,
            span,
        })
    }

    fn named(&mut self, n: NodeIndex) {
        let name = self.g[n].name.clone();
        self.by_name.entry(name).or_insert(n);
    }

    fn connect(&mut self, frontier: Frontier, to: NodeIndex) {
        for (from, label, branch) in frontier {
            self.g.add_edge(
                from,
                to,
                Edge {
                    kind: EdgeKind::Flow,
                    label,
                    branch,
                },
            );
        }
    }

    fn fresh(&mut self, what: &str) -> String {
        self.blocks += 1;
        format!("{what}#{}", self.blocks)
    }

    fn block(&mut self, body: &[Stmt], mut frontier: Frontier) -> Frontier {
        for stmt in body {
            frontier = self.stmt(stmt, frontier);
        }
        frontier
    }

    fn stmt(&mut self, stmt: &Stmt, frontier: Frontier) -> Frontier {
        match stmt {
            Stmt::Step(s) => {
                let n = self.node(
                    NodeKind::Step(s.kind),
                    s.name.text.clone(),
                    s.title.as_ref().map(|t| t.value.clone()),
                    s.span,
                );
                self.g[n].limit = limit_of(&s.attrs);
                self.g[n].optional = s.optional;
                self.named(n);
                if s.optional {
                    // An optional step may be skipped: a choice point in front of it leads
                    // either to the step or past it (one or the other, even inside a
                    // parallel branch).
                    let choice =
                        self.node(NodeKind::Skip, format!("{}?", s.name.text), None, s.span);
                    self.connect(frontier, choice);
                    self.g.add_edge(
                        choice,
                        n,
                        Edge {
                            kind: EdgeKind::Flow,
                            label: Some("do".into()),
                            branch: None,
                        },
                    );
                    return vec![(n, None, None), (choice, Some("skip".into()), None)];
                }
                self.connect(frontier, n);
                vec![(n, None, None)]
            }
            Stmt::Monitor(m) => {
                let n = self.node(NodeKind::Monitor, m.name.text.clone(), None, m.span);
                self.g[n].limit = Some(format!(
                    "every {} until {}",
                    expr_to_string(&m.every),
                    crate::fmt::anchor_to_string(&m.until)
                ));
                self.named(n);
                for (from, _, _) in &frontier {
                    self.g.add_edge(
                        *from,
                        n,
                        Edge {
                            kind: EdgeKind::Obligation,
                            label: Some("monitor".into()),
                            branch: None,
                        },
                    );
                }
                frontier
            }
            Stmt::Call(c) => {
                let name = c.step_name().text;
                let n = self.node(
                    NodeKind::Call {
                        procedure: c.procedure.text.clone(),
                    },
                    name,
                    Some(format!("call {}", c.procedure.text)),
                    c.span,
                );
                self.g[n].limit = limit_of(&c.attrs);
                self.named(n);
                self.connect(frontier, n);
                vec![(n, None, None)]
            }
            Stmt::Decide(d) => {
                let n = self.node(
                    NodeKind::Decision,
                    d.name.text.clone(),
                    d.subject.as_ref().map(expr_to_string),
                    d.span,
                );
                self.named(n);
                self.connect(frontier, n);
                let mut exits = Vec::new();
                let arms = d
                    .branches
                    .iter()
                    .map(|b| (tests_label(&b.tests), &b.body))
                    .chain(
                        d.otherwise
                            .iter()
                            .map(|(body, _)| ("else".to_string(), body)),
                    );
                for (b, (label, body)) in arms.enumerate() {
                    match body {
                        BranchBody::Goto(t) => {
                            self.gotos.push((n, Some(label), Some(b), t.text.clone()))
                        }
                        BranchBody::Block(stmts) if stmts.is_empty() => {
                            exits.push((n, Some(label), Some(b)))
                        }
                        BranchBody::Block(stmts) => {
                            exits.extend(self.block(stmts, vec![(n, Some(label), Some(b))]))
                        }
                    }
                }
                exits
            }
            Stmt::Parallel(p) => {
                let name = p
                    .name
                    .as_ref()
                    .map_or_else(|| self.fresh("parallel"), |n| n.text.clone());
                let split = self.node(NodeKind::Split, name.clone(), None, p.span);
                if p.name.is_some() {
                    self.named(split);
                }
                let join = self.node(NodeKind::Join, format!("{name}/join"), None, p.end_span);
                self.connect(frontier, split);
                for b in &p.branches {
                    let label = b.label.as_ref().map(|l| l.value.clone());
                    let exits = self.block(&b.body, vec![(split, label, None)]);
                    if exits.len() > 1 {
                        // A branch that ends in several ways (an optional step, a decision)
                        // merges first: the join waits for each branch once.
                        let merge =
                            self.node(NodeKind::Merge, format!("{name}/merge"), None, b.span);
                        self.connect(exits, merge);
                        self.connect(vec![(merge, None, None)], join);
                    } else {
                        self.connect(exits, join);
                    }
                }
                vec![(join, None, None)]
            }
            Stmt::Repeat(r) => {
                let name = r
                    .name
                    .as_ref()
                    .map_or_else(|| self.fresh("repeat"), |n| n.text.clone());
                let entry = self.node(NodeKind::LoopStart, name.clone(), None, r.span);
                if r.name.is_some() {
                    self.named(entry);
                }
                self.connect(frontier, entry);
                let exits = self.block(&r.body, vec![(entry, None, None)]);
                let until = expr_to_string(&r.until);
                let test = self.node(
                    NodeKind::LoopTest,
                    format!("{name}/until"),
                    Some(until.clone()),
                    r.until_span,
                );
                self.connect(exits, test);
                let back = match r.max {
                    Some(m) => format!("again (at most {m})"),
                    None => "again".to_string(),
                };
                self.g.add_edge(
                    test,
                    entry,
                    Edge {
                        kind: EdgeKind::Flow,
                        label: Some(back),
                        branch: None,
                    },
                );
                vec![(test, Some(until), None)]
            }
            Stmt::Goto { target, .. } => {
                for (from, label, branch) in frontier {
                    self.gotos.push((from, label, branch, target.text.clone()));
                }
                Vec::new()
            }
            Stmt::End { state, span, .. } => {
                let n = match self.ends.get(&state.text) {
                    Some(&n) => n,
                    None => {
                        let n = self.node(NodeKind::End, state.text.clone(), None, *span);
                        self.ends.insert(state.text.clone(), n);
                        n
                    }
                };
                self.connect(frontier, n);
                Vec::new()
            }
        }
    }
}
