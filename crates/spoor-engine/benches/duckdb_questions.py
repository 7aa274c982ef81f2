"""The retriever's questions in DuckDB, for spoor-engine's benchmark.

Usage: python3 duckdb_questions.py <events.csv> <earliest_us> <latest_us> <application> <event> <property> <runs>
           <funnel steps, comma-separated> <funnel window s> <retention start> <retention return>
           <retention earliest_us> <retention latest_us> <user> <numeric property> <top>
Prints one line per question: "<name> <median seconds>", and for the questions whose answers
the benchmark checks, "answer <name> <canonical answer>" (the same form the bench makes of
spoor-engine's rows).
"""
import os
import statistics
import sys
import time

import duckdb

(csv, earliest, latest, app, event, prop, runs, funnel_steps, within, ret_start, ret_back,
 ret_earliest, ret_latest, user, number_prop, top) = sys.argv[1:]
runs = int(runs)
steps = funnel_steps.split(",")
within_us = int(within) * 1_000_000

# In memory, or in a database file when SPOOR_BENCH_DUCKDB_FILE names one (at 100 M events
# the in-memory table would not fit beside everything else).
database = os.environ.get("SPOOR_BENCH_DUCKDB_FILE")
if database and os.path.exists(database):
    os.remove(database)
con = duckdb.connect(database or ":memory:", config={"threads": 2})
con.execute(f"CREATE TABLE events AS SELECT * FROM read_csv('{csv}', header=true, all_varchar=true)")
con.execute("ALTER TABLE events ALTER ts TYPE BIGINT")
if database:
    con.execute("CHECKPOINT")
    print(f"bytes_duckdb_file {os.path.getsize(database)}", flush=True)
props = [c for (c,) in con.execute(
    "SELECT column_name FROM information_schema.columns WHERE table_name='events' AND column_name LIKE 'p_%'"
).fetchall()]
window = f"ts >= {earliest} AND ts < {latest}"
day = "(ts // 86400000000)"
# Weeks from Sunday midnight (1970-01-01 was a Thursday, four days after a Sunday), as epoch
# seconds of their start.
def week(micros):
    return f"((({micros}) // 1000000 + 345600) // 604800 * 604800 - 345600)"


def funnel_sql():
    """windowFunnel as the funnel builder's SPL states it: the step rows of each user in time
    order (then step, then the order the rows were written), one running max a step over the
    earlier rows (the latest chain start that reached the step before, and when it did), the
    first time each step was reached, medians by nearest rank (halves up)."""
    n = len(steps)
    rank = "CASE " + " ".join(f"WHEN event = '{s}' THEN {i + 1}" for i, s in enumerate(steps)) + " END"
    order = "PARTITION BY distinct_id ORDER BY ts, rank, rn ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    sql = (f"SELECT distinct_id, ts, rank, rn, CASE WHEN rank = 1 THEN ts END AS s1 FROM "
           f"(SELECT distinct_id, ts, {rank} AS rank, rowid AS rn FROM events WHERE {window} AND application = '{app}' "
           f"AND distinct_id IS NOT NULL AND event IN ({', '.join(repr(s) for s in steps)}))")
    for k in range(2, n + 1):
        carried = f"max(s{k - 1}) OVER ({order}) AS c{k - 1}"
        if k > 2:
            carried += f", max(t{k - 1}) OVER ({order}) AS p{k - 1}"
        before = "c1" if k == 2 else f"p{k - 1}"
        sql = (f"SELECT *, CASE WHEN s{k} IS NOT NULL THEN ts END AS t{k}, "
               f"CASE WHEN s{k} IS NOT NULL THEN ts - {before} END AS d{k} FROM ("
               f"SELECT *, CASE WHEN rank = {k} AND ts - c{k - 1} <= {within_us} THEN c{k - 1} END AS s{k} FROM ("
               f"SELECT *, {carried} FROM ({sql})))")
    firsts = ", ".join(
        f"arg_min(d{k}, (ts, rank, rn)) FILTER (WHERE d{k} IS NOT NULL) AS d{k}" for k in range(2, n + 1))
    per_user = f"SELECT distinct_id, count(s1) AS n1, {firsts} FROM ({sql}) GROUP BY distinct_id"
    counts = ", ".join(f"count(d{k})" for k in range(2, n + 1))
    medians = ", ".join(
        f"list_sort(list(d{k}) FILTER (WHERE d{k} IS NOT NULL))[CAST(floor(0.5 * (count(d{k}) - 1) + 0.5) AS BIGINT) + 1]" for k in range(2, n + 1))
    return f"SELECT count(*), {counts}, {medians} FROM ({per_user}) WHERE n1 > 0"


