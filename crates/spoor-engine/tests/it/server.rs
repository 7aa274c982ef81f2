//! The server against `spoor-splunk`, with both drivers: every endpoint, both output modes
//! (XML checked to parse and to say what JSON says), and the error paths with Splunk's statuses
//! and bodies. Each scenario is written once, generic over the [`Driver`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use http::{Method, Request, Response, StatusCode};
use spoor_proto::eai::parse_feed;
use spoor_proto::form::Form;
use spoor_proto::hec::{
    Batch, Hec, HecCode, parse_ack_reply, parse_event_reply, parse_health_reply,
};
use spoor_proto::rest::{
    SubmitTarget, parse_index, parse_indexes, parse_login, parse_server_info, parse_submit_receipt,
};
use spoor_proto::search::{
    ExecMode, ExportItem, JobStatus, SearchParams, parse_job_status, parse_results, parse_sid,
};
use spoor_proto::{Error, Level, SearchApi, Service, api_error};

use crate::server_support::xml::Fields;
use crate::server_support::{
    Blocking, Driver, Harness, Tokio, as_xml, body_text, raw_exchange, raw_half_closed,
    raw_request, with_authorization, xml,
};

fn json_rows(response: &Response<Vec<u8>>) -> Vec<Fields> {
    let page = parse_results(response).expect("a JSON results page");
    page.rows
        .into_iter()
        .map(|row| {
            row.into_fields()
                .into_iter()
                .map(|(k, v)| (k, v.values().to_vec()))
                .collect()
        })
        .collect()
}

fn xml_rows(response: &Response<Vec<u8>>) -> Vec<Fields> {
    assert_content_type(response, "text/xml");
    xml::results(body_text(response)).expect("XML results").1
}

fn assert_content_type(response: &Response<Vec<u8>>, wanted: &str) {
    let got = response.headers()[http::header::CONTENT_TYPE]
        .to_str()
        .expect("content type");
    assert!(got.starts_with(wanted), "{got} is not {wanted}");
}

/// The error a reply carries: its status and first message, checked in both modes alike.
fn assert_error(response: &Response<Vec<u8>>, status: u16, level: &Level, text: &str) {
    assert_eq!(
        response.status().as_u16(),
        status,
        "{}",
        body_text(response)
    );
    let error = api_error(response.status(), response.body());
    let message = error.messages().first().expect("a message");
    assert_eq!((&message.level, message.text.as_str()), (level, text));
    if response.headers()[http::header::CONTENT_TYPE]
        .as_bytes()
        .starts_with(b"text/xml")
    {
        xml::parse(body_text(response)).expect("well-formed XML");
    } else {
        assert!(!body_text(response).contains('\n'), "JSON on one line");
    }
}

/// Sends a request in JSON and in XML, checks the XML is well-formed, and hands both over.
fn both_modes<D: Driver>(
    client: &D,
    request: &Request<Vec<u8>>,
) -> (Response<Vec<u8>>, Response<Vec<u8>>) {
    let json = client.send(request.clone());
    let xml = client.send(as_xml(request.clone()));
    assert_content_type(&json, "application/json");
    assert_content_type(&xml, "text/xml");
    if !xml.body().is_empty() {
        xml::parse(body_text(&xml)).unwrap_or_else(|e| panic!("{e}: {}", body_text(&xml)));
    }
    (json, xml)
}

fn connect<D: Driver>(harness: &Harness) -> D {
    let client = D::connect(&harness.config());
    client.login().expect("login");
    client
}

fn target(index: &str, sourcetype: &str) -> SubmitTarget {
    SubmitTarget {
        index: Some(index.to_owned()),
        sourcetype: Some(sourcetype.to_owned()),
        ..SubmitTarget::default()
    }
}

fn count<D: Driver>(client: &D, query: &str) -> String {
    let found = client
        .search(query, SearchParams::default())
        .expect("search");
    found.rows[0].get_str("count").expect("count").to_owned()
}

fn form(pairs: &[(&str, &str)]) -> Form {
    let mut form = Form::new();
    for (k, v) in pairs {
        form.push(*k, *v);
    }
    form
}

