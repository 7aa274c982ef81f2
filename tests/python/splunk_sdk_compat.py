#!/usr/bin/env python3
"""Compatibility proof: the official Splunk SDK for Python (`splunk-sdk`, `splunklib`) drives
spoor's engine the way the original `examples/analytics` code drove Splunk.

It runs the original tracker's and retriever's calls, unchanged in shape:

1. `splunklib.client.connect(scheme="http", ...)` with a username and password;
2. lists the indexes, creates `sample_analytics`, checks `"sample_analytics" in service.indexes`;
3. `service.confs["props"]`: creates the `sample_analytics` stanza and submits the tracker's
   `LINE_BREAKER`, `CHARSET` and `SHOULD_LINEMERGE` keys;
4. sends a known set of events with `index.submit(event, sourcetype=...)`, one request per
   event, in the original tracker's exact byte format (two spaces before the first property
   and a trailing space), and a few more through `index.attach()` (`receivers/stream`), cut
   by the stanza's `LINE_BREAKER`;
5. runs the retriever's five searches (applications, events, properties, property values,
   events over time) with `jobs.create(q, exec_mode="blocking")`, reading every job with both
   `results.ResultsReader` (XML) and `results.JSONResultsReader` (`output_mode=json`), and the
   same searches through `jobs.oneshot(...)` and `jobs.export(...)` in both output modes;
6. compares every answer with the counts computed here from the events sent;
7. sets an index's retention at creation and with `Index.update`, and reads it back.

It needs a fresh server (the counts are exact). Any mismatch ends the script with exit
status 1 and a message saying what differed; an SDK error ends it with its traceback.

Usage (the password comes from the environment, never the command line):

    SPOOR_PASSWORD=... python splunk_sdk_compat.py --host 127.0.0.1 --port 8089 \
        --username admin --expect-api v1

`--expect-api` says which search API the SDK must have chosen from `server/info`'s version:
`v1` (`search/jobs`, servers before 9.0.2) or `v2` (`search/v2/jobs`).
"""

import argparse
import collections
import datetime
import os
import re
import sys
import time
import warnings

import splunklib
import splunklib.client as client
import splunklib.results as results

# The XML ResultsReader is deprecated in favour of JSONResultsReader, but it is what the
# original retriever used, so it is exercised here; its warning is noise.
warnings.simplefilter("ignore", DeprecationWarning)

# --- The original analytics example's constants (input.py / output.py) ---------------------

INDEX = "sample_analytics"
SOURCETYPE = "sample_analytics"
APPLICATION_KEY = "application"
EVENT_KEY = "event"
DISTINCT_KEY = "distinct_id"
PROPERTY_PREFIX = "analytics_prop__"
# In input.py this is written "\\r\\n-----end-event-----\\r\\n": the props stanza gets the
# text with literal backslashes, a regex for CR LF ... CR LF.
EVENT_TERMINATOR = "\\r\\n-----end-event-----\\r\\n"
# What that regex matches: the bytes that separate events on a raw stream.
STREAM_SEPARATOR = "\r\n-----end-event-----\r\n"


class Mismatch(Exception):
    """The server answered something other than what the events sent imply."""


def expect(what, expected, got):
    """Raises Mismatch unless `got == expected`, saying what was checked."""
    if got != expected:
        raise Mismatch(f"{what}:\n  expected {expected!r}\n  got      {got!r}")


def log(text):
    print(f"[splunk-sdk-compat] {text}", flush=True)


# --- The tracker (input.py), byte for byte ---------------------------------------------------


def encode_props(props):
    """input.py's `encode`: a leading space, then `analytics_prop__k="v" ` per property, with
    `"` in string values replaced by `'` and other values formatted with `%s`."""
    encoded = " "
    for key, value in props.items():
        if isinstance(value, str):
            value = value.replace('"', "'")
        encoded += '%s%s="%s" ' % (PROPERTY_PREFIX, key, value)
    return encoded


def track_text(application, event_name, when, distinct_id=None, **props):
    """input.py's `track`, returning the text it gives `index.submit` (the timestamp is
    `datetime.isoformat()`: no zone, microseconds unless they are zero)."""
    event = '%s %s="%s" %s="%s" ' % (
        when.isoformat(),
        APPLICATION_KEY,
        application,
        EVENT_KEY,
        event_name,
    )
    if distinct_id is not None:
        event += '%s="%s" ' % (DISTINCT_KEY, distinct_id)
    event += encode_props(props)
    return event


# --- The events sent, and what follows from them ---------------------------------------------

