//! A JWT read without verifying it (RFC 7519, RFC 7515): the header's `alg`, `kid`, `typ` and the
//! claims `iss`, `sub`, `aud`, `azp`, `exp`, `nbf`, `iat`. Nothing else of the token is kept: the
//! signature is never decoded, other claims are dropped, and every kept string is cut short.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The longest string kept from a claim or header field, in characters.
const MAX_FIELD_CHARS: usize = 200;
/// The most `aud` values kept.
const MAX_AUDIENCES: usize = 16;

/// What a subject token looks like, without the token.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenShape {
    /// A JWT whose header and claims decoded.
    Jwt(Box<Jwt>),
    /// Three dot-separated parts whose header or claims are not base64url JSON objects.
    Undecodable {
        /// The token's length in bytes.
        length: usize,
    },
    /// Not a JWT (an opaque token); only its length is shown.
    Opaque {
        /// The token's length in bytes.
        length: usize,
    },
}

/// The header fields and claims a diagnosis shows.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Jwt {
    /// Header `alg`.
    pub alg: Option<String>,
    /// Header `kid`.
    pub kid: Option<String>,
    /// Header `typ`.
    pub typ: Option<String>,
    /// `iss`.
    pub iss: Option<String>,
    /// `sub`.
    pub sub: Option<String>,
    /// `aud`, a string or a list in the token, always a list here.
    pub aud: Vec<String>,
    /// `azp`.
    pub azp: Option<String>,
    /// `exp`, seconds since the epoch.
    pub exp: Option<i64>,
    /// `nbf`, seconds since the epoch.
    pub nbf: Option<i64>,
    /// `iat`, seconds since the epoch.
    pub iat: Option<i64>,
}

/// Reads `token`'s shape. A JWT's signature is never decoded.
pub fn inspect(token: &str) -> TokenShape {
    let length = token.len();
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|part| part.is_empty() && parts[2] != *part)
    {
        return TokenShape::Opaque { length };
    }
    match (object(parts[0]), object(parts[1])) {
        (Some(header), Some(claims)) => TokenShape::Jwt(Box::new(Jwt {
            alg: string(&header, "alg"),
            kid: string(&header, "kid"),
            typ: string(&header, "typ"),
            iss: string(&claims, "iss"),
            sub: string(&claims, "sub"),
            aud: match claims.get("aud") {
                Some(Value::String(one)) => vec![cut(one)],
                Some(Value::Array(many)) => many
                    .iter()
                    .filter_map(Value::as_str)
                    .take(MAX_AUDIENCES)
                    .map(cut)
                    .collect(),
                _ => Vec::new(),
            },
            azp: string(&claims, "azp"),
            exp: seconds(&claims, "exp"),
            nbf: seconds(&claims, "nbf"),
            iat: seconds(&claims, "iat"),
        })),
        _ => TokenShape::Undecodable { length },
    }
}

fn object(part: &str) -> Option<Map<String, Value>> {
    // Some issuers pad; the padding carries nothing.
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn cut(text: &str) -> String {
    text.chars().take(MAX_FIELD_CHARS).collect()
}

fn string(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.get(name).and_then(Value::as_str).map(cut)
}

/// A NumericDate: a JSON number of seconds (fractions dropped).
fn seconds(map: &Map<String, Value>, name: &str) -> Option<i64> {
    match map.get(name)? {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn header_and_claims_decode_and_nothing_else_is_kept() {
        let token = format!(
            "{}.{}.c2lnbmF0dXJlLVNFQ1JFVA",
            encode(&serde_json::json!({"alg":"RS256","kid":"k1","typ":"JWT"})),
            encode(&serde_json::json!({
                "iss":"https://issuer.example","sub":"system:serviceaccount:ns:sa",
                "aud":["a","b"],"exp":200,"nbf":100,"iat":100.7,"private":"claim-SECRET"
            })),
        );
        let TokenShape::Jwt(jwt) = inspect(&token) else {
            panic!("a jwt")
        };
        assert_eq!(jwt.alg.as_deref(), Some("RS256"));
        assert_eq!(jwt.aud, ["a", "b"]);
        assert_eq!(
            (jwt.exp, jwt.nbf, jwt.iat),
            (Some(200), Some(100), Some(100))
        );
        let debug = format!("{jwt:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
    }

    #[test]
    fn a_single_audience_is_a_list_of_one() {
        let token = format!(
            "{}.{}.",
            encode(&serde_json::json!({"alg":"none"})),
            encode(&serde_json::json!({"aud":"only"}))
        );
        let TokenShape::Jwt(jwt) = inspect(&token) else {
            panic!("a jwt")
        };
        assert_eq!(jwt.aud, ["only"]);
    }

    #[test]
    fn other_tokens_are_opaque_or_undecodable_with_their_length() {
        assert_eq!(inspect("ya29.opaque"), TokenShape::Opaque { length: 11 });
        assert_eq!(inspect("a.b.c"), TokenShape::Undecodable { length: 5 });
    }
}
