//! `procedo graph`: the decision graph as Graphviz DOT or Mermaid.

use crate::model::graph::{DecisionGraph, EdgeKind, Node, NodeKind};

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn caption(n: &Node) -> String {
    let mut text = match &n.kind {
        NodeKind::Start => "start".to_string(),
        NodeKind::End => format!("end: {}", n.name),
        NodeKind::Split => "parallel".to_string(),
        NodeKind::Join => "all done".to_string(),
        NodeKind::Skip => n.name.clone(),
        NodeKind::Merge => String::new(),
        NodeKind::LoopStart => format!("repeat {}", n.name.split('#').next().unwrap_or("")),
        NodeKind::LoopTest => format!("until {}", n.title.clone().unwrap_or_default()),
        NodeKind::Decision => match &n.title {
            Some(subject) => format!("{}?\n({subject})", n.name),
            None => format!("{}?", n.name),
        },
        NodeKind::Step(kind) => {
            let kw = match kind {
                crate::ast::StepKind::Step => "",
                crate::ast::StepKind::Inform => "inform: ",
                crate::ast::StepKind::Instruct => "instruct: ",
            };
            match &n.title {
                Some(t) => format!("{kw}{}\n{t}", n.name),
                None => format!("{kw}{}", n.name),
            }
        }
        NodeKind::Monitor => format!("monitor {}", n.name),
        NodeKind::Call { procedure } => format!("{}\ncall {procedure}", n.name),
    };
    if n.optional {
        text.push_str("\n(optional)");
    }
    if let Some(limit) = &n.limit
        && !matches!(n.kind, NodeKind::LoopTest)
    {
        text.push_str(&format!("\n{limit}"));
    }
    text
}

/// Graphviz DOT.
pub fn to_dot(id: &str, g: &DecisionGraph) -> String {
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
        dot_escape(id)
    );
    for (nid, n) in g.nodes() {
        let (shape, extra) = match n.kind {
            NodeKind::Start => (
                "circle",
                ", width=0.3, label=\"\", style=filled, fillcolor=black",
            ),
            NodeKind::End => ("doublecircle", ""),
            NodeKind::Decision => ("diamond", ""),
            NodeKind::Skip => ("diamond", ", style=dashed, width=0.3, height=0.3"),
            NodeKind::Merge => ("point", ""),
            NodeKind::Split | NodeKind::Join => ("box", ", style=filled, fillcolor=gray85"),
            NodeKind::LoopStart | NodeKind::LoopTest => ("hexagon", ""),
            NodeKind::Monitor => ("note", ""),
            NodeKind::Call { .. } => ("box", ", peripheries=2"),
            NodeKind::Step(_) => ("box", ", style=rounded"),
        };
        let label = if extra.contains("label=") {
            String::new()
        } else {
            format!(", label=\"{}\"", dot_escape(&caption(n)))
        };
        out.push_str(&format!("  n{} [shape={shape}{label}{extra}];\n", nid.0));
    }
    for (a, b, e) in g.edges() {
        let mut attrs = Vec::new();
        if let Some(l) = &e.label {
            attrs.push(format!("label=\"{}\"", dot_escape(l)));
        }
        if e.kind == EdgeKind::Obligation {
            attrs.push("style=dashed".to_string());
        }
        if let Some(limit) = &g.node(b).limit
            && e.kind == EdgeKind::Flow
            && !matches!(g.node(b).kind, NodeKind::LoopTest | NodeKind::Monitor)
        {
            attrs.push(format!("xlabel=\"{}\"", dot_escape(limit)));
        }
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attrs.join(", "))
        };
        out.push_str(&format!("  n{} -> n{}{attrs};\n", a.0, b.0));
    }
    out.push_str("}\n");
    out
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;").replace('\n', "<br/>")
}

/// Mermaid flowchart.
pub fn to_mermaid(g: &DecisionGraph) -> String {
    let mut out = String::from("flowchart TD\n");
    for (nid, n) in g.nodes() {
        let t = mermaid_text(&caption(n));
        let shape = match n.kind {
            NodeKind::Start => "((start))".to_string(),
            NodeKind::End => format!("((\"{t}\"))"),
            NodeKind::Decision | NodeKind::Skip => format!("{{\"{t}\"}}"),
            NodeKind::Merge => "((\" \"))".to_string(),
            NodeKind::LoopStart | NodeKind::LoopTest => format!("{{{{\"{t}\"}}}}"),
            NodeKind::Split | NodeKind::Join => format!("[\"{t}\"]"),
            NodeKind::Monitor => format!(">\"{t}\"]"),
            NodeKind::Call { .. } => format!("[[\"{t}\"]]"),
            NodeKind::Step(_) => format!("(\"{t}\")"),
        };
        out.push_str(&format!("  n{}{shape}\n", nid.0));
    }
    for (a, b, e) in g.edges() {
        let arrow = if e.kind == EdgeKind::Obligation {
            "-.->"
        } else {
            "-->"
        };
        match &e.label {
            Some(l) => out.push_str(&format!(
                "  n{} {arrow}|\"{}\"| n{}\n",
                a.0,
                mermaid_text(l),
                b.0
            )),
            None => out.push_str(&format!("  n{} {arrow} n{}\n", a.0, b.0)),
        }
    }
    out
}
