//! `procedo.yaml`: lint configuration at the procedures root.
//!
//! ```yaml
//! rules:                      # per rule: off, info, warning or error
//!   unused-fact: off
//!   naming-convention: warning
//! categories:                 # per category, below per-rule settings
//!   style: off
//!   preview: warning          # preview rules are off unless enabled
//! ignore:                     # paths relative to the root; `*`, `?` and `**`
//!   - "drafts/**"
//! ```
//!
//! An empty file is the default configuration. Mistakes (an unknown rule or
//! category, a bad level, an unknown key) are diagnostics with the file and line.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{Category, RuleMeta, find_rule};
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{SourceFile, Span};

/// The name of the configuration file at the procedures root.
pub const FILE_NAME: &str = "procedo.yaml";

/// A configured level: a severity, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Off,
    Info,
    Warning,
    Error,
}

impl Level {
    fn severity(self) -> Option<Severity> {
        match self {
            Level::Off => None,
            Level::Info => Some(Severity::Info),
            Level::Warning => Some(Severity::Warning),
            Level::Error => Some(Severity::Error),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    rules: BTreeMap<String, Level>,
    #[serde(default)]
    categories: BTreeMap<String, Level>,
    #[serde(default)]
    ignore: Vec<String>,
    /// `procedo review`'s settings, read by `review::config`.
    #[serde(default)]
    #[allow(dead_code)]
    review: Option<serde_yaml::Value>,
}

/// The lint configuration of one procedures root.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub rules: BTreeMap<String, Level>,
    pub categories: BTreeMap<Category, Level>,
    /// Globs of paths (relative to the root) not to lint.
    pub ignore: Vec<String>,
}

impl Config {
    /// The severity a rule runs at, or `None` when it is off.
    pub fn severity_of(&self, meta: &RuleMeta) -> Option<Severity> {
        if let Some(l) = self.rules.get(meta.name) {
            return l.severity();
        }
        if let Some(l) = self.categories.get(&meta.category) {
            return l.severity();
        }
        meta.enabled_by_default().then_some(meta.default_severity)
    }

    /// Whether a path relative to the root (with `/` separators) is ignored.
    pub fn is_ignored(&self, relative: &str) -> bool {
        self.ignore.iter().any(|g| glob_matches(g, relative))
    }

    /// Reads `procedo.yaml` in `root`; a missing file is the default configuration.
    pub fn load(root: &Path) -> Result<Config, Vec<Diagnostic>> {
        let path = root.join(FILE_NAME);
        if !path.is_file() {
            return Ok(Config::default());
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&SourceFile::new(path.display().to_string(), text)),
            Err(e) => Err(vec![
                Diagnostic::error(
                    "bad-config",
                    format!("cannot read `{}`: {e}", path.display()),
                )
                .with_help("check the file's permissions"),
            ]),
        }
    }

    /// Parses configuration text; every problem is reported, with its line.
    pub fn parse(source: &SourceFile) -> Result<Config, Vec<Diagnostic>> {
        let text = source.text();
        let only_comments = text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        let raw: Raw = if only_comments {
            Raw::default()
        } else {
            match serde_yaml::from_str::<Option<Raw>>(text) {
                Ok(r) => r.unwrap_or_default(),
                Err(e) => {
                    return Err(vec![yaml_error(
                        source,
                        &e,
                        "the keys are `rules` (rule: off|info|warning|error), `categories` (category: level), `ignore` (a list of paths) and `review` (see docs/review.md)",
                    )]);
                }
            }
        };
        let mut diags = Vec::new();
        let mut config = Config {
            ignore: raw.ignore,
            ..Config::default()
        };
        for (name, level) in raw.rules {
            if find_rule(&name).is_none() {
                diags.push(
                    Diagnostic::error("bad-config", format!("unknown rule `{name}`"))
                        .with_label(key_span(text, &name), "not a rule")
                        .with_help("`procedo rules` lists the rule names")
                        .with_source(source),
                );
            }
            config.rules.insert(name, level);
        }
        for (name, level) in raw.categories {
            match Category::from_name(&name) {
                Some(c) => {
                    config.categories.insert(c, level);
                }
                None => diags.push(
                    Diagnostic::error("bad-config", format!("unknown category `{name}`"))
                        .with_label(key_span(text, &name), "not a category")
                        .with_help("the categories are correctness, suspicious, style, performance-of-operations and preview")
                        .with_source(source),
                ),
            }
        }
        if diags.is_empty() {
            Ok(config)
        } else {
            Err(diags)
        }
    }
}

