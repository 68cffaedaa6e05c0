//! Assessment: validity and priority of an incident from its facts, explained.
//!
//! `Assessor::new` compiles a procedure once; `Assessor::facts` validates a record
//! against the facts schema; `Assessor::assess` evaluates it. The explanation is
//! part of the result: every indicator that fired, every table row that matched
//! and why one won, with the source line behind each. Deterministic: no clock, no
//! environment, no randomness.

mod plan;
pub mod value;

use std::cmp::Ordering;

use serde::Serialize;

pub use plan::Plan;
use plan::{CExpr, CMatrix, CMethod, CMethodKind, CScore, CTable, CTest};
pub use value::Value;

use crate::ast::{BinaryOp, CmpOp, CollectOp, CombineRule, HitPolicy};
use crate::model::{Procedure, Type};

/// A problem with one fact of one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FactError {
    pub field: String,
    pub message: String,
}

/// A rule that fired, with its weight and source line.
#[derive(Debug, Clone, Serialize)]
pub struct Fired {
    pub rule: String,
    pub weight: f64,
    pub line: usize,
}

/// The result of a weighted score (validity, or a score method).
#[derive(Debug, Clone, Serialize)]
pub struct ScoreOutcome {
    pub score: f64,
    pub band: Option<String>,
    /// The band's rule as written, e.g. `>= 40`.
    pub band_rule: String,
    pub fired: Vec<Fired>,
    pub line: usize,
}

/// One priority method's result and how it was reached.
#[derive(Debug, Clone, Serialize)]
pub struct MethodOutcome {
    pub method: String,
    pub kind: &'static str,
    pub result: Option<String>,
    /// The hit policy or lookup's reasoning in words.
    pub reason: String,
    /// Source lines of the rows that matched.
    pub matched_lines: Vec<usize>,
    pub line: usize,
    pub error: Option<String>,
    /// The output values (several under `collect`, `rule order`, `output order`).
    pub values: Vec<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverrideOutcome {
    pub level: String,
    pub requires: Vec<String>,
    pub line: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PriorityOutcome {
    pub level: Option<String>,
    pub decided_by: String,
    pub overrides: Vec<OverrideOutcome>,
    pub methods: Vec<MethodOutcome>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetOutcome {
    pub kind: String,
    pub limit: String,
    pub limit_ms: i64,
    pub line: usize,
}

/// The assessment of one incident.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    /// `applies when` of the procedure; `None` when unknown from the facts.
    pub applies: Option<bool>,
    pub validity: Option<ScoreOutcome>,
    pub priority: Option<PriorityOutcome>,
    pub targets: Vec<TargetOutcome>,
    /// General decisions (the `decisions` section), in declaration order.
    pub decisions: Vec<MethodOutcome>,
    /// The facts as used, after unknown policies.
    pub facts: Vec<(std::sync::Arc<str>, Value)>,
    /// Problems in the procedure met while evaluating (e.g. two rows under `unique`).
    pub errors: Vec<String>,
}

/// A compiled expression of the procedure's flow.
#[derive(Debug, Clone)]
pub struct FlowExpr(plan::CExpr);

/// A compiled `decide`: its subject and the tests of each `when`.
#[derive(Debug, Clone)]
pub struct DecideRule {
    subject: Option<plan::CExpr>,
    branches: Vec<Vec<(bool, plan::CTest)>>,
    has_else: bool,
}

/// What a flow expression is evaluated in: an assessment, the priority in force
/// (recorded regrades may differ from the assessed level), and recorded outcomes.
pub struct Situation<'a> {
    pub assessment: &'a Assessment,
    /// The assessment's values laid out for evaluation, when the caller keeps them.
    pub prepared: Option<&'a Prepared>,
    pub priority: Option<&'a str>,
    /// Targets in force, when they differ from the assessment's (after a regrade).
    pub targets: Option<&'a [(String, i64)]>,
    pub outcomes: &'a [(String, String)],
}

/// An assessment's values laid out for evaluating flow expressions, to evaluate many
/// expressions in one situation without copying them each time.
#[derive(Debug, Clone)]
pub struct Prepared {
    facts: Vec<Value>,
    validity: Option<String>,
    targets: Vec<(String, i64)>,
    decisions: Vec<Vec<Value>>,
}

impl Prepared {
    pub fn new(a: &Assessment) -> Prepared {
        Prepared {
            facts: a.facts.iter().map(|(_, v)| v.clone()).collect(),
            validity: a.validity.as_ref().and_then(|v| v.band.clone()),
            targets: a
                .targets
                .iter()
                .map(|t| (t.kind.clone(), t.limit_ms))
                .collect(),
            decisions: a.decisions.iter().map(|d| d.values.clone()).collect(),
        }
    }
}

/// A record's facts, validated and in slot order.
#[derive(Debug, Clone)]
pub struct Facts {
    values: Vec<Value>,
}

impl Facts {
    pub fn values(&self) -> &[Value] {
        &self.values
    }
}

/// One input field's raw value.
enum Field<'a> {
    Str(&'a str),
    Json(&'a serde_json::Value),
}

/// A streaming JSON object visitor that fills fact slots directly.
mod fast {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{self, Deserialize, DeserializeSeed, MapAccess, SeqAccess, Visitor};

    use super::{Assessor, FactError, Field, Value};

    pub(super) struct Fields<'s> {
        pub assessor: &'s Assessor,
        pub allow_extra: bool,
        pub values: &'s mut Vec<Value>,
        pub errors: &'s mut Vec<FactError>,
        pub extract: &'s [&'s str],
        pub extracted: &'s mut Vec<Option<String>>,
    }

