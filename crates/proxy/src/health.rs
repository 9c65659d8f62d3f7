//! Readiness: a task started with the proxy fetches the first token at once and keeps asking the
//! cache for one at each refresh point, so `GET /healthz` turns ready without traffic and the
//! cache's own background refresh runs from the start.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use openai_conn_client::{AccessToken, TokenCache};
use tokio::time::Instant;

/// How long after a refresh point the keeper looks again when the cache still hands out the
/// token past its refresh point (its refresh is running or backing off).
const RECHECK: Duration = Duration::from_secs(5);
/// The keeper's delays after failures: 1 s doubling to 60 s.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);

/// What the proxy knows about its credential.
#[derive(Debug, Default)]
pub(crate) struct Health {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
enum State {
    #[default]
    Starting,
    Holding(AccessToken),
    Failed {
        error: String,
        last: Option<AccessToken>,
    },
}

impl Health {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn hold(&self, token: AccessToken) {
        *self.lock() = State::Holding(token);
    }

    fn fail(&self, error: String) {
        let mut state = self.lock();
        let last = match std::mem::take(&mut *state) {
            State::Holding(token) => Some(token),
            State::Failed { last, .. } => last,
            State::Starting => None,
        };
        *state = State::Failed { error, last };
    }

    /// The token held, if it has not expired.
    pub(crate) fn token(&self, now: Instant) -> Option<AccessToken> {
        match &*self.lock() {
            State::Holding(token)
            | State::Failed {
                last: Some(token), ..
            } if now < token.expires_at() => Some(token.clone()),
            _ => None,
        }
    }

    /// Ready, or why not (an error message of the cache, which never holds a secret).
    pub(crate) fn readiness(&self, now: Instant) -> Result<(), String> {
        if self.token(now).is_some() {
            return Ok(());
        }
        match &*self.lock() {
            State::Starting => Err("fetching the first access token".to_owned()),
            State::Holding(_) => Err("the access token expired; a refresh is running".to_owned()),
            State::Failed { error, .. } => Err(format!("no usable access token: {error}")),
        }
    }
}

/// Keeps `cache` fed from the start; runs until aborted.
pub(crate) async fn keep_fresh(cache: TokenCache, health: Arc<Health>) {
    let mut failures = 0u32;
    loop {
        let wake = match cache.token().await {
            Ok(token) => {
                failures = 0;
                let now = Instant::now();
                let next = if token.refresh_at() > now {
                    token.refresh_at()
                } else {
                    now + RECHECK
                };
                health.hold(token);
                next
            }
            Err(error) => {
                tracing::warn!(target: "openai_conn_proxy", error = %error, "cannot get an access token");
                health.fail(error.to_string());
                let delay = FIRST_RETRY
                    .saturating_mul(2u32.saturating_pow(failures))
                    .min(MAX_RETRY);
                failures = failures.saturating_add(1);
                Instant::now() + delay
            }
        };
        tokio::time::sleep_until(wake).await;
    }
}
