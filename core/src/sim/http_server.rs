//! HTTP server for the device simulator: serves one [`DeviceLink`] the way ESP-IDF's
//! `esp_http_server` + `protocomm_httpd` do on a SoftAP device (docs/protocol.md §5.2).
//!
//! A minimal HTTP/1.1 server on tokio: `POST /<endpoint>` only (exact URI match), `Content-Length`
//! bodies of 1..=4096 bytes, keep-alive, the device's cookie session tracking, and the device's
//! failure mode: when the handler fails, the connection is closed without any HTTP response.
//!
//! Hostile clients are bounded as `esp_http_server` bounds them, with tokio's clock throughout
//! (so tests can pause it):
//! - one deadline for the whole request, head and body ([`DEFAULT_REQUEST_TIMEOUT`]): a client
//!   dribbling bytes is cut off (408 while the head is incomplete, a silent close in the body);
//! - a request is read completely before the device (its session state, its one handler) is
//!   touched, so a slow client never holds up another one. Unlike the firmware, a request whose
//!   body never arrives therefore opens no device session;
//! - at most [`DEFAULT_MAX_OPEN_SOCKETS`] open sockets (`max_open_sockets`); a connection
//!   arriving at the cap closes the least recently used one that is not inside the device's
//!   handler (`lru_purge_enable`);
//! - an idle keep-alive connection is closed after [`DEFAULT_IDLE_TIMEOUT`];
//! - writing a response may take at most [`SEND_TIMEOUT`].

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, timeout, timeout_at};

use super::{DeviceFailure, DeviceLink};

/// The largest request body the device accepts.
pub const MAX_REQUEST_BODY: usize = 4096;

/// Longest request line + headers accepted before answering 431.
const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// Default deadline for a whole request (head and body), counted from its first byte; see
/// [`HttpDeviceServer::request_timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Default cap on open sockets, ESP-IDF's `HTTPD_DEFAULT_CONFIG().max_open_sockets`; see
/// [`HttpDeviceServer::max_open_sockets`].
pub const DEFAULT_MAX_OPEN_SOCKETS: usize = 7;

/// Default time a connection may sit without a request before it is closed; see
/// [`HttpDeviceServer::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long writing one response may take (ESP-IDF's `send_wait_timeout`, 5 s); a client that
/// does not read its responses loses its connection.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// How much of a rejected request's body is read (and dropped) before the error response, so
/// that closing the socket sends a clean FIN instead of a reset that could destroy the response.
const DISCARD_LIMIT: usize = 64 * 1024;

/// How long a connection closed after an error response keeps draining the client's data.
const LINGER: Duration = Duration::from_millis(500);

/// A `Cookie` value of this many characters or more does not fit the device's buffer and counts
/// as no cookie at all.
const COOKIE_BUFFER: usize = 20;

/// One request as the server saw it, for tests. Bodies are never recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// Number of the TCP connection the request came on (1 for the first accepted one).
    pub connection: u64,
    /// The request line, e.g. `POST /proto-ver HTTP/1.1`.
    pub request_line: String,
    /// The headers in the order received, names as sent.
    pub headers: Vec<(String, String)>,
    /// What the request was given: the session it was handled in, and the reply.
    pub outcome: RequestOutcome,
}

impl RecordedRequest {
    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// How the simulated device dealt with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestOutcome {
    /// Answered with HTTP 200 in session `session`; `new_session` when this request started it
    /// (the response carried `Set-Cookie`).
    Answered {
        /// The device session the request was handled in.
        session: u32,
        /// Whether the request opened that session.
        new_session: bool,
    },
    /// Reached the endpoint handler in session `session`, and the connection was closed without
    /// a response (bad body length, handler failure).
    ClosedWithoutResponse {
        /// The device session the request was attributed to.
        session: u32,
        /// Whether the request opened that session.
        new_session: bool,
    },
    /// Rejected by the HTTP layer with this status (404 unknown URI, 405 method other than POST);
    /// the connection was closed afterwards. Requests that cannot be parsed at all (answered with
    /// 400, 411, 431 or 505), heads not complete by the request deadline (408), bodies that do not
    /// arrive in full by then and requests of purged connections never reach the device and are
    /// not recorded.
    Rejected(u16),
}