def retention_sql():
    """Weekly cohorts by each user's first start event in the window (a window function), the
    users of each cohort who did the return event at or after it, by week from the cohort's,
    with the cohort's size."""
    return (f"WITH e AS (SELECT distinct_id AS u, ts, event, "
            f"min(CASE WHEN event = '{ret_start}' THEN ts END) OVER (PARTITION BY distinct_id) AS f "
            f"FROM events WHERE ts >= {ret_earliest} AND ts < {ret_latest} AND application = '{app}' "
            f"AND distinct_id IS NOT NULL), "
            f"m AS (SELECT u, ts, event, f, {week('f')} AS cohort FROM e WHERE f IS NOT NULL), "
            f"sizes AS (SELECT cohort, count(DISTINCT u) AS size FROM m GROUP BY cohort), "
            f"back AS (SELECT cohort, ({week('ts')} - cohort) // 604800 AS period, count(DISTINCT u) AS users "
            f"FROM m WHERE event = '{ret_back}' AND ts >= f GROUP BY 1, 2) "
            f"SELECT s.cohort, b.period, b.users, s.size FROM sizes s LEFT JOIN back b USING (cohort) ORDER BY 1, 2")


questions = {
    "applications": f"SELECT application, count(*), count(DISTINCT distinct_id) FROM events WHERE {window} GROUP BY application ORDER BY application",
    "events_of_application": f"SELECT event, count(*), count(DISTINCT distinct_id) FROM events WHERE {window} AND application = '{app}' GROUP BY event ORDER BY event",
    "properties_of_event": "SELECT " + ", ".join(f"count(DISTINCT {p})" for p in props)
        + f" FROM events WHERE {window} AND application = '{app}' AND event = '{event}'",
    "values_of_property": f"SELECT p_{prop} AS value, count(*) AS c FROM events WHERE {window} AND application = '{app}' AND event = '{event}' AND p_{prop} IS NOT NULL GROUP BY 1 ORDER BY c DESC, value LIMIT 10",
    "events_over_time_by_event": f"SELECT {day} AS d, event, count(*) FROM events WHERE {window} AND application = '{app}' GROUP BY 1, 2 ORDER BY 1",
    "events_over_time_by_property": f"SELECT {day} AS d, p_{prop}, count(*) FROM events WHERE {window} AND application = '{app}' AND event = '{event}' GROUP BY 1, 2 ORDER BY 1",
    "unique_users_over_time": f"SELECT {day} AS d, count(DISTINCT distinct_id) FROM events WHERE {window} AND application = '{app}' GROUP BY 1 ORDER BY 1",
    "funnel_3_steps": funnel_sql(),
    "retention_12_weeks": retention_sql(),
    "numbers_sum_by_day": f"SELECT strftime(make_timestamp({day} * 86400000000), '%Y-%m-%d') AS d, sum(TRY_CAST(p_{number_prop} AS DOUBLE)) FROM events WHERE {window} AND application = '{app}' AND event = '{event}' GROUP BY 1 HAVING count(TRY_CAST(p_{number_prop} AS DOUBLE)) > 0 ORDER BY 1",
    "top_users": f"SELECT distinct_id, count(*) AS c FROM events WHERE {window} AND application = '{app}' AND distinct_id IS NOT NULL GROUP BY 1 ORDER BY c DESC, distinct_id LIMIT {top}",
    "summary_totals": f"SELECT count(*), count(DISTINCT distinct_id) FROM events WHERE {window} AND application = '{app}'",
    "user_timeline": f"SELECT strftime(make_timestamp(ts), '%Y-%m-%dT%H:%M:%S.%fZ') FROM events WHERE {window} AND application = '{app}' AND distinct_id = '{user}' ORDER BY ts DESC, rowid LIMIT 50",
}


def canonical(name, rows):
    """The answer in the form the bench makes of spoor-engine's rows."""
    if name == "funnel_3_steps":
        return ",".join("" if v is None else str(int(v)) for v in rows[0])
    if name == "retention_12_weeks":
        sizes = sorted({(c, s) for c, _, _, s in rows})
        kept = [(c, p, u) for c, p, u, _ in rows if p is not None]
        return (";".join(f"{c}:{s}" for c, s in sizes) + "|"
                + ";".join(f"{c}:{p}:{u}" for c, p, u in sorted(kept)))
    if name == "numbers_sum_by_day":
        return ";".join(f"{d}:{s:.2f}" for d, s in rows)
    if name == "top_users":
        return ";".join(f"{u}:{c}" for u, c in rows)
    if name == "summary_totals":
        return ",".join(str(v) for v in rows[0])
    if name == "user_timeline":
        return ";".join(t for (t,) in rows)
    return None


for name, sql in questions.items():
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        rows = con.execute(sql).fetchall()
        times.append(time.perf_counter() - start)
    print(name, statistics.median(times), flush=True)
    answer = canonical(name, rows)
    if answer is not None:
        print("answer", name, answer, flush=True)