USERS = ["alice", "bob", "carol", "dave"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "Safari/17"]
ITEMS = ["book", "lamp", "chair"]
PAGES = ["/", "/about", "/posts/1", "/posts/2", "/contact"]

# (application, event, events per day over DAYS days, properties of the n-th event of that kind)
SPEC = [
    ("shop", "login", [5, 3, 4], lambda n: {"username": USERS[n % 4], "useragent": AGENTS[n % 3]}),
    ("shop", "purchase", [2, 0, 3], lambda n: {"item": ITEMS[n % 3], "amount": 10 * (n % 4 + 1), "gift": n % 2 == 0}),
    ("shop", "logout", [1, 2, 0], lambda n: {}),
    ("blog", "view", [6, 6, 2], lambda n: {"page": PAGES[n % 5]}),
    # A value with double quotes: the tracker turns them into single quotes.
    ("blog", "comment", [0, 2, 1], lambda n: {"page": PAGES[n % 5], "text": 'say "hi" #%d' % n}),
    ("game", "start", [4, 5, 6], lambda n: {"level": n % 4 + 1}),
    ("game", "win", [1, 1, 2], lambda n: {"level": n % 4 + 1, "score": 100 * n}),
]
# Sent through index.attach() (receivers/stream) rather than index.submit().
STREAM_SPEC = [
    ("radio", "tune", [2, 1, 3], lambda n: {"station": ["jazz", "news"][n % 2]}),
]
DAYS = 3


class Event:
    """One tracked event, as the tracker was called."""

    def __init__(self, application, name, when, distinct_id, props):
        self.application = application
        self.name = name
        self.when = when
        self.distinct_id = distinct_id
        self.props = props

    def text(self):
        return track_text(self.application, self.name, self.when, self.distinct_id, **self.props)


def build_events(spec, today):
    """The events of `spec`, on the DAYS days before `today` (UTC midnight), between 10:00 and
    12:00 so that a time zone of a few hours moves no event to another day."""
    events = []
    for application, name, per_day, props_of in spec:
        n = 0
        for day, count in enumerate(per_day):
            midnight = today - datetime.timedelta(days=DAYS - day)
            for _ in range(count):
                # One event in the set has zero microseconds: isoformat() then drops the
                # fraction, as the original tracker's datetime.now().isoformat() sometimes did.
                micros = 0 if (name == "logout" and n == 0) else (n * 123457 + 1) % 1_000_000
                when = midnight + datetime.timedelta(hours=10, minutes=7 * n, microseconds=micros)
                distinct_id = None if n % 5 == 4 else "u%d" % (n % 7)
                events.append(Event(application, name, when, distinct_id, props_of(n)))
                n += 1
    return events


def as_text(value):
    """How the tracker writes a value (`%s`) and so how search reads it back."""
    return "%s" % (value.replace('"', "'") if isinstance(value, str) else value)


class Expected:
    """The retriever's answers implied by the events sent."""

    def __init__(self, events):
        self.events = events

    def select(self, application=None, name=None):
        return [
            e
            for e in self.events
            if (application is None or e.application == application)
            and (name is None or e.name == name)
        ]

    def applications(self):
        return dict(collections.Counter(e.application for e in self.events))

    def event_counts(self, application):
        return dict(collections.Counter(e.name for e in self.select(application)))

    def properties(self, application, name):
        """`stats dc(analytics_prop__*) as *`: distinct values per property."""
        values = collections.defaultdict(set)
        for e in self.select(application, name):
            for key, value in e.props.items():
                values[key].add(as_text(value))
        return {key: len(v) for key, v in values.items()}

    def property_values(self, application, name, prop):
        return dict(
            collections.Counter(
                as_text(e.props[prop]) for e in self.select(application, name) if prop in e.props
            )
        )

    def per_day(self, application, name, split):
        """`timechart span=1d count by <split>`: {day: {series: count}} (days present only).
        `split` is "event" or a property name."""
        table = collections.defaultdict(collections.Counter)
        for e in self.select(application, name or None):
            series = e.name if split == "event" else e.props.get(split)
            if series is not None:
                table[e.when.date().isoformat()][as_text(series)] += 1
        return table


# --- The retriever (output.py): its five searches ---------------------------------------------


def q_applications():
    return "search index=%s | stats count by %s" % (INDEX, APPLICATION_KEY)


def q_events(application):
    return "search index=%s application=%s | stats count by %s" % (INDEX, application, EVENT_KEY)


def q_properties(application, name):
    return 'search index=%s application=%s event="%s" | stats dc(%s*) as *' % (
        INDEX,
        application,
        name,
        PROPERTY_PREFIX,
    )


