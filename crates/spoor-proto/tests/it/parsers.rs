//! Every parser against the fixtures of its endpoint.

use spoor_proto::eai::{Field, parse_feed};
use spoor_proto::rest::{
    parse_conf_reply, parse_index, parse_indexes, parse_login, parse_server_info,
    parse_submit_receipt,
};
use spoor_proto::search::{DispatchState, Value, parse_job_status, parse_results, parse_sid};
use spoor_proto::{Error, Level, Message, SearchApi, check};

use crate::{fixture, reply};

#[test]
fn login_bodies() {
    for (body, key) in [
        (fixture!("login.xml"), "6b347a02a1ef527c3e55e23cb1a3e3a0"),
        (fixture!("login-modern.xml"), "FakeSessionKey"),
        (
            fixture!("login.json"),
            "FKPT2miFNvbSStAl68_IywfGIMQSN5hreU^ss....",
        ),
    ] {
        assert_eq!(parse_login(&reply(200, body)).unwrap().expose(), key);
    }
}

#[test]
fn login_failures_keep_splunks_text() {
    for body in [
        fixture!("error-401-login-failed.xml"),
        fixture!("error-401-login-failed-modern.xml"),
        fixture!("error-401-login-failed.json"),
    ] {
        let err = parse_login(&reply(401, body)).unwrap_err();
        assert!(err.is_unauthorized());
        assert_eq!(err.messages().len(), 1);
        assert_eq!(
            (&err.messages()[0].level, err.messages()[0].text.as_str()),
            (&Level::Warn, "Login failed")
        );
    }
    let err = parse_login(&reply(401, fixture!("error-401-login-failed-modern.xml"))).unwrap_err();
    assert_eq!(
        err.messages()[0].code.as_deref(),
        Some("incorrect_username_or_password")
    );
}

#[test]
fn error_bodies() {
    let cases: [(u16, &str, Level, &str); 7] = [
        (
            401,
            fixture!("error-401-unauthorized.xml"),
            Level::Error,
            "Unauthorized",
        ),
        (
            401,
            fixture!("error-401-not-authenticated.json"),
            Level::Warn,
            "call not properly authenticated",
        ),
        (
            404,
            fixture!("error-404-index.xml"),
            Level::Error,
            "In handler 'indexes': Could not find object id=delete-me-f22f6d87-5da3-4fab-a4c0-2e7e1d4b3c2a",
        ),
        (
            404,
            fixture!("error-404-stanza.xml"),
            Level::Error,
            "stanza does not exist",
        ),
        (
            404,
            fixture!("error-404-sid.xml"),
            Level::Fatal,
            "Unknown sid.",
        ),
        (
            400,
            fixture!("error-400-bad-spl.xml"),
            Level::Fatal,
            "Unknown search command 'invalidpartsearch'.",
        ),
        (
            500,
            fixture!("error-500.json"),
            Level::Error,
            "In handler 'localapps': Setup configuration file does not exist: setup.xml",
        ),
    ];
    for (status, body, level, text) in cases {
        let err = check(&reply(status, body)).unwrap_err();
        let Error::Api {
            status: got,
            messages,
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(got.as_u16(), status);
        assert_eq!(messages, &vec![Message::new(level.clone(), text)]);
        assert_eq!(
            err.to_string(),
            format!("splunk answered {status}: {level} {text}")
        );
    }
}

#[test]
fn server_info_json_and_atom() {
    let json = parse_server_info(&reply(200, fixture!("server-info.json"))).unwrap();
    assert_eq!(
        (
            json.version.as_str(),
            json.server_name.as_str(),
            json.build.as_str()
        ),
        ("9.1.2", "idx1", "b6436b649711")
    );
    assert_eq!(json.search_api(), SearchApi::V2);
    assert_eq!(json.entry.get_u64("numberOfCores"), Some(2));
    let xml = parse_server_info(&reply(200, fixture!("server-info.xml"))).unwrap();
    assert_eq!(
        (xml.version.as_str(), xml.server_name.as_str()),
        ("6.0.4.1", "Andy-PC")
    );
    assert_eq!(xml.search_api(), SearchApi::V1);
    assert_eq!(xml.entry.get_bool("isTrial"), Some(true));
}

#[test]
fn indexes_feed_atom_and_json() {
    for body in [fixture!("indexes-feed.xml"), fixture!("indexes.json")] {
        let indexes = parse_indexes(&reply(200, body)).unwrap();
        let names: Vec<_> = indexes.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["main", "spoor"]);
        let main = &indexes[0];
        assert_eq!(
            (
                main.total_event_count,
                main.current_db_size_mb,
                main.disabled
            ),
            (Some(669), Some(3), false)
        );
        assert_eq!(
            main.entry.link("alternate"),
            Some("/servicesNS/nobody/system/data/indexes/main")
        );
        assert_eq!(main.entry.get_u64("maxTotalDataSizeMB"), Some(500_000));
        assert_eq!(indexes[1].total_event_count, Some(0));
    }
    let json = parse_indexes(&reply(200, fixture!("indexes.json"))).unwrap();
    assert!(json[1].disabled);
    assert_eq!(json[0].entry.get("eai:acl"), Some(&Field::Null));
    let atom = parse_feed(fixture!("indexes-feed.xml").as_bytes()).unwrap();
    assert_eq!(atom.total, Some(2));
    let Some(Field::Dict(acl)) = atom.entries[0].get("eai:acl") else {
        panic!()
    };
    let perms = &acl.iter().find(|(k, _)| k == "perms").unwrap().1;
    let Field::Dict(perms) = perms else { panic!() };
    assert_eq!(
        perms[1].1,
        Field::List(vec![
            Field::Text("admin".into()),
            Field::Text("splunk-system-role".into())
        ])
    );
    assert_eq!(
        atom.entries[0].get("homePath").and_then(Field::as_str),
        Some("$SPLUNK_DB\\maindb\\db")
    );
    assert_eq!(atom.entries[0].get("thawedPath"), Some(&Field::Null));
}

