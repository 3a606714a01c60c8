//! Fuzzes the LSP frame reader and the message check behind it with arbitrary
//! input: neither may panic or hang, how the input is cut into reads must not
//! change what is read, and everything passed on to the protocol layer must be a
//! message it can decode (else one frame would stop the server).

#![no_main]

use director::lsp::{FrameDecoder, screen};
use libfuzzer_sys::fuzz_target;
use tokio_util::bytes::BytesMut;
use tokio_util::codec::Decoder;
use tower_lsp_server::jsonrpc::{Request, Response};

fuzz_target!(|input: &[u8]| {
    // The first byte picks the size of the reads the rest arrives in.
    let Some((&read_size, stream)) = input.split_first() else {
        return;
    };
    let at_once = decode(stream, stream.len());
    let in_reads = decode(stream, usize::from(read_size % 16) + 1);
    assert_eq!(at_once, in_reads, "the cut into reads changed what was read");
    for body in &at_once.0 {
        if let Some(passed_on) = screen(body) {
            assert!(
                serde_json::from_slice::<Request>(&passed_on).is_ok()
                    || serde_json::from_slice::<Response>(&passed_on).is_ok(),
                "passed on a message the protocol layer cannot decode: {:?}",
                String::from_utf8_lossy(&passed_on)
            );
        }
    }
});

/// The bodies read from `stream` delivered `read_size` bytes at a time, and the
/// framing error that stopped reading, if any.
fn decode(stream: &[u8], read_size: usize) -> (Vec<Vec<u8>>, Option<String>) {
    let mut decoder = FrameDecoder::default();
    let mut buffer = BytesMut::new();
    let mut bodies = Vec::new();
    for read in stream.chunks(read_size.max(1)) {
        buffer.extend_from_slice(read);
        loop {
            match decoder.decode(&mut buffer) {
                Ok(Some(body)) => bodies.push(body.to_vec()),
                Ok(None) => break,
                Err(error) => return (bodies, Some(error.to_string())),
            }
        }
    }
    (bodies, None)
}
