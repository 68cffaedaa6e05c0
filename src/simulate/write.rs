//! Writing simulated cases as JSON Lines, CSV or XES.

use std::collections::BTreeSet;
use std::io::Write;

use super::{SimCase, SimEvent};
use crate::log::Columns;

fn time(e: &SimEvent) -> String {
    e.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One JSON object per event: case, activity, time, actor, the event's attributes and
/// the case facts as `case:<fact>`.
pub fn jsonl(cases: &[SimCase], out: &mut dyn Write) -> std::io::Result<()> {
    jsonl_as(cases, &Columns::default(), out)
}

/// [`jsonl`] with the case, activity, time and actor in the given columns (a procedure's
/// `mapping`, so that `check` with that procedure reads the log back).
pub fn jsonl_as(cases: &[SimCase], cols: &Columns, out: &mut dyn Write) -> std::io::Result<()> {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    for c in cases {
        for e in &c.events {
            let mut line = format!(
                "{{{}:{},{}:{},{}:{},{}:{}",
                q(&cols.case),
                q(&c.id),
                q(&cols.activity),
                q(&e.activity),
                q(&cols.timestamp),
                q(&time(e)),
                q(&cols.actor),
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
    csv_as(cases, &Columns::default(), out)
}

/// [`csv`] with the case, activity, time and actor in the given columns.
pub fn csv_as(cases: &[SimCase], cols: &Columns, out: &mut dyn Write) -> std::io::Result<()> {
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
        cols.case.clone(),
        cols.activity.clone(),
        cols.timestamp.clone(),
        cols.actor.clone(),
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
    xes_as(cases, &Columns::default(), out)
}

/// [`xes`] with the activity, time and actor in the given event attributes (the case id
/// stays the trace's `concept:name`, as XES has it).
pub fn xes_as(cases: &[SimCase], cols: &Columns, out: &mut dyn Write) -> std::io::Result<()> {
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
            writeln!(out, "      {}", s(&cols.activity, &e.activity))?;
            writeln!(
                out,
                "      <date key=\"{}\" value=\"{}\"/>",
                esc(&cols.timestamp),
                esc(&time(e))
            )?;
            writeln!(out, "      {}", s(&cols.actor, &e.actor))?;
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
