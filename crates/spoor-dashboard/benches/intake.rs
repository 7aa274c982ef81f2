//! The intake's benchmark (`cargo bench -p spoor-dashboard --bench intake`): how many events a
//! second `POST /api/track` takes in batches of 50 and delivers into the embedded engine, with
//! the dashboard's pages still answering; beside it, the same events sent straight to the
//! engine's HEC (the path `/api/track` ends in), in the same run. Figures go to
//! `crates/spoor-dashboard/BENCHMARKS.md`.
//!
//! Three runs: HEC straight, `/api/track` as fast as the clients can, and `/api/track` paced to
//! 50,000 events a second; the application page is loaded every 250 ms during the last two.
//! `SPOOR_BENCH_SECS` (default 10) seconds of each; `SPOOR_BENCH_CLIENTS` (default 4)
//! clients, each on one kept-alive connection.
#![allow(
    clippy::print_stdout,
    missing_docs,
    reason = "a benchmark binary reports on stdout"
)]

#[path = "support/http.rs"]
mod http;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http::get;
use spoor::{AsyncRetriever, Tracker};
use spoor_dashboard::{Dashboard, TrackOptions};
use spoor_engine::Engine;
use spoor_engine::server::{Credentials, Server, ServerOptions};

const BATCH: usize = 50;
/// The paced run's rate: the target.
const PACED: f64 = 50_000.0;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A kept-alive HTTP/1.1 connection.
struct Conn {
    stream: TcpStream,
    addr: SocketAddr,
    buf: Vec<u8>,
}

impl Conn {
    fn new(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream,
            addr,
            buf: Vec::with_capacity(4096),
        }
    }

    /// POSTs `body` to `path`; the reply's status.
    fn post(&mut self, path: &str, header: &str, body: &[u8]) -> u16 {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\n{header}Content-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        self.stream.write_all(head.as_bytes()).expect("send");
        self.stream.write_all(body).expect("send");
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
        let status = head[9..12].parse().expect("status");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while self.buf.len() < end + length {
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
        status
    }
}

/// The `i`-th event: a page view or a purchase of a shop's user, as a browser would send it.
fn event(i: usize) -> serde_json::Value {
    let user = format!("u{}", i % 10_000);
    if i.is_multiple_of(5) {
        let plan = ["free", "pro", "team"][i % 3];
        let amount = (i % 97) as f64 + 0.99;
        serde_json::json!({"application": "shop", "event": "purchase", "distinct_id": user,
            "properties": {"plan": plan, "amount": amount}})
    } else {
        serde_json::json!({"application": "shop", "event": "pageview", "distinct_id": user,
            "properties": {"path": format!("/p/{}", i % 100), "referrer": "https://search.example/",
                "screen_width": 1920, "screen_height": 1080}})
    }
}

/// `count` events from `first`, as the line spoor stores (for HEC).
fn line(i: usize) -> String {
    let e = event(i);
    let mut line = format!(
        "application=\"{}\" event=\"{}\" distinct_id=\"{}\"",
        e["application"].as_str().unwrap_or_default(),
        e["event"].as_str().unwrap_or_default(),
        e["distinct_id"].as_str().unwrap_or_default()
    );
    for (k, v) in e["properties"].as_object().into_iter().flatten() {
        line.push_str(&format!(" analytics_prop__{k}={v}"));
    }
    line
}

