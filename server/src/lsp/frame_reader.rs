//! The LSP base protocol's framing: a block of `Name: value` header lines, an
//! empty line, then a body of exactly `Content-Length` bytes.
//!
//! A body's contents never stop the reader (judging them is
//! [`super::message_check`]'s job); only its length can. Once a header block
//! gives no single, believable length, nothing says where the body ends and the
//! next frame begins, so the reader refuses to guess: as HTTP does for the same
//! headers (RFC 9112 §6.3), an unusable `Content-Length` is an unrecoverable
//! [`FramingError`]. Guessing instead (scanning ahead for the next
//! `Content-Length`) could read a body's text as the next message.
//!
//! Empty lines between frames are skipped, as HTTP servers skip them before a
//! request line (RFC 9112 §2.2), and a bare `\n` ends a line as well as `\r\n`.

use tokio_util::bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

/// The largest body accepted: far above any real document, far below what
/// would exhaust memory. A longer frame cannot be skipped without reading it,
/// so it ends the stream like any unusable length.
pub const MAX_BODY_BYTES: u64 = 256 * 1024 * 1024;

/// The largest header block, empty line included; real ones are under 100 bytes.
const MAX_HEADER_BLOCK_BYTES: usize = 8 * 1024;

/// Why the input can no longer be split into frames. Every variant ends the
/// server: nothing after it can be trusted to start a frame.
#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    #[error("a header block has no Content-Length")]
    MissingLength,
    #[error("Content-Length {0:?} is not a length")]
    InvalidLength(String),
    #[error("Content-Length {0} is larger than the {MAX_BODY_BYTES} bytes a message may have")]
    TooLong(u64),
    #[error("a header block has two different Content-Length values, {0} and {1}")]
    ConflictingLengths(u64, u64),
    #[error("header line {0:?} is not `Name: value`")]
    MalformedHeader(String),
    #[error("a header block is longer than {MAX_HEADER_BLOCK_BYTES} bytes")]
    HeadersTooLong,
    /// Reading failed, or the input ended inside a frame.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Splits a byte stream into message bodies; use it with
/// [`tokio_util::codec::FramedRead`], or call [`Decoder::decode`] on a buffer.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    /// The length of the body being waited for, once its headers are read.
    body_length: Option<usize>,
}

impl Decoder for FrameDecoder {
    type Item = Bytes;
    type Error = FramingError;

    fn decode(&mut self, buffer: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        let length = match self.body_length {
            Some(length) => length,
            None => {
                let Some((header_bytes, length)) = read_header_block(buffer)? else {
                    return Ok(None);
                };
                buffer.advance(header_bytes);
                self.body_length = Some(length);
                length
            }
        };
        if buffer.len() < length {
            // The buffer grows as the body arrives: a length alone allocates nothing.
            return Ok(None);
        }
        self.body_length = None;
        Ok(Some(buffer.split_to(length).freeze()))
    }
}

/// Skips the empty lines at the front of `buffer`, then reads a complete header
/// block: how many bytes it takes and the body length it announces. `None`
/// while the block is incomplete.
fn read_header_block(buffer: &mut BytesMut) -> Result<Option<(usize, usize)>, FramingError> {
    loop {
        match buffer.first() {
            Some(b'\n') => buffer.advance(1),
            Some(b'\r') if buffer.get(1) == Some(&b'\n') => buffer.advance(2),
            _ => break,
        }
    }
    let mut length: Option<u64> = None;
    let mut read = 0;
    loop {
        let Some(line_length) = memchr::memchr(b'\n', &buffer[read..]) else {
            if buffer.len() > MAX_HEADER_BLOCK_BYTES {
                return Err(FramingError::HeadersTooLong);
            }
            return Ok(None);
        };
        let line = &buffer[read..read + line_length];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        read += line_length + 1;
        if read > MAX_HEADER_BLOCK_BYTES {
            return Err(FramingError::HeadersTooLong);
        }
        if line.is_empty() {
            break;
        }
        if let Some(value) = content_length(line)? {
            match length {
                Some(earlier) if earlier != value => {
                    return Err(FramingError::ConflictingLengths(earlier, value));
                }
                _ => length = Some(value),
            }
        }
    }
    let length = length.ok_or(FramingError::MissingLength)?;
    if length > MAX_BODY_BYTES {
        return Err(FramingError::TooLong(length));
    }
    // At most MAX_BODY_BYTES, which fits any usize the server runs on.
    let length = usize::try_from(length).map_err(|_| FramingError::TooLong(length))?;
    Ok(Some((read, length)))
}

