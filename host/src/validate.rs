//! Rules for the ids, keys and texts operators and devices hand the host, in one
//! place so every route enforces the same documented limits (docs/API.md).

use crate::HostError;

/// Longest operator config key, and value.
pub const MAX_CONFIG_KEY_BYTES: usize = 128;
/// Largest operator config value, in bytes.
pub const MAX_CONFIG_VALUE_BYTES: usize = 16 << 10;
/// Longest free-text field of a record (a device's model or region).
pub const MAX_TEXT_BYTES: usize = 64;

fn invalid(message: String) -> HostError {
    HostError::InvalidInput(message)
}

/// A quoted value for an error message, cut so a huge input is not echoed back.
fn quoted(value: &str) -> String {
    let cut: String = value.chars().take(40).collect();
    if cut.len() < value.len() { format!("{cut:?}…") } else { format!("{cut:?}") }
}

/// A publisher name: 1-64 of a-z, 0-9 and '-'.
pub fn publisher(name: &str) -> Result<(), HostError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid { Ok(()) } else { Err(invalid(format!("publisher {} must be 1-64 of a-z, 0-9 and '-'", quoted(name)))) }
}

/// An operator config key: 1-128 of A-Z a-z 0-9 . _ -
pub fn config_key(key: &str) -> Result<(), HostError> {
    let valid = !key.is_empty()
        && key.len() <= MAX_CONFIG_KEY_BYTES
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(invalid(format!("config key {} must be 1-{MAX_CONFIG_KEY_BYTES} of A-Z a-z 0-9 . _ -", quoted(key))))
    }
}

/// An operator config value: at most 16 KiB, no control characters but tab and newline.
pub fn config_value(value: &str) -> Result<(), HostError> {
    if value.len() > MAX_CONFIG_VALUE_BYTES {
        return Err(invalid(format!(
            "a config value is at most {MAX_CONFIG_VALUE_BYTES} bytes; this one has {}",
            value.len()
        )));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(invalid("a config value may not hold control characters".into()));
    }
    Ok(())
}

/// A short free-text field: 1-64 bytes of printable characters.
pub fn text(what: &str, value: &str) -> Result<(), HostError> {
    let valid = !value.is_empty() && value.len() <= MAX_TEXT_BYTES && !value.chars().any(char::is_control);
    if valid {
        Ok(())
    } else {
        Err(invalid(format!("{what} {} must be 1-{MAX_TEXT_BYTES} printable bytes", quoted(value))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_and_messages_stay_short() {
        assert!(config_key("discount.rate").is_ok());
        for bad in ["", "a\0b", "../x", &"k".repeat(129)] {
            assert!(config_key(bad).is_err(), "{bad:?}");
        }
        assert!(config_value(&"v".repeat(MAX_CONFIG_VALUE_BYTES)).is_ok());
        assert!(config_value(&"v".repeat(MAX_CONFIG_VALUE_BYTES + 1)).is_err());
        assert!(config_value("a\u{0}b").is_err());
        assert!(text("model", "RF85 Pro").is_ok());
        let long = "m".repeat(500_000);
        let message = text("model", &long).unwrap_err().to_string();
        assert!(message.len() < 200, "{message}");
        assert!(publisher("fresh-cart").is_ok() && publisher("Fresh").is_err());
    }
}
