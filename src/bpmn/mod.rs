//! BPMN 2.0 import: a process from a modeller (Camunda Modeler, bpmn.io) as a draft
//! procedure, and as a workflow net to check logs against directly.
//!
//! `xml` reads the document with spans; `graph` flattens one process (sub-processes
//! inlined, lanes as roles, timer boundary events as limits, implicit splits and joins
//! made gateways); `draft` recovers blocks from it and writes procedo text; `net` makes the
//! workflow net. Whatever is dropped or approximated is a diagnostic with the element's id
//! and its place in the XML; the draft still comes out. *Never prints: the CLI does.*

pub mod draft;
pub mod graph;
pub mod net;
pub mod xml;

use crate::diagnostic::{Diagnostic, Severity};
use crate::petri::Net;
use crate::source::SourceFile;

pub use graph::Graph;

/// Most flow elements of the imported process (tasks, events, gateways, the nodes made
/// for sub-processes and implicit gateways); larger diagrams are refused with an error.
pub const MAX_NODES: usize = 2_000;

/// A draft procedure and what the import had to say about the diagram.
#[derive(Debug, Clone)]
pub struct Import {
    /// The draft's text (procedo's language).
    pub draft: String,
    /// Dropped, approximated and unstructured elements, sorted by place.
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads one process of a BPMN document as a flat graph: the process named `process`, or
/// the first with flow elements. An error (the XML is malformed, there is no process)
/// comes with its place.
pub fn read(source: &SourceFile, process: Option<&str>) -> Result<Graph, Diagnostic> {
    let root = xml::parse(source)?;
    if root.name != "definitions" {
        return Err(Diagnostic::error(
            "bpmn-not-bpmn",
            format!(
                "the root element is `<{}>`, not BPMN's `<definitions>`",
                root.name
            ),
        )
        .with_label(root.span, "root element")
        .with_help("give a BPMN 2.0 XML file, as Camunda Modeler or bpmn.io save it")
        .with_source(source));
    }
    let processes: Vec<&xml::Element> = root.children_named("process").collect();
    let has_flow = |p: &&xml::Element| {
        p.children.iter().any(|c| {
            c.name != "laneSet" && c.name != "documentation" && c.name != "extensionElements"
        })
    };
    let chosen = match process {
        Some(id) => processes.iter().find(|p| p.attr("id") == Some(id)).copied().ok_or_else(|| {
            let ids: Vec<String> = processes
                .iter()
                .filter_map(|p| p.attr("id").map(|i| format!("`{i}`")))
                .collect();
            Diagnostic::error("bpmn-no-process", format!("there is no process `{id}` in the file"))
                .with_label(root.span, "definitions")
                .with_help(if ids.is_empty() {
                    "the file has no process".to_string()
                } else {
                    format!("its processes: {}", ids.join(", "))
                })
                .with_source(source)
        })?,
        None => processes.iter().copied().find(|p| has_flow(p)).ok_or_else(|| {
            Diagnostic::error(
                "bpmn-no-process",
                if processes.is_empty() {
                    "the file has no `<process>`: nothing to import".to_string()
                } else {
                    "every `<process>` in the file is empty: nothing to import".to_string()
                },
            )
            .with_label(root.span, "definitions")
            .with_help("a collaboration diagram needs a pool with a process in it (tasks, events, gateways)")
            .with_source(source)
        })?,
    };
    let mut b = graph::Builder::new(source);
    b.container(chosen, None, None);
    let mut g = b.finish(chosen)?;
    for p in &processes {
        if !std::ptr::eq(*p, chosen) && has_flow(p) {
            g.diagnostics.push(
                Diagnostic::new(
                    Severity::Info,
                    "bpmn-other-process",
                    format!(
                        "process `{}` is not imported: one process at a time",
                        p.attr("id").unwrap_or_default()
                    ),
                )
                .with_label(p.span, "not imported")
                .with_help("import it with `--process ID`")
                .with_source(source),
            );
        }
    }
    for c in root.children_named("collaboration") {
        for m in c.children_named("messageFlow") {
            g.diagnostics.push(
                Diagnostic::new(
                    Severity::Info,
                    "bpmn-dropped",
                    format!("message flow `{}` is dropped: a procedure is one participant's flow", m.attr("id").unwrap_or_default()),
                )
                .with_label(m.span, "message flow")
                .with_help("an `inform` step with `to` and `ack within` records a message and its acknowledgement")
                .with_source(source),
            );
        }
    }
    Ok(g)
}

/// Imports a BPMN document as a draft procedure. `file_label` names the file in the
/// draft's header comment.
pub fn import(
    source: &SourceFile,
    process: Option<&str>,
    file_label: &str,
) -> Result<Import, Diagnostic> {
    let g = read(source, process)?;
    let (draft, more) = draft::write(&g, source, file_label)?;
    let mut diagnostics = g.diagnostics;
    diagnostics.extend(more);
    diagnostics.sort_by_key(|d| d.sort_key());
    Ok(Import { draft, diagnostics })
}

/// The workflow net of a BPMN document's process, with the diagnostics of reading it.
pub fn to_net(
    source: &SourceFile,
    process: Option<&str>,
) -> Result<(Net, Vec<Diagnostic>), Diagnostic> {
    let g = read(source, process)?;
    let n = net::net(&g);
    let mut diagnostics = g.diagnostics;
    diagnostics.sort_by_key(|d| d.sort_key());
    Ok((n, diagnostics))
}