fn login_info_and_indexes<D: Driver>() {
    let harness = Harness::start("srv-rest");
    let client = connect::<D>(&harness);

    // Login: the XML reply every version gives, and a wrong password.
    let login = client.send(client.service().login_request().expect("request"));
    assert_content_type(&login, "text/xml");
    parse_login(&login).expect("a session key");
    let mut wrong = harness.running.config();
    wrong.password("not-the-password");
    let denied = D::connect(&wrong.build().expect("config"))
        .login()
        .expect_err("a wrong password");
    assert_eq!(denied.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(denied.messages()[0].text, "Login failed");

    // server/info, in both modes.
    let info = client.server_info().expect("server info");
    assert_eq!(
        (info.version.as_str(), info.search_api()),
        ("9.4.0", SearchApi::V2)
    );
    let (json, xml) = both_modes(
        &client,
        &client.service().server_info_request().expect("request"),
    );
    assert_eq!(parse_server_info(&json).expect("json").version, "9.4.0");
    assert_eq!(parse_server_info(&xml).expect("xml").version, "9.4.0");

    // Indexes: list, create, get, and their errors.
    let names =
        |list: Vec<spoor_proto::rest::Index>| list.into_iter().map(|i| i.name).collect::<Vec<_>>();
    assert!(names(client.indexes().expect("list")).contains(&"main".to_owned()));
    let created = client.create_index("web", &Form::new()).expect("create");
    assert_eq!(created.name, "web");
    let again = client
        .create_index("web", &Form::new())
        .expect_err("it exists");
    assert_eq!(again.status(), Some(StatusCode::CONFLICT));
    assert_eq!(
        again.messages()[0].text,
        "In handler 'indexes': Index name=web already exists"
    );
    let (json, xml) = both_modes(
        &client,
        &client.service().list_indexes_request().expect("request"),
    );
    let listed = names(parse_indexes(&json).expect("json"));
    assert!(listed.contains(&"web".to_owned()) && listed.contains(&"main".to_owned()));
    assert_eq!(names(parse_indexes(&xml).expect("xml")), listed);
    for entry in parse_feed(xml.body()).expect("feed").entries {
        assert!(!entry.name.is_empty() && entry.link("alternate").is_some());
    }
    let (json, xml) = both_modes(
        &client,
        &client.service().get_index_request("web").expect("request"),
    );
    assert_eq!(parse_index(&json).expect("json").name, "web");
    assert_eq!(parse_index(&xml).expect("xml").name, "web");
    let (json, xml) = both_modes(
        &client,
        &client.service().get_index_request("nope").expect("request"),
    );
    for response in [&json, &xml] {
        assert_error(
            response,
            404,
            &Level::Error,
            "In handler 'indexes': Could not find object id=nope",
        );
    }
    // Both namespaces, trailing slashes.
    for path in [
        "/services/data/indexes/web/?output_mode=json",
        "/servicesNS/nobody/search/data/indexes/web?output_mode=json",
        "/servicesNS/-/-/data/indexes/web/?output_mode=json",
    ] {
        let response = client.rest(Method::GET, path, None);
        assert_eq!(parse_index(&response).expect(path).name, "web");
    }
}

/// Retention over REST as Splunk's clients set it: at creation and by editing the index, read
/// back in both modes; a bad value changes nothing.
fn index_retention<D: Driver>() {
    let harness = Harness::start("srv-retention");
    let client = connect::<D>(&harness);
    let created = client
        .create_index("kept", &form(&[("frozenTimePeriodInSecs", "86400")]))
        .expect("create");
    assert_eq!(
        created.entry.get_u64("frozenTimePeriodInSecs"),
        Some(86_400)
    );
    assert_eq!(created.entry.get_u64("maxTotalDataSizeMB"), Some(500_000));

    let refused = client
        .create_index("bad", &form(&[("maxTotalDataSizeMB", "lots")]))
        .expect_err("not a number");
    assert_eq!(refused.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(
        refused.messages()[0].text,
        "In handler 'indexes': maxTotalDataSizeMB=\"lots\" is not a whole number of MiB: give \
         one from 0 to 18446744073709551615"
    );
    let missing = client.send(client.service().get_index_request("bad").expect("request"));
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // Edited: the setting given changes, the other stays; other settings of Splunk's are taken.
    let edited = client.rest(
        Method::POST,
        "/services/data/indexes/kept?output_mode=json",
        Some("maxTotalDataSizeMB=10&maxHotBuckets=3"),
    );
    assert_eq!(edited.status(), StatusCode::OK, "{}", body_text(&edited));
    let (json, xml) = both_modes(
        &client,
        &client.service().get_index_request("kept").expect("request"),
    );
    for response in [&json, &xml] {
        let index = parse_index(response).expect("an index");
        assert_eq!(index.entry.get_u64("maxTotalDataSizeMB"), Some(10));
        assert_eq!(index.entry.get_u64("frozenTimePeriodInSecs"), Some(86_400));
    }
    let bad = client.rest(
        Method::POST,
        "/services/data/indexes/kept?output_mode=json",
        Some("frozenTimePeriodInSecs=-1&maxTotalDataSizeMB=20"),
    );
    assert_error(
        &bad,
        400,
        &Level::Error,
        "In handler 'indexes': frozenTimePeriodInSecs=\"-1\" is not a whole number of seconds: \
         give one from 0 to 18446744073709551615",
    );
    let index =
        parse_index(&client.send(client.service().get_index_request("kept").expect("request")))
            .expect("an index");
    assert_eq!(index.entry.get_u64("maxTotalDataSizeMB"), Some(10));
    assert_eq!(
        harness
            .engine
            .store()
            .retention("kept")
            .map(|r| r.max_total_data_size_mb),
        Some(10)
    );

    // Events of 2001 in an index keeping a year go once its hot data is rolled.
    client
        .submit(
            &target("kept", "spoor"),
            &["2001-01-01T00:00:00.000000Z n=1\n2001-01-02T00:00:00.000000Z n=2"],
        )
        .expect("submit");
    let year = client.rest(
        Method::POST,
        "/services/data/indexes/kept?output_mode=json",
        Some("frozenTimePeriodInSecs=31536000"),
    );
    assert_eq!(year.status(), StatusCode::OK, "{}", body_text(&year));
    assert_eq!(count(&client, "search index=kept | stats count"), "2");
    let rolled = client.rest(
        Method::POST,
        "/services/data/indexes/kept/roll-hot-buckets?output_mode=json",
        None,
    );
    assert_eq!(rolled.status(), StatusCode::OK, "{}", body_text(&rolled));
    assert_eq!(parse_index(&rolled).expect("the index").name, "kept");
    assert_eq!(count(&client, "search index=kept | stats count"), "0");
    let unknown = client.rest(
        Method::POST,
        "/services/data/indexes/nope/roll-hot-buckets",
        None,
    );
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

fn props_and_line_breaking<D: Driver>() {
    let harness = Harness::start("srv-props");
    let client = connect::<D>(&harness);
    client.create_index("lb", &Form::new()).expect("index");

    // Default breaking: the text has no line break, so it is one event.
    client
        .submit(&target("lb", "semi"), &["x=1;;x=2;;x=3"])
        .expect("submit");
    assert_eq!(count(&client, "search index=lb | stats count"), "1");
    // A LINE_BREAKER set over REST cuts the text that comes after.
    client
        .props(
            "semi",
            &form(&[("LINE_BREAKER", "(;;)"), ("SHOULD_LINEMERGE", "false")]),
        )
        .expect("props");
    client
        .submit(&target("lb", "semi"), &["x=4;;x=5;;x=6"])
        .expect("submit");
    assert_eq!(count(&client, "search index=lb | stats count"), "4");
    assert_eq!(count(&client, "search index=lb x=5 | stats count"), "1");

    // conf-props: list (both modes), get, create again (409), unknown stanza (404).
    let (json, xml) = both_modes(
        &client,
        &raw_request(
            &client.service(),
            Method::GET,
            "/services/configs/conf-props?output_mode=json&count=-1",
            None,
        ),
    );
    for response in [&json, &xml] {
        let feed = parse_feed(response.body()).expect("feed");
        let stanza = feed
            .entries
            .iter()
            .find(|e| e.name == "semi")
            .expect("the stanza");
        assert_eq!(stanza.get_str("LINE_BREAKER"), Some("(;;)"));
        assert!(stanza.link("alternate").is_some());
    }
    let stanza = client.rest(
        Method::GET,
        "/servicesNS/nobody/search/configs/conf-props/semi/?output_mode=json",
        None,
    );
    assert_eq!(stanza.status(), 200);
    let exists = client.rest(
        Method::POST,
        "/services/configs/conf-props?output_mode=json",
        Some("name=semi"),
    );
    assert_error(
        &exists,
        409,
        &Level::Error,
        "In handler 'conf-props': An object with name=semi already exists",
    );
    let (json, xml) = both_modes(
        &client,
        &raw_request(
            &client.service(),
            Method::GET,
            "/services/configs/conf-props/nope?output_mode=json",
            None,
        ),
    );
    for response in [&json, &xml] {
        assert_error(
            response,
            404,
            &Level::Error,
            "In handler 'conf-props': Could not find object id=nope",
        );
    }
    let created = client.rest(
        Method::POST,
        "/services/configs/conf-props?output_mode=json",
        Some("name=pipes&LINE_BREAKER=%28%5C%7C%29"),
    );
    assert_eq!(created.status(), 201, "{}", body_text(&created));

    // properties: the file, a new stanza, its keys.
    let (json, xml) = both_modes(
        &client,
        &raw_request(
            &client.service(),
            Method::GET,
            "/services/properties/props?output_mode=json",
            None,
        ),
    );
    for response in [&json, &xml] {
        let names: Vec<String> = parse_feed(response.body())
            .expect("feed")
            .entries
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert!(names.contains(&"semi".to_owned()) && names.contains(&"pipes".to_owned()));
    }
    let stanza = client.rest(
        Method::POST,
        "/services/properties/props",
        Some("__stanza=tabs"),
    );
    assert_eq!(stanza.status(), 201);
    assert_eq!(
        stanza.headers()[http::header::LOCATION],
        "/servicesNS/nobody/search/properties/props/tabs"
    );
    let set = client.rest(
        Method::POST,
        "/services/properties/props/tabs",
        Some("LINE_BREAKER=%28%5Ct%29&TRUNCATE=500"),
    );
    assert_eq!(set.status(), 200);
    let modified = api_error(StatusCode::BAD_REQUEST, set.body());
    let message = &modified.messages()[0];
    assert_eq!(
        (&message.level, message.text.as_str()),
        (&Level::Info, "Successfully modified 2 key(s)")
    );
    let keys = client.rest(Method::GET, "/services/properties/props/tabs", None);
    let doc = &xml::parse(body_text(&keys)).expect("XML")[0];
    let mut entries = Vec::new();
    doc.all("entry", &mut entries);
    let keys: BTreeMap<String, String> = entries
        .iter()
        .map(|e| {
            (
                e.child("title").expect("title").text.clone(),
                e.child("content").expect("content").text.clone(),
            )
        })
        .collect();
    assert_eq!(keys["TRUNCATE"], "500");
    assert_eq!(keys["LINE_BREAKER"], r"(\t)");
    let key = client.rest(
        Method::GET,
        "/services/properties/props/tabs/TRUNCATE",
        None,
    );
    assert_eq!(body_text(&key), "500");
    let missing = client.rest(Method::GET, "/services/properties/props/nope", None);
    assert_error(&missing, 404, &Level::Error, "stanza does not exist");
    // The stanzas set over `properties` and at creation break text too.
    client
        .submit(&target("lb", "tabs"), &["x=7\tx=8"])
        .expect("submit");
    client
        .submit(&target("lb", "pipes"), &["x=9|x=10|x=11"])
        .expect("submit");
    assert_eq!(count(&client, "search index=lb | stats count"), "9");
}

fn receivers<D: Driver>() {
    let harness = Harness::start("srv-receivers");
    let client = connect::<D>(&harness);
    client.create_index("rs", &Form::new()).expect("index");

    // receivers/simple, both modes.
    let receipt = client
        .submit(&target("rs", "lines"), &["one a=1", "two a=2"])
        .expect("submit");
    assert_eq!(
        (receipt.index.as_str(), receipt.sourcetype.as_str()),
        ("rs", "lines")
    );
    assert_eq!(
        (receipt.source.as_str(), receipt.bytes),
        ("http-simple", 15)
    );
    let request = client
        .service()
        .submit_request(&target("rs", "lines"), ["three a=3"])
        .expect("request");
    let xml = client.send(as_xml(request));
    assert_content_type(&xml, "text/xml");
    xml::parse(body_text(&xml)).expect("well-formed");
    let receipt = parse_submit_receipt(&xml).expect("XML receipt");
    assert_eq!((receipt.index.as_str(), receipt.bytes), ("rs", 9));
    assert_eq!(harness.contents("rs").len(), 3);

    // receivers/stream as the Python SDK's attach() sends it: no length, body until EOF.
    let mut probe = Request::new(Vec::new());
    client.service().authorize(&mut probe);
    let authorization = probe.headers()[http::header::AUTHORIZATION]
        .to_str()
        .expect("header")
        .to_owned();
    let head = format!(
        "POST /services/receivers/stream?index=rs&sourcetype=lines HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: identity\r\nAuthorization: {authorization}\r\nX-Splunk-Input-Mode: Streaming\r\n\r\n"
    );
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(b"four a=4\nfive a=5\r\nsix a=6\n");
    let response = raw_half_closed(harness.addr(), &bytes).expect("a reply");
    assert_eq!(response.status, 200, "{}", response.head);
    assert_eq!(harness.contents("rs").len(), 6);
    // And with a length, through HTTP.
    let streamed = client.rest(
        Method::POST,
        "/services/receivers/stream?index=rs&sourcetype=lines&output_mode=json",
        Some("seven a=7\neight a=8"),
    );
    assert_eq!(streamed.status(), 200);
    assert_eq!(count(&client, "search index=rs | stats count"), "8");

    // An unknown index stores nothing; a GET is not a submission.
    let unknown = client.rest(
        Method::POST,
        "/services/receivers/simple?index=nope",
        Some("lost"),
    );
    assert_eq!(unknown.status(), 404);
    let get = client.rest(Method::GET, "/services/receivers/simple?index=rs", None);
    assert_eq!(get.status(), 405);
    assert_eq!(harness.contents("rs").len(), 8);
}

/// A HEC batch of `n` events in `index`, numbered from `from`.
fn batch(index: &str, from: usize, n: usize) -> Batch {
    let mut body = Vec::new();
    for i in from..from + n {
        body.extend_from_slice(
            format!(r#"{{"event":"hec n={i}","index":"{index}","time":"1700000000.{i:03}"}}"#)
                .as_bytes(),
        );
    }
    Batch { body, events: n }
}

/// A HEC reply: its status, code, `invalid-event-number` and `ackId`.
fn hec_reply(response: &Response<Vec<u8>>) -> (u16, u64, Option<u64>, Option<u64>) {
    let body: serde_json::Value = serde_json::from_slice(response.body()).expect("HEC JSON");
    let code = body["code"].as_u64().expect("code");
    let text = body["text"].as_str().expect("text");
    // A body over the limit has no code of its own: its text says what is wrong.
    if let Some(expected) = known_hec_text(code).filter(|_| response.status() != 413) {
        assert_eq!(text, expected, "the text of code {code}");
    }
    (
        response.status().as_u16(),
        code,
        body["invalid-event-number"].as_u64(),
        body["ackId"].as_u64(),
    )
}

fn known_hec_text(code: u64) -> Option<&'static str> {
    Some(match code {
        0 => "Success",
        2 => "Token is required",
        3 => "Invalid authorization",
        4 => "Invalid token",
        5 => "No data",
        6 => "Invalid data format",
        7 => "Incorrect index",
        10 => "Data channel is missing",
        11 => "Invalid data channel",
        12 => "Event field is required",
        13 => "Event field cannot be blank",
        14 => "ACK is disabled",
        17 => "HEC is healthy",
        _ => return None,
    })
}

const CHANNEL: &str = "0AEEB3E1-6C49-45A8-A2B6-D6D5A1E2D1C0";

fn hec_without_acks<D: Driver>() {
    let harness = Harness::start("srv-hec");
    let client = connect::<D>(&harness);
    let anonymous = Service::new(&harness.anonymous()).expect("service");
    let send = |request| client.send_with(anonymous.clone(), request);
    client.create_index("hec", &Form::new()).expect("index");
    let hec = Hec::new(harness.config().hec().expect("hec")).expect("hec");

    let reply = client.hec_send(batch("hec", 0, 3)).expect("send");
    assert_eq!((reply.code, reply.ack_id), (HecCode::Success, None));
    assert_eq!(harness.contents("hec").len(), 3);
    let health = client
        .run(&mut hec.call(hec.health_request().expect("request"), parse_health_reply))
        .expect("health");
    assert!(health.healthy && health.code == HecCode::Healthy);
    let health = send(with_authorization(
        hec.health_request().expect("request"),
        "Splunk wrong",
    ));
    assert_eq!(hec_reply(&health), (200, 17, None, None));

    // Refusals, each storing nothing.
    let ack = send(hec.ack_request(&[0]).expect("request"));
    assert_eq!(hec_reply(&ack), (400, 14, None, None));
    let event = |body: &str| {
        let request = hec
            .event_request(body.as_bytes().to_vec())
            .expect("request");
        hec_reply(&send(request))
    };
    assert_eq!(
        event(r#"{"event":"ok","index":"hec"}{"index":"hec"}"#),
        (400, 12, Some(1), None)
    );
    assert_eq!(
        event(r#"{"event":"ok","index":"hec"} {"event":""}"#),
        (400, 13, Some(1), None)
    );
    assert_eq!(
        event(r#"{"event":"ok","index":"hec"} {"event":"x"} nonsense"#),
        (400, 6, Some(2), None)
    );
    assert_eq!(
        event(r#"{"event":"x","index":"nope"}"#),
        (400, 7, Some(0), None)
    );
    assert_eq!(event("  \n"), (400, 5, None, None));
    let mut no_token = hec
        .event_request(b"{\"event\":\"x\"}".to_vec())
        .expect("request");
    no_token.headers_mut().remove(http::header::AUTHORIZATION);
    assert_eq!(hec_reply(&send(no_token)), (401, 2, None, None));
    let bad_token = with_authorization(
        hec.event_request(b"{\"event\":\"x\"}".to_vec())
            .expect("request"),
        "Splunk 00000000-0000-0000-0000-000000000000",
    );
    assert_eq!(hec_reply(&send(bad_token)), (403, 4, None, None));
    let refused = client
        .hec_send(Batch {
            body: br#"{"event":"a","index":"hec"}{"time":1}"#.to_vec(),
            events: 2,
        })
        .expect_err("a bad batch");
    assert!(
        matches!(
            refused,
            Error::Hec {
                code: HecCode::EventFieldRequired,
                invalid_event_number: Some(1),
                ..
            }
        ),
        "{refused:?}"
    );
    // Over the 1 MB default: 413, in HEC's shape.
    let mut big = batch("hec", 100, 1).body;
    big.resize(1_000_001, b' ');
    let too_large = send(hec.event_request(big).expect("request"));
    assert_eq!(too_large.status(), 413);
    assert_eq!(hec_reply(&too_large).1, 6);
    assert_eq!(harness.contents("hec").len(), 3);

    // collector/raw, metadata in the query string; also `collector` and `event/1.0`.
    let token = format!("Splunk {}", harness.hec_token());
    let raw = client.send_with(
        anonymous.clone(),
        with_authorization(
            raw_request(
                &anonymous,
                Method::POST,
                "/services/collector/raw?index=hec&sourcetype=rawlines",
                Some("raw a=1\nraw a=2"),
            ),
            &token,
        ),
    );
    assert_eq!(hec_reply(&raw), (200, 0, None, None));
    for path in ["/services/collector", "/services/collector/event/1.0"] {
        let request = with_authorization(
            raw_request(
                &anonymous,
                Method::POST,
                path,
                Some(r#"{"event":"more","index":"hec"}"#),
            ),
            &token,
        );
        assert_eq!(
            hec_reply(&client.send_with(anonymous.clone(), request)).1,
            0
        );
    }
    assert_eq!(harness.contents("hec").len(), 7);
    assert_eq!(
        count(
            &client,
            "search index=hec sourcetype=rawlines | stats count"
        ),
        "2"
    );
}

fn hec_with_acks<D: Driver>() {
    let harness = Harness::with("srv-acks", |o| o.hec_acks(true));
    let client = connect::<D>(&harness);
    let anonymous = Service::new(&harness.anonymous()).expect("service");
    let send = |request| client.send_with(anonymous.clone(), request);
    client.create_index("ack", &Form::new()).expect("index");
    let hec = Hec::new(harness.config().hec().expect("hec")).expect("hec");

    // Without a channel: code 10, from the raw request and from the client.
    let missing = send(hec.event_request(batch("ack", 0, 1).body).expect("request"));
    assert_eq!(hec_reply(&missing), (400, 10, None, None));
    let refused = client.hec_send(batch("ack", 0, 1)).expect_err("no channel");
    assert!(matches!(
        refused,
        Error::Hec {
            code: HecCode::DataChannelMissing,
            ..
        }
    ));
    let bad = hec.clone().with_channel("not-a-guid").expect("channel");
    let bad = send(bad.event_request(batch("ack", 0, 1).body).expect("request"));
    assert_eq!(hec_reply(&bad), (400, 11, None, None));
    assert_eq!(harness.contents("ack").len(), 0);

    // With one: ack ids from 0 per channel, true once issued (the reply comes when durable).
    let channel = hec.clone().with_channel(CHANNEL).expect("channel");
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut call = channel.call(
            channel
                .event_request(batch("ack", i * 2, 2).body)
                .expect("request"),
            parse_event_reply,
        );
        ids.push(client.run(&mut call).expect("sent").ack_id);
    }
    assert_eq!(ids, [Some(0), Some(1), Some(2)]);
    let mut poll = channel.call(
        channel.ack_request(&[0, 2, 3]).expect("request"),
        parse_ack_reply,
    );
    let acks = client.run(&mut poll).expect("acks");
    assert_eq!(acks, BTreeMap::from([(0, true), (2, true), (3, false)]));
    // The channel as a query parameter; another channel counts on its own.
    let other = "11111111-2222-3333-4444-555555555555";
    let request = with_authorization(
        raw_request(
            &anonymous,
            Method::POST,
            &format!("/services/collector/raw?channel={other}&index=ack"),
            Some("raw line"),
        ),
        &format!("Splunk {}", harness.hec_token()),
    );
    assert_eq!(hec_reply(&send(request)), (200, 0, None, Some(0)));
    let unknown = send(
        hec.with_channel("22222222-2222-3333-4444-555555555555")
            .expect("channel")
            .ack_request(&[0])
            .expect("request"),
    );
    assert_eq!(body_text(&unknown), r#"{"acks":{"0":false}}"#);
    assert_eq!(harness.contents("ack").len(), 7);
}

fn status<D: Driver>(client: &D, sid: &str) -> Response<Vec<u8>> {
    client.send(client.service().job_status_request(sid).expect("request"))
}

fn wait_done<D: Driver>(client: &D, sid: &str) -> JobStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(job) = parse_job_status(&status(client, sid)).expect("status")
            && job.is_done
        {
            return job;
        }
        assert!(Instant::now() < deadline, "job {sid} never finished");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn create_job<D: Driver>(client: &D, query: &str, mode: ExecMode) -> Response<Vec<u8>> {
    let request = client
        .service()
        .create_job_request(query, mode, &SearchParams::default())
        .expect("request");
    client.send(request)
}

/// A path under the jobs collection of `api`.
fn jobs_path(api: SearchApi, rest: &str) -> String {
    match api {
        SearchApi::V1 => format!("/services/search/jobs/{rest}"),
        SearchApi::V2 => format!("/services/search/v2/jobs/{rest}"),
    }
}

/// A page of a job's `results` or `events` by either API (v1 `GET`, v2 `POST`), in JSON.
fn page<D: Driver>(
    client: &D,
    api: SearchApi,
    sid: &str,
    what: &str,
    params: &str,
) -> Response<Vec<u8>> {
    let params = format!("output_mode=json{params}");
    let path = jobs_path(api, &format!("{sid}/{what}"));
    match api {
        SearchApi::V1 => client.rest(Method::GET, &format!("{path}?{params}"), None),
        SearchApi::V2 => client.rest(Method::POST, &path, Some(&params)),
    }
}

fn search_jobs<D: Driver>(version: &str, api: SearchApi) {
    let harness = Harness::with("srv-search", |o| o.version(version));
    let client = connect::<D>(&harness);
    assert_eq!(client.server_info().expect("info").search_api(), api);
    client.create_index("jobs", &Form::new()).expect("index");
    let lines: Vec<String> = (0..250).map(|i| format!("n={i} kind=k{}", i % 3)).collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    client
        .submit(&target("jobs", "lines"), &lines)
        .expect("submit");
    let by_kind = "search index=jobs | stats count by kind";

    // The client's own job (normal mode, polled, paged).
    let found = client
        .search(by_kind, SearchParams::default())
        .expect("search");
    let counts: Vec<(&str, &str)> = found
        .rows
        .iter()
        .map(|r| (r.get_str("kind").unwrap(), r.get_str("count").unwrap()))
        .collect();
    assert_eq!(counts, [("k0", "84"), ("k1", "83"), ("k2", "83")]);
    let all = client
        .search("search index=jobs", SearchParams::default())
        .expect("search");
    assert_eq!(all.rows.len(), 250);

    // normal: 201, Location, sid; status until done, in both modes.
    let created = create_job(&client, "search index=jobs", ExecMode::Normal);
    assert_eq!(created.status(), 201);
    let sid = parse_sid(&created).expect("sid");
    assert_eq!(
        created.headers()[http::header::LOCATION],
        jobs_path(api, &sid).as_str()
    );
    let job = wait_done(&client, &sid);
    assert_eq!((job.result_count, job.event_count), (250, 250));
    let (json, xml) = both_modes(
        &client,
        &client.service().job_status_request(&sid).expect("request"),
    );
    let (json, xml) = (
        parse_job_status(&json).expect("json").expect("ready"),
        parse_job_status(&xml).expect("xml").expect("ready"),
    );
    assert_eq!(json, xml);
    assert!(json.is_complete() && json.sid == sid);

    // Results: 100 by default, count and offset, 0 for all; v1 and v2 paths alike.
    let everything = json_rows(&page(&client, api, &sid, "results", "&count=0"));
    assert_eq!(everything.len(), 250);
    for other in [SearchApi::V1, SearchApi::V2] {
        let first = page(&client, other, &sid, "results", "");
        assert_eq!(json_rows(&first), everything[..100]);
        let window = page(&client, other, &sid, "results", "&count=50&offset=200");
        assert_eq!(parse_results(&window).expect("page").init_offset, 200);
        assert_eq!(json_rows(&window), everything[200..]);
        let past = page(&client, other, &sid, "results", "&count=10&offset=245");
        assert_eq!(json_rows(&past), everything[245..]);
    }
    let (json, xml) = both_modes(
        &client,
        &client
            .service()
            .results_request(&sid, 10, 30)
            .expect("request"),
    );
    assert_eq!(json_rows(&json), everything[10..40]);
    assert_eq!(xml_rows(&xml), everything[10..40]);

    // blocking: done when it answers; events of a transforming search.
    let created = create_job(&client, by_kind, ExecMode::Blocking);
    assert_eq!(created.status(), 201);
    let sid = parse_sid(&created).expect("sid");
    let job = parse_job_status(&status(&client, &sid))
        .expect("status")
        .expect("ready");
    assert!(job.is_complete() && job.result_count == 3);
    let events = page(&client, api, &sid, "events", "");
    assert_eq!(json_rows(&events).len(), 100);
    let events = page(&client, api, &sid, "events", "&count=0");
    assert_eq!(json_rows(&events).len(), 250);
    let results = page(&client, api, &sid, "results", "");
    assert_eq!(json_rows(&results).len(), 3);

    // oneshot: the results in the reply, both modes.
    let request = client
        .service()
        .create_job_request(by_kind, ExecMode::Oneshot, &SearchParams::default())
        .expect("request");
    let (oneshot, xml) = both_modes(&client, &request);
    assert_eq!(oneshot.status(), 200);
    let oneshot = json_rows(&oneshot);
    assert_eq!(oneshot, xml_rows(&xml));
    assert_eq!(oneshot.len(), 3);

    // control: cancel, then the sid is unknown.
    let cancelled = client.send(client.service().cancel_job_request(&sid).expect("request"));
    let error = api_error(StatusCode::BAD_REQUEST, cancelled.body());
    assert_eq!(cancelled.status(), 200);
    assert_eq!(error.messages()[0].text, "Search job cancelled.");
    assert_error(&status(&client, &sid), 404, &Level::Fatal, "Unknown sid.");
    let (json, xml) = both_modes(
        &client,
        &client.service().cancel_job_request(&sid).expect("request"),
    );
    for response in [&json, &xml] {
        assert_error(response, 404, &Level::Fatal, "Unknown sid.");
    }

    // export: the client's JSON stream, and XML that says the same.
    let items = client
        .export(by_kind, &SearchParams::default())
        .expect("export");
    let rows: Vec<Fields> = items
        .into_iter()
        .filter_map(|item| match item {
            ExportItem::Row(row) => Some(
                row.into_fields()
                    .into_iter()
                    .map(|(k, v)| (k, v.values().to_vec()))
                    .collect(),
            ),
            ExportItem::Message(_) => None,
        })
        .collect();
    assert_eq!(rows, oneshot);
    let request = client
        .service()
        .export_request(by_kind, &SearchParams::default())
        .expect("request");
    let xml = client.send(as_xml(request));
    let (previews, xml_rows) = xml::results(body_text(&xml)).expect("XML export");
    assert!(previews.iter().all(|p| !p));
    assert_eq!(xml_rows, rows);
}

fn error_paths<D: Driver>() {
    let harness = Harness::with_limits("srv-errors", |l| {
        l.max_body_bytes = 1024;
        l.job_ttl = Duration::from_millis(500);
    });
    let client = connect::<D>(&harness);
    let anonymous = Service::new(&harness.anonymous()).expect("service");
    let info = anonymous.server_info_request().expect("request");

    // 401: nothing, a wrong key, a wrong token, a wrong password; Basic with the right one.
    let nothing = client.send_with(anonymous.clone(), info.clone());
    assert_error(
        &nothing,
        401,
        &Level::Warn,
        "call not properly authenticated",
    );
    assert!(
        nothing
            .headers()
            .contains_key(http::header::WWW_AUTHENTICATE)
    );
    let xml = client.send_with(anonymous.clone(), as_xml(info.clone()));
    assert_error(&xml, 401, &Level::Warn, "call not properly authenticated");
    for wrong in [
        "Splunk 0123456789abcdef",
        "Bearer nope",
        "Basic YWRtaW46d3Jvbmc=",
        "Digest x",
    ] {
        let response = client.send_with(anonymous.clone(), with_authorization(info.clone(), wrong));
        assert_error(
            &response,
            401,
            &Level::Warn,
            "call not properly authenticated",
        );
    }
    let credentials = harness.running.credentials();
    let basic = format!(
        "Basic {}",
        spoor_proto::form::base64(
            format!("{}:{}", credentials.username, credentials.password.expose()).as_bytes()
        )
    );
    let ok = client.send_with(anonymous, with_authorization(info, &basic));
    assert_eq!(ok.status(), 200);

    // 404: no endpoint, unknown sid on every job endpoint.
    let nowhere = client.rest(Method::GET, "/services/no/such/thing", None);
    assert_eq!(nowhere.status(), 404);
    for path in ["nope", "nope/results", "nope/events"] {
        for api in [SearchApi::V1, SearchApi::V2] {
            let response = client.rest(Method::GET, &jobs_path(api, path), None);
            assert_error(&response, 404, &Level::Fatal, "Unknown sid.");
        }
    }

    // 400: bad SPL with the parser's words, both modes.
    let bad = "search index=main | nosuchcommand x";
    let why = spoor_spl::parse(bad).expect_err("bad SPL").to_string();
    let request = client
        .service()
        .create_job_request(bad, ExecMode::Normal, &SearchParams::default())
        .expect("request");
    let (json, xml) = both_modes(&client, &request);
    for response in [&json, &xml] {
        assert_error(response, 400, &Level::Fatal, &why);
    }
    let refused = client
        .search(bad, SearchParams::default())
        .expect_err("bad SPL");
    assert_eq!(refused.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(refused.messages()[0].text, why);
    let no_command = create_job(&client, "index=main", ExecMode::Normal);
    assert_error(
        &no_command,
        400,
        &Level::Fatal,
        "Unknown search command 'index=main'.",
    );
    let bad_window = client.rest(
        Method::POST,
        "/services/search/jobs?output_mode=json",
        Some("search=search%20index%3Dmain&earliest_time=yesterday-ish"),
    );
    assert_eq!(bad_window.status(), 400);

    // 413: a REST body over the limit stores nothing.
    client.create_index("small", &Form::new()).expect("index");
    let big = "x".repeat(2000);
    let response = client.rest(
        Method::POST,
        "/services/receivers/simple?index=small&output_mode=json",
        Some(&big),
    );
    assert_error(
        &response,
        413,
        &Level::Error,
        "Content-Length too large (maximum is 1024 bytes); send less per request",
    );
    assert_eq!(harness.contents("small").len(), 0);

    // A finished job goes once unused for its TTL.
    let created = create_job(&client, "search index=small", ExecMode::Blocking);
    let sid = parse_sid(&created).expect("sid");
    assert_eq!(status(&client, &sid).status(), 200);
    std::thread::sleep(Duration::from_millis(800));
    assert_error(&status(&client, &sid), 404, &Level::Fatal, "Unknown sid.");
    let results = page(&client, SearchApi::V1, &sid, "results", "");
    assert_error(&results, 404, &Level::Fatal, "Unknown sid.");
}

fn search_limit<D: Driver>() {
    // No search may run: every one is refused as Splunk refuses past its quota.
    let harness = Harness::with_limits("srv-busy", |l| {
        l.max_searches = 0;
        l.search_queue_wait = Duration::ZERO;
    });
    let client = connect::<D>(&harness);
    let busy = "Search not executed: The maximum number of concurrent historical searches on this instance has been reached. concurrency_limit=0";
    for mode in [ExecMode::Normal, ExecMode::Blocking, ExecMode::Oneshot] {
        let request = client
            .service()
            .create_job_request("search index=main", mode, &SearchParams::default())
            .expect("request");
        let (json, xml) = both_modes(&client, &request);
        for response in [&json, &xml] {
            assert_error(response, 503, &Level::Fatal, busy);
        }
    }
    let export = client.send(
        client
            .service()
            .export_request("search index=main", &SearchParams::default())
            .expect("request"),
    );
    assert_error(&export, 503, &Level::Fatal, busy);
    // Everything else still answers.
    assert!(client.indexes().is_ok());
}

/// A raw stream longer than the body limit is stored as it comes, cut by its sourcetype's
/// line breaking (here the original analytics example's multi-line breaker) even where a
/// breaker straddles two reads.
#[test]
fn a_long_raw_stream_is_stored_as_it_comes() {
    let harness = Harness::with_limits("srv-stream", |l| l.max_body_bytes = 2 << 20);
    let store = harness.engine.store();
    store.create_index("long").expect("index");
    store
        .set_props("orig", [("LINE_BREAKER", r"(\r\n-----end-event-----\r\n)")])
        .expect("props");
    let credentials = harness.config();
    let client = spoor_splunk::blocking::Client::new(&credentials).expect("client");
    client.login().expect("login");
    let mut probe = Request::new(Vec::new());
    client.service().authorize(&mut probe);
    let authorization = probe.headers()[http::header::AUTHORIZATION]
        .to_str()
        .expect("header")
        .to_owned();
    let mut bytes = format!(
        "POST /services/receivers/stream?index=long&sourcetype=orig HTTP/1.1\r\nHost: localhost\r\nAuthorization: {authorization}\r\nX-Splunk-Input-Mode: Streaming\r\n\r\n"
    )
    .into_bytes();
    let events = 40_000;
    for i in 0..events {
        if i > 0 {
            bytes.extend_from_slice(b"\r\n-----end-event-----\r\n");
        }
        bytes.extend_from_slice(
            format!(
                "2026-11-28T12:00:00.000000 application=\"a\" event=\"e\" n=\"{i}\" pad=\"{}\"",
                "x".repeat(40)
            )
            .as_bytes(),
        );
    }
    assert!(bytes.len() > 4 << 20, "longer than twice the body limit");
    let response = raw_half_closed(harness.addr(), &bytes).expect("a reply");
    assert_eq!(response.status, 200, "{}", response.head);
    let rows = harness.contents("long");
    assert_eq!(rows.len(), events);
    assert!(
        rows.iter()
            .all(|row| row.iter().flatten().all(|v| !v.contains("end-event")))
    );
}

/// The `Authorization` header of a client logged in to the harness.
fn authorization(harness: &Harness) -> String {
    let client: Blocking = connect(harness);
    let mut probe = Request::new(Vec::new());
    client.service().authorize(&mut probe);
    probe.headers()[http::header::AUTHORIZATION]
        .to_str()
        .expect("header")
        .to_owned()
}

/// A framed `receivers/stream` request, by length or chunked, longer than the body limit, is
/// stored as it comes and answered with a receipt for all of it. One that stops being UTF-8
/// part way, or whose event outgrows the limit, is refused saying how much of it was stored,
/// and exactly that was: every event before the point, none after.
#[test]
fn framed_streams_are_stored_as_they_come() {
    let harness = Harness::with_limits("srv-framed", |l| l.max_body_bytes = 2 << 20);
    harness
        .engine
        .store()
        .create_index("framed")
        .expect("index");
    let authorization = authorization(&harness);
    let client: Blocking = connect(&harness);
    let lines = |from: usize, n: usize| -> Vec<u8> {
        (from..from + n)
            .flat_map(|i| {
                format!("2026-11-28T12:00:00.000000 n={i} pad={}\n", "x".repeat(60)).into_bytes()
            })
            .collect()
    };
    let request = |framing: &str, body: &[u8]| -> Vec<u8> {
        let mut bytes = format!(
            "POST /services/receivers/stream?index=framed&sourcetype=lines HTTP/1.1\r\n\
             Host: localhost\r\nAuthorization: {authorization}\r\nConnection: close\r\n\
             {framing}\r\n"
        )
        .into_bytes();
        bytes.extend_from_slice(body);
        bytes
    };
    let stored = |condition: &str| {
        let condition = if condition.is_empty() {
            String::new()
        } else {
            format!("| where {condition} ")
        };
        count(
            &client,
            &format!("search index=framed {condition}| stats count"),
        )
    };
    let receipt_bytes = |response: &crate::server_support::RawResponse| -> u64 {
        let text = std::str::from_utf8(&response.body).expect("UTF-8");
        let field = text
            .find(r#"k="bytes""#)
            .unwrap_or_else(|| panic!("a receipt: {text}"));
        let from = text[field..].find("<text>").expect("a value") + field + "<text>".len();
        let to = text[from..].find('<').expect("closed") + from;
        text[from..to].parse().expect("a number")
    };

    // By length: 5 MB, past the 2 MiB limit of a whole body.
    let body = lines(0, 50_000);
    assert!(body.len() > 2 * (2 << 20));
    let framing = format!("Content-Length: {}\r\n", body.len());
    let response = raw_exchange(harness.addr(), &request(&framing, &body)).expect("a reply");
    assert_eq!(response.status, 200, "{}", response.head);
    assert_eq!(receipt_bytes(&response), body.len() as u64);
    assert_eq!(stored(""), "50000");

    // Chunked, in pieces that cut lines and characters anywhere.
    let mut body = lines(50_000, 49_999);
    body.extend_from_slice("2026-11-28T12:00:00.000000 n=99999 note=\"déjà vu\"".as_bytes());
    let mut chunked = Vec::new();
    for piece in body.chunks(99_991) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let response = raw_exchange(
        harness.addr(),
        &request("Transfer-Encoding: chunked\r\n", &chunked),
    )
    .expect("a reply");
    assert_eq!(response.status, 200, "{}", response.head);
    assert_eq!(receipt_bytes(&response), body.len() as u64);
    assert_eq!(stored(""), "100000");
    assert_eq!(stored("note=\"déjà vu\""), "1");

    // Not UTF-8 after 3 MB: what came before the bad bytes is stored, and said to be.
    let mut body = lines(100_000, 30_000);
    let bad_at = body.len() + "2026-11-28T12:00:00.000000 n=bad ".len();
    body.extend_from_slice(b"2026-11-28T12:00:00.000000 n=bad \xff\xfe\n");
    body.extend_from_slice(&lines(130_000, 1_000));
    let framing = format!("Content-Length: {}\r\n", body.len());
    let response = raw_exchange(harness.addr(), &request(&framing, &body)).expect("a reply");
    assert_eq!(response.status, 400, "{}", response.head);
    let text = String::from_utf8_lossy(&response.body).into_owned();
    assert!(text.contains("not UTF-8 text"), "{text}");
    let said = text
        .split("the first ")
        .nth(1)
        .and_then(|rest| rest.split(" events").next())
        .unwrap_or_else(|| panic!("says what was stored: {text}"));
    let (bytes, events) = said
        .split_once(" bytes of this request, ")
        .expect("bytes and events");
    let (bytes, events): (usize, usize) = (bytes.parse().unwrap(), events.parse().unwrap());
    assert!(events > 0 && events <= 30_000, "{text}");
    assert_eq!(bytes, lines(100_000, events).len(), "{text}");
    assert!(text.contains(&format!("from byte {bad_at}")), "{text}");
    assert_eq!(stored(""), (100_000 + events).to_string());
    assert_eq!(stored(&format!("n>={}", 100_000 + events)), "0");
    assert_eq!(stored("n>=100000"), events.to_string());

    // An event that outgrows the limit: refused, the lines before it stored.
    let mut body = lines(200_000, 20_000);
    body.extend_from_slice(&vec![b'y'; 5 << 20]);
    let framing = format!("Content-Length: {}\r\n", body.len());
    let before = 100_000 + events;
    let response = raw_exchange(harness.addr(), &request(&framing, &body)).expect("a reply");
    assert_eq!(response.status, 413, "{}", response.head);
    let text = String::from_utf8_lossy(&response.body).into_owned();
    assert!(text.contains("an event is longer than"), "{text}");
    assert!(text.contains("20000 events, were stored"), "{text}");
    assert_eq!(stored(""), (before + 20_000).to_string());
}

/// Past the limit, a search waits for a slot (up to the queue wait) rather than failing.
#[test]
fn searches_past_the_limit_wait_for_a_slot() {
    let harness = Harness::with_limits("srv-queue", |l| {
        l.max_searches = 1;
        l.search_queue_wait = Duration::from_secs(30);
    });
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let config = harness.config();
            std::thread::spawn(move || {
                let client = spoor_splunk::blocking::Client::new(&config).expect("client");
                client
                    .search("search index=main | stats count", SearchParams::default())
                    .map(|r| r.rows.len())
            })
        })
        .collect();
    for client in clients {
        assert_eq!(client.join().expect("thread").expect("searched"), 1);
    }
}

macro_rules! with_both_drivers {
    ($($name:ident => $scenario:ident $(($($arg:expr),*))?;)*) => {
        mod blocking_driver {
            use super::*;
            $(#[test] fn $name() { super::$scenario::<Blocking>($($($arg),*)?) })*
        }
        mod tokio_driver {
            use super::*;
            $(#[test] fn $name() { super::$scenario::<Tokio>($($($arg),*)?) })*
        }
    };
}

with_both_drivers! {
    login_server_info_and_indexes => login_info_and_indexes;
    index_retention => index_retention;
    props_and_line_breaking => props_and_line_breaking;
    receivers_simple_and_stream => receivers;
    hec_without_acks => hec_without_acks;
    hec_with_acks_and_channels => hec_with_acks;
    search_jobs_v1_below_9_0_2 => search_jobs("9.0.1", SearchApi::V1);
    search_jobs_v2_from_9_0_2 => search_jobs("9.0.2", SearchApi::V2);
    error_paths => error_paths;
    concurrent_search_limit => search_limit;
}
