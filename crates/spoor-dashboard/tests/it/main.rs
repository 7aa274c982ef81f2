//! The `spoor-dashboard` binary as a user runs it: on the embedded engine with demo data (the
//! README's run command), and pointed at a Splunk (here spoor's engine standing in for one,
//! reached over its REST API like any Splunk).

mod feed;
mod filters;
mod index;
mod intake;
mod journeys;
mod running;
mod siege;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use spoor_engine::server::{Credentials, Server, ServerOptions};
use spoor_engine::{Engine, EventMeta};

/// The `spoor-dashboard` binary as a command, listening, and its embedded engine too, on free
/// loopback ports (the engine's defaults are Splunk's 8089 and 8088, which tests running at once
/// would share); `prelude` is shell run first in the process it becomes (`ulimit -v …`), or empty.
pub(crate) fn dashboard_binary(prelude: &str) -> Command {
    let binary = env!("CARGO_BIN_EXE_spoor-dashboard");
    let mut command = if prelude.is_empty() {
        Command::new(binary)
    } else {
        let mut shell = Command::new("sh");
        shell
            .arg("-c")
            .arg(format!("{prelude} && exec \"$0\" \"$@\""))
            .arg(binary);
        shell
    };
    // The index comes from the flags a test gives, never from the environment.
    command.env_remove("SPOOR_INDEX").args([
        "--listen",
        "127.0.0.1:0",
        "--engine-listen",
        "127.0.0.1:0",
        "--hec-listen",
        "127.0.0.1:0",
    ]);
    command
}

fn start(args: &[&str]) -> (Child, String) {
    let mut child = dashboard_binary("")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the dashboard starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = loop {
        let line = lines.next().expect("it prints its URL").expect("utf-8");
        if let Some(rest) = line.strip_prefix("spoor dashboard: http://") {
            break rest.split('/').next().expect("address").to_owned();
        }
    };
    (child, addr)
}

fn get(addr: &str, path: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).expect("connect");
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut reply = String::new();
    tcp.read_to_string(&mut reply).expect("read");
    let status = reply[9..12].parse().expect("status");
    (status, reply)
}

