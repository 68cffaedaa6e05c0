//! `naming-convention`: names that are not lower snake case.

use crate::ast::*;
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::analysis::flow::all_stmts;
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct NamingConvention;

static META: RuleMeta = RuleMeta {
    name: "naming-convention",
    category: Category::Style,
    default_severity: Severity::Warning,
    summary: "a name that is not lower snake case (`call_handler`, `verify_address`)",
    explanation: "Names appear in logs, mappings, reports and other procedures' `call`s. One \
convention (lower-case words joined by `_`) makes them easy to read, type and search, and keeps \
mappings from breaking on `VerifyAddress` versus `verify_address`. Priority levels and score \
bands are exempt: `P1` and `cat1` are how services name them.",
    bad: "roles\n  CallHandler \"Call handler\"\n\nflow\n  step answer\n    by CallHandler\n  end closed\n",
    good: "roles\n  call_handler \"Call handler\"\n\nflow\n  step answer\n    by call_handler\n  end closed\n",
};

fn snake(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.contains("__")
        && !s.ends_with('_')
}

fn suggestion(s: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c == '-' || c == ' ' {
            out.push('_');
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        }
    }
    let mut cleaned = String::new();
    for c in out.chars() {
        if !(c == '_' && cleaned.ends_with('_')) {
            cleaned.push(c);
        }
    }
    cleaned.trim_matches('_').to_string()
}

impl Rule for NamingConvention {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let file = p.ast();
        let mut names: Vec<(&'static str, &Name)> = Vec::new();
        for s in &file.sections {
            match s {
                Section::Facts { items, .. } => {
                    for i in items {
                        match i {
                            FactItem::Type { name, ty, .. } => {
                                names.push(("type", name));
                                if let TypeExpr::Enum(vs, _) = ty {
                                    names.extend(vs.iter().map(|v| ("enum value", v)));
                                }
                            }
                            FactItem::Fact(f) => {
                                names.push(("fact", &f.name));
                                if let TypeExpr::Enum(vs, _) = &f.ty {
                                    names.extend(vs.iter().map(|v| ("enum value", v)));
                                }
                            }
                        }
                    }
                }
                Section::Params { items, .. } => {
                    names.extend(items.iter().map(|x| ("parameter", &x.name)))
                }
                Section::Roles { items, .. } => {
                    names.extend(items.iter().map(|x| ("role", &x.name)))
                }
                Section::Resources { items, .. } => {
                    for r in items {
                        names.push(("resource type", &r.name));
                        names.extend(r.capabilities.iter().map(|c| ("capability", c)));
                    }
                }
                Section::Calendar(c) => names.push(("calendar", &c.name)),
                Section::Clock(c) => names.push(("clock", &c.name)),
                Section::Validity { indicators, .. } => {
                    names.extend(indicators.iter().map(|x| ("indicator", &x.name)))
                }
                Section::Priority(pr) => {
                    for item in &pr.items {
                        if let PriorityItem::Method(d) = item {
                            names.push(("decision", d.name()));
                        }
                    }
                }
                Section::Decisions { items, .. } => {
                    for d in items {
                        names.push(("decision", d.name()));
                        if let DecisionDef::Score(sc) = d {
                            names.extend(sc.indicators.iter().map(|x| ("indicator", &x.name)));
                        }
                    }
                }
                Section::Ends { items, .. } => {
                    names.extend(items.iter().map(|x| ("end state", &x.name)))
                }
                Section::Events { items, .. } => {
                    names.extend(items.iter().map(|x| ("event", &x.name)))
                }
                Section::Constraints { items, .. } => {
                    names.extend(items.iter().map(|x| ("constraint", &x.name)))
                }
                Section::Standards { items, .. } => {
                    names.extend(items.iter().map(|x| ("standard", &x.name)))
                }
                Section::Exemptions { items, .. } => {
                    names.extend(items.iter().map(|x| ("exemption", &x.name)))
                }
                Section::Links { items, .. } => {
                    names.extend(items.iter().map(|x| ("link", &x.name)))
                }
                Section::Flow { body, .. } => {
                    all_stmts(body, &mut |s| match s {
                        Stmt::Step(x) => names.push(("step", &x.name)),
                        Stmt::Monitor(x) => names.push(("monitor", &x.name)),
                        Stmt::Decide(x) => names.push(("decision", &x.name)),
                        Stmt::Call(x) => {
                            if let Some(a) = &x.alias {
                                names.push(("step", a));
                            }
                        }
                        Stmt::Parallel(x) => names.extend(x.name.iter().map(|n| ("block", n))),
                        Stmt::Repeat(x) => names.extend(x.name.iter().map(|n| ("block", n))),
                        _ => {}
                    });
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        if !file.id.text.split('.').all(snake) {
            out.push(
                Diagnostic::warning(
                    META.name,
                    format!("procedure id `{}` is not lower snake case", file.id.text),
                )
                .with_label(
                    file.id.span,
                    "use lower-case words joined by `_`, parts joined by `.`",
                )
                .with_help(format!(
                    "rename it `{}`",
                    file.id
                        .text
                        .split('.')
                        .map(suggestion)
                        .collect::<Vec<_>>()
                        .join(".")
                )),
            );
        }
        for (what, n) in names {
            if !snake(&n.text) {
                out.push(
                    Diagnostic::warning(
                        META.name,
                        format!("{what} `{}` is not lower snake case", n.text),
                    )
                    .with_label(n.span, "use lower-case words joined by `_`")
                    .with_help(format!(
                        "rename it `{}` (and every use of it)",
                        suggestion(&n.text)
                    )),
                );
            }
        }
        out
    }
}
