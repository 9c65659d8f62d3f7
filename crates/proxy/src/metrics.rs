//! The proxy's counters and their Prometheus text exposition (`GET /metrics`): requests by
//! status, upstream latency (a histogram to the response headers), exchanges, failed refreshes
//! and the seconds until the held token expires.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the upstream latency buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Counters shared by every connection.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    by_status: Mutex<BTreeMap<u16, u64>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    replays: AtomicU64,
}

/// What the token cache reports, read when `/metrics` is rendered.
pub(crate) struct TokenFigures {
    pub(crate) exchanges: u64,
    pub(crate) failed_refreshes: u64,
    /// Seconds until the held token expires (0 when none is held).
    pub(crate) expires_in: f64,
}

impl Metrics {
    pub(crate) fn record_status(&self, status: u16) {
        let mut map = self
            .by_status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry(status).or_default() += 1;
    }

    pub(crate) fn record_upstream(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add(
            u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn record_replay(&self) {
        self.replays.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text format, version 0.0.4.
    pub(crate) fn render(&self, token: Option<TokenFigures>) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP openai_conn_proxy_requests_total Requests answered, by HTTP status.\n\
             # TYPE openai_conn_proxy_requests_total counter\n",
        );
        {
            let map = self
                .by_status
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (status, count) in map.iter() {
                let _ = writeln!(
                    out,
                    "openai_conn_proxy_requests_total{{status=\"{status}\"}} {count}"
                );
            }
        }
        out.push_str(
            "# HELP openai_conn_proxy_upstream_latency_seconds Time from sending a request upstream to its response headers.\n\
             # TYPE openai_conn_proxy_upstream_latency_seconds histogram\n",
        );
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                out,
                "openai_conn_proxy_upstream_latency_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "openai_conn_proxy_upstream_latency_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             openai_conn_proxy_upstream_latency_seconds_sum {}\n\
             openai_conn_proxy_upstream_latency_seconds_count {count}",
            self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "# HELP openai_conn_proxy_replays_total Requests sent again after a 401 with a fresh token.\n\
             # TYPE openai_conn_proxy_replays_total counter\n\
             openai_conn_proxy_replays_total {}",
            self.replays.load(Ordering::Relaxed)
        );
        if let Some(token) = token {
            let _ = writeln!(
                out,
                "# HELP openai_conn_proxy_exchanges_total Token exchange requests sent (each retry counts).\n\
                 # TYPE openai_conn_proxy_exchanges_total counter\n\
                 openai_conn_proxy_exchanges_total {}\n\
                 # HELP openai_conn_proxy_refresh_failures_total Token refreshes (fetch and exchange) that failed.\n\
                 # TYPE openai_conn_proxy_refresh_failures_total counter\n\
                 openai_conn_proxy_refresh_failures_total {}\n\
                 # HELP openai_conn_proxy_token_expires_in_seconds Seconds until the held access token expires (0 when none is held).\n\
                 # TYPE openai_conn_proxy_token_expires_in_seconds gauge\n\
                 openai_conn_proxy_token_expires_in_seconds {}",
                token.exchanges,
                token.failed_refreshes,
                token.expires_in.max(0.0).floor()
            );
        }
        out
    }
}
