//! A guard in front of the protocol reader. tower-lsp-server stops reading for
//! good at the first frame it cannot decode, which would let one bad frame from
//! a buggy client kill the server. Frames are split by [`FrameDecoder`] and
//! judged by [`check_message`] first; only messages the framework reads are
//! passed on. A malformed request becomes a request for
//! [`INVALID_MESSAGE_METHOD`], which [`super::protocol_errors`] answers with the
//! error; a malformed notification or response is logged and dropped.
//!
//! When the framing itself breaks, the client is told (an error with a `null`
//! id), the protocol reader sees the end of its input, and [`guard`]'s
//! [`FramingVerdict`] says why, so that the server can exit non-zero.

use super::frame_reader::{FrameDecoder, FramingError};
use super::message_check::{Verdict, check_message};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWriteExt, DuplexStream};
use tokio::sync::oneshot;
use tokio_util::codec::FramedRead;
use tower_lsp_server::jsonrpc::ErrorCode;

/// The method of the stand-in request that carries a malformed request's error
/// (`params`: `{ "code", "message" }`) to the protocol layer, which answers it.
pub const INVALID_MESSAGE_METHOD: &str = "$/director/invalidMessage";

/// Says, once the protocol reader's input has ended, whether it ended because
/// the framing broke.
pub struct FramingVerdict(oneshot::Receiver<FramingError>);

impl FramingVerdict {
    /// The error that ended the input early; `None` at a clean end of input or
    /// while the guard still reads (the server stopped on `exit`).
    pub fn broken(mut self) -> Option<FramingError> {
        self.0.try_recv().ok()
    }
}

/// Returns a reader that yields the well-formed frames of `input`, and the
/// verdict on how `input` ended.
pub fn guard(input: impl AsyncRead + Unpin + Send + 'static) -> (DuplexStream, FramingVerdict) {
    let (reader, mut writer) = tokio::io::duplex(1 << 16);
    let (broken, verdict) = oneshot::channel();
    tokio::spawn(async move {
        let mut frames = FramedRead::new(input, FrameDecoder::default());
        while let Some(frame) = frames.next().await {
            let body = match frame {
                Ok(body) => screen(&body),
                Err(error) => {
                    let notice = stand_in(
                        Value::Null,
                        ErrorCode::ParseError,
                        &format!("Director cannot read its input any more and stops: {error}"),
                    );
                    let _ = write_frame(&mut writer, &notice).await;
                    let _ = broken.send(error);
                    return;
                }
            };
            if let Some(body) = body {
                if write_frame(&mut writer, &body).await.is_err() {
                    return;
                }
            }
        }
    });
    (reader, FramingVerdict(verdict))
}

/// What the guard passes on for one body: the body itself when it is a
/// well-formed message, a stand-in request when it must be answered with an
/// error, nothing when it is dropped. Whatever it returns, the protocol layer
/// can decode.
pub fn screen(body: &[u8]) -> Option<Vec<u8>> {
    match check_message(body) {
        Verdict::Valid => Some(body.to_vec()),
        Verdict::Answer { id, code, message } => {
            tracing::warn!(
                "answering a malformed message ({} bytes): {message}",
                body.len()
            );
            Some(stand_in(id, code, &message))
        }
        Verdict::Skip { reason } => {
            tracing::warn!(
                "ignoring a malformed message ({} bytes): {reason}",
                body.len()
            );
            None
        }
    }
}

/// The stand-in request for a malformed message with id `id`.
fn stand_in(id: Value, code: ErrorCode, message: &str) -> Vec<u8> {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": INVALID_MESSAGE_METHOD,
        "params": { "code": code.code(), "message": message },
    })
    .to_string()
    .into_bytes()
}

async fn write_frame(writer: &mut DuplexStream, body: &[u8]) -> std::io::Result<()> {
    let header = format!("Content-Length: {}\r\n\r\n", body.len());
    writer.write_all(header.as_bytes()).await?;
    writer.write_all(body).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn framed(bodies: &[&str]) -> Vec<u8> {
        bodies
            .iter()
            .flat_map(|body| format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes())
            .collect()
    }

    /// The bodies the guard passes on for `input`, and why the input ended.
    async fn through_guard(input: Vec<u8>) -> (Vec<Value>, Option<FramingError>) {
        let (mut reader, verdict) = guard(std::io::Cursor::new(input));
        let mut output = String::new();
        reader.read_to_string(&mut output).await.unwrap();
        let bodies = output
            .split("Content-Length: ")
            .skip(1)
            .map(|frame| serde_json::from_str(frame.split("\r\n\r\n").nth(1).unwrap()).unwrap())
            .collect();
        (bodies, verdict.broken())
    }

    #[tokio::test]
    async fn good_frames_pass_bad_requests_get_stand_ins_and_bad_notifications_go() {
        let request = r#"{"jsonrpc":"2.0","id":1,"method":"a/b"}"#;
        let (bodies, broken) = through_guard(framed(&[
            request,
            r#"{"jsonrpc":"1.0","method":"a/b"}"#,
            "{garbage}",
        ]))
        .await;
        assert!(broken.is_none());
        assert_eq!(bodies.len(), 2, "{bodies:?}");
        assert_eq!(bodies[0], serde_json::from_str::<Value>(request).unwrap());
        assert_eq!(bodies[1]["method"], INVALID_MESSAGE_METHOD);
        assert_eq!(bodies[1]["id"], Value::Null);
        assert_eq!(bodies[1]["params"]["code"], -32700);
    }

    #[tokio::test]
    async fn broken_framing_tells_the_client_and_ends_the_input() {
        let mut input = framed(&["[]"]);
        input.extend(b"Content-Length: abc\r\n\r\n{}");
        input.extend(framed(&["{}"]));
        let (bodies, broken) = through_guard(input).await;
        assert!(matches!(broken, Some(FramingError::InvalidLength(_))));
        assert_eq!(bodies.len(), 2, "{bodies:?}");
        assert_eq!(bodies[0]["params"]["code"], -32600);
        assert_eq!(bodies[1]["id"], Value::Null);
        let message = bodies[1]["params"]["message"].as_str().unwrap();
        assert!(message.contains("\"abc\" is not a length"), "{message}");
    }

    #[tokio::test]
    async fn an_input_cut_inside_a_frame_is_broken_and_a_clean_end_is_not() {
        let (_, broken) = through_guard(b"Content-Length: 10\r\n\r\n{\"a\"".to_vec()).await;
        assert!(matches!(broken, Some(FramingError::Io(_))));
        let mut input = framed(&["{}"]);
        input.extend(b"\r\n");
        let (bodies, broken) = through_guard(input).await;
        assert!(broken.is_none());
        assert_eq!(bodies[0]["params"]["code"], -32600);
    }
}
