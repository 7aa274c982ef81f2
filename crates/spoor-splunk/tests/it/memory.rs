//! The export of 1,000,000 rows in constant memory, through both drivers. Each run is a
//! child process (this test binary, filtered to [`child_process_export`]), so the peak RSS
//! it reports is its own and no other test's.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use spoor_proto::search::{ExportItem, SearchParams};

use crate::server::{End, Reply, Server};
use crate::{Blocking, Driver, Tokio, config};

const ROWS: usize = 1_000_000;
const CHILD: &str = "SPOOR_SPLUNK_MEMORY_CHILD";

#[test]
fn export_of_a_million_rows_in_constant_memory() {
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["blocking", "tokio"]
        .into_iter()
        .map(|driver| {
            let child = Command::new(&exe)
                .args(["memory::child_process_export", "--exact", "--nocapture"])
                .env(CHILD, driver)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (driver, child)
        })
        .collect();
    for (driver, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{driver}: {out:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let line = stdout
            .lines()
            .find(|l| l.starts_with("export "))
            .unwrap_or_else(|| panic!("{driver}: no figures in {stdout}"));
        let figure = |name: &str| -> usize {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                .unwrap()
                .parse()
                .unwrap()
        };
        let (rows, bytes, peak) = (figure("rows"), figure("bytes"), figure("peak_rss"));
        assert_eq!(rows, ROWS, "{driver}");
        // The stream is ~80 MB; the whole process, server thread included, stays a fraction.
        assert!(
            peak < bytes / 4 && peak < 32 << 20,
            "{driver}: peak RSS {peak} for a stream of {bytes} bytes"
        );
    }
}

/// Runs one export when [`CHILD`] names a driver; does nothing otherwise.
#[test]
fn child_process_export() {
    let Ok(driver) = std::env::var(CHILD) else {
        return;
    };
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let server = Server::start(move |_| {
        let counter = counter.clone();
        Reply::Stream {
            chunks: Box::new(crate::scenarios::rows(ROWS).inspect(move |c| {
                counter.fetch_add(c.len(), Ordering::Relaxed);
            })),
            end: End::Complete,
        }
    });
    let config = config(server.port()).token("t").build().unwrap();
    let rows = match driver.as_str() {
        "blocking" => count(&Blocking::new(&config).unwrap()),
        _ => count(&Tokio::new(&config).unwrap()),
    };
    let bytes = sent.load(Ordering::Relaxed);
    #[allow(clippy::print_stdout)] // the figures for the parent process
    {
        println!("export rows={rows} bytes={bytes} peak_rss={}", peak_rss());
    }
}

fn count<D: Driver>(client: &D) -> usize {
    let mut rows = 0;
    client
        .export("search index=spoor", &SearchParams::default(), |item| {
            rows += usize::from(matches!(item, ExportItem::Row(_)));
        })
        .unwrap();
    rows
}

/// The peak resident set size of this process, in bytes (`VmHWM`).
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}
