//! What the dashboard's benchmarks share: one GET over a fresh connection, timed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// One GET over a fresh connection; the time to the whole body, and the status.
pub(crate) fn get(addr: SocketAddr, path: &str) -> (Duration, u16, usize) {
    let started = Instant::now();
    let mut tcp = TcpStream::connect(addr).expect("connect");
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut reply = Vec::new();
    tcp.read_to_end(&mut reply).expect("read");
    let status = std::str::from_utf8(&reply[9..12])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (started.elapsed(), status, reply.len())
}
