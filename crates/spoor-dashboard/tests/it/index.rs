//! Issue 13: the index the dashboard reads (`--index`, `SPOOR_INDEX`) and the one its own page
//! views go to (`--meta-index`): an index written by the original Python tracker, read as it is;
//! page views kept out of the applications shown; wrong names refused at start.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use spoor::{Retriever, Window};
use spoor_proto::form::{Form, base64, encode_component};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::dashboard_binary;

/// The dashboard binary on a fresh data folder, with its addresses and its engine's.
struct Running {
    child: Child,
    /// The dashboard.
    addr: String,
    /// The embedded engine's REST API.
    rest: String,
    /// What it printed on its last line: the dashboard's address and what it reads.
    banner: String,
    /// The `curl` line it printed, which sends an event to HEC.
    curl: String,
    data: PathBuf,
}

impl Running {
    fn start(name: &str, args: &[&str]) -> Self {
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
        let (mut rest, mut curl) = (None, None);
        let (addr, banner) = loop {
            let line = lines.next().expect("it prints its URL").expect("utf-8");
            if let Some(tail) = line.strip_prefix("embedded engine: Splunk REST API on http://") {
                rest = tail.split(',').next().map(str::to_owned);
            } else if let Some(tail) = line.strip_prefix("send an event: ") {
                curl = Some(tail.to_owned());
            } else if let Some(tail) = line.strip_prefix("spoor dashboard: http://") {
                let addr = tail.split('/').next().expect("address").to_owned();
                break (addr, line);
            }
        };
        Self {
            child,
            addr,
            rest: rest.expect("the engine's REST address"),
            banner,
            curl: curl.expect("a curl line"),
            data,
        }
    }

    /// The engine's admin user name and password, as kept in `DATA/credentials.json`.
    fn credentials(&self) -> (String, String) {
        credentials(&self.data)
    }

    /// A configuration for the embedded engine's REST API, as any Splunk client would use.
    fn config(&self) -> spoor_proto::Config {
        let (username, password) = self.credentials();
        let (host, port) = self.rest.rsplit_once(':').expect("host:port");
        let mut builder = spoor_proto::ConfigBuilder::new();
        builder
            .scheme(spoor_proto::config::Scheme::Http)
            .host(host)
            .port(port.parse().expect("a port"))
            .username(username)
            .password(password);
        builder.build().expect("a configuration")
    }

    /// `GET target` on the dashboard: the status and the body.
    fn get(&self, target: &str) -> (u16, String) {
        http(&self.addr, "GET", target, &[], "")
    }

    /// `GET target` on the dashboard, a 200 with JSON.
    fn json(&self, target: &str) -> Value {
        let (status, body) = self.get(target);
        assert_eq!(status, 200, "GET {target}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {target}: {e}: {body}"))
    }

    /// A `POST` to the engine's REST API with the admin's Basic credentials.
    fn post(&self, target: &str, body: &str) -> (u16, String) {
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

fn credentials(data: &Path) -> (String, String) {
    let kept = std::fs::read(data.join("credentials.json")).expect("credentials kept");
    let kept: Value = serde_json::from_slice(&kept).expect("JSON");
    let field = |name: &str| kept[name].as_str().expect("a string").to_owned();
    (field("username"), field("password"))
}

/// One HTTP/1.1 request on a new connection (`Connection: close`): the status and the body.
fn http(
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

/// The original `AnalyticsTracker`'s `track()`, byte for byte (its `input.py`): the time as
/// Python's `isoformat()` (no zone), `key="value" ` pairs, two spaces before the properties
/// and one after each, `"` in string values turned into `'`, other values written with `%s`.
fn original_line(
    when: OffsetDateTime,
    application: &str,
    event: &str,
    distinct_id: Option<&str>,
    properties: &[(&str, &str)],
) -> String {
    let time = when
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]"
        ))
        .expect("a time");
    let mut line = format!("{time} application=\"{application}\" event=\"{event}\" ");
    if let Some(id) = distinct_id {
        line.push_str(&format!("distinct_id=\"{id}\" "));
    }
    line.push(' ');
    for (key, value) in properties {
        line.push_str(&format!(
            "analytics_prop__{key}=\"{}\" ",
            value.replace('"', "'")
        ));
    }
    line
}

