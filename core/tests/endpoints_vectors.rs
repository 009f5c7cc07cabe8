//! Endpoint codecs against the golden vectors in `tests/vectors`: every `proto-ver`, `prov-config`
//! and `prov-scan` exchange of the four recorded sessions (client builders, client parsers,
//! device decoders and device encoders, byte for byte), plus every Wi-Fi / network envelope of
//! `messages.json`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use rainmaker_prov::endpoints::thread::{self, NetworkConfigCommand, NetworkCtrlCommand, NetworkScanCommand};
use rainmaker_prov::endpoints::wifi::{
    self, ConfigCommand, ConfigResponse, CtrlCommand, ScanCommand, ScanParams, ScanResponse, WifiAuthMode,
    WifiConnectedInfo, WifiFailReason, WifiNetwork, WifiStatus,
};
use rainmaker_prov::endpoints::{self, EndpointError, Status, proto_ver};
use rainmaker_prov_proto::{network_prov, wifi_prov};
use serde_json::Value;

const TRANSCRIPTS: [&str; 4] = ["sec0", "sec1", "sec2", "sec2_patch0"];

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("tests").join("vectors")
}

fn load(name: &str) -> Value {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Typed values from the `decoded` / `fields` JSON (independent of the code under test)
// ---------------------------------------------------------------------------------------------

fn bytes_field(obj: &Value, key: &str) -> Vec<u8> {
    obj.get(key).map(unhex).unwrap_or_default()
}

fn u32_field(obj: &Value, key: &str) -> u32 {
    obj.get(key).map(|v| u32::try_from(v.as_u64().unwrap()).unwrap()).unwrap_or(0)
}

fn i32_field(obj: &Value, key: &str) -> i32 {
    obj.get(key).map(|v| i32::try_from(v.as_i64().unwrap()).unwrap()).unwrap_or(0)
}

fn bool_field(obj: &Value, key: &str) -> bool {
    obj.get(key).map(|v| v.as_bool().unwrap()).unwrap_or(false)
}

/// An enum field: a name resolved by `by_name`, or a bare integer; absent = 0.
fn enum_field(obj: &Value, key: &str, by_name: impl Fn(&str) -> Option<i32>) -> i32 {
    match obj.get(key) {
        None => 0,
        Some(Value::String(name)) => by_name(name).unwrap_or_else(|| panic!("unknown enum name {name}")),
        Some(v) => i32::try_from(v.as_i64().unwrap()).unwrap(),
    }
}

fn status_by_name(name: &str) -> Option<i32> {
    Status::from_str_name(name).map(|s| s as i32)
}

fn auth_by_name(name: &str) -> Option<i32> {
    wifi_prov::WifiAuthMode::from_str_name(name).map(|a| a as i32)
}

fn status_field(obj: &Value) -> i32 {
    enum_field(obj, "status", status_by_name)
}

fn status_enum(code: i32) -> Status {
    Status::try_from(code).unwrap()
}

/// `Ok(())` for status Success, else the DeviceStatus error the parsers must return.
fn expected_status(code: i32) -> Result<(), EndpointError> {
    if code == 0 { Ok(()) } else { Err(EndpointError::device_status(code)) }
}

fn wifi_network(e: &Value) -> WifiNetwork {
    WifiNetwork {
        ssid: bytes_field(e, "ssid"),
        channel: u32_field(e, "channel"),
        rssi: i32_field(e, "rssi"),
        bssid: bytes_field(e, "bssid"),
        auth: WifiAuthMode::from_raw(enum_field(e, "auth", auth_by_name)),
    }
}

fn connected_info(c: &Value) -> WifiConnectedInfo {
    WifiConnectedInfo {
        ip4_addr: c.get("ip4_addr").map(|v| v.as_str().unwrap().to_owned()).unwrap_or_default(),
        auth_mode: WifiAuthMode::from_raw(enum_field(c, "auth_mode", auth_by_name)),
        ssid: bytes_field(c, "ssid"),
        bssid: bytes_field(c, "bssid"),
        channel: i32_field(c, "channel"),
    }
}

/// Expected GetStatus outcome from a `resp_get_status` / `resp_get_wifi_status` object.
fn expected_wifi_status(r: &Value) -> Result<WifiStatus, EndpointError> {
    expected_status(status_field(r))?;
    let state = r.get("sta_state").or_else(|| r.get("wifi_sta_state")).and_then(Value::as_str).unwrap_or("Connected");
    Ok(match state {
        "Connected" => WifiStatus::Connected {
            info: connected_info(r.get("connected").or_else(|| r.get("wifi_connected")).unwrap()),
        },
        "Connecting" => WifiStatus::Connecting {
            attempts_remaining: r.get("attempt_failed").map(|a| u32_field(a, "attempts_remaining")),
        },
        "ConnectionFailed" => {
            let reason = r.get("fail_reason").or_else(|| r.get("wifi_fail_reason")).and_then(Value::as_str).unwrap();
            WifiStatus::Failed {
                reason: match reason {
                    "AuthError" => WifiFailReason::AuthError,
                    "NetworkNotFound" | "WifiNetworkNotFound" => WifiFailReason::NetworkNotFound,
                    other => panic!("{other}"),
                },
            }
        }
        "Disconnected" => WifiStatus::Disconnected,
        other => panic!("{other}"),
    })
}

/// Checks a decoded SetConfig against the vector's `cmd_set_config` fields.
fn credentials_matches(cmd: &ConfigCommand, fields: &Value) {
    let ConfigCommand::SetConfig { ssid, passphrase, bssid, channel } = cmd else {
        panic!("not SetConfig: {cmd:?}");
    };
    assert_eq!(*ssid, bytes_field(fields, "ssid"));
    assert_eq!(passphrase.as_slice(), bytes_field(fields, "passphrase").as_slice());
    assert_eq!(*bssid, bytes_field(fields, "bssid"));
    assert_eq!(*channel, i32_field(fields, "channel"));
    assert!(wifi::validate_set_config(ssid, passphrase, bssid).is_ok());
}

fn scan_params(c: &Value) -> ScanParams {
    ScanParams {
        blocking: bool_field(c, "blocking"),
        passive: bool_field(c, "passive"),
        group_channels: u32_field(c, "group_channels"),
        period_ms: u32_field(c, "period_ms"),
    }
}

// ---------------------------------------------------------------------------------------------
// Transcripts
// ---------------------------------------------------------------------------------------------

fn plaintext(side: &Value) -> Vec<u8> {
    unhex(side.get("plaintext_hex").or_else(|| side.get("body_hex")).unwrap())
}

fn fields_of(side: &Value) -> &Value {
    &side["decoded"]["fields"]
}

fn msg_name(fields: &Value, default: &str) -> String {
    fields.get("msg").and_then(Value::as_str).unwrap_or(default).to_owned()
}

/// What the client concluded from one status poll, in the words of `client_results`.
fn status_word(s: &WifiStatus) -> &'static str {
    match s {
        WifiStatus::Connecting { .. } => "connecting",
        WifiStatus::Connected { .. } => "connected",
        WifiStatus::Failed { .. } => "failed",
        WifiStatus::Disconnected => "disconnected",
    }
}

