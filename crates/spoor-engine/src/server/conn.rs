//! Connections: accepting (with TLS when configured), the Python SDK's raw
//! `receivers/stream` requests, HTTP/1.1 with hyper for everything else, and dispatch.
//!
//! Each connection runs on a task of its own: a client that sends garbage, stalls or
//! disconnects mid-request affects only its connection (stalled request heads time out).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use spoor_proto::Level;
use spoor_proto::form::Form;
use spoor_proto::reply::OutputMode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::auth::Denied;
use super::receivers::{self, Target};
use super::reply::{self, Req, Response};
use super::route::{self, Route};
use super::{State, hec, jobs, rest};

/// How long a client may take to send a request's head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request head read by hand (for `receivers/stream`).
const MAX_HEAD: usize = 64 << 10;
/// A raw stream's events are stored each time this many bytes are waiting.
const STREAM_CHUNK: usize = 1 << 20;
/// A raw stream with no data for this long is taken as ended.
const STREAM_IDLE: Duration = Duration::from_secs(300);
/// Largest body of a request that is not an ingest (a form).
const MAX_FORM_BYTES: usize = 1 << 20;
/// How long requests in flight may take to finish at shutdown.
const DRAIN: Duration = Duration::from_secs(30);

/// Accepts connections until told to stop, then waits for them to finish (up to [`DRAIN`]).
pub(crate) async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let state = Arc::clone(&state);
                    let stop = stop.clone();
                    connections.spawn(async move {
                        if let Err(err) = serve(tcp, peer, state, stop).await {
                            tracing::debug!(%peer, error = %err, "connection ended with an error");
                        }
                    });
                }
                Err(err) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("requests still in flight after {DRAIN:?}; closing them");
        connections.abort_all();
    }
}

/// A stream of either kind.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    state: Arc<State>,
    stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let _ = tcp.set_nodelay(true);
    let mut io: Box<dyn Io> = match &state.options.tls {
        Some(config) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(config));
            let tls = tokio::time::timeout(HEAD_TIMEOUT, acceptor.accept(tcp))
                .await
                .map_err(|_| {
                    io::Error::new(io::ErrorKind::TimedOut, "tls handshake timed out")
                })??;
            Box::new(tls)
        }
        None => Box::new(tcp),
    };
    let head = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut io))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "request head timed out"))??;
    if is_raw_stream(&head) {
        return raw_stream(io, head, peer, &state).await;
    }
    let io = Prefixed {
        prefix: Bytes::from(head),
        inner: io,
    };
    let service = hyper::service::service_fn(move |request| {
        let state = Arc::clone(&state);
        async move { Ok::<_, std::convert::Infallible>(handle(state, request, peer).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        // A client may close its sending side once its request is out; it still gets a reply.
        .half_close(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let mut stop = stop;
    tokio::select! {
        result = connection.as_mut() => result.map_err(io::Error::other),
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await.map_err(io::Error::other)
        }
    }
}

/// Reads up to the end of the first request's head (or what came before the client stopped),
/// so a raw streaming request can be told apart before hyper sees the connection.
async fn read_head(io: &mut Box<dyn Io>) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        let n = io.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(head)
}

/// The Python SDK's `Index.attach()`: a POST to `receivers/stream` with
/// `X-Splunk-Input-Mode: Streaming` and neither a length nor chunking; the body runs until the
/// client closes its side.
fn is_raw_stream(head: &[u8]) -> bool {
    let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(&head[..end]) else {
        return false;
    };
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    if parts.next() != Some("POST") {
        return false;
    }
    let path = parts.next().unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default();
    if route::route(path) != Some(Route::ReceiversStream) {
        return false;
    }
    let mut streaming = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        if name == "content-length" || name == "transfer-encoding" {
            return false;
        }
        if name == "x-splunk-input-mode" && value.trim().eq_ignore_ascii_case("streaming") {
            streaming = true;
        }
    }
    streaming
}

async fn raw_stream(
    mut io: Box<dyn Io>,
    head: Vec<u8>,
    peer: SocketAddr,
    state: &Arc<State>,
) -> io::Result<()> {
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(head.len(), |i| i + 4);
    let parsed = parse_head(&head[..end]);
    let response = match parsed {
        None => reply::error(
            StatusCode::BAD_REQUEST,
            OutputMode::Xml,
            Level::Error,
            "malformed request head",
        ),
        Some((target, headers)) => {
            let query = Form::decode(target.split_once('?').map_or("", |(_, q)| q));
            let mode = OutputMode::from_param(query.get("output_mode")).unwrap_or_default();
            match state.auth.check_rest(&headers) {
                Err(denied) => reply::unauthorized(mode, denied == Denied::Missing),
                Ok(()) => {
                    read_stream(&mut io, &head[end..], Target::of(&query, peer), mode, state)
                        .await?
                }
            }
        }
    };
    write_response(&mut io, response).await
}

/// The request target and headers of a request head.
fn parse_head(head: &[u8]) -> Option<(String, http::HeaderMap)> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let target = lines.next()?.split(' ').nth(1)?.to_owned();
    let mut headers = http::HeaderMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        headers.append(
            http::header::HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
            http::HeaderValue::from_str(value.trim()).ok()?,
        );
    }
    Some((target, headers))
}

