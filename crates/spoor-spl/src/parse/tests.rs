use super::*;

/// Parses `input` and prints it back in the canonical form.
fn canonical(input: &str) -> String {
    match parse(input) {
        Ok(query) => query.to_string(),
        Err(err) => panic!("{input:?} does not parse: {err}"),
    }
}

fn error(input: &str) -> ParseError {
    match parse(input) {
        Ok(query) => panic!("{input:?} parses as {query}"),
        Err(err) => err,
    }
}

#[test]
fn hand_written_forms() {
    let cases = [
        // The search keyword is optional, or may follow a leading pipe.
        ("index=main", r#"search index="main""#),
        ("| search index=main", r#"search index="main""#),
        ("SEARCH index = main", r#"search index="main""#),
        ("", "search"),
        ("search", "search"),
        ("search=x", r#"search search="x""#),
        ("search search!=x", r#"search search!="x""#),
        // Values: bare, quoted, escaped, wildcards.
        (
            r#"search a=b c="d e" f=* g="*" NOT h=i j!=k l="x\"y\\z" m="a\b""#,
            r#"search a="b" c="d e" f="*" g="*" NOT h="i" j!="k" l="x\"y\\z" m="a\\b""#,
        ),
        ("search a=1 AND b=2", r#"search a="1" b="2""#),
        ("search 'a'=b", r#"search a="b""#),
        ("search a=é", r#"search a="é""#),
        // where.
        (
            r#"search | where a="x" and 'b'=="y" AND c!="z""#,
            r#"search | where a="x" AND b="y" AND c!="z""#,
        ),
        // stats.
        (
            "search | STATS Count, DC(distinct_id) AS users BY application , event",
            "search | stats count, dc(distinct_id) as users by application, event",
        ),
        (
            "search | stats c count(x) distinct_count(y) mean(z) min(n) max(n) sum(n)",
            "search | stats count, count(x), dc(y), avg(z), min(n), max(n), sum(n)",
        ),
        (
            "search | stats dc( analytics_prop__* ) as *",
            "search | stats dc(analytics_prop__*) as *",
        ),
        // timechart, options in any order and after the by clause.
        (
            "search | timechart count span = 1day by event limit=5 useother=f usenull=T",
            "search | timechart span=1d limit=5 useother=false usenull=true count by event",
        ),
        (
            "search | timechart span=2hours dc(distinct_id) as users",
            "search | timechart span=2h dc(distinct_id) as users",
        ),
        (
            "search | timechart span=1month span=1w count",
            "search | timechart span=1w count",
        ),
        // rename, fields, sort, head.
        (
            "search | rename analytics_prop__p AS p, a* as b* c as d",
            "search | rename analytics_prop__p as p, a* as b*, c as d",
        ),
        ("search | fields - _span*", "search | fields - _span*"),
        (
            r#"search | stats count AS "total" BY "event" | rename "total" as "n" | sort - "n""#,
            "search | stats count as total by event | rename total as n | sort -n",
        ),
        ("search | fields -_span*, x", "search | fields - _span*, x"),
        ("search | fields a b", "search | fields + a, b"),
        ("search | fields + a", "search | fields + a"),
        (
            "search | sort -count, value",
            "search | sort -count, +value",
        ),
        (
            "search | sort - count + value",
            "search | sort -count, +value",
        ),
        ("search | sort 5 count", "search | sort limit=5 +count"),
        (
            "search | sort limit=0 count a desc",
            "search | sort limit=0 -count, -a",
        ),
        ("search | sort -count D", "search | sort +count"),
        ("search | sort count, d", "search | sort -count"),
        ("search | sort desc", "search | sort +desc"),
        ("search | head", "search | head 10"),
        ("search | head 3", "search | head 3"),
        ("search | head limit=3", "search | head 3"),
        // Whitespace of any kind.
        ("search\ta=b\n|\r\nhead 1", r#"search a="b" | head 1"#),
    ];
    for (input, expected) in cases {
        assert_eq!(canonical(input), expected, "{input:?}");
    }
}

#[test]
fn printed_queries_parse_back() {
    let input = r#"search index="main" application="a \"q\" | b" event="*" | where application="a \"q\" | b" AND event!="*" | stats count, dc(distinct_id) as users by event | sort limit=0 -count, +event | head 5"#;
    assert_eq!(canonical(input), input);
}

#[test]
fn unknown_commands_use_splunks_words() {
    let err = error("search a=b | foo x");
    assert_eq!(err.to_string(), "Unknown search command 'foo'.");
    assert_eq!(err.offset(), 13);
    assert_eq!(
        error("search | Eval x=1").to_string(),
        "Unknown search command 'Eval'."
    );
    assert_eq!(
        error("| tstats count").to_string(),
        "Unknown search command 'tstats'."
    );
}

#[test]
fn errors_say_where_and_what() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "search a",
            8,
            "expected `=` or `!=` (a search term is `field=\"value\"`) at byte 8, found end of input",
        ),
        (
            "search a=",
            9,
            "expected a value (a quoted string or a word) at byte 9, found end of input",
        ),
        ("search a=\"b", 9, "unterminated string starting at byte 9"),
        ("search 'a=b", 7, "unterminated string starting at byte 7"),
        (
            "search a=b |",
            12,
            "expected a command name at byte 12, found end of input",
        ),
        (
            "search a=b | | head",
            13,
            "expected a command name at byte 13, found `|`",
        ),
        (
            "search a=[b]",
            9,
            "expected a word, a quoted string, `|`, `=`, `!=`, `,` or a parenthesis at byte 9, found `[`",
        ),
        (
            "search | where a=b",
            17,
            "expected a quoted string (`where` compares a field to a literal) at byte 17, found `b`",
        ),
        (
            "search | where \"a\"=\"b\"",
            15,
            "expected a field name (quoted `'name'` in `where`) at byte 15, found a quoted string",
        ),
        (
            "search | where a=\"b\" OR c=\"d\"",
            21,
            "expected `AND`, `|` or end of input at byte 21, found `OR`",
        ),
        (
            "search | stats median(x)",
            15,
            "expected an aggregation (count, dc, sum, avg, min, max) at byte 15, found `median`",
        ),
        (
            "search | stats dc",
            17,
            "expected `(` and the field to aggregate at byte 17, found end of input",
        ),
        (
            "search | stats dc(x",
            19,
            "expected `)` at byte 19, found end of input",
        ),
        (
            "search | stats count by",
            23,
            "expected a field name at byte 23, found end of input",
        ),
        (
            "search | stats count by a-b",
            24,
            "invalid field name at byte 24",
        ),
        (
            "search | stats count by BY",
            24,
            "invalid field name at byte 24",
        ),
        (
            "search | stats dc(a*) as b",
            25,
            "wildcard mismatch at byte 25: \"b\" must have as many `*` as \"dc(a*)\"",
        ),
        (
            "search | rename a* as b",
            22,
            "wildcard mismatch at byte 22: \"b\" must have as many `*` as \"a*\"",
        ),
        (
            "search | rename a b",
            18,
            "expected `as` at byte 18, found `b`",
        ),
        (
            "search | timechart count",
            24,
            "expected `span=` (spoor's timechart states its span) at byte 24, found end of input",
        ),
        (
            "search | timechart span=0d count",
            24,
            "expected a span such as `1d`, `15m` or `1mon` at byte 24, found `0d`",
        ),
        (
            "search | timechart span=1q count",
            24,
            "expected a span such as `1d`, `15m` or `1mon` at byte 24, found `1q`",
        ),
        (
            "search | timechart span=1d bins=3 count",
            27,
            "expected a timechart option (span, limit, useother, usenull) at byte 27, found `bins`",
        ),
        (
            "search | timechart span=1d useother=maybe count",
            36,
            "expected `true` or `false` at byte 36, found `maybe`",
        ),
        (
            "search | timechart span=1d limit=-1 count",
            33,
            "expected a number at byte 33, found `-1`",
        ),
        (
            "search | timechart span=1d count by a b",
            38,
            "expected `|` or end of input at byte 38, found `b`",
        ),
        (
            "search | head x",
            14,
            "expected a number of rows at byte 14, found `x`",
        ),
        (
            "search | head 99999999999999999999",
            14,
            "expected a number of rows at byte 14, found `99999999999999999999`",
        ),
        (
            "search | search a=b",
            9,
            "`search` at byte 9 can only be the first command of a query",
        ),
        (
            "| stats count",
            2,
            "expected `search` (a query starts with a search) at byte 2, found `stats`",
        ),
        ("search é=x", 7, "invalid field name at byte 7"),
        (
            "search a=b, c=d",
            10,
            "expected a search term such as `field=\"value\"` at byte 10, found `,`",
        ),
    ];
    for &(input, offset, message) in cases {
        let err = error(input);
        assert_eq!(err.to_string(), message, "{input:?}");
        assert_eq!(err.offset(), offset, "{input:?}");
    }
}

#[test]
fn long_input_is_cut_in_errors() {
    let long = "x".repeat(100);
    let err = error(&format!("search | head {long}"));
    assert_eq!(
        err.to_string(),
        format!(
            "expected a number of rows at byte 14, found `{}…`",
            &long[..40]
        )
    );
}

#[test]
fn invalid_field_keeps_its_cause() {
    use std::error::Error as _;
    let err = error("search a-b=c");
    let source = err.source().map(ToString::to_string);
    assert_eq!(
        source.as_deref(),
        Some(
            "field name \"a-b\" has an invalid character at byte 1 \
             (expected ASCII letters, digits and `_`, not starting with a digit)"
        )
    );
}

#[test]
fn spans() {
    assert_eq!("1d".parse::<Span>(), Ok(Span::DAY));
    assert_eq!("1MON".parse::<Span>(), Ok(Span::MONTH));
    assert_eq!(
        "15minutes"
            .parse::<Span>()
            .map(|s| s.to_string())
            .as_deref(),
        Ok("15m")
    );
    for bad in [
        "",
        "d",
        "0s",
        "1",
        "1 d",
        "-1d",
        "+1d",
        "1x",
        "99999999999d",
    ] {
        assert!(bad.parse::<Span>().is_err(), "{bad:?}");
    }
}

#[test]
fn spans_longer_than_the_range_of_times_are_refused() {
    // 10,000 Gregorian years are 3,652,425 days: exactly 521,775 weeks.
    for longest in ["120000mon", "521775w", "3652425d", "87658200h"] {
        assert_eq!(
            longest.parse::<Span>().map(|s| s.to_string()).as_deref(),
            Ok(longest)
        );
    }
    // Minutes and seconds never reach 10,000 years in a 32-bit count.
    for long in ["4294967295m", "4294967295s"] {
        assert!(long.parse::<Span>().is_ok(), "{long}");
    }
    for (too_long, most) in [
        ("120001mon", "120000mon"),
        ("1000000mon", "120000mon"),
        ("4294967295mon", "120000mon"),
        ("521776w", "521775w"),
        ("3652426d", "3652425d"),
        ("87658201h", "87658200h"),
    ] {
        let err = too_long.parse::<Span>().unwrap_err();
        assert_eq!(
            err,
            ParseError::SpanTooLong {
                span: too_long.to_owned(),
                offset: 0
            }
        );
        assert!(err.to_string().contains(most), "{err}");
    }
    assert_eq!(
        error("search index=main | timechart span=1000000mon count").to_string(),
        "span `1000000mon` at byte 35 is longer than the 10000 years from 0000 to 9999 \
         (at most 120000mon)"
    );
    // A long spelling of the unit counts the same.
    assert_eq!(
        error("search | timechart span=130000months count").offset(),
        24
    );
}

#[test]
fn deep_or_long_input_does_not_overflow() {
    let long = "search ".to_owned() + &"a=b ".repeat(10_000);
    assert_eq!(parse(&long).map(|q| q.search.terms.len()), Ok(10_000));
    let parens = "(".repeat(100_000);
    assert!(parse(&parens).is_err());
    let pipes = "search".to_owned() + &" | head 1".repeat(10_000);
    assert_eq!(parse(&pipes).map(|q| q.commands.len()), Ok(10_000));
}
