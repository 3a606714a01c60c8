//! Conversions between LSP types and Director's own: URIs, positions and ranges.
//! Every LSP position crosses here, through the document module's line index.

use crate::document::{Document, PositionEncoding};
use std::ops::Range;
use std::str::FromStr;
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::{self, Uri};
use url::Url;

pub fn url_from_uri(uri: &Uri) -> jsonrpc::Result<Url> {
    Url::parse(uri.as_str()).map_err(|error| invalid_params(format!("'{}' is not a valid URI: {error}", uri.as_str())))
}

/// Every `Url` is a valid URI; this fails only if the two parsers disagree.
pub fn uri_from_url(url: &Url) -> jsonrpc::Result<Uri> {
    Uri::from_str(url.as_str()).map_err(|_| jsonrpc::Error::internal_error())
}

pub fn encoding_kind(encoding: PositionEncoding) -> ls_types::PositionEncodingKind {
    match encoding {
        PositionEncoding::Utf8 => ls_types::PositionEncodingKind::UTF8,
        PositionEncoding::Utf16 => ls_types::PositionEncodingKind::UTF16,
    }
}

pub fn position(position: ls_types::Position) -> crate::document::Position {
    crate::document::Position {
        line: position.line,
        character: position.character,
    }
}

pub fn range(range: ls_types::Range) -> crate::document::Range {
    crate::document::Range {
        start: position(range.start),
        end: position(range.end),
    }
}

/// A strict conversion for positions the client asks about: an out-of-range
/// position is an `InvalidParams` error, not a silent clamp.
pub fn offsets(document: &Document, lsp_range: ls_types::Range, encoding: PositionEncoding) -> jsonrpc::Result<Range<usize>> {
    crate::document::range_to_byte_range(&document.text, range(lsp_range), encoding)
        .map_err(|error| invalid_params(error.to_string()))
}

pub fn offset(document: &Document, lsp_position: ls_types::Position, encoding: PositionEncoding) -> jsonrpc::Result<usize> {
    crate::document::position_to_offset(&document.text, position(lsp_position), encoding)
        .map_err(|error| invalid_params(error.to_string()))
}

pub fn lsp_position(document: &Document, offset: usize, encoding: PositionEncoding) -> ls_types::Position {
    let position = crate::document::offset_to_position(&document.text, offset, encoding);
    ls_types::Position {
        line: position.line,
        character: position.character,
    }
}

pub fn lsp_range(document: &Document, offsets: Range<usize>, encoding: PositionEncoding) -> ls_types::Range {
    ls_types::Range {
        start: lsp_position(document, offsets.start, encoding),
        end: lsp_position(document, offsets.end, encoding),
    }
}

pub fn invalid_params(message: impl Into<String>) -> jsonrpc::Error {
    jsonrpc::Error {
        code: jsonrpc::ErrorCode::InvalidParams,
        message: message.into().into(),
        data: None,
    }
}

pub fn request_failed(message: impl Into<String>) -> jsonrpc::Error {
    jsonrpc::Error {
        code: jsonrpc::ErrorCode::ServerError(-32803),
        message: message.into().into(),
        data: None,
    }
}
