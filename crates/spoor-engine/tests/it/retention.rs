//! Retention as Splunk's indexes have it: sealed blocks whose newest event is past
//! `frozenTimePeriodInSecs` are deleted, and past `maxTotalDataSizeMB` the blocks of the oldest
//! events go first; searches see the index before or after, never between; what is deleted does
//! not come back on restart; the settings are kept in the catalog.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use spoor_engine::{Engine, EventMeta, Retention, StoreOptions, Window};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::support::{Lcg, TempDir};

/// Sealing only when asked, so each test decides what is in which block.
fn options() -> StoreOptions {
    StoreOptions::default().seal(false)
}

fn sealed_files(data: &Path, index: &str) -> Vec<PathBuf> {
    files_ending(data, index, ".sealed")
}

/// The index's files whose names end with `suffix`, sorted.
fn files_ending(data: &Path, index: &str, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(data.join("indexes").join(index))
        .expect("index folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_str().is_some_and(|p| p.ends_with(suffix)))
        .collect();
    files.sort();
    files
}

fn count(engine: &Engine, query: &str) -> u64 {
    let results = engine
        .search(&query.parse().expect("parses"), &Window::default())
        .expect("runs");
    results.rows[0][0]
        .as_deref()
        .expect("a count")
        .parse()
        .expect("a number")
}

/// A time as spoor's lines start.
fn stamp(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .expect("formats")
}

/// `count` events of group `group`, at `time` (one second apart from there).
fn lines(group: usize, count: usize, time: OffsetDateTime, padding: &str) -> String {
    (0..count)
        .map(|i| {
            let stamp = stamp(time + Duration::seconds(i as i64));
            format!("{stamp} group={group} n={i} pad={padding}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn retention(secs: u64, mb: u64) -> Retention {
    let mut retention = Retention::default();
    retention
        .set("frozenTimePeriodInSecs", &secs.to_string())
        .expect("seconds");
    retention
        .set("maxTotalDataSizeMB", &mb.to_string())
        .expect("MiB");
    retention
}

const YEAR: u64 = 365 * 86_400;

#[test]
fn blocks_past_the_age_limit_go_and_stay_gone() {
    let dir = TempDir::new("retention-age");
    let now = OffsetDateTime::now_utc();
    let meta = EventMeta::new("spoor", "app.log", "web-1");
    {
        let (engine, _) = Engine::open_with(dir.path(), &options()).expect("opens");
        let store = engine.store();
        store.create_index("events").expect("creates");
        // Block by block: three years ago; last month; three years ago and yesterday together;
        // and the unsealed tail, three years ago.
        let groups = [
            (0, now - Duration::days(1_100)),
            (1, now - Duration::days(30)),
        ];
        for (group, time) in groups {
            engine
                .ingest("events", &meta, &lines(group, 500, time, "x"), now)
                .expect("stores");
            store.seal_all().expect("seals");
        }
        let mixed = format!(
            "{}\n{}",
            lines(2, 300, now - Duration::days(1_100), "x"),
            lines(2, 1, now - Duration::days(1), "x")
        );
        engine.ingest("events", &meta, &mixed, now).expect("stores");
        store.seal_all().expect("seals");
        engine
            .ingest(
                "events",
                &meta,
                &lines(3, 40, now - Duration::days(1_100), "x"),
                now,
            )
            .expect("stores");
        assert_eq!(sealed_files(dir.path(), "events").len(), 3);
        assert_eq!(count(&engine, "search index=events | stats count"), 1_341);

        // Splunk's default keeps six years: nothing goes.
        assert!(store.enforce_retention().expect("runs").is_empty());
        // A year: the first block goes, whole; the mixed one stays for its newest event; the
        // tail stays until it is sealed.
        store
            .set_retention("events", retention(YEAR, 500_000))
            .expect("sets");
        let retired = store.enforce_retention().expect("runs");
        assert_eq!(retired.len(), 1, "{retired:?}");
        assert_eq!(retired["events"].events, 500);
        assert_eq!(retired["events"].blocks, 1);
        assert_eq!(sealed_files(dir.path(), "events").len(), 2);
        assert_eq!(count(&engine, "search index=events | stats count"), 841);
        assert_eq!(
            count(&engine, "search index=events group=0 | stats count"),
            0
        );
        assert_eq!(
            count(&engine, "search index=events group=2 | stats count"),
            301
        );
        // Every event left reads back whole from disk.
        let listing = engine
            .search(
                &"search index=events | fields _raw".parse().expect("parses"),
                &Window::default(),
            )
            .expect("runs");
        assert_eq!(listing.rows.len(), 841);
        // The group that went left the dictionaries too.
        let groups = engine
            .search(
                &"search index=events | stats count by group"
                    .parse()
                    .expect("parses"),
                &Window::default(),
            )
            .expect("runs");
        let named: Vec<_> = groups.rows.iter().map(|r| r[0].clone()).collect();
        assert_eq!(
            named,
            [Some("1".into()), Some("2".into()), Some("3".into())]
        );
        // Sealing the tail lets it go too.
        store.seal_all().expect("seals");
        assert_eq!(
            store.enforce_retention().expect("runs")["events"].events,
            40
        );
        assert_eq!(count(&engine, "search index=events | stats count"), 801);
    }
    // After a restart: the retention is kept, and nothing deleted comes back.
    let (engine, report) = Engine::open_with(dir.path(), &options()).expect("reopens");
    assert!(report.damage.is_empty(), "{:?}", report.damage);
    assert_eq!(
        engine.store().retention("events"),
        Some(retention(YEAR, 500_000))
    );
    assert_eq!(engine.store().retention("main"), Some(Retention::default()));
    assert_eq!(engine.store().retention("nowhere"), None);
    assert_eq!(count(&engine, "search index=events | stats count"), 801);
    assert_eq!(
        count(&engine, "search index=events group=1 | stats count"),
        500
    );
}

#[test]
fn past_the_room_the_blocks_of_the_oldest_events_go_first() {
    let dir = TempDir::new("retention-room");
    let now = OffsetDateTime::now_utc();
    let meta = EventMeta::new("spoor", "app.log", "web-1");
    let (engine, _) = Engine::open_with(dir.path(), &options()).expect("opens");
    let store = engine.store();
    store
        .create_index_with("room", retention(100 * YEAR, 500_000))
        .expect("creates");
    // Eight blocks of about 340 KiB (hex that compresses to about half), written in an order
    // that is not their events' order: group g's events are `days[g]` days old.
    let days = [30, 80, 10, 70, 20, 60, 40, 50];
    let mut rng = Lcg(7);
    for (group, days_ago) in days.iter().enumerate() {
        let text: Vec<String> = (0..600)
            .map(|i| {
                let pad: String = (0..1_000)
                    .map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize]))
                    .collect();
                let stamp = stamp(now - Duration::days(*days_ago) + Duration::seconds(i));
                // The padding is text, not a field: the blocks hold it, not the dictionary.
                format!("{stamp} group={group} {pad}")
            })
            .collect();
        engine
            .ingest("room", &meta, &text.join("\n"), now)
            .expect("stores");
        store.seal_all().expect("seals");
    }
    let files = sealed_files(dir.path(), "room");
    assert_eq!(files.len(), days.len());
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| fs::metadata(f).expect("file").len())
        .collect();
    let total: u64 = sizes.iter().sum();
    assert!(total > 5 << 19, "blocks too small to test: {sizes:?}");
    // Beside the blocks, the index's dictionary: the eight groups' values.
    let dictionary = store.disk_bytes("room") - total;
    assert!(dictionary < 1_000, "{dictionary} bytes of dictionary");

    // Two MiB of room: the newest blocks that fit stay, the rest go, oldest first.
    let room = 2u64 << 20;
    let mut by_age: Vec<usize> = (0..days.len()).collect();
    by_age.sort_by_key(|&g| days[g]);
    let mut kept = Vec::new();
    let mut used = 0;
    for &group in &by_age {
        if dictionary + used + sizes[group] > room {
            break;
        }
        used += sizes[group];
        kept.push(group);
    }
    assert!(kept.len() >= 2 && kept.len() < days.len(), "{kept:?}");
    store
        .set_retention("room", retention(100 * YEAR, 2))
        .expect("sets");
    let retired = store.enforce_retention().expect("runs");
    assert_eq!(retired["room"].blocks, (days.len() - kept.len()) as u64);
    assert_eq!(retired["room"].bytes, total - used);
    assert_eq!(store.disk_bytes("room"), dictionary + used);
    assert!(store.disk_bytes("room") <= room);

    let results = engine
        .search(
            &"search index=room | stats count by group"
                .parse()
                .expect("parses"),
            &Window::default(),
        )
        .expect("runs");
    let mut left: BTreeMap<usize, u64> = BTreeMap::new();
    for row in &results.rows {
        let group = row[0].as_deref().expect("group").parse().expect("number");
        let count = row[1].as_deref().expect("count").parse().expect("number");
        left.insert(group, count);
    }
    kept.sort_unstable();
    assert_eq!(left.keys().copied().collect::<Vec<_>>(), kept);
    assert!(left.values().all(|&n| n == 600), "{left:?}");
}

