//! The human form of a log's profile (`procedo inspect`); the JSON form is the
//! [`Profile`](crate::inspect::Profile) serialised.

use crate::inspect::Profile;

/// The profile as text: what was read, how, and what each perspective can rest on.
pub fn human(p: &Profile) -> String {
    let mut out = String::new();
    out.push_str(&format!("log {}\n", p.logs.join(", ")));
    if let Some(proc_id) = &p.procedure {
        out.push_str(&format!("read for {proc_id}\n"));
    }
    for (_, e) in &p.unreadable {
        out.push_str(&format!("  unreadable: {e}\n"));
    }
    out.push_str(&format!(
        "{} cases, {} events ({} rejected)\n",
        p.cases, p.events, p.rejected
    ));
    if !p.columns.is_empty() {
        out.push_str(&format!("columns: {}\n", p.columns.join(", ")));
    }
    out.push_str("fields:\n");
    for c in &p.chosen {
        out.push_str(&format!(
            "  {:10} {:28} ({}; on {} events)\n",
            c.field, c.column, c.source, c.events
        ));
    }
    let t = &p.times;
    out.push_str(&format!(
        "times: {} with a time, {} without; format {}; zone-less times {}\n",
        t.with_time,
        t.without_time,
        t.format.as_deref().unwrap_or("RFC 3339 / ISO"),
        match (&t.zone, t.assume_utc) {
            (Some(z), _) => format!("in {z}"),
            (None, true) => format!("assumed UTC ({} read so)", t.assumed_utc),
            (None, false) => "refused (no zone declared)".to_string(),
        }
    ));
    if let (Some(a), Some(b)) = (&t.first, &t.last) {
        out.push_str(&format!("span: {a} to {b}\n"));
    }
    if !p.labels.is_empty() {
        out.push_str("activity labels:\n");
        let width = p
            .labels
            .iter()
            .map(|l| l.label.chars().count())
            .max()
            .unwrap_or(0)
            .min(40);
        for l in &p.labels {
            let to = match (&l.step, l.how) {
                (Some(s), "step name") => format!("step `{s}`"),
                (Some(s), "recorded event") => format!("`{s}` (recorded event, not control flow)"),
                (Some(s), _) => format!("step `{s}` (mapping)"),
                (None, "ignored") => "ignored (mapping)".to_string(),
                (None, "acknowledgement or escalation") => {
                    "acknowledgement or escalation (set aside from control flow)".to_string()
                }
                (None, _) => match &l.did_you_mean {
                    Some(d) => format!("UNMAPPED (did you mean `{d}`?)"),
                    None => "UNMAPPED".to_string(),
                },
            };
            out.push_str(&format!("  {:width$} {:>8}  -> {to}\n", l.label, l.events));
        }
        let unmapped: usize = p
            .labels
            .iter()
            .filter(|l| l.how == "unmapped")
            .map(|l| l.events)
            .sum();
        if unmapped > 0 && p.procedure.is_some() {
            out.push_str(&format!(
                "  {unmapped} events carry unmapped labels: they would read as unexpected steps\n"
            ));
        }
    }
    if !p.perspectives.is_empty() {
        out.push_str("perspectives:\n");
        for r in &p.perspectives {
            out.push_str(&format!(
                "  {:14} {}  {}\n",
                r.perspective,
                if r.ready { "ready  " } else { "NOT READY" },
                r.why
            ));
        }
    }
    out
}
