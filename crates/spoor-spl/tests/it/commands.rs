//! Golden text of each command and expression form added for issue 14, next to the Splunk
//! page it follows: each tree, built with the API, prints exactly the golden text, which parses
//! back to the tree; and the example as Splunk's page writes it reads to the same tree.

use std::num::NonZeroU32;

use spoor_spl::ast::{
    Aggregate, Aggregation, Bin, BinSpan, BinaryOp, Command, Dedup, Eval, EvalFunction, Eventstats,
    Expr, Field, FieldName, FieldPattern, Function, Number, Percentile, Query, Search, SearchTerm,
    Span, Stats, Streamstats, UnaryOp, WhereExpr,
};
use spoor_spl::parse;

fn field(name: &str) -> Field {
    Field::new(name).expect("a valid field name")
}

fn value(name: &str) -> Expr {
    Expr::field(field(name))
}

fn eq(left: Expr, right: Expr) -> Expr {
    Expr::binary(BinaryOp::Eq, left, right)
}

fn apply(function: Function, name: &str) -> Aggregation {
    Aggregation::apply(function, field(name))
}

fn percentile(text: &str) -> Percentile {
    text.parse().expect("a valid percentile")
}

/// `search | <command>`.
fn after_search(command: Command) -> Query {
    Query {
        search: Search::default(),
        commands: vec![command],
    }
}

/// Checks that `command` prints `golden` (after `search | `), that the golden text parses back
/// to it, and that each of `typed` (as a user or Splunk's page writes it) reads the same.
#[track_caller]
fn golden(command: Command, golden: &str, typed: &[&str]) {
    let query = after_search(command);
    let text = format!("search | {golden}");
    assert_eq!(query.to_string(), text);
    assert_eq!(parse(&text), Ok(query.clone()), "{text}");
    for typed in typed {
        let typed = format!("search | {typed}");
        assert_eq!(parse(&typed), Ok(query.clone()), "{typed}");
    }
}

