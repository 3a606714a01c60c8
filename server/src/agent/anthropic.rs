//! The backend for the Anthropic Messages API (`POST {base_url}/v1/messages`),
//! streamed over SSE or not.
//!
//! Retries, the timeout, cancellation and error wording are shared with the
//! other HTTP backends (see [`crate::agent::http`]); this file is the wire
//! format: system messages in the top-level `system` field, the key in
//! `x-api-key`, and the reading of the typed stream events. An
//! `overloaded_error` (or `api_error`) inside a stream is retried like the 529
//! or 5xx status that would carry it outside one; a stream that closes before
//! `message_stop` is a truncated answer, not a short one.

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::agent::api_key::ApiKey;
use crate::agent::error::AgentError;
use crate::agent::http::{
    AnswerBody, AttemptFailure, RequestLimits, answer_body, complete_with_retries, endpoint_below,
    protocol_error, send_attempt, server_sent_events, shared_http_client, snippet,
    truncated_stream, whole_body, wire_error_message,
};
use crate::agent::{AgentBackend, AgentEvent, ChatRequest, Completion, Role, TokenUsage};
use crate::config::agent_config::{AgentConfig, DEFAULT_ANTHROPIC_MAX_TOKENS};

/// The API version Director speaks; the wire format below is this version's.
const ANTHROPIC_VERSION: &str = "2023-06-01";
/// Error types the API uses for a momentary failure on its side, worth a retry.
const RETRYABLE_ERROR_TYPES: &[&str] = &["overloaded_error", "api_error"];

/// One configured Anthropic agent. Holds the name of its key's environment
/// variable, never the key.
#[derive(Debug)]
pub struct AnthropicBackend {
    agent_name: String,
    /// `{base_url}/v1/messages`.
    endpoint: Url,
    limits: RequestLimits,
    model: String,
    api_key_env: Option<String>,
    max_tokens: u32,
    temperature: Option<f32>,
    stream: bool,
    client: reqwest::Client,
}

impl AnthropicBackend {
    /// A backend for the agent `agent_name`; the key is read at each request.
    pub fn new(agent_name: &str, config: &AgentConfig) -> Result<AnthropicBackend, AgentError> {
        let endpoint = endpoint_below(&config.base_url, "v1/messages");
        Ok(AnthropicBackend {
            agent_name: agent_name.to_owned(),
            limits: RequestLimits::of(agent_name, &endpoint, config),
            endpoint,
            model: config.model.clone(),
            api_key_env: config.api_key_env.clone(),
            max_tokens: config.max_tokens.unwrap_or(DEFAULT_ANTHROPIC_MAX_TOKENS),
            temperature: config.temperature,
            stream: config.stream,
            client: shared_http_client()?,
        })
    }
}

