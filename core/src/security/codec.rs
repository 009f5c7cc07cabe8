//! Encoding and decoding of the `prov-session` envelope (`SessionData`) shared by all schemes.

use prost::Message;
use rainmaker_prov_proto::protocomm::{SecSchemeVersion, SessionData, session_data::Proto};

use super::SecurityLevel;
use super::error::SecurityError;

/// Decodes a `SessionData` and returns its payload, which must be of the scheme `level` with
/// `sec_ver` equal to the scheme number.
pub(crate) fn decode(bytes: &[u8], level: SecurityLevel) -> Result<Proto, SecurityError> {
    let data = SessionData::decode(bytes).map_err(|e| SecurityError::Malformed(format!("SessionData: {e}")))?;
    let sec_ver = SecSchemeVersion::try_from(data.sec_ver).map_err(|_| SecurityError::UnsupportedVersion)?;
    if sec_ver != scheme_version(level) {
        log::debug!("prov-session message for scheme {sec_ver:?}, expected {level:?}");
        return Err(SecurityError::UnexpectedMessage);
    }
    let proto = data.proto.ok_or_else(|| SecurityError::Malformed("SessionData without payload".into()))?;
    let matches = matches!(
        (&proto, level),
        (Proto::Sec0(_), SecurityLevel::Sec0)
            | (Proto::Sec1(_), SecurityLevel::Sec1)
            | (Proto::Sec2(_), SecurityLevel::Sec2)
    );
    if !matches {
        log::debug!("prov-session payload of another scheme than {level:?}");
        return Err(SecurityError::UnexpectedMessage);
    }
    Ok(proto)
}

/// Encodes a `SessionData` with `sec_ver` set to the scheme of the payload.
pub(crate) fn encode(proto: Proto) -> Vec<u8> {
    let level = match proto {
        Proto::Sec0(_) => SecurityLevel::Sec0,
        Proto::Sec1(_) => SecurityLevel::Sec1,
        Proto::Sec2(_) => SecurityLevel::Sec2,
    };
    SessionData { sec_ver: scheme_version(level) as i32, proto: Some(proto) }.encode_to_vec()
}

/// The `msg` field of the payload (message type) of a decoded `SessionData`.
pub(crate) fn msg_type(proto: &Proto) -> i32 {
    match proto {
        Proto::Sec0(p) => p.msg,
        Proto::Sec1(p) => p.msg,
        Proto::Sec2(p) => p.msg,
    }
}

fn scheme_version(level: SecurityLevel) -> SecSchemeVersion {
    match level {
        SecurityLevel::Sec0 => SecSchemeVersion::SecScheme0,
        SecurityLevel::Sec1 => SecSchemeVersion::SecScheme1,
        SecurityLevel::Sec2 => SecSchemeVersion::SecScheme2,
    }
}

/// Checks a fixed-length byte field and returns it as an array.
pub(crate) fn fixed<const L: usize>(bytes: &[u8], what: &str) -> Result<[u8; L], SecurityError> {
    bytes.try_into().map_err(|_| SecurityError::Malformed(format!("{what}: {} bytes, expected {L}", bytes.len())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rainmaker_prov_proto::protocomm::{S0SessionCmd, Sec0Payload, sec0_payload};

    #[test]
    fn rejects_wrong_scheme_and_version() {
        let sec0 =
            encode(Proto::Sec0(Sec0Payload { msg: 0, payload: Some(sec0_payload::Payload::Sc(S0SessionCmd {})) }));
        assert_eq!(sec0, [0x52, 0x03, 0xa2, 0x01, 0x00]);
        assert!(decode(&sec0, SecurityLevel::Sec0).is_ok());
        assert_eq!(decode(&sec0, SecurityLevel::Sec1), Err(SecurityError::UnexpectedMessage));
        // sec_ver 3 (unknown) with a sec0 payload
        let mut v3 = vec![0x10, 0x03];
        v3.extend_from_slice(&sec0);
        assert_eq!(decode(&v3, SecurityLevel::Sec0), Err(SecurityError::UnsupportedVersion));
        // sec_ver 1 with a sec0 payload
        let mut v1 = vec![0x10, 0x01];
        v1.extend_from_slice(&sec0);
        assert_eq!(decode(&v1, SecurityLevel::Sec1), Err(SecurityError::UnexpectedMessage));
        assert!(matches!(decode(&[], SecurityLevel::Sec0), Err(SecurityError::Malformed(_))));
        assert!(matches!(decode(&[0xff], SecurityLevel::Sec0), Err(SecurityError::Malformed(_))));
    }
}
