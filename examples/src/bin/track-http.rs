//! Tracking from an HTTP server's handlers: a small server on `std::net` whose handler tracks
//! a `page view` per request with [`spoor::Tracker`] (the path, the user from the `user`
//! query parameter), never waiting on Splunk: `track` only queues, a background worker sends.
//!
//! ```text
//! track-http [REQUESTS]
//! ```
//!
//! It serves on a free loopback port and, to stay self-contained, sends itself `REQUESTS`
//! requests (default 6) over plain sockets; then it stops serving and shuts the tracker down,
//! which flushes every queued event before returning. The application is `example-web`.
//! Connection settings: `SPLUNK_*` or `~/.splunkrc` (see the package's `config`).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use spoor::Tracker;

/// The application the events are tracked under.
const APPLICATION: &str = "example-web";

/// The pages the program asks itself for, in turn, with the user each request comes from.
const PAGES: [(&str, &str); 3] = [("/", "u1"), ("/pricing", "u2"), ("/signup", "u1")];

/// The handler: answers the request for `target` (a path with an optional query) and tracks
/// it. A tracking error (a bad property, the queue full) is logged, never the visitor's
/// problem.
fn handle(tracker: &Tracker, target: &str) -> (u16, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let user = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("user="))
        .filter(|u| !u.is_empty());
    if let Err(err) = tracker.track("page view", user, [("path", path)]) {
        eprintln!("not tracked: {err}");
    }
    (200, format!("you are at {path}\n"))
}

/// Reads one request's head and answers it; the connection closes after.
fn serve(tracker: &Tracker, stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // The rest of the head, up to the blank line; these requests have no body.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let mut parts = request_line.split_whitespace();
    let (status, body) = match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => handle(tracker, target),
        _ => (400, "bad request\n".to_owned()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        if status == 200 { "OK" } else { "Bad Request" },
        body.len()
    )
}

/// A client's request to the server, as a browser would send it; the status it got.
fn get(addr: SocketAddr, target: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply.lines().next().unwrap_or_default().to_owned())
}

fn run(requests: usize) -> Result<(), Box<dyn std::error::Error>> {
    let config = spoor_examples::config()?;
    let tracker = Tracker::new(&config, APPLICATION)?;
    // Once per deployment: the index and the sourcetype's props.
    tracker.setup()?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    println!("serving on http://{addr}");
    std::thread::scope(|scope| -> Result<(), Box<dyn std::error::Error>> {
        let server = scope.spawn(|| {
            for stream in listener.incoming().take(requests) {
                if let Err(err) = stream.and_then(|s| serve(&tracker, s)) {
                    eprintln!("request failed: {err}");
                }
            }
        });
        for (target, user) in PAGES.iter().cycle().take(requests) {
            let status = get(addr, &format!("{target}?user={user}"))?;
            println!("GET {target} as {user}: {status}");
        }
        server.join().map_err(|_| "the server thread panicked")?;
        Ok(())
    })?;
    // Every queued event is sent before this returns (or the error says what was given up).
    tracker.shutdown(Duration::from_secs(30))?;
    let stats = tracker.stats();
    println!(
        "tracked {} page views, sent {}, failed {}",
        requests, stats.sent, stats.failed
    );
    Ok(())
}

fn main() -> ExitCode {
    let requests = match std::env::args().nth(1).map(|n| n.parse::<usize>()) {
        None => 6,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("usage: track-http [REQUESTS]");
            return ExitCode::from(2);
        }
    };
    match run(requests) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
