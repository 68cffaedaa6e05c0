//! Run-time values of facts and expressions, and their conversion from input text.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::model::Type;

/// A fact or expression value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Decimal(f64),
    Text(String),
    /// An enum value, a band or a level name.
    Symbol(String),
    /// Milliseconds.
    Duration(i64),
    Timestamp(DateTime<FixedOffset>),
    Date(NaiveDate),
    List(Vec<Value>),
    /// Recorded as unknown (three-valued facts).
    Unknown,
    /// Not recorded (optional facts).
    Missing,
}

impl Value {
    pub fn is_known(&self) -> bool {
        !matches!(self, Value::Unknown | Value::Missing)
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Decimal(d) => Some(*d),
            _ => None,
        }
    }

    /// Equality across numeric kinds; `None` when either side is not known.
    pub fn loose_eq(&self, other: &Value) -> Option<bool> {
        if !self.is_known() || !other.is_known() {
            return None;
        }
        Some(match (self.as_f64(), other.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => self == other,
        })
    }

    /// Ordering of comparable values; `None` when not comparable or not known.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Duration(a), Value::Duration(b)) => Some(a.cmp(b)),
            (Value::Timestamp(a), Value::Timestamp(b)) => Some(a.cmp(b)),
            (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
            (Value::Text(a), Value::Text(b)) => Some(a.cmp(b)),
            _ => match (self.as_f64(), other.as_f64()) {
                (Some(a), Some(b)) => a.partial_cmp(&b),
                _ => None,
            },
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::Text(s) => write!(f, "\"{s}\""),
            Value::Symbol(s) => f.write_str(s),
            Value::Duration(ms) => f.write_str(&format_duration(*ms)),
            Value::Timestamp(t) => write!(f, "{}", t.to_rfc3339()),
            Value::Date(d) => write!(f, "{d}"),
            Value::List(xs) => {
                let parts: Vec<String> = xs.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", parts.join(", "))
            }
            Value::Unknown => f.write_str("unknown"),
            Value::Missing => f.write_str("missing"),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Decimal(d) => s.serialize_f64(*d),
            Value::Text(t) | Value::Symbol(t) => s.serialize_str(t),
            Value::List(xs) => s.collect_seq(xs),
            Value::Missing => s.serialize_none(),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

/// A duration in the language's own notation: `1h30m`, `45s`, `2d`.
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let mut rest = ms.unsigned_abs();
    let mut out = String::from(sign);
    for (unit, size) in [
        ("d", 86_400_000u64),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// Why a raw input value does not fit a fact's type.
pub type ConvertError = String;

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Parses a timestamp: RFC 3339, or common ISO forms without a zone (taken as UTC).
pub fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    match read_stamp(s, None)? {
        Stamp::Zoned(t) => Some(t),
        Stamp::Local(t) => Some(t.and_utc().fixed_offset()),
    }
}

/// A timestamp as written: with its offset, or a local time with none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    Zoned(DateTime<FixedOffset>),
    Local(NaiveDateTime),
}

/// Reads a timestamp with a strftime format, else as RFC 3339 or one of the ISO forms
/// (which no day-first or month-first format can be mistaken for), keeping apart a time
/// with an offset from a local time without one.
pub fn read_stamp(s: &str, format: Option<&str>) -> Option<Stamp> {
    let s = s.trim();
    if let Some(f) = format {
        let read = DateTime::parse_from_str(s, f)
            .map(Stamp::Zoned)
            .or_else(|_| NaiveDateTime::parse_from_str(s, f).map(Stamp::Local));
        if let Ok(t) = read {
            return Some(t);
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(Stamp::Zoned(t));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(Stamp::Zoned(t));
        }
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(Stamp::Local(t));
        }
    }
    None
}

/// Parses a timestamp with a strftime format; without a zone in the format it is UTC.
pub fn timestamp_with_format(s: &str, format: &str) -> Result<DateTime<FixedOffset>, ConvertError> {
    let s = s.trim();
    DateTime::parse_from_str(s, format)
        .or_else(|_| NaiveDateTime::parse_from_str(s, format).map(|t| t.and_utc().fixed_offset()))
        .map_err(|_| format!("`{s}` does not match the timestamp format `{format}`"))
}

