//! Endpoint codecs: pure, sans-I/O encoders and decoders for the provisioning endpoints.
//!
//! Each submodule holds both sides of its endpoints:
//!
//! - the **client** side (phone/host): request builders that return the exact plaintext bytes to
//!   send, and response parsers that return typed values;
//! - the **device** side (used by the simulator): request decoders that dispatch the way the
//!   firmware does, and response encoders that reproduce the firmware's bytes.
//!
//! Nothing here touches a socket, a clock or a random number generator. Encryption of the
//! plaintexts is the business of [`crate::security`]; carrying them is the business of
//! [`crate::transport`].
//!
//! | module | endpoints | messages |
//! |---|---|---|
//! | [`proto_ver`] | `proto-ver` | version / capability JSON, security auto-detection |
//! | [`wifi`] | `prov-config`, `prov-scan`, `prov-ctrl` | ESP-IDF `wifi_provisioning` (also valid for network_provisioning Wi-Fi) |
//! | [`thread`] | `prov-config`, `prov-scan`, `prov-ctrl` | network_provisioning Thread messages |
//! | [`qr`] | (none) | the QR code payload printed by the firmware |
//! | [`rainmaker`] | `cloud_user_assoc`, `ch_resp`, `rmaker_claim` | ESP RainMaker user-node mapping, challenge-response, assisted claiming |

pub mod error;
pub mod proto_ver;
pub mod qr;
pub mod rainmaker;
pub mod thread;
pub mod wifi;

pub use error::EndpointError;
/// The protocomm status code carried by responses (`Success`, `InvalidArgument`, `InternalError` ...).
pub use rainmaker_prov_proto::protocomm::Status;
/// Alias of [`Status`] for device-side code (the status a simulated device answers with).
pub use rainmaker_prov_proto::protocomm::Status as DeviceStatus;

/// The version endpoint: plaintext JSON describing versions and capabilities.
pub const PROTO_VER: &str = "proto-ver";
/// The security endpoint: the `SessionData` handshake.
pub const PROV_SESSION: &str = "prov-session";
/// Network configuration: set credentials, apply them, read the connection status.
pub const PROV_CONFIG: &str = "prov-config";
/// Network scanning (Wi-Fi; Thread on network_provisioning devices).
pub const PROV_SCAN: &str = "prov-scan";
/// Provisioning control: reset after a failure, re-provision (ESP-IDF >= v5.1).
pub const PROV_CTRL: &str = "prov-ctrl";

/// The name of a protocomm status code, or `"Unknown"` for a value outside the enum.
pub fn status_name(code: i32) -> &'static str {
    match Status::try_from(code) {
        Ok(s) => s.as_str_name(),
        Err(_) => "Unknown",
    }
}

/// Decodes a protobuf message, mapping failures to [`EndpointError::Malformed`].
pub(crate) fn decode<M: prost::Message + Default>(what: &str, bytes: &[u8]) -> Result<M, EndpointError> {
    M::decode(bytes).map_err(|e| EndpointError::Malformed(format!("{what}: {e}")))
}

/// `Ok` when `len <= limit`, otherwise [`EndpointError::OutOfBounds`] naming `field`.
pub(crate) fn bound(field: &'static str, len: usize, limit: usize) -> Result<(), EndpointError> {
    if len <= limit { Ok(()) } else { Err(EndpointError::OutOfBounds { field, len, limit }) }
}

/// `Ok` for `Success`, otherwise [`EndpointError::DeviceStatus`].
pub(crate) fn check_status(code: i32) -> Result<(), EndpointError> {
    if code == Status::Success as i32 { Ok(()) } else { Err(EndpointError::device_status(code)) }
}

/// Checks that a response carries the expected message type.
pub(crate) fn expect_msg(
    got: i32,
    expected: i32,
    name_of: impl Fn(i32) -> Option<&'static str>,
) -> Result<(), EndpointError> {
    if got == expected {
        return Ok(());
    }
    Err(EndpointError::UnexpectedMessage {
        expected: describe_msg(expected, &name_of),
        got: describe_msg(got, &name_of),
    })
}

/// `"TypeRespGetStatus (1)"`, or `"msg 9"` for a value without a name.
pub(crate) fn describe_msg(msg: i32, name_of: impl Fn(i32) -> Option<&'static str>) -> String {
    match name_of(msg) {
        Some(name) => format!("{name} ({msg})"),
        None => format!("msg {msg}"),
    }
}

/// Error for a response or command whose oneof member is missing or not the expected one.
pub(crate) fn unexpected_member(expected: &str, got: Option<&str>) -> EndpointError {
    EndpointError::UnexpectedMessage {
        expected: format!("member `{expected}`"),
        got: match got {
            Some(name) => format!("member `{name}`"),
            None => "no member".to_owned(),
        },
    }
}

/// Encodes a message that holds a secret straight into a zeroizing buffer of the exact size, so
/// no reallocation leaves a copy behind.
pub(crate) fn encode_secret<M: prost::Message>(msg: &M) -> Result<zeroize::Zeroizing<Vec<u8>>, EndpointError> {
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(msg.encoded_len()));
    msg.encode(&mut *out).map_err(|e| EndpointError::InvalidArgument(format!("cannot encode the request: {e}")))?;
    Ok(out)
}

/// A device answer on `prov-config`, for Wi-Fi (`S` = [`wifi::WifiStatus`]) or Thread
/// (`S` = [`thread::ThreadStatus`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigResponse<S> {
    /// GetStatus answered with `Success` and a state.
    Status(S),
    /// GetStatus answered with a failure status (e.g. `InvalidArgument` for Thread on a Wi-Fi-only
    /// build) and no state.
    StatusError(Status),
    /// SetConfig answered with this status.
    SetConfig(Status),
    /// ApplyConfig answered with this status.
    Apply(Status),
}

/// A `prov-scan` command as the device dispatches it (`P`: the scan parameters of Wi-Fi or Thread).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanCommand<P> {
    /// ScanStart.
    Start(P),
    /// ScanStatus.
    Status,
    /// ScanResult: `count` entries from `start`.
    Result {
        /// `start_index`.
        start: u32,
        /// `count`.
        count: u32,
    },
}

/// A device answer on `prov-scan` (`T`: a Wi-Fi or Thread scan entry; the status goes in the
/// envelope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanResponse<T> {
    /// ScanStart answered.
    Start,
    /// ScanStatus answered.
    Status(wifi::ScanStatus),
    /// ScanResult answered with these entries.
    Result(Vec<T>),
}
