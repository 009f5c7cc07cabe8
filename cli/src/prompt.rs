//! Terminal prompts (network choice, SSID, hidden passphrase) that honour Ctrl-C.
//!
//! Every prompt is written on stderr. The answer is read by a plain thread (a blocking read of
//! the terminal cannot be cancelled) while the async side waits for either the answer or Ctrl-C:
//! Ctrl-C ends the prompt at once with [`Error::Cancelled`] (exit code 130), the reader thread is
//! abandoned (the process ends right after; `main` does not wait for it). Hidden input turns the
//! terminal's echo off and a guard puts the saved settings back on every way out: answer, end of
//! input, error or Ctrl-C.
//!
//! Answers are read byte by byte from a duplicate of the standard input descriptor, never through
//! the standard library's shared stdin buffer, so that a passphrase only ever lives in zeroizing
//! buffers and no read takes more than one line. That holds on Unix; elsewhere (untested here)
//! hidden input goes through rpassword and visible input through std's stdin, whose buffers are
//! not wiped.

use std::io::{self, Write};

use rainmaker_prov::endpoints::wifi::MAX_SSID_LEN;
use rainmaker_prov::error::Error;
use rainmaker_prov::security::Secret;
use tokio::sync::oneshot;
use zeroize::Zeroizing;

/// Asks questions on the terminal; created before the questions so that a Ctrl-C pressed between
/// two of them is not lost.
pub(crate) struct Prompter {
    /// Ctrl-C, watched from the creation of the prompter on.
    interrupt: Interrupt,
}

impl Prompter {
    /// Starts watching for Ctrl-C.
    pub(crate) fn new() -> Result<Self, Error> {
        Ok(Self { interrupt: Interrupt::listen()? })
    }

    /// Shows `prompt` and reads one line (without its line ending). Ctrl-C gives
    /// [`Error::Cancelled`]; the end of the input gives [`Error::InvalidInput`].
    pub(crate) async fn line(&mut self, prompt: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.read(prompt, false).await
    }

    /// Shows `prompt` and reads one line with the terminal's echo off.
    pub(crate) async fn hidden(&mut self, prompt: &str) -> Result<Secret, Error> {
        let mut line = self.read(prompt, true).await?;
        Ok(Secret::new(std::mem::take(&mut *line)))
    }

    /// Asks for the number (1 to `count`) of a network in the list shown until one is given;
    /// returns its index (0-based). A wrong answer is explained and the question asked again.
    pub(crate) async fn choice(&mut self, prompt: &str, count: usize) -> Result<usize, Error> {
        loop {
            let answer = self.line(prompt).await?;
            match parse_choice(&answer, count) {
                Ok(index) => return Ok(index),
                Err(why) => eprintln!("{why}"),
            }
        }
    }

    /// Asks for the SSID of a hidden network until a usable one (1 to [`MAX_SSID_LEN`] bytes) is given.
    pub(crate) async fn ssid(&mut self, prompt: &str) -> Result<Vec<u8>, Error> {
        loop {
            let mut answer = self.line(prompt).await?;
            match answer.len() {
                0 => eprintln!("The SSID must not be empty: type the name of the hidden network."),
                n if n > MAX_SSID_LEN => eprintln!("That SSID is {n} bytes long; an SSID has at most {MAX_SSID_LEN}."),
                _ => return Ok(std::mem::take(&mut *answer)),
            }
        }
    }

    /// Asks for a Wi-Fi passphrase with hidden input. Unless `allow_empty`, an empty answer is
    /// explained and the question asked again.
    pub(crate) async fn passphrase(&mut self, prompt: &str, allow_empty: bool) -> Result<Secret, Error> {
        loop {
            let passphrase = self.hidden(prompt).await?;
            if allow_empty || !passphrase.is_empty() {
                return Ok(passphrase);
            }
            eprintln!("This network is secured: type its passphrase (it is not shown as you type).");
        }
    }

