//! pest pairs → AST: one function per grammar rule, named after the rule.
//!
//! The grammar guarantees the shape of every pair, so a surprise here is a bug in
//! procedo, reported as an `internal` diagnostic rather than a panic. Values the
//! grammar cannot bound (a number too large) are ordinary diagnostics.

use std::sync::LazyLock;

use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::*;
use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;
use crate::syntax::{Pair, Rule};

type R<T> = Result<T, Diagnostic>;

/// Most operators one expression may have; deeper trees would strain the stack of
/// every recursive stage after parsing.
const MAX_OPERATORS: usize = 128;

/// Parses and lowers a source file.
pub fn lower(source: &SourceFile) -> R<Parsed> {
    let pair = crate::syntax::parse(source)?;
    let cx = Cx {
        source,
        reserved: std::cell::RefCell::new(None),
    };
    let file = cx.file(pair);
    if let Some(d) = cx.reserved.take() {
        return Err(d);
    }
    let file = file?;
    Ok(Parsed {
        file,
        comments: comments(source.text()),
    })
}

/// Finds `#` comments (not `##` doc lines) outside string literals.
fn comments(text: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let mut in_str = false;
        let mut escaped = false;
        for (i, c) in line.char_indices() {
            if in_str {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_str = false;
                }
                continue;
            }
            if c == '"' {
                in_str = true;
            } else if c == '#' {
                let rest = line[i..].trim_end_matches(['\n', '\r']);
                let is_doc = rest.starts_with("##") && line[..i].trim().is_empty();
                if !is_doc {
                    out.push(Comment {
                        text: rest.to_string(),
                        span: Span::new(offset + i, offset + i + rest.len()),
                    });
                }
                break;
            }
        }
        offset += line.len();
    }
    out
}

/// Keywords and punctuation (`kw_*`, `p_*`): skipped when walking children.
fn is_token(rule: Rule) -> bool {
    static TOKENS: LazyLock<Vec<bool>> = LazyLock::new(|| {
        let rules = Rule::all_rules();
        let mut table = vec![false; rules.iter().map(|r| *r as usize).max().unwrap_or(0) + 1];
        for r in rules {
            let name = format!("{r:?}");
            table[*r as usize] = name.starts_with("kw_") || name.starts_with("p_");
        }
        table
    });
    TOKENS.get(rule as usize).copied().unwrap_or(false)
}

/// Walks the children of one pair in order.
struct Cursor<'i> {
    pairs: Vec<Pair<'i>>,
    pos: usize,
    span: Span,
}

impl<'i> Cursor<'i> {
    fn new(pair: Pair<'i>) -> Self {
        let s = pair.as_span();
        Cursor {
            span: Span::new(s.start(), s.end()),
            pairs: pair.into_inner().collect(),
            pos: 0,
        }
    }

    /// Takes the next pair of `rule`, skipping keywords and punctuation before it.
    fn eat(&mut self, rule: Rule) -> Option<Pair<'i>> {
        let mut i = self.pos;
        while i < self.pairs.len()
            && self.pairs[i].as_rule() != rule
            && is_token(self.pairs[i].as_rule())
        {
            i += 1;
        }
        if i < self.pairs.len() && self.pairs[i].as_rule() == rule {
            self.pos = i + 1;
            Some(self.pairs[i].clone())
        } else {
            None
        }
    }

    fn has(&mut self, rule: Rule) -> bool {
        self.eat(rule).is_some()
    }

    fn need(&mut self, rule: Rule) -> R<Pair<'i>> {
        self.eat(rule).ok_or_else(|| {
            Diagnostic::error(
                "internal",
                format!("internal error: expected {rule:?} in the syntax tree"),
            )
            .with_label(self.span, "here")
            .with_help("this is a bug in procedo; please report it with this file")
        })
    }

    /// The rule of the next meaningful (non-token) pair.
    fn peek(&self) -> Option<Rule> {
        self.pairs[self.pos..]
            .iter()
            .map(Pair::as_rule)
            .find(|r| !is_token(*r))
    }

    /// Every remaining pair of `rule`.
    fn all(&mut self, rule: Rule) -> Vec<Pair<'i>> {
        let mut out = Vec::new();
        while let Some(p) = self.eat(rule) {
            out.push(p);
        }
        out
    }
}

fn span_of(pair: &Pair<'_>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

/// The span of the first line of a pair (statements with attribute lines).
fn first_line_span(pair: &Pair<'_>) -> Span {
    let s = pair.as_span();
    let text = s.as_str();
    let len = text.find('\n').unwrap_or(text.len());
    let trimmed = text[..len].trim_end().len();
    Span::new(s.start(), s.start() + trimmed)
}

struct Cx<'s> {
    source: &'s SourceFile,
    /// The first reserved word used as a name, reported as a syntax error.
    reserved: std::cell::RefCell<Option<Diagnostic>>,
}

/// Words that cannot be names: expressions and blocks depend on them.
pub const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "is", "missing", "true", "false", "matches", "unknown", "end",
    "when", "else",
];

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
        .op(Op::infix(Rule::op_eq, Assoc::Left)
            | Op::infix(Rule::op_ne, Assoc::Left)
            | Op::infix(Rule::op_lt, Assoc::Left)
            | Op::infix(Rule::op_le, Assoc::Left)
            | Op::infix(Rule::op_gt, Assoc::Left)
            | Op::infix(Rule::op_ge, Assoc::Left)
            | Op::infix(Rule::op_in, Assoc::Left)
            | Op::infix(Rule::op_not_in, Assoc::Left)
            | Op::infix(Rule::op_matches, Assoc::Left))
        .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
        .op(Op::infix(Rule::op_mul, Assoc::Left) | Op::infix(Rule::op_div, Assoc::Left))
        .op(Op::prefix(Rule::op_neg))
        .op(Op::postfix(Rule::op_is_missing) | Op::postfix(Rule::op_is_not_missing))
});

