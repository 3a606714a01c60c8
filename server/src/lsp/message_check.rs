//! Whether a frame's body is a JSON-RPC 2.0 message the LSP framework can take.
//!
//! tower-lsp-server stops reading for good at the first body it cannot decode,
//! so every body is judged here first, with the framework's own types as the
//! last word. What is wrong with a body decides what becomes of it, as JSON-RPC
//! 2.0 §5 asks: a request (it has a usable `id`) is answered with an error
//! carrying that id; a body whose id cannot be read, or that is no message at
//! all, is answered with an error whose id is `null`; a malformed notification
//! or response is only logged, since nobody waits for an answer to it.

use serde_json::Value;
use tower_lsp_server::jsonrpc::{ErrorCode, Request, Response};

/// What becomes of a frame's body.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A well-formed message: passed on as it is.
    Valid,
    /// A malformed request, answered with this error.
    Answer {
        /// The request's id, or `null` when it has none that can be read.
        id: Value,
        code: ErrorCode,
        message: String,
    },
    /// A malformed notification or response: logged and skipped.
    Skip { reason: String },
}

/// Judges one body.
pub fn check_message(body: &[u8]) -> Verdict {
    // Parsing to a `Value` rejects what skimming JSON lets through: invalid
    // UTF-8 in a string, a lone surrogate escape, nesting deeper than 128.
    let message: Value = match serde_json::from_slice(body) {
        Ok(message) => message,
        Err(error) => return answer(Value::Null, ErrorCode::ParseError, error.to_string()),
    };
    let Value::Object(fields) = &message else {
        let what = match message {
            Value::Array(_) => "a batch, which LSP does not use",
            _ => "not an object",
        };
        return answer(Value::Null, ErrorCode::InvalidRequest, what);
    };
    let id = match fields.get("id") {
        None => None,
        Some(id) if is_usable_id(id) => Some(id.clone()),
        Some(_) => {
            return answer(
                Value::Null,
                ErrorCode::InvalidRequest,
                "the id is neither an integer nor a string",
            );
        }
    };
    let is_call = fields.contains_key("method");
    let is_response = fields.contains_key("result") || fields.contains_key("error");
    let problem = if fields.get("jsonrpc") != Some(&Value::from("2.0")) {
        Some("the message lacks \"jsonrpc\": \"2.0\"")
    } else if is_call && is_response {
        Some("the message has both a method and a result or error")
    } else if is_call && !fields["method"].is_string() {
        Some("the method is not a string")
    } else if !is_call && !is_response {
        Some("the message has no method, result or error")
    } else if is_call && serde_json::from_slice::<Request>(body).is_err() {
        Some("the message is not a request the server can read")
    } else if is_response && serde_json::from_slice::<Response>(body).is_err() {
        Some("the message is not a response the server can read")
    } else {
        None
    };
    match (problem, id) {
        (None, _) => Verdict::Valid,
        // A response is never answered, even when its id can be read.
        (Some(problem), Some(id)) if is_call || !is_response => {
            answer(id, ErrorCode::InvalidRequest, problem)
        }
        (Some(problem), None) if !is_call && !is_response => {
            answer(Value::Null, ErrorCode::InvalidRequest, problem)
        }
        (Some(problem), _) => Verdict::Skip {
            reason: problem.to_owned(),
        },
    }
}

/// Whether the framework can read `id`: an integer that fits an `i64`, a
/// string, or `null` (allowed by JSON-RPC, if discouraged).
fn is_usable_id(id: &Value) -> bool {
    id.is_i64() || id.is_string() || id.is_null()
}

fn answer(id: Value, code: ErrorCode, message: impl Into<String>) -> Verdict {
    Verdict::Answer {
        id,
        code,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code_and_id(body: &[u8]) -> (i64, Value) {
        match check_message(body) {
            Verdict::Answer { id, code, .. } => (code.code(), id),
            other => panic!("{}: {other:?}", String::from_utf8_lossy(body)),
        }
    }

    #[test]
    fn messages_pass() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":"a","method":"x"}"#,
            r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":7,"result":null}"#,
            r#"{"jsonrpc":"2.0","id":7,"error":{"code":-1,"message":"no"}}"#,
        ] {
            assert_eq!(check_message(body.as_bytes()), Verdict::Valid, "{body}");
        }
    }

    #[test]
    fn what_is_no_message_is_answered_with_a_null_id() {
        let mut deep = "[".repeat(200);
        deep.push_str(&"]".repeat(200));
        let cases: [(&[u8], i64); 12] = [
            (b"{}", -32600),
            (b"[]", -32600),
            (b"null", -32600),
            (b"42", -32600),
            (b"\"str\"", -32600),
            (br#"[{"jsonrpc":"2.0","id":1,"method":"x"}]"#, -32600),
            (br#"{"jsonrpc":"2.0","id":{"a":1},"method":"x"}"#, -32600),
            (br#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#, -32600),
            (
                br#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"x"}"#,
                -32600,
            ),
            (
                b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}",
                -32700,
            ),
            (
                br#"{"jsonrpc":"2.0","id":1,"method":"x","params":"\ud800"}"#,
                -32700,
            ),
            (deep.as_bytes(), -32700),
        ];
        for (body, code) in cases {
            assert_eq!(
                code_and_id(body),
                (code, Value::Null),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_malformed_request_is_answered_with_its_id() {
        for body in [
            r#"{"id":3,"method":"x"}"#,
            r#"{"jsonrpc":"1.0","id":3,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":5}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"x","result":1}"#,
            r#"{"jsonrpc":"2.0","id":3,"id":3,"method":"x"}"#,
        ] {
            assert_eq!(code_and_id(body.as_bytes()), (-32600, json!(3)), "{body}");
        }
    }

    #[test]
    fn malformed_notifications_and_responses_are_skipped() {
        for body in [
            r#"{"jsonrpc":"1.0","method":"initialized"}"#,
            r#"{"method":"initialized"}"#,
            r#"{"jsonrpc":"2.0","id":4,"result":1,"result":2}"#,
            r#"{"jsonrpc":"2.0","result":1}"#,
            r#"{"jsonrpc":"1.0","id":4,"result":1}"#,
        ] {
            assert!(
                matches!(check_message(body.as_bytes()), Verdict::Skip { .. }),
                "{body}"
            );
        }
    }
}
