//! The access-token cache: a lock-free read path, single-flight exchanges, a background refresh
//! task, stale-while-refresh and compare-and-clear invalidation.
//!
//! How it fits together:
//! - The current token lives in an [`ArcSwapOption`]. A caller that finds a token before its
//!   refresh point returns it after one atomic load and one clock read: no lock, no await.
//! - An exchange runs in a spawned task (a "flight"). At most one flight exists at a time: the
//!   mutex-protected state holds a `watch` receiver for the running flight, and every caller
//!   that needs a token while one runs subscribes to it instead of starting another. Because the
//!   flight is its own task, a caller that is dropped while waiting cancels nothing; a drop guard
//!   in the flight clears the state even if the task itself is dropped (runtime shutdown), and
//!   its waiters then see [`ExchangeError::Interrupted`] instead of hanging.
//! - A background task sleeps until the current token's refresh point and starts a flight, so in
//!   steady state no request waits for an exchange. It holds only a `Weak` to the cache and a
//!   `watch` receiver of token generations; dropping the last [`TokenCache`] drops the sender, which
//!   wakes and ends the task.
//! - A failed refresh leaves the old token in place while it is still usable; the next attempt
//!   waits an exponential backoff. Once the token has expired, callers start flights themselves
//!   and see their error.
//! - Time is tokio's (`tokio::time::Instant`, `sleep_until`), so tests drive it with paused time.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use providers_core::{Env, ProcessEnv, RetryPolicy, SdkRetryPolicy, Sleep, SubjectTokenSource};
use providers_http::TokioSleep;
use providers_x509::ReloadingIdentity;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::errors::ExchangeError;
use crate::exchange::{Exchanger, default_exchange_retry_policy, parse_exchange_url};
use crate::resolve::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MTLS_TOKEN_EXCHANGE_URL, DEFAULT_TIMEOUT,
    resolve_exchange_url, resolve_exchange_url_with_default,
};
use crate::server_text::ConfiguredSecrets;
use crate::token::{AccessToken, TokenState};
use crate::x509::X509Exchanger;

/// Default seconds before expiry at which a token is refreshed.
pub const DEFAULT_REFRESH_BUFFER: Duration = Duration::from_secs(1200);
/// Default overall deadline of one token flight: the subject-token fetch and the exchange, every
/// retry of both included. It covers the slowest documented source path (Azure IMDS retries a
/// 410 for 70 s) plus a full exchange budget (3 attempts of 10 s and their backoff); a caller
/// without a usable token never waits longer.
pub const DEFAULT_FLIGHT_DEADLINE: Duration = Duration::from_secs(120);

/// The exchange's retry policy for a connection: `policy`'s delays, with
/// `openai_client_kwargs.max_retries` retries when set (so `0` means one attempt, as in the
/// Python SDK), else `policy`'s own count.
pub(crate) fn exchange_retry_policy_for(
    max_retries: Option<u32>,
    policy: RetryPolicy,
) -> RetryPolicy {
    RetryPolicy {
        max_retries: max_retries.unwrap_or(policy.max_retries),
        ..policy
    }
}

type Outcome = Option<Result<AccessToken, ExchangeError>>;

/// The refresh point of a token living `expires_in`: `expires_in - min(buffer, expires_in / 2)`.
pub(crate) fn refresh_after(expires_in: Duration, buffer: Duration) -> Duration {
    expires_in - buffer.min(expires_in / 2)
}

/// What a cache trades for access tokens.
#[derive(Clone, Debug)]
enum Grant {
    /// Subject tokens from a source, exchanged per RFC 8693.
    SubjectToken(Arc<dyn SubjectTokenSource>),
    /// The client certificate, presented over mutual TLS (no subject token).
    X509(Arc<ReloadingIdentity>),
}

/// A grant with its exchange endpoint, ready to mint tokens.
enum Minter {
    SubjectToken {
        source: Arc<dyn SubjectTokenSource>,
        exchanger: Exchanger,
    },
    X509(X509Exchanger),
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Minter::SubjectToken { source, exchanger } => f
                .debug_struct("SubjectToken")
                .field("source", source)
                .field("exchanger", exchanger)
                .finish(),
            Minter::X509(exchanger) => exchanger.fmt(f),
        }
    }
}

