//! Writers for `procedo review`: the human summary, JSON, one CSV row per finding,
//! Markdown for a team meeting, and a single-file HTML report (inline CSS and SVG, no
//! script, no network) from the typed [`Review`].

use std::fmt::Write as _;

use crate::review::stats::{Z95, Z998, funnel};
use crate::review::{FindingRow, Group, PlanResult, Rate, Review};

/// The header of the findings CSV.
pub const CSV_HEADER: &str = "case_id,code,criterion,step,actor,team,time";

/// A CSV field, quoted when needed; a leading `=`, `+`, `-` or `@` is neutralised so a
/// spreadsheet never reads a log's text as a formula.
fn field(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        super::check::csv_field(&format!("'{s}"))
    } else {
        super::check::csv_field(s)
    }
}

/// One finding as a CSV row.
pub fn csv_row(r: &FindingRow<'_>) -> String {
    [
        field(r.case_id),
        field(r.code),
        field(&r.criterion),
        field(r.step),
        field(r.actor.unwrap_or("")),
        field(r.team.as_deref().unwrap_or("")),
        field(r.time.unwrap_or("")),
    ]
    .join(",")
}

/// The review as JSON (version 1; fields are only ever added).
pub fn json(r: &Review) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default()
}

fn pct(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{:.1}%", x * 100.0))
}

fn ci(r: &Rate) -> String {
    format!("{:.1}–{:.1}%", r.ci[0] * 100.0, r.ci[1] * 100.0)
}

fn flag_word(g: &Group) -> &'static str {
    match (g.flag, g.small, g.alert) {
        (Some("above"), _, _) => "ABOVE",
        (Some(_), _, _) => "below",
        (None, true, _) => "(n too small)",
        (None, false, true) => "alert (95%)",
        _ => "",
    }
}

/// A group's cells: key, cases, opportunities, deviations, rate, interval, expected, flag.
fn group_cells(g: &Group) -> [String; 8] {
    [
        g.key.clone(),
        g.cases.to_string(),
        g.rate.opportunities.to_string(),
        g.rate.deviations.to_string(),
        pct(g.rate.rate),
        ci(&g.rate),
        pct(g.expected),
        flag_word(g).to_string(),
    ]
}

/// Whether the plan's target was met, in a word.
fn met_word(p: &PlanResult) -> &'static str {
    match p.target_met {
        Some(true) => "yes",
        Some(false) => "no",
        None => "–",
    }
}

/// An agreement's cells: who, support, start, before, after, target, met, change.
fn plan_cells(p: &PlanResult) -> [String; 8] {
    [
        p.who.clone(),
        p.kind.clone(),
        p.start.clone(),
        format!("{} (n {})", pct(p.before.rate), p.before.opportunities),
        format!("{} (n {})", pct(p.after.rate), p.after.opportunities),
        pct(Some(p.target)),
        met_word(p).to_string(),
        p.change.to_string(),
    ]
}

/// A Markdown table row.
fn md_row(cells: &[String]) -> String {
    let cells: Vec<String> = cells.iter().map(|c| md(c)).collect();
    format!("| {} |", cells.join(" | "))
}

/// An HTML table row's cells; `numeric` marks the right-aligned ones.
fn html_cells(cells: &[String], numeric: &[usize]) -> String {
    cells
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if numeric.contains(&i) {
                format!("<td class=\"n\">{}</td>", esc(c))
            } else {
                format!("<td>{}</td>", esc(c))
            }
        })
        .collect()
}

