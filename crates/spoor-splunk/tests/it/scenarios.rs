//! The scenario suite, each body generic over the [`Driver`] and instantiated for both.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use spoor_proto::form::Form;
use spoor_proto::hec::Batch;
use spoor_proto::rest::SubmitTarget;
use spoor_proto::search::{ExecMode, ExportItem, JobOptions, SearchJob, SearchParams};
use spoor_proto::{Call, Error, SearchApi};

use crate::server::{End, Reply, Req, Server};
use crate::{Driver, config, fixture};

const LOGIN_FAILED: &str = fixture!("error-401-login-failed.xml");
const NOT_AUTHENTICATED: &str = fixture!("error-401-not-authenticated.json");

/// A fake management port that logs `admin`/`s3cret` in with keys `k1`, `k2`, … and takes
/// only the key in `valid` (a test empties it to expire the session).
fn management(valid: Arc<Mutex<String>>) -> Server {
    let logins = AtomicUsize::new(0);
    Server::start(move |req| {
        if req.route() == "POST /services/auth/login" {
            if req.body != b"username=admin&password=s3cret" {
                return Reply::new(401, LOGIN_FAILED);
            }
            let key = format!("k{}", logins.fetch_add(1, Ordering::SeqCst) + 1);
            *valid.lock().unwrap() = key.clone();
            return Reply::new(
                200,
                format!("<response><sessionKey>{key}</sessionKey></response>"),
            );
        }
        let expected = format!("Splunk {}", valid.lock().unwrap());
        if req.header("authorization") != Some(expected.as_str()) {
            return Reply::new(401, NOT_AUTHENTICATED);
        }
        match req.route().as_str() {
            "GET /services/server/info" => Reply::new(200, fixture!("server-info.json")),
            "POST /services/search/v2/jobs/export" => export_reply(),
            "POST /services/search/jobs" => Reply::new(400, fixture!("error-400-bad-spl.xml")),
            other => Reply::new(404, format!("no route {other}")),
        }
    })
}

fn password_client<D: Driver>(server: &Server, password: &str) -> D {
    let config = config(server.port())
        .username("admin")
        .password(password)
        .build()
        .unwrap();
    D::new(&config).unwrap()
}

pub(crate) fn login_and_relogin_on_401<D: Driver>() {
    let valid = Arc::new(Mutex::new(String::new()));
    let server = management(valid.clone());
    let client: D = password_client(&server, "s3cret");

    // The first call logs in by itself.
    assert_eq!(client.server_info().unwrap().version, "9.1.2");
    assert_eq!(server.count("POST /services/auth/login"), 1);

    // The session expires: one 401, one new login, the call sent again.
    valid.lock().unwrap().clear();
    client.server_info().unwrap();
    assert_eq!(server.count("POST /services/auth/login"), 2);

    // The renewed key is kept: no more logins.
    client.server_info().unwrap();
    client.login().unwrap();
    assert_eq!(server.count("POST /services/auth/login"), 3);
    client.server_info().unwrap();
    assert_eq!(
        server.log(),
        [
            "POST /services/auth/login",
            "GET /services/server/info",
            "GET /services/server/info",
            "POST /services/auth/login",
            "GET /services/server/info",
            "GET /services/server/info",
            "POST /services/auth/login",
            "GET /services/server/info",
        ]
    );
    // One pooled connection served it all.
    assert_eq!(server.connections(), 1);
}

pub(crate) fn wrong_password_is_one_clear_401<D: Driver>() {
    let server = management(Arc::default());
    let client: D = password_client(&server, "wrong-pw");
    let err = client.login().unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert_eq!(err.to_string(), "splunk answered 401: WARN Login failed");
    let err = client.server_info().unwrap_err();
    assert!(err.is_unauthorized());
    assert_eq!(server.log(), ["POST /services/auth/login"; 2]);
    assert!(!format!("{err:?}").contains("wrong-pw"));
}

