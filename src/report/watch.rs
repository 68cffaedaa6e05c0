//! `watch`'s writers: an alert as a JSON Lines row or a human line, and the status.

use crate::watch::Alert;
use crate::watch::run::Status;

/// An alert as one JSON object (the `watch` alert schema in docs/watch.md).
pub fn alert_json(a: &Alert) -> String {
    serde_json::to_string(a).unwrap_or_default()
}

/// An alert as one line for a person at a console.
pub fn alert_human(a: &Alert) -> String {
    let line = a.line.map_or(String::new(), |l| format!(" (line {l})"));
    let step = if a.step.is_empty() {
        String::new()
    } else {
        format!(" `{}`{line}", a.step)
    };
    let actor = a
        .actor
        .as_ref()
        .map_or(String::new(), |x| format!(" [{x}]"));
    format!(
        "#{:<5} {}  {:<23} case {}{step}{actor}: {}",
        a.seq,
        a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        a.kind.as_str(),
        a.case,
        a.message
    )
}

/// The status for a person.
pub fn status_human(s: &Status) -> String {
    let mut out = String::new();
    let opt = |v: Option<u64>| v.map_or("unknown".to_string(), |v| v.to_string());
    out.push_str(&format!("procedure     {}\n", s.procedure));
    out.push_str(&format!("open cases    {}\n", s.open_cases));
    out.push_str(&format!("at risk       {} obligations\n", opt(s.at_risk)));
    out.push_str(&format!(
        "events        {} taken, {} rejected, {} late\n",
        s.events, s.rejected, s.late_events
    ));
    out.push_str(&format!(
        "alerts        {} raised; cases closed {}\n",
        s.alerts, s.cases_closed
    ));
    for (name, n) in &s.undelivered {
        out.push_str(&format!(
            "  {name:<10}  {n} not yet recorded as delivered\n"
        ));
    }
    out.push_str(&format!(
        "clock         {}\n",
        s.clock.map_or("not started".into(), |c| c.to_rfc3339())
    ));
    if let Some(c) = &s.committed {
        out.push_str(&format!("committed     {c}\n"));
    }
    if let Some(i) = &s.input {
        out.push_str(&format!(
            "input         {i} at {}{}\n",
            s.offset.unwrap_or(0),
            s.behind_bytes
                .map_or(String::new(), |b| format!(" ({b} bytes behind)"))
        ));
    }
    out
}
