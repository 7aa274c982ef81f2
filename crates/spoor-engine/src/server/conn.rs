//! Connections: accepting (with TLS when configured), the Python SDK's raw
//! `receivers/stream` requests, HTTP/1.1 with hyper for everything else, and dispatch.
//!
//! Each connection runs on a task of its own: a client that sends garbage, stalls or
//! disconnects mid-request affects only its connection. Connections are capped in all and per
//! client address ([`Gate`]; one past a cap is refused before any task is spawned for it);
//! request heads, idle kept-alive connections and bodies have time limits ([`Limits`]).
//! A request's credentials are checked from its head before any byte of its body is read; a
//! body announced over its endpoint's limit is refused at once, and a chunked one as soon as it
//! passes it. A `receivers/stream` body, framed or raw, is not read whole: its events are
//! stored as they arrive ([`receivers::Stream`]). A login carries its credentials in its body:
//! that body is capped small ([`MAX_LOGIN_BYTES`]), timed like any other, and refused unread
//! while its client is locked out.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body::Body as _;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use spoor_proto::Level;
use spoor_proto::form::Form;
use spoor_proto::reply::OutputMode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::auth::client_key;
use super::receivers::{self, Target};
use super::reply::{self, Req, Response};
use super::route::{self, Route};
use super::{Limits, State, hec, jobs, rest};

/// Largest request head, and what a connection buffers at most.
const MAX_HEAD: usize = 64 << 10;
/// A raw stream with no data for this long is taken as ended.
const STREAM_IDLE: Duration = Duration::from_secs(300);
/// Largest body of a request that is not an ingest (a form).
const MAX_FORM_BYTES: usize = 1 << 20;
/// How long requests in flight may take to finish at shutdown.
const DRAIN: Duration = Duration::from_secs(30);
/// Largest body of a login (read before its sender is known): a username and a password.
const MAX_LOGIN_BYTES: usize = 16 << 10;
/// How long a refused request's body is read and thrown away at most (see [`linger`]).
const LINGER: Duration = Duration::from_secs(5);
/// How much past its endpoint's limit a refused request's body is read and thrown away at most.
const LINGER_BYTES: usize = 1 << 20;
/// What a plain-HTTP client past a connection cap is told before its connection is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\
content-length: 46\r\nretry-after: 1\r\nconnection: close\r\n\r\n\
too many connections: close some, then retry\r\n";

/// Connections open, in all and per client address (an IPv6 client counted by its /64), held
/// to a cap on each: the engine's server keeps one at [`Limits::max_connections`] and
/// [`Limits::max_connections_per_client`]; another server (the dashboard) can keep its own.
///
/// ```
/// use spoor_engine::server::Gate;
///
/// let gate = Gate::new(2, 1);
/// let a = gate.admit("127.0.0.2".parse()?).expect("room");
/// assert!(gate.admit("127.0.0.2".parse()?).is_none(), "one a client");
/// let _b = gate.admit("127.0.0.3".parse()?).expect("room");
/// assert!(gate.admit("127.0.0.4".parse()?).is_none(), "two in all");
/// drop(a);
/// assert!(gate.admit("127.0.0.4".parse()?).is_some());
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Debug)]
pub struct Gate {
    max: usize,
    per_client: usize,
    open: Arc<Mutex<Open>>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    /// Only clients with a connection open: never more entries than `max`.
    by_client: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it makes room for another.
#[derive(Debug)]
pub struct Permit {
    open: Arc<Mutex<Open>>,
    client: IpAddr,
}

impl Gate {
    /// A gate for at most `max` connections in all and `per_client` from one client.
    pub fn new(max: usize, per_client: usize) -> Self {
        Self {
            max,
            per_client,
            open: Arc::default(),
        }
    }

    /// The gate of a server with these limits.
    pub(crate) fn of(limits: &Limits) -> Self {
        Self::new(limits.max_connections, limits.max_connections_per_client)
    }

