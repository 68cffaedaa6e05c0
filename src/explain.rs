//! One case told as a story, for a query or complaint: what was recorded, what the
//! procedure required at each point, the verdict, and the procedure line behind each.
//!
//! [`explain`] builds an [`Explanation`] (serialised as the evidence record: the
//! procedure's id, version and content hash, the facts used, every rule that fired,
//! every obligation and finding); [`Explanation::human`] renders it as text.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit::codes::{self, Severity};
use crate::audit::{Obligation, Perspectives};
use crate::check::{CheckOptions, Checker};
use crate::conformance::Finding;
use crate::eval::Assessment;
use crate::log::Trace;
use crate::model::Procedure;

/// The procedure an explanation rests on.
#[derive(Debug, Clone, Serialize)]
pub struct ProcedureRef {
    pub id: String,
    pub version: Option<String>,
    pub file: String,
    /// SHA-256 of the procedure's text and of every file it uses, in load order.
    pub sha256: String,
}

/// One recorded event as the procedure reads it.
#[derive(Debug, Clone, Serialize)]
pub struct EventLine {
    pub index: usize,
    pub time: Option<String>,
    pub activity: String,
    /// The step the activity maps to, if any.
    pub step: Option<String>,
    /// `step` (control flow), `set aside` (ignored, an event, a monitor update, an
    /// acknowledgement or escalation).
    pub kind: &'static str,
    /// Attributes other perspectives read (priority, to, actions, resource, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recorded: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub obligations: Vec<Obligation>,
}

/// The evidence record of one case.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub version: u32,
    pub procedure: ProcedureRef,
    pub case_id: String,
    pub conforming: bool,
    pub running: bool,
    /// The grade in force at the end of the case.
    pub priority: Option<String>,
    /// The assessment from the case's facts (before any fact recorded by an event).
    pub assessment: Option<Assessment>,
    pub events: Vec<EventLine>,
    /// Findings not tied to an event (a step never recorded, a gap at the end).
    pub findings: Vec<Finding>,
    /// Obligations with no event to show them at (pending, at risk, violated, waived).
    pub open: Vec<Obligation>,
    pub alignment_cost: Option<u64>,
}

