//! Damaged logs open cleanly, losing only the damaged records; concurrent writers all land.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::thread;

use spoor_engine::{DamageKind, EventMeta, Location, OpenReport, Store, StoreError, StoreOptions};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::segments::{self, frame, marker, quarantined, record, v1_frame};
use crate::support::{Lcg, TempDir};

/// Opens the store without sealing: these tests are about the logs themselves, and sealing
/// would replace a closed segment (damage and all) while they look at it.
fn open_log(
    dir: &std::path::Path,
    mut visit: impl FnMut(Location, spoor_engine::Record),
) -> Result<(Store, OpenReport), StoreError> {
    Store::open_with(dir, &StoreOptions::default().seal(false), |at, record| {
        visit(at, record.to_record());
    })
}

fn meta() -> EventMeta {
    EventMeta::new("test", "test", "localhost")
}

fn raws(dir: &TempDir) -> (Vec<String>, OpenReport) {
    let mut raws = Vec::new();
    let (_, report) = open_log(dir.path(), |_, record| raws.push(record.raw)).expect("opens");
    (raws, report)
}

fn last_segment(dir: &TempDir, index: &str) -> PathBuf {
    segments::segments(dir.path(), index)
        .pop()
        .expect("a segment")
}

/// `n` events, written one at a time.
fn fill(dir: &TempDir, n: usize) -> Vec<String> {
    let (store, _) = open_log(dir.path(), |_, _| {}).expect("opens");
    let lines: Vec<String> = (0..n).map(|i| format!("event number {i}")).collect();
    for line in &lines {
        store
            .ingest("main", &meta(), line, datetime!(2026-11-28 12:00 UTC))
            .expect("stores");
    }
    lines
}

/// `n` events, written a thousand at a time, with where each went.
fn fill_batched(dir: &TempDir, n: usize) -> (Vec<String>, Vec<Location>) {
    let (store, _) = open_log(dir.path(), |_, _| {}).expect("opens");
    let lines: Vec<String> = (0..n).map(|i| format!("event number {i}")).collect();
    let mut locations = Vec::new();
    for chunk in lines.chunks(1000) {
        let stored = store
            .ingest(
                "main",
                &meta(),
                &chunk.join("\n"),
                datetime!(2026-11-28 12:00 UTC),
            )
            .expect("stores");
        locations.extend(stored.records.iter().map(|(at, _)| *at));
    }
    (lines, locations)
}

fn write_one(dir: &TempDir, raw: &str) {
    let (store, _) = open_log(dir.path(), |_, _| {}).expect("opens");
    store
        .ingest("main", &meta(), raw, datetime!(2026-11-28 12:00 UTC))
        .expect("stores");
}

#[test]
fn garbage_after_the_last_record_is_skipped_kept_and_reported() {
    let dir = TempDir::new("garbage");
    let lines = fill(&dir, 50);
    let path = last_segment(&dir, "main");
    let good = fs::metadata(&path).expect("segment").len();
    let garbage = b"\x10\x00\x00\x00garbage that is no frame";
    let mut file = OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("segment");
    file.write_all(garbage).expect("write");
    drop(file);

    let (replayed, report) = raws(&dir);
    assert_eq!(replayed, lines);
    assert_eq!(report.damage.len(), 1, "{:?}", report.damage);
    let damage = &report.damage[0];
    assert_eq!(damage.kind, DamageKind::Skipped);
    assert_eq!((damage.offset, damage.bytes), (good, garbage.len() as u64));
    assert_eq!(damage.records_lost, None);
    assert!(damage.to_end);
    // Not the bytes of a write cut short: kept, and copied beside the segment.
    assert_eq!(
        fs::metadata(&path).expect("segment").len(),
        good + garbage.len() as u64
    );
    let copy = damage.quarantine.as_ref().expect("a copy");
    assert_eq!(fs::read(copy).expect("copy"), garbage);
    let text = damage.to_string();
    assert!(!text.contains("never acknowledged"), "{text}");

    // The store takes writes again, after the damage (in a new segment), and they replay.
    write_one(&dir, "after");
    let (replayed, again) = raws(&dir);
    assert_eq!(replayed.last().map(String::as_str), Some("after"));
    assert_eq!(replayed.len(), lines.len() + 1);
    assert_eq!(again.damage, report.damage);
    assert_eq!(quarantined(dir.path(), "main"), std::slice::from_ref(copy));
}