    struct Key<'a>(Cow<'a, str>);

    impl<'de> Deserialize<'de> for Key<'de> {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a field name")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v.to_string())))
                }
            }
            d.deserialize_str(V)
        }
    }

    enum Raw<'a> {
        Str(Cow<'a, str>),
        Json(serde_json::Value),
    }

    struct RawSeed;

    impl<'de> DeserializeSeed<'de> for RawSeed {
        type Value = Raw<'de>;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Raw<'de>, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Raw<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a field value")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Raw<'de>, E> {
                    Ok(Raw::Str(Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> Result<Raw<'de>, E> {
                    Ok(Raw::Str(Cow::Owned(v.to_string())))
                }
                fn visit_bool<E>(self, v: bool) -> Result<Raw<'de>, E> {
                    Ok(Raw::Json(serde_json::Value::Bool(v)))
                }
                fn visit_i64<E>(self, v: i64) -> Result<Raw<'de>, E> {
                    Ok(Raw::Json(v.into()))
                }
                fn visit_u64<E>(self, v: u64) -> Result<Raw<'de>, E> {
                    Ok(Raw::Json(v.into()))
                }
                fn visit_f64<E>(self, v: f64) -> Result<Raw<'de>, E> {
                    Ok(Raw::Json(serde_json::Number::from_f64(v).map_or(
                        serde_json::Value::Null,
                        serde_json::Value::Number,
                    )))
                }
                fn visit_unit<E>(self) -> Result<Raw<'de>, E> {
                    Ok(Raw::Json(serde_json::Value::Null))
                }
                fn visit_none<E>(self) -> Result<Raw<'de>, E> {
                    Ok(Raw::Json(serde_json::Value::Null))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw<'de>, A::Error> {
                    let mut out = Vec::new();
                    while let Some(x) = seq.next_element::<serde_json::Value>()? {
                        out.push(x);
                    }
                    Ok(Raw::Json(serde_json::Value::Array(out)))
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
                    let mut out = serde_json::Map::new();
                    while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                        out.insert(k, v);
                    }
                    Ok(Raw::Json(serde_json::Value::Object(out)))
                }
            }
            d.deserialize_any(V)
        }
    }

    impl<'de> Visitor<'de> for Fields<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object of fields")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                let raw = map.next_value_seed(RawSeed)?;
                for (slot, name) in self.extracted.iter_mut().zip(self.extract) {
                    if *name == key {
                        *slot = match &raw {
                            Raw::Str(s) => Some(s.to_string()),
                            Raw::Json(serde_json::Value::Null) => None,
                            Raw::Json(v) => Some(v.to_string()),
                        };
                    }
                }
                let field = match &raw {
                    Raw::Str(s) => Field::Str(s),
                    Raw::Json(v) => Field::Json(v),
                };
                self.assessor
                    .field(&key, field, self.allow_extra, self.values, self.errors);
            }
            Ok(())
        }
    }
}

/// A compiled procedure ready to assess records.
#[derive(Debug, Clone)]
pub struct Assessor {
    plan: Plan,
    timestamp_format: Option<String>,
    /// Input field name (a fact's name or a mapped column) → fact slot, for fast reading.
    slots: std::collections::HashMap<Box<str>, usize, crate::hash::FastHash>,
    /// Per slot: the `value` mapping lines of that fact, if any.
    value_maps: Vec<Option<std::collections::BTreeMap<String, String>>>,
}

/// Assesses one set of facts (compiles the procedure each call; use [`Assessor`] for many).
pub fn assess(
    procedure: &Procedure,
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Result<Assessment, Vec<FactError>> {
    let a = Assessor::new(procedure);
    let facts = a.facts_from_json(fields, false)?;
    Ok(a.assess(facts))
}

struct Ctx<'a> {
    facts: &'a [Value],
    priority: Option<&'a str>,
    validity: Option<&'a str>,
    targets: &'a [(String, i64)],
    decisions: &'a [Vec<Value>],
    /// Recorded step outcomes (step, outcome), when checking a case.
    outcomes: &'a [(String, String)],
}

fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

fn tri(b: Option<bool>) -> Value {
    b.map_or(Value::Unknown, Value::Bool)
}

impl Assessor {
    pub fn new(procedure: &Procedure) -> Self {
        let mut a = Assessor {
            plan: Plan::new(procedure),
            timestamp_format: None,
            slots: Default::default(),
            value_maps: Vec::new(),
        };
        a.index_fields();
        a
    }

    fn index_fields(&mut self) {
        let p = &self.plan;
        let mut slots: std::collections::HashMap<Box<str>, usize, crate::hash::FastHash> = p
            .fact_index
            .iter()
            .filter(|(name, _)| !p.columns.contains_key(name.as_str()))
            .map(|(n, &i)| (n.as_str().into(), i))
            .collect();
        for (column, fact) in &p.columns {
            if let Some(&i) = p.fact_index.get(fact) {
                slots.insert(column.as_str().into(), i);
            }
        }
        self.value_maps = p
            .facts
            .iter()
            .map(|f| p.values.get(&f.name).cloned())
            .collect();
        self.slots = slots;
    }

    /// Parses timestamp facts in text inputs with this strftime format (e.g. `%d/%m/%Y %H:%M`),
    /// taken as UTC unless the format has a zone.
    pub fn set_timestamp_format(&mut self, format: Option<String>) {
        self.timestamp_format = format;
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Reads field `field` (a fact, `case` or `priority`) from input column `column`.
    pub fn map_column(&mut self, column: &str, field: &str) {
        self.plan.columns.retain(|_, f| f != field);
        self.plan
            .columns
            .insert(column.to_string(), field.to_string());
        self.index_fields();
    }

    /// The input column mapped to `field`, if any.
    pub fn column_for(&self, field: &str) -> Option<String> {
        self.plan
            .columns
            .iter()
            .find(|(_, f)| *f == field)
            .map(|(c, _)| c.clone())
    }

    /// Maps an input field name to a fact through the procedure's `mapping`.
    pub fn fact_for_column<'s>(&'s self, column: &'s str) -> Option<&'s str> {
        if let Some(f) = self.plan.columns.get(column) {
            return Some(f.as_str());
        }
        self.plan.fact_index.contains_key(column).then_some(column)
    }

    /// Applies `value FACT "raw" -> v` mapping lines.
    pub fn map_value<'s>(&'s self, fact: &str, raw: &'s str) -> &'s str {
        self.plan
            .values
            .get(fact)
            .and_then(|m| m.get(raw))
            .map_or(raw, String::as_str)
    }

    fn slot(&self, name: &str) -> Option<usize> {
        self.plan.fact_index.get(name).copied()
    }

    /// Validates text fields (CSV) against the schema. Unmapped columns are ignored.
    pub fn facts_from_text<'a>(
        &self,
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
        missing: &[String],
    ) -> Result<Facts, Vec<FactError>> {
        let mut values = vec![Value::Missing; self.plan.facts.len()];
        let mut errors = Vec::new();
        for (column, raw) in fields {
            let Some(fact) = self.fact_for_column(column) else {
                continue;
            };
            let Some(i) = self.slot(fact) else { continue };
            let raw = raw.trim();
            if raw.is_empty() || missing.iter().any(|m| m == raw) {
                continue;
            }
            let mapped = self.map_value(fact, raw);
            let slot = &self.plan.facts[i];
            if mapped == "unknown" && slot.three_valued {
                values[i] = Value::Unknown;
                continue;
            }
            let converted = match (&slot.ty, &self.timestamp_format) {
                (Type::Timestamp, Some(f)) => {
                    value::timestamp_with_format(mapped, f).map(Value::Timestamp)
                }
                _ => value::from_text(mapped, &slot.ty),
            };
            match converted {
                Ok(v) => values[i] = v,
                Err(m) => errors.push(FactError {
                    field: fact.to_string(),
                    message: m,
                }),
            }
        }
        self.finish(values, errors)
    }

