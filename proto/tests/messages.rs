//! Checks every `.proto` of this crate against the 242 golden encodings of `tests/vectors/messages.json`,
//! both through reflection (prost-reflect) and through the prost-generated Rust types, plus a few
//! hand-written encodings from docs/protocol.md 11.5.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::fmt::Debug;

use prost::Message;
use prost::bytes::Bytes;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MessageDescriptor, ReflectMessage, Value};
use rainmaker_prov_proto::{
    FILE_DESCRIPTOR_SET, cloud, custom_config, network_prov, protocomm, rainmaker, rmaker_ch_resp, rmaker_claim,
    rmaker_prov_local_ctrl, wifi_prov,
};
use serde_json::{Map, Value as Json};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/messages.json");
const EXPECTED_ENTRIES: usize = 242;

fn pool() -> DescriptorPool {
    DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("descriptor set decodes")
}

/// The protobuf package that holds the messages of an upstream schema file in this crate.
fn package_of(proto_file: &str) -> Option<&'static str> {
    Some(match proto_file {
        "constants.proto" | "session.proto" | "sec0.proto" | "sec1.proto" | "sec2.proto" => "protocomm",
        "wifi_constants.proto" | "wifi_config.proto" | "wifi_scan.proto" | "wifi_ctrl.proto" => "wifi_prov",
        "network_constants.proto" | "network_config.proto" | "network_scan.proto" | "network_ctrl.proto" => {
            "network_prov"
        }
        "esp_rmaker_user_mapping.proto" => "rainmaker",
        "custom_cloud_config.proto" => "cloud",
        "esp_rmaker_claim.proto" => "rmaker_claim",
        "esp_rmaker_chal_resp.proto" => "rmaker_ch_resp",
        "esp_rmaker_prov_local_ctrl.proto" => "rmaker_prov_local_ctrl",
        "custom_config.proto" => "custom_config",
        _ => return None,
    })
}

/// Finds the descriptor of an entry's message, checking that it is declared in `proto_file`.
fn find_message(pool: &DescriptorPool, proto_file: &str, message: &str) -> Result<MessageDescriptor, String> {
    let package = package_of(proto_file).ok_or_else(|| format!("unknown proto_file {proto_file}"))?;
    let bare = match message.rsplit_once('.') {
        Some((prefix, bare)) if prefix == package => bare,
        Some((prefix, _)) => {
            return Err(format!("package {prefix} does not belong to {proto_file}"));
        }
        None => message,
    };
    let full = format!("{package}.{bare}");
    let desc = pool.get_message_by_name(&full).ok_or_else(|| format!("no message {full} in the descriptor pool"))?;
    let file = desc.parent_file();
    if file.name() != proto_file {
        return Err(format!("{full} is declared in {}, not in {proto_file}", file.name()));
    }
    Ok(desc)
}

// ---------------------------------------------------------------------------------------------
// JSON <-> DynamicMessage
// ---------------------------------------------------------------------------------------------

fn json_to_message(desc: &MessageDescriptor, json: &Json) -> Result<DynamicMessage, String> {
    let obj = json.as_object().ok_or_else(|| format!("{}: expected a JSON object, got {json}", desc.full_name()))?;
    let mut msg = DynamicMessage::new(desc.clone());
    for (key, value) in obj {
        let field = desc.get_field_by_name(key).ok_or_else(|| format!("{}: no field named {key}", desc.full_name()))?;
        let value = if field.is_list() {
            let items = value.as_array().ok_or_else(|| format!("{key}: repeated field needs a JSON array"))?;
            Value::List(items.iter().map(|item| json_to_value(&field.kind(), item)).collect::<Result<_, _>>()?)
        } else if field.is_map() {
            return Err(format!("{key}: map fields are not used by these protos"));
        } else {
            json_to_value(&field.kind(), value)?
        };
        msg.try_set_field(&field, value).map_err(|e| format!("{key}: cannot set: {e}"))?;
    }
    Ok(msg)
}

fn json_int(json: &Json) -> Result<i128, String> {
    json.as_i64()
        .map(i128::from)
        .or_else(|| json.as_u64().map(i128::from))
        .ok_or_else(|| format!("expected an integer, got {json}"))
}