fn stop(child: &mut Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    assert!(
        child.wait().expect("it stops").success(),
        "graceful stop exits 0"
    );
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("spoor-dash-bin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
#[cfg(unix)]
fn embedded_with_demo_data() {
    let data = temp("embedded");
    let (mut child, addr) = start(&[
        "--data",
        &data.display().to_string(),
        "--demo-events",
        "3000",
    ]);
    let (status, page) = get(&addr, "/applications");
    assert_eq!(status, 200);
    assert!(
        page.contains("href=\"/applications/shop\""),
        "demo applications listed"
    );
    let (status, _) = get(&addr, "/applications/shop?event=login");
    assert_eq!(status, 200);
    stop(&mut child);
    // Seeded once: a restart finds the store full and does not seed again.
    let (mut child, addr) = start(&[
        "--data",
        &data.display().to_string(),
        "--demo-events",
        "3000",
    ]);
    let (_, api) = get(&addr, "/api/application/shop?window=all");
    let body = api.split("\r\n\r\n").nth(1).expect("body");
    let json: serde_json::Value = serde_json::from_str(body).expect("json");
    let total: u64 = json["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["count"].as_u64().expect("count"))
        .sum();
    assert!(
        total > 0 && total < 3000,
        "{total} events of shop, from one seeding"
    );
    stop(&mut child);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
#[cfg(unix)]
fn pointed_at_a_splunk() {
    let dir = temp("splunk");
    let (engine, _) = Engine::open(&dir).expect("engine");
    engine.store().create_index("spoor").expect("index");
    engine
        .store()
        .set_props("spoor", spoor_event::props::SETTINGS.iter().copied())
        .expect("props");
    engine
        .ingest(
            "spoor",
            &EventMeta::new("spoor", "t", "h"),
            "2026-11-27T10:00:00.000000Z application=\"remote\" event=\"login\" distinct_id=\"u1\"",
            time::OffsetDateTime::now_utc(),
        )
        .expect("stored");
    let credentials = Credentials::generate().expect("credentials");
    let running = Server::start(
        Arc::new(engine),
        ServerOptions::new(credentials.clone()).listen("127.0.0.1:0".parse().expect("addr")),
    )
    .expect("server");
    let url = format!("http://{}", running.addr());
    let (mut child, addr) = start(&[
        "--splunk",
        &url,
        "--username",
        &credentials.username,
        "--password",
        credentials.password.expose(),
        "--no-meta",
    ]);
    let (status, page) = get(&addr, "/applications?window=all");
    assert_eq!(status, 200);
    assert!(page.contains(">remote<"), "the Splunk's application listed");
    stop(&mut child);
    drop(running);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 12, finding 12: on a data folder it could not open, the dashboard printed only the
/// context ("cannot open the log of index …") without the operating system's reason, and wrote
/// ANSI colour codes into a pipe.
#[test]
fn a_data_folder_that_cannot_open_is_reported_with_its_cause() {
    let data = std::env::temp_dir().join(format!("spoor-dashboard-blocked-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(data.join("indexes")).expect("folder");
    // A file where the index's folder belongs: opening fails whoever runs the test (root too).
    std::fs::write(data.join("indexes").join("main"), b"not a folder").expect("file");
    let out = dashboard_binary("")
        .args(["--data", &data.display().to_string()])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("the dashboard runs");
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert!(!out.status.success(), "it fails: {stderr}");
    assert!(
        stderr.contains("os error"),
        "the OS error is printed: {stderr}"
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

/// Issue 13: the embedded engine is fed from outside while the dashboard runs. It says where
/// its REST API and HEC listen and where its credentials are kept (made once, owner-only, the
/// same after a restart), and prints a `curl` line that sends an event to HEC without showing
/// the token; that event then shows on the dashboard.
#[test]
#[cfg(unix)]
fn the_embedded_engine_takes_events_from_outside() {
    use std::os::unix::fs::PermissionsExt;
    let data = std::env::temp_dir().join(format!("spoor-dashboard-fed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let start_fed = || {
        let mut child = dashboard_binary("")
            .args([
                "--data",
                &data.display().to_string(),
                "--no-demo",
                "--no-meta",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the dashboard starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (mut engine, mut curl) = (None, None);
        let addr = loop {
            let line = lines.next().expect("it prints its URL").expect("utf-8");
            if line.starts_with("embedded engine: Splunk REST API on http://") {
                engine = Some(line);
            } else if let Some(rest) = line.strip_prefix("send an event: ") {
                curl = Some(rest.to_owned());
            } else if let Some(rest) = line.strip_prefix("spoor dashboard: http://") {
                break rest.split('/').next().expect("address").to_owned();
            }
        };
        (
            child,
            addr,
            engine.expect("the engine's addresses"),
            curl.expect("a curl line"),
        )
    };
    let (mut child, addr, engine, curl) = start_fed();
    let credentials = data.join("credentials.json");
    assert!(
        engine.contains(&credentials.display().to_string()),
        "{engine}"
    );
    let kept = std::fs::read(&credentials).expect("credentials kept");
    let stored: serde_json::Value = serde_json::from_slice(&kept).expect("json");
    let token = stored["hec_token"].as_str().expect("an HEC token");
    assert!(stored["username"].is_string() && stored["password"].is_string());
    let mode = std::fs::metadata(&credentials)
        .expect("file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "owner-only credentials");
    assert!(
        !curl.contains(token),
        "the token is read from the file, not printed"
    );

    if Command::new("curl").arg("--version").output().is_ok() {
        let out = Command::new("sh")
            .args(["-c", &curl])
            .output()
            .expect("sh runs");
        let answer = String::from_utf8_lossy(&out.stdout);
        assert!(
            answer.contains("\"code\":0"),
            "HEC took the event: {answer}"
        );
    } else {
        // Without curl, the same request by hand, with the token the line reads from the file.
        let hec = curl
            .split_whitespace()
            .nth(2)
            .and_then(|url| url.strip_prefix("http://"))
            .and_then(|rest| rest.split('/').next())
            .expect("HEC's address")
            .to_owned();
        let body = r#"{"index":"spoor","sourcetype":"spoor","event":"application=\"myapp\" event=\"signup\" distinct_id=\"u1\""}"#;
        let mut stream = TcpStream::connect(&hec).expect("HEC");
        write!(
            stream,
            "POST /services/collector/event HTTP/1.1\r\nHost: {hec}\r\nAuthorization: Splunk {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("sent");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer");
        assert!(
            answer.contains("\"code\":0"),
            "HEC took the event: {answer}"
        );
    }
    let (status, csv) = get(&addr, "/applications.csv?window=all");
    assert_eq!(status, 200);
    assert!(
        csv.contains("myapp,1,1"),
        "the event is on the dashboard: {csv}"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();

    let (mut child, addr, _, _) = start_fed();
    assert_eq!(
        std::fs::read(&credentials).expect("kept"),
        kept,
        "the same credentials"
    );
    let (status, csv) = get(&addr, "/applications.csv?window=all");
    assert_eq!(status, 200);
    assert!(csv.contains("myapp,1,1"), "kept across a restart: {csv}");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data);
}

/// Every port is bound before the data folder is read: a busy one is named at once, with the
/// flag that changes it, even when the folder could not be opened at all.
#[test]
fn busy_ports_are_said_before_the_data_folder_is_read() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let busy = taken.local_addr().expect("address").to_string();
    // A file where the data folder should be: opening it would fail, with another message.
    let not_a_folder = temp("busy-ports");
    std::fs::write(&not_a_folder, b"not a folder").expect("a file");
    let data = not_a_folder.display().to_string();
    for (flag, says) in [
        ("--listen", "--listen"),
        ("--engine-listen", "--engine-listen"),
        ("--hec-listen", "--hec-listen"),
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_spoor-dashboard"));
        command.args(["--data", &data, "--no-demo"]);
        for other in ["--listen", "--engine-listen", "--hec-listen"] {
            command.args([other, if other == flag { &busy } else { "127.0.0.1:0" }]);
        }
        let out = command.output().expect("the dashboard runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag}: {stderr}");
        assert!(
            stderr.contains(&busy) && stderr.contains(says),
            "{flag}: the busy address and the flag are named: {stderr}"
        );
        assert!(
            !stderr.contains("data folder"),
            "{flag}: the folder was not read first: {stderr}"
        );
    }
    let _ = std::fs::remove_file(&not_a_folder);
}

/// A reader of its output that goes away (`| head -1`, a supervisor that closed the pipe) does
/// not stop the dashboard: it goes on serving instead of panicking on the next line it prints.
#[test]
fn a_closed_output_does_not_stop_it() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = free.local_addr().expect("address").to_string();
    drop(free);
    let data = temp("closed-output");
    let mut child = Command::new(env!("CARGO_BIN_EXE_spoor-dashboard"))
        .args([
            "--data",
            &data.display().to_string(),
            "--no-demo",
            "--no-meta",
        ])
        .args(["--listen", &addr, "--engine-listen", "127.0.0.1:0"])
        .args(["--hec-listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the dashboard starts");
    // Its output is closed before it prints a line.
    drop(child.stdout.take());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if TcpStream::connect(&addr).is_ok() {
            std::thread::sleep(std::time::Duration::from_millis(300));
            break get(&addr, "/healthz").0;
        }
        assert!(
            child.try_wait().expect("status").is_none(),
            "the dashboard stopped"
        );
        assert!(std::time::Instant::now() < deadline, "it never listened");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status, 200);
    assert!(child.try_wait().expect("status").is_none(), "still running");
    stop(&mut child);
    let _ = std::fs::remove_dir_all(&data);
}

/// `--allow-origin` takes origins as browsers write them, and says what is wrong with another.
#[test]
fn a_wrong_origin_is_refused_at_start() {
    let data = temp("wrong-origin");
    let out = dashboard_binary("")
        .args(["--data", &data.display().to_string()])
        .args(["--no-demo", "--allow-origin", "shop.example"])
        .output()
        .expect("the dashboard runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--allow-origin") && stderr.contains("is not an origin"),
        "{stderr}"
    );
    assert!(!data.exists(), "refused before anything is made");
}