/// A device's HTTP server, bound but not yet serving. Call [`HttpDeviceServer::spawn`] (or
/// await [`HttpDeviceServer::run`]) inside a tokio runtime.
pub struct HttpDeviceServer {
    listener: std::net::TcpListener,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    limits: Limits,
}

/// The bounds put on clients (see the module documentation).
#[derive(Debug, Clone, Copy)]
struct Limits {
    request_timeout: Duration,
    idle_timeout: Duration,
    max_open_sockets: usize,
}

impl std::fmt::Debug for HttpDeviceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpDeviceServer").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

/// State shared by the accept loop, the connections and the handle.
struct Shared {
    link: Arc<dyn DeviceLink>,
    /// The device handles one request at a time (one httpd task).
    gate: tokio::sync::Mutex<()>,
    tracker: Mutex<SessionTracker>,
    /// `Some` while recording.
    recorded: Mutex<Option<Vec<RecordedRequest>>>,
    next_connection: AtomicU64,
    /// The open connections, for the socket cap and the LRU purge.
    open: Mutex<OpenConnections>,
    /// Signalled when a connection closes or leaves the device handler (room may have appeared).
    changed: Notify,
}

/// The open connections (esp_http_server's session table).
#[derive(Debug, Default)]
struct OpenConnections {
    entries: HashMap<u64, OpenEntry>,
    /// Last value handed out as an [`OpenEntry::lru`] stamp.
    lru_clock: u64,
    /// The most connections ever open at once.
    peak: usize,
}

/// One open connection.
#[derive(Debug)]
struct OpenEntry {
    /// Stamp of the last use (accepted, or a request finished): the lowest is purged first.
    lru: u64,
    /// Inside the device handler (holding the device, until its response is written): never
    /// purged, so a purge cannot lose the answer to a request the device already acted on.
    busy: bool,
    /// Told to close; it leaves the table when its socket is closed.
    purged: bool,
    /// Wakes the connection's task to close it.
    purge: Arc<Notify>,
}

impl OpenConnections {
    fn stamp(&mut self) -> u64 {
        self.lru_clock += 1;
        self.lru_clock
    }
}

/// protocomm_httpd's session bookkeeping.
#[derive(Debug, Default)]
struct SessionTracker {
    /// The current session (the cookie the device handed out).
    current: Option<u32>,
    /// The connection that started the current session, until a matching cookie is seen or that
    /// connection closes.
    socket: Option<u64>,
}

impl SessionTracker {
    /// Attributes a request on `connection` with the given `Cookie` value to a session, opening a
    /// new one on `link` when it does not belong to the current one. Returns the session and
    /// whether it is new.
    fn track(&mut self, connection: u64, cookie: Option<&str>, link: &dyn DeviceLink) -> (u32, bool) {
        let cookie = cookie.filter(|value| value.len() < COOKIE_BUFFER);
        let same = match (cookie, self.current) {
            (Some(value), Some(current)) => {
                let matches = value == format!("session={current}");
                if matches {
                    // The client handles cookies: the socket no longer identifies the session.
                    self.socket = None;
                }
                matches
            }
            (Some(_), None) => false,
            (None, _) => self.current.is_some() && self.socket == Some(connection),
        };
        match (same, self.current) {
            (true, Some(current)) => (current, false),
            _ => {
                let id = link.new_session_id();
                link.open_session(id);
                self.current = Some(id);
                self.socket = Some(connection);
                (id, true)
            }
        }
    }

    /// A connection closed: it can no longer stand in for a cookie.
    fn connection_closed(&mut self, connection: u64) {
        if self.socket == Some(connection) {
            self.socket = None;
        }
    }
}