#[derive(Default)]
struct Tally {
    proto_ver: usize,
    config: usize,
    scan: usize,
    statuses: Vec<&'static str>,
    scan_count: Option<u32>,
    scan_entries: usize,
}

fn check_proto_ver_step(step: &Value, params: &Value) {
    let body = plaintext(&step["response"]);
    let expected_text = params["proto_ver_json"].as_str().unwrap();
    assert_eq!(body, expected_text.as_bytes());
    assert_eq!(step["response"]["decoded"]["text"].as_str().unwrap(), expected_text);
    let version = proto_ver::parse(&body);
    let info = version.info().expect("JSON proto-ver");
    // (d) the device-side rendering reproduces the recorded text byte for byte.
    assert_eq!(proto_ver::render(info), expected_text);
    let detected = proto_ver::detect_security(&version);
    assert_eq!(u64::from(detected.sec_ver), params["sec_ver"].as_u64().unwrap());
    assert_eq!(u64::from(detected.sec_patch_ver), params["sec_patch_ver"].as_u64().unwrap());
    assert_eq!(detected.source, proto_ver::DetectionSource::SecVer);
    assert!(!detected.no_pop);
    assert!(version.has_wifi_scan());
    assert!(version.supports_wifi() && !version.supports_thread());
}

fn check_config_step(step: &Value, params: &Value, tally: &mut Tally) {
    let req = plaintext(&step["request"]);
    let resp = plaintext(&step["response"]);
    let req_fields = fields_of(&step["request"]);
    let resp_fields = fields_of(&step["response"]);
    match msg_name(req_fields, "TypeCmdGetStatus").as_str() {
        "TypeCmdGetStatus" => {
            // (a) client builder.
            assert_eq!(wifi::get_status_request(), req);
            // (c) device decoder.
            assert_eq!(wifi::decode_config_request(&req), Ok(ConfigCommand::GetStatus));
            // (b) client parser.
            assert_eq!(msg_name(resp_fields, ""), "TypeRespGetStatus");
            let parsed = wifi::parse_get_status_response(&resp).unwrap();
            assert_eq!(Ok(parsed.clone()), expected_wifi_status(&resp_fields["resp_get_status"]));
            if let WifiStatus::Connected { info } = &parsed {
                assert_eq!(info.ssid, params["wifi_ssid"].as_str().unwrap().as_bytes());
                assert!(info.ip4().is_some());
            }
            tally.statuses.push(status_word(&parsed));
            // (c) device encoder from the typed value.
            assert_eq!(wifi::encode_config_response(&ConfigResponse::Status(parsed)), resp);
        }
        "TypeCmdSetConfig" => {
            let cmd = &req_fields["cmd_set_config"];
            let ssid = bytes_field(cmd, "ssid");
            let pass = bytes_field(cmd, "passphrase");
            assert_eq!(ssid, params["wifi_ssid"].as_str().unwrap().as_bytes());
            assert_eq!(pass, params["wifi_passphrase"].as_str().unwrap().as_bytes());
            assert_eq!(wifi::set_config_request(&ssid, &pass).unwrap().as_slice(), req.as_slice());
            credentials_matches(&wifi::decode_config_request(&req).unwrap(), cmd);
            let result = wifi::parse_set_config_response(&resp);
            assert_eq!(result, expected_status(status_field(&resp_fields["resp_set_config"])));
            assert_eq!(wifi::encode_config_response(&ConfigResponse::SetConfig(Status::Success)), resp);
        }
        "TypeCmdApplyConfig" => {
            assert_eq!(wifi::apply_config_request(), req);
            assert_eq!(wifi::decode_config_request(&req), Ok(ConfigCommand::Apply));
            let result = wifi::parse_apply_config_response(&resp);
            assert_eq!(result, expected_status(status_field(&resp_fields["resp_apply_config"])));
            assert_eq!(wifi::encode_config_response(&ConfigResponse::Apply(Status::Success)), resp);
        }
        other => panic!("unexpected prov-config request {other}"),
    }
    tally.config += 1;
}

