//! Console server for the device simulator: serves one [`DeviceLink`] the way ESP-IDF's
//! `protocomm_console` does on a device's UART (docs/protocol.md §5.3), over any byte stream, and
//! over a pseudo-terminal that a serial client opens by path.
//!
//! Behaviour: every character is echoed (CR as CR LF); a line ends at CR or when 255 characters
//! have been collected (the 256-byte line buffer of v5.5.5; the rest of an over-long line starts
//! the next one); the line `<endpoint> <session-id> <hex>` runs the endpoint, a session id other
//! than the last one opens a new session, and a success prints `\r\n<lowercase hex>\r\n`. After
//! every line comes the prompt `\n>> `; a failure (unknown command, wrong arguments, bad session
//! id or hex, handler error) prints nothing else.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::task::JoinHandle;

use super::{DeviceFailure, DeviceLink};

/// The device's line buffer; it collects at most one character less (room for the terminator).
pub const LINE_BUFFER: usize = 256;

/// The prompt printed after every line.
pub const PROMPT: &[u8] = b"\n>> ";

/// Characters collected per line at most, the terminating CR included.
const MAX_LINE_CHARS: usize = LINE_BUFFER - 1;

/// A simulated device's provisioning console, not yet serving.
pub struct ConsoleDeviceServer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ConsoleDeviceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleDeviceServer").field("current_session", &self.shared.current()).finish_non_exhaustive()
    }
}

/// State shared by the serving task and the handle.
struct Shared {
    link: Arc<dyn DeviceLink>,
    /// The session id of the last command that reached an endpoint.
    current: Mutex<Option<u32>>,
}

impl Shared {
    fn lock_current(&self) -> MutexGuard<'_, Option<u32>> {
        // One plain value: usable even after a panic elsewhere.
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn current(&self) -> Option<u32> {
        *self.lock_current()
    }
}

impl ConsoleDeviceServer {
    /// A console for the device behind `link`.
    pub fn new(link: Arc<dyn DeviceLink>) -> Self {
        Self { shared: Arc::new(Shared { link, current: Mutex::new(None) }) }
    }

    /// The session id of the last command that reached an endpoint, if any.
    pub fn current_session(&self) -> Option<u32> {
        self.shared.current()
    }

    /// Serves `stream` until it reaches its end (`Ok`) or fails to read or write (`Err`).
    pub async fn serve<S>(&self, stream: S) -> io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        serve(&self.shared, stream).await
    }

    /// Serves `stream` on the current tokio runtime until the stream ends or the handle is
    /// dropped.
    ///
    /// # Panics
    /// When called outside a tokio runtime (as [`tokio::spawn`] does).
    pub fn spawn<S>(self, stream: S) -> ConsoleServerHandle
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let shared = Arc::clone(&self.shared);
        let task = tokio::spawn(async move { serve(&shared, stream).await });
        ConsoleServerHandle { shared: self.shared, task, pty: None }
    }

    /// Creates a pseudo-terminal and serves its master end on the current tokio runtime; a
    /// client opens [`ConsoleServerHandle::pty_path`] as a serial port. The handle keeps the
    /// terminal's other end open too, so clients can come and go while the device keeps serving.
    ///
    /// # Panics
    /// When called outside a tokio runtime (as [`tokio::spawn`] does).
    #[cfg(unix)]
    pub fn spawn_pty(self) -> io::Result<ConsoleServerHandle> {
        let pty = PseudoTerminal::open()?;
        let PseudoTerminal { master, slave, slave_path } = pty;
        let mut handle = self.spawn(master);
        handle.pty = Some(PtyHold { _slave: slave, path: slave_path });
        Ok(handle)
    }
}

/// The client end of a served pseudo-terminal, held open by the handle.
#[cfg_attr(not(unix), allow(dead_code))] // pseudo-terminals exist on Unix only
struct PtyHold {
    #[cfg(unix)]
    _slave: tokio_serial::SerialStream,
    path: std::path::PathBuf,
}

/// A running [`ConsoleDeviceServer`]. Dropping it stops the server (and closes its
/// pseudo-terminal, if it has one).
pub struct ConsoleServerHandle {
    shared: Arc<Shared>,
    task: JoinHandle<io::Result<()>>,
    pty: Option<PtyHold>,
}

