//! Compatibility with clients written outside Rust, against the engine's server started
//! in-process (port 0, a temporary data folder):
//!
//! - the official Splunk SDK for Python (`splunk-sdk`), running `tests/python/splunk_sdk_compat.py`
//!   (the original analytics example's tracker and retriever calls) once against a server that
//!   reports a version before 9.0.2 (the SDK uses the v1 search endpoints) and once after (v2);
//! - npm's `splunk-logging`, Splunk's HEC logger for Node, running `tests/node/hec_batch.js`,
//!   whose batch is then searched for with spoor's own client.
//!
//! The interpreters come from the environment, as `.ci/run` sets it:
//!
//! - `SPOOR_PYTHON`: a Python with `splunk-sdk` installed (a virtual environment's `python`);
//! - `SPOOR_NODE_DIR`: a folder whose `node_modules` has `splunk-logging` (`npm ci` run there);
//!   `node` itself is found on `PATH`, or at `SPOOR_NODE` when set.
//!
//! When one is unset the test fails under CI (`CI` set) and otherwise prints how to set it up
//! and passes, so `cargo test` on a machine with only Rust still passes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use spoor_engine::Engine;
use spoor_engine::server::{Credentials, Running, Server, ServerOptions};
use spoor_proto::form::Form;
use spoor_proto::search::SearchParams;

/// The longest a script may run before it is stopped and the test fails.
const SCRIPT_LIMIT: Duration = Duration::from_secs(300);

/// The repository's root folder.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package is a folder of the repository")
        .to_path_buf()
}

/// The value of `var`, or `None` after saying how to set it up (outside CI). Under CI a missing
/// variable fails the test: the compatibility proof must not pass by being skipped.
#[allow(
    clippy::print_stderr,
    reason = "a skipped test tells the developer how to run it"
)]
fn tool(var: &str, setup: &str) -> Option<String> {
    if let Some(value) = std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
        return Some(value);
    }
    let message = format!(
        "{var} is not set, so this compatibility test cannot run. Set it up from the repository's root with:\n{setup}\n(`.ci/run` does this and runs the tests.)"
    );
    if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
        panic!("CI is set but {message}");
    }
    eprintln!("skipped: {message}");
    None
}

const PYTHON_SETUP: &str = "  python3 -m venv target/python-venv\n  target/python-venv/bin/python -m pip install -r tests/python/requirements.txt\n  export SPOOR_PYTHON=\"$PWD/target/python-venv/bin/python\"";
const NODE_SETUP: &str =
    "  (cd tests/node && npm ci --no-audit --no-fund)\n  export SPOOR_NODE_DIR=\"$PWD/tests/node\"";

/// A data folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "spoor-external-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("create a temporary data folder");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh engine behind a server on a free loopback port.
fn start(dir: &TempDir, options: impl FnOnce(ServerOptions) -> ServerOptions) -> Running {
    let (engine, _) = Engine::open(&dir.0).expect("open the engine");
    let credentials = Credentials::generate().expect("generate credentials");
    let listen = "127.0.0.1:0".parse().expect("an address");
    Server::start(
        Arc::new(engine),
        options(ServerOptions::new(credentials).listen(listen)),
    )
    .expect("start the server")
}

pub(crate) use spoor_testkit::process::Outcome;

/// Runs `command` to its end; one that runs past [`SCRIPT_LIMIT`] is stopped and fails the test.
pub(crate) fn run(command: Command) -> Outcome {
    let shown = format!("{command:?}");
    let outcome = spoor_testkit::process::run(command, SCRIPT_LIMIT);
    assert!(
        !outcome.timed_out,
        "{shown} ran longer than {SCRIPT_LIMIT:?} and was stopped: {}",
        outcome.describe()
    );
    outcome
}

