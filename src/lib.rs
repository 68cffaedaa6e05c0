//! procedo: procedures for incident contact centres as code.
//!
//! The library API is not yet stable; the CLI, the JSON output and the
//! diagnostic codes are.
//!
//! Data flows one way: text → [`syntax`] (pest pairs) → [`ast`] (typed tree with
//! spans) → [`model`] (resolved, type-checked, compiled to a decision graph) →
//! [`lint`] / [`report`] → the CLI.

// Diagnostics are the error type of the front end; they are large but only built on
// the error path, so boxing them would cost clarity for nothing.
#![allow(clippy::result_large_err)]

extern crate alloc;

pub mod ast;
pub mod audit;
pub mod bpmn;
pub mod check;
pub mod cli;
pub mod codes;
pub mod conformance;
pub mod diagnostic;
pub mod diff;
pub mod eval;
pub mod explain;
pub mod fmt;
pub mod hash;
pub mod input;
pub mod inspect;
pub mod lint;
pub mod log;
pub mod lsp;
pub mod model;
pub mod petri;
pub mod report;
pub mod review;
pub mod simulate;
pub mod source;
pub mod suite;
#[doc(hidden)]
pub mod syntax;
pub mod watch;

pub use diagnostic::{Diagnostic, Severity};
pub use model::{Built, Loader, Procedure, build};
pub use source::{SourceFile, Span};