impl Shared {
    fn tracker(&self) -> MutexGuard<'_, SessionTracker> {
        // Two plain fields, each written in one statement: usable even after a panic elsewhere.
        self.tracker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn recorded(&self) -> MutexGuard<'_, Option<Vec<RecordedRequest>>> {
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open(&self) -> MutexGuard<'_, OpenConnections> {
        // Every update is a single insert/remove or field write: usable after a panic elsewhere.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers an accepted connection; returns the signal that purges it.
    fn register(&self, connection: u64) -> Arc<Notify> {
        let purge = Arc::new(Notify::new());
        let mut open = self.open();
        let lru = open.stamp();
        open.entries.insert(connection, OpenEntry { lru, busy: false, purged: false, purge: Arc::clone(&purge) });
        open.peak = open.peak.max(open.entries.len());
        purge
    }

    /// Waits until one more connection fits under `max`, purging the least recently used
    /// connection that is not inside the device handler (and waiting for its socket to close).
    async fn make_room(&self, max: usize) {
        loop {
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            {
                let mut open = self.open();
                let total = open.entries.len();
                if total < max {
                    return;
                }
                let purging = open.entries.values().filter(|entry| entry.purged).count();
                if total - purging >= max
                    && let Some((id, victim)) = open
                        .entries
                        .iter_mut()
                        .filter(|(_, entry)| !entry.busy && !entry.purged)
                        .min_by_key(|(_, entry)| entry.lru)
                {
                    log::debug!(
                        "device http server: {max} sockets open; purging connection {id} (least recently used)"
                    );
                    victim.purged = true;
                    victim.purge.notify_one();
                }
            }
            changed.await;
        }
    }

    /// The connection enters the device handler. `false` when it was purged meanwhile: it must
    /// not touch the device.
    fn enter_handler(&self, connection: u64) -> bool {
        let mut open = self.open();
        match open.entries.get_mut(&connection) {
            Some(entry) if !entry.purged => {
                entry.busy = true;
                true
            }
            _ => false,
        }
    }

    /// The connection left the device handler: it is the most recently used one again.
    fn leave_handler(&self, connection: u64) {
        {
            let mut open = self.open();
            let lru = open.stamp();
            if let Some(entry) = open.entries.get_mut(&connection) {
                entry.busy = false;
                entry.lru = lru;
            }
        }
        self.changed.notify_waiters();
    }

    fn record(&self, connection: u64, head: &RequestHead, outcome: RequestOutcome) {
        if let Some(list) = self.recorded().as_mut() {
            list.push(RecordedRequest {
                connection,
                request_line: head.request_line.clone(),
                headers: head.headers.clone(),
                outcome,
            });
        }
    }
}

