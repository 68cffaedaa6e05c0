//! The flat graph recovered as blocks (sequence, `decide`, `parallel`, `repeat`, `go to`)
//! and written as a draft procedure in procedo's language.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::graph::{Graph, Kind};
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceFile;

/// A statement of the recovered flow.
#[derive(Debug, Clone)]
enum Block {
    Step(usize),
    /// An exclusive split: one branch per way out (edge index, body).
    Decide {
        gw: usize,
        branches: Vec<(usize, Vec<Block>)>,
    },
    /// A parallel split, or (`inclusive`) one whose branches may each be skipped.
    Parallel {
        gw: usize,
        inclusive: bool,
        branches: Vec<(usize, Vec<Block>)>,
    },
    /// A loop: body from the header, then the exclusive split whose way back closes it.
    Repeat {
        test: usize,
        body: Vec<Block>,
        exit: usize,
        again: usize,
    },
    Goto(usize),
    End(usize),
    /// A sub-process begins (a comment).
    Sub(usize),
    /// Nothing can be written here (a way into the middle of a split): an end
    /// `unstructured` stands in, with an error diagnostic.
    Stuck(usize),
}

struct Structurer<'g> {
    g: &'g Graph,
    source: &'g SourceFile,
    back: Vec<bool>,
    ipdom: Vec<usize>,
    visited: Vec<bool>,
    in_repeat: BTreeSet<usize>,
    diagnostics: Vec<Diagnostic>,
}

