//! spoor-event's speed, side by side with serde_json on the same data in the same run.
//!
//! - `encode/*`: one typical event (5 properties) into a reused buffer: spoor's raw line and HEC
//!   envelope, and serde_json writing the same data as a JSON object (given the timestamp already
//!   formatted, which spoor's encoders do themselves).
//! - `extract/*`: 100,000 typical lines through Splunk's `auto_escaped` extraction, and the same
//!   events as JSON lines through serde_json, in bytes per second.
//!
//! Run with `cargo bench -p spoor-event`; figures are in the crate's README.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use spoor_event::extract::Extractor;
use spoor_event::{Event, HecMeta, Value};
use time::OffsetDateTime;
use time::macros::datetime;

/// The same event as serde sees it.
#[derive(Serialize)]
struct JsonEvent<'a> {
    time: &'a str,
    application: &'a str,
    event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    distinct_id: Option<&'a str>,
    properties: JsonProperties<'a>,
}

struct JsonProperties<'a>(&'a [(spoor_event::Key, Value)]);

impl Serialize for JsonProperties<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            match value {
                Value::String(s) => map.serialize_entry(key.as_str(), s)?,
                Value::Int(n) => map.serialize_entry(key.as_str(), n)?,
                Value::Float(x) => map.serialize_entry(key.as_str(), x)?,
                Value::Bool(b) => map.serialize_entry(key.as_str(), b)?,
            }
        }
        map.end()
    }
}

fn json_event<'a>(event: &'a Event, time: &'a str) -> JsonEvent<'a> {
    JsonEvent {
        time,
        application: event.application(),
        event: event.name(),
        distinct_id: event.distinct_id(),
        properties: JsonProperties(event.properties()),
    }
}

/// A small deterministic generator, so every run measures the same corpus.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

const EVENTS: [&str; 6] = [
    "login",
    "logout",
    "purchase",
    "page_view",
    "search",
    "signup",
];
const BROWSERS: [&str; 4] = ["firefox", "chrome", "safari", "edge"];
const PLANS: [&str; 3] = ["free", "pro", "enterprise"];

/// A typical event: 5 properties of the usual kinds.
fn typical(rng: &mut Lcg, time: OffsetDateTime) -> Event {
    Event::builder(
        "shop",
        EVENTS[rng.next(6) as usize],
        time + time::Duration::microseconds(rng.next(86_400_000_000) as i64),
    )
    .distinct_id(format!("user-{}", rng.next(100_000)))
    .property("browser", BROWSERS[rng.next(4) as usize])
    .property("plan", PLANS[rng.next(3) as usize])
    .property("path", format!("/products/{}?ref=home", rng.next(5_000)))
    .property("items", rng.next(20) as i64)
    .property("total", rng.next(100_000) as f64 / 100.0)
    .build()
    .expect("valid")
}

fn encode(c: &mut Criterion) {
    let event = typical(&mut Lcg(7), datetime!(2026-11-28 00:00 UTC));
    let stamp = {
        let mut line = Vec::new();
        event.encode_line(&mut line);
        String::from_utf8(line[..27].to_vec()).expect("UTF-8")
    };
    let meta = HecMeta::new().index("spoor").sourcetype("spoor");

    let mut group = c.benchmark_group("encode");
    let mut buf = Vec::with_capacity(1024);
    group.bench_function("spoor_line", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&event).encode_line(&mut buf);
            black_box(buf.len())
        });
    });
    group.bench_function("spoor_hec", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&event).encode_hec(&meta, &mut buf);
            black_box(buf.len())
        });
    });
    group.bench_function("serde_json_object", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, &json_event(black_box(&event), &stamp))
                .expect("writes");
            black_box(buf.len())
        });
    });
    group.finish();
}

fn extract(c: &mut Criterion) {
    let mut rng = Lcg(42);
    let start = datetime!(2026-11-28 00:00 UTC);
    let events: Vec<Event> = (0..100_000).map(|_| typical(&mut rng, start)).collect();
    let mut lines = Vec::new();
    spoor_event::encode_lines(&events, &mut lines);
    let lines = String::from_utf8(lines).expect("UTF-8");
    let mut json = Vec::new();
    for event in &events {
        let mut line = Vec::new();
        event.encode_line(&mut line);
        let stamp = std::str::from_utf8(&line[..27]).expect("UTF-8");
        serde_json::to_writer(&mut json, &json_event(event, stamp)).expect("writes");
        json.push(b'\n');
    }
    let json = String::from_utf8(json).expect("UTF-8");

    let mut group = c.benchmark_group("extract");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(lines.len() as u64));
    group.bench_function("spoor_auto_escaped_100k_lines", |b| {
        let extractor = Extractor::spoor();
        b.iter(|| {
            let mut fields = 0usize;
            for line in black_box(&lines).lines() {
                fields += extractor.fields(line).count();
            }
            // application, event, distinct_id and 5 properties.
            assert_eq!(fields, 800_000);
            fields
        });
    });
    group.bench_function("spoor_decode_100k_lines", |b| {
        b.iter(|| {
            for line in black_box(&lines).lines() {
                black_box(Event::decode_line(line).expect("decodes"));
            }
        });
    });
    group.throughput(Throughput::Bytes(json.len() as u64));
    group.bench_function("serde_json_value_100k_lines", |b| {
        b.iter(|| {
            for line in black_box(&json).lines() {
                black_box(serde_json::from_str::<serde_json::Value>(line).expect("parses"));
            }
        });
    });
    group.finish();
}

criterion_group!(benches, encode, extract);
criterion_main!(benches);
