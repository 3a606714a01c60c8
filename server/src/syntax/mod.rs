//! FIXME: module syntax is being written.
