//! Filters on properties (`filter=`, issue 14) through the dashboard binary: events with known
//! properties sent with spoor's Tracker, then exact counts from the JSON and CSV routes with
//! each form of filter and with none, a 400 that says what to write for a bad one, and the
//! page's filter bar: chips, links that keep the filters, and values that add one.

use std::time::Duration;

use serde_json::Value;
use spoor::Tracker;

use crate::running::{Running, counts, tally};

/// What the test sends, to the application `shop`: `(event, user, plan, amount)`.
const EVENTS: [(&str, &str, Option<&str>, Option<i64>); 10] = [
    ("purchase", "u1", Some("pro"), Some(5)),
    ("purchase", "u2", Some("pro"), Some(15)),
    ("purchase", "u3", Some("team"), Some(25)),
    ("purchase", "u4", Some("free"), Some(50)),
    ("purchase", "u5", None, Some(8)),
    ("purchase", "u1", Some("pro"), Some(10)),
    ("login", "u1", Some("pro"), None),
    ("login", "u2", Some("free"), None),
    ("login", "u6", None, None),
    // A value the filter syntax must escape: `|` and `\`.
    ("login", "u7", Some(r"a|b\c"), None),
];

fn pairs(expected: &[(&str, u64)]) -> Vec<(String, u64)> {
    let mut pairs: Vec<(String, u64)> = expected
        .iter()
        .map(|(name, n)| ((*name).to_owned(), *n))
        .collect();
    pairs.sort();
    pairs
}

/// A filter's text as a query parameter.
fn param(filter: &str) -> String {
    format!("filter={}", spoor_proto::form::encode_component(filter))
}

/// The `href`s of a page, unescaped as a browser reads them.
fn links(page: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.replace("&amp;", "&"))
        .collect()
}

fn send(dash: &Running) {
    let tracker = Tracker::new(&dash.config(), "shop").expect("a tracker");
    for (event, user, plan, amount) in EVENTS {
        let mut properties: Vec<(&str, spoor::Value)> = Vec::new();
        if let Some(plan) = plan {
            properties.push(("plan", plan.into()));
        }
        if let Some(amount) = amount {
            properties.push(("amount", amount.into()));
        }
        tracker
            .track(event, Some(user), properties)
            .expect("tracked");
    }
    tracker
        .shutdown(Duration::from_secs(10))
        .expect("delivered");
    dash.wait_for("shop", EVENTS.len() as u64);
}

