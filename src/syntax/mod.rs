//! The pest parser for `grammar/procedo.pest`.
//!
//! This module and `ast::lower` are the only places that name pest types. It turns
//! text into pairs, or into one [`Diagnostic`] saying what was expected where.
//! It never panics, whatever the input.

mod error;

pub use error::SECTION_WORDS;

use pest::Parser as _;
use pest_derive::Parser;

use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;

#[derive(Parser)]
#[grammar = "../grammar/procedo.pest"]
pub(crate) struct ProcedoParser;

/// The pest pair type for this grammar.
pub(crate) type Pair<'i> = pest::iterators::Pair<'i, Rule>;

/// Deepest nesting of `(` and `[` allowed. Real procedures nest two or three deep;
/// the limit keeps recursion in the parser and checker far from the stack's end.
pub(crate) const MAX_NESTING: usize = 32;

/// Longest line allowed, in bytes. Real procedures stay under 200; the limit keeps
/// one pathological line from making every diagnostic on it (which quotes the line)
/// as large as the file.
pub(crate) const MAX_LINE_BYTES: usize = 10_000;

/// Finds the first line longer than [`MAX_LINE_BYTES`]: its start and length.
fn long_line(text: &str) -> Option<(usize, usize)> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let len = line.trim_end_matches(['\n', '\r']).len();
        if len > MAX_LINE_BYTES {
            return Some((offset, len));
        }
        offset += line.len();
    }
    None
}

/// The length in bytes of the first character of `text` (0 when it is empty).
fn first_char_len(text: &str) -> usize {
    text.chars().next().map_or(0, char::len_utf8)
}

/// Finds the first bracket that opens a level deeper than [`MAX_NESTING`].
fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut in_comment = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if c == '\n' {
            in_comment = false;
            in_str = false;
            continue;
        }
        if in_comment {
            continue;
        }
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '#' => in_comment = true,
            '(' | '[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Finds the first block (`decide`, `parallel`, `repeat`, `when`/`else` bodies) that
/// opens more than [`MAX_NESTING`] levels deep, by its line.
fn blocks_too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let first = line.split_whitespace().next().unwrap_or("");
        let rest = line.split_whitespace().nth(1);
        match first {
            "decide" | "parallel" | "repeat" => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(offset + line.len() - line.trim_start().len());
                }
            }
            "end" if rest.is_none_or(|r| r.starts_with('#')) => depth = depth.saturating_sub(1),
            "until" => depth = depth.saturating_sub(1),
            _ => {}
        }
        offset += line.len();
    }
    None
}

/// Parses a whole file into its `file` pair.
pub(crate) fn parse(source: &SourceFile) -> Result<Pair<'_>, Diagnostic> {
    if let Some((at, len)) = long_line(source.text()) {
        return Err(Diagnostic::error(
            "syntax",
            format!("a line of {len} bytes, longer than the {MAX_LINE_BYTES} allowed"),
        )
        .with_label(
            crate::source::Span::new(at, at + first_char_len(&source.text()[at..])),
            "this line is too long",
        )
        .with_help("shorten it: long explanations belong in `##` doc comments over several lines")
        .with_source(source));
    }
    if let Some(at) = too_deep(source.text()) {
        return Err(Diagnostic::error(
            "syntax",
            format!("brackets nested more than {MAX_NESTING} deep"),
        )
        .with_label(crate::source::Span::new(at, at + 1), "too deep here")
        .with_help("split the expression into named parameters or decisions")
        .with_source(source));
    }
    if let Some(at) = blocks_too_deep(source.text()) {
        return Err(Diagnostic::error(
            "syntax",
            format!("blocks nested more than {MAX_NESTING} deep"),
        )
        .with_label(crate::source::Span::new(at, at + 1), "too deep here")
        .with_help("move the inner part into a sub-procedure and `call` it")
        .with_source(source));
    }
    match ProcedoParser::parse(Rule::file, source.text()) {
        Ok(mut pairs) => pairs
            .next()
            .ok_or_else(|| Diagnostic::error("syntax", "the file is empty").with_source(source)),
        Err(err) => Err(error::to_diagnostic(&err, source)),
    }
}

/// Parses without building the tree; for the front-end benchmark only.
#[doc(hidden)]
pub fn parse_only(text: &str) -> bool {
    ProcedoParser::parse(Rule::file, text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_samples_parse() {
        for path in [
            "procedures/itsm/it_service_desk.proc",
            "procedures/shared/itsm_common.proc",
        ] {
            let text = std::fs::read_to_string(path).unwrap();
            let src = SourceFile::new(path, text);
            if let Err(d) = parse(&src) {
                panic!("{}", crate::diagnostic::render(&[d], false));
            }
        }
    }
}
