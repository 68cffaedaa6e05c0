//! Static types of facts and expressions.

use std::fmt;

use serde::Serialize;

/// The type of a fact, parameter, decision output or expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Type {
    Bool,
    Int,
    Decimal,
    Text,
    Duration,
    Timestamp,
    Date,
    /// An enumeration, by its values in declared order.
    Enum(Vec<String>),
    List(Box<Type>),
    /// A structured code with its pattern, e.g. `NN-L-DD`.
    Code(String),
    /// A level of the priority scale.
    Level,
    /// A band of the named score (`validity` for the validity assessment).
    Band(String, Vec<String>),
    /// A type error was already reported; accept anything to avoid cascades.
    Error,
}

impl Type {
    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Decimal | Type::Error)
    }

    /// Values of this type can be ordered with `<`, `>=`, ranges and `max`.
    pub fn is_ordered(&self) -> bool {
        matches!(
            self,
            Type::Int
                | Type::Decimal
                | Type::Duration
                | Type::Timestamp
                | Type::Date
                | Type::Level
                | Type::Error
        )
    }

    /// Whether a value of `other` may be used where `self` is expected.
    pub fn accepts(&self, other: &Type) -> bool {
        match (self, other) {
            (Type::Error, _) | (_, Type::Error) => true,
            (Type::Decimal, Type::Int) => true,
            (Type::Enum(a), Type::Enum(b)) => b.iter().all(|v| a.contains(v)),
            (Type::Band(a, _), Type::Band(b, _)) => a == b,
            (Type::List(a), Type::List(b)) => a.accepts(b),
            (Type::Code(_), Type::Code(_)) => true,
            (a, b) => a == b,
        }
    }

    /// The bare names this type accepts as values (enum values, bands).
    pub fn symbols(&self) -> Option<&[String]> {
        match self {
            Type::Enum(vs) | Type::Band(_, vs) => Some(vs),
            _ => None,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Int => f.write_str("int"),
            Type::Decimal => f.write_str("decimal"),
            Type::Text => f.write_str("text"),
            Type::Duration => f.write_str("duration"),
            Type::Timestamp => f.write_str("timestamp"),
            Type::Date => f.write_str("date"),
            Type::Enum(vs) => {
                let shown: Vec<&str> = vs.iter().take(6).map(String::as_str).collect();
                let more = if vs.len() > 6 { " | ..." } else { "" };
                write!(f, "enum {}{more}", shown.join(" | "))
            }
            Type::List(t) => write!(f, "list of {t}"),
            Type::Code(p) => write!(f, "code \"{p}\""),
            Type::Level => f.write_str("priority level"),
            Type::Band(name, _) => write!(f, "band of `{name}`"),
            Type::Error => f.write_str("(unknown)"),
        }
    }
}

/// Checks a code pattern: `N` digit, `L` letter, `A` letter or digit, others literal.
pub fn code_matches_format(format: &str, value: &str) -> bool {
    let f: Vec<char> = format.chars().collect();
    let v: Vec<char> = value.chars().collect();
    f.len() == v.len()
        && f.iter().zip(&v).all(|(p, c)| match p {
            'N' | 'D' => c.is_ascii_digit(),
            'L' => c.is_ascii_alphabetic(),
            'A' => c.is_ascii_alphanumeric(),
            other => other == c,
        })
}

/// Checks that a match pattern (`*` for one segment, `?` for one character) fits a code format.
pub fn pattern_fits_format(format: &str, pattern: &str) -> bool {
    let seps: Vec<char> = format
        .chars()
        .filter(|c| !matches!(c, 'N' | 'D' | 'L' | 'A'))
        .collect();
    let fsegs: Vec<&str> = format.split(|c: char| seps.contains(&c)).collect();
    let psegs: Vec<&str> = pattern.split(|c: char| seps.contains(&c)).collect();
    if fsegs.len() != psegs.len() {
        return false;
    }
    fsegs.iter().zip(&psegs).all(|(fs, ps)| {
        *ps == "*"
            || (fs.len() == ps.len()
                && fs.chars().zip(ps.chars()).all(|(f, p)| {
                    p == '?'
                        || match f {
                            'N' | 'D' => p.is_ascii_digit(),
                            'L' => p.is_ascii_alphabetic(),
                            'A' => p.is_ascii_alphanumeric(),
                            other => other == p,
                        }
                }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_formats_and_patterns() {
        assert!(code_matches_format("NN-L-NN", "09-E-01"));
        assert!(!code_matches_format("NN-L-NN", "9-E-01"));
        assert!(pattern_fits_format("NN-L-NN", "*-E-*"));
        assert!(pattern_fits_format("NN-L-NN", "09-?-*"));
        assert!(!pattern_fits_format("NN-L-NN", "*-E"));
        assert!(!pattern_fits_format("NN-L-NN", "*-5-*"));
    }

    #[test]
    fn enums_accept_subsets() {
        let abc = Type::Enum(vec!["a".into(), "b".into(), "c".into()]);
        assert!(abc.accepts(&Type::Enum(vec!["a".into()])));
        assert!(!Type::Enum(vec!["a".into()]).accepts(&abc));
        assert!(Type::Decimal.accepts(&Type::Int));
        assert!(!Type::Int.accepts(&Type::Decimal));
    }
}
