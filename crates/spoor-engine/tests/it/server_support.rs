//! What the server tests share: a server in a temporary folder, the two `spoor-splunk` drivers
//! behind one trait (so each scenario is written once), raw requests in either output mode, a
//! plain socket client for what no HTTP library sends, a small XML reader for results, and a
//! watch on panics in the server's threads.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use http::{HeaderValue, Method, Request, Response, StatusCode};
use spoor_engine::Engine;
use spoor_engine::server::{Limits, Running, Server, ServerOptions};
use spoor_proto::form::Form;
use spoor_proto::hec::{Batch, HecReply};
use spoor_proto::rest::{Index, ServerInfo, SubmitReceipt, SubmitTarget};
use spoor_proto::search::{ExportItem, SearchParams};
use spoor_proto::{Call, Config, Error, Machine, RetryPolicy, Service};
use spoor_splunk::SearchResults;

use crate::support::TempDir;

/// A server on a free loopback port over an engine in a fresh folder.
pub(crate) struct Harness {
    pub(crate) running: Running,
    pub(crate) engine: Arc<Engine>,
    _dir: TempDir,
}

impl Harness {
    /// A server with default options.
    pub(crate) fn start(name: &str) -> Self {
        Self::with(name, |o| o)
    }

    /// A server with the options `configure` makes of the defaults.
    pub(crate) fn with(name: &str, configure: impl FnOnce(ServerOptions) -> ServerOptions) -> Self {
        watch_server_panics();
        let dir = TempDir::new(name);
        let (engine, _) = Engine::open(dir.path()).expect("open engine");
        let engine = Arc::new(engine);
        let credentials = spoor_engine::server::Credentials::generate().expect("credentials");
        let options = configure(
            ServerOptions::new(credentials).listen("127.0.0.1:0".parse().expect("address")),
        );
        let running = Server::start(Arc::clone(&engine), options).expect("start server");
        Self {
            running,
            engine,
            _dir: dir,
        }
    }

    /// A server with these limits.
    pub(crate) fn with_limits(name: &str, change: impl FnOnce(&mut Limits)) -> Self {
        let mut limits = Limits::default();
        change(&mut limits);
        Self::with(name, |o| o.limits(limits))
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.running.addr()
    }

    /// The client configuration: the admin's password and the first HEC token.
    pub(crate) fn config(&self) -> Config {
        self.running.config().build().expect("client config")
    }

    /// A client configuration with no credentials at all.
    pub(crate) fn anonymous(&self) -> Config {
        let mut builder = spoor_proto::ConfigBuilder::new();
        builder
            .scheme(spoor_proto::config::Scheme::Http)
            .host(self.addr().ip().to_string())
            .port(self.addr().port());
        builder.build().expect("anonymous config")
    }

    pub(crate) fn hec_token(&self) -> String {
        self.running.credentials().hec_tokens[0].expose().to_owned()
    }

    /// Every row `search index=<index>` gives, straight from the engine, sorted: what the
    /// index holds.
    pub(crate) fn contents(&self, index: &str) -> Vec<Vec<Option<String>>> {
        let query = spoor_spl::parse(&format!("search index={index}")).expect("query");
        let window = spoor_engine::search::Window::default();
        let mut rows = self.engine.search(&query, &window).expect("search").rows;
        rows.sort();
        rows
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        assert_eq!(
            server_panics(),
            0,
            "a server thread panicked (see the output above)"
        );
    }
}

