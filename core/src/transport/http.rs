//! SoftAP/HTTP transport: one `POST /{endpoint}` per exchange on one kept-alive TCP connection,
//! carrying the device's session cookie (docs/protocol.md §5.2).
//!
//! The device serves a single socket (`max_open_sockets = 1`, least-recently-used purge) and
//! reports every protocomm failure (handshake, decryption, handler) by closing the connection
//! without an HTTP response. So this transport speaks a deliberately small HTTP/1.1 itself: exactly
//! one connection at a time, never a retried request, the request headers of Espressif's own
//! client, the `Cookie` header managed by hand (the device compares its whole value with
//! `session=<id>`), and a connection closed before any response byte reported as
//! [`TransportError::ClosedWithoutResponse`].

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Transport, TransportError, TransportKind};

/// The largest request body the device accepts (`Content-Length` 1..=4096).
pub const HTTP_MAX_PAYLOAD: usize = 4096;

/// Where ESP-IDF's SoftAP provisioning serves its endpoints.
pub const DEFAULT_DEVICE_HOST: &str = "192.168.4.1:80";

/// Longest response head accepted: status line, header lines and the blank line, in bytes.
/// A device sends about 100 bytes (status line and three or four short headers); a longer head
/// fails with [`TransportError::ResponseTooLarge`] as soon as this many bytes arrived without its
/// end.
pub const MAX_RESPONSE_HEAD: usize = 8 * 1024;

/// Most header lines accepted in one response (a device sends three or four).
pub const MAX_RESPONSE_HEADERS: usize = 32;

/// Largest response body accepted, whether announced by `Content-Length` or read to the end of
/// the connection. Device answers are a few kilobytes at most (a 16-network scan page, a
/// RainMaker reply); a larger `Content-Length` is refused before any of the body is read, and
/// the body buffer only ever grows by what actually arrived.
pub const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// Longest `session=<id>` cookie kept from `Set-Cookie` (attributes after `;` are dropped). A
/// device's is at most 18 characters (`session=` and a `u32`); it only accepts back one shorter
/// than 20 characters.
pub const MAX_COOKIE_LEN: usize = 64;

/// Settings of an [`HttpTransport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// The device as `host:port` (default `192.168.4.1:80`; port 80 when omitted).
    pub host: String,
    /// How long to wait for the TCP connection (default 10 s). Expiry gives
    /// [`TransportError::Unreachable`]: nothing was sent.
    pub connect_timeout: Duration,
    /// How long one exchange may take, connecting included (default 30 s; a device answers a
    /// Wi-Fi scan request only when the scan is over). Expiry gives [`TransportError::Timeout`].
    pub request_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            host: DEFAULT_DEVICE_HOST.to_owned(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Transport to a device in SoftAP mode: HTTP/1.1 POSTs with ESP-IDF's session cookie.
///
/// One instance talks to one device over at most one connection. Exchanges are serialised
/// (never two requests in flight); a request is never sent twice.
pub struct HttpTransport {
    config: HttpConfig,
    state: Mutex<State>,
    /// Serialises exchanges.
    gate: tokio::sync::Mutex<()>,
}

/// What [`Transport::disconnect`] throws away.
#[derive(Default)]
struct State {
    /// The kept-alive connection while no exchange is using it.
    connection: Option<TcpStream>,
    /// The `session=<n>` part of the device's last `Set-Cookie`, sent back verbatim.
    cookie: Option<String>,
    /// Bumped by every disconnect, so that an exchange in flight across a disconnect neither
    /// stores its cookie nor returns its connection.
    generation: u64,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("config", &self.config)
            .field("has_session", &self.has_session())
            .finish_non_exhaustive()
    }
}

/// A parsed response.
struct Response {
    status: u16,
    /// `session=<n>` from a `Set-Cookie` header, if any.
    cookie: Option<String>,
    body: Vec<u8>,
    /// Whether the connection can carry the next request.
    reusable: bool,
}

/// The response head.
struct Head {
    status: u16,
    cookie: Option<String>,
    length: Option<usize>,
    reusable: bool,
}

impl HttpTransport {
    /// A transport for the device at `config.host`. Nothing is connected until the first
    /// [`Transport::send`].
    pub fn new(config: HttpConfig) -> Self {
        Self { config, state: Mutex::new(State::default()), gate: tokio::sync::Mutex::new(()) }
    }

