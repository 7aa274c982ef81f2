//! Decoding 100 MB of Splunk JSON output the way the drivers do, side by side with parsing
//! the same bytes as `serde_json::Value`:
//!
//! - an export stream (one JSON object a line), pushed through `ExportDecoder` in 64 KiB
//!   chunks as a driver reads them, against `serde_json`'s stream deserializer;
//! - one results page of the same rows, read with `parse_results`, against
//!   `serde_json::from_slice::<Value>`.
//!
//! Run with `cargo bench -p spoor-splunk`; the figures are in the crate's README.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spoor_proto::search::{ExportDecoder, ExportItem, parse_results};

const SIZE: usize = 100 << 20;
const CHUNK: usize = 64 << 10;

/// One result row as Splunk prints spoor's events.
fn result(n: usize) -> String {
    format!(
        r#"{{"_time":"2026-11-28T12:{:02}:{:02}.000+00:00","application":"shop","event":"{}","distinct_id":"u{}","analytics_prop__browser":"firefox","analytics_prop__plan":"pro","count":"{}"}}"#,
        n / 60 % 60,
        n % 60,
        ["login", "purchase", "logout"][n % 3],
        n % 5000,
        n % 97
    )
}

/// An export stream of at least [`SIZE`] bytes, with the row count.
fn export_stream() -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(SIZE + 512);
    let mut n = 0;
    while out.len() < SIZE {
        out.extend_from_slice(
            format!(r#"{{"preview":false,"offset":{n},"result":{}}}"#, result(n)).as_bytes(),
        );
        out.push(b'\n');
        n += 1;
    }
    (out, n)
}

/// One results page of at least [`SIZE`] bytes, with the row count.
fn results_page() -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(SIZE + 512);
    out.extend_from_slice(br#"{"preview":false,"init_offset":0,"messages":[],"fields":[{"name":"_time"},{"name":"event"}],"results":["#);
    let mut n = 0;
    while out.len() < SIZE {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(result(n).as_bytes());
        n += 1;
    }
    out.extend_from_slice(br#"],"highlighted":{}}"#);
    (out, n)
}

fn export(c: &mut Criterion) {
    let (stream, rows) = export_stream();
    let mut group = c.benchmark_group("export stream 100 MB");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("ExportDecoder (64 KiB chunks)", |b| {
        b.iter(|| {
            let mut decoder = ExportDecoder::new();
            let mut n = 0;
            for chunk in stream.chunks(CHUNK) {
                decoder.push(chunk).unwrap();
                while let Some(item) = decoder.next_item() {
                    n += usize::from(matches!(item.unwrap(), ExportItem::Row(_)));
                }
            }
            decoder.finish();
            while let Some(item) = decoder.next_item() {
                n += usize::from(matches!(item.unwrap(), ExportItem::Row(_)));
            }
            assert_eq!(n, rows);
        });
    });
    group.bench_function("serde_json::Value (stream deserializer)", |b| {
        b.iter(|| {
            let mut values = 0;
            for value in serde_json::Deserializer::from_slice(&stream).into_iter() {
                let value: serde_json::Value = value.unwrap();
                black_box(&value);
                values += 1;
            }
            assert_eq!(values, rows);
        });
    });
    group.finish();
}

fn results(c: &mut Criterion) {
    let (page, rows) = results_page();
    let mut group = c.benchmark_group("results page 100 MB");
    group.throughput(Throughput::Bytes(page.len() as u64));
    group.bench_function("parse_results", |b| {
        b.iter(|| {
            let response = http::Response::new(page.as_slice());
            assert_eq!(parse_results(&response).unwrap().rows.len(), rows);
        });
    });
    group.bench_function("serde_json::Value", |b| {
        b.iter(|| {
            let value: serde_json::Value = serde_json::from_slice(&page).unwrap();
            assert_eq!(value["results"].as_array().unwrap().len(), rows);
        });
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
}

criterion_group! {
    name = benches;
    config = config();
    targets = export, results
}
criterion_main!(benches);
