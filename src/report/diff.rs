//! `diff` output formats: human, Markdown (a pull-request comment), JSON (versioned),
//! GitHub workflow annotations and SARIF 2.1.0, on the new version's changed lines.
//! Everything comes from the typed [`Report`]; nothing here judges a case.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use super::relative_path;
use crate::diff::{
    Comparison, FlipGroup, History, Incidents, LevelSummary, ObligationChange, ProcedureChange,
    Report,
};

fn line(l: Option<usize>) -> String {
    l.map_or("-".into(), |l| l.to_string())
}

fn examples(xs: &[String]) -> String {
    if xs.is_empty() {
        String::new()
    } else {
        format!(", e.g. {}", xs.join(", "))
    }
}

fn pct(n: usize, total: usize) -> String {
    if total == 0 {
        "0%".into()
    } else {
        format!("{:.1}%", n as f64 * 100.0 / total as f64)
    }
}

fn level(x: &Option<String>) -> &str {
    x.as_deref().unwrap_or("(none)")
}

fn shift(l: Option<i64>) -> String {
    match l {
        Some(0) | None => String::new(),
        Some(n) if n > 0 => format!(" (up {n})"),
        Some(n) => format!(" (down {})", -n),
    }
}

// ---------------------------------------------------------------- human

/// The human report.
pub fn human(r: &Report) -> String {
    let mut out = String::new();
    for c in &r.procedures {
        human_one(&mut out, c);
    }
    for u in &r.unpaired {
        let _ = writeln!(
            out,
            "{}: procedure {} (nothing to compare)\n",
            u.path, u.status
        );
    }
    let t = &r.totals;
    if r.procedures.len() > 1 {
        let _ = writeln!(
            out,
            "{} procedures compared: {} changes ({} breaking), {} of {} cases flip",
            r.procedures.len(),
            t.changes,
            t.breaking,
            t.flips,
            t.cases
        );
    }
    if r.gate_failures.is_empty() {
        if !r.gates.is_empty() {
            let _ = writeln!(out, "gates passed: {}", r.gates.join(", "));
        }
    } else {
        for g in &r.gate_failures {
            let _ = writeln!(out, "gate failed: {g}");
        }
    }
    out
}

fn human_one(out: &mut String, c: &Comparison) {
    let _ = writeln!(out, "{} → {} ({})", c.old, c.new, c.procedure);
    if c.changes.is_empty() {
        out.push_str("  no change in meaning (layout, comments or docs only)\n");
    } else {
        let _ = writeln!(out, "  {} changes (line old → new):", c.changes.len());
        for ch in &c.changes {
            let _ = writeln!(
                out,
                "    {:>4} → {:<4} {:<22} {}: {}{}",
                line(ch.old_line),
                line(ch.new_line),
                ch.kind.as_str(),
                ch.subject,
                ch.description,
                if ch.breaking { " [breaking]" } else { "" }
            );
        }
    }
    if !c.uses_changed.is_empty() {
        let _ = writeln!(
            out,
            "  files it uses changed: {} (their changes are listed under them)",
            c.uses_changed.join(", ")
        );
    }
    if let Some(h) = &c.history {
        human_history(out, h, &c.changes);
    }
    if let Some(i) = &c.incidents {
        human_incidents(out, i);
    }
    out.push('\n');
}

