//! Test support: an engine in this process, the `spoor` binary pointed at it, and generated
//! input files.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use spoor_engine::Engine;
use spoor_engine::generate::{Generator, Spec};
use spoor_engine::server::{Credentials, Running, Server, ServerOptions};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) const PASSWORD: &str = "test-password-1";
pub(crate) const HEC_TOKEN: &str = "11111111-2222-3333-4444-555555555555";

pub(crate) use spoor_testkit::TempDir;

/// spoor's engine on a temporary folder, served on a loopback port of its own.
pub(crate) struct TestEngine {
    pub(crate) running: Running,
    pub(crate) dir: TempDir,
}

impl TestEngine {
    pub(crate) fn start(name: &str) -> Self {
        let dir = TempDir::new(name);
        let (engine, _) = Engine::open(dir.path().join("data")).expect("engine opens");
        let credentials = Credentials::new("admin", PASSWORD).hec_token(HEC_TOKEN);
        let options = ServerOptions::new(credentials).listen("127.0.0.1:0".parse().unwrap());
        let running = Server::start(Arc::new(engine), options).expect("server starts");
        Self { running, dir }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.running.addr())
    }

    /// `spoor` with `args`, pointed at this engine (credentials in the environment).
    pub(crate) fn spoor(&self, args: &[&str]) -> Command {
        let mut command = spoor(self.dir.path());
        command
            .args(args)
            .args(["--splunk", &self.url()])
            .env("SPLUNK_USERNAME", "admin")
            .env("SPLUNK_PASSWORD", PASSWORD)
            .env("SPLUNK_HEC_URL", self.url())
            .env("SPLUNK_HEC_TOKEN", HEC_TOKEN);
        command
    }

    /// The count `spl` (ending in `| stats count`) gives.
    pub(crate) fn count(&self, spl: &str) -> u64 {
        let out = run(self.spoor(&["query", spl, "--format", "csv"]));
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        text.lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("no count in {text:?}"))
    }
}

/// The `spoor` binary with a clean environment: no Splunk settings, `HOME` in `home`, no
/// colour, a fixed terminal width.
pub(crate) fn spoor(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_spoor"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SPLUNK") || name == "SPOOR_INDEX" {
            command.env_remove(name);
        }
    }
    command
        .env("HOME", home)
        .env_remove("XDG_STATE_HOME")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .current_dir(home);
    command
}

pub(crate) fn run(mut command: Command) -> Output {
    command.output().expect("spoor runs")
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes `events` generated events to `path`, one line each, in turn a spoor line, a JSON
/// line and a line of the original Python tracker (no zone); returns the events' lines as
/// spoor writes them.
pub(crate) fn write_mixed(path: &Path, events: usize, application: &str) -> Vec<String> {
    let end = OffsetDateTime::now_utc();
    let mut spec = Spec::benchmark(events, end);
    spec.days = 5;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut lines = Vec::with_capacity(events);
    for (i, generated) in Generator::new(spec).enumerate() {
        // One application for all, so a count is easy to ask.
        let mut builder =
            spoor_event::Event::builder(application, generated.name(), generated.time())
                .properties(
                    generated
                        .properties()
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.clone())),
                );
        if let Some(id) = generated.distinct_id() {
            builder = builder.distinct_id(id);
        }
        let event = builder.build().unwrap();
        let mut raw = Vec::new();
        event.encode_line(&mut raw);
        let line = String::from_utf8(raw).unwrap();
        match i % 3 {
            0 => writeln!(file, "{line}").unwrap(),
            1 => {
                // Properties in their order, as a JSON object keeps them.
                let properties: Vec<String> = event
                    .properties()
                    .iter()
                    .map(|(k, v)| {
                        let v = match v {
                            spoor::Value::String(s) => serde_json::json!(s),
                            spoor::Value::Int(n) => serde_json::json!(n),
                            spoor::Value::Float(x) => serde_json::json!(x),
                            spoor::Value::Bool(b) => serde_json::json!(b),
                        };
                        format!("{}:{v}", serde_json::json!(k.as_str()))
                    })
                    .collect();
                let object = format!(
                    r#"{{"application":{},"event":{},"distinct_id":{},"time":{},"properties":{{{}}}}}"#,
                    serde_json::json!(event.application()),
                    serde_json::json!(event.name()),
                    serde_json::json!(event.distinct_id()),
                    serde_json::json!(event.time().format(&Rfc3339).unwrap()),
                    properties.join(",")
                );
                writeln!(file, "{object}").unwrap();
            }
            _ => writeln!(file, "{}", line.replacen("Z ", " ", 1)).unwrap(),
        }
        lines.push(line);
    }
    file.flush().unwrap();
    lines
}
