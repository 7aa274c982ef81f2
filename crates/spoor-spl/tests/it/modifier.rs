//! Time-modifier resolution: snapping across month ends, leap days, week starts (Sunday) and
//! zone offsets.

use spoor_spl::modifier::{TimeError, TimeModifier, TimeWindow};
use time::macros::{datetime, offset};
use time::{OffsetDateTime, UtcOffset};

/// Resolves `modifier` at `now` in `zone`.
fn at(modifier: &str, now: OffsetDateTime, zone: UtcOffset) -> OffsetDateTime {
    let parsed: TimeModifier = modifier
        .parse()
        .unwrap_or_else(|err| panic!("{modifier:?}: {err}"));
    parsed
        .resolve(now, zone)
        .unwrap_or_else(|err| panic!("{modifier:?}: {err}"))
}

/// Checks each `(modifier, expected)` at `now` in `zone`; the result is in `zone`.
fn check(now: OffsetDateTime, zone: UtcOffset, cases: &[(&str, OffsetDateTime)]) {
    for &(modifier, expected) in cases {
        let resolved = at(modifier, now, zone);
        assert_eq!(resolved, expected, "{modifier:?} at {now} in {zone}");
        assert_eq!(
            resolved.offset(),
            zone,
            "{modifier:?} is expressed in the zone"
        );
    }
}

#[test]
fn absolute_times() {
    let now = datetime!(2026-11-28 12:00 UTC);
    check(
        now,
        offset!(UTC),
        &[
            ("now", now),
            ("0", datetime!(1970-01-01 0:00 UTC)),
            ("1795852800", datetime!(2026-11-28 8:00 UTC)),
            ("1795852800.25", datetime!(2026-11-28 8:00:00.25 UTC)),
            ("2026-11-28T08:00:00Z", datetime!(2026-11-28 8:00 UTC)),
            ("2026-11-28T08:00:00-07:00", datetime!(2026-11-28 15:00 UTC)),
        ],
    );
    // Without a zone, an ISO time is read in the resolution zone.
    check(
        now,
        offset!(+5:30),
        &[
            ("2026-11-28T08:00", datetime!(2026-11-28 8:00 +5:30)),
            ("2026-11-28", datetime!(2026-11-28 0:00 +5:30)),
            ("2026-11-28T08:00+00:00", datetime!(2026-11-28 13:30 +5:30)),
        ],
    );
}

#[test]
fn offsets_and_snaps_in_utc() {
    let now = datetime!(2026-11-28 12:34:56.789 UTC); // a Saturday
    check(
        now,
        offset!(UTC),
        &[
            ("-30s", datetime!(2026-11-28 12:34:26.789 UTC)),
            ("+90m", datetime!(2026-11-28 14:04:56.789 UTC)),
            ("-7d", datetime!(2026-11-21 12:34:56.789 UTC)),
            ("-2w", datetime!(2026-11-14 12:34:56.789 UTC)),
            ("@s", datetime!(2026-11-28 12:34:56 UTC)),
            ("@m", datetime!(2026-11-28 12:34 UTC)),
            ("@h", datetime!(2026-11-28 12:00 UTC)),
            ("@d", datetime!(2026-11-28 0:00 UTC)),
            ("-7d@d", datetime!(2026-11-21 0:00 UTC)),
            ("-1d@d+8h", datetime!(2026-11-27 8:00 UTC)),
            ("@d-30m", datetime!(2026-11-27 23:30 UTC)),
            ("@mon", datetime!(2026-11-01 0:00 UTC)),
            ("-1mon@mon", datetime!(2026-10-01 0:00 UTC)),
            ("@q", datetime!(2026-10-01 0:00 UTC)),
            ("-1q@q", datetime!(2026-07-01 0:00 UTC)),
            ("@y", datetime!(2026-01-01 0:00 UTC)),
            ("-1y@y", datetime!(2025-01-01 0:00 UTC)),
        ],
    );
}

#[test]
fn week_snaps_start_on_sunday() {
    // 2026-11-28 is a Saturday; 2026-11-22 the Sunday before.
    let saturday = datetime!(2026-11-28 12:00 UTC);
    check(
        saturday,
        offset!(UTC),
        &[
            ("@w", datetime!(2026-11-22 0:00 UTC)),
            ("@w0", datetime!(2026-11-22 0:00 UTC)),
            ("@w7", datetime!(2026-11-22 0:00 UTC)),
            ("@w1", datetime!(2026-11-23 0:00 UTC)),
            ("@w5", datetime!(2026-11-27 0:00 UTC)),
            // Today is Saturday: `@w6` is this morning.
            ("@w6", datetime!(2026-11-28 0:00 UTC)),
            ("-1w@w", datetime!(2026-11-15 0:00 UTC)),
        ],
    );
    // On a Sunday, `@w0` is the same day's midnight and `@w1` the Monday six days before.
    let sunday = datetime!(2026-11-29 0:00 UTC);
    check(
        sunday,
        offset!(UTC),
        &[
            ("@w0", datetime!(2026-11-29 0:00 UTC)),
            ("@w1", datetime!(2026-11-23 0:00 UTC)),
            ("@w6", datetime!(2026-11-28 0:00 UTC)),
        ],
    );
    // Across a month and a year boundary: Friday 2027-01-01, the Sunday is 2026-12-27.
    check(
        datetime!(2027-01-01 9:00 UTC),
        offset!(UTC),
        &[("@w0", datetime!(2026-12-27 0:00 UTC))],
    );
}

