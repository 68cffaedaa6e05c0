//! A BPMN process as one flat flow graph: sub-processes inlined, lanes resolved, timer
//! boundary events turned into limits, implicit splits and joins made explicit gateways,
//! and every element that could not be kept reported with its id and place.

use std::collections::{BTreeMap, BTreeSet};

use super::xml::Element;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{SourceFile, Span};

/// What a node of the flat graph is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Start,
    End,
    /// A task of any kind (or a call activity): a step.
    Task,
    /// Exclusive (or event-based, or complex) gateway.
    Xor,
    /// Parallel gateway.
    And,
    /// Inclusive gateway (only where it has a matching inclusive join; else made `And`).
    Or,
    /// Routing with no meaning of its own: a sub-process's entry or exit, its inner
    /// start and end events, intermediate events.
    Pass,
}

/// A timer boundary event on a task, kept as a limit (and an escalation).
#[derive(Debug, Clone)]
pub struct Timer {
    /// The ISO 8601 duration as procedo writes it (`PT15M` → `15m`).
    pub duration: String,
    /// The lane of the first task on the timer's outgoing path: who is escalated to.
    pub escalate_to: Option<usize>,
    pub id: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    /// The BPMN element id (`Activity_0x…`), with `#exit` or `#join` for made-up nodes.
    pub id: String,
    pub name: Option<String>,
    pub span: Span,
    pub lane: Option<usize>,
    pub doc: Option<String>,
    pub timers: Vec<Timer>,
    /// For a sub-process's entry node: the sub-process's name (or id).
    pub subprocess: Option<String>,
    /// Text annotations associated with the element: comments in the draft.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub id: String,
    pub name: Option<String>,
    pub condition: Option<String>,
    pub default: bool,
    pub span: Span,
}

/// A lane: its id and name (the role of the steps in it).
#[derive(Debug, Clone)]
pub struct Lane {
    pub id: String,
    pub name: String,
}

/// The process as a flat graph, with what the conversion had to say.
#[derive(Debug, Clone)]
pub struct Graph {
    pub process_id: String,
    pub process_name: Option<String>,
    /// The process's `documentation`, folded to one line.
    pub process_doc: Option<String>,
    pub version_tag: Option<String>,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub lanes: Vec<Lane>,
    pub start: usize,
    pub diagnostics: Vec<Diagnostic>,
}

/// A task's local names.
const TASKS: &[&str] = &[
    "task",
    "userTask",
    "serviceTask",
    "manualTask",
    "scriptTask",
    "businessRuleTask",
    "sendTask",
    "receiveTask",
    "callActivity",
];

/// Elements of a process that are not flow and are dropped without a word (modeller
/// bookkeeping: they never describe what handlers do).
const QUIET: &[&str] = &[
    "extensionElements",
    "documentation",
    "incoming",
    "outgoing",
    "laneSet",
    "ioSpecification",
    "property",
];

/// Artefacts and data, dropped with a note.
const ARTEFACTS: &[&str] = &[
    "textAnnotation",
    "association",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "dataInputAssociation",
    "dataOutputAssociation",
    "textAnnotation",
    "association",
    "group",
    "category",
];

pub(super) struct Builder<'s> {
    source: &'s SourceFile,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    /// BPMN id → (node an incoming flow enters, node an outgoing flow leaves).
    ends: BTreeMap<String, (usize, usize)>,
    lanes: Vec<Lane>,
    lane_of: BTreeMap<String, usize>,
    starts: Vec<(usize, bool)>,
    boundaries: Vec<(Element, String)>,
    /// Nodes that only a boundary event's path reaches are removed with this reason.
    diagnostics: Vec<Diagnostic>,
    default_flows: BTreeSet<String>,
    raw_flows: Vec<Element>,
    /// Text annotations and associations, joined once every element is known.
    artefacts: Vec<Element>,
}

impl<'s> Builder<'s> {
    pub(super) fn new(source: &'s SourceFile) -> Self {
        Builder {
            source,
            nodes: Vec::new(),
            edges: Vec::new(),
            ends: BTreeMap::new(),
            lanes: Vec::new(),
            lane_of: BTreeMap::new(),
            starts: Vec::new(),
            boundaries: Vec::new(),
            diagnostics: Vec::new(),
            default_flows: BTreeSet::new(),
            raw_flows: Vec::new(),
            artefacts: Vec::new(),
        }
    }

    fn diag(&mut self, severity: Severity, code: &str, el: &Element, message: String, help: &str) {
        let id = el.attr("id").unwrap_or("(no id)").to_string();
        self.diagnostics.push(
            Diagnostic::new(severity, code, message)
                .with_label(el.span, format!("`{id}`"))
                .with_help(help)
                .with_source(self.source),
        );
    }