impl Minter {
    fn url(&self) -> &url::Url {
        match self {
            Minter::SubjectToken { exchanger, .. } => exchanger.url(),
            Minter::X509(exchanger) => exchanger.url(),
        }
    }
}

/// Builds a [`TokenCache`].
pub struct TokenCacheBuilder {
    grant: Grant,
    identity_provider_id: String,
    service_account_id: String,
    refresh_buffer: Duration,
    exchange_url: Option<String>,
    env: Arc<dyn Env>,
    retry_policy: RetryPolicy,
    sleep: Arc<dyn Sleep>,
    refresh_backoff: RetryPolicy,
    flight_deadline: Duration,
    x509_api_timeouts: (Duration, Duration),
    secrets: ConfiguredSecrets,
}

impl std::fmt::Debug for TokenCacheBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCacheBuilder")
            .field("grant", &self.grant)
            .field("identity_provider_id", &self.identity_provider_id)
            .field("service_account_id", &self.service_account_id)
            .field("refresh_buffer", &self.refresh_buffer)
            .field("exchange_url", &self.exchange_url)
            .field("retry_policy", &self.retry_policy)
            .field("flight_deadline", &self.flight_deadline)
            .finish_non_exhaustive()
    }
}

impl TokenCacheBuilder {
    /// Seconds before expiry at which the token is refreshed, at most half its lifetime.
    /// Default: 1200 s.
    pub fn refresh_buffer(mut self, buffer: Duration) -> Self {
        self.refresh_buffer = buffer;
        self
    }

    /// The exchange endpoint; wins over `OPENAI_TOKEN_EXCHANGE_URL`.
    /// Default: `https://auth.openai.com/oauth/token`, or
    /// `https://mtls.auth.openai.com/oauth/token` for [`TokenCache::x509_builder`].
    pub fn exchange_url(mut self, url: impl Into<String>) -> Self {
        self.exchange_url = Some(url.into());
        self
    }

    /// Where `OPENAI_TOKEN_EXCHANGE_URL` is read. Default: the process environment.
    pub fn env(mut self, env: Arc<dyn Env>) -> Self {
        self.env = env;
        self
    }

    /// Retries of one exchange. Default: 2 retries, 0.5 s doubling to 8 s, `Retry-After` ≤ 60 s.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// How the exchange waits between retries. Default: tokio's timer. A test knob (feature
    /// `test-util`): tokio's paused clock already makes waits free in tests.
    #[cfg(feature = "test-util")]
    pub fn sleep(self, sleep: Arc<dyn Sleep>) -> Self {
        self.with_sleep(sleep)
    }

    pub(crate) fn with_sleep(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.sleep = sleep;
        self
    }

    /// Delays between failed background refreshes while the old token is still served; only
    /// `base_delay`, `max_delay` and `jitter` are used. Default: 1 s doubling to 60 s.
    pub fn refresh_backoff(mut self, policy: RetryPolicy) -> Self {
        self.refresh_backoff = policy;
        self
    }

    /// The overall deadline of one token flight (the subject-token fetch and the exchange, all
    /// retries included); past it, every waiting caller gets [`ExchangeError::Deadline`].
    /// Default: [`DEFAULT_FLIGHT_DEADLINE`] (120 s).
    pub fn flight_deadline(mut self, deadline: Duration) -> Self {
        self.flight_deadline = deadline;
        self
    }

    /// Under x509, the API client's timeouts (connect, each read): each phase of the exchange
    /// gets the smaller of the API's and 10 s, as in the SDK. Default: 5 s and 600 s.
    pub fn x509_exchange_timeouts(mut self, connect: Duration, read: Duration) -> Self {
        self.x509_api_timeouts = (connect, read);
        self
    }

