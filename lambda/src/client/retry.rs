//! When and how long to wait before trying a Databricks call again: exponential backoff with
//! jitter, `Retry-After` on 429, bounded in attempts and in total time, and a separate, longer
//! time bound for the documented eventual-consistency errors.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::error::{ApiError, ErrorKind};

/// How persistent the client is. `Default` mirrors the Databricks SDKs (reference §4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts of one call on rate limits and transient errors (the first included).
    /// Default: 8.
    pub max_attempts: u32,
    /// Total time spent on one call through rate limits and transient errors. Default: 5 min.
    pub max_elapsed: Duration,
    /// Total time spent on one call through eventual-consistency errors. Default: 3 min.
    pub eventual_consistency: Duration,
    /// The first backoff; it doubles each retry. Default: 500 ms.
    pub initial_backoff: Duration,
    /// The longest backoff. Default: 20 s.
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured (longer values are cut to this). Default: 60 s.
    pub max_retry_after: Duration,
    /// The timeout of one HTTP request. Default: 60 s.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            max_elapsed: Duration::from_secs(300),
            eventual_consistency: Duration::from_secs(180),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Whether a failed call may have taken effect on the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Surely not: the server refused it (429, a validation error) or it was never sent.
    No,
    /// Perhaps: a 5xx, a cut or unreadable answer, a timeout.
    Maybe,
}

/// What the caller allows the client to repeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// Repeating the call is harmless (reads, deletes, PUT/PATCH, overwrite imports).
    Idempotent,
    /// The call creates an object: repeat it only when it surely did not take effect; the
    /// caller looks for what a maybe-applied attempt made before trying again.
    CreateOnce,
}

impl RetryPolicy {
    /// The wait before the next attempt, or `None` to give up. `attempt` counts from 1 (the
    /// attempt that just failed); `elapsed` is the time since the first attempt began.
    pub fn next_wait(
        &self,
        error: &ApiError,
        applied: Applied,
        repeat: Repeat,
        retry_after: Option<Duration>,
        attempt: u32,
        elapsed: Duration,
    ) -> Option<Duration> {
        if repeat == Repeat::CreateOnce && applied == Applied::Maybe {
            return None;
        }
        let (budget, wait) = match error.kind {
            ErrorKind::RateLimited => (
                self.max_elapsed,
                retry_after
                    .map(|d| d.min(self.max_retry_after))
                    .unwrap_or_else(|| self.backoff(attempt)),
            ),
            ErrorKind::Transient => (self.max_elapsed, self.backoff(attempt)),
            ErrorKind::EventuallyConsistent => {
                // Bounded by time only: IAM propagation takes what it takes.
                let wait = self.backoff(attempt);
                return (elapsed + wait <= self.eventual_consistency).then_some(wait);
            }
            _ => return None,
        };
        (attempt < self.max_attempts && elapsed + wait <= budget).then_some(wait)
    }

    /// The jittered exponential backoff after failed attempt `attempt` (from 1): between half
    /// and all of `initial * 2^(attempt-1)`, capped at `max_backoff`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        let full = self
            .initial_backoff
            .saturating_mul(exp)
            .min(self.max_backoff);
        let half = full / 2;
        let spread = half.as_nanos() as u64;
        let jitter = if spread == 0 {
            0
        } else {
            jitter_seed() % spread
        };
        half + Duration::from_nanos(jitter)
    }
}

/// Well-spread bits from the clock (no random-number crate needed for jitter).
fn jitter_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // SplitMix64 finalizer.
    let mut x = nanos.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Reads `Retry-After` as integer seconds (HTTP dates are not used by Databricks).
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value
        .map(str::trim)
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: ErrorKind) -> ApiError {
        ApiError::new(kind, 500, "x")
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let p = RetryPolicy::default();
        for attempt in 1..=12 {
            let full = p
                .initial_backoff
                .saturating_mul(2u32.pow(attempt - 1))
                .min(p.max_backoff);
            let b = p.backoff(attempt);
            assert!(b >= full / 2 && b <= full, "{attempt}: {b:?}");
        }
        assert!(p.backoff(30) <= p.max_backoff);
    }

    #[test]
    fn rate_limits_honour_retry_after_within_the_cap() {
        let p = RetryPolicy::default();
        let e = err(ErrorKind::RateLimited);
        let w = p.next_wait(
            &e,
            Applied::No,
            Repeat::Idempotent,
            Some(Duration::from_secs(2)),
            1,
            Duration::ZERO,
        );
        assert_eq!(w, Some(Duration::from_secs(2)));
        let w = p.next_wait(
            &e,
            Applied::No,
            Repeat::Idempotent,
            Some(Duration::from_secs(900)),
            1,
            Duration::ZERO,
        );
        assert_eq!(w, Some(p.max_retry_after));
    }

    #[test]
    fn attempts_and_time_are_bounded() {
        let p = RetryPolicy::default();
        let e = err(ErrorKind::Transient);
        assert!(p
            .next_wait(
                &e,
                Applied::Maybe,
                Repeat::Idempotent,
                None,
                1,
                Duration::ZERO
            )
            .is_some());
        assert!(p
            .next_wait(
                &e,
                Applied::Maybe,
                Repeat::Idempotent,
                None,
                p.max_attempts,
                Duration::ZERO
            )
            .is_none());
        assert!(p
            .next_wait(
                &e,
                Applied::Maybe,
                Repeat::Idempotent,
                None,
                1,
                p.max_elapsed
            )
            .is_none());
        let ec = err(ErrorKind::EventuallyConsistent);
        assert!(p
            .next_wait(
                &ec,
                Applied::No,
                Repeat::CreateOnce,
                None,
                50,
                Duration::from_secs(10)
            )
            .is_some());
        assert!(p
            .next_wait(
                &ec,
                Applied::No,
                Repeat::CreateOnce,
                None,
                2,
                p.eventual_consistency
            )
            .is_none());
    }

    #[test]
    fn a_create_that_may_have_happened_is_not_repeated() {
        let p = RetryPolicy::default();
        let e = err(ErrorKind::Transient);
        assert_eq!(
            p.next_wait(
                &e,
                Applied::Maybe,
                Repeat::CreateOnce,
                None,
                1,
                Duration::ZERO
            ),
            None
        );
        assert!(p
            .next_wait(&e, Applied::No, Repeat::CreateOnce, None, 1, Duration::ZERO)
            .is_some());
        assert_eq!(
            p.next_wait(
                &err(ErrorKind::InvalidParameter),
                Applied::No,
                Repeat::Idempotent,
                None,
                1,
                Duration::ZERO
            ),
            None
        );
    }

    #[test]
    fn retry_after_is_whole_seconds() {
        assert_eq!(parse_retry_after(Some(" 2 ")), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(None), None);
    }
}
