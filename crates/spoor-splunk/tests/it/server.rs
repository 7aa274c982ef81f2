//! A scripted fake HTTP/1.1 server on loopback: a thread per connection, keep-alive, plain
//! or TLS (a private CA made with rcgen at test time), and replies that can stream a body
//! generated on the fly, drop the connection mid-body, or stall.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A request as the server read it.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Req {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `METHOD /path`.
    pub(crate) fn route(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// A query parameter's value.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

/// How a streamed body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The last chunk, as HTTP says.
    Complete,
    /// The connection is closed before the last chunk.
    Drop,
    /// Nothing more is sent for this long, then the connection is closed.
    Stall(Duration),
}

/// What the server answers.
pub(crate) enum Reply {
    /// A whole body with `Content-Length`.
    Full {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// A chunked body produced as it is sent.
    Stream {
        chunks: Box<dyn Iterator<Item = Vec<u8>> + Send>,
        end: End,
    },
    /// No answer at all for this long, then the connection is closed.
    Silence(Duration),
    /// This reply, then the connection is closed without a word (as a server whose
    /// keep-alive timeout passed does).
    ThenClose(Box<Self>),
}

impl Reply {
    pub(crate) fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self::Full {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub(crate) fn then_close(self) -> Self {
        Self::ThenClose(Box::new(self))
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: &str) -> Self {
        if let Self::Full { headers, .. } = &mut self {
            headers.push((name, value.to_owned()));
        }
        self
    }
}

type Handler = dyn Fn(&Req) -> Reply + Send + Sync;

/// A running server; it lives until the test process ends.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
    /// The PEM of the CA that signed the server's certificate, when it speaks TLS.
    pub(crate) ca_pem: Option<String>,
}

impl Server {
    /// A plain HTTP server.
    pub(crate) fn start(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Self {
        Self::spawn(Arc::new(handler), None)
    }

    /// An HTTPS server with a certificate for 127.0.0.1 from a fresh private CA.
    pub(crate) fn start_tls(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Self {
        let (tls, ca_pem) = tls_config();
        let mut server = Self::spawn(Arc::new(handler), Some(Arc::new(tls)));
        server.ca_pem = Some(ca_pem);
        server
    }

    fn spawn(handler: Arc<Handler>, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (log2, connections2) = (log.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                connections2.fetch_add(1, Ordering::SeqCst);
                let (handler, log, tls) = (handler.clone(), log2.clone(), tls.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_nodelay(true);
                    match tls {
                        None => serve(stream, &*handler, &log),
                        Some(tls) => {
                            let Ok(conn) = rustls::ServerConnection::new(tls) else {
                                return;
                            };
                            serve(rustls::StreamOwned::new(conn, stream), &*handler, &log);
                        }
                    }
                });
            }
        });
        Self {
            addr,
            log,
            connections,
            ca_pem: None,
        }
    }

    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request so far, as `METHOD /path`.
    pub(crate) fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// How many requests went to this route.
    pub(crate) fn count(&self, route: &str) -> usize {
        self.log().iter().filter(|r| *r == route).count()
    }

    /// How many connections were accepted.
    pub(crate) fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Serves requests on one connection until the client closes it.
fn serve<S: Read + Write>(stream: S, handler: &Handler, log: &Mutex<Vec<String>>) {
    let mut stream = BufReader::new(stream);
    while let Some(req) = read_request(&mut stream) {
        log.lock().unwrap().push(req.route());
        let keep_open = write_reply(stream.get_mut(), handler(&req)).is_ok();
        if !keep_open {
            return;
        }
    }
}

fn read_request<S: Read>(stream: &mut BufReader<S>) -> Option<Req> {
    let mut line = String::new();
    if stream.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (path, query) = (path.to_owned(), query.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).ok()?;
    Some(Req {
        method,
        path,
        query,
        headers,
        body,
    })
}

/// Writes a reply; `Err` when the connection must close.
fn write_reply<S: Write>(stream: &mut S, reply: Reply) -> std::io::Result<()> {
    match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            stream.write_all(head.as_bytes())?;
            stream.write_all(&body)?;
            stream.flush()
        }
        Reply::Stream { chunks, end } => {
            stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
            )?;
            for chunk in chunks.filter(|c| !c.is_empty()) {
                stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                stream.write_all(&chunk)?;
                stream.write_all(b"\r\n")?;
            }
            stream.flush()?;
            match end {
                End::Complete => {
                    stream.write_all(b"0\r\n\r\n")?;
                    stream.flush()
                }
                End::Drop => Err(std::io::ErrorKind::ConnectionAborted.into()),
                End::Stall(pause) => {
                    std::thread::sleep(pause);
                    Err(std::io::ErrorKind::TimedOut.into())
                }
            }
        }
        Reply::Silence(pause) => {
            std::thread::sleep(pause);
            Err(std::io::ErrorKind::TimedOut.into())
        }
        Reply::ThenClose(reply) => {
            write_reply(stream, *reply)?;
            Err(std::io::ErrorKind::ConnectionAborted.into())
        }
    }
}

/// A server configuration with a certificate for 127.0.0.1 and `localhost`, signed by a
/// fresh CA; and the CA's PEM.
fn tls_config() -> (rustls::ServerConfig, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "spoor test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);

    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    (config, ca.pem())
}
