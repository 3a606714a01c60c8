//! What every HTTP backend shares: one client, and the reading of error answers
//! (`Retry-After`, the server's error message) into words a user can act on.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use url::Url;

use crate::agent::error::AgentError;

/// How long connecting may take; the agent's timeout bounds the rest.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait a `Retry-After` header can impose; a longer one means the
/// user is better told now than kept waiting.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// How much of a body that is not the expected JSON goes into a message.
const SNIPPET_CHARS: usize = 200;

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

/// The server's own explanation in an error body: the message of an OpenAI-style
/// `{"error": {"message": …}}` (or the common variants), else a short snippet,
/// else the status's reason phrase.
pub fn error_message(status: reqwest::StatusCode, body: &str) -> String {
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
        let message = json
            .pointer("/error/message")
            .or_else(|| json.get("error"))
            .or_else(|| json.get("message"))
            .or_else(|| json.get("detail"))
            .and_then(serde_json::Value::as_str);
        if let Some(message) = message {
            return message.trim().to_owned();
        }
    }
    if body.trim().is_empty() {
        return status
            .canonical_reason()
            .unwrap_or("no explanation given")
            .to_owned();
    }
    snippet(body)
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
