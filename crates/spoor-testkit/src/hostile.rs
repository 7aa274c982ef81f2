//! Hostile HTTP clients for the servers' robustness tests, written on plain sockets so that they
//! can do what a well-behaved client library refuses to: drip a body a byte at a time, announce
//! a body they never send, hold connections open, guess credentials.
//!
//! Every client here talks only to the address it is given (the tests give loopback ones), is
//! bounded in count and time, and never panics on what the server answers: a refused or closed
//! connection is an answer too ([`Answer::Closed`]).

use std::io::{self, Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The loopback address well-behaved test clients use; hostile ones come from others in
/// `127.0.0.0/8` ([`hostile_source`]), so that a server's per-address limits fall on them.
pub const NORMAL_SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The `n`-th hostile source address: `127.0.0.2`, `127.0.0.3`, … (loopback, on Linux).
pub fn hostile_source(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + n % 250))
}

/// Connects to `addr` from the local address `from` (any port).
///
/// # Errors
///
/// When the socket cannot be made, bound or connected within `limit`.
pub fn connect(from: IpAddr, addr: SocketAddr, limit: Duration) -> io::Result<TcpStream> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.bind(&SocketAddr::new(from, 0).into())?;
    socket.connect_timeout(&addr.into(), limit)?;
    Ok(socket.into())
}

/// What a server answered to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A status line and the body read (up to the cap given).
    Reply {
        /// The HTTP status.
        status: u16,
        /// The head, as text.
        head: String,
        /// The body, cut at the cap.
        body: Vec<u8>,
    },
    /// The connection was refused, reset or closed before a status line.
    Closed,
}

impl Answer {
    /// The status, if there was a reply.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Reply { status, .. } => Some(*status),
            Self::Closed => None,
        }
    }

    /// The body, empty when there was no reply.
    pub fn body(&self) -> &[u8] {
        match self {
            Self::Reply { body, .. } => body,
            Self::Closed => &[],
        }
    }

    /// A header's value (case-insensitive name), if there was a reply with it.
    pub fn header(&self, name: &str) -> Option<&str> {
        let Self::Reply { head, .. } = self else {
            return None;
        };
        head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }
}

/// One request written by hand: method, path, extra header lines, body.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Header lines without the line end (`Authorization: Splunk x`).
    pub headers: Vec<String>,
    /// The body; a `Content-Length` is added unless a header gives one.
    pub body: Vec<u8>,
}

impl Request {
    /// A `GET` of `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: "GET".to_owned(),
            path: path.into(),
            ..Self::default()
        }
    }

    /// A `POST` of `body` to `path`.
    pub fn post(path: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Self {
            method: "POST".to_owned(),
            path: path.into(),
            body: body.into(),
            ..Self::default()
        }
    }

    /// Adds a header line.
    #[must_use]
    pub fn header(mut self, line: impl Into<String>) -> Self {
        self.headers.push(line.into());
        self
    }

    /// The request's head (with `Connection: close`).
    pub fn head(&self, addr: SocketAddr) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\nHost: {addr}\r\n", self.method, self.path);
        for line in &self.headers {
            head.push_str(line);
            head.push_str("\r\n");
        }
        let has_length = self.headers.iter().any(|h| {
            let lower = h.to_ascii_lowercase();
            lower.starts_with("content-length:") || lower.starts_with("transfer-encoding:")
        });
        if !has_length && (self.method != "GET" || !self.body.is_empty()) {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str("Connection: close\r\n\r\n");
        head.into_bytes()
    }
}

/// Sends `request` from `from` and reads the reply (body cut at `cap` bytes), all within
/// `limit`.
pub fn send(
    from: IpAddr,
    addr: SocketAddr,
    request: &Request,
    cap: usize,
    limit: Duration,
) -> Answer {
    let Ok(mut stream) = connect(from, addr, limit) else {
        return Answer::Closed;
    };
    let _ = stream.set_write_timeout(Some(limit));
    let mut bytes = request.head(addr);
    bytes.extend_from_slice(&request.body);
    if stream.write_all(&bytes).is_err() {
        // The server may have answered and closed before taking the whole body.
        return read_answer(&mut stream, cap, limit);
    }
    read_answer(&mut stream, cap, limit)
}