    /// Shows the prompt, then waits for a line or Ctrl-C.
    async fn read(&mut self, prompt: &str, hidden: bool) -> Result<Zeroizing<Vec<u8>>, Error> {
        let echo_off = if hidden { EchoOff::engage()? } else { None };
        eprint!("{prompt}");
        let _ = io::stderr().flush();
        let (tx, rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("prompt".into())
            .spawn(move || {
                let _ = tx.send(read_line_blocking(hidden));
            })
            .map_err(|e| Error::Internal { detail: format!("cannot start the terminal reader: {e}") })?;
        let outcome = tokio::select! {
            biased;
            () = self.interrupt.wait() => Err(Error::Cancelled),
            read = rx => match read {
                Ok(Ok(Some(line))) => Ok(line),
                Ok(Ok(None)) => Err(Error::InvalidInput { detail: "no answer: the input ended".into() }),
                Ok(Err(e)) => Err(Error::InvalidInput { detail: format!("cannot read the terminal: {e}") }),
                Err(_) => Err(Error::Internal { detail: "the terminal reader stopped".into() }),
            },
        };
        // Give the terminal its settings back before anything else is printed.
        drop(echo_off);
        if outcome.is_err() {
            // Ctrl-C (`^C`), the end of the input or an error: end the prompt's line, so that the
            // error message and then the shell prompt start on a fresh line. (After an answer the
            // terminal has echoed its Enter key, ECHONL for hidden input.)
            eprintln!();
        }
        outcome
    }
}

/// Parses the number of a network in a list of `count`: its index (0-based), or why the answer
/// is wrong.
pub(crate) fn parse_choice(answer: &[u8], count: usize) -> Result<usize, String> {
    let text = String::from_utf8_lossy(answer);
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("Please type the number of a network, 1 to {count}."));
    }
    match text.parse::<usize>() {
        Ok(n) if (1..=count).contains(&n) => Ok(n - 1),
        Ok(n) => Err(format!("There is no network {n}: type a number from 1 to {count}.")),
        Err(_) => {
            let shown: String = crate::output::terminal_safe(text).chars().take(40).collect();
            Err(format!("`{shown}` is not a number: type a number from 1 to {count}."))
        }
    }
}

/// Ctrl-C, watched for as long as the value lives.
struct Interrupt {
    /// SIGINT (what the terminal sends on Ctrl-C), registered at creation.
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Interrupt {
    /// Starts watching (on Unix the signal handler is in place when this returns).
    fn listen() -> Result<Self, Error> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signal = signal(SignalKind::interrupt())
                .map_err(|e| Error::Internal { detail: format!("cannot watch for Ctrl-C: {e}") })?;
            Ok(Self { signal })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Resolves on the next Ctrl-C (at once if one came since the last wait).
    async fn wait(&mut self) {
        #[cfg(unix)]
        let delivered = self.signal.recv().await.is_some();
        #[cfg(not(unix))]
        let delivered = tokio::signal::ctrl_c().await.is_ok();
        if !delivered {
            // No way to learn of Ctrl-C any more: only the answer can end the prompt.
            std::future::pending::<()>().await;
        }
    }
}

/// The terminal's echo turned off; the saved settings are put back on drop.
#[cfg(unix)]
struct EchoOff {
    /// The settings before.
    saved: nix::sys::termios::Termios,
}

#[cfg(unix)]
impl EchoOff {
    /// Turns the echo of the standard input's terminal off (the Enter key is still echoed). `None`
    /// when the standard input is not a terminal (nothing is echoed then anyway).
    fn engage() -> Result<Option<Self>, Error> {
        use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
        let stdin = io::stdin();
        let Ok(saved) = tcgetattr(&stdin) else {
            return Ok(None);
        };
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO | LocalFlags::ECHOE | LocalFlags::ECHOK);
        quiet.local_flags.insert(LocalFlags::ECHONL);
        tcsetattr(&stdin, SetArg::TCSANOW, &quiet)
            .map_err(|e| Error::InvalidInput { detail: format!("cannot hide the input on this terminal: {e}") })?;
        Ok(Some(Self { saved }))
    }
}

#[cfg(unix)]
impl Drop for EchoOff {
    fn drop(&mut self) {
        use nix::sys::termios::{SetArg, tcsetattr};
        if let Err(e) = tcsetattr(io::stdin(), SetArg::TCSANOW, &self.saved) {
            eprintln!("\nwarning: cannot restore the terminal settings ({e}); run `stty sane`");
        }
    }
}

