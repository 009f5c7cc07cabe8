//! Hostile peers on loopback: slow, flooding and idle clients against the simulator's HTTP server,
//! and a device sending oversized or endless responses to the phone's HTTP transport.

#![cfg(all(feature = "softap", feature = "device"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failed unwrap is a failed test.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rainmaker_prov::events::CancelToken;
use rainmaker_prov::provision::{self, Joined, NetworkCredentials, ProvisionRequest};
use rainmaker_prov::security::Secret;
use rainmaker_prov::sim::device::{SimConfig, SimDevice, SimSecurity};
use rainmaker_prov::sim::http_server::{DEFAULT_MAX_OPEN_SOCKETS, HttpDeviceServer, HttpServerHandle};
use rainmaker_prov::sim::{DeviceFailure, DeviceLink};
use rainmaker_prov::transport::http::{
    HttpConfig, HttpTransport, MAX_COOKIE_LEN, MAX_RESPONSE_BODY, MAX_RESPONSE_HEAD, MAX_RESPONSE_HEADERS,
};
use rainmaker_prov::transport::{Transport, TransportError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const POP: &str = "abcd1234";

// ---------------------------------------------------------------------------------------------
// Server side.
// ---------------------------------------------------------------------------------------------

/// A device whose only endpoint, `echo`, returns the request; counts the sessions it opened.
#[derive(Default)]
struct EchoDevice {
    opened: AtomicU32,
    next_id: AtomicU32,
}

impl DeviceLink for EchoDevice {
    fn open_session(&self, _session_id: u32) {
        self.opened.fetch_add(1, Ordering::SeqCst);
    }

    fn handle(&self, _session_id: u32, endpoint: &str, request: &[u8]) -> Result<Vec<u8>, DeviceFailure> {
        match endpoint {
            "echo" => Ok(request.to_vec()),
            other => Err(DeviceFailure::UnknownEndpoint(other.to_owned())),
        }
    }

    fn has_endpoint(&self, endpoint: &str) -> bool {
        endpoint == "echo"
    }

    fn new_session_id(&self) -> u32 {
        1000 + self.next_id.fetch_add(1, Ordering::SeqCst)
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn transport_to(host: String) -> HttpTransport {
    HttpTransport::new(HttpConfig {
        host,
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
    })
}

/// Reads until the peer closes (EOF or reset) or `limit` passes; returns what arrived and
/// whether the connection was closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut received = Vec::new();
    let outcome = tokio::time::timeout(limit, async {
        let mut chunk = [0u8; 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    (received, outcome.is_ok())
}

/// Sends `bytes` one at a time, `interval` apart, until the server closes the connection or all
/// were sent. Returns how many were sent, when (on tokio's clock) the connection was found
/// closed, and what the server answered.
async fn dribble(
    mut stream: TcpStream,
    bytes: Vec<u8>,
    interval: Duration,
) -> (usize, Option<tokio::time::Instant>, Vec<u8>) {
    let mut sent = 0;
    for byte in bytes {
        if stream.write_all(&[byte]).await.is_err() {
            break;
        }
        sent += 1;
        // Watch for the close while waiting for the next byte's turn.
        let mut probe = [0u8; 256];
        match tokio::time::timeout(interval, stream.read(&mut probe)).await {
            Err(_elapsed) => {}
            Ok(Ok(n)) if n > 0 => {
                let mut answer = probe[..n].to_vec();
                let (rest, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
                answer.extend_from_slice(&rest);
                return (sent, Some(tokio::time::Instant::now()), answer);
            }
            Ok(_) => return (sent, Some(tokio::time::Instant::now()), Vec::new()),
        }
    }
    (sent, None, Vec::new())
}

fn slow_head() -> Vec<u8> {
    let mut head = b"POST /echo HTTP/1.1\r\nHost: device\r\nContent-Length: 5\r\nX-Slow: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 200));
    head.extend_from_slice(b"\r\n\r\nhello");
    head
}

fn slow_body() -> Vec<u8> {
    let mut request = b"POST /echo HTTP/1.1\r\nHost: device\r\nContent-Length: 200\r\n\r\n".to_vec();
    request.extend(std::iter::repeat_n(b'b', 200));
    request
}

#[tokio::test(start_paused = true)]
async fn slowloris_is_cut_off_at_the_request_deadline_and_blocks_no_one() {
    let device = Arc::new(EchoDevice::default());
    let link: Arc<dyn DeviceLink> = device.clone();
    // Default limits: a 10 s deadline for the whole request.
    let server = HttpDeviceServer::bind(loopback(), link).unwrap().spawn();
    let addr = server.local_addr();

    // A slow head: one byte every 4 s.
    let head_stream = TcpStream::connect(addr).await.unwrap();
    let started = tokio::time::Instant::now();
    let slow_head = tokio::spawn(dribble(head_stream, slow_head(), Duration::from_secs(4)));
    // A slow body: the complete head at once, then one body byte every 4 s.
    let mut body_stream = TcpStream::connect(addr).await.unwrap();
    let request = slow_body();
    let (head, body) = request.split_at(request.len() - 200);
    body_stream.write_all(head).await.unwrap();
    let slow_body = tokio::spawn(dribble(body_stream, body.to_vec(), Duration::from_secs(4)));

    // Meanwhile a legitimate client is served at once, many times over.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let transport = transport_to(server.host());
    for i in 0..20u8 {
        let answer = transport.send("echo".into(), vec![i; 100]).await.unwrap();
        assert_eq!(answer, vec![i; 100]);
    }
    assert!(started.elapsed() < Duration::from_secs(6), "the legitimate client waited: {:?}", started.elapsed());

    let (sent, closed_at, answer) = slow_head.await.unwrap();
    let closed_at = closed_at.expect("the slow head was cut off");
    let after = closed_at - started;
    assert!(after >= Duration::from_secs(8) && after <= Duration::from_secs(16), "cut off after {after:?}");
    assert!(sent < 10, "{sent} bytes went through");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{answer}");

    let (sent, closed_at, answer) = slow_body.await.unwrap();
    let after = closed_at.expect("the slow body was cut off") - started;
    assert!(after <= Duration::from_secs(16), "cut off after {after:?}");
    assert!(sent < 10, "{sent} bytes went through");
    assert!(answer.is_empty(), "an incomplete body gets no answer");

    // The slow requests never reached the device: only the legitimate client's session exists.
    assert_eq!(device.opened.load(Ordering::SeqCst), 1);
    // After the 408 the server lingers (500 ms) before closing its side.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(server.open_connections(), 1, "only the legitimate client's connection is left");
}

#[tokio::test(start_paused = true)]
async fn slowloris_clients_do_not_stop_a_provisioning_run() {
    let mut config = SimConfig::new(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) });
    config.join_delay = Duration::from_secs(3);
    config.seed = Some(7);
    let device = SimDevice::new(config);
    let link: Arc<dyn DeviceLink> = device.clone();
    let server = HttpDeviceServer::bind(loopback(), link).unwrap().spawn();
    let addr = server.local_addr();

    // Three slow heads and two slow bodies, one byte every 4 s, under the socket cap (7).
    let mut slow = Vec::new();
    for i in 0..5 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let bytes = if i % 2 == 0 {
            slow_head()
        } else {
            let request = slow_body();
            let (head, body) = request.split_at(request.len() - 200);
            stream.write_all(head).await.unwrap();
            body.to_vec()
        };
        slow.push(tokio::spawn(dribble(stream, bytes, Duration::from_secs(4))));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let transport: Arc<dyn Transport> = Arc::new(transport_to(server.host()));
    let mut request = ProvisionRequest::new(NetworkCredentials::Wifi {
        ssid: b"RefPeer-Home".to_vec(),
        passphrase: Secret::from("secretpass"),
    });
    request.session.pop = Some(Secret::from(POP));
    let outcome = provision::provision(transport, request, None, &CancelToken::new()).await.unwrap();
    assert!(matches!(outcome.joined, Joined::Wifi { .. }));
    assert_eq!(device.connected_ssid().as_deref(), Some(&b"RefPeer-Home"[..]));

    for task in slow {
        let (sent, closed_at, _) = task.await.unwrap();
        assert!(closed_at.is_some(), "a slow client was cut off");
        assert!(sent < 10, "{sent} bytes went through");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_connections_does_not_starve_a_legitimate_client() {
    let device = Arc::new(EchoDevice::default());
    let link: Arc<dyn DeviceLink> = device.clone();
    let server = HttpDeviceServer::bind(loopback(), link).unwrap().spawn();
    let addr = server.local_addr();
    let transport = transport_to(server.host());

    let mut flood: std::collections::VecDeque<TcpStream> = std::collections::VecDeque::new();
    let mut first_of_flood = None;
    for round in 0..5u8 {
        for i in 0..250 {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            if i % 2 == 0 {
                // Half of them start a request and stall.
                stream.write_all(b"POST /echo HTTP/1.1\r\n").await.unwrap();
            }
            if first_of_flood.is_none() {
                first_of_flood = Some(stream);
                continue;
            }
            flood.push_back(stream);
            // The client keeps its own descriptors bounded; the server purged these long ago.
            if flood.len() > 200 {
                flood.pop_front();
            }
            assert!(server.open_connections() <= DEFAULT_MAX_OPEN_SOCKETS);
        }
        // Wait until the server has accepted the whole round (it accepts in order): a last
        // connection gets its answer (405, which never reaches the device). Otherwise the server
        // could purge the legitimate client's connection while its request is on the way.
        let mut probe = TcpStream::connect(addr).await.unwrap();
        probe.write_all(b"GET /echo HTTP/1.1\r\n\r\n").await.unwrap();
        let (answer, closed) = read_until_closed(&mut probe, Duration::from_secs(10)).await;
        assert!(closed && answer.starts_with(b"HTTP/1.1 405 "), "{}", String::from_utf8_lossy(&answer));

        let answer = transport.send("echo".into(), vec![round; 10]).await.unwrap();
        assert_eq!(answer, vec![round; 10], "round {round}");
        assert!(server.open_connections() <= DEFAULT_MAX_OPEN_SOCKETS);
    }
    assert!(server.peak_open_connections() <= DEFAULT_MAX_OPEN_SOCKETS, "peak {}", server.peak_open_connections());
    // The first flood connection was purged (closed by the server, not by its idle timeout).
    let (_, closed) = read_until_closed(first_of_flood.as_mut().unwrap(), Duration::from_secs(5)).await;
    assert!(closed, "the oldest idle connection was purged");
    // The legitimate client kept its device session across purges of its connection (cookie).
    assert_eq!(device.opened.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    let device = Arc::new(EchoDevice::default());
    let link: Arc<dyn DeviceLink> = device.clone();
    let server = HttpDeviceServer::bind(loopback(), link).unwrap().idle_timeout(Duration::from_secs(30)).spawn();
    let addr = server.local_addr();

    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut served = TcpStream::connect(addr).await.unwrap();
    let mut busy = TcpStream::connect(addr).await.unwrap();
    let request = b"POST /echo HTTP/1.1\r\nHost: device\r\nContent-Length: 2\r\n\r\nhi";
    served.write_all(request).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let n = served.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200 OK\r\n"));
    let started = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(server.open_connections(), 3);

    // A connection used every 20 s stays open; the other two are closed at 30 s.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(20)).await;
        busy.write_all(request).await.unwrap();
        let n = busy.read(&mut answer).await.unwrap();
        assert!(answer[..n].starts_with(b"HTTP/1.1 200 OK\r\n"));
    }
    let (received, closed) = read_until_closed(&mut silent, Duration::from_secs(1)).await;
    assert!(closed && received.is_empty(), "a connection that never sent anything is closed quietly");
    let (received, closed) = read_until_closed(&mut served, Duration::from_secs(1)).await;
    assert!(closed && received.is_empty(), "an idle keep-alive connection is closed quietly");
    assert!(started.elapsed() >= Duration::from_secs(30));
    assert_eq!(server.open_connections(), 1, "only the busy connection is left");

    let (_, closed) = read_until_closed(&mut busy, Duration::from_secs(60)).await;
    assert!(closed, "the busy connection, once idle, is closed too");
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(server.open_connections(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_sockets_never_exceed_the_configured_cap() {
    for cap in [1, 3] {
        let device = Arc::new(EchoDevice::default());
        let link: Arc<dyn DeviceLink> = device.clone();
        let server: HttpServerHandle = HttpDeviceServer::bind(loopback(), link).unwrap().max_open_sockets(cap).spawn();
        let addr = server.local_addr();

        // 60 clients at once: some idle, some stalled mid-request, some completing requests.
        let mut clients = Vec::new();
        for i in 0..60u8 {
            clients.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                match i % 3 {
                    0 => {}
                    1 => {
                        let _ = stream.write_all(b"POST /echo HTTP/1.1\r\nContent-Le").await;
                    }
                    _ => {
                        let _ = stream.write_all(b"POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\nx").await;
                    }
                }
                // Hold the socket until the server closes it (purge) or a while has passed.
                let _ = read_until_closed(&mut stream, Duration::from_millis(500)).await;
            }));
        }
        let sampler = async {
            for _ in 0..200 {
                assert!(server.open_connections() <= cap, "cap {cap}: {} open", server.open_connections());
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        sampler.await;
        for client in clients {
            client.await.unwrap();
        }
        assert!(server.peak_open_connections() <= cap, "cap {cap}: peak {}", server.peak_open_connections());
        assert!(server.peak_open_connections() >= 1);

        // And a legitimate client still gets through.
        let transport = transport_to(server.host());
        assert_eq!(transport.send("echo".into(), b"ok".to_vec()).await.unwrap(), b"ok");
    }
}

// ---------------------------------------------------------------------------------------------
// Client side: a fake device on raw TCP.
// ---------------------------------------------------------------------------------------------

/// What the fake device does after writing its reply.
#[derive(Clone, Copy)]
enum Then {
    /// Close the connection.
    Close,
    /// Keep the connection open without sending anything more.
    Hang,
    /// Send one more byte every 100 ms, forever.
    Dribble,
}

/// A fake device that reads one request on each connection and answers it with `reply`.
async fn fake_device(reply: Vec<u8>, then: Then) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let reply = Arc::new(reply);
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let reply = Arc::clone(&reply);
            tokio::spawn(async move {
                // The transport sends its whole request at once; one read of its head suffices
                // for this peer, which ignores the request.
                let mut request = vec![0u8; 8192];
                let _ = socket.read(&mut request).await;
                // The client may stop reading (and reset) part-way: write errors are expected.
                let _ = socket.write_all(&reply).await;
                match then {
                    Then::Close => {}
                    Then::Hang => tokio::time::sleep(Duration::from_secs(60)).await,
                    Then::Dribble => loop {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        if socket.write_all(b"x").await.is_err() {
                            break;
                        }
                    },
                }
            });
        }
    });
    (addr, task)
}

/// Sends one request to a fake device answering `reply`, with a `request_timeout` of 2 s.
async fn exchange_with(reply: Vec<u8>, then: Then) -> (Result<Vec<u8>, TransportError>, Duration) {
    let (addr, task) = fake_device(reply, then).await;
    let transport = HttpTransport::new(HttpConfig {
        host: addr.to_string(),
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(2),
    });
    let started = std::time::Instant::now();
    let result = transport.send("proto-ver".into(), b"---".to_vec()).await;
    let elapsed = started.elapsed();
    task.abort();
    (result, elapsed)
}

fn too_large(what: &'static str, limit: usize) -> TransportError {
    TransportError::ResponseTooLarge { what: what.into(), limit: limit as u64 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_megabyte_header_is_refused_at_the_head_limit() {
    let mut reply = b"HTTP/1.1 200 OK\r\nX-Huge: ".to_vec();
    reply.extend(std::iter::repeat_n(b'a', 1024 * 1024));
    reply.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nok");
    let (result, elapsed) = exchange_with(reply, Then::Hang).await;
    assert_eq!(result, Err(too_large("response head bytes", MAX_RESPONSE_HEAD)));
    assert!(elapsed < Duration::from_secs(2), "refused before the exchange timeout: {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_headers_are_refused() {
    let mut reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n".to_vec();
    for i in 0..10_000 {
        reply.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    reply.extend_from_slice(b"\r\nok");
    let (result, _) = exchange_with(reply, Then::Hang).await;
    // 10,000 headers do not even fit the head limit.
    assert_eq!(result, Err(too_large("response head bytes", MAX_RESPONSE_HEAD)));

    // Many tiny headers within the head limit hit the header count limit.
    let mut reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n".to_vec();
    for _ in 0..MAX_RESPONSE_HEADERS {
        reply.extend_from_slice(b"a:b\r\n");
    }
    reply.extend_from_slice(b"\r\nok");
    assert!(reply.len() < MAX_RESPONSE_HEAD);
    let (result, _) = exchange_with(reply, Then::Hang).await;
    assert_eq!(result, Err(too_large("response headers", MAX_RESPONSE_HEADERS)));

    // Exactly the limit is fine.
    let mut reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n".to_vec();
    for _ in 1..MAX_RESPONSE_HEADERS {
        reply.extend_from_slice(b"a:b\r\n");
    }
    reply.extend_from_slice(b"\r\nok");
    let (result, _) = exchange_with(reply, Then::Hang).await;
    assert_eq!(result, Ok(b"ok".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_content_length_is_refused_before_reading_the_body() {
    for length in ["99999999999", "99999999999999999999999999999999", &(MAX_RESPONSE_BODY + 1).to_string()] {
        let reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\nshort").into_bytes();
        let (result, elapsed) = exchange_with(reply, Then::Hang).await;
        assert_eq!(result, Err(too_large("Content-Length", MAX_RESPONSE_BODY)), "{length}");
        assert!(elapsed < Duration::from_secs(2), "refused at once, not after the timeout: {elapsed:?}");
    }
    // Signs and spaces are not digits.
    let (result, _) = exchange_with(b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok".to_vec(), Then::Hang).await;
    assert!(matches!(result, Err(TransportError::Io { .. })), "{result:?}");

    // A body of exactly the limit is accepted.
    let mut reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {MAX_RESPONSE_BODY}\r\n\r\n").into_bytes();
    reply.extend(std::iter::repeat_n(b'z', MAX_RESPONSE_BODY));
    let (result, _) = exchange_with(reply, Then::Hang).await;
    assert_eq!(result.unwrap().len(), MAX_RESPONSE_BODY);

    // Without a length, the body runs to the close: bounded the same way.
    let mut reply = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
    reply.extend(std::iter::repeat_n(b'z', MAX_RESPONSE_BODY + 1));
    let (result, _) = exchange_with(reply, Then::Close).await;
    assert_eq!(result, Err(too_large("response body bytes", MAX_RESPONSE_BODY)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_finishes_is_bounded_by_the_exchange_timeout() {
    let cases: [(&[u8], Then); 3] = [
        // Announced 100 bytes, sent 5, then silence.
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", Then::Hang),
        // No length: the body would run to the close, which never comes (one byte every 100 ms).
        (b"HTTP/1.1 200 OK\r\n\r\nstart", Then::Dribble),
        // A head that never ends.
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", Then::Dribble),
    ];
    for (reply, then) in cases {
        let (result, elapsed) = exchange_with(reply.to_vec(), then).await;
        assert_eq!(result, Err(TransportError::Timeout { millis: 2000 }), "{}", String::from_utf8_lossy(reply));
        assert!(elapsed < Duration::from_secs(10), "bounded: {elapsed:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_cookie_is_refused() {
    // Within the head limit, but far beyond any device's cookie.
    let cookie = "9".repeat(4000);
    let reply = format!("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: session={cookie}\r\n\r\nok").into_bytes();
    let (result, _) = exchange_with(reply, Then::Hang).await;
    assert_eq!(result, Err(too_large("Set-Cookie session value bytes", MAX_COOKIE_LEN)));

    // A megabyte cookie never fits the head.
    let cookie = "9".repeat(1024 * 1024);
    let reply = format!("HTTP/1.1 200 OK\r\nSet-Cookie: session={cookie}\r\nContent-Length: 2\r\n\r\nok").into_bytes();
    let (result, _) = exchange_with(reply, Then::Hang).await;
    assert_eq!(result, Err(too_large("response head bytes", MAX_RESPONSE_HEAD)));

    // A device-sized cookie is kept (and attributes dropped).
    let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: session=4294967295; Path=/\r\n\r\nok".to_vec();
    let (result, _) = exchange_with(reply, Then::Hang).await;
    assert_eq!(result, Ok(b"ok".to_vec()));
}
