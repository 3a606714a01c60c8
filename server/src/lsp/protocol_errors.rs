//! JSON-RPC error answers the LSP framework does not give by itself, added
//! around its service: the errors for malformed requests that
//! [`super::stdin_guard`] stands in for, and `MethodNotFound` for requests the
//! framework would leave unanswered (it drops the answer to any unknown `$/`
//! method, though LSP says only notifications may be ignored).

use super::stdin_guard::INVALID_MESSAGE_METHOD;
use futures_util::FutureExt;
use futures_util::future::{self, BoxFuture};
use serde_json::Value;
use std::task::{Context, Poll};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Id, Request, Response};
use tower_service::Service;

/// Wraps the LSP service so that every request with an id gets an answer.
pub struct AnswerEveryRequest<S> {
    inner: S,
}

impl<S> AnswerEveryRequest<S> {
    pub fn new(inner: S) -> AnswerEveryRequest<S> {
        AnswerEveryRequest { inner }
    }
}

impl<S> Service<Request> for AnswerEveryRequest<S>
where
    S: Service<Request, Response = Option<Response>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Option<Response>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Option<Response>, S::Error>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if request.method() == INVALID_MESSAGE_METHOD {
            let (_, id, params) = request.into_parts();
            let answer = Response::from_error(id.unwrap_or(Id::Null), stand_in_error(params));
            return future::ready(Ok(Some(answer))).boxed();
        }
        let unanswered = request
            .id()
            .cloned()
            .map(|id| (id, request.method().to_owned()));
        let response = self.inner.call(request);
        async move {
            let response = response.await?;
            Ok(response.or_else(|| {
                unanswered.map(|(id, method)| {
                    let mut error = Error::method_not_found();
                    error.data = Some(Value::from(method));
                    Response::from_error(id, error)
                })
            }))
        }
        .boxed()
    }
}

/// The error a stand-in request carries in its `params`.
fn stand_in_error(params: Option<Value>) -> Error {
    let params = params.unwrap_or_default();
    let code = params["code"]
        .as_i64()
        .map_or(ErrorCode::InvalidRequest, ErrorCode::from);
    let message = params["message"]
        .as_str()
        .unwrap_or("invalid message")
        .to_owned();
    Error {
        code,
        message: message.into(),
        data: None,
    }
}
