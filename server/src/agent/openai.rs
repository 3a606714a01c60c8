//! The backend for OpenAI-compatible Chat Completions endpoints (OpenAI, Ollama,
//! vLLM, llama.cpp server, LM Studio, OpenRouter), streamed over SSE or not.
//!
//! Faults are handled the way a user expects: 429 waits as the server asks
//! (`Retry-After`), 5xx backs off, both at most `retries` times and each retry
//! reported; other errors fail at once with the server's own message. The whole
//! request, retries included, is bounded by the agent's timeout, and the
//! cancellation token stops it at any point.

use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::agent::api_key::ApiKey;
use crate::agent::error::AgentError;
use crate::agent::http::{
    connection_failure, error_message, host_of, retry_after, shared_http_client, snippet,
};
use crate::agent::{AgentBackend, AgentEvent, ChatMessage, ChatRequest, Completion, TokenUsage};
use crate::config::agent_config::AgentConfig;

/// The first wait before retrying a 5xx answer; it doubles on each retry.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// One configured OpenAI-compatible agent. Holds the name of its key's
/// environment variable, never the key.
#[derive(Debug)]
pub struct OpenAiBackend {
    agent_name: String,
    /// `{base_url}/chat/completions`.
    endpoint: Url,
    /// The endpoint's host and port, for messages.
    host: String,
    model: String,
    api_key_env: Option<String>,
    max_tokens: Option<u32>,
    temperature: Option<f32>,
    timeout: Duration,
    retries: u32,
    stream: bool,
    client: reqwest::Client,
}

