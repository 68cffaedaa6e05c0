//! `procedo export PROC --format pnml`

use std::path::PathBuf;

use clap::ValueEnum;

use super::{ExitStatus, load_procedure, usage_error};
use crate::conformance::ActivityMap;

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
    let p = match load_procedure(&args.procedure, color, "export it") {
        Ok(p) => p,
        Err(status) => return status,
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