impl HttpDeviceServer {
    /// Binds a listener on `addr` (port 0 picks a free port) for the device behind `link`.
    /// Does not need a runtime; serving does.
    pub fn bind(addr: SocketAddr, link: Arc<dyn DeviceLink>) -> io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            link,
            gate: tokio::sync::Mutex::new(()),
            tracker: Mutex::new(SessionTracker::default()),
            recorded: Mutex::new(None),
            next_connection: AtomicU64::new(1),
            open: Mutex::new(OpenConnections::default()),
            changed: Notify::new(),
        });
        let limits = Limits {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_open_sockets: DEFAULT_MAX_OPEN_SOCKETS,
        };
        Ok(Self { listener, local_addr, shared, limits })
    }

    /// Caps the number of open sockets (default [`DEFAULT_MAX_OPEN_SOCKETS`], as ESP-IDF; at
    /// least 1). A connection accepted at the cap closes the least recently used connection that
    /// is not inside the device handler (ESP-IDF's `lru_purge_enable`).
    pub fn max_open_sockets(mut self, max: usize) -> Self {
        self.limits.max_open_sockets = max.max(1);
        self
    }

    /// How long a connection may wait for its next request (or its first) before it is closed
    /// (default [`DEFAULT_IDLE_TIMEOUT`]).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.limits.idle_timeout = idle;
        self
    }

    /// The deadline for one whole request, head and body, counted from its first byte (default
    /// [`DEFAULT_REQUEST_TIMEOUT`]). Past it, an incomplete head is answered with 408 and the
    /// connection closed; an incomplete body closes the connection without a response.
    pub fn request_timeout(mut self, deadline: Duration) -> Self {
        self.limits.request_timeout = deadline;
        self
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Records every request's line, headers and outcome (never bodies), for
    /// [`HttpServerHandle::recorded_requests`].
    pub fn record_requests(self) -> Self {
        *self.shared.recorded() = Some(Vec::new());
        self
    }

    /// Serves connections until the returned future is dropped. Connections are served
    /// concurrently; the device still handles one request at a time and keeps one session.
    /// Returns only if the listener cannot be registered with the runtime.
    pub async fn run(self) -> io::Result<()> {
        self.serve_until(std::future::pending()).await
    }

    /// The accept loop; when `stop` completes, every connection is closed and awaited.
    async fn serve_until(self, stop: impl Future<Output = ()>) -> io::Result<()> {
        let listener = TcpListener::from_std(self.listener)?;
        let shared = self.shared;
        let limits = self.limits;
        // Dropping the set (when this future is dropped) aborts every connection task.
        let mut connections = JoinSet::new();
        let mut stop = std::pin::pin!(stop);
        loop {
            // Reap finished tasks here rather than in the select: a select branch completing
            // must never cancel an accepted connection waiting for room.
            while connections.try_join_next().is_some() {}
            tokio::select! {
                () = &mut stop => {
                    drop(listener);
                    connections.shutdown().await;
                    return Ok(());
                }
                accepted = accept_with_room(&listener, &shared, limits.max_open_sockets) => match accepted {
                    Ok((stream, _peer)) => {
                        let connection = shared.next_connection.fetch_add(1, Ordering::Relaxed);
                        log::debug!("device http server: connection {connection} accepted");
                        let purge = shared.register(connection);
                        let guard = ConnectionGuard { shared: Arc::clone(&shared), connection };
                        connections.spawn(connection_task(limits, stream, guard, purge));
                    }
                    Err(error) => {
                        // Out of descriptors and similar: back off instead of spinning.
                        log::warn!("device http server: accept failed: {error}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
    }

    /// Starts serving on the current tokio runtime. The server stops when the handle is dropped
    /// or [`HttpServerHandle::shutdown`] is called.
    ///
    /// # Panics
    /// When called outside a tokio runtime (as [`tokio::spawn`] does).
    pub fn spawn(self) -> HttpServerHandle {
        let local_addr = self.local_addr;
        let shared = Arc::clone(&self.shared);
        let stop = Arc::new(Notify::new());
        let stopped = Arc::clone(&stop);
        let task = tokio::spawn(self.serve_until(async move { stopped.notified().await }));
        HttpServerHandle { local_addr, shared, stop, task }
    }
}

/// Accepts one connection, then waits until it fits under the socket cap (purging the least
/// recently used connection when needed).
async fn accept_with_room(
    listener: &TcpListener,
    shared: &Shared,
    max_open_sockets: usize,
) -> io::Result<(TcpStream, SocketAddr)> {
    let accepted = listener.accept().await?;
    shared.make_room(max_open_sockets).await;
    Ok(accepted)
}

/// A running [`HttpDeviceServer`]. Dropping it stops the server and closes its connections.
pub struct HttpServerHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    /// Asks the accept loop to close every connection and end.
    stop: Arc<Notify>,
    task: JoinHandle<io::Result<()>>,
}

impl std::fmt::Debug for HttpServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServerHandle").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

impl HttpServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `host:port` of the server, the form `HttpConfig::host` of the HTTP transport takes.
    pub fn host(&self) -> String {
        self.local_addr.to_string()
    }

    /// The device's current session id (the value of its last `Set-Cookie`), if any.
    pub fn current_session(&self) -> Option<u32> {
        self.shared.tracker().current
    }

    /// How many connections are open right now (accepted and not yet closed by either side as
    /// far as the server knows); never more than the socket cap.
    pub fn open_connections(&self) -> usize {
        self.shared.open().entries.len()
    }

    /// The most connections that were ever open at once.
    pub fn peak_open_connections(&self) -> usize {
        self.shared.open().peak
    }

    /// The requests seen so far, if recording was enabled with
    /// [`HttpDeviceServer::record_requests`] (empty otherwise).
    pub fn recorded_requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorded().clone().unwrap_or_default()
    }

    /// Stops accepting, closes every connection and waits until all of them are closed: once this
    /// returns, the device answers nothing more.
    pub async fn shutdown(mut self) {
        // `notify_one` keeps the permit if the loop is not waiting at this instant.
        self.stop.notify_one();
        if let Ok(Err(error)) = (&mut self.task).await {
            log::warn!("device http server: ended with an error: {error}");
        }
    }
}

impl Drop for HttpServerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Clears the socket-session binding and the open-connection entry when a connection ends,
/// however its task ends.
struct ConnectionGuard {
    shared: Arc<Shared>,
    connection: u64,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.shared.tracker().connection_closed(self.connection);
        self.shared.open().entries.remove(&self.connection);
        self.shared.changed.notify_waiters();
        log::debug!("device http server: connection {} closed", self.connection);
    }
}

/// Marks a connection as inside the device handler while it lives.
struct HandlerGuard<'a> {
    shared: &'a Shared,
    connection: u64,
}