fn human_history(out: &mut String, h: &History, changes: &[ProcedureChange]) {
    let _ = writeln!(
        out,
        "  history: {} cases checked under both versions ({})",
        h.cases,
        h.logs.join(", ")
    );
    if h.same_net {
        out.push_str("    the two versions have the same net: control flow cannot differ\n");
    }
    if h.not_aligned > 0 {
        let _ = writeln!(
            out,
            "    {} cases not aligned within --max-states under a version: not compared",
            h.not_aligned
        );
    }
    if !h.read_once {
        let _ = writeln!(
            out,
            "    the versions read the logs differently: each read them on its own, cases \
             matched by id; {} cases read under one version only, not compared",
            h.not_comparable - h.not_aligned
        );
        for n in h.not_comparable_examples.iter().take(10) {
            let _ = writeln!(out, "      not comparable: {}: {}", n.id, n.reason);
        }
    }
    let _ = writeln!(
        out,
        "    conforming: {} → {} ({} → {})",
        h.conforming_old,
        h.conforming_new,
        pct(h.conforming_old, h.cases),
        pct(h.conforming_new, h.cases)
    );
    let _ = writeln!(
        out,
        "    verdict flips: {} ({} to non-conforming, {} to conforming)",
        h.flips.len(),
        h.to_non_conforming(),
        h.to_conforming()
    );
    for g in &h.flip_groups {
        let _ = writeln!(out, "      {}", flip_group_text(g, changes));
    }
    for o in &h.obligations {
        let _ = writeln!(out, "    {}", obligation_text(o, changes));
    }
    human_levels(out, "priority", &h.priority_summary);
    human_levels(out, "validity", &h.validity_summary);
    if h.rejected > 0 {
        let _ = writeln!(
            out,
            "    {} records of the logs were rejected and are in neither version's count",
            h.rejected
        );
    }
    for (p, e) in &h.unreadable {
        let _ = writeln!(out, "    not read: {p}: {e}");
    }
}

/// The changes a group rests on, in words: "from limit-tightened (line 54)".
fn from(ix: &[usize], changes: &[ProcedureChange]) -> String {
    let xs: Vec<String> = ix
        .iter()
        .filter_map(|&i| changes.get(i))
        .map(|c| match c.new_line.or(c.old_line) {
            Some(l) => format!("{} (line {l})", c.kind.as_str()),
            None => c.kind.as_str(),
        })
        .collect();
    let mut xs = xs;
    xs.dedup();
    if xs.is_empty() {
        String::new()
    } else {
        format!("; from {}", xs.join(", "))
    }
}

fn flip_group_text(g: &FlipGroup, changes: &[ProcedureChange]) -> String {
    let dir = if g.direction == "to-conforming" {
        "to conforming"
    } else {
        "to non-conforming"
    };
    let at = if g.step.is_empty() {
        String::new()
    } else {
        format!(" at `{}`", g.step)
    };
    format!(
        "{dir}: `{}`{at} (new line {}{}): {} cases{}",
        g.code,
        line(g.new_line),
        from(&g.changes, changes),
        g.cases,
        examples(&g.examples)
    )
}

fn obligation_text(o: &ObligationChange, changes: &[ProcedureChange]) -> String {
    format!(
        "{} {} `{}` ({}; new line {}{}): {} cases{}",
        o.change.replace('-', " "),
        o.kind,
        o.step,
        o.criterion,
        line(o.new_line),
        from(&o.changes, changes),
        o.cases,
        examples(&o.examples)
    )
}

fn human_levels(out: &mut String, what: &str, s: &LevelSummary) {
    if s.changed == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "    {what}: {} change ({} up, {} down{})",
        s.changed,
        s.up,
        s.down,
        if s.other > 0 {
            format!(", {} other", s.other)
        } else {
            String::new()
        }
    );
    for g in &s.by_level {
        let _ = writeln!(
            out,
            "      {} → {}{}: {}{}",
            level(&g.old),
            level(&g.new),
            shift(g.levels),
            g.cases,
            examples(&g.examples)
        );
    }
}

fn human_incidents(out: &mut String, i: &Incidents) {
    let _ = writeln!(
        out,
        "  incidents: {} read, {} assessed under both versions, {} not comparable ({})",
        i.read,
        i.compared,
        i.not_comparable,
        i.files.join(", ")
    );
    for n in i.not_comparable_examples.iter().take(10) {
        let _ = writeln!(
            out,
            "    not comparable: {} ({}): {}",
            n.id, n.location, n.reason
        );
    }
    human_levels(out, "priority", &i.priority_summary);
    human_levels(out, "validity", &i.validity_summary);
    for (p, e) in &i.unreadable {
        let _ = writeln!(out, "    not read: {p}: {e}");
    }
}