/// The terminal summary.
pub fn human(r: &Review) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "review of {} cases under {}: {} deviations in {} opportunities, {} ({} 95% CI)",
        r.cases,
        r.procedure,
        r.overall.deviations,
        r.overall.opportunities,
        pct(r.overall.rate),
        ci(&r.overall)
    );
    if !r.by.is_empty() {
        let _ = writeln!(
            out,
            "\nby {} (flagged outside the 99.8% funnel limits; none below n = {}):",
            r.by.join(" × "),
            r.min_opportunities
        );
        let w = r
            .groups
            .iter()
            .map(|g| g.key.chars().count())
            .max()
            .unwrap_or(5)
            .max(5);
        let _ = writeln!(
            out,
            "  {:<w$}  {:>6}  {:>6}  {:>5}  {:>7}  {:>13}  {:>8}  flag",
            "group", "cases", "opps", "devs", "rate", "95% CI", "expected"
        );
        for g in r.groups.iter().filter(|g| !g.small) {
            let [key, cases, n, d, rate, ci, expected, flag] = group_cells(g);
            let _ = writeln!(
                out,
                "  {key:<w$}  {cases:>6}  {n:>6}  {d:>5}  {rate:>7}  {ci:>13}  {expected:>8}  {flag}"
            );
        }
        small_groups(&mut out, r, "  ");
        if r.overdispersion > 1.0 {
            let _ = writeln!(out, "  {}", spread_note(r));
        }
    }
    let _ = writeln!(out, "\ncriteria (highest rate first):");
    let mut crit: Vec<_> = r.criteria.iter().collect();
    crit.sort_by(|a, b| {
        b.rate
            .rate
            .unwrap_or(0.0)
            .total_cmp(&a.rate.rate.unwrap_or(0.0))
    });
    for c in crit.iter().take(15) {
        let _ = writeln!(
            out,
            "  {:>7} ({:>5}/{:<5}) {}{} — {}{}",
            pct(c.rate.rate),
            c.rate.deviations,
            c.rate.opportunities,
            c.criterion.id,
            c.criterion
                .line
                .map_or(String::new(), |l| format!(" [line {l}]")),
            c.criterion.area,
            if c.systemic { "  SYSTEMIC" } else { "" }
        );
    }
    if crit.len() > 15 {
        let _ = writeln!(
            out,
            "  … and {} more (--format json lists all)",
            crit.len() - 15
        );
    }
    if !r.systemic.is_empty() {
        let _ = writeln!(
            out,
            "\nsystemic (a matter for the procedure, not individuals):"
        );
        for s in &r.systemic {
            let _ = writeln!(out, "  {} at {}: {}", s.criterion, pct(s.rate.rate), s.why);
            let _ = writeln!(out, "    action: {}", s.action);
        }
    }
    if !r.support.is_empty() {
        let _ = writeln!(out, "\nsupport to agree with colleagues:");
        for n in &r.support {
            let _ = writeln!(out, "  {} ({} cases): {}", n.who, n.cases, n.kind);
            for a in &n.areas {
                let _ = writeln!(
                    out,
                    "    {}: {} ({}/{}) against {} expected — {} [{}]",
                    a.area,
                    pct(a.rate.rate),
                    a.rate.deviations,
                    a.rate.opportunities,
                    pct(a.expected),
                    a.kind,
                    a.rule
                );
            }
            let _ = writeln!(out, "    evidence: {}", n.evidence.join(", "));
        }
    }
    if !r.recognition.is_empty() {
        let _ = writeln!(out, "\nrecognition (below expected):");
        for g in &r.recognition {
            let _ = writeln!(
                out,
                "  {}: {} against {} expected",
                g.key,
                pct(g.rate.rate),
                pct(g.expected)
            );
        }
    }
    if !r.plan.is_empty() {
        let _ = writeln!(out, "\nsupport plan:");
        for p in &r.plan {
            let _ = writeln!(
                out,
                "  {} ({}, from {}): before {} (n {}), after {} (n {}); target {} {}; {}",
                p.who,
                p.kind,
                p.start,
                pct(p.before.rate),
                p.before.opportunities,
                pct(p.after.rate),
                p.after.opportunities,
                pct(Some(p.target)),
                match p.target_met {
                    Some(true) if p.confident => "met (confidently)",
                    Some(true) => "met",
                    Some(false) => "not met",
                    None => "not yet measurable",
                },
                p.change
            );
        }
    }
    notes(&mut out, r, "");
    out
}

