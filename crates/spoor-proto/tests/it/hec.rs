//! HEC replies from the fixtures, and batches end to end.

use std::collections::BTreeMap;

use spoor_proto::hec::{
    Batcher, Hec, HecCode, parse_ack_reply, parse_event_reply, parse_health_reply,
};
use spoor_proto::{Action, Config, Error, Machine, RetryPolicy};

use crate::{fixture, reply};

#[test]
fn success_and_ack_id() {
    assert_eq!(
        parse_event_reply(&reply(200, fixture!("hec-success.json")))
            .unwrap()
            .ack_id,
        None
    );
    assert_eq!(
        parse_event_reply(&reply(200, fixture!("hec-success-ack.json")))
            .unwrap()
            .ack_id,
        Some(7)
    );
    let acks = parse_ack_reply(&reply(200, fixture!("hec-ack-poll.json"))).unwrap();
    assert_eq!(
        acks,
        BTreeMap::from([
            (1, true),
            (2, true),
            (3, true),
            (4, false),
            (5, false),
            (6, false)
        ])
    );
}

#[test]
fn error_codes_are_typed() {
    let cases = [
        (
            403,
            fixture!("hec-invalid-token.json"),
            HecCode::InvalidToken,
            None,
        ),
        (
            401,
            fixture!("hec-token-required.json"),
            HecCode::TokenRequired,
            None,
        ),
        (503, fixture!("hec-busy.json"), HecCode::ServerBusy, None),
        (
            400,
            fixture!("hec-invalid-event.json"),
            HecCode::InvalidDataFormat,
            Some(0),
        ),
        (
            400,
            fixture!("hec-incorrect-index.json"),
            HecCode::IncorrectIndex,
            Some(3),
        ),
    ];
    for (status, body, code, event) in cases {
        match parse_event_reply(&reply(status, body)).unwrap_err() {
            Error::Hec {
                status: s,
                code: c,
                invalid_event_number,
                ..
            } => {
                assert_eq!((s.as_u16(), c, invalid_event_number), (status, code, event));
            }
            other => panic!("{other:?}"),
        }
    }
    let err = parse_ack_reply(&reply(400, fixture!("hec-ack-disabled.json"))).unwrap_err();
    assert!(matches!(
        err,
        Error::Hec {
            code: HecCode::AckDisabled,
            ..
        }
    ));
}

#[test]
fn health() {
    assert!(
        parse_health_reply(&reply(200, fixture!("hec-health.json")))
            .unwrap()
            .healthy
    );
    let sick = parse_health_reply(&reply(503, fixture!("hec-unhealthy.json"))).unwrap();
    assert_eq!((sick.healthy, sick.code), (false, HecCode::QueuesFull));
}

#[test]
fn batches_go_out_under_the_cap_with_channel_and_retry() {
    let config = Config::builder()
        .hec_url("https://hec.example:8088")
        .hec_token("tok")
        .build()
        .unwrap();
    let mut hec = Hec::new(config.hec().unwrap())
        .unwrap()
        .with_channel("c-1")
        .unwrap();
    hec.set_retry_policy(RetryPolicy {
        max_retries: 1,
        ..RetryPolicy::default()
    });
    let envelope = |i: usize| {
        format!(
            r#"{{"time":1764331200.{i:03},"sourcetype":"spoor","event":"application=\"shop\" event=\"e{i}\""}}"#
        )
    };
    let mut batcher = Batcher::new(300);
    let mut batches = Vec::new();
    for i in 0..10 {
        batches.extend(batcher.push(envelope(i).as_bytes()).unwrap());
    }
    batches.extend(batcher.finish());
    assert_eq!(batches.iter().map(|b| b.events).sum::<usize>(), 10);
    assert!(batches.len() > 1 && batches.iter().all(|b| b.body.len() <= 300));

    #[allow(clippy::disallowed_methods)] // an opaque origin for the virtual clock
    let now = std::time::Instant::now();
    let mut call = hec.call(
        hec.event_request(batches[0].body.clone()).unwrap(),
        parse_event_reply,
    );
    let Action::Send(req) = call.poll(now) else {
        panic!()
    };
    assert_eq!(req.headers()["x-splunk-request-channel"], "c-1");
    call.handle_response(reply(503, fixture!("hec-busy.json")), now);
    let Action::Wait(until) = call.poll(now) else {
        panic!()
    };
    let Action::Send(again) = call.poll(until) else {
        panic!()
    };
    assert_eq!(again.body(), &batches[0].body);
    call.handle_response(reply(200, fixture!("hec-success.json")), until);
    assert!(matches!(call.poll(until), Action::Done(Ok(_))));
}
