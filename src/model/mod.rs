//! The resolved, type-checked model of a procedure.
//!
//! Built from the AST of a file and the files it `use`s. Building reports every
//! problem it finds (it never stops at the first) and yields a [`Procedure`] only
//! when there are no errors. A `Procedure` never changes after it is built.

mod check;
pub mod graph;
pub mod load;
pub mod types;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use crate::ast::{self, StepKind};
use crate::diagnostic::{Diagnostic, Severity};
pub use graph::DecisionGraph;
pub use load::{Loader, Unit, find_root};
pub use types::Type;

/// A declared fact.
#[derive(Debug, Clone, Serialize)]
pub struct FactInfo {
    pub ty: Type,
    pub optional: bool,
    /// Three-valued (`or unknown`).
    pub three_valued: bool,
    /// Whether `unknown counts as` was declared.
    pub has_unknown_policy: bool,
}

/// What a step-like flow item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StepRole {
    Step(StepKind),
    Monitor,
    Call,
    Decision,
    Event,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepInfo {
    pub role: StepRole,
    pub outcomes: Vec<String>,
}

/// A callable sub-procedure's parameters: name, type, and whether it has a default.
#[derive(Debug, Clone, Serialize)]
pub struct Callable {
    pub params: Vec<(String, Type, bool)>,
    pub ends: Vec<String>,
}

/// Every name a procedure can refer to, with what it is.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Symbols {
    pub types: BTreeMap<String, Type>,
    pub facts: BTreeMap<String, FactInfo>,
    pub params: BTreeMap<String, Type>,
    /// Decision name → outputs (name, type). A score has one output: its band.
    pub decisions: BTreeMap<String, Vec<(String, Type)>>,
    /// The priority scale, highest first.
    pub levels: Vec<String>,
    pub target_kinds: BTreeSet<String>,
    pub validity_bands: Option<Vec<String>>,
    pub roles: BTreeSet<String>,
    /// Resource type → capabilities.
    pub resources: BTreeMap<String, Vec<String>>,
    pub calendars: BTreeSet<String>,
    pub clocks: BTreeSet<String>,
    pub ends: BTreeSet<String>,
    pub steps: BTreeMap<String, StepInfo>,
    pub procedures: BTreeMap<String, Callable>,
    pub constraints: BTreeSet<String>,
    pub standards: BTreeSet<String>,
}

/// A resolved, type-checked procedure (or library).
#[derive(Debug, Clone)]
pub struct Procedure {
    pub unit: Arc<Unit>,
    pub symbols: Symbols,
    pub graph: DecisionGraph,
}

impl Procedure {
    pub fn ast(&self) -> &ast::File {
        // A Procedure is only built from a unit that parsed.
        match &self.unit.parsed {
            Some(p) => &p.file,
            None => unreachable_file(),
        }
    }

    /// A layout-independent view of the model, for comparing two builds.
    pub fn semantic_view(&self) -> serde_json::Value {
        serde_json::json!({
            "ast": self.ast(),
            "symbols": &self.symbols,
            "graph": self.graph.view(),
        })
    }
}

fn unreachable_file() -> &'static ast::File {
    static EMPTY: std::sync::OnceLock<ast::File> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| ast::File {
        kind: ast::FileKind::Library,
        docs: Vec::new(),
        id: ast::Name {
            text: String::new(),
            span: Default::default(),
        },
        title: None,
        header: Vec::new(),
        sections: Vec::new(),
        span: Default::default(),
    })
}

/// The result of building: the model when there are no errors, and every diagnostic.
#[derive(Debug)]
pub struct Built {
    pub procedure: Option<Procedure>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Resolves and type-checks a loaded unit, and compiles its decision graph.
pub fn build(unit: &Arc<Unit>) -> Built {
    let mut diagnostics = unit.diagnostics.clone();
    let Some(parsed) = &unit.parsed else {
        return Built {
            procedure: None,
            diagnostics,
        };
    };
    // A used file with errors of its own is reported once, at the `use` line.
    for (span, used) in &unit.uses {
        let already = diagnostics.iter().any(|d| {
            d.code.starts_with("use-") && d.labels.first().is_some_and(|l| l.span == *span)
        });
        if already || used.parsed.is_none() {
            continue;
        }
        let inner = build(used);
        if let Some(first) = inner
            .diagnostics
            .iter()
            .find(|d| d.severity == Severity::Error)
        {
            diagnostics.push(
                Diagnostic::error(
                    "use-has-errors",
                    format!("`{}` cannot be used: {}", used.source.name(), first.message),
                )
                .with_label(*span, "this file has errors")
                .with_help(format!(
                    "run `procedo lint {}` and fix it first",
                    used.source.name()
                ))
                .with_source(&unit.source),
            );
        }
    }
    let (symbols, mut found) = check::check(unit, &parsed.file);
    diagnostics.append(&mut found);
    let (graph, mut found) = graph::compile(&parsed.file, &unit.source);
    diagnostics.append(&mut found);
    diagnostics.sort_by_key(Diagnostic::sort_key);
    let has_errors = diagnostics.iter().any(|d| d.severity == Severity::Error);
    let procedure = (!has_errors).then(|| Procedure {
        unit: unit.clone(),
        symbols,
        graph,
    });
    Built {
        procedure,
        diagnostics,
    }
}

/// Convenience: parse, resolve and check text with `use` resolved against `root`.
pub fn build_text(root: &std::path::Path, name: &str, text: &str) -> Built {
    let mut loader = Loader::new(root);
    let unit = loader.load_text(name, text);
    build(&unit)
}
