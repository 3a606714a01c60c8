//! FIXME: module config is being written.
