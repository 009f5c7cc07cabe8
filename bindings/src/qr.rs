//! QR code parsing: the payload printed by the firmware, decoded by the core into its
//! `QrPayload` (whose `toString`/`description` redacts the PoP and password).

use rainmaker_prov::endpoints::qr::{self, QrPayload};
use rainmaker_prov::error::ProvError;

/// Parses the text of a scanned provisioning QR code: the JSON form of every firmware
/// (`{"ver":"v1","name":"PROV_1A2B3C","pop":"abcd1234","transport":"ble"}`) or RainMaker's
/// compact `NP:<name>|<pop>|<b|s>` form. A malformed payload gives `ProvError.InvalidInput`.
#[uniffi::export]
pub fn parse_qr_code(text: String) -> Result<QrPayload, ProvError> {
    qr::parse(&text).map_err(|e| ProvError::InvalidInput { detail: e.to_string() })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rainmaker_prov::endpoints::qr::QrTransport;

    #[test]
    fn a_firmware_qr_code_parses_and_a_bad_one_is_invalid_input() {
        let p =
            parse_qr_code(r#"{"ver":"v1","name":"PROV_1A2B3C","pop":"abcd1234","transport":"softap"}"#.into()).unwrap();
        assert_eq!((p.name.as_str(), p.transport), ("PROV_1A2B3C", QrTransport::SoftAp));
        assert_eq!(p.pop.as_ref().map(|s| s.expose()), Some(&b"abcd1234"[..]));
        assert!(!format!("{p:?}").contains("abcd1234"));
        assert!(matches!(parse_qr_code("hello".into()), Err(ProvError::InvalidInput { .. })));
    }
}
