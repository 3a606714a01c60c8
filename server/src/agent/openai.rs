//! The backend for OpenAI-compatible Chat Completions endpoints (OpenAI, Ollama,
//! vLLM, llama.cpp server, LM Studio, OpenRouter), streamed over SSE or not.
//!
//! Retries, the timeout, cancellation and error wording are shared with the
//! other HTTP backends (see [`crate::agent::http`]); this file is the wire
//! format: the request body, the bearer key, and the reading of chunks.

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
use crate::agent::{AgentBackend, AgentEvent, ChatMessage, ChatRequest, Completion, TokenUsage};
use crate::config::agent_config::AgentConfig;

/// One configured OpenAI-compatible agent. Holds the name of its key's
/// environment variable, never the key.
#[derive(Debug)]
pub struct OpenAiBackend {
    agent_name: String,
    /// `{base_url}/chat/completions`.
    endpoint: Url,
    limits: RequestLimits,
    model: String,
    api_key_env: Option<String>,
    max_tokens: Option<u32>,
    temperature: Option<f32>,
    stream: bool,
    client: reqwest::Client,
}

impl OpenAiBackend {
    /// A backend for the agent `agent_name`; the key is read at each request.
    pub fn new(agent_name: &str, config: &AgentConfig) -> Result<OpenAiBackend, AgentError> {
        let endpoint = endpoint_below(&config.base_url, "chat/completions");
        Ok(OpenAiBackend {
            agent_name: agent_name.to_owned(),
            limits: RequestLimits::of(agent_name, &endpoint, config),
            endpoint,
            model: config.model.clone(),
            api_key_env: config.api_key_env.clone(),
            max_tokens: config.max_tokens,
            temperature: config.temperature,
            stream: config.stream,
            client: shared_http_client()?,
        })
    }
}

