//! A loopback server speaking the OpenAI Chat Completions wire format, scripted
//! answer by answer, that can also misbehave the way real endpoints do (429 with
//! `Retry-After`, 5xx, stalls, truncated streams, garbage).
//!
//! It is a real HTTP server on 127.0.0.1, so the code under test goes through
//! its real HTTP client, SSE parser and timeouts.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The answer in pieces: SSE `chat.completion.chunk`s with a `stop` finish
    /// reason, a usage chunk when asked for, then `[DONE]`; to a non-streaming
    /// request, one `chat.completion` with the pieces joined.
    Stream {
        chunks: Vec<String>,
        /// Prompt and completion tokens.
        usage: Option<(u64, u64)>,
        /// Pause before each chunk, so a test can act mid-stream.
        delay: Duration,
    },
    /// The whole answer at once: a `chat.completion`; to a streaming request, a
    /// stream with a single content chunk.
    Json { text: String },
    /// An error status with this body (JSON or not) and an optional
    /// `Retry-After` header.
    Status {
        code: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// Headers and one content chunk, then nothing until the client gives up; to
    /// a non-streaming request, headers and a body that never comes.
    Stall,
    /// The chunks, then the connection closes without a finish reason or
    /// `[DONE]`; to a non-streaming request, the first half of a JSON body.
    Truncated { chunks: Vec<String> },
    /// A 200 whose body is not JSON: an SSE event carrying this text to a
    /// streaming request, the text itself otherwise.
    Garbage(String),
    /// A call of the client's tool `name` with `arguments`, as an agent CLI's
    /// model answers: a `tool_calls` delta whose arguments stream in two
    /// pieces, finish reason `tool_calls`, and usage; to a non-streaming
    /// request, one message holding the call.
    ToolCall { name: String, arguments: Value },
}

/// The id of every tool call the mock makes.
pub const TOOL_CALL_ID: &str = "call_mock_1";

impl Reply {
    /// A streamed answer with usage and no pause between chunks.
    pub fn stream(chunks: &[&str], usage: Option<(u64, u64)>) -> Reply {
        Reply::Stream {
            chunks: chunks.iter().map(|chunk| (*chunk).to_owned()).collect(),
            usage,
            delay: Duration::ZERO,
        }
    }
}

/// What the server received.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    /// The body parsed as JSON; `Value::Null` when it is not JSON.
    pub body: Value,
}

/// A running mock; it stops accepting connections when dropped.
pub struct MockOpenAi {
    address: SocketAddr,
    state: Arc<Mutex<MockState>>,
    server: tokio::task::JoinHandle<()>,
}

impl MockOpenAi {
    /// Starts a server on a free port of 127.0.0.1.
    pub async fn start() -> anyhow::Result<MockOpenAi> {
        let state = Arc::new(Mutex::new(MockState::default()));
        let router = axum::Router::new()
            .fallback(answer)
            .with_state(state.clone());
        let (address, server) = serve_on_loopback(router).await?;
        Ok(MockOpenAi {
            address,
            state,
            server,
        })
    }

    /// The base URL to configure, ending in `/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    /// Scripts the answer to the next chat completion request not yet scripted.
    pub fn push(&self, reply: Reply) {
        lock(&self.state).script.push_back(reply);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        lock(&self.state).requests.clone()
    }

    /// Answers every request that offers no tools with `text`, leaving the
    /// script to the requests that do: an agent CLI's side requests (a
    /// session's title) come when they come, its turns in order.
    pub fn answer_toolless_requests_with(&self, text: &str) {
        lock(&self.state).toolless_answer = Some(text.to_owned());
    }
}

impl Drop for MockOpenAi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves `router` on a free port of 127.0.0.1 until the returned task is
/// aborted (mocks abort it when dropped).
pub(crate) async fn serve_on_loopback(
    router: axum::Router,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok((address, server))
}

/// Reads a request whole into what a test inspects.
pub(crate) async fn receive(request: Request) -> ReceivedRequest {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    ReceivedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    }
}

#[derive(Default)]
struct MockState {
    script: VecDeque<Reply>,
    requests: Vec<ReceivedRequest>,
    /// See [`MockOpenAi::answer_toolless_requests_with`].
    toolless_answer: Option<String>,
}

/// The reply given when the script is exhausted: a failure the test will see.
const SCRIPT_EXHAUSTED: &str = "mock script exhausted: no reply was pushed for this request";

fn lock(state: &Mutex<MockState>) -> std::sync::MutexGuard<'_, MockState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn answer(State(state): State<Arc<Mutex<MockState>>>, request: Request) -> Response {
    let received = receive(request).await;
    let body = received.body.clone();
    let is_chat_completion =
        received.method == "POST" && received.path.ends_with("/chat/completions");
    let offers_tools = body
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| !tools.is_empty());
    let reply = {
        let mut state = lock(&state);
        state.requests.push(received);
        match (&state.toolless_answer, is_chat_completion) {
            (_, false) => None,
            (Some(text), true) if !offers_tools => Some(Reply::stream(&[text], None)),
            _ => state.script.pop_front(),
        }
    };
    if !is_chat_completion {
        return error_response(404, "the mock only serves POST /v1/chat/completions");
    }
    let wire = Wire {
        model: body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("mock-model")
            .to_owned(),
        streaming: body.get("stream").and_then(Value::as_bool) == Some(true),
        include_usage: body
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true),
    };
    match reply {
        Some(reply) => wire.respond(reply),
        None => error_response(500, SCRIPT_EXHAUSTED),
    }
}