/// Reads a reply from `stream` until it closes, `cap` body bytes are read or `limit` passes.
pub fn read_answer(stream: &mut TcpStream, cap: usize, limit: Duration) -> Answer {
    let deadline = Instant::now() + limit;
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut head_end = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
        if head_end.is_none() {
            head_end = data.windows(4).position(|w| w == b"\r\n\r\n");
        }
        if let Some(end) = head_end {
            let body = data.len() - (end + 4);
            // A reply whose length is known is whole once that many bytes are in: the server
            // may keep the connection open (to drain a refused body) long after.
            let whole = content_length(&data[..end]).is_some_and(|length| body >= length);
            if whole || body >= cap {
                break;
            }
        }
    }
    let Some(end) = head_end.or_else(|| data.windows(4).position(|w| w == b"\r\n\r\n")) else {
        return Answer::Closed;
    };
    let head = String::from_utf8_lossy(&data[..end]).into_owned();
    let Some(status) = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
    else {
        return Answer::Closed;
    };
    let mut body = data[end + 4..].to_vec();
    body.truncate(cap);
    Answer::Reply { status, head, body }
}

/// The `Content-Length` a reply's head gives, if any.
fn content_length(head: &[u8]) -> Option<usize> {
    String::from_utf8_lossy(head)
        .lines()
        .skip(1)
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
}

/// Opens `count` connections from `from` that each send `request`'s head announcing a body of `announced`
/// bytes and then drip one byte every `every`, until `hold` has passed; returns how many of them
/// the server was still holding open at the end (a server that times slow bodies out closes
/// them first).
pub fn drip(
    from: IpAddr,
    addr: SocketAddr,
    request: &Request,
    announced: u64,
    count: usize,
    every: Duration,
    hold: Duration,
) -> usize {
    let mut request = request.clone();
    request.headers.push(format!("Content-Length: {announced}"));
    request.body.clear();
    let head = request.head(addr);
    let mut open: Vec<TcpStream> = (0..count)
        .filter_map(|_| {
            let mut stream = connect(from, addr, Duration::from_secs(2)).ok()?;
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            stream.write_all(&head).ok()?;
            Some(stream)
        })
        .collect();
    let until = Instant::now() + hold;
    while Instant::now() < until && !open.is_empty() {
        std::thread::sleep(every.min(until.saturating_duration_since(Instant::now())));
        open.retain_mut(|stream| stream.write_all(b"x").is_ok() && still_open(stream));
    }
    open.retain_mut(still_open);
    open.len()
}

/// Whether the peer has not closed `stream` (nothing to read yet, or data waiting).
fn still_open(stream: &mut TcpStream) -> bool {
    let _ = stream.set_nonblocking(true);
    let mut byte = [0u8; 1];
    let open = match stream.peek(&mut byte) {
        Ok(0) => false,
        Ok(_) => true,
        Err(err) => err.kind() == io::ErrorKind::WouldBlock,
    };
    let _ = stream.set_nonblocking(false);
    open
}

/// Sends, from `from`, `request`'s head announcing `announced` body bytes, then `sent` bytes of body, then
/// waits up to `limit` for an answer without sending the rest: what a server says to a body it
/// should refuse before reading (a wrong token, a length past its limit).
pub fn stalled_body(
    from: IpAddr,
    addr: SocketAddr,
    request: &Request,
    announced: u64,
    sent: usize,
    limit: Duration,
) -> Answer {
    let mut request = request.clone();
    request.headers.push(format!("Content-Length: {announced}"));
    request.body.clear();
    let Ok(mut stream) = connect(from, addr, limit) else {
        return Answer::Closed;
    };
    let _ = stream.set_write_timeout(Some(limit));
    if stream.write_all(&request.head(addr)).is_err() {
        return Answer::Closed;
    }
    let chunk = vec![b'x'; 64 * 1024];
    let mut left = sent;
    while left > 0 {
        let n = left.min(chunk.len());
        if stream.write_all(&chunk[..n]).is_err() {
            break;
        }
        left -= n;
    }
    read_answer(&mut stream, 64 * 1024, limit)
}