    /// The configured secrets that no exchange error may repeat (the connection's, from
    /// `from_connection`).
    pub(crate) fn scrubbing(mut self, secrets: ConfiguredSecrets) -> Self {
        self.secrets = secrets;
        self
    }

    /// Checks the exchange URL and builds the cache (and its one HTTP client). No request is sent
    /// until the first [`TokenCache::token`].
    pub fn build(self) -> Result<TokenCache, ExchangeError> {
        let minter = match self.grant {
            Grant::SubjectToken(source) => {
                let (url, _) =
                    resolve_exchange_url(self.exchange_url.as_deref(), self.env.as_ref());
                let exchanger = Exchanger::new(
                    parse_exchange_url(&url)?,
                    self.identity_provider_id,
                    self.service_account_id,
                    self.retry_policy,
                    self.sleep,
                )?
                .scrubbing(self.secrets);
                Minter::SubjectToken { source, exchanger }
            }
            Grant::X509(identity) => {
                let (url, _) = resolve_exchange_url_with_default(
                    self.exchange_url.as_deref(),
                    self.env.as_ref(),
                    DEFAULT_MTLS_TOKEN_EXCHANGE_URL,
                );
                Minter::X509(
                    X509Exchanger::new(
                        identity,
                        &url,
                        self.identity_provider_id,
                        self.service_account_id,
                        SdkRetryPolicy::x509_exchange(self.retry_policy.max_retries),
                        self.x509_api_timeouts,
                        self.sleep,
                    )?
                    .scrubbing(self.secrets),
                )
            }
        };
        let (generation, _) = watch::channel(0);
        Ok(TokenCache {
            inner: Arc::new(Inner {
                current: ArcSwapOption::empty(),
                state: Mutex::new(State::default()),
                in_flight: AtomicBool::new(false),
                minter,
                refresh_buffer: self.refresh_buffer,
                refresh_backoff: RetryPolicy {
                    max_retries: u32::MAX,
                    ..self.refresh_backoff
                },
                generation,
                flight_deadline: self.flight_deadline,
                background_started: AtomicBool::new(false),
                exchanges: AtomicU64::new(0),
                subject_fetches: AtomicU64::new(0),
                failed_flights: AtomicU64::new(0),
            }),
        })
    }
}

/// A shared, cloneable handle to one access-token cache.
///
/// [`TokenCache::token`] returns a usable token, exchanging a subject token only when needed.
/// It works on its own (for plain `reqwest` users) and inside [`crate::WorkloadIdentityLayer`].
/// Needs a tokio runtime: exchanges and the background refresh run as tokio tasks.
#[derive(Clone)]
pub struct TokenCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("minter", &self.inner.minter)
            .field("refresh_buffer", &self.inner.refresh_buffer)
            .field("exchanges", &self.exchanges())
            .field("subject_fetches", &self.subject_fetches())
            .finish_non_exhaustive()
    }
}

struct Inner {
    current: ArcSwapOption<TokenState>,
    state: Mutex<State>,
    // Mirrors `state.flight.is_some()` so the stale-token path can skip the lock while a refresh
    // is already running.
    in_flight: AtomicBool,
    minter: Minter,
    refresh_buffer: Duration,
    refresh_backoff: RetryPolicy,
    // Bumped on every stored token; the background task waits on it. Dropping it (with the last
    // handle) ends the task.
    generation: watch::Sender<u64>,
    flight_deadline: Duration,
    background_started: AtomicBool,
    exchanges: AtomicU64,
    subject_fetches: AtomicU64,
    failed_flights: AtomicU64,
}

#[derive(Default)]
struct State {
    flight: Option<watch::Receiver<Outcome>>,
    failures: u32,
    retry_not_before: Option<Instant>,
}

enum Need {
    // A caller with no usable token: any usable token will do, and backoff does not apply.
    Usable,
    // A refresh: only a token before its refresh point counts, and backoff applies.
    Fresh,
}

enum Joined {
    Ready(AccessToken),
    Wait(watch::Receiver<Outcome>),
    Skipped,
}