/// A fake search head with a job of `total` rows; it hands out at most 100 rows a page,
/// as a server with a low `maxresultrows` would.
fn search_head(total: usize) -> Server {
    let polls = AtomicUsize::new(0);
    Server::start(move |req| match req.route().as_str() {
        "POST /services/search/jobs" => {
            let body = String::from_utf8_lossy(&req.body);
            assert!(body.contains("exec_mode=normal"), "{body}");
            Reply::new(201, r#"{"sid":"s250"}"#)
        }
        "GET /services/search/jobs/s250" if polls.fetch_add(1, Ordering::SeqCst) == 0 => {
            Reply::new(
                200,
                r#"{"entry":[{"content":{"sid":"s250","dispatchState":"RUNNING","isDone":false}}]}"#,
            )
        }
        "GET /services/search/jobs/s250" => Reply::new(
            200,
            format!(
                r#"{{"entry":[{{"content":{{"sid":"s250","dispatchState":"DONE","isDone":true,"resultCount":{total}}}}}]}}"#
            ),
        ),
        "GET /services/search/jobs/s250/results" => results_page(req, total),
        other => Reply::new(404, format!("no route {other}")),
    })
}

fn results_page(req: &Req, total: usize) -> Reply {
    let offset: usize = req.param("offset").unwrap().parse().unwrap();
    let count: usize = req.param("count").unwrap().parse().unwrap();
    let end = total.min(offset + count.min(100));
    let rows: Vec<String> = (offset..end)
        .map(|n| format!(r#"{{"n":"{n}","event":"login"}}"#))
        .collect();
    Reply::new(
        200,
        format!(
            r#"{{"preview":false,"init_offset":{offset},"messages":[],"results":[{}]}}"#,
            rows.join(",")
        ),
    )
}

fn token_client<D: Driver>(server: &Server) -> D {
    D::new(&config(server.port()).token("t0k").build().unwrap()).unwrap()
}

pub(crate) fn search_pages_over_250_results<D: Driver>() {
    let server = search_head(250);
    let client: D = token_client(&server);
    let found = client
        .search("search index=spoor", SearchParams::window("-7d", "now"))
        .unwrap();
    let numbers: Vec<usize> = found
        .rows
        .iter()
        .map(|r| r.get_str("n").unwrap().parse().unwrap())
        .collect();
    assert_eq!(numbers, (0..250).collect::<Vec<_>>());
    assert_eq!(found.summary.rows, 250);
    assert_eq!(found.summary.sid.as_deref(), Some("s250"));
    assert_eq!(server.count("GET /services/search/jobs/s250/results"), 3);
    assert_eq!(server.count("GET /services/search/jobs/s250"), 2);
}

pub(crate) fn run_steps_any_machine<D: Driver>() {
    let server = search_head(250);
    let client: D = token_client(&server);
    let options = JobOptions {
        page_size: 60,
        initial_wait: Duration::from_millis(10),
        ..JobOptions::default()
    };
    let mut job = SearchJob::new(
        client.service(),
        "search index=spoor",
        ExecMode::Normal,
        SearchParams::default(),
    )
    .unwrap()
    .with_options(options);
    let summary = client.run(&mut job).unwrap();
    assert_eq!(summary.rows, 250);
    assert_eq!(std::iter::from_fn(|| job.next_row()).count(), 250);
    assert_eq!(server.count("GET /services/search/jobs/s250/results"), 5);

    // A plain call, with its own parser.
    let service = client.service();
    let request = service.server_info_request().unwrap();
    let mut call = Call::new(service, request, |r| Ok(r.status().as_u16()));
    assert_eq!(client.run(&mut call).unwrap(), 404);
}

/// An export stream with a preview set, a message and the final rows.
fn export_reply() -> Reply {
    let body = fixture!("export.json").as_bytes().to_vec();
    // Cut into small pieces, as a network would.
    let pieces: Vec<Vec<u8>> = body.chunks(7).map(<[u8]>::to_vec).collect();
    Reply::Stream {
        chunks: Box::new(pieces.into_iter()),
        end: End::Complete,
    }
}

pub(crate) fn export_drops_previews_after_a_relogin<D: Driver>() {
    let valid = Arc::new(Mutex::new(String::new()));
    let server = management(valid.clone());
    let client: D = password_client(&server, "s3cret");
    // server/info picks the v2 search API (Splunk 9.1.2).
    client.server_info().unwrap();
    assert_eq!(client.service().search_api(), SearchApi::V2);
    valid.lock().unwrap().clear();

    let mut hosts = Vec::new();
    client
        .export(
            "search index=_internal | stats count by host",
            &SearchParams::window("-1h", "now"),
            |item| match item {
                ExportItem::Row(row) => hosts.push(format!(
                    "{}={}",
                    row.get_str("host").unwrap(),
                    row.get_str("count").unwrap()
                )),
                ExportItem::Message(m) => panic!("unexpected message {m:?}"),
            },
        )
        .unwrap();
    assert_eq!(hosts, ["Andy-PC=1701", "andy-pc=3", "three.four.com=1512"]);
    assert_eq!(server.count("POST /services/auth/login"), 2);
    // The session renewed before the stream is kept.
    client.server_info().unwrap();
    assert_eq!(server.count("POST /services/auth/login"), 2);
}

/// A client of the fake server's collector, with token `hec-tok`.
fn hec_client<D: Driver>(server: &Server) -> D {
    let config = config(server.port())
        .hec_url(format!("http://127.0.0.1:{}", server.port()))
        .hec_token("hec-tok")
        .build()
        .unwrap();
    D::new(&config).unwrap()
}

pub(crate) fn hec_batch_retried_after_503_and_retry_after<D: Driver>() {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    let server = Server::start(move |req| {
        assert_eq!(req.route(), "POST /services/collector/event");
        assert_eq!(req.header("authorization"), Some("Splunk hec-tok"));
        let mut seen = seen.lock().unwrap();
        seen.push(req.body.clone());
        if seen.len() == 1 {
            Reply::new(503, fixture!("hec-busy.json")).with_header("retry-after", "1")
        } else {
            Reply::new(200, fixture!("hec-success.json"))
        }
    });
    let client: D = hec_client(&server);
    let batch = Batch {
        body: br#"{"event":"a=\"1\""}{"event":"b=\"2\""}"#.to_vec(),
        events: 2,
    };
    let started = Instant::now();
    let reply = client.hec_send(batch.clone()).unwrap();
    assert_eq!(reply.text, "Success");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1"
    );
    assert_eq!(*bodies.lock().unwrap(), [batch.body.clone(), batch.body]);
    assert_eq!(server.connections(), 1, "the connection is kept alive");
}

/// `n` export rows, a thousand to a chunk.
pub(crate) fn rows(n: usize) -> impl Iterator<Item = Vec<u8>> + Send {
    (0..n.div_ceil(1000)).map(move |c| {
        let mut chunk = Vec::with_capacity(100 * 1000);
        for i in c * 1000..n.min((c + 1) * 1000) {
            chunk.extend_from_slice(
                format!("{{\"preview\":false,\"offset\":{i},\"result\":{{\"n\":\"{i}\",\"event\":\"login\"}}}}\n")
                    .as_bytes(),
            );
        }
        chunk
    })
}

fn streaming_server(n: usize, end: End) -> Server {
    Server::start(move |req| {
        assert_eq!(req.route(), "POST /services/search/jobs/export");
        // Half a line before the end, as a dropped connection leaves it.
        let tail = std::iter::once(br#"{"preview":false,"result":{"n":"#.to_vec());
        Reply::Stream {
            chunks: Box::new(rows(n).chain(tail)),
            end,
        }
    })
}

/// Reads an export, returning the rows before the end and how it ended.
fn read_export<D: Driver>(client: &D) -> (usize, Result<(), Error>) {
    let mut n = 0;
    let result = client.export("search index=spoor", &SearchParams::default(), |item| {
        if let ExportItem::Row(row) = item {
            assert_eq!(row.get_str("n"), Some(n.to_string().as_str()));
            n += 1;
        }
    });
    (n, result)
}

pub(crate) fn connection_dropped_mid_stream<D: Driver>() {
    let server = streaming_server(1500, End::Drop);
    let client: D = token_client(&server);
    let started = Instant::now();
    let (rows, result) = read_export(&client);
    assert_eq!(rows, 1500, "every whole row before the break");
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        server.count("POST /services/search/jobs/export"),
        1,
        "no retry"
    );
}

fn impatient_client<D: Driver>(server: &Server) -> D {
    let config = config(server.port())
        .token("t0k")
        .hec_url(format!("http://127.0.0.1:{}", server.port()))
        .hec_token("hec-tok")
        .request_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    D::new(&config).unwrap()
}

pub(crate) fn silent_server_times_out<D: Driver>() {
    let server = Server::start(|_| Reply::Silence(Duration::from_secs(3)));
    let client: D = impatient_client(&server);
    let started = Instant::now();
    let batch = Batch {
        body: b"{}".to_vec(),
        events: 1,
    };
    let err = client.hec_send(batch).unwrap_err();
    assert!(
        matches!(err, Error::Timeout { limit, .. } if limit == Duration::from_millis(300)),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

pub(crate) fn stalled_stream_times_out<D: Driver>() {
    let server = streaming_server(10, End::Stall(Duration::from_secs(3)));
    let client: D = impatient_client(&server);
    let started = Instant::now();
    let (rows, result) = read_export(&client);
    assert_eq!(rows, 10);
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

pub(crate) fn tls_with_a_private_ca<D: Driver>() {
    let server = Server::start_tls(|req| match req.route().as_str() {
        "POST /services/auth/login" => {
            Reply::new(200, "<response><sessionKey>k</sessionKey></response>")
        }
        other => Reply::new(404, format!("no route {other}")),
    });
    let ca = server.ca_pem.clone().unwrap();
    let https = || {
        let mut builder = config(server.port());
        builder
            .scheme(spoor_proto::config::Scheme::Https)
            .username("admin")
            .password("s3cret");
        builder
    };

    // Trusting its CA: fine.
    let client = D::new(&https().ca_pem(ca).build().unwrap()).unwrap();
    client.login().unwrap();

    // The web PKI roots do not know it.
    let client = D::new(&https().build().unwrap()).unwrap();
    let err = client.login().unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert_eq!(err.to_string(), "tls error");

    // The insecure switch accepts it.
    let client = D::new(&https().verify_tls(false).build().unwrap()).unwrap();
    client.login().unwrap();
    assert_eq!(server.count("POST /services/auth/login"), 2);

    // PEM that holds no certificate is a configuration error.
    let err = D::new(&https().ca_pem("not a pem").build().unwrap())
        .err()
        .unwrap();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
}

pub(crate) fn api_errors_keep_splunks_text<D: Driver>() {
    let valid = Arc::new(Mutex::new(String::new()));
    let server = management(valid);
    let client: D = password_client(&server, "s3cret");
    let err = client
        .search("search | invalidpartsearch", SearchParams::default())
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(
        err.to_string(),
        "splunk answered 400: FATAL Unknown search command 'invalidpartsearch'."
    );
    let err = client.hec_send(Batch::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration: no hec token configured"
    );
}

pub(crate) fn set_up_an_index_props_and_submit<D: Driver>() {
    let server = Server::start(|req| match req.route().as_str() {
        "GET /services/data/indexes" => Reply::new(200, fixture!("indexes.json")),
        "POST /services/data/indexes" => {
            assert!(req.body.starts_with(b"name=spoor"));
            Reply::new(201, fixture!("index-create.xml"))
        }
        // The stanza exists already: fine.
        "POST /services/configs/conf-props" => Reply::new(
            409,
            r#"<response><messages><msg type="ERROR">An object with name=spoor already exists</msg></messages></response>"#,
        ),
        "POST /services/configs/conf-props/spoor" => {
            assert_eq!(req.body, b"KV_MODE=auto_escaped&SHOULD_LINEMERGE=false");
            Reply::new(200, fixture!("properties-modified.xml"))
        }
        "POST /services/receivers/simple" => {
            assert_eq!(req.param("index"), Some("spoor"));
            assert_eq!(req.body, b"event=\"login\"\nevent=\"logout\"");
            Reply::new(200, fixture!("receivers-simple.json"))
        }
        other => Reply::new(404, format!("no route {other}")),
    });
    let client: D = token_client(&server);
    let names: Vec<String> = client
        .indexes()
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert!(names.contains(&"main".to_owned()), "{names:?}");
    assert_eq!(client.create_index("spoor").unwrap().name, "spoor");
    let err = client.create_index("Spoor").unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }), "{err:?}");
    let mut keys = Form::new();
    keys.push("KV_MODE", "auto_escaped")
        .push("SHOULD_LINEMERGE", "false");
    client.props("spoor", &keys).unwrap();
    let target = SubmitTarget {
        index: Some("spoor".into()),
        sourcetype: Some("spoor".into()),
        ..SubmitTarget::default()
    };
    let receipt = client
        .submit(&target, &[r#"event="login""#, r#"event="logout""#])
        .unwrap();
    assert_eq!(receipt.index, "spoor");
    assert_eq!(server.connections(), 1);
}

pub(crate) fn a_connection_closed_while_idle_is_not_reused<D: Driver>() {
    let server = Server::start(|req| {
        assert_eq!(req.route(), "POST /services/collector/event");
        Reply::new(200, fixture!("hec-success.json")).then_close()
    });
    let client: D = hec_client(&server);
    for _ in 0..3 {
        // A POST is never retried, so each must go out on a live connection.
        client.hec_send(Batch::default()).unwrap();
        client.idle(Duration::from_millis(100));
    }
    assert_eq!(server.connections(), 3);
}
