//! Each example run against spoor's engine, started in this process on a free loopback port
//! over a temporary folder: its output checked against what the engine holds.
//!
//! `track-http` and `ask` are this package's binaries (Cargo builds them for these tests);
//! `forwarder-file` is a workspace of its own, built here with its own lockfile and target
//! folder, so that it is compiled with `spoor-event` alone.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use spoor::{Retriever, Window};
use spoor_engine::Engine;
use spoor_engine::server::{Credentials, Running, Server, ServerOptions};
use spoor_event::Event;

/// The engine, served; its folder goes when the value is dropped.
struct Served {
    running: Option<Running>,
    credentials: Credentials,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Served {
    fn start(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("spoor-examples-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (engine, _) = Engine::open(&dir).expect("the engine opens");
        let credentials = Credentials::generate().expect("credentials");
        let options =
            ServerOptions::new(credentials.clone()).listen("127.0.0.1:0".parse().expect("address"));
        let running = Server::start(Arc::new(engine), options).expect("the server starts");
        let addr = running.addr();
        Self {
            running: Some(running),
            credentials,
            addr,
            dir,
        }
    }

    /// The `SPLUNK_*` variables that point a program at this engine, HEC included.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SPLUNK_SCHEME", "http".to_owned()),
            ("SPLUNK_HOST", self.addr.ip().to_string()),
            ("SPLUNK_PORT", self.addr.port().to_string()),
            ("SPLUNK_USERNAME", self.credentials.username.clone()),
            (
                "SPLUNK_PASSWORD",
                self.credentials.password.expose().to_owned(),
            ),
            ("SPLUNK_HEC_URL", format!("http://{}", self.addr)),
            (
                "SPLUNK_HEC_TOKEN",
                self.credentials.hec_tokens[0].expose().to_owned(),
            ),
        ]
    }

    /// Runs an example with this engine's settings (and no `.splunkrc` of the user's).
    fn run(&self, program: &str, args: &[&str]) -> String {
        let output = Command::new(program)
            .args(args)
            .env("HOME", &self.dir)
            .env_remove("SPLUNKRC")
            .envs(self.env())
            .output()
            .expect("the example starts");
        succeeded(program, &output)
    }