    /// Validates a JSON or YAML object against the schema; unknown fields are errors
    /// unless `allow_extra` (an `id` field is always allowed).
    pub fn facts_from_json(
        &self,
        fields: &serde_json::Map<String, serde_json::Value>,
        allow_extra: bool,
    ) -> Result<Facts, Vec<FactError>> {
        let mut values = vec![Value::Missing; self.plan.facts.len()];
        let mut errors = Vec::new();
        for (key, raw) in fields {
            let field = match raw {
                serde_json::Value::String(s) => Field::Str(s),
                other => Field::Json(other),
            };
            self.field(key, field, allow_extra, &mut values, &mut errors);
        }
        self.finish(values, errors)
    }

    /// Parses one JSON object (a JSON Lines record) straight into fact slots, without
    /// building a JSON tree. Also returns the text of each field named in `extract`
    /// (e.g. the id and recorded-priority columns).
    pub fn facts_from_json_str(
        &self,
        text: &str,
        allow_extra: bool,
        extract: &[&str],
    ) -> Result<(Facts, Vec<Option<String>>), Vec<FactError>> {
        use serde::Deserializer as _;
        let mut values = vec![Value::Missing; self.plan.facts.len()];
        let mut errors = Vec::new();
        let mut extracted = vec![None; extract.len()];
        let mut de = serde_json::Deserializer::from_str(text);
        let visitor = fast::Fields {
            assessor: self,
            allow_extra,
            values: &mut values,
            errors: &mut errors,
            extract,
            extracted: &mut extracted,
        };
        let parsed = de.deserialize_map(visitor).and_then(|()| de.end());
        if let Err(e) = parsed {
            let message = if e.is_data() {
                "a record must be a JSON object of fields".to_string()
            } else {
                format!("not valid JSON at column {}: {e}", e.column())
            };
            return Err(vec![FactError {
                field: String::new(),
                message,
            }]);
        }
        self.finish(values, errors).map(|f| (f, extracted))
    }

    fn field(
        &self,
        key: &str,
        raw: Field<'_>,
        allow_extra: bool,
        values: &mut [Value],
        errors: &mut Vec<FactError>,
    ) {
        let Some(&i) = self.slots.get(key) else {
            if !allow_extra && key != "id" && !self.plan.columns.contains_key(key) {
                let hint = self
                    .plan
                    .fact_index
                    .keys()
                    .map(|n| (crate::diagnostic::edit_distance(key, n), n))
                    .filter(|(d, _)| *d <= 2)
                    .min()
                    .map(|(_, n)| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                errors.push(FactError {
                    field: key.to_string(),
                    message: format!("`{key}` is not a fact of this procedure{hint}"),
                });
            }
            return;
        };
        let fact = &self.plan.facts[i];
        let converted = match raw {
            Field::Str(s) => {
                let mapped = self.value_maps[i]
                    .as_ref()
                    .and_then(|m| m.get(s))
                    .map_or(s, String::as_str);
                if fact.three_valued && mapped == "unknown" {
                    values[i] = Value::Unknown;
                    return;
                }
                value::from_text(mapped, &fact.ty)
            }
            Field::Json(other) => value::from_json(other, &fact.ty),
        };
        match converted {
            Ok(v) => values[i] = v,
            Err(m) => errors.push(FactError {
                field: fact.name.clone(),
                message: m,
            }),
        }
    }

    fn finish(
        &self,
        values: Vec<Value>,
        mut errors: Vec<FactError>,
    ) -> Result<Facts, Vec<FactError>> {
        for (slot, v) in self.plan.facts.iter().zip(&values) {
            let reported = errors.iter().any(|e| e.field == slot.name);
            if matches!(v, Value::Missing) && !slot.optional && !reported {
                errors.push(FactError {
                    field: slot.name.clone(),
                    message: format!("required fact `{}` ({}) is missing", slot.name, slot.ty),
                });
            }
        }
        if errors.is_empty() {
            Ok(Facts { values })
        } else {
            Err(errors)
        }
    }

    /// Compiles an expression from the procedure's flow for [`Assessor::evaluate`].
    pub fn compile_expr(&self, procedure: &Procedure, e: &crate::ast::Expr) -> FlowExpr {
        FlowExpr(self.plan.compile_expr(procedure, e))
    }

    /// Compiles a `decide` for [`Assessor::choose`].
    pub fn compile_decide(&self, procedure: &Procedure, d: &crate::ast::Decide) -> DecideRule {
        DecideRule {
            subject: d
                .subject
                .as_ref()
                .map(|e| self.plan.compile_expr(procedure, e)),
            branches: d
                .branches
                .iter()
                .map(|b| {
                    self.plan
                        .compile_tests(procedure, &b.tests, d.subject.as_ref())
                })
                .collect(),
            has_else: d.otherwise.is_some(),
        }
    }

    /// Evaluates a flow expression in an assessed situation.
    pub fn evaluate(&self, e: &FlowExpr, s: &Situation<'_>) -> Value {
        self.in_situation(s, |ctx| eval(&e.0, ctx))
    }

    fn in_situation<R>(&self, s: &Situation<'_>, f: impl FnOnce(&Ctx<'_>) -> R) -> R {
        let owned;
        let p = match s.prepared {
            Some(p) => p,
            None => {
                owned = Prepared::new(s.assessment);
                &owned
            }
        };
        let ctx = Ctx {
            facts: &p.facts,
            priority: s.priority,
            validity: p.validity.as_deref(),
            targets: s.targets.unwrap_or(&p.targets),
            decisions: &p.decisions,
            outcomes: s.outcomes,
        };
        f(&ctx)
    }

