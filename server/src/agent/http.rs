//! What every HTTP backend shares: one client; the retry loop bounded by the
//! agent's timeout and cancellation; and the reading of answers and error
//! answers (`Retry-After`, the server's error message, broken event streams)
//! into words a user can act on.
//!
//! Faults are handled the way a user expects: 429 waits as the server asks
//! (`Retry-After`), 5xx (and an API's own "overloaded") backs off, both at most
//! `retries` times and each retry reported; other errors fail at once with the
//! server's own message. The whole request, retries included, is bounded by the
//! agent's timeout, and the cancellation token stops it at any point.
//!
//! Each request's life is logged at debug level (attempts, statuses, a failed
//! answer's whole body, retries, usage, the end), never the key (redacted from
//! whatever a server echoes) nor the prompt.

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::agent::api_key::ApiKey;
use crate::agent::error::AgentError;
use crate::agent::{AgentEvent, Completion};
use crate::config::agent_config::AgentConfig;

/// How long connecting may take; the agent's timeout bounds the rest.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait a `Retry-After` header can impose; a longer one means the
/// user is better told now than kept waiting.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// How much of a body that is not the expected JSON, or of a server's
/// explanation, goes into a message.
const SNIPPET_CHARS: usize = 200;
/// The first wait before retrying a 5xx answer; it doubles on each retry.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// The bounds of one agent's requests, from its config.
#[derive(Debug, Clone)]
pub struct RequestLimits {
    /// The agent's name, for the log.
    pub agent: String,
    /// The endpoint's host and port, for messages.
    pub host: String,
    /// Bounds the whole request, retries included.
    pub timeout: Duration,
    /// How many times a retryable failure is tried again.
    pub retries: u32,
}

impl RequestLimits {
    /// The limits of the agent `agent` (as `config` says) for requests to `endpoint`.
    pub fn of(agent: &str, endpoint: &Url, config: &AgentConfig) -> RequestLimits {
        RequestLimits {
            agent: agent.to_owned(),
            host: host_of(endpoint),
            timeout: config.timeout,
            retries: config.retries,
        }
    }
}

/// `path` below the agent's API root, keeping whatever path the root has
/// (`http://host/v1` and `chat/completions` give `http://host/v1/chat/completions`).
pub fn endpoint_below(base_url: &Url, path: &str) -> Url {
    let mut endpoint = base_url.clone();
    endpoint.set_path(&format!("{}/{path}", base_url.path().trim_end_matches('/')));
    endpoint
}

/// How one attempt failed: for good, or in a way worth trying again.
#[derive(Debug)]
pub enum AttemptFailure {
    Final(AgentError),
    Retryable {
        error: AgentError,
        retry_after: Option<Duration>,
    },
}

impl From<AgentError> for AttemptFailure {
    fn from(error: AgentError) -> AttemptFailure {
        AttemptFailure::Final(error)
    }
}

/// Runs `attempt` until it answers, fails for good, or has used up the
/// retries; the whole is bounded by `limits.timeout` and stopped by `cancel`,
/// and no error it returns or reports contains `api_key`.
pub async fn complete_with_retries<Attempt, AttemptFuture>(
    limits: &RequestLimits,
    api_key: Option<&ApiKey>,
    events: &(dyn Fn(AgentEvent) + Send + Sync),
    cancel: &CancellationToken,
    attempt: Attempt,
) -> Result<Completion, AgentError>
where
    Attempt: FnMut() -> AttemptFuture,
    AttemptFuture: Future<Output = Result<Completion, AttemptFailure>>,
{
    let started = Instant::now();
    let deadline = started + limits.timeout;
    let bounded = tokio::time::timeout_at(
        deadline,
        retry_until(limits, api_key, events, deadline, attempt),
    );
    let result = tokio::select! {
        biased;
        () = cancel.cancelled() => Err(AgentError::Cancelled),
        bounded = bounded => bounded.unwrap_or_else(|_elapsed| Err(AgentError::Timeout {
            host: limits.host.clone(),
            after: limits.timeout,
        })),
    };
    let result = result.map_err(|error| redact(error, api_key));
    let agent = &limits.agent;
    let elapsed = started.elapsed().as_millis();
    match &result {
        Ok(completion) => {
            let usage = completion.usage.map_or_else(
                || "no usage reported".to_owned(),
                |usage| {
                    format!(
                        "{} tokens in, {} out",
                        usage.prompt_tokens, usage.completion_tokens
                    )
                },
            );
            tracing::debug!(
                "agent `{agent}`: answered in {elapsed} ms ({} characters, {usage}, finish reason {})",
                completion.text.chars().count(),
                completion.finish_reason.as_deref().unwrap_or("none"),
            );
        }
        Err(error) => tracing::debug!("agent `{agent}`: ended after {elapsed} ms: {error}"),
    }
    result
}

