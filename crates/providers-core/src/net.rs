//! The loopback rule: which hosts are this machine. Plain `http` is refused for every request
//! that carries a credential except to these (`providers_http::is_loopback`, on a parsed URL),
//! and validation warns about a plain-`http` API base to any other host (`conn-schema`, on the
//! text of a document). Both call this one function, so they cannot disagree.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Whether `host` (a URL's host as written: a name, an IPv4 address, or an IPv6 address with or
/// without its brackets) is this machine: `localhost` (any case), `127.0.0.0/8` or `::1`.
///
/// Any other name is not, even one that resolves to a loopback address: the rule is about what
/// the URL says, not about what a resolver answers.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || host.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_localhost_127_slash_8_and_colon_colon_1() {
        for host in [
            "localhost",
            "LocalHost",
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "api.example.com",
            "localhost.example.com",
            "10.0.0.5",
            "128.0.0.1",
            "[fe80::1]",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