impl Cx<'_> {
    fn err(&self, span: Span, message: impl Into<String>, label: &str, help: &str) -> Diagnostic {
        Diagnostic::error("invalid-literal", message)
            .with_label(span, label)
            .with_help(help)
            .with_source(self.source)
    }

    fn name(&self, pair: Pair<'_>) -> Name {
        let text = pair.as_str();
        let span = span_of(&pair);
        let reserved = text.split('.').find(|part| RESERVED.contains(part));
        if let Some(word) = reserved {
            let mut first = self.reserved.borrow_mut();
            if first.is_none() {
                *first = Some(
                    Diagnostic::error(
                        "syntax",
                        format!("syntax error: `{word}` is a reserved word and cannot be a name"),
                    )
                    .with_label(span, "reserved word used as a name")
                    .with_help(format!(
                        "choose another name, e.g. `{word}_state`; reserved words: {}",
                        RESERVED.join(", ")
                    ))
                    .with_source(self.source),
                );
            }
        }
        Name {
            text: text.to_string(),
            span,
        }
    }

    fn opt_name(&self, c: &mut Cursor<'_>) -> Option<Name> {
        c.eat(Rule::ident).map(|p| self.name(p))
    }

    fn string(&self, pair: Pair<'_>) -> Str {
        let span = span_of(&pair);
        let raw = pair.as_str();
        let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
        let mut value = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some(other) => value.push(other),
                    None => {}
                }
            } else {
                value.push(c);
            }
        }
        Str { value, span }
    }

    fn opt_string(&self, c: &mut Cursor<'_>) -> Option<Str> {
        c.eat(Rule::string).map(|p| self.string(p))
    }

    fn docs(&self, c: &mut Cursor<'_>) -> Docs {
        match c.eat(Rule::docs) {
            Some(p) => p
                .into_inner()
                .filter(|d| d.as_rule() == Rule::doc)
                .map(|d| {
                    let t = d.as_str().trim_start_matches('#');
                    t.strip_prefix(' ').unwrap_or(t).trim_end().to_string()
                })
                .collect(),
            None => Vec::new(),
        }
    }

    fn u32_of(&self, pair: Pair<'_>) -> R<u32> {
        let span = span_of(&pair);
        pair.as_str().parse::<u32>().map_err(|_| {
            self.err(
                span,
                "number too large",
                "this number",
                "use a whole number below 4,294,967,296",
            )
        })
    }

    fn names_list(&self, pair: Pair<'_>) -> Vec<Name> {
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::ident)
            .map(|p| self.name(p))
            .collect()
    }

    fn idents(&self, c: &mut Cursor<'_>) -> Vec<Name> {
        c.all(Rule::ident)
            .into_iter()
            .map(|p| self.name(p))
            .collect()
    }

    // ------------------------------------------------------------ file

    fn file(&self, pair: Pair<'_>) -> R<File> {
        let span = span_of(&pair);
        let mut c = Cursor::new(pair);
        let (kind, inner) = if let Some(p) = c.eat(Rule::procedure) {
            (FileKind::Procedure, p)
        } else {
            (FileKind::Library, c.need(Rule::library)?)
        };
        let mut c = Cursor::new(inner);
        let docs = self.docs(&mut c);
        let id = self.name(c.need(Rule::qualified_name)?);
        let title = self.opt_string(&mut c);
        let mut header = Vec::new();
        let mut sections = Vec::new();
        for p in c.pairs[c.pos..].iter().cloned() {
            match p.as_rule() {
                Rule::title
                | Rule::version
                | Rule::owner
                | Rule::effective
                | Rule::applies
                | Rule::use_decl => {
                    header.push(self.header_item(p)?);
                }
                r if is_token(r) => {}
                _ => sections.push(self.section(p)?),
            }
        }
        Ok(File {
            kind,
            docs,
            id,
            title,
            header,
            sections,
            span,
        })
    }

    fn header_item(&self, pair: Pair<'_>) -> R<HeaderItem> {
        let span = span_of(&pair);
        let rule = pair.as_rule();
        let mut c = Cursor::new(pair);
        Ok(match rule {
            Rule::title => HeaderItem::Title(self.string(c.need(Rule::string)?)),
            Rule::owner => HeaderItem::Owner(self.string(c.need(Rule::string)?)),
            Rule::version => {
                if let Some(s) = c.eat(Rule::string) {
                    HeaderItem::Version(self.string(s))
                } else {
                    let p = c.eat(Rule::decimal).or_else(|| c.eat(Rule::integer));
                    let p = p.ok_or_else(|| self.err(span, "version expected", "", ""))?;
                    HeaderItem::Version(Str {
                        value: p.as_str().to_string(),
                        span: span_of(&p),
                    })
                }
            }
            Rule::effective => {
                let from = self.date(c.need(Rule::date)?)?;
                let until = match c.eat(Rule::date) {
                    Some(p) => Some(self.date(p)?),
                    None => None,
                };
                HeaderItem::Effective {
                    from,
                    until,
                    span: trim_span(self.source, span),
                }
            }
            Rule::applies => HeaderItem::Applies(self.expr(c.need(Rule::expr)?)?),
            _ => HeaderItem::Use(self.string(c.need(Rule::string)?)),
        })
    }

    fn date(&self, pair: Pair<'_>) -> R<Literal> {
        let span = span_of(&pair);
        let text = pair.as_str();
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            self.err(
                span,
                format!("`{text}` is not a calendar date"),
                "not a real date",
                "write dates as YYYY-MM-DD, e.g. 2026-04-01",
            )
        })?;
        Ok(Literal::Date(text.to_string()))
    }

    // ------------------------------------------------------------ sections

    fn section(&self, pair: Pair<'_>) -> R<Section> {
        let rule = pair.as_rule();
        let span = first_line_span(&pair);
        let mut c = Cursor::new(pair.clone());
        Ok(match rule {
            Rule::facts_section => {
                let mut items = Vec::new();
                for p in c.pairs.clone() {
                    match p.as_rule() {
                        Rule::type_decl => items.push(self.type_decl(p)?),
                        Rule::fact_decl => items.push(FactItem::Fact(self.fact_decl(p)?)),
                        _ => {}
                    }
                }
                Section::Facts { items, span }
            }
            Rule::params_section => Section::Params {
                items: c
                    .all(Rule::param_decl)
                    .into_iter()
                    .map(|p| self.param_decl(p))
                    .collect::<R<_>>()?,
                span,
            },
            Rule::roles_section => Section::Roles {
                items: c
                    .all(Rule::role_decl)
                    .into_iter()
                    .map(|p| self.role_decl(p))
                    .collect(),
                span,
            },
            Rule::resources_section => Section::Resources {
                items: c
                    .all(Rule::resource_decl)
                    .into_iter()
                    .map(|p| self.resource_decl(p))
                    .collect::<R<_>>()?,
                span,
            },
            Rule::calendar_section => Section::Calendar(self.calendar_section(pair)?),
            Rule::clock_section => Section::Clock(self.clock_section(pair)?),
            Rule::validity_section => {
                let indicators = c
                    .all(Rule::indicator)
                    .into_iter()
                    .map(|p| self.indicator(p))
                    .collect::<R<_>>()?;
                let bands = self.bands(c.need(Rule::bands)?)?;
                Section::Validity {
                    indicators,
                    bands,
                    span,
                }
            }
            Rule::priority_section => Section::Priority(self.priority_section(pair)?),
            Rule::decisions_section => {
                let mut items = Vec::new();
                for p in c.pairs.clone() {
                    if let Some(d) = self.decision_def(p)? {
                        items.push(d);
                    }
                }
                Section::Decisions { items, span }
            }
            Rule::ends_section => Section::Ends {
                items: c
                    .all(Rule::end_decl)
                    .into_iter()
                    .map(|p| self.declared(p))
                    .collect(),
                span,
            },
            Rule::events_section => Section::Events {
                items: c
                    .all(Rule::event_decl)
                    .into_iter()
                    .map(|p| self.declared(p))
                    .collect(),
                span,
            },
            Rule::flow_section => Section::Flow {
                body: self.statements(&mut c)?,
                span,
            },
            Rule::constraints_section => Section::Constraints {
                items: c
                    .all(Rule::constraint)
                    .into_iter()
                    .map(|p| self.constraint(p))
                    .collect::<R<_>>()?,
                span,
            },
            Rule::standards_section => Section::Standards {
                items: c
                    .all(Rule::standard)
                    .into_iter()
                    .map(|p| self.standard(p))
                    .collect::<R<_>>()?,
                span,
            },
            Rule::exemptions_section => Section::Exemptions {
                items: c
                    .all(Rule::exemption)
                    .into_iter()
                    .map(|p| self.exemption(p))
                    .collect::<R<_>>()?,
                span,
            },
            Rule::mapping_section => {
                let mut items = Vec::new();
                for p in c.pairs.clone() {
                    match p.as_rule() {
                        Rule::map_activity
                        | Rule::map_attribute
                        | Rule::map_value
                        | Rule::map_timezone
                        | Rule::map_timestamp_format => items.push(self.map_item(p)?),
                        _ => {}
                    }
                }
                Section::Mapping { items, span }
            }
            _ => Section::Links {
                items: c
                    .all(Rule::link_decl)
                    .into_iter()
                    .map(|p| self.link_decl(p))
                    .collect(),
                span,
            },
        })
    }

    fn type_decl(&self, pair: Pair<'_>) -> R<FactItem> {
        let span = first_line_span(&pair);
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let name = self.name(c.need(Rule::ident)?);
        let ty = self.fact_type(c.need(Rule::fact_type)?)?;
        Ok(FactItem::Type {
            docs,
            name,
            ty,
            span: line_after_docs(self.source, span),
        })
    }

    fn fact_decl(&self, pair: Pair<'_>) -> R<FactDecl> {
        let span = line_after_docs(self.source, first_line_span(&pair));
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let name = self.name(c.need(Rule::ident)?);
        let ty = self.fact_type(c.need(Rule::fact_type)?)?;
        let unknown = match c.eat(Rule::unknown_clause) {
            Some(p) => {
                let uspan = span_of(&p);
                let mut uc = Cursor::new(p);
                let counts_as = match uc.eat(Rule::value) {
                    Some(v) => Some(self.value(v)?),
                    None => None,
                };
                Some(UnknownClause {
                    counts_as,
                    span: uspan,
                })
            }
            None => None,
        };
        let optional = c.has(Rule::kw_optional);
        Ok(FactDecl {
            docs,
            name,
            ty,
            unknown,
            optional,
            span,
        })
    }

    fn fact_type(&self, pair: Pair<'_>) -> R<TypeExpr> {
        let inner = Cursor::new(pair).pairs.into_iter().next();
        let Some(p) = inner else {
            return Err(Diagnostic::error("internal", "internal error: empty type")
                .with_source(self.source));
        };
        let span = span_of(&p);
        Ok(match p.as_rule() {
            Rule::type_scalar => TypeExpr::Scalar(scalar_of(p.as_str()), span),
            Rule::type_enum => TypeExpr::Enum(self.idents(&mut Cursor::new(p)), span),
            Rule::type_list => {
                let inner = Cursor::new(p)
                    .pairs
                    .into_iter()
                    .find(|q| !is_token(q.as_rule()));
                let elem = match inner {
                    Some(q) => self.fact_type_inner(q)?,
                    None => TypeExpr::Scalar(Scalar::Text, span),
                };
                TypeExpr::List(Box::new(elem), span)
            }
            Rule::type_code => TypeExpr::Code(self.string(Cursor::new(p).need(Rule::string)?)),
            _ => TypeExpr::Named(self.name(Cursor::new(p).need(Rule::ident)?)),
        })
    }

    fn fact_type_inner(&self, p: Pair<'_>) -> R<TypeExpr> {
        let span = span_of(&p);
        Ok(match p.as_rule() {
            Rule::type_scalar => TypeExpr::Scalar(scalar_of(p.as_str()), span),
            Rule::type_enum => TypeExpr::Enum(self.idents(&mut Cursor::new(p)), span),
            _ => TypeExpr::Named(self.name(Cursor::new(p).need(Rule::ident)?)),
        })
    }

    fn param_decl(&self, pair: Pair<'_>) -> R<Param> {
        let span = line_after_docs(self.source, first_line_span(&pair));
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let name = self.name(c.need(Rule::ident)?);
        let ty = match c.eat(Rule::fact_type) {
            Some(p) => Some(self.fact_type(p)?),
            None => None,
        };
        let value = match c.eat(Rule::expr) {
            Some(p) => Some(self.expr(p)?),
            None => None,
        };
        Ok(Param {
            docs,
            name,
            ty,
            value,
            span,
        })
    }

    fn role_decl(&self, pair: Pair<'_>) -> Role {
        let span = line_after_docs(self.source, first_line_span(&pair));
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let names: Vec<Name> = c.pairs[c.pos..]
            .iter()
            .filter(|p| p.as_rule() == Rule::ident)
            .map(|p| self.name(p.clone()))
            .collect();
        let name = names.first().cloned().unwrap_or(Name {
            text: String::new(),
            span,
        });
        let title = c
            .pairs
            .iter()
            .find(|p| p.as_rule() == Rule::string)
            .map(|p| self.string(p.clone()));
        Role {
            docs,
            name,
            title,
            reports_to: names.get(1).cloned(),
            span,
        }
    }

    fn resource_decl(&self, pair: Pair<'_>) -> R<Resource> {
        let span = line_after_docs(self.source, first_line_span(&pair));
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let name = self.name(c.need(Rule::ident)?);
        let title = self.opt_string(&mut c);
        let capabilities = self.names_list(c.need(Rule::name_list)?);
        let count = match c.eat(Rule::integer) {
            Some(p) => Some(self.u32_of(p)?),
            None => None,
        };
        Ok(Resource {
            docs,
            name,
            title,
            capabilities,
            count,
            span,
        })
    }

    fn declared(&self, pair: Pair<'_>) -> Declared {
        let span = line_after_docs(self.source, first_line_span(&pair));
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let name = c.eat(Rule::ident).map_or(
            Name {
                text: String::new(),
                span,
            },
            |p| self.name(p),
        );
        let title = self.opt_string(&mut c);
        Declared {
            docs,
            name,
            title,
            span,
        }
    }

    fn calendar_section(&self, pair: Pair<'_>) -> R<Calendar> {
        let span = line_after_docs(self.source, first_line_span(&pair));
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let name = self.name(c.need(Rule::ident)?);
        let mut items = Vec::new();
        for p in c.pairs[c.pos..].iter().cloned() {
            let ispan = trim_span(self.source, span_of(&p));
            let rule = p.as_rule();
            let mut ic = Cursor::new(p);
            match rule {
                Rule::cal_timezone => {
                    items.push(CalendarItem::Timezone(self.string(ic.need(Rule::string)?)))
                }
                Rule::cal_hours => {
                    let days = ic.need(Rule::day_range)?;
                    let mut dc = Cursor::new(days);
                    let from_day = self.name(dc.need(Rule::weekday)?);
                    let to_day = dc.eat(Rule::weekday).map(|p| self.name(p));
                    let open = ic.need(Rule::clock_time)?;
                    let close = ic.need(Rule::clock_time)?;
                    for t in [&open, &close] {
                        self.clock_time(t)?;
                    }
                    items.push(CalendarItem::Hours {
                        from_day,
                        to_day,
                        open: open.as_str().to_string(),
                        close: close.as_str().to_string(),
                        span: ispan,
                    });
                }
                Rule::cal_holiday => {
                    let date = self.date(ic.need(Rule::date)?)?;
                    let title = self.opt_string(&mut ic);
                    items.push(CalendarItem::Holiday {
                        date,
                        title,
                        span: ispan,
                    });
                }
                Rule::cal_cutoff => {
                    let t = ic.need(Rule::clock_time)?;
                    self.clock_time(&t)?;
                    items.push(CalendarItem::Cutoff {
                        after: t.as_str().to_string(),
                        span: ispan,
                    });
                }
                _ => {}
            }
        }
        Ok(Calendar {
            docs,
            name,
            items,
            span,
        })
    }

    fn clock_time(&self, pair: &Pair<'_>) -> R<()> {
        chrono::NaiveTime::parse_from_str(pair.as_str(), "%H:%M")
            .map(|_| ())
            .map_err(|_| {
                self.err(
                    span_of(pair),
                    format!("`{}` is not a time of day", pair.as_str()),
                    "not a valid time",
                    "write times as HH:MM from 00:00 to 23:59",
                )
            })
    }

    fn clock_section(&self, pair: Pair<'_>) -> R<Clock> {
        let span = line_after_docs(self.source, first_line_span(&pair));
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let name = self.name(c.need(Rule::ident)?);
        let mut items = Vec::new();
        for p in c.pairs[c.pos..].iter().cloned() {
            let ispan = trim_span(self.source, span_of(&p));
            let rule = p.as_rule();
            let mut ic = Cursor::new(p);
            match rule {
                Rule::clock_start => items.push(ClockItem::Starts(
                    self.anchor(ic.need(Rule::anchor)?)?,
                    ispan,
                )),
                Rule::clock_stop => items.push(ClockItem::Stops(
                    self.anchor(ic.need(Rule::anchor)?)?,
                    ispan,
                )),
                Rule::clock_pause => {
                    let from = self.name(ic.need(Rule::ident)?);
                    let until = self.name(ic.need(Rule::ident)?);
                    items.push(ClockItem::Pauses {
                        from,
                        until,
                        span: ispan,
                    });
                }
                Rule::clock_calendar => {
                    items.push(ClockItem::Calendar(self.name(ic.need(Rule::ident)?), ispan))
                }
                _ => {}
            }
        }
        Ok(Clock {
            docs,
            name,
            items,
            span,
        })
    }

    fn indicator(&self, pair: Pair<'_>) -> R<Indicator> {
        let span = line_after_docs(self.source, first_line_span(&pair));
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let name = self.name(c.need(Rule::ident)?);
        let weight = c.need(Rule::weight)?.as_str().to_string();
        let when = self.expr(c.need(Rule::expr)?)?;
        Ok(Indicator {
            docs,
            name,
            weight,
            when,
            span,
        })
    }

    fn bands(&self, pair: Pair<'_>) -> R<Bands> {
        let span = trim_span(self.source, span_of(&pair));
        let mut c = Cursor::new(pair);
        let mut bands = Vec::new();
        for b in c.all(Rule::band) {
            let mut bc = Cursor::new(b);
            let name = self.name(bc.need(Rule::ident)?);
            let bound = match bc.eat(Rule::cmp_op) {
                Some(op) => Some((
                    cmp_of(op.as_str()),
                    bc.need(Rule::signed_number)?.as_str().to_string(),
                )),
                None => None,
            };
            bands.push(Band { name, bound });
        }
        Ok(Bands { bands, span })
    }

    fn priority_section(&self, pair: Pair<'_>) -> R<Priority> {
        let span = first_line_span(&pair);
        let mut c = Cursor::new(pair);
        let scale_pair = c.need(Rule::scale)?;
        let scale_span = trim_span(self.source, span_of(&scale_pair));
        let scale = Cursor::new(scale_pair)
            .all(Rule::level)
            .into_iter()
            .map(|l| {
                let mut lc = Cursor::new(l);
                let name = self.name(lc.need(Rule::ident)?);
                Ok(Level {
                    name,
                    title: self.opt_string(&mut lc),
                })
            })
            .collect::<R<_>>()?;
        let mut items = Vec::new();
        for p in c.pairs[c.pos..].iter().cloned() {
            let ispan = trim_span(self.source, span_of(&p));
            match p.as_rule() {
                Rule::target_decl => {
                    let mut tc = Cursor::new(p);
                    let level = self.name(tc.need(Rule::ident)?);
                    let mut entries = Vec::new();
                    for e in tc.all(Rule::target_entry) {
                        let mut ec = Cursor::new(e);
                        let kind = self.name(ec.need(Rule::ident)?);
                        entries.push((kind, self.expr(ec.need(Rule::expr)?)?));
                    }
                    let when = match tc.eat(Rule::expr) {
                        Some(e) => Some(self.expr(e)?),
                        None => None,
                    };
                    items.push(PriorityItem::Target(TargetDecl {
                        level,
                        entries,
                        when,
                        span: ispan,
                    }));
                }
                Rule::override_rule => {
                    let ospan = line_after_docs(self.source, ispan);
                    let mut oc = Cursor::new(p);
                    let docs = self.docs(&mut oc);
                    let at_least = oc.eat(Rule::at_least).is_some();
                    let level = self.name(oc.need(Rule::ident)?);
                    let when = self.expr(oc.need(Rule::expr)?)?;
                    let requires = oc
                        .eat(Rule::requires)
                        .map(|r| self.requires(r))
                        .transpose()?;
                    items.push(PriorityItem::Override(Override {
                        docs,
                        at_least,
                        level,
                        when,
                        requires,
                        span: ospan,
                    }));
                }
                Rule::regrade_rule => {
                    let mut rc = Cursor::new(p);
                    let dir = rc.need(Rule::regrade_dir)?;
                    let direction = match dir.as_str() {
                        "up" => RegradeDir::Up,
                        "down" => RegradeDir::Down,
                        _ => RegradeDir::Any,
                    };
                    let requires = rc
                        .eat(Rule::requires)
                        .map(|r| self.requires(r))
                        .transpose()?;
                    items.push(PriorityItem::Regrade {
                        direction,
                        requires,
                        span: ispan,
                    });
                }
                Rule::combine => {
                    let rule = match Cursor::new(p).need(Rule::combine_rule)?.as_str() {
                        "highest" => CombineRule::Highest,
                        "lowest" => CombineRule::Lowest,
                        _ => CombineRule::First,
                    };
                    items.push(PriorityItem::Combine(rule, ispan));
                }
                _ => {
                    if let Some(d) = self.decision_def(p)? {
                        items.push(PriorityItem::Method(d));
                    }
                }
            }
        }
        Ok(Priority {
            scale,
            scale_span,
            items,
            span,
        })
    }

    fn requires(&self, pair: Pair<'_>) -> R<Vec<Requirement>> {
        let mut out = Vec::new();
        for r in Cursor::new(pair).all(Rule::requirement) {
            let rspan = span_of(&r);
            let mut rc = Cursor::new(r);
            match rc.eat(Rule::ident) {
                Some(n) => out.push(Requirement::Role(self.name(n))),
                None => out.push(Requirement::Reason(rspan)),
            }
        }
        Ok(out)
    }

    fn decision_def(&self, pair: Pair<'_>) -> R<Option<DecisionDef>> {
        Ok(match pair.as_rule() {
            Rule::table => Some(DecisionDef::Table(self.table(pair)?)),
            Rule::matrix => Some(DecisionDef::Matrix(self.matrix(pair)?)),
            Rule::score => Some(DecisionDef::Score(self.score(pair)?)),
            _ => None,
        })
    }

    fn table(&self, pair: Pair<'_>) -> R<Table> {
        let full = span_of(&pair);
        let span = line_after_docs(self.source, first_line_span(&pair));
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let name = self.name(c.need(Rule::ident)?);
        let hit_pair = c.need(Rule::hit_policy)?;
        let hit = hit_policy_of(hit_pair);
        let header = c.need(Rule::table_header)?;
        let header_span = trim_span(self.source, span_of(&header));
        let mut columns = Vec::new();
        for h in Cursor::new(header).all(Rule::column_head) {
            let mut hc = Cursor::new(h);
            if let Some(o) = hc.eat(Rule::output_head) {
                let ospan = span_of(&o);
                let mut oc = Cursor::new(o);
                let oname = self.name(oc.need(Rule::ident)?);
                let ty = oc
                    .eat(Rule::fact_type)
                    .map(|t| self.fact_type(t))
                    .transpose()?;
                columns.push(Column::Output {
                    name: oname,
                    ty,
                    span: ospan,
                });
            } else {
                columns.push(Column::Input(self.expr(hc.need(Rule::expr)?)?));
            }
        }
        let mut rows = Vec::new();
        for r in c.all(Rule::table_row) {
            let rspan = trim_span(self.source, span_of(&r));
            let cells = Cursor::new(r)
                .all(Rule::cell)
                .into_iter()
                .map(|x| self.cell(x))
                .collect::<R<_>>()?;
            rows.push(Row { cells, span: rspan });
        }
        let _ = full;
        Ok(Table {
            docs,
            name,
            hit,
            columns,
            header_span,
            rows,
            span,
        })
    }

    fn cell(&self, pair: Pair<'_>) -> R<Cell> {
        let span = span_of(&pair);
        let mut c = Cursor::new(pair);
        if c.has(Rule::any_cell) {
            return Ok(Cell::Any(span));
        }
        let tests = c
            .all(Rule::cell_test)
            .into_iter()
            .map(|t| self.cell_test(t))
            .collect::<R<_>>()?;
        Ok(Cell::Tests(tests, span))
    }

    fn cell_test(&self, pair: Pair<'_>) -> R<CellTest> {
        let span = span_of(&pair);
        let mut c = Cursor::new(pair);
        let negated = c.has(Rule::kw_not);
        let kind = if let Some(r) = c.eat(Rule::range_lit) {
            let e = self.range(r)?;
            match e.kind {
                ExprKind::Range(a, b) => TestKind::Range(*a, *b),
                other => TestKind::Equals(Expr {
                    kind: other,
                    span: e.span,
                }),
            }
        } else if let Some(op) = c.eat(Rule::cmp_op) {
            TestKind::Compare(cmp_of(op.as_str()), self.expr(c.need(Rule::expr)?)?)
        } else {
            TestKind::Equals(self.expr(c.need(Rule::expr)?)?)
        };
        Ok(CellTest {
            negated,
            kind,
            span,
        })
    }

    fn matrix(&self, pair: Pair<'_>) -> R<Matrix> {
        let span = line_after_docs(self.source, first_line_span(&pair));
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let name = self.name(c.need(Rule::ident)?);
        let rows_by = self.expr(c.need(Rule::expr)?)?;
        let cols_by = self.expr(c.need(Rule::expr)?)?;
        let header = c.need(Rule::matrix_header)?;
        let header_span = trim_span(self.source, span_of(&header));
        let mut hc = Cursor::new(header);
        let corner = hc
            .eat(Rule::corner)
            .map(|p| p.as_str().split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty());
        let col_values = hc
            .all(Rule::value_cell)
            .into_iter()
            .map(|v| self.value_cell(v))
            .collect::<R<_>>()?;
        let mut rows = Vec::new();
        for r in c.all(Rule::matrix_row) {
            let rspan = trim_span(self.source, span_of(&r));
            let mut vals: Vec<Expr> = Cursor::new(r)
                .all(Rule::value_cell)
                .into_iter()
                .map(|v| self.value_cell(v))
                .collect::<R<_>>()?;
            if vals.is_empty() {
                continue;
            }
            let key = vals.remove(0);
            rows.push(MatrixRow {
                key,
                cells: vals,
                span: rspan,
            });
        }
        Ok(Matrix {
            docs,
            name,
            rows_by,
            cols_by,
            corner,
            col_values,
            header_span,
            rows,
            span,
        })
    }

    fn value_cell(&self, pair: Pair<'_>) -> R<Expr> {
        self.value(Cursor::new(pair).need(Rule::value)?)
    }

    fn score(&self, pair: Pair<'_>) -> R<Score> {
        let span = line_after_docs(self.source, first_line_span(&pair));
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let name = self.name(c.need(Rule::ident)?);
        let indicators = c
            .all(Rule::indicator)
            .into_iter()
            .map(|p| self.indicator(p))
            .collect::<R<_>>()?;
        let bands = self.bands(c.need(Rule::bands)?)?;
        Ok(Score {
            docs,
            name,
            indicators,
            bands,
            span,
        })
    }

    // ------------------------------------------------------------ flow

    fn statements(&self, c: &mut Cursor<'_>) -> R<Vec<Stmt>> {
        let mut out = Vec::new();
        while let Some(rule) = c.peek() {
            let stmt_rules = [
                Rule::step,
                Rule::monitor,
                Rule::call,
                Rule::decide,
                Rule::parallel,
                Rule::repeat,
                Rule::goto,
                Rule::end_stmt,
            ];
            if !stmt_rules.contains(&rule) {
                break;
            }
            let p = c.need(rule)?;
            out.push(self.statement(p)?);
        }
        Ok(out)
    }

    fn statement(&self, pair: Pair<'_>) -> R<Stmt> {
        let rule = pair.as_rule();
        let span = line_after_docs(self.source, first_line_span(&pair));
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        Ok(match rule {
            Rule::step => {
                let kind = match c.need(Rule::step_kind)?.as_str() {
                    "inform" => StepKind::Inform,
                    "instruct" => StepKind::Instruct,
                    _ => StepKind::Step,
                };
                let name = self.name(c.need(Rule::ident)?);
                let title = self.opt_string(&mut c);
                let optional = c.has(Rule::kw_optional);
                let attrs = self.step_attrs(&mut c)?;
                Stmt::Step(Step {
                    docs,
                    kind,
                    name,
                    title,
                    optional,
                    attrs,
                    span,
                })
            }
            Rule::monitor => {
                let name = self.name(c.need(Rule::ident)?);
                let every = self.expr(c.need(Rule::expr)?)?;
                let mut first_within = None;
                let mut after = None;
                // `first within E` comes before `after`/`until`; the anchors are in order.
                let rest: Vec<_> = c.pairs[c.pos..].to_vec();
                let mut seen_first = false;
                let mut seen_after = false;
                let mut anchors = Vec::new();
                for p in &rest {
                    match p.as_rule() {
                        Rule::kw_first => seen_first = true,
                        Rule::kw_after => seen_after = true,
                        Rule::expr if seen_first && first_within.is_none() => {
                            first_within = Some(self.expr(p.clone())?)
                        }
                        Rule::anchor => anchors.push((seen_after && anchors.is_empty(), p.clone())),
                        _ => {}
                    }
                }
                let mut until = None;
                for (is_after, p) in anchors {
                    let a = self.anchor(p)?;
                    if is_after && after.is_none() {
                        after = Some(a);
                    } else {
                        until = Some(a);
                    }
                }
                let until = until.ok_or_else(|| {
                    Diagnostic::error("internal", "internal error: monitor without until")
                        .with_source(self.source)
                })?;
                let mut ac = Cursor {
                    pairs: rest
                        .into_iter()
                        .filter(|p| !matches!(p.as_rule(), Rule::expr | Rule::anchor))
                        .collect(),
                    pos: 0,
                    span,
                };
                let attrs = self.step_attrs(&mut ac)?;
                Stmt::Monitor(Monitor {
                    docs,
                    name,
                    every,
                    first_within,
                    after,
                    until,
                    attrs,
                    span,
                })
            }
            Rule::call => {
                let procedure = self.name(c.need(Rule::qualified_name)?);
                let alias = self.opt_name(&mut c);
                let mut args = Vec::new();
                for a in c.all(Rule::call_arg) {
                    let mut ac = Cursor::new(a);
                    let n = self.name(ac.need(Rule::ident)?);
                    args.push((n, self.expr(ac.need(Rule::expr)?)?));
                }
                let attrs = self.step_attrs(&mut c)?;
                Stmt::Call(Call {
                    docs,
                    procedure,
                    alias,
                    args,
                    attrs,
                    span,
                })
            }
            Rule::decide => {
                let name = self.name(c.need(Rule::ident)?);
                let subject = c.eat(Rule::expr).map(|e| self.expr(e)).transpose()?;
                let mut branches = Vec::new();
                for b in c.all(Rule::branch) {
                    let bspan = first_line_span(&b);
                    let mut bc = Cursor::new(b);
                    let tests = bc
                        .all(Rule::cell_test)
                        .into_iter()
                        .map(|t| self.cell_test(t))
                        .collect::<R<_>>()?;
                    let body = self.branch_body(bc.need(Rule::branch_body)?)?;
                    branches.push(Branch {
                        tests,
                        body,
                        span: bspan,
                    });
                }
                let otherwise = match c.eat(Rule::else_branch) {
                    Some(e) => {
                        let espan = first_line_span(&e);
                        let body = self.branch_body(Cursor::new(e).need(Rule::branch_body)?)?;
                        Some((body, espan))
                    }
                    None => None,
                };
                let end = c.need(Rule::kw_end)?;
                Stmt::Decide(Decide {
                    docs,
                    name,
                    subject,
                    branches,
                    otherwise,
                    span,
                    end_span: span_of(&end),
                })
            }
            Rule::parallel => {
                let name = self.opt_name(&mut c);
                let mut branches = Vec::new();
                for b in c.all(Rule::par_branch) {
                    let bspan = first_line_span(&b);
                    let mut bc = Cursor::new(b);
                    let label = self.opt_string(&mut bc);
                    let body = self.statements(&mut bc)?;
                    branches.push(ParBranch {
                        label,
                        body,
                        span: bspan,
                    });
                }
                let end = c.need(Rule::kw_end)?;
                Stmt::Parallel(Parallel {
                    docs,
                    name,
                    branches,
                    span,
                    end_span: span_of(&end),
                })
            }
            Rule::repeat => {
                let name = self.opt_name(&mut c);
                let max = c.eat(Rule::integer).map(|p| self.u32_of(p)).transpose()?;
                let body = self.statements(&mut c)?;
                let until_kw = c.need(Rule::kw_until)?;
                let until = self.expr(c.need(Rule::expr)?)?;
                let until_span = Span::new(span_of(&until_kw).start, until.span.end);
                Stmt::Repeat(Repeat {
                    docs,
                    name,
                    max,
                    body,
                    until,
                    span,
                    until_span,
                })
            }
            Rule::goto => Stmt::Goto {
                docs,
                target: self.name(c.need(Rule::ident)?),
                span,
            },
            _ => Stmt::End {
                docs,
                state: self.name(c.need(Rule::ident)?),
                span,
            },
        })
    }

    fn branch_body(&self, pair: Pair<'_>) -> R<BranchBody> {
        let mut c = Cursor::new(pair);
        if c.has(Rule::p_arrow) {
            return Ok(BranchBody::Goto(self.name(c.need(Rule::ident)?)));
        }
        Ok(BranchBody::Block(self.statements(&mut c)?))
    }

    fn step_attrs(&self, c: &mut Cursor<'_>) -> R<Vec<StepAttr>> {
        let mut out = Vec::new();
        for p in c.pairs[c.pos..].iter().cloned() {
            let span = trim_span(self.source, span_of(&p));
            let rule = p.as_rule();
            let mut ac = Cursor::new(p);
            out.push(match rule {
                Rule::within_attr => {
                    let limit = self.expr(ac.need(Rule::expr)?)?;
                    let of = ac.eat(Rule::anchor).map(|a| self.anchor(a)).transpose()?;
                    let on = self.opt_name(&mut ac);
                    StepAttr::Within {
                        limit,
                        of,
                        on,
                        span,
                    }
                }
                Rule::needs_attr => {
                    let count = self.u32_of(ac.need(Rule::integer)?)?;
                    let resource = self.name(ac.need(Rule::ident)?);
                    let capabilities = ac
                        .eat(Rule::name_list)
                        .map(|l| self.names_list(l))
                        .unwrap_or_default();
                    StepAttr::Needs {
                        count,
                        resource,
                        capabilities,
                        span,
                    }
                }
                Rule::by_attr => StepAttr::By(self.idents(&mut ac), span),
                Rule::to_attr => StepAttr::To(self.idents(&mut ac), span),
                Rule::records_attr => {
                    StepAttr::Records(self.names_list(ac.need(Rule::name_list)?), span)
                }
                Rule::outcomes_attr => {
                    StepAttr::Outcomes(self.names_list(ac.need(Rule::name_list)?), span)
                }
                Rule::responsibilities_attr => {
                    StepAttr::Responsibilities(self.names_list(ac.need(Rule::name_list)?), span)
                }
                Rule::actions_attr => {
                    StepAttr::Actions(self.names_list(ac.need(Rule::name_list)?), span)
                }
                Rule::ack_attr => StepAttr::Ack(self.expr(ac.need(Rule::expr)?)?, span),
                Rule::escalate_attr => {
                    let trigger = if let Some(pct) = ac.eat(Rule::percent) {
                        EscalateTrigger::Percent(pct.as_str().trim_end_matches('%').to_string())
                    } else {
                        EscalateTrigger::After(self.expr(ac.need(Rule::expr)?)?)
                    };
                    let to = self.idents(&mut ac);
                    let when = ac.eat(Rule::expr).map(|e| self.expr(e)).transpose()?;
                    StepAttr::Escalate {
                        trigger,
                        to,
                        when,
                        span,
                    }
                }
                _ => continue,
            });
        }
        c.pos = c.pairs.len();
        Ok(out)
    }

    fn anchor(&self, pair: Pair<'_>) -> R<Anchor> {
        let span = span_of(&pair);
        let mut c = Cursor::new(pair);
        if let Some(f) = c.eat(Rule::anchor_fn) {
            let xs = c
                .all(Rule::anchor)
                .into_iter()
                .map(|a| self.anchor(a))
                .collect::<R<_>>()?;
            return Ok(if f.as_str() == "earliest_of" {
                Anchor::EarliestOf(xs, span)
            } else {
                Anchor::LatestOf(xs, span)
            });
        }
        let pos = c.eat(Rule::anchor_pos).map(|p| {
            if p.as_str() == "first" {
                AnchorPos::First
            } else {
                AnchorPos::Last
            }
        });
        let name = self.name(c.need(Rule::ident)?);
        Ok(Anchor::Ref { pos, name, span })
    }

    // ------------------------------------------------------------ constraints, standards, exemptions, mapping

    fn constraint(&self, pair: Pair<'_>) -> R<Constraint> {
        let span = line_after_docs(self.source, first_line_span(&pair));
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let name = self.name(c.need(Rule::ident)?);
        let body = c.pairs[c.pos..]
            .iter()
            .find(|p| !is_token(p.as_rule()))
            .cloned();
        let Some(body) = body else {
            return Err(
                Diagnostic::error("internal", "internal error: empty constraint")
                    .with_source(self.source),
            );
        };
        c.pos = c
            .pairs
            .iter()
            .position(|p| p.as_span() == body.as_span())
            .map_or(c.pos, |i| i + 1);
        let rule = body.as_rule();
        let mut bc = Cursor::new(body);
        let kind = match rule {
            Rule::c_response => {
                let first = self.name(bc.need(Rule::ident)?);
                let then = self.name(bc.need(Rule::ident)?);
                let within = bc.eat(Rule::expr).map(|e| self.expr(e)).transpose()?;
                ConstraintKind::Response {
                    first,
                    then,
                    within,
                }
            }
            Rule::c_precedence => {
                let first = self.name(bc.need(Rule::ident)?);
                ConstraintKind::Precedence {
                    first,
                    then: self.name(bc.need(Rule::ident)?),
                }
            }
            Rule::c_absence => ConstraintKind::Absence(self.name(bc.need(Rule::ident)?)),
            Rule::c_count => {
                let k = bc.need(Rule::count_kind)?;
                let kind = match k.as_str().split_whitespace().last() {
                    Some("least") => CountKind::AtLeast,
                    Some("most") => CountKind::AtMost,
                    _ => CountKind::Exactly,
                };
                let n = self.u32_of(bc.need(Rule::integer)?)?;
                ConstraintKind::Count {
                    kind,
                    n,
                    step: self.name(bc.need(Rule::ident)?),
                }
            }
            Rule::c_not_coexist => {
                let a = self.name(bc.need(Rule::ident)?);
                ConstraintKind::NotCoexist(a, self.name(bc.need(Rule::ident)?))
            }
            _ => {
                let different = bc.need(Rule::actor_kind)?.as_str() == "different";
                let a = self.name(bc.need(Rule::ident)?);
                ConstraintKind::Actor {
                    different,
                    a,
                    b: self.name(bc.need(Rule::ident)?),
                }
            }
        };
        let when = c.eat(Rule::expr).map(|e| self.expr(e)).transpose()?;
        Ok(Constraint {
            docs,
            name,
            kind,
            when,
            span,
        })
    }

    fn standard(&self, pair: Pair<'_>) -> R<Standard> {
        let span = line_after_docs(self.source, first_line_span(&pair));
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let name = self.name(c.need(Rule::ident)?);
        let (measure, interval) = if let Some(p) = c.eat(Rule::pct_standard) {
            let mut pc = Cursor::new(p);
            let percent = pc
                .need(Rule::percent)?
                .as_str()
                .trim_end_matches('%')
                .to_string();
            let within = self.expr(pc.need(Rule::expr)?)?;
            (Measure::Share { percent, within }, pc.need(Rule::interval)?)
        } else {
            let mut sc = Cursor::new(c.need(Rule::stat_standard)?);
            let st = sc.need(Rule::statistic)?;
            let stat = match st.as_str() {
                "mean" => Statistic::Mean,
                "median" => Statistic::Median,
                "max" => Statistic::Max,
                _ => Statistic::Centile(Cursor::new(st).need(Rule::ordinal)?.as_str().to_string()),
            };
            let interval = sc.need(Rule::interval)?;
            let op = cmp_of(sc.need(Rule::cmp_op)?.as_str());
            let limit = self.expr(sc.need(Rule::expr)?)?;
            (Measure::Stat { stat, op, limit }, interval)
        };
        let mut ic = Cursor::new(interval);
        let from = self.anchor(ic.need(Rule::anchor)?)?;
        let to = self.anchor(ic.need(Rule::anchor)?)?;
        let mut filter = None;
        let mut excluding = None;
        let mut last_kw = None;
        for p in c.pairs[c.pos..].iter().cloned() {
            match p.as_rule() {
                Rule::kw_where | Rule::kw_excluding => last_kw = Some(p.as_rule()),
                Rule::expr => {
                    let e = self.expr(p)?;
                    if last_kw == Some(Rule::kw_where) {
                        filter = Some(e)
                    } else {
                        excluding = Some(e)
                    }
                }
                _ => {}
            }
        }
        Ok(Standard {
            docs,
            name,
            measure,
            from,
            to,
            filter,
            excluding,
            span,
        })
    }

    fn exemption(&self, pair: Pair<'_>) -> R<Exemption> {
        let span = line_after_docs(self.source, first_line_span(&pair));
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let name = self.name(c.need(Rule::ident)?);
        let title = self.opt_string(&mut c);
        let waives = self.names_list(c.need(Rule::name_list)?);
        let on = self.name(c.need(Rule::ident)?);
        let requires = c
            .eat(Rule::requires)
            .map(|r| self.requires(r))
            .transpose()?;
        Ok(Exemption {
            docs,
            name,
            title,
            waives,
            on,
            requires,
            span,
        })
    }

    fn map_item(&self, pair: Pair<'_>) -> R<MapItem> {
        let span = trim_span(self.source, span_of(&pair));
        let rule = pair.as_rule();
        let mut c = Cursor::new(pair);
        Ok(match rule {
            Rule::map_activity => {
                let label = self.string(c.need(Rule::string)?);
                let target = self.opt_name(&mut c);
                MapItem::Activity {
                    label,
                    target,
                    span,
                }
            }
            Rule::map_attribute => {
                let column = self.string(c.need(Rule::string)?);
                MapItem::Attribute {
                    column,
                    field: self.name(c.need(Rule::ident)?),
                    span,
                }
            }
            Rule::map_timezone => MapItem::Timezone {
                zone: self.string(c.need(Rule::string)?),
                span,
            },
            Rule::map_timestamp_format => MapItem::TimestampFormat {
                format: self.string(c.need(Rule::string)?),
                span,
            },
            _ => {
                let fact = self.name(c.need(Rule::ident)?);
                let raw = self.string(c.need(Rule::string)?);
                let value = self.value(c.need(Rule::value)?)?;
                MapItem::Value {
                    fact,
                    raw,
                    value,
                    span,
                }
            }
        })
    }

    fn link_decl(&self, pair: Pair<'_>) -> Link {
        let span = line_after_docs(self.source, first_line_span(&pair));
        let text = pair.as_str().to_string();
        let mut c = Cursor::new(pair);
        let docs = self.docs(&mut c);
        let names = self.idents(&mut c);
        let clock_inherited = if text.contains("inherited") {
            Some(true)
        } else if text.contains("independent") {
            Some(false)
        } else {
            None
        };
        let blank = Name {
            text: String::new(),
            span,
        };
        Link {
            docs,
            name: names.first().cloned().unwrap_or_else(|| blank.clone()),
            via: names.get(1).cloned().unwrap_or(blank),
            clock_inherited,
            span,
        }
    }

    // ------------------------------------------------------------ expressions

    fn value(&self, pair: Pair<'_>) -> R<Expr> {
        let span = span_of(&pair);
        let mut c = Cursor::new(pair);
        if let Some(l) = c.eat(Rule::literal) {
            return self.literal(l);
        }
        if let Some(n) = c.eat(Rule::signed_number) {
            let text = n.as_str();
            let kind = if text.contains('.') {
                Literal::Decimal(text.to_string())
            } else {
                Literal::Int(text.parse::<i64>().map_err(|_| {
                    self.err(
                        span,
                        "number too large",
                        "this number",
                        "numbers must fit in 64 bits",
                    )
                })?)
            };
            return Ok(Expr {
                kind: ExprKind::Literal(kind),
                span,
            });
        }
        let n = self.name(c.need(Rule::ident)?);
        Ok(Expr {
            kind: ExprKind::Path(vec![n]),
            span,
        })
    }

    fn expr(&self, pair: Pair<'_>) -> R<Expr> {
        let span = span_of(&pair);
        let pairs = pair.into_inner();
        let operators = pairs
            .clone()
            .filter(|p| {
                p.as_rule() != Rule::expr
                    && !matches!(
                        p.as_rule(),
                        Rule::paren
                            | Rule::list_lit
                            | Rule::range_lit
                            | Rule::literal
                            | Rule::func_call
                            | Rule::outcome_of
                            | Rule::path
                    )
            })
            .count();
        if operators > MAX_OPERATORS {
            return Err(self.err(
                span,
                format!(
                    "expression has {operators} operators, more than the {MAX_OPERATORS} allowed"
                ),
                "too long",
                "split it into named parameters, a decision table or a score",
            ));
        }
        PRATT
            .map_primary(|p| self.primary(p))
            .map_prefix(|op, rhs| {
                let rhs = rhs?;
                let span = span_of(&op).join(rhs.span);
                let uop = if op.as_rule() == Rule::op_not {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                Ok(Expr {
                    kind: ExprKind::Unary(uop, Box::new(rhs)),
                    span,
                })
            })
            .map_postfix(|lhs, op| {
                let lhs = lhs?;
                let span = lhs.span.join(span_of(&op));
                Ok(Expr {
                    kind: ExprKind::IsMissing {
                        operand: Box::new(lhs),
                        negated: op.as_rule() == Rule::op_is_not_missing,
                    },
                    span,
                })
            })
            .map_infix(|lhs, op, rhs| {
                let (lhs, rhs) = (lhs?, rhs?);
                let span = lhs.span.join(rhs.span);
                let bop = match op.as_rule() {
                    Rule::op_or => BinaryOp::Or,
                    Rule::op_and => BinaryOp::And,
                    Rule::op_eq => BinaryOp::Eq,
                    Rule::op_ne => BinaryOp::Ne,
                    Rule::op_lt => BinaryOp::Lt,
                    Rule::op_le => BinaryOp::Le,
                    Rule::op_gt => BinaryOp::Gt,
                    Rule::op_ge => BinaryOp::Ge,
                    Rule::op_in => BinaryOp::In,
                    Rule::op_not_in => BinaryOp::NotIn,
                    Rule::op_matches => BinaryOp::Matches,
                    Rule::op_add => BinaryOp::Add,
                    Rule::op_sub => BinaryOp::Sub,
                    Rule::op_mul => BinaryOp::Mul,
                    _ => BinaryOp::Div,
                };
                Ok(Expr {
                    kind: ExprKind::Binary(bop, Box::new(lhs), Box::new(rhs)),
                    span,
                })
            })
            .parse(pairs)
    }

    fn primary(&self, pair: Pair<'_>) -> R<Expr> {
        let span = span_of(&pair);
        let rule = pair.as_rule();
        let mut c = Cursor::new(pair.clone());
        Ok(match rule {
            Rule::paren => {
                let mut e = self.expr(c.need(Rule::expr)?)?;
                e.span = span;
                e
            }
            Rule::list_lit => {
                let items = c
                    .all(Rule::expr)
                    .into_iter()
                    .map(|e| self.expr(e))
                    .collect::<R<_>>()?;
                Expr {
                    kind: ExprKind::List(items),
                    span,
                }
            }
            Rule::range_lit => self.range(pair)?,
            Rule::literal => self.literal(pair)?,
            Rule::func_call => {
                let f = self.name(c.need(Rule::ident)?);
                let args = c
                    .all(Rule::expr)
                    .into_iter()
                    .map(|e| self.expr(e))
                    .collect::<R<_>>()?;
                Expr {
                    kind: ExprKind::Call(f, args),
                    span,
                }
            }
            Rule::outcome_of => Expr {
                kind: ExprKind::OutcomeOf(self.name(c.need(Rule::ident)?)),
                span,
            },
            _ => Expr {
                kind: ExprKind::Path(self.idents(&mut c)),
                span,
            },
        })
    }

    fn range(&self, pair: Pair<'_>) -> R<Expr> {
        let span = span_of(&pair);
        let bounds: Vec<_> = pair
            .into_inner()
            .filter(|p| !is_token(p.as_rule()))
            .collect();
        let mut exprs = Vec::new();
        for b in bounds {
            exprs.push(self.literal_token(b)?);
        }
        let hi = exprs.pop();
        let lo = exprs.pop();
        match (lo, hi) {
            (Some(lo), Some(hi)) => Ok(Expr {
                kind: ExprKind::Range(Box::new(lo), Box::new(hi)),
                span,
            }),
            _ => Err(
                Diagnostic::error("internal", "internal error: range without bounds")
                    .with_source(self.source),
            ),
        }
    }

    fn literal(&self, pair: Pair<'_>) -> R<Expr> {
        let inner = pair.into_inner().next();
        match inner {
            Some(p) => self.literal_token(p),
            None => Err(
                Diagnostic::error("internal", "internal error: empty literal")
                    .with_source(self.source),
            ),
        }
    }

    fn literal_token(&self, p: Pair<'_>) -> R<Expr> {
        let span = span_of(&p);
        let text = p.as_str();
        let lit = match p.as_rule() {
            Rule::kw_true => Literal::Bool(true),
            Rule::kw_false => Literal::Bool(false),
            Rule::kw_unknown => Literal::Unknown,
            Rule::timestamp => {
                chrono::DateTime::parse_from_rfc3339(&normalise_ts(text)).map_err(|_| {
                    self.err(
                        span,
                        format!("`{text}` is not a valid timestamp"),
                        "not a real time",
                        "write timestamps as RFC 3339, e.g. 2026-04-01T09:30:00Z",
                    )
                })?;
                Literal::Timestamp(text.to_string())
            }
            Rule::date => self.date(p)?,
            Rule::duration => Literal::Duration(
                parse_duration(text).ok_or_else(|| {
                    self.err(
                        span,
                        format!("duration `{text}` is too long"),
                        "this duration",
                        "durations must be shorter than about 290 million years",
                    )
                })?,
                text.to_string(),
            ),
            Rule::decimal => Literal::Decimal(text.to_string()),
            Rule::integer => Literal::Int(text.parse::<i64>().map_err(|_| {
                self.err(
                    span,
                    "number too large",
                    "this number",
                    "numbers must fit in 64 bits (at most 9223372036854775807)",
                )
            })?),
            _ => Literal::Str(self.string(p).value),
        };
        Ok(Expr {
            kind: ExprKind::Literal(lit),
            span,
        })
    }
}

