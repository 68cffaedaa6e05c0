//! XES (IEEE 1849) reader, streaming one trace at a time with quick-xml.
//!
//! One XML element (a tag with its attributes, or a text) is at most
//! [`crate::input::MAX_RECORD_BYTES`]: a longer one stops the read with an error naming
//! its byte offset, before it is held. A trace's events beyond
//! [`LogOptions::max_events_per_case`] are rejected (`case-too-long`), and so are those
//! past [`LogOptions::max_case_bytes`] (`case-too-large`).

use std::path::Path;

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event as Xml};

use std::cell::Cell;
use std::io::BufRead;
use std::rc::Rc;

use super::{
    Attributes, Interner, KeySet, LogOptions, Rejected, Trace, blank, case_too_long, make_event,
    within_case_bytes,
};

/// A stream that fails once more than [`crate::input::MAX_RECORD_BYTES`] are consumed
/// since the mark (the start of the element being read).
struct Bounded<R> {
    inner: R,
    consumed: u64,
    mark: Rc<Cell<u64>>,
}

impl<R: BufRead> Bounded<R> {
    fn check(&self) -> std::io::Result<()> {
        let mark = self.mark.get();
        if self.consumed.saturating_sub(mark) > crate::input::MAX_RECORD_BYTES as u64 {
            return Err(std::io::Error::other(format!(
                "the element starting at byte {mark} is longer than {} MiB, the most one \
                 record may be",
                crate::input::MAX_RECORD_BYTES >> 20
            )));
        }
        Ok(())
    }
}

impl<R: BufRead> std::io::Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.check()?;
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Bounded<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.check()?;
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.consumed += n as u64;
        self.inner.consume(n);
    }
}

const ATTRIBUTE_TAGS: [&[u8]; 7] = [
    b"string", b"date", b"int", b"float", b"boolean", b"id", b"list",
];

/// An attribute element's key (unescaped) and its raw value, which is unescaped only
/// when the attribute is wanted ([`unescaped`]): most of a log's attributes are not.
/// The key is borrowed from the element unless it has escapes.
fn key_value<'a>(
    e: &'a BytesStart<'_>,
) -> Result<(Option<std::borrow::Cow<'a, str>>, Option<Attribute<'a>>), String> {
    let mut key = None;
    let mut value = None;
    // quick-xml's own check for repeated attributes allocates for every element: only
    // the two read here are checked, below.
    for a in e.attributes().with_checks(false) {
        let a = a.map_err(|err| format!("bad XML attribute: {err}"))?;
        match a.key.as_ref() {
            b"key" if key.is_some() => return Err(twice("key")),
            b"value" if value.is_some() => return Err(twice("value")),
            b"key" => {
                key = Some(match a.value {
                    std::borrow::Cow::Borrowed(raw) if !raw.contains(&b'&') => {
                        std::borrow::Cow::Borrowed(
                            std::str::from_utf8(raw)
                                .map_err(|err| format!("bad XML attribute value: {err}"))?,
                        )
                    }
                    _ => std::borrow::Cow::Owned(unescaped(&a)?),
                })
            }
            b"value" => value = Some(a),
            _ => {}
        }
    }
    Ok((key, value))
}

fn twice(name: &str) -> String {
    format!("bad XML attribute: `{name}` is given twice in one element")
}

fn unescaped(a: &Attribute<'_>) -> Result<String, String> {
    Ok(a.unescape_value()
        .map_err(|err| format!("bad XML attribute value: {err}"))?
        .into_owned())
}

/// Reads an XES file (gzipped or not), calling `each` for every trace in file order.
pub fn read_xes(
    path: &Path,
    opts: &LogOptions,
    each: &mut dyn FnMut(Trace),
    reject: &mut dyn FnMut(Rejected),
) -> Result<(), String> {
    read_xes_into(path, opts, each, reject, &mut 0, &mut KeySet::default())
}

