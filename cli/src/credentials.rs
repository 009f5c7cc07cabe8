//! The RainMaker login stored between runs: the cloud's tokens, the API URL they belong to and the
//! account's user name, as JSON in `$XDG_CONFIG_HOME/rainmaker-prov/credentials.json` (fallback
//! `$HOME/.config/rainmaker-prov/`; `%APPDATA%\rainmaker-prov\` on Windows).
//!
//! On Unix the directory is created with mode 0700 and the file with mode 0600 before anything is
//! written to it; the file is replaced atomically (a temporary file in the same directory, then a
//! rename), so a crash never leaves half a file. The tokens are [`Secret`]s: redacted in `Debug`
//! and wiped from memory, as is every buffer that held the file's text.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rainmaker_prov::rainmaker::CloudTokens;
use rainmaker_prov::security::Secret;
use serde_json::{Value, json};
use zeroize::{Zeroize, Zeroizing};

/// Name of the directory under the configuration directory.
const APP_DIR: &str = "rainmaker-prov";
/// Name of the file.
const FILE_NAME: &str = "credentials.json";
/// Format version written in the file.
const VERSION: u64 = 1;
/// A credentials file larger than this is not read.
const MAX_FILE: u64 = 256 * 1024;

/// A stored login. `Debug` redacts the tokens.
#[derive(Debug, Clone)]
pub struct StoredLogin {
    /// The RainMaker API base URL the tokens belong to (normalised, trailing `/`).
    pub cloud_url: String,
    /// The account's user name (e-mail address).
    pub user_name: String,
    /// The tokens.
    pub tokens: CloudTokens,
}

/// Why the credentials file cannot be used.
#[derive(Debug)]
pub enum StoreError {
    /// No configuration directory could be determined (no `XDG_CONFIG_HOME`, `HOME`, `APPDATA`).
    NoConfigDir,
    /// Reading or writing the file failed.
    Io {
        /// The path involved.
        path: PathBuf,
        /// What failed.
        error: io::Error,
    },
    /// The file is not a credentials file this program wrote.
    Malformed {
        /// The path.
        path: PathBuf,
        /// What is wrong (never the file's content).
        detail: &'static str,
    },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NoConfigDir => {
                f.write_str("no configuration directory: set XDG_CONFIG_HOME or HOME (APPDATA on Windows)")
            }
            StoreError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            StoreError::Malformed { path, detail } => {
                write!(f, "{}: not a usable credentials file ({detail}); log in again", path.display())
            }
        }
    }
}

impl std::error::Error for StoreError {}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |error| StoreError::Io { path: path.to_owned(), error }
}

/// The directory that holds the file: `$XDG_CONFIG_HOME/rainmaker-prov` (an absolute
/// `XDG_CONFIG_HOME` only, as the XDG specification says), else `$HOME/.config/rainmaker-prov`;
/// `%APPDATA%\rainmaker-prov` on Windows.
pub fn config_dir() -> Result<PathBuf, StoreError> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if cfg!(windows) {
        return non_empty("APPDATA").map(|d| d.join(APP_DIR)).ok_or(StoreError::NoConfigDir);
    }
    if let Some(xdg) = non_empty("XDG_CONFIG_HOME").filter(|p| p.is_absolute()) {
        return Ok(xdg.join(APP_DIR));
    }
    non_empty("HOME").map(|home| home.join(".config").join(APP_DIR)).ok_or(StoreError::NoConfigDir)
}

/// The credentials file's path.
pub fn credentials_path() -> Result<PathBuf, StoreError> {
    Ok(config_dir()?.join(FILE_NAME))
}

/// Reads the stored login; `Ok(None)` when there is none.
pub fn load() -> Result<Option<StoredLogin>, StoreError> {
    let path = credentials_path()?;
    load_from(&path)
}

fn load_from(path: &Path) -> Result<Option<StoredLogin>, StoreError> {
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path)(e)),
    };
    let meta = file.metadata().map_err(io_error(path))?;
    if meta.len() > MAX_FILE {
        return Err(StoreError::Malformed { path: path.to_owned(), detail: "too large" });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            log::warn!(
                "{} is readable by other users (mode {mode:o}); it holds your RainMaker tokens: chmod 600 it",
                path.display()
            );
        }
    }
    // Sized up front so that the buffer holding the tokens is never reallocated (and copied).
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize + 1));
    io::Read::read_to_end(&mut io::Read::take(file, MAX_FILE), &mut bytes).map_err(io_error(path))?;
    let mut value: Value = serde_json::from_slice(&bytes)
        .map_err(|_| StoreError::Malformed { path: path.to_owned(), detail: "not JSON" })?;
    let parsed = parse(&value);
    wipe(&mut value);
    parsed.map(Some).map_err(|detail| StoreError::Malformed { path: path.to_owned(), detail })
}

