//! Issue 12, finding 8: every mistake a client can make on HEC (`collector`,
//! `collector/event`, `collector/raw`, `collector/ack`) gets a 4xx with the code Splunk gives
//! it, never a 5xx (HEC clients resend a batch that got a 5xx, for ever), and a refused batch
//! stores nothing.

use crate::server_support::{Harness, RawResponse, raw_exchange, raw_http};

const CHANNEL: &str = "0AEEB3E1-6C49-45A8-A2B6-D6D5A1E2D1C0";

/// Sends `body` to `path` with the HEC token and `headers`.
fn send(harness: &Harness, path: &str, headers: &[(&str, &str)], body: &[u8]) -> RawResponse {
    let token = format!("Splunk {}", harness.hec_token());
    let mut all = vec![("Authorization", token.as_str())];
    all.extend_from_slice(headers);
    raw_exchange(harness.addr(), &raw_http("POST", path, &all, body)).expect("a reply")
}

/// The status, HEC code and `invalid-event-number` of a reply.
type Answer = (u16, u64, Option<u64>);

fn reply(response: &RawResponse) -> Answer {
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            response.head,
            String::from_utf8_lossy(&response.body)
        );
    });
    (
        response.status,
        body["code"].as_u64().expect("code"),
        body["invalid-event-number"].as_u64(),
    )
}