static SERVER_PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts panics on the server's threads (its runtime's workers and blocking threads are all
/// named `spoor-engine-server`), whichever test caused them.
fn watch_server_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("spoor-engine-server"))
            {
                SERVER_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

pub(crate) fn server_panics() -> usize {
    SERVER_PANICS.load(Ordering::SeqCst)
}

/// One of `spoor-splunk`'s clients, seen the same way: the tokio driver's calls are run to
/// completion on a runtime of its own.
pub(crate) trait Driver: Sized {
    fn connect(config: &Config) -> Self;
    fn service(&self) -> Service;
    fn run<M: Machine>(&self, machine: &mut M) -> Result<M::Output, Error>;
    fn login(&self) -> Result<(), Error>;
    fn server_info(&self) -> Result<ServerInfo, Error>;
    fn indexes(&self) -> Result<Vec<Index>, Error>;
    fn create_index(&self, name: &str, settings: &Form) -> Result<Index, Error>;
    fn props(&self, stanza: &str, keys: &Form) -> Result<(), Error>;
    fn submit(&self, target: &SubmitTarget, events: &[&str]) -> Result<SubmitReceipt, Error>;
    fn hec_send(&self, batch: Batch) -> Result<HecReply, Error>;
    fn search(&self, query: &str, params: SearchParams) -> Result<SearchResults, Error>;
    fn export(&self, query: &str, params: &SearchParams) -> Result<Vec<ExportItem>, Error>;

    /// Sends `request` once (no retries, no login), and gives back the whole response.
    fn send_with(&self, service: Service, request: Request<Vec<u8>>) -> Response<Vec<u8>> {
        let mut service = service;
        service.set_retry_policy(RetryPolicy::never());
        let mut call = Call::new(service, request, |r| Ok(r.clone()));
        self.run(&mut call).expect("a response")
    }

    /// Sends `request` as it is, with the client's session.
    fn send(&self, request: Request<Vec<u8>>) -> Response<Vec<u8>> {
        self.send_with(self.service(), request)
    }

    /// `method` to `target` (a path and query) on the management port with the client's
    /// session; a body is sent as a form.
    fn rest(&self, method: Method, target: &str, body: Option<&str>) -> Response<Vec<u8>> {
        let service = self.service();
        let mut request = raw_request(&service, method, target, body);
        service.authorize(&mut request);
        self.send_with(service, request)
    }
}

/// A request to `target` below the service's base URL.
pub(crate) fn raw_request(
    service: &Service,
    method: Method,
    target: &str,
    body: Option<&str>,
) -> Request<Vec<u8>> {
    // The base URL is the one every request of the service has.
    let probe = service.server_info_request().expect("a request");
    let base = format!(
        "{}://{}",
        probe.uri().scheme_str().expect("scheme"),
        probe.uri().authority().expect("authority")
    );
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("{base}{target}"));
    if body.is_some() {
        builder = builder.header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        );
    }
    builder
        .body(body.unwrap_or_default().as_bytes().to_vec())
        .expect("request")
}

/// The same request in XML output mode: `output_mode=json` taken out of its query string and
/// its form body (XML is Splunk's default).
pub(crate) fn as_xml(mut request: Request<Vec<u8>>) -> Request<Vec<u8>> {
    let strip = |text: &str| -> String {
        text.split('&')
            .filter(|p| !p.is_empty() && *p != "output_mode=json")
            .collect::<Vec<_>>()
            .join("&")
    };
    let uri = request.uri().clone();
    let query = strip(uri.query().unwrap_or_default());
    let mut target = uri.path().to_owned();
    if !query.is_empty() {
        target = format!("{target}?{query}");
    }
    let mut parts = uri.into_parts();
    parts.path_and_query = Some(target.parse().expect("path and query"));
    *request.uri_mut() = http::Uri::from_parts(parts).expect("uri");
    let is_form = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes()
                .starts_with(b"application/x-www-form-urlencoded")
        });
    if is_form && !request.uri().path().ends_with("/receivers/simple") {
        let body = strip(std::str::from_utf8(request.body()).expect("form body"));
        *request.body_mut() = body.into_bytes();
    }
    request
}

/// Sets `Authorization` on a request.
pub(crate) fn with_authorization(mut request: Request<Vec<u8>>, value: &str) -> Request<Vec<u8>> {
    request.headers_mut().insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(value).expect("header"),
    );
    request
}