async fn retry_until<Attempt, AttemptFuture>(
    limits: &RequestLimits,
    api_key: Option<&ApiKey>,
    events: &(dyn Fn(AgentEvent) + Send + Sync),
    deadline: Instant,
    mut attempt: Attempt,
) -> Result<Completion, AgentError>
where
    Attempt: FnMut() -> AttemptFuture,
    AttemptFuture: Future<Output = Result<Completion, AttemptFailure>>,
{
    let retries = limits.retries;
    let mut retries_done = 0;
    loop {
        tracing::debug!(
            "agent `{}`: request {} to {}",
            limits.agent,
            retries_done + 1,
            limits.host
        );
        let (error, retry_after) = match attempt().await {
            Ok(completion) => return Ok(completion),
            Err(AttemptFailure::Final(error)) => return Err(error),
            Err(AttemptFailure::Retryable { error, retry_after }) => (error, retry_after),
        };
        if retries_done >= retries {
            return Err(error);
        }
        let delay = retry_after.unwrap_or(FIRST_BACKOFF * 2_u32.pow(retries_done));
        // Waiting past the timeout would only turn the server's clear answer
        // into a vaguer timeout.
        if Instant::now() + delay >= deadline {
            return Err(error);
        }
        retries_done += 1;
        let reason = redact(error, api_key).to_string();
        tracing::debug!(
            "agent `{}`: retry {retries_done} of {retries} in {} ms: {reason}",
            limits.agent,
            delay.as_millis()
        );
        events(AgentEvent::Retrying {
            attempt: retries_done,
            delay,
            reason,
        });
        tokio::time::sleep(delay).await;
    }
}

/// Sends one attempt; an error status becomes a failure carrying the first
/// line of the server's message (its whole body goes to the log), retryable
/// for 429 and 5xx (529 is Anthropic's "overloaded").
pub async fn send_attempt(
    request: reqwest::RequestBuilder,
    limits: &RequestLimits,
    api_key: Option<&ApiKey>,
) -> Result<reqwest::Response, AttemptFailure> {
    let host = limits.host.as_str();
    let response = request
        .send()
        .await
        .map_err(|error| AttemptFailure::Final(connection_failure(host, &error)))?;
    let status = response.status();
    tracing::debug!("agent `{}`: {host} answered HTTP {status}", limits.agent);
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = retry_after(response.headers());
    let body = response.text().await.unwrap_or_default();
    let logged = match api_key.map(ApiKey::expose).filter(|key| !key.is_empty()) {
        Some(key) => body.replace(key, "<redacted>"),
        None => body.clone(),
    };
    tracing::debug!(
        "agent `{}`: the whole answer to HTTP {status}:\n{logged}",
        limits.agent
    );
    let error = AgentError::Http {
        host: host.to_owned(),
        status: status.as_u16(),
        message: error_message(status, &body),
    };
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Err(AttemptFailure::Retryable { error, retry_after });
    }
    Err(AttemptFailure::Final(error))
}

/// A successful answer, by how its body is to be read.
pub enum AnswerBody {
    EventStream(reqwest::Response),
    Json(reqwest::Response),
}

/// Tells a streamed answer from a whole one by its content type; a server may
/// ignore `stream: true` and answer in one JSON piece, but an answer that is
/// neither is refused with a snippet of it.
pub async fn answer_body(
    response: reqwest::Response,
    stream_requested: bool,
    host: &str,
) -> Result<AnswerBody, AgentError> {
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("text/event-stream") {
        return Ok(AnswerBody::EventStream(response));
    }
    if stream_requested && !content_type.contains("json") {
        let body = response.text().await.unwrap_or_default();
        return Err(protocol_error(
            host,
            format!(
                "expected an event stream, got `{content_type}`: {}",
                snippet(&body)
            ),
        ));
    }
    Ok(AnswerBody::Json(response))
}

