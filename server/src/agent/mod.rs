//! FIXME: module agent is being written.
