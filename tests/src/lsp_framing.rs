//! The LSP base protocol: `Content-Length` framed JSON-RPC messages.
//!
//! The reader accepts what the specification allows (any header order, other
//! headers such as `Content-Type`, header names in any case) and does not
//! care how the bytes were split into reads, so a server that writes a
//! message in pieces, or several messages at once, is read correctly.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Frames one JSON-RPC message for the wire.
pub fn encode_message(message: &Value) -> Vec<u8> {
    let body = message.to_string();
    let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    framed.extend_from_slice(body.as_bytes());
    framed
}

/// Reads the body of the next message, or `None` when the stream ends
/// cleanly between two messages.
pub async fn read_message_body<R: AsyncBufRead + Unpin>(reader: &mut R) -> Result<Option<Vec<u8>>> {
    let mut content_length = None;
    let mut header_line = Vec::new();
    let mut header_count = 0;
    loop {
        header_line.clear();
        let bytes_read = reader
            .read_until(b'\n', &mut header_line)
            .await
            .context("cannot read a header")?;
        if bytes_read == 0 {
            if header_count == 0 {
                return Ok(None);
            }
            bail!("the stream ended inside the headers");
        }
        let Some(line) = header_line.strip_suffix(b"\r\n") else {
            bail!(
                "header line {:?} does not end with \\r\\n",
                String::from_utf8_lossy(&header_line)
            );
        };
        if line.is_empty() {
            break;
        }
        header_count += 1;
        let line = std::str::from_utf8(line).context("a header is not UTF-8")?;
        let Some((name, value)) = line.split_once(':') else {
            bail!("header {line:?} has no colon");
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            let length: usize = value
                .trim()
                .parse()
                .with_context(|| format!("bad Content-Length in {line:?}"))?;
            content_length = Some(length);
        }
    }
    let Some(content_length) = content_length else {
        bail!("a message has no Content-Length header");
    };
    let mut body = vec![0; content_length];
    reader
        .read_exact(&mut body)
        .await
        .context("the stream ended inside a message body")?;
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;
    use tokio::io::{AsyncWriteExt, BufReader};

    use super::*;

    /// Writes `bytes` in pieces of `chunk_size`, yielding between pieces so
    /// the reader sees many short reads.
    async fn read_all_after_chunked_write(
        bytes: Vec<u8>,
        chunk_size: usize,
    ) -> Vec<Result<Option<Vec<u8>>>> {
        let (mut writer, reader) = tokio::io::duplex(7);
        let writing = tokio::spawn(async move {
            for chunk in bytes.chunks(chunk_size) {
                writer.write_all(chunk).await.unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        let mut reader = BufReader::with_capacity(5, reader);
        let mut results = Vec::new();
        loop {
            let result = read_message_body(&mut reader).await;
            let finished = !matches!(result, Ok(Some(_)));
            results.push(result);
            if finished {
                break;
            }
        }
        writing.await.unwrap();
        results
    }

    #[tokio::test]
    async fn chunked_and_back_to_back_messages_with_utf8_bodies_are_read_whole() {
        let first = json!({ "jsonrpc": "2.0", "method": "a", "params": { "text": "漢字 😀 é" } });
        let second = json!({ "jsonrpc": "2.0", "id": 1, "result": null });
        let mut bytes = encode_message(&first);
        bytes.extend(b"content-type: application/vscode-jsonrpc; charset=utf-8\r\n");
        bytes.extend(encode_message(&second));
        for chunk_size in [1, 3, 64, bytes.len()] {
            let results = read_all_after_chunked_write(bytes.clone(), chunk_size).await;
            let bodies: Vec<Value> = results[..2]
                .iter()
                .map(|result| {
                    serde_json::from_slice(result.as_ref().unwrap().as_ref().unwrap()).unwrap()
                })
                .collect();
            assert_eq!(
                bodies,
                [first.clone(), second.clone()],
                "chunk size {chunk_size}"
            );
            assert!(matches!(results[2], Ok(None)), "chunk size {chunk_size}");
        }
    }

    #[tokio::test]
    async fn broken_frames_are_errors() {
        for broken in [
            &b"Content-Length: 10\r\n\r\n{}"[..],
            b"Content-Type: x\r\n\r\n{}",
            b"Content-Length: ten\r\n\r\n",
            b"Content-Length: 2\n\n{}",
            b"Content-Length: 2\r\n",
        ] {
            let results = read_all_after_chunked_write(broken.to_vec(), 4).await;
            assert!(results[0].is_err(), "{:?}", String::from_utf8_lossy(broken));
        }
    }
}