    /// The settings this transport was made with.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Whether the device has given this transport a session cookie (since the last disconnect).
    pub fn has_session(&self) -> bool {
        self.lock_state().cookie.is_some()
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        // No invariant spans the fields: a panic elsewhere cannot leave them inconsistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `host:port` to connect to (port 80 when the configuration names none).
    fn address(&self) -> String {
        let host = self.config.host.as_str();
        let has_port =
            host.rsplit_once(':').is_some_and(|(name, port)| !name.is_empty() && port.parse::<u16>().is_ok());
        if has_port { host.to_owned() } else { format!("{host}:80") }
    }

    /// The `Host` header value: the host, with the port only when it is not 80 (as Python's
    /// `http.client`, which the reference client uses, writes it).
    fn host_header(&self) -> &str {
        let host = self.config.host.as_str();
        host.strip_suffix(":80").unwrap_or(host)
    }

    fn request_timeout_ms(&self) -> u64 {
        u64::try_from(self.config.request_timeout.as_millis()).unwrap_or(u64::MAX)
    }

    async fn connect(&self) -> Result<TcpStream, TransportError> {
        let address = self.address();
        let stream = match tokio::time::timeout(self.config.connect_timeout, TcpStream::connect(&address)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                return Err(TransportError::Unreachable { detail: format!("{address}: {error}") });
            }
            Err(_elapsed) => {
                return Err(TransportError::Unreachable {
                    detail: format!(
                        "no TCP connection to {address} within {} ms",
                        self.config.connect_timeout.as_millis()
                    ),
                });
            }
        };
        if let Err(error) = stream.set_nodelay(true) {
            log::debug!("http transport: cannot set TCP_NODELAY: {error}");
        }
        log::debug!("http transport: connected to {address}");
        Ok(stream)
    }