fn json_to_value(kind: &Kind, json: &Json) -> Result<Value, String> {
    let range = |e: std::num::TryFromIntError| format!("{json} out of range: {e}");
    Ok(match kind {
        Kind::Message(desc) => Value::Message(json_to_message(desc, json)?),
        Kind::Enum(desc) => match json {
            Json::String(name) => Value::EnumNumber(
                desc.get_value_by_name(name)
                    .ok_or_else(|| format!("enum {} has no value {name}", desc.full_name()))?
                    .number(),
            ),
            other => Value::EnumNumber(i32::try_from(json_int(other)?).map_err(range)?),
        },
        Kind::Bytes => {
            let text = json.as_str().ok_or_else(|| format!("bytes must be hex text, got {json}"))?;
            Value::Bytes(Bytes::from(hex::decode(text).map_err(|e| format!("bad hex {text}: {e}"))?))
        }
        Kind::String => {
            Value::String(json.as_str().ok_or_else(|| format!("expected a string, got {json}"))?.to_owned())
        }
        Kind::Bool => Value::Bool(json.as_bool().ok_or_else(|| format!("expected a bool, got {json}"))?),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(i32::try_from(json_int(json)?).map_err(range)?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(i64::try_from(json_int(json)?).map_err(range)?),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(u32::try_from(json_int(json)?).map_err(range)?),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(u64::try_from(json_int(json)?).map_err(range)?),
        Kind::Float | Kind::Double => {
            return Err(format!("floating point fields are not used by these protos ({json})"));
        }
    })
}

fn message_to_json(msg: &DynamicMessage) -> Result<Json, String> {
    if msg.unknown_fields().next().is_some() {
        return Err(format!("{} decoded with unknown fields", msg.descriptor().full_name()));
    }
    let mut obj = Map::new();
    for (field, value) in msg.fields() {
        obj.insert(field.name().to_owned(), value_to_json(&field.kind(), value)?);
    }
    Ok(Json::Object(obj))
}

fn value_to_json(kind: &Kind, value: &Value) -> Result<Json, String> {
    Ok(match (kind, value) {
        (_, Value::List(items)) => {
            Json::Array(items.iter().map(|item| value_to_json(kind, item)).collect::<Result<_, _>>()?)
        }
        (_, Value::Message(m)) => message_to_json(m)?,
        (Kind::Enum(desc), Value::EnumNumber(n)) => match desc.get_value(*n) {
            Some(v) => Json::String(v.name().to_owned()),
            None => Json::from(*n),
        },
        (_, Value::Bytes(b)) => Json::String(hex::encode(b)),
        (_, Value::String(s)) => Json::String(s.clone()),
        (_, Value::Bool(b)) => Json::Bool(*b),
        (_, Value::I32(n)) => Json::from(*n),
        (_, Value::I64(n)) => Json::from(*n),
        (_, Value::U32(n)) => Json::from(*n),
        (_, Value::U64(n)) => Json::from(*n),
        (_, other) => return Err(format!("unexpected value {other:?}")),
    })
}

// ---------------------------------------------------------------------------------------------
// Generated types
// ---------------------------------------------------------------------------------------------

/// Checks one prost-generated type against an entry: `hex` decodes and re-encodes byte for byte,
/// and the value built from `fields` (transcoded from the reflected message) equals the decoded one
/// and encodes to `hex` too.
fn check_generated<T>(wire: &[u8], from_fields: &DynamicMessage) -> Result<(), String>
where
    T: Message + Default + PartialEq + Debug,
{
    let decoded = T::decode(wire).map_err(|e| format!("generated decode failed: {e}"))?;
    let reencoded = decoded.encode_to_vec();
    if reencoded != wire {
        return Err(format!(
            "generated re-encoding differs: got {}, want {}",
            hex::encode(&reencoded),
            hex::encode(wire)
        ));
    }
    if decoded.encoded_len() != wire.len() {
        return Err(format!("generated encoded_len {} != {}", decoded.encoded_len(), wire.len()));
    }
    let built: T =
        from_fields.transcode_to().map_err(|e| format!("transcoding fields to the generated type failed: {e}"))?;
    if built != decoded {
        return Err(format!("generated value from fields {built:?} != decoded {decoded:?}"));
    }
    let built_bytes = built.encode_to_vec();
    if built_bytes != wire {
        return Err(format!(
            "generated encoding from fields differs: got {}, want {}",
            hex::encode(&built_bytes),
            hex::encode(wire)
        ));
    }
    Ok(())
}

/// Expands to a table of (full protobuf name, checker for the generated Rust type).
macro_rules! generated_table {
    ($($module:ident :: $ty:ident),* $(,)?) => {
        &[$((
            concat!(stringify!($module), ".", stringify!($ty)),
            check_generated::<$module::$ty> as Checker,
        )),*]
    };
}

type Checker = fn(&[u8], &DynamicMessage) -> Result<(), String>;

/// Every message of every package, by full protobuf name. Rust type names follow prost's
/// UpperCamelCase conversion (for example `CmdCRPayload` becomes `CmdCrPayload`), so the table
/// pairs the protobuf name with the generated type explicitly.
fn generated_checkers() -> Vec<(String, Checker)> {
    let mut table: Vec<(String, Checker)> = Vec::new();
    let plain: &[(&str, Checker)] = generated_table![
        protocomm::S0SessionCmd,
        protocomm::S0SessionResp,
        protocomm::Sec0Payload,
        protocomm::SessionCmd0,
        protocomm::SessionResp0,
        protocomm::SessionCmd1,
        protocomm::SessionResp1,
        protocomm::Sec1Payload,
        protocomm::S2SessionCmd0,
        protocomm::S2SessionResp0,
        protocomm::S2SessionCmd1,
        protocomm::S2SessionResp1,
        protocomm::Sec2Payload,
        protocomm::SessionData,
        wifi_prov::WifiConnectedState,
        wifi_prov::WifiAttemptFailed,
        wifi_prov::CmdGetStatus,
        wifi_prov::RespGetStatus,
        wifi_prov::CmdSetConfig,
        wifi_prov::RespSetConfig,
        wifi_prov::CmdApplyConfig,
        wifi_prov::RespApplyConfig,
        wifi_prov::WiFiConfigPayload,
        wifi_prov::CmdScanStart,
        wifi_prov::RespScanStart,
        wifi_prov::CmdScanStatus,
        wifi_prov::RespScanStatus,
        wifi_prov::CmdScanResult,
        wifi_prov::WiFiScanResult,
        wifi_prov::RespScanResult,
        wifi_prov::WiFiScanPayload,
        wifi_prov::CmdCtrlReset,
        wifi_prov::RespCtrlReset,
        wifi_prov::CmdCtrlReprov,
        wifi_prov::RespCtrlReprov,
        wifi_prov::WiFiCtrlPayload,
        network_prov::WifiConnectedState,
        network_prov::WifiAttemptFailed,
        network_prov::ThreadAttachState,
        network_prov::CmdGetWifiStatus,
        network_prov::RespGetWifiStatus,
        network_prov::CmdGetThreadStatus,
        network_prov::RespGetThreadStatus,
        network_prov::CmdSetWifiConfig,
        network_prov::CmdSetThreadConfig,
        network_prov::RespSetWifiConfig,
        network_prov::RespSetThreadConfig,
        network_prov::CmdApplyWifiConfig,
        network_prov::CmdApplyThreadConfig,
        network_prov::RespApplyWifiConfig,
        network_prov::RespApplyThreadConfig,
        network_prov::NetworkConfigPayload,
        network_prov::CmdScanWifiStart,
        network_prov::CmdScanThreadStart,
        network_prov::RespScanWifiStart,
        network_prov::RespScanThreadStart,
        network_prov::CmdScanWifiStatus,
        network_prov::CmdScanThreadStatus,
        network_prov::RespScanWifiStatus,
        network_prov::RespScanThreadStatus,
        network_prov::CmdScanWifiResult,
        network_prov::CmdScanThreadResult,
        network_prov::WiFiScanResult,
        network_prov::ThreadScanResult,
        network_prov::RespScanWifiResult,
        network_prov::RespScanThreadResult,
        network_prov::NetworkScanPayload,
        network_prov::CmdCtrlWifiReset,
        network_prov::RespCtrlWifiReset,
        network_prov::CmdCtrlWifiReprov,
        network_prov::RespCtrlWifiReprov,
        network_prov::CmdCtrlThreadReset,
        network_prov::RespCtrlThreadReset,
        network_prov::CmdCtrlThreadReprov,
        network_prov::RespCtrlThreadReprov,
        network_prov::NetworkCtrlPayload,
        rainmaker::CmdSetUserMapping,
        rainmaker::RespSetUserMapping,
        rainmaker::RMakerConfigPayload,
        cloud::CmdGetSetDetails,
        cloud::RespGetSetDetails,
        cloud::CloudConfigPayload,
        rmaker_claim::PayloadBuf,
        rmaker_claim::RespPayload,
        rmaker_claim::RMakerClaimPayload,
        rmaker_ch_resp::CmdDisableChalRespPayload,
        rmaker_ch_resp::RespDisableChalRespPayload,
        rmaker_ch_resp::RMakerChRespPayload,
        rmaker_prov_local_ctrl::PayloadBuf,
        rmaker_prov_local_ctrl::CmdGetData,
        rmaker_prov_local_ctrl::RespGetData,
        rmaker_prov_local_ctrl::RMakerLocalCtrlPayload,
        custom_config::CustomConfigRequest,
        custom_config::CustomConfigResponse,
    ];
    table.extend(plain.iter().map(|(name, f)| ((*name).to_owned(), *f)));
    // Names whose Rust spelling differs from the protobuf spelling.
    let renamed: &[(&str, Checker)] = &[
        ("rmaker_ch_resp.CmdCRPayload", check_generated::<rmaker_ch_resp::CmdCrPayload>),
        ("rmaker_ch_resp.RespCRPayload", check_generated::<rmaker_ch_resp::RespCrPayload>),
        ("rmaker_ch_resp.CmdGetNodeIDPayload", check_generated::<rmaker_ch_resp::CmdGetNodeIdPayload>),
        ("rmaker_ch_resp.RespGetNodeIDPayload", check_generated::<rmaker_ch_resp::RespGetNodeIdPayload>),
    ];
    table.extend(renamed.iter().map(|(name, f)| ((*name).to_owned(), *f)));
    table
}

// ---------------------------------------------------------------------------------------------
// The vector run
// ---------------------------------------------------------------------------------------------

fn check_entry(pool: &DescriptorPool, checkers: &[(String, Checker)], entry: &Json) -> Result<(), String> {
    let text = |key: &str| entry.get(key).and_then(Json::as_str).ok_or_else(|| format!("entry has no string {key}"));
    let proto_file = text("proto_file")?;
    let desc = find_message(pool, proto_file, text("message")?)?;
    let fields = entry.get("fields").ok_or("entry has no fields")?;
    let wire = hex::decode(text("hex")?).map_err(|e| format!("bad hex: {e}"))?;

    // fields -> message -> bytes
    let built = json_to_message(&desc, fields)?;
    let encoded = built.encode_to_vec();
    if encoded != wire {
        return Err(format!("reflective encoding differs: got {}, want {}", hex::encode(&encoded), hex::encode(&wire)));
    }

    // bytes -> message -> fields
    let decoded =
        DynamicMessage::decode(desc.clone(), wire.as_slice()).map_err(|e| format!("reflective decode failed: {e}"))?;
    let back = message_to_json(&decoded)?;
    if &back != fields {
        return Err(format!("decoded fields {back} != expected {fields}"));
    }

    // the prost-generated Rust type
    let (_, checker) = checkers
        .iter()
        .find(|(name, _)| name == desc.full_name())
        .ok_or_else(|| format!("no generated type registered for {}", desc.full_name()))?;
    checker(&wire, &built)
}

#[test]
fn all_message_vectors_round_trip() {
    let text = std::fs::read_to_string(VECTORS).expect("messages.json is readable");
    let entries: Vec<Json> = serde_json::from_str(&text).expect("messages.json is a JSON array");
    assert_eq!(entries.len(), EXPECTED_ENTRIES, "messages.json entry count");

    let pool = pool();
    let checkers = generated_checkers();
    let mut passed = 0usize;
    let mut failures = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        match check_entry(&pool, &checkers, entry) {
            Ok(()) => passed += 1,
            Err(reason) => {
                let description = entry.get("description").and_then(Json::as_str).unwrap_or("?");
                failures.push(format!("#{index} ({description}): {reason}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} entries failed:\n{}", failures.len(), entries.len(), failures.join("\n"));
    assert_eq!(passed, EXPECTED_ENTRIES);
}

#[test]
fn every_message_has_a_generated_type() {
    let pool = pool();
    let checkers = generated_checkers();
    let mut missing = Vec::new();
    for desc in pool.all_messages() {
        if !checkers.iter().any(|(name, _)| name == desc.full_name()) {
            missing.push(desc.full_name().to_owned());
        }
    }
    assert!(missing.is_empty(), "messages without a generated-type check: {missing:?}");
    assert_eq!(checkers.len(), pool.all_messages().len(), "duplicate entries in the table");
}

#[test]
fn every_proto_file_of_the_vectors_is_compiled() {
    let text = std::fs::read_to_string(VECTORS).expect("messages.json is readable");
    let entries: Vec<Json> = serde_json::from_str(&text).expect("messages.json is a JSON array");
    let pool = pool();
    for entry in &entries {
        let file = entry["proto_file"].as_str().expect("proto_file is a string");
        let fd = pool.get_file_by_name(file).unwrap_or_else(|| panic!("{file} not compiled"));
        assert_eq!(Some(fd.package_name()), package_of(file), "package of {file}");
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-written encodings (docs/protocol.md 11.5) with the generated types
// ---------------------------------------------------------------------------------------------

fn enc<T: Message>(m: &T) -> String {
    hex::encode(m.encode_to_vec())
}

#[test]
fn session_data_sec0_examples() {
    use protocomm::{
        S0SessionCmd, S0SessionResp, Sec0MsgType, Sec0Payload, SecSchemeVersion, SessionData, sec0_payload,
        session_data,
    };
    let req = SessionData {
        sec_ver: SecSchemeVersion::SecScheme0 as i32,
        proto: Some(session_data::Proto::Sec0(Sec0Payload {
            msg: Sec0MsgType::S0SessionCommand as i32,
            payload: Some(sec0_payload::Payload::Sc(S0SessionCmd {})),
        })),
    };
    assert_eq!(enc(&req), "5203a20100");
    let resp = SessionData {
        sec_ver: SecSchemeVersion::SecScheme0 as i32,
        proto: Some(session_data::Proto::Sec0(Sec0Payload {
            msg: Sec0MsgType::S0SessionResponse as i32,
            payload: Some(sec0_payload::Payload::Sr(S0SessionResp { status: 0 })),
        })),
    };
    assert_eq!(enc(&resp), "52050801aa0100");
    assert_eq!(SessionData::decode(&hex::decode("52050801aa0100").unwrap()[..]).unwrap(), resp);
}

#[test]
fn wifi_config_examples() {
    use wifi_prov::wi_fi_config_payload::Payload;
    use wifi_prov::{
        CmdApplyConfig, CmdGetStatus, CmdSetConfig, RespGetStatus, WiFiConfigMsgType as T, WiFiConfigPayload,
        WifiConnectFailedReason, WifiStationState, resp_get_status,
    };
    let get_status =
        WiFiConfigPayload { msg: T::TypeCmdGetStatus as i32, payload: Some(Payload::CmdGetStatus(CmdGetStatus {})) };
    assert_eq!(enc(&get_status), "5200");
    let apply_bare = WiFiConfigPayload { msg: T::TypeCmdApplyConfig as i32, payload: None };
    assert_eq!(enc(&apply_bare), "0804");
    let apply = WiFiConfigPayload {
        msg: T::TypeCmdApplyConfig as i32,
        payload: Some(Payload::CmdApplyConfig(CmdApplyConfig {})),
    };
    assert_eq!(enc(&apply), "08047200");
    let set = WiFiConfigPayload {
        msg: T::TypeCmdSetConfig as i32,
        payload: Some(Payload::CmdSetConfig(CmdSetConfig {
            ssid: b"myssid".to_vec(),
            passphrase: b"mypassword".to_vec(),
            ..Default::default()
        })),
    };
    assert_eq!(enc(&set), "080262140a066d7973736964120a6d7970617373776f7264");
    let connecting = WiFiConfigPayload {
        msg: T::TypeRespGetStatus as i32,
        payload: Some(Payload::RespGetStatus(RespGetStatus {
            sta_state: WifiStationState::Connecting as i32,
            ..Default::default()
        })),
    };
    assert_eq!(enc(&connecting), "08015a021001");
    let failed = WiFiConfigPayload {
        msg: T::TypeRespGetStatus as i32,
        payload: Some(Payload::RespGetStatus(RespGetStatus {
            status: 0,
            sta_state: WifiStationState::ConnectionFailed as i32,
            state: Some(resp_get_status::State::FailReason(WifiConnectFailedReason::AuthError as i32)),
        })),
    };
    assert_eq!(enc(&failed), "08015a0410035000");
    assert_eq!(WiFiConfigPayload::decode(&hex::decode("08015a0410035000").unwrap()[..]).unwrap(), failed);
}

#[test]
fn wifi_scan_and_ctrl_examples() {
    use wifi_prov::wi_fi_scan_payload::Payload;
    use wifi_prov::{
        CmdScanResult, CmdScanStart, CmdScanStatus, WiFiCtrlMsgType, WiFiCtrlPayload, WiFiScanMsgType as T,
        WiFiScanPayload,
    };
    let start = WiFiScanPayload {
        msg: T::TypeCmdScanStart as i32,
        status: 0,
        payload: Some(Payload::CmdScanStart(CmdScanStart {
            blocking: true,
            passive: false,
            group_channels: 5,
            period_ms: 120,
        })),
    };
    assert_eq!(enc(&start), "5206080118052078");
    let status = WiFiScanPayload {
        msg: T::TypeCmdScanStatus as i32,
        status: 0,
        payload: Some(Payload::CmdScanStatus(CmdScanStatus {})),
    };
    assert_eq!(enc(&status), "08026200");
    let result = WiFiScanPayload {
        msg: T::TypeCmdScanResult as i32,
        status: 0,
        payload: Some(Payload::CmdScanResult(CmdScanResult { start_index: 0, count: 4 })),
    };
    assert_eq!(enc(&result), "080472021004");
    let reset = WiFiCtrlPayload { msg: WiFiCtrlMsgType::TypeCmdCtrlReset as i32, ..Default::default() };
    assert_eq!(enc(&reset), "0801");
    let reprov = WiFiCtrlPayload { msg: WiFiCtrlMsgType::TypeCmdCtrlReprov as i32, ..Default::default() };
    assert_eq!(enc(&reprov), "0803");
}

#[test]
fn user_mapping_example_and_legacy_twin() {
    let modern = rainmaker::RMakerConfigPayload {
        msg: rainmaker::RMakerConfigMsgType::TypeCmdSetUserMapping as i32,
        payload: Some(rainmaker::r_maker_config_payload::Payload::CmdSetUserMapping(rainmaker::CmdSetUserMapping {
            user_id: "u1".into(),
            secret_key: "k1".into(),
        })),
    };
    assert_eq!(enc(&modern), "52080a02753112026b31");
    // The legacy `cloud` names decode the same bytes.
    let legacy = cloud::CloudConfigPayload::decode(&modern.encode_to_vec()[..]).unwrap();
    match legacy.payload {
        Some(cloud::cloud_config_payload::Payload::CmdGetSetDetails(d)) => {
            assert_eq!((d.user_id.as_str(), d.secret_key.as_str()), ("u1", "k1"));
        }
        other => panic!("unexpected legacy payload {other:?}"),
    }
}

#[test]
fn unknown_enum_values_survive_in_generated_types() {
    // Scan entry with auth mode 11 (no name in WifiAuthMode) and RSSI -40 (a 10-byte varint).
    let entry = wifi_prov::WiFiScanResult {
        ssid: b"ap".to_vec(),
        channel: 6,
        rssi: -40,
        bssid: vec![1, 2, 3, 4, 5, 6],
        auth: 11,
    };
    let bytes = entry.encode_to_vec();
    assert_eq!(hex::encode(&bytes), "0a0261701006 18d8ffffffffffffffff01 2206010203040506 280b".replace(' ', ""));
    let back = wifi_prov::WiFiScanResult::decode(&bytes[..]).unwrap();
    assert_eq!(back.auth, 11);
    assert!(wifi_prov::WifiAuthMode::try_from(back.auth).is_err());
    assert_eq!(back, entry);
}

#[test]
fn custom_config_encodes() {
    // No vectors exist for the legacy custom_config example; check it by the proto3 rules.
    let req = custom_config::CustomConfigRequest { info: "a".into(), version: 2 };
    assert_eq!(enc(&req), "0a01611002");
    let resp =
        custom_config::CustomConfigResponse { status: custom_config::CustomConfigStatus::ConfigFail as i32, dummy: 0 };
    assert_eq!(enc(&resp), "0801");
}
