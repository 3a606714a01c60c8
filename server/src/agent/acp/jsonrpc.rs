//! JSON-RPC 2.0 as ACP carries it over stdio: one message per line, no line
//! breaks inside a message. Reads a line into a request, notification or
//! response, and writes the lines Director sends.

use serde::Serialize;
use serde_json::{Value, json};

/// The callee does not implement the method.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// The parameters do not have the method's shape.
pub const INVALID_PARAMS: i64 = -32602;
/// The client failed doing what was asked.
pub const INTERNAL_ERROR: i64 = -32603;
/// ACP's "resource not found", for a file that is not there.
pub const RESOURCE_NOT_FOUND: i64 = -32002;

/// One message from the agent.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// The agent asks something of Director and waits for the answer.
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
    /// The answer to one of Director's requests.
    Response {
        id: Value,
        result: Result<Value, RpcError>,
    },
}

/// An error a JSON-RPC peer answered with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (JSON-RPC error {code})")]
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
        }
    }
}

/// Reads one line of the agent's stdout; `Err` says why it is not a JSON-RPC
/// message.
pub fn parse_line(line: &str) -> Result<Incoming, String> {
    let message: Value =
        serde_json::from_str(line).map_err(|error| format!("not JSON ({error})"))?;
    let Value::Object(mut fields) = message else {
        return Err("not a JSON object".to_owned());
    };
    let id = fields.remove("id");
    let params = fields.remove("params").unwrap_or(Value::Null);
    match (fields.remove("method"), id) {
        (Some(Value::String(method)), Some(id)) => Ok(Incoming::Request { id, method, params }),
        (Some(Value::String(method)), None) => Ok(Incoming::Notification { method, params }),
        (Some(_), _) => Err("its method is not a string".to_owned()),
        (None, Some(id)) => {
            let result = match (fields.remove("result"), fields.remove("error")) {
                (_, Some(error)) => Err(RpcError {
                    code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                    message: error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("no message")
                        .to_owned(),
                }),
                (Some(result), None) => Ok(result),
                (None, None) => return Err("a response without result or error".to_owned()),
            };
            Ok(Incoming::Response { id, result })
        }
        (None, None) => Err("neither a request, a notification nor a response".to_owned()),
    }
}

/// The line of a request from Director.
pub fn request_line(id: u64, method: &str, params: &impl Serialize) -> String {
    line(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
}

/// The line of a notification from Director.
pub fn notification_line(method: &str, params: &impl Serialize) -> String {
    line(json!({ "jsonrpc": "2.0", "method": method, "params": params }))
}

/// The line answering the agent's request `id`.
pub fn response_line(id: &Value, result: Result<Value, RpcError>) -> String {
    line(match result {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err(error) => json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": { "code": error.code, "message": error.message },
        }),
    })
}

/// `message` on one line, ended by a newline; serde_json escapes every line
/// break inside strings, so the line holds exactly one message.
fn line(message: Value) -> String {
    let mut line = message.to_string();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_told_apart_by_method_and_id() {
        assert_eq!(
            parse_line(
                r#"{"jsonrpc":"2.0","id":4,"method":"fs/read_text_file","params":{"path":"/a"}}"#
            ),
            Ok(Incoming::Request {
                id: json!(4),
                method: "fs/read_text_file".into(),
                params: json!({ "path": "/a" })
            })
        );
        assert_eq!(
            parse_line(r#"{"jsonrpc":"2.0","method":"session/update","params":{}}"#),
            Ok(Incoming::Notification {
                method: "session/update".into(),
                params: json!({})
            })
        );
        assert_eq!(
            parse_line(r#"{"jsonrpc":"2.0","id":"x","result":null}"#),
            Ok(Incoming::Response {
                id: json!("x"),
                result: Ok(Value::Null)
            })
        );
        assert_eq!(
            parse_line(r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"auth"}}"#),
            Ok(Incoming::Response {
                id: json!(1),
                result: Err(RpcError::new(-32000, "auth"))
            })
        );
        assert!(parse_line("Loading model…").is_err());
        assert!(parse_line("[1]").is_err());
        assert!(parse_line(r#"{"id":1}"#).is_err());
    }

    #[test]
    fn written_messages_are_single_lines_even_with_line_breaks_in_them() {
        let written = request_line(7, "session/prompt", &json!({ "text": "a\nb" }));
        assert!(written.ends_with('\n'));
        assert_eq!(written.matches('\n').count(), 1, "{written}");
        assert_eq!(
            parse_line(written.trim_end()),
            Ok(Incoming::Request {
                id: json!(7),
                method: "session/prompt".into(),
                params: json!({ "text": "a\nb" })
            })
        );
        let error = response_line(&json!(3), Err(RpcError::new(METHOD_NOT_FOUND, "no")));
        assert_eq!(
            parse_line(error.trim_end()),
            Ok(Incoming::Response {
                id: json!(3),
                result: Err(RpcError::new(METHOD_NOT_FOUND, "no"))
            })
        );
        let notification = notification_line("session/cancel", &json!({ "sessionId": "s" }));
        assert_eq!(
            parse_line(notification.trim_end()),
            Ok(Incoming::Notification {
                method: "session/cancel".into(),
                params: json!({ "sessionId": "s" })
            })
        );
    }
}
