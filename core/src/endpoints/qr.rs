//! The QR code payload printed by the firmware (docs/protocol.md 9): the JSON form of every firmware
//! and RainMaker's compact `NP:<name>|<pop>|<b|s>` form.

use serde_json::Value;

use crate::security::Secret;

/// SRP user name implied by the compact form (and the usual default for security 2).
pub const DEFAULT_USERNAME: &str = "wifiprov";

/// How to reach the device named in the QR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum QrTransport {
    /// Bluetooth LE: `name` is the advertised device name.
    Ble,
    /// SoftAP + HTTP: `name` is the access point's SSID.
    SoftAp,
}

/// A decoded QR payload. `pop` and `password` are secrets: they are redacted from `Debug` and
/// wiped when the payload is dropped.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record), uniffi::export(Debug))]
pub struct QrPayload {
    /// BLE device name or SoftAP SSID (e.g. `PROV_1A2B3C`).
    pub name: String,
    /// Security 1 proof of possession, or security 2 password.
    pub pop: Option<Secret>,
    /// Security 2 user name (`wifiprov`, `threadprov`).
    pub username: Option<String>,
    /// The transport to use.
    pub transport: QrTransport,
    /// Security scheme, when the payload states it (no Espressif firmware emits it; the mobile
    /// libraries default to 2 and let `proto-ver` decide).
    pub security: Option<u8>,
    /// Passphrase of the device's SoftAP (client-side extension).
    pub password: Option<Secret>,
    /// `"wifi"` or `"thread"` (iOS extension).
    pub network: Option<String>,
}

impl std::fmt::Debug for QrPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |s: &Option<Secret>| s.as_ref().map(|_| "<redacted>");
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

/// Why a QR payload could not be used. Never contains the PoP or password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The text is empty.
    #[error("the QR payload is empty")]
    Empty,
    /// Neither a JSON object nor an `NP:` compact payload.
    #[error("unrecognised QR payload format")]
    UnknownFormat,
    /// Looked like JSON but is not valid JSON.
    #[error("invalid JSON in the QR payload ({0})")]
    InvalidJson(String),
    /// A required key is missing or empty.
    #[error("the QR payload has no `{0}`")]
    MissingField(&'static str),
    /// A key has an unusable value.
    #[error("invalid `{field}` in the QR payload: {reason}")]
    InvalidField {
        /// The key.
        field: &'static str,
        /// What is wrong (never the value of a secret key).
        reason: String,
    },
}

/// A string key holding a secret, moved straight into a [`Secret`].
fn opt_secret(obj: &mut serde_json::Map<String, Value>, key: &'static str) -> Result<Option<Secret>, QrError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(Secret::from(s))),
        Some(_) => Err(QrError::InvalidField { field: key, reason: "not a string".into() }),
    }
}

fn parse_transport(value: &str) -> Result<QrTransport, QrError> {
    match value.to_ascii_lowercase().as_str() {
        "ble" => Ok(QrTransport::Ble),
        "softap" => Ok(QrTransport::SoftAp),
        _ => Err(QrError::InvalidField {
            field: "transport",
            reason: format!("`{value}` is neither `ble` nor `softap`"),
        }),
    }
}

fn opt_string(obj: &serde_json::Map<String, Value>, key: &'static str) -> Result<Option<String>, QrError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(QrError::InvalidField { field: key, reason: "not a string".into() }),
    }
}

fn parse_security(value: Option<&Value>) -> Result<Option<u8>, QrError> {
    let bad = |reason: &str| QrError::InvalidField { field: "security", reason: reason.to_owned() };
    let n = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| bad("not a non-negative integer"))?,
        Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| bad("not an integer"))?,
        Some(_) => return Err(bad("not a number")),
    };
    match u8::try_from(n) {
        Ok(v) if v <= 2 => Ok(Some(v)),
        _ => Err(bad(&format!("{n} is not 0, 1 or 2"))),
    }
}

fn parse_json(text: &str) -> Result<QrPayload, QrError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        QrError::InvalidJson(format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column()))
    })?;
    let Value::Object(mut obj) = value else {
        return Err(QrError::UnknownFormat);
    };
    let name = opt_string(&obj, "name")?.filter(|n| !n.is_empty()).ok_or(QrError::MissingField("name"))?;
    let transport =
        opt_string(&obj, "transport")?.filter(|t| !t.is_empty()).ok_or(QrError::MissingField("transport"))?;
    Ok(QrPayload {
        name,
        pop: opt_secret(&mut obj, "pop")?,
        username: opt_string(&obj, "username")?,
        transport: parse_transport(&transport)?,
        security: parse_security(obj.get("security"))?,
        password: opt_secret(&mut obj, "password")?,
        network: opt_string(&obj, "network")?,
    })
}

fn parse_compact(body: &str) -> Result<QrPayload, QrError> {
    // NP:<name>|<pop>|<t>; the name is what remains left of the last two separators.
    let mut parts = body.rsplitn(3, '|');
    let (Some(t), Some(pop), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(QrError::InvalidField { field: "NP", reason: "expected `NP:<name>|<pop>|<b|s>`".into() });
    };
    if name.is_empty() {
        return Err(QrError::MissingField("name"));
    }
    let transport = match t {
        "b" | "B" => QrTransport::Ble,
        "s" | "S" => QrTransport::SoftAp,
        "" => return Err(QrError::MissingField("transport")),
        other => {
            return Err(QrError::InvalidField {
                field: "transport",
                reason: format!("`{other}` is neither `b` nor `s`"),
            });
        }
    };
    Ok(QrPayload {
        name: name.to_owned(),
        pop: (!pop.is_empty()).then(|| Secret::from(pop)),
        username: Some(DEFAULT_USERNAME.to_owned()),
        transport,
        security: None,
        password: None,
        network: None,
    })
}