fn check_scan_step(step: &Value, tally: &mut Tally) {
    let req = plaintext(&step["request"]);
    let resp = plaintext(&step["response"]);
    let req_fields = fields_of(&step["request"]);
    let resp_fields = fields_of(&step["response"]);
    let envelope_status = status_enum(status_field(resp_fields));
    match msg_name(req_fields, "TypeCmdScanStart").as_str() {
        "TypeCmdScanStart" => {
            let params = scan_params(&req_fields["cmd_scan_start"]);
            // The recordings were made over SoftAP, with esp_prov's SoftAP defaults.
            assert_eq!(params, ScanParams::softap());
            assert_eq!(wifi::scan_start_request(&params), req);
            assert_eq!(wifi::decode_scan_request(&req), Ok(ScanCommand::Start(params)));
            assert_eq!(wifi::parse_scan_start_response(&resp), expected_status(envelope_status as i32));
            assert_eq!(wifi::encode_scan_response(&ScanResponse::Start, envelope_status), resp);
        }
        "TypeCmdScanStatus" => {
            assert_eq!(wifi::scan_status_request(), req);
            assert_eq!(wifi::decode_scan_request(&req), Ok(ScanCommand::Status));
            let r = &resp_fields["resp_scan_status"];
            let status = wifi::parse_scan_status_response(&resp).unwrap();
            assert_eq!(status.finished, bool_field(r, "scan_finished"));
            assert_eq!(status.count, u32_field(r, "result_count"));
            tally.scan_count = Some(status.count);
            assert_eq!(wifi::encode_scan_response(&ScanResponse::Status(status), envelope_status), resp);
        }
        "TypeCmdScanResult" => {
            let c = &req_fields["cmd_scan_result"];
            let (start, count) = (u32_field(c, "start_index"), u32_field(c, "count"));
            assert_eq!(wifi::scan_result_request(start, count), req);
            assert_eq!(wifi::decode_scan_request(&req), Ok(ScanCommand::Result { start, count }));
            let expected: Vec<WifiNetwork> =
                resp_fields["resp_scan_result"]["entries"].as_array().unwrap().iter().map(wifi_network).collect();
            let networks = wifi::parse_scan_result_response(&resp).unwrap();
            assert_eq!(networks, expected);
            assert_eq!(networks.len() as u32, count);
            // Every recorded RSSI is negative (10-byte varints on the wire).
            assert!(networks.iter().all(|n| n.rssi < 0));
            tally.scan_entries += networks.len();
            assert_eq!(wifi::encode_scan_response(&ScanResponse::Result(networks), envelope_status), resp);
        }
        other => panic!("unexpected prov-scan request {other}"),
    }
    tally.scan += 1;
}

