//! Tests of the HTTP transport against the simulator's HTTP server (and raw TCP peers), and of the
//! in-memory transport.

#![cfg(all(feature = "softap", feature = "device"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failed unwrap is a failed test.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rainmaker_prov::sim::http_server::{HttpDeviceServer, HttpServerHandle, RequestOutcome};
use rainmaker_prov::sim::{DeviceFailure, DeviceLink};
use rainmaker_prov::transport::http::{HttpConfig, HttpTransport};
use rainmaker_prov::transport::memory::MemoryTransport;
use rainmaker_prov::transport::{Transport, TransportError, TransportKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------------------------
// A small device: `echo` returns the request, `fail` fails, `size` answers `request[0] * 100`
// zero bytes, `proto-ver` answers a fixed string.
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct TestDevice {
    opened: Mutex<Vec<u32>>,
    handled: Mutex<Vec<(u32, String, usize)>>,
    next_id: AtomicU32,
    latency: Duration,
}

impl TestDevice {
    fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn with_latency(latency: Duration) -> Arc<Self> {
        Arc::new(Self { latency, ..Self::default() })
    }

    fn opened(&self) -> Vec<u32> {
        self.opened.lock().unwrap().clone()
    }

    fn handled(&self) -> Vec<(u32, String, usize)> {
        self.handled.lock().unwrap().clone()
    }
}

impl DeviceLink for TestDevice {
    fn open_session(&self, session_id: u32) {
        self.opened.lock().unwrap().push(session_id);
    }

    fn handle(&self, session_id: u32, endpoint: &str, request: &[u8]) -> Result<Vec<u8>, DeviceFailure> {
        self.handled.lock().unwrap().push((session_id, endpoint.to_owned(), request.len()));
        match endpoint {
            "echo" => Ok(request.to_vec()),
            "fail" => Err(DeviceFailure::Failed("handler failed".to_owned())),
            "size" => Ok(vec![0; usize::from(request[0]) * 100]),
            "proto-ver" => Ok(b"{\"prov\":{\"ver\":\"v1.1\"}}".to_vec()),
            other => Err(DeviceFailure::UnknownEndpoint(other.to_owned())),
        }
    }

    fn has_endpoint(&self, endpoint: &str) -> bool {
        matches!(endpoint, "echo" | "fail" | "size" | "proto-ver")
    }

    fn new_session_id(&self) -> u32 {
        // Large, distinct values: exercises 10-digit cookies like real devices send.
        4_000_000_000 + self.next_id.fetch_add(1, Ordering::Relaxed) * 7
    }

    fn exchange_latency(&self) -> Duration {
        self.latency
    }
}

fn start(device: &Arc<TestDevice>) -> HttpServerHandle {
    let link: Arc<dyn DeviceLink> = device.clone();
    HttpDeviceServer::bind(SocketAddr::from(([127, 0, 0, 1], 0)), link).unwrap().record_requests().spawn()
}

fn transport_for(server: &HttpServerHandle) -> HttpTransport {
    HttpTransport::new(HttpConfig {
        host: server.host(),
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
    })
}

fn cookie_of(id: u32) -> String {
    format!("session={id}")
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP helpers for server-side cases.
// ---------------------------------------------------------------------------------------------

fn post(path: &str, cookie: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut request = format!("POST {path} HTTP/1.1\r\nHost: device\r\nContent-Length: {}\r\n", body.len());
    if let Some(cookie) = cookie {
        request.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A response as raw header lines (status line first) and body; `None` when the server closed the
/// connection (or reset it) without sending a single byte.
async fn read_response(stream: &mut TcpStream) -> Option<(Vec<String>, Vec<u8>)> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("server answered in time")
            .unwrap_or(0);
        if n == 0 {
            assert!(buffer.is_empty(), "partial response: {:?}", String::from_utf8_lossy(&buffer));
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).unwrap();
    let lines: Vec<String> = head.split("\r\n").map(str::to_owned).collect();
    let length: usize =
        lines.iter().find_map(|l| l.strip_prefix("Content-Length: ")).expect("Content-Length present").parse().unwrap();
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await.unwrap();
        assert_ne!(n, 0, "body cut short");
        body.extend_from_slice(&chunk[..n]);
    }
    Some((lines, body))
}

/// Whether the server closes the connection (EOF or reset) without sending anything more.
async fn closed_silently(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
        .await
        .expect("connection closed in time");
    match read {
        Ok(_) => rest.is_empty(),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset && rest.is_empty(),
    }
}

fn set_cookie(lines: &[String]) -> Option<String> {
    lines.iter().find_map(|l| l.strip_prefix("Set-Cookie: ")).map(str::to_owned)
}

fn vector_steps() -> Vec<serde_json::Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/sec1.json");
    let text = std::fs::read_to_string(path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["steps"].as_array().unwrap().clone()
}

fn header_pairs(value: &serde_json::Value) -> Vec<(String, String)> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| (pair[0].as_str().unwrap().to_owned(), pair[1].as_str().unwrap().to_owned()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// HTTP transport <-> simulator server.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_is_set_on_first_request_and_echoed_exactly() {
    let device = TestDevice::new();
    let server = start(&device);
    let transport = transport_for(&server);
    assert!(!transport.has_session());

    for body in [b"---".as_slice(), b"one", b"two", b"three"] {
        assert_eq!(transport.send("echo".into(), body.to_vec()).await.unwrap(), body);
    }
    assert!(transport.has_session());

    let opened = device.opened();
    assert_eq!(opened.len(), 1, "one device session");
    let session = opened[0];
    assert_eq!(server.current_session(), Some(session));
    assert!(device.handled().iter().all(|(s, e, _)| *s == session && e == "echo"));

    let seen = server.recorded_requests();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0].header("Cookie"), None, "no cookie before the device gave one");
    assert_eq!(seen[0].outcome, RequestOutcome::Answered { session, new_session: true });
    for request in &seen[1..] {
        let cookies: Vec<_> = request.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("cookie")).collect();
        assert_eq!(cookies.len(), 1, "exactly one Cookie header");
        assert_eq!(cookies[0].1, cookie_of(session), "cookie echoed verbatim");
        assert_eq!(request.outcome, RequestOutcome::Answered { session, new_session: false });
    }
    for request in &seen {
        assert_eq!(request.request_line, "POST /echo HTTP/1.1");
        assert_eq!(request.header("Content-Type"), Some("application/x-www-form-urlencoded"));
        assert_eq!(request.header("Accept"), Some("text/plain"));
        assert_eq!(request.connection, seen[0].connection, "one kept-alive connection");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_headers_match_the_recorded_espressif_client() {
    let steps = vector_steps();
    let device = TestDevice::new();
    let server = start(&device);
    let transport = transport_for(&server);
    // Step 0 of the recording is proto-ver with body `---`; step 1 a 41-byte prov-session.
    transport.send("proto-ver".into(), b"---".to_vec()).await.unwrap();
    transport.send("echo".into(), vec![0x55; 41]).await.unwrap();
    let seen = server.recorded_requests();
    assert_eq!(seen.len(), 2);

    for (index, request) in seen.iter().enumerate() {
        let recorded = header_pairs(&steps[index]["request"]["http_headers"]);
        let names = |headers: &[(String, String)]| -> Vec<String> { headers.iter().map(|(n, _)| n.clone()).collect() };
        assert_eq!(names(&request.headers), names(&recorded), "step {index}: names and order");
        for ((name, ours), (_, theirs)) in request.headers.iter().zip(&recorded) {
            match name.as_str() {
                "Host" => assert_eq!(ours, &server.host()),
                "Cookie" => {
                    // Same shape as the recording: `session=<decimal u32>` and nothing else.
                    for cookie in [ours, theirs] {
                        let digits = cookie.strip_prefix("session=").unwrap();
                        assert!(digits.parse::<u32>().is_ok(), "{cookie}");
                    }
                    assert_eq!(ours, &cookie_of(device.opened()[0]));
                }
                _ => assert_eq!(ours, theirs, "step {index}: {name}"),
            }
        }
    }
    assert_eq!(seen[1].request_line, "POST /echo HTTP/1.1");
    let recorded_line = steps[0]["request"]["http_request_line"].as_str().unwrap();
    assert_eq!(seen[0].request_line, recorded_line);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_cookie_starts_a_new_session_and_the_transport_follows() {
    let device = TestDevice::new();
    let server = start(&device);
    let transport = transport_for(&server);
    transport.send("echo".into(), b"a".to_vec()).await.unwrap();
    let first = device.opened()[0];

    // Another client with a stale cookie takes the device over.
    let mut other = TcpStream::connect(server.local_addr()).await.unwrap();
    other.write_all(&post("/echo", Some("session=1"), b"x")).await.unwrap();
    let (lines, _) = read_response(&mut other).await.unwrap();
    let second = device.opened()[1];
    assert_ne!(second, first);
    assert_eq!(set_cookie(&lines), Some(cookie_of(second)));

    // Our cookie no longer matches: the device starts a third session and we adopt its cookie.
    transport.send("echo".into(), b"b".to_vec()).await.unwrap();
    let third = device.opened()[2];
    assert_eq!(device.opened().len(), 3);
    transport.send("echo".into(), b"c".to_vec()).await.unwrap();
    assert_eq!(device.opened().len(), 3, "the new cookie is used from now on");

    let seen = server.recorded_requests();
    let last = seen.last().unwrap();
    assert_eq!(last.header("Cookie"), Some(cookie_of(third).as_str()));
    assert_eq!(last.outcome, RequestOutcome::Answered { session: third, new_session: false });
    let handled = device.handled();
    assert_eq!(handled.last().unwrap().0, third);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_endpoint_is_endpoint_not_found_and_the_session_survives() {
    let device = TestDevice::new();
    let server = start(&device);
    let transport = transport_for(&server);
    transport.send("echo".into(), b"a".to_vec()).await.unwrap();
    let err = transport.send("prov-nothing".into(), b"a".to_vec()).await.unwrap_err();
    assert_eq!(err, TransportError::EndpointNotFound { endpoint: "prov-nothing".into() });
    assert_eq!(transport.send("echo".into(), b"b".to_vec()).await.unwrap(), b"b");
    assert_eq!(device.opened().len(), 1, "404 does not touch the session");
    let seen = server.recorded_requests();
    assert_eq!(seen[1].outcome, RequestOutcome::Rejected(404));
    assert_ne!(seen[2].connection, seen[0].connection, "the device closed the connection after 404");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_failure_is_closed_without_response_quickly() {
    let device = TestDevice::new();
    let server = start(&device);
    let transport = transport_for(&server); // 10 s request timeout
    transport.send("echo".into(), b"a".to_vec()).await.unwrap();

    let started = Instant::now();
    let err = transport.send("fail".into(), b"boom".to_vec()).await.unwrap_err();
    assert_eq!(err, TransportError::ClosedWithoutResponse);
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());

    // The cookie session lives on; a new connection carries the same cookie.
    assert_eq!(transport.send("echo".into(), b"b".to_vec()).await.unwrap(), b"b");
    assert_eq!(device.opened().len(), 1);
    let session = device.opened()[0];
    let seen = server.recorded_requests();
    assert_eq!(seen[1].outcome, RequestOutcome::ClosedWithoutResponse { session, new_session: false });
    assert_eq!(seen[2].outcome, RequestOutcome::Answered { session, new_session: false });
    assert_ne!(seen[2].connection, seen[1].connection);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_failure_on_a_fresh_connection_also_maps_to_closed() {
    let device = TestDevice::new();
    let server = start(&device);
    let transport = transport_for(&server);
    let err = transport.send("fail".into(), b"x".to_vec()).await.unwrap_err();
    assert_eq!(err, TransportError::ClosedWithoutResponse);
    // The device opened a session but never sent its cookie.
    assert_eq!(device.opened().len(), 1);
    assert!(!transport.has_session());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_and_oversized_bodies_are_refused_before_sending() {
    let device = TestDevice::new();
    let server = start(&device);
    let transport = transport_for(&server);

    let empty = transport.send("echo".into(), Vec::new()).await.unwrap_err();
    assert!(matches!(empty, TransportError::Io { .. }), "{empty:?}");
    let big = transport.send("echo".into(), vec![7; 4097]).await.unwrap_err();
    assert_eq!(big, TransportError::PayloadTooLarge { size: 4097, limit: 4096 });
    assert!(server.recorded_requests().is_empty(), "nothing reached the device");

    let full = vec![9u8; 4096];
    assert_eq!(transport.send("echo".into(), full.clone()).await.unwrap(), full);
    // Responses have no such limit.
    assert_eq!(transport.send("size".into(), vec![50]).await.unwrap().len(), 5000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_closes_silently_on_bad_body_lengths() {
    let device = TestDevice::new();
    let server = start(&device);

    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream.write_all(&post("/echo", None, b"")).await.unwrap();
    assert!(closed_silently(&mut stream).await, "empty body: no response");

    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let head = "POST /echo HTTP/1.1\r\nContent-Length: 4097\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    assert!(closed_silently(&mut stream).await, "4097-byte body: no response");

    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream.write_all(b"POST /echo HTTP/1.1\r\nHost: d\r\n\r\n").await.unwrap();
    assert!(closed_silently(&mut stream).await, "no Content-Length: no response");

    assert!(device.handled().is_empty(), "the handler never ran");
    // As on the device, the session bookkeeping ran before the length check.
    assert_eq!(device.opened().len(), 3);
    assert!(
        server
            .recorded_requests()
            .iter()
            .all(|r| matches!(r.outcome, RequestOutcome::ClosedWithoutResponse { new_session: true, .. }))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_starts_a_new_device_session() {
    let device = TestDevice::new();
    let server = start(&device);
    let transport = transport_for(&server);
    transport.send("echo".into(), b"a".to_vec()).await.unwrap();
    transport.send("echo".into(), b"b".to_vec()).await.unwrap();
    transport.disconnect().await;
    assert!(!transport.has_session());
    transport.send("echo".into(), b"c".to_vec()).await.unwrap();
    transport.send("echo".into(), b"d".to_vec()).await.unwrap();

    let opened = device.opened();
    assert_eq!(opened.len(), 2);
    let seen = server.recorded_requests();
    assert_eq!(seen[2].header("Cookie"), None, "the old cookie was forgotten");
    assert_ne!(seen[2].connection, seen[1].connection, "a new connection");
    assert_eq!(seen[2].outcome, RequestOutcome::Answered { session: opened[1], new_session: true });
    assert_eq!(seen[3].header("Cookie"), Some(cookie_of(opened[1]).as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookieless_requests_belong_to_the_session_only_on_its_socket() {
    let device = TestDevice::new();
    let server = start(&device);
    let addr = server.local_addr();

    // An idle connection does not disturb anything.
    let _idle = TcpStream::connect(addr).await.unwrap();

    let mut a = TcpStream::connect(addr).await.unwrap();
    a.write_all(&post("/echo", None, b"1")).await.unwrap();
    let (lines, body) = read_response(&mut a).await.unwrap();
    assert_eq!(body, b"1");
    let first = device.opened()[0];
    assert_eq!(set_cookie(&lines), Some(cookie_of(first)));

    // Same socket, no cookie: same session, no Set-Cookie.
    a.write_all(&post("/echo", None, b"2")).await.unwrap();
    let (lines, _) = read_response(&mut a).await.unwrap();
    assert_eq!(set_cookie(&lines), None);
    // A cookie of 20+ characters does not fit the device's buffer: treated as no cookie.
    a.write_all(&post("/echo", Some("session=123456789012"), b"3")).await.unwrap();
    let (lines, _) = read_response(&mut a).await.unwrap();
    assert_eq!(set_cookie(&lines), None);
    assert_eq!(device.opened().len(), 1);

    // Another socket without a cookie: a new session.
    let mut b = TcpStream::connect(addr).await.unwrap();
    b.write_all(&post("/echo", None, b"4")).await.unwrap();
    let (lines, _) = read_response(&mut b).await.unwrap();
    let second = device.opened()[1];
    assert_eq!(set_cookie(&lines), Some(cookie_of(second)));

    // The cookie works from any socket; once it was seen, the socket alone no longer counts.
    a.write_all(&post("/echo", Some(&cookie_of(second)), b"5")).await.unwrap();
    let (lines, _) = read_response(&mut a).await.unwrap();
    assert_eq!(set_cookie(&lines), None);
    assert_eq!(device.opened().len(), 2);
    b.write_all(&post("/echo", None, b"6")).await.unwrap();
    let (lines, _) = read_response(&mut b).await.unwrap();
    let third = device.opened()[2];
    assert_eq!(set_cookie(&lines), Some(cookie_of(third)));

    let sessions: Vec<u32> = device.handled().iter().map(|h| h.0).collect();
    assert_eq!(sessions, [first, first, first, second, second, third]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_header_lines_are_exactly_the_devices() {
    let steps = vector_steps();
    let device = TestDevice::new();
    let server = start(&device);
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();

    stream.write_all(&post("/proto-ver", None, b"---")).await.unwrap();
    let (lines, body) = read_response(&mut stream).await.unwrap();
    let session = device.opened()[0];
    assert_eq!(body, b"{\"prov\":{\"ver\":\"v1.1\"}}");
    assert_eq!(
        lines,
        [
            "HTTP/1.1 200 OK".to_owned(),
            "Content-Type: text/html".to_owned(),
            format!("Content-Length: {}", body.len()),
            format!("Set-Cookie: session={session}"),
        ]
    );
    // Same header names, in the same order, as the recorded device's first answer.
    let recorded: Vec<String> =
        header_pairs(&steps[0]["response"]["http_headers"]).into_iter().map(|(n, _)| n).collect();
    let ours: Vec<String> = lines[1..].iter().map(|l| l.split(": ").next().unwrap().to_owned()).collect();
    assert_eq!(ours, recorded);
    assert_eq!(steps[0]["response"]["http_status"], "200 OK");

    stream.write_all(&post("/echo", Some(&cookie_of(session)), b"hello")).await.unwrap();
    let (lines, body) = read_response(&mut stream).await.unwrap();
    assert_eq!(body, b"hello");
    assert_eq!(lines, ["HTTP/1.1 200 OK", "Content-Type: text/html", "Content-Length: 5"]);
    let recorded: Vec<String> =
        header_pairs(&steps[1]["response"]["http_headers"]).into_iter().map(|(n, _)| n).collect();
    let ours: Vec<String> = lines[1..].iter().map(|l| l.split(": ").next().unwrap().to_owned()).collect();
    assert_eq!(ours, recorded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_is_405_and_unknown_uris_are_404_then_closed() {
    let device = TestDevice::new();
    let server = start(&device);
    let addr = server.local_addr();

    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /echo HTTP/1.1\r\nHost: device\r\n\r\n").await.unwrap();
    let (lines, body) = read_response(&mut stream).await.unwrap();
    let message = "Request method for this URI is not handled by server";
    assert_eq!(
        lines,
        [
            "HTTP/1.1 405 Method Not Allowed".to_owned(),
            "Content-Type: text/html".to_owned(),
            format!("Content-Length: {}", message.len()),
        ]
    );
    assert_eq!(body, message.as_bytes());
    assert!(closed_silently(&mut stream).await, "closed after 405");

    for path in ["/nothing", "/echo/", "/echo?x=1", "/ECHO"] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&post(path, None, b"abc")).await.unwrap();
        let (lines, body) = read_response(&mut stream).await.unwrap();
        assert_eq!(lines[0], "HTTP/1.1 404 Not Found", "{path}");
        assert_eq!(lines[1], "Content-Type: text/html");
        assert_eq!(body, b"This URI doesn't exist");
        assert!(closed_silently(&mut stream).await, "closed after 404");
    }
    assert!(device.opened().is_empty(), "HTTP-level rejections never reach protocomm");
    assert!(device.handled().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_http_errors_and_a_close() {
    let device = TestDevice::new();
    let server = start(&device);
    let cases: [(&[u8], &str); 4] = [
        (b"hello\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        (b"POST /echo HTTP/2.0\r\nContent-Length: 1\r\n\r\nx", "HTTP/1.1 505 Version Not Supported"),
        (
            b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
            "HTTP/1.1 411 Length Required",
        ),
        (b"POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n", "HTTP/1.1 400 Bad Request"),
    ];
    for (request, status) in cases {
        let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
        stream.write_all(request).await.unwrap();
        let (lines, _) = read_response(&mut stream).await.unwrap();
        assert_eq!(lines[0], status);
        assert!(closed_silently(&mut stream).await);
    }
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut huge = b"POST /echo HTTP/1.1\r\nX-Filler: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 10_000));
    stream.write_all(&huge).await.unwrap();
    let (lines, _) = read_response(&mut stream).await.unwrap();
    assert_eq!(lines[0], "HTTP/1.1 431 Request Header Fields Too Large");
    assert!(device.opened().is_empty() && device.handled().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_latency_is_applied_by_the_server() {
    let device = TestDevice::with_latency(Duration::from_millis(150));
    let server = start(&device);
    let transport = transport_for(&server);
    let started = Instant::now();
    transport.send("echo".into(), b"a".to_vec()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150), "took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_device_times_out_within_the_request_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts, reads everything, never answers.
    let silent = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut sink = vec![0u8; 8192];
        while socket.read(&mut sink).await.unwrap_or(0) > 0 {}
    });
    let transport = HttpTransport::new(HttpConfig {
        host: addr.to_string(),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_millis(300),
    });
    let started = Instant::now();
    let err = transport.send("proto-ver".into(), b"---".to_vec()).await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err, TransportError::Timeout { millis: 300 });
    assert!(elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(2), "{elapsed:?}");
    silent.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_unreachable() {
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let transport = HttpTransport::new(HttpConfig { host: addr.to_string(), ..HttpConfig::default() });
    let err = transport.send("proto-ver".into(), b"---".to_vec()).await.unwrap_err();
    assert!(matches!(err, TransportError::Unreachable { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_host_and_endpoint_names_are_errors() {
    let transport = HttpTransport::new(HttpConfig { host: "no such host:xx".into(), ..HttpConfig::default() });
    let err = transport.send("proto-ver".into(), b"---".to_vec()).await.unwrap_err();
    assert!(matches!(err, TransportError::Unreachable { .. }), "{err:?}");

    let device = TestDevice::new();
    let server = start(&device);
    let transport = transport_for(&server);
    for name in ["", "a/b", "a b", "x?y", "%41"] {
        let err = transport.send(name.into(), b"-".to_vec()).await.unwrap_err();
        assert!(matches!(err, TransportError::Io { .. }), "{name}: {err:?}");
    }
    assert!(server.recorded_requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_shutdown_makes_the_device_unreachable() {
    for _ in 0..20 {
        let device = TestDevice::new();
        let server = start(&device);
        let transport = transport_for(&server);
        transport.send("echo".into(), b"a".to_vec()).await.unwrap();
        server.shutdown().await;
        // Once shutdown returns, nothing is answered any more, however quickly we ask.
        let err = transport.send("echo".into(), b"b".to_vec()).await.unwrap_err();
        assert!(matches!(err, TransportError::Unreachable { .. } | TransportError::ClosedWithoutResponse), "{err:?}");
        assert_eq!(device.handled().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_devices_in_parallel() {
    let devices: Vec<Arc<TestDevice>> = (0..8).map(|_| TestDevice::new()).collect();
    let servers: Vec<HttpServerHandle> = devices.iter().map(start).collect();
    let mut tasks = Vec::new();
    for (index, server) in servers.iter().enumerate() {
        let transport = transport_for(server);
        tasks.push(tokio::spawn(async move {
            for round in 0..5u8 {
                let body = vec![u8::try_from(index).unwrap(), round];
                assert_eq!(transport.send("echo".into(), body.clone()).await.unwrap(), body);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for (index, device) in devices.iter().enumerate() {
        assert_eq!(device.opened().len(), 1, "device {index}");
        assert_eq!(device.handled().len(), 5, "device {index}");
        assert_eq!(servers[index].recorded_requests().len(), 5);
    }
}

#[test]
fn http_transport_declares_softap_limits() {
    let transport = HttpTransport::new(HttpConfig::default());
    assert_eq!(transport.max_payload(), Some(4096));
    assert_eq!(transport.kind(), TransportKind::SoftAp);
    let config = HttpConfig::default();
    assert_eq!(config.host, "192.168.4.1:80");
    assert_eq!(config.request_timeout, Duration::from_secs(30));
    assert!(!format!("{transport:?}").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Memory transport.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn memory_transport_opens_its_session_lazily() {
    let device = TestDevice::new();
    let transport = MemoryTransport::new(device.clone());
    assert_eq!(transport.kind(), TransportKind::Memory);
    assert_eq!(transport.max_payload(), None);
    assert!(device.opened().is_empty(), "nothing opened before the first send");
    assert_eq!(transport.session_id(), None);

    transport.send("echo".into(), b"a".to_vec()).await.unwrap();
    transport.send("echo".into(), b"b".to_vec()).await.unwrap();
    let first = device.opened()[0];
    assert_eq!(device.opened().len(), 1);
    assert_eq!(transport.session_id(), Some(first));

    transport.disconnect().await;
    assert_eq!(transport.session_id(), None);
    assert_eq!(device.opened().len(), 1, "disconnect alone opens nothing");
    transport.send("echo".into(), b"c".to_vec()).await.unwrap();
    let opened = device.opened();
    assert_eq!(opened.len(), 2);
    let sessions: Vec<u32> = device.handled().iter().map(|h| h.0).collect();
    assert_eq!(sessions, [first, first, opened[1]]);
}

#[tokio::test]
async fn memory_transport_applies_the_device_latency() {
    let device = TestDevice::with_latency(Duration::from_millis(120));
    let transport = MemoryTransport::new(device.clone());
    let started = Instant::now();
    transport.send("echo".into(), b"a".to_vec()).await.unwrap();
    transport.send("echo".into(), b"b".to_vec()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(240), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn memory_transport_maps_device_failures() {
    let device = TestDevice::new();
    let transport = MemoryTransport::new(device.clone());
    let err = transport.send("nothing".into(), b"a".to_vec()).await.unwrap_err();
    assert_eq!(err, TransportError::EndpointNotFound { endpoint: "nothing".into() });
    let err = transport.send("fail".into(), b"a".to_vec()).await.unwrap_err();
    assert_eq!(err, TransportError::ClosedWithoutResponse);
    transport.send("echo".into(), b"a".to_vec()).await.unwrap();
    assert_eq!(device.opened().len(), 1, "like an HTTP cookie session, the session survives");
}

#[tokio::test]
async fn memory_transport_imitates_a_ble_size_limit() {
    let device = TestDevice::new();
    let transport = MemoryTransport::with_limit(device.clone(), TransportKind::Ble, Some(481));
    assert_eq!(transport.kind(), TransportKind::Ble);
    assert_eq!(transport.max_payload(), Some(481));

    assert_eq!(transport.send("echo".into(), vec![1; 481]).await.unwrap().len(), 481);
    let err = transport.send("echo".into(), vec![1; 482]).await.unwrap_err();
    assert_eq!(err, TransportError::PayloadTooLarge { size: 482, limit: 481 });
    assert_eq!(device.handled().len(), 1, "the over-long request never reached the device");

    // A 400-byte response fits; a 500-byte one is handled but cannot be returned.
    assert_eq!(transport.send("size".into(), vec![4]).await.unwrap().len(), 400);
    let err = transport.send("size".into(), vec![5]).await.unwrap_err();
    assert!(matches!(err, TransportError::Disconnected { .. }), "{err:?}");
    assert_eq!(device.handled().len(), 3);
    assert_eq!(transport.session_id(), None, "the link dropped");

    transport.send("echo".into(), b"a".to_vec()).await.unwrap();
    assert_eq!(device.opened().len(), 2);
    // Bluedroid drops the link when the handler fails.
    let err = transport.send("fail".into(), b"a".to_vec()).await.unwrap_err();
    assert_eq!(err, TransportError::ClosedWithoutResponse);
    assert_eq!(transport.session_id(), None);
    transport.send("echo".into(), b"b".to_vec()).await.unwrap();
    assert_eq!(device.opened().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_transport_serialises_concurrent_sends() {
    let device = TestDevice::with_latency(Duration::from_millis(30));
    let transport = Arc::new(MemoryTransport::new(device.clone()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..4u8 {
        let transport = Arc::clone(&transport);
        tasks.push(tokio::spawn(async move { transport.send("echo".into(), vec![i]).await }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert!(started.elapsed() >= Duration::from_millis(100), "sends overlapped: {:?}", started.elapsed());
    assert_eq!(device.opened().len(), 1, "one lazily opened session despite the race");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_exchanges_use_one_connection() {
    let device = TestDevice::new();
    let server = start(&device);
    let transport = transport_for(&server);
    for i in 0..200u32 {
        let body = i.to_be_bytes().to_vec();
        assert_eq!(transport.send("echo".into(), body.clone()).await.unwrap(), body);
    }
    let seen = server.recorded_requests();
    assert_eq!(seen.len(), 200);
    assert!(seen.iter().all(|r| r.connection == seen[0].connection), "one connection throughout");
    assert_eq!(device.opened().len(), 1);
}

/// A scripted peer: answers each request (on whatever connection) with the next canned reply,
/// closing the connection after each one when `close_after_each`. Returns its address and the
/// number of connections it accepted.
async fn scripted_device(
    replies: Vec<&'static [u8]>,
    close_after_each: bool,
) -> (SocketAddr, Arc<AtomicU32>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&accepted);
    let replies = Arc::new(Mutex::new(std::collections::VecDeque::from(replies)));
    let task = tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            let replies = Arc::clone(&replies);
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                loop {
                    // Read one request head and its body.
                    let end = loop {
                        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            break end;
                        }
                        let mut chunk = [0u8; 1024];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buffer[..end]).to_string();
                    let length: usize =
                        head.lines().find_map(|l| l.strip_prefix("Content-Length: ")).unwrap().parse().unwrap();
                    while buffer.len() < end + 4 + length {
                        let mut chunk = [0u8; 1024];
                        let n = socket.read(&mut chunk).await.unwrap();
                        assert_ne!(n, 0);
                        buffer.extend_from_slice(&chunk[..n]);
                    }
                    buffer.drain(..end + 4 + length);
                    let reply = replies.lock().unwrap().pop_front().unwrap();
                    socket.write_all(reply).await.unwrap();
                    if close_after_each {
                        return;
                    }
                }
            });
        }
    });
    (addr, accepted, task)
}

fn transport_to(addr: SocketAddr) -> HttpTransport {
    HttpTransport::new(HttpConfig {
        host: addr.to_string(),
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(5),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connection_closed_by_the_device_is_replaced() {
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok";
    let (addr, accepted, task) = scripted_device(vec![OK, OK, OK], true).await;
    let transport = transport_to(addr);
    for _ in 0..3 {
        assert_eq!(transport.send("echo".into(), b"a".to_vec()).await.unwrap(), b"ok");
        // The device purges the idle socket; the transport must notice before the next request.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_status_and_cut_responses() {
    let (addr, _, task) = scripted_device(
        vec![
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nSet-Cookie: session=77; Path=/\r\n\r\nxyz",
            b"garbage\r\n\r\n",
        ],
        true,
    )
    .await;
    let transport = transport_to(addr);
    let err = transport.send("a".into(), b"1".to_vec()).await.unwrap_err();
    assert_eq!(err, TransportError::HttpStatus { code: 500 });
    let err = transport.send("a".into(), b"1".to_vec()).await.unwrap_err();
    assert!(matches!(err, TransportError::Disconnected { .. }), "{err:?}");
    assert!(!transport.has_session());
    assert_eq!(transport.send("a".into(), b"1".to_vec()).await.unwrap(), b"xyz");
    assert!(transport.has_session(), "cookie attributes are dropped, the pair is kept");
    let err = transport.send("a".into(), b"1".to_vec()).await.unwrap_err();
    assert!(matches!(err, TransportError::Io { .. }), "{err:?}");
    task.abort();
}
