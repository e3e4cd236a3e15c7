//! The `grpc-timeout` header: the gateway passes it on and also enforces it
//! until the last frame of the response, so neither a stuck upstream nor a
//! stream can hold a call past its deadline.

use std::time::Duration;

/// The deadline a call asked for, if it carries a valid `grpc-timeout`.
pub(crate) fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_and_refuses_garbage() {
        let mut h = http::HeaderMap::new();
        for (v, d) in [
            ("2S", Duration::from_secs(2)),
            ("150m", Duration::from_millis(150)),
            ("1H", Duration::from_secs(3600)),
            ("7u", Duration::from_micros(7)),
        ] {
            h.insert("grpc-timeout", v.parse().unwrap());
            assert_eq!(grpc_timeout(&h), Some(d), "{v}");
        }
        for v in ["", "S", "12", "123456789S", "1x"] {
            h.insert("grpc-timeout", http::HeaderValue::from_str(v).unwrap());
            assert_eq!(grpc_timeout(&h), None, "{v}");
        }
    }
}