impl Structurer<'_> {
    fn exit(&self) -> usize {
        self.g.nodes.len()
    }

    fn warn(&mut self, severity: Severity, code: &str, node: usize, message: String, help: &str) {
        let n = &self.g.nodes[node];
        self.diagnostics.push(
            Diagnostic::new(severity, code, message)
                .with_label(n.span, format!("`{}`", n.id))
                .with_help(help)
                .with_source(self.source),
        );
    }

    /// The one forward way on from a node that neither splits nor ends, if any.
    fn next(&self, n: usize) -> Option<usize> {
        self.g.outs(n).next().map(|e| self.g.edges[e].to)
    }

    /// The blocks from `n` until `stop` (exclusive), and whether `stop` was reached.
    fn seq(&mut self, mut n: usize, stop: Option<usize>) -> (Vec<Block>, bool) {
        let mut out = Vec::new();
        loop {
            if Some(n) == stop {
                return (out, true);
            }
            if self.visited[n] && self.g.nodes[n].kind != Kind::End {
                out.push(self.goto(n));
                return (out, false);
            }
            if let Some((block, after)) = self.repeat(n) {
                out.push(block);
                n = after;
                continue;
            }
            self.visited[n] = true;
            let node = &self.g.nodes[n];
            let outs: Vec<usize> = self.g.outs(n).collect();
            match node.kind {
                Kind::End => {
                    out.push(Block::End(n));
                    return (out, false);
                }
                Kind::Task | Kind::Start | Kind::Pass => {
                    if node.kind == Kind::Task {
                        out.push(Block::Step(n));
                    }
                    if node.subprocess.is_some() {
                        out.push(Block::Sub(n));
                    }
                }
                Kind::Xor | Kind::And | Kind::Or if outs.len() > 1 => {
                    let join = self.ipdom[n];
                    let until = (join < self.exit()).then_some(join);
                    if let Some(j) = until
                        && self.g.nodes[j].kind != node.kind
                    {
                        let what = |k: Kind| match k {
                            Kind::Xor => "an exclusive",
                            Kind::And => "a parallel",
                            Kind::Or => "an inclusive",
                            _ => "no",
                        };
                        let message = format!(
                            "`{}` is {} split, but its branches meet at `{}`, {} join: the draft's block joins them as the split does",
                            node.id,
                            what(node.kind),
                            self.g.nodes[j].id,
                            what(self.g.nodes[j].kind)
                        );
                        self.warn(
                            Severity::Error,
                            "bpmn-unstructured",
                            n,
                            message,
                            "join each split's branches with a gateway of the same kind",
                        );
                    }
                    let mut branches = Vec::new();
                    for &e in &outs {
                        let t = self.g.edges[e].to;
                        let body = if self.back[e] {
                            vec![self.goto(t)]
                        } else {
                            self.seq(t, until).0
                        };
                        branches.push((e, body));
                    }
                    let kind = node.kind;
                    match kind {
                        Kind::Xor => {
                            if until.is_none() {
                                // Every branch ends (or loops back): the longest one is
                                // written after the `decide`, which reads the same.
                                let longest = (0..branches.len())
                                    .max_by_key(|&b| (size(&branches[b].1), usize::MAX - b));
                                let rest = longest.map(|b| std::mem::take(&mut branches[b].1));
                                out.push(Block::Decide { gw: n, branches });
                                out.extend(rest.unwrap_or_default());
                                return (out, false);
                            }
                            out.push(Block::Decide { gw: n, branches });
                        }
                        _ => {
                            let inclusive = kind == Kind::Or;
                            if until.is_none() {
                                // Each branch ends on its own: the draft joins them and
                                // ends once, in the first branch's end state.
                                let mut last_end = None;
                                for (_, body) in branches.iter_mut() {
                                    if let Some(Block::End(k)) = body.last() {
                                        last_end = last_end.or(Some(*k));
                                        body.pop();
                                    }
                                }
                                let ended = last_end
                                    .map(|k| format!(" before the end `{}`", self.g.nodes[k].id))
                                    .unwrap_or_default();
                                self.warn(
                                    Severity::Error,
                                    "bpmn-unstructured",
                                    n,
                                    format!(
                                        "the branches of `{}` never join: a parallel block must come together before the case ends; the draft joins them{ended}",
                                        self.g.nodes[n].id
                                    ),
                                    "join the branches with a parallel gateway before one end event",
                                );
                                out.push(Block::Parallel {
                                    gw: n,
                                    inclusive,
                                    branches,
                                });
                                if let Some(k) = last_end {
                                    out.push(Block::End(k));
                                }
                                return (out, false);
                            }
                            out.push(Block::Parallel {
                                gw: n,
                                inclusive,
                                branches,
                            });
                        }
                    }
                    if let Some(j) = until {
                        n = j;
                        continue;
                    }
                    return (out, false);
                }
                _ => {}
            }
            match outs.first() {
                Some(&e) if self.back[e] => {
                    let t = self.g.edges[e].to;
                    out.push(self.goto(t));
                    return (out, false);
                }
                Some(&e) => n = self.g.edges[e].to,
                None => return (out, false),
            }
        }
    }

    /// A loop headed at `h` written as `repeat`: `h` joins the way in and one way back, from
    /// an exclusive split whose other way is the only way out, and the body between them is
    /// a block of its own. Returns the block and the node after the loop.
    fn repeat(&mut self, h: usize) -> Option<(Block, usize)> {
        if self.in_repeat.contains(&h) || self.g.nodes[h].kind != Kind::Xor {
            return None;
        }
        let ins: Vec<usize> = self.g.ins(h).collect();
        let backs: Vec<usize> = ins.iter().copied().filter(|&e| self.back[e]).collect();
        let ([b], 2) = (backs.as_slice(), ins.len()) else {
            return None;
        };
        let test = self.g.edges[*b].from;
        if self.g.nodes[test].kind != Kind::Xor || test == h {
            return None;
        }
        let outs: Vec<usize> = self.g.outs(test).collect();
        let [o1, o2] = outs[..] else { return None };
        let (again, exit) = if o1 == *b { (o1, o2) } else { (o2, o1) };
        let first = self.next(h)?;
        // Try the body; undo everything if it is not a block ending at the test.
        let saved_visited = self.visited.clone();
        let saved_diags = self.diagnostics.len();
        self.in_repeat.insert(h);
        self.visited[h] = true;
        let (body, reached) = if first == test {
            (Vec::new(), true)
        } else {
            self.seq(first, Some(test))
        };
        self.in_repeat.remove(&h);
        if !reached || body.is_empty() || contains_goto(&body) {
            self.visited = saved_visited;
            self.diagnostics.truncate(saved_diags);
            return None;
        }
        self.visited[test] = true;
        Some((
            Block::Repeat {
                test,
                body,
                exit,
                again,
            },
            self.g.edges[exit].to,
        ))
    }

    /// `go to` the first step on the one way on from `n`; an end is written again.
    fn goto(&mut self, n: usize) -> Block {
        let mut k = n;
        for _ in 0..=self.g.nodes.len() {
            match self.g.nodes[k].kind {
                Kind::Task => return Block::Goto(k),
                Kind::End => return Block::End(k),
                _ => {}
            }
            let outs: Vec<usize> = self.g.outs(k).collect();
            match outs[..] {
                [e] => k = self.g.edges[e].to,
                _ => break,
            }
        }
        self.warn(
            Severity::Error,
            "bpmn-unstructured",
            n,
            format!(
                "the flow comes back to `{}` from another branch, and no step follows it to `go to`: this part is not block-structured",
                self.g.nodes[n].id
            ),
            "the draft ends that branch in the end state `unstructured`; restructure the diagram so that each split's branches meet at one join",
        );
        Block::Stuck(n)
    }
}

