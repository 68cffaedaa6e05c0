//! pest errors → diagnostics that name what was expected in the author's words.
//!
//! pest reports every rule it tried at the failing position; this module folds
//! them into a few groups ("a section", "a step", "an operator"), spots common
//! slips (a misspelt keyword, a reserved word used as a name, a string left open)
//! and says what to do.

use pest::error::{Error, ErrorVariant, InputLocation};

use super::Rule;
use crate::diagnostic::{Diagnostic, edit_distance as distance};
use crate::source::{SourceFile, Span};

/// The section keywords of a procedure, in the order the language documents them.
pub const SECTION_WORDS: &[&str] = &[
    "facts",
    "params",
    "roles",
    "resources",
    "calendar",
    "clock",
    "validity",
    "priority",
    "decisions",
    "ends",
    "events",
    "flow",
    "constraints",
    "standards",
    "exemptions",
    "mapping",
    "links",
];
const STEP_WORDS: &[&str] = &[
    "step", "inform", "instruct", "monitor", "call", "decide", "parallel", "repeat", "go", "end",
];
const ATTR_WORDS: &[&str] = &[
    "within",
    "needs",
    "by",
    "records",
    "outcomes",
    "escalate",
    "responsibilities",
    "ack",
    "actions",
];
const HEADER_WORDS: &[&str] = &["title", "version", "owner", "effective", "applies", "use"];
const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "is", "missing", "true", "false", "matches", "unknown", "end",
    "when", "else",
];

/// A group of expected rules and how to say it.
fn describe(rule: Rule) -> String {
    let name = format!("{rule:?}");
    if let Some(kw) = name.strip_prefix("kw_") {
        if SECTION_WORDS.contains(&kw) {
            return "a section (`facts`, `flow`, `ends`, ...)".into();
        }
        if ATTR_WORDS.contains(&kw) {
            return "a step detail (`within`, `by`, `needs`, `records`, ...)".into();
        }
        if STEP_WORDS.contains(&kw) && kw != "end" {
            return "a step (`step`, `decide`, `end`, ...)".into();
        }
        if HEADER_WORDS.contains(&kw) {
            return "a header line (`version`, `owner`, `effective`, ...)".into();
        }
        if ["and", "or", "in", "is", "matches"].contains(&kw) {
            return "an operator".into();
        }
        return format!("`{kw}`");
    }
    if name.starts_with("op_") {
        return "an operator".into();
    }
    let text = match rule {
        Rule::p_colon => "`:`",
        Rule::p_comma => "`,`",
        Rule::p_pipe => "`|`",
        Rule::p_lbracket => "`[`",
        Rule::p_rbracket => "`]`",
        Rule::p_lparen | Rule::p_dot | Rule::p_dotdot => "an operator",
        Rule::p_rparen => "`)`",
        Rule::p_arrow => "`->`",
        Rule::p_fat_arrow => "`=>`",
        Rule::p_eq => "`=`",
        Rule::p_gt => "`>`",
        Rule::p_dash => "`-`",
        Rule::p_eol => "end of line",
        Rule::EOI => "end of file",
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
        Rule::expr
        | Rule::literal
        | Rule::paren
        | Rule::list_lit
        | Rule::range_lit
        | Rule::func_call
        | Rule::outcome_of => "an expression",
        Rule::value | Rule::value_cell => "a value",
        Rule::fact_type
        | Rule::type_scalar
        | Rule::type_enum
        | Rule::type_list
        | Rule::type_code => {
            "a type (bool, int, decimal, text, duration, timestamp, date, enum, list of, code)"
        }
        Rule::fact_decl | Rule::type_decl => "a fact (`name: type`)",
        Rule::cmp_op => "a comparison (`>=`, `>`, `<=`, `<`)",
        Rule::step
        | Rule::step_kind
        | Rule::monitor
        | Rule::call
        | Rule::decide
        | Rule::parallel
        | Rule::repeat
        | Rule::goto
        | Rule::end_stmt => "a step (`step`, `decide`, `end`, ...)",
        Rule::within_attr
        | Rule::needs_attr
        | Rule::by_attr
        | Rule::records_attr
        | Rule::outcomes_attr
        | Rule::escalate_attr
        | Rule::to_attr
        | Rule::responsibilities_attr
        | Rule::ack_attr
        | Rule::actions_attr => "a step detail (`within`, `by`, `needs`, `records`, ...)",
        Rule::facts_section
        | Rule::params_section
        | Rule::roles_section
        | Rule::resources_section
        | Rule::calendar_section
        | Rule::clock_section
        | Rule::validity_section
        | Rule::priority_section
        | Rule::decisions_section
        | Rule::ends_section
        | Rule::events_section
        | Rule::flow_section
        | Rule::constraints_section
        | Rule::standards_section
        | Rule::exemptions_section
        | Rule::mapping_section
        | Rule::links_section => "a section (`facts`, `flow`, `ends`, ...)",
        Rule::title
        | Rule::version
        | Rule::owner
        | Rule::effective
        | Rule::applies
        | Rule::use_decl => "a header line (`version`, `owner`, `effective`, ...)",
        Rule::file | Rule::procedure | Rule::library => "`procedure` or `library`",
        Rule::docs | Rule::doc => "a doc comment",
        Rule::cell | Rule::cell_test | Rule::any_cell => "a table cell",
        Rule::anchor | Rule::anchor_fn | Rule::anchor_pos => "a step or event name",
        Rule::hit_policy => {
            "a hit policy (unique, first, priority, any, collect, rule order, output order)"
        }
        Rule::branch | Rule::else_branch => "`when`, `else` or `end`",
        Rule::par_branch => "`branch`",
        Rule::requires | Rule::requirement => "`requires`",
        Rule::target_decl
        | Rule::override_rule
        | Rule::regrade_rule
        | Rule::combine
        | Rule::table
        | Rule::matrix
        | Rule::score => {
            "a priority line (`target`, `override`, `regrade`, `table`, `matrix`, `score`, `combine`)"
        }
        _ => return name.replace('_', " "),
    };
    text.to_string()
}

