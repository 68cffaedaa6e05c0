//! PNML (ISO/IEC 15909-2) for place/transition nets, as pm4py and ProM write them:
//! silent transitions carry `<toolspecific ... activity="$invisible$"/>`, the final
//! marking is in `<finalmarkings>`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use quick_xml::events::Event as Xml;

use super::Net;

/// An attribute's value as XML reads it: its line breaks and tabs are spaces.
fn attr(e: &quick_xml::events::BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| a.unescape_value().ok())
        .map(|v| {
            v.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect()
        })
}

/// Reads a PNML file into a net.
pub fn read_pnml(path: &Path) -> Result<Net, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    parse_pnml(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[derive(Default)]
struct RawTransition {
    id: String,
    name: Option<String>,
    invisible: bool,
}

/// Parses PNML text.
pub fn parse_pnml(text: &str) -> Result<Net, String> {
    let mut xml = quick_xml::Reader::from_str(text);
    xml.config_mut().trim_text(true);
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut places: Vec<(String, u8)> = Vec::new();
    let mut transitions: Vec<RawTransition> = Vec::new();
    let mut arcs: Vec<(String, String, u8)> = Vec::new();
    let mut final_marking: Vec<(String, u8)> = Vec::new();
    let mut current_final_place: Option<String> = None;
    loop {
        let pos = xml.buffer_position();
        let ev = xml
            .read_event()
            .map_err(|e| format!("invalid XML near byte {pos}: {e}"))?;
        match ev {
            Xml::Eof => break,
            Xml::Start(ref e) | Xml::Empty(ref e) => {
                let name = e.local_name().as_ref().to_vec();
                let in_final = stack.iter().any(|s| s == b"finalmarkings");
                match name.as_slice() {
                    b"place" if in_final => current_final_place = attr(e, b"idref"),
                    b"place" => places.push((attr(e, b"id").ok_or("a place has no id")?, 0)),
                    b"transition" => transitions.push(RawTransition {
                        id: attr(e, b"id").ok_or("a transition has no id")?,
                        ..Default::default()
                    }),
                    b"arc" => arcs.push((
                        attr(e, b"source").ok_or("an arc has no source")?,
                        attr(e, b"target").ok_or("an arc has no target")?,
                        1,
                    )),
                    b"toolspecific" => {
                        if attr(e, b"activity").as_deref() == Some("$invisible$")
                            && let Some(t) = transitions.last_mut()
                            && stack.last().is_some_and(|s| s == b"transition")
                        {
                            t.invisible = true;
                        }
                    }
                    _ => {}
                }
                if matches!(ev, Xml::Start(_)) {
                    stack.push(name);
                }
            }
            Xml::Text(t) => {
                let value = t
                    .unescape()
                    .map_err(|e| format!("bad text: {e}"))?
                    .trim()
                    .to_string();
                let path: Vec<&[u8]> = stack.iter().map(Vec::as_slice).collect();
                match path.as_slice() {
                    [.., b"transition", b"name", b"text"] => {
                        if let Some(t) = transitions.last_mut() {
                            t.name = Some(value);
                        }
                    }
                    [.., b"place", b"initialMarking", b"text"] => {
                        if let Some(p) = places.last_mut() {
                            p.1 = value.parse().map_err(|_| {
                                format!("initial marking `{value}` is not a token count")
                            })?;
                        }
                    }
                    [.., b"arc", b"inscription", b"text"] => {
                        if let Some(a) = arcs.last_mut() {
                            a.2 = value
                                .parse()
                                .map_err(|_| format!("arc weight `{value}` is not a number"))?;
                        }
                    }
                    [.., b"finalmarkings", b"marking", b"place", b"text"] => {
                        if let Some(p) = current_final_place.take() {
                            final_marking.push((
                                p,
                                value.parse().map_err(|_| {
                                    format!("final marking `{value}` is not a token count")
                                })?,
                            ));
                        }
                    }
                    _ => {}
                }
            }
            Xml::End(_) => {
                stack.pop();
            }
            _ => {}
        }
    }
    let mut net = Net::default();
    let mut place_index = BTreeMap::new();
    for (id, tokens) in &places {
        if place_index.contains_key(id) {
            return Err(format!("place `{id}` is declared twice"));
        }
        let i = net.add_place(id.clone());
        net.initial[i] = *tokens;
        place_index.insert(id.clone(), i);
    }
    let mut trans_index = BTreeMap::new();
    for t in &transitions {
        let label = if t.invisible {
            None
        } else {
            // A transition without a name is labelled by its id, read as a name is
            // (trimmed), so that the net written and read back keeps the label.
            Some(
                t.name
                    .clone()
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| t.id.trim().to_string()),
            )
        };
        if trans_index.contains_key(&t.id) || place_index.contains_key(&t.id) {
            return Err(format!("`{}` is declared twice", t.id));
        }
        let i = net.add_transition(t.id.clone(), label, Vec::new(), Vec::new());
        trans_index.insert(t.id.clone(), i);
    }
    for (src, dst, w) in arcs {
        match (
            place_index.get(&src),
            trans_index.get(&dst),
            trans_index.get(&src),
            place_index.get(&dst),
        ) {
            (Some(&p), Some(&t), _, _) => net.transitions[t]
                .inputs
                .extend(std::iter::repeat_n(p, w as usize)),
            (_, _, Some(&t), Some(&p)) => net.transitions[t]
                .outputs
                .extend(std::iter::repeat_n(p, w as usize)),
            _ => {
                return Err(format!(
                    "arc {src} -> {dst} does not join a place and a transition"
                ));
            }
        }
    }
    if final_marking.is_empty() {
        // Without a final marking, a workflow net ends with one token in its sink
        // (the place no transition takes from).
        let sinks: Vec<usize> = (0..net.places.len())
            .filter(|&p| net.transitions.iter().all(|t| !t.inputs.contains(&p)))
            .collect();
        match sinks.as_slice() {
            [s] => net.final_marking[*s] = 1,
            _ => return Err("the net has no final marking and no single sink place".into()),
        }
    }
    for (p, n) in final_marking {
        let i = *place_index
            .get(&p)
            .ok_or(format!("final marking names unknown place `{p}`"))?;
        net.final_marking[i] = n;
    }
    if net.initial.iter().all(|&n| n == 0) {
        return Err("the net has no initial marking".into());
    }
    // (a final marking of no tokens is no end a workflow net can reach, and would be
    // written as no final marking at all)
    if net.final_marking.iter().all(|&n| n == 0) {
        return Err("the final marking has no tokens".into());
    }
    Ok(net)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes a net as PNML, readable by pm4py and ProM.
pub fn write_pnml(net: &Net, name: &str) -> String {
    let mut out = String::from("<?xml version='1.0' encoding='UTF-8'?>\n<pnml>\n");
    let _ = writeln!(
        out,
        "  <net id=\"{}\" type=\"http://www.pnml.org/version-2009/grammar/pnmlcoremodel\">",
        esc(name)
    );
    let _ = writeln!(
        out,
        "    <name>\n      <text>{}</text>\n    </name>\n    <page id=\"n0\">",
        esc(name)
    );
    for (i, p) in net.places.iter().enumerate() {
        let _ = write!(
            out,
            "      <place id=\"{}\">\n        <name>\n          <text>{}</text>\n        </name>\n",
            esc(p),
            esc(p)
        );
        if net.initial[i] > 0 {
            let _ = write!(
                out,
                "        <initialMarking>\n          <text>{}</text>\n        </initialMarking>\n",
                net.initial[i]
            );
        }
        out.push_str("      </place>\n");
    }
    for t in &net.transitions {
        let shown = t.label.as_deref().unwrap_or(&t.id);
        let _ = write!(
            out,
            "      <transition id=\"{}\">\n        <name>\n          <text>{}</text>\n        </name>\n",
            esc(&t.id),
            esc(shown)
        );
        if t.label.is_none() {
            let _ = writeln!(
                out,
                "        <toolspecific tool=\"ProM\" version=\"6.4\" activity=\"$invisible$\" localNodeID=\"{}\"/>",
                esc(&t.id)
            );
        }
        out.push_str("      </transition>\n");
    }
    let mut arc = 0;
    for t in &net.transitions {
        for &p in &t.inputs {
            arc += 1;
            let _ = writeln!(
                out,
                "      <arc id=\"a{arc}\" source=\"{}\" target=\"{}\"/>",
                esc(&net.places[p]),
                esc(&t.id)
            );
        }
        for &p in &t.outputs {
            arc += 1;
            let _ = writeln!(
                out,
                "      <arc id=\"a{arc}\" source=\"{}\" target=\"{}\"/>",
                esc(&t.id),
                esc(&net.places[p])
            );
        }
    }
    out.push_str("    </page>\n    <finalmarkings>\n      <marking>\n");
    for (i, n) in net.final_marking.iter().enumerate() {
        if *n > 0 {
            let _ = write!(
                out,
                "        <place idref=\"{}\">\n          <text>{n}</text>\n        </place>\n",
                esc(&net.places[i])
            );
        }
    }
    out.push_str("      </marking>\n    </finalmarkings>\n  </net>\n</pnml>\n");
    out
}