/// Reads a raw stream to its end, storing whole events as they come (every
/// [`STREAM_CHUNK`] bytes), so a long-lived stream is indexed as it arrives and a stream larger
/// than the body limit loses nothing; ends after [`STREAM_IDLE`] without data.
async fn read_stream(
    io: &mut Box<dyn Io>,
    first: &[u8],
    target: Target,
    mode: OutputMode,
    state: &Arc<State>,
) -> io::Result<Response> {
    let limit = state.options.limits.max_body_bytes;
    let mut pending = first.to_vec();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match tokio::time::timeout(STREAM_IDLE, io.read(&mut buf)).await {
            Ok(read) => read?,
            Err(_) => 0,
        };
        if n == 0 {
            break;
        }
        pending.extend_from_slice(&buf[..n]);
        if pending.len() >= STREAM_CHUNK {
            let whole = receivers::whole_events(state, &target, &pending);
            if whole == 0 && pending.len() > limit {
                return Ok(reply::too_large(mode, limit));
            }
            if whole > 0 {
                let rest = pending.split_off(whole);
                let text =
                    String::from_utf8(std::mem::replace(&mut pending, rest)).unwrap_or_default();
                if let Err(response) = receivers::ingest(state, mode, &target, text).await {
                    return Ok(response);
                }
            }
        }
    }
    Ok(receivers::store(state, mode, target, &pending).await)
}

async fn write_response(io: &mut Box<dyn Io>, response: Response) -> io::Result<()> {
    let (parts, body) = response.into_parts();
    let body = match body {
        super::body::Body::Full(b) => b.unwrap_or_default(),
        super::body::Body::Pieces(pieces) => {
            pieces.flat_map(|b| b.to_vec()).collect::<Vec<u8>>().into()
        }
    };
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        parts.status.as_u16(),
        parts.status.canonical_reason().unwrap_or("")
    );
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    io.write_all(out.as_bytes()).await?;
    io.write_all(&body).await?;
    io.shutdown().await
}

/// A stream that first gives back bytes already read from it.
struct Prefixed {
    prefix: Bytes,
    inner: Box<dyn Io>,
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            let chunk = self.prefix.split_to(n);
            buf.put_slice(&chunk);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// One request, start to end.
async fn handle(state: Arc<State>, request: Request<Incoming>, peer: SocketAddr) -> Response {
    let path = request.uri().path().to_owned();
    let query = Form::decode(request.uri().query().unwrap_or_default());
    let mode = OutputMode::from_param(query.get("output_mode"));
    let Some(route) = route::route(&path) else {
        return reply::no_endpoint(mode.unwrap_or_default(), &path);
    };
    let is_hec = route.is_hec();
    let mode = match mode {
        Ok(mode) => mode,
        Err(_) if is_hec => OutputMode::Json,
        Err(bad) => {
            return reply::error(
                StatusCode::BAD_REQUEST,
                OutputMode::Xml,
                Level::Fatal,
                format!("Invalid output_mode '{bad}': use xml or json"),
            );
        }
    };
    if !is_hec
        && route != Route::Login
        && let Err(denied) = state.auth.check_rest(request.headers())
    {
        return reply::unauthorized(mode, denied == Denied::Missing);
    }
    let limit = match route {
        _ if is_hec => state.options.limits.max_hec_body_bytes,
        Route::ReceiversSimple | Route::ReceiversStream => state.options.limits.max_body_bytes,
        // Forms (a login, a search, an index's settings) are small; no one may make the
        // server hold more for them, least of all before logging in.
        _ => MAX_FORM_BYTES.min(state.options.limits.max_body_bytes),
    };
    if let Some(encoding) = request
        .headers()
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .filter(|e| !e.trim().eq_ignore_ascii_case("identity"))
    {
        let text =
            format!("Content-Encoding {encoding:?} is not supported: send the body uncompressed");
        return if is_hec {
            reply::hec_refusal(StatusCode::UNSUPPORTED_MEDIA_TYPE, &text)
        } else {
            reply::error(StatusCode::UNSUPPORTED_MEDIA_TYPE, mode, Level::Error, text)
        };
    }
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, limit).collect().await {
        Ok(body) => body.to_bytes(),
        Err(err)
            if err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return if is_hec {
                reply::hec_too_large(limit)
            } else {
                reply::too_large(mode, limit)
            };
        }
        Err(err) => {
            tracing::debug!(%peer, error = %err, "request body not read");
            return reply::error(
                StatusCode::BAD_REQUEST,
                mode,
                Level::Error,
                "the request body could not be read",
            );
        }
    };
    let req = Req {
        method: parts.method,
        headers: parts.headers,
        query,
        body,
        mode,
        peer,
    };
    dispatch(state, route, req).await
}