    /// Which branch of a `decide` the situation calls for: `Some(i)` for the i-th
    /// `when` (the number of `when`s for `else`); `None` when it cannot be told (a
    /// value the decision reads is missing or unknown, or no branch matches).
    pub fn choose(&self, d: &DecideRule, s: &Situation<'_>) -> Option<usize> {
        self.in_situation(s, |ctx| {
            let subject = match &d.subject {
                Some(e) => {
                    let v = eval(e, ctx);
                    if !v.is_known() {
                        return None;
                    }
                    v
                }
                None => Value::Bool(true),
            };
            for (i, tests) in d.branches.iter().enumerate() {
                let mut undetermined = false;
                for (neg, t) in tests {
                    match test(t, &subject, ctx) {
                        Some(b) if b != *neg => return Some(i),
                        Some(_) => {}
                        None => undetermined = true,
                    }
                }
                if undetermined {
                    return None;
                }
            }
            d.has_else.then_some(d.branches.len())
        })
    }

    /// The targets of a level (conditional target lines first), in a context.
    fn targets_in(&self, level: &str, ctx: &Ctx<'_>) -> Vec<TargetOutcome> {
        let p = &self.plan;
        let mut targets: Vec<TargetOutcome> = Vec::new();
        let Some(li) = p.levels.iter().position(|x| x == level) else {
            return targets;
        };
        let ctx = Ctx {
            priority: Some(level),
            ..*ctx
        };
        // A target line with a condition that holds is more specific than an
        // unconditional one for the same level and kind, so it is tried first.
        let conditional = p
            .targets
            .iter()
            .filter(|t| t.level == li && t.when.is_some());
        let unconditional = p
            .targets
            .iter()
            .filter(|t| t.level == li && t.when.is_none());
        for t in conditional.chain(unconditional) {
            if targets.iter().any(|x| x.kind == t.kind) {
                continue;
            }
            let applies = t
                .when
                .as_ref()
                .is_none_or(|w| bool_of(&eval(w, &ctx)) == Some(true));
            if !applies {
                continue;
            }
            if let Value::Duration(ms) = eval(&t.limit, &ctx) {
                targets.push(TargetOutcome {
                    kind: t.kind.clone(),
                    limit: value::format_duration(ms),
                    limit_ms: ms,
                    line: t.line,
                });
            }
        }
        targets
    }

    /// The targets that apply at `level` to an assessed incident (after a regrade).
    pub fn targets_for(&self, level: &str, a: &Assessment) -> Vec<TargetOutcome> {
        let facts: Vec<Value> = a.facts.iter().map(|(_, v)| v.clone()).collect();
        let validity = a.validity.as_ref().and_then(|v| v.band.clone());
        let decisions: Vec<Vec<Value>> = a.decisions.iter().map(|d| d.values.clone()).collect();
        let ctx = Ctx {
            facts: &facts,
            priority: Some(level),
            validity: validity.as_deref(),
            targets: &[],
            decisions: &decisions,
            outcomes: &[],
        };
        self.targets_in(level, &ctx)
    }

    /// The priority scale, highest first.
    pub fn levels(&self) -> &[String] {
        &self.plan.levels
    }

    /// The general decisions (the `decisions` section), in order: each may read those
    /// before it, and the validity band when it is known.
    fn decisions(
        &self,
        facts: &[Value],
        validity: Option<&str>,
        errors: &mut Vec<String>,
    ) -> (Vec<Vec<Value>>, Vec<MethodOutcome>) {
        let p = &self.plan;
        let mut values: Vec<Vec<Value>> = Vec::with_capacity(p.decisions.len());
        let mut outcomes = Vec::with_capacity(p.decisions.len());
        for d in &p.decisions {
            let ctx = Ctx {
                facts,
                priority: None,
                validity,
                targets: &[],
                decisions: &values,
                outcomes: &[],
            };
            let (v, outcome) = self.run_method(d, &ctx, false);
            if let Some(e) = &outcome.error {
                errors.push(format!("decision `{}`: {e}", d.name));
            }
            values.push(v);
            outcomes.push(outcome);
        }
        (values, outcomes)
    }

    /// Assesses validated facts.
    pub fn assess(&self, facts: Facts) -> Assessment {
        let p = &self.plan;
        // Unknown policies resolve `unknown` before any rule reads a fact.
        let mut resolved = facts.values;
        for (slot, v) in p.facts.iter().zip(resolved.iter_mut()) {
            if let (Value::Unknown, Some(policy)) = (&*v, &slot.unknown_as) {
                *v = policy.clone();
            }
        }
        let mut errors = Vec::new();
        let (mut decision_values, mut decisions) = self.decisions(&resolved, None, &mut errors);
        let ctx = Ctx {
            facts: &resolved,
            priority: None,
            validity: None,
            targets: &[],
            decisions: &decision_values,
            outcomes: &[],
        };
        let applies = p
            .applies
            .as_ref()
            .map(|e| bool_of(&eval(e, &ctx)))
            .unwrap_or(Some(true));
        let validity = p.validity.as_ref().map(|s| score(s, &ctx));
        let validity_band = validity.as_ref().and_then(|v| v.band.clone());
        // Decisions that read the validity band run again now that it is known.
        if validity_band.is_some() && p.decisions.iter().any(|d| d.reads_validity()) {
            errors.clear();
            (decision_values, decisions) =
                self.decisions(&resolved, validity_band.as_deref(), &mut errors);
        }
        let ctx = Ctx {
            facts: &resolved,
            priority: None,
            validity: validity_band.as_deref(),
            targets: &[],
            decisions: &decision_values,
            outcomes: &[],
        };
        let priority = (!p.levels.is_empty()).then(|| self.priority(&ctx, &mut errors));
        let level = priority.as_ref().and_then(|pr| pr.level.clone());
        let targets = level
            .as_deref()
            .map(|l| self.targets_in(l, &ctx))
            .unwrap_or_default();
        let facts = p
            .facts
            .iter()
            .map(|s| s.shared_name.clone())
            .zip(resolved)
            .collect();
        Assessment {
            applies,
            validity,
            priority,
            targets,
            decisions,
            facts,
            errors,
        }
    }

