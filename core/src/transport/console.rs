//! Serial-console transport: one command line per exchange on the device's UART REPL
//! (docs/protocol.md §5.3), over a serial port or any other byte stream.
//!
//! A request is the line `<endpoint> <session-id> <hex>` terminated by CR. The device echoes every
//! character (the CR as CR LF), then prints `\r\n<hex>\r\n` with the response and its prompt
//! `\n>> `; when the request fails it prints only the prompt. The device collects at most 255
//! characters per line, CR included, so a request whose line would be longer is refused here with
//! [`TransportError::PayloadTooLarge`] before anything is written: the console cannot carry the
//! security 2 handshake (docs/protocol.md §12 item 9).
//!
//! The transport session id is a random nine-digit decimal number, drawn again after
//! [`Transport::disconnect`] (and never equal to the previous one), so the device opens a new
//! security session. Nine digits keep the line length independent of the draw and the value
//! within a signed 32-bit integer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rand::RngExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::{Transport, TransportError, TransportKind};

/// The longest request line the device accepts, without its terminating CR: its line buffer
/// holds 255 characters and the CR must be one of them.
pub const CONSOLE_MAX_LINE: usize = 254;

/// The prompt the device prints after every command, successful or not.
pub const CONSOLE_PROMPT: &[u8] = b"\n>> ";

/// The usual baud rate of an ESP32's UART0 console.
pub const DEFAULT_BAUD_RATE: u32 = 115_200;

/// Number of decimal digits of every session id this transport sends.
pub const SESSION_ID_DIGITS: usize = 9;

/// The range session ids are drawn from: always [`SESSION_ID_DIGITS`] digits.
const SESSION_IDS: std::ops::RangeInclusive<u32> = 100_000_000..=999_999_999;

/// The longest name among the standard endpoints (`proto-ver`, `prov-session`, `prov-config`,
/// `prov-scan`, `prov-ctrl`); [`Transport::max_payload`] assumes at least this long a name.
const LONGEST_STANDARD_ENDPOINT: &str = "prov-session";

/// How many bytes may arrive between a request and the device's prompt before the exchange is
/// abandoned (responses are a few kilobytes of hex at most; log output may add some).
const MAX_REPLY_BYTES: usize = 256 * 1024;

/// How many stale bytes (boot messages, answers to abandoned requests) are discarded before a
/// request at most; anything beyond is left for the reply parser, which skips it as well.
const MAX_DRAIN_BYTES: usize = 64 * 1024;

/// The largest request (in bytes) whose line fits the device's buffer when sent to an endpoint
/// whose name is `endpoint_len` characters long: `(254 - (endpoint_len + 1 + 9 + 1)) / 2`, as the
/// line is the name, a space, the nine-digit session id, a space and two hex digits per byte.
///
/// `prov-config` gives 116 bytes and `prov-session` 115 (with esp_prov's one-digit session id
/// `0` the device would take 120 bytes for `prov-config`).
pub fn console_payload_limit(endpoint_len: usize) -> usize {
    CONSOLE_MAX_LINE.saturating_sub(endpoint_len + SESSION_ID_DIGITS + 2) / 2
}

/// Settings of a [`ConsoleTransport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// How long one exchange may take, from writing the line to the device's prompt (default
    /// 30 s; the device answers a Wi-Fi scan request only when the scan is over). Expiry gives
    /// [`TransportError::Timeout`].
    pub request_timeout: Duration,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self { request_timeout: Duration::from_secs(30) }
    }
}

/// The byte streams a [`ConsoleTransport`] runs over.
trait ByteStream: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> ByteStream for T {}

/// Transport to a device's provisioning console over a serial line (or any byte stream).
///
/// Exchanges are strictly sequential; a request is never sent twice.
pub struct ConsoleTransport {
    config: ConsoleConfig,
    /// What the stream is (a port path, or "byte stream"), for logs and Debug.
    name: String,
    /// The link; holding the lock is holding the right to exchange.
    stream: tokio::sync::Mutex<Box<dyn ByteStream>>,
    session: Mutex<SessionIds>,
    /// Length of the longest endpoint name sent so far.
    longest_endpoint: AtomicUsize,
}

