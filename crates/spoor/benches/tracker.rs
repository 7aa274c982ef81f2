//! The tracker's benchmark (`cargo bench -p spoor`): end-to-end throughput to spoor's engine
//! over loopback, side by side with the original Python tracker's way (one `receivers/simple`
//! request per event, in the caller's thread), and the latency of `track()` with the backend
//! up and down. Figures go to `crates/spoor/BENCHMARKS.md`.
//!
//! Sizes: `SPOOR_BENCH_EVENTS` (default 500,000) events for throughput and latency,
//! `SPOOR_BENCH_ORIGINAL` (default 3,000) for the original's way; medians of
//! `SPOOR_BENCH_RUNS` (default 3) runs.
#![allow(
    clippy::print_stdout,
    missing_docs,
    reason = "a benchmark binary reports on stdout"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use spoor::Tracker;
use spoor_engine::Engine;
use spoor_engine::server::{Credentials, Running, Server, ServerOptions};
use spoor_proto::rest::SubmitTarget;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

struct Backend {
    running: Running,
    _engine: Arc<Engine>,
    dir: std::path::PathBuf,
}

impl Backend {
    fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("spoor-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (engine, _) = Engine::open(&dir).expect("engine");
        let engine = Arc::new(engine);
        let options = ServerOptions::new(Credentials::generate().expect("credentials"))
            .listen("127.0.0.1:0".parse().expect("addr"));
        let running = Server::start(Arc::clone(&engine), options).expect("server");
        Self {
            running,
            _engine: engine,
            dir,
        }
    }

    fn config(&self, hec: bool) -> spoor_proto::Config {
        let mut builder = self.running.config();
        if !hec {
            let c = self.running.credentials();
            builder = spoor_proto::ConfigBuilder::new();
            builder
                .scheme(spoor_proto::config::Scheme::Http)
                .host(self.running.addr().ip().to_string())
                .port(self.running.addr().port())
                .username(c.username.clone())
                .password(c.password.expose());
        }
        builder.build().expect("config")
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Events per second from the first `track` to the end of the flush.
fn tracker_throughput(backend: &Backend, hec: bool, events: usize) -> f64 {
    let tracker = Tracker::builder(&backend.config(hec), "bench")
        .queue_capacity(events)
        .build()
        .expect("tracker");
    tracker.setup().expect("setup");
    let started = Instant::now();
    for i in 0..events {
        tracker
            .track(
                "purchase",
                Some(&format!("u{}", i % 100_000)),
                [("plan", "pro"), ("coupon", "XMAS")],
            )
            .expect("tracked");
    }
    tracker.flush(Duration::from_secs(600)).expect("flushed");
    let rate = events as f64 / started.elapsed().as_secs_f64();
    assert_eq!(tracker.stats().sent, events as u64);
    rate
}

/// The original tracker's way: one request per event, waited for in the caller's thread.
fn original_throughput(backend: &Backend, events: usize) -> f64 {
    let client = spoor_splunk::blocking::Client::new(&backend.config(false)).expect("client");
    let target = SubmitTarget {
        index: Some("spoor".to_owned()),
        sourcetype: Some("spoor".to_owned()),
        source: None,
        host: None,
    };
    client.login().expect("login");
    let started = Instant::now();
    for i in 0..events {
        let line = format!(
            "2026-11-28T12:00:00.000000 application=\"bench\" event=\"purchase\" distinct_id=\"u{i}\"  analytics_prop__plan=\"pro\" "
        );
        client.submit(&target, [line.as_str()]).expect("submitted");
    }
    events as f64 / started.elapsed().as_secs_f64()
}

/// Each `track()`'s time, sorted.
fn track_latencies(tracker: &Tracker, events: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(events);
    for i in 0..events {
        let started = Instant::now();
        let _ = tracker.track("purchase", Some("u42"), [("plan", "pro"), ("seats", "3")]);
        times.push(started.elapsed());
        if i % 1024 == 0 {
            std::hint::black_box(&times);
        }
    }
    times.sort();
    times
}

fn main() {
    let events = env("SPOOR_BENCH_EVENTS", 500_000);
    let original = env("SPOOR_BENCH_ORIGINAL", 3_000);
    let runs = env("SPOOR_BENCH_RUNS", 3).max(1);
    let backend = Backend::start("tracker");
    Tracker::new(&backend.config(false), "bench")
        .expect("tracker")
        .setup()
        .expect("setup");

    let mut hec = Vec::new();
    let mut simple = Vec::new();
    let mut orig = Vec::new();
    for _ in 0..runs {
        hec.push(tracker_throughput(&backend, true, events));
        simple.push(tracker_throughput(&backend, false, events));
        orig.push(original_throughput(&backend, original));
    }
    let (hec, simple, orig) = (median(hec), median(simple), median(orig));
    println!("tracker throughput, HEC:               {hec:>12.0} events/s");
    println!("tracker throughput, receivers/simple:  {simple:>12.0} events/s");
    println!("original (a request per event):        {orig:>12.0} events/s");
    println!(
        "ratio HEC / original:                  {:>12.0}x",
        hec / orig
    );

    let up = Tracker::builder(&backend.config(true), "bench")
        .queue_capacity(events)
        .build()
        .expect("tracker");
    let up_times = track_latencies(&up, events);
    up.flush(Duration::from_secs(600)).expect("flushed");

    // A backend that is down: nothing listens at the address any more.
    let down_config = backend.config(true);
    drop(backend);
    let down = Tracker::builder(&down_config, "bench")
        .queue_capacity(events)
        .drop_timeout(Duration::from_millis(10))
        .build()
        .expect("tracker");
    let down_times = track_latencies(&down, events);
    for (name, times) in [("backend up", &up_times), ("backend down", &down_times)] {
        println!(
            "track() with {name:<12}: median {:>6} ns, p99 {:>6} ns, max {:>8} ns",
            percentile(times, 0.5).as_nanos(),
            percentile(times, 0.99).as_nanos(),
            times.last().map_or(0, Duration::as_nanos),
        );
    }
}