#[test]
fn filters_narrow_every_route_and_the_page_keeps_them() {
    let dash = Running::start("filters", &["--no-demo", "--no-meta"]);
    send(&dash);

    // Each form of filter, and two together (ANDed), counted exactly.
    for (filters, expected) in [
        (&[][..], &[("purchase", 6), ("login", 4)][..]),
        (&["plan=pro"], &[("purchase", 3), ("login", 1)]),
        (&["plan!=pro"], &[("purchase", 2), ("login", 2)]),
        (&["plan=pro|team"], &[("purchase", 4), ("login", 1)]),
        (&["plan!=pro|free"], &[("purchase", 1), ("login", 1)]),
        (&["amount<10"], &[("purchase", 2)]),
        (&["amount>=10"], &[("purchase", 4)]),
        (&["plan=*"], &[("purchase", 5), ("login", 3)]),
        (&["plan!=*"], &[("purchase", 1), ("login", 1)]),
        (&["plan=pro", "amount>=10"], &[("purchase", 2)]),
        (&[r"plan=a\|b\\c"], &[("login", 1)]),
    ] {
        let query: Vec<String> = filters.iter().map(|f| param(f)).collect();
        let api = dash.json(&format!("/api/application/shop?{}", query.join("&")));
        assert_eq!(counts(&api), pairs(expected), "{filters:?}");
        assert_eq!(
            api["filters"],
            serde_json::json!(filters),
            "said back as written"
        );
        let events: u64 = expected.iter().map(|(_, n)| n).sum();
        assert_eq!(api["summary"]["current"]["events"], events, "{filters:?}");
    }

    // The other routes: the list, values, users, a user's timeline, numbers and CSV.
    let pro = param("plan=pro");
    let list = dash.json(&format!("/api/applications?{pro}"));
    assert_eq!(list["applications"][0]["events"], 4, "{list}");
    assert_eq!(list["summary"]["current"]["unique_users"], 2, "{list}");
    let values = dash.json(&format!(
        "/api/application/shop?property=plan&{}",
        param("amount>=10")
    ));
    assert_eq!(
        tally(&values["values"], "value", "count"),
        pairs(&[("free", 1), ("pro", 2), ("team", 1)])
    );
    let users = dash.json(&format!("/api/application/shop/users?{pro}"));
    assert_eq!(
        users["users"],
        serde_json::json!([{"distinct_id": "u1", "events": 3}, {"distinct_id": "u2", "events": 1}])
    );
    let timeline = dash.json(&format!(
        "/api/application/shop/users/u1?{}",
        param("amount>=10")
    ));
    assert_eq!(timeline["events"].as_array().map(Vec::len), Some(1));
    let numbers = dash.json(&format!(
        "/api/application/shop/numbers?event=purchase&property=amount&{pro}"
    ));
    let sum: f64 = numbers["data"][0]["data"]
        .as_array()
        .expect("points")
        .iter()
        .filter_map(|p| p[1].as_f64())
        .sum();
    assert!((sum - 30.0).abs() < 1e-9, "5 + 15 + 10: {numbers}");
    let (status, csv) = dash.get(&format!("/applications/shop/events.csv?{pro}"));
    assert_eq!(status, 200);
    let body = csv.split("\r\n\r\n").last().unwrap_or(&csv);
    assert!(body.contains("purchase,3,2"), "{csv}");
    assert!(body.contains("login,1,1"), "{csv}");
    // Filters no event passes leave an application that exists: empty, not a 404.
    let none = dash.json(&format!(
        "/api/application/shop?{}",
        param("plan=enterprise")
    ));
    assert_eq!(counts(&none), []);
    let (status, page) = dash.get(&format!("/applications/shop?{}", param("plan=enterprise")));
    assert_eq!(status, 200);
    assert!(
        page.contains(
            "No events in this window<span class=\"filtered\"> · plan=enterprise</span>."
        ),
        "{page}"
    );

    // A bad filter is a 400 that says which and what to write, on JSON, pages and CSV.
    let (status, body) = dash.get(&format!(
        "/api/application/shop?{pro}&{}",
        param("amount<ten")
    ));
    assert_eq!(status, 400, "{body}");
    let error: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(error["parameter"], "filter");
    assert_eq!(error["value"], "amount<ten");
    let text = error["error"].as_str().expect("a message");
    assert!(
        text.contains("amount<ten") && text.contains("write a number like 10"),
        "{text}"
    );
    let (status, page) = dash.get(&format!("/applications/shop?{pro}&filter=plan"));
    assert_eq!(status, 400);
    assert!(page.contains("has no operator: write key=value"), "{page}");
    assert!(
        links(&page).contains(&format!("/applications/shop?{pro}")),
        "a way out keeps the good filter: {page}"
    );
    let (status, _) = dash.get("/applications/shop/values.csv?property=plan&filter=plan%3D");
    assert_eq!(status, 400);

    // The page: chips with remove links, a clear link, the add form keeping the view, every
    // link keeping the filters, and what the charts and tables are filtered to.
    let amount = param("amount>=10");
    let (status, page) = dash.get(&format!("/applications/shop?property=plan&{amount}"));
    assert_eq!(status, 200);
    assert_eq!(page.matches("<li class=\"chip\">").count(), 1, "{page}");
    assert!(page.contains("amount&gt;=10"), "the chip says the filter");
    assert!(
        page.contains("Filtered: amount&gt;=10"),
        "the charts say it"
    );
    let hrefs = links(&page);
    assert!(
        hrefs.contains(&"/applications/shop?property=plan".to_owned()),
        "remove and clear lead to the page without it"
    );
    // Every link the page makes but the header's and the two that drop it.
    for href in hrefs.iter().filter(|h| {
        h.starts_with("/applications/") && *h != "/applications/shop?property=plan"
            || h.starts_with("/applications?")
    }) {
        assert!(href.contains(&amount), "{href} keeps the filter");
    }
    assert!(
        hrefs.contains(&format!(
            "/applications/shop?window=24h&property=plan&{amount}"
        )),
        "the window picker keeps it"
    );
    assert!(
        hrefs.contains(&format!(
            "/applications/shop/values.csv?property=plan&{amount}"
        )),
        "CSV links keep it"
    );
    assert!(
        hrefs.contains(&format!("/applications/shop/users/u2?{amount}")),
        "user ids link to their timeline, filtered"
    );
    assert!(
        page.contains("<input type=\"hidden\" name=\"filter\" value=\"amount&gt;=10\">"),
        "the forms send the filter again"
    );
    // A value adds its filter: the same page, narrowed to it.
    let pro_link = format!("/applications/shop?property=plan&{amount}&{pro}");
    assert_eq!(
        hrefs.iter().filter(|h| **h == pro_link).count(),
        2,
        "the value pro and its name in the chart's legend link to {pro_link}"
    );
    let narrowed = dash.json(&pro_link.replace("/applications/", "/api/application/"));
    assert_eq!(counts(&narrowed), pairs(&[("purchase", 2)]));

    // A value the syntax escapes links to a filter that reads back as itself.
    let (_, page) = dash.get("/applications/shop?event=login&property=plan");
    let escaped = param(r"plan=a\|b\\c");
    let link = links(&page)
        .into_iter()
        .find(|h| h.ends_with(&escaped))
        .unwrap_or_else(|| panic!("a link adding {escaped}: {page}"));
    let narrowed = dash.json(&link.replace("/applications/", "/api/application/"));
    assert_eq!(counts(&narrowed), pairs(&[("login", 1)]));

    // The user timeline page has the bar too, and its links keep the filters.
    let (status, page) = dash.get(&format!("/applications/shop/users/u1?{pro}"));
    assert_eq!(status, 200);
    assert_eq!(page.matches("<li class=\"chip\">").count(), 1);
    assert!(
        links(&page).contains(&format!("/applications/shop?event=purchase&{pro}")),
        "{page}"
    );
}
