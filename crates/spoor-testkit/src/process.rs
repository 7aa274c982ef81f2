//! Programs from outside Rust that tests run (a Python or Node script, a browser), to their end
//! or past a time limit, their output read as it comes so that a full pipe never blocks them.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What a program did.
#[derive(Debug)]
pub struct Outcome {
    /// How it ended.
    pub status: ExitStatus,
    /// Whether it was killed past its time limit.
    pub timed_out: bool,
    /// What it printed.
    pub stdout: String,
    /// What it said on stderr.
    pub stderr: String,
}

impl Outcome {
    /// Its status and both outputs, for a failing test's message.
    pub fn describe(&self) -> String {
        format!(
            "{}{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            if self.timed_out {
                " (killed past its time limit)"
            } else {
                ""
            },
            self.stdout,
            self.stderr
        )
    }

    /// Whether it ended by itself with success.
    pub fn succeeded(&self) -> bool {
        !self.timed_out && self.status.success()
    }

    /// The last line of its output that looks like a JSON object: a script's report.
    pub fn report(&self) -> Option<&str> {
        self.stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
    }
}

/// Runs `command` (stdin closed) to its end, or kills it past `limit`; its output either way.
///
/// ```
/// use std::time::Duration;
///
/// let mut command = std::process::Command::new("sh");
/// command.args(["-c", "echo '{\"ok\":true}'"]);
/// let outcome = spoor_testkit::process::run(command, Duration::from_secs(10));
/// assert!(outcome.succeeded());
/// assert_eq!(outcome.report(), Some("{\"ok\":true}"));
/// ```
///
/// # Panics
///
/// When it cannot be started.
pub fn run(mut command: Command, limit: Duration) -> Outcome {
    let shown = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + limit;
    let mut timed_out = false;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            timed_out = true;
            break child.wait().unwrap_or_else(|e| panic!("{shown}: {e}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Outcome {
        status,
        timed_out,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}
