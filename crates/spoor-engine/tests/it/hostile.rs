//! Hostile clients (issue 12, findings 5 and 6): connections that drip a body or stall a head,
//! unauthenticated clients announcing huge bodies, floods of connections, and guessed
//! passwords and tokens. Each test holds the server to a limit and checks that an ordinary
//! client is still answered.
//!
//! Clients come from several loopback addresses (`127.0.0.x`: Linux routes all of `127/8` to
//! the loopback device) so that limits per client address can be told from limits in all.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::server_support::{Harness, raw_http};

/// The address ordinary clients come from, apart from the hostile ones.
const OTHER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// The hostile clients' address.
const HOSTILE: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// How long an answer that must come "at once" may take.
const AT_ONCE: Duration = Duration::from_secs(1);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn connect_from(from: Ipv4Addr, addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((from, 0)))?;
    socket.connect(addr).await
}

/// A reply read off a socket.
#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// HEC's code in the body.
    fn hec_code(&self) -> u64 {
        let json: serde_json::Value = serde_json::from_str(&self.body).expect("HEC JSON");
        json["code"].as_u64().expect("a code")
    }
}

/// Reads one reply (its head, then `Content-Length` bytes of body); `None` when the server
/// closed without one.
async fn read_reply(tcp: &mut TcpStream) -> Option<Reply> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let status = head.split(' ').nth(1)?.parse().ok()?;
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                match tcp.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let body = String::from_utf8_lossy(&buf[end + 4..]).into_owned();
            return Some(Reply { status, head, body });
        }
        match tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Sends `bytes` from `from` and waits at most `wait` for the reply.
async fn ask_within(from: Ipv4Addr, addr: SocketAddr, bytes: &[u8], wait: Duration) -> Reply {
    let exchange = async {
        let mut tcp = connect_from(from, addr).await.expect("connect");
        tcp.write_all(bytes).await.expect("send");
        read_reply(&mut tcp).await
    };
    tokio::time::timeout(wait, exchange)
        .await
        .unwrap_or_else(|_| panic!("no reply within {wait:?}"))
        .expect("a reply")
}

async fn ask(from: Ipv4Addr, addr: SocketAddr, bytes: &[u8]) -> Reply {
    ask_within(from, addr, bytes, Duration::from_secs(10)).await
}