/// Parses a scanned QR text: the JSON form (`name` and `transport` required, `transport` compared
/// case-insensitively, unknown keys ignored) or the compact `NP:<name>|<pop>|<b|s>` form, whose
/// user name is implicitly `wifiprov`. Surrounding whitespace is ignored.
pub fn parse(text: &str) -> Result<QrPayload, QrError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(QrError::Empty);
    }
    if let Some(body) = text.strip_prefix("NP:") {
        return parse_compact(body);
    }
    if text.starts_with('{') {
        return parse_json(text);
    }
    Err(QrError::UnknownFormat)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn firmware_json_forms() {
        let p = parse(r#"{"ver":"v1","name":"PROV_1A2B3C","pop":"abcd1234","transport":"ble"}"#).unwrap();
        assert_eq!(p.name, "PROV_1A2B3C");
        assert_eq!(p.pop.as_ref().map(|p| p.expose()), Some(&b"abcd1234"[..]));
        assert_eq!(p.transport, QrTransport::Ble);
        assert_eq!(p.username, None);
        assert_eq!(p.security, None);

        let p = parse(r#"{"ver":"v1","name":"PROV_1A2B3C","username":"wifiprov","pop":"abcd1234","transport":"ble"}"#)
            .unwrap();
        assert_eq!(p.username.as_deref(), Some("wifiprov"));

        let p = parse(r#"{"ver":"v1","name":"PROV_1A2B3C","transport":"softap"}"#).unwrap();
        assert_eq!((p.transport, p.pop.clone()), (QrTransport::SoftAp, None));
    }

    #[test]
    fn client_extensions_and_case() {
        let p = parse(
            " {\"name\":\"PROV_x\",\"transport\":\"SoftAP\",\"security\":1,\"password\":\"apsecret\",\"network\":\"thread\",\"extra\":[1]}\n",
        )
        .unwrap();
        assert_eq!(p.transport, QrTransport::SoftAp);
        assert_eq!(p.security, Some(1));
        assert_eq!(p.password.as_ref().map(|p| p.expose()), Some(&b"apsecret"[..]));
        assert_eq!(p.network.as_deref(), Some("thread"));
        assert_eq!(parse(r#"{"name":"a","transport":"BLE","security":"2"}"#).unwrap().security, Some(2));
    }

    #[test]
    fn invalid_json_forms() {
        assert_eq!(parse(r#"{"transport":"ble"}"#), Err(QrError::MissingField("name")));
        assert_eq!(parse(r#"{"name":"","transport":"ble"}"#), Err(QrError::MissingField("name")));
        assert_eq!(parse(r#"{"name":"x"}"#), Err(QrError::MissingField("transport")));
        assert!(matches!(
            parse(r#"{"name":"x","transport":"wifi"}"#),
            Err(QrError::InvalidField { field: "transport", .. })
        ));
        assert!(matches!(parse(r#"{"name":5,"transport":"ble"}"#), Err(QrError::InvalidField { field: "name", .. })));
        assert!(matches!(
            parse(r#"{"name":"x","transport":"ble","security":7}"#),
            Err(QrError::InvalidField { field: "security", .. })
        ));
        assert!(matches!(
            parse(r#"{"name":"x","transport":"ble","security":-1}"#),
            Err(QrError::InvalidField { field: "security", .. })
        ));
        assert!(matches!(parse(r#"{"name":"x","transport":"ble""#), Err(QrError::InvalidJson(_))));
        assert_eq!(parse("   "), Err(QrError::Empty));
        assert_eq!(parse("PROV_123"), Err(QrError::UnknownFormat));
        assert_eq!(parse("[1]"), Err(QrError::UnknownFormat));
    }

    #[test]
    fn compact_form() {
        let p = parse("NP:PROV_1a2b3c|abcd1234|b").unwrap();
        assert_eq!(p.name, "PROV_1a2b3c");
        assert_eq!(p.pop.as_ref().map(|p| p.expose()), Some(&b"abcd1234"[..]));
        assert_eq!(p.username.as_deref(), Some("wifiprov"));
        assert_eq!(p.transport, QrTransport::Ble);
        let p = parse("NP:PROV_1a2b3c||s").unwrap();
        assert_eq!((p.pop.clone(), p.transport), (None, QrTransport::SoftAp));
        assert_eq!(parse("NP:|abc|b"), Err(QrError::MissingField("name")));
        assert_eq!(parse("NP:x|abc|"), Err(QrError::MissingField("transport")));
        assert!(matches!(parse("NP:x|abc|w"), Err(QrError::InvalidField { field: "transport", .. })));
        assert!(matches!(parse("NP:x|b"), Err(QrError::InvalidField { field: "NP", .. })));
    }

    #[test]
    fn debug_redacts_secrets() {
        let p =
            parse(r#"{"name":"PROV_1","pop":"topsecretpop","transport":"softap","password":"appassword1"}"#).unwrap();
        let dbg = format!("{p:?}");
        assert!(!dbg.contains("topsecretpop") && !dbg.contains("appassword1"), "{dbg}");
        assert!(dbg.contains("PROV_1") && dbg.contains("<redacted>"));
        let err = parse(r#"{"name":"PROV_1","pop":"topsecretpop","transport":"bt"}"#).unwrap_err();
        assert!(!err.to_string().contains("topsecretpop"));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,64}") {
            let _ = parse(&text);
            let _ = parse(&format!("NP:{text}"));
            let _ = parse(&format!("{{{text}"));
        }
    }
}