// ---------------------------------------------------------------- markdown

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A Markdown report for a pull-request comment.
pub fn markdown(r: &Report) -> String {
    let mut out = String::from("## procedo diff\n\n");
    let t = &r.totals;
    if r.gate_failures.is_empty() {
        let _ = writeln!(
            out,
            "**{} changes** ({} breaking); **{} of {} cases flip** verdict; {} priority changes.\n",
            t.changes, t.breaking, t.flips, t.cases, t.priority_changes
        );
    } else {
        out.push_str("**Gate failed:**\n\n");
        for g in &r.gate_failures {
            let _ = writeln!(out, "- {}", md(g));
        }
        out.push('\n');
    }
    for c in &r.procedures {
        let _ = writeln!(out, "### `{}`\n", md(&c.new));
        if c.changes.is_empty() {
            out.push_str("No change in meaning (layout, comments or docs only).\n\n");
        } else {
            out.push_str("| change | what | old line | new line | description |\n");
            out.push_str("|---|---|---|---|---|\n");
            for ch in &c.changes {
                let _ = writeln!(
                    out,
                    "| `{}`{} | {} | {} | {} | {} |",
                    ch.kind.as_str(),
                    if ch.breaking { " **breaking**" } else { "" },
                    md(&ch.subject),
                    line(ch.old_line),
                    line(ch.new_line),
                    md(&ch.description)
                );
            }
            out.push('\n');
        }
        if !c.uses_changed.is_empty() {
            let _ = writeln!(
                out,
                "Files it uses changed: {}.\n",
                md(&c.uses_changed.join(", "))
            );
        }
        if let Some(h) = &c.history {
            let _ = writeln!(
                out,
                "**History** ({} cases): conforming {} → {}; **{} flips** ({} to non-conforming, \
                 {} to conforming).\n",
                h.cases,
                h.conforming_old,
                h.conforming_new,
                h.flips.len(),
                h.to_non_conforming(),
                h.to_conforming()
            );
            if !h.read_once {
                let _ = writeln!(
                    out,
                    "The versions read the logs differently: each read them on its own, cases \
                     matched by id; **{} cases not comparable**.\n",
                    h.not_comparable
                );
            }
            if !h.flip_groups.is_empty() {
                out.push_str("| flip | code | step | new line | from | cases | examples |\n");
                out.push_str("|---|---|---|---|---|---|---|\n");
                for g in &h.flip_groups {
                    let _ = writeln!(
                        out,
                        "| {} | `{}` | `{}` | {} | {} | {} | {} |",
                        g.direction,
                        g.code,
                        md(&g.step),
                        line(g.new_line),
                        md(from(&g.changes, &c.changes).trim_start_matches("; from ")),
                        g.cases,
                        md(&g.examples.join(", "))
                    );
                }
                out.push('\n');
            }
            if !h.obligations.is_empty() {
                out.push_str(
                    "| obligation | kind | step | criterion | new line | cases | examples |\n",
                );
                out.push_str("|---|---|---|---|---|---|---|\n");
                for o in &h.obligations {
                    let _ = writeln!(
                        out,
                        "| {} | {} | `{}` | {} | {} | {} | {} |",
                        o.change,
                        o.kind,
                        md(&o.step),
                        md(&o.criterion),
                        line(o.new_line),
                        o.cases,
                        md(&o.examples.join(", "))
                    );
                }
                out.push('\n');
            }
            md_levels(&mut out, "Priority", &h.priority_summary);
            md_levels(&mut out, "Validity", &h.validity_summary);
        }
        if let Some(i) = &c.incidents {
            let _ = writeln!(
                out,
                "**Incidents**: {} assessed under both versions, {} not comparable.\n",
                i.compared, i.not_comparable
            );
            md_levels(&mut out, "Priority", &i.priority_summary);
            md_levels(&mut out, "Validity", &i.validity_summary);
        }
    }
    for u in &r.unpaired {
        let _ = writeln!(out, "- `{}`: procedure {}", md(&u.path), u.status);
    }
    out
}

fn md_levels(out: &mut String, what: &str, s: &LevelSummary) {
    if s.changed == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "{what}: {} change ({} up, {} down).\n\n| old | new | levels | cases | examples |\n|---|---|---|---|---|",
        s.changed, s.up, s.down
    );
    for g in &s.by_level {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            level(&g.old),
            level(&g.new),
            g.levels.map_or("-".into(), |l| format!("{l:+}")),
            g.cases,
            md(&g.examples.join(", "))
        );
    }
    out.push('\n');
}

// ---------------------------------------------------------------- json