impl Drop for HandlerGuard<'_> {
    fn drop(&mut self) {
        self.shared.leave_handler(self.connection);
    }
}

/// The parsed request line and headers.
#[derive(Debug)]
struct RequestHead {
    request_line: String,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    /// `Content-Length`, 0 when absent.
    content_length: usize,
    /// The client asked for `Connection: close`.
    close: bool,
}

impl RequestHead {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Why a request head could not be used.
#[derive(Debug)]
enum HeadError {
    /// The connection ended or stalled; nothing to answer.
    Gone,
    /// Answer with this status and message, then close.
    Reject(u16, &'static str, &'static str),
}

const BAD_REQUEST: HeadError =
    HeadError::Reject(400, "Bad Request", "Server unable to understand request due to invalid syntax");

/// esp_http_server's answer when a request head does not arrive in time.
const REQUEST_TIMEOUT: HeadError = HeadError::Reject(408, "Request Timeout", "Server closed this connection");

/// One connection's task: serves it until it ends or is purged. The socket is closed before the
/// connection leaves the open-connection table, so the count never undercounts open sockets.
async fn connection_task(limits: Limits, stream: TcpStream, guard: ConnectionGuard, purge: Arc<Notify>) {
    let mut stream = stream;
    let shared = Arc::clone(&guard.shared);
    tokio::select! {
        biased;
        () = purge.notified() => {
            log::debug!("device http server: connection {} purged", guard.connection);
        }
        () = serve_connection(&shared, limits, &mut stream, guard.connection) => {}
    }
    drop(stream);
    drop(guard);
}

async fn serve_connection(shared: &Shared, limits: Limits, stream: &mut TcpStream, connection: u64) {
    if let Err(error) = stream.set_nodelay(true) {
        log::debug!("device http server: cannot set TCP_NODELAY: {error}");
    }
    let mut buffer = Vec::new();
    loop {
        let (head, deadline) = match read_head(stream, &mut buffer, limits).await {
            Ok(Some(read)) => read,
            Ok(None) | Err(HeadError::Gone) => return,
            Err(HeadError::Reject(status, reason, message)) => {
                let _ = write_error(stream, status, reason, message).await;
                return;
            }
        };
        match serve_request(shared, stream, &mut buffer, connection, &head, deadline).await {
            Keep::Open if !head.close => {}
            Keep::Open | Keep::Close => return,
        }
    }
}

/// What to do with the connection after a request.
enum Keep {
    Open,
    Close,
}

async fn serve_request(
    shared: &Shared,
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    connection: u64,
    head: &RequestHead,
    deadline: Instant,
) -> Keep {
    let link = &shared.link;
    let endpoint = match head.target.strip_prefix('/') {
        Some(name) if link.has_endpoint(name) => name,
        _ => {
            log::debug!("device http server: no endpoint for this URI");
            let not_found = (404, "Not Found", "This URI doesn't exist");
            reject(shared, stream, buffer, connection, head, deadline, not_found).await;
            return Keep::Close;
        }
    };
    if head.method != "POST" {
        let not_allowed = (405, "Method Not Allowed", "Request method for this URI is not handled by server");
        reject(shared, stream, buffer, connection, head, deadline, not_allowed).await;
        return Keep::Close;
    }

    // The whole request is read before the device is touched: a slow client holds nothing.
    let body = if (1..=MAX_REQUEST_BODY).contains(&head.content_length) {
        match read_body(stream, buffer, head.content_length, deadline).await {
            Ok(body) => Some(body),
            Err(error) => {
                log::debug!("device http server: /{endpoint} body not received ({error}); closing");
                return Keep::Close;
            }
        }
    } else {
        None
    };

    // From here on the device's one request handler runs: one request at a time.
    let device = shared.gate.lock().await;
    if !shared.enter_handler(connection) {
        // Purged while waiting for the device: the request never reaches it.
        return Keep::Close;
    }
    let _handler = HandlerGuard { shared, connection };
    let (session, new_session) = shared.tracker().track(connection, head.header("Cookie"), link.as_ref());
    let closed = RequestOutcome::ClosedWithoutResponse { session, new_session };
    let Some(body) = body else {
        log::debug!("device http server: /{endpoint} body of {} bytes rejected", head.content_length);
        shared.record(connection, head, closed);
        return Keep::Close;
    };
    log::debug!("device http server: POST /{endpoint}, {} bytes", body.len());

    let latency = link.exchange_latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let handler_link = Arc::clone(link);
    let handler_endpoint = endpoint.to_owned();
    let outcome = tokio::task::spawn_blocking(move || handler_link.handle(session, &handler_endpoint, &body))
        .await
        .unwrap_or_else(|_| Err(DeviceFailure::Failed("the request handler panicked".to_owned())));

    match outcome {
        Ok(response) => {
            log::debug!("device http server: /{endpoint} answered {} bytes", response.len());
            // Recorded before the client can see the answer, so tests can inspect it at once.
            shared.record(connection, head, RequestOutcome::Answered { session, new_session });
            // The device is free for other connections while this answer goes out; the
            // connection stays unpurgeable until it is written.
            drop(device);
            let written = timeout(SEND_TIMEOUT, write_ok(stream, &response, new_session.then_some(session))).await;
            if matches!(written, Ok(Ok(()))) { Keep::Open } else { Keep::Close }
        }
        Err(_failure) => {
            // The device answers nothing at all: the client sees the connection close.
            log::debug!("device http server: /{endpoint} failed; closing the connection");
            shared.record(connection, head, closed);
            Keep::Close
        }
    }
}

/// Answers an HTTP-level error (status, reason, message) after draining the request body (until
/// the request deadline at most), then the caller closes.
async fn reject(
    shared: &Shared,
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    connection: u64,
    head: &RequestHead,
    deadline: Instant,
    (status, reason, message): (u16, &str, &str),
) {
    if head.content_length <= DISCARD_LIMIT {
        let _ = read_body(stream, buffer, head.content_length, deadline).await;
    }
    let latency = shared.link.exchange_latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    shared.record(connection, head, RequestOutcome::Rejected(status));
    let _ = write_error(stream, status, reason, message).await;
}

/// Reads until a complete request head is in `buffer` and parses it; returns it with the
/// request's deadline (its first byte's arrival plus the request timeout). `Ok(None)`: the client
/// closed the connection between requests, or left it idle past the idle timeout.
async fn read_head(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    limits: Limits,
) -> Result<Option<(RequestHead, Instant)>, HeadError> {
    // Bytes already buffered (pipelined) start the request at once.
    let mut deadline = (!buffer.is_empty()).then(|| Instant::now() + limits.request_timeout);
    // Where the search for the end of the head resumes (the terminator may straddle reads).
    let mut searched = 0;
    loop {
        if let Some(offset) = buffer[searched..].windows(4).position(|w| w == b"\r\n\r\n") {
            let end = searched + offset;
            let head_bytes: Vec<u8> = buffer.drain(..end + 4).collect();
            let head = parse_head(&head_bytes[..end])?;
            let deadline = deadline.unwrap_or_else(|| Instant::now() + limits.request_timeout);
            return Ok(Some((head, deadline)));
        }
        searched = buffer.len().saturating_sub(3);
        if buffer.len() > MAX_REQUEST_HEAD {
            return Err(HeadError::Reject(
                431,
                "Request Header Fields Too Large",
                "Header fields are too long for server to interpret",
            ));
        }
        let mut chunk = [0u8; 2048];
        let read = match deadline {
            // Idle: wait for the next request up to the idle timeout, then close quietly.
            None => match timeout(limits.idle_timeout, stream.read(&mut chunk)).await {
                Ok(read) => read,
                Err(_elapsed) => {
                    log::debug!("device http server: idle connection closed");
                    return Ok(None);
                }
            },
            Some(deadline) => match timeout_at(deadline, stream.read(&mut chunk)).await {
                Ok(read) => read,
                Err(_elapsed) => {
                    log::debug!("device http server: request head not received in time");
                    return Err(REQUEST_TIMEOUT);
                }
            },
        };
        match read {
            Ok(0) if buffer.is_empty() => return Ok(None),
            Ok(0) | Err(_) => return Err(HeadError::Gone),
            Ok(n) => {
                buffer.extend_from_slice(&chunk[..n]);
                deadline.get_or_insert_with(|| Instant::now() + limits.request_timeout);
            }
        }
    }
}

fn parse_head(bytes: &[u8]) -> Result<RequestHead, HeadError> {
    let text = std::str::from_utf8(bytes).map_err(|_| BAD_REQUEST)?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().ok_or(BAD_REQUEST)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BAD_REQUEST);
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) || !target.starts_with('/') {
        return Err(BAD_REQUEST);
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(HeadError::Reject(505, "Version Not Supported", "HTTP version not supported by server"));
    }

    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(BAD_REQUEST)?;
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
            return Err(BAD_REQUEST);
        }
        headers.push((name.to_owned(), value.trim_matches([' ', '\t']).to_owned()));
    }

    let mut content_length: Option<usize> = None;
    let mut close = false;
    for (name, value) in &headers {
        if name.eq_ignore_ascii_case("Content-Length") {
            let parsed: usize = value.parse().map_err(|_| BAD_REQUEST)?;
            if content_length.is_some_and(|previous| previous != parsed) {
                return Err(BAD_REQUEST);
            }
            content_length = Some(parsed);
        } else if name.eq_ignore_ascii_case("Transfer-Encoding") {
            return Err(HeadError::Reject(411, "Length Required", "Chunked encoding not supported by server"));
        } else if name.eq_ignore_ascii_case("Connection") {
            close |= value.split(',').any(|token| token.trim().eq_ignore_ascii_case("close"));
        }
    }

    Ok(RequestHead {
        request_line: request_line.to_owned(),
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        content_length: content_length.unwrap_or(0),
        close,
    })
}