/// What the request asked for, which shapes the reply.
struct Wire {
    model: String,
    streaming: bool,
    include_usage: bool,
}

impl Wire {
    fn respond(&self, reply: Reply) -> Response {
        match reply {
            Reply::Stream {
                chunks,
                usage,
                delay,
            } => {
                if !self.streaming {
                    return self.completion(&chunks.concat(), usage);
                }
                let mut events =
                    vec![self.chunk(json!({"role": "assistant", "content": ""}), None)];
                events.extend(
                    chunks
                        .iter()
                        .map(|text| self.chunk(json!({"content": text}), None)),
                );
                events.push(self.chunk(json!({}), Some("stop")));
                if let (Some(usage), true) = (usage, self.include_usage) {
                    events.push(self.usage_chunk(usage));
                }
                events.push("data: [DONE]\n\n".to_owned());
                event_stream(events, delay, false)
            }
            Reply::Json { text } => {
                if self.streaming {
                    let events = vec![
                        self.chunk(json!({"role": "assistant", "content": text}), None),
                        self.chunk(json!({}), Some("stop")),
                        "data: [DONE]\n\n".to_owned(),
                    ];
                    return event_stream(events, Duration::ZERO, false);
                }
                self.completion(&text, None)
            }
            Reply::Status {
                code,
                retry_after,
                body,
            } => status_response(code, retry_after, body),
            Reply::Stall => {
                if self.streaming {
                    let first = self.chunk(json!({"role": "assistant", "content": "Sure"}), None);
                    return event_stream(vec![first], Duration::ZERO, true);
                }
                Response::new(Body::from_stream(futures_util::stream::pending::<
                    Result<Bytes, Infallible>,
                >()))
            }
            Reply::Truncated { chunks } => {
                if self.streaming {
                    let events = chunks
                        .iter()
                        .map(|text| self.chunk(json!({"content": text}), None))
                        .collect();
                    return event_stream(events, Duration::ZERO, false);
                }
                let whole = self.completion_body(&chunks.concat(), None).to_string();
                let half = whole.chars().take(whole.chars().count() / 2).collect();
                json_text_response(half)
            }
            Reply::Garbage(text) => {
                if self.streaming {
                    return event_stream(vec![format!("data: {text}\n\n")], Duration::ZERO, false);
                }
                text_response(200, text)
            }
            Reply::ToolCall { name, arguments } => {
                let arguments = arguments.to_string();
                if !self.streaming {
                    let mut body = self.completion_body("", Some((10, 5)));
                    body["choices"][0]["message"] = json!({
                        "role": "assistant",
                        "content": null,
                        "tool_calls": [tool_call(&name, &arguments)],
                    });
                    body["choices"][0]["finish_reason"] = json!("tool_calls");
                    return json_text_response(body.to_string());
                }
                let middle = arguments
                    .char_indices()
                    .nth(arguments.chars().count() / 2)
                    .map_or(0, |(index, _)| index);
                let (first, second) = arguments.split_at(middle);
                let mut opening = tool_call(&name, first);
                opening["index"] = json!(0);
                let events = vec![
                    self.chunk(json!({"role": "assistant", "tool_calls": [opening]}), None),
                    self.chunk(
                        json!({"tool_calls": [{"index": 0, "function": {"arguments": second}}]}),
                        None,
                    ),
                    self.chunk(json!({}), Some("tool_calls")),
                    self.usage_chunk((10, 5)),
                    "data: [DONE]\n\n".to_owned(),
                ];
                event_stream(events, Duration::ZERO, false)
            }
        }
    }

    fn chunk(&self, delta: Value, finish_reason: Option<&str>) -> String {
        let chunk = json!({
            "id": "chatcmpl-mock",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": self.model,
            "system_fingerprint": "fp_mock",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
        });
        format!("data: {chunk}\n\n")
    }

    fn usage_chunk(&self, (prompt_tokens, completion_tokens): (u64, u64)) -> String {
        let chunk = json!({
            "id": "chatcmpl-mock",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": self.model,
            "choices": [],
            "usage": usage_json(prompt_tokens, completion_tokens),
        });
        format!("data: {chunk}\n\n")
    }

    fn completion(&self, text: &str, usage: Option<(u64, u64)>) -> Response {
        json_text_response(self.completion_body(text, usage).to_string())
    }

    fn completion_body(&self, text: &str, usage: Option<(u64, u64)>) -> Value {
        let (prompt_tokens, completion_tokens) = usage.unwrap_or((0, 0));
        json!({
            "id": "chatcmpl-mock",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": null,
                "finish_reason": "stop",
            }],
            "usage": usage_json(prompt_tokens, completion_tokens),
        })
    }
}

