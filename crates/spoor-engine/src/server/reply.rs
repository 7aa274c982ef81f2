//! A request as the handlers see it, and replies with Splunk's headers.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use spoor_proto::form::Form;
use spoor_proto::hec::HecCode;
use spoor_proto::reply::{self as wire, OutputMode};
use spoor_proto::{Level, Message};

use super::auth::{Denied, HecDenied};
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

/// 401 as modern splunkd words it; with Basic's challenge when nothing was sent, and the time
/// to wait when the user or the client is locked out.
pub(crate) fn unauthorized(mode: OutputMode, denied: Denied) -> Response {
    let text = match denied {
        Denied::Locked(left) => format!(
            "call not properly authenticated: too many failed attempts, locked out; try again \
             in {} seconds",
            whole_seconds(left)
        ),
        _ => "call not properly authenticated".to_owned(),
    };
    let mut response = error(StatusCode::UNAUTHORIZED, mode, Level::Warn, text);
    match denied {
        Denied::Missing => {
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Basic realm=\"/splunk\""),
            );
        }
        Denied::Locked(left) => retry_after(&mut response, left),
        Denied::Invalid => {}
    }
    response
}

/// 401 for a login while the user or the client is locked out (the right password included).
pub(crate) fn login_locked(mode: OutputMode, left: Duration) -> Response {
    let text = format!(
        "Login failed: too many failed login attempts, locked out; try again in {} seconds",
        whole_seconds(left)
    );
    let mut response = error(StatusCode::UNAUTHORIZED, mode, Level::Warn, text);
    retry_after(&mut response, left);
    response
}

/// HEC's refusal of a call's credentials: its code, or, for a client locked out after too many
/// wrong tokens, code 9 (server is busy, 503): the nearest HEC has to "not now", which clients
/// take as a reason to try again later, with `Retry-After`.
pub(crate) fn hec_denied(denied: HecDenied) -> Response {
    match denied {
        HecDenied::Code(code) => hec(code, None, None),
        HecDenied::Locked(left) => {
            let text = format!(
                "Server is busy: too many invalid tokens from this client; try again in {} \
                 seconds",
                whole_seconds(left)
            );
            let mut response =
                hec_coded(StatusCode::SERVICE_UNAVAILABLE, HecCode::ServerBusy, &text);
            retry_after(&mut response, left);
            response
        }
    }
}

/// A lockout's time left in whole seconds, rounded up (never 0 while it runs).
fn whole_seconds(left: Duration) -> u64 {
    left.as_secs() + u64::from(left.subsec_nanos() > 0)
}

fn retry_after(response: &mut Response, left: Duration) {
    response.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from(whole_seconds(left)),
    );
}

/// 408 for a body that came too slowly; the connection is closed after it.
pub(crate) fn too_slow(mode: OutputMode, hec: bool, timeout: Duration, rate: usize) -> Response {
    let text = too_slow_text(timeout, rate);
    let mut response = if hec {
        hec_refusal(StatusCode::REQUEST_TIMEOUT, &text)
    } else {
        error(StatusCode::REQUEST_TIMEOUT, mode, Level::Error, text)
    };
    closing(&mut response);
    response
}

/// What [`too_slow`] says.
pub(crate) fn too_slow_text(timeout: Duration, rate: usize) -> String {
    if rate == 0 {
        format!(
            "the request body came too slowly: send it within {} seconds",
            timeout.as_secs()
        )
    } else {
        format!(
            "the request body came too slowly: send it within {} seconds plus a second for \
             each {rate} bytes",
            timeout.as_secs()
        )
    }
}

/// Marks a reply as the connection's last (its request's body is left unread).
pub(crate) fn closing(response: &mut Response) {
    response.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
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
    hec_coded(status, HecCode::InvalidDataFormat, text)
}

/// A HEC reply with `status`, `code` and this text.
fn hec_coded(status: StatusCode, code: HecCode, text: &str) -> Response {
    let body = wire::hec_with_text(code, text);
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
