//! A request as the handlers see it, and replies with Splunk's headers.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use spoor_proto::form::Form;
use spoor_proto::hec::HecCode;
use spoor_proto::reply::{self as wire, OutputMode};
use spoor_proto::{Level, Message};

use super::body::Body;

pub(crate) type Response = http::Response<Body>;

/// A request, read: its parameters (query string, then the form body where the endpoint takes
/// a form: Splunk reads a form whatever the `Content-Type`, and the Python SDK sends none).
#[derive(Debug)]
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) headers: HeaderMap,
    pub(crate) query: Form,
    pub(crate) body: Bytes,
    pub(crate) mode: OutputMode,
    pub(crate) peer: SocketAddr,
}

impl Req {
    /// The form: query parameters and, for a POST, the body's.
    pub(crate) fn form(&self) -> Form {
        let mut form = self.query.clone();
        if self.method == Method::POST
            && let Ok(text) = std::str::from_utf8(&self.body)
        {
            for (k, v) in Form::decode(text).pairs() {
                form.push(k.clone(), v.clone());
            }
        }
        form
    }
}

/// A reply in the request's output mode, with Splunk's headers.
pub(crate) fn respond(status: StatusCode, mode: OutputMode, body: Vec<u8>) -> Response {
    with_type(status, mode.content_type(), Body::full(body))
}

pub(crate) fn with_type(status: StatusCode, content_type: &str, body: Body) -> Response {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in wire::COMMON_HEADERS {
        headers.insert(name, http::HeaderValue::from_static(value));
    }
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        headers.insert(http::header::CONTENT_TYPE, value);
    }
    response
}

/// Splunk's error body: one message.
pub(crate) fn error(
    status: StatusCode,
    mode: OutputMode,
    level: Level,
    text: impl Into<String>,
) -> Response {
    respond(
        status,
        mode,
        wire::messages(mode, &[Message::new(level, text)]),
    )
}

/// 404 for a path the engine has no endpoint at.
pub(crate) fn no_endpoint(mode: OutputMode, path: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        mode,
        Level::Error,
        format!("Not Found: the engine has no endpoint at {path}"),
    )
}

/// 405 for a method an endpoint does not take.
pub(crate) fn wrong_method(mode: OutputMode, method: &Method) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        mode,
        Level::Error,
        format!("Method {method} is not allowed on this endpoint"),
    )
}

/// 401 as modern splunkd words it; with Basic's challenge when nothing was sent.
pub(crate) fn unauthorized(mode: OutputMode, missing: bool) -> Response {
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        mode,
        Level::Warn,
        "call not properly authenticated",
    );
    if missing {
        response.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Basic realm=\"/splunk\""),
        );
    }
    response
}

/// 413 for a body over the limit.
pub(crate) fn too_large(mode: OutputMode, limit: usize) -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        mode,
        Level::Error,
        format!("Content-Length too large (maximum is {limit} bytes); send less per request"),
    )
}

/// HEC's reply.
pub(crate) fn hec(code: HecCode, invalid_event: Option<u64>, ack_id: Option<u64>) -> Response {
    let status = StatusCode::from_u16(wire::hec_status(code)).unwrap_or(StatusCode::BAD_REQUEST);
    with_type(
        status,
        OutputMode::Json.content_type(),
        Body::full(wire::hec(code, invalid_event, ack_id)),
    )
}

/// 413 for an HEC body over the limit, in HEC's shape (code 6, as the data is refused).
pub(crate) fn hec_too_large(limit: usize) -> Response {
    hec_refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("Content-Length too large (maximum is {limit} bytes); send smaller batches"),
    )
}

/// HEC's shape for a refusal of the request as a whole: `status`, code 6, this text.
pub(crate) fn hec_refusal(status: StatusCode, text: &str) -> Response {
    let body = wire::hec_with_text(HecCode::InvalidDataFormat, text);
    with_type(status, OutputMode::Json.content_type(), Body::full(body))
}

/// The time as Splunk writes it in feeds: `2026-11-28T12:00:00+00:00`.
pub(crate) fn feed_time(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    );
    t.format(&format).unwrap_or_default()
}

/// The time as Splunk writes it in jobs and results: `2026-11-28T12:00:00.000+00:00`, as the
/// evaluator prints `_time`.
pub(crate) fn job_time(t: time::OffsetDateTime) -> String {
    crate::search::format_time(crate::store::time_micros(t))
}

/// A page of a listing as a request asks for it: `count` entries (`0` or less: all) from
/// `offset`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    pub(crate) count: i64,
    pub(crate) offset: usize,
}

impl Paging {
    /// The paging of `form` (its `count`, else `default_count`; its `offset`, else 0).
    pub(crate) fn of(form: &Form, default_count: i64) -> Self {
        Self {
            count: form
                .get("count")
                .and_then(|c| c.parse().ok())
                .unwrap_or(default_count),
            offset: form.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0),
        }
    }

    /// The entries of a listing of `len` this page holds.
    pub(crate) fn range(self, len: usize) -> std::ops::Range<usize> {
        let start = self.offset.min(len);
        let end = match usize::try_from(self.count) {
            Ok(n) if n > 0 => start.saturating_add(n).min(len),
            _ => len,
        };
        start..end
    }
}