impl TokenCache {
    /// Starts building a cache that exchanges tokens from `source` for the given identity
    /// provider and service account.
    pub fn builder(
        source: Arc<dyn SubjectTokenSource>,
        identity_provider_id: impl Into<String>,
        service_account_id: impl Into<String>,
    ) -> TokenCacheBuilder {
        Self::builder_for(
            Grant::SubjectToken(source),
            identity_provider_id.into(),
            service_account_id.into(),
        )
    }

    /// Starts building a cache that exchanges the client certificate of `identity` over mutual
    /// TLS (X.509 workload identity: no subject token). The exchange presents the identity's
    /// current certificate, so a rotation on disk is picked up by the next exchange.
    pub fn x509_builder(
        identity: Arc<ReloadingIdentity>,
        identity_provider_id: impl Into<String>,
        service_account_id: impl Into<String>,
    ) -> TokenCacheBuilder {
        Self::builder_for(
            Grant::X509(identity),
            identity_provider_id.into(),
            service_account_id.into(),
        )
    }

    fn builder_for(
        grant: Grant,
        identity_provider_id: String,
        service_account_id: String,
    ) -> TokenCacheBuilder {
        TokenCacheBuilder {
            grant,
            identity_provider_id,
            service_account_id,
            refresh_buffer: DEFAULT_REFRESH_BUFFER,
            exchange_url: None,
            env: Arc::new(ProcessEnv),
            retry_policy: default_exchange_retry_policy(),
            sleep: Arc::new(TokioSleep),
            refresh_backoff: RetryPolicy::exponential(
                u32::MAX,
                Duration::from_secs(1),
                Duration::from_secs(60),
            ),
            flight_deadline: DEFAULT_FLIGHT_DEADLINE,
            x509_api_timeouts: (DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT),
            secrets: ConfiguredSecrets::default(),
        }
    }

    /// A usable access token. Returns at once when one is cached (and, past its refresh point,
    /// makes sure a background refresh runs); otherwise waits for the one running exchange, or
    /// starts it.
    pub async fn token(&self) -> Result<AccessToken, ExchangeError> {
        let now = Instant::now();
        {
            let current = self.inner.current.load();
            if let Some(state) = current.as_ref() {
                if now < state.refresh_at {
                    return Ok(AccessToken(Arc::clone(state)));
                }
                if now < state.expires_at {
                    let token = AccessToken(Arc::clone(state));
                    drop(current);
                    if !self.inner.in_flight.load(Ordering::Acquire) {
                        // Normally the background task has already started this refresh; this
                        // covers a task that died with an earlier runtime.
                        let _ = Inner::join_or_start(&self.inner, Need::Fresh, now);
                    }
                    return Ok(token);
                }
            }
        }
        match Inner::join_or_start(&self.inner, Need::Usable, now) {
            Joined::Ready(token) => Ok(token),
            Joined::Wait(receiver) => wait(receiver).await,
            // Only a refresh (`Need::Fresh`) is ever skipped; treat the impossible case as an
            // interrupted refresh rather than panic.
            Joined::Skipped => Err(ExchangeError::Interrupted),
        }
    }

    /// Forgets `used` if it is still the cached token (compare-and-clear), so the next
    /// [`TokenCache::token`] exchanges again. A late 401 on an older token leaves a newer one in
    /// place. Returns whether the token was cleared.
    pub fn invalidate(&self, used: &AccessToken) -> bool {
        let current = self.inner.current.load();
        match current.as_ref() {
            Some(state) if Arc::ptr_eq(state, &used.0) => {
                let previous = self.inner.current.compare_and_swap(&*current, None);
                let cleared = previous
                    .as_ref()
                    .is_some_and(|previous| Arc::ptr_eq(previous, &used.0));
                if cleared {
                    tracing::info!(target: "openai_conn_client::cache", "access token invalidated");
                }
                cleared
            }
            _ => false,
        }
    }

    /// How many exchange requests were sent (each retry counts).
    pub fn exchanges(&self) -> u64 {
        self.inner.exchanges.load(Ordering::Relaxed)
    }