    fn add(&mut self, kind: Kind, el: &Element, lane: Option<usize>) -> usize {
        let id = el.attr("id").unwrap_or_default().to_string();
        let node = Node {
            kind,
            id: id.clone(),
            name: el.attr("name").map(clean).filter(|n| !n.is_empty()),
            span: el.span,
            lane: self.lane_of.get(&id).copied().or(lane),
            doc: el.child_text("documentation").map(|d| clean(&d)),
            timers: Vec::new(),
            subprocess: None,
            notes: Vec::new(),
        };
        self.nodes.push(node);
        let k = self.nodes.len() - 1;
        self.ends.insert(id, (k, k));
        k
    }

    fn lanes(&mut self, set: &Element) {
        for lane in set.children_named("lane") {
            let id = lane.attr("id").unwrap_or_default().to_string();
            let name = lane
                .attr("name")
                .map(clean)
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| clean(&id));
            self.lanes.push(Lane { id, name });
            let k = self.lanes.len() - 1;
            for r in lane.children_named("flowNodeRef") {
                self.lane_of.insert(r.text.trim().to_string(), k);
            }
            // A nested lane is more precise than its parent: read it after.
            for child in lane.children_named("childLaneSet") {
                self.lanes(child);
            }
        }
    }

    /// Reads a process or a sub-process's children. `inner` is the sub-process's entry and
    /// exit nodes; `lane` its lane.
    pub(super) fn container(
        &mut self,
        el: &Element,
        inner: Option<(usize, usize)>,
        lane: Option<usize>,
    ) {
        if inner.is_none() {
            for set in el.children_named("laneSet") {
                self.lanes(set);
            }
        }
        for c in &el.children {
            let name = c.name.as_str();
            if let Some(d) = c.attr("default") {
                self.default_flows.insert(d.to_string());
            }
            if TASKS.contains(&name) {
                let k = self.add(Kind::Task, c, lane);
                if name == "callActivity" {
                    self.diag(
                        Severity::Info,
                        "bpmn-call-activity",
                        c,
                        "a call activity becomes one step; the process it calls is not imported".into(),
                        "import the called process separately and `call` it, if it is a procedure of its own",
                    );
                }
                for m in [
                    "standardLoopCharacteristics",
                    "multiInstanceLoopCharacteristics",
                ] {
                    if let Some(l) = c.children_named(m).next() {
                        let what = if m.starts_with("standard") {
                            "loop"
                        } else {
                            "multi-instance"
                        };
                        self.diag(
                            Severity::Warning,
                            "bpmn-dropped",
                            l,
                            format!(
                                "the {what} marker of `{}` is dropped: the step happens once",
                                self.nodes[k].id
                            ),
                            "wrap the step in `repeat ... until` if it must repeat",
                        );
                    }
                }
                if name == "receiveTask" || name == "sendTask" {
                    self.note_event_definitions(c);
                }
            } else if let Some(kind) = match name {
                "exclusiveGateway" => Some(Kind::Xor),
                "parallelGateway" => Some(Kind::And),
                "inclusiveGateway" => Some(Kind::Or),
                "eventBasedGateway" | "complexGateway" => Some(Kind::Xor),
                _ => None,
            } {
                self.add(kind, c, lane);
                if name != "exclusiveGateway"
                    && name != "parallelGateway"
                    && name != "inclusiveGateway"
                {
                    self.diag(
                        Severity::Warning,
                        "bpmn-gateway-approximated",
                        c,
                        format!("{name} `{}` is imported as an exclusive choice", c.attr("id").unwrap_or_default()),
                        "check that one way on is taken; the events or rule that choose it are not imported",
                    );
                }
            } else if name == "startEvent" {
                match inner {
                    None => {
                        let k = self.add(Kind::Start, c, lane);
                        let plain = event_definitions(c).is_empty();
                        self.starts.push((k, plain));
                        if !plain {
                            self.note_event_definitions(c);
                        }
                    }
                    Some((entry, _)) => {
                        let k = self.add(Kind::Pass, c, lane);
                        self.edge_between(entry, k, c);
                    }
                }
            } else if name == "endEvent" {
                let defs = event_definitions(c);
                match inner {
                    None => {
                        self.add(Kind::End, c, lane);
                    }
                    Some((_, exit)) => {
                        let k = self.add(Kind::Pass, c, lane);
                        self.edge_between(k, exit, c);
                    }
                }
                for d in defs {
                    let what = d.name.trim_end_matches("EventDefinition").to_string();
                    self.diag(
                        Severity::Warning,
                        "bpmn-dropped",
                        d,
                        format!(
                            "the {what} result of end event `{}` is dropped: it is a plain end",
                            c.attr("id").unwrap_or_default()
                        ),
                        "procedo's ends are states; say in a comment what must happen there",
                    );
                }
            } else if name == "intermediateCatchEvent" || name == "intermediateThrowEvent" {
                self.add(Kind::Pass, c, lane);
                self.diag(
                    Severity::Warning,
                    "bpmn-dropped",
                    c,
                    format!(
                        "intermediate event `{}`{} is dropped: the flow goes straight on",
                        c.attr("id").unwrap_or_default(),
                        c.attr("name")
                            .map(|n| format!(" (\"{}\")", clean(n)))
                            .unwrap_or_default()
                    ),
                    "declare it under `events` and anchor a `within` on it if the log records it",
                );
            } else if name == "boundaryEvent" {
                let attached = c.attr("attachedToRef").unwrap_or_default().to_string();
                self.boundaries.push((c.clone(), attached));
                // A node so that flows from it resolve; removed with its path later.
                self.add(Kind::Pass, c, lane);
            } else if name == "subProcess" || name == "transaction" || name == "adHocSubProcess" {
                if c.attr("triggeredByEvent") == Some("true") {
                    self.diag(
                        Severity::Warning,
                        "bpmn-dropped",
                        c,
                        format!(
                            "event sub-process `{}` is dropped",
                            c.attr("id").unwrap_or_default()
                        ),
                        "handle what it does with an `escalate` or a `monitor` in the draft",
                    );
                    continue;
                }
                if name == "adHocSubProcess" {
                    self.diag(
                        Severity::Warning,
                        "bpmn-gateway-approximated",
                        c,
                        format!(
                            "ad-hoc sub-process `{}` is imported as its sequence flows; its tasks' free order is lost",
                            c.attr("id").unwrap_or_default()
                        ),
                        "make its steps `optional` or put them in a `parallel` block",
                    );
                }
                let entry = self.add(Kind::Pass, c, lane);
                let sub = self.nodes[entry]
                    .name
                    .clone()
                    .unwrap_or_else(|| self.nodes[entry].id.clone());
                self.nodes[entry].subprocess = Some(sub);
                let mut exit_node = self.nodes[entry].clone();
                exit_node.id = format!("{}#exit", exit_node.id);
                exit_node.subprocess = None;
                self.nodes.push(exit_node);
                let exit = self.nodes.len() - 1;
                let id = self.nodes[entry].id.clone();
                self.ends.insert(id, (entry, exit));
                let sub_lane = self.nodes[entry].lane;
                self.container(c, Some((entry, exit)), sub_lane);
            } else if name == "sequenceFlow" {
                self.raw_flows.push(c.clone());
            } else if name == "textAnnotation" || name == "association" {
                self.artefacts.push(c.clone());
            } else if ARTEFACTS.contains(&name) {
                self.diag(
                    Severity::Info,
                    "bpmn-dropped",
                    c,
                    format!(
                        "{name} `{}` is dropped: procedo's flow has no data or annotations",
                        c.attr("id").unwrap_or_default()
                    ),
                    "record what it says as `facts`, `records [...]` on a step, or a comment",
                );
            } else if !QUIET.contains(&name) {
                self.diag(
                    Severity::Warning,
                    "bpmn-dropped",
                    c,
                    format!("`{name}` is not understood and is dropped"),
                    "procedo imports tasks, gateways, events, sub-processes, lanes and sequence flows",
                );
            }
        }
    }

    fn note_event_definitions(&mut self, el: &Element) {
        for d in event_definitions(el) {
            let what = d.name.trim_end_matches("EventDefinition").to_string();
            self.diag(
                Severity::Info,
                "bpmn-dropped",
                d,
                format!(
                    "the {what} trigger of `{}` is dropped",
                    el.attr("id").unwrap_or_default()
                ),
                "the log's events say when the case started; declare them under `events` if needed",
            );
        }
    }

    /// Text annotations associated with a flow element become its notes (comments in the
    /// draft); the others, and associations that join no annotation, are dropped with a note.
    fn annotations(&mut self) {
        let artefacts = std::mem::take(&mut self.artefacts);
        let texts: BTreeMap<&str, String> = artefacts
            .iter()
            .filter(|a| a.name == "textAnnotation")
            .filter_map(|a| Some((a.attr("id")?, a.child_text("text").map(|t| clean(&t))?)))
            .collect();
        let mut used = BTreeSet::new();
        for a in artefacts.iter().filter(|a| a.name == "association") {
            let (Some(from), Some(to)) = (a.attr("sourceRef"), a.attr("targetRef")) else {
                continue;
            };
            let (element, note) = if texts.contains_key(to) {
                (from, to)
            } else {
                (to, from)
            };
            if let (Some(&(k, _)), Some(text)) = (self.ends.get(element), texts.get(note)) {
                self.nodes[k].notes.push(text.clone());
                used.insert(note.to_string());
                used.insert(a.attr("id").unwrap_or_default().to_string());
            }
        }
        for a in &artefacts {
            let id = a.attr("id").unwrap_or_default();
            if !used.contains(id) {
                self.diag(
                    Severity::Info,
                    "bpmn-dropped",
                    a,
                    format!("{} `{id}` is dropped: it annotates no flow element", a.name),
                    "associate the annotation with a task or gateway to keep it as a comment",
                );
            }
        }
    }

    fn edge_between(&mut self, from: usize, to: usize, el: &Element) {
        self.edges.push(Edge {
            from,
            to,
            id: format!("{}#inner", el.attr("id").unwrap_or_default()),
            name: None,
            condition: None,
            default: false,
            span: el.span,
        });
    }

    fn flows(&mut self) {
        for f in std::mem::take(&mut self.raw_flows) {
            let id = f.attr("id").unwrap_or_default().to_string();
            let src = f
                .attr("sourceRef")
                .and_then(|s| self.ends.get(s))
                .map(|e| e.1);
            let dst = f
                .attr("targetRef")
                .and_then(|s| self.ends.get(s))
                .map(|e| e.0);
            let (Some(from), Some(to)) = (src, dst) else {
                self.diag(
                    Severity::Warning,
                    "bpmn-dropped",
                    &f,
                    format!("sequence flow `{id}` is dropped: its source or target is not a flow element of the process"),
                    "connect it to a task, gateway or event",
                );
                continue;
            };
            let condition = f
                .child_text("conditionExpression")
                .map(|c| clean(&c))
                .filter(|c| !c.is_empty());
            self.edges.push(Edge {
                from,
                to,
                default: self.default_flows.contains(&id),
                id,
                name: f.attr("name").map(clean).filter(|n| !n.is_empty()),
                condition,
                span: f.span,
            });
        }
    }

    /// Timer boundary events become limits on their task (and an escalation to the lane of
    /// the first task on their path); other boundary events are dropped. Their paths go.
    fn boundaries(&mut self) {
        for (b, attached) in std::mem::take(&mut self.boundaries) {
            let id = b.attr("id").unwrap_or_default().to_string();
            let Some(&(task, _)) = self.ends.get(&attached) else {
                self.diag(
                    Severity::Warning,
                    "bpmn-dropped",
                    &b,
                    format!("boundary event `{id}` is attached to nothing known and is dropped"),
                    "attach it to a task",
                );
                continue;
            };
            let timer = b.children_named("timerEventDefinition").next();
            let duration = timer.and_then(|t| t.child_text("timeDuration"));
            let Some(&(node, _)) = self.ends.get(&id) else {
                continue;
            };
            let path = self.reach_from(node);
            let first_task = path
                .iter()
                .copied()
                .find(|&k| self.nodes[k].kind == Kind::Task);
            match (timer, duration.as_deref().map(iso_duration)) {
                (Some(_), Some(Some(_))) if self.nodes[task].kind != Kind::Task => {
                    self.diag(
                        Severity::Warning,
                        "bpmn-dropped",
                        &b,
                        format!("timer `{id}` on sub-process `{attached}` is dropped, with the path that leaves it: a limit is written on a step"),
                        "write `within D of` the step before the sub-process on its last step",
                    );
                }
                (Some(_), Some(Some(d))) => {
                    let escalate_to = first_task.and_then(|k| self.nodes[k].lane);
                    self.nodes[task].timers.push(Timer {
                        duration: d.clone(),
                        escalate_to,
                        id: id.clone(),
                        span: b.span,
                    });
                    let tasks: Vec<String> = path
                        .iter()
                        .filter(|&&k| self.nodes[k].kind == Kind::Task)
                        .map(|&k| format!("`{}`", self.nodes[k].id))
                        .collect();
                    let esc = match escalate_to {
                        Some(l) => format!(" and an escalation to `{}`", self.lanes[l].name),
                        None => String::new(),
                    };
                    let msg = if tasks.is_empty() {
                        format!("timer `{id}` on `{attached}` becomes a limit: `within {d}`{esc}")
                    } else {
                        format!(
                            "timer `{id}` on `{attached}` becomes a limit (`within {d}`){esc}; the steps of its path ({}) are not in the draft's flow",
                            tasks.join(", ")
                        )
                    };
                    self.diag(Severity::Info, "bpmn-timer", &b, msg, "the checker reports a late step as `deadline-missed`; recorded escalations are checked against `escalate`");
                }
                (Some(t), _) => {
                    self.diag(Severity::Warning, "bpmn-dropped", t, format!("timer `{id}` on `{attached}` is dropped: only a duration (`timeDuration`, e.g. PT15M) can become a limit"), "write the limit as `within D` on the step");
                }
                (None, _) => {
                    let what = event_definitions(&b)
                        .first()
                        .map_or("boundary".to_string(), |d| {
                            d.name.trim_end_matches("EventDefinition").to_string()
                        });
                    self.diag(Severity::Warning, "bpmn-dropped", &b, format!("{what} boundary event `{id}` on `{attached}` is dropped, with the path that leaves it"), "model the exception as a `decide` after the step if handlers must follow it");
                }
            }
            // The boundary node and its path leave the graph (reachability does it).
        }
    }

    fn reach_from(&self, from: usize) -> Vec<usize> {
        let mut seen = BTreeSet::from([from]);
        let mut order = Vec::new();
        let mut queue = std::collections::VecDeque::from([from]);
        while let Some(n) = queue.pop_front() {
            for e in self.edges.iter().filter(|e| e.from == n) {
                if seen.insert(e.to) {
                    order.push(e.to);
                    queue.push_back(e.to);
                }
            }
        }
        order
    }

    /// The flat graph, or why there is none.
    pub(super) fn finish(mut self, process: &Element) -> Result<Graph, Diagnostic> {
        // Structure recovery is quadratic in the nodes: bound them first.
        if self.nodes.len() > super::MAX_NODES {
            return Err(Diagnostic::error(
                "bpmn-too-large",
                format!(
                    "process `{}` has {} flow elements; procedo imports at most {}",
                    process.attr("id").unwrap_or_default(),
                    self.nodes.len(),
                    super::MAX_NODES
                ),
            )
            .with_label(process.span, "this process")
            .with_help("split it into sub-procedures, one per part of the handling")
            .with_source(self.source));
        }
        self.flows();
        self.annotations();
        let boundary_ids: BTreeSet<String> = self
            .boundaries
            .iter()
            .map(|(b, _)| b.attr("id").unwrap_or_default().to_string())
            .collect();
        self.boundaries();
        let pid = process.attr("id").unwrap_or_default().to_string();
        // The start: the plain start event, else the only node nothing flows into.
        let start = match self.starts.iter().find(|s| s.1).or(self.starts.first()) {
            Some(&(k, _)) => k,
            None => {
                let sources: Vec<usize> = (0..self.nodes.len())
                    .filter(|&k| {
                        !self.edges.iter().any(|e| e.to == k)
                            && !boundary_ids.contains(&self.nodes[k].id)
                            && self.nodes[k].kind != Kind::Pass
                    })
                    .collect();
                match sources.as_slice() {
                    [k] => {
                        let k = *k;
                        self.diagnostics.push(
                            Diagnostic::warning("bpmn-no-start", format!("process `{pid}` has no start event; the flow starts at `{}`, which nothing flows into", self.nodes[k].id))
                                .with_label(self.nodes[k].span, "taken as the start")
                                .with_source(self.source),
                        );
                        let s = Node {
                            kind: Kind::Start,
                            id: format!("{}#start", self.nodes[k].id),
                            name: None,
                            span: self.nodes[k].span,
                            lane: None,
                            doc: None,
                            timers: Vec::new(),
                            subprocess: None,
                            notes: Vec::new(),
                        };
                        self.nodes.push(s);
                        let sk = self.nodes.len() - 1;
                        self.edges.push(Edge {
                            from: sk,
                            to: k,
                            id: format!("{pid}#start"),
                            name: None,
                            condition: None,
                            default: false,
                            span: self.nodes[k].span,
                        });
                        sk
                    }
                    _ => {
                        return Err(Diagnostic::error("bpmn-no-start", format!("process `{pid}` has no start event, and no one element where its flow begins"))
                            .with_label(process.span, "this process")
                            .with_help("add a start event (a circle) where the case begins")
                            .with_source(self.source));
                    }
                }
            }
        };
        for &(k, _) in &self.starts {
            if k != start {
                let id = self.nodes[k].id.clone();
                self.diagnostics.push(
                    Diagnostic::warning("bpmn-dropped", format!("start event `{id}` is dropped: the draft starts at `{}`", self.nodes[start].id))
                        .with_label(self.nodes[k].span, format!("`{id}`"))
                        .with_help("a procedure has one start; model other triggers as a `decide` at the start")
                        .with_source(self.source),
                );
            }
        }
        let mut g = Graph {
            process_id: pid,
            process_name: process.attr("name").map(clean).filter(|n| !n.is_empty()),
            process_doc: process.child_text("documentation").map(|d| clean(&d)),
            version_tag: process.attr_local("versionTag").map(clean),
            nodes: self.nodes,
            edges: self.edges,
            lanes: self.lanes,
            start,
            diagnostics: self.diagnostics,
        };
        g.keep_reachable(self.source, &boundary_ids);
        g.close_dead_ends(self.source);
        g.loops_without_exit(self.source);
        g.explicit_gateways();
        g.resolve_inclusive(self.source);
        Ok(g)
    }
}