#[test]
fn a_truncated_tail_loses_only_the_torn_record() {
    let dir = TempDir::new("torn");
    let mut remaining = fill(&dir, 30);
    let path = last_segment(&dir, "main");
    let len = fs::metadata(&path).expect("segment").len();
    let mut rng = Lcg(9);
    // Cut at several random points, each inside the (then) last record.
    for _ in 0..5 {
        let len_now = fs::metadata(&path).expect("segment").len();
        let cut = len_now - 1 - rng.below(10);
        OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("segment")
            .set_len(cut)
            .expect("truncate");
        let (replayed, report) = raws(&dir);
        remaining.pop();
        assert_eq!(replayed, remaining);
        assert_eq!(report.damage.len(), 1);
        assert_eq!(report.damage[0].kind, DamageKind::TornTail);
        assert!(report.damage[0].to_string().contains("never acknowledged"));
        assert_eq!(last_segment(&dir, "main"), path, "appends go on in it");
    }
    assert!(fs::metadata(&path).expect("segment").len() < len);
    write_one(&dir, "after");
    let (replayed, report) = raws(&dir);
    assert_eq!(replayed.last().map(String::as_str), Some("after"));
    assert!(report.damage.is_empty());
}

#[test]
fn a_flipped_byte_loses_only_its_record() {
    let dir = TempDir::new("flip");
    let (lines, locations) = fill_batched(&dir, 20);
    let path = last_segment(&dir, "main");
    let mut bytes = fs::read(&path).expect("segment");
    let hit = 10;
    let (start, end) = (locations[hit].offset, locations[hit + 1].offset);
    bytes[(start + end) as usize / 2] ^= 0xff;
    fs::write(&path, &bytes).expect("write");

    let (replayed, report) = raws(&dir);
    let mut expected = lines;
    expected.remove(hit);
    assert_eq!(replayed, expected);
    assert_eq!(report.damage.len(), 1);
    let damage = &report.damage[0];
    assert_eq!(damage.kind, DamageKind::Skipped);
    assert_eq!((damage.offset, damage.bytes), (start, end - start));
    assert_eq!(damage.records_lost, Some(1));
    assert!(!damage.to_end);
    assert!(damage.to_string().contains("1 record lost"), "{damage}");
}

/// Issue 12, finding 3: one flipped byte at 1 % of a 100,000-event segment cost every record
/// after it (1,042 were kept). Only the damaged record may be lost.
#[test]
fn a_flipped_byte_early_in_a_large_segment_loses_only_its_record() {
    const EVENTS: usize = 100_000;
    let dir = TempDir::new("flip-large");
    let (lines, locations) = fill_batched(&dir, EVENTS);
    let path = last_segment(&dir, "main");
    let mut bytes = fs::read(&path).expect("segment");
    let flip = bytes.len() as u64 / 100;
    bytes[flip as usize] ^= 0x10;
    fs::write(&path, &bytes).expect("write");
    // The record whose frame holds the flipped byte.
    let hit = locations.partition_point(|at| at.offset <= flip) - 1;
    let expected: Vec<String> = lines
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != hit)
        .map(|(_, l)| l.clone())
        .collect();

    let (replayed, report) = raws(&dir);
    assert_eq!(replayed.len(), expected.len(), "records kept");
    assert_eq!(replayed, expected);
    assert_eq!(report.damage.len(), 1);
    let damage = &report.damage[0];
    let (start, end) = (locations[hit].offset, locations[hit + 1].offset);
    assert_eq!(damage.path, path);
    assert_eq!((damage.offset, damage.bytes), (start, end - start));
    assert_eq!(damage.records_lost, Some(1));
    let copy = damage.quarantine.as_ref().expect("a copy");
    assert_eq!(
        fs::read(copy).expect("copy"),
        bytes[start as usize..end as usize]
    );
    assert_eq!(fs::read(&path).expect("segment"), bytes, "left in place");

    // Reopening the same folder reads the same, and copies nothing more.
    let (again, report_again) = raws(&dir);
    assert_eq!(again, expected);
    assert_eq!(report_again.damage, report.damage);
    assert_eq!(quarantined(dir.path(), "main"), std::slice::from_ref(copy));

    // Appends go on in the damaged segment, after its last record.
    write_one(&dir, "after");
    let (replayed, _) = raws(&dir);
    assert_eq!(replayed.len(), expected.len() + 1);
    assert_eq!(replayed.last().map(String::as_str), Some("after"));
    assert_eq!(last_segment(&dir, "main"), path);
}

