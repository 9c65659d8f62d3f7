//! Bounded retries with exponential backoff, jitter and `Retry-After`, independent of any runtime.

use std::future::Future;
use std::time::Duration;

use crate::BoxFuture;

/// Sleeps; injected so tests can record delays instead of waiting.
pub trait Sleep: Send + Sync {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// A sleep has nothing to show; this lets the types that hold one derive `Debug` (as std does
/// for `dyn Any`).
impl std::fmt::Debug for dyn Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep").finish_non_exhaustive()
    }
}

impl<F> Sleep for F
where
    F: Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync,
{
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self(duration)
    }
}

/// How often and how long to wait between attempts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `max_retries + 1` attempts in all).
    pub max_retries: u32,
    /// Delay before the first retry.
    pub base_delay: Duration,
    /// Upper bound of any computed delay.
    pub max_delay: Duration,
    /// Random extra delay, as a fraction of the computed one (0.25 adds up to 25 %).
    pub jitter: f64,
    /// Upper bound of a server's `Retry-After`.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// No retries at all.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_retries: 0,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        jitter: 0.0,
        max_retry_after: Duration::ZERO,
    };

    /// Exponential backoff from `base_delay`, doubling, capped at `max_delay`, with 25 % jitter and
    /// `Retry-After` honoured up to 60 s.
    pub const fn exponential(max_retries: u32, base_delay: Duration, max_delay: Duration) -> Self {
        RetryPolicy {
            max_retries,
            base_delay,
            max_delay,
            jitter: 0.25,
            max_retry_after: Duration::from_secs(60),
        }
    }

    /// The same policy with every delay scaled to zero: for tests that count attempts.
    pub fn without_delays(self) -> Self {
        RetryPolicy {
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            max_retry_after: Duration::ZERO,
            ..self
        }
    }

    /// The delay before retry number `retries_done + 1`, or `None` when the budget is spent.
    /// A server's `Retry-After` replaces the computed delay, capped at `max_retry_after`.
    pub fn delay(&self, retries_done: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if retries_done >= self.max_retries {
            return None;
        }
        if let Some(after) = retry_after {
            return Some(after.min(self.max_retry_after));
        }
        let exponent = i32::try_from(retries_done).unwrap_or(i32::MAX);
        let computed = self
            .base_delay
            .mul_f64(2f64.powi(exponent).min(1e6))
            .min(self.max_delay);
        let jitter = computed.mul_f64(self.jitter.max(0.0) * fastrand::f64());
        Some((computed + jitter).min(self.max_delay.max(computed)))
    }
}

/// The longest delay a server may ask for (`retry-after-ms`, `Retry-After`) and still be waited
/// for, as the official OpenAI SDK rules: a longer one means no retry at all.
pub const MAX_SERVER_DELAY: Duration = Duration::from_secs(120);

/// The official OpenAI SDK's retry schedule (openai 3.63.0): `max_retries` retries; before retry
/// `n` (from 0) the server's delay when it asked for one within [`MAX_SERVER_DELAY`], else
/// `min(0.5 * 2^n, 8)` s; a server delay over [`MAX_SERVER_DELAY`] ends the retries.
///
/// Two flavours, as the SDK has them: the API loop ([`SdkRetryPolicy::api`]) takes a random
/// 0-25 % off the backoff and backs off on a zero delay; the X.509 exchange
/// ([`SdkRetryPolicy::x509_exchange`]) retries at most twice, without jitter, and honours a zero
/// delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdkRetryPolicy {
    max_retries: u32,
    x509_exchange: bool,
}

impl SdkRetryPolicy {
    /// The first backoff delay.
    pub const INITIAL_DELAY: Duration = Duration::from_millis(500);
    /// The longest backoff delay.
    pub const MAX_DELAY: Duration = Duration::from_secs(8);
    /// The most retries of the X.509 exchange, whatever `max_retries` says.
    pub const MAX_X509_EXCHANGE_RETRIES: u32 = 2;

    /// The schedule of API requests: `max_retries` retries.
    pub fn api(max_retries: u32) -> Self {
        SdkRetryPolicy {
            max_retries,
            x509_exchange: false,
        }
    }

    /// The schedule of the X.509 exchange: `min(max_retries, 2)` retries.
    pub fn x509_exchange(max_retries: u32) -> Self {
        SdkRetryPolicy {
            max_retries: max_retries.min(Self::MAX_X509_EXCHANGE_RETRIES),
            x509_exchange: true,
        }
    }

    /// How many retries the schedule allows.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The wait before retry number `retries_done + 1` after a failure whose server asked for
    /// `server_delay`, or `None` for no retry: the budget is spent, or the server asked for more
    /// than [`MAX_SERVER_DELAY`].
    pub fn delay(&self, retries_done: u32, server_delay: Option<Duration>) -> Option<Duration> {
        if retries_done >= self.max_retries {
            return None;
        }
        match server_delay {
            Some(delay) if delay > MAX_SERVER_DELAY => return None,
            Some(delay) if !delay.is_zero() || self.x509_exchange => return Some(delay),
            _ => {}
        }
        let exponent = i32::try_from(retries_done.min(1000)).unwrap_or(1000);
        let backoff = Self::INITIAL_DELAY
            .mul_f64(2f64.powi(exponent).min(1e6))
            .min(Self::MAX_DELAY);
        if self.x509_exchange {
            return Some(backoff);
        }
        Some(backoff.mul_f64(1.0 - 0.25 * fastrand::f64()))
    }
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Give up and return the error.
    Stop,
    /// Wait this long, then try again.
    RetryAfter(Duration),
}

