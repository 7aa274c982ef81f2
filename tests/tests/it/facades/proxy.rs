//! A fault-injecting HTTP proxy for the tracker's tests: one request per connection, each
//! answered by the next fault of a script — a 503, a 429 with `Retry-After`, a dropped
//! connection, a delay — or passed to the backend. Faults never reach the backend, so an
//! event the backend stored was acknowledged to the proxy exactly once.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Forward it.
    Pass,
    /// Answer 503 without forwarding.
    Unavailable,
    /// Answer 429 with `Retry-After: 1` without forwarding.
    TooMany,
    /// Close the connection without answering or forwarding.
    Drop,
    /// Wait this long, then forward.
    Delay(Duration),
}

/// A running proxy; stops when dropped.
pub(crate) struct Proxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// Requests seen, by fault.
    pub(crate) counts: Arc<Mutex<Vec<Fault>>>,
}

impl Proxy {
    /// Proxies to `backend`, applying `script` to the requests in turn (then passing all).
    pub(crate) fn start(backend: SocketAddr, script: Vec<Fault>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Mutex::new(Vec::new()));
        let next = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        {
            let (stop, counts) = (Arc::clone(&stop), Arc::clone(&counts));
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let fault = script.get(i).copied().unwrap_or(Fault::Pass);
                    let counts = Arc::clone(&counts);
                    std::thread::spawn(move || {
                        let _ = serve(conn, backend, fault, &counts);
                    });
                }
            });
        }
        Self { addr, stop, counts }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Reads one HTTP/1.1 message (head, and a body of `Content-Length`).
fn read_message(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut message = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
        let end = line == "\r\n";
        message.extend_from_slice(line.as_bytes());
        if end {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    message.extend_from_slice(&body);
    Ok(message)
}

/// Asks for a fresh connection per request.
fn close_after(message: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(message);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let head: Vec<&str> = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    format!("{}\r\nconnection: close\r\n\r\n{body}", head.join("\r\n")).into_bytes()
}

fn serve(
    conn: TcpStream,
    backend: SocketAddr,
    fault: Fault,
    counts: &Mutex<Vec<Fault>>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let request = read_message(&mut reader)?;
    counts.lock().unwrap_or_else(|e| e.into_inner()).push(fault);
    let mut conn = conn;
    let canned = |status: &str, extra: &str| {
        let body = r#"{"text":"Server is busy","code":9}"#;
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    match fault {
        Fault::Drop => return Ok(()),
        Fault::Unavailable => {
            return conn.write_all(canned("503 Service Unavailable", "").as_bytes());
        }
        Fault::TooMany => {
            return conn
                .write_all(canned("429 Too Many Requests", "retry-after: 1\r\n").as_bytes());
        }
        Fault::Delay(d) => std::thread::sleep(d),
        Fault::Pass => {}
    }
    let mut upstream = TcpStream::connect(backend)?;
    upstream.write_all(&close_after(&request))?;
    let mut reply = Vec::new();
    upstream.read_to_end(&mut reply)?;
    conn.write_all(&reply)
}
