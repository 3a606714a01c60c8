//! A loopback server speaking the Anthropic Messages wire format
//! (`POST /v1/messages`, streamed as typed SSE events or answered in one JSON
//! message), scripted answer by answer, that can also misbehave the way the
//! real API does: an `overloaded_error` event mid-stream, 529, 429 with
//! `retry-after`, a stream cut before `message_stop`, garbage.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value, json};

use crate::mock_openai::{
    ReceivedRequest, event_stream, json_text_response, receive, serve_on_loopback, status_response,
    text_response,
};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The answer in pieces: `message_start`, a text block of `text_delta`s,
    /// `message_delta` with `end_turn` and the output tokens, `message_stop`;
    /// to a non-streaming request, one message with the pieces joined.
    Stream {
        chunks: Vec<String>,
        /// Input and output tokens.
        usage: (u64, u64),
        /// Pause before each event, so a test can act mid-stream.
        delay: Duration,
    },
    /// The answer in pieces as proxies (LiteLLM) stream it: `message_start`
    /// counts no input tokens and `message_delta` carries the whole usage,
    /// input tokens included, as the current API also sends it there.
    UsageAtEnd {
        chunks: Vec<String>,
        usage: (u64, u64),
    },
    /// The chunks, then an `error` event of type `overloaded_error`, as the API
    /// sends when it is overloaded after the stream began; to a non-streaming
    /// request, the 529 it sends otherwise.
    OverloadedMidStream { chunks: Vec<String> },
    /// An error status with this body and an optional `retry-after` header.
    Status {
        code: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// `message_start` and the chunks, then the connection closes without
    /// `message_stop`; to a non-streaming request, the first half of a message.
    Truncated { chunks: Vec<String> },
    /// A 200 whose body is not JSON: an SSE event carrying this text to a
    /// streaming request, the text itself otherwise.
    Garbage(String),
    /// A call of the client's tool `name` with `input`, as an agent CLI's model
    /// answers: a `tool_use` block whose input streams as `input_json_delta`s,
    /// and stop reason `tool_use`; to a non-streaming request, one message
    /// holding the block.
    ToolUse { name: String, input: Value },
}

impl Reply {
    /// A streamed answer with no pause between events.
    pub fn stream(chunks: &[&str], usage: (u64, u64)) -> Reply {
        Reply::Stream {
            chunks: chunks.iter().map(|chunk| (*chunk).to_owned()).collect(),
            usage,
            delay: Duration::ZERO,
        }
    }

    /// The API's 529 "Overloaded" answer.
    pub fn overloaded_status() -> Reply {
        Reply::Status {
            code: 529,
            retry_after: None,
            body: error_body("overloaded_error", "Overloaded").to_string(),
        }
    }
}

/// A running mock; it stops accepting connections when dropped.
pub struct MockAnthropic {
    address: SocketAddr,
    state: Arc<Mutex<MockState>>,
    server: tokio::task::JoinHandle<()>,
}

impl MockAnthropic {
    /// Starts a server on a free port of 127.0.0.1.
    pub async fn start() -> anyhow::Result<MockAnthropic> {
        let state = Arc::new(Mutex::new(MockState::default()));
        let router = axum::Router::new()
            .fallback(answer)
            .with_state(state.clone());
        let (address, server) = serve_on_loopback(router).await?;
        Ok(MockAnthropic {
            address,
            state,
            server,
        })
    }

    /// The base URL to configure (the API root, without `/v1`).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Scripts the answer to the next messages request not yet scripted.
    pub fn push(&self, reply: Reply) {
        lock(&self.state).script.push_back(reply);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        lock(&self.state).requests.clone()
    }
}

impl Drop for MockAnthropic {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[derive(Default)]
struct MockState {
    script: VecDeque<Reply>,
    requests: Vec<ReceivedRequest>,
}

fn lock(state: &Mutex<MockState>) -> std::sync::MutexGuard<'_, MockState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn answer(State(state): State<Arc<Mutex<MockState>>>, request: Request) -> Response {
    let received = receive(request).await;
    let is_messages = received.method == "POST" && received.path == "/v1/messages";
    let streaming = received.body.get("stream").and_then(Value::as_bool) == Some(true);
    let model = received
        .body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("mock-model")
        .to_owned();
    let reply = {
        let mut state = lock(&state);
        state.requests.push(received);
        if is_messages {
            state.script.pop_front()
        } else {
            None
        }
    };
    if !is_messages {
        let body = error_body("not_found_error", "the mock only serves POST /v1/messages");
        return text_response(404, body.to_string());
    }
    let Some(reply) = reply else {
        let body = error_body(
            "api_error",
            "mock script exhausted: no reply was pushed for this request",
        );
        return text_response(500, body.to_string());
    };
    let wire = Wire { model };
    if streaming {
        wire.stream(reply)
    } else {
        wire.whole(reply)
    }
}