def q_property_values(application, name, prop):
    return 'search index=%s application=%s event="%s" | stats count by %s | rename %s as %s' % (
        INDEX,
        application,
        name,
        PROPERTY_PREFIX + prop,
        PROPERTY_PREFIX + prop,
        prop,
    )


def q_events_over_time(application, name="", span="1d", prop=""):
    query = 'search index=%s application=%s event="%s" | timechart span=%s ' % (
        INDEX,
        application,
        name or "*",
        span,
    )
    query += "count by %s " % ((PROPERTY_PREFIX + prop) if prop else EVENT_KEY)
    query += "| fields - _span*"
    return query


# --- Reading results, every way the SDK offers ------------------------------------------------


def rows_of(reader, what, final_only=False):
    """The result rows a reader yields, as plain dicts. Messages are logged; with
    `final_only` (export), rows of preview result sets are skipped."""
    rows = []
    for item in reader:
        if isinstance(item, results.Message):
            if item.type in ("FATAL", "ERROR"):
                raise Mismatch(f"{what}: the server reported {item.type}: {item.message}")
            continue
        if final_only and reader.is_preview:
            continue
        rows.append(dict(item))
    if reader.is_preview not in (False, None) and not final_only:
        raise Mismatch(f"{what}: results marked as a preview after a blocking search")
    return rows


class Searcher:
    """Runs each search every way the SDK can, and checks the ways agree."""

    def __init__(self, service, api):
        self.service = service
        self.searches = 0
        self.jobs_path = {"v1": "search/jobs/", "v2": "search/v2/jobs/"}[api]

    def run(self, query):
        """The rows of `query`: from a blocking job read as XML and as JSON, from oneshot and
        from export (each in both output modes). All six must be the same rows."""
        self.searches += 1
        jobs = self.service.jobs

        job = jobs.create(query, exec_mode="blocking")
        # As output.py: the results read straight away, with no status read before (the job
        # has no state yet, so the request goes to the service's namespace).
        xml_rows = rows_of(results.ResultsReader(job.results()), f"{query} (job, XML)")
        # The job's status; from now on the job's requests go to the namespace of its
        # `eai:acl` (/servicesNS/nobody/search/...).
        if not job.is_done():
            raise Mismatch(f"{query}: a blocking job is not done when jobs.create returns")
        expect(f"{query}: the job's endpoint", self.jobs_path, job.path[: len(self.jobs_path)])
        json_rows = rows_of(
            results.JSONResultsReader(job.results(output_mode="json")), f"{query} (job, JSON)"
        )
        expect(f"{query}: job results, JSONResultsReader vs ResultsReader", xml_rows, json_rows)
        job.refresh()
        expect(f"{query}: the job's resultCount", str(len(xml_rows)), job["resultCount"])
        expect(f"{query}: the job's dispatchState", "DONE", job["dispatchState"])

        ways = {
            "oneshot, XML": rows_of(results.ResultsReader(jobs.oneshot(query)), query),
            "oneshot, JSON": rows_of(
                results.JSONResultsReader(jobs.oneshot(query, output_mode="json")), query
            ),
            "export, XML": rows_of(
                results.ResultsReader(jobs.export(query)), query, final_only=True
            ),
            "export, JSON": rows_of(
                results.JSONResultsReader(jobs.export(query, output_mode="json")),
                query,
                final_only=True,
            ),
        }
        for way, rows in ways.items():
            expect(f"{query}: {way} vs the blocking job", xml_rows, rows)
        job.cancel()
        return xml_rows


def counts(rows, key):
    """output.py's `counts`: {row[key]: int(row["count"] or 0)}."""
    return {row[key]: int(row["count"] or 0) for row in rows}


TIME_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")


