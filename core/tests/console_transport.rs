//! Tests of the serial-console transport and the simulator's console server (docs/protocol.md §5.3):
//! over an in-memory pipe, against scripted device output, and over real pseudo-terminals.
//! Run with `--features console` (the workspace test run enables it).

#![cfg(all(feature = "console", feature = "device"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failed unwrap is a failed test.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rainmaker_prov::security::Secret;
use rainmaker_prov::session::{DeviceSession, SessionOptions};
use rainmaker_prov::sim::console_server::{ConsoleDeviceServer, ConsoleServerHandle, PseudoTerminal};
use rainmaker_prov::sim::device::{SimConfig, SimDevice, SimSecurity};
use rainmaker_prov::sim::{DeviceFailure, DeviceLink};
use rainmaker_prov::transport::console::{
    CONSOLE_PROMPT, ConsoleConfig, ConsoleTransport, DEFAULT_BAUD_RATE, console_payload_limit,
};
use rainmaker_prov::transport::{Transport, TransportError, TransportKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// What the test device answers on `proto-ver`.
const VERSION: &[u8] = b"{\"prov\":{\"ver\":\"v1.1\",\"sec_ver\":0,\"cap\":[\"no_sec\"]}}";

/// A small device: `proto-ver` answers [`VERSION`], `echo` and the long-named endpoint return the
/// request, `fail` fails.
#[derive(Default)]
struct TestDevice {
    opened: Mutex<Vec<u32>>,
    handled: Mutex<Vec<(u32, String, Vec<u8>)>>,
}

const LONG_ENDPOINT: &str = "a-custom-endpoint-with-a-long-name";

impl TestDevice {
    fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn opened(&self) -> Vec<u32> {
        self.opened.lock().unwrap().clone()
    }

    fn handled(&self) -> Vec<(u32, String, Vec<u8>)> {
        self.handled.lock().unwrap().clone()
    }
}

impl DeviceLink for TestDevice {
    fn open_session(&self, session_id: u32) {
        self.opened.lock().unwrap().push(session_id);
    }

    fn handle(&self, session_id: u32, endpoint: &str, request: &[u8]) -> Result<Vec<u8>, DeviceFailure> {
        self.handled.lock().unwrap().push((session_id, endpoint.to_owned(), request.to_vec()));
        match endpoint {
            "proto-ver" => Ok(VERSION.to_vec()),
            "echo" | LONG_ENDPOINT => Ok(request.to_vec()),
            _ => Err(DeviceFailure::Failed("handler failed".into())),
        }
    }

    fn has_endpoint(&self, endpoint: &str) -> bool {
        matches!(endpoint, "proto-ver" | "echo" | "fail" | LONG_ENDPOINT)
    }

    fn new_session_id(&self) -> u32 {
        1
    }
}

fn config(timeout_ms: u64) -> ConsoleConfig {
    ConsoleConfig { request_timeout: Duration::from_millis(timeout_ms) }
}

/// A transport connected to `device`'s console server through an in-memory pipe.
fn over_duplex(device: Arc<dyn DeviceLink>) -> (ConsoleTransport, ConsoleServerHandle) {
    let (client, device_end) = tokio::io::duplex(4096);
    let server = ConsoleDeviceServer::new(device).spawn(device_end);
    (ConsoleTransport::new(client, config(5000)), server)
}

/// Reads from the device end up to and including the first CR.
async fn read_line(stream: &mut DuplexStream) -> Vec<u8> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.last() != Some(&b'\r') {
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut byte)).await.unwrap().unwrap();
        line.push(byte[0]);
    }
    line
}

fn lower_hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// Framing, byte for byte
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn transport_writes_the_protocol_example_line() {
    let (client, mut device) = tokio::io::duplex(4096);
    let transport = ConsoleTransport::new(client, config(5000));
    assert_eq!(transport.kind(), TransportKind::Console);
    let script = async {
        let line = read_line(&mut device).await;
        // The device echoes, CR as CR LF, then answers and prompts.
        let mut reply = line.clone();
        reply.extend_from_slice(b"\n\r\n");
        reply.extend_from_slice(lower_hex(b"{}").as_bytes());
        reply.extend_from_slice(b"\r\n\n>> ");
        device.write_all(&reply).await.unwrap();
        line
    };
    let (response, line) = tokio::join!(transport.send("proto-ver".into(), b"ESP".to_vec()), script);
    assert_eq!(response.unwrap(), b"{}");
    let id = transport.session_id().unwrap();
    // docs/protocol.md §5.3: `proto-ver 0 455350\r`, with this transport's session id in place of 0.
    assert_eq!(String::from_utf8(line).unwrap(), format!("proto-ver {id} 455350\r"));
    assert_eq!(id.to_string().len(), 9);
}