/// Whether the server has closed `tcp` (or refused it with a reply and closed), waiting at
/// most `wait`.
async fn closed_within(tcp: &mut TcpStream, wait: Duration) -> bool {
    let drain = async {
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(wait, drain).await.is_ok()
}

/// Whether the server has already closed `tcp` (or written to it): no waiting.
fn closed_now(tcp: &TcpStream) -> bool {
    let mut buf = [0u8; 512];
    !matches!(tcp.try_read(&mut buf), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        spoor_proto::form::base64(format!("{user}:{password}").as_bytes())
    )
}

fn admin_basic(harness: &Harness) -> String {
    let c = harness.running.credentials();
    basic(&c.username, c.password.expose())
}

fn server_info(auth: &str) -> Vec<u8> {
    raw_http(
        "GET",
        "/services/server/info?output_mode=json",
        &[("Authorization", auth)],
        b"",
    )
}

fn login(user: &str, password: &str) -> Vec<u8> {
    let form = format!(
        "username={}&password={}&output_mode=json",
        spoor_proto::form::encode_component(user),
        spoor_proto::form::encode_component(password)
    );
    raw_http("POST", "/services/auth/login", &[], form.as_bytes())
}

/// A request head announcing a body of `length` bytes, none of it sent.
fn head_only(target: &str, auth: Option<&str>, length: u64) -> Vec<u8> {
    let mut head = format!("POST {target} HTTP/1.1\r\nHost: localhost\r\n");
    if let Some(auth) = auth {
        head.push_str(&format!("Authorization: {auth}\r\n"));
    }
    head.push_str(&format!("Content-Length: {length}\r\n\r\n"));
    head.into_bytes()
}

#[test]
fn dripping_bodies_are_cut_off_and_others_still_answered() {
    let harness = Harness::with_limits("hostile-drip", |l| {
        l.body_timeout = Duration::from_secs(1);
        l.min_body_rate = 1024;
        l.max_connections_per_client = 50;
    });
    let addr = harness.addr();
    let token = format!("Splunk {}", harness.hec_token());
    let rest = admin_basic(&harness);
    runtime().block_on(async {
        // 200 connections from one address, each a request whose body comes a byte at a time.
        let head = head_only("/services/collector/raw", Some(&token), 100_000);
        let mut drips = Vec::new();
        for _ in 0..200 {
            let mut tcp = connect_from(HOSTILE, addr).await.expect("connect");
            let _ = tcp.write_all(&head).await;
            drips.push(tcp);
        }
        let started = Instant::now();
        let drip = |drips: &mut Vec<TcpStream>| {
            for tcp in drips.iter() {
                let _ = tcp.try_write(b"x");
            }
        };
        while started.elapsed() < Duration::from_millis(500) {
            drip(&mut drips);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Past the cap for one address, connections are refused at once...
        let refused = drips.iter().filter(|tcp| closed_now(tcp)).count();
        assert!(
            refused >= 150,
            "only {refused} of 200 connections from one address were refused past a cap of 50"
        );
        // ...and another client is answered at once while the rest still drip.
        let reply = ask_within(OTHER, addr, &server_info(&rest), AT_ONCE).await;
        assert_eq!(reply.status, 200, "{}", reply.head);
        while started.elapsed() < Duration::from_secs(3) {
            drip(&mut drips);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Past the body's time limit every dripping connection has been answered and closed.
        let mut open = 0;
        for tcp in &mut drips {
            if !closed_within(tcp, Duration::from_secs(2)).await {
                open += 1;
            }
        }
        assert_eq!(open, 0, "{open} dripping connections still open after 5 s");
    });
}

#[test]
fn a_slow_body_is_answered_408() {
    let harness = Harness::with_limits("hostile-slow", |l| {
        l.body_timeout = Duration::from_secs(1);
        l.min_body_rate = 1024;
    });
    let addr = harness.addr();
    let rest = admin_basic(&harness);
    runtime().block_on(async {
        let mut tcp = connect_from(HOSTILE, addr).await.expect("connect");
        let head = head_only("/services/receivers/simple?index=main", Some(&rest), 1_000);
        tcp.write_all(&head).await.expect("send");
        tcp.write_all(b"a few bytes").await.expect("send");
        let reply = tokio::time::timeout(Duration::from_secs(3), read_reply(&mut tcp))
            .await
            .expect("a reply within 3 s")
            .expect("a reply");
        assert_eq!(reply.status, 408, "{}", reply.head);
        assert!(reply.body.contains("too slowly"), "{}", reply.body);
        assert!(
            closed_within(&mut tcp, AT_ONCE).await,
            "connection left open"
        );
    });
}

#[test]
fn a_stalled_head_and_an_idle_connection_are_closed() {
    let harness = Harness::with_limits("hostile-head", |l| {
        l.head_timeout = Duration::from_secs(1);
    });
    let addr = harness.addr();
    let rest = admin_basic(&harness);
    runtime().block_on(async {
        let mut stalled = connect_from(HOSTILE, addr).await.expect("connect");
        stalled
            .write_all(b"GET /services/server/info HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("send");
        // A kept-alive connection that goes quiet after one request.
        let mut idle = connect_from(HOSTILE, addr).await.expect("connect");
        let keep_alive = format!(
            "GET /services/server/info HTTP/1.1\r\nHost: x\r\nAuthorization: {rest}\r\n\r\n"
        );
        idle.write_all(keep_alive.as_bytes()).await.expect("send");
        let first = read_reply(&mut idle).await.expect("a reply");
        assert_eq!(first.status, 200, "{}", first.head);
        let started = Instant::now();
        assert!(closed_within(&mut stalled, Duration::from_secs(3)).await);
        assert!(closed_within(&mut idle, Duration::from_secs(3)).await);
        assert!(started.elapsed() < Duration::from_secs(3));
    });
}

#[test]
fn connections_past_the_total_cap_are_refused_at_once() {
    let harness = Harness::with_limits("hostile-cap", |l| {
        l.max_connections = 8;
    });
    let addr = harness.addr();
    let rest = admin_basic(&harness);
    runtime().block_on(async {
        let mut held = Vec::new();
        for _ in 0..8 {
            held.push(connect_from(HOSTILE, addr).await.expect("connect"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        // A ninth, from another address, is refused: a 503 or a closed connection, at once.
        let mut ninth = connect_from(OTHER, addr).await.expect("connect");
        let _ = ninth.write_all(&server_info(&rest)).await;
        let refused = tokio::time::timeout(AT_ONCE, read_reply(&mut ninth))
            .await
            .expect("refused at once");
        if let Some(reply) = refused {
            assert_eq!(reply.status, 503, "{}", reply.head);
        }
        // Once the others go, a client is served again.
        drop(held);
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let mut tcp = connect_from(OTHER, addr).await.expect("connect");
            let _ = tcp.write_all(&server_info(&rest)).await;
            match read_reply(&mut tcp).await {
                Some(reply) if reply.status == 200 => break,
                _ if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => panic!("not served again after the others left: {other:?}"),
            }
        }
    });
}

#[test]
fn unauthenticated_bodies_are_refused_before_they_are_read() {
    let harness = Harness::start("hostile-unauth");
    let addr = harness.addr();
    runtime().block_on(async {
        // Stalled ~1 MB HEC bodies with wrong tokens: each answered with none of it sent.
        for i in 0..40 {
            let head = head_only(
                "/services/collector/event",
                Some(&format!("Splunk wrong-{i}")),
                1_000_000,
            );
            let reply = ask_within(HOSTILE, addr, &head, AT_ONCE).await;
            // 403 (invalid token) until the address is throttled, then 503 (busy).
            assert!(matches!(reply.status, 403 | 503), "{}", reply.head);
            if i == 0 {
                assert_eq!(reply.hec_code(), 4, "{}", reply.body);
            }
        }
        // No token at all; a wrong password with Basic; nothing at all on a REST endpoint.
        for (target, auth, status) in [
            ("/services/collector/raw", None, 401),
            (
                "/services/receivers/simple",
                Some(basic("admin", "guess").as_str()),
                401,
            ),
            ("/services/search/jobs", None, 401),
        ] {
            let reply = ask_within(OTHER, addr, &head_only(target, auth, 1_000_000), AT_ONCE).await;
            assert_eq!(reply.status, status, "{target}: {}", reply.head);
        }
        // A login carries its credentials in its body: that body is held small, and refused
        // before reading when it says it is larger.
        let reply = ask_within(
            OTHER,
            addr,
            &head_only("/services/auth/login", None, 10_000_000),
            AT_ONCE,
        )
        .await;
        assert_eq!(reply.status, 413, "{}", reply.head);
    });
}

#[test]
fn a_client_that_writes_its_whole_body_first_still_reads_the_refusal() {
    // A body larger than what the sockets' buffers hold between the two ends.
    let size = 30_000_000;
    let harness = Harness::with_limits("hostile-linger", |l| l.max_hec_body_bytes = size);
    let addr = harness.addr();
    runtime().block_on(async {
        // As a blocking client does: the whole body out before reading a byte. The refusal
        // comes at once; what follows is read and thrown away, so the writes succeed.
        let body = vec![b' '; size];
        let request = raw_http(
            "POST",
            "/services/collector/event",
            &[("Authorization", "Splunk not-a-token")],
            &body,
        );
        let mut tcp = connect_from(HOSTILE, addr).await.expect("connect");
        tokio::time::timeout(Duration::from_secs(5), tcp.write_all(&request))
            .await
            .expect("written within 5 s")
            .expect("the whole body written");
        let reply = tokio::time::timeout(AT_ONCE, read_reply(&mut tcp))
            .await
            .expect("a reply")
            .expect("a reply");
        assert_eq!((reply.status, reply.hec_code()), (403, 4), "{}", reply.body);
    });
}

#[test]
fn bodies_past_the_limit_are_refused_at_once() {
    let harness = Harness::with_limits("hostile-large", |l| {
        l.max_hec_body_bytes = 1_000;
    });
    let addr = harness.addr();
    let token = format!("Splunk {}", harness.hec_token());
    let rest = admin_basic(&harness);
    runtime().block_on(async {
        for (target, auth) in [
            ("/services/collector/event", &token),
            ("/services/collector/raw", &token),
            ("/services/receivers/simple", &rest),
            ("/services/search/jobs", &rest),
        ] {
            let head = head_only(target, Some(auth), 1_000_000_000_000);
            let reply = ask_within(HOSTILE, addr, &head, AT_ONCE).await;
            assert_eq!(reply.status, 413, "{target}: {}", reply.head);
        }
        // A chunked body is refused as soon as it passes the limit, not at its end.
        let mut tcp = connect_from(HOSTILE, addr).await.expect("connect");
        let head = format!(
            "POST /services/collector/raw HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n\
             Transfer-Encoding: chunked\r\n\r\n"
        );
        tcp.write_all(head.as_bytes()).await.expect("send");
        for _ in 0..3 {
            let chunk = format!("{:x}\r\n{}\r\n", 600, "y".repeat(600));
            tcp.write_all(chunk.as_bytes()).await.expect("send");
        }
        let reply = tokio::time::timeout(AT_ONCE, read_reply(&mut tcp))
            .await
            .expect("refused at once")
            .expect("a reply");
        assert_eq!(reply.status, 413, "{}", reply.head);
    });
}

/// A server that locks out after 3 failures within a minute, for 2 seconds.
fn lockout_harness(name: &str) -> Harness {
    Harness::with_limits(name, |l| {
        l.lockout_attempts = 3;
        l.lockout_window = Duration::from_secs(60);
        l.lockout_duration = Duration::from_secs(2);
    })
}

#[test]
fn wrong_passwords_lock_the_user_out() {
    let harness = lockout_harness("hostile-login");
    let addr = harness.addr();
    let creds = harness.running.credentials().clone();
    let (user, password) = (creds.username.as_str(), creds.password.expose());
    runtime().block_on(async {
        for i in 0..3 {
            let reply = ask(HOSTILE, addr, &login(user, &format!("guess-{i}"))).await;
            assert_eq!(reply.status, 401, "{}", reply.head);
            assert!(reply.body.contains("Login failed"), "{}", reply.body);
        }
        // Locked out: the right password is refused, from any address, by login and Basic.
        let started = Instant::now();
        let locked = ask(OTHER, addr, &login(user, password)).await;
        assert_eq!(locked.status, 401, "{}", locked.head);
        assert!(locked.body.contains("locked out"), "{}", locked.body);
        assert!(locked.header("retry-after").is_some(), "{}", locked.head);
        assert!(!locked.body.contains("sessionKey"), "{}", locked.body);
        let by_basic = ask(OTHER, addr, &server_info(&basic(user, password))).await;
        assert_eq!(by_basic.status, 401, "{}", by_basic.head);
        // After the lockout, the right password is taken again.
        tokio::time::sleep(Duration::from_millis(2_200).saturating_sub(started.elapsed())).await;
        let accepted = ask(HOSTILE, addr, &login(user, password)).await;
        assert_eq!(accepted.status, 200, "{}", accepted.body);
        assert!(accepted.body.contains("sessionKey"), "{}", accepted.body);
    });
}

#[test]
fn failures_lock_out_the_client_address() {
    let harness = lockout_harness("hostile-address");
    let addr = harness.addr();
    let creds = harness.running.credentials().clone();
    let (user, password) = (creds.username.as_str(), creds.password.expose());
    runtime().block_on(async {
        // Guesses at users that do not exist lock out the address, not the admin.
        for i in 0..3 {
            let reply = ask(HOSTILE, addr, &login(&format!("user-{i}"), "guess")).await;
            assert_eq!(reply.status, 401, "{}", reply.head);
        }
        let from_there = ask(HOSTILE, addr, &login(user, password)).await;
        assert_eq!(from_there.status, 401, "{}", from_there.body);
        assert!(
            from_there.body.contains("locked out"),
            "{}",
            from_there.body
        );
        let elsewhere = ask(OTHER, addr, &login(user, password)).await;
        assert_eq!(elsewhere.status, 200, "{}", elsewhere.body);
    });
}

#[test]
fn basic_guessing_is_throttled() {
    let harness = lockout_harness("hostile-basic");
    let addr = harness.addr();
    let right = admin_basic(&harness);
    let from = Ipv4Addr::new(127, 0, 0, 3);
    runtime().block_on(async {
        for i in 0..3 {
            let reply = ask(from, addr, &server_info(&basic("guest", &format!("g{i}")))).await;
            assert_eq!(reply.status, 401, "{}", reply.head);
        }
        let locked = ask(from, addr, &server_info(&right)).await;
        assert_eq!(locked.status, 401, "{}", locked.body);
        assert!(locked.body.contains("locked out"), "{}", locked.body);
        let elsewhere = ask(OTHER, addr, &server_info(&right)).await;
        assert_eq!(elsewhere.status, 200, "{}", elsewhere.body);
    });
}

#[test]
fn hec_token_guessing_is_throttled() {
    let harness = lockout_harness("hostile-hec");
    let addr = harness.addr();
    let right = format!("Splunk {}", harness.hec_token());
    let from = Ipv4Addr::new(127, 0, 0, 4);
    let event = |auth: &str| {
        raw_http(
            "POST",
            "/services/collector/event",
            &[("Authorization", auth)],
            br#"{"event":"hello"}"#,
        )
    };
    runtime().block_on(async {
        for i in 0..3 {
            let reply = ask(from, addr, &event(&format!("Splunk guess-{i}"))).await;
            assert_eq!((reply.status, reply.hec_code()), (403, 4), "{}", reply.body);
        }
        // Throttled: even the right token gets HEC's "busy" with a time to come back.
        let started = Instant::now();
        let busy = ask(from, addr, &event(&right)).await;
        assert_eq!((busy.status, busy.hec_code()), (503, 9), "{}", busy.body);
        assert!(busy.header("retry-after").is_some(), "{}", busy.head);
        let elsewhere = ask(OTHER, addr, &event(&right)).await;
        assert_eq!((elsewhere.status, elsewhere.hec_code()), (200, 0));
        tokio::time::sleep(Duration::from_millis(2_200).saturating_sub(started.elapsed())).await;
        let again = ask(from, addr, &event(&right)).await;
        assert_eq!((again.status, again.hec_code()), (200, 0), "{}", again.body);
    });
}