/// The groups vary more than chance would make them.
fn spread_note(r: &Review) -> String {
    format!(
        "the groups vary more than chance alone would make them (overdispersion φ = {:.2}): \
         the limits are widened by √φ = {:.2}, so only groups beyond that spread are flagged",
        r.overdispersion,
        r.overdispersion.sqrt()
    )
}

/// Groups below the minimum n: counted, not listed (the JSON lists them).
fn small_groups(out: &mut String, r: &Review, lead: &str) {
    let small: Vec<&Group> = r.groups.iter().filter(|g| g.small).collect();
    if small.is_empty() {
        return;
    }
    let n: u64 = small.iter().map(|g| g.rate.opportunities).sum();
    let d: u64 = small.iter().map(|g| g.rate.deviations).sum();
    let _ = writeln!(
        out,
        "{lead}{} more groups have fewer than {} opportunities each ({d} deviations in {n} \
         opportunities together): not ranked; --format json lists them",
        small.len(),
        r.min_opportunities
    );
}

/// What was not judged or sits at no criterion: always said.
fn notes(out: &mut String, r: &Review, bullet: &str) {
    let nj: Vec<String> = r
        .not_judged
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    if !nj.is_empty() {
        let _ = writeln!(
            out,
            "\n{bullet}not judged (no opportunity): {}",
            nj.join(", ")
        );
    }
    if !r.outside_criteria.is_empty() {
        let xs: Vec<String> = r
            .outside_criteria
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        let _ = writeln!(
            out,
            "{bullet}findings at no criterion (counted, not rated): {}",
            xs.join(", ")
        );
    }
    for (by, n) in &r.without_column {
        let _ = writeln!(
            out,
            "{bullet}{n} of {} opportunities have no value for `--by {by}` (grouped as `(none)`)",
            r.overall.opportunities
        );
    }
    if r.unattributed > 0 {
        let _ = writeln!(
            out,
            "{bullet}{} opportunities have no actor (grouped as `(unattributed)`)",
            r.unattributed
        );
    }
    if r.undated > 0 {
        let _ = writeln!(
            out,
            "{bullet}{} plan opportunities are in cases without times (neither before nor after)",
            r.undated
        );
    }
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Markdown for a team meeting.
pub fn markdown(r: &Review) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Review: {}\n", md(&r.procedure));
    let _ = writeln!(
        out,
        "**{}** cases, **{}** deviations in **{}** opportunities: **{}** (95% CI {}).\n",
        r.cases,
        r.overall.deviations,
        r.overall.opportunities,
        pct(r.overall.rate),
        ci(&r.overall)
    );
    if !r.by.is_empty() {
        let _ = writeln!(out, "## By {}\n", md(&r.by.join(" × ")));
        let _ = writeln!(
            out,
            "Flagged outside the 99.8% funnel limits around what each group's own mix of \
             criteria leads one to expect; no group below {} opportunities is ranked.\n",
            r.min_opportunities
        );
        let _ = writeln!(
            out,
            "| group | cases | opportunities | deviations | rate | 95% CI | expected | flag |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---|---:|---|");
        for g in r.groups.iter().filter(|g| !g.small) {
            let _ = writeln!(out, "{}", md_row(&group_cells(g)));
        }
        small_groups(&mut out, r, "\n");
        if r.overdispersion > 1.0 {
            let _ = writeln!(out, "\n{}", spread_note(r));
        }
        out.push('\n');
    }
    if !r.systemic.is_empty() {
        let _ = writeln!(out, "## Systemic: for the procedure's owner\n");
        for s in &r.systemic {
            let _ = writeln!(
                out,
                "- **{}** ({}): {}. *Action:* {}",
                md(&s.criterion),
                pct(s.rate.rate),
                md(&s.why),
                md(&s.action)
            );
        }
        out.push('\n');
    }
    if !r.support.is_empty() {
        let _ = writeln!(out, "## Support to agree with colleagues\n");
        for n in &r.support {
            let _ = writeln!(
                out,
                "- **{}** ({} cases) — suggested: *{}*",
                md(&n.who),
                n.cases,
                md(&n.kind)
            );
            for a in &n.areas {
                let _ = writeln!(
                    out,
                    "  - {}: {} ({}/{}) against {} expected; {} ({})",
                    md(&a.area),
                    pct(a.rate.rate),
                    a.rate.deviations,
                    a.rate.opportunities,
                    pct(a.expected),
                    md(&a.kind),
                    md(&a.rule)
                );
            }
            let _ = writeln!(out, "  - evidence: {}", md(&n.evidence.join(", ")));
        }
        out.push('\n');
    }
    if !r.plan.is_empty() {
        let _ = writeln!(out, "## Support plan: before and after\n");
        let _ = writeln!(
            out,
            "| who | support | start | before | after | target | met | change |"
        );
        let _ = writeln!(out, "|---|---|---|---:|---:|---:|---|---|");
        for p in &r.plan {
            let _ = writeln!(out, "{}", md_row(&plan_cells(p)));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Criteria\n");
    let _ = writeln!(
        out,
        "| criterion | area | line | opportunities | deviations | rate | 95% CI |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---|");
    for c in &r.criteria {
        let _ = writeln!(
            out,
            "| {}{} | {} | {} | {} | {} | {} | {} |",
            md(&c.criterion.id),
            if c.systemic { " (systemic)" } else { "" },
            md(&c.criterion.area),
            c.criterion.line.map_or("".into(), |l| l.to_string()),
            c.rate.opportunities,
            c.rate.deviations,
            pct(c.rate.rate),
            ci(&c.rate)
        );
    }
    if !r.worst_cases.is_empty() {
        let _ = writeln!(out, "\n## Cases with most deviations\n");
        for w in &r.worst_cases {
            let _ = writeln!(
                out,
                "- `{}`: {} deviations ({}) — `procedo explain … --case {}`",
                md(&w.case_id),
                w.deviations,
                md(&w.codes.join(", ")),
                md(&w.case_id)
            );
        }
    }
    notes(&mut out, r, "- ");
    out
}

use super::check::xml_escape as esc;

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:72rem;color:#1a1a1a;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.headline{display:flex;gap:2rem;flex-wrap:wrap}.headline div{border:1px solid #bbb;padding:.6rem 1rem}
.headline b{display:block;font-size:1.5rem}
.flag-above{font-weight:bold}.flag-above::before{content:'▲ '}.flag-below::before{content:'▼ '}
.heat td{text-align:center;min-width:2.6rem;font-size:.8rem}
svg text{font-family:inherit;font-size:11px}
.note{color:#444;font-size:.9rem}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}table,svg{break-inside:avoid}.noprint{display:none}}
";

/// A cell's shade: white to dark grey by rate (the number is always printed too, so the
/// map reads without colour).
fn shade(rate: f64) -> String {
    let v = (255.0 - (rate.clamp(0.0, 1.0).sqrt() * 200.0)) as u8;
    let fg = if v < 140 { "#fff" } else { "#000" };
    format!("background:rgb({v},{v},{v});color:{fg}")
}

fn trend_svg(r: &Review) -> String {
    let pts: Vec<(&str, f64, u64)> = r
        .trend
        .iter()
        .filter(|p| p.key.is_empty() && p.period != "(no time)")
        .filter_map(|p| Some((p.period.as_str(), p.rate.rate?, p.rate.opportunities)))
        .collect();
    if pts.is_empty() {
        return "<p class=\"note\">No times: no trend.</p>".into();
    }
    let (w, h, pad) = (640.0, 220.0, 40.0);
    let max = pts.iter().map(|p| p.1).fold(0.0f64, f64::max).max(0.01) * 1.15;
    let x = |i: usize| pad + (w - 2.0 * pad) * (i as f64 + 0.5) / pts.len() as f64;
    let y = |v: f64| h - pad - (h - 2.0 * pad) * v / max;
    let mut s = format!(
        "<svg role=\"img\" aria-label=\"Deviation rate per week\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">"
    );
    let _ = write!(
        s,
        "<line x1=\"{pad}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#000\"/><line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{0}\" stroke=\"#000\"/>",
        h - pad,
        w - pad
    );
    let _ = write!(
        s,
        "<text x=\"4\" y=\"{}\">{:.0}%</text><text x=\"4\" y=\"{}\">0%</text>",
        pad,
        max * 100.0,
        h - pad
    );
    let path: Vec<String> = pts
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.1)))
        .collect();
    let _ = write!(
        s,
        "<polyline fill=\"none\" stroke=\"#000\" stroke-width=\"2\" points=\"{}\"/>",
        path.join(" ")
    );
    let every = pts.len().div_ceil(10).max(1);
    for (i, p) in pts.iter().enumerate() {
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{}: {:.1}% of {}</title></circle>",
            x(i),
            y(p.1),
            esc(p.0),
            p.1 * 100.0,
            p.2
        );
        if i % every == 0 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x(i),
                h - pad + 14.0,
                esc(p.0)
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn funnel_svg(r: &Review) -> String {
    let groups: Vec<&Group> = r
        .groups
        .iter()
        .filter(|g| g.rate.opportunities > 0 && !g.small)
        .collect();
    let Some(p0) = r.overall.rate else {
        return String::new();
    };
    if groups.is_empty() || r.by.is_empty() {
        return String::new();
    }
    let (w, h, pad) = (640.0, 300.0, 45.0);
    let nmax = groups
        .iter()
        .map(|g| g.rate.opportunities)
        .max()
        .unwrap_or(1) as f64
        * 1.05;
    let ymax = groups
        .iter()
        .filter_map(|g| g.rate.rate)
        .fold(p0 * 2.0, f64::max)
        .clamp(0.01, 1.0)
        * 1.1;
    // Opportunities on a log scale: caseloads span orders of magnitude.
    let lmax = nmax.max(2.0).ln();
    let x = |n: f64| pad + (w - 2.0 * pad) * n.max(1.0).ln() / lmax;
    let y = |v: f64| h - pad - (h - 2.0 * pad) * (v / ymax).min(1.0);
    let mut s = format!(
        "<svg role=\"img\" aria-label=\"Funnel plot: each group's rate against its opportunities, with 95% and 99.8% limits\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">"
    );
    let _ = write!(
        s,
        "<line x1=\"{pad}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#000\"/><line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{0}\" stroke=\"#000\"/>",
        h - pad,
        w - pad
    );
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">opportunities (log scale)</text><text x=\"4\" y=\"{}\">{:.0}%</text><text x=\"4\" y=\"{}\">0%</text>",
        w / 2.0,
        h - 8.0,
        pad,
        ymax * 100.0,
        h - pad
    );
    let mut tick = 1.0;
    while tick <= nmax {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{tick}</text>",
            x(tick),
            h - pad + 14.0
        );
        tick *= 10.0;
    }
    let _ = write!(
        s,
        "<line x1=\"{pad}\" y1=\"{0:.1}\" x2=\"{1}\" y2=\"{0:.1}\" stroke=\"#000\" stroke-dasharray=\"2 2\"/>",
        y(p0),
        w - pad
    );
    for (z, dash) in [(Z95, "6 3"), (Z998, "")] {
        let mut hi = Vec::new();
        let mut lo = Vec::new();
        for k in 0..=60 {
            let n = (lmax * k as f64 / 60.0).exp();
            // Widened by the overdispersion, as the flags are.
            let (l, u) = funnel(p0, n as u64, z * r.overdispersion.max(1.0).sqrt());
            hi.push(format!("{:.1},{:.1}", x(n), y(u)));
            lo.push(format!("{:.1},{:.1}", x(n), y(l)));
        }
        for pts in [hi, lo] {
            let _ = write!(
                s,
                "<polyline fill=\"none\" stroke=\"#555\" stroke-dasharray=\"{dash}\" points=\"{}\"/>",
                pts.join(" ")
            );
        }
    }
    for g in &groups {
        let v = g.rate.rate.unwrap_or(0.0);
        let shape = match g.flag {
            Some("above") => format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"8\" height=\"8\" fill=\"#000\">",
                x(g.rate.opportunities as f64) - 4.0,
                y(v) - 4.0
            ),
            _ => format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{}\" stroke=\"#000\">",
                x(g.rate.opportunities as f64),
                y(v),
                if g.flag == Some("below") {
                    "#fff"
                } else {
                    "#888"
                }
            ),
        };
        let tag = if shape.starts_with("<rect") {
            "rect"
        } else {
            "circle"
        };
        let _ = write!(
            s,
            "{shape}<title>{}: {:.1}% of {}</title></{tag}>",
            esc(&g.key),
            v * 100.0,
            g.rate.opportunities
        );
        if g.flag.is_some() {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                x(g.rate.opportunities as f64) + 6.0,
                y(v) - 6.0,
                esc(&g.key)
            );
        }
    }
    s.push_str("</svg><p class=\"note\">Dashed line: the team's rate. Dashed curves: 95% limits; solid: 99.8%. Squares: flagged above; white circles: below.</p>");
    s
}

