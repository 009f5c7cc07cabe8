//! Security 0 (no security): one `prov-session` exchange, then plaintext (docs/protocol.md §4.1).
//!
//! Holds the phone-side and the device-side typestates. Each step consumes its state.

use rainmaker_prov_proto::protocomm::{
    S0SessionCmd, S0SessionResp, Sec0MsgType, Sec0Payload, Status, sec0_payload::Payload, session_data::Proto,
};

use super::SecurityLevel;
use super::cipher::SessionCipher;
use super::codec;
use super::error::SecurityError;

/// Phone side: the request has been sent, waiting for the device's response.
#[derive(Debug)]
pub struct ClientAwaitResponse {
    _private: (),
}

/// Phone side: builds the single request `SessionData { sec0 { sc {} } }` (`52 03 a2 01 00`).
pub fn client_start() -> (ClientAwaitResponse, Vec<u8>) {
    let request = codec::encode(Proto::Sec0(Sec0Payload {
        msg: Sec0MsgType::S0SessionCommand as i32,
        payload: Some(Payload::Sc(S0SessionCmd {})),
    }));
    (ClientAwaitResponse { _private: () }, request)
}

impl ClientAwaitResponse {
    /// Checks the device's response; the session is then plaintext.
    pub fn on_response(self, response: &[u8]) -> Result<SessionCipher, SecurityError> {
        let Proto::Sec0(payload) = codec::decode(response, SecurityLevel::Sec0)? else {
            return Err(SecurityError::UnexpectedMessage);
        };
        match payload.payload {
            Some(Payload::Sr(resp)) if payload.msg == Sec0MsgType::S0SessionResponse as i32 => {
                if resp.status != Status::Success as i32 {
                    return Err(SecurityError::DeviceRejectedStep(1));
                }
                Ok(SessionCipher::plain())
            }
            _ => Err(SecurityError::UnexpectedMessage),
        }
    }
}

/// Device side: waiting for the session command.
#[derive(Debug, Default)]
pub struct DeviceAwaitCommand {
    _private: (),
}

impl DeviceAwaitCommand {
    /// A fresh device-side security 0 session.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers the session command (`52 05 08 01 aa 01 00`).
    pub fn on_command(self, request: &[u8]) -> Result<(SessionCipher, Vec<u8>), SecurityError> {
        let Proto::Sec0(payload) = codec::decode(request, SecurityLevel::Sec0)? else {
            return Err(SecurityError::UnexpectedMessage);
        };
        match payload.payload {
            Some(Payload::Sc(_)) if payload.msg == Sec0MsgType::S0SessionCommand as i32 => {}
            _ => return Err(SecurityError::UnexpectedMessage),
        }
        let response = codec::encode(Proto::Sec0(Sec0Payload {
            msg: Sec0MsgType::S0SessionResponse as i32,
            payload: Some(Payload::Sr(S0SessionResp { status: Status::Success as i32 })),
        }));
        Ok((SessionCipher::plain(), response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_bytes_both_sides() {
        let (client, request) = client_start();
        assert_eq!(request, [0x52, 0x03, 0xa2, 0x01, 0x00]);
        let (_, response) = DeviceAwaitCommand::new().on_command(&request).unwrap();
        assert_eq!(response, [0x52, 0x05, 0x08, 0x01, 0xaa, 0x01, 0x00]);
        let cipher = client.on_response(&response).unwrap();
        assert_eq!(cipher.level(), SecurityLevel::Sec0);
    }

    #[test]
    fn rejects_wrong_messages() {
        let (client, request) = client_start();
        assert_eq!(client.on_response(&request).unwrap_err(), SecurityError::UnexpectedMessage);
        let response = [0x52, 0x05, 0x08, 0x01, 0xaa, 0x01, 0x00];
        assert_eq!(DeviceAwaitCommand::new().on_command(&response).unwrap_err(), SecurityError::UnexpectedMessage);
        // status InvalidArgument
        let (client, _) = client_start();
        let bad = [0x52, 0x07, 0x08, 0x01, 0xaa, 0x01, 0x02, 0x08, 0x04];
        assert_eq!(client.on_response(&bad).unwrap_err(), SecurityError::DeviceRejectedStep(1));
    }
}