/// Takes exactly `length` body bytes: first what is already buffered, then from the socket,
/// until `deadline` at most.
async fn read_body(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    length: usize,
    deadline: Instant,
) -> io::Result<Vec<u8>> {
    let buffered = length.min(buffer.len());
    let mut body: Vec<u8> = buffer.drain(..buffered).collect();
    let mut chunk = [0u8; 2048];
    while body.len() < length {
        let want = (length - body.len()).min(chunk.len());
        let n = timeout_at(deadline, stream.read(&mut chunk[..want]))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(body)
}

async fn write_ok(stream: &mut TcpStream, body: &[u8], new_session: Option<u32>) -> io::Result<()> {
    let mut message = format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n", body.len());
    if let Some(session) = new_session {
        message.push_str(&format!("Set-Cookie: session={session}\r\n"));
    }
    message.push_str("\r\n");
    let mut bytes = message.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes).await?;
    stream.flush().await
}

async fn write_error(stream: &mut TcpStream, status: u16, reason: &str, message: &str) -> io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{message}",
        message.len()
    );
    let send = async {
        stream.write_all(response.as_bytes()).await?;
        stream.flush().await?;
        stream.shutdown().await
    };
    timeout(SEND_TIMEOUT, send).await.map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    // Lingering close: swallow what the client still sends (the rest of an over-long head) until
    // it closes, so that the kernel does not answer that data with a reset that could destroy
    // the error response before the client reads it.
    let mut sink = [0u8; 2048];
    let mut drained = 0;
    let drain = async {
        while drained < DISCARD_LIMIT {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    };
    let _ = timeout(LINGER, drain).await;
    Ok(())
}