#[async_trait::async_trait]
impl AgentBackend for OpenAiBackend {
    async fn complete(
        &self,
        request: &ChatRequest,
        events: &(dyn Fn(AgentEvent) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<Completion, AgentError> {
        let api_key = ApiKey::for_agent(&self.agent_name, self.api_key_env.as_deref())?;
        let body = WireRequest {
            model: &self.model,
            messages: &request.messages,
            stream: self.stream,
            stream_options: self.stream.then_some(StreamOptions {
                include_usage: true,
            }),
            max_tokens: self.max_tokens,
            temperature: self.temperature,
        };
        let (body, api_key_ref) = (&body, api_key.as_ref());
        complete_with_retries(&self.limits, api_key_ref, events, cancel, move || {
            self.attempt(body, api_key_ref, events)
        })
        .await
    }
}

impl OpenAiBackend {
    async fn attempt(
        &self,
        body: &WireRequest<'_>,
        api_key: Option<&ApiKey>,
        events: &(dyn Fn(AgentEvent) + Send + Sync),
    ) -> Result<Completion, AttemptFailure> {
        let mut request = self.client.post(self.endpoint.clone()).json(body);
        if let Some(api_key) = api_key {
            request = request.bearer_auth(api_key.expose());
        }
        let response = send_attempt(request, &self.limits, api_key).await?;
        let completion = match answer_body(response, self.stream, &self.limits.host).await? {
            AnswerBody::EventStream(response) => self.read_stream(response, events).await,
            AnswerBody::Json(response) => self.read_json(response, events).await,
        };
        Ok(completion?)
    }

    async fn read_stream(
        &self,
        response: reqwest::Response,
        events: &(dyn Fn(AgentEvent) + Send + Sync),
    ) -> Result<Completion, AgentError> {
        let host = &self.limits.host;
        let mut stream = server_sent_events(response, host);
        let mut text = String::new();
        let mut usage = None;
        let mut finish_reason = None;
        let mut saw_done = false;
        while let Some(event) = stream.next().await {
            let event = event?;
            let data = event.data.trim();
            if data.is_empty() {
                continue;
            }
            if data == "[DONE]" {
                saw_done = true;
                break;
            }
            let chunk: WireChunk = serde_json::from_str(data).map_err(|_| {
                protocol_error(
                    host,
                    format!("a stream event is not a JSON chunk: {}", snippet(data)),
                )
            })?;
            if let Some(error) = chunk.error {
                return Err(protocol_error(
                    host,
                    format!(
                        "the stream reported an error: {}",
                        wire_error_message(&error)
                    ),
                ));
            }
            if let Some(choice) = chunk.choices.into_iter().next() {
                if let Some(content) = choice.delta.and_then(|delta| delta.content) {
                    if !content.is_empty() {
                        text.push_str(&content);
                        events(AgentEvent::Delta(content));
                    }
                }
                if choice.finish_reason.is_some() {
                    finish_reason = choice.finish_reason;
                }
            }
            if let Some(chunk_usage) = chunk.usage {
                let chunk_usage = TokenUsage::from(chunk_usage);
                events(AgentEvent::Usage(chunk_usage));
                usage = Some(chunk_usage);
            }
        }
        if !saw_done && finish_reason.is_none() {
            return Err(truncated_stream(host, &text));
        }
        Ok(Completion {
            text,
            usage,
            finish_reason,
        })
    }

    async fn read_json(
        &self,
        response: reqwest::Response,
        events: &(dyn Fn(AgentEvent) + Send + Sync),
    ) -> Result<Completion, AgentError> {
        let host = &self.limits.host;
        let body = whole_body(response, host).await?;
        let completion: WireCompletion = serde_json::from_str(&body).map_err(|_| {
            protocol_error(
                host,
                format!(
                    "the answer is not a JSON chat completion: {}",
                    snippet(&body)
                ),
            )
        })?;
        if let Some(error) = completion.error {
            return Err(protocol_error(
                host,
                format!(
                    "the answer reports an error: {}",
                    wire_error_message(&error)
                ),
            ));
        }
        let Some(choice) = completion.choices.into_iter().next() else {
            return Err(protocol_error(host, "the answer has no choices".to_owned()));
        };
        let text = choice
            .message
            .and_then(|message| message.content)
            .unwrap_or_default();
        if !text.is_empty() {
            events(AgentEvent::Delta(text.clone()));
        }
        let usage = completion.usage.map(TokenUsage::from);
        if let Some(usage) = usage {
            events(AgentEvent::Usage(usage));
        }
        Ok(Completion {
            text,
            usage,
            finish_reason: choice.finish_reason,
        })
    }
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Deserialize)]
struct WireChunk {
    #[serde(default)]
    choices: Vec<WireChunkChoice>,
    usage: Option<WireUsage>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct WireChunkChoice {
    delta: Option<WireDelta>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireDelta {
    content: Option<String>,
}

#[derive(Deserialize)]
struct WireCompletion {
    #[serde(default)]
    choices: Vec<WireCompletionChoice>,
    usage: Option<WireUsage>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct WireCompletionChoice {
    message: Option<WireDelta>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

impl From<WireUsage> for TokenUsage {
    fn from(usage: WireUsage) -> TokenUsage {
        TokenUsage {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            cost_usd: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use director_e2e::mock_openai::{MockOpenAi, Reply};

    use super::*;
    use crate::agent::Role;
    use crate::agent::http::FIRST_BACKOFF;
    use crate::agent::test_support::{complete_recording, retry_events, test_agent_config};
    use crate::config::agent_config::AgentKind;

    fn agent_config(mock: &MockOpenAi) -> AgentConfig {
        test_agent_config(AgentKind::OpenAi, &mock.url(), 256)
    }

    fn request() -> ChatRequest {
        ChatRequest {
            messages: vec![
                ChatMessage {
                    role: Role::System,
                    content: "You rewrite code.".to_owned(),
                },
                ChatMessage {
                    role: Role::User,
                    content: "Simplify this.".to_owned(),
                },
            ],
        }
    }

    async fn complete(
        config: &AgentConfig,
        cancel: &CancellationToken,
    ) -> (Result<Completion, AgentError>, Vec<AgentEvent>) {
        let backend = OpenAiBackend::new("test", config).expect("a backend");
        complete_recording(&backend, &request(), cancel).await
    }

    fn host(mock: &MockOpenAi) -> String {
        mock.url()
            .trim_start_matches("http://")
            .trim_end_matches("/v1")
            .to_owned()
    }

    /// Sets a variable no other test reads and returns its name.
    fn set_unique_key_variable(suffix: &str, key: &str) -> String {
        let var = format!("DIRECTOR_TEST_OPENAI_KEY_{suffix}");
        // SAFETY: the variable is unique to one test and read only by it; no
        // other code of this process reads it concurrently.
        unsafe { std::env::set_var(&var, key) };
        var
    }

    #[tokio::test]
    async fn a_streamed_answer_arrives_in_pieces_with_its_usage() {
        let mock = MockOpenAi::start().await.expect("a mock");
        mock.push(Reply::stream(
            &["```rust\n", "fn f() {}\n", "```"],
            Some((42, 7)),
        ));
        let (result, events) = complete(&agent_config(&mock), &CancellationToken::new()).await;

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
                finish_reason: Some("stop".to_owned()),
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
        assert_eq!(requests[0].path, "/v1/chat/completions");
        assert!(!requests[0].headers.contains_key("authorization"));
        let body = &requests[0].body;
        assert_eq!(body["model"], "mock-model");
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["max_tokens"], 256);
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["role"], "user");
        assert_eq!(body["messages"][1]["content"], "Simplify this.");
    }

    #[tokio::test]
    async fn a_non_streaming_agent_gets_the_answer_in_one_piece() {
        let mock = MockOpenAi::start().await.expect("a mock");
        mock.push(Reply::Json {
            text: "```\nx\n```".to_owned(),
        });
        let config = AgentConfig {
            stream: false,
            ..agent_config(&mock)
        };
        let (result, events) = complete(&config, &CancellationToken::new()).await;
        let completion = result.expect("an answer");
        assert_eq!(completion.text, "```\nx\n```");
        assert_eq!(completion.finish_reason.as_deref(), Some("stop"));
        assert_eq!(events[0], AgentEvent::Delta("```\nx\n```".to_owned()));
        let body = &mock.requests()[0].body;
        assert_eq!(body["stream"], false);
        assert!(body.get("stream_options").is_none());
    }

    #[tokio::test]
    async fn a_429_waits_as_the_server_asks_then_succeeds() {
        let mock = MockOpenAi::start().await.expect("a mock");
        mock.push(Reply::Status {
            code: 429,
            retry_after: Some("1".to_owned()),
            body: r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#.to_owned(),
        });
        mock.push(Reply::stream(&["ok"], None));
        let started = std::time::Instant::now();
        let (result, events) = complete(&agent_config(&mock), &CancellationToken::new()).await;
        assert_eq!(result.expect("an answer").text, "ok");
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert_eq!(
            retry_events(&events),
            [(
                1,
                Duration::from_secs(1),
                format!("{} answered HTTP 429: Rate limit reached", host(&mock))
            )]
        );
        assert_eq!(mock.requests().len(), 2);
    }

    #[tokio::test]
    async fn a_500_backs_off_then_succeeds() {
        let mock = MockOpenAi::start().await.expect("a mock");
        mock.push(Reply::Status {
            code: 500,
            retry_after: None,
            body: "upstream hiccup".to_owned(),
        });
        mock.push(Reply::stream(&["ok"], None));
        let (result, events) = complete(&agent_config(&mock), &CancellationToken::new()).await;
        assert_eq!(result.expect("an answer").text, "ok");
        let retries = retry_events(&events);
        assert_eq!(retries.len(), 1);
        assert_eq!((retries[0].0, retries[0].1), (1, FIRST_BACKOFF));
    }

    #[tokio::test]
    async fn a_500_beyond_the_retries_fails_with_the_servers_message() {
        let mock = MockOpenAi::start().await.expect("a mock");
        for _ in 0..2 {
            mock.push(Reply::Status {
                code: 500,
                retry_after: None,
                body: r#"{"error":{"message":"model crashed"}}"#.to_owned(),
            });
        }
        let config = AgentConfig {
            retries: 1,
            ..agent_config(&mock)
        };
        let (result, events) = complete(&config, &CancellationToken::new()).await;
        let error = result.expect_err("a failure");
        assert_eq!(
            error.to_string(),
            format!("{} answered HTTP 500: model crashed", host(&mock))
        );
        assert_eq!(retry_events(&events).len(), 1);
        assert_eq!(mock.requests().len(), 2);
    }

    #[tokio::test]
    async fn a_client_error_fails_at_once() {
        let mock = MockOpenAi::start().await.expect("a mock");
        mock.push(Reply::Status {
            code: 404,
            retry_after: None,
            body: r#"{"error":{"message":"model 'mock-model' not found"}}"#.to_owned(),
        });
        let (result, events) = complete(&agent_config(&mock), &CancellationToken::new()).await;
        assert_eq!(
            result.expect_err("a failure").to_string(),
            format!(
                "{} answered HTTP 404: model 'mock-model' not found",
                host(&mock)
            )
        );
        assert!(retry_events(&events).is_empty());
        assert_eq!(mock.requests().len(), 1);
    }

    #[tokio::test]
    async fn a_stall_past_the_timeout_fails_with_timeout() {
        let mock = MockOpenAi::start().await.expect("a mock");
        mock.push(Reply::Stall);
        let config = AgentConfig {
            timeout: Duration::from_secs(1),
            ..agent_config(&mock)
        };
        let started = std::time::Instant::now();
        let (result, events) = complete(&config, &CancellationToken::new()).await;
        assert_eq!(
            result.expect_err("a timeout"),
            AgentError::Timeout {
                host: host(&mock),
                after: Duration::from_secs(1)
            }
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(events, [AgentEvent::Delta("Sure".to_owned())]);
    }

    #[tokio::test]
    async fn a_truncated_stream_is_a_protocol_error_that_counts_what_arrived() {
        let mock = MockOpenAi::start().await.expect("a mock");
        mock.push(Reply::Truncated {
            chunks: vec!["```\n".to_owned(), "let é".to_owned()],
        });
        let (result, _) = complete(&agent_config(&mock), &CancellationToken::new()).await;
        assert_eq!(
            result.expect_err("a failure").to_string(),
            format!(
                "{} sent an answer Director cannot read: the stream ended before the answer \
                 was complete (9 characters received)",
                host(&mock)
            )
        );
    }

    #[tokio::test]
    async fn garbage_is_a_protocol_error_with_a_snippet() {
        let mock = MockOpenAi::start().await.expect("a mock");
        mock.push(Reply::Garbage("<html>Bad Gateway</html>".to_owned()));
        let (result, _) = complete(&agent_config(&mock), &CancellationToken::new()).await;
        assert_eq!(
            result.expect_err("a failure").to_string(),
            format!(
                "{} sent an answer Director cannot read: a stream event is not a JSON chunk: \
                 \"<html>Bad Gateway</html>\"",
                host(&mock)
            )
        );

        mock.push(Reply::Garbage("not json at all".to_owned()));
        let config = AgentConfig {
            stream: false,
            ..agent_config(&mock)
        };
        let (result, _) = complete(&config, &CancellationToken::new()).await;
        assert_eq!(
            result.expect_err("a failure").to_string(),
            format!(
                "{} sent an answer Director cannot read: the answer is not a JSON chat \
                 completion: \"not json at all\"",
                host(&mock)
            )
        );
    }

    #[tokio::test]
    async fn cancelling_mid_stream_stops_promptly() {
        let mock = MockOpenAi::start().await.expect("a mock");
        mock.push(Reply::Stream {
            chunks: vec!["piece ".to_owned(); 20],
            usage: None,
            delay: Duration::from_millis(300),
        });
        let backend = OpenAiBackend::new("test", &agent_config(&mock)).expect("a backend");
        let cancel = CancellationToken::new();
        let deltas = Arc::new(Mutex::new(0));
        let on_event = |event: AgentEvent| {
            if let AgentEvent::Delta(_) = event {
                *deltas.lock().expect("unpoisoned") += 1;
                cancel.cancel();
            }
        };
        let started = std::time::Instant::now();
        let result = backend.complete(&request(), &on_event, &cancel).await;
        assert_eq!(result, Err(AgentError::Cancelled));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(*deltas.lock().expect("unpoisoned"), 1);
    }

    #[tokio::test]
    async fn cancelling_during_a_retry_wait_stops_promptly() {
        let mock = MockOpenAi::start().await.expect("a mock");
        mock.push(Reply::Status {
            code: 429,
            retry_after: Some("5".to_owned()),
            body: String::new(),
        });
        let backend = OpenAiBackend::new("test", &agent_config(&mock)).expect("a backend");
        let cancel = CancellationToken::new();
        let on_event = |event: AgentEvent| {
            if let AgentEvent::Retrying { .. } = event {
                cancel.cancel();
            }
        };
        let started = std::time::Instant::now();
        let result = backend.complete(&request(), &on_event, &cancel).await;
        assert_eq!(result, Err(AgentError::Cancelled));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(mock.requests().len(), 1);
    }

    #[tokio::test]
    async fn a_retry_wait_past_the_timeout_reports_the_server_answer_at_once() {
        let mock = MockOpenAi::start().await.expect("a mock");
        mock.push(Reply::Status {
            code: 429,
            retry_after: Some("30".to_owned()),
            body: String::new(),
        });
        let started = std::time::Instant::now();
        let (result, events) = complete(&agent_config(&mock), &CancellationToken::new()).await;
        assert_eq!(
            result.expect_err("a failure").to_string(),
            format!("{} answered HTTP 429: Too Many Requests", host(&mock))
        );
        assert!(retry_events(&events).is_empty());
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_missing_key_variable_is_named_and_nothing_is_sent() {
        let mock = MockOpenAi::start().await.expect("a mock");
        let config = AgentConfig {
            api_key_env: Some("DIRECTOR_TEST_OPENAI_KEY_NEVER_SET".to_owned()),
            ..agent_config(&mock)
        };
        let (result, _) = complete(&config, &CancellationToken::new()).await;
        assert_eq!(
            result.expect_err("a failure"),
            AgentError::MissingKey {
                agent: "test".to_owned(),
                var: "DIRECTOR_TEST_OPENAI_KEY_NEVER_SET".to_owned()
            }
        );
        assert!(mock.requests().is_empty());
    }

    #[tokio::test]
    async fn a_request_s_life_is_logged_at_debug_without_key_or_prompt() {
        let key = "sk-test-logged-nowhere-42";
        let mock = MockOpenAi::start().await.expect("a mock");
        let config = AgentConfig {
            api_key_env: Some(set_unique_key_variable("LOG", key)),
            ..agent_config(&mock)
        };
        let traceback = format!(
            "litellm.InternalServerError: upstream down (key {key})\nTraceback (most recent call last):\n  File \"proxy.py\", line 9\n{}",
            "    frame\n".repeat(150)
        );
        mock.push(Reply::Status {
            code: 500,
            retry_after: Some("0".to_owned()),
            body: serde_json::json!({"error": {"message": traceback}}).to_string(),
        });
        mock.push(Reply::stream(&["```\nok\n```"], Some((40, 3))));
        let backend = OpenAiBackend::new("logged", &config).expect("a backend");
        let (_guard, logs) = crate::agent::test_support::capture_debug_logs();
        let (result, events) =
            complete_recording(&backend, &request(), &CancellationToken::new()).await;
        result.expect("an answer after one retry");

        // The retry's progress says what went wrong in one short line.
        let retries = retry_events(&events);
        assert_eq!(retries.len(), 1, "{events:?}");
        let reason = &retries[0].2;
        assert!(
            reason.ends_with(
                "HTTP 500: litellm.InternalServerError: upstream down (key <redacted>) (…)"
            ),
            "{reason}"
        );

        let logs = logs.text();
        for line in [
            "agent `logged`: request 1 to",
            "answered HTTP 500 Internal Server Error",
            "the whole answer to HTTP 500",
            "frame",
            "retry 1 of 2 in 0 ms",
            "request 2 to",
            "answered HTTP 200 OK",
            "answered in",
            "40 tokens in, 3 out, finish reason stop",
        ] {
            assert!(logs.contains(line), "no {line:?} in the log:\n{logs}");
        }
        assert!(!logs.contains(key), "the key leaked into the log:\n{logs}");
        for message in &request().messages {
            assert!(
                !logs.contains(&message.content),
                "the prompt leaked into the log:\n{logs}"
            );
        }
    }

    #[tokio::test]
    async fn the_key_is_sent_as_a_bearer_token_and_appears_nowhere_else() {
        let key = "sk-test-0123456789abcdef";
        let mock = MockOpenAi::start().await.expect("a mock");
        let config = AgentConfig {
            api_key_env: Some(set_unique_key_variable("BEARER", key)),
            ..agent_config(&mock)
        };
        mock.push(Reply::stream(&["ok"], None));
        mock.push(Reply::Status {
            code: 401,
            retry_after: None,
            body: format!(r#"{{"error":{{"message":"Incorrect API key provided: {key}"}}}}"#),
        });
        mock.push(Reply::Garbage(format!("your key {key} is wrong")));

        let backend = OpenAiBackend::new("test", &config).expect("a backend");
        assert!(!format!("{backend:?}").contains(key));
        let events = Mutex::new(Vec::new());
        let record = |event: AgentEvent| events.lock().expect("unpoisoned").push(event);
        let cancel = CancellationToken::new();

        backend
            .complete(&request(), &record, &cancel)
            .await
            .expect("an answer");
        assert_eq!(
            mock.requests()[0].headers["authorization"],
            format!("Bearer {key}")
        );

        for _ in 0..2 {
            let error = backend
                .complete(&request(), &record, &cancel)
                .await
                .expect_err("a failure");
            assert!(!error.to_string().contains(key), "{error}");
            assert!(!format!("{error:?}").contains(key), "{error:?}");
            assert!(error.to_string().contains("<redacted>"), "{error}");
        }
        let events = events.into_inner().expect("unpoisoned");
        assert!(!format!("{events:?}").contains(key));
    }
}