fn tool_call(name: &str, arguments: &str) -> Value {
    json!({
        "id": TOOL_CALL_ID,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    })
}

fn usage_json(prompt_tokens: u64, completion_tokens: u64) -> Value {
    json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    })
}

/// An SSE response sending `events` with `delay` before each, then either
/// closing or (when `hang`) keeping the connection open until the client leaves.
pub(crate) fn event_stream(events: Vec<String>, delay: Duration, hang: bool) -> Response {
    let events = futures_util::stream::iter(events).then(move |event| async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok::<Bytes, Infallible>(Bytes::from(event))
    });
    let body = if hang {
        Body::from_stream(events.chain(futures_util::stream::pending()))
    } else {
        Body::from_stream(events)
    };
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// An error status with `body` and, when given, a `Retry-After` header.
pub(crate) fn status_response(code: u16, retry_after: Option<String>, body: String) -> Response {
    let mut response = text_response(code, body);
    if let Some(retry_after) = retry_after.and_then(|value| HeaderValue::from_str(&value).ok()) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after);
    }
    response
}

fn error_response(code: u16, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": "mock_error", "code": null}});
    text_response(code, body.to_string())
}

/// A response with `body`, typed as JSON when it parses as JSON.
pub(crate) fn text_response(code: u16, body: String) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if serde_json::from_str::<Value>(&body).is_ok() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

pub(crate) fn json_text_response(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn post(mock: &MockOpenAi, body: Value) -> (u16, Option<String>, String) {
        let address = mock.address;
        let body = body.to_string();
        let request = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\nauthorization: Bearer test\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        let (head, body) = response.split_once("\r\n\r\n").expect("a head");
        let status = head[9..12].parse().expect("a status");
        let retry_after = head
            .lines()
            .find_map(|line| line.strip_prefix("retry-after: "))
            .map(str::to_owned);
        (status, retry_after, body.to_owned())
    }

    #[tokio::test]
    async fn answers_in_script_order_and_records_requests() {
        let mock = MockOpenAi::start().await.expect("a mock");
        mock.push(Reply::stream(&["Hel", "lo"], Some((7, 2))));
        mock.push(Reply::Status {
            code: 429,
            retry_after: Some("1".to_owned()),
            body: "slow down".to_owned(),
        });
        mock.push(Reply::Json {
            text: "whole".to_owned(),
        });

        let (status, _, body) = post(
            &mock,
            json!({"model": "m", "stream": true, "stream_options": {"include_usage": true}, "messages": []}),
        )
        .await;
        assert_eq!(status, 200);
        assert!(
            body.contains(r#""object":"chat.completion.chunk""#),
            "{body}"
        );
        assert!(body.contains(r#""content":"Hel""#), "{body}");
        assert!(body.contains(r#""finish_reason":"stop""#), "{body}");
        assert!(body.contains(r#""prompt_tokens":7"#), "{body}");
        assert!(body.contains("data: [DONE]"), "{body}");

        let (status, retry_after, body) = post(&mock, json!({"model": "m"})).await;
        assert_eq!((status, retry_after.as_deref()), (429, Some("1")));
        assert!(body.contains("slow down"));

        let (status, _, body) = post(&mock, json!({"model": "m", "stream": false})).await;
        assert_eq!(status, 200);
        let completion: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(completion["object"], "chat.completion");
        assert_eq!(completion["choices"][0]["message"]["content"], "whole");

        let (status, _, body) = post(&mock, json!({"model": "m"})).await;
        assert_eq!(status, 500);
        assert!(body.contains("mock script exhausted"));

        let requests = mock.requests();
        assert_eq!(requests.len(), 4);
        assert_eq!(requests[0].method, "POST");
        assert_eq!(requests[0].path, "/v1/chat/completions");
        assert_eq!(requests[0].headers["authorization"], "Bearer test");
        assert_eq!(requests[0].body["stream"], true);
    }

    #[tokio::test]
    async fn a_stream_reply_to_a_plain_request_is_one_completion() {
        let mock = MockOpenAi::start().await.expect("a mock");
        mock.push(Reply::stream(&["a", "b"], Some((3, 4))));
        let (_, _, body) = post(&mock, json!({"model": "m"})).await;
        let completion: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(completion["choices"][0]["message"]["content"], "ab");
        assert_eq!(completion["usage"]["completion_tokens"], 4);
    }

    #[tokio::test]
    async fn a_truncated_stream_has_no_finish_and_no_done() {
        let mock = MockOpenAi::start().await.expect("a mock");
        mock.push(Reply::Truncated {
            chunks: vec!["par".to_owned()],
        });
        let (status, _, body) = post(&mock, json!({"model": "m", "stream": true})).await;
        assert_eq!(status, 200);
        assert!(body.contains(r#""content":"par""#), "{body}");
        assert!(!body.contains("[DONE]"), "{body}");
        assert!(!body.contains(r#""finish_reason":"stop""#), "{body}");
    }
}