/// The Python script against a server reporting `version`; the SDK must choose `api`.
fn python_sdk(version: &str, api: &str) {
    let Some(python) = tool("SPOOR_PYTHON", PYTHON_SETUP) else {
        return;
    };
    let dir = TempDir::new(&format!("python-{api}"));
    let server = start(&dir, |o| o.version(version));
    let credentials = server.credentials();
    let mut command = Command::new(&python);
    command
        .arg(root().join("tests/python/splunk_sdk_compat.py"))
        .args(["--host", "127.0.0.1", "--port"])
        .arg(server.addr().port().to_string())
        .args(["--username", &credentials.username, "--expect-api", api])
        .env("SPOOR_PASSWORD", credentials.password.expose())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    let outcome = run(command);
    assert!(
        outcome.status.success(),
        "the Splunk SDK for Python failed against a server reporting version {version}: {}",
        outcome.describe()
    );
    assert!(
        outcome.stdout.contains("OK: "),
        "the script ended without its OK line: {}",
        outcome.describe()
    );
    server.shutdown().expect("stop the server");
}

#[test]
fn python_sdk_with_v1_search_endpoints() {
    python_sdk("8.2.0", "v1");
}

#[test]
fn python_sdk_with_v2_search_endpoints() {
    python_sdk("9.4.0", "v2");
}

/// npm's `splunk-logging` sends a batch to the HEC port; spoor's client then finds exactly
/// those events, per event name, and nothing else in the index.
#[test]
fn node_splunk_logging_batch_is_found_by_search() {
    let Some(node_dir) = tool("SPOOR_NODE_DIR", NODE_SETUP) else {
        return;
    };
    let dir = TempDir::new("node");
    let hec_listen = "127.0.0.1:0".parse().expect("an address");
    let server = start(&dir, |o| o.hec_listen(hec_listen));
    let hec = server.hec_addr().expect("the server has a HEC address");
    let config = server.config().build().expect("a client configuration");
    let client = spoor_splunk::blocking::Client::new(&config).expect("a client");
    const INDEX: &str = "hec_node";
    client
        .create_index(INDEX, &Form::new())
        .expect("create the index");

    let node = std::env::var("SPOOR_NODE").unwrap_or_else(|_| "node".to_owned());
    let mut command = Command::new(node);
    command
        .arg(root().join("tests/node/hec_batch.js"))
        .env(
            "NODE_PATH",
            Path::new(&node_dir).join("node_modules").as_os_str(),
        )
        .env("SPOOR_HEC_URL", format!("http://{hec}"))
        .env(
            "SPOOR_HEC_TOKEN",
            server.credentials().hec_tokens[0].expose(),
        )
        .env("SPOOR_HEC_INDEX", INDEX);
    let outcome = run(command);
    assert!(
        outcome.status.success(),
        "splunk-logging's batch failed: {}",
        outcome.describe()
    );
    let report: serde_json::Value = outcome
        .stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON report from the script: {}", outcome.describe()));
    let sent = report["sent"].as_u64().expect("`sent` in the report");
    let expected: BTreeMap<String, u64> = report["counts"]
        .as_object()
        .expect("`counts` in the report")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().expect("a count")))
        .collect();
    assert_eq!(expected.values().sum::<u64>(), sent);
    let application = report["application"].as_str().expect("an application");
    let sourcetype = report["sourcetype"].as_str().expect("a sourcetype");

    // Everything in the index is the batch; by event name, the counts sent.
    let count = |query: &str| -> BTreeMap<String, u64> {
        let found = client
            .search(query, SearchParams::default())
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        found
            .rows
            .iter()
            .map(|row| {
                let key = row.get_str("event").unwrap_or("").to_owned();
                let n = row
                    .get_str("count")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or_else(|| panic!("{query}: a row without a count: {row:?}"));
                (key, n)
            })
            .collect()
    };
    let total = count(&format!("search index={INDEX} | stats count"));
    assert_eq!(
        total,
        BTreeMap::from([(String::new(), sent)]),
        "events in {INDEX}"
    );
    let by_event = count(&format!(
        "search index={INDEX} sourcetype={sourcetype} application={application} | stats count by event"
    ));
    assert_eq!(by_event, expected, "events per name in {INDEX}");
    server.shutdown().expect("stop the server");
}