    /// Room for a connection from `peer`, or `None` when a cap is reached.
    pub fn admit(&self, peer: IpAddr) -> Option<Permit> {
        let client = client_key(peer);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mine = open.by_client.get(&client).copied().unwrap_or(0);
        if open.total >= self.max || mine >= self.per_client {
            return None;
        }
        open.total += 1;
        open.by_client.insert(client, mine + 1);
        Some(Permit {
            open: Arc::clone(&self.open),
            client,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.by_client.remove(&self.client);
            }
        }
    }
}

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
                    let Some(permit) = state.gate.admit(peer.ip()) else {
                        // Refused with no task spawned: a plain client is told why (if its
                        // socket takes it at once), then the connection is closed.
                        if state.options.tls.is_none() {
                            let _ = tcp.try_write(BUSY);
                        }
                        tracing::debug!(%peer, "connection refused: too many connections");
                        continue;
                    };
                    let state = Arc::clone(&state);
                    let stop = stop.clone();
                    connections.spawn(async move {
                        let _permit = permit;
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
    let head_timeout = state.options.limits.head_timeout;
    let io: Box<dyn Io> = match &state.options.tls {
        Some(config) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(config));
            let tls = tokio::time::timeout(head_timeout, acceptor.accept(tcp))
                .await
                .map_err(|_| {
                    io::Error::new(io::ErrorKind::TimedOut, "tls handshake timed out")
                })??;
            Box::new(tls)
        }
        None => Box::new(tcp),
    };
    // A client that stops reading its replies loses its connection after as long as it may
    // take to send a head: it cannot hold a connection, or a reply's memory, for ever.
    let mut io: Box<dyn Io> = Box::new(WriteDeadline::new(io, head_timeout));
    let head = tokio::time::timeout(head_timeout, read_head(&mut io))
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
        // Also how long a kept-alive connection may wait for its next request.
        .header_read_timeout(head_timeout)
        // A client may close its sending side once its request is out; it still gets a reply.
        .half_close(true)
        // What one connection buffers (a head must fit): hyper's default, ~400 KB, times
        // every connection allowed would be a lot to hold for clients not yet known.
        .max_buf_size(MAX_HEAD)
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
            match state.auth.check_rest(&headers, peer.ip()) {
                Err(denied) => reply::unauthorized(mode, denied),
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
fn parse_head(head: &[u8]) -> Option<(String, HeaderMap)> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let target = lines.next()?.split(' ').nth(1)?.to_owned();
    let mut headers = HeaderMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        headers.append(
            http::header::HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
            http::HeaderValue::from_str(value.trim()).ok()?,
        );
    }
    Some((target, headers))
}

/// Reads a raw stream to its end, storing whole events as they come (see
/// [`receivers::Stream`]), so a long-lived stream is indexed as it arrives and a stream larger
/// than the body limit loses nothing; ends after [`STREAM_IDLE`] without data.
async fn read_stream(
    io: &mut Box<dyn Io>,
    first: &[u8],
    target: Target,
    mode: OutputMode,
    state: &Arc<State>,
) -> io::Result<Response> {
    let mut stream = receivers::Stream::new(state, target, mode);
    if let Err(response) = stream.push(first).await {
        return Ok(response);
    }
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match tokio::time::timeout(STREAM_IDLE, io.read(&mut buf)).await {
            Ok(read) => read?,
            Err(_) => 0,
        };
        if n == 0 {
            break;
        }
        if let Err(response) = stream.push(&buf[..n]).await {
            return Ok(response);
        }
    }
    Ok(stream.finish().await)
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

/// A stream whose writes fail once they have made no progress for a time: a client that stops
/// reading its replies cannot hold its connection, and the reply's memory, for ever. The engine's
/// server wraps every connection in one (for its head timeout); another server (the dashboard)
/// can too.
#[derive(Debug)]
pub struct WriteDeadline<S> {
    inner: S,
    limit: Duration,
    /// Set while a write or flush is waiting on the client; fires at the deadline.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WriteDeadline<S> {
    /// `inner`, its writes failed with [`io::ErrorKind::TimedOut`] after `limit` without
    /// progress. Call within a Tokio runtime with its timer.
    pub fn new(inner: S, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            stalled: None,
        }
    }

    /// Passes on what the inner stream gave; while it is pending, counts down from the first
    /// time it was, and fails the write at the deadline.
    fn guard<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let limit = self.limit;
                let stalled = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                match stalled.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client has not read its reply for too long",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.guard(cx, polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.guard(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.guard(cx, polled)
    }
}

