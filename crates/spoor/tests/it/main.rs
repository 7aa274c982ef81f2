//! The façades against spoor's engine, started in-process behind its REST API.

mod retriever;

use std::sync::Arc;

use spoor_engine::server::{Credentials, Running, Server, ServerOptions};
use spoor_engine::{Engine, EventMeta};
use spoor_event::Event;

/// An engine in a fresh temporary folder, served on a free loopback port; the folder goes
/// when the value is dropped.
pub(crate) struct Backend {
    pub(crate) running: Running,
    pub(crate) engine: Arc<Engine>,
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
        let (engine, _) = Engine::open(&dir).expect("engine opens");
        let engine = Arc::new(engine);
        let options = ServerOptions::new(Credentials::generate().expect("credentials"))
            .listen("127.0.0.1:0".parse().expect("address"))
            .version(version);
        let running = Server::start(Arc::clone(&engine), options).expect("server starts");
        Self {
            running,
            engine,
            dir,
        }
    }

    pub(crate) fn config(&self) -> spoor_proto::Config {
        self.running.config().build().expect("config")
    }

    /// Stores events in `index` as the tracker would write them, with spoor's props.
    pub(crate) fn store(&self, index: &str, events: &[Event]) {
        let store = self.engine.store();
        store.create_index(index).expect("index");
        store
            .set_props("spoor", spoor_event::props::SETTINGS.iter().copied())
            .expect("props");
        let lines = events.iter().map(|e| {
            let mut line = Vec::new();
            e.encode_line(&mut line);
            (e.time(), String::from_utf8(line).expect("utf-8"))
        });
        self.engine
            .append(index, &EventMeta::new("spoor", "it", "host"), lines)
            .expect("append");
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
