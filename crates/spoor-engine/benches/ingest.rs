//! Durable ingest over HTTP, the client outside the engine's process:
//! `cargo bench -p spoor-engine --bench ingest`.
//!
//! Starts the `spoor-engine` binary on free loopback ports over a temporary data folder, then
//! sends it the benchmark's generated events from this process, in three runs over fresh
//! indexes:
//!
//! 1. HEC (`services/collector/event`), batches of 1,000 envelopes, several clients each on one
//!    kept-alive connection;
//! 2. `receivers/simple`, batches of 1,000 lines, the same way;
//! 3. `receivers/stream`, long requests of 100,000 lines (about 19 MB, under the REST API's
//!    64 MiB limit of a body), the same way.
//!
//! Every request is built before the clock starts, so the figure is the engine's: events a
//! second until the last acknowledgement (each answered only once durable). After each run the
//! index's `totalEventCount` must equal the events sent, and the next run starts once the
//! run's segments are all sealed (how long after its last acknowledgement is reported), so
//! that no run is charged for another's sealing. `SPOOR_BENCH_EVENTS` (default
//! 2,000,000) events a run, `SPOOR_BENCH_CLIENTS` (default 4) clients. `SPOOR_BENCH_PATHS`
//! (default `hec,simple,stream`) picks the runs, in its order, and `SPOOR_BENCH_ENGINE` another
//! build of the binary, to compare two builds in the same minutes. Figures go to
//! `BENCHMARKS.md`.

#![allow(
    clippy::print_stdout,
    reason = "a benchmark reports on standard output"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark reads its settings from the environment"
)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use spoor_engine::generate::{Generator, Spec};
use spoor_event::HecMeta;
use time::macros::datetime;

mod common;
use common::all_sealed;

const TOKEN: &str = "bench-rest-token";
const HEC_TOKEN: &str = "0badc0de-0000-4000-8000-00000000bench";
const BATCH: usize = 1_000;
/// Lines a `receivers/stream` request carries (about 19 MB).
const STREAMED: usize = 100_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The engine binary, and where its REST API and HEC listen.
struct Engine {
    child: Child,
    rest: String,
    hec: String,
}

