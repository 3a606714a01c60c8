//! FIXME: module run is being written.

pub mod output;
