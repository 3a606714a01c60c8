//! Spec intelligence: reading the spec files a project already has (Kiro, spec-kit,
//! OpenSpec, Tessl, Director's native form) into one model, linting them, and linking
//! code to requirements.
//!
//! Everything here speaks in byte ranges and plain structs; positions for editors are
//! converted elsewhere. Modules, in reading order:
//! - [`model`]: the one model every format is read into.
//! - [`discovery`]: which files are specs, in which format and role.
//! - [`front_matter`]: the YAML-ish header some formats carry.
//! - [`markdown`]: tree-sitter Markdown blocks (fenced code, malformed input).
//! - [`parse`]: the line recognizers that build the model.
//! - [`statement_grammar`]: one statement's clauses, read by the tree-sitter grammar.
//! - [`ears`]: EARS clause analysis of one normative statement.
//! - [`references`]: requirement reference expressions in tasks.
//! - [`fingerprint`]: content hashes that make stale trace links detectable.
//! - [`trace`]: `@spec` tags and foreign trace syntaxes in code.
//! - [`index`]: the workspace index and the queries editors need.
//! - [`lint`]: the rule registry, configuration, suppression and fixes.
//! - [`line_column`]: 1-based line and column numbers for reports.

pub mod discovery;
pub mod ears;
pub mod fingerprint;
pub mod front_matter;
pub mod index;
pub mod line_column;
pub mod lint;
pub mod markdown;
pub mod model;
pub mod parse;
pub mod references;
pub mod statement_grammar;
pub mod trace;
