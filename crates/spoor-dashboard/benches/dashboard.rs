//! The dashboard's benchmark (`cargo bench -p spoor-dashboard`): with 10,000,000 events in the
//! embedded engine, how long the largest application's page takes (one client), and how many
//! pages 8 clients get per second. Figures go to `crates/spoor-dashboard/BENCHMARKS.md`.
//!
//! `SPOOR_BENCH_EVENTS` (default 10,000,000) events are generated (`spoor_engine::generate`,
//! the engine benchmark's data set, 90 days up to now) unless `SPOOR_BENCH_DIR` already holds
//! them; `SPOOR_BENCH_PAGES` (default 40) sequential loads; `SPOOR_BENCH_SECS` (default 15)
//! seconds of 8 concurrent clients.
#![allow(
    clippy::print_stdout,
    missing_docs,
    reason = "a benchmark binary reports on stdout"
)]

#[path = "support/http.rs"]
mod http;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http::get;
use spoor::{AsyncRetriever, Window};
use spoor_dashboard::Dashboard;
use spoor_engine::generate::{Generator, Spec};
use spoor_engine::server::{Credentials, Server, ServerOptions};
use spoor_engine::{Engine, EventMeta};
use time::OffsetDateTime;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Fills the engine with the benchmark's events, in batches, as the tracker would write them.
fn fill(engine: &Engine, events: usize) {
    let started = Instant::now();
    let store = engine.store();
    store.create_index("spoor").expect("index");
    store
        .set_props("spoor", spoor_event::props::SETTINGS.iter().copied())
        .expect("props");
    let meta = EventMeta::new("spoor", "bench", "bench");
    let mut batch = Vec::with_capacity(10_000);
    for event in Generator::new(Spec::benchmark(events, OffsetDateTime::now_utc())) {
        let mut line = Vec::with_capacity(200);
        event.encode_line(&mut line);
        batch.push((event.time(), String::from_utf8(line).expect("utf-8")));
        if batch.len() == 10_000 {
            engine
                .append("spoor", &meta, batch.drain(..))
                .expect("append");
        }
    }
    engine
        .append("spoor", &meta, batch.drain(..))
        .expect("append");
    println!(
        "generated {events} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn main() {
    let events = env("SPOOR_BENCH_EVENTS", 10_000_000);
    let pages = env("SPOOR_BENCH_PAGES", 40).max(1);
    let secs = env("SPOOR_BENCH_SECS", 15).max(1);
    let (dir, keep) = match std::env::var("SPOOR_BENCH_DIR") {
        Ok(dir) => (PathBuf::from(dir), true),
        Err(_) => (
            std::env::temp_dir().join(format!("spoor-dashboard-bench-{}", std::process::id())),
            false,
        ),
    };
    let opened = Instant::now();
    let (engine, report) = Engine::open(&dir).expect("engine");
    if report.records == 0 {
        fill(&engine, events);
    } else {
        println!(
            "reopened {} events in {:.1} s",
            report.records,
            opened.elapsed().as_secs_f64()
        );
    }
    let engine = Arc::new(engine);
    let options = ServerOptions::new(Credentials::generate().expect("credentials"))
        .listen("127.0.0.1:0".parse().expect("addr"));
    let running = Server::start(Arc::clone(&engine), options).expect("server");
    let config = running.config().build().expect("config");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let retriever = AsyncRetriever::new(&config).expect("retriever");
    runtime.block_on(retriever.connect()).expect("connect");
    let apps = runtime
        .block_on(retriever.applications(&[], &Window::AllTime))
        .expect("applications");
    let largest = apps
        .iter()
        .max_by_key(|a| a.events)
        .expect("an application");
    println!(
        "largest application: {} ({} of {} events)",
        largest.name,
        largest.events,
        apps.iter().map(|a| a.events).sum::<u64>()
    );
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let dashboard = Arc::new(Dashboard::new(retriever, None));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = runtime.spawn(spoor_dashboard::serve(listener, dashboard, async {
        let _ = stopped.await;
    }));

    let page = format!("/applications/{}", largest.name);
    let variants = [
        ("application page (30 days)", page.clone()),
        ("with an event chosen", format!("{page}?event=page_view")),
        (
            "with a property chosen",
            format!("{page}?event=page_view&property=browser"),
        ),
        ("90 days", format!("{page}?window=90d")),
        ("applications list", "/applications".to_owned()),
    ];
    for (name, path) in &variants {
        let _ = get(addr, path);
        let mut times: Vec<Duration> = (0..pages)
            .map(|_| {
                let (t, status, _) = get(addr, path);
                assert_eq!(status, 200, "{path}");
                t
            })
            .collect();
        times.sort();
        println!(
            "{name:<28} median {:>7.1} ms   p90 {:>7.1} ms",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() * 9 / 10].as_secs_f64() * 1e3
        );
    }

    let done = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (done, served, page) = (Arc::clone(&done), Arc::clone(&served), page.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    let (_, status, _) = get(addr, &page);
                    assert_eq!(status, 200);
                    served.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs as u64));
    done.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().expect("client");
    }
    let rate = served.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    println!("8 concurrent clients, application page: {rate:.1} pages/s");

    let _ = stop.send(());
    let _ = runtime.block_on(serving);
    drop(running);
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