def check_over_time(searcher, expected, application, name, prop):
    """events_over_time at span=1d: per day and series, the counts sent; empty cells 0."""
    split = prop or "event"
    query = q_events_over_time(application, name, "1d", prop)
    rows = searcher.run(query)
    want = expected.per_day(application, name, split)
    series = sorted({s for day in want.values() for s in day})
    got = collections.defaultdict(dict)
    times = []
    for row in rows:
        stamp = row.get("_time")
        if not isinstance(stamp, str) or not TIME_FORMAT.match(stamp):
            raise Mismatch(f"{query}: _time {stamp!r} is not YYYY-MM-DDTHH:MM:SS.mmm+HH:MM")
        # server.py parses it exactly this way.
        datetime.datetime.strptime(stamp[:-6], "%Y-%m-%dT%H:%M:%S.%f")
        times.append(stamp)
        for key, value in row.items():
            if key.startswith("_"):
                if key != "_time":
                    raise Mismatch(f"{query}: column {key} left after `fields - _span*`")
                continue
            got[stamp[:10]][key] = int(value or 0)
    expect(f"{query}: rows in time order", sorted(times), times)
    columns = sorted({k for row in rows for k in row if not k.startswith("_")})
    expect(f"{query}: series", series, columns)
    for day, cells in got.items():
        for s in series:
            expect(f"{query}: count of {s} on {day}", want.get(day, {}).get(s, 0), cells.get(s, 0))
    for day in want:
        if day not in got:
            raise Mismatch(f"{query}: no row for {day}, which has events")
    # Coarser spans: the same totals per series.
    for span in ("1w", "1mon"):
        query = q_events_over_time(application, name, span, prop)
        totals = collections.Counter()
        for row in searcher.run(query):
            for key, value in row.items():
                if not key.startswith("_"):
                    totals[key] += int(value or 0)
        want_totals = collections.Counter()
        for day in want.values():
            want_totals.update(day)
        expect(f"{query}: totals per series", dict(want_totals), {k: v for k, v in totals.items() if v})


# --- The flow --------------------------------------------------------------------------------


