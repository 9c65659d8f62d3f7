//! The platform signal of GCP, for diagnoses: `GCE_METADATA_HOST`, which moves the metadata
//! server (whose reachability the subject-token fetch itself shows: on GKE a pod reaches it only
//! with Workload Identity enabled on the node pool).

use providers_core::{Env, Signal};

use crate::{GcpSource, METADATA_HOST_ENV};

/// What this process sees of GCP.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcpSignals {
    /// `GCE_METADATA_HOST` is set (the metadata server is elsewhere than the default host).
    pub metadata_host_set: bool,
    /// The signals, as listed to people.
    pub signals: Vec<Signal>,
}

impl GcpSignals {
    /// Reads the signals from `env`.
    pub fn detect(env: &dyn Env) -> Self {
        let signals = vec![Signal::variable(env, METADATA_HOST_ENV)];
        GcpSignals {
            metadata_host_set: signals[0].present,
            signals,
        }
    }
}

impl GcpSource {
    /// Where a fetch would go now: `the metadata server at HOST`; the configuration error when
    /// `GCE_METADATA_HOST` is not a host.
    pub fn endpoint_description(&self) -> Result<String, crate::GcpError> {
        let (_, host) = self.request_url()?;
        Ok(format!("the metadata server at {host}"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use providers_core::MapEnv;

    #[test]
    fn the_endpoint_follows_the_variable() {
        let env = MapEnv::new().with(METADATA_HOST_ENV, "127.0.0.1:8080");
        assert!(GcpSignals::detect(&env).metadata_host_set);
        assert!(!GcpSignals::detect(&MapEnv::new()).metadata_host_set);
        let source =
            GcpSource::new("aud", Arc::new(env)).expect("the GCP source builds its HTTP client");
        assert_eq!(
            source.endpoint_description().unwrap(),
            "the metadata server at 127.0.0.1:8080"
        );
        let source = GcpSource::new("aud", Arc::new(MapEnv::new()))
            .expect("the GCP source builds its HTTP client");
        assert_eq!(
            source.endpoint_description().unwrap(),
            "the metadata server at metadata.google.internal"
        );
    }
}