impl Graph {
    pub fn outs(&self, n: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.edges.len()).filter(move |&e| self.edges[e].from == n)
    }

    pub fn ins(&self, n: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.edges.len()).filter(move |&e| self.edges[e].to == n)
    }

    /// Drops what the start does not reach (and boundary events, whose paths only they
    /// reach), renumbering the rest.
    fn keep_reachable(&mut self, source: &SourceFile, boundary_ids: &BTreeSet<String>) {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack = vec![self.start];
        seen[self.start] = true;
        while let Some(n) = stack.pop() {
            for e in &self.edges {
                if e.from == n && !seen[e.to] && !boundary_ids.contains(&self.nodes[e.to].id) {
                    seen[e.to] = true;
                    stack.push(e.to);
                }
            }
        }
        // A boundary event's own path is reported with the boundary event.
        let mut on_boundary_path = vec![false; self.nodes.len()];
        for (k, n) in self.nodes.iter().enumerate() {
            if boundary_ids.contains(&n.id) {
                on_boundary_path[k] = true;
                let mut st = vec![k];
                while let Some(x) = st.pop() {
                    for e in &self.edges {
                        if e.from == x && !seen[e.to] && !on_boundary_path[e.to] {
                            on_boundary_path[e.to] = true;
                            st.push(e.to);
                        }
                    }
                }
            }
        }
        for (k, n) in self.nodes.iter().enumerate() {
            if !seen[k] && !on_boundary_path[k] && n.kind != Kind::Start && !n.id.ends_with("#exit")
            {
                self.diagnostics.push(
                    Diagnostic::warning(
                        "bpmn-unreachable",
                        format!("`{}` is dropped: no path from the start reaches it", n.id),
                    )
                    .with_label(n.span, format!("`{}`", n.id))
                    .with_help("connect it with a sequence flow, or delete it")
                    .with_source(source),
                );
            }
        }
        let mut index = vec![usize::MAX; self.nodes.len()];
        let mut nodes = Vec::new();
        for (k, n) in self.nodes.iter().enumerate() {
            if seen[k] {
                index[k] = nodes.len();
                nodes.push(n.clone());
            }
        }
        self.edges.retain(|e| seen[e.from] && seen[e.to]);
        for e in &mut self.edges {
            e.from = index[e.from];
            e.to = index[e.to];
        }
        self.start = index[self.start];
        self.nodes = nodes;
    }

    /// A node with no way on (other than an end) ends the case there: BPMN's implicit end.
    fn close_dead_ends(&mut self, source: &SourceFile) {
        for k in 0..self.nodes.len() {
            if self.nodes[k].kind != Kind::End && self.outs(k).next().is_none() {
                let n = &self.nodes[k];
                self.diagnostics.push(
                    Diagnostic::new(
                        Severity::Info,
                        "bpmn-implicit-end",
                        format!("nothing flows out of `{}`: the case ends there", n.id),
                    )
                    .with_label(n.span, format!("`{}`", n.id))
                    .with_help("add an end event to name the end state")
                    .with_source(source),
                );
                let e = self.made_up(k, "#end", Kind::End);
                self.edges.push(Edge {
                    from: k,
                    to: e,
                    id: format!("{}#end", self.nodes[k].id),
                    name: None,
                    condition: None,
                    default: false,
                    span: self.nodes[k].span,
                });
            }
        }
    }

    /// Nodes from which no end can be reached (a loop with no way out) are an error: the
    /// draft's lint says the same (`loop-without-exit`).
    fn loops_without_exit(&mut self, source: &SourceFile) {
        let mut reaches_end: Vec<bool> = self.nodes.iter().map(|n| n.kind == Kind::End).collect();
        let mut changed = true;
        while changed {
            changed = false;
            for e in &self.edges {
                if reaches_end[e.to] && !reaches_end[e.from] {
                    reaches_end[e.from] = true;
                    changed = true;
                }
            }
        }
        let stuck: Vec<usize> = (0..self.nodes.len()).filter(|&k| !reaches_end[k]).collect();
        if let Some(&first) = stuck
            .iter()
            .find(|&&k| self.nodes[k].kind == Kind::Task)
            .or(stuck.first())
        {
            let ids: Vec<String> = stuck
                .iter()
                .take(6)
                .map(|&k| format!("`{}`", self.nodes[k].id))
                .collect();
            let n = &self.nodes[first];
            self.diagnostics.push(
                Diagnostic::error(
                    "bpmn-no-way-out",
                    format!(
                        "no end event can be reached from {}{}: the case can never end there",
                        ids.join(", "),
                        if stuck.len() > 6 { ", …" } else { "" }
                    ),
                )
                .with_label(n.span, format!("`{}`", n.id))
                .with_help("give the loop a way out to an end event")
                .with_source(source),
            );
        }
    }

    /// Every node has at most one way in or one way out unless it is a gateway that splits
    /// or joins, and no gateway does both: implicit splits (several flows out of a task)
    /// and joins (several into a task) become gateways of their own.
    fn explicit_gateways(&mut self) {
        for k in 0..self.nodes.len() {
            let ins: Vec<usize> = self.ins(k).collect();
            let is_gateway = matches!(self.nodes[k].kind, Kind::Xor | Kind::And | Kind::Or);
            if ins.len() > 1 && (!is_gateway || self.outs(k).count() > 1) {
                let kind = if is_gateway {
                    self.nodes[k].kind
                } else {
                    Kind::Xor
                };
                let join = self.made_up(k, "#join", kind);
                for e in ins {
                    self.edges[e].to = join;
                }
                self.link(join, k);
            }
            let outs: Vec<usize> = self.outs(k).collect();
            if outs.len() > 1 && !is_gateway {
                let conditional = outs.iter().any(|&e| self.edges[e].condition.is_some());
                let kind = if conditional { Kind::Or } else { Kind::And };
                let split = self.made_up(k, "#split", kind);
                for e in outs {
                    self.edges[e].from = split;
                }
                self.link(k, split);
            }
        }
    }

    fn made_up(&mut self, k: usize, suffix: &str, kind: Kind) -> usize {
        let n = &self.nodes[k];
        let node = Node {
            kind,
            id: format!("{}{suffix}", n.id),
            name: None,
            span: n.span,
            lane: n.lane,
            doc: None,
            timers: Vec::new(),
            subprocess: None,
            notes: Vec::new(),
        };
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn link(&mut self, from: usize, to: usize) {
        let id = format!("{}#to#{}", self.nodes[from].id, self.nodes[to].id);
        let span = self.nodes[from].span;
        self.edges.push(Edge {
            from,
            to,
            id,
            name: None,
            condition: None,
            default: false,
            span,
        });
    }

    /// The edges that close a loop (depth-first from the start).
    pub fn back_edges(&self) -> Vec<bool> {
        let mut back = vec![false; self.edges.len()];
        let mut state = vec![0u8; self.nodes.len()]; // 0 new, 1 on the stack, 2 done
        let mut stack: Vec<(usize, Vec<usize>)> =
            vec![(self.start, self.outs(self.start).collect())];
        state[self.start] = 1;
        while let Some((n, outs)) = stack.last_mut() {
            let n = *n;
            match outs.pop() {
                Some(e) => {
                    let t = self.edges[e].to;
                    match state[t] {
                        0 => {
                            state[t] = 1;
                            let o: Vec<usize> = self.outs(t).collect();
                            stack.push((t, o));
                        }
                        1 => back[e] = true,
                        _ => {}
                    }
                }
                None => {
                    state[n] = 2;
                    stack.pop();
                }
            }
        }
        back
    }

    /// The immediate post-dominator of each node over the forward edges (back edges left
    /// out); `nodes.len()` stands for the exit every end (and loop-closing node) reaches.
    pub fn post_dominators(&self, back: &[bool]) -> Vec<usize> {
        let n = self.nodes.len();
        let exit = n;
        let succ: Vec<Vec<usize>> = (0..n)
            .map(|k| {
                let s: Vec<usize> = self
                    .outs(k)
                    .filter(|&e| !back[e])
                    .map(|e| self.edges[e].to)
                    .collect();
                if s.is_empty() { vec![exit] } else { s }
            })
            .collect();
        // Sets of post-dominators, iterated to the fixed point (graphs here are small).
        let all: BTreeSet<usize> = (0..=n).collect();
        let mut pdom: Vec<BTreeSet<usize>> = vec![all; n + 1];
        pdom[exit] = BTreeSet::from([exit]);
        let mut changed = true;
        while changed {
            changed = false;
            for k in (0..n).rev() {
                let mut it = succ[k].iter();
                let mut set = it.next().map(|&s| pdom[s].clone()).unwrap_or_default();
                for &s in it {
                    set = set.intersection(&pdom[s]).copied().collect();
                }
                set.insert(k);
                if set != pdom[k] {
                    pdom[k] = set;
                    changed = true;
                }
            }
        }
        // The immediate one: the strict post-dominator that every other one post-dominates.
        (0..n)
            .map(|k| {
                let strict: Vec<usize> = pdom[k].iter().copied().filter(|&d| d != k).collect();
                strict
                    .iter()
                    .copied()
                    .find(|&d| strict.iter().all(|&o| o == d || pdom[d].contains(&o)))
                    .unwrap_or(exit)
            })
            .collect()
    }

    /// For an inclusive split whose branches each reach its matching inclusive join by a
    /// way of their own: the edge of the join each branch arrives by. Otherwise `None`.
    pub fn inclusive_arrivals(
        &self,
        split: usize,
        back: &[bool],
        ipdom: &[usize],
    ) -> Option<Vec<usize>> {
        let join = *ipdom.get(split)?;
        if join >= self.nodes.len() || self.nodes[join].kind != Kind::Or {
            return None;
        }
        let mut arrivals = Vec::new();
        for e in self.outs(split) {
            if back[e] {
                return None;
            }
            let mut found = BTreeSet::new();
            let mut seen = BTreeSet::new();
            let mut stack = vec![e];
            while let Some(x) = stack.pop() {
                if !seen.insert(x) {
                    continue;
                }
                if self.edges[x].to == join {
                    found.insert(x);
                    continue;
                }
                stack.extend(self.outs(self.edges[x].to).filter(|&y| !back[y]));
            }
            let [only] = found.into_iter().collect::<Vec<_>>()[..] else {
                return None;
            };
            if arrivals.contains(&only) {
                return None;
            }
            arrivals.push(only);
        }
        Some(arrivals)
    }

    /// Inclusive gateways without a matching inclusive join are made parallel, and said so;
    /// a lone inclusive join whose split was made parallel becomes a parallel join.
    fn resolve_inclusive(&mut self, source: &SourceFile) {
        let back = self.back_edges();
        let ipdom = self.post_dominators(&back);
        let mut joins_kept = BTreeSet::new();
        for k in 0..self.nodes.len() {
            if self.nodes[k].kind != Kind::Or || self.outs(k).count() < 2 {
                continue;
            }
            if self.inclusive_arrivals(k, &back, &ipdom).is_some() {
                joins_kept.insert(ipdom[k]);
            } else {
                let n = &self.nodes[k];
                self.diagnostics.push(
                    Diagnostic::warning("bpmn-inclusive", format!("inclusive gateway `{}` has no matching inclusive join; it is imported as a parallel split (every branch taken)", n.id))
                        .with_label(n.span, format!("`{}`", n.id))
                        .with_help("join its branches with an inclusive gateway, or mark the steps that may be skipped `optional`")
                        .with_source(source),
                );
                self.nodes[k].kind = Kind::And;
            }
        }
        for k in 0..self.nodes.len() {
            if self.nodes[k].kind == Kind::Or
                && self.outs(k).count() < 2
                && !joins_kept.contains(&k)
            {
                self.nodes[k].kind = if self.ins(k).count() > 1 {
                    Kind::And
                } else {
                    Kind::Pass
                };
            }
        }
    }
}