#[test]
fn a_file_losing_one_block_of_two_keeps_the_other_readable() {
    let dir = TempDir::new("retention-rewrite");
    let now = OffsetDateTime::now_utc();
    let meta = EventMeta::new("spoor", "app.log", "web-1");
    // One segment of two blocks: 65,536 events of three years ago, then 1,000 of last week.
    let old = 65_536;
    {
        let (engine, _) = Engine::open_with(dir.path(), &options()).expect("opens");
        let start = now - Duration::days(1_100);
        for part in 0..(old / 4_096) {
            let text = lines(
                0,
                4_096,
                start + Duration::seconds(part as i64 * 4_096),
                "x",
            );
            engine.ingest("main", &meta, &text, now).expect("stores");
        }
        engine
            .ingest(
                "main",
                &meta,
                &lines(1, 1_000, now - Duration::days(7), "y"),
                now,
            )
            .expect("stores");
        engine.store().seal_all().expect("seals");
        assert_eq!(sealed_files(dir.path(), "main").len(), 1);
        let before = fs::metadata(&sealed_files(dir.path(), "main")[0])
            .expect("file")
            .len();

        // Both blocks' text read before the file is written again, and kept for the next reads
        // (the kept block moves to where the deleted one was).
        for group in [1, 0] {
            let query = format!("search index=main group={group} | head 5 | fields _raw");
            let raws = engine
                .search(&query.parse().expect("parses"), &Window::default())
                .expect("runs");
            assert_eq!(raws.rows.len(), 5);
        }
        engine
            .store()
            .set_retention("main", retention(YEAR, 500_000))
            .expect("sets");
        let retired = engine.store().enforce_retention().expect("runs");
        assert_eq!(retired["main"].events, old as u64);
        let files = sealed_files(dir.path(), "main");
        assert_eq!(files.len(), 1, "the file is written again, not removed");
        let after = fs::metadata(&files[0]).expect("file").len();
        assert_eq!(after, before - retired["main"].bytes);
        assert_eq!(count(&engine, "search index=main | stats count"), 1_000);
        // The block kept reads its text from the new file.
        let raws = engine
            .search(
                &"search index=main | head 5 | fields _raw"
                    .parse()
                    .expect("parses"),
                &Window::default(),
            )
            .expect("runs");
        assert_eq!(raws.rows.len(), 5);
        for row in &raws.rows {
            let raw = row.iter().flatten().find(|v| v.contains("group=1"));
            assert!(raw.is_some_and(|r| r.ends_with("pad=y")), "{row:?}");
        }
    }
    let (engine, report) = Engine::open_with(dir.path(), &options()).expect("reopens");
    assert!(report.damage.is_empty(), "{:?}", report.damage);
    assert_eq!(count(&engine, "search index=main | stats count"), 1_000);
    assert_eq!(count(&engine, "search index=main group=0 | stats count"), 0);
}