fn join_alternatives(mut items: Vec<String>) -> String {
    items.sort();
    items.dedup();
    // Name a group once even when several of its members were expected.
    if items.len() > 6 {
        items.truncate(6);
        items.push("...".into());
    }
    match items.len() {
        0 => String::new(),
        1 => items.remove(0),
        _ => {
            let last = items.pop().unwrap_or_default();
            format!("{} or {last}", items.join(", "))
        }
    }
}

/// The keyword the author probably meant, among those expected here.
fn misspelt(word: &str, expected: &[Rule]) -> Option<String> {
    let word = word.trim_end_matches([':', ',']);
    if word.len() < 3 {
        return None;
    }
    expected
        .iter()
        .filter_map(|r| format!("{r:?}").strip_prefix("kw_").map(str::to_string))
        .chain(
            expected
                .iter()
                .any(|r| matches!(r, Rule::step | Rule::statement))
                .then(|| "step".to_string()),
        )
        .filter(|kw| kw != word && distance(word, kw) <= 2 && distance(word, kw) < kw.len() / 2 + 1)
        .min_by_key(|kw| distance(word, kw))
}

fn help_for(expected: &[Rule], found_line: &str, token: &str) -> String {
    if token.starts_with("##") {
        return "doc comments (`##`) go directly above a definition or step; use `#` for an ordinary comment".into();
    }
    if token.starts_with('"') && found_line.matches('"').count() % 2 == 1 {
        return "this string is not closed: add the closing `\"` on the same line".into();
    }
    let word: String = token
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let wants_name = expected.iter().any(|r| {
        matches!(
            r,
            Rule::ident | Rule::qualified_name | Rule::fact_decl | Rule::type_decl | Rule::path
        )
    });
    if RESERVED.contains(&word.as_str())
        && (wants_name || expected.iter().any(|r| format!("{r:?}").ends_with("_decl")))
    {
        return format!(
            "`{word}` is a reserved word and cannot be a name; choose another, e.g. `{word}_state`"
        );
    }
    if ["when", "else", "branch", "until"].contains(&word.as_str()) {
        return format!(
            "`{word}` lines belong inside a block: `when`/`else` in `decide ... end`, `branch` in `parallel ... end`, `until` closes `repeat`"
        );
    }
    if let Some(kw) = misspelt(&word, expected) {
        return format!("did you mean `{kw}`?");
    }
    if expected.contains(&Rule::p_eol) {
        return "this line has more than the statement allows; remove the extra words or move them to their own line".into();
    }
    if expected.contains(&Rule::kw_until) {
        return "a `repeat` block closes with `until CONDITION`".into();
    }
    if expected.contains(&Rule::kw_end) {
        return "every `decide` and `parallel` block closes with a line saying `end`".into();
    }
    if expected
        .iter()
        .any(|r| matches!(r, Rule::procedure | Rule::library | Rule::file))
    {
        return "a file starts with `procedure ID \"Title\"` or `library ID`".into();
    }
    "see docs/language.md for the form of this line".into()
}

/// Converts a pest error into a located diagnostic.
pub(super) fn to_diagnostic(err: &Error<Rule>, source: &SourceFile) -> Diagnostic {
    let (start, _) = match err.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    let text = source.text();
    let start = start.min(text.len());
    let rest_of_line: String = text
        .get(start..)
        .unwrap_or("")
        .chars()
        .take_while(|c| *c != '\n')
        .collect();
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let whole_line = text[line_start..].lines().next().unwrap_or("");
    let lead = rest_of_line.len() - rest_of_line.trim_start().len();
    let token: String = rest_of_line
        .trim_start()
        .chars()
        .take_while(|c| !c.is_whitespace())
        .take(40)
        .collect();
    let (message, expected) = match &err.variant {
        ErrorVariant::ParsingError {
            positives,
            negatives,
        } => {
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
    let (span, label) = if token.is_empty() {
        // Point at the last character before the failure so the label is drawn.
        let at = text[..start].trim_end().len();
        let from = text[..at].char_indices().next_back().map_or(0, |(i, _)| i);
        let label = if start >= text.len() {
            "the file ends after this"
        } else {
            "the line ends after this"
        };
        (Span::new(from, at.max(from)), label.to_string())
    } else {
        (
            Span::new(start + lead, start + lead + token.len()),
            format!("found `{token}`"),
        )
    };
    Diagnostic::error("syntax", format!("syntax error: {message}"))
        .with_label(span, label)
        .with_help(help_for(&expected, whole_line, &token))
        .with_source(source)
}
