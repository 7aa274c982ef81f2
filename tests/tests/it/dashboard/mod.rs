//! spoor's dashboard end to end: the dashboard served on a loopback port in a tokio runtime,
//! asking spoor's engine (started in-process behind its REST API, as in the façade tests)
//! through spoor's Retriever, and read over real HTTP.

mod browser;
mod routes;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use spoor::{AsyncRetriever, Tracker};
use spoor_dashboard::{DEFAULT_META_INDEX, Dashboard};
use spoor_event::Event;

use crate::facades::Backend;

/// The dashboard in front of an engine: its own runtime and port. Dropping it stops the
/// dashboard, then the engine.
pub(crate) struct Site {
    backend: Backend,
    tracker: Option<Tracker>,
    runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Site {
    /// The dashboard over a fresh engine holding `events` (in spoor's index), logging its own
    /// page views to their own index when `meta`.
    pub(crate) fn start(events: &[Event], meta: bool) -> Self {
        let backend = Backend::start("9.4.0");
        if !events.is_empty() {
            backend.store(spoor::DEFAULT_INDEX, events);
        }
        Self::over(backend, meta)
    }

    /// The dashboard over `backend` as it is.
    pub(crate) fn over(backend: Backend, meta: bool) -> Self {
        let config = backend.config(true);
        let tracker = meta.then(|| {
            let tracker =
                spoor_dashboard::meta_tracker(&config, DEFAULT_META_INDEX).expect("a tracker");
            tracker.setup().expect("the page views' index and props");
            tracker
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr, served) = runtime.block_on(async {
            let retriever = AsyncRetriever::new(&config).expect("a retriever");
            let dashboard = Arc::new(Dashboard::new(retriever, tracker.clone()));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a loopback port");
            let addr = listener.local_addr().expect("the port");
            let served = tokio::spawn(spoor_dashboard::serve(listener, dashboard, async {
                let _ = stopped.await;
            }));
            (addr, served)
        });
        Self {
            backend,
            tracker,
            runtime,
            addr,
            stop: Some(stop),
            served: Some(served),
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A client configuration for the engine behind the dashboard.
    pub(crate) fn config(&self) -> spoor_proto::Config {
        self.backend.config(false)
    }

    pub(crate) fn backend_mut(&mut self) -> &mut Backend {
        &mut self.backend
    }

    /// Sends the page views logged so far to the engine.
    pub(crate) fn flush_meta(&self) {
        self.tracker
            .as_ref()
            .expect("a site logging its page views")
            .flush(Duration::from_secs(30))
            .expect("the page views are sent");
    }

    pub(crate) fn get(&self, target: &str) -> Reply {
        self.request("GET", target, &[])
    }

    /// One request on a new connection, read to its end.
    pub(crate) fn request(&self, method: &str, target: &str, headers: &[(&str, &str)]) -> Reply {
        request(self.addr, method, target, headers)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            let result = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(15), served).await });
            if !std::thread::panicking() {
                let served = result.expect("the dashboard stops within 15 s");
                served
                    .expect("the dashboard's task ends without panicking")
                    .expect("the dashboard stops cleanly");
            }
        }
        if let Some(tracker) = self.tracker.take() {
            let _ = tracker.shutdown(Duration::from_secs(5));
        }
    }
}

/// A reply: its status, headers (names lower-case) and body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A plain HTTP/1.1 request (`Connection: close`), so that the test sees exactly what the
/// server sent: no redirects followed, no statuses turned into errors.
pub(crate) fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut tcp = TcpStream::connect(addr).expect("connect to the dashboard");
    tcp.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("a read timeout");
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if method == "POST" {
        head.push_str("Content-Length: 0\r\n");
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes()).expect("send the request");
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("{method} {target}: reading the reply: {e}"));
    let text = String::from_utf8(raw).expect("a UTF-8 reply");
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {target}: a reply without a head: {text:?}"));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {target}: no status line in {head:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let reply = Reply {
        status,
        headers,
        body: body.to_owned(),
    };
    if let Some(length) = reply.header("content-length")
        && method != "HEAD"
    {
        assert_eq!(
            length.parse::<usize>().ok(),
            Some(reply.body.len()),
            "{method} {target}: Content-Length"
        );
    }
    reply
}

/// The text of an HTML fragment: tags dropped, maud's entities decoded, spaces collapsed.
pub(crate) fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The body rows of the first `<table>` after `marker`, each as its cells' text.
pub(crate) fn table_after(html: &str, marker: &str) -> Vec<Vec<String>> {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in the page:\n{html}"));
    let rest = &html[start..];
    let table = &rest[..rest.find("</table>").expect("the table ends")];
    let body = &table[table.find("<tbody>").expect("a table body")..];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let cell = &cell[cell.find('>').map_or(0, |i| i + 1)..];
                    text(&cell[..cell.find("</td>").unwrap_or(cell.len())])
                })
                .collect()
        })
        .collect()
}