/// The transport session id in use and the one used last.
#[derive(Debug, Default)]
struct SessionIds {
    current: Option<u32>,
    last: Option<u32>,
}

impl std::fmt::Debug for ConsoleTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleTransport")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("session_id", &self.session_id())
            .finish_non_exhaustive()
    }
}

impl ConsoleTransport {
    /// A transport over `stream`: a serial port, one end of a pseudo-terminal, an in-memory pipe.
    pub fn new<S>(stream: S, config: ConsoleConfig) -> Self
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        Self::named(stream, config, "byte stream".to_owned())
    }

    fn named<S>(stream: S, config: ConsoleConfig, name: String) -> Self
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        Self {
            config,
            name,
            stream: tokio::sync::Mutex::new(Box::new(stream)),
            session: Mutex::new(SessionIds::default()),
            longest_endpoint: AtomicUsize::new(LONGEST_STANDARD_ENDPOINT.len()),
        }
    }

    /// Opens the serial port at `path` (e.g. `/dev/ttyUSB0`, `COM3`, a pseudo-terminal) at
    /// `baud_rate`, 8 data bits, no parity, one stop bit, no flow control, and discards whatever
    /// the device printed before.
    ///
    /// On Unix the port is opened for exclusive use; the exclusivity is released when the
    /// transport is dropped. Must be called inside a tokio runtime (the port is registered with
    /// its reactor); outside one, or when the port cannot be opened, it fails with
    /// [`TransportError::Unreachable`].
    pub fn open_serial(path: &str, baud_rate: u32, config: ConsoleConfig) -> Result<Self, TransportError> {
        use tokio_serial::{SerialPort, SerialPortBuilderExt};

        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TransportError::Unreachable {
                detail: format!("{path}: opening a serial port needs a tokio runtime"),
            });
        }
        let port = tokio_serial::new(path, baud_rate)
            .open_native_async()
            .map_err(|error| TransportError::Unreachable { detail: format!("{path}: {error}") })?;
        if let Err(error) = port.clear(tokio_serial::ClearBuffer::Input) {
            log::debug!("console transport: cannot flush the input of {path}: {error}");
        }
        log::debug!("console transport: opened {path} at {baud_rate} baud");
        Ok(Self::named(SerialLink(port), config, path.to_owned()))
    }

    /// The settings this transport was made with.
    pub fn config(&self) -> &ConsoleConfig {
        &self.config
    }

    /// The session id sent with the requests of the current transport session, if one started
    /// (since the last disconnect).
    pub fn session_id(&self) -> Option<u32> {
        self.lock_session().current
    }

    fn lock_session(&self) -> std::sync::MutexGuard<'_, SessionIds> {
        // Two plain fields, each written in one statement: usable even after a panic elsewhere.
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current session id, drawing a new one (different from the last) if there is none.
    fn session(&self) -> u32 {
        let mut ids = self.lock_session();
        if let Some(id) = ids.current {
            return id;
        }
        let mut rng = rand::rng();
        let id = loop {
            let candidate = rng.random_range(SESSION_IDS);
            if ids.last != Some(candidate) {
                break candidate;
            }
        };
        ids.current = Some(id);
        ids.last = Some(id);
        log::debug!("console transport: new transport session");
        id
    }

    fn request_timeout_ms(&self) -> u64 {
        u64::try_from(self.config.request_timeout.as_millis()).unwrap_or(u64::MAX)
    }
}

/// A serial port opened by [`ConsoleTransport::open_serial`]; gives up its exclusive use when
/// dropped, so that the next program can open the port even if another process keeps it open
/// (as the simulator does with its pseudo-terminal).
struct SerialLink(tokio_serial::SerialStream);