pub(crate) fn body_text(response: &Response<Vec<u8>>) -> &str {
    std::str::from_utf8(response.body()).expect("a UTF-8 body")
}

/// The blocking driver (ureq).
pub(crate) struct Blocking {
    client: spoor_splunk::blocking::Client,
}

/// The async driver (hyper on tokio), on a runtime of its own.
pub(crate) struct Tokio {
    runtime: tokio::runtime::Runtime,
    client: spoor_splunk::tokio::Client,
}

macro_rules! now {
    ($driver:expr, $call:expr) => {
        $call
    };
}

macro_rules! block_on {
    ($driver:expr, $call:expr) => {
        $driver.runtime.block_on($call)
    };
}

/// The trait's methods for a driver: `$wait` finishes a call (`now!` or `block_on!`), and
/// `$export` collects an export's items.
macro_rules! driver {
    ($driver:ty, $wait:ident, |$this:ident, $query:ident, $params:ident| $export:expr) => {
        impl Driver for $driver {
            fn connect(config: &Config) -> Self {
                Self::new(config)
            }

            fn service(&self) -> Service {
                self.client.service()
            }

            fn run<M: Machine>(&self, machine: &mut M) -> Result<M::Output, Error> {
                $wait!(self, self.client.run(machine))
            }

            fn login(&self) -> Result<(), Error> {
                $wait!(self, self.client.login())
            }

            fn server_info(&self) -> Result<ServerInfo, Error> {
                $wait!(self, self.client.server_info())
            }

            fn indexes(&self) -> Result<Vec<Index>, Error> {
                $wait!(self, self.client.indexes())
            }

            fn create_index(&self, name: &str, settings: &Form) -> Result<Index, Error> {
                $wait!(self, self.client.create_index(name, settings))
            }

            fn props(&self, stanza: &str, keys: &Form) -> Result<(), Error> {
                $wait!(self, self.client.props(stanza, keys))
            }

            fn submit(
                &self,
                target: &SubmitTarget,
                events: &[&str],
            ) -> Result<SubmitReceipt, Error> {
                $wait!(self, self.client.submit(target, events.iter().copied()))
            }

            fn hec_send(&self, batch: Batch) -> Result<HecReply, Error> {
                $wait!(self, self.client.hec_send(batch))
            }

            fn search(&self, query: &str, params: SearchParams) -> Result<SearchResults, Error> {
                $wait!(self, self.client.search(query, params))
            }

            fn export(
                &self,
                $query: &str,
                $params: &SearchParams,
            ) -> Result<Vec<ExportItem>, Error> {
                let $this = self;
                $export
            }
        }
    };
}

impl Blocking {
    fn new(config: &Config) -> Self {
        Self {
            client: spoor_splunk::blocking::Client::new(config).expect("blocking client"),
        }
    }
}

impl Tokio {
    fn new(config: &Config) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = {
            let _entered = runtime.enter();
            spoor_splunk::tokio::Client::new(config).expect("tokio client")
        };
        Self { runtime, client }
    }
}

driver!(Blocking, now, |this, query, params| this
    .client
    .export(query, params)?
    .collect());

driver!(Tokio, block_on, |this, query, params| this
    .runtime
    .block_on(async {
        let mut export = this.client.export(query, params).await?;
        let mut items = Vec::new();
        while let Some(item) = export.next().await {
            items.push(item?);
        }
        Ok(items)
    }));

/// A response read off a plain socket.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body: Vec<u8>,
}

/// Writes a request on a fresh connection and reads until the server closes (the request
/// asks it to); `None` when the server sent nothing back.
pub(crate) fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> Option<RawResponse> {
    exchange(addr, bytes, false)
}

/// Writes `bytes` on a fresh connection, then closes the writing side (so a head that never
/// ends does not wait for the server's time limit) and reads what comes back, if anything.
pub(crate) fn raw_half_closed(addr: SocketAddr, bytes: &[u8]) -> Option<RawResponse> {
    exchange(addr, bytes, true)
}