fn size(blocks: &[Block]) -> usize {
    blocks
        .iter()
        .map(|b| match b {
            Block::Decide { branches, .. } | Block::Parallel { branches, .. } => {
                1 + branches.iter().map(|(_, x)| size(x)).sum::<usize>()
            }
            Block::Repeat { body, .. } => 1 + size(body),
            _ => 1,
        })
        .sum()
}

fn contains_goto(blocks: &[Block]) -> bool {
    blocks.iter().any(|b| match b {
        Block::Goto(_) | Block::Stuck(_) | Block::End(_) => true,
        Block::Decide { branches, .. } | Block::Parallel { branches, .. } => {
            branches.iter().any(|(_, x)| contains_goto(x))
        }
        Block::Repeat { body, .. } => contains_goto(body),
        _ => false,
    })
}

/// Words of the language that are never used as names in a draft.
const KEYWORDS: &[&str] = &[
    "procedure",
    "library",
    "title",
    "version",
    "owner",
    "effective",
    "until",
    "applies",
    "when",
    "use",
    "facts",
    "type",
    "bool",
    "int",
    "decimal",
    "text",
    "duration",
    "timestamp",
    "date",
    "enum",
    "list",
    "of",
    "code",
    "optional",
    "or",
    "and",
    "not",
    "in",
    "is",
    "missing",
    "matches",
    "true",
    "false",
    "unknown",
    "counts",
    "as",
    "params",
    "roles",
    "reports",
    "to",
    "resources",
    "with",
    "count",
    "calendar",
    "timezone",
    "format",
    "hours",
    "holiday",
    "calls",
    "after",
    "next",
    "working",
    "day",
    "clock",
    "starts",
    "stops",
    "pauses",
    "from",
    "at",
    "validity",
    "bands",
    "priority",
    "scale",
    "target",
    "within",
    "override",
    "requires",
    "role",
    "reason",
    "regrade",
    "up",
    "down",
    "allowed",
    "combine",
    "highest",
    "lowest",
    "first",
    "last",
    "table",
    "hit",
    "unique",
    "any",
    "collect",
    "rule",
    "output",
    "order",
    "max",
    "min",
    "sum",
    "matrix",
    "by",
    "score",
    "decisions",
    "ends",
    "events",
    "flow",
    "step",
    "inform",
    "instruct",
    "needs",
    "records",
    "outcomes",
    "outcome",
    "escalate",
    "responsibilities",
    "ack",
    "actions",
    "on",
    "monitor",
    "every",
    "call",
    "decide",
    "else",
    "end",
    "parallel",
    "branch",
    "repeat",
    "most",
    "least",
    "go",
    "earliest_of",
    "latest_of",
    "constraints",
    "followed",
    "before",
    "never",
    "exactly",
    "both",
    "different",
    "same",
    "actor",
    "for",
    "standards",
    "mean",
    "median",
    "centile",
    "where",
    "excluding",
    "exemptions",
    "waives",
    "mapping",
    "activity",
    "attribute",
    "value",
    "ignore",
    "links",
    "via",
    "inherited",
    "independent",
    "len",
    "validity",
];

/// Lower snake case of a label: `Log the incident` → `log_the_incident`.
pub fn snake(label: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower {
                out.push('_');
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        } else {
            prev_lower = false;
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
        }
    }
    let out = out.trim_matches('_').to_string();
    let mut out = if out.is_empty() {
        "unnamed".to_string()
    } else {
        out
    };
    if out.len() > 40 {
        out.truncate(40);
        out = out.trim_end_matches('_').to_string();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out = format!("n_{out}");
    }
    out
}

/// Names handed out once each (steps, decisions, facts, roles and end states share it).
#[derive(Default)]
struct Names(BTreeSet<String>);

impl Names {
    fn take(&mut self, label: &str, suffix: &str) -> String {
        let mut base = snake(label);
        if KEYWORDS.contains(&base.as_str()) {
            base = format!("{base}_{suffix}");
        }
        let mut name = base.clone();
        let mut k = 2;
        while !self.0.insert(name.clone()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        name
    }
}

/// Text inside a string literal: quotes and backslashes escaped (the language reads `\"`
/// and `\\` back as they were).
fn lit(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// What a draft is made of once names are chosen.
struct Writer<'g> {
    g: &'g Graph,
    names: Names,
    step: BTreeMap<usize, String>,
    label: BTreeMap<usize, String>,
    role: BTreeMap<usize, String>,
    end: BTreeMap<String, (String, Option<String>)>,
    /// Values of each way out of a split (edge → value).
    value: BTreeMap<usize, String>,
    gw_name: BTreeMap<usize, String>,
    outcomes: BTreeMap<usize, Vec<String>>,
    facts: Vec<(String, Vec<String>, String)>,
    diagnostics: Vec<Diagnostic>,
    source: &'g SourceFile,
    uses_unstructured: bool,
    /// The parallel gateways whose blocks are being written.
    parallels: Vec<usize>,
}

impl Writer<'_> {
    fn node_label(&self, n: usize) -> String {
        let node = &self.g.nodes[n];
        node.name
            .clone()
            .unwrap_or_else(|| super::graph::clean(&node.id))
    }