impl Drop for SerialLink {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Err(error) = self.0.set_exclusive(false) {
            log::debug!("console transport: cannot release the port: {error}");
        }
    }
}

impl AsyncRead for SerialLink {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for SerialLink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Whether `endpoint` can be sent as the command word of a console line: printable ASCII without
/// spaces (endpoint names are plain ASCII such as `prov-session` or `cloud_user_assoc`).
fn valid_endpoint(endpoint: &str) -> bool {
    !endpoint.is_empty() && endpoint.bytes().all(|b| b.is_ascii_graphic())
}

fn to_hex(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(data.len() * 2);
    for byte in data {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Decodes a response line: an even number of hex digits (either case), nothing else.
fn from_hex(text: &[u8]) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    text.chunks_exact(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// Looks for the reply to the request line `echo` (the line with its CR) in what the device sent
/// since the request was written. `None`: not complete yet.
///
/// The reply starts after the echo of the request and ends at the next prompt. The first line
/// of hex digits in between is the response; other lines (log output) are ignored; no hex line
/// at all is the device's way of reporting a failure.
fn parse_reply(received: &[u8], echo: &[u8]) -> Option<Result<Vec<u8>, TransportError>> {
    let start = find(received, echo)? + echo.len();
    let rest = &received[start..];
    let end = find(rest, CONSOLE_PROMPT)?;
    let response = rest[..end]
        .split(|&b| b == b'\r' || b == b'\n')
        .map(<[u8]>::trim_ascii)
        .find_map(from_hex)
        .ok_or(TransportError::ClosedWithoutResponse);
    Some(response)
}

/// Reads and drops whatever is already waiting on the stream (boot messages, the prompt, the
/// late answer to an abandoned request), without waiting for more.
async fn drain_stale(stream: &mut dyn ByteStream) -> Result<usize, TransportError> {
    let mut dropped = 0;
    let mut chunk = [0u8; 1024];
    while dropped < MAX_DRAIN_BYTES {
        let read = std::future::poll_fn(|cx| {
            let mut buf = ReadBuf::new(&mut chunk);
            match std::pin::Pin::new(&mut *stream).poll_read(cx, &mut buf) {
                std::task::Poll::Ready(Ok(())) => std::task::Poll::Ready(Some(Ok(buf.filled().len()))),
                std::task::Poll::Ready(Err(error)) => std::task::Poll::Ready(Some(Err(error))),
                std::task::Poll::Pending => std::task::Poll::Ready(None),
            }
        })
        .await;
        match read {
            None => break,
            Some(Ok(0)) => {
                return Err(TransportError::Disconnected { detail: "the console link is closed".to_owned() });
            }
            Some(Ok(n)) => dropped += n,
            Some(Err(error)) => return Err(TransportError::Disconnected { detail: error.to_string() }),
        }
    }
    Ok(dropped)
}

/// Writes the request line and reads until the device's prompt after its echo.
async fn exchange(stream: &mut dyn ByteStream, line: &[u8]) -> Result<Vec<u8>, TransportError> {
    let stale = drain_stale(stream).await?;
    if stale > 0 {
        log::debug!("console transport: discarded {stale} stale bytes");
    }
    if let Err(error) = stream.write_all(line).await {
        return Err(TransportError::Disconnected { detail: error.to_string() });
    }
    if let Err(error) = stream.flush().await {
        return Err(TransportError::Disconnected { detail: error.to_string() });
    }
    let mut received = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) => return Err(TransportError::Disconnected { detail: "the console link closed".to_owned() }),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(error) => return Err(TransportError::Disconnected { detail: error.to_string() }),
        }
        if let Some(reply) = parse_reply(&received, line) {
            return reply;
        }
        if received.len() > MAX_REPLY_BYTES {
            return Err(TransportError::Io {
                detail: format!("the device sent more than {MAX_REPLY_BYTES} bytes without completing its reply"),
            });
        }
    }
}

#[async_trait]
impl Transport for ConsoleTransport {
    async fn send(&self, endpoint: String, data: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let mut stream = self.stream.lock().await;
        if !valid_endpoint(&endpoint) {
            return Err(TransportError::Io {
                detail: format!("endpoint name `{}` cannot be sent as a console command", endpoint.escape_default()),
            });
        }
        if data.is_empty() {
            return Err(TransportError::Io {
                detail: "empty request: a console command without its hex argument fails on the device".to_owned(),
            });
        }
        let limit = console_payload_limit(endpoint.len());
        if data.len() > limit {
            return Err(TransportError::payload_too_large(data.len(), limit));
        }
        self.longest_endpoint.fetch_max(endpoint.len(), Ordering::Relaxed);

        let session = self.session();
        let mut line = format!("{endpoint} {session} {}", to_hex(&data)).into_bytes();
        line.push(b'\r');
        log::debug!("console transport: `{endpoint}`, {} bytes", data.len());

        match tokio::time::timeout(self.config.request_timeout, exchange(&mut **stream, &line)).await {
            Ok(Ok(response)) => {
                log::debug!("console transport: `{endpoint}` answered {} bytes", response.len());
                Ok(response)
            }
            Ok(Err(error)) => {
                log::debug!("console transport: `{endpoint}` failed: {error}");
                Err(error)
            }
            Err(_elapsed) => {
                log::debug!("console transport: `{endpoint}` timed out");
                Err(TransportError::Timeout { millis: self.request_timeout_ms() })
            }
        }
    }