    fn request_bytes(&self, endpoint: &str, cookie: Option<&str>, body: &[u8]) -> Vec<u8> {
        // Header order and spelling of Espressif's Python client (its http.client).
        let mut head = format!(
            "POST /{endpoint} HTTP/1.1\r\nHost: {}\r\nAccept-Encoding: identity\r\n\
             Content-Length: {}\r\nContent-type: application/x-www-form-urlencoded\r\n\
             Accept: text/plain\r\n",
            self.host_header(),
            body.len()
        );
        if let Some(cookie) = cookie {
            head.push_str("Cookie: ");
            head.push_str(cookie);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        bytes
    }

    /// One exchange, without the overall timeout. Gives back the connection when it can carry
    /// the next request.
    async fn exchange(
        &self,
        connection: Option<TcpStream>,
        request: &[u8],
    ) -> Result<(Response, Option<TcpStream>), TransportError> {
        let mut stream = match connection.filter(still_open) {
            Some(stream) => stream,
            None => self.connect().await?,
        };
        if let Err(error) = stream.write_all(request).await {
            log::debug!("http transport: write failed: {error}");
            return Err(TransportError::ClosedWithoutResponse);
        }
        let response = read_response(&mut stream).await?;
        // The device closes the socket after every error response (404, 405, ...): only a 200
        // leaves a connection worth keeping.
        let keep = (response.reusable && response.status == 200).then_some(stream);
        Ok((response, keep))
    }
}

/// Whether an idle kept-alive connection is still usable: the device closes idle sockets (LRU
/// purge) and every socket after an error, so a connection that has seen EOF (or stray data)
/// must not carry a request.
fn still_open(stream: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    match stream.try_read(&mut probe) {
        Err(error) => error.kind() == std::io::ErrorKind::WouldBlock,
        Ok(_) => false,
    }
}

/// Reads one response. A connection closed or reset before the first response byte is the
/// device's "no response" (handler failure). Every size the device controls is bounded (see
/// [`MAX_RESPONSE_HEAD`], [`MAX_RESPONSE_HEADERS`], [`MAX_RESPONSE_BODY`], [`MAX_COOKIE_LEN`]);
/// time is bounded by the caller's exchange timeout.
async fn read_response(stream: &mut TcpStream) -> Result<Response, TransportError> {
    let mut buffer = Vec::new();
    // Where the search for the end of the head resumes (the terminator may straddle reads).
    let mut searched = 0;
    let head_end = loop {
        if let Some(offset) = buffer[searched..].windows(4).position(|w| w == b"\r\n\r\n") {
            break searched + offset;
        }
        searched = buffer.len().saturating_sub(3);
        if buffer.len() >= MAX_RESPONSE_HEAD {
            return Err(TransportError::response_too_large("response head bytes", MAX_RESPONSE_HEAD));
        }
        // Never read past the head bound: the buffer stays within MAX_RESPONSE_HEAD.
        let mut chunk = [0u8; 2048];
        let want = (MAX_RESPONSE_HEAD - buffer.len()).min(chunk.len());
        let read = stream.read(&mut chunk[..want]).await;
        match read {
            Ok(0) if buffer.is_empty() => return Err(TransportError::ClosedWithoutResponse),
            Err(error) if buffer.is_empty() && is_peer_close(&error) => {
                return Err(TransportError::ClosedWithoutResponse);
            }
            Ok(0) => {
                return Err(TransportError::Disconnected {
                    detail: "connection closed inside the response head".to_owned(),
                });
            }
            Err(error) => return Err(TransportError::Disconnected { detail: error.to_string() }),
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    if head_end + 4 > MAX_RESPONSE_HEAD {
        return Err(TransportError::response_too_large("response head bytes", MAX_RESPONSE_HEAD));
    }
    let head = parse_head(&buffer[..head_end])?;
    let mut body = buffer.split_off(head_end + 4);
    let mut reusable = head.reusable;
    match head.length {
        Some(length) => {
            // `parse_head` refused any length above MAX_RESPONSE_BODY; the body grows only by
            // what arrives.
            if body.len() > length {
                // Bytes beyond the announced body: the connection cannot be trusted any more.
                body.truncate(length);
                reusable = false;
            }
            while body.len() < length {
                let mut chunk = [0u8; 4096];
                let want = (length - body.len()).min(chunk.len());
                match stream.read(&mut chunk[..want]).await {
                    Ok(0) => {
                        return Err(TransportError::Disconnected {
                            detail: "connection closed inside the response body".to_owned(),
                        });
                    }
                    Ok(n) => body.extend_from_slice(&chunk[..n]),
                    Err(error) => return Err(TransportError::Disconnected { detail: error.to_string() }),
                }
            }
        }
        None => {
            // No length: the body runs to the end of the connection.
            reusable = false;
            if body.len() > MAX_RESPONSE_BODY {
                return Err(TransportError::response_too_large("response body bytes", MAX_RESPONSE_BODY));
            }
            let mut limited = (&mut *stream).take((MAX_RESPONSE_BODY + 1 - body.len()) as u64);
            limited
                .read_to_end(&mut body)
                .await
                .map_err(|error| TransportError::Disconnected { detail: error.to_string() })?;
            if body.len() > MAX_RESPONSE_BODY {
                return Err(TransportError::response_too_large("response body bytes", MAX_RESPONSE_BODY));
            }
        }
    }
    Ok(Response { status: head.status, cookie: head.cookie, body, reusable })
}

/// Parses a `Content-Length` value: ASCII digits only (no sign, no spaces inside). A value
/// above [`MAX_RESPONSE_BODY`] (however many digits) is [`TransportError::ResponseTooLarge`].
fn parse_content_length(value: &str) -> Result<usize, TransportError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("Content-Length"));
    }
    // Digits only, so parsing can fail by overflow alone: too large either way.
    match value.parse::<usize>() {
        Ok(length) if length <= MAX_RESPONSE_BODY => Ok(length),
        _ => Err(TransportError::response_too_large("Content-Length", MAX_RESPONSE_BODY)),
    }
}

fn is_peer_close(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::UnexpectedEof
    )
}

fn malformed(what: &str) -> TransportError {
    TransportError::Io { detail: format!("malformed HTTP response: {what}") }
}

