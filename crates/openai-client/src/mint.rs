//! What mints an access token, behind one small trait: the subject-token exchange
//! (`exchange::SubjectTokenMinter`) and the X.509 exchange (`x509::X509Exchanger`). The cache
//! holds an `Arc<dyn TokenMinter>` and knows nothing else of where tokens come from. A leaf
//! apart from the error types.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use providers_core::BoxFuture;
use secrecy::SecretString;
use tokio::time::Instant;

use crate::errors::ExchangeError;

/// A freshly minted access token.
pub(crate) struct Minted {
    pub(crate) access_token: SecretString,
    /// How long it lives from `issued_at`.
    pub(crate) expires_in: Duration,
    /// Taken before the request, so the token is never believed to live longer than it does.
    pub(crate) issued_at: Instant,
    /// The exchange reply's `Date` header, for clock-skew checks (see
    /// [`crate::AccessToken::server_date`]).
    pub(crate) server_date: Option<String>,
}

/// What a minter counts, for [`crate::TokenCache::exchanges`] and
/// [`crate::TokenCache::subject_fetches`].
#[derive(Debug, Default)]
pub(crate) struct MintCounters {
    /// Exchange requests sent (every retry counted).
    pub(crate) exchanges: AtomicU64,
    /// Subject tokens fetched (none under X.509).
    pub(crate) subject_fetches: AtomicU64,
}

impl MintCounters {
    /// Counts one exchange request.
    pub(crate) fn count_exchange(&self) {
        self.exchanges
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Mints one access token per call, retrying within its own policy.
pub(crate) trait TokenMinter: Send + Sync + std::fmt::Debug {
    /// One token, counting its requests in `counters`.
    fn mint<'a>(
        &'a self,
        counters: &'a MintCounters,
    ) -> BoxFuture<'a, Result<Minted, ExchangeError>>;

    /// Where tokens are minted (the exchange endpoint), for people to read.
    fn endpoint(&self) -> &str;
}