/// The JSON document (`"version": 1`, see docs/diff.md).
pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default()
}

// ---------------------------------------------------------------- github

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One annotation per change (a notice on the new line) and per group of flips or
/// newly violated obligations (a warning on the new line behind them).
pub fn github(r: &Report, base: &Path) -> String {
    let mut out = String::new();
    for a in annotations(r) {
        let file = relative_path(&a.file, base);
        let mut props = vec![format!("file={}", escape_property(&file))];
        if let Some(l) = a.line {
            props.push(format!("line={l}"));
        }
        props.push(format!("title={}", escape_property(&a.title)));
        let _ = writeln!(
            out,
            "::{} {}::{}",
            a.level,
            props.join(","),
            escape_data(&a.message)
        );
    }
    for g in &r.gate_failures {
        let _ = writeln!(out, "::error title=procedo diff gate::{}", escape_data(g));
    }
    out
}

/// One thing to show on a line of the new version.
struct Annotation {
    /// `notice`, `warning`.
    level: &'static str,
    rule: String,
    file: String,
    line: Option<usize>,
    title: String,
    message: String,
}

fn annotations(r: &Report) -> Vec<Annotation> {
    let mut out = Vec::new();
    for c in &r.procedures {
        for ch in &c.changes {
            out.push(change_annotation(c, ch));
        }
        if let Some(h) = &c.history {
            for g in &h.flip_groups {
                out.push(Annotation {
                    level: "warning",
                    rule: "verdict-flip".into(),
                    file: c.new.clone(),
                    line: g.new_line,
                    title: format!("procedo diff: {} cases flip", g.cases),
                    message: flip_group_text(g, &c.changes),
                });
            }
            for o in h
                .obligations
                .iter()
                .filter(|o| o.change == "newly-violated")
            {
                out.push(Annotation {
                    level: "warning",
                    rule: "newly-violated".into(),
                    file: c.new.clone(),
                    line: o.new_line,
                    title: format!("procedo diff: {} obligations newly violated", o.cases),
                    message: obligation_text(o, &c.changes),
                });
            }
        }
    }
    out
}

fn change_annotation(c: &Comparison, ch: &ProcedureChange) -> Annotation {
    let old = ch
        .old_line
        .map_or(String::new(), |l| format!(" (line {l} of {})", c.old));
    Annotation {
        level: if ch.breaking { "warning" } else { "notice" },
        rule: ch.kind.as_str(),
        file: c.new.clone(),
        line: ch.new_line,
        title: format!("procedo diff: {}", ch.kind.as_str()),
        message: format!("{}: {}{old}", ch.subject, ch.description),
    }
}

// ---------------------------------------------------------------- sarif

/// SARIF 2.1.0: one result per change and per group of flips or newly violated
/// obligations, located on the new version's line; paths relative to `base`.
pub fn sarif(r: &Report, base: &Path) -> String {
    let anns = annotations(r);
    let mut rules: Vec<String> = anns.iter().map(|a| a.rule.clone()).collect();
    rules.sort();
    rules.dedup();
    let results: Vec<serde_json::Value> = anns
        .iter()
        .map(|a| {
            let mut physical = json!({
                "artifactLocation": {
                    "uri": relative_path(&a.file, base),
                    "uriBaseId": "%SRCROOT%"
                }
            });
            if let Some(l) = a.line {
                physical["region"] = json!({ "startLine": l });
            }
            json!({
                "ruleId": a.rule,
                "ruleIndex": rules.iter().position(|x| *x == a.rule).unwrap_or(0),
                "level": if a.level == "notice" { "note" } else { "warning" },
                "message": { "text": a.message },
                "locations": [{ "physicalLocation": physical }]
            })
        })
        .collect();
    let rule_objects: Vec<serde_json::Value> = rules
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "name": id,
                "shortDescription": { "text": format!("procedo diff: {id}") },
                "helpUri": "https://github.com/procedo/procedo/blob/main/docs/diff.md"
            })
        })
        .collect();
    let doc = json!({
        "$schema": super::sarif::SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "procedo-diff",
                "informationUri": "https://github.com/procedo/procedo/blob/main/docs/diff.md",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rule_objects
            }},
            "results": results
        }]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