fn parse_head(bytes: &[u8]) -> Result<Head, TransportError> {
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err(malformed("status line")),
    };
    let status: u16 = parts
        .next()
        .filter(|code| code.len() == 3)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| malformed("status code"))?;

    let mut length = None;
    let mut cookie = None;
    let mut reusable = http11;
    for (index, line) in lines.enumerate() {
        if index >= MAX_RESPONSE_HEADERS {
            return Err(TransportError::response_too_large("response headers", MAX_RESPONSE_HEADERS));
        }
        let (name, value) = line.split_once(':').ok_or_else(|| malformed("header line"))?;
        let value = value.trim_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("Content-Length") {
            let parsed = parse_content_length(value)?;
            if length.is_some_and(|previous| previous != parsed) {
                return Err(malformed("conflicting Content-Length"));
            }
            length = Some(parsed);
        } else if name.eq_ignore_ascii_case("Transfer-Encoding") {
            return Err(TransportError::Io {
                detail: "chunked HTTP responses are not supported (the device never sends them)".to_owned(),
            });
        } else if name.eq_ignore_ascii_case("Set-Cookie") {
            let pair = value.split(';').next().unwrap_or_default().trim();
            if pair.starts_with("session=") {
                if pair.len() > MAX_COOKIE_LEN {
                    return Err(TransportError::response_too_large("Set-Cookie session value bytes", MAX_COOKIE_LEN));
                }
                cookie = Some(pair.to_owned());
            }
        } else if name.eq_ignore_ascii_case("Connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    reusable = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    reusable = true;
                }
            }
        }
    }
    Ok(Head { status, cookie, length, reusable })
}

/// Whether `endpoint` can be sent as one URL path segment unchanged (RFC 3986 `pchar` without
/// percent-encoding). Endpoint names are plain ASCII such as `prov-session` or `cloud_user_assoc`.
fn valid_endpoint(endpoint: &str) -> bool {
    !endpoint.is_empty() && endpoint.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b))
}

#[async_trait]
impl Transport for HttpTransport {
    async fn send(&self, endpoint: String, data: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let _exchange = self.gate.lock().await;
        if data.is_empty() {
            return Err(TransportError::Io {
                detail: "empty request body: the device rejects requests without a body".to_owned(),
            });
        }
        if data.len() > HTTP_MAX_PAYLOAD {
            return Err(TransportError::payload_too_large(data.len(), HTTP_MAX_PAYLOAD));
        }
        if !valid_endpoint(&endpoint) {
            return Err(TransportError::Io {
                detail: format!("endpoint name `{}` cannot be sent as an HTTP path", endpoint.escape_default()),
            });
        }

        let (connection, cookie, generation) = {
            let mut state = self.lock_state();
            (state.connection.take(), state.cookie.clone(), state.generation)
        };
        let request = self.request_bytes(&endpoint, cookie.as_deref(), &data);
        log::debug!("http transport: POST /{endpoint}, {} bytes", data.len());

        let outcome = tokio::time::timeout(self.config.request_timeout, self.exchange(connection, &request)).await;
        let response = match outcome {
            Ok(Ok((response, keep))) => {
                let mut state = self.lock_state();
                if state.generation == generation {
                    state.connection = keep;
                    if let Some(new_cookie) = &response.cookie
                        && state.cookie.as_ref() != Some(new_cookie)
                    {
                        log::debug!("http transport: the device started a new session");
                        state.cookie = Some(new_cookie.clone());
                    }
                }
                response
            }
            Ok(Err(error)) => {
                log::debug!("http transport: /{endpoint} failed: {error}");
                return Err(error);
            }
            Err(_elapsed) => {
                log::debug!("http transport: /{endpoint} timed out");
                return Err(TransportError::Timeout { millis: self.request_timeout_ms() });
            }
        };

        match response.status {
            200 => {
                log::debug!("http transport: /{endpoint} answered {} bytes", response.body.len());
                Ok(response.body)
            }
            404 => Err(TransportError::EndpointNotFound { endpoint }),
            status => Err(TransportError::HttpStatus { code: status }),
        }
    }

    fn max_payload(&self) -> Option<usize> {
        Some(HTTP_MAX_PAYLOAD)
    }

    fn kind(&self) -> TransportKind {
        TransportKind::SoftAp
    }

    async fn disconnect(&self) {
        let mut state = self.lock_state();
        // Dropping the idle connection closes it; the next exchange connects again and, without a
        // cookie, makes the device start a new session.
        state.connection = None;
        state.cookie = None;
        state.generation = state.generation.wrapping_add(1);
        log::debug!("http transport: disconnected");
    }
}
