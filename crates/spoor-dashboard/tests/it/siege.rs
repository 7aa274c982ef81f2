//! The `spoor-dashboard` binary (with its embedded engine) under siege, in a child process whose
//! address space is capped: the requests of issue 12's finding 1 (windows of thousands of
//! years by the day, decades by the hour, as pages, JSON and CSV), then 30 seconds of random
//! windows and spans, slow and oversized requests from many clients (`SPOOR_SIEGE_SECS` sets
//! another length). The process stays alive, a normal page is served quickly, every answer is
//! bounded, the data does not change, and its resident memory stays under the README's bound.
//!
//! Everything goes to loopback only and stops by itself.

#![allow(clippy::print_stderr, reason = "the soak reports its figures")]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use spoor_testkit::hostile::{self, Request, Rng};

use crate::dashboard_binary;

/// The child's address-space cap: a few GB, far below the 7 GB finding 1 grew to.
const ADDRESS_SPACE_KIB: u64 = 4 << 20;
/// The largest answer the dashboard may give to any of these requests.
const MAX_ANSWER_BYTES: usize = 8 << 20;
/// The resident-memory bound the dashboard's README states with its demo data.
const RESIDENT_BOUND: u64 = 1 << 30;

struct Dashboard {
    child: Child,
    addr: SocketAddr,
    data: std::path::PathBuf,
}

impl Dashboard {
    fn start(name: &str) -> Self {
        Self::start_with(name, &["--demo-events", "20000", "--no-meta"])
    }