    /// How many times the subject-token source was asked for a token (always 0 under x509).
    pub fn subject_fetches(&self) -> u64 {
        self.inner.subject_fetches.load(Ordering::Relaxed)
    }

    /// How many token flights (a subject-token fetch and its exchange, retries included) failed,
    /// in the background or for a waiting caller.
    pub fn failed_refreshes(&self) -> u64 {
        self.inner.failed_flights.load(Ordering::Relaxed)
    }

    /// The exchange endpoint this cache posts to.
    pub fn exchange_url(&self) -> &str {
        self.inner.minter.url().as_str()
    }
}

async fn wait(mut receiver: watch::Receiver<Outcome>) -> Result<AccessToken, ExchangeError> {
    match receiver.wait_for(Option::is_some).await {
        Ok(outcome) => match outcome.as_ref() {
            Some(result) => result.clone(),
            None => Err(ExchangeError::Interrupted),
        },
        // The flight's sender was dropped without a result: its task was dropped.
        Err(_) => Err(ExchangeError::Interrupted),
    }
}

impl Inner {
    fn lock_state(&self) -> MutexGuard<'_, State> {
        // The state is left consistent at every unlock, so a panic elsewhere cannot corrupt it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Joins the running flight, or returns a token that became good enough meanwhile, or starts a
    /// flight (unless a refresh is asked for during the failure backoff).
    fn join_or_start(this: &Arc<Inner>, need: Need, now: Instant) -> Joined {
        let mut state = this.lock_state();
        if let Some(receiver) = &state.flight {
            return Joined::Wait(receiver.clone());
        }
        // Double-check under the lock: a flight may have stored a token since the caller looked.
        if let Some(current) = this.current.load().as_ref() {
            let good_until = match need {
                Need::Usable => current.expires_at,
                Need::Fresh => current.refresh_at,
            };
            if now < good_until {
                return Joined::Ready(AccessToken(Arc::clone(current)));
            }
        }
        if matches!(need, Need::Fresh) && state.retry_not_before.is_some_and(|at| now < at) {
            return Joined::Skipped;
        }
        let (sender, receiver) = watch::channel(None);
        state.flight = Some(receiver.clone());
        this.in_flight.store(true, Ordering::Release);
        drop(state);
        let guard = FlightGuard(Arc::clone(this));
        tokio::spawn(run_flight(guard, sender));
        Joined::Wait(receiver)
    }

    async fn fetch_and_exchange(&self) -> Result<(AccessToken, Duration), ExchangeError> {
        let count = || {
            self.exchanges.fetch_add(1, Ordering::Relaxed);
        };
        let (issued_at, exchanged) = match &self.minter {
            Minter::SubjectToken { source, exchanger } => {
                self.subject_fetches.fetch_add(1, Ordering::Relaxed);
                let subject = source
                    .fetch()
                    .await
                    .map_err(|error| ExchangeError::Source(Arc::new(error)))?;
                if subject.is_empty() {
                    return Err(ExchangeError::EmptySubjectToken);
                }
                // Timed from before the request, so the token is never believed to live longer
                // than it does.
                let issued_at = Instant::now();
                (issued_at, exchanger.exchange(&subject, &count).await?)
            }
            Minter::X509(exchanger) => {
                let issued_at = Instant::now();
                (issued_at, exchanger.exchange(&count).await?)
            }
        };
        let refresh_at = issued_at + refresh_after(exchanged.expires_in, self.refresh_buffer);
        let token = AccessToken(Arc::new(TokenState {
            secret: exchanged.access_token,
            refresh_at,
            expires_at: issued_at + exchanged.expires_in,
            server_date: exchanged.server_date,
        }));
        Ok((token, exchanged.expires_in))
    }

    fn next_background_wake(&self, now: Instant) -> Option<Instant> {
        let current = self.current.load();
        let current = current.as_ref()?;
        if now >= current.expires_at {
            // Expired: callers drive the next exchange and see its error.
            return None;
        }
        let not_before = self.lock_state().retry_not_before;
        Some(not_before.map_or(current.refresh_at, |at| at.max(current.refresh_at)))
    }
}