/// The resident memory of process `pid`, in bytes (Linux's `/proc`; `None` elsewhere or when
/// the process is gone).
pub fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The `p`-th percentile (0–100) of `samples`, by nearest rank; `None` when empty.
///
/// ```
/// use std::time::Duration;
/// let ms = |n| Duration::from_millis(n);
/// let samples = [ms(5), ms(1), ms(3), ms(2), ms(4)];
/// assert_eq!(spoor_testkit::hostile::percentile(&samples, 50.0), Some(ms(3)));
/// assert_eq!(spoor_testkit::hostile::percentile(&samples, 100.0), Some(ms(5)));
/// ```
pub fn percentile(samples: &[Duration], p: f64) -> Option<Duration> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "a rank within the slice's length"
    )]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// A small deterministic generator (xorshift), so hostile traffic is random yet repeatable.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "an index below the slice's length"
        )]
        let i = self.below(items.len() as u64) as usize;
        &items[i]
    }
}

/// How long a siege's soak runs: `default` unless `SPOOR_SIEGE_SECS` gives a number of seconds.
pub fn soak_length(default: Duration) -> Duration {
    std::env::var("SPOOR_SIEGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(default, Duration::from_secs)
}

/// What a soak measured: the hostile requests sent, the normal clients' latencies and the
/// server's peak resident memory.
#[derive(Debug, Clone, Default)]
pub struct Soak {
    /// Hostile requests sent (each attack counts one).
    pub hostile: u64,
    /// Each normal call's latency.
    pub latencies: Vec<Duration>,
    /// The largest resident memory sampled, in bytes.
    pub peak_resident: u64,
}

impl Soak {
    /// The `p`-th percentile of the normal calls' latencies (zero when there were none).
    pub fn latency(&self, p: f64) -> Duration {
        percentile(&self.latencies, p).unwrap_or_default()
    }
}

impl std::fmt::Display for Soak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} hostile requests, {} normal calls, p50 {:?}, p99 {:?}, peak resident {} MiB",
            self.hostile,
            self.latencies.len(),
            self.latency(50.0),
            self.latency(99.0),
            self.peak_resident >> 20
        )
    }
}

/// Soaks the server of process `pid` for `length`: `attackers` threads each call `attack` with
/// a generator of their own (seeded from `seed`) until the time is up, while this thread calls
/// `normal` (which pushes the latencies it measured) every `pause` and samples the resident
/// memory. Returns once every attacker has stopped.
pub fn soak(
    pid: u32,
    length: Duration,
    attackers: u64,
    seed: u64,
    attack: impl Fn(&mut Rng) + Sync,
    mut normal: impl FnMut(&mut Vec<Duration>),
    pause: Duration,
) -> Soak {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let stop = AtomicBool::new(false);
    let sent = AtomicU64::new(0);
    let mut report = Soak::default();
    std::thread::scope(|scope| {
        for n in 0..attackers {
            let (stop, sent, attack) = (&stop, &sent, &attack);
            scope.spawn(move || {
                let mut rng = Rng::new(seed.wrapping_add(n));
                while !stop.load(Ordering::Relaxed) {
                    attack(&mut rng);
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        // Stops the attackers however this thread leaves, a failed assertion in `normal` too.
        struct StopOnDrop<'a>(&'a AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _stop = StopOnDrop(&stop);
        let until = Instant::now() + length;
        while Instant::now() < until {
            let resident = resident_bytes(pid).unwrap_or(0);
            report.peak_resident = report.peak_resident.max(resident);
            normal(&mut report.latencies);
            std::thread::sleep(pause);
        }
    });
    report.hostile = sent.into_inner();
    report.peak_resident = report.peak_resident.max(resident_bytes(pid).unwrap_or(0));
    report
}