impl OpenAiBackend {
    /// A backend for the agent `agent_name`; the key is read at each request.
    pub fn new(agent_name: &str, config: &AgentConfig) -> Result<OpenAiBackend, AgentError> {
        let mut endpoint = config.base_url.clone();
        let path = format!(
            "{}/chat/completions",
            config.base_url.path().trim_end_matches('/')
        );
        endpoint.set_path(&path);
        Ok(OpenAiBackend {
            agent_name: agent_name.to_owned(),
            host: host_of(&endpoint),
            endpoint,
            model: config.model.clone(),
            api_key_env: config.api_key_env.clone(),
            max_tokens: config.max_tokens,
            temperature: config.temperature,
            timeout: config.timeout,
            retries: config.retries,
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
        let api_key = match &self.api_key_env {
            Some(var) => Some(ApiKey::from_env(&self.agent_name, var)?),
            None => None,
        };
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
        let deadline = Instant::now() + self.timeout;
        let bounded = tokio::time::timeout_at(
            deadline,
            self.complete_with_retries(&body, api_key.as_ref(), events, deadline),
        );
        let result = tokio::select! {
            biased;
            () = cancel.cancelled() => Err(AgentError::Cancelled),
            bounded = bounded => bounded.unwrap_or_else(|_elapsed| Err(AgentError::Timeout {
                host: self.host.clone(),
                after: self.timeout,
            })),
        };
        result.map_err(|error| redact(error, api_key.as_ref()))
    }
}

/// How one attempt failed: for good, or in a way worth trying again.
enum AttemptFailure {
    Final(AgentError),
    Retryable {
        error: AgentError,
        retry_after: Option<Duration>,
    },
}

impl OpenAiBackend {
    async fn complete_with_retries(
        &self,
        body: &WireRequest<'_>,
        api_key: Option<&ApiKey>,
        events: &(dyn Fn(AgentEvent) + Send + Sync),
        deadline: Instant,
    ) -> Result<Completion, AgentError> {
        let mut retries_done = 0;
        loop {
            let (error, retry_after) = match self.attempt(body, api_key, events).await {
                Ok(completion) => return Ok(completion),
                Err(AttemptFailure::Final(error)) => return Err(error),
                Err(AttemptFailure::Retryable { error, retry_after }) => (error, retry_after),
            };
            if retries_done >= self.retries {
                return Err(error);
            }
            let delay = retry_after.unwrap_or(FIRST_BACKOFF * 2_u32.pow(retries_done));
            // Waiting past the timeout would only turn the server's clear answer
            // into a vaguer timeout.
            if Instant::now() + delay >= deadline {
                return Err(error);
            }
            retries_done += 1;
            events(AgentEvent::Retrying {
                attempt: retries_done,
                delay,
                reason: redact(error, api_key).to_string(),
            });
            tokio::time::sleep(delay).await;
        }
    }

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
        let response = request
            .send()
            .await
            .map_err(|error| AttemptFailure::Final(connection_failure(&self.host, &error)))?;

        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            let body = response.text().await.unwrap_or_default();
            let error = AgentError::Http {
                host: self.host.clone(),
                status: status.as_u16(),
                message: error_message(status, &body),
            };
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                return Err(AttemptFailure::Retryable { error, retry_after });
            }
            return Err(AttemptFailure::Final(error));
        }

        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let result = if content_type.starts_with("text/event-stream") {
            self.read_stream(response, events).await
        } else if self.stream && !content_type.contains("json") {
            let body = response.text().await.unwrap_or_default();
            Err(self.protocol_error(format!(
                "expected an event stream, got `{content_type}`: {}",
                snippet(&body)
            )))
        } else {
            // A server may ignore `stream: true` and answer in one piece.
            self.read_json(response, events).await
        };
        result.map_err(AttemptFailure::Final)
    }

    async fn read_stream(
        &self,
        response: reqwest::Response,
        events: &(dyn Fn(AgentEvent) + Send + Sync),
    ) -> Result<Completion, AgentError> {
        let mut stream = response.bytes_stream().eventsource();
        let mut text = String::new();
        let mut usage = None;
        let mut finish_reason = None;
        let mut saw_done = false;
        while let Some(event) = stream.next().await {
            let event = event.map_err(|error| match error {
                EventStreamError::Transport(error) => connection_failure(&self.host, &error),
                EventStreamError::Utf8(error) => {
                    self.protocol_error(format!("the event stream is not UTF-8: {error}"))
                }
                EventStreamError::Parser(error) => {
                    self.protocol_error(format!("the event stream is malformed: {error}"))
                }
            })?;
            let data = event.data.trim();
            if data.is_empty() {
                continue;
            }
            if data == "[DONE]" {
                saw_done = true;
                break;
            }
            let chunk: WireChunk = serde_json::from_str(data).map_err(|_| {
                self.protocol_error(format!(
                    "a stream event is not a JSON chunk: {}",
                    snippet(data)
                ))
            })?;
            if let Some(error) = chunk.error {
                return Err(self.protocol_error(format!(
                    "the stream reported an error: {}",
                    wire_error_message(&error)
                )));
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
            return Err(self.protocol_error(format!(
                "the stream ended before the answer was complete ({} characters received)",
                text.chars().count()
            )));
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
        let body = response
            .text()
            .await
            .map_err(|error| connection_failure(&self.host, &error))?;
        let completion: WireCompletion = serde_json::from_str(&body).map_err(|_| {
            self.protocol_error(format!(
                "the answer is not a JSON chat completion: {}",
                snippet(&body)
            ))
        })?;
        if let Some(error) = completion.error {
            return Err(self.protocol_error(format!(
                "the answer reports an error: {}",
                wire_error_message(&error)
            )));
        }
        let Some(choice) = completion.choices.into_iter().next() else {
            return Err(self.protocol_error("the answer has no choices".to_owned()));
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

    fn protocol_error(&self, detail: String) -> AgentError {
        AgentError::Protocol {
            host: self.host.clone(),
            detail,
        }
    }
}

/// `error` with every occurrence of the key replaced, for servers that echo the
/// key they were sent.
fn redact(error: AgentError, api_key: Option<&ApiKey>) -> AgentError {
    let Some(key) = api_key.map(ApiKey::expose).filter(|key| !key.is_empty()) else {
        return error;
    };
    let hide = |text: String| text.replace(key, "<redacted>");
    match error {
        AgentError::Http {
            host,
            status,
            message,
        } => AgentError::Http {
            host,
            status,
            message: hide(message),
        },
        AgentError::Protocol { host, detail } => AgentError::Protocol {
            host,
            detail: hide(detail),
        },
        AgentError::Connect { host, reason } => AgentError::Connect {
            host,
            reason: hide(reason),
        },
        other => other,
    }
}

fn wire_error_message(error: &serde_json::Value) -> String {
    error
        .get("message")
        .and_then(serde_json::Value::as_str)
        .or_else(|| error.as_str())
        .map_or_else(|| snippet(&error.to_string()), str::to_owned)
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
        }
    }
}
