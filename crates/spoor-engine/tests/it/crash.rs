//! A child process ingests with several threads, its small segments sealed in the background as
//! they fill, and is killed with SIGKILL at random moments (while writing, while sealing, and
//! while retention deletes): after each restart every acknowledged event is present exactly
//! once, and nothing past retention comes back.
//!
//! Half the writers write events of today to index `crash`; the other half write events of 1970
//! to index `frozen`, which keeps a day: each of its segments is deleted soon after it is sealed,
//! and a thread seals it and deletes its past every few milliseconds.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use spoor_engine::{DamageKind, EventMeta, Retention, Store, StoreOptions};
use time::OffsetDateTime;

use crate::support::{Lcg, TempDir};

const DIR_VAR: &str = "SPOOR_ENGINE_CRASH_DIR";
const RUN_VAR: &str = "SPOOR_ENGINE_CRASH_RUN";
const KILLS: u64 = 20;
const WRITERS: usize = 4;

/// The child's side: run only when the parent starts this test binary with the variables set.
#[test]
#[ignore = "run by `acknowledged_events_survive_sigkill` in a child process"]
#[allow(
    clippy::disallowed_methods,
    clippy::print_stdout,
    reason = "the child reports to its parent"
)]
fn child_ingests_until_killed() {
    let (Some(dir), Some(run)) = (std::env::var_os(DIR_VAR), std::env::var_os(RUN_VAR)) else {
        return;
    };
    let run = run.to_str().expect("run number").to_owned();
    // Small segments, sealed as soon as they are closed: kills land in the middle of sealing.
    let options = StoreOptions::default()
        .segment_bytes(16 * 1024)
        .seal_idle(Duration::from_millis(1));
    let (store, _) = Store::open_with(&dir, &options, |_, _| {}).expect("opens");
    store.create_index("crash").expect("index");
    let mut day = Retention::default();
    day.set("frozenTimePeriodInSecs", "86400").expect("a day");
    store.create_index_with("frozen", day).expect("index");
    let meta = EventMeta::new("crash", "test", "localhost");
    let stdout = std::sync::Mutex::new(std::io::stdout());
    thread::scope(|scope| {
        for writer in 0..WRITERS {
            let (store, meta, stdout, run) = (&store, &meta, &stdout, &run);
            scope.spawn(move || {
                for batch in 0u64.. {
                    let size = 1 + (batch % 7);
                    let frozen = writer % 2 == 1;
                    let (index, arrival) = if frozen {
                        ("frozen", OffsetDateTime::UNIX_EPOCH)
                    } else {
                        ("crash", OffsetDateTime::now_utc())
                    };
                    let ids: Vec<String> = (0..size)
                        .map(|i| format!("{index}-r{run}-w{writer}-b{batch}-e{i}"))
                        .collect();
                    let text = ids
                        .iter()
                        .map(|id| format!("id={id} padding={}", "x".repeat((batch % 50) as usize)))
                        .collect::<Vec<_>>()
                        .join("\n");
                    store
                        .ingest(index, meta, &text, arrival)
                        .expect("durable write");
                    // Acknowledged: tell the parent.
                    let mut out = stdout.lock().expect("stdout");
                    for id in &ids {
                        writeln!(out, "ack {id}").expect("parent reads");
                    }
                    out.flush().expect("parent reads");
                }
            });
        }
        // Besides the background sealer, which yields to the writers (it runs at a lower
        // priority, so under load it may seal little before the kill): `frozen` is sealed and
        // its past deleted at the writers' priority, as Splunk's roll-hot-buckets does.
        let store = &store;
        scope.spawn(move || {
            loop {
                store.roll_hot_buckets("frozen").expect("seals and deletes");
                thread::sleep(Duration::from_millis(2));
            }
        });
    });
}

