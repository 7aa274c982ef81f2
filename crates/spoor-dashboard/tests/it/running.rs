//! The dashboard binary as the tests that feed it run it: on a fresh data folder, with the
//! addresses it printed (its own, its embedded engine's REST API and HEC), and plain HTTP/1.1.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;
use spoor_proto::form::base64;

use crate::dashboard_binary;

/// The dashboard binary on a fresh data folder, with its addresses and its engine's.
pub(crate) struct Running {
    pub(crate) child: Child,
    /// The dashboard.
    pub(crate) addr: String,
    /// The embedded engine's REST API.
    pub(crate) rest: String,
    /// The embedded engine's HEC.
    pub(crate) hec: String,
    /// What it printed on its last line: the dashboard's address and what it reads.
    pub(crate) banner: String,
    /// The `curl` line it printed, which sends an event to HEC.
    pub(crate) curl: String,
    pub(crate) data: PathBuf,
}

impl Running {
    pub(crate) fn start(name: &str, args: &[&str]) -> Self {
        let data =
            std::env::temp_dir().join(format!("spoor-dash-index-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        let mut child = dashboard_binary("")
            .args(["--data", &data.display().to_string()])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the dashboard starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (mut rest, mut hec, mut curl) = (None, None, None);
        let (addr, banner) = loop {
            let line = lines.next().expect("it prints its URL").expect("utf-8");
            if let Some(tail) = line.strip_prefix("embedded engine: Splunk REST API on http://") {
                rest = tail.split(',').next().map(str::to_owned);
                hec = tail
                    .split("HEC on http://")
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .map(str::to_owned);
            } else if let Some(tail) = line.strip_prefix("send an event: ") {
                curl = Some(tail.to_owned());
            } else if let Some(tail) = line.strip_prefix("spoor dashboard: http://") {
                let addr = tail.split('/').next().expect("address").to_owned();
                break (addr, line);
            }
        };
        // The rest of its output is read, so it never waits on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            addr,
            rest: rest.expect("the engine's REST address"),
            hec: hec.expect("the engine's HEC address"),
            banner,
            curl: curl.expect("a curl line"),
            data,
        }
    }

    /// The engine's admin user name and password, as kept in `DATA/credentials.json`.
    pub(crate) fn credentials(&self) -> (String, String) {
        credentials(&self.data)
    }

    /// A configuration for the embedded engine's REST API, as any Splunk client would use.
    pub(crate) fn config(&self) -> spoor_proto::Config {
        let (username, password) = self.credentials();
        let (host, port) = self.rest.rsplit_once(':').expect("host:port");
        // As the README's "From Rust" writes it.
        spoor_proto::Config::builder()
            .scheme(spoor_proto::config::Scheme::Http)
            .host(host)
            .port(port.parse().expect("a port"))
            .username(username)
            .password(password)
            .build()
            .expect("a configuration")
    }

    /// `GET target` on the dashboard: the status and the body.
    pub(crate) fn get(&self, target: &str) -> (u16, String) {
        http(&self.addr, "GET", target, &[], "")
    }

    /// `GET target` on the dashboard, a 200 with JSON.
    pub(crate) fn json(&self, target: &str) -> Value {
        let (status, body) = self.get(target);
        assert_eq!(status, 200, "GET {target}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {target}: {e}: {body}"))
    }

    /// Waits until the application `app` counts `events` events (delivered and indexed), at
    /// most 30 seconds.
    pub(crate) fn wait_for(&self, app: &str, events: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = self.get(&format!("/api/application/{app}"));
            let api: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let total: u64 = counts(&api).iter().map(|(_, n)| n).sum();
            if status == 200 && total == events {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never counted: {body}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A `POST` to the engine's REST API with the admin's Basic credentials.
    pub(crate) fn post(&self, target: &str, body: &str) -> (u16, String) {
        let (username, password) = self.credentials();
        let basic = format!(
            "Basic {}",
            base64(format!("{username}:{password}").as_bytes())
        );
        http(
            &self.rest,
            "POST",
            target,
            &[("Authorization", &basic)],
            body,
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

pub(crate) fn credentials(data: &Path) -> (String, String) {
    let kept = std::fs::read(data.join("credentials.json")).expect("credentials kept");
    let kept: Value = serde_json::from_slice(&kept).expect("JSON");
    let field = |name: &str| kept[name].as_str().expect("a string").to_owned();
    (field("username"), field("password"))
}

/// One HTTP/1.1 request on a new connection (`Connection: close`): the status and the body.
pub(crate) fn http(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("a read timeout");
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if method == "POST" {
        head.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes()).expect("send the head");
    tcp.write_all(body.as_bytes()).expect("send the body");
    let mut reply = String::new();
    tcp.read_to_string(&mut reply).expect("read the reply");
    let status = reply
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {target}: no status in {reply:?}"));
    let body = reply.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_owned())
}

/// The rows of a JSON list as `(name, count)`, sorted: `tally(&api["events"], "name", "count")`.
pub(crate) fn tally(list: &Value, name: &str, count: &str) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = list
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|row| {
            (
                row[name].as_str().expect("a name").to_owned(),
                row[count].as_u64().expect("a count"),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// `name → count` of an application's events, as `/api/application/{name}` lists them.
pub(crate) fn counts(api: &Value) -> Vec<(String, u64)> {
    tally(&api["events"], "name", "count")
}
