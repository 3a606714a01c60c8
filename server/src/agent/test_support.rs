//! What the HTTP backends' tests share: an agent config pointing at a mock,
//! and a request run that records every event the backend reported.

use std::sync::Mutex;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use url::Url;

use crate::agent::{AgentBackend, AgentError, AgentEvent, ChatRequest, Completion};
use crate::config::ConfigOrigin;
use crate::config::agent_config::{AgentConfig, AgentKind};

/// An agent of `kind` at `base_url` with short limits and no key.
pub fn test_agent_config(kind: AgentKind, base_url: &str, max_tokens: u32) -> AgentConfig {
    AgentConfig {
        kind,
        base_url: Url::parse(base_url).expect("the mock's URL"),
        model: "mock-model".to_owned(),
        api_key_env: None,
        max_tokens: Some(max_tokens),
        temperature: Some(0.2),
        timeout: Duration::from_secs(10),
        max_concurrent: 2,
        retries: 2,
        stream: true,
        context_lines: 20,
        price: None,
        origin: ConfigOrigin::User,
        command: None,
        check: None,
        validation_retries: 2,
    }
}

/// What this thread logs at debug level and above while the guard lives.
pub fn capture_debug_logs() -> (tracing::subscriber::DefaultGuard, LogBuffer) {
    let buffer = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(buffer.clone())
        .finish();
    (tracing::subscriber::set_default(subscriber), buffer)
}

/// Log lines written so far, shared with the subscriber writing them.
#[derive(Debug, Clone, Default)]
pub struct LogBuffer(std::sync::Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("unpoisoned")).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("unpoisoned").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'writer> tracing_subscriber::fmt::MakeWriter<'writer> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'writer self) -> LogBuffer {
        self.clone()
    }
}

/// Runs one request and returns its result with every event it reported.
pub async fn complete_recording(
    backend: &dyn AgentBackend,
    request: &ChatRequest,
    cancel: &CancellationToken,
) -> (Result<Completion, AgentError>, Vec<AgentEvent>) {
    let events = Mutex::new(Vec::new());
    let record = |event: AgentEvent| events.lock().expect("unpoisoned").push(event);
    let result = backend.complete(request, &record, cancel).await;
    (result, events.into_inner().expect("unpoisoned"))
}

/// The retries among `events`: attempt, delay and reason.
pub fn retry_events(events: &[AgentEvent]) -> Vec<(u32, Duration, String)> {
    events
        .iter()
        .filter_map(|event| match event {
            AgentEvent::Retrying {
                attempt,
                delay,
                reason,
            } => Some((*attempt, *delay, reason.clone())),
            _ => None,
        })
        .collect()
}