/// Elsewhere the hidden read itself (rpassword) hides the input.
#[cfg(not(unix))]
struct EchoOff;

#[cfg(not(unix))]
impl EchoOff {
    /// Nothing to do here: see [`read_line_blocking`].
    fn engage() -> Result<Option<Self>, Error> {
        Ok(None)
    }
}

/// The standard input, unbuffered (a duplicate of its descriptor).
#[cfg(unix)]
fn raw_stdin() -> io::Result<std::fs::File> {
    use std::os::fd::AsFd;
    Ok(std::fs::File::from(io::stdin().as_fd().try_clone_to_owned()?))
}

/// Reads one line (blocking); `None` at the end of the input with nothing read. The line ending
/// (`\n` or `\r\n`) is removed.
#[cfg(unix)]
fn read_line_blocking(_hidden: bool) -> io::Result<Option<Zeroizing<Vec<u8>>>> {
    use std::io::Read;
    use zeroize::Zeroize;

    let mut input = raw_stdin()?;
    let mut line = Zeroizing::new(Vec::with_capacity(128));
    let mut byte = [0u8; 1];
    let result = loop {
        match input.read(&mut byte) {
            Ok(0) if line.is_empty() => break Ok(None),
            Ok(0) => break Ok(Some(())),
            Ok(_) if byte[0] == b'\n' => break Ok(Some(())),
            Ok(_) => push_zeroizing(&mut line, byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    byte.zeroize();
    match result {
        Ok(Some(())) => {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            Ok(Some(line))
        }
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads one line (blocking); hidden input through rpassword.
#[cfg(not(unix))]
fn read_line_blocking(hidden: bool) -> io::Result<Option<Zeroizing<Vec<u8>>>> {
    if hidden {
        let text = rpassword::read_password()?;
        return Ok(Some(Zeroizing::new(text.into_bytes())));
    }
    let mut text = Zeroizing::new(String::new());
    if io::stdin().read_line(&mut text)? == 0 {
        return Ok(None);
    }
    let kept = text.trim_end_matches(['\r', '\n']).len();
    text.truncate(kept);
    Ok(Some(Zeroizing::new(std::mem::take(&mut *text).into_bytes())))
}

/// Appends a byte without leaving a copy of the earlier bytes behind when the buffer grows.
#[cfg(unix)]
fn push_zeroizing(line: &mut Zeroizing<Vec<u8>>, byte: u8) {
    if line.len() == line.capacity() {
        let mut bigger = Zeroizing::new(Vec::with_capacity(line.capacity().max(64) * 2));
        bigger.extend_from_slice(line);
        *line = bigger; // the old buffer is wiped as it is dropped
    }
    line.push(byte);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn choices_are_checked() {
        assert_eq!(parse_choice(b"1", 3), Ok(0));
        assert_eq!(parse_choice(b" 3 ", 3), Ok(2));
        assert!(parse_choice(b"", 3).unwrap_err().contains("1 to 3"));
        assert!(parse_choice(b"   ", 3).is_err());
        assert!(parse_choice(b"0", 3).unwrap_err().contains("no network 0"));
        assert!(parse_choice(b"99", 3).unwrap_err().contains("no network 99"));
        assert!(parse_choice(b"abc", 3).unwrap_err().contains("`abc` is not a number"));
        assert!(parse_choice(b"-1", 3).unwrap_err().contains("not a number"));
        // Control characters typed by the user are not sent back to the terminal raw.
        assert!(!parse_choice(b"\x1b[2J", 3).unwrap_err().contains('\x1b'));
    }

    #[cfg(unix)]
    #[test]
    fn growing_a_line_keeps_its_bytes() {
        let mut line = Zeroizing::new(Vec::with_capacity(2));
        for b in 0..200u8 {
            push_zeroizing(&mut line, b);
        }
        assert_eq!(line.as_slice(), (0..200u8).collect::<Vec<_>>().as_slice());
    }
}
