use super::*;

fn canonical(input: &str) -> String {
    match input.parse::<TimeModifier>() {
        Ok(modifier) => modifier.to_string(),
        Err(err) => panic!("{input:?}: {err}"),
    }
}

#[test]
fn canonical_forms() {
    let cases = [
        ("now", "now"),
        ("NOW", "now"),
        ("0", "0"),
        ("1700000000", "1700000000"),
        ("1700000000.250", "1700000000.25"),
        ("1700000000.000000001", "1700000000.000000001"),
        ("-7d", "-7d"),
        ("-7days", "-7d"),
        ("+1h", "+1h"),
        ("-d@d", "-1d@d"),
        ("@d", "@d"),
        ("@mon", "@mon"),
        ("@w", "@w0"),
        ("@w7", "@w0"),
        ("@w1", "@w1"),
        ("-1mon@mon", "-1mon@mon"),
        ("-2months@month", "-2mon@mon"),
        ("-1q@qtr", "-1q@q"),
        ("-1yr@y+8h", "-1y@y+8h"),
        ("@d-30m", "@d-30m"),
        ("-15minutes@m", "-15m@m"),
        ("-90sec@s", "-90s@s"),
        ("2026-11-28", "2026-11-28T00:00:00"),
        ("2026-11-28T12:34", "2026-11-28T12:34:00"),
        ("2026-11-28 12:34:56.5", "2026-11-28T12:34:56.5"),
        ("2026-11-28T12:34:56.123Z", "2026-11-28T12:34:56.123+00:00"),
        ("2026-11-28T12:34:56-07:00", "2026-11-28T12:34:56-07:00"),
        ("2026-11-28T12:34:56+0530", "2026-11-28T12:34:56+05:30"),
        ("2026-11-28T12:34:56+01", "2026-11-28T12:34:56+01:00"),
        ("2026-11-28T12:34:56-00:30", "2026-11-28T12:34:56-00:30"),
        ("0000-01-01", "0000-01-01T00:00:00"),
        ("-0044-03-15T12:00Z", "-0044-03-15T12:00:00+00:00"),
    ];
    for (input, expected) in cases {
        assert_eq!(canonical(input), expected, "{input:?}");
        assert_eq!(canonical(expected), expected, "{expected:?}");
    }
}

#[test]
fn syntax_errors() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "",
            0,
            "`now`, epoch seconds, an ISO 8601 time or a relative time",
        ),
        (
            "yesterday",
            0,
            "`now`, epoch seconds, an ISO 8601 time or a relative time",
        ),
        ("-7", 2, "a time unit (s, m, h, d, w, mon, q, y)"),
        ("-7x", 2, "a time unit (s, m, h, d, w, mon, q, y)"),
        ("-99999999999999999999d", 1, "a smaller number"),
        ("@", 1, "a snap unit (s, m, h, d, w0 to w6, mon, q, y)"),
        ("@w8", 1, "a week snap `@w0` to `@w7`"),
        ("-7d@d@d", 5, "end of input"),
        ("-7d-1h", 3, "end of input"),
        ("-0044-1", 6, "a two-digit month"),
        (
            "18446744073709551616",
            0,
            "`now`, epoch seconds, an ISO 8601 time or a relative time",
        ),
        ("+", 1, "a time unit (s, m, h, d, w, mon, q, y)"),
        ("1700000000.", 11, "1 to 9 digits of a fraction"),
        ("1.0123456789", 2, "1 to 9 digits of a fraction"),
        ("2026-13-01", 5, "a valid calendar date"),
        ("2026-02-29", 5, "a valid calendar date"),
        ("2026-1-01", 5, "a two-digit month"),
        ("2026-11-28T25:00", 11, "a valid time of day"),
        ("2026-11-28T12", 13, "`:`"),
        ("2026-11-28T12:00+1", 17, "a two-digit zone hour"),
        (
            "2026-11-28T12:00+26:00",
            16,
            "a zone offset within ±25:59:59",
        ),
        ("2026-11-28T12:00 ", 16, "end of input"),
    ];
    for &(input, offset, expected) in cases {
        let err = input.parse::<TimeModifier>().unwrap_err();
        assert_eq!(
            err,
            TimeError::Syntax {
                input: input.to_owned(),
                offset,
                expected
            },
            "{input:?}"
        );
    }
    assert_eq!(
        "-7x".parse::<TimeModifier>().unwrap_err().to_string(),
        "invalid time modifier \"-7x\": expected a time unit (s, m, h, d, w, mon, q, y) at byte 2"
    );
}

#[test]
fn out_of_range() {
    let now = OffsetDateTime::UNIX_EPOCH;
    for input in [
        "-20000y",
        "-100000y",
        "+9223372036854775807s",
        "+99999999999w",
        "99999999999999",
        // Month arithmetic past the largest count.
        "+9223372036854775807mon",
        "-9223372036854775808mon",
        "+3074457345618258602q",
        "@y+9223372036854775807mon",
        // Within what the calendar types hold, but outside the years 0000 to 9999.
        "-1971y",
        "-0044-03-15T12:00Z",
        "-0001-12-31T23:59:59.999999999Z",
        "253402300800",
        "9999-12-31T23:00-05:00",
    ] {
        let modifier: TimeModifier = input.parse().unwrap();
        assert_eq!(
            modifier.resolve(now, UtcOffset::UTC),
            Err(TimeError::OutOfRange {
                modifier: modifier.to_string()
            }),
            "{input}"
        );
    }
}

#[test]
fn the_range_is_the_years_0000_to_9999() {
    let now = time::macros::datetime!(2026-11-28 12:00 UTC);
    let resolve = |input: &str| {
        input
            .parse::<TimeModifier>()
            .unwrap()
            .resolve(now, UtcOffset::UTC)
    };
    let first = time::macros::datetime!(0000-01-01 0:00 UTC);
    let last = time::macros::datetime!(9999-12-31 23:59:59.999999999 UTC);
    assert_eq!(resolve("0000-01-01T00:00:00Z"), Ok(first));
    assert_eq!(resolve("9999-12-31T23:59:59.999999999Z"), Ok(last));
    assert_eq!(resolve("253402300799.999999999"), Ok(last));
    assert_eq!(resolve("-2026y@y"), Ok(first));
    assert_eq!(
        resolve("-2027y@y").unwrap_err().to_string(),
        "time modifier \"-2027y@y\" resolves outside the years 0000 to 9999"
    );
    // A zone may put the end of the range in the next local year: still the same instant.
    let early = "0000-01-01T00:00:00Z".parse::<TimeModifier>().unwrap();
    assert_eq!(
        early.resolve(now, UtcOffset::from_hms(-5, 0, 0).unwrap()),
        Ok(first)
    );
}

#[test]
fn instants_print_as_iso_times() {
    let instant = OffsetDateTime::from_unix_timestamp_nanos(1_795_852_800_123_456_789)
        .unwrap()
        .to_offset(UtcOffset::from_hms(-7, 0, 0).unwrap());
    let modifier = TimeModifier::at(instant);
    assert_eq!(modifier.to_string(), "2026-11-28T01:00:00.123456789-07:00");
    assert_eq!(
        modifier.resolve(OffsetDateTime::UNIX_EPOCH, UtcOffset::UTC),
        Ok(instant)
    );
}