fn check_transcript(name: &str) {
    let t = load(&format!("{name}.json"));
    assert_eq!(t["schema"], "refpeer-transcript/1");
    let params = &t["parameters"];
    let mut tally = Tally::default();
    for step in t["steps"].as_array().unwrap() {
        match step["endpoint"].as_str().unwrap() {
            endpoints::PROTO_VER => {
                check_proto_ver_step(step, params);
                tally.proto_ver += 1;
            }
            endpoints::PROV_CONFIG => check_config_step(step, params, &mut tally),
            endpoints::PROV_SCAN => check_scan_step(step, &mut tally),
            _ => {}
        }
    }
    // The README's flow: 1 proto-ver, 5 prov-config (status, set, apply, status x2), 6 prov-scan.
    assert_eq!((tally.proto_ver, tally.config, tally.scan), (1, 5, 6), "{name}");
    let results = &t["client_results"];
    let after: Vec<&str> =
        results["status_after_apply"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let mut expected_statuses = vec![results["status_before"].as_str().unwrap()];
    expected_statuses.extend(after);
    assert_eq!(tally.statuses, expected_statuses, "{name}");
    assert_eq!(tally.scan_count.map(u64::from), results["scan_count"].as_u64(), "{name}");
    assert_eq!(tally.scan_entries as u64, results["scan_entries"].as_u64().unwrap(), "{name}");
    assert_eq!(tally.scan_entries as u64, params["scan_max_entries"].as_u64().unwrap(), "{name}");
}

#[test]
fn transcript_sec0() {
    check_transcript(TRANSCRIPTS[0]);
}

#[test]
fn transcript_sec1() {
    check_transcript(TRANSCRIPTS[1]);
}

#[test]
fn transcript_sec2() {
    check_transcript(TRANSCRIPTS[2]);
}

#[test]
fn transcript_sec2_patch0() {
    check_transcript(TRANSCRIPTS[3]);
}

#[test]
fn proto_ver_spec_examples_and_transcripts_render_identically() {
    let mut seen = 0;
    for name in TRANSCRIPTS {
        let text = load(&format!("{name}.json"))["parameters"]["proto_ver_json"].as_str().unwrap().to_owned();
        let ProtoVersionJson(info) = ProtoVersionJson::from(&text);
        assert_eq!(proto_ver::render(&info), text);
        seen += 1;
    }
    assert_eq!(seen, 4);
    // Built from typed values rather than parsed: the example of docs/protocol.md 11.7 with an app label.
    let info = proto_ver::VersionInfo {
        prov: Some(proto_ver::ProvInfo {
            ver: "v1.1".into(),
            sec_ver: Some(2),
            sec_patch_ver: Some(1),
            cap: vec!["wifi_scan".into()],
        }),
        apps: vec![proto_ver::AppInfo { label: "rmaker_extra".into(), ver: "1.0".into(), cap: vec!["ch_resp".into()] }],
    };
    assert_eq!(
        proto_ver::render(&info),
        "{\n\t\"rmaker_extra\":\t{\n\t\t\"ver\":\t\"1.0\",\n\t\t\"cap\":\t[\"ch_resp\"]\n\t},\n\t\"prov\":\t{\n\t\t\"ver\":\t\"v1.1\",\n\t\t\"sec_ver\":\t2,\n\t\t\"sec_patch_ver\":\t1,\n\t\t\"cap\":\t[\"wifi_scan\"]\n\t}\n}"
    );
    assert!(info.has_ch_resp() && !info.needs_claim());
}

struct ProtoVersionJson(proto_ver::VersionInfo);

impl From<&String> for ProtoVersionJson {
    fn from(text: &String) -> Self {
        match proto_ver::parse(text.as_bytes()) {
            proto_ver::ProtoVersion::Json { info } => ProtoVersionJson(info),
            other => panic!("{other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// messages.json: every Wi-Fi and network envelope
// ---------------------------------------------------------------------------------------------

fn msg_value(fields: &Value, by_name: impl Fn(&str) -> Option<i32>) -> i32 {
    enum_field(fields, "msg", by_name)
}

/// Checks a Wi-Fi `prov-config` envelope (also valid for network_provisioning types 0..=5).
fn check_wifi_config(msg: i32, fields: &Value, bytes: &[u8]) {
    let member = |a: &str, b: &str| fields.get(a).or_else(|| fields.get(b)).cloned().unwrap_or(Value::Null);
    match msg {
        0 => assert_eq!(wifi::decode_config_request(bytes), Ok(ConfigCommand::GetStatus)),
        2 => credentials_matches(
            &wifi::decode_config_request(bytes).unwrap(),
            &member("cmd_set_config", "cmd_set_wifi_config"),
        ),
        4 => assert_eq!(wifi::decode_config_request(bytes), Ok(ConfigCommand::Apply)),
        1 => {
            let r = member("resp_get_status", "resp_get_wifi_status");
            let parsed = wifi::parse_get_status_response(bytes);
            assert_eq!(parsed, expected_wifi_status(&r));
            let resp = match parsed {
                Ok(status) => ConfigResponse::Status(status),
                Err(e) => ConfigResponse::StatusError(status_enum(e.status_code().unwrap())),
            };
            assert_eq!(wifi::encode_config_response(&resp), bytes);
        }
        3 | 5 => {
            let r = if msg == 3 {
                member("resp_set_config", "resp_set_wifi_config")
            } else {
                member("resp_apply_config", "resp_apply_wifi_config")
            };
            let code = status_field(&r);
            let parsed = if msg == 3 {
                wifi::parse_set_config_response(bytes)
            } else {
                wifi::parse_apply_config_response(bytes)
            };
            assert_eq!(parsed, expected_status(code));
            let resp = if msg == 3 {
                ConfigResponse::SetConfig(status_enum(code))
            } else {
                ConfigResponse::Apply(status_enum(code))
            };
            assert_eq!(wifi::encode_config_response(&resp), bytes);
        }
        _ => {
            // Unknown to wifi_provisioning (network_provisioning reads 6 as GetThreadStatus).
            assert!(matches!(wifi::decode_config_request(bytes), Err(EndpointError::UnexpectedMessage { .. })));
        }
    }
}

fn check_wifi_scan(msg: i32, fields: &Value, bytes: &[u8]) {
    let member = |a: &str, b: &str| fields.get(a).or_else(|| fields.get(b)).cloned().unwrap_or(Value::Null);
    let status = status_field(fields);
    match msg {
        0 => assert_eq!(
            wifi::decode_scan_request(bytes),
            Ok(ScanCommand::Start(scan_params(&member("cmd_scan_start", "cmd_scan_wifi_start"))))
        ),
        2 => assert_eq!(wifi::decode_scan_request(bytes), Ok(ScanCommand::Status)),
        4 => {
            let c = member("cmd_scan_result", "cmd_scan_wifi_result");
            assert_eq!(
                wifi::decode_scan_request(bytes),
                Ok(ScanCommand::Result { start: u32_field(&c, "start_index"), count: u32_field(&c, "count") })
            );
        }
        1 => {
            assert_eq!(wifi::parse_scan_start_response(bytes), expected_status(status));
            assert_eq!(wifi::encode_scan_response(&ScanResponse::Start, status_enum(status)), bytes);
        }
        3 => {
            let r = member("resp_scan_status", "resp_scan_wifi_status");
            let parsed = wifi::parse_scan_status_response(bytes).unwrap();
            assert_eq!(
                (parsed.finished, parsed.count),
                (bool_field(&r, "scan_finished"), u32_field(&r, "result_count"))
            );
            assert_eq!(wifi::encode_scan_response(&ScanResponse::Status(parsed), status_enum(status)), bytes);
        }
        5 => {
            let r = member("resp_scan_result", "resp_scan_wifi_result");
            let expected: Vec<WifiNetwork> = r
                .get("entries")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(wifi_network).collect())
                .unwrap_or_default();
            let parsed = wifi::parse_scan_result_response(bytes);
            if status == 0 {
                assert_eq!(parsed.as_ref(), Ok(&expected));
            } else {
                assert_eq!(parsed, Err(EndpointError::device_status(status)));
            }
            assert_eq!(wifi::encode_scan_response(&ScanResponse::Result(expected), status_enum(status)), bytes);
        }
        _ => panic!("no Wi-Fi scan msg {msg} in the vectors"),
    }
}

fn check_wifi_ctrl(msg: i32, fields: &Value, bytes: &[u8]) {
    let status = status_field(fields);
    match msg {
        1 => assert_eq!(wifi::decode_ctrl_request(bytes), Ok(CtrlCommand::Reset)),
        3 => assert_eq!(wifi::decode_ctrl_request(bytes), Ok(CtrlCommand::Reprov)),
        2 | 4 => {
            let (cmd, parsed) = if msg == 2 {
                (CtrlCommand::Reset, wifi::parse_ctrl_reset_response(bytes))
            } else {
                (CtrlCommand::Reprov, wifi::parse_ctrl_reprov_response(bytes))
            };
            assert_eq!(parsed, expected_status(status));
            assert_eq!(wifi::encode_ctrl_response(cmd, status_enum(status)), bytes);
        }
        _ => assert!(wifi::decode_ctrl_request(bytes).is_err()),
    }
}

fn check_thread_config(msg: i32, fields: &Value, bytes: &[u8]) {
    match msg {
        6 => assert_eq!(thread::decode_config_request(bytes), Ok(thread::ConfigCommand::GetStatus)),
        8 => match thread::decode_config_request(bytes).unwrap() {
            thread::ConfigCommand::SetConfig { dataset } => {
                let expected = bytes_field(&fields["cmd_set_thread_config"], "dataset");
                assert_eq!(dataset.as_slice(), expected.as_slice());
                assert_eq!(thread::set_config_request(&expected).unwrap().as_slice(), bytes);
            }
            other => panic!("{other:?}"),
        },
        10 => assert_eq!(thread::decode_config_request(bytes), Ok(thread::ConfigCommand::Apply)),
        7 => {
            let r = &fields["resp_get_thread_status"];
            let parsed = thread::parse_get_status_response(bytes);
            let code = status_field(r);
            let resp = if code != 0 {
                assert_eq!(parsed, Err(EndpointError::device_status(code)));
                thread::ConfigResponse::StatusError(status_enum(code))
            } else {
                let status = parsed.unwrap();
                match r.get("thread_state").and_then(Value::as_str).unwrap_or("Attached") {
                    "Attached" => {
                        let a = &r["thread_attached"];
                        assert_eq!(
                            status,
                            thread::ThreadStatus::Attached {
                                pan_id: u32_field(a, "pan_id"),
                                ext_pan_id: bytes_field(a, "ext_pan_id"),
                                channel: u32_field(a, "channel"),
                                name: a["name"].as_str().unwrap().to_owned(),
                            }
                        );
                    }
                    "Attaching" => assert_eq!(status, thread::ThreadStatus::Attaching),
                    "AttachingFailed" => {
                        let reason = match r["thread_fail_reason"].as_str().unwrap() {
                            "DatasetInvalid" => thread::ThreadFailReason::DatasetInvalid,
                            "ThreadNetworkNotFound" => thread::ThreadFailReason::NetworkNotFound,
                            other => panic!("{other}"),
                        };
                        assert_eq!(status, thread::ThreadStatus::Failed { reason });
                    }
                    other => panic!("{other}"),
                }
                thread::ConfigResponse::Status(status)
            };
            assert_eq!(thread::encode_config_response(&resp), bytes);
        }
        9 | 11 => {
            let key = if msg == 9 { "resp_set_thread_config" } else { "resp_apply_thread_config" };
            let code = status_field(&fields[key]);
            let (parsed, resp) = if msg == 9 {
                (thread::parse_set_config_response(bytes), thread::ConfigResponse::SetConfig(status_enum(code)))
            } else {
                (thread::parse_apply_config_response(bytes), thread::ConfigResponse::Apply(status_enum(code)))
            };
            assert_eq!(parsed, expected_status(code));
            assert_eq!(thread::encode_config_response(&resp), bytes);
        }
        _ => assert!(thread::decode_config_request(bytes).is_err()),
    }
}

fn check_thread_scan(msg: i32, fields: &Value, bytes: &[u8]) {
    let status = status_field(fields);
    match msg {
        6 => {
            let c = &fields["cmd_scan_thread_start"];
            let params =
                thread::ScanParams { blocking: bool_field(c, "blocking"), channel_mask: u32_field(c, "channel_mask") };
            assert_eq!(thread::decode_scan_request(bytes), Ok(thread::ScanCommand::Start(params)));
            assert_eq!(thread::scan_start_request(params.blocking, params.channel_mask), bytes);
        }
        8 => {
            assert_eq!(thread::decode_scan_request(bytes), Ok(thread::ScanCommand::Status));
            assert_eq!(thread::scan_status_request(), bytes);
        }
        10 => {
            let c = &fields["cmd_scan_thread_result"];
            let (start, count) = (u32_field(c, "start_index"), u32_field(c, "count"));
            assert_eq!(thread::decode_scan_request(bytes), Ok(thread::ScanCommand::Result { start, count }));
            assert_eq!(thread::scan_result_request(start, count), bytes);
        }
        7 => {
            assert_eq!(thread::parse_scan_start_response(bytes), expected_status(status));
            assert_eq!(thread::encode_scan_response(&thread::ScanResponse::Start, status_enum(status)), bytes);
        }
        9 => {
            let r = &fields["resp_scan_thread_status"];
            let parsed = thread::parse_scan_status_response(bytes).unwrap();
            assert_eq!((parsed.finished, parsed.count), (bool_field(r, "scan_finished"), u32_field(r, "result_count")));
            assert_eq!(thread::encode_scan_response(&thread::ScanResponse::Status(parsed), status_enum(status)), bytes);
        }
        11 => {
            let expected: Vec<thread::ThreadNetwork> = fields["resp_scan_thread_result"]["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| thread::ThreadNetwork {
                    pan_id: u32_field(e, "pan_id"),
                    channel: u32_field(e, "channel"),
                    rssi: i32_field(e, "rssi"),
                    lqi: u32_field(e, "lqi"),
                    ext_addr: bytes_field(e, "ext_addr"),
                    network_name: e.get("network_name").and_then(Value::as_str).unwrap_or("").to_owned(),
                    ext_pan_id: bytes_field(e, "ext_pan_id"),
                })
                .collect();
            let parsed = thread::parse_scan_result_response(bytes).unwrap();
            assert_eq!(parsed, expected);
            assert_eq!(thread::encode_scan_response(&thread::ScanResponse::Result(parsed), status_enum(status)), bytes);
        }
        _ => panic!("no Thread scan msg {msg} in the vectors"),
    }
}

fn check_thread_ctrl(msg: i32, fields: &Value, bytes: &[u8]) {
    let status = status_field(fields);
    match msg {
        5 => {
            assert_eq!(thread::decode_ctrl_request(bytes), Ok(thread::CtrlCommand::Reset));
            assert_eq!(thread::ctrl_reset_request(), bytes);
        }
        7 => {
            assert_eq!(thread::decode_ctrl_request(bytes), Ok(thread::CtrlCommand::Reprov));
            assert_eq!(thread::ctrl_reprov_request(), bytes);
        }
        6 | 8 => {
            let (cmd, parsed) = if msg == 6 {
                (thread::CtrlCommand::Reset, thread::parse_ctrl_reset_response(bytes))
            } else {
                (thread::CtrlCommand::Reprov, thread::parse_ctrl_reprov_response(bytes))
            };
            assert_eq!(parsed, expected_status(status));
            assert_eq!(thread::encode_ctrl_response(cmd, status_enum(status)), bytes);
        }
        _ => panic!("no Thread ctrl msg {msg} in the vectors"),
    }
}

#[test]
fn messages_json_envelopes() {
    let entries = load("messages.json");
    let mut checked = std::collections::BTreeMap::<&str, usize>::new();
    for e in entries.as_array().unwrap() {
        let message = e["message"].as_str().unwrap();
        let fields = &e["fields"];
        let bytes = unhex(&e["hex"]);
        let ctx = e["description"].as_str().unwrap();
        let run = |f: &dyn Fn()| {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
                panic!("vector {message} {} failed: {ctx}", e["hex"]);
            }
        };
        match message {
            "WiFiConfigPayload" => {
                let msg = msg_value(fields, |n| wifi_prov::WiFiConfigMsgType::from_str_name(n).map(|m| m as i32));
                run(&|| check_wifi_config(msg, fields, &bytes));
            }
            "WiFiScanPayload" => {
                let msg = msg_value(fields, |n| wifi_prov::WiFiScanMsgType::from_str_name(n).map(|m| m as i32));
                run(&|| check_wifi_scan(msg, fields, &bytes));
            }
            "WiFiCtrlPayload" => {
                let msg = msg_value(fields, |n| wifi_prov::WiFiCtrlMsgType::from_str_name(n).map(|m| m as i32));
                run(&|| check_wifi_ctrl(msg, fields, &bytes));
            }
            "NetworkConfigPayload" => {
                let msg = msg_value(fields, |n| network_prov::NetworkConfigMsgType::from_str_name(n).map(|m| m as i32));
                run(&|| {
                    if (0..=5).contains(&msg) {
                        check_wifi_config(msg, fields, &bytes);
                        if msg % 2 == 0 {
                            assert!(matches!(
                                thread::decode_network_config_request(&bytes),
                                Ok(NetworkConfigCommand::Wifi(_))
                            ));
                        }
                    } else {
                        check_thread_config(msg, fields, &bytes);
                        if msg % 2 == 0 && msg <= 10 {
                            assert!(matches!(
                                thread::decode_network_config_request(&bytes),
                                Ok(NetworkConfigCommand::Thread(_))
                            ));
                        }
                    }
                });
            }
            "NetworkScanPayload" => {
                let msg = msg_value(fields, |n| network_prov::NetworkScanMsgType::from_str_name(n).map(|m| m as i32));
                run(&|| {
                    if (0..=5).contains(&msg) {
                        check_wifi_scan(msg, fields, &bytes);
                        if msg % 2 == 0 {
                            assert!(matches!(
                                thread::decode_network_scan_request(&bytes),
                                Ok(NetworkScanCommand::Wifi(_))
                            ));
                        }
                    } else {
                        check_thread_scan(msg, fields, &bytes);
                        if msg % 2 == 0 {
                            assert!(matches!(
                                thread::decode_network_scan_request(&bytes),
                                Ok(NetworkScanCommand::Thread(_))
                            ));
                        }
                    }
                });
            }
            "NetworkCtrlPayload" => {
                let msg = msg_value(fields, |n| network_prov::NetworkCtrlMsgType::from_str_name(n).map(|m| m as i32));
                run(&|| {
                    if (0..=4).contains(&msg) {
                        check_wifi_ctrl(msg, fields, &bytes);
                        if msg % 2 == 1 {
                            assert!(matches!(
                                thread::decode_network_ctrl_request(&bytes),
                                Ok(NetworkCtrlCommand::Wifi(_))
                            ));
                        }
                    } else {
                        check_thread_ctrl(msg, fields, &bytes);
                        if msg % 2 == 1 {
                            assert!(matches!(
                                thread::decode_network_ctrl_request(&bytes),
                                Ok(NetworkCtrlCommand::Thread(_))
                            ));
                        }
                    }
                });
            }
            _ => continue,
        }
        *checked.entry(message).or_default() += 1;
    }
    let counts: Vec<(&str, usize)> = checked.into_iter().collect();
    assert_eq!(
        counts,
        [
            ("NetworkConfigPayload", 24),
            ("NetworkCtrlPayload", 10),
            ("NetworkScanPayload", 14),
            ("WiFiConfigPayload", 21),
            ("WiFiCtrlPayload", 8),
            ("WiFiScanPayload", 16),
        ]
    );
}

#[test]
fn client_requests_of_protocol_11_5() {
    let h = |s: &str| hex::decode(s).unwrap();
    assert_eq!(wifi::get_status_request(), h("5200"));
    assert_eq!(wifi::apply_config_request(), h("0804"));
    assert_eq!(
        wifi::set_config_request(b"myssid", b"mypassword").unwrap().as_slice(),
        h("080262140a066d7973736964120a6d7970617373776f7264")
    );
    assert_eq!(wifi::scan_start_request(&ScanParams::softap()), h("5206080118052078"));
    assert_eq!(wifi::scan_result_request(0, 4), h("080472021004"));
    assert_eq!(wifi::ctrl_reset_request(), h("0801"));
    assert_eq!(wifi::ctrl_reprov_request(), h("0803"));
    assert_eq!(proto_ver::REQUEST_BODY, b"ESP");
    // Device answers of 11.5.
    assert_eq!(
        wifi::encode_config_response(&ConfigResponse::Status(WifiStatus::Connecting { attempts_remaining: None })),
        h("08015a021001")
    );
    assert_eq!(
        wifi::encode_config_response(&ConfigResponse::Status(WifiStatus::Failed { reason: WifiFailReason::AuthError })),
        h("08015a0410035000")
    );
}