/// The event definitions of an event.
fn event_definitions(el: &Element) -> Vec<&Element> {
    el.children
        .iter()
        .filter(|c| c.name.ends_with("EventDefinition"))
        .collect()
}

/// Longest name, documentation or condition kept (bytes); longer ones are cut with `…`,
/// so that every line of a draft stays within the language's line length.
pub const MAX_TEXT: usize = 2_000;

/// Whitespace (line breaks in names, as modellers save them) folded to single spaces, and
/// cut at [`MAX_TEXT`].
pub fn clean(s: &str) -> String {
    let mut out = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.len() > MAX_TEXT {
        let mut at = MAX_TEXT;
        while !out.is_char_boundary(at) {
            at -= 1;
        }
        out.truncate(at);
        out.push('…');
    }
    out
}

/// An ISO 8601 duration (`PT15M`, `P1DT2H`, `PT0.5H` is refused) as procedo writes one
/// (`15m`, `1d2h`); `None` when it is not a whole-number duration.
pub fn iso_duration(s: &str) -> Option<String> {
    let s = s.trim();
    let rest = s.strip_prefix('P').or_else(|| s.strip_prefix('p'))?;
    let mut out = String::new();
    let mut in_time = false;
    let mut number = String::new();
    for c in rest.chars() {
        match c {
            '0'..='9' => number.push(c),
            'T' | 't' if number.is_empty() => in_time = true,
            _ => {
                let n: u64 = number.parse().ok()?;
                number.clear();
                let unit = match (c.to_ascii_uppercase(), in_time) {
                    ('W', false) => "w",
                    ('D', false) => "d",
                    ('H', true) => "h",
                    ('M', true) => "m",
                    ('S', true) => "s",
                    _ => return None,
                };
                if n > 0 {
                    out.push_str(&format!("{n}{unit}"));
                }
            }
        }
    }
    (number.is_empty() && !out.is_empty()).then_some(out)
}
