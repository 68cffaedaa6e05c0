//! pest errors → diagnostics that name what was expected in the author's words.

use pest::error::{Error, ErrorVariant, InputLocation};

use super::Rule;
use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span};

/// How a rule is named in "expected ..." messages.
fn describe(rule: Rule) -> String {
    let name = format!("{rule:?}");
    if let Some(kw) = name.strip_prefix("kw_") {
        return format!("`{kw}`");
    }
    let text = match rule {
        Rule::p_colon => "`:`",
        Rule::p_comma => "`,`",
        Rule::p_pipe => "`|`",
        Rule::p_lbracket => "`[`",
        Rule::p_rbracket => "`]`",
        Rule::p_lparen => "`(`",
        Rule::p_rparen => "`)`",
        Rule::p_arrow => "`->`",
        Rule::p_fat_arrow => "`=>`",
        Rule::p_eq => "`=`",
        Rule::p_gt => "`>`",
        Rule::p_dash => "`-`",
        Rule::p_dotdot => "`..`",
        Rule::p_dot => "`.`",
        Rule::EOI => "end of file",
        Rule::eol => "end of line",
        Rule::ident | Rule::path | Rule::type_named => "a name",
        Rule::qualified_name => "a dotted name such as `police.contact`",
        Rule::string => "a quoted string",
        Rule::integer => "a whole number",
        Rule::decimal | Rule::signed_number => "a number",
        Rule::duration => "a duration such as `15m`",
        Rule::date => "a date such as `2026-04-01`",
        Rule::timestamp => "a timestamp",
        Rule::clock_time => "a time of day such as `08:00`",
        Rule::weekday => "a weekday (`mon` ... `sun`)",
        Rule::weight => "a weight such as `+40` or `-60`",
        Rule::percent => "a percentage such as `75%`",
        Rule::ordinal => "an ordinal such as `90th`",
        Rule::expr | Rule::primary | Rule::literal => "an expression",
        Rule::value | Rule::value_cell => "a value",
        Rule::fact_type | Rule::type_scalar => "a type (bool, int, decimal, text, duration, timestamp, date, enum, list of, code)",
        Rule::cmp_op => "a comparison (`>=`, `>`, `<=`, `<`)",
        Rule::step_kind | Rule::statement => "a step (`step`, `inform`, `instruct`, `monitor`, `call`, `decide`, `parallel`, `repeat`, `go to`, `end`)",
        Rule::section => "a section (`facts`, `params`, `roles`, `resources`, `calendar`, `clock`, `validity`, `priority`, `decisions`, `ends`, `events`, `flow`, `constraints`, `standards`, `exemptions`, `mapping`, `links`)",
        Rule::header_item => "a header line (`title`, `version`, `owner`, `effective`, `applies when`, `use`)",
        Rule::procedure | Rule::library => "`procedure` or `library`",
        Rule::docs | Rule::doc => "a doc comment",
        Rule::cell | Rule::cell_test => "a table cell",
        Rule::anchor => "a step or event name",
        Rule::hit_policy => "a hit policy (unique, first, priority, any, collect, rule order, output order)",
        _ => return format!("{}", name.replace('_', " ")),
    };
    text.to_string()
}

fn join_alternatives(mut items: Vec<String>) -> String {
    items.sort();
    items.dedup();
    match items.len() {
        0 => String::new(),
        1 => items.remove(0),
        _ => {
            let last = items.pop().unwrap_or_default();
            format!("{} or {last}", items.join(", "))
        }
    }
}

fn help_for(expected: &[Rule], found: &str) -> String {
    if found.starts_with("##") {
        return "doc comments (`##`) go directly above a definition or step; use `#` for an ordinary comment".into();
    }
    if found.starts_with('\t') || found.starts_with(' ') {
        return "check the line above: each statement is one line, and blocks close with `end`".into();
    }
    if expected.contains(&Rule::kw_end) {
        return "every `decide` and `parallel` block closes with a line saying `end`".into();
    }
    if expected.contains(&Rule::kw_until) {
        return "a `repeat` block closes with `until CONDITION`".into();
    }
    if expected.contains(&Rule::eol) {
        return "this line has more than the statement allows; move the extra part to its own line or remove it".into();
    }
    "see the language reference in README.md for the form of this line".into()
}

/// Converts a pest error into a located diagnostic.
pub(super) fn to_diagnostic(err: &Error<Rule>, source: &SourceFile) -> Diagnostic {
    let (start, end) = match err.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    let text = source.text();
    let found: String = text
        .get(start..)
        .unwrap_or("")
        .chars()
        .take_while(|c| *c != '\n')
        .take(24)
        .collect();
    let found_token: String = found
        .trim_start()
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let (message, expected) = match &err.variant {
        ErrorVariant::ParsingError { positives, negatives } => {
            let pos: Vec<String> = positives.iter().map(|r| describe(*r)).collect();
            let msg = if !pos.is_empty() {
                format!("expected {}", join_alternatives(pos))
            } else if !negatives.is_empty() {
                format!(
                    "unexpected {}",
                    join_alternatives(negatives.iter().map(|r| describe(*r)).collect())
                )
            } else {
                "unexpected input".to_string()
            };
            (msg, positives.clone())
        }
        ErrorVariant::CustomError { message } => (message.clone(), Vec::new()),
    };
    let label_text = if found_token.is_empty() {
        if start >= text.len() {
            "the file ends here".to_string()
        } else {
            "the line ends here".to_string()
        }
    } else {
        format!("found `{found_token}`")
    };
    // Point at the offending token rather than at a single position.
    let token_len = if found_token.is_empty() {
        0
    } else {
        let lead = found.len() - found.trim_start().len();
        lead + found_token.len()
    };
    let end = if end > start { end } else { (start + token_len).min(text.len()) };
    let mut span = Span::new(start, end);
    if token_len > 0 {
        let lead = found.len() - found.trim_start().len();
        span = Span::new(start + lead, end);
    }
    Diagnostic::error("syntax", format!("syntax error: {message}"))
        .with_label(span, label_text)
        .with_help(help_for(&expected, &found))
        .with_source(source)
}
