//! Retry policy: which replies to retry and how long to wait, as pure functions.
//!
//! Retried: 408, 429 and 5xx (except 501 and 505, which never change). The wait is a capped
//! exponential backoff with jitter: attempt *n* (from 0) waits between half and all of
//! `min(max_delay, base_delay · 2ⁿ)`, the jitter number (0 to 1) choosing where. A
//! `Retry-After` header wins over the backoff: delta-seconds, or an HTTP-date measured
//! against the reply's own `Date` header (or a wall-clock time the caller gives), capped at
//! [`RetryPolicy::max_retry_after`].

use std::time::{Duration, SystemTime};

use http::header::{DATE, RETRY_AFTER};
use http::{HeaderMap, StatusCode};

/// When and how often to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 3; 0 disables retrying).
    pub max_retries: u32,
    /// The first backoff (default 200 ms).
    pub base_delay: Duration,
    /// The longest backoff (default 30 s).
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured (default 5 min); longer ones are cut to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Whether a status is worth retrying: 408, 429, 5xx but 501 and 505.
    pub fn is_retryable(status: StatusCode) -> bool {
        matches!(status.as_u16(), 408 | 429)
            || (status.is_server_error() && !matches!(status.as_u16(), 501 | 505))
    }

    /// The backoff before retry number `retry` (0 for the first retry); `jitter` in `[0, 1]`
    /// (clamped) picks a point between half and all of the capped exponential delay.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = spoor_proto::RetryPolicy::default();
    /// assert_eq!(p.backoff(0, 1.0), Duration::from_millis(200));
    /// assert_eq!(p.backoff(2, 0.0), Duration::from_millis(400));
    /// assert_eq!(p.backoff(30, 1.0), Duration::from_secs(30));
    /// ```
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        exp / 2 + (exp / 2).mul_f64(jitter)
    }

    /// How long to wait before retrying a reply, or `None` when it should not be retried
    /// (not retryable, or `retries_done` reached [`max_retries`](Self::max_retries)).
    /// `wall_now` serves an HTTP-date `Retry-After` when the reply has no `Date` header.
    pub fn decide(
        &self,
        retries_done: u32,
        status: StatusCode,
        headers: &HeaderMap,
        jitter: f64,
        wall_now: Option<SystemTime>,
    ) -> Option<Duration> {
        if retries_done >= self.max_retries || !Self::is_retryable(status) {
            return None;
        }
        match retry_after(headers, wall_now) {
            Some(wait) => Some(wait.min(self.max_retry_after)),
            None => Some(self.backoff(retries_done, jitter)),
        }
    }
}

/// Reads `Retry-After`: delta-seconds, or an HTTP-date taken relative to the `Date` header
/// (or to `wall_now` when there is none). A date in the past is a zero wait.
///
/// ```
/// use http::HeaderMap;
/// let mut h = HeaderMap::new();
/// h.insert("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT".parse()?);
/// h.insert("date", "Sun, 06 Nov 1994 08:49:07 GMT".parse()?);
/// assert_eq!(spoor_proto::retry::retry_after(&h, None), Some(std::time::Duration::from_secs(30)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn retry_after(headers: &HeaderMap, wall_now: Option<SystemTime>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(value)?;
    let now = match headers
        .get(DATE)
        .and_then(|d| parse_http_date(d.to_str().ok()?))
    {
        Some(date) => date,
        None => i64::try_from(
            wall_now?
                .duration_since(SystemTime::UNIX_EPOCH)
                .ok()?
                .as_secs(),
        )
        .ok()?,
    };
    Some(Duration::from_secs(u64::try_from(at - now).unwrap_or(0)))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to Unix seconds.
fn parse_http_date(s: &str) -> Option<i64> {
    let mut parts = s.split_ascii_whitespace();
    let _weekday = parts.next()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => time::Month::January,
        "Feb" => time::Month::February,
        "Mar" => time::Month::March,
        "Apr" => time::Month::April,
        "May" => time::Month::May,
        "Jun" => time::Month::June,
        "Jul" => time::Month::July,
        "Aug" => time::Month::August,
        "Sep" => time::Month::September,
        "Oct" => time::Month::October,
        "Nov" => time::Month::November,
        "Dec" => time::Month::December,
        _ => return None,
    };
    let year: i32 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|p| p.parse::<u8>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if parts.next()? != "GMT" || parts.next().is_some() || hms.next().is_some() {
        return None;
    }
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let time = time::Time::from_hms(h, m, sec).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// A tiny deterministic jitter source (SplitMix64) seeded by the caller, so the crate stays
/// pure and tests are repeatable. Drivers seed it from anything that varies (time, a
/// counter, an address).
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// A source with this seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next number in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn retry_after_never_panics(value in "[ -~]{0,40}", secs in any::<u64>()) {
            let mut h = HeaderMap::new();
            if let Ok(v) = value.parse() {
                h.insert(RETRY_AFTER, v);
            }
            let wall = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs % (1 << 40)));
            let _ = retry_after(&h, wall);
            let _ = RetryPolicy::default().decide(0, StatusCode::TOO_MANY_REQUESTS, &h, 0.5, wall);
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (http::HeaderName::from_static(k), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(
                RetryPolicy::is_retryable(StatusCode::from_u16(s).unwrap()),
                "{s}"
            );
        }
        for s in [200, 400, 401, 403, 404, 409, 501, 505] {
            assert!(
                !RetryPolicy::is_retryable(StatusCode::from_u16(s).unwrap()),
                "{s}"
            );
        }
    }

    #[test]
    fn decide_honours_retry_after_and_the_retry_budget() {
        let p = RetryPolicy::default();
        let none = HeaderMap::new();
        assert_eq!(
            p.decide(0, StatusCode::SERVICE_UNAVAILABLE, &none, 0.0, None),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            p.decide(3, StatusCode::SERVICE_UNAVAILABLE, &none, 0.0, None),
            None
        );
        assert_eq!(p.decide(0, StatusCode::BAD_REQUEST, &none, 0.0, None), None);
        let h = headers(&[("retry-after", "7")]);
        assert_eq!(
            p.decide(1, StatusCode::TOO_MANY_REQUESTS, &h, 0.5, None),
            Some(Duration::from_secs(7))
        );
        let h = headers(&[("retry-after", "86400")]);
        assert_eq!(
            p.decide(0, StatusCode::TOO_MANY_REQUESTS, &h, 0.5, None),
            Some(Duration::from_secs(300))
        );
        let h = headers(&[("retry-after", "Thu, 01 Jan 1970 00:01:40 GMT")]);
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(90);
        assert_eq!(retry_after(&h, Some(wall)), Some(Duration::from_secs(10)));
        assert_eq!(retry_after(&h, None), None);
        let past = headers(&[
            ("retry-after", "Thu, 01 Jan 1970 00:01:40 GMT"),
            ("date", "Fri, 02 Jan 1970 00:00:00 GMT"),
        ]);
        assert_eq!(retry_after(&past, None), Some(Duration::ZERO));
        for bad in [
            "soon",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "-1",
        ] {
            assert_eq!(
                retry_after(&headers(&[("retry-after", bad)]), Some(wall)),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn backoff_is_capped_and_jitter_is_bounded() {
        let p = RetryPolicy::default();
        let mut j = Jitter::new(7);
        for retry in 0..40 {
            let x = j.next_f64();
            assert!((0.0..1.0).contains(&x));
            let d = p.backoff(retry, x);
            assert!(d <= p.max_delay && d >= p.backoff(retry, 0.0));
        }
        assert_eq!(p.backoff(0, f64::NAN), Duration::from_millis(100));
    }
}