class WritableSocket:
    """`Index.attach()` writes with `sock.write(...)`, which only an SSL socket has: over plain
    HTTP splunklib's own `attach` raises AttributeError. This wrapper gives the plain socket
    that method (as `sendall`) so the SDK's exact request bytes are still what is sent."""

    def __init__(self, sock):
        self._sock = sock

    def write(self, data):
        self._sock.sendall(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def stream_events(service, index, events):
    """Sends `events` through `index.attach()` (`receivers/stream`), separated by the bytes the
    stanza's LINE_BREAKER matches, then waits until search sees all of them (a raw stream gets
    no reply, so there is nothing else to wait on)."""
    connect = service.connect
    if service.scheme == "http":
        service.connect = lambda: WritableSocket(connect())
    try:
        with index.attached_socket(sourcetype=SOURCETYPE) as sock:
            payload = STREAM_SEPARATOR.join(e.text() for e in events).encode("utf-8")
            # In pieces, so that a separator may straddle two reads on the server.
            for start in range(0, len(payload), 97):
                sock.write(payload[start : start + 97])
    finally:
        service.connect = connect
    apps = sorted({e.application for e in events})
    query = "search index=%s application=%s | stats count" % (INDEX, apps[0])
    deadline = time.monotonic() + 20
    while True:
        rows = rows_of(results.JSONResultsReader(service.jobs.oneshot(query, output_mode="json")), query)
        got = int(rows[0]["count"]) if rows else 0
        if got == len(events):
            return
        if got > len(events) or time.monotonic() > deadline:
            raise Mismatch(f"{query}: {got} events found after index.attach(), {len(events)} sent")
        time.sleep(0.1)


def check_retention(service):
    """Retention set as a Splunk admin sets it with the SDK: at creation (`indexes.create`
    with settings) and later (`Index.update`), read back from the entity; a bad value refused
    with HTTP 400 and changing nothing."""
    name = INDEX + "_retention"
    created = service.indexes.create(name, frozenTimePeriodInSecs=86400)
    expect("frozenTimePeriodInSecs set at creation", "86400", str(created["frozenTimePeriodInSecs"]))
    expect("maxTotalDataSizeMB by default", "500000", str(created["maxTotalDataSizeMB"]))
    created.update(maxTotalDataSizeMB=10)
    created.refresh()
    expect("maxTotalDataSizeMB after update", "10", str(created["maxTotalDataSizeMB"]))
    expect("frozenTimePeriodInSecs after update", "86400", str(created["frozenTimePeriodInSecs"]))
    try:
        created.update(frozenTimePeriodInSecs="a week")
    except client.HTTPError as err:
        expect("status of a bad retention value", 400, err.status)
    else:
        raise Mismatch("frozenTimePeriodInSecs='a week' was accepted")
    again = service.indexes[name]
    expect("frozenTimePeriodInSecs after a refused update", "86400", str(again["frozenTimePeriodInSecs"]))
    # Events of 2001, past the day it keeps: searchable until its hot data is rolled.
    again.submit("2001-01-01T00:00:00.000000Z n=1", sourcetype="spoor")
    expect("events before the roll", 1, int(service.indexes[name]["totalEventCount"]))
    again.roll_hot_buckets()
    expect("events past retention after the roll", 0, int(service.indexes[name]["totalEventCount"]))
    log(f"index {name}: retention set at creation and by update, a bad value refused, "
        "old events gone once rolled")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--expect-api", choices=["v1", "v2"], required=True)
    args = parser.parse_args()
    password = os.environ.get("SPOOR_PASSWORD")
    if not password:
        sys.exit("set SPOOR_PASSWORD to the server's admin password")

    log(f"splunk-sdk {splunklib.__version__}, Python {sys.version.split()[0]}")
    service = client.connect(
        scheme="http",
        host=args.host,
        port=args.port,
        username=args.username,
        password=password,
        autologin=True,
    )
    version = service.info["version"]
    api = "v1" if service.disable_v2_api else "v2"
    log(f"server/info version {version}: the SDK uses the {api} search endpoints")
    expect("search API chosen by the SDK", args.expect_api, api)

    # The tracker's set-up: the index, then the props stanza.
    names = [index.name for index in service.indexes]
    if INDEX in names:
        raise Mismatch(f"{INDEX} exists before it was created: the server is not fresh")
    if INDEX in service.indexes:
        raise Mismatch(f"`{INDEX!r} in service.indexes` is True before it was created")
    service.indexes.create(INDEX)
    if INDEX not in service.indexes:
        raise Mismatch(f"`{INDEX!r} in service.indexes` is False after creating it")
    names = [index.name for index in service.indexes.list()]
    if INDEX not in names:
        raise Mismatch(f"{INDEX} not listed after creating it: {names}")
    index = service.indexes[INDEX]
    expect("the index entity's name", INDEX, index.name)

    props = service.confs["props"]
    if SOURCETYPE not in props:
        props.create(SOURCETYPE)
    stanza = props[SOURCETYPE]
    keys = {
        "LINE_BREAKER": "(%s)" % EVENT_TERMINATOR,
        "CHARSET": "UTF-8",
        "SHOULD_LINEMERGE": "false",
    }
    stanza.submit(keys)
    stanza.refresh()
    for key, value in keys.items():
        expect(f"props stanza {SOURCETYPE} key {key}", value, stanza[key])
    if SOURCETYPE not in service.confs["props"]:
        raise Mismatch(f"props stanza {SOURCETYPE} missing after it was created")
    log(f"index {INDEX} and props stanza {SOURCETYPE} ready")

    # The tracker: one index.submit per event.
    today = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    today = today.replace(hour=0, minute=0, second=0, microsecond=0)
    submitted = build_events(SPEC, today)
    for event in submitted:
        index.submit(event.text(), sourcetype=SOURCETYPE)
    sample = submitted[0].text()
    if '"  %s' % PROPERTY_PREFIX not in sample or not sample.endswith('" '):
        raise Mismatch(f"the tracker format is not the original's: {sample!r}")
    log(f"{len(submitted)} events sent with index.submit, e.g. {sample!r}")

    streamed = build_events(STREAM_SPEC, today)
    stream_events(service, index, streamed)
    log(f"{len(streamed)} events sent with index.attach (receivers/stream)")

    expected = Expected(submitted + streamed)
    searcher = Searcher(service, api)

    # applications()
    rows = searcher.run(q_applications())
    expect("applications()", expected.applications(), counts(rows, APPLICATION_KEY))
    total = int(service.indexes[INDEX]["totalEventCount"])
    expect(f"{INDEX} totalEventCount", len(expected.events), total)

    for application in sorted(expected.applications()):
        # events()
        rows = searcher.run(q_events(application))
        expect(f"events({application})", expected.event_counts(application), counts(rows, EVENT_KEY))
        # events_over_time() by event
        check_over_time(searcher, expected, application, "", "")
        for name in sorted(expected.event_counts(application)):
            # properties()
            rows = searcher.run(q_properties(application, name))
            want = expected.properties(application, name)
            got = {k: int(v) for row in rows for k, v in row.items() if not k.startswith("$")}
            expect(f"properties({application}, {name})", want, got)
            for prop in sorted(want):
                # property_values()
                rows = searcher.run(q_property_values(application, name, prop))
                expect(
                    f"property_values({application}, {name}, {prop})",
                    expected.property_values(application, name, prop),
                    counts(rows, prop),
                )
                # events_over_time() by property
                check_over_time(searcher, expected, application, name, prop)
    # An application nobody tracked: no rows, not an error.
    expect("events(nobody)", {}, counts(searcher.run(q_events("nobody")), EVENT_KEY))

    check_retention(service)

    log(
        f"OK: {searcher.searches} searches, each read 6 ways (job XML/JSON, oneshot XML/JSON, "
        f"export XML/JSON), over {len(expected.events)} events, {api} endpoints"
    )


if __name__ == "__main__":
    try:
        main()
    except Mismatch as mismatch:
        print(f"[splunk-sdk-compat] MISMATCH: {mismatch}", file=sys.stderr, flush=True)
        sys.exit(1)