fn exchange(addr: SocketAddr, bytes: &[u8], half_close: bool) -> Option<RawResponse> {
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    // The server may answer and close before reading everything (a body over the limit).
    let _ = tcp.write_all(bytes);
    if half_close {
        let _ = tcp.shutdown(Shutdown::Write);
    }
    let mut out = Vec::new();
    let _ = tcp.read_to_end(&mut out);
    parse_raw(&out)
}

/// A request with a body and `Connection: close`, in bytes.
pub(crate) fn raw_http(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

fn parse_raw(bytes: &[u8]) -> Option<RawResponse> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let mut body = bytes[end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body)?;
    }
    Some(RawResponse { status, head, body })
}

fn dechunk(mut bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line = bytes.windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(&bytes[..line]).ok()?.trim(), 16).ok()?;
        bytes = &bytes[line + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(bytes.get(..size)?);
        bytes = bytes.get(size + 2..)?;
    }
}

/// Whether a status is one a request may get: anything but a server error (503, Splunk's
/// "busy", is fine).
pub(crate) fn sane(status: u16) -> bool {
    (200..500).contains(&status) || status == StatusCode::SERVICE_UNAVAILABLE.as_u16()
}

/// A small, strict XML reader: enough to check a body is well-formed and to read Splunk's
/// results documents.
pub(crate) mod xml {
    use std::collections::BTreeMap;

    /// A result row as both output modes can tell it: field name → values, in order.
    pub(crate) type Fields = Vec<(String, Vec<String>)>;