#[test]
fn index_create_and_missing_index() {
    let created = parse_index(&reply(201, fixture!("index-create.xml"))).unwrap();
    assert_eq!(created.name, "spoor");
    assert_eq!(
        created.entry.link("alternate"),
        Some("/servicesNS/nobody/search/data/indexes/spoor")
    );
    let missing = parse_index(&reply(404, fixture!("error-404-index.xml"))).unwrap_err();
    assert!(missing.is_not_found());
}

#[test]
fn conf_replies() {
    assert!(
        parse_feed(fixture!("conf-props-empty.xml").as_bytes())
            .unwrap()
            .entries
            .is_empty()
    );
    assert_eq!(
        parse_conf_reply(&reply(200, fixture!("conf-props-empty.xml"))).unwrap(),
        None
    );
    let stanza = parse_conf_reply(&reply(200, fixture!("conf-props-stanza.json")))
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            stanza.name.as_str(),
            stanza.get("KV_MODE").and_then(Field::as_str)
        ),
        ("spoor", Some("auto_escaped"))
    );
    assert_eq!(stanza.get_bool("SHOULD_LINEMERGE"), Some(false));
    assert_eq!(
        parse_conf_reply(&reply(200, fixture!("properties-modified.xml"))).unwrap(),
        None
    );
    assert!(
        parse_conf_reply(&reply(404, fixture!("error-404-stanza.xml")))
            .unwrap_err()
            .is_not_found()
    );
}

#[test]
fn receivers_simple_receipts() {
    let xml = parse_submit_receipt(&reply(200, fixture!("receivers-simple.xml"))).unwrap();
    assert_eq!(
        (
            xml.index.as_str(),
            xml.bytes,
            xml.source.as_str(),
            xml.sourcetype.as_str()
        ),
        ("default", 40, "http-simple", "unknown-too_small")
    );
    let json = parse_submit_receipt(&reply(200, fixture!("receivers-simple.json"))).unwrap();
    assert_eq!(
        (json.index.as_str(), json.bytes, json.sourcetype.as_str()),
        ("spoor", 189, "spoor")
    );
}