    fn priority(&self, ctx: &Ctx<'_>, errors: &mut Vec<String>) -> PriorityOutcome {
        let p = &self.plan;
        let mut overrides = Vec::new();
        let mut best_override: Option<usize> = None;
        // `at least` overrides set a floor under the methods' result instead.
        let mut floor: Option<(usize, usize)> = None;
        for o in &p.overrides {
            if bool_of(&eval(&o.when, ctx)) == Some(true) {
                overrides.push(OverrideOutcome {
                    level: p.levels[o.level].clone(),
                    requires: o.requires.clone(),
                    line: o.line,
                });
                if o.at_least {
                    if floor.is_none_or(|(l, _)| o.level < l) {
                        floor = Some((o.level, o.line));
                    }
                } else {
                    best_override = Some(best_override.map_or(o.level, |b: usize| b.min(o.level)));
                }
            }
        }
        let mut methods = Vec::new();
        let mut results: Vec<(usize, usize)> = Vec::new();
        for (mi, m) in p.methods.iter().enumerate() {
            let (values, outcome) = self.run_method(m, ctx, true);
            if let Some(e) = &outcome.error {
                errors.push(format!("{} `{}`: {e}", outcome.kind, m.name));
            }
            if let Some(li) = values.first().and_then(|v| self.level_of(v)) {
                results.push((mi, li));
            }
            methods.push(outcome);
        }
        if let Some(li) = best_override {
            let lines: Vec<String> = overrides
                .iter()
                .filter(|o| o.level == p.levels[li])
                .map(|o| format!("line {}", o.line))
                .collect();
            return PriorityOutcome {
                level: Some(p.levels[li].clone()),
                decided_by: format!("override ({})", lines.join(", ")),
                overrides,
                methods,
            };
        }
        let chosen = match p.combine {
            CombineRule::First => results.first().copied(),
            CombineRule::Highest => results.iter().copied().min_by_key(|r| r.1),
            CombineRule::Lowest => results.iter().copied().max_by_key(|r| r.1),
        };
        let (level, decided_by) = match chosen {
            Some((mi, li)) => {
                let m = &p.methods[mi];
                let how = if results.len() > 1 {
                    format!(
                        "{} `{}` (combine {:?} of {} methods)",
                        methods[mi].kind,
                        m.name,
                        p.combine,
                        results.len()
                    )
                    .to_lowercase()
                } else {
                    format!("{} `{}`", methods[mi].kind, m.name)
                };
                (Some(p.levels[li].clone()), how)
            }
            None => (None, "no method produced a level".to_string()),
        };
        // An `at least` override raises a lower (or missing) result to its level.
        let (level, decided_by) = match floor {
            Some((fl, line))
                if level
                    .as_ref()
                    .and_then(|l| p.levels.iter().position(|x| x == l))
                    .is_none_or(|li| li > fl) =>
            {
                (
                    Some(p.levels[fl].clone()),
                    format!("override at least (line {line}), above {decided_by}"),
                )
            }
            _ => (level, decided_by),
        };
        PriorityOutcome {
            level,
            decided_by,
            overrides,
            methods,
        }
    }

    fn level_of(&self, v: &Value) -> Option<usize> {
        match v {
            Value::Symbol(s) => self.plan.levels.iter().position(|l| l == s),
            _ => None,
        }
    }

    /// Output priority for `priority`/`output order`/`max`: lower sorts first (more important).
    fn output_rank(&self, v: &Value, ty: &Type) -> (i64, f64) {
        match (v, ty) {
            (Value::Symbol(s), Type::Level) => (
                self.plan
                    .levels
                    .iter()
                    .position(|l| l == s)
                    .map_or(i64::MAX, |i| i as i64),
                0.0,
            ),
            (Value::Symbol(s), Type::Enum(vs) | Type::Band(_, vs)) => (
                vs.iter()
                    .position(|x| x == s)
                    .map_or(i64::MAX, |i| i as i64),
                0.0,
            ),
            (Value::Int(i), _) => (0, -(*i as f64)),
            (Value::Decimal(d), _) => (0, -d),
            (Value::Duration(d), _) => (0, -(*d as f64)),
            _ => (i64::MAX, 0.0),
        }
    }

    fn run_method(
        &self,
        m: &CMethod,
        ctx: &Ctx<'_>,
        priority: bool,
    ) -> (Vec<Value>, MethodOutcome) {
        match &m.kind {
            CMethodKind::Table(t) => self.table(m, t, ctx, priority),
            CMethodKind::Matrix(mx) => matrix(m, mx, ctx),
            CMethodKind::Score(s) => {
                let o = score(s, ctx);
                let result = o.band.clone();
                let fired: Vec<String> = o
                    .fired
                    .iter()
                    .map(|f| format!("{} {:+}", f.rule, f.weight))
                    .collect();
                let reason = format!(
                    "score {} from [{}] → band `{}` ({})",
                    o.score,
                    fired.join(", "),
                    result.as_deref().unwrap_or("none"),
                    o.band_rule
                );
                let lines = o.fired.iter().map(|f| f.line).collect();
                let values: Vec<Value> = result.iter().map(|b| Value::Symbol(b.clone())).collect();
                (
                    values.clone(),
                    MethodOutcome {
                        method: m.name.clone(),
                        kind: "score",
                        result,
                        reason,
                        matched_lines: lines,
                        line: m.line,
                        error: None,
                        values,
                    },
                )
            }
        }
    }

