//! Writers for `procedo check`: the human summary, CSV rows, JUnit XML and the JSON
//! document, from typed verdicts ([`crate::check::Verdict`]) and totals.

use crate::check::{RunStats, Summary, Verdict};

/// The header of the CSV output.
pub const CSV_HEADER: &str = "case_id,conforming,cost,fitness,events,deviations,codes";

/// One CSV row.
pub fn csv_row(v: &Verdict) -> String {
    let r = &v.result;
    let codes: Vec<&str> = r.findings.iter().map(|f| f.code.as_str()).collect();
    format!(
        "{},{},{},{},{},{},{}",
        csv_field(&r.case_id),
        r.conforming,
        r.cost.map_or(String::new(), |c| c.to_string()),
        r.fitness.map_or(String::new(), |f| format!("{f}")),
        r.events,
        r.findings.len(),
        codes.join(";")
    )
}

pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The summary object of the JSON output (version 1 fields, only added to).
pub fn summary_json(s: &Summary, stats: &RunStats) -> serde_json::Value {
    serde_json::json!({
        "cases": s.cases,
        "conforming": s.conforming,
        "mean_fitness": s.mean_fitness(),
        "deviations_by_code": s.by_code,
        "deviations_by_step": s.by_step,
        "events_read": stats.read.events_read,
        "events_checked": stats.read.events_in_cases - stats.read.events_collapsed.min(stats.read.events_in_cases),
        "events_rejected": stats.read.events_rejected,
        "events_set_aside": stats.events_set_aside,
        "events_collapsed": stats.read.events_collapsed,
        "running": s.running,
        "not_aligned": s.not_aligned,
        "obligations": s.obligations,
    })
}

/// The whole JSON document.
pub fn json(
    name: &str,
    s: &Summary,
    stats: &RunStats,
    warnings: &[String],
    cases: &[Verdict],
) -> String {
    let doc = serde_json::json!({
        "version": 1,
        "model": name,
        "summary": summary_json(s, stats),
        "warnings": warnings,
        "cases": cases,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// The human summary; with `verbose`, each non-conforming case's alignment first.
pub fn human(
    name: &str,
    results: &[Verdict],
    s: &Summary,
    stats: &RunStats,
    verbose: bool,
) -> String {
    let mut out = String::new();
    if verbose {
        for c in results.iter().filter(|c| !c.result.conforming) {
            let r = &c.result;
            out.push_str(&format!(
                "case {} — cost {}, fitness {:.4}\n",
                r.case_id,
                r.cost.map_or("-".into(), |c| c.to_string()),
                r.fitness.unwrap_or(0.0)
            ));
            let width = r
                .alignment
                .iter()
                .map(|(a, b)| a.chars().count().max(b.chars().count()))
                .collect::<Vec<_>>();
            let log: Vec<String> = r
                .alignment
                .iter()
                .zip(&width)
                .map(|((a, _), w)| format!("{a:w$}"))
                .collect();
            let model: Vec<String> = r
                .alignment
                .iter()
                .zip(&width)
                .map(|((_, b), w)| format!("{b:w$}"))
                .collect();
            out.push_str(&format!(
                "  log   | {}\n  model | {}\n",
                log.join(" | "),
                model.join(" | ")
            ));
            for f in &r.findings {
                out.push_str(&format!("  {}: {}\n", f.code, f.message));
            }
        }
    }
    out.push_str(&format!("checked against {name}\n"));
    match s.mean_fitness() {
        Some(mean) => out.push_str(&format!(
            "{} cases: {} conforming ({:.1}%), mean fitness {mean:.4}\n",
            s.cases,
            s.conforming,
            100.0 * s.conforming as f64 / s.cases as f64
        )),
        None if s.cases > 0 => out.push_str(&format!(
            "{} cases: {} conforming, none aligned\n",
            s.cases, s.conforming
        )),
        None => out.push_str("no cases were read\n"),
    }
    out.push_str(&format!(
        "{} events read = {} checked + {} rejected{}\n",
        stats.read.events_read,
        stats.read.events_in_cases - stats.read.events_collapsed.min(stats.read.events_in_cases),
        stats.read.events_rejected,
        collapsed_note(stats)
    ));
    if s.running > 0 {
        out.push_str(&format!("{} cases still running\n", s.running));
    }
    if s.not_aligned > 0 {
        out.push_str(&format!(
            "{} cases not aligned: the search reached its limit (--max-states, \
             --case-timeout); each is reported with the bounds of its optimal cost, no \
             verdict on them, and the result is incomplete (exit 2)\n",
            s.not_aligned
        ));
    }
    if !s.obligations.is_empty() {
        let parts: Vec<String> = s
            .obligations
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        out.push_str(&format!("obligations: {}\n", parts.join(", ")));
    }
    if !s.by_code.is_empty() {
        out.push_str("deviations by code:\n");
        for (c, n) in &s.by_code {
            out.push_str(&format!("  {c:26} {n}\n"));
        }
        let mut steps: Vec<(&String, &usize)> = s.by_step.iter().collect();
        steps.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        if !steps.is_empty() {
            out.push_str("deviations by step (top 10):\n");
        }
        for (st, n) in steps.iter().take(10) {
            out.push_str(&format!("  {st:32} {n}\n"));
        }
    }
    out
}

/// The closing line of the JSON Lines and CSV outputs (on stderr).
pub fn closing_line(s: &Summary, stats: &RunStats) -> String {
    format!(
        "{} cases: {} conforming; {} events read = {} checked + {} rejected{}",
        s.cases,
        s.conforming,
        stats.read.events_read,
        stats.read.events_in_cases - stats.read.events_collapsed.min(stats.read.events_in_cases),
        stats.read.events_rejected,
        collapsed_note(stats)
    )
}

/// ` + N collapsed (repeated states)` when `--collapse-repeats` removed any.
fn collapsed_note(stats: &RunStats) -> String {
    if stats.read.events_collapsed == 0 {
        String::new()
    } else {
        format!(
            " + {} collapsed (repeated states)",
            stats.read.events_collapsed
        )
    }
}

pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: one test case per case, a failure per non-conforming one.
pub fn junit(name: &str, results: &[Verdict]) -> String {
    let failures = results.iter().filter(|c| !c.result.conforming).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        xml_escape(name),
        results.len()
    );
    for c in results {
        let r = &c.result;
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml_escape(name),
            xml_escape(&r.case_id)
        ));
        if r.conforming {
            out.push_str("/>\n");
        } else {
            let text: Vec<String> = r
                .findings
                .iter()
                .map(|f| format!("{}: {}", f.code, f.message))
                .collect();
            out.push_str(&format!(
                ">\n      <failure message=\"{} deviations, cost {}\">{}</failure>\n    </testcase>\n",
                r.findings.len(),
                r.cost.map_or("-".into(), |c| c.to_string()),
                xml_escape(&text.join("\n"))
            ));
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
