//! A small XML tree read with quick-xml, each element with the span of its start tag, so
//! that every diagnostic about a BPMN element can point at its line and column.

use quick_xml::events::{BytesStart, Event};

use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span};

/// Deepest element nesting read; deeper documents are refused (BPMN needs a few dozen).
pub const MAX_DEPTH: usize = 256;

/// An element: its local name (prefix dropped), attributes (qualified names kept, so
/// `camunda:versionTag` stays apart from `versionTag`), children, text and span.
#[derive(Debug, Clone, Default)]
pub struct Element {
    pub name: String,
    pub prefix: Option<String>,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
    /// The start tag.
    pub span: Span,
}

impl Element {
    /// The value of an unprefixed attribute (or one in the BPMN namespace by prefix).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| {
                k == name
                    || k.rsplit_once(':')
                        .is_some_and(|(p, l)| l == name && p == "bpmn")
            })
            .map(|(_, v)| v.as_str())
    }

    /// The value of an attribute by its local name, whatever its prefix (`camunda:…`).
    pub fn attr_local(&self, local: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k.rsplit(':').next() == Some(local))
            .map(|(_, v)| v.as_str())
    }

    /// The children with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child with this local name, trimmed.
    pub fn child_text(&self, name: &str) -> Option<String> {
        self.children_named(name)
            .next()
            .map(|c| c.text.trim().to_string())
            .filter(|t| !t.is_empty())
    }
}

fn located(source: &SourceFile, at: usize, message: String) -> Diagnostic {
    let mut at = at.min(source.text().len());
    while !source.text().is_char_boundary(at) {
        at -= 1;
    }
    let end = source.text()[at..]
        .char_indices()
        .nth(1)
        .map_or(source.text().len(), |(i, _)| at + i);
    Diagnostic::error("bpmn-invalid-xml", message)
        .with_label(Span::new(at, end.max(at)), "here")
        .with_help("the file must be well-formed XML, as a BPMN modeller saves it")
        .with_source(source)
}

fn element(source: &SourceFile, e: &BytesStart<'_>, span: Span) -> Result<Element, Diagnostic> {
    let qname = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let (prefix, name) = match qname.split_once(':') {
        Some((p, l)) => (Some(p.to_string()), l.to_string()),
        None => (None, qname.clone()),
    };
    let mut attributes = Vec::new();
    for a in e.attributes() {
        let a =
            a.map_err(|err| located(source, span.start, format!("invalid attribute: {err}")))?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a.unescape_value().map_err(|err| {
            located(
                source,
                span.start,
                format!("invalid attribute `{key}`: {err}"),
            )
        })?;
        // XML turns the line breaks and tabs of an attribute value into spaces; those
        // written as character references are turned too, so that no id or name can
        // break a line of the draft (a comment naming it, say).
        let value = if value.chars().any(char::is_control) {
            value
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect()
        } else {
            value.into_owned()
        };
        attributes.push((key, value));
    }
    Ok(Element {
        name,
        prefix,
        attributes,
        children: Vec::new(),
        text: String::new(),
        span,
    })
}

/// Reads the document's root element, or says where and why the XML is not well formed.
pub fn parse(source: &SourceFile) -> Result<Element, Diagnostic> {
    let text = source.text();
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| {
            let at = reader.error_position() as usize;
            located(source, at, format!("malformed XML: {e}"))
        })?;
        let after = reader.buffer_position() as usize;
        let start = text
            .get(before..)
            .and_then(|t| t.find('<'))
            .map_or(before, |k| before + k);
        let span = Span::new(start.min(after), after);
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if root.is_some() && stack.is_empty() {
                    return Err(located(source, start, "a second root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(located(
                        source,
                        start,
                        format!("elements nested deeper than {MAX_DEPTH}"),
                    ));
                }
                let el = element(source, e, span)?;
                if matches!(event, Event::Start(_)) {
                    stack.push(el);
                } else if let Some(parent) = stack.last_mut() {
                    parent.children.push(el);
                } else {
                    root = Some(el);
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(located(
                        source,
                        start,
                        "a closing tag without its opening tag".into(),
                    ));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                let s = t
                    .unescape()
                    .map_err(|e| located(source, start, format!("invalid text: {e}")))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                } else if !s.trim().is_empty() {
                    return Err(located(
                        source,
                        start,
                        "text outside the root element".into(),
                    ));
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t.into_inner()));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(located(
            source,
            open.span.start,
            format!("`<{}>` is never closed (the file ends first)", open.name),
        ));
    }
    root.ok_or_else(|| located(source, 0, "no XML element in the file".into()))
}