/// Adds `:00` seconds when a timestamp omits them, for the RFC 3339 parser.
fn normalise_ts(text: &str) -> String {
    if text.len() >= 16 && text.as_bytes().get(16) != Some(&b':') {
        format!("{}:00{}", &text[..16], &text[16..])
    } else {
        text.to_string()
    }
}

/// Milliseconds of a duration literal such as `1h30m`.
pub fn parse_duration(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut num: i64 = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_digit() {
            num = num.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
            i += 1;
            continue;
        }
        let (unit, len) = if text[i..].starts_with("ms") {
            (1, 2)
        } else {
            let u = match b {
                b's' => 1_000,
                b'm' => 60_000,
                b'h' => 3_600_000,
                b'd' => 86_400_000,
                b'w' => 604_800_000,
                _ => return None,
            };
            (u, 1)
        };
        total = total.checked_add(num.checked_mul(unit)?)?;
        num = 0;
        i += len;
    }
    Some(total)
}

fn scalar_of(text: &str) -> Scalar {
    match text {
        "bool" => Scalar::Bool,
        "int" => Scalar::Int,
        "decimal" => Scalar::Decimal,
        "duration" => Scalar::Duration,
        "timestamp" => Scalar::Timestamp,
        "date" => Scalar::Date,
        _ => Scalar::Text,
    }
}