/// One request, start to end.
async fn handle(state: Arc<State>, request: Request<Incoming>, peer: SocketAddr) -> Response {
    let (parts, mut body) = request.into_parts();
    let query = Form::decode(parts.uri.query().unwrap_or_default());
    let read = match check_head(&state, &parts, &query, peer) {
        Ok((Route::ReceiversStream, mode, limit)) if parts.method == Method::POST => {
            let target = Target::of(&query, peer);
            return stream_body(&state, body, target, mode, limit, peer).await;
        }
        Ok((route, mode, limit)) => read_request(&state, &route, mode, limit, &mut body, peer)
            .await
            .map(|bytes| (route, mode, bytes)),
        Err(refused) => Err(*refused),
    };
    match read {
        Ok((route, mode, bytes)) => {
            let req = Req {
                method: parts.method,
                headers: parts.headers,
                query,
                body: bytes,
                mode,
                peer,
            };
            dispatch(state, route, req).await
        }
        Err(Refused { response, drain }) => {
            if let Some(limit) = drain.filter(|_| !body.is_end_stream()) {
                tokio::spawn(linger(body, limit));
            }
            response
        }
    }
}

/// A framed `receivers/stream` request: its body stored as it arrives (see
/// [`receivers::Stream`]), read at the pace every body is held to ([`Pace`]).
async fn stream_body(
    state: &Arc<State>,
    mut body: Incoming,
    target: Target,
    mode: OutputMode,
    limit: usize,
    peer: SocketAddr,
) -> Response {
    let limits = &state.options.limits;
    let mut stream = receivers::Stream::new(state, target, mode);
    let mut pace = Pace::new(limits);
    // The reply that ends the stream early, and whether the rest of the body is to be read and
    // thrown away (see [`linger`]).
    let (mut response, drain) = loop {
        match pace.next(&mut body).await {
            Ok(Some(data)) => {
                if let Err(response) = stream.push(&data).await {
                    break (response, true);
                }
            }
            Ok(None) => return stream.finish().await,
            Err(ReadFault::TooSlow) => {
                tracing::debug!(%peer, "request body too slow");
                let text = reply::too_slow_text(limits.body_timeout, limits.min_body_rate);
                break (stream.refuse(StatusCode::REQUEST_TIMEOUT, text), false);
            }
            Err(ReadFault::Broken(err)) => {
                tracing::debug!(%peer, error = %err, "request body not read");
                let text = "the request body could not be read";
                break (stream.refuse(StatusCode::BAD_REQUEST, text), false);
            }
        }
    };
    reply::closing(&mut response);
    if drain && !body.is_end_stream() {
        tokio::spawn(linger(body, limit));
    }
    response
}

/// A request answered before its body was read whole.
struct Refused {
    response: Response,
    /// Whether what is left of the body is to be read and thrown away (see [`linger`]), and
    /// the endpoint's limit.
    drain: Option<usize>,
}

/// The endpoint, output mode and body limit of a request, or the reply that refuses it: its
/// head is checked ([`admit`]) before any byte of its body is read.
fn check_head(
    state: &State,
    parts: &http::request::Parts,
    query: &Form,
    peer: SocketAddr,
) -> Result<(Route, OutputMode, usize), Box<Refused>> {
    let refuse = |response, limit| {
        Box::new(Refused {
            response,
            drain: Some(limit),
        })
    };
    let path = parts.uri.path();
    let mode = OutputMode::from_param(query.get("output_mode"));
    let Some(route) = route::route(path) else {
        return Err(refuse(
            reply::no_endpoint(mode.unwrap_or_default(), path),
            MAX_FORM_BYTES,
        ));
    };
    let is_hec = route.is_hec();
    let limits = &state.options.limits;
    let limit = match route {
        _ if is_hec => limits.max_hec_body_bytes,
        Route::ReceiversSimple | Route::ReceiversStream => limits.max_body_bytes,
        Route::Login => MAX_LOGIN_BYTES.min(limits.max_body_bytes),
        // Forms (a search, an index's settings) are small; no one may make the server hold
        // more for them.
        _ => MAX_FORM_BYTES.min(limits.max_body_bytes),
    };
    let mode = match mode {
        Ok(mode) => mode,
        Err(_) if is_hec => OutputMode::Json,
        Err(bad) => {
            let response = reply::error(
                StatusCode::BAD_REQUEST,
                OutputMode::Xml,
                Level::Fatal,
                format!("Invalid output_mode '{bad}': use xml or json"),
            );
            return Err(refuse(response, limit));
        }
    };
    if let Some(refusal) = admit(state, &route, parts, query, mode, peer.ip()) {
        return Err(refuse(refusal, limit));
    }
    if let Some(encoding) = parts
        .headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .filter(|e| !e.trim().eq_ignore_ascii_case("identity"))
    {
        let text =
            format!("Content-Encoding {encoding:?} is not supported: send the body uncompressed");
        let response = if is_hec {
            reply::hec_refusal(StatusCode::UNSUPPORTED_MEDIA_TYPE, &text)
        } else {
            reply::error(StatusCode::UNSUPPORTED_MEDIA_TYPE, mode, Level::Error, text)
        };
        return Err(refuse(response, limit));
    }
    Ok((route, mode, limit))
}