/// The value of a `Content-Length` header line; `None` for any other header.
fn content_length(line: &[u8]) -> Result<Option<u64>, FramingError> {
    let malformed = || FramingError::MalformedHeader(String::from_utf8_lossy(line).into_owned());
    let text = std::str::from_utf8(line).map_err(|_| malformed())?;
    let (name, value) = text.split_once(':').ok_or_else(malformed)?;
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(malformed());
    }
    if !name.eq_ignore_ascii_case("content-length") {
        return Ok(None);
    }
    let value = value.trim_matches([' ', '\t']);
    // Digits only: `u64::from_str` would also take a leading `+`.
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(FramingError::InvalidLength(value.to_owned()));
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| FramingError::InvalidLength(value.to_owned()))
}

/// Whether `byte` may appear in a header name (an HTTP token, RFC 9110 §5.6.2).
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;

    /// Decodes `input` fed `chunk` bytes at a time, as a stream would deliver it:
    /// the bodies, then the error that ended decoding, if any.
    fn decode_in_chunks(input: &[u8], chunk: usize) -> (Vec<Bytes>, Option<FramingError>) {
        let mut decoder = FrameDecoder::default();
        let mut buffer = BytesMut::new();
        let mut bodies = Vec::new();
        for piece in input.chunks(chunk.max(1)) {
            buffer.extend_from_slice(piece);
            loop {
                match decoder.decode(&mut buffer) {
                    Ok(Some(body)) => bodies.push(body),
                    Ok(None) => break,
                    Err(error) => return (bodies, Some(error)),
                }
            }
        }
        (bodies, None)
    }

    #[test]
    fn frames_split_anywhere_decode_alike() {
        let input = b"Content-Length: 2\r\n\r\n{}\r\ncontent-type: application/vscode-jsonrpc; charset=utf-8\r\nCONTENT-LENGTH:4\r\n\r\nnull\nContent-Length: 3\n\n[1]";
        for chunk in [1, 2, 5, 17, input.len()] {
            let (bodies, error) = decode_in_chunks(input, chunk);
            assert!(error.is_none(), "chunk {chunk}: {error:?}");
            assert_eq!(bodies, ["{}", "null", "[1]"], "chunk {chunk}");
        }
    }

    #[test]
    fn equal_duplicate_lengths_are_one_length() {
        let (bodies, error) =
            decode_in_chunks(b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 64);
        assert!(error.is_none());
        assert_eq!(bodies, ["{}"]);
    }

    #[test]
    fn unusable_lengths_end_the_stream() {
        let cases: [(&[u8], &str); 9] = [
            (b"Content-Length: abc\r\n\r\n{}", "\"abc\" is not a length"),
            (b"Content-Length: -5\r\n\r\n{}", "\"-5\" is not a length"),
            (b"Content-Length: +2\r\n\r\n{}", "\"+2\" is not a length"),
            (
                b"Content-Length: 1099511627776\r\n\r\n{}",
                "1099511627776 is larger",
            ),
            (
                b"Content-Length: 18446744073709551616\r\n\r\n{}",
                "\"18446744073709551616\" is not a length",
            ),
            (
                b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
                "two different Content-Length values, 2 and 3",
            ),
            (b"Content-Type: x\r\n\r\n{}", "no Content-Length"),
            (b"{\"jsonrpc\":\"2.0\"}\r\n\r\n", "is not `Name: value`"),
            (b"Bad Name: 1\r\n\r\n", "is not `Name: value`"),
        ];
        for (input, expected) in cases {
            let (bodies, error) = decode_in_chunks(input, 3);
            assert!(bodies.is_empty());
            let error = error.unwrap().to_string();
            assert!(
                error.contains(expected),
                "{:?}: {error}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn an_endless_header_block_is_refused_without_buffering_it() {
        let mut input = b"Content-Length: 2\r\nX-Padding: ".to_vec();
        input.extend(std::iter::repeat_n(b'a', 2 * MAX_HEADER_BLOCK_BYTES));
        let (_, error) = decode_in_chunks(&input, 1000);
        assert!(matches!(error, Some(FramingError::HeadersTooLong)));
    }

    #[test]
    fn a_long_announced_body_is_not_allocated_up_front() {
        let mut decoder = FrameDecoder::default();
        let mut buffer = BytesMut::from(&b"Content-Length: 200000000\r\n\r\n{"[..]);
        assert!(decoder.decode(&mut buffer).unwrap().is_none());
        assert_eq!(buffer.len(), 1);
        assert!(buffer.capacity() < 1 << 20, "{}", buffer.capacity());
    }
}
