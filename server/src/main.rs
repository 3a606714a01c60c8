//! The `director` binary.

fn main() {}