/// The body of a request whose head was checked, read whole, or the reply that refuses it.
async fn read_request(
    state: &State,
    route: &Route,
    mode: OutputMode,
    limit: usize,
    body: &mut Incoming,
    peer: SocketAddr,
) -> Result<Bytes, Refused> {
    let refuse = |response, limit| Refused {
        response,
        drain: Some(limit),
    };
    let is_hec = route.is_hec();
    let limits = &state.options.limits;
    if *route == Route::HecHealth {
        // Nothing to read for a health check, and its caller is not known.
        return Ok(Bytes::new());
    }
    match read_body(body, limit, limits).await {
        Ok(bytes) => Ok(bytes),
        Err(BodyFault::TooLarge) => {
            let mut response = if is_hec {
                reply::hec_too_large(limit)
            } else {
                reply::too_large(mode, limit)
            };
            reply::closing(&mut response);
            Err(refuse(response, limit))
        }
        Err(BodyFault::Read(ReadFault::TooSlow)) => {
            tracing::debug!(%peer, "request body too slow");
            let response = reply::too_slow(mode, is_hec, limits.body_timeout, limits.min_body_rate);
            Err(Refused {
                response,
                drain: None,
            })
        }
        Err(BodyFault::Read(ReadFault::Broken(err))) => {
            tracing::debug!(%peer, error = %err, "request body not read");
            let response = reply::error(
                StatusCode::BAD_REQUEST,
                mode,
                Level::Error,
                "the request body could not be read",
            );
            Err(Refused {
                response,
                drain: None,
            })
        }
    }
}

/// After a reply sent before its request's body was read whole, reads what is left of the
/// body and throws it away, for at most [`LINGER`] and the endpoint's limit plus
/// [`LINGER_BYTES`]: a client that sends its whole body before reading (most blocking clients
/// do) then reads the reply rather than a broken connection. Nothing is kept; the connection
/// closes after.
async fn linger(mut body: Incoming, limit: usize) {
    let most = limit.saturating_add(LINGER_BYTES);
    let drain = async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                seen = seen.saturating_add(data.len());
                if seen > most {
                    break;
                }
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// What a request's head decides before any byte of its body is read: its credentials (HEC's
/// token; a REST call's session key, cookie, bearer token or Basic password), HEC's method, and
/// a login from a client locked out. The refusal, if any.
fn admit(
    state: &State,
    route: &Route,
    parts: &http::request::Parts,
    query: &Form,
    mode: OutputMode,
    client: IpAddr,
) -> Option<Response> {
    let headers = &parts.headers;
    match route {
        Route::HecHealth => None,
        _ if route.is_hec() => {
            if parts.method != Method::POST {
                return Some(reply::wrong_method(OutputMode::Json, &parts.method));
            }
            let token = query.get("token").is_some();
            state
                .auth
                .check_hec(headers, token, client)
                .err()
                .map(reply::hec_denied)
        }
        Route::Login => state
            .auth
            .client_locked(client)
            .map(|left| reply::login_locked(mode, left)),
        _ => state
            .auth
            .check_rest(headers, client)
            .err()
            .map(|denied| reply::unauthorized(mode, denied)),
    }
}

/// Why a body was not read whole.
#[derive(Debug)]
enum BodyFault {
    /// Past the endpoint's limit, announced or sent.
    TooLarge,
    /// Not read as it came.
    Read(ReadFault),
}

/// Why a body's next piece was not read.
#[derive(Debug)]
enum ReadFault {
    /// Slower than [`Limits::body_timeout`] and [`Limits::min_body_rate`] allow.
    TooSlow,
    /// The connection failed or the framing was wrong.
    Broken(hyper::Error),
}

/// The pace a body is held to: it may take [`Limits::body_timeout`] plus a second for each
/// [`Limits::min_body_rate`] bytes received.
struct Pace<'l> {
    limits: &'l Limits,
    start: tokio::time::Instant,
    received: usize,
}