#[tokio::test]
async fn server_answers_the_protocol_example_byte_for_byte() {
    let device = TestDevice::new();
    let (mut client, device_end) = tokio::io::duplex(4096);
    let _server = ConsoleDeviceServer::new(device.clone()).spawn(device_end);
    client.write_all(b"proto-ver 0 455350\r").await.unwrap();
    let expected = format!("proto-ver 0 455350\r\n\r\n{}\r\n\n>> ", lower_hex(VERSION));
    let mut got = vec![0u8; expected.len()];
    tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut got)).await.unwrap().unwrap();
    assert_eq!(String::from_utf8(got).unwrap(), expected);
    assert_eq!(device.opened(), vec![0]);
    assert_eq!(device.handled(), vec![(0, "proto-ver".to_owned(), b"ESP".to_vec())]);
}

#[tokio::test]
async fn server_failures_print_only_the_prompt() {
    let device = TestDevice::new();
    let (mut client, device_end) = tokio::io::duplex(4096);
    let _server = ConsoleDeviceServer::new(device.clone()).spawn(device_end);
    // Handler error, bad hex, unknown command, wrong argument count, empty line; upper-case hex
    // is accepted.
    let lines: [&[u8]; 6] = [b"fail 3 00\r", b"echo 3 0g\r", b"nothing 3 00\r", b"echo 3\r", b"\r", b"echo 3 4A4b\r"];
    let mut expected = Vec::new();
    for line in lines {
        client.write_all(line).await.unwrap();
        expected.extend_from_slice(&line[..line.len() - 1]);
        expected.extend_from_slice(b"\r\n");
        if line.starts_with(b"echo 3 4A") {
            expected.extend_from_slice(b"\r\n4a4b\r\n");
        }
        expected.extend_from_slice(CONSOLE_PROMPT);
    }
    let mut got = vec![0u8; expected.len()];
    tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut got)).await.unwrap().unwrap();
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected));
    // One session: every line that named an endpoint with a valid id used session 3.
    assert_eq!(device.opened(), vec![3]);
    let endpoints: Vec<String> = device.handled().into_iter().map(|(_, e, _)| e).collect();
    assert_eq!(endpoints, ["fail", "echo"]);
}

#[tokio::test]
async fn server_cuts_over_long_lines_at_255_characters() {
    let device = TestDevice::new();
    let (mut client, device_end) = tokio::io::duplex(4096);
    let _server = ConsoleDeviceServer::new(device.clone()).spawn(device_end);
    // `echo 1 ` + 248 hex digits = 255 characters without a CR: the line is cut there (and runs,
    // with a complete request); `0102\r` starts the next line, which is no command.
    let mut line = b"echo 1 ".to_vec();
    line.extend(std::iter::repeat_n(b'a', 248));
    assert_eq!(line.len(), 255);
    line.extend_from_slice(b"0102\r");
    client.write_all(&line).await.unwrap();
    let mut expected = line[..255].to_vec();
    expected.extend_from_slice(b"\r\n");
    expected.extend(std::iter::repeat_n(b'a', 248));
    expected.extend_from_slice(b"\r\n\n>> 0102\r\n\n>> ");
    let mut got = vec![0u8; expected.len()];
    tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut got)).await.unwrap().unwrap();
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected));
    let handled = device.handled();
    assert_eq!(handled.len(), 1);
    assert_eq!(handled[0].2, vec![0xaa; 124]);
}

#[tokio::test]
async fn server_opens_a_session_when_the_id_changes() {
    let device = TestDevice::new();
    let (mut client, device_end) = tokio::io::duplex(4096);
    let server = ConsoleDeviceServer::new(device.clone()).spawn(device_end);
    let mut total = 0;
    for line in ["echo 5 00\r", "echo 5 01\r", "echo 6 02\r", "echo 5 03\r"] {
        client.write_all(line.as_bytes()).await.unwrap();
        total += line.len() + 1 + 2 + 2 + 2 + CONSOLE_PROMPT.len();
    }
    let mut got = vec![0u8; total];
    tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut got)).await.unwrap().unwrap();
    assert_eq!(device.opened(), vec![5, 6, 5]);
    assert_eq!(server.current_session(), Some(5));
}

