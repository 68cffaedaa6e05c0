//! `procedo graph PROC --format dot|mermaid`

use std::path::PathBuf;

use clap::ValueEnum;

use super::{ExitStatus, load_procedure, usage_error};
use crate::report::graph::{to_dot, to_mermaid};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The procedure file.
    procedure: PathBuf,
    /// Output format: Graphviz DOT (render with `dot -Tsvg`) or a Mermaid flowchart.
    #[arg(long, value_enum, default_value_t = Format::Dot)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Dot,
    Mermaid,
}

pub(crate) fn run(args: &Args, color: bool) -> ExitStatus {
    let p = match load_procedure(&args.procedure, color, "draw its graph") {
        Ok(p) => p,
        Err(status) => return status,
    };
    if p.graph.node_count() == 0 {
        return usage_error(&format!(
            "`{}` is a library: it has no flow to draw",
            args.procedure.display()
        ));
    }
    match args.format {
        Format::Dot => print!("{}", to_dot(&p.ast().id.text, &p.graph)),
        Format::Mermaid => print!("{}", to_mermaid(&p.graph)),
    }
    ExitStatus::Success
}