impl<'l> Pace<'l> {
    fn new(limits: &'l Limits) -> Self {
        Self {
            limits,
            start: tokio::time::Instant::now(),
            received: 0,
        }
    }

    /// The body's next piece of data (`None` at its end), if it comes in time.
    async fn next(&mut self, body: &mut Incoming) -> Result<Option<Bytes>, ReadFault> {
        loop {
            let limits = self.limits;
            let allowance = if limits.min_body_rate == 0 {
                limits.body_timeout
            } else {
                let earned = self.received as f64 / limits.min_body_rate as f64;
                limits
                    .body_timeout
                    .saturating_add(Duration::try_from_secs_f64(earned).unwrap_or(Duration::MAX))
            };
            let next = match self.start.checked_add(allowance) {
                Some(deadline) => tokio::time::timeout_at(deadline, body.frame()).await,
                None => Ok(body.frame().await),
            };
            let frame = match next {
                Err(_) => return Err(ReadFault::TooSlow),
                Ok(None) => return Ok(None),
                Ok(Some(Err(err))) => return Err(ReadFault::Broken(err)),
                Ok(Some(Ok(frame))) => frame,
            };
            // Trailers are skipped.
            if let Ok(data) = frame.into_data() {
                self.received += data.len();
                return Ok(Some(data));
            }
        }
    }
}

/// Reads a body of at most `limit` bytes, refusing one announced larger before reading any of
/// it, and one that comes too slowly ([`Pace`]).
async fn read_body(body: &mut Incoming, limit: usize, limits: &Limits) -> Result<Bytes, BodyFault> {
    let hint = body.size_hint();
    let announced = usize::try_from(hint.lower()).unwrap_or(usize::MAX);
    if announced > limit {
        return Err(BodyFault::TooLarge);
    }
    // Credentials are checked by now (a login's cap is small): what is announced may be held.
    let mut out = Vec::with_capacity(hint.exact().map_or(0, |_| announced));
    let mut pace = Pace::new(limits);
    while let Some(data) = pace.next(body).await.map_err(BodyFault::Read)? {
        if data.len() > limit - out.len() {
            return Err(BodyFault::TooLarge);
        }
        out.extend_from_slice(&data);
    }
    Ok(out.into())
}

async fn dispatch(state: Arc<State>, route: Route, req: Req) -> Response {
    let state_ref = &*state;
    match &route {
        Route::Login => rest::login(state_ref, &req),
        Route::ServerInfo => rest::server_info(state_ref, &req),
        Route::Indexes => rest::indexes(state_ref, &req),
        Route::Index(name) => rest::index(state_ref, &req, name),
        Route::RollHotBuckets(name) => rest::roll_hot_buckets(state_ref, &req, name),
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
            receivers::store(&state, req.mode, target, req.body).await
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

    /// A reader that never reads: the write fails at the deadline instead of waiting for ever,
    /// and a write that makes progress is never failed.
    #[test]
    fn a_write_the_client_never_reads_fails_at_its_deadline() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let (ours, mut theirs) = tokio::io::duplex(64);
            let mut io = WriteDeadline::new(ours, Duration::from_millis(100));
            let started = std::time::Instant::now();
            let err = io
                .write_all(&[b'x'; 4096])
                .await
                .expect_err("a write nobody reads fails");
            assert_eq!(err.kind(), io::ErrorKind::TimedOut);
            let took = started.elapsed();
            assert!(
                took >= Duration::from_millis(100) && took < Duration::from_secs(5),
                "{took:?}"
            );

            let (ours, mut slow) = tokio::io::duplex(64);
            let reader = tokio::spawn(async move {
                let mut all = Vec::new();
                let mut buf = [0u8; 64];
                loop {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    match slow.read(&mut buf).await {
                        Ok(0) | Err(_) => break all,
                        Ok(n) => all.extend_from_slice(&buf[..n]),
                    }
                }
            });
            let mut io = WriteDeadline::new(ours, Duration::from_millis(100));
            io.write_all(&[b'y'; 1024])
                .await
                .expect("a write read slowly goes on");
            io.shutdown().await.expect("shutdown");
            drop(io);
            assert_eq!(reader.await.expect("reader").len(), 1024);
            let _ = theirs.read(&mut [0u8; 1]).await;
        });
    }

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
