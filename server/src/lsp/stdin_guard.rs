//! A guard in front of the protocol reader. tower-lsp-server stops reading for
//! good at the first message body that is not JSON, which would turn one bad
//! frame from a buggy client into a dead server. Frames are checked here first;
//! a malformed body is logged and replaced by a notification the server ignores.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};

/// What replaces a malformed body: a `$/` notification, which servers may ignore.
const IGNORED: &[u8] = br#"{"jsonrpc":"2.0","method":"$/director/malformedMessage"}"#;
/// Frames larger than this are treated as malformed rather than buffered.
const MAX_FRAME_BYTES: usize = 256 * 1024 * 1024;
const MAX_HEADER_LINE_BYTES: u64 = 8 * 1024;

/// Returns a reader that yields the frames of `input` with malformed ones replaced.
pub fn guard(input: impl AsyncRead + Unpin + Send + 'static) -> DuplexStream {
    let (reader, mut writer) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let mut input = BufReader::new(input);
        while let Some(body) = next_frame(&mut input).await {
            let body = if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok() {
                body
            } else {
                tracing::warn!("ignoring a message that is not JSON ({} bytes)", body.len());
                IGNORED.to_vec()
            };
            let header = format!("Content-Length: {}\r\n\r\n", body.len());
            let written = async {
                writer.write_all(header.as_bytes()).await?;
                writer.write_all(&body).await
            };
            if written.await.is_err() {
                return;
            }
        }
    });
    reader
}

/// Reads one frame's body; `None` at the end of the input. Header blocks
/// without a usable `Content-Length` are skipped.
async fn next_frame(input: &mut (impl AsyncBufReadExt + Unpin)) -> Option<Vec<u8>> {
    loop {
        let mut content_length = None;
        loop {
            let mut line = Vec::new();
            let read = input
                .take(MAX_HEADER_LINE_BYTES)
                .read_until(b'\n', &mut line)
                .await
                .ok()?;
            if read == 0 {
                return None;
            }
            let line = String::from_utf8_lossy(&line);
            let line = line.trim();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse::<usize>().ok();
                }
            }
        }
        match content_length {
            Some(length) if length <= MAX_FRAME_BYTES => {
                let mut body = vec![0; length];
                input.read_exact(&mut body).await.ok()?;
                return Some(body);
            }
            _ => tracing::warn!("skipping a header block without a usable Content-Length"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames_through_guard(input: &'static [u8]) -> String {
        let mut output = String::new();
        guard(input).read_to_string(&mut output).await.unwrap();
        output
    }

    #[tokio::test]
    async fn good_frames_pass_and_bad_ones_are_replaced() {
        let output = frames_through_guard(
            b"Content-Length: 2\r\n\r\n{}Content-Length: 9\r\n\r\n{garbage}content-length: 4\r\nContent-Type: x\r\n\r\nnull",
        )
        .await;
        let ignored = std::str::from_utf8(IGNORED).unwrap();
        assert_eq!(
            output,
            format!(
                "Content-Length: 2\r\n\r\n{{}}Content-Length: {}\r\n\r\n{ignored}Content-Length: 4\r\n\r\nnull",
                IGNORED.len()
            )
        );
    }

    #[tokio::test]
    async fn a_header_block_without_length_is_skipped_and_a_cut_frame_ends_the_input() {
        let output = frames_through_guard(
            b"X-Nothing: 1\r\n\r\nContent-Length: 2\r\n\r\n[]Content-Length: 10\r\n\r\n{\"a\"",
        )
        .await;
        assert_eq!(output, "Content-Length: 2\r\n\r\n[]");
    }
}