/// [`read_xes`], counting local times read as UTC in `assumed` and collecting the
/// attribute keys seen in `columns` (trace attributes as `case:KEY`).
pub(crate) fn read_xes_into(
    path: &Path,
    opts: &LogOptions,
    each: &mut dyn FnMut(Trace),
    reject: &mut dyn FnMut(Rejected),
    assumed: &mut usize,
    columns: &mut KeySet,
) -> Result<(), String> {
    let file = path.display().to_string();
    let reader = crate::input::open(path).map_err(|e| format!("cannot open `{file}`: {e}"))?;
    let mark = Rc::new(Cell::new(0u64));
    let mut xml = quick_xml::Reader::from_reader(Bounded {
        inner: reader,
        consumed: 0,
        mark: mark.clone(),
    });
    xml.config_mut().trim_text(true);
    let mut buf = Vec::new();
    // Where we are: inside a trace, inside an event, and how deep inside attributes.
    let mut in_trace = false;
    let mut in_event = false;
    let mut nested = 0usize;
    let mut trace_id: Option<String> = None;
    let mut trace_no = 0usize;
    let mut events = Vec::new();
    let mut event_attrs: Attributes = Vec::new();
    // Trace attributes other than the id, given to every event as `case:KEY`.
    let mut trace_attrs: Attributes = Vec::new();
    let mut keys = Interner::default();
    let mut event_no = 0usize;
    // The position of an attribute among its event's.
    let mut attr_pos = 0usize;
    // The memory the trace's events take (about).
    let mut trace_bytes = 0usize;
    // Events seen in the whole log: the columns are gathered from the first ones.
    let mut events_seen = 0usize;
    loop {
        // (cleared here: the nested-attribute branch below continues early)
        buf.clear();
        let pos = xml.buffer_position();
        mark.set(pos);
        let ev = xml
            .read_event_into(&mut buf)
            .map_err(|e| format!("{file}: invalid XML near byte {pos}: {e}"))?;
        // Exact, where the stream's check allows up to one buffer more.
        if xml.buffer_position() - pos > crate::input::MAX_RECORD_BYTES as u64 {
            return Err(format!(
                "{file}: invalid XML near byte {pos}: the element starting at byte {pos} is \
                 longer than {} MiB, the most one record may be",
                crate::input::MAX_RECORD_BYTES >> 20
            ));
        }
        match ev {
            Xml::Eof => {
                if in_trace {
                    return Err(format!(
                        "{file}: the file ends inside trace {trace_no} (truncated?)"
                    ));
                }
                return Ok(());
            }
            Xml::Start(ref e) | Xml::Empty(ref e) => {
                let is_empty = matches!(ev, Xml::Empty(_));
                let name = e.local_name();
                let name = name.as_ref();
                if nested > 0 {
                    if !is_empty {
                        nested += 1;
                    }
                } else if name == b"trace" {
                    in_trace = true;
                    trace_no += 1;
                    trace_id = None;
                    trace_attrs.clear();
                    events.clear();
                    trace_bytes = 0;
                    event_no = 0;
                } else if name == b"event" && in_trace {
                    in_event = true;
                    event_no += 1;
                    events_seen += 1;
                    event_attrs.clear();
                    attr_pos = 0;
                } else if ATTRIBUTE_TAGS.contains(&name) && in_trace {
                    let (key, value) =
                        key_value(e).map_err(|m| format!("{file}: trace {trace_no}: {m}"))?;
                    // A blank value is an absent attribute.
                    let located = |m: String| format!("{file}: trace {trace_no}: {m}");
                    let nonblank = |v: &Attribute<'_>| -> Result<Option<String>, String> {
                        if blank_bytes(&v.value) {
                            return Ok(None);
                        }
                        let v = unescaped(v).map_err(located)?;
                        Ok(Some(v).filter(|v| !blank(v)))
                    };
                    if let (Some(k), Some(raw)) = (key, value) {
                        let sample = events_seen <= super::COLUMN_SAMPLE;
                        if in_event {
                            // Events mostly have the same keys in the same order: the key
                            // at this position is compared before it is looked up.
                            attr_pos += 1;
                            if let Some(interned) =
                                keys.wanted_at(attr_pos - 1, &k, |x| opts.wants(x))
                            {
                                if let Some(v) = nonblank(&raw)? {
                                    if sample && !columns.contains(&*k) {
                                        columns.insert(k.to_string());
                                    }
                                    event_attrs.push((interned, v));
                                }
                            } else if sample && !columns.contains(&*k) && nonblank(&raw)?.is_some()
                            {
                                columns.insert(k.into_owned());
                            }
                        } else if k == "concept:name" {
                            if let Some(v) = nonblank(&raw)? {
                                trace_id = Some(v);
                            }
                        } else if let Some(v) = nonblank(&raw)? {
                            let key = format!("case:{k}");
                            if sample && !columns.contains(&key) {
                                columns.insert(key.clone());
                            }
                            if opts.wants(&key) {
                                trace_attrs.push((keys.get(&key), v));
                            }
                        }
                    }
                    if !is_empty {
                        // Nested attributes (meta-data) are skipped.
                        nested = 1;
                    }
                }
            }
            Xml::End(ref e) => {
                if nested > 0 {
                    nested -= 1;
                    continue;
                }
                match e.local_name().as_ref() {
                    b"event" if in_event => {
                        in_event = false;
                        let attrs = std::mem::take(&mut event_attrs);
                        let location = || {
                            format!(
                                "{file}: trace {trace_no} ({}), event {event_no}",
                                trace_id.as_deref().unwrap_or("no id")
                            )
                        };
                        let id = || {
                            trace_id
                                .clone()
                                .unwrap_or_else(|| format!("trace-{trace_no}"))
                        };
                        let made = if events.len() >= opts.max_events_per_case.max(1) {
                            Err(case_too_long(&id(), opts))
                        } else {
                            make_event(attrs, opts, assumed)
                        }
                        .and_then(|e| within_case_bytes(&id(), trace_bytes, e, opts));
                        match made {
                            Ok((ev, size)) => {
                                trace_bytes += size;
                                events.push(ev);
                            }
                            Err(bad) if bad.fatal => {
                                return Err(format!("{}: {}", location(), bad.reason));
                            }
                            Err(bad) => reject(Rejected {
                                location: location(),
                                reason: bad.reason,
                                kind: bad.kind,
                            }),
                        }
                    }
                    b"trace" if in_trace => {
                        in_trace = false;
                        let id = trace_id
                            .take()
                            .unwrap_or_else(|| format!("trace-{trace_no}"));
                        // Trace attributes hold for the whole case: the first event carries them.
                        if let Some(ev) = events.first_mut() {
                            let ev: &mut crate::log::Event = ev;
                            for (k, v) in trace_attrs.drain(..) {
                                if !ev.attributes.iter().any(|(x, _)| *x == k) {
                                    ev.attributes.push((k, v));
                                }
                            }
                        }
                        each(Trace {
                            id,
                            events: std::mem::take(&mut events),
                        });
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        buf.clear();
    }
}

/// A raw attribute value that is blank whatever its escapes (only ASCII white space).
fn blank_bytes(v: &[u8]) -> bool {
    v.iter().all(u8::is_ascii_whitespace)
}
