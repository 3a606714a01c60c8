//! FIXME: module run is being written.