/// The shape of the answers, for the model the request named.
struct Wire {
    model: String,
}

impl Wire {
    fn stream(&self, reply: Reply) -> Response {
        match reply {
            Reply::Stream {
                chunks,
                usage,
                delay,
            } => {
                let mut events = self.opening(usage.0, &chunks);
                events.push(sse("content_block_stop", json!({"index": 0})));
                events.push(sse(
                    "message_delta",
                    json!({
                        "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                        "usage": {"output_tokens": usage.1},
                    }),
                ));
                events.push(sse("message_stop", json!({})));
                event_stream(events, delay, false)
            }
            Reply::UsageAtEnd { chunks, usage } => {
                let mut events = self.opening(0, &chunks);
                events.push(sse("content_block_stop", json!({"index": 0})));
                events.push(sse(
                    "message_delta",
                    json!({
                        "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                        "usage": {"input_tokens": usage.0, "output_tokens": usage.1},
                    }),
                ));
                events.push(sse("message_stop", json!({})));
                event_stream(events, Duration::ZERO, false)
            }
            Reply::OverloadedMidStream { chunks } => {
                let mut events = self.opening(10, &chunks);
                events.push(sse(
                    "error",
                    json!({"error": {"type": "overloaded_error", "message": "Overloaded"}}),
                ));
                event_stream(events, Duration::ZERO, false)
            }
            Reply::Status {
                code,
                retry_after,
                body,
            } => status_response(code, retry_after, body),
            Reply::Truncated { chunks } => {
                event_stream(self.opening(10, &chunks), Duration::ZERO, false)
            }
            Reply::Garbage(text) => {
                event_stream(vec![format!("data: {text}\n\n")], Duration::ZERO, false)
            }
            Reply::ToolUse { name, input } => {
                let mut events = vec![self.message_start(10)];
                events.push(sse(
                    "content_block_start",
                    json!({"index": 0, "content_block": {
                        "type": "tool_use", "id": TOOL_USE_ID, "name": name, "input": {},
                    }}),
                ));
                // The input in two pieces, as the API splits it anywhere.
                let input = input.to_string();
                let middle = input.char_indices().nth(input.chars().count() / 2);
                let (first, second) = input.split_at(middle.map_or(0, |(index, _)| index));
                for piece in [first, second] {
                    events.push(sse(
                        "content_block_delta",
                        json!({"index": 0, "delta": {"type": "input_json_delta", "partial_json": piece}}),
                    ));
                }
                events.push(sse("content_block_stop", json!({"index": 0})));
                events.push(sse(
                    "message_delta",
                    json!({
                        "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                        "usage": {"output_tokens": 5},
                    }),
                ));
                events.push(sse("message_stop", json!({})));
                event_stream(events, Duration::ZERO, false)
            }
        }
    }

    fn whole(&self, reply: Reply) -> Response {
        match reply {
            Reply::Stream { chunks, usage, .. } | Reply::UsageAtEnd { chunks, usage } => {
                json_text_response(self.message(&chunks.concat(), usage).to_string())
            }
            Reply::OverloadedMidStream { .. } => text_response(
                529,
                error_body("overloaded_error", "Overloaded").to_string(),
            ),
            Reply::Status {
                code,
                retry_after,
                body,
            } => status_response(code, retry_after, body),
            Reply::Truncated { chunks } => {
                let whole = self.message(&chunks.concat(), (10, 1)).to_string();
                json_text_response(whole.chars().take(whole.chars().count() / 2).collect())
            }
            Reply::Garbage(text) => text_response(200, text),
            Reply::ToolUse { name, input } => json_text_response(
                json!({
                    "id": "msg_mock",
                    "type": "message",
                    "role": "assistant",
                    "model": self.model,
                    "content": [{"type": "tool_use", "id": TOOL_USE_ID, "name": name, "input": input}],
                    "stop_reason": "tool_use",
                    "stop_sequence": null,
                    "usage": {"input_tokens": 10, "output_tokens": 5},
                })
                .to_string(),
            ),
        }
    }

