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
        error("search | Transaction user").to_string(),
        "Unknown search command 'Transaction'."
    );
    // An unknown command is named before anything after it is read.
    assert_eq!(
        error("search | foo [x] <y>").to_string(),
        "Unknown search command 'foo'."
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
            "search | where a=\"b\" c=\"d\"",
            21,
            "expected an operator, `|` or end of input at byte 21, found `c`",
        ),
        (
            "search | stats mode(x)",
            15,
            "expected an aggregation (count, dc, sum, avg, min, max, median, perc<N>, \
             exactperc<N>, upperperc<N>, values, earliest, latest, first, last, range, stdev) \
             at byte 15, found `mode`",
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

#[test]
fn hand_written_expressions() {
    let cases = [
        // where: any expression; the exact form stays a `Where`.
        ("search | where a=b", "search | where a=b"),
        (r#"search | where "a"="b""#, r#"search | where "a"="b""#),
        (
            r#"search | where a="b" OR c="d""#,
            r#"search | where a="b" OR c="d""#,
        ),
        (
            r#"search | where a == "x" and b != "y""#,
            r#"search | where a="x" AND b!="y""#,
        ),
        (
            "search | where seats >= 3 AND seats<10",
            "search | where seats>=3 AND seats<10",
        ),
        (
            "search | where NOT (a=1 OR b=2) xor c>d",
            "search | where NOT (a=1 OR b=2) XOR c>d",
        ),
        (
            "search | where a=1 or b=2 and c=3",
            "search | where a=1 OR b=2 AND c=3",
        ),
        (
            "search | where (a=1 or b=2) and c=3",
            "search | where (a=1 OR b=2) AND c=3",
        ),
        ("search | where not not a", "search | where NOT NOT a"),
        // IN and LIKE, as operators and as functions.
        (
            r#"search | where plan IN ("pro", "team")"#,
            r#"search | where in(plan, "pro", "team")"#,
        ),
        (
            r#"search | where plan in("pro")"#,
            r#"search | where in(plan, "pro")"#,
        ),
        (
            r#"search | where IN(plan, "pro", 'x y')"#,
            r#"search | where in(plan, "pro", 'x y')"#,
        ),
        (
            r#"search | where name LIKE "a%" AND Like(x, "_b")"#,
            r#"search | where like(name, "a%") AND like(x, "_b")"#,
        ),
        // Field names, quoted when they need it.
        (
            "search | where 'analytics_prop__plan'=\"pro\" AND 'my field'>0",
            "search | where analytics_prop__plan=\"pro\" AND 'my field'>0",
        ),
        ("search | where 'null'=1", "search | where 'null'=1"),
        ("search | where by=1", "search | where 'by'=1"),
        // Arithmetic, concatenation, negation.
        (
            "search | eval x=a+b*c-(d-e)/f%2",
            "search | eval x=a + b * c - (d - e) / f % 2",
        ),
        (
            "search | eval x=a-b, y = -a, z=--5, w=-(a+1)",
            "search | eval x=a - b, y=-a, z=-(-5), w=-(a + 1)",
        ),
        (
            r#"search | eval label="n=" . n . "!""#,
            r#"search | eval label="n=" . n . "!""#,
        ),
        (
            "search | eval x=(a.b)+1, y=(a+1).b",
            "search | eval x=(a . b) + 1, y=(a + 1) . b",
        ),
        ("search | eval x=a.1", "search | eval x=a . 1"),
        ("search | eval x=1.5*2", "search | eval x=1.5 * 2"),
        // Functions, in any case.
        (
            r#"search | eval x=IF(isnull(a), coalesce(b, c, "none"), Case(a=1, "one", a=2, "two"))"#,
            r#"search | eval x=if(isnull(a), coalesce(b, c, "none"), case(a=1, "one", a=2, "two"))"#,
        ),
        (
            "search | eval x=floor(a), y=ceil(a), z=ceiling(a), r=round(a), s=round(a, 2)",
            "search | eval x=floor(a), y=ceiling(a), z=ceiling(a), r=round(a), s=round(a, 2)",
        ),
        (
            r#"search | eval n=tonumber(s), h=tonumber(s, 16), t=tostring(n), l=len(s), lo=lower(s), up=upper(s)"#,
            r#"search | eval n=tonumber(s), h=tonumber(s, 16), t=tostring(n), l=len(s), lo=lower(s), up=upper(s)"#,
        ),
        (
            "search | eval a=abs(-x), m=min(a, 1, \"z\"), M=max(b), n=null(), nn=isnotnull(a)",
            "search | eval a=abs(-x), m=min(a, 1, \"z\"), M=max(b), n=null(), nn=isnotnull(a)",
        ),
        (
            r#"search | eval day=relative_time(_time, "-1d@d"), week=Relative_Time(_time, "@w1")"#,
            r#"search | eval day=relative_time(_time, "-1d@d"), week=relative_time(_time, "@w1")"#,
        ),
        (
            r#"search | eval start=relative_time(_time, "-7days@day")"#,
            r#"search | eval start=relative_time(_time, "-7d@d")"#,
        ),
        // eval targets may be quoted, if they are valid names.
        (
            r#"search | eval 'a'=1, "b"=2 | eval c = 3"#,
            "search | eval a=1, b=2 | eval c=3",
        ),
        // Strings keep what is in them: pipes, quotes and brackets.
        (
            r#"search | where a="x | y [z] `m` \"q\" 'n'""#,
            r#"search | where a="x | y [z] `m` \"q\" 'n'""#,
        ),
        // Whitespace of any kind, and the end of the command.
        (
            "search | where\ta\n=\r\n1 | head 2",
            "search | where a=1 | head 2",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(canonical(input), expected, "{input:?}");
        assert_eq!(canonical(expected), expected, "{expected:?}");
    }
}

#[test]
fn hand_written_commands() {
    let cases = [
        // stats functions.
        (
            "search | stats median(x), perc99(x), P95(x), p99.9(x) AS p, exactperc50(x), UpperPerc75.50(x)",
            "search | stats median(x), perc99(x), perc95(x), perc99.9(x) as p, exactperc50(x), upperperc75.5(x)",
        ),
        (
            "search | stats values(e) earliest(e) latest(e) first(e) last(e) range(n) stdev(n) by a b c",
            "search | stats values(e), earliest(e), latest(e), first(e), last(e), range(n), stdev(n) by a, b, c",
        ),
        (
            "search | timechart span=1d perc90(analytics_prop__amount) by event",
            "search | timechart span=1d perc90(analytics_prop__amount) by event",
        ),
        // eventstats and streamstats.
        (
            "search | EVENTSTATS min(_time) AS first_seen BY distinct_id",
            "search | eventstats min(_time) as first_seen by distinct_id",
        ),
        ("search | eventstats count", "search | eventstats count"),
        ("search | streamstats count", "search | streamstats count"),
        (
            "search | streamstats global=f window=3 current=false max(_time) as last by distinct_id, event",
            "search | streamstats current=false window=3 global=false max(_time) as last by distinct_id, event",
        ),
        (
            "search | streamstats current=t window=0 latest(x)",
            "search | streamstats current=true window=0 latest(x)",
        ),
        // bin.
        ("search | bin _time span=1d", "search | bin span=1d _time"),
        (
            "search | bin span=1week _time AS week",
            "search | bin span=1w _time as week",
        ),
        (
            "search | BUCKET amount span=10",
            "search | bin span=10 amount",
        ),
        (
            "search | bin span=0.5 amount as band",
            "search | bin span=0.5 amount as band",
        ),
        ("search | bin span=1d span", "search | bin span=1d span"),
        // dedup.
        ("search | dedup distinct_id", "search | dedup distinct_id"),
        (
            "search | dedup 3 source, host",
            "search | dedup 3 source host",
        ),
        ("search | dedup 'sortby'", "search | dedup 'sortby'"),
        // sort by several keys, stats by several fields (already in the subset).
        (
            "search | stats count by a, b | sort -count a",
            "search | stats count by a, b | sort -count, +a",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(canonical(input), expected, "{input:?}");
        assert_eq!(canonical(expected), expected, "{expected:?}");
    }
}

#[test]
fn expression_errors_say_where_and_what() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "search | where",
            14,
            "expected an expression at byte 14, found end of input",
        ),
        (
            "search | where | head",
            15,
            "expected an expression at byte 15, found `|`",
        ),
        (
            "search | where a=",
            17,
            "expected an operand: a number, a \"string\", a field or a function call at byte 17, \
             found end of input",
        ),
        (
            "search | where a=1 b",
            19,
            "expected an operator, `|` or end of input at byte 19, found `b`",
        ),
        (
            "search | where a<b<c",
            18,
            "expected an operator other than a comparison (a comparison compared again needs \
             parentheses) at byte 18, found `<`",
        ),
        (
            "search | where a=b LIKE c",
            19,
            "expected an operator other than a comparison (a comparison compared again needs \
             parentheses) at byte 19, found `LIKE`",
        ),
        (
            "search | eval x=a.b+c",
            19,
            "expected parentheses around `.` or around `+` and `-` (Splunk documents no order \
             between them) at byte 19, found `+`",
        ),
        (
            "search | eval x=a-b.c",
            19,
            "expected parentheses around `.` or around `+` and `-` (Splunk documents no order \
             between them) at byte 19, found `.`",
        ),
        (
            "search | where true",
            15,
            "expected a field in single quotes (`'true'`) or a call (`null()`): a bare `true`, \
             `false` or `null` could be read as a value at byte 15, found `true`",
        ),
        (
            "search | where a=NULL",
            17,
            "expected a field in single quotes (`'true'`) or a call (`null()`): a bare `true`, \
             `false` or `null` could be read as a value at byte 17, found `NULL`",
        ),
        (
            "search | where a AND OR b",
            21,
            "expected an operand: a number, a \"string\", a field or a function call at byte 21, \
             found `OR`",
        ),
        (
            "search | where (a=1",
            19,
            "expected an operator or `)` at byte 19, found end of input",
        ),
        (
            "search | where a=1) | head",
            18,
            "expected an operator, `|` or end of input at byte 18, found `)`",
        ),
        (
            "search | where f(a)",
            15,
            "unknown function `f` at byte 15: eval and where read abs, case, ceiling (ceil), \
             coalesce, floor, if, in, isnotnull, isnull, len, like, lower, max, min, null, \
             relative_time, round, tonumber, tostring, upper",
        ),
        (
            "search | eval x=if(a, b)",
            16,
            "`if` at byte 16 takes 3 arguments, not 2",
        ),
        (
            "search | eval x=case(a, b, c)",
            16,
            "`case` at byte 16 takes pairs of a condition and a value, at least one pair, not 3",
        ),
        (
            "search | eval x=null(a)",
            16,
            "`null` at byte 16 takes no argument, not 1",
        ),
        (
            "search | eval x=coalesce()",
            16,
            "`coalesce` at byte 16 takes 1 argument or more, not 0",
        ),
        (
            "search | where a IN ()",
            17,
            "`in` at byte 17 takes 2 arguments or more, not 1",
        ),
        (
            "search | where a IN \"x\"",
            20,
            "expected `(` and the values (`x IN (\"a\", \"b\")`) at byte 20, found a quoted string",
        ),
        (
            "search | eval x=f(a, b",
            16,
            "unknown function `f` at byte 16: eval and where read abs, case, ceiling (ceil), \
             coalesce, floor, if, in, isnotnull, isnull, len, like, lower, max, min, null, \
             relative_time, round, tonumber, tostring, upper",
        ),
        (
            "search | eval x=len(a, b",
            24,
            "expected an operator, `,` or `)` at byte 24, found end of input",
        ),
        (
            "search | eval x=relative_time(_time)",
            16,
            "`relative_time` at byte 16 takes 2 arguments (a time and a relative time such as \
             \"-7d@d\"), not 1",
        ),
        (
            "search | eval x=relative_time(_time, s)",
            16,
            "expected a relative time such as \"-7d@d\" as relative_time's second argument at \
             byte 16, found another expression",
        ),
        (
            "search | eval x=relative_time(_time, \"now\")",
            16,
            "expected a relative time such as \"-7d@d\" as relative_time's second argument at \
             byte 16, found `now`",
        ),
        (
            "search | eval x=relative_time(_time, \"-7x\")",
            16,
            "invalid relative time at byte 16",
        ),
        (
            "search | eval x=1 y=2",
            18,
            "expected an operator, `,`, `|` or end of input at byte 18, found `y`",
        ),
        (
            "search | eval x==1",
            15,
            "expected `=` (an eval assignment is `field=expression`) at byte 15, found `==`",
        ),
        (
            "search | eval",
            13,
            "expected a field to assign (`eval x=1`) at byte 13, found end of input",
        ),
        ("search | eval 'a b'=1", 14, "invalid field name at byte 14"),
        ("search | eval by=1", 14, "invalid field name at byte 14"),
        (
            "search | where 'a\"b'=1",
            15,
            "invalid field name at byte 15",
        ),
        ("search | where ''=1", 15, "invalid field name at byte 15"),
        (
            "search | where a=[b]",
            17,
            "expected an expression: numbers, \"strings\", fields, 'quoted fields', functions, \
             operators and parentheses at byte 17, found `[`",
        ),
        (
            "search | where a!b",
            16,
            "expected an expression: numbers, \"strings\", fields, 'quoted fields', functions, \
             operators and parentheses at byte 16, found `!`",
        ),
        (
            "search | where é=1",
            15,
            "expected an expression: numbers, \"strings\", fields, 'quoted fields', functions, \
             operators and parentheses at byte 15, found `é`",
        ),
        (
            "search | where a=\"b",
            17,
            "unterminated string starting at byte 17",
        ),
        (
            "search | where 'a=b",
            15,
            "unterminated string starting at byte 15",
        ),
    ];
    for &(input, offset, message) in cases {
        let err = error(input);
        assert_eq!(err.to_string(), message, "{input:?}");
        assert_eq!(err.offset(), offset, "{input:?}");
    }
}

#[test]
fn command_errors_say_where_and_what() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "search | streamstats reset_on_change=true count by a",
            21,
            "streamstats option `reset_on_change` at byte 21 is outside spoor's subset, which \
             reads current, window and global",
        ),
        (
            "search | streamstats time_window=1h count",
            21,
            "streamstats option `time_window` at byte 21 is outside spoor's subset, which reads \
             current, window and global",
        ),
        (
            "search | streamstats windows=3 count",
            21,
            "expected a streamstats option (current, window, global) at byte 21, found `windows`",
        ),
        (
            "search | streamstats window=-1 count",
            28,
            "expected a number of rows at byte 28, found `-1`",
        ),
        (
            "search | streamstats current=maybe count",
            29,
            "expected `true` or `false` at byte 29, found `maybe`",
        ),
        (
            "search | streamstats",
            20,
            "expected an aggregation (count, dc, sum, avg, min, max, median, perc<N>, \
             exactperc<N>, upperperc<N>, values, earliest, latest, first, last, range, stdev) \
             at byte 20, found end of input",
        ),
        (
            "search | eventstats allnum=true count",
            20,
            "eventstats option `allnum` at byte 20 is outside spoor's subset, which reads no \
             option",
        ),
        (
            "search | stats perc100(x)",
            15,
            "invalid percentile at byte 15",
        ),
        (
            "search | stats p99.1234567(x)",
            15,
            "invalid percentile at byte 15",
        ),
        (
            "search | bin _time",
            18,
            "expected `span=` (spoor's bin states its span) at byte 18, found end of input",
        ),
        (
            "search | bin span=1d",
            20,
            "expected the field to bin at byte 20, found end of input",
        ),
        (
            "search | bin bins=10 _time",
            13,
            "bin option `bins` at byte 13 is outside spoor's subset, which reads span",
        ),
        (
            "search | bin spans=1d _time",
            13,
            "expected a bin option (span) or the field to bin at byte 13, found `spans`",
        ),
        (
            "search | bin span=0 amount",
            18,
            "expected a span such as `1d`, `15m` or `1mon`, or a positive number such as `10` \
             at byte 18, found `0`",
        ),
        (
            "search | bin span=1q _time",
            18,
            "expected a span such as `1d`, `15m` or `1mon`, or a positive number such as `10` \
             at byte 18, found `1q`",
        ),
        (
            "search | bin span=200000mon _time",
            18,
            "span `200000mon` at byte 18 is longer than the 10000 years from 0000 to 9999 \
             (at most 120000mon)",
        ),
        (
            "search | bin span=1d _time day",
            27,
            "expected `span=`, `as`, `|` or end of input at byte 27, found `day`",
        ),
        (
            "search | dedup",
            14,
            "expected a field name at byte 14, found end of input",
        ),
        (
            "search | dedup 0 a",
            15,
            "expected a positive number of rows to keep at byte 15, found `0`",
        ),
        (
            "search | dedup a keepempty=true",
            17,
            "dedup option `keepempty` at byte 17 is outside spoor's subset, which reads a count \
             and the fields",
        ),
        (
            "search | dedup a sortby -_time",
            17,
            "dedup option `sortby` at byte 17 is outside spoor's subset, which reads a count and \
             the fields",
        ),
        (
            "search | eventstats count by a [b]",
            31,
            "expected a word, a quoted string, `|`, `=`, `!=`, `,` or a parenthesis at byte 31, \
             found `[`",
        ),
    ];
    for &(input, offset, message) in cases {
        let err = error(input);
        assert_eq!(err.to_string(), message, "{input:?}");
        assert_eq!(err.offset(), offset, "{input:?}");
    }
}