/// Issue 13: an index written by the original Python tracker (index and sourcetype
/// `sample_analytics`, its props stanza, one `receivers/simple` POST per event, its exact
/// lines) is read with `--index sample_analytics`: applications, events, properties and values,
/// with and without an event, counted exactly.
#[test]
fn reads_an_index_written_by_the_original_python_tracker() {
    let dashboard = Running::start("original", &["--no-demo", "--index", "sample_analytics"]);
    assert!(
        dashboard.banner.contains("index sample_analytics"),
        "{}",
        dashboard.banner
    );
    assert!(
        dashboard.curl.contains(r#"{"index":"sample_analytics","#),
        "the curl line writes to the index read: {}",
        dashboard.curl
    );
    // The tracker's set-up: the index exists (the dashboard made it at start); the props stanza
    // with the original's LINE_BREAKER (a regex, written with literal backslashes).
    let (status, body) = dashboard.post("/services/configs/conf-props", "name=sample_analytics");
    assert!(
        status == 201 || status == 409,
        "the props stanza: {status} {body}"
    );
    let mut keys = Form::new();
    keys.push("LINE_BREAKER", r"(\r\n-----end-event-----\r\n)")
        .push("CHARSET", "UTF-8")
        .push("SHOULD_LINEMERGE", "false");
    let (status, body) = dashboard.post(
        "/services/configs/conf-props/sample_analytics",
        &keys.encode(),
    );
    assert!(
        (200..300).contains(&status),
        "the props keys: {status} {body}"
    );

    let now = OffsetDateTime::now_utc();
    let ago = |minutes: i64| now - time::Duration::minutes(minutes);
    let lines = [
        original_line(
            ago(50),
            "myapp",
            "login",
            Some("42"),
            &[("username", "bob"), ("plan", "free")],
        ),
        original_line(
            ago(40),
            "myapp",
            "login",
            Some("43"),
            &[("username", "o\"brien"), ("plan", "pro")],
        ),
        original_line(
            ago(30),
            "myapp",
            "login",
            Some("42"),
            &[("username", "bob"), ("plan", "free")],
        ),
        // Non-string values as `%s` writes them: `"3"`, `"True"`.
        original_line(
            ago(20),
            "myapp",
            "purchase",
            Some("42"),
            &[("plan", "pro"), ("amount", "3"), ("gift", "True")],
        ),
        original_line(
            ago(15),
            "myapp",
            "purchase",
            Some("44"),
            &[("plan", "pro"), ("amount", "10"), ("gift", "False")],
        ),
        original_line(ago(10), "myapp", "logout", Some("43"), &[]),
        original_line(ago(5), "otherapp", "view", None, &[("page", "/")]),
    ];
    assert!(
        lines[0].ends_with(
            "distinct_id=\"42\"  analytics_prop__username=\"bob\" analytics_prop__plan=\"free\" "
        ),
        "{}",
        lines[0]
    );
    assert!(lines[5].ends_with("distinct_id=\"43\"  "), "{}", lines[5]);
    for line in &lines {
        let (status, body) = dashboard.post(
            "/services/receivers/simple?index=sample_analytics&sourcetype=sample_analytics",
            line,
        );
        assert_eq!(status, 200, "{line}: {body}");
    }

    assert_eq!(
        dashboard.json("/api/applications"),
        json!({
            "index": "sample_analytics",
            "window": "30d",
            "notes": [],
            "applications": [
                {"name": "myapp", "events": 6, "unique_users": 3},
                {"name": "otherapp", "events": 1, "unique_users": 0},
            ],
        })
    );
    let app = dashboard.json("/api/application/myapp");
    assert_eq!(
        app["events"],
        json!([
            {"name": "login", "count": 3, "unique_users": 2},
            {"name": "purchase", "count": 2, "unique_users": 2},
            {"name": "logout", "count": 1, "unique_users": 1},
        ])
    );
    assert_eq!(
        app["properties"],
        json!([
            {"name": "amount", "distinct_values": 2},
            {"name": "gift", "distinct_values": 2},
            {"name": "plan", "distinct_values": 2},
            {"name": "username", "distinct_values": 2},
        ]),
        "the properties of all events"
    );
    assert_eq!(app["values"], json!(null));
    let total = |series: &Value| -> Vec<(String, i64)> {
        series
            .as_array()
            .expect("series")
            .iter()
            .map(|s| {
                let points = s["data"].as_array().expect("points");
                let sum = points.iter().map(|p| p[1].as_i64().expect("a count")).sum();
                (s["label"].as_str().expect("a label").to_owned(), sum)
            })
            .collect()
    };
    assert_eq!(
        total(&app["data"]),
        [
            ("login".to_owned(), 3),
            ("purchase".to_owned(), 2),
            ("logout".to_owned(), 1)
        ]
    );

    let login = dashboard.json("/api/application/myapp?event_name=login");
    assert_eq!(
        login["properties"],
        json!([
            {"name": "plan", "distinct_values": 2},
            {"name": "username", "distinct_values": 2},
        ])
    );
    // A property without an event: all events of the application, as the original.
    let plan = dashboard.json("/api/application/myapp?property=plan");
    assert_eq!(
        plan["values"],
        json!([{"value": "pro", "count": 3}, {"value": "free", "count": 2}])
    );
    assert_eq!(
        total(&plan["data"]),
        [("pro".to_owned(), 3), ("free".to_owned(), 2)]
    );
    let login_plan = dashboard.json("/api/application/myapp?event_name=login&property=plan");
    assert_eq!(
        login_plan["values"],
        json!([{"value": "free", "count": 2}, {"value": "pro", "count": 1}])
    );
    let gift = dashboard.json("/api/application/myapp?event_name=purchase&property=gift");
    assert_eq!(
        gift["values"],
        json!([{"value": "False", "count": 1}, {"value": "True", "count": 1}])
    );
    let users = dashboard.json("/api/application/myapp?property=username");
    assert_eq!(
        users["values"],
        json!([{"value": "bob", "count": 2}, {"value": "o'brien", "count": 1}])
    );
    // The page says which index it reads.
    let (status, page) = dashboard.get("/applications/myapp?property=plan");
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("index <code>sample_analytics</code>"),
        "{page}"
    );
    // Nothing of it in spoor's own index.
    let spoor = Retriever::new(&dashboard.config()).expect("a retriever");
    assert_eq!(spoor.applications(&Window::AllTime).expect("answers"), []);
}