    fn table(
        &self,
        m: &CMethod,
        t: &CTable,
        ctx: &Ctx<'_>,
        priority: bool,
    ) -> (Vec<Value>, MethodOutcome) {
        let inputs: Vec<Value> = t.inputs.iter().map(|e| eval(e, ctx)).collect();
        let matched: Vec<usize> = t
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| row_matches(r, &inputs, ctx))
            .map(|(i, _)| i)
            .collect();
        let out_ty = t.outputs.first().map_or(Type::Error, |o| {
            if priority { Type::Level } else { o.1.clone() }
        });
        let row_name = |i: usize| format!("row {} (line {})", i + 1, t.rows[i].line);
        let inputs_text = t
            .input_names
            .iter()
            .zip(&inputs)
            .map(|(n, v)| format!("{n} = {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut error = None;
        let (values, reason): (Vec<Value>, String) = if matched.is_empty() {
            (Vec::new(), format!("no row matches {inputs_text}"))
        } else {
            let first = matched[0];
            match t.hit {
                HitPolicy::Unique => {
                    if matched.len() > 1 {
                        error = Some(format!(
                            "hit policy `unique` but {} and {} both match {inputs_text}",
                            row_name(matched[0]),
                            row_name(matched[1])
                        ));
                        (Vec::new(), "several rows match under `unique`".into())
                    } else {
                        (
                            t.rows[first].outputs.clone(),
                            format!("only {} matches {inputs_text}", row_name(first)),
                        )
                    }
                }
                HitPolicy::First => (
                    t.rows[first].outputs.clone(),
                    if matched.len() > 1 {
                        format!(
                            "{} is the first of {} matching rows for {inputs_text}",
                            row_name(first),
                            matched.len()
                        )
                    } else {
                        format!("{} matches {inputs_text}", row_name(first))
                    },
                ),
                HitPolicy::Any => {
                    let out = &t.rows[first].outputs;
                    if let Some(&other) = matched.iter().find(|&&i| t.rows[i].outputs != *out) {
                        error = Some(format!(
                            "hit policy `any` but {} and {} match with different outputs",
                            row_name(first),
                            row_name(other)
                        ));
                        (Vec::new(), "matching rows disagree under `any`".into())
                    } else {
                        (
                            out.clone(),
                            format!("{} agree for {inputs_text}", matching(matched.len())),
                        )
                    }
                }
                HitPolicy::Priority
                | HitPolicy::OutputOrder
                | HitPolicy::RuleOrder
                | HitPolicy::Collect(_) => {
                    let mut outs: Vec<(usize, Value)> = matched
                        .iter()
                        .map(|&i| {
                            (
                                i,
                                t.rows[i].outputs.first().cloned().unwrap_or(Value::Missing),
                            )
                        })
                        .collect();
                    let rank = |v: &Value| self.output_rank(v, &out_ty);
                    let by_rank = |a: &(usize, Value), b: &(usize, Value)| {
                        let (ra, rb) = (rank(&a.1), rank(&b.1));
                        ra.0.cmp(&rb.0)
                            .then(ra.1.partial_cmp(&rb.1).unwrap_or(Ordering::Equal))
                            .then(a.0.cmp(&b.0))
                    };
                    match t.hit {
                        HitPolicy::Priority => {
                            outs.sort_by(by_rank);
                            let (i, v) = outs[0].clone();
                            let ties = outs.iter().filter(|o| rank(&o.1) == rank(&v)).count();
                            let tie_note = if ties > 1 {
                                format!("; {ties} rows give it, the first in rule order wins")
                            } else {
                                String::new()
                            };
                            (
                                vec![v.clone()],
                                format!(
                                    "{} of {} gives the highest-priority output `{v}`{tie_note}",
                                    row_name(i),
                                    matching(matched.len())
                                ),
                            )
                        }
                        HitPolicy::OutputOrder => {
                            outs.sort_by(by_rank);
                            let list: Vec<Value> = outs.iter().map(|o| o.1.clone()).collect();
                            (
                                list,
                                format!("{}, outputs in priority order", matching(matched.len())),
                            )
                        }
                        HitPolicy::RuleOrder | HitPolicy::Collect(None) => {
                            let list: Vec<Value> = outs.iter().map(|o| o.1.clone()).collect();
                            if priority {
                                let best = outs
                                    .iter()
                                    .min_by(|a, b| by_rank(a, b))
                                    .map(|o| o.1.clone());
                                (
                                    best.into_iter().collect(),
                                    format!(
                                        "{}; the highest level is used",
                                        matching(matched.len())
                                    ),
                                )
                            } else {
                                (
                                    vec![Value::List(list)],
                                    format!("{} collected in rule order", matching(matched.len())),
                                )
                            }
                        }
                        HitPolicy::Collect(Some(op)) => {
                            let v = collect(op, &outs, &by_rank);
                            (
                                vec![v.clone()],
                                format!("collect {op:?} over {} = {v}", matching(matched.len()))
                                    .to_lowercase(),
                            )
                        }
                        _ => (Vec::new(), String::new()),
                    }
                }
            }
        };
        let result = values
            .first()
            .filter(|v| !matches!(v, Value::List(_)))
            .map(ToString::to_string);
        let outcome = MethodOutcome {
            method: m.name.clone(),
            kind: "table",
            result,
            reason,
            matched_lines: matched.iter().map(|&i| t.rows[i].line).collect(),
            line: m.line,
            error,
            values: values.clone(),
        };
        (values, outcome)
    }
}

/// "1 matching row", "3 matching rows".
fn matching(n: usize) -> String {
    if n == 1 {
        "1 matching row".to_string()
    } else {
        format!("{n} matching rows")
    }
}

/// Orders matched (row, output) pairs, most important first.
type RankFn<'a> = dyn Fn(&(usize, Value), &(usize, Value)) -> Ordering + 'a;

fn collect(op: CollectOp, outs: &[(usize, Value)], by_rank: &RankFn<'_>) -> Value {
    match op {
        CollectOp::Count => Value::Int(outs.len() as i64),
        CollectOp::Max => outs
            .iter()
            .min_by(|a, b| by_rank(a, b))
            .map_or(Value::Missing, |o| o.1.clone()),
        CollectOp::Min => outs
            .iter()
            .max_by(|a, b| by_rank(a, b))
            .map_or(Value::Missing, |o| o.1.clone()),
        CollectOp::Sum => {
            let all_int = outs.iter().all(|o| matches!(o.1, Value::Int(_)));
            if all_int {
                Value::Int(
                    outs.iter()
                        .map(|o| if let Value::Int(i) = o.1 { i } else { 0 })
                        .sum(),
                )
            } else {
                Value::Decimal(
                    outs.iter()
                        .map(|o| match o.1 {
                            Value::Int(i) => i as f64,
                            Value::Decimal(d) => d,
                            _ => 0.0,
                        })
                        .sum(),
                )
            }
        }
    }
}

fn matrix(m: &CMethod, mx: &CMatrix, ctx: &Ctx<'_>) -> (Vec<Value>, MethodOutcome) {
    let r = eval(&mx.rows_by, ctx);
    let c = eval(&mx.cols_by, ctx);
    let col = mx
        .col_values
        .iter()
        .position(|v| v.loose_eq(&c) == Some(true));
    let row = mx.rows.iter().find(|row| row.0.loose_eq(&r) == Some(true));
    let (values, reason, lines) = match (row, col) {
        (Some((_, cells, line)), Some(ci)) => {
            let v = cells.get(ci).cloned().unwrap_or(Value::Missing);
            (
                vec![v.clone()],
                format!(
                    "{} = {r} (row), {} = {c} (column) → {v}",
                    mx.rows_name, mx.cols_name
                ),
                vec![*line],
            )
        }
        _ => (
            Vec::new(),
            format!("no cell for {} = {r}, {} = {c}", mx.rows_name, mx.cols_name),
            Vec::new(),
        ),
    };
    let result = values.first().map(ToString::to_string);
    (
        values.clone(),
        MethodOutcome {
            method: m.name.clone(),
            kind: "matrix",
            result,
            reason,
            matched_lines: lines,
            line: m.line,
            error: None,
            values,
        },
    )
}

fn score(s: &CScore, ctx: &Ctx<'_>) -> ScoreOutcome {
    let mut total = 0.0;
    let mut fired = Vec::new();
    for i in &s.indicators {
        if bool_of(&eval(&i.when, ctx)) == Some(true) {
            total += i.weight;
            fired.push(Fired {
                rule: i.name.clone(),
                weight: i.weight,
                line: i.line,
            });
        }
    }
    let mut band = None;
    let mut band_rule = String::new();
    for (name, bound) in &s.bands {
        let holds = match bound {
            None => true,
            Some((op, n)) => match op {
                CmpOp::Ge => total >= *n,
                CmpOp::Gt => total > *n,
                CmpOp::Le => total <= *n,
                CmpOp::Lt => total < *n,
            },
        };
        if holds {
            band = Some(name.clone());
            band_rule = match bound {
                Some((op, n)) => format!("score {} {n}", op.text()),
                None => "no other band applies".to_string(),
            };
            break;
        }
    }
    ScoreOutcome {
        score: total,
        band,
        band_rule,
        fired,
        line: s.bands_line,
    }
}

fn row_matches(r: &plan::CRow, inputs: &[Value], ctx: &Ctx<'_>) -> bool {
    r.cells.iter().zip(inputs).all(|(cell, v)| match cell {
        None => true,
        Some(tests) => tests
            .iter()
            .any(|(neg, t)| test(t, v, ctx).map(|b| b != *neg) == Some(true)),
    })
}

/// Whether `v` passes a cell test; `None` when `v` is unknown or missing.
fn test(t: &CTest, v: &Value, ctx: &Ctx<'_>) -> Option<bool> {
    if !v.is_known() {
        return None;
    }
    match t {
        CTest::Eq(e) => {
            let c = eval(e, ctx);
            match (&c, v) {
                (Value::List(xs), _) => Some(xs.iter().any(|x| x.loose_eq(v) == Some(true))),
                (_, Value::List(xs)) => Some(xs.iter().any(|x| x.loose_eq(&c) == Some(true))),
                _ => c.loose_eq(v),
            }
        }
        CTest::Cmp(op, e) => {
            let ord = v.compare(&eval(e, ctx))?;
            Some(match op {
                CmpOp::Ge => ord != Ordering::Less,
                CmpOp::Gt => ord == Ordering::Greater,
                CmpOp::Le => ord != Ordering::Greater,
                CmpOp::Lt => ord == Ordering::Less,
            })
        }
        CTest::Range(a, b) => {
            let lo = v.compare(&eval(a, ctx))?;
            let hi = v.compare(&eval(b, ctx))?;
            Some(lo != Ordering::Less && hi != Ordering::Greater)
        }
        CTest::Pattern(p) => match v {
            Value::Text(s) => Some(pattern_matches(p, s)),
            _ => None,
        },
    }
}

/// `*` matches one part between separators, `?` one character.
pub fn pattern_matches(pattern: &str, code: &str) -> bool {
    let seps = |c: char| !c.is_ascii_alphanumeric() && c != '*' && c != '?';
    let pp: Vec<&str> = pattern.split(seps).collect();
    let cp: Vec<&str> = code.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    pp.len() == cp.len()
        && pp.iter().zip(&cp).all(|(p, c)| {
            *p == "*"
                || (p.len() == c.len()
                    && p.chars()
                        .zip(c.chars())
                        .all(|(a, b)| a == '?' || a.eq_ignore_ascii_case(&b)))
        })
}

fn eval(e: &CExpr, ctx: &Ctx<'_>) -> Value {
    match e {
        CExpr::Const(v) => v.clone(),
        CExpr::Fact(i) => ctx.facts.get(*i).cloned().unwrap_or(Value::Missing),
        CExpr::IsUnknown(i) => Value::Bool(matches!(ctx.facts.get(*i), Some(Value::Unknown))),
        CExpr::IsMissing(i, negated) => {
            Value::Bool(matches!(ctx.facts.get(*i), Some(Value::Missing) | None) != *negated)
        }
        CExpr::Priority => ctx
            .priority
            .map_or(Value::Missing, |p| Value::Symbol(p.to_string())),
        CExpr::Validity => ctx
            .validity
            .map_or(Value::Missing, |p| Value::Symbol(p.to_string())),
        CExpr::Decision(d, o) => ctx
            .decisions
            .get(*d)
            .and_then(|vs| vs.get(*o))
            .cloned()
            .unwrap_or(Value::Missing),
        CExpr::Target(kind) => ctx
            .targets
            .iter()
            .find(|t| t.0 == *kind)
            .map_or(Value::Missing, |t| Value::Duration(t.1)),
        CExpr::Not(x) => tri(bool_of(&eval(x, ctx)).map(|b| !b)),
        CExpr::And(a, b) => match (bool_of(&eval(a, ctx)), bool_of(&eval(b, ctx))) {
            (Some(false), _) | (_, Some(false)) => Value::Bool(false),
            (Some(true), Some(true)) => Value::Bool(true),
            _ => Value::Unknown,
        },
        CExpr::Or(a, b) => match (bool_of(&eval(a, ctx)), bool_of(&eval(b, ctx))) {
            (Some(true), _) | (_, Some(true)) => Value::Bool(true),
            (Some(false), Some(false)) => Value::Bool(false),
            _ => Value::Unknown,
        },
        // The one integer (and duration) with no negation is unknown, as an overflowing
        // sum is.
        CExpr::Neg(x) => match eval(x, ctx) {
            Value::Int(i) => i.checked_neg().map_or(Value::Unknown, Value::Int),
            Value::Decimal(d) => Value::Decimal(-d),
            Value::Duration(d) => d.checked_neg().map_or(Value::Unknown, Value::Duration),
            _ => Value::Unknown,
        },
        CExpr::Cmp(op, a, b) => {
            let (x, y) = (eval(a, ctx), eval(b, ctx));
            match op {
                BinaryOp::Eq => tri(x.loose_eq(&y)),
                BinaryOp::Ne => tri(x.loose_eq(&y).map(|b| !b)),
                _ => tri(x.compare(&y).map(|o| match op {
                    BinaryOp::Lt => o == Ordering::Less,
                    BinaryOp::Le => o != Ordering::Greater,
                    BinaryOp::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                })),
            }
        }
        CExpr::In(a, b, negated) => {
            let x = eval(a, ctx);
            if !x.is_known() {
                return Value::Unknown;
            }
            let found = if let CExpr::Range(lo, hi) = b.as_ref() {
                match (x.compare(&eval(lo, ctx)), x.compare(&eval(hi, ctx))) {
                    (Some(l), Some(h)) => Some(l != Ordering::Less && h != Ordering::Greater),
                    _ => None,
                }
            } else {
                match (eval(b, ctx), &x) {
                    (Value::List(xs), _) => Some(xs.iter().any(|y| y.loose_eq(&x) == Some(true))),
                    (y, Value::List(xs)) => Some(xs.iter().any(|z| z.loose_eq(&y) == Some(true))),
                    _ => None,
                }
            };
            tri(found.map(|f| f != *negated))
        }
        CExpr::Range(a, b) => Value::List(vec![eval(a, ctx), eval(b, ctx)]),
        CExpr::Matches(a, p) => match eval(a, ctx) {
            Value::Text(s) => Value::Bool(pattern_matches(p, &s)),
            _ => Value::Unknown,
        },
        CExpr::Arith(op, a, b) => arith(*op, eval(a, ctx), eval(b, ctx)),
        CExpr::List(xs) => Value::List(xs.iter().map(|x| eval(x, ctx)).collect()),
        CExpr::Len(x) => match eval(x, ctx) {
            Value::List(xs) => Value::Int(xs.len() as i64),
            Value::Text(s) => Value::Int(s.chars().count() as i64),
            _ => Value::Unknown,
        },
        CExpr::Outcome(step) => ctx
            .outcomes
            .iter()
            .rev()
            .find(|(s, _)| s == step)
            .map_or(Value::Missing, |(_, o)| Value::Symbol(o.clone())),
        CExpr::MinMax(max, a, b) => {
            let (x, y) = (eval(a, ctx), eval(b, ctx));
            match x.compare(&y) {
                Some(o) => {
                    if (o == Ordering::Greater) == *max {
                        x
                    } else {
                        y
                    }
                }
                None => Value::Unknown,
            }
        }
    }
}

fn arith(op: BinaryOp, x: Value, y: Value) -> Value {
    use Value::*;
    match (op, x, y) {
        (BinaryOp::Add, Int(a), Int(b)) => a.checked_add(b).map_or(Unknown, Int),
        (BinaryOp::Sub, Int(a), Int(b)) => a.checked_sub(b).map_or(Unknown, Int),
        (BinaryOp::Mul, Int(a), Int(b)) => a.checked_mul(b).map_or(Unknown, Int),
        (BinaryOp::Div, Int(a), Int(b)) => {
            if b == 0 {
                Unknown
            } else {
                Decimal(a as f64 / b as f64)
            }
        }
        (BinaryOp::Add, Duration(a), Duration(b)) => a.checked_add(b).map_or(Unknown, Duration),
        (BinaryOp::Sub, Duration(a), Duration(b)) => a.checked_sub(b).map_or(Unknown, Duration),
        (BinaryOp::Mul, Duration(a), Int(b)) | (BinaryOp::Mul, Int(b), Duration(a)) => {
            a.checked_mul(b).map_or(Unknown, Duration)
        }
        // (checked: by zero, and the shortest duration by -1, are unknown)
        (BinaryOp::Div, Duration(a), Int(b)) => a.checked_div(b).map_or(Unknown, Duration),
        (BinaryOp::Sub, Timestamp(a), Timestamp(b)) => Duration((a - b).num_milliseconds()),
        (BinaryOp::Add, Timestamp(a), Duration(b)) => a
            .checked_add_signed(chrono::Duration::milliseconds(b))
            .map_or(Unknown, Timestamp),
        (BinaryOp::Sub, Timestamp(a), Duration(b)) => a
            .checked_sub_signed(chrono::Duration::milliseconds(b))
            .map_or(Unknown, Timestamp),
        (op, a, b) => match (num(&a), num(&b)) {
            (Some(a), Some(b)) => match op {
                BinaryOp::Add => Decimal(a + b),
                BinaryOp::Sub => Decimal(a - b),
                BinaryOp::Mul => Decimal(a * b),
                _ => {
                    if b == 0.0 {
                        Unknown
                    } else {
                        Decimal(a / b)
                    }
                }
            },
            _ => Unknown,
        },
    }
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Decimal(d) => Some(*d),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(pattern_matches("*-E-*", "09-E-01"));
        assert!(pattern_matches("09-*-*", "09-D-12"));
        assert!(!pattern_matches("*-E-*", "09-D-01"));
        assert!(pattern_matches("0?-D-*", "09-D-01"));
    }
}
