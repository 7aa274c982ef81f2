//! Random damage to random segments (bytes flipped, ranges zeroed, ranges duplicated over other
//! bytes or into the file, files truncated): every record whose bytes the damage does not touch
//! comes back exactly once, nothing comes back that was not written or comes back twice, and
//! opening the folder again reads the same and copies nothing more.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::sync::Mutex;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use spoor_engine::{DamageKind, EventMeta, Location, OpenReport, Record, Store, StoreOptions};
use time::OffsetDateTime;

use crate::segments::{quarantined, segments};
use crate::support::TempDir;

/// Small segments, so a few dozen records fill several.
const SEGMENT_BYTES: u64 = 1024;
/// Text to make events of different lengths from.
const FILL: &str = "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij\
                    abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij";

#[derive(Debug, Clone)]
enum Hurt {
    Flip {
        segment: Index,
        at: Index,
        bits: u8,
    },
    Zero {
        segment: Index,
        at: Index,
        len: usize,
    },
    /// Bytes of a segment (maybe another) written over others.
    CopyOver {
        from: (Index, Index),
        len: usize,
        to: (Index, Index),
    },
    /// Bytes of a segment (maybe another) inserted into one.
    CopyInto {
        from: (Index, Index),
        len: usize,
        to: (Index, Index),
    },
    Truncate {
        segment: Index,
        at: Index,
    },
}

fn hurt() -> impl Strategy<Value = Hurt> {
    let place = || (any::<Index>(), any::<Index>());
    prop_oneof![
        (any::<Index>(), any::<Index>(), 1..=255u8).prop_map(|(segment, at, bits)| Hurt::Flip {
            segment,
            at,
            bits
        }),
        (any::<Index>(), any::<Index>(), 1..200usize).prop_map(|(segment, at, len)| Hurt::Zero {
            segment,
            at,
            len
        }),
        (place(), 1..400usize, place()).prop_map(|(from, len, to)| Hurt::CopyOver {
            from,
            len,
            to
        }),
        (place(), 1..400usize, place()).prop_map(|(from, len, to)| Hurt::CopyInto {
            from,
            len,
            to
        }),
        (any::<Index>(), any::<Index>()).prop_map(|(segment, at)| Hurt::Truncate { segment, at }),
    ]
}

/// A segment's bytes, and for each the offset it had when written (`None` once changed).
struct Model {
    bytes: Vec<u8>,
    origin: Vec<Option<u64>>,
}

impl Model {
    fn new(bytes: Vec<u8>) -> Self {
        let origin = (0..bytes.len() as u64).map(Some).collect();
        Self { bytes, origin }
    }

    /// Whether the bytes written at `start..end` are all still there, in one piece.
    fn intact(&self, start: u64, end: u64) -> bool {
        let Some(at) = self.origin.iter().position(|&o| o == Some(start)) else {
            return false;
        };
        (start..end).enumerate().all(|(i, o)| {
            self.origin
                .get(at + i)
                .is_some_and(|&origin| origin == Some(o))
        })
    }
}

fn apply(models: &mut [Model], hurt: &Hurt) {
    let n = models.len();
    let source = |models: &[Model], (segment, at): &(Index, Index), len: usize| {
        let model = &models[segment.index(n)];
        if model.bytes.is_empty() {
            return Vec::new();
        }
        let start = at.index(model.bytes.len());
        model.bytes[start..(start + len).min(model.bytes.len())].to_vec()
    };
    match hurt {
        Hurt::Flip { segment, at, bits } => {
            let model = &mut models[segment.index(n)];
            if !model.bytes.is_empty() {
                let at = at.index(model.bytes.len());
                model.bytes[at] ^= bits;
                model.origin[at] = None;
            }
        }
        Hurt::Zero { segment, at, len } => {
            let model = &mut models[segment.index(n)];
            if !model.bytes.is_empty() {
                let start = at.index(model.bytes.len());
                let end = (start + len).min(model.bytes.len());
                model.bytes[start..end].fill(0);
                model.origin[start..end].fill(None);
            }
        }
        Hurt::CopyOver { from, len, to } => {
            let copied = source(models, from, *len);
            let model = &mut models[to.0.index(n)];
            if !model.bytes.is_empty() {
                let start = to.1.index(model.bytes.len());
                let end = (start + copied.len()).min(model.bytes.len());
                model.bytes[start..end].copy_from_slice(&copied[..end - start]);
                model.origin[start..end].fill(None);
            }
        }
        Hurt::CopyInto { from, len, to } => {
            let copied = source(models, from, *len);
            let model = &mut models[to.0.index(n)];
            let at = to.1.index(model.bytes.len() + 1);
            model.origin.splice(at..at, copied.iter().map(|_| None));
            model.bytes.splice(at..at, copied);
        }
        Hurt::Truncate { segment, at } => {
            let model = &mut models[segment.index(n)];
            let at = at.index(model.bytes.len() + 1);
            model.bytes.truncate(at);
            model.origin.truncate(at);
        }
    }
}

fn meta() -> EventMeta {
    EventMeta::new("test", "damage", "localhost")
}

