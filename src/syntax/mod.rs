//! The pest parser for `grammar/procedo.pest`.
//!
//! This module and `ast::lower` are the only places that name pest types. It turns
//! text into pairs, or into one [`Diagnostic`] saying what was expected where.
//! It never panics, whatever the input.

mod error;

use pest::Parser as _;
use pest_derive::Parser;

use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;

#[derive(Parser)]
#[grammar = "../grammar/procedo.pest"]
pub(crate) struct ProcedoParser;

/// The pest pair type for this grammar.
pub(crate) type Pair<'i> = pest::iterators::Pair<'i, Rule>;

/// Parses a whole file into its `file` pair.
pub(crate) fn parse(source: &SourceFile) -> Result<Pair<'_>, Diagnostic> {
    match ProcedoParser::parse(Rule::file, source.text()) {
        Ok(mut pairs) => pairs
            .next()
            .ok_or_else(|| Diagnostic::error("syntax", "the file is empty").with_source(source)),
        Err(err) => Err(error::to_diagnostic(&err, source)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_samples_parse() {
        for path in ["procedures/itsm/it_service_desk.proc", "procedures/shared/itsm_common.proc"] {
            let text = std::fs::read_to_string(path).unwrap();
            let src = SourceFile::new(path, text);
            if let Err(d) = parse(&src) {
                panic!("{}", crate::diagnostic::render(&[d], false));
            }
        }
    }
}