/// The server-sent events of a streamed answer, with transport and parse
/// failures worded for the user.
pub fn server_sent_events(
    response: reqwest::Response,
    host: &str,
) -> impl Stream<Item = Result<Event, AgentError>> + Unpin {
    let host = host.to_owned();
    response
        .bytes_stream()
        .eventsource()
        .map(move |event| match event {
            Ok(event) => Ok(event),
            Err(EventStreamError::Transport(error)) => Err(connection_failure(&host, &error)),
            Err(EventStreamError::Utf8(error)) => Err(protocol_error(
                &host,
                format!("the event stream is not UTF-8: {error}"),
            )),
            Err(EventStreamError::Parser(error)) => Err(protocol_error(
                &host,
                format!("the event stream is malformed: {error}"),
            )),
        })
}

/// The whole body of an answer that is not streamed.
pub async fn whole_body(response: reqwest::Response, host: &str) -> Result<String, AgentError> {
    response
        .text()
        .await
        .map_err(|error| connection_failure(host, &error))
}

/// The failure of a stream that stopped before the protocol said it was done.
pub fn truncated_stream(host: &str, received: &str) -> AgentError {
    protocol_error(
        host,
        format!(
            "the stream ended before the answer was complete ({} characters received)",
            received.chars().count()
        ),
    )
}

/// An answer that does not follow the protocol.
pub fn protocol_error(host: &str, detail: String) -> AgentError {
    AgentError::Protocol {
        host: host.to_owned(),
        detail,
    }
}

/// The message of an error object inside an answer (`{"message": …}` or a
/// bare string), else a snippet of it.
pub fn wire_error_message(error: &serde_json::Value) -> String {
    error
        .get("message")
        .and_then(serde_json::Value::as_str)
        .or_else(|| error.as_str())
        .map_or_else(|| snippet(&error.to_string()), str::to_owned)
}

/// `error` with every occurrence of the key replaced, for servers that echo the
/// key they were sent.
pub fn redact(error: AgentError, api_key: Option<&ApiKey>) -> AgentError {
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

/// The one client every backend uses, so connections are pooled. It follows no
/// redirect: an API endpoint has no reason to send the key's request elsewhere.
pub fn shared_http_client() -> Result<reqwest::Client, AgentError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("director/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|error| error.to_string())
        })
        .clone()
        .map_err(AgentError::Setup)
}

/// The endpoint as users know it in messages: host and port.
pub fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => url.to_string(),
    }
}

/// The wait a `Retry-After` header asks for (delay in seconds or an HTTP
/// date), capped at [`MAX_RETRY_AFTER`]; `None` when absent or unreadable.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let date = httpdate::parse_http_date(value).ok()?;
            date.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The server's own explanation in an error body, in one line: the message of
/// an OpenAI-style `{"error": {"message": …}}` (or the common variants) or the
/// text of the body, cut to its meaningful line (see [`meaningful_line`]); a
/// snippet of an HTML page; else the status's reason phrase.
pub fn error_message(status: reqwest::StatusCode, body: &str) -> String {
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
        let message = json
            .pointer("/error/message")
            .or_else(|| json.get("error"))
            .or_else(|| json.get("message"))
            .or_else(|| json.get("detail"))
            .and_then(serde_json::Value::as_str);
        if let Some(message) = message.filter(|message| !message.trim().is_empty()) {
            return meaningful_line(message);
        }
    }
    if body.trim().is_empty() {
        return status
            .canonical_reason()
            .unwrap_or("no explanation given")
            .to_owned();
    }
    if body.trim_start().starts_with('<') {
        return snippet(body);
    }
    meaningful_line(body)
}