impl Engine {
    fn start(data: &std::path::Path) -> Self {
        let binary = std::env::var_os("SPOOR_BENCH_ENGINE")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_spoor-engine").into());
        let mut child = Command::new(binary)
            .args(["--data", &data.display().to_string()])
            .args(["--listen", "127.0.0.1:0", "--hec-listen", "127.0.0.1:0"])
            .env("SPOOR_ENGINE_PASSWORD", "bench-password-1")
            .env("SPOOR_ENGINE_TOKEN", TOKEN)
            .env("SPOOR_ENGINE_HEC_TOKEN", HEC_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the spoor-engine binary starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut rest = None;
        let mut hec = None;
        while rest.is_none() || hec.is_none() {
            let line = lines
                .next()
                .expect("the binary says where it listens")
                .expect("utf-8");
            if let Some(at) = line.strip_prefix("spoor-engine listening on http://") {
                rest = Some(at.trim().to_owned());
            } else if let Some(at) = line.strip_prefix("HEC on http://") {
                hec = Some(at.trim().trim_end_matches("/services/collector").to_owned());
            }
        }
        Self {
            child,
            rest: rest.expect("REST address"),
            hec: hec.expect("HEC address"),
        }
    }

    /// One request to the REST API; the reply's body.
    fn rest(&self, method: &str, target: &str, body: &str) -> String {
        let mut stream = TcpStream::connect(&self.rest).expect("connects");
        let request = request(method, target, &format!("Bearer {TOKEN}"), body.as_bytes());
        stream.write_all(&request).expect("sends");
        let (status, body) = response(&mut BufReader::new(&mut stream));
        assert!(status < 300, "{method} {target}: {status} {body}");
        body
    }

    fn total_events(&self, index: &str) -> u64 {
        let body = self.rest(
            "GET",
            &format!("/services/data/indexes/{index}?output_mode=json"),
            "",
        );
        let json: serde_json::Value = serde_json::from_str(&body).expect("json");
        let count = &json["entry"][0]["content"]["totalEventCount"];
        count
            .as_u64()
            .or_else(|| count.as_str()?.parse().ok())
            .expect("totalEventCount")
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP/1.1 request, kept alive.
fn request(method: &str, target: &str, authorization: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {authorization}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Reads one response: its status and body (`Content-Length` framed, as the engine answers).
fn response(reader: &mut impl BufRead) -> (u16, String) {
    let mut status = 0;
    let mut length = 0;
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).expect("reads the head");
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some(rest) = trimmed.strip_prefix("HTTP/1.1 ") {
            status = rest[..3].parse().expect("status");
        } else if let Some((name, value)) = trimmed.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().expect("length");
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("reads the body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The user and system CPU seconds process `pid` has used (Linux; `None` elsewhere), from
/// `/proc/<pid>/stat` in clock ticks of 1/100 s. The system time tells the engine's own work
/// from the kernel's: on a virtual machine that hands freed memory back to its host, each page
/// written for the first time since can cost the kernel several microseconds.
fn cpu_seconds(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command's name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    // utime and stime are the 14th and 15th fields; the state, the 3rd, is fields[0].
    Some((ticks(11)? / 100.0, ticks(12)? / 100.0))
}

/// Sends each client's requests on one connection, in turn, and waits for every answer;
/// returns the seconds from the first byte sent to the last answer read.
fn send_all(addr: &str, per_client: Vec<Vec<Vec<u8>>>) -> f64 {
    let streams: Vec<TcpStream> = per_client
        .iter()
        .map(|_| {
            let stream = TcpStream::connect(addr).expect("connects");
            stream.set_nodelay(true).expect("nodelay");
            stream
        })
        .collect();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for (stream, requests) in streams.into_iter().zip(&per_client) {
            scope.spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut stream = stream;
                for request in requests {
                    stream.write_all(request).expect("sends");
                    let (status, body) = response(&mut reader);
                    assert_eq!(status, 200, "{body}");
                }
            });
        }
    });
    start.elapsed().as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let events = env("SPOOR_BENCH_EVENTS", 2_000_000);
    let clients = env("SPOOR_BENCH_CLIENTS", 4).max(1);
    let dir = std::env::temp_dir().join(format!("spoor-ingest-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let engine = Engine::start(&dir);
    println!(
        "spoor-engine (pid {}) on {}, HEC on {}; {events} events a run, {clients} clients",
        engine.child.id(),
        engine.rest,
        engine.hec
    );
    let generated: Vec<_> =
        Generator::new(Spec::benchmark(events, datetime!(2026-11-28 0:00 UTC))).collect();
    let raw_bytes: usize = generated
        .iter()
        .map(|e| {
            let mut line = Vec::new();
            e.encode_line(&mut line);
            line.len() + 1
        })
        .sum();

    let paths = std::env::var("SPOOR_BENCH_PATHS").unwrap_or_else(|_| "hec,simple,stream".into());
    let runs = paths.split(',').map(|path| match path.trim() {
        "hec" => ("HEC, batches of 1,000", "hec"),
        "simple" => ("receivers/simple, batches of 1,000", "simple"),
        "stream" => ("receivers/stream, 100,000 lines a request", "stream"),
        other => panic!("SPOOR_BENCH_PATHS: no path {other:?} (hec, simple, stream)"),
    });
    let mut results = Vec::new();
    for (run, index) in runs {
        engine.rest("POST", "/services/data/indexes", &format!("name={index}"));
        // Each client its share of the batches, every request built before the clock starts.
        let mut per_client: Vec<Vec<Vec<u8>>> = vec![Vec::new(); clients];
        let mut body = Vec::new();
        let addr;
        if index == "stream" {
            addr = engine.rest.clone();
            // Long requests, each under the REST API's 64 MiB limit of a body.
            for (i, part) in generated.chunks(STREAMED).enumerate() {
                body.clear();
                spoor_event::encode_lines(part, &mut body);
                body.push(b'\n');
                let target = format!(
                    "/services/receivers/stream?index={index}&sourcetype=spoor&source=bench&host=bench"
                );
                per_client[i % clients].push(request(
                    "POST",
                    &target,
                    &format!("Bearer {TOKEN}"),
                    &body,
                ));
            }
        } else {
            for (i, batch) in generated.chunks(BATCH).enumerate() {
                body.clear();
                let (target, auth) = if index == "hec" {
                    let meta = HecMeta::new()
                        .index(index)
                        .sourcetype("spoor")
                        .source("bench")
                        .host("bench");
                    for event in batch {
                        event.encode_hec(&meta, &mut body);
                    }
                    (
                        "/services/collector/event".to_owned(),
                        format!("Splunk {HEC_TOKEN}"),
                    )
                } else {
                    spoor_event::encode_lines(batch, &mut body);
                    (
                        format!(
                            "/services/receivers/simple?index={index}&sourcetype=spoor&source=bench&host=bench"
                        ),
                        format!("Bearer {TOKEN}"),
                    )
                };
                per_client[i % clients].push(request("POST", &target, &auth, &body));
            }
            addr = if index == "hec" {
                engine.hec.clone()
            } else {
                engine.rest.clone()
            };
        }
        let bytes: usize = per_client.iter().flatten().map(Vec::len).sum();
        let cpu_before = cpu_seconds(engine.child.id());
        let secs = send_all(&addr, per_client);
        let acknowledged = Instant::now();
        let cpu = cpu_seconds(engine.child.id())
            .zip(cpu_before)
            .map(|((user, system), (user0, system0))| (user - user0, system - system0));
        // Every acknowledged event is searchable: the index holds them all.
        let deadline = Instant::now() + Duration::from_secs(30);
        while engine.total_events(index) < events as u64 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(engine.total_events(index), events as u64, "{run}");
        let rate = events as f64 / secs;
        println!(
            "{run}: {rate:.0} events/s ({secs:.2} s, {:.0} MB/s of requests)",
            bytes as f64 / secs / 1e6
        );
        if let Some((user, system)) = cpu {
            println!(
                "  engine CPU while sending: user {user:.2} s, system {system:.2} s \
                 ({:.2} µs user, {:.2} µs system an event)",
                user * 1e6 / events as f64,
                system * 1e6 / events as f64
            );
        }
        // The run's segments are sealed in the background, partly while it runs: the next run
        // starts once they all are, so that it is not charged for this one's sealing.
        while !all_sealed(&dir.join("indexes").join(index)) {
            assert!(
                acknowledged.elapsed() < Duration::from_secs(300),
                "{run}: sealing never ended"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        println!(
            "  every segment sealed {:.1} s after the last acknowledgement (an idle one is \
             closed after 5 s)",
            acknowledged.elapsed().as_secs_f64()
        );
        results.push((run, rate));
    }
    println!(
        "\n{events} events a run ({:.0} bytes a line), {clients} clients on kept-alive connections, \
         the engine in its own process",
        raw_bytes as f64 / events as f64
    );
    println!("| path | events/s |\n|---|---|");
    for (run, rate) in results {
        println!("| {run} | {rate:.0} |");
    }
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}