    /// `message_start`, a `ping`, and a text block holding `chunks`, left open.
    fn opening(&self, input_tokens: u64, chunks: &[String]) -> Vec<String> {
        let mut events = vec![
            self.message_start(input_tokens),
            sse(
                "content_block_start",
                json!({"index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
            sse("ping", json!({})),
        ];
        events.extend(chunks.iter().map(|text| {
            sse(
                "content_block_delta",
                json!({"index": 0, "delta": {"type": "text_delta", "text": text}}),
            )
        }));
        events
    }

    fn message_start(&self, input_tokens: u64) -> String {
        sse(
            "message_start",
            json!({"message": {
                "id": "msg_mock",
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            }}),
        )
    }

    fn message(&self, text: &str, (input_tokens, output_tokens): (u64, u64)) -> Value {
        json!({
            "id": "msg_mock",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        })
    }
}

/// The id of every `tool_use` block the mock sends; the client answers with a
/// `tool_result` naming it.
pub const TOOL_USE_ID: &str = "toolu_mock_1";

/// One SSE event named `event_type`, whose data carries the same `type`.
fn sse(event_type: &str, mut data: Value) -> String {
    if let Some(object) = data.as_object_mut() {
        object.insert("type".to_owned(), json!(event_type));
    }
    format!("event: {event_type}\ndata: {data}\n\n")
}

/// The API's error body.
pub fn error_body(error_type: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": error_type, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(mock: &MockAnthropic, body: Value) -> (u16, String) {
        let response = raw_post(mock.address, &body.to_string()).await;
        let (head, body) = response.split_once("\r\n\r\n").expect("a head");
        (head[9..12].parse().expect("a status"), body.to_owned())
    }

    /// A minimal HTTP/1.1 exchange, so this crate needs no HTTP client.
    async fn raw_post(address: SocketAddr, body: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let request = format!(
            "POST /v1/messages HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\nx-api-key: test\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        response
    }

    #[tokio::test]
    async fn a_stream_carries_typed_events_and_ends_with_message_stop() {
        let mock = MockAnthropic::start().await.expect("a mock");
        mock.push(Reply::stream(&["Hel", "lo"], (7, 2)));
        let (status, body) = post(&mock, json!({"model": "m", "stream": true})).await;
        assert_eq!(status, 200);
        for expected in [
            "event: message_start",
            r#""input_tokens":7"#,
            r#""text":"Hel","type":"text_delta""#,
            r#""stop_reason":"end_turn""#,
            r#""output_tokens":2"#,
            "event: message_stop",
        ] {
            assert!(body.contains(expected), "{expected} in {body}");
        }
        let requests = mock.requests();
        assert_eq!(requests[0].path, "/v1/messages");
        assert_eq!(requests[0].headers["x-api-key"], "test");
    }

    #[tokio::test]
    async fn faults_look_like_the_apis() {
        let mock = MockAnthropic::start().await.expect("a mock");
        mock.push(Reply::OverloadedMidStream {
            chunks: vec!["par".to_owned()],
        });
        mock.push(Reply::Truncated {
            chunks: vec!["par".to_owned()],
        });
        mock.push(Reply::overloaded_status());

        let (_, body) = post(&mock, json!({"stream": true})).await;
        assert!(body.contains(r#""type":"overloaded_error""#), "{body}");
        assert!(!body.contains("message_stop"), "{body}");

        let (_, body) = post(&mock, json!({"stream": true})).await;
        assert!(body.contains(r#""text":"par""#), "{body}");
        assert!(!body.contains("message_stop"), "{body}");

        let (status, body) = post(&mock, json!({"stream": false})).await;
        assert_eq!(status, 529);
        assert!(body.contains("Overloaded"), "{body}");

        let (status, body) = post(&mock, json!({})).await;
        assert_eq!(status, 500);
        assert!(body.contains("mock script exhausted"), "{body}");
    }

    #[tokio::test]
    async fn a_tool_use_streams_its_input_in_pieces_that_join_to_the_input() {
        let mock = MockAnthropic::start().await.expect("a mock");
        let input = json!({"file_path": "/w/a.txt", "content": "é\n"});
        for _ in 0..2 {
            mock.push(Reply::ToolUse {
                name: "Write".to_owned(),
                input: input.clone(),
            });
        }
        let (status, body) = post(&mock, json!({"stream": true})).await;
        assert_eq!(status, 200);
        assert!(body.contains(r#""type":"tool_use""#), "{body}");
        assert!(body.contains(r#""stop_reason":"tool_use""#), "{body}");
        let pieces: Vec<String> = body
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .filter_map(|data| serde_json::from_str::<Value>(data).ok())
            .filter(|data| data["delta"]["type"] == "input_json_delta")
            .map(|data| {
                data["delta"]["partial_json"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        assert_eq!(pieces.len(), 2);
        assert_eq!(
            serde_json::from_str::<Value>(&pieces.concat()).expect("JSON"),
            input
        );

        let (_, body) = post(&mock, json!({})).await;
        let message: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(message["content"][0]["input"], input);
        assert_eq!(message["content"][0]["id"], TOOL_USE_ID);
    }

    #[tokio::test]
    async fn a_plain_request_gets_one_message() {
        let mock = MockAnthropic::start().await.expect("a mock");
        mock.push(Reply::stream(&["a", "b"], (3, 4)));
        let (status, body) = post(&mock, json!({"model": "m"})).await;
        assert_eq!(status, 200);
        let message: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(message["content"][0]["text"], "ab");
        assert_eq!(message["usage"]["output_tokens"], 4);
    }
}
