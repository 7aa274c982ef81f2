//! The data folder (issue 12, findings 7, 9 and 10): one process at a time, owner-only files
//! and folders whatever the umask, and a catalog that cannot silently lose the indexes.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use spoor_engine::{Engine, EventMeta, Repair, Store, StoreError, StoreOptions, Window};
use time::macros::datetime;

use crate::support::{TempDir, copy_folder, engine_binary};

const DIR_VAR: &str = "SPOOR_ENGINE_FOLDER_DIR";

fn meta() -> EventMeta {
    EventMeta::new("test", "test", "localhost")
}

fn count(engine: &Engine, index: &str) -> String {
    let query = format!("search index={index} | stats count")
        .parse()
        .expect("query");
    let results = engine.search(&query, &Window::default()).expect("searches");
    results.rows[0][0].clone().expect("a count")
}

/// A fresh folder whose `indexes/shop` holds `n` events (and `catalog.json` lists it).
fn store_with_shop(dir: &Path, n: usize) {
    let (store, _) = Store::open(dir, |_, _| {}).expect("opens");
    store.create_index("shop").expect("index");
    store
        .set_props("legacy", [("TRUNCATE", "100")])
        .expect("props");
    for i in 0..n {
        store
            .ingest(
                "shop",
                &meta(),
                &format!("event {i}"),
                datetime!(2026-11-28 12:00 UTC),
            )
            .expect("stores");
    }
}

