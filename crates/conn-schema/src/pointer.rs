//! JSON pointers (RFC 6901) and "did you mean" suggestions.

/// The pointer of `key` inside the value at `parent`.
pub fn child(parent: &str, key: &str) -> String {
    let escaped = key.replace('~', "~0").replace('/', "~1");
    format!("{parent}/{escaped}")
}

/// The candidate closest to `written`, if it is close enough to be what was meant.
///
/// Case and `-`/`_` differences always match; otherwise the Damerau-Levenshtein distance must be
/// small relative to the word, so short unrelated keys are not "corrected".
pub(crate) fn suggest<'a>(
    written: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let normalized = written.to_ascii_lowercase().replace('-', "_");
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == written {
            continue;
        }
        if candidate == normalized {
            return Some(candidate);
        }
        let distance = strsim::damerau_levenshtein(&normalized, candidate);
        let allowed = (candidate.chars().count() / 4).clamp(1, 4);
        if distance <= allowed && best.is_none_or(|(previous, _)| distance < previous) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_escapes_tilde_and_slash() {
        assert_eq!(child("/a", "b/c~d"), "/a/b~1c~0d");
    }

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["workload_identity_provider", "audience", "auth_type"];
        assert_eq!(
            suggest("workload_identity_providr", keys.into_iter()),
            Some("workload_identity_provider")
        );
        assert_eq!(suggest("Auth-Type", keys.into_iter()), Some("auth_type"));
        assert_eq!(suggest("colour", keys.into_iter()), None);
    }
}