/// Event text is chosen by clients: text that is a well-formed frame, in either format, must
/// never come back as a record when damage makes the reader search for the next one.
#[test]
fn event_text_laid_out_as_a_frame_is_never_taken_for_a_record() {
    // Frames of a forged record whose bytes are valid UTF-8 (so an event can hold them):
    // one of the first format, and of the current one with markers a client might guess.
    let forged_frames = |seq: u32| -> (String, Vec<String>) {
        let mut text = String::new();
        let mut forged = Vec::new();
        for (k, make) in [
            &(|r: &spoor_engine::Record| v1_frame(r)) as &dyn Fn(&spoor_engine::Record) -> Vec<u8>,
            &|r| frame([0; 8], seq, r),
            &|r| frame(*b"SPOORLOG", seq, r),
        ]
        .into_iter()
        .enumerate()
        {
            let (raw, bytes) = (0..1_000_000)
                .map(|nonce| {
                    let raw = format!("forged {k} {nonce}");
                    let bytes = make(&record(&raw));
                    (raw, bytes)
                })
                .find(|(_, bytes)| std::str::from_utf8(bytes).is_ok())
                .expect("a nonce whose frame is UTF-8");
            text.push_str(std::str::from_utf8(&bytes).expect("UTF-8"));
            forged.push(raw);
        }
        (text, forged)
    };

    // Damage at the host event's header, and just before the forged frames in its text.
    for damage_at in ["header", "before the text"] {
        let dir = TempDir::new("forged");
        let (store, _) = open_log(dir.path(), |_, _| {}).expect("opens");
        let at = OffsetDateTime::UNIX_EPOCH;
        let before = store
            .append("main", &meta(), (0..5).map(|i| (at, format!("before {i}"))))
            .expect("stores");
        let (text, forged) = forged_frames(6);
        let host = store
            .append("main", &meta(), [(at, text.clone())])
            .expect("stores");
        store
            .append("main", &meta(), (0..5).map(|i| (at, format!("after {i}"))))
            .expect("stores");
        drop(store);
        let (replayed, _) = raws(&dir);
        assert_eq!(replayed.len(), 11, "undamaged, the host is one record");
        assert_eq!(replayed[5], text);

        let path = last_segment(&dir, "main");
        let mut bytes = fs::read(&path).expect("segment");
        let start = host[0].0.offset as usize;
        let flip = match damage_at {
            "header" => start + 9,
            _ => {
                bytes[start..]
                    .windows(text.len())
                    .position(|w| w == text.as_bytes())
                    .expect("the text")
                    + start
                    - 1
            }
        };
        bytes[flip] ^= 0x01;
        fs::write(&path, &bytes).expect("write");

        let (replayed, report) = raws(&dir);
        for raw in &forged {
            assert!(
                !replayed.contains(raw),
                "{damage_at}: forged {raw:?} came back"
            );
        }
        let expected: Vec<String> = (0..5)
            .map(|i| format!("before {i}"))
            .chain((0..5).map(|i| format!("after {i}")))
            .collect();
        assert_eq!(replayed, expected, "{damage_at}");
        assert_eq!(report.damage.len(), 1);
        assert_eq!(report.damage[0].offset, host[0].0.offset);
        assert_eq!(report.damage[0].records_lost, Some(1));
        assert_eq!(before.len(), 5);
    }
}

/// Writes a segment of the first format, as stores before the sync marker made them.
fn write_v1_segment(dir: &TempDir, number: u64, raws: &[String]) -> PathBuf {
    let folder = dir.path().join("indexes").join("main");
    fs::create_dir_all(&folder).expect("folder");
    let path = folder.join(format!("{number:020}.seg"));
    let bytes: Vec<u8> = raws.iter().flat_map(|raw| v1_frame(&record(raw))).collect();
    fs::write(&path, bytes).expect("segment");
    path
}

