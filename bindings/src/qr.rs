//! QR code parsing: the payload printed by the firmware, decoded by the core.

use rainmaker_prov::endpoints::qr::{self, QrTransport as CoreQrTransport};
use rainmaker_prov::error::Error as CoreError;

use crate::error::ProvError;

/// How to reach the device named in a QR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum QrTransport {
    /// Bluetooth LE: `name` is the advertised device name.
    Ble,
    /// SoftAP: `name` is the device's access point SSID.
    SoftAp,
}

/// A decoded provisioning QR code. `pop` and `password` are secrets: do not log them.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct QrPayload {
    /// BLE device name or SoftAP SSID (`PROV_1A2B3C`).
    pub name: String,
    /// Security 1 proof of possession, or security 2 password (`ProvOptions.pop`).
    pub pop: Option<String>,
    /// Security 2 username (`ProvOptions.sec2_username`).
    pub username: Option<String>,
    /// The transport to use.
    pub transport: QrTransport,
    /// The security scheme, when the payload states it (firmware does not; `connect()` detects it).
    pub security: Option<u8>,
    /// Passphrase of the device's SoftAP, when present.
    pub password: Option<String>,
    /// `wifi` or `thread`, when present.
    pub network: Option<String>,
}

impl std::fmt::Debug for QrPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("QrPayload")
            .field("name", &self.name)
            .field("pop", &redact(&self.pop))
            .field("username", &self.username)
            .field("transport", &self.transport)
            .field("security", &self.security)
            .field("password", &redact(&self.password))
            .field("network", &self.network)
            .finish()
    }
}

/// Parses the text of a scanned provisioning QR code: the JSON form of every firmware
/// (`{"ver":"v1","name":"PROV_1A2B3C","pop":"abcd1234","transport":"ble"}`) or RainMaker's
/// compact `NP:<name>|<pop>|<b|s>` form. A malformed payload gives `ProvError.InvalidInput`.
#[uniffi::export]
pub fn parse_qr_code(text: String) -> Result<QrPayload, ProvError> {
    let payload = qr::parse(&text).map_err(|e| ProvError::from(CoreError::InvalidInput(e.to_string())))?;
    Ok(QrPayload {
        name: payload.name.clone(),
        pop: payload.pop.as_ref().map(secret_text),
        username: payload.username.clone(),
        transport: match payload.transport {
            CoreQrTransport::Ble => QrTransport::Ble,
            CoreQrTransport::SoftAp => QrTransport::SoftAp,
        },
        security: payload.security,
        password: payload.password.as_ref().map(secret_text),
        network: payload.network.clone(),
    })
}

/// The text of a secret for a foreign-language string (the QR code's text was UTF-8).
fn secret_text(secret: &rainmaker_prov::security::Secret) -> String {
    String::from_utf8_lossy(secret.expose()).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_firmware_qr_code_parses_and_a_bad_one_is_invalid_input() {
        let p =
            parse_qr_code(r#"{"ver":"v1","name":"PROV_1A2B3C","pop":"abcd1234","transport":"softap"}"#.into()).unwrap();
        assert_eq!((p.name.as_str(), p.transport), ("PROV_1A2B3C", QrTransport::SoftAp));
        assert_eq!(p.pop.as_deref(), Some("abcd1234"));
        assert!(!format!("{p:?}").contains("abcd1234"));
        assert!(matches!(parse_qr_code("hello".into()), Err(ProvError::InvalidInput { .. })));
    }
}