    /// Names everything the blocks mention, depth first, in the order written.
    fn name(&mut self, blocks: &[Block]) {
        for b in blocks {
            match b {
                Block::Step(n) => {
                    let label = self.node_label(*n);
                    let name = self.names.take(&label, "step");
                    self.step.insert(*n, name);
                    self.label.insert(*n, label);
                    if let Some(l) = self.g.nodes[*n].lane {
                        self.role_name(l);
                    }
                    for t in &self.g.nodes[*n].timers {
                        if let Some(l) = t.escalate_to {
                            self.role_name(l);
                        }
                    }
                }
                Block::Decide { gw, branches } | Block::Parallel { gw, branches, .. } => {
                    let label = self.node_label(*gw);
                    let label =
                        if self.g.nodes[*gw].name.is_none() && self.g.nodes[*gw].id.contains('#') {
                            "split".to_string()
                        } else {
                            label
                        };
                    let name = self.names.take(&label, "choice");
                    self.gw_name.insert(*gw, name);
                    let mut local = Names::default();
                    for (e, _) in branches.iter() {
                        let v = local.take(&self.edge_label(*e), "way");
                        self.value.insert(*e, v);
                    }
                    for (_, body) in branches {
                        self.name(body);
                    }
                }
                Block::Repeat {
                    test,
                    body,
                    exit,
                    again,
                } => {
                    let label = self.node_label(*test);
                    let name = self.names.take(&label, "loop");
                    self.gw_name.insert(*test, name);
                    let mut local = Names::default();
                    let ev = local.take(&self.edge_label(*exit), "way");
                    let av = local.take(&self.edge_label(*again), "way");
                    self.value.insert(*exit, ev);
                    self.value.insert(*again, av);
                    self.name(body);
                }
                Block::End(n) => self.end_name(*n),
                Block::Stuck(_) => {
                    self.uses_unstructured = true;
                }
                Block::Goto(_) | Block::Sub(_) => {}
            }
        }
    }

    fn role_name(&mut self, lane: usize) -> String {
        if let Some(r) = self.role.get(&lane) {
            return r.clone();
        }
        let name = self.names.take(&self.g.lanes[lane].name, "role");
        self.role.insert(lane, name.clone());
        name
    }

    fn end_name(&mut self, n: usize) {
        let node = &self.g.nodes[n];
        let label = node.name.clone().unwrap_or_else(|| "done".to_string());
        if !self.end.contains_key(&label) {
            let name = self.names.take(&label, "state");
            self.end.insert(label, (name, node.name.clone()));
        }
    }

    fn end_of(&self, n: usize) -> String {
        let label = self.g.nodes[n]
            .name
            .clone()
            .unwrap_or_else(|| "done".to_string());
        self.end
            .get(&label)
            .map(|e| e.0.clone())
            .unwrap_or_else(|| "done".into())
    }

    /// A way out of a split: the flow's name, else the name of where it goes, else its id.
    fn edge_label(&self, e: usize) -> String {
        let edge = &self.g.edges[e];
        if let Some(n) = &edge.name {
            return n.clone();
        }
        let to = &self.g.nodes[edge.to];
        match (&to.name, to.kind) {
            (Some(n), _) => n.clone(),
            (None, Kind::End) => "end".to_string(),
            _ => super::graph::clean(edge.id.split('#').next().unwrap_or("way")),
        }
    }