#[test]
fn segments_of_the_first_format_are_read_and_the_log_goes_on_in_a_new_one() {
    let dir = TempDir::new("v1");
    let old: Vec<String> = (0..40).map(|i| format!("old {i}")).collect();
    let first = write_v1_segment(&dir, 1, &old[..20]);
    let second = write_v1_segment(&dir, 2, &old[20..]);
    let (replayed, report) = raws(&dir);
    assert_eq!(replayed, old);
    assert!(report.damage.is_empty());

    write_one(&dir, "new");
    let segments = segments::segments(dir.path(), "main");
    assert_eq!(segments.len(), 3);
    assert_eq!(segments[..2], [first.clone(), second]);
    let name = segments[2]
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name");
    assert!(name.starts_with("00000000000000000003-"), "{name}");
    let (replayed, report) = raws(&dir);
    assert_eq!(replayed[..40], old);
    assert_eq!(replayed[40..], ["new"]);
    assert!(report.damage.is_empty());
    // The old segments are not written to.
    assert_eq!(
        fs::read(&first).expect("old"),
        old[..20]
            .iter()
            .flat_map(|raw| v1_frame(&record(raw)))
            .collect::<Vec<u8>>()
    );

    // The store reads records back from segments of both formats.
    let mut at = Vec::new();
    let (store, _) =
        open_log(dir.path(), |location, record| at.push((location, record))).expect("opens");
    for (location, record) in at {
        assert_eq!(store.read("main", location).expect("reads"), record);
    }
}

#[test]
fn damage_in_a_segment_of_the_first_format_is_skipped_best_effort() {
    let dir = TempDir::new("v1-damage");
    let old: Vec<String> = (0..30).map(|i| format!("old event {i}")).collect();
    let path = write_v1_segment(&dir, 1, &old);
    let ends: Vec<u64> = old
        .iter()
        .scan(0, |end, raw| {
            *end += v1_frame(&record(raw)).len() as u64;
            Some(*end)
        })
        .collect();
    let mut bytes = fs::read(&path).expect("segment");
    bytes[ends[9] as usize + 3] ^= 0x20;
    // A torn write at the end of the last segment, as a crash leaves it.
    let torn = v1_frame(&record("torn"));
    bytes.extend_from_slice(&torn[..torn.len() - 4]);
    fs::write(&path, &bytes).expect("write");

    let (replayed, report) = raws(&dir);
    let mut expected = old;
    expected.remove(10);
    assert_eq!(replayed, expected);
    assert_eq!(report.damage.len(), 2, "{:?}", report.damage);
    assert_eq!(report.damage[0].kind, DamageKind::Skipped);
    assert_eq!(
        (report.damage[0].offset, report.damage[0].bytes),
        (ends[9], ends[10] - ends[9])
    );
    assert_eq!(report.damage[0].records_lost, None);
    assert_eq!(report.damage[1].kind, DamageKind::TornTail);
    assert_eq!(
        fs::metadata(&path).expect("segment").len(),
        ends[29],
        "the torn write is cut"
    );
    let (again, report_again) = raws(&dir);
    assert_eq!(again, expected);
    assert_eq!(report_again.damage, report.damage[..1]);
    assert_eq!(quarantined(dir.path(), "main").len(), 2);
}

#[test]
fn concurrent_writers_all_land_exactly_once() {
    let dir = TempDir::new("concurrent");
    let (store, _) = open_log(dir.path(), |_, _| {}).expect("opens");
    thread::scope(|scope| {
        for t in 0..8 {
            let store = &store;
            scope.spawn(move || {
                for i in 0..100 {
                    store
                        .ingest(
                            "main",
                            &meta(),
                            &format!("t{t}-{i}"),
                            datetime!(2026-11-28 12:00 UTC),
                        )
                        .expect("stores");
                }
            });
        }
    });
    drop(store);
    let (mut replayed, _) = raws(&dir);
    replayed.sort();
    let mut expected: Vec<String> = (0..8)
        .flat_map(|t| (0..100).map(move |i| format!("t{t}-{i}")))
        .collect();
    expected.sort();
    assert_eq!(replayed, expected);
}

#[test]
fn indexes_and_props_persist() {
    let dir = TempDir::new("catalog");
    let (store, _) = open_log(dir.path(), |_, _| {}).expect("opens");
    assert!(store.create_index("shop").expect("creates"));
    assert!(!store.create_index("shop").expect("exists"));
    assert!(matches!(
        store.create_index("Shop"),
        Err(StoreError::InvalidIndexName { .. })
    ));
    store
        .set_props(
            "legacy",
            [(
                "LINE_BREAKER".to_owned(),
                r"(\r\n-----end-event-----\r\n)".to_owned(),
            )],
        )
        .expect("valid props");
    let err = store
        .set_props("legacy", [("LINE_BREAKER".to_owned(), "(".to_owned())])
        .expect_err("invalid regex");
    assert!(err.to_string().contains("LINE_BREAKER"), "{err}");
    let stored = store
        .ingest(
            "shop",
            &EventMeta::new("legacy", "s", "h"),
            "a\nb\r\n-----end-event-----\r\nc",
            datetime!(2026-11-28 12:00 UTC),
        )
        .expect("stores");
    assert_eq!(stored.records.len(), 2);
    let location = stored.records[0].0;
    drop(store);

    let (store, report) = open_log(dir.path(), |_, _| {}).expect("reopens");
    assert_eq!(report.records, 2);
    assert_eq!(store.indexes(), ["main", "shop"]);
    assert_eq!(
        store.props()["legacy"]["LINE_BREAKER"],
        r"(\r\n-----end-event-----\r\n)"
    );
    assert_eq!(store.read("shop", location).expect("reads").raw, "a\nb");
    assert!(matches!(
        store.ingest("nope", &meta(), "x", datetime!(2026-11-28 12:00 UTC)),
        Err(StoreError::UnknownIndex(_))
    ));
}

