//! FIXME: module cli is being written.

pub mod check;