    fn retriever(&self) -> Retriever {
        let config =
            spoor_proto::Config::load(&spoor_proto::ConfigBuilder::new(), self.env(), None)
                .expect("config");
        Retriever::new(&config).expect("retriever")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.shutdown();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The standard output of a program that must have succeeded.
fn succeeded(program: &str, output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{program} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The rows of `ask`'s table: name, events, unique users (the last two columns are numbers).
fn table(text: &str) -> Vec<(String, u64, u64)> {
    text.lines()
        .skip(1)
        .map(|line| {
            let mut cells: Vec<&str> = line.split_whitespace().collect();
            let mut count = || -> u64 {
                let cell = cells.pop().unwrap_or_default();
                cell.parse()
                    .unwrap_or_else(|_| panic!("{cell:?} is no count in {line:?}"))
            };
            let users = count();
            let events = count();
            (cells.join(" "), events, users)
        })
        .collect()
}

/// `ask`'s table of `application`'s events (or of the applications) is the engine's answer.
fn ask_agrees(served: &Served, application: &str) -> Vec<(String, u64, u64)> {
    let printed = table(&served.run(env!("CARGO_BIN_EXE_ask"), &[application]));
    let mut expected: Vec<(String, u64, u64)> = served
        .retriever()
        .events(application, &[], &Window::AllTime)
        .expect("the engine answers")
        .into_iter()
        .map(|e| (e.name, e.events, e.unique_users))
        .collect();
    expected.sort();
    let mut sorted = printed.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "ask {application}");
    let apps = table(&served.run(env!("CARGO_BIN_EXE_ask"), &[]));
    assert!(
        apps.iter().any(|(name, ..)| name == application),
        "{application} among {apps:?}"
    );
    printed
}

#[test]
fn track_http_tracks_every_request_and_ask_prints_them() {
    let served = Served::start("http");
    let out = served.run(env!("CARGO_BIN_EXE_track-http"), &["6"]);
    assert!(out.contains("GET /pricing as u2: HTTP/1.1 200 OK"), "{out}");
    assert!(
        out.contains("tracked 6 page views, sent 6, failed 0"),
        "{out}"
    );
    // Shut down, the tracker had flushed: every request is an event in the engine.
    let rows = ask_agrees(&served, "example-web");
    assert_eq!(rows, [("page view".to_owned(), 6, 2)]);
}

/// The workspace's target folder (where this test's binaries are), for the example's own.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    )
}

#[test]
fn forwarder_file_is_read_back_and_searched_by_the_engine() {
    let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("forwarder-file");
    // Its lockfile, which `--locked` holds the build to, names no crate of spoor's but the
    // encoder: it stands alone.
    let lock = std::fs::read_to_string(package.join("Cargo.lock")).expect("its lockfile");
    let spoor_crates: Vec<&str> = lock
        .lines()
        .filter_map(|l| l.strip_prefix("name = \"spoor"))
        .collect();
    assert_eq!(spoor_crates, ["-event\"", "-example-forwarder-file\""]);

    let served = Served::start("forwarder");
    let folder = served.dir.join("forwarded");
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--locked", "--manifest-path"])
        .arg(package.join("Cargo.toml"))
        .arg("--")
        .arg(&folder)
        .env("CARGO_TARGET_DIR", target_dir().join("forwarder-file"))
        .output()
        .expect("cargo runs");
    let out = succeeded("forwarder-file", &output);
    let written: usize = out
        .strip_prefix("wrote ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {out}"));

    // Every line decodes back to an event, and the stanza is spoor's.
    let text = std::fs::read_to_string(folder.join("events.log")).expect("the file");
    let events: Vec<Event> = text
        .lines()
        .map(|line| Event::decode_line(line).unwrap_or_else(|err| panic!("{line}: {err}")))
        .collect();
    assert_eq!(events.len(), written);
    let props = std::fs::read_to_string(folder.join("props.conf")).expect("props.conf");
    assert_eq!(props, spoor_event::props::stanza("spoor"));
    assert!(out.contains(props.trim_end()), "the stanza is printed too");

    // The indexer, over its REST API: the stanza in its props, then the file as a forwarder
    // sends it, whole.
    let config = spoor_proto::Config::load(&spoor_proto::ConfigBuilder::new(), served.env(), None)
        .expect("config");
    let client = spoor_splunk::blocking::Client::new(&config).expect("client");
    let mut settings = spoor_proto::form::Form::new();
    for (key, value) in props.lines().skip(1).filter_map(|l| l.split_once(" = ")) {
        settings.push(key, value);
    }
    client.props("spoor", &settings).expect("props");
    client
        .create_index(spoor::DEFAULT_INDEX, &spoor_proto::form::Form::new())
        .expect("index");
    let target = spoor_proto::rest::SubmitTarget {
        index: Some(spoor::DEFAULT_INDEX.to_owned()),
        sourcetype: Some("spoor".to_owned()),
        source: Some("/var/log/shop/events.log".to_owned()),
        host: Some("web-1".to_owned()),
    };
    client
        .submit(&target, [text.as_str()])
        .expect("the engine takes the file");

    let rows = ask_agrees(&served, "shop");
    let count = |name: &str| {
        let events = events.iter().filter(|e| e.name() == name);
        let users: std::collections::BTreeSet<_> = events.clone().map(Event::distinct_id).collect();
        (name.to_owned(), events.count() as u64, users.len() as u64)
    };
    let mut expected = vec![count("signup"), count("view pricing"), count("purchase")];
    expected.sort();
    let mut rows = rows;
    rows.sort();
    assert_eq!(rows, expected);
}