// Owns the flight's strong reference; clearing the flight on drop is what makes a dropped or
// aborted flight leave the cache usable.
struct FlightGuard(Arc<Inner>);

impl Drop for FlightGuard {
    fn drop(&mut self) {
        let mut state = self.0.lock_state();
        state.flight = None;
        self.0.in_flight.store(false, Ordering::Release);
    }
}

async fn run_flight(guard: FlightGuard, sender: watch::Sender<Outcome>) {
    let inner = &guard.0;
    let result = fetch_and_exchange_within_deadline(inner).await;
    let outcome = match result {
        Ok((token, expires_in)) => {
            inner.current.store(Some(Arc::clone(&token.0)));
            {
                let mut state = inner.lock_state();
                state.failures = 0;
                state.retry_not_before = None;
            }
            inner.generation.send_modify(|generation| *generation += 1);
            tracing::debug!(
                target: "openai_conn_client::cache",
                expires_in = expires_in.as_secs(),
                "access token stored"
            );
            start_background(inner);
            Ok(token)
        }
        Err(error) => {
            inner.failed_flights.fetch_add(1, Ordering::Relaxed);
            let now = Instant::now();
            let still_usable = inner
                .current
                .load()
                .as_ref()
                .is_some_and(|current| now < current.expires_at);
            let delay = {
                let mut state = inner.lock_state();
                let delay = inner
                    .refresh_backoff
                    .delay(state.failures, None)
                    .unwrap_or(inner.refresh_backoff.max_delay);
                state.failures = state.failures.saturating_add(1);
                state.retry_not_before = Some(now + delay);
                delay
            };
            tracing::warn!(
                target: "openai_conn_client::cache",
                error = %error,
                still_usable,
                retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "access token refresh failed"
            );
            Err(error)
        }
    };
    // Clear the flight before publishing, so a caller woken by the result that needs another
    // exchange starts a new flight instead of joining this finished one.
    drop(guard);
    sender.send_replace(Some(outcome));
}

/// One flight's work under its overall deadline: a source that never answers, or retries that
/// add up, end in [`ExchangeError::Deadline`] instead of holding every waiter.
async fn fetch_and_exchange_within_deadline(
    inner: &Inner,
) -> Result<(AccessToken, Duration), ExchangeError> {
    tokio::time::timeout(inner.flight_deadline, inner.fetch_and_exchange())
        .await
        .unwrap_or(Err(ExchangeError::Deadline(inner.flight_deadline)))
}

fn start_background(inner: &Arc<Inner>) {
    if inner.background_started.swap(true, Ordering::AcqRel) {
        return;
    }
    let weak = Arc::downgrade(inner);
    let generation = inner.generation.subscribe();
    tokio::spawn(background(weak, generation));
}

/// Refreshes at each token's refresh point. Ends when the last handle is dropped: the task holds
/// only a `Weak`, and the generation sender closes with the cache.
async fn background(weak: Weak<Inner>, mut generation: watch::Receiver<u64>) {
    loop {
        let wake_at = match weak.upgrade() {
            Some(inner) => inner.next_background_wake(Instant::now()),
            None => return,
        };
        let Some(wake_at) = wake_at else {
            if generation.changed().await.is_err() {
                return;
            }
            continue;
        };
        tokio::select! {
            () = tokio::time::sleep_until(wake_at) => {}
            changed = generation.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        }
        let joined = match weak.upgrade() {
            Some(inner) => Inner::join_or_start(&inner, Need::Fresh, Instant::now()),
            None => return,
        };
        if let Joined::Wait(receiver) = joined {
            // The outcome is already recorded by the flight; only its end matters here.
            let _ = wait(receiver).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_point_clamps_the_buffer_to_half_the_lifetime() {
        let secs = Duration::from_secs;
        assert_eq!(refresh_after(secs(3600), secs(1200)), secs(2400));
        assert_eq!(refresh_after(secs(8), secs(1200)), secs(4));
        assert_eq!(refresh_after(secs(3600), Duration::ZERO), secs(3600));
    }
}