/// The content hash of a procedure and the files it uses.
pub fn content_hash(p: &Procedure) -> String {
    fn feed(u: &crate::model::Unit, h: &mut Sha256) {
        for (_, used) in &u.uses {
            feed(used, h);
        }
        h.update(u.source.text().as_bytes());
        h.update([0u8]);
    }
    let mut h = Sha256::new();
    feed(&p.unit, &mut h);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Explains one case (events in log order, activities as recorded).
pub fn explain(
    p: &Procedure,
    trace: &Trace,
    roster: Option<crate::audit::Roster>,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    log_times: Option<&crate::log::LogOptions>,
) -> Result<Explanation, String> {
    let net = crate::petri::compile::compile(p);
    let labels: Vec<String> = trace.events.iter().map(|e| e.activity.clone()).collect();
    let opts = CheckOptions {
        perspectives: Perspectives::ALL,
        as_of,
        with_alignment: true,
        ..CheckOptions::default()
    };
    let mut checker = Checker::new(&net, Some(p), opts, roster)?;
    if let Some(t) = log_times {
        checker.read_times_as(t);
    }
    let checked = checker.check(trace.clone());
    let (trace, flow, verdict) = (checked.trace, checked.flow, checked.verdict);
    let r = verdict.result;
    let Some(auditor) = checker.auditor() else {
        return Err("the procedure could not be audited".into());
    };
    // The assessment from the case facts alone.
    let a = auditor.assessor();
    let case_facts: Vec<(String, String)> = trace
        .events
        .first()
        .map(|e| {
            e.attributes
                .iter()
                .filter_map(|(k, v)| k.strip_prefix("case:").map(|k| (k.to_string(), v.clone())))
                .collect()
        })
        .unwrap_or_default();
    let assessment = a
        .facts_from_text(
            case_facts.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &[],
        )
        .ok()
        .map(|f| a.assess(f));
    let fields = [
        "priority",
        "role",
        "reason",
        "outcome",
        "to",
        "responsibilities",
        "actions",
        "resource",
        "capabilities",
        "acknowledges",
        "escalated_to",
    ];
    let in_flow: std::collections::BTreeSet<usize> = flow.iter().copied().collect();
    // Fact values are shown where they are first recorded or change.
    let mut last_fact: std::collections::HashMap<String, String> = Default::default();
    let mut events: Vec<EventLine> = trace
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mapped = e.activity != labels[i] || p.symbols.steps.contains_key(&e.activity);
            let mut recorded: Vec<(String, String)> = Vec::new();
            if let Some(actor) = &e.resource {
                recorded.push(("actor".into(), actor.clone()));
            }
            for (k, v) in &e.attributes {
                let key = a.fact_for_column(k).unwrap_or(k);
                if fields.contains(&&**k) {
                    recorded.push((k.to_string(), v.clone()));
                } else if !k.starts_with("case:")
                    && p.symbols.facts.contains_key(key)
                    && last_fact.get(key) != Some(v)
                {
                    last_fact.insert(key.to_string(), v.clone());
                    recorded.push((k.to_string(), v.clone()));
                }
            }
            EventLine {
                index: i,
                time: e.timestamp.map(|t| t.to_rfc3339()),
                activity: labels[i].clone(),
                step: mapped.then(|| e.activity.clone()),
                kind: if in_flow.contains(&i) {
                    "step"
                } else {
                    "set aside"
                },
                recorded,
                findings: Vec::new(),
                obligations: Vec::new(),
            }
        })
        .collect();
    let mut loose = Vec::new();
    for f in r.findings {
        match f.event_index.and_then(|i| events.get_mut(i)) {
            Some(ev) => ev.findings.push(f),
            None => loose.push(f),
        }
    }
    let mut open = Vec::new();
    for o in verdict.obligations {
        match o.event_index.and_then(|i| events.get_mut(i)) {
            Some(ev) => ev.obligations.push(o),
            None => open.push(o),
        }
    }
    Ok(Explanation {
        version: 1,
        procedure: ProcedureRef {
            id: p.ast().id.text.clone(),
            version: a.plan().version().map(str::to_string),
            // The CLI shows it relative to the current directory.
            file: p.unit.path.display().to_string(),
            sha256: content_hash(p),
        },
        case_id: trace.id.clone(),
        conforming: r.conforming,
        running: verdict.running,
        priority: verdict.priority,
        assessment,
        events,
        findings: loose,
        open,
        alignment_cost: r.cost,
    })
}

fn finding_line(f: &Finding) -> String {
    let sev = codes::severity(f.code);
    let at = f
        .line
        .map_or(String::new(), |l| format!(" [procedure line {l}]"));
    format!(
        "{} {}: {}{at}",
        if sev == Severity::Error { "✗" } else { "!" },
        f.code,
        f.message
    )
}

fn obligation_line(o: &Obligation) -> String {
    if o.kind == "decision" {
        // A decision has no due time: the branch the facts call for, and how it went.
        return format!(
            "decision `{}` must take {} — {} [procedure line {}]",
            o.step,
            o.required,
            o.status.as_str(),
            o.line
        );
    }
    let mut s = format!("{} — {}", o.required, o.status.as_str());
    // Only time limits have a due time; recipients, actions, resources and constraints
    // are judged at their events.
    let timed = matches!(
        o.kind,
        "deadline" | "acknowledgement" | "monitoring" | "escalation"
    );
    match &o.due {
        Some(d) => s.push_str(&format!(", due {}", d.to_rfc3339())),
        None if timed => s.push_str(", no due time yet (its clock is paused)"),
        None => {}
    }
    if let Some(d) = &o.done {
        s.push_str(&format!(", done {}", d.to_rfc3339()));
    }
    format!("{s} [procedure line {}]", o.line)
}