fn graph_svg(r: &Review) -> String {
    let g = &r.graph;
    if g.nodes.is_empty() {
        return String::new();
    }
    let layers = g.nodes.iter().map(|n| n.layer).max().unwrap_or(0) + 1;
    let mut slot = vec![0usize; layers];
    let mut pos = Vec::with_capacity(g.nodes.len());
    for n in &g.nodes {
        pos.push(slot[n.layer]);
        slot[n.layer] += 1;
    }
    let widest = slot.iter().copied().max().unwrap_or(1).max(1);
    let (bw, bh, gx, gy) = (150.0, 34.0, 20.0, 30.0);
    let w = widest as f64 * (bw + gx) + gx;
    let h = layers as f64 * (bh + gy) + gy;
    let centre = |i: usize| -> (f64, f64) {
        let n = &g.nodes[i];
        let row = slot[n.layer] as f64;
        let left = (w - row * (bw + gx) + gx) / 2.0;
        (
            left + pos[i] as f64 * (bw + gx) + bw / 2.0,
            gy + n.layer as f64 * (bh + gy) + bh / 2.0,
        )
    };
    let mut s = format!(
        "<svg role=\"img\" aria-label=\"The procedure's decision graph with deviations on its steps\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\">"
    );
    for e in &g.edges {
        let (a, b) = (centre(e.from), centre(e.to));
        let back = g.nodes[e.to].layer <= g.nodes[e.from].layer;
        let _ = write!(
            s,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#777\" stroke-width=\"{}\"{}/>",
            a.0,
            a.1 + bh / 2.0,
            b.0,
            b.1 - bh / 2.0,
            if e.wrong > 0 { 3 } else { 1 },
            if back {
                " stroke-dasharray=\"4 3\""
            } else {
                ""
            }
        );
        if e.label.is_some() || e.wrong > 0 {
            let label = match (&e.label, e.wrong) {
                (Some(l), 0) => l.clone(),
                (Some(l), n) => format!("{l} (✗{n})"),
                (None, n) => format!("✗{n}"),
            };
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333\">{}</text>",
                (a.0 + b.0) / 2.0,
                (a.1 + b.1) / 2.0,
                esc(&label)
            );
        }
    }
    let max_dev = g
        .nodes
        .iter()
        .map(|n| n.deviations)
        .max()
        .unwrap_or(0)
        .max(1);
    for (i, n) in g.nodes.iter().enumerate() {
        let (cx, cy) = centre(i);
        let fill = if n.deviations > 0 {
            shade(n.deviations as f64 / max_dev as f64)
                .split(';')
                .next()
                .unwrap_or("")
                .trim_start_matches("background:")
                .to_string()
        } else {
            "#fff".to_string()
        };
        let text_fill = if n.deviations as f64 / max_dev as f64 > 0.45 {
            "#fff"
        } else {
            "#000"
        };
        let shape = match n.kind {
            "decision" => format!(
                "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"{fill}\" stroke=\"#000\"/>",
                cx,
                cy - bh / 2.0,
                cx + bw / 2.0,
                cy,
                cx,
                cy + bh / 2.0,
                cx - bw / 2.0,
                cy
            ),
            "start" | "end" => format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bw}\" height=\"{bh}\" rx=\"17\" fill=\"{fill}\" stroke=\"#000\"/>",
                cx - bw / 2.0,
                cy - bh / 2.0
            ),
            "block" => format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bw}\" height=\"{bh}\" fill=\"{fill}\" stroke=\"#999\" stroke-dasharray=\"3 2\"/>",
                cx - bw / 2.0,
                cy - bh / 2.0
            ),
            _ => format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bw}\" height=\"{bh}\" rx=\"3\" fill=\"{fill}\" stroke=\"#000\"/>",
                cx - bw / 2.0,
                cy - bh / 2.0
            ),
        };
        let mut name: String = n.name.chars().take(20).collect();
        if n.name.chars().count() > 20 {
            name.push('…');
        }
        let count = if n.deviations > 0 {
            format!(" ✗{}", n.deviations)
        } else {
            String::new()
        };
        let _ = write!(
            s,
            "<g>{shape}<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{text_fill}\">{}{}</text><title>{}: {} deviations in {} opportunities</title></g>",
            cy + 4.0,
            esc(&name),
            esc(&count),
            esc(&n.name),
            n.deviations,
            n.opportunities
        );
    }
    s.push_str("</svg>");
    s
}