#[test]
fn job_creation_and_status() {
    assert_eq!(
        parse_sid(&reply(201, fixture!("job-create.xml"))).unwrap(),
        "1403964060.2"
    );
    assert_eq!(
        parse_sid(&reply(201, fixture!("job-create.json"))).unwrap(),
        "1403964060.2"
    );
    let parsing = parse_job_status(&reply(200, fixture!("job-status-parsing.xml")))
        .unwrap()
        .unwrap();
    assert_eq!(parsing.dispatch_state, DispatchState::Parsing);
    assert!(!parsing.is_complete() && !parsing.is_failed());
    let done = parse_job_status(&reply(200, fixture!("job-status-done.xml")))
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            done.dispatch_state.clone(),
            done.result_count,
            done.event_count,
            done.done_progress
        ),
        (DispatchState::Done, 100, 100, 1.0)
    );
    assert!(done.is_complete() && done.messages.is_empty());
    let json = parse_job_status(&reply(200, fixture!("job-status-done.json")))
        .unwrap()
        .unwrap();
    assert_eq!(
        (json.sid.as_str(), json.result_count, json.event_count),
        ("1764331200.17", 3, 1500)
    );
    assert!(json.is_complete());
    let failed = parse_job_status(&reply(200, fixture!("job-status-failed.json")))
        .unwrap()
        .unwrap();
    assert!(failed.is_failed());
    assert_eq!(
        failed.messages,
        vec![Message::new(
            Level::Fatal,
            "Unknown search command 'badcommand'."
        )]
    );
    assert!(check(&reply(200, fixture!("job-cancel.xml"))).is_ok());
    assert!(
        parse_job_status(&reply(404, fixture!("error-404-sid.xml")))
            .unwrap_err()
            .is_not_found()
    );
}

#[test]
fn results_pages() {
    let page = parse_results(&reply(200, fixture!("results.json"))).unwrap();
    assert_eq!(page.fields, ["event", "count"]);
    let counts: Vec<_> = page
        .rows
        .iter()
        .map(|r| (r.get_str("event").unwrap(), r.get_str("count").unwrap()))
        .collect();
    assert_eq!(
        counts,
        [("login", "1200"), ("purchase", "250"), ("logout", "50")]
    );

    let old = parse_results(&reply(200, fixture!("results-5x.json"))).unwrap();
    let order: Vec<_> = old.rows[0].iter().map(|(k, _)| k).collect();
    assert_eq!(
        order,
        ["sum(kb)", "series"],
        "Splunk's field order, not sorted"
    );
    assert_eq!(old.messages[0].level, Level::Debug);

    let typed = parse_results(&reply(200, fixture!("results-typed-fields.json"))).unwrap();
    assert_eq!(typed.init_offset, 100);
    assert_eq!(
        typed.fields,
        ["_time", "_si", "distinct_id", "analytics_prop__tags"]
    );
    assert_eq!(
        typed.rows[0].get("_si"),
        Some(&Value::Multi(vec!["idx1".into(), "spoor".into()]))
    );
    assert_eq!(typed.rows[1].get("distinct_id"), None);
    assert_eq!(
        typed.rows[1].get("analytics_prop__tags"),
        Some(&Value::Single("solo".into()))
    );
    assert_eq!(
        typed
            .messages
            .iter()
            .map(|m| m.level.clone())
            .collect::<Vec<_>>(),
        [Level::Info, Level::Warn]
    );

    let empty = parse_results(&reply(200, fixture!("results-empty.json"))).unwrap();
    assert!(empty.rows.is_empty());
    assert_eq!(
        empty.messages,
        vec![Message::new(
            Level::Info,
            "Your timerange was substituted based on your search string"
        )]
    );
}