#[async_trait::async_trait]
impl AgentBackend for AnthropicBackend {
    async fn complete(
        &self,
        request: &ChatRequest,
        events: &(dyn Fn(AgentEvent) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<Completion, AgentError> {
        let api_key = ApiKey::for_agent(&self.agent_name, self.api_key_env.as_deref())?;
        let system: Vec<&str> = request
            .messages
            .iter()
            .filter(|message| message.role == Role::System)
            .map(|message| message.content.as_str())
            .collect();
        let messages: Vec<WireMessage<'_>> = request
            .messages
            .iter()
            .filter(|message| message.role != Role::System)
            .map(|message| WireMessage {
                role: message.role,
                content: &message.content,
            })
            .collect();
        let body = WireRequest {
            model: &self.model,
            max_tokens: self.max_tokens,
            system: (!system.is_empty()).then(|| system.join("\n\n")),
            messages,
            stream: self.stream,
            temperature: self.temperature,
        };
        let (body, api_key_ref) = (&body, api_key.as_ref());
        complete_with_retries(&self.limits, api_key_ref, events, cancel, move || {
            self.attempt(body, api_key_ref, events)
        })
        .await
    }
}

impl AnthropicBackend {
    async fn attempt(
        &self,
        body: &WireRequest<'_>,
        api_key: Option<&ApiKey>,
        events: &(dyn Fn(AgentEvent) + Send + Sync),
    ) -> Result<Completion, AttemptFailure> {
        let mut request = self
            .client
            .post(self.endpoint.clone())
            .header("anthropic-version", ANTHROPIC_VERSION)
            .json(body);
        if let Some(api_key) = api_key {
            request = request.header("x-api-key", api_key.expose());
        }
        let response = send_attempt(request, &self.limits, api_key).await?;
        match answer_body(response, self.stream, &self.limits.host).await? {
            AnswerBody::EventStream(response) => self.read_stream(response, events).await,
            AnswerBody::Json(response) => Ok(self.read_json(response, events).await?),
        }
    }

    async fn read_stream(
        &self,
        response: reqwest::Response,
        events: &(dyn Fn(AgentEvent) + Send + Sync),
    ) -> Result<Completion, AttemptFailure> {
        let host = &self.limits.host;
        let mut stream = server_sent_events(response, host);
        let mut text = String::new();
        let mut usage: Option<TokenUsage> = None;
        let mut stop_reason = None;
        let mut saw_stop = false;
        while let Some(event) = stream.next().await {
            let event = event?;
            let data = event.data.trim();
            if data.is_empty() {
                continue;
            }
            let stream_event: WireStreamEvent = serde_json::from_str(data).map_err(|_| {
                protocol_error(
                    host,
                    format!("a stream event is not a JSON event: {}", snippet(data)),
                )
            })?;
            match stream_event {
                WireStreamEvent::MessageStart { message } => {
                    usage = message.usage.map(|start| start.token_usage(0));
                }
                WireStreamEvent::ContentBlockDelta {
                    delta: WireDelta::TextDelta { text: piece },
                } => {
                    if !piece.is_empty() {
                        text.push_str(&piece);
                        events(AgentEvent::Delta(piece));
                    }
                }
                WireStreamEvent::MessageDelta {
                    delta,
                    usage: delta_usage,
                } => {
                    if delta.stop_reason.is_some() {
                        stop_reason = delta.stop_reason;
                    }
                    if let Some(delta_usage) = delta_usage {
                        // The counts here are running totals; the input ones
                        // are here only on some servers (the current API,
                        // LiteLLM, whose `message_start` counts none).
                        let started = usage.map_or(0, |usage| usage.prompt_tokens);
                        usage = Some(delta_usage.token_usage(delta_usage.output_tokens));
                        if let Some(usage) = usage.as_mut() {
                            usage.prompt_tokens = usage.prompt_tokens.max(started);
                        }
                    }
                }
                WireStreamEvent::MessageStop => {
                    saw_stop = true;
                    break;
                }
                WireStreamEvent::Error { error } => return Err(self.api_failure(&error)),
                WireStreamEvent::ContentBlockDelta {
                    delta: WireDelta::Other,
                }
                | WireStreamEvent::Other => {}
            }
        }
        if !saw_stop {
            return Err(truncated_stream(host, &text).into());
        }
        if let Some(usage) = usage {
            events(AgentEvent::Usage(usage));
        }
        Ok(Completion {
            text,
            usage,
            finish_reason: stop_reason,
        })
    }

    async fn read_json(
        &self,
        response: reqwest::Response,
        events: &(dyn Fn(AgentEvent) + Send + Sync),
    ) -> Result<Completion, AttemptFailure> {
        let host = &self.limits.host;
        let body = whole_body(response, host).await?;
        let message: WireMessageAnswer = serde_json::from_str(&body).map_err(|_| {
            protocol_error(
                host,
                format!("the answer is not a JSON message: {}", snippet(&body)),
            )
        })?;
        if let Some(error) = message.error {
            return Err(self.api_failure(&error));
        }
        let text: String = message
            .content
            .into_iter()
            .filter_map(|block| match block {
                WireContentBlock::Text { text } => Some(text),
                WireContentBlock::Other => None,
            })
            .collect();
        if !text.is_empty() {
            events(AgentEvent::Delta(text.clone()));
        }
        let usage = message
            .usage
            .map(|usage| usage.token_usage(usage.output_tokens));
        if let Some(usage) = usage {
            events(AgentEvent::Usage(usage));
        }
        Ok(Completion {
            text,
            usage,
            finish_reason: message.stop_reason,
        })
    }

    /// An error the API reported inside a successful answer, retryable when
    /// its type says the failure is momentary.
    fn api_failure(&self, error: &serde_json::Value) -> AttemptFailure {
        let error_type = error
            .get("type")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("error");
        let failure = protocol_error(
            &self.limits.host,
            format!(
                "the answer reports {error_type}: {}",
                wire_error_message(error)
            ),
        );
        if RETRYABLE_ERROR_TYPES.contains(&error_type) {
            AttemptFailure::Retryable {
                error: failure,
                retry_after: None,
            }
        } else {
            AttemptFailure::Final(failure)
        }
    }
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<String>,
    messages: Vec<WireMessage<'a>>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: Role,
    content: &'a str,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireStreamEvent {
    MessageStart {
        message: WireMessageStart,
    },
    ContentBlockDelta {
        delta: WireDelta,
    },
    MessageDelta {
        delta: WireMessageDelta,
        usage: Option<WireUsage>,
    },
    MessageStop,
    Error {
        error: serde_json::Value,
    },
    /// `ping`, `content_block_start`, `content_block_stop` and event types
    /// added after this was written.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct WireMessageStart {
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireDelta {
    TextDelta {
        text: String,
    },
    /// Tool input and thinking deltas, which a region edit does not use.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct WireMessageDelta {
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessageAnswer {
    #[serde(default)]
    content: Vec<WireContentBlock>,
    stop_reason: Option<String>,
    usage: Option<WireUsage>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireContentBlock {
    Text {
        text: String,
    },
    #[serde(other)]
    Other,
}

/// Usage as the API counts it: cached prompt tokens are counted apart from
/// the others, and all of them are prompt tokens. In `message_delta` only
/// `output_tokens` is sure to be there.
#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: u64,
}

impl WireUsage {
    fn token_usage(&self, completion_tokens: u64) -> TokenUsage {
        TokenUsage {
            prompt_tokens: self.input_tokens
                + self.cache_creation_input_tokens.unwrap_or(0)
                + self.cache_read_input_tokens.unwrap_or(0),
            completion_tokens,
            cost_usd: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use director_e2e::mock_anthropic::{MockAnthropic, Reply, error_body};

    use super::*;
    use crate::agent::ChatMessage;
    use crate::agent::http::FIRST_BACKOFF;
    use crate::agent::test_support::{complete_recording, retry_events, test_agent_config};
    use crate::config::agent_config::AgentKind;

    fn agent_config(mock: &MockAnthropic) -> AgentConfig {
        test_agent_config(AgentKind::Anthropic, &mock.url(), 512)
    }

    fn request() -> ChatRequest {
        let message = |role, content: &str| ChatMessage {
            role,
            content: content.to_owned(),
        };
        ChatRequest {
            messages: vec![
                message(Role::System, "You rewrite code."),
                message(Role::User, "Simplify this."),
                message(Role::Assistant, "```\nx\n```"),
                message(Role::User, "Shorter."),
            ],
        }
    }

    async fn complete(config: &AgentConfig) -> (Result<Completion, AgentError>, Vec<AgentEvent>) {
        let backend = AnthropicBackend::new("claude", config).expect("a backend");
        complete_recording(&backend, &request(), &CancellationToken::new()).await
    }

    fn retries(events: &[AgentEvent]) -> Vec<(Duration, String)> {
        retry_events(events)
            .into_iter()
            .map(|(_, delay, reason)| (delay, reason))
            .collect()
    }

    fn host(mock: &MockAnthropic) -> String {
        mock.url().trim_start_matches("http://").to_owned()
    }

    #[tokio::test]
    async fn a_streamed_answer_arrives_in_pieces_with_its_usage_and_stop_reason() {
        let mock = MockAnthropic::start().await.expect("a mock");
        mock.push(Reply::stream(&["```rust\n", "fn f() {}\n", "```"], (42, 7)));
        let (result, events) = complete(&agent_config(&mock)).await;
        let usage = TokenUsage {
            prompt_tokens: 42,
            completion_tokens: 7,
            cost_usd: None,
        };
        assert_eq!(
            result.expect("an answer"),
            Completion {
                text: "```rust\nfn f() {}\n```".to_owned(),
                usage: Some(usage),
                finish_reason: Some("end_turn".to_owned()),
            }
        );
        assert_eq!(
            events,
            [
                AgentEvent::Delta("```rust\n".to_owned()),
                AgentEvent::Delta("fn f() {}\n".to_owned()),
                AgentEvent::Delta("```".to_owned()),
                AgentEvent::Usage(usage),
            ]
        );

        let requests = mock.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].path, "/v1/messages");
        assert_eq!(requests[0].headers["anthropic-version"], "2023-06-01");
        assert!(!requests[0].headers.contains_key("x-api-key"));
        let body = &requests[0].body;
        assert_eq!(body["model"], "mock-model");
        assert_eq!(body["max_tokens"], 512);
        assert_eq!(body["stream"], true);
        assert_eq!(body["system"], "You rewrite code.");
        let roles: Vec<&str> = body["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|message| message["role"].as_str().expect("a role"))
            .collect();
        assert_eq!(roles, ["user", "assistant", "user"]);
        assert_eq!(body["messages"][2]["content"], "Shorter.");
    }

    #[tokio::test]
    async fn input_tokens_counted_only_at_the_end_of_the_stream_are_kept() {
        let mock = MockAnthropic::start().await.expect("a mock");
        mock.push(Reply::UsageAtEnd {
            chunks: vec!["```\nx\n```".to_owned()],
            usage: (1_234, 56),
        });
        let (result, events) = complete(&agent_config(&mock)).await;
        let usage = TokenUsage {
            prompt_tokens: 1_234,
            completion_tokens: 56,
            cost_usd: None,
        };
        assert_eq!(result.expect("an answer").usage, Some(usage));
        assert_eq!(events.last(), Some(&AgentEvent::Usage(usage)));
    }

    #[tokio::test]
    async fn a_non_streaming_agent_gets_the_message_whole() {
        let mock = MockAnthropic::start().await.expect("a mock");
        mock.push(Reply::stream(&["```\n", "x\n```"], (5, 3)));
        let config = AgentConfig {
            stream: false,
            ..agent_config(&mock)
        };
        let (result, _) = complete(&config).await;
        let completion = result.expect("an answer");
        assert_eq!(completion.text, "```\nx\n```");
        assert_eq!(completion.finish_reason.as_deref(), Some("end_turn"));
        assert_eq!(
            completion.usage.map(|usage| usage.completion_tokens),
            Some(3)
        );
        assert_eq!(mock.requests()[0].body["stream"], false);
    }

    #[tokio::test]
    async fn overloaded_mid_stream_and_529_are_retried_then_succeed() {
        let mock = MockAnthropic::start().await.expect("a mock");
        mock.push(Reply::OverloadedMidStream {
            chunks: vec!["```".to_owned()],
        });
        mock.push(Reply::overloaded_status());
        mock.push(Reply::stream(&["ok"], (1, 1)));
        let (result, events) = complete(&agent_config(&mock)).await;
        assert_eq!(result.expect("an answer").text, "ok");
        assert_eq!(
            retries(&events),
            [
                (
                    FIRST_BACKOFF,
                    format!(
                        "{} sent an answer Director cannot read: the answer reports \
                         overloaded_error: Overloaded",
                        host(&mock)
                    )
                ),
                (
                    FIRST_BACKOFF * 2,
                    format!("{} answered HTTP 529: Overloaded", host(&mock))
                ),
            ]
        );
        assert_eq!(mock.requests().len(), 3);
    }

    #[tokio::test]
    async fn a_429_waits_as_the_server_asks() {
        let mock = MockAnthropic::start().await.expect("a mock");
        mock.push(Reply::Status {
            code: 429,
            retry_after: Some("1".to_owned()),
            body: error_body(
                "rate_limit_error",
                "Number of requests has exceeded your rate limit",
            )
            .to_string(),
        });
        mock.push(Reply::stream(&["ok"], (1, 1)));
        let (result, events) = complete(&agent_config(&mock)).await;
        assert_eq!(result.expect("an answer").text, "ok");
        assert_eq!(
            retries(&events),
            [(
                Duration::from_secs(1),
                format!(
                    "{} answered HTTP 429: Number of requests has exceeded your rate limit",
                    host(&mock)
                )
            )]
        );
    }

    #[tokio::test]
    async fn a_client_error_fails_at_once_with_the_apis_message() {
        let mock = MockAnthropic::start().await.expect("a mock");
        mock.push(Reply::Status {
            code: 400,
            retry_after: None,
            body: error_body("invalid_request_error", "max_tokens: Field required").to_string(),
        });
        let (result, events) = complete(&agent_config(&mock)).await;
        assert_eq!(
            result.expect_err("a failure").to_string(),
            format!(
                "{} answered HTTP 400: max_tokens: Field required",
                host(&mock)
            )
        );
        assert!(retries(&events).is_empty());
    }

    #[tokio::test]
    async fn a_stream_without_message_stop_is_truncated() {
        let mock = MockAnthropic::start().await.expect("a mock");
        mock.push(Reply::Truncated {
            chunks: vec!["```\n".to_owned(), "let é".to_owned()],
        });
        let (result, _) = complete(&agent_config(&mock)).await;
        assert_eq!(
            result.expect_err("a failure").to_string(),
            format!(
                "{} sent an answer Director cannot read: the stream ended before the answer \
                 was complete (9 characters received)",
                host(&mock)
            )
        );
        assert_eq!(mock.requests().len(), 1);
    }

    #[tokio::test]
    async fn garbage_is_a_protocol_error_with_a_snippet() {
        let mock = MockAnthropic::start().await.expect("a mock");
        mock.push(Reply::Garbage("<html>Bad Gateway</html>".to_owned()));
        let (result, _) = complete(&agent_config(&mock)).await;
        assert_eq!(
            result.expect_err("a failure").to_string(),
            format!(
                "{} sent an answer Director cannot read: a stream event is not a JSON event: \
                 \"<html>Bad Gateway</html>\"",
                host(&mock)
            )
        );
    }

    #[tokio::test]
    async fn the_key_goes_in_x_api_key_and_nowhere_else() {
        let key = "sk-ant-test-0123456789";
        let var = "DIRECTOR_TEST_ANTHROPIC_KEY_HEADER";
        // SAFETY: the variable is unique to this test and read only by it.
        unsafe { std::env::set_var(var, key) };
        let mock = MockAnthropic::start().await.expect("a mock");
        mock.push(Reply::stream(&["ok"], (1, 1)));
        mock.push(Reply::Status {
            code: 401,
            retry_after: None,
            body: error_body("authentication_error", &format!("invalid x-api-key {key}"))
                .to_string(),
        });
        let config = AgentConfig {
            api_key_env: Some(var.to_owned()),
            ..agent_config(&mock)
        };
        complete(&config).await.0.expect("an answer");
        let headers = &mock.requests()[0].headers;
        assert_eq!(headers["x-api-key"], key);
        assert!(!headers.contains_key("authorization"));
        let error = complete(&config).await.0.expect_err("a failure");
        assert!(!format!("{error} {error:?}").contains(key), "{error}");
        assert!(error.to_string().contains("<redacted>"), "{error}");
    }
}