#[test]
fn an_index_whose_events_are_all_past_its_age_is_emptied_once_idle() {
    // The background work: a small tail of old events is closed once idle, sealed, and
    // deleted, with no call from the user.
    let dir = TempDir::new("retention-idle");
    let options = StoreOptions::default().seal_idle(std::time::Duration::from_millis(50));
    let (engine, _) = Engine::open_with(dir.path(), &options).expect("opens");
    let store = engine.store();
    store
        .create_index_with("old", retention(YEAR, 500_000))
        .expect("creates");
    let meta = EventMeta::new("spoor", "app.log", "web-1");
    engine
        .ingest(
            "old",
            &meta,
            &lines(0, 100, datetime!(2001-01-01 0:00 UTC), "x"),
            OffsetDateTime::now_utc(),
        )
        .expect("stores");
    let started = std::time::Instant::now();
    while count(&engine, "search index=old | stats count") > 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "old events still there"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(sealed_files(dir.path(), "old").is_empty());
}

/// The index's dictionary files, each checked to have its copy beside it (`<file>.copy`),
/// and no other copy to be there.
fn dictionary_files(data: &Path, index: &str) -> Vec<PathBuf> {
    let files = files_ending(data, index, ".dict");
    let copies: Vec<PathBuf> = files
        .iter()
        .map(|file| {
            let mut copy = file.as_os_str().to_owned();
            copy.push(".copy");
            PathBuf::from(copy)
        })
        .collect();
    assert_eq!(files_ending(data, index, ".dict.copy"), copies);
    files
}

