//! FIXME: module proposal is being written.