impl Explanation {
    /// The story as text, in time order.
    pub fn human(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "case {} under {}{} ({})\n",
            self.case_id,
            self.procedure.id,
            self.procedure
                .version
                .as_ref()
                .map_or(String::new(), |v| format!(" version {v}")),
            self.procedure.file
        ));
        out.push_str(&format!("procedure sha256 {}\n", self.procedure.sha256));
        if let Some(a) = &self.assessment {
            let known: Vec<String> = a
                .facts
                .iter()
                .filter(|(_, v)| !matches!(v, crate::eval::Value::Missing))
                .map(|(k, v)| format!("{k} = {}", v))
                .collect();
            out.push_str(&format!(
                "\nwhat the caller said (case facts): {}\n",
                if known.is_empty() {
                    "none recorded".to_string()
                } else {
                    known.join(", ")
                }
            ));
            if let Some(v) = &a.validity {
                out.push_str(&format!(
                    "validity: {} (score {}, band {} at line {})\n",
                    v.band.as_deref().unwrap_or("none"),
                    v.score,
                    v.band_rule,
                    v.line
                ));
                for f in &v.fired {
                    out.push_str(&format!("  {} {:+} [line {}]\n", f.rule, f.weight, f.line));
                }
            }
            if let Some(pr) = &a.priority {
                out.push_str(&format!(
                    "assessed priority: {} — decided by {}\n",
                    pr.level.as_deref().unwrap_or("none"),
                    pr.decided_by
                ));
                for m in &pr.methods {
                    out.push_str(&format!(
                        "  {} `{}` [line {}]: {} — {}\n",
                        m.kind,
                        m.method,
                        m.line,
                        m.result.as_deref().unwrap_or("no result"),
                        m.reason
                    ));
                }
            }
            for t in &a.targets {
                out.push_str(&format!(
                    "  target {} within {} [line {}]\n",
                    t.kind, t.limit, t.line
                ));
            }
        }
        if let Some(p) = &self.priority {
            out.push_str(&format!("priority in force at the end: {p}\n"));
        }
        out.push_str("\nwhat happened, and what the procedure required:\n");
        for e in &self.events {
            let step = match (&e.step, e.kind) {
                (Some(s), "step") if *s == e.activity => format!("step `{s}`"),
                (Some(s), "step") => format!("step `{s}`"),
                (Some(s), _) => format!("`{s}` (set aside)"),
                (None, _) => "not a step (set aside)".to_string(),
            };
            out.push_str(&format!(
                "{:>3}. {}  {}  → {}\n",
                e.index + 1,
                e.time.as_deref().unwrap_or("(no time)"),
                e.activity,
                step
            ));
            if !e.recorded.is_empty() {
                let r: Vec<String> = e
                    .recorded
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                out.push_str(&format!("       recorded {}\n", r.join("; ")));
            }
            for o in &e.obligations {
                let mark = match o.status {
                    crate::audit::Status::Met | crate::audit::Status::Waived => "✓",
                    crate::audit::Status::Unknown | crate::audit::Status::Pending => "?",
                    crate::audit::Status::AtRisk | crate::audit::Status::Violated => "✗",
                };
                out.push_str(&format!("       {mark} {}\n", obligation_line(o)));
            }
            for f in &e.findings {
                out.push_str(&format!("       {}\n", finding_line(f)));
            }
        }
        if !self.open.is_empty() || !self.findings.is_empty() {
            out.push_str("\nnot tied to a recorded event:\n");
            for o in &self.open {
                out.push_str(&format!("  • {}\n", obligation_line(o)));
            }
            for f in &self.findings {
                out.push_str(&format!("  {}\n", finding_line(f)));
            }
        }
        let all: Vec<&Finding> = self
            .events
            .iter()
            .flat_map(|e| &e.findings)
            .chain(&self.findings)
            .collect();
        let errors = all
            .iter()
            .filter(|f| codes::severity(f.code) == Severity::Error)
            .count();
        out.push_str(&format!(
            "\nverdict: {}{} ({} error{}, {} warning{})\n",
            if self.conforming {
                "handled as the procedure requires"
            } else {
                "not handled as the procedure requires"
            },
            if self.running { ", still running" } else { "" },
            errors,
            if errors == 1 { "" } else { "s" },
            all.len() - errors,
            if all.len() - errors == 1 { "" } else { "s" },
        ));
        out
    }
}
