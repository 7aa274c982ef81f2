//! Issue 13: the index the dashboard reads (`--index`, `SPOOR_INDEX`) and the one its own page
//! views go to (`--meta-index`): an index written by the original Python tracker, read as it is;
//! page views kept out of the applications shown; wrong names refused at start.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use spoor::{Retriever, Window};
use spoor_proto::form::{Form, encode_component};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::dashboard_binary;
use crate::running::Running;

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
            "filters": [],
            "notes": [],
            "applications": [
                {"name": "myapp", "events": 6, "unique_users": 3},
                {"name": "otherapp", "events": 1, "unique_users": 0},
            ],
            // 7 events of 3 users (one without an id); nothing the 30 days before.
            "summary": {
                "current": {"events": 7, "unique_users": 3, "events_per_user": 7.0 / 3.0},
                "previous": {"events": 0, "unique_users": 0, "events_per_user": null},
                "events_change": null,
                "unique_users_change": null,
                "events_per_user_change": null,
            },
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
    assert_eq!(
        spoor.applications(&[], &Window::AllTime).expect("answers"),
        []
    );
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
            .events(spoor_dashboard::META_APPLICATION, &[], &Window::Last24Hours)
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