fn options() -> StoreOptions {
    // The logs themselves are damaged here: sealing would replace them.
    StoreOptions::default()
        .segment_bytes(SEGMENT_BYTES)
        .seal(false)
}

/// Opens the store, replaying in two parts, as the engine does.
fn open(dir: &TempDir) -> (Store, Vec<(Location, Record)>, OpenReport) {
    let parts: [Mutex<Vec<(Location, Record)>>; 2] = Default::default();
    let (store, report) = Store::open_in_parts(dir.path(), &options(), 2, |part, at, record| {
        parts[part]
            .lock()
            .expect("lock")
            .push((at, record.to_record()));
    })
    .expect("opens");
    let records = parts
        .into_iter()
        .flat_map(|part| part.into_inner().expect("lock"))
        .collect();
    (store, records, report)
}

fn raws(records: &[(Location, Record)]) -> Vec<&str> {
    records.iter().map(|(_, r)| r.raw.as_str()).collect()
}

proptest! {
    #![proptest_config(spoor_testkit::proptest_config_with_cases(32))]

    #[test]
    fn damage_costs_only_the_records_it_touches(
        batches in vec(vec(0..120usize, 1..8), 3..14),
        hurts in vec(hurt(), 1..5),
    ) {
        let dir = TempDir::new("damage");
        let (store, _) = Store::open_with(dir.path(), &options(), |_, _| {}).expect("opens");
        let at = OffsetDateTime::UNIX_EPOCH;
        let mut written: Vec<(Location, Record)> = Vec::new();
        for batch in &batches {
            let base = written.len();
            let events: Vec<(OffsetDateTime, String)> = batch
                .iter()
                .enumerate()
                .map(|(i, &len)| (at, format!("r{}-{}", base + i, &FILL[..len])))
                .collect();
            written.extend(store.append("main", &meta(), events).expect("stores"));
        }
        drop(store);

        // Each record's bytes: from its offset to the next record's, or the segment's end.
        let files = segments(dir.path(), "main");
        let mut models: Vec<Model> = files
            .iter()
            .map(|path| Model::new(fs::read(path).expect("segment")))
            .collect();
        let numbers: Vec<u64> = written.iter().map(|(at, _)| at.segment).collect();
        let first = *numbers.iter().min().expect("records");
        let extent = |i: usize| {
            let (at, _) = &written[i];
            let end = written
                .get(i + 1)
                .filter(|(next, _)| next.segment == at.segment)
                .map_or(models[(at.segment - first) as usize].bytes.len() as u64, |(next, _)| next.offset);
            (at.segment, at.offset, end)
        };
        let extents: Vec<(u64, u64, u64)> = (0..written.len()).map(extent).collect();
        prop_assert_eq!(models.len() as u64, numbers.iter().max().expect("records") - first + 1);

        for hurt in &hurts {
            apply(&mut models, hurt);
        }
        for (path, model) in files.iter().zip(&models) {
            fs::write(path, &model.bytes).expect("damage");
        }
        let intact: HashSet<&str> = extents
            .iter()
            .zip(&written)
            .filter(|&(&(segment, start, end), _)| models[(segment - first) as usize].intact(start, end))
            .map(|(_, (_, record))| record.raw.as_str())
            .collect();
        let by_raw: HashMap<&str, &Record> =
            written.iter().map(|(_, r)| (r.raw.as_str(), r)).collect();

        let (store, replayed, report) = open(&dir);
        let mut seen = HashSet::new();
        for (_, record) in &replayed {
            prop_assert_eq!(by_raw.get(record.raw.as_str()).copied(), Some(record), "forged");
            prop_assert!(seen.insert(record.raw.as_str()), "{} read twice", record.raw);
        }
        for raw in &intact {
            prop_assert!(seen.contains(raw), "{} untouched but lost; {:?}", raw, report.damage);
        }
        for (location, record) in &replayed {
            prop_assert_eq!(&store.read("main", *location).expect("reads back"), record);
        }
        let copies = quarantined(dir.path(), "main");
        for damage in &report.damage {
            if damage.bytes > 0 {
                prop_assert!(damage.quarantine.as_ref().is_some_and(|c| copies.contains(c)));
            }
        }
        drop(store);

        // Again: the same records, the same damage (less a torn tail, cut), no more copies.
        let (store, again, report_again) = open(&dir);
        prop_assert_eq!(raws(&again), raws(&replayed));
        let kept: Vec<_> = report
            .damage
            .iter()
            .filter(|d| d.kind != DamageKind::TornTail)
            .cloned()
            .collect();
        prop_assert_eq!(&report_again.damage, &kept);
        prop_assert_eq!(&quarantined(dir.path(), "main"), &copies);

        // Writes go on, and come back after everything else.
        let more = store
            .append("main", &meta(), [(at, "one more".to_owned())])
            .expect("stores");
        prop_assert_eq!(more.len(), 1);
        drop(store);
        let (_, after, report_after) = open(&dir);
        let mut expected = raws(&replayed);
        expected.push("one more");
        prop_assert_eq!(raws(&after), expected);
        prop_assert_eq!(report_after.damage, kept);
        prop_assert_eq!(quarantined(dir.path(), "main"), copies);
    }
}