fn parse(value: &Value) -> Result<StoredLogin, &'static str> {
    if value.get("version").and_then(Value::as_u64) != Some(VERSION) {
        return Err("unknown version");
    }
    let text = |v: &Value, key: &'static str| -> Result<String, &'static str> {
        v.get(key).and_then(Value::as_str).map(str::to_owned).ok_or(key)
    };
    let cloud_url = text(value, "cloud_url")?;
    let user_name = text(value, "user_name")?;
    let secret = |key: &'static str| -> Result<Secret, &'static str> {
        match value.get(key) {
            Some(Value::String(s)) => Ok(Secret::from(s.as_str())),
            _ => Err(key),
        }
    };
    let tokens = CloudTokens {
        access_token: secret("access_token")?,
        id_token: secret("id_token")?,
        refresh_token: secret("refresh_token")?,
    };
    if tokens.access_token.is_empty() && tokens.refresh_token.is_empty() {
        return Err("no token");
    }
    Ok(StoredLogin { cloud_url, user_name, tokens })
}

/// Wipes every string of a JSON value that held tokens.
fn wipe(value: &mut Value) {
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(a) => a.iter_mut().for_each(wipe),
        Value::Object(o) => o.values_mut().for_each(wipe),
        _ => {}
    }
}

fn token_str(secret: &Secret) -> &str {
    // Tokens are JWTs / opaque ASCII strings from the cloud's JSON: valid UTF-8.
    std::str::from_utf8(secret.expose()).unwrap_or_default()
}

/// Writes the login (replacing any previous one); returns the file's path.
pub fn save(login: &StoredLogin) -> Result<PathBuf, StoreError> {
    let path = credentials_path()?;
    save_to(&path, login)?;
    Ok(path)
}

fn save_to(path: &Path, login: &StoredLogin) -> Result<(), StoreError> {
    let dir = path.parent().ok_or(StoreError::NoConfigDir)?;
    create_private_dir(dir)?;
    let mut value = json!({
        "version": VERSION,
        "cloud_url": login.cloud_url,
        "user_name": login.user_name,
        "access_token": token_str(&login.tokens.access_token),
        "id_token": token_str(&login.tokens.id_token),
        "refresh_token": token_str(&login.tokens.refresh_token),
    });
    // Sized up front so that the buffer holding the tokens is never reallocated (and copied).
    let mut text = Zeroizing::new(Vec::with_capacity(MAX_FILE as usize));
    let written = serde_json::to_writer_pretty(&mut *text, &value);
    wipe(&mut value);
    written.map_err(|_| StoreError::Malformed { path: path.to_owned(), detail: "cannot serialise" })?;
    text.push(b'\n');
    let tmp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let written = write_private(&tmp, &text).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(path)(e));
    }
    // Make the rename durable (best effort: not every file system lets a directory be synced).
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates the directory (and its parents) with mode 0700 on Unix; an existing
/// `rainmaker-prov` directory is narrowed to 0700 too.
fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io_error(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(dir).map_err(io_error(dir))?;
        if meta.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_error(dir))?;
        }
    }
    Ok(())
}

/// Creates `path` (a new file: an existing one, e.g. left by a crash, is removed first) with mode
/// 0600 on Unix, writes `bytes` and syncs.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(path)?;
            options.open(path)?
        }
        other => other?,
    };
    file.write_all(bytes)?;
    file.sync_all()
}

/// Removes the stored login; returns the path and whether there was one.
pub fn remove() -> Result<(PathBuf, bool), StoreError> {
    let path = credentials_path()?;
    match fs::remove_file(&path) {
        Ok(()) => Ok((path, true)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((path, false)),
        Err(e) => Err(io_error(&path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> StoredLogin {
        StoredLogin {
            cloud_url: "http://127.0.0.1:1/v1/".into(),
            user_name: "user@example.com".into(),
            tokens: CloudTokens {
                access_token: Secret::from("AccessTok111"),
                id_token: Secret::from("IdTok222"),
                refresh_token: Secret::from("RefreshTok333"),
            },
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rainmaker-prov-cred-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn round_trip_with_private_modes() {
        let dir = temp_dir("rt");
        let path = dir.join(APP_DIR).join(FILE_NAME);
        save_to(&path, &login()).unwrap();
        let back = load_from(&path).unwrap().unwrap();
        assert_eq!(back.cloud_url, "http://127.0.0.1:1/v1/");
        assert_eq!(back.user_name, "user@example.com");
        assert_eq!(back.tokens, login().tokens);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        }
        // Replacing keeps the mode and leaves no temporary file behind.
        let mut changed = login();
        changed.tokens.access_token = Secret::from("AccessTok444");
        save_to(&path, &changed).unwrap();
        assert_eq!(load_from(&path).unwrap().unwrap().tokens.access_token, Secret::from("AccessTok444"));
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [FILE_NAME]);
        assert!(!format!("{changed:?}").contains("AccessTok444"));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_and_malformed_files() {
        let dir = temp_dir("bad");
        let path = dir.join(FILE_NAME);
        assert!(load_from(&path).unwrap().is_none());
        fs::create_dir_all(&dir).unwrap();
        fs::write(&path, "{\"version\":1,\"access_token\":\"LeakMe\"}").unwrap();
        let err = load_from(&path).unwrap_err().to_string();
        assert!(err.contains("log in again") && !err.contains("LeakMe"), "{err}");
        fs::write(&path, "not json LeakMe").unwrap();
        let err = load_from(&path).unwrap_err().to_string();
        assert!(!err.contains("LeakMe"), "{err}");
        let _ = fs::remove_dir_all(&dir);
    }
}
