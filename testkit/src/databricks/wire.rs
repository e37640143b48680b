//! Wire helpers shared by every area: response builders, the Databricks error body, SCIM
//! errors, base64, `application/x-www-form-urlencoded` parsing and id generation.

pub(crate) use crate::base64::{decode as base64_decode, encode as base64_encode};
use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// `Content-Type` of every JSON answer.
pub(crate) const JSON: &str = "application/json";
/// `Content-Type` of SCIM answers.
pub(crate) const SCIM_JSON: &str = "application/scim+json";

/// An answer with a status, a content type and a body.
pub(crate) fn raw(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

/// A JSON answer.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    raw(status, JSON, body.to_string())
}

/// A 200 JSON answer.
pub(crate) fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, &body)
}

/// A SCIM JSON answer.
pub(crate) fn scim(status: StatusCode, body: &Value) -> Response {
    raw(status, SCIM_JSON, body.to_string())
}

/// A Databricks REST error (`{"error_code": "...", "message": "..."}`), reference §4.1 format 1.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    /// Extra top-level fields (e.g. `details`).
    pub(crate) details: Option<Value>,
}

impl ApiError {
    /// An error with a status, an `error_code` and a message.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    /// 400 `INVALID_PARAMETER_VALUE`.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE", message)
    }

    /// 400 `MALFORMED_REQUEST`.
    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "MALFORMED_REQUEST", message)
    }

    /// 400 `INVALID_STATE`.
    pub(crate) fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_STATE", message)
    }

    /// 404 `RESOURCE_DOES_NOT_EXIST`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", message)
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> Value {
        let mut body = json!({"error_code": self.code, "message": self.message});
        if let Some(details) = &self.details {
            body["details"] = details.clone();
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body())
    }
}

/// A SCIM error (`{"schemas": [...Error], "detail": "...", "status": "409"}`), reference §4.1
/// format 3: `status` is a string and there is no `error_code`.
pub(crate) fn scim_error(status: StatusCode, detail: &str, scim_type: Option<&str>) -> Response {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "detail": detail,
        "status": status.as_u16().to_string(),
    });
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    scim(status, &body)
}

/// Parses a JSON request body; an empty body is an empty object.
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::malformed(format!("Could not parse request object: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::malformed(
            "Could not parse request object: expected a JSON object",
        ));
    }
    Ok(value)
}

/// A required non-empty string field (dotted path), else 400 `INVALID_PARAMETER_VALUE`.
pub(crate) fn required_str<'a>(body: &'a Value, path: &str) -> Result<&'a str, ApiError> {
    let mut cur = body;
    for part in path.split('.') {
        cur = cur.get(part).unwrap_or(&Value::Null);
    }
    match cur.as_str() {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::invalid(format!("Missing required field: {path}"))),
    }
}

/// An optional string field.
pub(crate) fn opt_str<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

/// Parses `a=1&b=x%20y` (also a query string) into pairs, in order.
pub(crate) fn parse_urlencoded(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The first value of `key` in a query string.
pub(crate) fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    parse_urlencoded(query.unwrap_or_default())
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Percent-decoding with `+` as a space.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// SplitMix64: turns a counter into well-spread bits, so generated ids look random but are
/// deterministic.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A UUID-shaped (version 4 layout) id derived from a counter.
pub(crate) fn uuid_from(counter: u64) -> String {
    let a = mix(counter);
    let b = mix(a ^ counter.rotate_left(17));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// Lower-case hex digits derived from a counter.
pub(crate) fn hex_from(counter: u64, len: usize) -> String {
    let s = format!("{:016x}{:016x}", mix(counter), mix(counter ^ 0x5555));
    s[..len.min(32)].to_owned()
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            let enc = base64_encode(data);
            assert_eq!(base64_decode(&enc).as_deref(), Some(data), "{enc}");
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_decode("Zm9vYg").as_deref(), Some(&b"foob"[..]));
        assert_eq!(base64_decode("not base64!"), None);
    }

    #[test]
    fn urlencoded_decodes_percent_and_plus() {
        let pairs = parse_urlencoded("filter=displayName+eq+%22a%20b%22&x=%zz&y");
        assert_eq!(pairs[0], ("filter".into(), "displayName eq \"a b\"".into()));
        assert_eq!(pairs[1], ("x".into(), "%zz".into()));
        assert_eq!(pairs[2], ("y".into(), String::new()));
    }

    #[test]
    fn ids_are_uuid_shaped_and_distinct() {
        let a = uuid_from(1);
        let b = uuid_from(2);
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
        assert_eq!(
            a.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
    }
}
