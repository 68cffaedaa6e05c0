//! procedo: procedures for incident contact centres as code.
pub mod ast;
pub mod diagnostic;
pub mod source;
pub(crate) mod syntax;