/// The single-file HTML report.
pub fn html(r: &Review) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Review: {}</title><style>{CSS}</style></head><body>",
        esc(&r.procedure)
    );
    let _ = write!(
        s,
        "<h1>Review: {}</h1><div class=\"headline\"><div>cases<b id=\"cases\">{}</b></div><div>opportunities<b id=\"opportunities\">{}</b></div><div>deviations<b id=\"deviations\">{}</b></div><div>rate<b id=\"rate\">{}</b>95% CI {}</div></div>",
        esc(&r.procedure),
        r.cases,
        r.overall.opportunities,
        r.overall.deviations,
        pct(r.overall.rate),
        ci(&r.overall)
    );
    let _ = write!(s, "<h2>Trend per week</h2>{}", trend_svg(r));
    if !r.systemic.is_empty() {
        s.push_str("<h2>Systemic: for the procedure's owner</h2><ul id=\"systemic\">");
        for x in &r.systemic {
            let _ = write!(
                s,
                "<li><b>{}</b> ({}): {}. <i>Action:</i> {}</li>",
                esc(&x.criterion),
                pct(x.rate.rate),
                esc(&x.why),
                esc(&x.action)
            );
        }
        s.push_str("</ul>");
    }
    if !r.support.is_empty() {
        s.push_str("<h2>Support to agree with colleagues</h2><table id=\"support\"><tr><th>who</th><th>area</th><th>rate</th><th>expected</th><th>support</th><th>why</th><th>evidence</th></tr>");
        for n in &r.support {
            for a in &n.areas {
                let ev: Vec<String> = a
                    .evidence
                    .iter()
                    .map(|e| {
                        format!(
                            "{}{}",
                            esc(&e.case_id),
                            e.line.map_or(String::new(), |l| format!(" (line {l})"))
                        )
                    })
                    .collect();
                let _ = write!(
                    s,
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{} ({}/{})</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&n.who),
                    esc(&a.area),
                    pct(a.rate.rate),
                    a.rate.deviations,
                    a.rate.opportunities,
                    pct(a.expected),
                    esc(&a.kind),
                    esc(&a.rule),
                    ev.join(", ")
                );
            }
        }
        s.push_str("</table>");
    }
    if !r.by.is_empty() {
        let _ = write!(
            s,
            "<h2>By {}</h2>{}<table id=\"groups\"><tr><th>group</th><th>cases</th><th>opportunities</th><th>deviations</th><th>rate</th><th>95% CI</th><th>expected</th><th>flag</th></tr>",
            esc(&r.by.join(" × ")),
            funnel_svg(r)
        );
        if r.overdispersion > 1.0 {
            let _ = write!(s, "<p class=\"note\">{}</p>", esc(&spread_note(r)));
        }
        for g in &r.groups {
            let class = match g.flag {
                Some("above") => " class=\"flag-above\"",
                Some(_) => " class=\"flag-below\"",
                None => "",
            };
            let cells = group_cells(g);
            let _ = write!(
                s,
                "<tr data-key=\"{}\">{}<td{class}>{}</td></tr>",
                esc(&g.key),
                html_cells(&cells[..7], &[1, 2, 3, 4, 6]),
                esc(&cells[7])
            );
        }
        s.push_str("</table>");
    }
    let hm = &r.heatmap;
    if !hm.operators.is_empty() {
        s.push_str("<h2>Operators × criteria</h2><p class=\"note\">Each cell: deviations / opportunities (darker is higher); criteria by their column number, listed below.</p><table class=\"heat\" id=\"heatmap\"><tr><th>operator</th>");
        for (i, _) in hm.criteria.iter().enumerate() {
            let _ = write!(s, "<th>{}</th>", i + 1);
        }
        s.push_str("</tr>");
        for (o, row) in hm.operators.iter().zip(&hm.cells) {
            let _ = write!(s, "<tr><th>{}</th>", esc(o));
            for c in row {
                if c[1] == 0 {
                    s.push_str("<td>·</td>");
                } else {
                    let _ = write!(
                        s,
                        "<td style=\"{}\">{}/{}</td>",
                        shade(c[0] as f64 / c[1] as f64),
                        c[0],
                        c[1]
                    );
                }
            }
            s.push_str("</tr>");
        }
        s.push_str("</table><ol class=\"note\">");
        for c in &hm.criteria {
            let _ = write!(s, "<li>{}</li>", esc(c));
        }
        s.push_str("</ol>");
    }
    let _ = write!(
        s,
        "<h2>The procedure, with deviations on its steps</h2>{}",
        graph_svg(r)
    );
    s.push_str("<h2>Criteria</h2><table id=\"criteria\"><tr><th>criterion</th><th>area</th><th>line</th><th>opportunities</th><th>deviations</th><th>rate</th><th>95% CI</th></tr>");
    for c in &r.criteria {
        let _ = write!(
            s,
            "<tr><td>{}{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&c.criterion.id),
            if c.systemic { " <b>(systemic)</b>" } else { "" },
            esc(&c.criterion.area),
            c.criterion.line.map_or(String::new(), |l| l.to_string()),
            c.rate.opportunities,
            c.rate.deviations,
            pct(c.rate.rate),
            ci(&c.rate)
        );
    }
    s.push_str("</table>");
    if !r.plan.is_empty() {
        s.push_str("<h2>Support plan: before and after</h2><table id=\"plan\"><tr><th>who</th><th>support</th><th>start</th><th>before</th><th>after</th><th>target</th><th>met</th><th>change</th></tr>");
        for p in &r.plan {
            let _ = write!(s, "<tr>{}</tr>", html_cells(&plan_cells(p), &[3, 4, 5]));
        }
        s.push_str("</table>");
    }
    if !r.worst_cases.is_empty() {
        s.push_str("<h2>Cases with most deviations</h2><table id=\"worst\"><tr><th>case</th><th>deviations</th><th>codes</th><th>steps</th><th>the story</th></tr>");
        for w in &r.worst_cases {
            let _ = write!(
                s,
                "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td><code>procedo explain … --case {}</code></td></tr>",
                esc(&w.case_id),
                w.deviations,
                esc(&w.codes.join(", ")),
                esc(&w.steps.join(", ")),
                esc(&w.case_id)
            );
        }
        s.push_str("</table>");
    }
    let mut n = String::new();
    notes(&mut n, r, "");
    if !n.trim().is_empty() {
        let _ = write!(
            s,
            "<h2>Not judged</h2><pre class=\"note\">{}</pre>",
            esc(n.trim())
        );
    }
    s.push_str("</body></html>\n");
    s
}