/// Runs `attempt` until it succeeds or `decide` says stop. `attempt` gets the number of retries
/// done so far; `decide` gets the error and the same number.
pub async fn retry<T, E, F, Fut, D>(
    sleep: &dyn Sleep,
    mut attempt: F,
    mut decide: D,
) -> Result<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    D: FnMut(&E, u32) -> Decision,
{
    let mut retries_done = 0;
    loop {
        match attempt(retries_done).await {
            Ok(value) => return Ok(value),
            Err(error) => match decide(&error, retries_done) {
                Decision::Stop => return Err(error),
                Decision::RetryAfter(delay) => {
                    sleep.sleep(delay).await;
                    retries_done += 1;
                }
            },
        }
    }
}

/// Parses a `Retry-After` value given in seconds (an HTTP date is not honoured: it needs a wall
/// clock that tests cannot control, and metadata servers send seconds).
pub fn retry_after_seconds(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(86_400.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_executor::block_on;
    use std::sync::{Arc, Mutex};

    #[test]
    fn delays_grow_exponentially_within_jitter_and_stop_at_the_budget() {
        let policy = RetryPolicy::exponential(3, Duration::from_secs(1), Duration::from_secs(30));
        for (retries_done, base) in [(0u32, 1.0f64), (1, 2.0), (2, 4.0)] {
            let delay = policy
                .delay(retries_done, None)
                .expect("within budget")
                .as_secs_f64();
            assert!(
                delay >= base && delay <= base * 1.25,
                "{retries_done}: {delay}"
            );
        }
        assert_eq!(policy.delay(3, None), None);
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let policy = RetryPolicy::exponential(2, Duration::from_secs(1), Duration::from_secs(8));
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(5))),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(600))),
            Some(Duration::from_secs(60))
        );
        assert_eq!(retry_after_seconds(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(
            retry_after_seconds("0.25"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after_seconds("-1"), None);
    }

    #[test]
    fn the_sdk_schedule_backs_off_less_jitter_and_refuses_long_server_delays() {
        let api = SdkRetryPolicy::api(6);
        for (retries_done, base) in [
            (0u32, 0.5f64),
            (1, 1.0),
            (2, 2.0),
            (3, 4.0),
            (4, 8.0),
            (5, 8.0),
        ] {
            let delay = api
                .delay(retries_done, None)
                .expect("within budget")
                .as_secs_f64();
            assert!(
                delay <= base && delay >= base * 0.75,
                "{retries_done}: {delay}"
            );
        }
        assert_eq!(api.delay(6, None), None);
        let secs = Duration::from_secs;
        assert_eq!(api.delay(0, Some(secs(120))), Some(secs(120)));
        assert_eq!(api.delay(0, Some(Duration::from_millis(120_001))), None);
        assert_eq!(api.delay(0, Some(secs(3600))), None);
        // A zero delay is no delay asked for: the API loop backs off.
        assert!(api.delay(0, Some(Duration::ZERO)).expect("retried") > Duration::ZERO);

        let x509 = SdkRetryPolicy::x509_exchange(10);
        assert_eq!(x509.max_retries(), 2);
        assert_eq!(x509.delay(0, None), Some(Duration::from_millis(500)));
        assert_eq!(x509.delay(1, None), Some(secs(1)));
        assert_eq!(x509.delay(2, None), None);
        assert_eq!(x509.delay(0, Some(Duration::ZERO)), Some(Duration::ZERO));
        assert_eq!(x509.delay(0, Some(secs(200))), None);
        assert_eq!(SdkRetryPolicy::x509_exchange(1).max_retries(), 1);
    }

    #[test]
    fn retry_runs_until_success_and_records_the_delays() {
        let slept = Arc::new(Mutex::new(Vec::new()));
        let recorder = slept.clone();
        let sleep = move |duration: Duration| -> BoxFuture<'static, ()> {
            recorder.lock().expect("not poisoned").push(duration);
            Box::pin(async {})
        };
        let result: Result<u32, &str> = block_on(retry(
            &sleep,
            |retries_done| async move {
                if retries_done < 2 {
                    Err("busy")
                } else {
                    Ok(retries_done)
                }
            },
            |_, _| Decision::RetryAfter(Duration::from_millis(7)),
        ));
        assert_eq!(result, Ok(2));
        assert_eq!(
            *slept.lock().expect("not poisoned"),
            vec![Duration::from_millis(7); 2]
        );
    }

    #[test]
    fn retry_stops_when_told() {
        let sleep = |_: Duration| -> BoxFuture<'static, ()> { Box::pin(async {}) };
        let mut attempts = 0;
        let result: Result<(), &str> = block_on(retry(
            &sleep,
            |_| {
                attempts += 1;
                async { Err("denied") }
            },
            |_, _| Decision::Stop,
        ));
        assert_eq!(result, Err("denied"));
        assert_eq!(attempts, 1);
    }
}
