//! Multi-byte text and CRLF line breaks under both position encodings.

use crate::support::*;
use director_e2e::range;
use serde_json::json;

const PY: &str =
    "def greet():\r\n    return \"😀 漢字 hi\"  # 👋\r\n\r\ndef other():\r\n    return 1\r\n";
const PY_FIXED: &str =
    "def greet():\r\n    return \"😀 漢字 hello\"  # 👋\r\n\r\ndef other():\r\n    return 1\r\n";

async fn accept_after_multibyte_text(utf8: bool) {
    let fixture = Fixture::new(&[("app.py", PY)], utf8).await;
    fixture.mock.push(director_e2e::mock_openai::Reply::stream(
        &["```python\ndef greet():\n    return \"😀 漢字 hello\"  # 👋\n```\n"],
        None,
    ));
    let uri = fixture.open("app.py", "python").await;
    fixture.delegate(&uri, range(1, 4, 1, 4), "Say hello").await;
    let proposals = fixture.wait_proposals(&uri, 1).await;
    // The hunk is "i" -> "ello" after `    return "😀 漢字 h`: 4+8+4+1+6+1+1 = 25 bytes,
    // or 4+8+2+1+2+1+1 = 19 UTF-16 units.
    let start = if utf8 { 25 } else { 19 };
    assert_eq!(
        proposals[0]["range"]["start"],
        json!({ "line": 1, "character": start })
    );
    assert_eq!(
        proposals[0]["range"]["end"],
        json!({ "line": 1, "character": start + 1 })
    );
    // An edit on an earlier line with emoji moves the hunk by whole lines only.
    fixture
        .client
        .change(&uri, range(0, 0, 0, 0), "# 🎉 greeting\r\n")
        .await;
    fixture
        .execute("director.accept", json!({ "hunk": 1 }))
        .await
        .unwrap();
    assert_eq!(
        fixture.client.text(&uri),
        format!("# 🎉 greeting\r\n{PY_FIXED}")
    );
}

#[tokio::test]
async fn emoji_cjk_and_crlf_under_utf16() {
    accept_after_multibyte_text(false).await;
}

#[tokio::test]
async fn emoji_cjk_and_crlf_under_utf8() {
    accept_after_multibyte_text(true).await;
}

#[tokio::test]
async fn the_server_picks_utf8_only_when_offered() {
    let fixture = Fixture::new(&[("a.rs", "fn a() {}\n")], true).await;
    assert_eq!(fixture.client.position_encoding().lsp_name(), "utf-8");
    let fixture = Fixture::new(&[("a.rs", "fn a() {}\n")], false).await;
    assert_eq!(fixture.client.position_encoding().lsp_name(), "utf-16");
}