    fn write_blocks(
        &mut self,
        out: &mut String,
        blocks: &[Block],
        depth: usize,
        prev: Option<usize>,
    ) {
        let pad = "  ".repeat(depth);
        let mut prev = prev;
        for (i, b) in blocks.iter().enumerate() {
            let before = if i > 0 { blocks.get(i - 1) } else { None };
            if let (Some(&gw), Block::Goto(n) | Block::End(n) | Block::Stuck(n)) =
                (self.parallels.last(), b)
            {
                self.leaves_parallel(gw, *n);
            }
            match b {
                Block::Step(n) => {
                    self.write_step(out, *n, depth, prev, false);
                    prev = Some(*n);
                }
                Block::Sub(n) => {
                    let _ = writeln!(
                        out,
                        "{pad}# sub-process `{}` (\"{}\") from here",
                        self.g.nodes[*n].id,
                        self.node_label(*n)
                    );
                }
                Block::Goto(n) => match self.step.get(n) {
                    Some(step) => {
                        let _ = writeln!(out, "{pad}go to {step}");
                    }
                    None => {
                        // A way back to a task the blocks never reached on their own.
                        self.uses_unstructured = true;
                        let _ = writeln!(
                            out,
                            "{pad}# TODO the BPMN flow continues at `{}` here: not block-structured",
                            self.g.nodes[*n].id
                        );
                        let _ = writeln!(out, "{pad}end unstructured");
                    }
                },
                Block::End(n) => {
                    let _ = writeln!(out, "{pad}end {}", self.end_of(*n));
                }
                Block::Stuck(n) => {
                    let _ = writeln!(
                        out,
                        "{pad}# TODO the BPMN flow continues at `{}` here: not block-structured",
                        self.g.nodes[*n].id
                    );
                    let _ = writeln!(out, "{pad}end unstructured");
                }
                Block::Decide { gw, branches } => {
                    let name = self.gw_name[gw].clone();
                    let node = &self.g.nodes[*gw];
                    let values: Vec<String> = branches
                        .iter()
                        .map(|(e, _)| self.value[e].clone())
                        .collect();
                    let _ = writeln!(
                        out,
                        "{pad}# exclusive gateway `{}`{}: one branch per outgoing sequence flow.",
                        node.id,
                        node.name
                            .as_ref()
                            .map(|n| format!(" (\"{n}\")"))
                            .unwrap_or_default()
                    );
                    let subject = match before {
                        Some(Block::Step(s)) => {
                            self.outcomes
                                .entry(*s)
                                .or_default()
                                .extend(values.iter().cloned());
                            let _ = writeln!(
                                out,
                                "{pad}# TODO the step before records which way: its outcome decides."
                            );
                            format!("outcome of {}", self.step[s])
                        }
                        _ => {
                            let fact = self.names.take(&format!("{name}_branch"), "fact");
                            let _ = writeln!(
                                out,
                                "{pad}# TODO `{fact}` stands in for the conditions below: replace it with facts."
                            );
                            self.facts
                                .push((fact.clone(), values.clone(), node.id.clone()));
                            fact
                        }
                    };
                    self.write_notes(out, *gw, depth);
                    let _ = writeln!(out, "{pad}decide {name} on {subject}");
                    for (e, body) in branches {
                        self.write_condition(out, *e, depth + 1);
                        let _ = writeln!(out, "{pad}  when {}", self.value[e]);
                        self.write_blocks(out, body, depth + 2, prev);
                    }
                    let _ = writeln!(out, "{pad}end");
                }
                Block::Parallel {
                    gw,
                    inclusive,
                    branches,
                } => {
                    let name = self.gw_name[gw].clone();
                    let node = &self.g.nodes[*gw];
                    let what = if *inclusive { "inclusive" } else { "parallel" };
                    let _ = writeln!(
                        out,
                        "{pad}# {what} gateway `{}`{}{}",
                        node.id,
                        node.name
                            .as_ref()
                            .map(|n| format!(" (\"{n}\")"))
                            .unwrap_or_default(),
                        if *inclusive {
                            ": every branch may be skipped (at least one is taken in BPMN)"
                        } else {
                            ""
                        }
                    );
                    self.write_notes(out, *gw, depth);
                    let _ = writeln!(out, "{pad}parallel {name}");
                    self.parallels.push(*gw);
                    for (e, body) in branches {
                        let title = self.edge_label(*e);
                        if *inclusive {
                            self.write_condition(out, *e, depth + 1);
                        }
                        let _ = writeln!(out, "{pad}  branch \"{}\"", lit(&title));
                        if *inclusive {
                            match body.as_slice() {
                                [Block::Step(s)] => {
                                    self.write_step(out, *s, depth + 2, prev, true);
                                }
                                [] => {}
                                _ => {
                                    let fact = self
                                        .names
                                        .take(&format!("{name}_{}", self.value[e]), "fact");
                                    self.facts.push((fact.clone(), Vec::new(), node.id.clone()));
                                    let _ = writeln!(
                                        out,
                                        "{pad}    # TODO `{fact}` stands in for this branch's condition."
                                    );
                                    let decision =
                                        self.names.take(&format!("{fact}_taken"), "choice");
                                    let _ = writeln!(out, "{pad}    decide {decision} on {fact}");
                                    let _ = writeln!(out, "{pad}      when true");
                                    self.write_blocks(out, body, depth + 4, prev);
                                    let _ = writeln!(out, "{pad}      when false");
                                    let _ = writeln!(out, "{pad}    end");
                                }
                            }
                        } else {
                            self.write_blocks(out, body, depth + 2, prev);
                        }
                    }
                    self.parallels.pop();
                    let _ = writeln!(out, "{pad}end");
                }
                Block::Repeat {
                    test,
                    body,
                    exit,
                    again,
                } => {
                    let name = self.gw_name[test].clone();
                    let node = &self.g.nodes[*test];
                    let (ev, av) = (self.value[exit].clone(), self.value[again].clone());
                    let _ = writeln!(
                        out,
                        "{pad}# loop closed by exclusive gateway `{}`{}: `{av}` goes round again, `{ev}` leaves.",
                        node.id,
                        node.name
                            .as_ref()
                            .map(|n| format!(" (\"{n}\")"))
                            .unwrap_or_default()
                    );
                    self.write_condition(out, *exit, depth);
                    self.write_condition(out, *again, depth);
                    self.write_notes(out, *test, depth);
                    let _ = writeln!(out, "{pad}repeat {name}");
                    self.write_blocks(out, body, depth + 1, prev);
                    let until = match body.last() {
                        Some(Block::Step(s)) => {
                            let o = self.outcomes.entry(*s).or_default();
                            o.extend([ev.clone(), av.clone()]);
                            format!("outcome of {} == {ev}", self.step[s])
                        }
                        _ => {
                            let fact = self.names.take(&format!("{name}_branch"), "fact");
                            self.facts.push((
                                fact.clone(),
                                vec![ev.clone(), av.clone()],
                                node.id.clone(),
                            ));
                            format!("{fact} == {ev}")
                        }
                    };
                    let _ = writeln!(out, "{pad}until {until}");
                }
            }
        }
    }