#[test]
fn every_client_mistake_on_hec_is_a_4xx_with_splunks_code() {
    let harness = Harness::start("srv-hec-mistakes");
    harness.engine.store().create_index("hec").expect("index");
    let good = r#"{"event":"fine","index":"hec"}"#;
    let long = "h".repeat(65_536);
    let deep = format!(
        r#"{{"event":{}1{},"index":"hec"}}"#,
        "[".repeat(300),
        "]".repeat(300)
    );

    // collector/event (and collector): the first envelope is good, so a batch stored in part
    // would show in the index.
    let mut batches: Vec<(String, Vec<u8>, Answer)> = Vec::new();
    let mut second = |what: &str, envelope: String, code: u64| {
        let body = format!("{good}\n{envelope}").into_bytes();
        batches.push((what.to_owned(), body, (400, code, Some(1))));
    };
    for key in ["host", "source", "sourcetype"] {
        second(
            &format!("{key} over 65,535 bytes"),
            format!(r#"{{"event":"x","index":"hec","{key}":"{long}"}}"#),
            6,
        );
    }
    second(
        "index over 65,535 bytes",
        format!(r#"{{"event":"x","index":"{long}"}}"#),
        7,
    );
    second(
        "an unknown index",
        r#"{"event":"x","index":"nope"}"#.into(),
        7,
    );
    for time in [
        r#""soon""#,
        "-1",
        "1e400",
        r#""1.2.3""#,
        "{}",
        r#""999999999999""#,
    ] {
        second(
            &format!("time {time}"),
            format!(r#"{{"event":"x","index":"hec","time":{time}}}"#),
            6,
        );
    }
    second(
        "a host that is a number",
        r#"{"event":"x","index":"hec","host":3}"#.into(),
        6,
    );
    second(
        "nested fields",
        r#"{"event":"x","index":"hec","fields":{"a":{"b":"c"}}}"#.into(),
        15,
    );
    second(
        "fields as a list",
        r#"{"event":"x","index":"hec","fields":["a"]}"#.into(),
        15,
    );
    second(
        "fields with nested lists",
        r#"{"event":"x","index":"hec","fields":{"a":[["b"]]}}"#.into(),
        15,
    );
    second("no event", r#"{"index":"hec"}"#.into(), 12);
    second("a blank event", r#"{"event":"","index":"hec"}"#.into(), 13);
    second("nesting past any limit", deep, 6);
    second(
        "a lone surrogate",
        r#"{"event":"\ud800","index":"hec"}"#.into(),
        6,
    );
    second("not an object", "[1,2]".into(), 6);
    second("cut short", r#"{"event":"x""#.into(), 6);
    let mut not_utf8 = format!("{good}\n").into_bytes();
    not_utf8.extend_from_slice(b"{\"event\":\"\xff\xfe\",\"index\":\"hec\"}");
    batches.push(("not UTF-8".into(), not_utf8, (400, 6, Some(1))));
    batches.push(("an empty body".into(), b" \n ".to_vec(), (400, 5, None)));
    for path in ["/services/collector/event", "/services/collector"] {
        for (what, body, expected) in &batches {
            let response = send(&harness, path, &[], body);
            assert_eq!(reply(&response), *expected, "{what} on {path}");
        }
    }
    assert_eq!(
        harness.contents("hec").len(),
        0,
        "a refused batch stored events"
    );

    // collector/raw: metadata in the query string.
    let raw = |query: &str, body: &[u8]| {
        let response = send(
            &harness,
            &format!("/services/collector/raw?{query}"),
            &[],
            body,
        );
        reply(&response)
    };
    // Metadata over 65,535 bytes cannot come in a query string: the server refuses a request
    // head that long (431, past the connection's buffer; or 414) before HEC sees it. Still a
    // 4xx, so a HEC client does not resend it.
    for key in ["host", "source", "sourcetype", "index"] {
        let response = send(
            &harness,
            &format!("/services/collector/raw?index=hec&{key}={long}"),
            &[],
            b"a line",
        );
        assert!(
            matches!(response.status, 414 | 431),
            "{key} over 65,535 bytes: {}",
            response.status
        );
    }
    assert_eq!(raw("index=nope", b"a line"), (400, 7, None));
    assert_eq!(
        raw(&format!("index={}", "i".repeat(1000)), b"a line"),
        (400, 7, None)
    );
    assert_eq!(raw("index=hec", b"bad \xff text"), (400, 6, None));
    assert_eq!(raw("index=hec", b"  \n"), (400, 5, None));
    assert_eq!(
        harness.contents("hec").len(),
        0,
        "a refused raw body stored events"
    );

    // Channels and acknowledgements, with acknowledgements off.
    let ack = send(
        &harness,
        "/services/collector/ack",
        &[("X-Splunk-Request-Channel", CHANNEL)],
        br#"{"acks":[0]}"#,
    );
    assert_eq!(reply(&ack), (400, 14, None));
    let bad_channel = send(
        &harness,
        "/services/collector/event",
        &[("X-Splunk-Request-Channel", "not-a-guid")],
        good.as_bytes(),
    );
    assert_eq!(reply(&bad_channel), (400, 11, None));

    // What was right all along is stored.
    assert_eq!(
        reply(&send(
            &harness,
            "/services/collector/event",
            &[],
            good.as_bytes()
        )),
        (200, 0, None)
    );
    assert_eq!(harness.contents("hec").len(), 1);
}

#[test]
fn acknowledgement_mistakes_are_4xx() {
    let harness = Harness::with("srv-hec-ack-mistakes", |o| o.hec_acks(true));
    harness.engine.store().create_index("hec").expect("index");
    let channel = [("X-Splunk-Request-Channel", CHANNEL)];
    let ack = |headers: &[(&str, &str)], body: &[u8]| {
        reply(&send(&harness, "/services/collector/ack", headers, body))
    };
    assert_eq!(ack(&[], br#"{"acks":[0]}"#), (400, 10, None));
    assert_eq!(
        ack(&[("X-Splunk-Request-Channel", "nope")], br#"{"acks":[0]}"#),
        (400, 11, None)
    );
    for body in [
        &b"not json"[..],
        br#"{"acks":[-1]}"#,
        br#"{"acks":["0"]}"#,
        br#"{"acks":[18446744073709551616]}"#,
        br#"{"ack":[0]}"#,
        b"{\"acks\":[0]}\xff",
        b"",
    ] {
        assert_eq!(
            ack(&channel, body),
            (400, 6, None),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    // A channel header that is not text at all.
    let mut request =
        b"POST /services/collector/event HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            .to_vec();
    request
        .extend_from_slice(format!("Authorization: Splunk {}\r\n", harness.hec_token()).as_bytes());
    request.extend_from_slice(b"X-Splunk-Request-Channel: \xc3\xa9\xff\r\n");
    let body = br#"{"event":"x","index":"hec"}"#;
    request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    request.extend_from_slice(body);
    let response = raw_exchange(harness.addr(), &request).expect("a reply");
    assert_eq!(reply(&response), (400, 11, None));
    assert_eq!(harness.contents("hec").len(), 0);
    // The right request still gets its acknowledgement.
    let ok = send(&harness, "/services/collector/event", &channel, body);
    assert_eq!(reply(&ok), (200, 0, None));
    let polled = send(
        &harness,
        "/services/collector/ack",
        &channel,
        br#"{"acks":[0]}"#,
    );
    assert_eq!(polled.status, 200);
    assert_eq!(polled.body, br#"{"acks":{"0":true}}"#);
    assert_eq!(harness.contents("hec").len(), 1);
}