    /// The request size that fits one console line for the longest endpoint name in use: the
    /// longer of `prov-session` and the longest name sent through this transport so far (see
    /// [`console_payload_limit`]; 115 bytes until a longer name is used). Each request is checked
    /// against the limit of its own endpoint.
    fn max_payload(&self) -> Option<usize> {
        Some(console_payload_limit(self.longest_endpoint.load(Ordering::Relaxed)))
    }

    fn kind(&self) -> TransportKind {
        TransportKind::Console
    }

    async fn disconnect(&self) {
        // The stream stays open: the next exchange sends a new session id, which makes the
        // device open a new security session.
        self.lock_session().current = None;
        log::debug!("console transport: disconnected ({})", self.name);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn limits_follow_the_line_length() {
        // "prov-config" + " " + 9 digits + " " = 22 characters, 232 left for hex.
        assert_eq!(console_payload_limit("prov-config".len()), 116);
        assert_eq!(console_payload_limit("prov-session".len()), 115);
        assert_eq!(console_payload_limit(300), 0);
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(to_hex(b"ESP"), "455350");
        assert_eq!(from_hex(b"455350").unwrap(), b"ESP");
        assert_eq!(from_hex(b"4A4b").unwrap(), vec![0x4a, 0x4b]);
        assert!(from_hex(b"455").is_none());
        assert!(from_hex(b"45zz").is_none());
        assert!(from_hex(b"").is_none());
    }

    #[test]
    fn reply_parsing() {
        let echo = b"proto-ver 123456789 455350\r";
        // Stale prompt first, then echo, response, prompt.
        let ok = b"\n>> proto-ver 123456789 455350\r\n\r\n7b7d\r\n\n>> ";
        assert_eq!(parse_reply(ok, echo).unwrap().unwrap(), b"{}");
        let failed = b"proto-ver 123456789 455350\r\n\n>> ";
        assert_eq!(parse_reply(failed, echo).unwrap(), Err(TransportError::ClosedWithoutResponse));
        assert!(parse_reply(b"proto-ver 123456789 455350\r\n\r\n7b7d\r\n", echo).is_none());
        assert!(parse_reply(b"\n>> ", echo).is_none());
        let with_log = b"proto-ver 123456789 455350\r\n\r\nI (42) wifi: started\r\n7B7D\r\n\n>> ";
        assert_eq!(parse_reply(with_log, echo).unwrap().unwrap(), b"{}");
    }
}
