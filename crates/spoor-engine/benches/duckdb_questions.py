"""The retriever's questions in DuckDB, for spoor-engine's benchmark.

Usage: python3 duckdb_questions.py <events.csv> <earliest_us> <latest_us> <application> <event> <property> <runs>
Prints one line per question: "<name> <median seconds>".
"""
import statistics
import sys
import time

import duckdb

csv, earliest, latest, app, event, prop, runs = sys.argv[1:]
runs = int(runs)

con = duckdb.connect(":memory:", config={"threads": 2})
con.execute(f"CREATE TABLE events AS SELECT * FROM read_csv('{csv}', header=true, all_varchar=true)")
con.execute("ALTER TABLE events ALTER ts TYPE BIGINT")
props = [c for (c,) in con.execute(
    "SELECT column_name FROM information_schema.columns WHERE table_name='events' AND column_name LIKE 'p_%'"
).fetchall()]
window = f"ts >= {earliest} AND ts < {latest}"
day = "(ts // 86400000000)"

questions = {
    "applications": f"SELECT application, count(*), count(DISTINCT distinct_id) FROM events WHERE {window} GROUP BY application ORDER BY application",
    "events_of_application": f"SELECT event, count(*), count(DISTINCT distinct_id) FROM events WHERE {window} AND application = '{app}' GROUP BY event ORDER BY event",
    "properties_of_event": "SELECT " + ", ".join(f"count(DISTINCT {p})" for p in props)
        + f" FROM events WHERE {window} AND application = '{app}' AND event = '{event}'",
    "values_of_property": f"SELECT p_{prop} AS value, count(*) AS c FROM events WHERE {window} AND application = '{app}' AND event = '{event}' AND p_{prop} IS NOT NULL GROUP BY 1 ORDER BY c DESC, value LIMIT 10",
    "events_over_time_by_event": f"SELECT {day} AS d, event, count(*) FROM events WHERE {window} AND application = '{app}' GROUP BY 1, 2 ORDER BY 1",
    "events_over_time_by_property": f"SELECT {day} AS d, p_{prop}, count(*) FROM events WHERE {window} AND application = '{app}' AND event = '{event}' GROUP BY 1, 2 ORDER BY 1",
    "unique_users_over_time": f"SELECT {day} AS d, count(DISTINCT distinct_id) FROM events WHERE {window} AND application = '{app}' GROUP BY 1 ORDER BY 1",
}
for name, sql in questions.items():
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        con.execute(sql).fetchall()
        times.append(time.perf_counter() - start)
    print(name, statistics.median(times), flush=True)