/// Waits at most `limit` for the child to exit.
fn wait_for(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The `spoor-engine` binary on a free port under `umask`, its log going to `log`; returns it
/// once it says where it listens.
fn start_binary(data: &Path, umask: &str, log: &Path) -> Child {
    let mut child = engine_binary(&format!("umask {umask}"))
        .args([
            "--data",
            &data.display().to_string(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(fs::File::create(log).expect("log file"))
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(addr) = line.strip_prefix("spoor-engine listening on http://") {
                    break addr.trim().to_owned();
                }
            }
            _ => panic!(
                "the binary stopped before listening: {}",
                fs::read_to_string(log).unwrap_or_default()
            ),
        }
    };
    // An answer means the server runs, so it also heeds SIGTERM.
    let mut socket = TcpStream::connect(&addr).expect("connects");
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    socket
        .write_all(b"GET /services/server/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("asks");
    let mut answer = String::new();
    let _ = socket.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 "),
        "the server answers: {answer}"
    );
    child
}

fn terminate(child: &mut Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = wait_for(child, Duration::from_secs(30)).expect("the binary stops on SIGTERM");
    assert!(exit.success(), "graceful stop exits 0, not {exit:?}");
}

/// Runs the binary on `data` expecting it to refuse to start; returns what it logged.
fn refused_binary(data: &Path, log: &Path) -> String {
    let mut child = engine_binary("")
        .args([
            "--data",
            &data.display().to_string(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(fs::File::create(log).expect("log file"))
        .spawn()
        .expect("the binary starts");
    let Some(status) = wait_for(&mut child, Duration::from_secs(30)) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the binary did not refuse the folder: it kept running");
    };
    assert!(!status.success(), "it exits with a failure");
    fs::read_to_string(log).expect("log")
}

// Finding 7: one process per data folder.

#[test]
fn a_folder_open_in_this_process_is_refused_until_closed() {
    let dir = TempDir::new("lock-here");
    let (engine, _) = Engine::open(dir.path()).expect("opens");
    let pid = std::process::id().to_string();
    for err in [
        Engine::open(dir.path())
            .map(|_| ())
            .expect_err("a second engine"),
        Store::open(dir.path(), |_, _| {})
            .map(|_| ())
            .expect_err("a second store"),
    ] {
        let message = err.to_string();
        assert!(
            message.contains(&dir.path().display().to_string()) && message.contains(&pid),
            "names the folder and the holder: {message}"
        );
    }
    assert!(matches!(
        Store::open(dir.path(), |_, _| {}),
        Err(StoreError::InUse { holder: Some(holder), .. }) if holder == std::process::id()
    ));
    drop(engine);
    let (store, _) = Store::open(dir.path(), |_, _| {}).expect("opens once closed");
    drop(store);
    Engine::open(dir.path()).expect("opens again");
}

#[test]
#[cfg(unix)]
fn a_second_process_on_a_folder_is_refused_at_once() {
    let dir = TempDir::new("lock-binary");
    let logs = TempDir::new("lock-binary-logs");
    let data = dir.path().join("data");
    let mut first = start_binary(&data, "022", &logs.path().join("first.log"));
    let holder = first.id().to_string();

    // Another binary on the same folder stops at once, saying who holds it.
    let started = Instant::now();
    let log = refused_binary(&data, &logs.path().join("second.log"));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "refused at once, not after {:?}",
        started.elapsed()
    );
    assert!(
        log.contains(&data.display().to_string()) && log.contains(&holder),
        "names the folder and the holder's process id: {log}"
    );

    // So does an engine in this process (as the dashboard embeds one).
    let err = Engine::open(&data)
        .map(|_| ())
        .expect_err("the folder is in use");
    assert!(err.to_string().contains(&holder), "{err}");

    terminate(&mut first);
    let (engine, _) = Engine::open(&data).expect("free once the holder stopped");
    drop(engine);
}

// Finding 9: owner-only files and folders, whatever the umask.

/// Every file and folder under `dir` whose mode is not owner-only (0600 files, 0700 folders).
#[cfg(unix)]
fn loose(dir: &Path) -> Vec<(PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(path) = stack.pop() {
        let meta = fs::symlink_metadata(&path).expect("metadata");
        let mode = meta.permissions().mode() & 0o777;
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        if mode != want {
            found.push((path.clone(), mode));
        }
        if meta.is_dir() {
            for entry in fs::read_dir(&path).expect("listing") {
                stack.push(entry.expect("entry").path());
            }
        }
    }
    found
}

/// The child's side of `the_library_makes_owner_only_files_under_any_umask`, run in a child
/// process started under a given umask.
#[test]
#[ignore = "run by `the_library_makes_owner_only_files_under_any_umask` in a child process"]
fn child_writes_a_store() {
    let Some(dir) = std::env::var_os(DIR_VAR) else {
        return;
    };
    let dir = PathBuf::from(dir).join("data");
    // Small segments, so that writes roll over to new segment files.
    let options = StoreOptions::default().segment_bytes(256);
    let (store, _) = Store::open_with(&dir, &options, |_, _| {}).expect("opens");
    store.create_index("shop").expect("index");
    store
        .set_props("legacy", [("TRUNCATE", "100")])
        .expect("props");
    for i in 0..20 {
        store
            .ingest(
                "shop",
                &meta(),
                &format!("event number {i} with some padding to fill segments"),
                datetime!(2026-11-28 12:00 UTC),
            )
            .expect("stores");
    }
    drop(store);
    let (store, _) = Store::open_with(&dir, &options, |_, _| {}).expect("reopens");
    store.create_index("other").expect("index");
}

#[test]
#[cfg(unix)]
fn the_library_makes_owner_only_files_under_any_umask() {
    let exe = std::env::current_exe().expect("test binary");
    for umask in ["000", "077", "022"] {
        let dir = TempDir::new(&format!("umask-{umask}"));
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
            .arg(&exe)
            .args([
                "folder::child_writes_a_store",
                "--exact",
                "--ignored",
                "--test-threads",
                "1",
            ])
            .env(DIR_VAR, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("child runs");
        assert!(
            status.success(),
            "the child wrote its store under umask {umask}"
        );
        let data = dir.path().join("data");
        let segments = fs::read_dir(data.join("indexes").join("shop"))
            .expect("index folder")
            .count();
        assert!(segments > 2, "segments rolled over: {segments}");
        assert_eq!(loose(&data), [], "under umask {umask}");
    }
}

#[test]
#[cfg(unix)]
fn the_binary_makes_owner_only_files_under_any_umask() {
    for umask in ["000", "077"] {
        let dir = TempDir::new(&format!("bin-umask-{umask}"));
        let logs = TempDir::new(&format!("bin-umask-{umask}-logs"));
        let data = dir.path().join("data");
        let mut child = start_binary(&data, umask, &logs.path().join("log"));
        assert!(data.join("credentials.json").is_file(), "credentials made");
        let found = loose(&data);
        terminate(&mut child);
        assert_eq!(found, [], "under umask {umask}");
        assert_eq!(loose(&data), [], "after a stop, under umask {umask}");
    }
}

#[test]
#[cfg(unix)]
fn an_older_folder_is_made_owner_only_and_the_log_says_so() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("older");
    let logs = TempDir::new("older-logs");
    let data = dir.path().join("data");
    store_with_shop(&data, 3);
    fs::write(
        data.join("credentials.json"),
        "{\"username\":\"admin\",\"password\":\"pw\",\"hec_token\":\"t\"}",
    )
    .expect("credentials");
    // What an older version left behind: folders 0755, files 0644.
    let mut stack = vec![data.clone()];
    while let Some(path) = stack.pop() {
        let dir = path.is_dir();
        let mode = if dir { 0o755 } else { 0o644 };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
        if dir {
            stack.extend(
                fs::read_dir(&path)
                    .expect("list")
                    .map(|e| e.expect("entry").path()),
            );
        }
    }
    assert!(!loose(&data).is_empty());

    let log = logs.path().join("log");
    let mut child = start_binary(&data, "022", &log);
    terminate(&mut child);
    assert_eq!(loose(&data), []);
    let log = fs::read_to_string(&log).expect("log");
    assert!(
        log.contains("owner only") && log.contains(&data.display().to_string()),
        "the log says what was tightened: {log}"
    );
}

#[test]
#[cfg(unix)]
fn an_empty_credentials_file_is_explained() {
    let dir = TempDir::new("blank-credentials");
    let logs = TempDir::new("blank-credentials-logs");
    let data = dir.path().join("data");
    fs::create_dir_all(&data).expect("folder");
    let path = data.join("credentials.json");
    fs::write(&path, "").expect("an empty file, as a crash mid-write leaves it");
    let log = refused_binary(&data, &logs.path().join("log"));
    assert!(
        log.contains(&path.display().to_string())
            && log.contains("is empty")
            && log.contains("delete it"),
        "names the file, what is wrong and what to do: {log}"
    );
}

// Finding 10: the catalog cannot silently lose the indexes.

#[test]
fn a_lost_catalog_is_rebuilt_from_the_index_folders() {
    let dir = TempDir::new("lost-catalog");
    store_with_shop(dir.path(), 5);
    fs::remove_file(dir.path().join("catalog.json")).expect("the catalog is lost");

    let (engine, report) = Engine::open(dir.path()).expect("opens");
    assert_eq!(engine.store().indexes(), ["main", "shop"]);
    assert_eq!(count(&engine, "shop"), "5");
    assert_eq!(report.records, 5);
    // It says so, and what could not be recovered.
    let [Repair::CatalogRebuilt { indexes, .. }] = &report.repairs[..] else {
        panic!("one repair: {:?}", report.repairs);
    };
    assert_eq!(indexes, &["shop"]);
    assert!(report.repairs[0].to_string().contains("props"));
    assert!(engine.store().props().is_empty());
    drop(engine);

    // The rebuilt catalog is kept.
    assert!(dir.path().join("catalog.json").is_file());
    let (store, _) = Store::open(dir.path(), |_, _| {}).expect("reopens");
    assert_eq!(store.indexes(), ["main", "shop"]);
}

#[test]
fn a_damaged_catalog_stops_the_open_and_says_what_to_do() {
    let dir = TempDir::new("damaged-catalog");
    store_with_shop(dir.path(), 1);
    let path = dir.path().join("catalog.json");
    for damage in ["", "{\"indexes\": [\"shop\""] {
        fs::write(&path, damage).expect("damage");
        let err = Engine::open(dir.path())
            .map(|_| ())
            .expect_err("a damaged catalog is not an empty one");
        let message = err.to_string();
        assert!(
            message.contains(&path.display().to_string()) && message.contains("move it"),
            "names the file and what to do: {message}"
        );
    }
}

#[test]
fn an_index_created_over_a_folder_of_segments_shows_its_events_at_once() {
    let dir = TempDir::new("adopt-live");
    let elsewhere = TempDir::new("adopt-live-source");
    store_with_shop(elsewhere.path(), 4);
    let (engine, _) = Engine::open(dir.path()).expect("opens");
    // The folder of an index appears while the engine runs (restored from a backup).
    let from = elsewhere.path().join("indexes").join("shop");
    copy_folder(&from, &dir.path().join("indexes").join("shop"));
    assert!(engine.store().create_index("shop").expect("creates"));
    assert_eq!(count(&engine, "shop"), "4");
    engine
        .ingest("shop", &meta(), "one more", datetime!(2026-11-28 12:00 UTC))
        .expect("stores");
    assert_eq!(count(&engine, "shop"), "5");
    drop(engine);
    let (engine, _) = Engine::open(dir.path()).expect("reopens");
    assert_eq!(count(&engine, "shop"), "5");
}

#[test]
fn index_folders_the_catalog_does_not_match_are_reported() {
    let dir = TempDir::new("unlisted");
    let elsewhere = TempDir::new("unlisted-source");
    store_with_shop(elsewhere.path(), 2);
    let (store, _) = Store::open(dir.path(), |_, _| {}).expect("opens");
    store.create_index("gone").expect("index");
    drop(store);
    let indexes = dir.path().join("indexes");
    fs::remove_dir_all(indexes.join("gone")).expect("an index folder is lost");
    // Folders of segments the catalog does not list: one an index name, one not.
    for name in ["shop", "Not An Index"] {
        copy_folder(
            &elsewhere.path().join("indexes").join("shop"),
            &indexes.join(name),
        );
    }

    let (engine, report) = Engine::open(dir.path()).expect("opens");
    assert_eq!(engine.store().indexes(), ["gone", "main", "shop"]);
    assert_eq!(count(&engine, "shop"), "2");
    // (The folders this test made are also made owner-only.)
    let repairs: Vec<_> = report
        .repairs
        .into_iter()
        .filter(|r| !matches!(r, Repair::Tightened { .. }))
        .collect();
    assert_eq!(
        repairs,
        [
            Repair::FolderIgnored(indexes.join("Not An Index")),
            Repair::IndexAdopted {
                name: "shop".to_owned(),
                path: indexes.join("shop"),
            },
            Repair::IndexMissing {
                name: "gone".to_owned(),
                path: indexes.join("gone"),
            },
        ]
    );
    drop(engine);
    // Set right once: the next open finds nothing new but the folder it leaves alone.
    let (_, report) = Store::open(dir.path(), |_, _| {}).expect("reopens");
    assert_eq!(
        report.repairs,
        [Repair::FolderIgnored(indexes.join("Not An Index"))]
    );
}

#[test]
#[cfg(unix)]
fn an_older_folder_is_reported_as_tightened() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("older-report");
    store_with_shop(dir.path(), 1);
    let segment = fs::read_dir(dir.path().join("indexes").join("shop"))
        .expect("folder")
        .next()
        .expect("a segment")
        .expect("entry")
        .path();
    for (path, mode) in [
        (dir.path().to_owned(), 0o755),
        (dir.path().join("catalog.json"), 0o644),
        (segment.clone(), 0o666),
    ] {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
    }
    // A file of the user's own in the folder is not the engine's to change.
    let own = dir.path().join("notes.txt");
    fs::write(&own, "mine").expect("write");
    fs::set_permissions(&own, fs::Permissions::from_mode(0o644)).expect("chmod");

    let (_, report) = Store::open(dir.path(), |_, _| {}).expect("opens");
    let [Repair::Tightened { folder, paths }] = &report.repairs[..] else {
        panic!("one repair: {:?}", report.repairs);
    };
    assert_eq!(folder, dir.path());
    let mut paths = paths.clone();
    paths.sort();
    let mut expected = vec![
        dir.path().to_owned(),
        dir.path().join("catalog.json"),
        segment,
    ];
    expected.sort();
    assert_eq!(paths, expected);
    let mode = fs::metadata(&own).expect("own file").permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
}
