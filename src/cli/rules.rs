//! `procedo rules [NAME]`

use super::{ExitStatus, usage_error};
use crate::lint::all_rules;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A rule name, to print its documentation.
    name: Option<String>,
}

pub(crate) fn run(args: &Args) -> ExitStatus {
    let rules = all_rules();
    match &args.name {
        None => {
            for r in &rules {
                let m = r.meta();
                let sev = format!("{:?}", m.default_severity).to_lowercase();
                let sev = if m.enabled_by_default() {
                    sev
                } else {
                    format!("{sev} (off)")
                };
                println!(
                    "{:34} {:26} {:14} {}",
                    m.name,
                    m.category.name(),
                    sev,
                    m.summary
                );
            }
            println!(
                "\n{} rules; `procedo rules NAME` prints one, with examples.",
                rules.len()
            );
            ExitStatus::Success
        }
        Some(name) => match rules.iter().find(|r| r.meta().name == name) {
            Some(r) => {
                let root = std::env::temp_dir();
                let said = crate::lint::example_output(r.meta(), &root);
                print!("{}", crate::lint::rule_doc_with(r.meta(), said.as_deref()));
                ExitStatus::Success
            }
            None => usage_error(&format!(
                "no rule named `{name}`; `procedo rules` lists them"
            )),
        },
    }
}