impl std::fmt::Debug for ConsoleServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleServerHandle")
            .field("pty_path", &self.pty_path())
            .field("current_session", &self.current_session())
            .finish_non_exhaustive()
    }
}

impl ConsoleServerHandle {
    /// The path of the pseudo-terminal clients open, when served with
    /// [`ConsoleDeviceServer::spawn_pty`].
    pub fn pty_path(&self) -> Option<&std::path::Path> {
        self.pty.as_ref().map(|pty| pty.path.as_path())
    }

    /// The session id of the last command that reached an endpoint, if any.
    pub fn current_session(&self) -> Option<u32> {
        self.shared.current()
    }

    /// Whether the server stopped on its own (its stream ended or failed).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops serving and waits until the server has let go of its stream.
    pub async fn shutdown(mut self) {
        self.task.abort();
        if let Ok(Err(error)) = (&mut self.task).await {
            log::warn!("device console: ended with an error: {error}");
        }
    }
}

impl Drop for ConsoleServerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A pseudo-terminal pair: the master end (the simulated device's UART) and the slave end (the
/// serial port a client opens by [`PseudoTerminal::slave_path`]), both in raw mode.
#[cfg(unix)]
pub struct PseudoTerminal {
    /// The device's end.
    pub master: tokio_serial::SerialStream,
    /// The client's end, already open.
    pub slave: tokio_serial::SerialStream,
    /// The path under which the client's end can be opened again, e.g. `/dev/pts/3`.
    pub slave_path: std::path::PathBuf,
}

#[cfg(unix)]
impl std::fmt::Debug for PseudoTerminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PseudoTerminal").field("slave_path", &self.slave_path).finish_non_exhaustive()
    }
}

#[cfg(unix)]
impl PseudoTerminal {
    /// Creates a pseudo-terminal pair. Must be called inside a tokio runtime (both ends are
    /// registered with its reactor); outside one it fails.
    pub fn open() -> io::Result<Self> {
        use tokio_serial::SerialPort;

        if tokio::runtime::Handle::try_current().is_err() {
            return Err(io::Error::other("creating a pseudo-terminal needs a tokio runtime"));
        }
        let (master, slave) = tokio_serial::SerialStream::pair().map_err(io::Error::from)?;
        let slave_path = slave
            .name()
            .map(std::path::PathBuf::from)
            .ok_or_else(|| io::Error::other("the pseudo-terminal has no path"))?;
        Ok(Self { master, slave, slave_path })
    }

    /// The path under which the client's end can be opened.
    pub fn slave_path(&self) -> &std::path::Path {
        &self.slave_path
    }
}

/// What a line asked for, once parsed.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    /// Run `endpoint` with `request` in session `session`.
    Run { endpoint: String, session: u32, request: Vec<u8> },
    /// A known endpoint with a valid session id but an argument that is not hex: the session
    /// switch happens, the request fails.
    BadRequest { session: u32 },
    /// Nothing to run (empty line, unknown command, wrong arguments, bad session id).
    Nothing,
}

fn parse_line(line: &[u8], link: &dyn DeviceLink) -> Command {
    let words: Vec<&[u8]> = line.split(u8::is_ascii_whitespace).filter(|word| !word.is_empty()).collect();
    let [name, session, hex] = words.as_slice() else {
        return Command::Nothing;
    };
    let Ok(endpoint) = std::str::from_utf8(name) else {
        return Command::Nothing;
    };
    if !link.has_endpoint(endpoint) {
        return Command::Nothing;
    }
    let session = match std::str::from_utf8(session) {
        Ok(text) if text.bytes().all(|b| b.is_ascii_digit()) => match text.parse::<u32>() {
            Ok(id) => id,
            Err(_) => return Command::Nothing,
        },
        _ => return Command::Nothing,
    };
    match from_hex(hex) {
        Some(request) => Command::Run { endpoint: endpoint.to_owned(), session, request },
        None => Command::BadRequest { session },
    }
}

