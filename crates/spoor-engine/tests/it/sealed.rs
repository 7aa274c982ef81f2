//! Sealed segments: closed segments rewritten as compressed blocks of columns answer every
//! search as their logs did, before and after a restart; a crash at any step of sealing loses
//! nothing; a damaged block loses only its own records, copied aside first.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use spoor_engine::generate::{Generator, Spec};
use spoor_engine::{DamageKind, Engine, EventMeta, OpenReport, Store, StoreOptions, Window};
use time::macros::datetime;

use crate::support::{TempDir, copy_folder};

fn options() -> StoreOptions {
    StoreOptions::default()
        .segment_bytes(256 * 1024)
        .seal_idle(Duration::from_millis(50))
}

fn files(data: &Path, suffix: &str) -> Vec<PathBuf> {
    let folder = data.join("indexes").join("main");
    let mut files: Vec<PathBuf> = fs::read_dir(folder)
        .expect("index folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_str().is_some_and(|p| p.ends_with(suffix)))
        .collect();
    files.sort();
    files
}

/// Lines of every kind: spoor's, and ones a template cannot rebuild (kept whole).
fn lines() -> Vec<String> {
    let end = datetime!(2026-11-28 0:00 UTC);
    let mut lines: Vec<String> = Generator::new(Spec::benchmark(6_000, end))
        .map(|event| {
            let mut line = Vec::new();
            event.encode_line(&mut line);
            String::from_utf8(line).expect("utf-8")
        })
        .collect();
    for i in 0..lines.len() / 10 {
        let odd = match i % 6 {
            0 => format!("2026-11-27T10:00:00.000000Z event=\"say \\\"hi\\\" {i}\" a=1"),
            1 => format!("a={i} a=2 b=\"x\""),
            2 => format!("host=elsewhere user=u{i}"),
            3 => format!("Nov 27 10:00:{:02} sshd[{i}]: accepted", i % 60),
            4 => format!("no fields at all, line {i}"),
            _ => format!("ünï=cødé{i} 名前=\"値\" empty=\"\" trailing= "),
        };
        lines.insert(i * 10 + 3, odd);
    }
    lines
}

fn ingest(engine: &Engine, lines: &[String]) {
    ingest_as(engine, "spoor", lines);
}

/// Ingests `lines` of the sourcetype `sourcetype`.
fn ingest_as(engine: &Engine, sourcetype: &str, lines: &[String]) {
    let meta = EventMeta::new(sourcetype, "app.log", "web-1");
    for chunk in lines.chunks(500) {
        engine
            .ingest(
                "main",
                &meta,
                &chunk.join("\n"),
                datetime!(2026-11-28 0:00 UTC),
            )
            .expect("stores");
    }
}

const QUERIES: [&str; 6] = [
    "search index=main | stats count by event",
    "search index=main | stats dc(distinct_id) as users, count by application",
    "search index=main plan=pro | timechart span=1d count",
    "search index=main | head 300",
    "search index=main user=* | fields _time, user, _raw",
    "search index=main a=* | stats values(a) as a, count by b",
];

fn answers(engine: &Engine) -> Vec<Vec<Vec<Option<String>>>> {
    QUERIES
        .iter()
        .map(|q| {
            let query = q.parse().expect("parses");
            let mut results = engine.search(&query, &Window::default()).expect("runs");
            results
                .rows
                .insert(0, results.fields.iter().cloned().map(Some).collect());
            results.rows
        })
        .collect()
}

/// Waits until every closed segment is sealed and the one being written is empty (up to
/// three minutes: the whole suite on two cores can keep the background sealer waiting long,
/// and what these tests check is what sealing wrote, not how soon).
fn wait_sealed(data: &Path) {
    let started = Instant::now();
    loop {
        let logs = files(data, ".seg");
        let empty_tail = logs.len() == 1 && fs::metadata(&logs[0]).is_ok_and(|m| m.len() == 0);
        if empty_tail && !files(data, ".sealed").is_empty() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "segments not sealed: {logs:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every stored record as a replay gives them; each also read back by its location alone
/// gives the same.
fn records(data: &Path) -> Vec<(i64, String, String)> {
    let mut records = Vec::new();
    let mut found = Vec::new();
    let (store, report) = Store::open_with(data, &StoreOptions::default().seal(false), |at, r| {
        records.push((r.time_micros, r.host.to_owned(), r.raw.to_owned()));
        found.push((at, r.to_record()));
    })
    .expect("opens");
    assert!(report.damage.is_empty(), "{:?}", report.damage);
    for (at, record) in found {
        assert_eq!(store.read("main", at).expect("reads"), record);
    }
    records
}

#[test]
fn sealed_segments_answer_as_their_logs_did() {
    let dir = TempDir::new("sealed");
    let lines = lines();
    let (engine, _) = Engine::open_with(dir.path(), &options().seal(false)).expect("opens");
    ingest(&engine, &lines);
    let before = answers(&engine);
    drop(engine);
    let stored = records(dir.path());
    assert_eq!(stored.len(), lines.len());
    assert!(stored.iter().zip(&lines).all(|(r, l)| r.2 == *l));
    let log_bytes: u64 = files(dir.path(), ".seg")
        .iter()
        .map(|p| fs::metadata(p).expect("size").len())
        .sum();

    // Sealed while the engine runs: rows indexed from the logs read their text from the
    // sealed files.
    let (engine, report) = Engine::open_with(dir.path(), &options()).expect("opens");
    assert_eq!(report.records, lines.len() as u64);
    wait_sealed(dir.path());
    assert_eq!(answers(&engine), before);
    drop(engine);

    let sealed_bytes: u64 = files(dir.path(), ".sealed")
        .iter()
        .map(|p| fs::metadata(p).expect("size").len())
        .sum();
    assert!(
        sealed_bytes * 3 < log_bytes,
        "sealed {sealed_bytes} bytes against {log_bytes} in logs"
    );
    assert_eq!(stored, records(dir.path()), "records rebuilt byte for byte");

    // Opened from the sealed blocks' columns.
    let (engine, report) = Engine::open_with(dir.path(), &options()).expect("opens");
    assert_eq!(report.records, lines.len() as u64);
    assert!(report.damage.is_empty());
    assert_eq!(answers(&engine), before);
    // New events go on after the sealed ones.
    ingest(&engine, &lines[..100]);
    let count = "search index=main | stats count".parse().expect("parses");
    let results = engine.search(&count, &Window::default()).expect("runs");
    let expected = (lines.len() + 100).to_string();
    assert_eq!(results.rows, [[Some(expected)]]);
}

#[test]
fn a_crash_at_any_step_of_sealing_loses_nothing() {
    let dir = TempDir::new("sealed-crash");
    let lines = lines();
    let (engine, _) = Engine::open_with(dir.path(), &options().seal(false)).expect("opens");
    ingest(&engine, &lines);
    let before = answers(&engine);
    drop(engine);
    let logs: Vec<(PathBuf, Vec<u8>)> = files(dir.path(), ".seg")
        .into_iter()
        .map(|p| {
            let bytes = fs::read(&p).expect("reads");
            (p, bytes)
        })
        .collect();
    let (engine, _) = Engine::open_with(dir.path(), &options()).expect("opens");
    wait_sealed(dir.path());
    drop(engine);
    let sealed = files(dir.path(), ".sealed");

    // Cut short before the rename: a partial temporary file, never read, removed on open.
    let tmp = PathBuf::from(format!("{}.tmp", sealed[0].display()));
    fs::write(&tmp, &fs::read(&sealed[0]).expect("reads")[..100]).expect("writes");
    // Cut short after the rename, before the log file was removed.
    let (log, bytes) = &logs[0];
    fs::write(log, bytes).expect("writes");
    let (engine, report) = Engine::open_with(dir.path(), &options().seal(false)).expect("opens");
    assert_eq!(report.records, lines.len() as u64);
    assert_eq!(answers(&engine), before);
    assert!(!tmp.exists() && !log.exists());
}

/// Generated events enough for several blocks, with some lines no template rebuilds.
fn many_lines(events: usize) -> Vec<String> {
    let end = datetime!(2026-11-28 0:00 UTC);
    let mut lines: Vec<String> = Generator::new(Spec::benchmark(events, end))
        .map(|event| {
            let mut line = Vec::new();
            event.encode_line(&mut line);
            String::from_utf8(line).expect("utf-8")
        })
        .collect();
    for i in (0..lines.len()).step_by(1_000) {
        lines[i] = format!("Nov 27 10:00:{:02} sshd[{i}]: accepted", i % 60);
    }
    lines
}

/// A sealed file of several blocks is read with the next blocks decoded ahead of the one
/// being indexed: it answers as its log did, and, offered record by record (as when props
/// changed), gives every record back in order.
#[test]
fn a_file_of_many_blocks_answers_as_its_log_did() {
    let lines = many_lines(200_000);
    let log = TempDir::new("many-blocks-log");
    let options = StoreOptions::default()
        .segment_bytes(64 * 1024 * 1024)
        .seal_idle(Duration::from_millis(50));
    let (engine, _) = Engine::open_with(log.path(), &options.clone().seal(false)).expect("opens");
    ingest(&engine, &lines);
    let expected = answers(&engine);
    drop(engine);

    let dir = TempDir::new("many-blocks");
    let (engine, _) = Engine::open_with(dir.path(), &options).expect("opens");
    ingest(&engine, &lines);
    wait_sealed(dir.path());
    assert_eq!(answers(&engine), expected);
    drop(engine);
    let sealed = files(dir.path(), ".sealed");
    assert_eq!(sealed.len(), 1);
    let bytes = fs::read(&sealed[0]).expect("reads");
    let (mut pos, mut blocks) = (0, 0);
    while pos < bytes.len() {
        pos += 40 + u32::from_le_bytes(bytes[pos + 8..pos + 12].try_into().expect("4")) as usize;
        blocks += 1;
    }
    assert!(blocks >= 3, "{blocks} blocks");

    let (engine, report) =
        Engine::open_with(dir.path(), &options.clone().seal(false)).expect("opens");
    assert!(report.damage.is_empty(), "{:?}", report.damage);
    assert_eq!(report.records, lines.len() as u64);
    assert_eq!(answers(&engine), expected);
    drop(engine);
    let mut raws = Vec::new();
    let (_store, report) = Store::open_with(dir.path(), &options.seal(false), |_, record| {
        raws.push(record.raw.to_owned());
    })
    .expect("opens");
    assert!(report.damage.is_empty(), "{:?}", report.damage);
    assert_eq!(raws, lines);
}

#[test]
fn a_damaged_block_loses_only_its_records() {
    let dir = TempDir::new("sealed-damage");
    let end = datetime!(2026-11-28 0:00 UTC);
    // Enough events for a few blocks in one segment.
    let lines: Vec<String> = Generator::new(Spec::benchmark(150_000, end))
        .map(|event| {
            let mut line = Vec::new();
            event.encode_line(&mut line);
            String::from_utf8(line).expect("utf-8")
        })
        .collect();
    let options = StoreOptions::default()
        .segment_bytes(64 * 1024 * 1024)
        .seal_idle(Duration::from_millis(50));
    let (engine, _) = Engine::open_with(dir.path(), &options).expect("opens");
    ingest(&engine, &lines);
    wait_sealed(dir.path());
    drop(engine);
    let sealed = files(dir.path(), ".sealed");
    assert_eq!(sealed.len(), 1);
    let mut bytes = fs::read(&sealed[0]).expect("reads");
    let original = bytes.clone();
    // The second block's body: the first block's header says where it ends.
    let first_len = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let second = 40 + first_len;
    let second_rows = u32::from_le_bytes(bytes[second + 12..second + 16].try_into().expect("4"));
    bytes[second + 40 + 100] ^= 0xff;
    fs::write(&sealed[0], &bytes).expect("writes");

    let (engine, report) = Engine::open_with(dir.path(), &options.seal(false)).expect("opens");
    assert_eq!(report.records, lines.len() as u64 - u64::from(second_rows));
    assert_eq!(report.damage.len(), 1, "{:?}", report.damage);
    let damage = &report.damage[0];
    assert_eq!(damage.kind, DamageKind::Skipped);
    assert_eq!(damage.records_lost, Some(u64::from(second_rows)));
    assert_eq!(damage.offset, second as u64);
    let copy = damage.quarantine.as_ref().expect("copied aside");
    assert_eq!(
        fs::read(copy).expect("reads"),
        bytes[second..second + damage.bytes as usize]
    );
    let count = "search index=main | stats count".parse().expect("parses");
    let results = engine.search(&count, &Window::default()).expect("runs");
    let expected = (lines.len() - second_rows as usize).to_string();
    assert_eq!(results.rows, [[Some(expected)]]);
    // The file itself is left as it was found.
    assert_eq!(fs::read(&sealed[0]).expect("reads"), bytes);
    assert_ne!(bytes, original);
}

/// The index's dictionary files (the values sealed blocks' fields are coded against); each
/// has a copy beside it, of the same bytes (`<file>.copy`).
fn dictionaries(data: &Path) -> Vec<PathBuf> {
    files(data, ".dict")
}

/// The copy of a dictionary file.
fn copy_of(dictionary: &Path) -> PathBuf {
    let mut copy = dictionary.as_os_str().to_owned();
    copy.push(".copy");
    PathBuf::from(copy)
}

#[test]
fn a_dictionary_lost_in_one_file_is_read_from_the_other() {
    let dir = TempDir::new("sealed-dictionary");
    let lines = lines();
    let (engine, _) = Engine::open_with(dir.path(), &options()).expect("opens");
    ingest(&engine, &lines);
    wait_sealed(dir.path());
    let before = answers(&engine);
    drop(engine);
    let found = dictionaries(dir.path());
    assert_eq!(found.len(), 1, "one dictionary for the index: {found:?}");
    let copy = copy_of(&found[0]);
    assert_eq!(files(dir.path(), ".dict.copy"), std::slice::from_ref(&copy));
    let whole = fs::read(&found[0]).expect("reads");
    assert_eq!(fs::read(&copy).expect("reads"), whole, "the same bytes");
    let mut bad = whole.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x55;

    // Damaged in its middle: reported and copied aside; its copy stands in for it.
    fs::write(&found[0], &bad).expect("writes");
    let (engine, report) = Engine::open_with(dir.path(), &options().seal(false)).expect("opens");
    assert_eq!(report.records, lines.len() as u64);
    assert_eq!(report.damage.len(), 1, "{:?}", report.damage);
    let damage = &report.damage[0];
    assert_eq!(damage.path, found[0]);
    assert_eq!(damage.records_lost, Some(0));
    assert!(damage.offset <= at as u64);
    let aside = damage.quarantine.as_ref().expect("copied aside");
    assert_eq!(
        fs::read(aside).expect("reads"),
        bad[damage.offset as usize..]
    );
    assert_eq!(answers(&engine), before);
    drop(engine);

    // Damaged at the same place in both: both reported. The blocks coded against the values
    // after the damage hold text that cannot be rebuilt without them: each is lost, as a
    // damaged block is, reported with its records and copied aside.
    fs::write(&copy, &bad).expect("writes");
    let (engine, report) = Engine::open_with(dir.path(), &options().seal(false)).expect("opens");
    let damaged: Vec<_> = report.damage.iter().map(|d| &d.path).collect();
    assert_eq!(&damaged[..2], [&found[0], &copy], "{:?}", report.damage);
    assert!(report.damage[..2].iter().all(|d| d.records_lost == Some(0)));
    let lost: u64 = report.damage[2..]
        .iter()
        .map(|d| {
            assert!(
                d.path.to_str().is_some_and(|p| p.ends_with(".sealed")),
                "{d:?}"
            );
            assert!(d.quarantine.is_some(), "{d:?}");
            d.records_lost.expect("counted")
        })
        .sum();
    assert!(lost > 0, "some blocks needed the values past the damage");
    assert_eq!(report.records + lost, lines.len() as u64);
    let partial = answers(&engine);
    drop(engine);
    let (engine, again) = Engine::open_with(dir.path(), &options().seal(false)).expect("opens");
    assert_eq!(again.records, report.records);
    assert_eq!(answers(&engine), partial, "the same after a restart");
    drop(engine);

    // The file gone: read from its copy, and reported.
    fs::write(&copy, &whole).expect("writes");
    fs::remove_file(&found[0]).expect("removes");
    let (engine, report) = Engine::open_with(dir.path(), &options().seal(false)).expect("opens");
    assert_eq!(report.records, lines.len() as u64);
    assert_eq!(report.damage.len(), 1, "{:?}", report.damage);
    assert_eq!(report.damage[0].path, found[0]);
    assert_eq!(report.damage[0].kind, DamageKind::TornTail);
    assert_eq!(answers(&engine), before);
    drop(engine);

    // Both gone: only the records kept whole are left, every block reported. New events are
    // sealed against a new dictionary, and the store answers the same after a restart.
    fs::remove_file(&copy).expect("removes");
    let (engine, report) = Engine::open_with(dir.path(), &options()).expect("opens");
    let lost: u64 = report.damage.iter().filter_map(|d| d.records_lost).sum();
    assert_eq!(report.records + lost, lines.len() as u64);
    assert_eq!(report.records, 0, "every block held templates");
    let report = sealed_again_answers_the_same(dir.path(), engine, &lines);
    assert_eq!(report.records, lines.len() as u64);
}

#[test]
fn text_sealed_under_other_props_than_its_values_reads_as_written() {
    // Indexed with spaces trimmed (the default), sealed with them kept: the template the
    // sealer makes takes the untrimmed values, the index holds the trimmed ones.
    let dir = TempDir::new("sealed-props");
    let (engine, _) = Engine::open_with(dir.path(), &options().seal(false)).expect("opens");
    let lines: Vec<String> = (0..300)
        .map(|i| {
            format!(
                "2026-11-27T10:{:02}:00.000000Z user=\" u{i} \" n={i}",
                i % 60
            )
        })
        .collect();
    ingest_as(&engine, "app", &lines);
    let raws = |engine: &Engine| {
        let query = "search index=main | fields _raw".parse().expect("parses");
        let results = engine.search(&query, &Window::default()).expect("runs");
        let mut raws: Vec<String> = results
            .rows
            .into_iter()
            .filter_map(|row| row.into_iter().flatten().find(|v| v.contains("user=")))
            .collect();
        raws.sort();
        raws
    };
    let mut expected = lines;
    expected.sort();
    assert_eq!(raws(&engine), expected);
    engine
        .store()
        .set_props("app", [("KV_TRIM_SPACES", "false")])
        .expect("sets");
    engine.store().seal_all().expect("seals");
    assert!(
        files(dir.path(), ".seg")
            .iter()
            .all(|p| fs::metadata(p).is_ok_and(|m| m.len() == 0))
    );
    assert_eq!(raws(&engine), expected, "read while running");
    drop(engine);
    let (engine, _) = Engine::open_with(dir.path(), &options().seal(false)).expect("opens");
    assert_eq!(raws(&engine), expected, "read after a restart");
}

/// Ingests `lines` again into `engine` (over the folder `dir`) and waits until they are
/// sealed: one dictionary holds the values of the new blocks, and after a restart the store
/// answers as it did before it. The restart's report.
fn sealed_again_answers_the_same(dir: &Path, engine: Engine, lines: &[String]) -> OpenReport {
    ingest(&engine, lines);
    wait_sealed(dir);
    let before = answers(&engine);
    drop(engine);
    let found = dictionaries(dir);
    assert_eq!(found.len(), 1);
    assert_eq!(files(dir, ".dict.copy"), [copy_of(&found[0])]);
    let (engine, report) = Engine::open_with(dir, &options()).expect("opens");
    assert_eq!(answers(&engine), before);
    report
}

#[test]
fn a_store_sealed_by_the_second_version_reads_the_same() {
    sealed_by_an_earlier_version_reads_the_same("sealed-v2");
}

#[test]
fn a_store_sealed_by_the_third_version_reads_the_same() {
    // Its blocks coded against a dictionary (of one file, no copy) and every record's text
    // kept whole.
    sealed_by_an_earlier_version_reads_the_same("sealed-v3");
}

/// A folder written by an earlier build (`tests/fixtures/<fixture>`, 1,320 records, part
/// sealed, part in a log) answers as its records' text ingested afresh does, and takes new
/// events sealed as today's blocks beside the old ones.
fn sealed_by_an_earlier_version_reads_the_same(fixture: &str) {
    let dir = TempDir::new(fixture);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    copy_folder(&fixture, dir.path());
    // What its blocks' text says, ingested afresh, is what their columns must answer.
    let stored = records(dir.path());
    assert_eq!(stored.len(), 1_320);
    let fresh = TempDir::new("sealed-earlier-fresh");
    let (engine, _) = Engine::open_with(fresh.path(), &options().seal(false)).expect("opens");
    let lines: Vec<String> = stored.iter().map(|(_, _, raw)| raw.clone()).collect();
    ingest(&engine, &lines);
    let expected = answers(&engine);
    drop(engine);

    let (engine, report) = Engine::open_with(dir.path(), &options()).expect("opens");
    assert_eq!(report.records, 1_320);
    assert!(report.damage.is_empty(), "{:?}", report.damage);
    assert_eq!(answers(&engine), expected);
    // New events are sealed as today's blocks beside the old ones.
    sealed_again_answers_the_same(dir.path(), engine, &lines);
}
