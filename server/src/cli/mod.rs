//! FIXME: module cli is being written.