#[test]
fn months_clamp_to_the_end_of_shorter_months() {
    let jan31 = datetime!(2026-01-31 10:00 UTC);
    check(
        jan31,
        offset!(UTC),
        &[
            ("+1mon", datetime!(2026-02-28 10:00 UTC)),
            ("+2mon", datetime!(2026-03-31 10:00 UTC)),
            ("+3mon", datetime!(2026-04-30 10:00 UTC)),
            ("-2mon", datetime!(2025-11-30 10:00 UTC)),
            ("+1q", datetime!(2026-04-30 10:00 UTC)),
            ("+1mon@mon", datetime!(2026-02-01 0:00 UTC)),
            ("@mon-1d", datetime!(2025-12-31 0:00 UTC)),
        ],
    );
    let mar31 = datetime!(2026-03-31 0:00 UTC);
    check(
        mar31,
        offset!(UTC),
        &[
            ("-1mon", datetime!(2026-02-28 0:00 UTC)),
            ("-1mon@mon", datetime!(2026-02-01 0:00 UTC)),
            ("-1mon@d", datetime!(2026-02-28 0:00 UTC)),
        ],
    );
}

#[test]
fn leap_days() {
    let leap_day = datetime!(2024-02-29 18:00 UTC);
    check(
        leap_day,
        offset!(UTC),
        &[
            ("-1y", datetime!(2023-02-28 18:00 UTC)),
            ("+1y", datetime!(2025-02-28 18:00 UTC)),
            ("+4y", datetime!(2028-02-29 18:00 UTC)),
            ("+1mon", datetime!(2024-03-29 18:00 UTC)),
            ("-1mon", datetime!(2024-01-29 18:00 UTC)),
            ("@mon", datetime!(2024-02-01 0:00 UTC)),
            ("+1d@d", datetime!(2024-03-01 0:00 UTC)),
            ("@d", datetime!(2024-02-29 0:00 UTC)),
        ],
    );
    // Into a leap February from a month end, and 2100 (not a leap year).
    check(
        datetime!(2024-01-31 0:00 UTC),
        offset!(UTC),
        &[("+1mon", datetime!(2024-02-29 0:00 UTC))],
    );
    check(
        datetime!(2100-03-31 0:00 UTC),
        offset!(UTC),
        &[("-1mon", datetime!(2100-02-28 0:00 UTC))],
    );
}

#[test]
fn snapping_happens_in_the_zone() {
    // 2026-12-01T03:00Z is still November 30 in New York (-05:00) and already December 1st in
    // Tokyo (+09:00).
    let now = datetime!(2026-12-01 3:00 UTC);
    check(
        now,
        offset!(-5),
        &[
            ("@d", datetime!(2026-11-30 0:00 -5)),
            ("@mon", datetime!(2026-11-01 0:00 -5)),
            ("@w0", datetime!(2026-11-29 0:00 -5)),
            ("-1d@d", datetime!(2026-11-29 0:00 -5)),
        ],
    );
    check(
        now,
        offset!(+9),
        &[
            ("@d", datetime!(2026-12-01 0:00 +9)),
            ("@mon", datetime!(2026-12-01 0:00 +9)),
            ("@y", datetime!(2026-01-01 0:00 +9)),
            ("@w0", datetime!(2026-11-29 0:00 +9)),
        ],
    );
    // Half-hour and quarter-hour zones snap hours on their own boundaries.
    check(
        datetime!(2026-06-15 10:10 UTC),
        offset!(+5:45),
        &[
            ("@h", datetime!(2026-06-15 15:00 +5:45)),
            ("@d", datetime!(2026-06-15 0:00 +5:45)),
        ],
    );
    check(
        datetime!(2026-06-15 10:10 UTC),
        offset!(-3:30),
        &[("@h", datetime!(2026-06-15 6:00 -3:30))],
    );
    // The same instant in another zone is the same instant.
    let utc = at("-7d@d", now, offset!(UTC));
    let tokyo = at("-7d@d", now, offset!(+9));
    assert_eq!(utc - tokyo, time::Duration::hours(9));
}

#[test]
fn windows() {
    let now = datetime!(2026-11-28 12:00 UTC);
    let window = TimeWindow::new("-7d@d".parse().unwrap(), TimeModifier::Now);
    assert_eq!(
        window.resolve(now, offset!(UTC)),
        Ok((datetime!(2026-11-21 0:00 UTC), now))
    );
    let reversed = TimeWindow::new(TimeModifier::Now, "-1h".parse().unwrap());
    let err = reversed.resolve(now, offset!(UTC)).unwrap_err();
    assert_eq!(
        err,
        TimeError::Reversed {
            earliest: "now".to_owned(),
            latest: "-1h".to_owned()
        }
    );
    assert_eq!(
        err.to_string(),
        "the earliest time \"now\" is later than the latest time \"-1h\""
    );
}
