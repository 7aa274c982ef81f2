//! `spoor import` into a local engine: `SPOOR_BENCH_LINES` generated lines (default
//! 10,000,000, spoor's own line format) imported `SPOOR_BENCH_RUNS` times (default 3), each
//! into a fresh data folder opened in this process and reached over HEC on loopback exactly as
//! the `spoor` binary does with `--data`; prints each run's events a second and the median,
//! and checks that the engine counts every event once.

#![allow(
    clippy::print_stdout,
    reason = "a benchmark reports on standard output"
)]

use std::io::Write as _;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use spoor_cli::connect::{Backend, ConnectArgs};
use spoor_cli::import::{ImportOptions, InputFormat, Via, import};
use spoor_engine::generate::{Generator, Spec};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let lines = env_or("SPOOR_BENCH_LINES", 10_000_000);
    let runs = env_or("SPOOR_BENCH_RUNS", 3).max(1);
    let jobs = env_or("SPOOR_BENCH_JOBS", 4);
    let dir = std::env::temp_dir().join(format!("spoor-cli-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let input = dir.join("events.log");
    let started = Instant::now();
    let mut bytes = 0;
    {
        let mut file = std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(&input).expect("the input file"),
        );
        let mut line = Vec::with_capacity(512);
        let spec = Spec::benchmark(lines, time::OffsetDateTime::now_utc());
        for event in Generator::new(spec) {
            line.clear();
            event.encode_line(&mut line);
            line.push(b'\n');
            bytes += line.len();
            file.write_all(&line).expect("write the input");
        }
        file.flush().expect("write the input");
    }
    println!(
        "generated {lines} lines ({:.0} MB) in {:.1} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let mut rates = Vec::new();
    for run in 1..=runs {
        let data = dir.join(format!("data-{run}"));
        let args = ConnectArgs {
            data: Some(data.clone()),
            index: spoor::DEFAULT_INDEX.to_owned(),
            ..ConnectArgs::default()
        };
        let backend = Backend::open(&args).expect("the engine opens");
        let options = ImportOptions {
            files: vec![input.clone()],
            format: InputFormat::Auto,
            strict: false,
            restart: true,
            batch_lines: 10_000,
            jobs,
            state_dir: data.join("imports"),
            via: Via::Auto,
        };
        let started = Instant::now();
        let summary = import(
            &backend,
            &options,
            &AtomicBool::new(false),
            |_| {},
            |_, _, _| {},
        )
        .expect("the import");
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(summary.events, lines as u64, "every line imported");
        let counted = spoor_cli::search::query(
            &backend,
            "index=spoor | stats count",
            spoor_cli::search::params(None, None),
        )
        .expect("the count");
        assert_eq!(
            counted.rows[0][0],
            serde_json::json!(lines),
            "the engine counts every event once"
        );
        let rate = lines as f64 / seconds;
        println!("run {run}: {lines} events in {seconds:.2} s: {rate:.0} events/s");
        rates.push(rate);
        backend.close();
        let _ = std::fs::remove_dir_all(&data);
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "median of {runs}: {:.0} events/s ({jobs} requests in flight)",
        rates[rates.len() / 2]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