#[test]
#[allow(clippy::print_stdout, reason = "the figures go in the closing note")]
fn acknowledged_events_survive_sigkill() {
    let dir = TempDir::new("crash");
    let exe = std::env::current_exe().expect("test binary");
    let mut rng = Lcg(0x5eed);
    let mut acked: Vec<String> = Vec::new();
    let mut cut_bytes = 0;
    // The events of `frozen` left after the last restart's retention, and all ever written.
    let mut frozen_left: HashSet<String> = HashSet::new();
    let mut frozen_written = 0usize;

    for run in 0..KILLS {
        let mut child = Command::new(&exe)
            .args([
                "crash::child_ingests_until_killed",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .args(["--test-threads", "1"])
            .env(DIR_VAR, dir.path())
            .env(RUN_VAR, run.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("child starts");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        let reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(id) = line.strip_prefix("ack ") {
                    let _ = tx.send(id.to_owned());
                }
            }
        });
        // Let it write for a while (the first ack proves it started), then kill it mid-stride.
        let first = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("child acknowledges");
        acked.push(first);
        thread::sleep(Duration::from_millis(5 + rng.below(120)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        reader.join().expect("reader");
        let before = acked.len();
        acked.extend(rx.try_iter());
        // What this run wrote to `frozen` (acknowledged or not, the kill may have come between
        // the write and the acknowledgement) may appear now, besides what was left last time.
        let this_run = format!("frozen-r{run}-");
        let fresh = acked[before - 1..]
            .iter()
            .filter(|id| id.starts_with(&this_run))
            .count();
        frozen_written += fresh;

        let mut seen: HashMap<String, u32> = HashMap::new();
        let (_, report) = Store::open(dir.path(), |_, record| {
            let id = record.raw["id=".len()..]
                .split(' ')
                .next()
                .expect("id")
                .to_owned();
            *seen.entry(id).or_default() += 1;
        })
        .expect("reopens after a crash");
        // A kill leaves at most a write cut short at the end, never damage inside the log.
        for damage in &report.damage {
            assert_eq!(damage.kind, DamageKind::TornTail, "run {run}: {damage}");
            cut_bytes += damage.bytes;
        }

        let missing: Vec<_> = acked
            .iter()
            .filter(|id| id.starts_with("crash-") && !seen.contains_key(*id))
            .collect();
        assert!(
            missing.is_empty(),
            "run {run}: acknowledged but lost: {missing:?}"
        );
        let doubled: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(doubled.is_empty(), "run {run}: stored twice: {doubled:?}");
        let back: Vec<_> = seen
            .keys()
            .filter(|id| id.starts_with("frozen-"))
            .filter(|id| !frozen_left.contains(*id) && !id.starts_with(&this_run))
            .collect();
        assert!(back.is_empty(), "run {run}: deleted, and back: {back:?}");
        // The open above deleted what is past retention before it returned: what is left now.
        frozen_left.clear();
        Store::open(dir.path(), |_, record| {
            if record.index == "frozen" {
                frozen_left.insert(
                    record.raw["id=".len()..]
                        .split(' ')
                        .next()
                        .expect("id")
                        .to_owned(),
                );
            }
        })
        .expect("reopens");
    }
    let sealed = std::fs::read_dir(dir.path().join("indexes").join("crash"))
        .expect("index folder")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".sealed"))
        })
        .count();
    assert!(
        sealed > 0,
        "no segment was sealed: the kills proved nothing of sealing"
    );
    assert!(
        acked.len() > KILLS as usize * 10,
        "the children wrote too little to prove anything: {}",
        acked.len()
    );
    assert!(
        frozen_left.len() < frozen_written / 2,
        "retention deleted too little to prove anything: {} of {frozen_written} left",
        frozen_left.len()
    );
    // Every record after a cut was never acknowledged (checked above); report for the note.
    println!(
        "{} acknowledged events over {KILLS} kills; {cut_bytes} bytes of torn tails cut; \
         {sealed} segments sealed; {} of {frozen_written} events past retention left",
        acked.len(),
        frozen_left.len()
    );
}
