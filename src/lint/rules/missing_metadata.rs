//! `missing-metadata`: a procedure without a title, owner, version or effective date.

use crate::ast::{FileKind, HeaderItem};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::{Category, Rule, RuleMeta};
use crate::model::Procedure;

pub struct MissingMetadata;

static META: RuleMeta = RuleMeta {
    name: "missing-metadata",
    category: Category::Style,
    default_severity: Severity::Warning,
    summary: "a procedure without a title, owner, version or effective date (a library without a title, owner or version)",
    explanation: "A control room must be able to tell which version of a procedure was in force when \
an incident was handled, who owns it, and from when it applies. Without these an audit cannot \
say which rules a handler should have followed.",
    bad: "procedure example \"Example\"\n  owner \"Control room manager\"\n\nends\n  closed \"Closed\"\n\nflow\n  step answer\n  end closed\n",
    good: "procedure example \"Example\"\n  version \"1.0\"\n  owner \"Control room manager\"\n  effective 2026-01-01\n\nends\n  closed \"Closed\"\n\nflow\n  step answer\n  end closed\n",
};

impl Rule for MissingMetadata {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, p: &Procedure) -> Vec<Diagnostic> {
        let file = p.ast();
        let has = |f: fn(&HeaderItem) -> bool| file.header.iter().any(f);
        let mut missing = Vec::new();
        if file.title.is_none() && !has(|h| matches!(h, HeaderItem::Title(_))) {
            missing.push("title");
        }
        if !has(|h| matches!(h, HeaderItem::Owner(_))) {
            missing.push("owner");
        }
        if !has(|h| matches!(h, HeaderItem::Version(_))) {
            missing.push("version");
        }
        if file.kind == FileKind::Procedure && !has(|h| matches!(h, HeaderItem::Effective { .. })) {
            missing.push("effective date");
        }
        if missing.is_empty() {
            return Vec::new();
        }
        let kind = if file.kind == FileKind::Procedure {
            "procedure"
        } else {
            "library"
        };
        let list = match missing.as_slice() {
            [one] => one.to_string(),
            [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
            [] => String::new(),
        };
        vec![
            Diagnostic::warning(META.name, format!("{kind} `{}` has no {list}", file.id.text))
                .with_label(file.id.span, format!("no {list} in the header"))
                .with_help("add the header lines under the first line, e.g. `version \"1.0\"`, `owner \"Control room manager\"`, `effective 2026-04-01`"),
        ]
    }
}