    /// A branch of a parallel block that ends the case or jumps: not a block.
    fn leaves_parallel(&mut self, gw: usize, to: usize) {
        let g = &self.g.nodes[gw];
        let n = &self.g.nodes[to];
        self.diagnostics.push(
            Diagnostic::error(
                "bpmn-unstructured",
                format!(
                    "a branch of parallel gateway `{}` leaves the block for `{}` before the branches join",
                    g.id, n.id
                ),
            )
            .with_label(n.span, format!("`{}`", n.id))
            .with_label(g.span, "the parallel split")
            .with_help("procedo's parallel branches all meet at the join; end or loop back after it")
            .with_source(self.source),
        );
    }

    fn write_condition(&self, out: &mut String, e: usize, depth: usize) {
        let pad = "  ".repeat(depth);
        let edge = &self.g.edges[e];
        let id = edge.id.split('#').next().unwrap_or_default();
        let mut what = format!("`{id}`");
        if let Some(n) = &edge.name {
            let _ = write!(what, " (\"{n}\")");
        }
        match (&edge.condition, edge.default) {
            (Some(c), _) => {
                let _ = writeln!(
                    out,
                    "{pad}# TODO {what} condition: {}",
                    c.replace('\n', " ")
                );
            }
            (None, true) => {
                let _ = writeln!(
                    out,
                    "{pad}# {what} is the default flow: taken when no other condition holds"
                );
            }
            (None, false) => {}
        }
    }

    /// The element's text annotations, as comments.
    fn write_notes(&self, out: &mut String, n: usize, depth: usize) {
        let pad = "  ".repeat(depth);
        let node = &self.g.nodes[n];
        // A step's documentation is its doc comment; a gateway's is a comment.
        if node.kind != Kind::Task
            && let Some(doc) = &node.doc
        {
            let _ = writeln!(out, "{pad}# {doc}");
        }
        for note in &node.notes {
            let _ = writeln!(out, "{pad}# note: {note}");
        }
    }

    fn write_step(
        &mut self,
        out: &mut String,
        n: usize,
        depth: usize,
        prev: Option<usize>,
        optional: bool,
    ) {
        self.write_notes(out, n, depth);
        let pad = "  ".repeat(depth);
        let node = &self.g.nodes[n];
        if let Some(doc) = &node.doc {
            let _ = writeln!(out, "{pad}## {doc}");
        }
        let _ = writeln!(
            out,
            "{pad}step {} \"{}\"{}",
            self.step[&n],
            lit(&self.label[&n]),
            if optional { " optional" } else { "" }
        );
        if let Some(role) = node.lane.and_then(|l| self.role.get(&l)) {
            let _ = writeln!(out, "{pad}  by {role}");
        }
        for t in &node.timers {
            let Some(p) = prev else {
                self.diagnostics.push(
                    Diagnostic::warning("bpmn-dropped", format!("timer `{}` is dropped: its step is the first, so the limit has no step to count from", t.id))
                        .with_label(t.span, format!("`{}`", t.id))
                        .with_help("declare the event that starts the case under `events` and write `within D of EVENT`")
                        .with_source(self.source),
                );
                continue;
            };
            let _ = writeln!(out, "{pad}  within {} of {}", t.duration, self.step[&p]);
            if let Some(l) = t.escalate_to {
                let _ = writeln!(
                    out,
                    "{pad}  escalate after {} to {}",
                    t.duration, self.role[&l]
                );
            }
        }
        // `outcomes` are filled in once the whole flow is written (a later decide or loop
        // says them); a marker line is replaced then.
        let _ = writeln!(out, "{pad}  \u{1}outcomes {n}");
    }
}