// ---------------------------------------------------------------------------------------------
// Transport behaviour
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn echo_and_stale_output_are_skipped() {
    let (client, mut device) = tokio::io::duplex(4096);
    let transport = ConsoleTransport::new(client, config(5000));
    // Boot messages and a prompt are waiting before the request: they are not the answer.
    device.write_all(b"I (312) boot: ESP-IDF v5.5\r\n\n>> ").await.unwrap();
    let script = async {
        let line = read_line(&mut device).await;
        // The echo arrives in pieces, a log line sits between echo and answer.
        let (first, second) = line.split_at(7);
        device.write_all(first).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        device.write_all(second).await.unwrap();
        device.write_all(b"\n\r\nI (400) wifi: mode : sta\r\nC0FFEE\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        device.write_all(b"\n>").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        device.write_all(b"> ").await.unwrap();
    };
    let (response, ()) = tokio::join!(transport.send("echo".into(), b"hi".to_vec()), script);
    assert_eq!(response.unwrap(), vec![0xc0, 0xff, 0xee]);
}

#[tokio::test]
async fn device_failure_is_closed_without_response() {
    let device = TestDevice::new();
    let (transport, _server) = over_duplex(device.clone());
    assert_eq!(transport.send("fail".into(), vec![1, 2]).await, Err(TransportError::ClosedWithoutResponse));
    // Unknown command: the device prints only the prompt too.
    assert_eq!(transport.send("prov-nothing".into(), vec![1]).await, Err(TransportError::ClosedWithoutResponse));
    // The link is still usable.
    assert_eq!(transport.send("echo".into(), vec![9, 8, 7]).await.unwrap(), vec![9, 8, 7]);
    assert_eq!(transport.send("proto-ver".into(), b"ESP".to_vec()).await.unwrap(), VERSION);
}

#[tokio::test]
async fn no_answer_is_a_timeout() {
    let (client, mut device) = tokio::io::duplex(4096);
    let transport = ConsoleTransport::new(client, config(300));
    let started = Instant::now();
    let (result, line) = tokio::join!(transport.send("proto-ver".into(), b"ESP".to_vec()), read_line(&mut device));
    assert_eq!(result, Err(TransportError::Timeout { millis: 300 }));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(line.starts_with(b"proto-ver "));
    // Echo without answer or prompt: still a timeout.
    let script = async {
        let line = read_line(&mut device).await;
        device.write_all(&line).await.unwrap();
        device.write_all(b"\n").await.unwrap();
    };
    let (result, ()) = tokio::join!(transport.send("proto-ver".into(), b"ESP".to_vec()), script);
    assert_eq!(result, Err(TransportError::Timeout { millis: 300 }));
}

#[tokio::test]
async fn a_line_over_254_characters_is_refused_without_writing() {
    let (client, mut device) = tokio::io::duplex(4096);
    let transport = ConsoleTransport::new(client, config(2000));
    // `prov-config <9 digits> ` is 22 characters: 232 hex digits, 116 bytes fit.
    assert_eq!(console_payload_limit("prov-config".len()), 116);
    let too_long = transport.send("prov-config".into(), vec![0x55; 117]).await;
    assert_eq!(too_long, Err(TransportError::PayloadTooLarge { size: 117, limit: 116 }));
    // A security 2 Command0 (a 384-byte public key and more) cannot go either.
    let sec2 = transport.send("prov-session".into(), vec![0x11; 400]).await;
    assert_eq!(sec2, Err(TransportError::PayloadTooLarge { size: 400, limit: 115 }));
    let mut probe = [0u8; 1];
    let nothing = tokio::time::timeout(Duration::from_millis(100), device.read(&mut probe)).await;
    assert!(nothing.is_err(), "nothing may be written for a refused request");
    assert_eq!(transport.session_id(), None);

    // Exactly 116 bytes: a 254-character line plus CR.
    let script = async {
        let line = read_line(&mut device).await;
        let mut reply = line.clone();
        reply.extend_from_slice(b"\n\r\n00\r\n\n>> ");
        device.write_all(&reply).await.unwrap();
        line
    };
    let (result, line) = tokio::join!(transport.send("prov-config".into(), vec![0x55; 116]), script);
    assert_eq!(result.unwrap(), vec![0]);
    assert_eq!(line.len(), 255);
}

#[tokio::test]
async fn max_payload_follows_the_longest_endpoint_name() {
    let device = TestDevice::new();
    let (transport, _server) = over_duplex(device);
    // Until a longer name is used, `prov-session` decides: (254 - 23) / 2.
    assert_eq!(transport.max_payload(), Some(115));
    transport.send("echo".into(), vec![1]).await.unwrap();
    assert_eq!(transport.max_payload(), Some(115));
    transport.send(LONG_ENDPOINT.into(), vec![1]).await.unwrap();
    let limit = (254 - (LONG_ENDPOINT.len() + 11)) / 2;
    assert_eq!(transport.max_payload(), Some(limit));
    assert_eq!(transport.send(LONG_ENDPOINT.into(), vec![1; limit]).await.unwrap(), vec![1; limit]);
    assert_eq!(
        transport.send(LONG_ENDPOINT.into(), vec![1; limit + 1]).await,
        Err(TransportError::PayloadTooLarge { size: (limit + 1) as u64, limit: limit as u64 })
    );
}

#[tokio::test]
async fn disconnect_starts_a_new_session_id() {
    let device = TestDevice::new();
    let (transport, server) = over_duplex(device.clone());
    let mut ids = Vec::new();
    for _ in 0..4 {
        transport.send("echo".into(), vec![1]).await.unwrap();
        transport.send("echo".into(), vec![2]).await.unwrap();
        let id = transport.session_id().unwrap();
        assert_eq!(server.current_session(), Some(id));
        ids.push(id);
        transport.disconnect().await;
        assert_eq!(transport.session_id(), None);
    }
    // One device session per transport session, each with a new id.
    assert_eq!(device.opened(), ids);
    for pair in ids.windows(2) {
        assert_ne!(pair[0], pair[1]);
    }
    assert!(ids.iter().all(|id| (100_000_000..=999_999_999).contains(id)));
}

#[tokio::test]
async fn one_request_at_a_time() {
    let device = TestDevice::new();
    let (transport, _server) = over_duplex(device.clone());
    let transport = Arc::new(transport);
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let transport = Arc::clone(&transport);
        tasks.push(tokio::spawn(async move { transport.send("echo".into(), vec![i; 50]).await }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap().unwrap(), vec![i as u8; 50]);
    }
    assert_eq!(device.handled().len(), 8);
}

#[tokio::test]
async fn a_closed_link_is_a_disconnect() {
    let (client, device) = tokio::io::duplex(4096);
    let transport = ConsoleTransport::new(client, config(2000));
    drop(device);
    let result = transport.send("proto-ver".into(), b"ESP".to_vec()).await;
    assert!(matches!(result, Err(TransportError::Disconnected { .. })), "{result:?}");
}

// ---------------------------------------------------------------------------------------------
// Pseudo-terminals
// ---------------------------------------------------------------------------------------------

fn sim(security: SimSecurity) -> Arc<SimDevice> {
    SimDevice::new(SimConfig::new(security))
}

#[tokio::test]
async fn works_over_a_pty_pair() {
    let pty = PseudoTerminal::open().unwrap();
    assert!(pty.slave_path().exists());
    let PseudoTerminal { master, slave, .. } = pty;
    let device = TestDevice::new();
    let _server = ConsoleDeviceServer::new(device.clone()).spawn(master);
    let transport = ConsoleTransport::new(slave, config(5000));
    assert_eq!(transport.send("proto-ver".into(), b"ESP".to_vec()).await.unwrap(), VERSION);
    assert_eq!(transport.send("fail".into(), vec![0]).await, Err(TransportError::ClosedWithoutResponse));
    let big = vec![0xa5; console_payload_limit(4)];
    assert_eq!(transport.send("echo".into(), big.clone()).await.unwrap(), big);
}

#[tokio::test]
async fn a_sec1_session_over_a_pty_opened_by_path() {
    let device = sim(SimSecurity::Sec1 { pop: Some(Secret::from("abcd1234")) });
    let server = ConsoleDeviceServer::new(device.clone()).spawn_pty().unwrap();
    let path = server.pty_path().unwrap().to_str().unwrap().to_owned();
    // Two clients one after the other: the first one's exclusive use ends with it.
    for round in 1..=2u64 {
        let transport = ConsoleTransport::open_serial(&path, DEFAULT_BAUD_RATE, config(10_000)).unwrap();
        let options = SessionOptions { pop: Some(Secret::from("abcd1234")), ..SessionOptions::default() };
        let session = DeviceSession::new(Arc::new(transport), options);
        let info = session.connect().await.unwrap();
        assert_eq!(info.security.number(), 1);
        let networks = session.scan_wifi(None).await.unwrap();
        assert!(!networks.is_empty());
        session.disconnect().await;
        assert_eq!(device.stats().sessions_opened, round);
    }
    assert!(!server.is_finished());
}

#[tokio::test]
async fn opening_a_missing_port_is_unreachable() {
    let result = ConsoleTransport::open_serial("/dev/no-such-serial-port", DEFAULT_BAUD_RATE, config(1000));
    assert!(matches!(result, Err(TransportError::Unreachable { .. })), "{result:?}");
}