/// Converts text from an input file to a value of `ty`.
pub fn from_text(s: &str, ty: &Type) -> Result<Value, ConvertError> {
    let t = s.trim();
    Ok(match ty {
        Type::Bool => {
            Value::Bool(parse_bool(t).ok_or_else(|| format!("`{t}` is not true or false"))?)
        }
        Type::Int => Value::Int(
            t.parse()
                .map_err(|_| format!("`{t}` is not a whole number"))?,
        ),
        Type::Decimal => Value::Decimal(t.parse().map_err(|_| format!("`{t}` is not a number"))?),
        Type::Text | Type::Error => Value::Text(t.to_string()),
        Type::Code(format) => {
            if !crate::model::types::code_matches_format(format, t) {
                return Err(format!("`{t}` does not have the code format \"{format}\""));
            }
            Value::Text(t.to_string())
        }
        Type::Duration => {
            let ms = crate::ast::parse_duration(t)
                .filter(|_| {
                    t.chars().next().is_some_and(|c| c.is_ascii_digit())
                        && !t.chars().all(|c| c.is_ascii_digit())
                })
                .or_else(|| {
                    t.parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .map(|secs| (secs * 1000.0) as i64)
                })
                .ok_or_else(|| {
                    format!("`{t}` is not a duration (write e.g. `15m`, or a number of seconds)")
                })?;
            Value::Duration(ms)
        }
        Type::Timestamp => Value::Timestamp(parse_timestamp(t).ok_or_else(|| {
            format!("`{t}` is not a timestamp (RFC 3339, e.g. 2026-04-01T09:30:00Z)")
        })?),
        Type::Date => Value::Date(
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map_err(|_| format!("`{t}` is not a date (YYYY-MM-DD)"))?,
        ),
        Type::Enum(values) | Type::Band(_, values) => {
            if values.iter().any(|v| v == t) {
                Value::Symbol(t.to_string())
            } else {
                return Err(format!("`{t}` is not one of {}", values.join(", ")));
            }
        }
        Type::Level => Value::Symbol(t.to_string()),
        Type::List(inner) => {
            let parts = t.split([';', '|']).map(str::trim).filter(|p| !p.is_empty());
            Value::List(
                parts
                    .map(|p| from_text(p, inner))
                    .collect::<Result<_, _>>()?,
            )
        }
    })
}

/// Converts a JSON/YAML value to a value of `ty`.
pub fn from_json(v: &serde_json::Value, ty: &Type) -> Result<Value, ConvertError> {
    use serde_json::Value as J;
    match (v, ty) {
        (J::Null, _) => Ok(Value::Missing),
        (J::Bool(b), Type::Bool) => Ok(Value::Bool(*b)),
        (J::Number(n), Type::Int) => n
            .as_i64()
            .map(Value::Int)
            .ok_or_else(|| format!("`{n}` is not a whole number")),
        (J::Number(n), Type::Decimal) => n
            .as_f64()
            .map(Value::Decimal)
            .ok_or_else(|| format!("`{n}` is not a number")),
        (J::Number(n), Type::Duration) => n
            .as_f64()
            .map(|s| Value::Duration((s * 1000.0) as i64))
            .ok_or_else(|| format!("`{n}` is not a number of seconds")),
        (J::Array(xs), Type::List(inner)) => Ok(Value::List(
            xs.iter()
                .map(|x| from_json(x, inner))
                .collect::<Result<_, _>>()?,
        )),
        (J::String(s), _) => from_text(s, ty),
        (other, _) => Err(format!("{other} is not a value of type {ty}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_conversions() {
        assert_eq!(from_text("yes", &Type::Bool), Ok(Value::Bool(true)));
        assert_eq!(
            from_text("15m", &Type::Duration),
            Ok(Value::Duration(900_000))
        );
        assert_eq!(
            from_text("90", &Type::Duration),
            Ok(Value::Duration(90_000))
        );
        assert!(from_text("x", &Type::Int).is_err());
        assert!(from_text("fax", &Type::Enum(vec!["phone".into()])).is_err());
        assert!(parse_timestamp("2026-04-01 09:30").is_some());
        assert!(parse_timestamp("2026-04-01T09:30:00+01:00").is_some());
        assert_eq!(format_duration(5_400_000), "1h30m");
    }
}
