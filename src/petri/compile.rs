//! A procedure's decision graph compiled to a workflow net.
//!
//! Steps and calls become visible transitions labelled with the step name;
//! decisions, loops, parallel splits and joins, optional skips and ends become silent
//! transitions; every path ends in one sink place. Monitors and recorded events are
//! not control flow and are left out (other perspectives check them).

use std::collections::BTreeMap;

use super::Net;
use crate::model::Procedure;
use crate::model::graph::{EdgeKind, NodeId, NodeKind};

/// Compiles the flow of a procedure.
pub fn compile(p: &Procedure) -> Net {
    let g = &p.graph;
    let mut net = Net::default();
    let mut input: BTreeMap<NodeId, usize> = BTreeMap::new();
    let nodes: Vec<(NodeId, &crate::model::graph::Node)> = g
        .nodes()
        .filter(|(_, n)| n.kind != NodeKind::Monitor)
        .collect();
    for (id, n) in &nodes {
        if n.kind != NodeKind::Join {
            let place = net.add_place(format!("p{}_{}", id.0, sanitize(&n.name)));
            input.insert(*id, place);
        }
    }
    let sink = net.add_place("sink");
    net.final_marking[sink] = 1;
    if let Some(start) = g.start()
        && let Some(&p0) = input.get(&start)
    {
        net.initial[p0] = 1;
    }
    // Each edge into a join has its own place, so that the join waits for all branches.
    let mut edge_place: BTreeMap<(NodeId, NodeId, usize), usize> = BTreeMap::new();
    let mut join_inputs: BTreeMap<NodeId, Vec<usize>> = BTreeMap::new();
    let flow_edges: Vec<(NodeId, NodeId, Option<usize>)> = g
        .edges()
        .filter(|e| e.2.kind == EdgeKind::Flow)
        .map(|(a, b, e)| (a, b, e.branch))
        .collect();
    for (k, &(a, b, _)) in flow_edges.iter().enumerate() {
        if g.node(b).kind == NodeKind::Join {
            let place = net.add_place(format!(
                "p_{}_to_{}_{k}",
                sanitize(&g.node(a).name),
                sanitize(&g.node(b).name)
            ));
            edge_place.insert((a, b, k), place);
            join_inputs.entry(b).or_default().push(place);
        }
    }
    let target_place = |a: NodeId, b: NodeId, k: usize| -> Option<usize> {
        edge_place
            .get(&(a, b, k))
            .copied()
            .or_else(|| input.get(&b).copied())
    };
    let mut silent = 0usize;
    let mut next_silent = |what: &str| {
        silent += 1;
        format!("tau_{what}_{silent}")
    };
    for (id, n) in &nodes {
        let outs: Vec<(usize, NodeId, Option<usize>)> = flow_edges
            .iter()
            .enumerate()
            .filter(|(_, e)| e.0 == *id)
            .map(|(k, e)| (k, e.1, e.2))
            .collect();
        let targets: Vec<usize> = outs
            .iter()
            .filter_map(|&(k, b, _)| target_place(*id, b, k))
            .collect();
        // The branch each way out of a decision takes, in the order of `targets`.
        let branches: Vec<Option<usize>> = outs
            .iter()
            .filter(|&&(k, b, _)| target_place(*id, b, k).is_some())
            .map(|&(_, _, br)| br)
            .collect();
        let (from, label): (Vec<usize>, Option<String>) = match &n.kind {
            NodeKind::Join => (join_inputs.get(id).cloned().unwrap_or_default(), None),
            NodeKind::Step(_) | NodeKind::Call { .. } => (vec![input[id]], Some(n.name.clone())),
            NodeKind::End => {
                let t = next_silent(&format!("end_{}", sanitize(&n.name)));
                net.add_transition(t, None, vec![input[id]], vec![sink]);
                continue;
            }
            _ => (vec![input[id]], None),
        };
        match n.kind {
            // A parallel split puts a token on every branch.
            NodeKind::Split => {
                let t = next_silent("split");
                net.add_transition(t, None, from, targets);
            }
            // Routing nodes choose one way on: one silent transition per way.
            NodeKind::Start
            | NodeKind::Decision
            | NodeKind::Skip
            | NodeKind::Merge
            | NodeKind::LoopStart
            | NodeKind::LoopTest
            | NodeKind::Join
                if label.is_none() && n.kind != NodeKind::Join =>
            {
                for (target, branch) in targets.into_iter().zip(branches) {
                    let t = next_silent(&sanitize(&n.name));
                    let t = net.add_transition(t, None, from.clone(), vec![target]);
                    if n.kind == NodeKind::Decision {
                        net.transitions[t].branch = branch.map(|b| (n.name.clone(), b));
                    }
                }
            }
            _ => {
                let id_text = match &label {
                    Some(l) => format!("t_{}", sanitize(l)),
                    None => next_silent(&sanitize(&n.name)),
                };
                if targets.len() <= 1 {
                    net.add_transition(id_text, label, from, targets);
                } else {
                    let out = net.add_place(format!("p_after_{}", sanitize(&n.name)));
                    net.add_transition(id_text, label, from, vec![out]);
                    for target in targets {
                        let t = next_silent("choice");
                        net.add_transition(t, None, vec![out], vec![target]);
                    }
                }
            }
        }
    }
    net
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
