//! Writing simulated cases as JSON Lines, CSV or XES.

use std::collections::BTreeSet;
use std::io::Write;

use super::{SimCase, SimEvent};

fn time(e: &SimEvent) -> String {
    e.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One JSON object per event: case, activity, time, actor, the event's attributes and
/// the case facts as `case:<fact>`.
pub fn jsonl(cases: &[SimCase], out: &mut dyn Write) -> std::io::Result<()> {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    for c in cases {
        for e in &c.events {
            let mut line = format!(
                "{{\"case:concept:name\":{},\"concept:name\":{},\"time:timestamp\":{},\"org:resource\":{}",
                q(&c.id),
                q(&e.activity),
                q(&time(e)),
                q(&e.actor)
            );
            for (k, v) in &e.attributes {
                line.push_str(&format!(",{}:{}", q(k), q(v)));
            }
            for (k, v) in &c.facts {
                line.push_str(&format!(",{}:{}", q(&format!("case:{k}")), q(v)));
            }
            line.push('}');
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// A header row, then one row per event; columns are the fixed four, the event
/// attributes and the case facts (sorted).
pub fn csv(cases: &[SimCase], out: &mut dyn Write) -> std::io::Result<()> {
    let attrs: BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| c.events.iter())
        .flat_map(|e| e.attributes.iter().map(|(k, _)| k.as_str()))
        .collect();
    let facts: BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| c.facts.iter().map(|(k, _)| k.as_str()))
        .collect();
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = vec![
        "case:concept:name".into(),
        "concept:name".into(),
        "time:timestamp".into(),
        "org:resource".into(),
    ];
    header.extend(attrs.iter().map(|a| a.to_string()));
    header.extend(facts.iter().map(|f| format!("case:{f}")));
    w.write_record(&header).map_err(std::io::Error::other)?;
    for c in cases {
        for e in &c.events {
            let mut row: Vec<String> =
                vec![c.id.clone(), e.activity.clone(), time(e), e.actor.clone()];
            for a in &attrs {
                row.push(
                    e.attributes
                        .iter()
                        .find(|(k, _)| k == a)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default(),
                );
            }
            for f in &facts {
                row.push(
                    c.facts
                        .iter()
                        .find(|(k, _)| k == f)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default(),
                );
            }
            w.write_record(&row).map_err(std::io::Error::other)?;
        }
    }
    w.flush()
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

/// XES: one `<trace>` per case with its id and facts as trace attributes (without the
/// `case:` prefix, as XES tools expect); procedo's reader takes only the trace's
/// `concept:name`, so each event also carries the facts as `case:<fact>` attributes.
pub fn xes(cases: &[SimCase], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<log xes.version=\"1.0\" xes.features=\"nested-attributes\" xmlns=\"http://www.xes-standard.org/\">"
    )?;
    writeln!(
        out,
        "  <extension name=\"Concept\" prefix=\"concept\" uri=\"http://www.xes-standard.org/concept.xesext\"/>"
    )?;
    writeln!(
        out,
        "  <extension name=\"Time\" prefix=\"time\" uri=\"http://www.xes-standard.org/time.xesext\"/>"
    )?;
    writeln!(
        out,
        "  <extension name=\"Organizational\" prefix=\"org\" uri=\"http://www.xes-standard.org/org.xesext\"/>"
    )?;
    let s = |k: &str, v: &str| format!("<string key=\"{}\" value=\"{}\"/>", esc(k), esc(v));
    for c in cases {
        writeln!(out, "  <trace>")?;
        writeln!(out, "    {}", s("concept:name", &c.id))?;
        for (k, v) in &c.facts {
            writeln!(out, "    {}", s(k, v))?;
        }
        for e in &c.events {
            writeln!(out, "    <event>")?;
            writeln!(out, "      {}", s("concept:name", &e.activity))?;
            writeln!(
                out,
                "      <date key=\"time:timestamp\" value=\"{}\"/>",
                esc(&time(e))
            )?;
            writeln!(out, "      {}", s("org:resource", &e.actor))?;
            for (k, v) in &e.attributes {
                writeln!(out, "      {}", s(k, v))?;
            }
            for (k, v) in &c.facts {
                writeln!(out, "      {}", s(&format!("case:{k}"), v))?;
            }
            writeln!(out, "    </event>")?;
        }
        writeln!(out, "  </trace>")?;
    }
    writeln!(out, "</log>")
}