    fn start_with(name: &str, args: &[&str]) -> Self {
        let data =
            std::env::temp_dir().join(format!("spoor-dash-siege-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        let mut child = dashboard_binary(&format!("ulimit -v {ADDRESS_SPACE_KIB}"))
            .args(["--data", &data.display().to_string()])
            .args(args)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the dashboard starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let addr = loop {
            let line = lines.next().expect("it prints its URL").expect("utf-8");
            if let Some(rest) = line.strip_prefix("spoor dashboard: http://") {
                break rest
                    .split('/')
                    .next()
                    .expect("address")
                    .parse()
                    .expect("an address");
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self { child, addr, data }
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn get(&self, path: &str) -> hostile::Answer {
        hostile::send(
            hostile::NORMAL_SOURCE,
            self.addr,
            &Request::get(path),
            MAX_ANSWER_BYTES + 1,
            Duration::from_secs(30),
        )
    }

    /// All time's applications, as CSV: what must not change.
    fn totals(&self) -> Vec<u8> {
        let answer = self.get("/applications.csv?window=all");
        assert_eq!(answer.status(), Some(200), "{answer:?}");
        answer.body().to_vec()
    }

    /// Asserts the process lives, a normal page comes within a second, and the totals are
    /// `totals`.
    fn check(&mut self, totals: &[u8], after: &str) {
        assert!(self.alive(), "the dashboard died after {after}");
        let started = Instant::now();
        let answer = self.get("/applications");
        let took = started.elapsed();
        assert_eq!(answer.status(), Some(200), "after {after}: {answer:?}");
        assert!(
            took < Duration::from_secs(1),
            "the page took {took:?} after {after}"
        );
        assert_eq!(self.totals(), totals, "the data after {after}");
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// The first application the dashboard lists.
fn an_application(dashboard: &Dashboard) -> String {
    let csv = String::from_utf8(dashboard.totals()).expect("utf-8");
    let line = csv.lines().nth(1).expect("an application");
    line.split(',')
        .next()
        .expect("a name")
        .trim_matches('"')
        .to_owned()
}

#[test]
#[cfg(target_os = "linux")]
fn the_findings_requests_leave_the_dashboard_alive_and_bounded() {
    let mut dashboard = Dashboard::start("findings");
    let totals = dashboard.totals();
    let app = an_application(&dashboard);
    for query in [
        "from=0001-01-01&to=9999-12-30&span=day",
        "from=2000-01-01&to=2026-12-01&span=hour",
        "from=0000-01-01&to=9999-12-31&span=hour",
        "window=all&span=hour",
    ] {
        for path in [
            format!("/applications/{app}?{query}"),
            format!("/api/application/{app}?{query}"),
            format!("/applications/{app}/events.csv?{query}"),
            format!("/applications?{query}"),
        ] {
            let started = Instant::now();
            let answer = dashboard.get(&path);
            let took = started.elapsed();
            assert!(
                matches!(answer.status(), Some(200 | 400)),
                "{path}: {:?}",
                answer.status()
            );
            assert!(
                answer.body().len() <= MAX_ANSWER_BYTES,
                "{path}: {} bytes",
                answer.body().len()
            );
            assert!(took < Duration::from_secs(10), "{path} took {took:?}");
        }
        dashboard.check(&totals, query);
    }
}

fn random_path(rng: &mut Rng, app: &str) -> String {
    let dates = [
        "0000-01-01",
        "0001-01-01",
        "1970-01-01",
        "2000-02-29",
        "2026-11-01",
        "9999-12-31",
        "2026-13-01",
        "-1",
        "99999-01-01",
    ];
    let spans = [
        "hour", "day", "week", "month", "auto", "second", "", "minute",
    ];
    let windows = ["24h", "7d", "30d", "90d", "all", "custom", "bogus"];
    let query = match rng.below(3) {
        0 => format!(
            "from={}&to={}&span={}",
            rng.pick(&dates),
            rng.pick(&dates),
            rng.pick(&spans)
        ),
        1 => format!("window={}&span={}", rng.pick(&windows), rng.pick(&spans)),
        _ => format!(
            "time_range={}&event_name=view&property=page",
            rng.pick(&spans)
        ),
    };
    match rng.below(4) {
        0 => format!("/applications/{app}?{query}"),
        1 => format!("/api/application/{app}?{query}"),
        2 => format!("/applications/{app}/values.csv?{query}"),
        _ => format!("/applications?{query}"),
    }
}

#[test]
#[cfg(target_os = "linux")]
fn thirty_seconds_of_hostile_traffic_keep_the_dashboard_bounded_and_quick() {
    let mut dashboard = Dashboard::start("soak");
    let totals = dashboard.totals();
    let app = an_application(&dashboard);
    let (addr, pid) = (dashboard.addr, dashboard.child.id());
    let too_big = AtomicU64::new(0);
    let attack = |rng: &mut Rng| {
        let from = hostile::hostile_source(rng.below(16) as u8);
        match rng.below(4) {
            0 => {
                let _ = hostile::drip(
                    from,
                    addr,
                    &Request::post("/applications", Vec::new()),
                    1_000_000,
                    20,
                    Duration::from_millis(300),
                    Duration::from_secs(2),
                );
            }
            1 => {
                let request = Request::post("/applications", Vec::new())
                    .header("Content-Length: 1000000000000");
                let _ = hostile::send(from, addr, &request, 1 << 16, Duration::from_secs(5));
            }
            _ => {
                let answer = hostile::send(
                    from,
                    addr,
                    &Request::get(random_path(rng, &app)),
                    MAX_ANSWER_BYTES + 1,
                    Duration::from_secs(30),
                );
                if answer.body().len() > MAX_ANSWER_BYTES {
                    too_big.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    };
    let soak = hostile::soak(
        pid,
        hostile::soak_length(Duration::from_secs(30)),
        4,
        0xda5b_0000,
        attack,
        |latencies| {
            let started = Instant::now();
            let answer = dashboard.get(&format!("/applications/{app}?window=7d"));
            latencies.push(started.elapsed());
            assert_eq!(answer.status(), Some(200), "a normal page");
        },
        Duration::from_millis(50),
    );
    eprintln!("dashboard soak: {soak}");
    let (p99, peak) = (soak.latency(99.0), soak.peak_resident);
    assert_eq!(too_big.load(Ordering::Relaxed), 0, "every answer bounded");
    assert!(
        p99 < Duration::from_millis(200),
        "normal pages' p99 {p99:?}"
    );
    assert!(peak < RESIDENT_BOUND, "peak resident {peak} bytes");
    dashboard.check(&totals, "the soak");
}

/// Connections are capped per client address: one address holding 200 idle connections gets
/// the first 128, the rest are closed at once, and a page is still served to another address.
#[test]
#[cfg(target_os = "linux")]
fn connections_are_capped_per_client_address() {
    let dashboard = Dashboard::start_with("connections", &["--no-demo", "--no-meta"]);
    let from = hostile::hostile_source(0);
    let streams: Vec<_> = (0..200)
        .filter_map(|_| hostile::connect(from, dashboard.addr, Duration::from_secs(2)).ok())
        .collect();
    // Give the server time to close what it refuses, then look without waiting.
    std::thread::sleep(Duration::from_millis(500));
    let mut held = Vec::new();
    let mut closed = 200 - streams.len();
    for stream in streams {
        stream.set_nonblocking(true).expect("non-blocking");
        let mut byte = [0u8; 1];
        match stream.peek(&mut byte) {
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => held.push(stream),
            _ => closed += 1,
        }
    }
    assert_eq!(held.len(), 128, "the first 128 are kept");
    assert_eq!(closed, 72, "the rest are closed at once");
    let started = Instant::now();
    let answer = dashboard.get("/healthz");
    assert!(
        answer.status().is_some(),
        "another address is served: {answer:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}