#[test]
fn literal_and_time_errors_keep_their_cause() {
    use std::error::Error as _;
    let err = error("search | stats perc100(x)");
    assert_eq!(
        err.source().map(ToString::to_string).as_deref(),
        Some(
            "\"100\" is not a percentile: write a number above 0 and below 100 with at most six \
             decimals, such as `99` or `99.95`"
        )
    );
    let err = error("search | eval x=relative_time(_time, \"-7x\")");
    assert!(err.source().is_some(), "{err}");
}

#[test]
fn deep_expressions_are_refused_not_overflowed() {
    let depth = MAX_DEPTH;
    // At the limit: parentheses do not count as levels of the tree, only of nesting.
    let parens = format!(
        "search | where {}a{}",
        "(".repeat(depth - 1),
        ")".repeat(depth - 1)
    );
    assert_eq!(canonical(&parens), "search | where a");
    let chain = format!("search | eval x=a{}", " + a".repeat(depth - 1));
    assert!(parse(&chain).is_ok());
    // Past it, whatever nests.
    for deep in [
        format!("search | where {}a", "(".repeat(100_000)),
        format!("search | where {}a", "NOT ".repeat(100_000)),
        format!("search | eval x={}1", "-".repeat(100_000)),
        format!("search | eval x={}1", "abs(".repeat(100_000)),
        format!("search | eval x=a{}", " + a".repeat(100_000)),
        format!("search | eval x=a{}", " * a".repeat(depth)),
    ] {
        assert!(
            matches!(parse(&deep), Err(ParseError::TooDeep { .. })),
            "{}",
            &deep[..40]
        );
    }
    // A long conjunction is one level, however long.
    let long = format!("search | where a=\"x\"{}", " AND a=\"x\"".repeat(10_000));
    assert!(matches!(
        parse(&long).map(|q| q.commands),
        Ok(commands) if matches!(&commands[..], [Command::Where(w)] if w.conditions.len() == 10_001)
    ));
    assert_eq!(
        error(&format!("search | where {}a", "(".repeat(200))).to_string(),
        format!(
            "the expression at byte {} nests more than {MAX_DEPTH} levels: write it with fewer \
             parentheses, calls or operators",
            15 + MAX_DEPTH
        )
    );
}

#[test]
fn expressions_parse_alone() {
    assert_eq!(
        "a=1 OR b".parse::<Expr>().map(|e| e.to_string()).as_deref(),
        Ok("a=1 OR b")
    );
    assert_eq!(
        expression("a |").unwrap_err().to_string(),
        "expected an expression: numbers, \"strings\", fields, 'quoted fields', functions, \
         operators and parentheses at byte 2, found `|`"
    );
    assert_eq!(
        expression("").unwrap_err().to_string(),
        "expected an expression at byte 0, found end of input"
    );
}
