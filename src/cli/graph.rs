//! `procedo graph PROC --format dot|mermaid`

use std::path::PathBuf;

use clap::ValueEnum;

use super::{ExitStatus, usage_error};
use crate::diagnostic::render;
use crate::model::{Loader, build, find_root};
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
    let mut loader = Loader::new(find_root(&args.procedure));
    let unit = match loader.load_path(&args.procedure) {
        Ok(u) => u,
        Err(e) => return usage_error(&format!("cannot read `{}`: {e}", args.procedure.display())),
    };
    let built = build(&unit);
    let Some(p) = built.procedure else {
        eprint!("{}", render(&built.diagnostics, color));
        eprintln!(
            "error: `{}` has errors; fix them to draw its graph",
            args.procedure.display()
        );
        return ExitStatus::Failure;
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
