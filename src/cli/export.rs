//! `procedo export PROC --format pnml`

use std::path::PathBuf;

use clap::ValueEnum;

use super::{ExitStatus, usage_error};
use crate::conformance::ActivityMap;
use crate::diagnostic::render;
use crate::model::{Loader, build, find_root};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The procedure file.
    procedure: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Pnml)]
    format: Format,
    /// Label transitions with step names, or with the log activity each step is mapped
    /// from (the default: external tools can then align the raw log against the net).
    #[arg(long, value_enum, default_value_t = Labels::Log)]
    labels: Labels,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Petri Net Markup Language (a workflow net; pm4py and ProM read it).
    Pnml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Labels {
    Steps,
    Log,
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
            "error: `{}` has errors; fix them to export it",
            args.procedure.display()
        );
        return ExitStatus::Failure;
    };
    if p.graph.node_count() == 0 {
        return usage_error(&format!(
            "`{}` is a library: it has no flow to export",
            args.procedure.display()
        ));
    }
    let mut net = crate::petri::compile::compile(&p);
    if args.labels == Labels::Log {
        let map = ActivityMap::from_procedure(&p);
        for t in &mut net.transitions {
            if let Some(step) = &t.label
                && let Some(label) = map.label_for(step)
            {
                t.label = Some(label.to_string());
            }
        }
    }
    match args.format {
        Format::Pnml => print!("{}", crate::petri::pnml::write_pnml(&net, &p.ast().id.text)),
    }
    ExitStatus::Success
}