fn cmp_of(text: &str) -> CmpOp {
    match text {
        ">=" => CmpOp::Ge,
        ">" => CmpOp::Gt,
        "<=" => CmpOp::Le,
        _ => CmpOp::Lt,
    }
}

fn hit_policy_of(pair: Pair<'_>) -> HitPolicy {
    let text = pair.as_str();
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.first().copied() {
        Some("unique") => HitPolicy::Unique,
        Some("first") => HitPolicy::First,
        Some("priority") => HitPolicy::Priority,
        Some("any") => HitPolicy::Any,
        Some("rule") => HitPolicy::RuleOrder,
        Some("output") => HitPolicy::OutputOrder,
        _ => HitPolicy::Collect(match words.get(1).copied() {
            Some("max") => Some(CollectOp::Max),
            Some("min") => Some(CollectOp::Min),
            Some("sum") => Some(CollectOp::Sum),
            Some("count") => Some(CollectOp::Count),
            _ => None,
        }),
    }
}

/// Trims trailing whitespace and line breaks from a span.
fn trim_span(source: &SourceFile, span: Span) -> Span {
    let text = source.slice(span);
    let trimmed = text.trim_end();
    // Cut at the first newline: a line item's span is its own line.
    let first = trimmed
        .find('\n')
        .map_or(trimmed, |i| trimmed[..i].trim_end());
    Span::new(span.start, span.start + first.len())
}

