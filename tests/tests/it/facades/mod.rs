//! spoor's façades (Tracker, Retriever) end to end, against spoor's engine started in-process
//! behind its REST API.

mod filtered;
mod journeys;
mod proxy;
mod retriever;
mod tracker;

use std::net::SocketAddr;
use std::sync::Arc;

use spoor_engine::server::{Credentials, Running, Server, ServerOptions};
use spoor_engine::{Engine, EventMeta};
use spoor_event::Event;

/// An engine in a fresh temporary folder, served on a loopback port; it can be stopped and
/// started again on the same port and folder. The folder goes when the value is dropped.
pub(crate) struct Backend {
    running: Option<Running>,
    engine: Option<Arc<Engine>>,
    credentials: Credentials,
    version: String,
    addr: SocketAddr,
    dir: std::path::PathBuf,
}

impl Backend {
    pub(crate) fn start(version: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "spoor-it-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let mut backend = Self {
            running: None,
            engine: None,
            credentials: Credentials::generate().expect("credentials"),
            version: version.to_owned(),
            addr: "127.0.0.1:0".parse().expect("address"),
            dir,
        };
        backend.resume();
        backend
    }

    /// Starts the engine and its server (again), on the port it had.
    pub(crate) fn resume(&mut self) {
        let (engine, _) = Engine::open(&self.dir).expect("engine opens");
        let engine = Arc::new(engine);
        let options = ServerOptions::new(self.credentials.clone())
            .listen(self.addr)
            .version(self.version.clone());
        let running = Server::start(Arc::clone(&engine), options).expect("server starts");
        self.addr = running.addr();
        self.running = Some(running);
        self.engine = Some(engine);
    }

    /// Stops the server and closes the engine; clients get refused connections.
    pub(crate) fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().expect("server stops");
        }
        self.engine = None;
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn engine(&self) -> &Engine {
        self.engine.as_deref().expect("running")
    }

    /// A client configuration: the login, and HEC (on the same port) when `hec`.
    pub(crate) fn config(&self, hec: bool) -> spoor_proto::Config {
        self.config_at(self.addr, hec)
    }

    /// A client configuration for a server at `addr` (a proxy in front of this one).
    pub(crate) fn config_at(&self, addr: SocketAddr, hec: bool) -> spoor_proto::Config {
        let mut builder = spoor_proto::ConfigBuilder::new();
        builder
            .scheme(spoor_proto::config::Scheme::Http)
            .host(addr.ip().to_string())
            .port(addr.port())
            .username(self.credentials.username.clone())
            .password(self.credentials.password.expose());
        if hec {
            builder
                .hec_url(format!("http://{addr}"))
                .hec_token(self.credentials.hec_tokens[0].expose());
        }
        builder.build().expect("config")
    }

    /// Stores events in `index` as the tracker would write them, with spoor's props.
    pub(crate) fn store(&self, index: &str, events: &[Event]) {
        let engine = self.engine();
        let store = engine.store();
        store.create_index(index).expect("index");
        store
            .set_props("spoor", spoor_event::props::SETTINGS.iter().copied())
            .expect("props");
        let lines = events.iter().map(|e| {
            let mut line = Vec::new();
            e.encode_line(&mut line);
            (e.time(), String::from_utf8(line).expect("utf-8"))
        });
        engine
            .append(index, &EventMeta::new("spoor", "it", "host"), lines)
            .expect("append");
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