/// Runs `clients` threads posting `bodies` round-robin to `path` for `secs`, as fast as they
/// can or paced to `pace` events a second in all; events taken a second, requests refused,
/// and the time taken.
fn load(
    addr: SocketAddr,
    path: &'static str,
    header: &'static str,
    bodies: &Arc<Vec<Vec<u8>>>,
    (clients, pace): (usize, Option<f64>),
    secs: u64,
) -> (f64, u64, Duration) {
    let done = Arc::new(AtomicBool::new(false));
    let taken = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let (done, taken, refused, bodies) = (
                Arc::clone(&done),
                Arc::clone(&taken),
                Arc::clone(&refused),
                Arc::clone(bodies),
            );
            std::thread::spawn(move || {
                let mut conn = Conn::new(addr);
                let mut i = c;
                let every =
                    pace.map(|p| Duration::from_secs_f64(BATCH as f64 * clients as f64 / p));
                let mut next = Instant::now();
                while !done.load(Ordering::Relaxed) {
                    if let Some(every) = every {
                        next += every;
                        std::thread::sleep(next.saturating_duration_since(Instant::now()));
                    }
                    match conn.post(path, header, &bodies[i % bodies.len()]) {
                        200 | 202 => {
                            taken.fetch_add(BATCH as u64, Ordering::Relaxed);
                        }
                        503 => {
                            refused.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        other => panic!("{path} answered {other}"),
                    }
                    i += clients;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    done.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("client");
    }
    let elapsed = started.elapsed();
    (
        taken.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64(),
        refused.load(Ordering::Relaxed),
        elapsed,
    )
}

fn stored(engine: &Engine) -> u64 {
    engine.index_summary("spoor").map_or(0, |s| s.events)
}

fn main() {
    let secs = env("SPOOR_BENCH_SECS", 10).max(1) as u64;
    let clients = env("SPOOR_BENCH_CLIENTS", 4).max(1);
    let dir = std::env::temp_dir().join(format!("spoor-intake-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (engine, _) = Engine::open(&dir).expect("engine");
    let engine = Arc::new(engine);
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let options = ServerOptions::new(Credentials::generate().expect("credentials"))
        .listen(loopback)
        .hec_listen(loopback);
    let running = Server::start(Arc::clone(&engine), options).expect("server");
    let config = running.config().build().expect("config");
    let setup = Tracker::new(&config, "bench").expect("tracker");
    setup.setup().expect("the index");
    let _ = setup.shutdown(Duration::from_secs(1));

    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..200)
            .map(|b| {
                let batch: Vec<_> = (0..BATCH).map(|i| event(b * BATCH + i)).collect();
                serde_json::to_vec(&batch).expect("json")
            })
            .collect(),
    );
    let envelopes: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..200)
            .map(|b| {
                let mut body = String::new();
                for i in 0..BATCH {
                    body.push_str(
                        &serde_json::json!({"index": "spoor", "sourcetype": "spoor",
                            "event": line(b * BATCH + i)})
                        .to_string(),
                    );
                }
                body.into_bytes()
            })
            .collect(),
    );
    println!(
        "a batch of {BATCH}: {} bytes of JSON to /api/track, {} bytes of HEC envelopes",
        bodies[0].len(),
        envelopes[0].len()
    );

    // The engine's HEC, straight: what the intake's own delivery can reach at most.
    let hec = running.hec_addr().expect("HEC");
    let token = format!(
        "Authorization: Splunk {}\r\n",
        config.hec().expect("an HEC token").token.expose()
    );
    let token: &'static str = Box::leak(token.into_boxed_str());
    let before = stored(&engine);
    let (rate, _, _) = load(
        hec,
        "/services/collector/event",
        token,
        &envelopes,
        (clients, None),
        secs,
    );
    println!(
        "HEC straight, batches of {BATCH}, {clients} clients: {rate:.0} events/s ({} stored)",
        stored(&engine) - before
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let retriever = AsyncRetriever::new(&config).expect("retriever");
    let intake = Tracker::builder(&config, "intake")
        .queue_capacity(200_000)
        .build()
        .expect("tracker");
    let dashboard = Dashboard::new(retriever, None).with_intake(
        intake.clone(),
        TrackOptions {
            rate: 0,
            allow_origin: Vec::new(),
        },
    );
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(loopback))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = runtime.spawn(spoor_dashboard::serve(
        listener,
        Arc::new(dashboard),
        async {
            let _ = stopped.await;
        },
    ));

    for pace in [None, Some(PACED)] {
        // Pages asked for while events come in, one every 250 ms.
        let loading = Arc::new(AtomicBool::new(true));
        let pages = {
            let loading = Arc::clone(&loading);
            std::thread::spawn(move || {
                let mut times = Vec::new();
                while loading.load(Ordering::Relaxed) {
                    let (t, status, _) = get(addr, "/applications/shop?window=24h");
                    assert_eq!(status, 200, "a page during the load");
                    times.push(t);
                    std::thread::sleep(Duration::from_millis(250));
                }
                times
            })
        };
        let before = stored(&engine);
        let (rate, refused, elapsed) = load(addr, "/api/track", "", &bodies, (clients, pace), secs);
        loading.store(false, Ordering::Relaxed);
        let mut times = pages.join().expect("pages");
        let want = (rate * elapsed.as_secs_f64()).round() as u64;
        intake
            .flush(Duration::from_secs(120))
            .expect("the intake delivers");
        let delivered = Instant::now();
        let got = stored(&engine) - before;
        let all = elapsed + delivered.elapsed();
        times.sort();
        let how = pace.map_or_else(
            || "as fast as they can".to_owned(),
            |p| format!("paced to {p:.0} events/s"),
        );
        println!(
            "/api/track, batches of {BATCH}, {clients} clients {how}: {rate:.0} events/s taken ({refused} requests refused as the queue was full)"
        );
        println!(
            "  {got} of {want} events stored; {:.0} events/s from the first request to the last stored",
            got as f64 / all.as_secs_f64()
        );
        if let (Some(median), Some(p90)) =
            (times.get(times.len() / 2), times.get(times.len() * 9 / 10))
        {
            println!(
                "  the application page during the load: median {:.1} ms, p90 {:.1} ms ({} pages)",
                median.as_secs_f64() * 1e3,
                p90.as_secs_f64() * 1e3,
                times.len()
            );
        }
    }
    let _ = intake.shutdown(Duration::from_secs(5));
    let _ = stop.send(());
    let _ = runtime.block_on(serving);
    drop(running);
    let _ = std::fs::remove_dir_all(&dir);
}