fn from_hex(text: &[u8]) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    text.chunks_exact(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

fn push_hex(out: &mut Vec<u8>, data: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in data {
        out.push(DIGITS[usize::from(byte >> 4)]);
        out.push(DIGITS[usize::from(byte & 0x0f)]);
    }
}

/// Runs one collected line; appends the command's output and the prompt to `out`.
async fn run_line(shared: &Shared, line: &[u8], out: &mut Vec<u8>) {
    let link = &shared.link;
    let command = parse_line(line, link.as_ref());
    if command != Command::Nothing {
        let latency = link.exchange_latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }
    let (endpoint, session, request) = match command {
        Command::Run { endpoint, session, request } => (endpoint, session, Some(request)),
        Command::BadRequest { session } => (String::new(), session, None),
        Command::Nothing => {
            log::debug!("device console: line ignored");
            out.extend_from_slice(PROMPT);
            return;
        }
    };
    {
        let mut current = shared.lock_current();
        if *current != Some(session) {
            link.open_session(session);
            *current = Some(session);
            log::debug!("device console: new session");
        }
    }
    let Some(request) = request else {
        log::debug!("device console: argument is not hex");
        out.extend_from_slice(PROMPT);
        return;
    };
    log::debug!("device console: `{endpoint}`, {} bytes", request.len());
    let handler_link = Arc::clone(link);
    let handler_endpoint = endpoint.clone();
    let outcome = tokio::task::spawn_blocking(move || handler_link.handle(session, &handler_endpoint, &request))
        .await
        .unwrap_or_else(|_| Err(DeviceFailure::Failed("the request handler panicked".to_owned())));
    match outcome {
        Ok(response) => {
            log::debug!("device console: `{endpoint}` answered {} bytes", response.len());
            out.extend_from_slice(b"\r\n");
            push_hex(out, &response);
            out.extend_from_slice(b"\r\n");
        }
        Err(_failure) => {
            // The failure text comes from the device side; keep it out of the log.
            log::debug!("device console: `{endpoint}` failed");
        }
    }
    out.extend_from_slice(PROMPT);
}

async fn serve<S>(shared: &Shared, mut stream: S) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut line: Vec<u8> = Vec::with_capacity(LINE_BUFFER);
    let mut out: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            log::debug!("device console: stream ended");
            return Ok(());
        }
        for &byte in &chunk[..n] {
            let complete = if byte == b'\r' {
                out.extend_from_slice(b"\r\n");
                true
            } else {
                out.push(byte);
                line.push(byte);
                // The CR must be among the 255 characters: a line that fills them without one
                // is cut here, and what follows starts the next line.
                line.len() >= MAX_LINE_CHARS
            };
            if complete {
                // The echo reaches the client before the command runs.
                stream.write_all(&out).await?;
                out.clear();
                run_line(shared, &line, &mut out).await;
                line.clear();
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        stream.flush().await?;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    struct Fake;

    impl DeviceLink for Fake {
        fn open_session(&self, _session_id: u32) {}
        fn handle(&self, _session_id: u32, _endpoint: &str, request: &[u8]) -> Result<Vec<u8>, DeviceFailure> {
            Ok(request.to_vec())
        }
        fn has_endpoint(&self, endpoint: &str) -> bool {
            endpoint == "proto-ver"
        }
        fn new_session_id(&self) -> u32 {
            1
        }
    }

    #[test]
    fn lines_are_parsed_like_the_device() {
        let run = Command::Run { endpoint: "proto-ver".into(), session: 0, request: b"ESP".to_vec() };
        assert_eq!(parse_line(b"proto-ver 0 455350", &Fake), run);
        assert_eq!(parse_line(b"  proto-ver   0 455350 ", &Fake), run);
        assert_eq!(parse_line(b"proto-ver 7 45535", &Fake), Command::BadRequest { session: 7 });
        assert_eq!(parse_line(b"proto-ver 7 xx", &Fake), Command::BadRequest { session: 7 });
        assert_eq!(parse_line(b"prov-nothing 0 455350", &Fake), Command::Nothing);
        assert_eq!(parse_line(b"proto-ver x1 455350", &Fake), Command::Nothing);
        assert_eq!(parse_line(b"proto-ver -1 455350", &Fake), Command::Nothing);
        assert_eq!(parse_line(b"proto-ver 4294967296 455350", &Fake), Command::Nothing);
        assert_eq!(parse_line(b"proto-ver 0", &Fake), Command::Nothing);
        assert_eq!(parse_line(b"proto-ver 0 4553 50", &Fake), Command::Nothing);
        assert_eq!(parse_line(b"", &Fake), Command::Nothing);
    }
}