/// A segment's marker is its own: a frame copied from another segment is not read there.
#[test]
fn a_frame_copied_from_another_segment_is_not_read() {
    let dir = TempDir::new("copied");
    let (store, _) = Store::open_with(
        dir.path(),
        &StoreOptions::default().segment_bytes(600).seal(false),
        |_, _| {},
    )
    .expect("opens");
    let at = OffsetDateTime::UNIX_EPOCH;
    let stored = store
        .append(
            "main",
            &meta(),
            (0..20).map(|i| (at, format!("event {i:02}"))),
        )
        .expect("stores");
    let more = store
        .append(
            "main",
            &meta(),
            (20..40).map(|i| (at, format!("event {i:02}"))),
        )
        .expect("stores");
    drop(store);
    let segments = segments::segments(dir.path(), "main");
    assert!(segments.len() >= 2);
    assert_ne!(marker(&segments[0]), marker(&segments[1]));
    // The first segment's first record, written over the second segment's first one.
    let len = (stored[1].0.offset - stored[0].0.offset) as usize;
    let copied = fs::read(&segments[0]).expect("segment")[..len].to_vec();
    let mut second = fs::read(&segments[1]).expect("segment");
    second[..len].copy_from_slice(&copied);
    fs::write(&segments[1], &second).expect("write");
    assert_eq!(more[0].0.segment, 2);

    let (replayed, report) = raws(&dir);
    let expected: Vec<String> = (0..40)
        .filter(|&i| i != 20)
        .map(|i| format!("event {i:02}"))
        .collect();
    assert_eq!(replayed, expected);
    assert_eq!(report.damage.len(), 1);
    assert_eq!(report.damage[0].records_lost, Some(1));
}

/// Damage larger than the reader's buffer (a megabyte): the search for the next record reads
/// on through it, in segments of both formats.
#[test]
fn a_damaged_range_of_megabytes_is_skipped() {
    let mut rng = Lcg(0xda4a);
    let garbage: Vec<u8> = (0..3 << 20).map(|_| rng.below(256) as u8).collect();
    let lines: Vec<String> = (0..200).map(|i| format!("event {i}")).collect();

    let dir = TempDir::new("large-damage");
    let (store, _) = open_log(dir.path(), |_, _| {}).expect("opens");
    let at = OffsetDateTime::UNIX_EPOCH;
    let stored = store
        .append("main", &meta(), lines.iter().map(|l| (at, l.clone())))
        .expect("stores");
    drop(store);
    let path = last_segment(&dir, "main");
    let mut bytes = fs::read(&path).expect("segment");
    let split = stored[100].0.offset as usize;
    bytes.splice(split..split, garbage.iter().copied());
    fs::write(&path, &bytes).expect("write");
    let (replayed, report) = raws(&dir);
    assert_eq!(replayed, lines);
    assert_eq!(report.damage.len(), 1);
    assert_eq!(
        (report.damage[0].offset, report.damage[0].bytes),
        (split as u64, garbage.len() as u64)
    );
    assert_eq!(report.damage[0].records_lost, Some(0));

    let dir = TempDir::new("large-damage-v1");
    let path = write_v1_segment(&dir, 1, &lines);
    let mut bytes = fs::read(&path).expect("segment");
    let split: usize = lines[..100]
        .iter()
        .map(|l| v1_frame(&record(l)).len())
        .sum();
    bytes.splice(split..split, garbage.iter().copied());
    fs::write(&path, &bytes).expect("write");
    let (replayed, report) = raws(&dir);
    assert_eq!(replayed, lines);
    assert_eq!(report.damage.len(), 1);
    assert_eq!(
        (report.damage[0].offset, report.damage[0].bytes),
        (split as u64, garbage.len() as u64)
    );
}
