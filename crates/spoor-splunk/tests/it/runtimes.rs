//! What is particular to each runtime: the blocking driver inside a tokio runtime's
//! blocking context, the async driver on current-thread and multi-threaded runtimes.

use std::sync::Arc;

use spoor_proto::form::Form;
use spoor_proto::hec::Batch;
use spoor_proto::rest::SubmitTarget;
use spoor_proto::search::{ExportItem, SearchParams};
use spoor_splunk::{blocking, tokio as async_driver};

use crate::server::{End, Reply, Server};
use crate::{config, fixture};

fn splunk() -> Server {
    Server::start(|req| match req.route().as_str() {
        "GET /services/server/info" => Reply::new(200, fixture!("server-info.json")),
        "POST /services/search/v2/jobs/export" => Reply::Stream {
            chunks: Box::new(crate::scenarios::rows(2500)),
            end: End::Complete,
        },
        other => Reply::new(404, format!("no route {other}")),
    })
}

fn token_config(server: &Server) -> spoor_proto::Config {
    config(server.port()).token("t0k").build().unwrap()
}

#[test]
fn blocking_client_inside_a_runtimes_blocking_context() {
    let server = splunk();
    let client = Arc::new(blocking::Client::new(&token_config(&server)).unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let c = client.clone();
        let info = tokio::task::spawn_blocking(move || c.server_info())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(info.version, "9.1.2");

        let c = client.clone();
        let rows = tokio::spawn(async move {
            tokio::task::block_in_place(|| {
                let export = c.export("search x", &SearchParams::default()).unwrap();
                export
                    .filter(|i| matches!(i, Ok(ExportItem::Row(_))))
                    .count()
            })
        })
        .await
        .unwrap();
        assert_eq!(rows, 2500);
    });
}

#[tokio::test]
async fn async_client_on_a_current_thread_runtime() {
    let server = splunk();
    let client = async_driver::Client::new(&token_config(&server)).unwrap();
    let (a, b) = tokio::join!(client.server_info(), client.server_info());
    assert_eq!(
        (a.unwrap().version, b.unwrap().version),
        ("9.1.2".into(), "9.1.2".into())
    );
    let mut export = client
        .export("search x", &SearchParams::default())
        .await
        .unwrap();
    let mut rows = 0;
    while let Some(item) = export.next().await {
        if let ExportItem::Row(_) = item.unwrap() {
            rows += 1;
        }
    }
    assert_eq!(rows, 2500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_client_futures_and_streams_are_send() {
    let server = splunk();
    let client = Arc::new(async_driver::Client::new(&token_config(&server)).unwrap());
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.server_info().await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().version, "9.1.2");
    }
    let c = client.clone();
    let rows = tokio::spawn(async move {
        let mut export = c.export("search x", &SearchParams::default()).await?;
        let mut rows = 0;
        while let Some(item) = export.next().await {
            rows += usize::from(matches!(item?, ExportItem::Row(_)));
        }
        Ok::<_, spoor_proto::Error>(rows)
    });
    assert_eq!(rows.await.unwrap().unwrap(), 2500);
}

#[test]
fn every_async_call_is_send() {
    fn send<T: Send>(_: &T) {}
    let server = splunk();
    let client = async_driver::Client::new(&token_config(&server)).unwrap();
    let (keys, params) = (Form::new(), SearchParams::default());
    send(&client.login());
    send(&client.server_info());
    send(&client.indexes());
    send(&client.create_index("spoor", &keys));
    send(&client.props("spoor", &keys));
    send(&client.submit(&SubmitTarget::default(), ["event"]));
    send(&client.hec_send(Batch::default()));
    send(&client.search("search x", params.clone()));
    send(&client.export("search x", &params));
    let mut call =
        spoor_proto::Call::new(client.service(), http::Request::new(Vec::new()), |_| Ok(()));
    send(&client.run(&mut call));
}

#[test]
fn debug_output_never_shows_a_secret() {
    let config = spoor_proto::Config::builder()
        .username("admin")
        .password("pw-secret")
        .hec_token("hec-secret")
        .build()
        .unwrap();
    let shown = format!(
        "{:?} {:?}",
        blocking::Client::new(&config).unwrap(),
        async_driver::Client::new(&config).unwrap()
    );
    assert!(
        !shown.contains("pw-secret") && !shown.contains("hec-secret"),
        "{shown}"
    );
}