    /// An element: name (prefix kept), attributes, text directly inside, children.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub(crate) struct Element {
        pub(crate) name: String,
        pub(crate) attrs: BTreeMap<String, String>,
        pub(crate) text: String,
        pub(crate) children: Vec<Self>,
    }

    impl Element {
        pub(crate) fn child(&self, name: &str) -> Option<&Self> {
            self.children.iter().find(|c| c.name == name)
        }

        pub(crate) fn all<'a>(&'a self, name: &str, out: &mut Vec<&'a Self>) {
            for c in &self.children {
                if c.name == name {
                    out.push(c);
                }
                c.all(name, out);
            }
        }
    }

    /// The top-level elements of a text (Splunk's export puts several documents one after
    /// another), or what is malformed.
    pub(crate) fn parse(text: &str) -> Result<Vec<Element>, String> {
        let mut stack: Vec<Element> = Vec::new();
        let mut top = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("<?") {
                let end = after.find("?>").ok_or("an unclosed <?")?;
                rest = &after[end + 2..];
            } else if let Some(after) = rest.strip_prefix("<!--") {
                let end = after.find("-->").ok_or("an unclosed comment")?;
                rest = &after[end + 3..];
            } else if let Some(after) = rest.strip_prefix("</") {
                let end = after.find('>').ok_or("an unclosed end tag")?;
                let name = after[..end].trim();
                let open = stack
                    .pop()
                    .ok_or_else(|| format!("</{name}> closes nothing"))?;
                if open.name != name {
                    return Err(format!("<{}> closed by </{name}>", open.name));
                }
                close(&mut stack, &mut top, open);
                rest = &after[end + 1..];
            } else if let Some(after) = rest.strip_prefix('<') {
                let end = tag_end(after).ok_or("an unclosed tag")?;
                let (inner, empty) = match after[..end].strip_suffix('/') {
                    Some(inner) => (inner, true),
                    None => (&after[..end], false),
                };
                let element = start_tag(inner)?;
                if empty {
                    close(&mut stack, &mut top, element);
                } else {
                    stack.push(element);
                }
                rest = &after[end + 1..];
            } else {
                let end = rest.find('<').unwrap_or(rest.len());
                let text = unescape(&rest[..end])?;
                match stack.last_mut() {
                    Some(open) => open.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(format!("text outside any element: {text:?}")),
                }
                rest = &rest[end..];
            }
        }
        match stack.last() {
            Some(open) => Err(format!("<{}> is never closed", open.name)),
            None if top.is_empty() => Err("no element".to_owned()),
            None => Ok(top),
        }
    }

    fn close(stack: &mut [Element], top: &mut Vec<Element>, element: Element) {
        match stack.last_mut() {
            Some(parent) => parent.children.push(element),
            None => top.push(element),
        }
    }

    /// Where a tag ends, skipping `>` inside quoted attribute values.
    fn tag_end(text: &str) -> Option<usize> {
        let mut quote = None;
        for (i, c) in text.char_indices() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '>') => return Some(i),
                _ => {}
            }
        }
        None
    }

    fn start_tag(inner: &str) -> Result<Element, String> {
        let inner = inner.trim();
        let name_end = inner.find(char::is_whitespace).unwrap_or(inner.len());
        let name = &inner[..name_end];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || ":_-.".contains(c))
        {
            return Err(format!("a bad element name {name:?}"));
        }
        let mut attrs = BTreeMap::new();
        let mut rest = inner[name_end..].trim_start();
        while !rest.is_empty() {
            let eq = rest
                .find('=')
                .ok_or_else(|| format!("a bad attribute in <{inner}>"))?;
            let key = rest[..eq].trim().to_owned();
            let value = rest[eq + 1..].trim_start();
            let quote = value
                .chars()
                .next()
                .filter(|q| *q == '"' || *q == '\'')
                .ok_or_else(|| format!("an unquoted attribute in <{inner}>"))?;
            let close = value[1..]
                .find(quote)
                .ok_or_else(|| format!("an unclosed attribute in <{inner}>"))?;
            attrs.insert(key, unescape(&value[1..=close])?);
            rest = value[close + 2..].trim_start();
        }
        Ok(Element {
            name: name.to_owned(),
            attrs,
            ..Element::default()
        })
    }

    fn unescape(text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let end = rest[amp..]
                .find(';')
                .ok_or_else(|| format!("a bare & in {text:?}"))?;
            let entity = &rest[amp + 1..amp + end];
            let c = match entity {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                _ => entity
                    .strip_prefix("#x")
                    .map(|h| u32::from_str_radix(h, 16))
                    .or_else(|| entity.strip_prefix('#').map(str::parse))
                    .and_then(Result::ok)
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("an unknown entity &{entity};"))?,
            };
            out.push(c);
            rest = &rest[amp + end + 1..];
        }
        if rest.contains('>') && rest.contains("]]>") {
            return Err("]]> in text".to_owned());
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The rows of Splunk results documents (`<results>` with `<result>`s of
    /// `<field k=…>`), each field's values from `<value><text>` or `<v>`; and each document's
    /// `preview` attribute.
    pub(crate) fn results(text: &str) -> Result<(Vec<bool>, Vec<Fields>), String> {
        let mut previews = Vec::new();
        let mut rows = Vec::new();
        for doc in parse(text)? {
            if doc.name != "results" {
                return Err(format!("a <{}> document, not <results>", doc.name));
            }
            previews.push(
                doc.attrs
                    .get("preview")
                    .map(String::as_str)
                    .ok_or("<results> without preview")?
                    == "1",
            );
            let mut results = Vec::new();
            doc.all("result", &mut results);
            for result in results {
                let mut row = Vec::new();
                for field in result.children.iter().filter(|f| f.name == "field") {
                    let k = field.attrs.get("k").ok_or("<field> without k")?.clone();
                    let mut values = Vec::new();
                    for v in &field.children {
                        match v.name.as_str() {
                            "value" => values
                                .push(v.child("text").map(|t| t.text.clone()).unwrap_or_default()),
                            "v" => values.push(v.text.clone()),
                            _ => {}
                        }
                    }
                    row.push((k, values));
                }
                rows.push(row);
            }
        }
        Ok((previews, rows))
    }
}