async fn dispatch(state: Arc<State>, route: Route, req: Req) -> Response {
    let state_ref = &*state;
    match &route {
        Route::Login => rest::login(state_ref, &req),
        Route::ServerInfo => rest::server_info(state_ref, &req),
        Route::Indexes => rest::indexes(state_ref, &req),
        Route::Index(name) => rest::index(state_ref, &req, name),
        Route::Conf(file) => rest::conf(state_ref, &req, file),
        Route::ConfStanza(file, stanza) => rest::conf_stanza(state_ref, &req, file, stanza),
        Route::Properties => rest::properties(state_ref, &req),
        Route::PropertiesFile(file) => rest::properties_file(state_ref, &req, file),
        Route::PropertiesStanza(file, stanza) => {
            rest::properties_stanza(state_ref, &req, file, stanza)
        }
        Route::PropertiesKey(file, stanza, key) => {
            rest::properties_key(state_ref, &req, file, stanza, key)
        }
        Route::ReceiversSimple | Route::ReceiversStream => {
            if req.method != Method::POST {
                return reply::wrong_method(req.mode, &req.method);
            }
            let target = Target::of(&req.query, req.peer);
            receivers::store(&state, req.mode, target, &req.body).await
        }
        Route::HecEvent | Route::HecRaw | Route::HecHealth | Route::HecAck => {
            hec::handle(Arc::clone(&state), &route, req).await
        }
        Route::Jobs(api) => jobs::jobs(Arc::clone(&state), req, *api).await,
        Route::Export(_) => jobs::export(Arc::clone(&state), req).await,
        Route::Job(api, sid) => jobs::job(state_ref, &req, *api, sid),
        Route::JobResults(_, sid) => jobs::results(state_ref, &req, sid),
        Route::JobEvents(_, sid) => jobs::events(Arc::clone(&state), req, sid).await,
        Route::JobControl(_, sid) => jobs::control(state_ref, &req, sid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_streams_are_told_apart() {
        let sdk = b"POST /services/receivers/stream?index=main HTTP/1.1\r\nHost: h\r\nAuthorization: Splunk k\r\nX-Splunk-Input-Mode: Streaming\r\n\r\nline one\n";
        assert!(is_raw_stream(sdk));
        let with_length = b"POST /services/receivers/stream HTTP/1.1\r\nX-Splunk-Input-Mode: Streaming\r\nContent-Length: 3\r\n\r\nabc";
        assert!(!is_raw_stream(with_length));
        let simple =
            b"POST /services/receivers/simple HTTP/1.1\r\nX-Splunk-Input-Mode: Streaming\r\n\r\n";
        assert!(!is_raw_stream(simple));
        assert!(!is_raw_stream(
            b"POST /services/receivers/stream HTTP/1.1\r\nX-Splunk-Input-Mode: Streaming"
        ));
        let (target, headers) = parse_head(&sdk[..sdk.len() - 9]).unwrap();
        assert_eq!(target, "/services/receivers/stream?index=main");
        assert_eq!(headers["authorization"], "Splunk k");
    }
}
