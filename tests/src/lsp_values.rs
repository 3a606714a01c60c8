//! Small builders that keep e2e tests short: URIs, positions, ranges and
//! timeouts as tests write them.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

/// The `file://` URI of an absolute path, percent-encoded as editors send it.
pub fn file_uri(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    match Url::from_file_path(path) {
        Ok(url) => url.to_string(),
        Err(()) => panic!("{} is not an absolute path", path.display()),
    }
}

/// An LSP `Position` in the negotiated encoding.
pub fn pos(line: u32, character: u32) -> Value {
    json!({ "line": line, "character": character })
}

/// An LSP `Range` from `(l1, c1)` to `(l2, c2)`.
pub fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> Value {
    json!({ "start": pos(l1, c1), "end": pos(l2, c2) })
}

/// Seconds, for timeouts.
pub fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uri_percent_encodes_spaces_and_non_ascii() {
        assert_eq!(
            file_uri("/tmp/my project/naïve #1.rs"),
            "file:///tmp/my%20project/na%C3%AFve%20%231.rs"
        );
    }

    #[test]
    fn range_nests_positions() {
        assert_eq!(
            range(1, 2, 3, 4)["end"],
            json!({ "line": 3, "character": 4 })
        );
    }
}
