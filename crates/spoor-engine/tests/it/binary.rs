//! The `spoor-engine` binary as a user runs it: with no credentials it makes them once and keeps
//! them readable by its owner only; it says where it listens; it serves; SIGTERM stops it
//! gracefully with what it acknowledged on disk, and a restart finds it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use spoor_proto::form::Form;
use spoor_proto::rest::SubmitTarget;
use spoor_proto::search::SearchParams;

/// Starts the binary on a free port; returns it and the address it printed.
fn start(data: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_spoor-engine"))
        .args([
            "--data",
            &data.display().to_string(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("SPOOR_ENGINE_PASSWORD")
        .env_remove("SPOOR_ENGINE_HEC_TOKEN")
        .env_remove("SPOOR_ENGINE_TOKEN")
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
