//! The `spoor` binary against a real engine: round trips, bad input, and its help.

mod help;
mod support;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{TempDir, TestEngine, run, spoor, stderr, stdout, write_mixed};

#[test]
fn track_then_ask() {
    let engine = TestEngine::start("track");
    let out = run(engine.spoor(&[
        "track",
        "shop",
        "purchase",
        "plan=pro",
        "seats=3",
        "price=9.5",
        "--user",
        "u42",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(engine.spoor(&["track", "shop", "login", "--user", "u42"]));
    assert!(out.status.success(), "{}", stderr(&out));

    let out = run(engine.spoor(&["ask", "applications"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "application  events  unique_users\nshop              2             1\n"
    );

    let out = run(engine.spoor(&[
        "ask", "values", "shop", "purchase", "seats", "--format", "json",
    ]));
    assert_eq!(
        stdout(&out),
        "{\"value\":\"3\",\"count\":1}\n",
        "{}",
        stderr(&out)
    );
    let out = run(engine.spoor(&["ask", "events", "shop", "--format", "csv"]));
    assert_eq!(
        stdout(&out),
        "event,events,unique_users\r\nlogin,1,1\r\npurchase,1,1\r\n"
    );
    // The property kept its type: a number sums.
    assert_eq!(
        engine.count("index=spoor analytics_prop__seats=3 analytics_prop__price=9.5 | stats count"),
        1
    );
}

#[test]
fn a_bad_key_gets_spoor_events_message_and_nothing_is_sent() {
    let home = TempDir::new("badkey");
    let out = run({
        let mut c = spoor(home.path());
        c.args([
            "track",
            "shop",
            "x",
            "user-agent=firefox",
            "--splunk",
            "http://127.0.0.1:1",
        ]);
        c
    });
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).starts_with("spoor: property key \"user-agent\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn import_of_100000_mixed_lines_counts_exactly() {
    let engine = TestEngine::start("import");
    let input = engine.dir.path().join("events.log");
    write_mixed(&input, 100_000, "imported");
    let out = run(engine.spoor(&["import", input.to_str().unwrap()]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("imported 100000 events from 100000 lines of 1 file"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        engine.count("index=spoor application=imported | stats count"),
        100_000
    );
    // Again: nothing is sent twice.
    let out = run(engine.spoor(&["import", input.to_str().unwrap()]));
    assert!(
        stdout(&out).contains("imported 0 events"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("100000 lines (100000 events) were imported by an earlier run"));
    assert_eq!(
        engine.count("index=spoor application=imported | stats count"),
        100_000
    );
}

#[test]
fn an_interrupted_import_resumes_without_duplicates() {
    let engine = TestEngine::start("resume");
    let input = engine.dir.path().join("events.log");
    let lines = write_mixed(&input, 60_000, "resumed");
    let state = engine.dir.path().join("state");
    let args = [
        "import",
        input.to_str().unwrap(),
        "--batch-lines",
        "100",
        "--jobs",
        "2",
        "--state-dir",
        state.to_str().unwrap(),
    ];
    let child = engine
        .spoor(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt it once some of it is kept.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let kept = std::fs::read_dir(&state)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| !t.contains("\"lines\":0,")));
        if kept || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let first = engine.count("index=spoor application=resumed | stats count");
    if out.status.code() == Some(130) {
        assert!(first < 60_000, "interrupted after {first}");
        assert!(
            stderr(&out).contains("run the same command again to go on"),
            "{}",
            stderr(&out)
        );
    } else {
        // It finished before the signal came: still, nothing may be sent twice below.
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = run(engine.spoor(&args));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        engine.count("index=spoor application=resumed | stats count"),
        60_000
    );
    // Every event once: as many distinct raw lines as lines.
    let distinct = engine.count("index=spoor application=resumed | stats dc(_raw) as count");
    assert_eq!(distinct, lines.iter().collect::<BTreeSet<_>>().len() as u64);
}

#[test]
fn a_bad_line_is_reported_with_its_file_and_number() {
    let engine = TestEngine::start("bad");
    let input = engine.dir.path().join("bad.log");
    let mut lines = write_mixed(&input, 10, "bad");
    let mut text = std::fs::read_to_string(&input).unwrap();
    text = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 4 {
                "this is not an event\n".to_owned()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&input, text).unwrap();
    lines.remove(4);
    let name = input.to_str().unwrap();

    let out = run(engine.spoor(&["import", "--strict", "--batch-lines", "2", name]));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let expected = format!("spoor: {name}:5: not a spoor line: ");
    assert!(stderr(&out).starts_with(&expected), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing after it was sent"));
    assert_eq!(engine.count("index=spoor application=bad | stats count"), 4);

    // Skipped: reported, counted, the rest sent (the first four are not sent again).
    let out = run(engine.spoor(&["import", "--skip-bad", name]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with(&format!("{name}:5: not a spoor line")),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("imported 5 events from 6 lines of 1 file"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("1 bad lines skipped"));
    assert_eq!(engine.count("index=spoor application=bad | stats count"), 9);
}

#[test]
fn an_unreachable_server_says_so() {
    let home = TempDir::new("unreachable");
    let mut command = spoor(home.path());
    command
        .args(["ask", "applications", "--splunk", "http://127.0.0.1:1"])
        .env("SPLUNK_USERNAME", "admin")
        .env("SPLUNK_PASSWORD", "x");
    let out = run(command);
    assert_eq!(out.status.code(), Some(4));
    let message = stderr(&out);
    assert!(
        message.starts_with(
            "spoor: cannot reach http://127.0.0.1:1 while asking the question; is splunk"
        ),
        "{message}"
    );
    assert!(message.contains("--data DIR"), "{message}");
}

#[test]
fn wrong_credentials_say_so_and_never_show_the_password() {
    let engine = TestEngine::start("creds");
    let mut command = engine.spoor(&["query", "index=spoor | stats count"]);
    command.env("SPLUNK_PASSWORD", "wrong-secret-here");
    let out = run(command);
    assert_eq!(out.status.code(), Some(4));
    let message = stderr(&out);
    assert!(message.contains("refused the credentials"), "{message}");
    assert!(message.contains("SPLUNK_PASSWORD"), "{message}");
    assert!(!message.contains("wrong-secret-here"));
}

#[test]
fn a_data_folder_end_to_end_and_export_round_trip() {
    let home = TempDir::new("data");
    let data = home.path().join("folder");
    let input = home.path().join("in.log");
    let lines = write_mixed(&input, 2_000, "folder");
    let with = |args: &[&str]| {
        let mut c = spoor(home.path());
        c.args(args).args(["--data", data.to_str().unwrap()]);
        run(c)
    };
    let out = with(&["import", input.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = with(&["track", "folder", "extra", "--user", "u1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = with(&["ask", "applications", "--last", "all", "--format", "json"]);
    assert!(
        stdout(&out).starts_with("{\"application\":\"folder\",\"events\":2001,\"unique_users\":"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let exported = home.path().join("out.jsonl");
    let out = with(&["export", "--output", exported.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut raws: Vec<String> = std::fs::read_to_string(&exported)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(v["_time"].is_string(), "{l}");
            v["_raw"].as_str().unwrap().to_owned()
        })
        .filter(|raw| !raw.contains("event=\"extra\""))
        .collect();
    raws.sort();
    let mut expected = lines;
    expected.sort();
    assert_eq!(raws.len(), expected.len());
    for (got, want) in raws.iter().zip(&expected) {
        assert_eq!(got, want);
    }
}

#[test]
fn a_data_folder_held_by_another_process_says_what_to_do() {
    let home = TempDir::new("held");
    let data = home.path().join("spoor-data");
    // This test process holds the folder, as a running dashboard would.
    let (_engine, _) = spoor_engine::Engine::open(&data).unwrap();
    let out = run({
        let mut c = spoor(home.path());
        // No --data: the default folder, ./spoor-data.
        c.args(["ask", "applications"]);
        c
    });
    assert_eq!(out.status.code(), Some(4));
    let message = stderr(&out);
    assert!(
        message.starts_with("spoor: the data folder spoor-data is open in another process (id "),
        "{message}"
    );
    assert!(
        message.contains("--splunk http://127.0.0.1:8089"),
        "{message}"
    );
}

#[test]
fn a_line_past_four_mebibytes_is_reported_not_held_and_the_file_resumes_when_it_grows() {
    let engine = TestEngine::start("long");
    let input = engine.dir.path().join("long.log");
    let lines = write_mixed(&input, 4, "long");
    let mut text = std::fs::read_to_string(&input).unwrap();
    let mut parts: Vec<&str> = text.lines().collect();
    let long = format!("x{}", "y".repeat(5 << 20));
    parts.insert(2, &long);
    text = parts.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&input, &text).unwrap();
    let name = input.to_str().unwrap();
    let out = run(engine.spoor(&["import", "--batch-lines", "2", name]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!("{name}:3: longer than 4 MiB, which no event's line is\n")
    );
    assert!(
        stdout(&out).contains("imported 4 events from 5 lines"),
        "{}",
        stdout(&out)
    );
    // The file grows: only the new line is sent (the kept CRC covers the long line too).
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap();
    std::io::Write::write_all(&mut file, format!("{}\n", lines[0]).as_bytes()).unwrap();
    let out = run(engine.spoor(&["import", name]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("imported 1 events from 1 lines"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        engine.count("index=spoor application=long | stats count"),
        5
    );
}
