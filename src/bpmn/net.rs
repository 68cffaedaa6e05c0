//! The flat BPMN graph as a workflow net, for `check --model FILE.bpmn`: each sequence
//! flow a place, each task a visible transition labelled with its name (its id when it
//! has none), gateways and events silent transitions.

use super::graph::{Graph, Kind};
use crate::petri::Net;

/// The net of a graph: one source place marked at the start, one sink place at the end.
///
/// Exclusive gateways are one silent transition per way in and way out; parallel ones
/// one transition from all ways in to all ways out; an inclusive split puts a token on
/// every branch, and each branch may be skipped by a silent transition to the flow by
/// which it arrives at the matching join (which then waits for all, as a parallel join).
pub fn net(g: &Graph) -> Net {
    let mut net = Net::default();
    let places: Vec<usize> = g
        .edges
        .iter()
        .map(|e| net.add_place(format!("p_{}", e.id)))
        .collect();
    let source = net.add_place("source");
    net.initial[source] = 1;
    let sink = net.add_place("sink");
    net.final_marking[sink] = 1;
    let back = g.back_edges();
    let ipdom = g.post_dominators(&back);
    let mut silent = 0usize;
    let mut tau = |what: &str| {
        silent += 1;
        format!("tau_{what}_{silent}")
    };
    for (k, n) in g.nodes.iter().enumerate() {
        let ins: Vec<usize> = g.ins(k).map(|e| places[e]).collect();
        let outs: Vec<usize> = g.outs(k).map(|e| places[e]).collect();
        let id = &n.id;
        match n.kind {
            Kind::Start => {
                net.add_transition(tau(id), None, vec![source], outs);
            }
            Kind::End => {
                for i in ins {
                    net.add_transition(tau(id), None, vec![i], vec![sink]);
                }
            }
            Kind::Task => {
                let label = n.name.clone().unwrap_or_else(|| super::graph::clean(&n.id));
                for (j, i) in ins.into_iter().enumerate() {
                    let tid = if j == 0 {
                        format!("t_{id}")
                    } else {
                        format!("t_{id}_{j}")
                    };
                    net.add_transition(tid, Some(label.clone()), vec![i], outs.clone());
                }
            }
            Kind::Pass => {
                for i in ins {
                    net.add_transition(tau(id), None, vec![i], outs.clone());
                }
            }
            Kind::Xor => {
                for &i in &ins {
                    for &o in &outs {
                        net.add_transition(tau(id), None, vec![i], vec![o]);
                    }
                }
            }
            Kind::And => {
                net.add_transition(tau(id), None, ins, outs);
            }
            Kind::Or => {
                net.add_transition(tau(id), None, ins, outs);
                if let Some(arrivals) = g.inclusive_arrivals(k, &back, &ipdom) {
                    for (e, arrival) in g.outs(k).zip(arrivals) {
                        if e != arrival {
                            let t = tau(&format!("{id}_skip"));
                            net.add_transition(t, None, vec![places[e]], vec![places[arrival]]);
                        }
                    }
                }
            }
        }
    }
    net
}