/// The line of a server's explanation that says what went wrong: its first
/// line, or the last of a Python traceback (the exception), at most
/// [`SNIPPET_CHARS`] long; " (…)" says the log has the rest.
fn meaningful_line(explanation: &str) -> String {
    let lines: Vec<&str> = explanation
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let line = match lines.as_slice() {
        [first, .., last] if first.starts_with("Traceback (most recent call last)") => last,
        [first, ..] => first,
        [] => return String::new(),
    };
    if lines.len() == 1 && line.chars().count() <= SNIPPET_CHARS {
        return (*line).to_owned();
    }
    let cut: String = line.chars().take(SNIPPET_CHARS).collect();
    format!("{cut} (…)")
}

/// The start of `text` on one line, for messages about unreadable answers.
pub fn snippet(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= SNIPPET_CHARS {
        return format!("\"{one_line}\"");
    }
    let start: String = one_line.chars().take(SNIPPET_CHARS).collect();
    format!("\"{start}…\"")
}

/// Why a request could not be sent or its answer not received, from the
/// innermost error (the one that says "connection refused").
pub fn connection_failure(host: &str, error: &reqwest::Error) -> AgentError {
    let mut innermost: &dyn std::error::Error = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    AgentError::Connect {
        host: host.to_owned(),
        reason: innermost.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    fn headers_with_retry_after(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).expect("a header"));
        headers
    }

    #[test]
    fn retry_after_reads_seconds_and_caps_them() {
        assert_eq!(
            retry_after(&headers_with_retry_after("3")),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(&headers_with_retry_after("3600")),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(retry_after(&headers_with_retry_after("soon")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn retry_after_reads_http_dates() {
        let in_ten_seconds = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(10));
        let wait = retry_after(&headers_with_retry_after(&in_ten_seconds)).expect("a wait");
        assert!(wait > Duration::from_secs(8) && wait <= Duration::from_secs(10));
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(10));
        assert_eq!(
            retry_after(&headers_with_retry_after(&past)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn error_message_prefers_the_servers_words() {
        let status = StatusCode::BAD_REQUEST;
        assert_eq!(
            error_message(
                status,
                r#"{"error":{"message":"model not found","type":"x"}}"#
            ),
            "model not found"
        );
        assert_eq!(
            error_message(status, r#"{"error":"bad model"}"#),
            "bad model"
        );
        assert_eq!(
            error_message(status, r#"{"detail":"Not Found"}"#),
            "Not Found"
        );
        assert_eq!(error_message(status, ""), "Bad Request");
        assert_eq!(
            error_message(status, "<html>\n<body>Bad gateway</body>\n</html>"),
            "\"<html> <body>Bad gateway</body> </html>\""
        );
    }

    #[test]
    fn a_long_explanation_is_cut_to_its_meaningful_line() {
        let status = StatusCode::INTERNAL_SERVER_ERROR;
        // LiteLLM's shape: the exception's line, then its traceback.
        let litellm = serde_json::json!({"error": {"message":
            "litellm.InternalServerError: Connection error.\nTraceback (most recent call last):\n  File \"/app/main.py\", line 12, in call\n    raise error\n"
        }});
        assert_eq!(
            error_message(status, &litellm.to_string()),
            "litellm.InternalServerError: Connection error. (…)"
        );
        let traceback = "Traceback (most recent call last):\n  File \"app.py\", line 3, in <module>\n    main()\nValueError: model `x` is not loaded\n";
        assert_eq!(
            error_message(status, traceback),
            "ValueError: model `x` is not loaded (…)"
        );
        let long = "y".repeat(1_640);
        let message = error_message(status, &long);
        assert_eq!(
            message.chars().count(),
            SNIPPET_CHARS + " (…)".chars().count()
        );
        assert!(message.ends_with(" (…)"), "{message}");
    }

    #[test]
    fn snippets_are_short_and_cut_on_character_boundaries() {
        let long = "é".repeat(500);
        let cut = snippet(&long);
        assert_eq!(cut.chars().count(), SNIPPET_CHARS + 3);
        assert!(cut.ends_with("…\""));
    }

    #[test]
    fn hosts_keep_their_port() {
        let url = Url::parse("http://127.0.0.1:11434/v1").expect("a URL");
        assert_eq!(host_of(&url), "127.0.0.1:11434");
        let url = Url::parse("https://api.openai.com/v1").expect("a URL");
        assert_eq!(host_of(&url), "api.openai.com");
    }
}