#[test]
fn a_dictionary_goes_with_the_last_block_coded_against_it() {
    let dir = TempDir::new("retention-dictionary");
    let now = OffsetDateTime::now_utc();
    let meta = EventMeta::new("spoor", "app.log", "web-1");
    let old = now - Duration::days(1_100);
    {
        let (engine, _) = Engine::open_with(dir.path(), &options()).expect("opens");
        engine.store().create_index("events").expect("creates");
        engine
            .ingest("events", &meta, &lines(0, 500, old, "x"), now)
            .expect("stores");
        engine.store().seal_all().expect("seals");
    }
    // A dictionary whose copy is found cut short is read from its file, and never written
    // to again: later blocks are coded against a new one, beside it.
    let first = dictionary_files(dir.path(), "events");
    assert_eq!(first.len(), 1);
    let bytes = fs::read(&first[0]).expect("reads");
    for file in files_ending(dir.path(), "events", ".dict.copy") {
        fs::write(file, &bytes[..bytes.len() - 1]).expect("cuts");
    }
    let (engine, report) = Engine::open_with(dir.path(), &options()).expect("opens");
    assert_eq!(report.damage.len(), 1, "{:?}", report.damage);
    assert_eq!(report.records, 500);
    let store = engine.store();
    engine
        .ingest("events", &meta, &lines(1, 500, now, "x"), now)
        .expect("stores");
    store.seal_all().expect("seals");
    let both = dictionary_files(dir.path(), "events");
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(both[0], first[0]);
    assert_eq!(count(&engine, "search index=events | stats count"), 1_000);

    // The old events' block goes, and with it the only dictionary it was coded against.
    store
        .set_retention("events", retention(YEAR, 500_000))
        .expect("sets");
    let retired = store.enforce_retention().expect("runs");
    assert_eq!(retired["events"].events, 500);
    assert_eq!(dictionary_files(dir.path(), "events"), both[1..]);
    assert_eq!(
        count(&engine, "search index=events group=1 | stats count"),
        500
    );
    drop(engine);
    let (engine, report) = Engine::open_with(dir.path(), &options()).expect("opens");
    assert!(report.damage.is_empty(), "{:?}", report.damage);
    assert_eq!(
        count(
            &engine,
            "search index=events | stats count by n | stats count"
        ),
        500
    );
    assert_eq!(dictionary_files(dir.path(), "events"), both[1..]);
}