/// A `bad-config` diagnostic for YAML that does not read, located where the YAML parser
/// stopped (shared by every YAML configuration file procedo reads).
pub fn yaml_error(source: &SourceFile, e: &serde_yaml::Error, help: &str) -> Diagnostic {
    let offset = e.location().map_or(0, |l| l.index());
    let message = e.to_string();
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_string();
    Diagnostic::error("bad-config", format!("`{}`: {message}", source.name()))
        .with_label(Span::new(offset, offset), "here")
        .with_help(help.to_string())
        .with_source(source)
}

/// The span of `key:` at the start of a line, for locating a bad key.
fn key_span(text: &str, key: &str) -> Span {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let bare = trimmed.trim_start_matches(['"', '\'']);
        if bare.starts_with(key)
            && bare[key.len()..]
                .trim_start_matches(['"', '\''])
                .starts_with(':')
        {
            let start = offset + indent;
            return Span::new(start, start + trimmed.find(':').unwrap_or(key.len()));
        }
        offset += line.len();
    }
    Span::default()
}

/// Matches a path against a glob: `*` and `?` within one path segment, `**` any
/// number of segments. A glob without `/` matches a file or folder name anywhere.
pub fn glob_matches(glob: &str, path: &str) -> bool {
    let path_segs: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let glob = glob.trim_start_matches("./");
    if !glob.contains('/') {
        return path_segs.iter().any(|s| segment_matches(glob, s));
    }
    let glob_segs: Vec<&str> = glob.split('/').filter(|s| !s.is_empty()).collect();
    segs_match(&glob_segs, &path_segs)
}

fn segs_match(g: &[&str], p: &[&str]) -> bool {
    match g.split_first() {
        None => p.is_empty(),
        Some((&"**", rest)) => (0..=p.len()).any(|i| segs_match(rest, &p[i..])),
        Some((first, rest)) => {
            !p.is_empty() && segment_matches(first, p[0]) && segs_match(rest, &p[1..])
        }
    }
}

fn segment_matches(g: &str, s: &str) -> bool {
    let g: Vec<char> = g.chars().collect();
    let s: Vec<char> = s.chars().collect();
    fn go(g: &[char], s: &[char]) -> bool {
        match g.split_first() {
            None => s.is_empty(),
            Some(('*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some(('?', rest)) => !s.is_empty() && go(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(&g, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_matches("drafts/**", "drafts/a.proc"));
        assert!(glob_matches("drafts/**", "drafts/x/a.proc"));
        assert!(!glob_matches("drafts/**", "itsm/a.proc"));
        assert!(glob_matches("*.draft.proc", "itsm/a.draft.proc"));
        assert!(glob_matches("itsm/*.proc", "itsm/a.proc"));
        assert!(!glob_matches("itsm/*.proc", "itsm/x/a.proc"));
        assert!(glob_matches("**/old_*.proc", "a/b/old_x.proc"));
    }

    #[test]
    fn parses_levels_and_reports_unknown_names_with_lines() {
        let ok = Config::parse(&SourceFile::new(
            "procedo.yaml",
            "rules:\n  unreachable-step: warning\ncategories:\n  style: off\nignore: [\"drafts/**\"]\n",
        ))
        .unwrap();
        assert_eq!(ok.rules["unreachable-step"], Level::Warning);
        assert_eq!(ok.categories[&Category::Style], Level::Off);
        assert!(ok.is_ignored("drafts/x.proc"));
        let bad = Config::parse(&SourceFile::new(
            "procedo.yaml",
            "rules:\n  no-such-rule: off\n",
        ))
        .unwrap_err();
        assert_eq!(bad[0].location().unwrap().1, 2);
        let bad =
            Config::parse(&SourceFile::new("procedo.yaml", "rules:\n  x: loud\n")).unwrap_err();
        assert_eq!(bad[0].location().unwrap().1, 2, "{:?}", bad[0]);
        assert!(Config::parse(&SourceFile::new("procedo.yaml", "# nothing\n")).is_ok());
    }
}