/// Issue 13: with the default flags, the dashboard's page views go to `spoor_meta`, made at
/// start: they are not listed among the applications (they were, as `spoor-dashboard`, in the
/// index read), and they are all in their own index.
#[test]
fn page_views_go_to_their_own_index() {
    let dashboard = Running::start("meta", &["--demo-events", "300"]);
    assert!(
        dashboard
            .banner
            .contains("index spoor, page views in spoor_meta"),
        "{}",
        dashboard.banner
    );
    for target in [
        "/applications",
        "/applications/shop",
        "/api/application/shop?event_name=login",
    ] {
        let (status, body) = dashboard.get(target);
        assert_eq!(status, 200, "GET {target}: {body}");
    }
    // The page views arrive in their own index (the tracker sends every second or so).
    let meta = Retriever::with_index(&dashboard.config(), "spoor_meta").expect("a retriever");
    let started = Instant::now();
    let views = loop {
        let views: Vec<(String, u64)> = meta
            .events(spoor_dashboard::META_APPLICATION, &Window::Last24Hours)
            .expect("the meta index answers")
            .into_iter()
            .map(|e| (e.name, e.events))
            .collect();
        if views.iter().map(|(_, n)| n).sum::<u64>() >= 3
            || started.elapsed() > Duration::from_secs(30)
        {
            break views;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        views,
        [
            ("api_app_details".to_owned(), 1),
            ("app_details".to_owned(), 1),
            ("list_applications".to_owned(), 1)
        ]
    );

    let apps = dashboard.json("/api/applications");
    let names: Vec<&str> = apps["applications"]
        .as_array()
        .expect("applications")
        .iter()
        .map(|a| a["name"].as_str().expect("a name"))
        .collect();
    assert!(names.contains(&"shop"), "the demo is listed: {names:?}");
    assert!(
        !names.contains(&spoor_dashboard::META_APPLICATION),
        "{names:?}"
    );
    let (status, page) = dashboard.get("/applications");
    assert_eq!(status, 200);
    assert!(page.contains("href=\"/applications/shop"), "{page}");
    assert!(
        !page.contains(&format!(
            "href=\"/applications/{}",
            encode_component(spoor_dashboard::META_APPLICATION)
        )),
        "{page}"
    );
}

/// Issue 13: a name Splunk would refuse, or page views sent to the index read, stop the
/// dashboard at start with a message saying what to do; `SPOOR_INDEX` names the index too.
#[test]
fn wrong_index_names_are_refused_at_start() {
    let data = std::env::temp_dir().join(format!("spoor-dash-index-bad-{}", std::process::id()));
    let run = |args: &[&str], env: Option<&str>| {
        let mut command = dashboard_binary("");
        command
            .args(["--data", &data.display().to_string(), "--no-demo"])
            .args(args)
            .stdin(Stdio::null());
        if let Some(index) = env {
            command.env("SPOOR_INDEX", index);
        }
        let out = command.output().expect("the dashboard runs");
        assert!(!out.status.success(), "{args:?} {env:?} is refused");
        String::from_utf8(out.stderr).expect("utf-8")
    };
    for bad in ["Sample", "_internal", "-x", "my index"] {
        let said = run(&[&format!("--index={bad}")], None);
        assert!(
            said.contains("--index") && said.contains("is not an index name Splunk takes"),
            "{said}"
        );
    }
    let said = run(&["--meta-index", "Meta"], None);
    assert!(said.contains("--meta-index"), "{said}");
    let said = run(&[], Some("Bad Name"));
    assert!(said.contains("is not an index name Splunk takes"), "{said}");
    let said = run(&["--index", "Flag"], Some("fine"));
    assert!(
        said.contains("\"Flag\""),
        "the flag wins over the variable: {said}"
    );
    for (args, env) in [
        (&["--index", "spoor_meta"][..], None),
        (&[][..], Some("spoor_meta")),
    ] {
        let said = run(args, env);
        assert!(
            said.contains("--meta-index \"spoor_meta\" is the index the dashboard reads"),
            "{said}"
        );
    }
    let _ = std::fs::remove_dir_all(&data);
}