/// `eval`: <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/eval>.
#[test]
fn eval() {
    // The page's "create a new field that contains the result of a calculation".
    golden(
        Command::Eval(Eval::new([(
            field("speed"),
            Expr::binary(BinaryOp::Divide, value("distance"), value("time")),
        )])),
        "eval speed=distance / time",
        &["eval speed=distance/time"],
    );
    // Several assignments, left to right, each seeing the ones before.
    golden(
        Command::Eval(Eval::new([
            (
                field("total"),
                Expr::binary(BinaryOp::Multiply, value("price"), value("qty")),
            ),
            (
                field("label"),
                Expr::binary(BinaryOp::Concat, Expr::string("total: "), value("total")),
            ),
        ])),
        r#"eval total=price * qty, label="total: " . total"#,
        &[r#"EVAL total = price*qty , label = "total: ".total"#],
    );
    // A field whose name needs quotes, and a negative number.
    golden(
        Command::Eval(Eval::new([(
            field("delta"),
            Expr::binary(
                BinaryOp::Add,
                Expr::field(FieldName::new("server-1").unwrap()),
                Expr::unary(UnaryOp::Negate, Expr::number(Number::new("1.5").unwrap())),
            ),
        )])),
        "eval delta='server-1' + -1.5",
        &["eval delta='server-1'+-1.5"],
    );
}

/// `where`: <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/where>;
/// `AND` before `OR` before `XOR`, `NOT` first:
/// <https://help.splunk.com/en/splunk-enterprise/search/search-manual/9.3/expressions-and-predicates>.
#[test]
fn where_expressions() {
    // The builders' exact filter keeps its form and its text.
    golden(
        Command::where_(
            Expr::all([
                eq(value("application"), Expr::string("shop")),
                Expr::binary(BinaryOp::Ne, value("event"), Expr::string("login")),
            ])
            .unwrap(),
        ),
        r#"where application="shop" AND event!="login""#,
        &[r#"where application=="shop" and 'event'!="login""#],
    );
    // A field whose name needs quotes (the page's `'5minutes'="late"`).
    golden(
        Command::WhereExpr(WhereExpr {
            condition: eq(
                Expr::field(FieldName::new("5minutes").unwrap()),
                Expr::string("late"),
            ),
        }),
        r#"where '5minutes'="late""#,
        &[],
    );
    // Two fields compared, which `search` cannot do.
    golden(
        Command::where_(Expr::binary(
            BinaryOp::Gt,
            value("bytes_out"),
            value("bytes_in"),
        )),
        "where bytes_out>bytes_in",
        &["where bytes_out > bytes_in"],
    );
    // Numeric filters, OR, NOT and the order of the Boolean operators.
    let seats = || value("analytics_prop__seats");
    let condition = Expr::any([
        Expr::all([
            Expr::binary(BinaryOp::Ge, seats(), Expr::number(3)),
            Expr::binary(BinaryOp::Lt, seats(), Expr::number(10)),
        ])
        .unwrap(),
        Expr::unary(
            UnaryOp::Not,
            Expr::call(EvalFunction::IsNotNull, [value("analytics_prop__plan")]),
        ),
    ])
    .unwrap();
    golden(
        Command::where_(condition),
        "where analytics_prop__seats>=3 AND analytics_prop__seats<10 OR \
         NOT isnotnull(analytics_prop__plan)",
        &[
            "where (analytics_prop__seats >= 3 AND analytics_prop__seats < 10) OR \
           NOT isnotnull(analytics_prop__plan)",
        ],
    );
}

/// Comparison and conditional functions:
/// <https://help.splunk.com/splunk-cloud-platform/spl-search-reference/9.3.2408/evaluation-functions/comparison-and-conditional-functions>;
/// `IN` in `eval` and `where` is the `in` function:
/// <https://www.splunk.com/en_us/blog/tips-and-tricks/smooth-operator-searching-for-multiple-field-values.html>.
#[test]
fn conditional_functions() {
    // The page's `case` example.
    let status =
        |code: u32, text: &str| [eq(value("status"), Expr::number(code)), Expr::string(text)];
    let case = Expr::call(
        EvalFunction::Case,
        [
            status(200, "OK"),
            status(404, "Not found"),
            status(500, "Internal Server Error"),
        ]
        .into_iter()
        .flatten(),
    );
    golden(
        Command::Eval(Eval::new([(field("description"), case)])),
        r#"eval description=case(status=200, "OK", status=404, "Not found", status=500, "Internal Server Error")"#,
        &[
            r#"eval description=case(status==200, "OK", status==404, "Not found", status==500, "Internal Server Error")"#,
        ],
    );
    // The overview's `if(in(…))` example.
    let error = Expr::call(
        EvalFunction::If,
        [
            Expr::call(
                EvalFunction::In,
                [
                    value("status"),
                    Expr::string("error"),
                    Expr::string("failure"),
                    Expr::string("severe"),
                ],
            ),
            Expr::string("true"),
            Expr::string("false"),
        ],
    );
    golden(
        Command::Eval(Eval::new([(field("error"), error)])),
        r#"eval error=if(in(status, "error", "failure", "severe"), "true", "false")"#,
        &[],
    );
    // `IN (…)` and `LIKE` as a user types them in `where`.
    golden(
        Command::where_(
            Expr::all([
                Expr::call(
                    EvalFunction::In,
                    [value("plan"), Expr::string("pro"), Expr::string("team")],
                ),
                Expr::call(
                    EvalFunction::Like,
                    [value("email"), Expr::string("%@example.com")],
                ),
            ])
            .unwrap(),
        ),
        r#"where in(plan, "pro", "team") AND like(email, "%@example.com")"#,
        &[r#"where plan IN ("pro", "team") AND email LIKE "%@example.com""#],
    );
    // null, isnull, coalesce.
    golden(
        Command::Eval(Eval::new([
            (
                field("plan"),
                Expr::call(
                    EvalFunction::Coalesce,
                    [value("plan"), Expr::string("free")],
                ),
            ),
            (
                field("gone"),
                Expr::call(
                    EvalFunction::If,
                    [
                        Expr::call(EvalFunction::IsNull, [value("plan")]),
                        Expr::call(EvalFunction::Null, []),
                        Expr::number(1),
                    ],
                ),
            ),
        ])),
        r#"eval plan=coalesce(plan, "free"), gone=if(isnull(plan), null(), 1)"#,
        &[],
    );
}

/// Mathematical, conversion, text and statistical eval functions:
/// <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/evaluation-functions/mathematical-functions>.
#[test]
fn other_functions() {
    let one = |function: EvalFunction, arg: Expr| Expr::call(function, [arg]);
    golden(
        Command::Eval(Eval::new([
            (
                field("n"),
                one(
                    EvalFunction::Ceiling,
                    Expr::number(Number::new("1.9").unwrap()),
                ),
            ),
            (field("absnum"), one(EvalFunction::Abs, value("number"))),
            (field("f"), one(EvalFunction::Floor, value("x"))),
            (
                field("r"),
                Expr::call(EvalFunction::Round, [value("x"), Expr::number(2)]),
            ),
        ])),
        "eval n=ceiling(1.9), absnum=abs(number), f=floor(x), r=round(x, 2)",
        &["eval n=ceil(1.9), absnum=abs(number), f=floor(x), r=round(x,2)"],
    );
    golden(
        Command::Eval(Eval::new([
            (
                field("n"),
                Expr::call(EvalFunction::ToNumber, [value("hex"), Expr::number(16)]),
            ),
            (field("s"), one(EvalFunction::ToString, value("n"))),
            (field("l"), one(EvalFunction::Len, value("s"))),
            (field("u"), one(EvalFunction::Upper, value("s"))),
            (field("d"), one(EvalFunction::Lower, value("s"))),
            (
                field("m"),
                Expr::call(EvalFunction::Max, [value("a"), value("b"), Expr::number(0)]),
            ),
            (
                field("k"),
                Expr::call(EvalFunction::Min, [value("a"), value("b")]),
            ),
        ])),
        "eval n=tonumber(hex, 16), s=tostring(n), l=len(s), u=upper(s), d=lower(s), \
         m=max(a, b, 0), k=min(a, b)",
        &[],
    );
}

/// `relative_time`, with spoor's time modifiers:
/// <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/evaluation-functions/date-and-time-functions>.
#[test]
fn relative_time() {
    let day = Expr::relative_time(value("_time"), "-1d@d".parse().unwrap());
    let week = Expr::relative_time(value("_time"), "@w1".parse().unwrap());
    golden(
        Command::Eval(Eval::new([
            (field("yesterday"), day),
            (field("monday"), week),
        ])),
        r#"eval yesterday=relative_time(_time, "-1d@d"), monday=relative_time(_time, "@w1")"#,
        &[r#"eval yesterday=relative_time(_time,"-1day@day"), monday=relative_time(_time, "@w1")"#],
    );
}

/// Aggregate functions (`median`, the percentiles, `range`, `stdev`):
/// <https://docs.splunk.com/Documentation/Splunk/9.2.1/SearchReference/Aggregatefunctions>;
/// `earliest` and `latest`, by `_time`:
/// <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/statistical-and-charting-functions/time-functions>;
/// `stats` by several fields:
/// <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/stats>.
#[test]
fn stats_functions() {
    golden(
        Command::Stats(Stats {
            aggregations: vec![
                apply(Function::Median, "amount"),
                apply(Function::Perc(percentile("99")), "amount"),
                apply(Function::Perc(percentile("99.999")), "response_ms").alias(field("p")),
                apply(Function::ExactPerc(percentile("90")), "amount"),
                apply(Function::UpperPerc(percentile("95.5")), "amount"),
                apply(Function::Range, "amount"),
                apply(Function::Stdev, "amount"),
            ],
            by: vec![field("application"), field("event")],
        }),
        "stats median(amount), perc99(amount), perc99.999(response_ms) as p, \
         exactperc90(amount), upperperc95.5(amount), range(amount), stdev(amount) \
         by application, event",
        &[
            "stats median(amount) p99(amount) p99.999(response_ms) AS p exactperc90(amount) \
           upperperc95.50(amount) range(amount) stdev(amount) BY application event",
        ],
    );
    golden(
        Command::Stats(Stats {
            aggregations: vec![
                apply(Function::Values, "event"),
                apply(Function::Earliest, "event").alias(field("first_event")),
                apply(Function::Latest, "_time"),
                apply(Function::First, "event"),
                apply(Function::Last, "event"),
            ],
            by: vec![field("distinct_id")],
        }),
        "stats values(event), earliest(event) as first_event, latest(_time), first(event), \
         last(event) by distinct_id",
        &[],
    );
    // The new functions take wildcards as the others do.
    let any_property = Aggregation {
        aggregate: Aggregate::Apply {
            function: Function::Median,
            field: FieldPattern::new("analytics_prop__*").unwrap(),
        },
        alias: Some(FieldPattern::new("*").unwrap()),
    };
    golden(
        Command::Stats(Stats {
            aggregations: vec![any_property],
            by: vec![],
        }),
        "stats median(analytics_prop__*) as *",
        &[],
    );
}

/// `eventstats`: <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.0/search-commands/eventstats>.
#[test]
fn eventstats() {
    golden(
        Command::Eventstats(Eventstats {
            aggregations: vec![apply(Function::Min, "_time").alias(field("first_seen"))],
            by: vec![field("distinct_id")],
        }),
        "eventstats min(_time) as first_seen by distinct_id",
        &["eventstats min(_time) AS first_seen BY distinct_id"],
    );
    golden(
        Command::Eventstats(Eventstats {
            aggregations: vec![apply(Function::Avg, "duration").alias(field("avgdur"))],
            by: vec![],
        }),
        "eventstats avg(duration) as avgdur",
        &[],
    );
}

/// `streamstats`: <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/streamstats>.
#[test]
fn streamstats() {
    // A moving average over the last 3 rows.
    golden(
        Command::Streamstats(Streamstats {
            current: None,
            window: Some(3),
            global: None,
            aggregations: vec![apply(Function::Avg, "bytes")],
            by: vec![],
        }),
        "streamstats window=3 avg(bytes)",
        &[],
    );
    // The latest time of a funnel's first step before each row, per user.
    golden(
        Command::Streamstats(Streamstats {
            current: Some(false),
            window: None,
            global: Some(false),
            aggregations: vec![apply(Function::Latest, "step1_time").alias(field("start"))],
            by: vec![field("distinct_id")],
        }),
        "streamstats current=false global=false latest(step1_time) as start by distinct_id",
        &["streamstats global=f current=f latest(step1_time) AS start BY distinct_id"],
    );
}

/// `bin`: <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/bin>.
#[test]
fn bin() {
    // The page's `bin _time span=5m`.
    golden(
        Command::Bin(Bin {
            span: BinSpan::Time("5m".parse::<Span>().unwrap()),
            field: field("_time"),
            alias: None,
        }),
        "bin span=5m _time",
        &["bin _time span=5m", "bucket _time span=5minutes"],
    );
    golden(
        Command::Bin(Bin {
            span: BinSpan::Time(Span::WEEK),
            field: field("first_seen"),
            alias: Some(field("cohort")),
        }),
        "bin span=1w first_seen as cohort",
        &["bin first_seen AS cohort span=1week"],
    );
    golden(
        Command::Bin(Bin {
            span: BinSpan::Number(Number::new("10").unwrap()),
            field: field("amount"),
            alias: None,
        }),
        "bin span=10 amount",
        &[],
    );
}

/// `dedup`: <https://help.splunk.com/splunk-cloud-platform/spl-search-reference/10.0.2503/search-commands/dedup>.
#[test]
fn dedup() {
    golden(
        Command::Dedup(Dedup {
            count: None,
            fields: vec![field("host")],
        }),
        "dedup host",
        &[],
    );
    golden(
        Command::Dedup(Dedup {
            count: NonZeroU32::new(3),
            fields: vec![field("source"), field("host")],
        }),
        "dedup 3 source host",
        &["dedup 3 source, host"],
    );
}

/// The commands together: the steps a funnel's SPL takes (filters, a step number, the latest
/// first step before each event per user, the furthest step per user, users per step).
#[test]
fn a_funnel_reads_back() {
    let spl = r#"search index="sample_analytics" application="shop" | where application="shop" AND in(event, "view", "cart", "buy") | eval step=case(event="view", 1, event="cart", 2, event="buy", 3), start=if(step=1, _time, null()) | sort limit=0 +distinct_id, +_time | streamstats latest(start) as chain_start by distinct_id | where isnotnull(chain_start) AND _time - chain_start<=604800 | stats max(step) as reached by distinct_id | stats count as users by reached"#;
    let query = parse(spl).expect("the funnel parses");
    assert_eq!(query.to_string(), spl);
    assert_eq!(
        query.search.terms,
        vec![
            SearchTerm::eq(field("index"), "sample_analytics"),
            SearchTerm::eq(field("application"), "shop"),
        ]
    );
    let names: Vec<&str> = query.commands.iter().map(Command::name).collect();
    assert_eq!(
        names,
        [
            "where",
            "eval",
            "sort",
            "streamstats",
            "where",
            "stats",
            "stats"
        ]
    );
}