/// For an item with doc lines, the span of its first non-doc line.
fn line_after_docs(source: &SourceFile, span: Span) -> Span {
    let text = source.text();
    let mut start = span.start;
    loop {
        let rest = text.get(start..).unwrap_or("");
        let trimmed = rest.trim_start_matches([' ', '\t']);
        // Doc lines, and the `#` comments between them and the item (found by the
        // `frontend` fuzz target: an item's line was taken to be such a comment's).
        if trimmed.starts_with('#') {
            match rest.find('\n') {
                Some(nl) => {
                    start += nl + 1;
                    // Skip blank lines between doc lines and the item.
                    while text.get(start..).is_some_and(|r| {
                        r.starts_with(['\n', '\r'])
                            || r.trim_start_matches([' ', '\t']).starts_with('\n')
                    }) {
                        match text.get(start..).and_then(|r| r.find('\n')) {
                            Some(n) => start += n + 1,
                            None => break,
                        }
                    }
                }
                None => break,
            }
        } else {
            start += rest.len() - trimmed.len();
            break;
        }
    }
    let line_end = text
        .get(start..)
        .and_then(|r| r.find('\n'))
        .map_or(text.len(), |i| start + i);
    let end = start + text.get(start..line_end).unwrap_or("").trim_end().len();
    Span::new(start, end.max(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_compound_and_overflow() {
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("10s"), Some(10_000));
        assert_eq!(parse_duration("250ms"), Some(250));
        assert_eq!(parse_duration("99999999999999999999w"), None);
    }

    #[test]
    fn comments_skip_strings_and_doc_lines() {
        let cs = comments("## doc\nstep a \"x # y\" # real\n# own\n");
        let texts: Vec<_> = cs.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["# real", "# own"]);
    }
}
