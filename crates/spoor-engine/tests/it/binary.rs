//! The `spoor-engine` binary as a user runs it: with no credentials it makes them once and keeps
//! them readable by its owner only; it says where it listens; it serves; SIGTERM stops it
//! gracefully with what it acknowledged on disk, and a restart finds it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::engine_binary;
use spoor_proto::form::Form;
use spoor_proto::rest::SubmitTarget;
use spoor_proto::search::SearchParams;

/// Starts the binary on a free port; returns it and the address it printed.
fn start(data: &std::path::Path) -> (Child, String) {
    let mut child = engine_binary("")
        .args([
            "--data",
            &data.display().to_string(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the binary prints where it listens")
            .expect("utf-8");
        if let Some(url) = line.strip_prefix("spoor-engine listening on http://") {
            break url.trim().to_owned();
        }
    };
    (child, addr)
}

fn terminate(child: &mut Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("the binary stops");
    assert!(exit.success(), "graceful stop exits 0, not {exit:?}");
}

fn client(addr: &str, data: &std::path::Path) -> spoor_splunk::blocking::Client {
    let stored: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data.join("credentials.json")).expect("credentials kept"),
    )
    .expect("json");
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let mut builder = spoor_proto::ConfigBuilder::new();
    builder
        .scheme(spoor_proto::config::Scheme::Http)
        .host(host)
        .port(port.parse().expect("port"))
        .username(stored["username"].as_str().expect("username"))
        .password(stored["password"].as_str().expect("password"));
    spoor_splunk::blocking::Client::new(&builder.build().expect("config")).expect("client")
}

#[test]
#[cfg(unix)]
fn credentials_made_once_graceful_stop_and_restart() {
    use std::os::unix::fs::PermissionsExt;
    let data = std::env::temp_dir().join(format!("spoor-engine-bin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let (mut child, addr) = start(&data);
    let mode = std::fs::metadata(data.join("credentials.json"))
        .expect("credentials file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "owner-only credentials");
    let first = std::fs::read(data.join("credentials.json")).expect("read");
    let c = client(&addr, &data);
    c.create_index("spoor", &Form::new()).expect("index");
    let target = SubmitTarget {
        index: Some("spoor".to_owned()),
        sourcetype: Some("spoor".to_owned()),
        source: None,
        host: None,
    };
    c.submit(
        &target,
        ["2026-11-28T12:00:00.000000Z application=\"shop\" event=\"login\""],
    )
    .expect("stored");
    terminate(&mut child);

    let (mut child, addr) = start(&data);
    assert_eq!(
        std::fs::read(data.join("credentials.json")).expect("read"),
        first,
        "the same credentials after a restart"
    );
    let c = client(&addr, &data);
    let found = c
        .search("search index=spoor | stats count", SearchParams::default())
        .expect("search");
    assert_eq!(found.rows[0].get_str("count"), Some("1"));
    terminate(&mut child);
    std::thread::sleep(Duration::from_millis(10));
    let _ = std::fs::remove_dir_all(&data);
}

/// Runs the binary until it exits and returns its stderr (stdout and stderr piped, as under a
/// service manager or a shell redirect).
fn failing_run(args: &[&str]) -> String {
    let out = engine_binary("")
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    assert!(!out.status.success(), "it fails: {out:?}");
    String::from_utf8(out.stderr).expect("utf-8")
}

/// Issue 12, finding 12: a busy port was reported as a bare "Address already in use", without
/// the address, and piped stderr carried ANSI colour codes.
#[test]
fn a_busy_port_is_named_with_its_cause_and_no_colour_in_a_pipe() {
    let data = std::env::temp_dir().join(format!("spoor-engine-busy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("addr").to_string();
    let stderr = failing_run(&["--data", &data.display().to_string(), "--listen", &addr]);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "the address is named: {stderr}"
    );
    assert!(
        stderr.to_lowercase().contains("address already in use")
            || stderr.to_lowercase().contains("address in use"),
        "the operating system's cause is kept: {stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "no ANSI escapes in a pipe: {stderr:?}"
    );
    drop(taken);
    let _ = std::fs::remove_dir_all(&data);
}

/// Issue 12, finding 12: a store that cannot be opened was reported by its context alone
/// ("cannot open the log of index …"), losing the operating system's reason.
#[test]
fn a_store_that_cannot_open_says_why() {
    let data = std::env::temp_dir().join(format!("spoor-engine-blocked-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).expect("folder");
    // A file where the index's folder belongs: opening fails whoever runs the test (root too).
    std::fs::create_dir_all(data.join("indexes")).expect("indexes");
    std::fs::write(data.join("indexes").join("main"), b"not a folder").expect("file");
    let stderr = failing_run(&[
        "--data",
        &data.display().to_string(),
        "--listen",
        "127.0.0.1:0",
    ]);
    let lower = stderr.to_lowercase();
    assert!(
        lower.contains("os error"),
        "the operating system's error is printed with its context: {stderr}"
    );
    assert!(
        stderr.contains(&data.display().to_string()),
        "the folder is named: {stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "no ANSI escapes in a pipe: {stderr:?}"
    );
    let _ = std::fs::remove_dir_all(&data);
}