/// The draft's text and what was said on the way.
/// How deep blocks nest (a `decide`, `parallel` or `repeat` in another is 2).
fn depth(blocks: &[Block]) -> usize {
    blocks
        .iter()
        .map(|b| match b {
            Block::Decide { branches, .. } => {
                1 + branches.iter().map(|(_, x)| depth(x)).max().unwrap_or(0)
            }
            // An inclusive branch of more than one step is a `decide` inside the block.
            Block::Parallel {
                branches,
                inclusive,
                ..
            } => {
                1 + usize::from(*inclusive)
                    + branches.iter().map(|(_, x)| depth(x)).max().unwrap_or(0)
            }
            Block::Repeat { body, .. } => 1 + depth(body),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

pub(super) fn write(
    g: &Graph,
    source: &SourceFile,
    file_label: &str,
) -> Result<(String, Vec<Diagnostic>), Diagnostic> {
    let back = g.back_edges();
    let ipdom = g.post_dominators(&back);
    let mut s = Structurer {
        g,
        source,
        back,
        ipdom,
        visited: vec![false; g.nodes.len()],
        in_repeat: BTreeSet::new(),
        diagnostics: Vec::new(),
    };
    let (blocks, _) = s.seq(g.start, None);
    let deep = depth(&blocks);
    if deep > crate::syntax::MAX_NESTING {
        return Err(Diagnostic::error(
            "bpmn-too-deep",
            format!(
                "the splits of process `{}` nest {deep} deep; procedo's blocks nest at most {}",
                g.process_id,
                crate::syntax::MAX_NESTING
            ),
        )
        .with_label(g.nodes[g.start].span, "the start")
        .with_help("split the diagram into sub-procedures, one per part of the handling")
        .with_source(source));
    }
    if !g.nodes.iter().any(|n| n.kind == super::graph::Kind::Task) {
        s.diagnostics.push(
            Diagnostic::warning(
                "bpmn-no-tasks",
                format!(
                    "no task of process `{}` is on a path from its start: the draft has no step",
                    g.process_id
                ),
            )
            .with_label(g.nodes[g.start].span, "the start")
            .with_help(
                "a procedure needs steps to check logs against; connect the tasks to the start",
            )
            .with_source(source),
        );
    }
    let gotos = count_gotos(&blocks);
    let mut diagnostics = s.diagnostics;
    if gotos > 0 {
        diagnostics.push(
            Diagnostic::warning(
                "bpmn-unstructured",
                format!("{gotos} way(s) back or across in process `{}` are not a `repeat` block; the draft writes them as `go to`", g.process_id),
            )
            .with_help("a loop whose gateway joins the way in and the way back right before its body, and whose closing gateway follows the body, becomes `repeat ... until`")
            .with_source(source),
        );
    }
    let mut w = Writer {
        g,
        names: Names::default(),
        step: BTreeMap::new(),
        label: BTreeMap::new(),
        role: BTreeMap::new(),
        end: BTreeMap::new(),
        value: BTreeMap::new(),
        gw_name: BTreeMap::new(),
        outcomes: BTreeMap::new(),
        facts: Vec::new(),
        diagnostics: Vec::new(),
        source,
        uses_unstructured: false,
        parallels: Vec::new(),
    };
    w.name(&blocks);
    let mut flow = String::new();
    w.write_blocks(&mut flow, &blocks, 1, None);
    // The outcome markers.
    let mut body = String::new();
    for line in flow.lines() {
        if let Some(rest) = line.trim_start().strip_prefix("\u{1}outcomes ") {
            let n: usize = rest.parse().unwrap_or(usize::MAX);
            if let Some(o) = w.outcomes.get(&n) {
                let mut seen = BTreeSet::new();
                let list: Vec<&String> = o.iter().filter(|v| seen.insert(*v)).collect();
                let pad = &line[..line.len() - line.trim_start().len()];
                let list: Vec<&str> = list.iter().map(|s| s.as_str()).collect();
                let _ = writeln!(body, "{pad}outcomes [{}]", list.join(", "));
            }
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    diagnostics.append(&mut w.diagnostics);

    let mut out = String::new();
    let title = g
        .process_name
        .clone()
        .unwrap_or_else(|| super::graph::clean(&g.process_id));
    let _ = writeln!(
        out,
        "# Draft procedure imported by `procedo import` from {} (process `{}`).",
        file_label, g.process_id
    );
    let _ = writeln!(
        out,
        "# Complete every TODO, add the owner and the effective date, then run `procedo lint`."
    );
    if let Some(doc) = &g.process_doc {
        let _ = writeln!(out, "## {doc}");
    }
    let _ = writeln!(
        out,
        "procedure draft.{} \"{}\"",
        snake(&g.process_id),
        lit(&title)
    );
    let _ = writeln!(
        out,
        "  version \"{}\"",
        lit(g.version_tag.as_deref().unwrap_or("0.1"))
    );
    if !w.facts.is_empty() {
        let _ = writeln!(out, "\nfacts");
        for (name, values, gw) in &w.facts {
            let _ = writeln!(
                out,
                "  # TODO placeholder for the conditions of gateway `{gw}`"
            );
            if values.is_empty() {
                let _ = writeln!(out, "  {name}: bool");
            } else {
                let _ = writeln!(out, "  {name}: enum {}", values.join(" | "));
            }
        }
    }
    if !w.role.is_empty() {
        let _ = writeln!(out, "\nroles");
        for (lane, name) in &w.role {
            let _ = writeln!(out, "  {name} \"{}\"", lit(&g.lanes[*lane].name));
        }
    }
    let _ = writeln!(out, "\nends");
    for (name, title) in w.end.values() {
        match title {
            Some(t) => {
                let _ = writeln!(out, "  {name} \"{}\"", lit(t));
            }
            None => {
                let _ = writeln!(out, "  {name}");
            }
        }
    }
    if w.uses_unstructured {
        let _ = writeln!(
            out,
            "  unstructured \"TODO: the BPMN flow is not block-structured here\""
        );
    }
    let _ = writeln!(out, "\nflow");
    out.push_str(&body);
    let _ = writeln!(out, "\nmapping");
    let mut labels = BTreeSet::new();
    for (n, name) in &w.step {
        let label = w.label[n].clone();
        if labels.insert(label.clone()) {
            let _ = writeln!(out, "  activity \"{}\" -> {name}", lit(&label));
        } else {
            let node = &g.nodes[*n];
            diagnostics.push(
                Diagnostic::warning("bpmn-duplicate-name", format!("another task is also named \"{label}\": the log's `{label}` events map to the first; `{name}` needs a label of its own"))
                    .with_label(node.span, format!("`{}`", node.id))
                    .with_help("give each task its own name in the diagram, or add a `mapping` line for this step")
                    .with_source(source),
            );
        }
    }
    // Ids are kept whole (flows name them); a comment line that would pass the
    // language's line length is cut instead.
    let mut fitted = String::with_capacity(out.len());
    for line in out.lines() {
        if line.len() > MAX_COMMENT_LINE && line.trim_start().starts_with('#') {
            let mut at = MAX_COMMENT_LINE;
            while !line.is_char_boundary(at) {
                at -= 1;
            }
            fitted.push_str(&line[..at]);
            fitted.push('…');
        } else {
            fitted.push_str(line);
        }
        fitted.push('\n');
    }
    Ok((fitted, diagnostics))
}

/// Longest comment line written (bytes), under the language's 10,000.
const MAX_COMMENT_LINE: usize = 8_000;

fn count_gotos(blocks: &[Block]) -> usize {
    blocks
        .iter()
        .map(|b| match b {
            Block::Goto(_) => 1,
            Block::Decide { branches, .. } | Block::Parallel { branches, .. } => {
                branches.iter().map(|(_, x)| count_gotos(x)).sum()
            }
            Block::Repeat { body, .. } => count_gotos(body),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::{Names, snake};

    #[test]
    fn labels_become_snake_case_names() {
        assert_eq!(snake("Log the incident"), "log_the_incident");
        assert_eq!(
            snake("Triage call (ARP category)"),
            "triage_call_arp_category"
        );
        assert_eq!(snake("Activity_0x1logAB"), "activity_0x1log_ab");
        assert_eq!(snake("999 call"), "n_999_call");
        assert_eq!(snake("  ?!  "), "unnamed");
        assert_eq!(snake("Réponse envoyée"), "r_ponse_envoy_e");
    }

    #[test]
    fn names_are_unique_and_never_keywords() {
        let mut n = Names::default();
        assert_eq!(n.take("Review", "step"), "review");
        assert_eq!(n.take("review", "step"), "review_2");
        assert_eq!(n.take("Priority", "fact"), "priority_fact");
        assert_eq!(n.take("End", "state"), "end_state");
        assert_eq!(n.take("true", "way"), "true_way");
    }
}
