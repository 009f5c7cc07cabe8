//! `rainmaker-prov`: provision ESP-IDF / ESP RainMaker devices from a terminal, or simulate one.
//!
//! Exit codes are a stable interface for scripts: 0 success, 1 the RainMaker credentials file
//! cannot be written or removed, 2 usage or invalid input, 3 wrong PoP / SRP credentials (or a
//! device that fails to prove them), 4 Wi-Fi authentication failed, 5 network not found,
//! 6 timeout, 7 device unreachable or disconnected, 8 protocol error, 9 security below the accepted
//! minimum, 10 not logged in to RainMaker or login refused, 11 RainMaker association failed,
//! 12 RainMaker claiming failed, 13 RainMaker cloud unreachable or cloud error, 130 cancelled.
//!
//! The serial console (`--transport console`) carries only security 0 and 1: a device that uses
//! security 2 (detected with `--sec auto`, or forced with `--sec 2`) fails with exit code 2 and
//! the error `invalid_input`, because the security 2 handshake does not fit a console line.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line program talks on stdout/stderr

mod commands;
mod credentials;
mod generate;
mod output;
mod prompt;
mod rainmaker;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use rainmaker_prov::security::Secret;

/// The exit codes, shown by `--help`.
const EXIT_CODES: &str = "\
Exit codes:
   0  success
   1  the RainMaker credentials file cannot be written or removed
   2  usage error or invalid input
   3  wrong PoP / SRP credentials (or a device that fails to prove them)
   4  Wi-Fi authentication failed
   5  network not found
   6  timeout
   7  device unreachable or disconnected
   8  protocol error
   9  security below the accepted minimum, or a possible impostor
  10  not logged in to ESP RainMaker, or the cloud refused the login
  11  RainMaker association failed (mapping timed out or discarded, challenge rejected,
      challenge-response disabled, device needs claiming without --claim)
  12  RainMaker claiming failed
  13  RainMaker cloud unreachable or cloud error
 130  cancelled";

/// Provision ESP-IDF and ESP RainMaker devices, or run a simulated device.
#[derive(Debug, Parser)]
#[command(name = "rainmaker-prov", version, about, after_help = EXIT_CODES)]
struct Cli {
    /// Log protocol steps to stderr (-v info, -vv debug, -vvv trace). Secrets are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

/// Transports the command line can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TransportArg {
    /// SoftAP + HTTP.
    Softap,
    /// Serial console (a UART, or the simulator's pseudo-terminal); security 0 and 1 only.
    Console,
    /// Bluetooth LE (GATT); the device is found by name (--device-name, the QR code's `name`, or
    /// the `PROV_` prefix when exactly one such device is around). Needs a build with `--features
    /// ble`.
    Ble,
}

/// The security scheme of a simulated device (`sim`, `demo`): the device decides, so there is
/// no `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SimSecArg {
    /// Security 0: no handshake, no encryption (clients must accept it with --min-sec 0).
    #[value(name = "0")]
    S0,
    /// Security 1: X25519 key exchange, the PoP, AES-CTR.
    #[value(name = "1")]
    S1,
    /// Security 2: SRP6a with a username and password, AES-GCM.
    #[value(name = "2")]
    S2,
}

/// Security selection of a client (`provision`, `scan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SecArg {
    /// Detect from the device's `proto-ver` answer.
    Auto,
    /// Security 0 (no encryption; needs --min-sec 0).
    #[value(name = "0")]
    S0,
    /// Security 1 (X25519 + PoP + AES-CTR).
    #[value(name = "1")]
    S1,
    /// Security 2 (SRP6a + AES-GCM).
    #[value(name = "2")]
    S2,
}

/// Options shared by the commands that talk to a device.
#[derive(Debug, Args)]
struct DeviceArgs {
    /// Transport to the device.
    #[arg(long, value_enum, default_value = "softap")]
    transport: TransportArg,
    /// Device address (host:port) for SoftAP.
    #[arg(long, default_value = "192.168.4.1:80")]
    host: String,
    /// Serial port of the device's console (e.g. /dev/ttyUSB0, or the path `sim` prints).
    #[arg(long, required_if_eq("transport", "console"))]
    port: Option<String>,
    /// Baud rate of the serial console.
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
    /// BLE: the advertised name of the device (default: the QR code's `name`, else the only
    /// device whose name starts with `PROV_`).
    #[cfg(feature = "ble")]
    #[arg(long)]
    device_name: Option<String>,
    /// BLE: how long to scan for the device, in seconds.
    #[cfg(feature = "ble")]
    #[arg(long, default_value_t = 5)]
    ble_scan_seconds: u64,
    /// Security scheme.
    #[arg(long, value_enum, default_value = "auto")]
    sec: SecArg,
    /// Lowest security accepted (0, 1 or 2). Security 0 is refused unless this is 0.
    #[arg(long, default_value_t = 1)]
    min_sec: u8,
    /// Proof of possession (security 1) / password (security 2).
    #[arg(long, env = "RAINMAKER_PROV_POP", hide_env_values = true)]
    pop: Option<Secret>,
    /// SRP username for security 2 (default `wifiprov`).
    #[arg(long)]
    sec2_username: Option<String>,
    /// SRP password for security 2 (default: the PoP).
    #[arg(long, env = "RAINMAKER_PROV_SEC2_PASSWORD", hide_env_values = true)]
    sec2_password: Option<Secret>,
    /// The device's QR code payload (JSON or `NP:` form); supplies PoP, username and the security
    /// the device must offer (a device offering less is refused, exit 9).
    #[arg(long)]
    qrcode: Option<String>,
    /// Accept a security 1 device that advertises `no_pop` although a PoP was given (the session
    /// is then not authenticated). Without it such a device is refused as a possible impostor.
    #[arg(long)]
    allow_no_pop: bool,
    /// Overall time limit in seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Print one JSON object with the outcome on stdout.
    #[arg(long)]
    json: bool,
}

/// ESP RainMaker options of `provision` (docs/protocol.md 8).
#[derive(Debug, Args)]
#[command(next_help_heading = "ESP RainMaker")]
struct RainMakerArgs {
    /// Hand this RainMaker user id and --secretkey to the device's `cloud_user_assoc` (no cloud
    /// call: the mapping is confirmed by whoever holds the account).
    #[arg(long, value_name = "ID", conflicts_with_all = ["rainmaker", "claim"])]
    userid: Option<String>,
    /// The mapping secret key for --userid.
    #[arg(long, value_name = "KEY", env = "RAINMAKER_PROV_SECRET_KEY", hide_env_values = true)]
    secretkey: Option<Secret>,
    /// Add the node to the logged-in RainMaker account (`login` first): challenge-response when
    /// the device offers it, else the user-node mapping confirmed with the cloud.
    #[arg(long)]
    rainmaker: bool,
    /// Claim the node through the cloud when it asks for it (assisted claiming); implies
    /// --rainmaker.
    #[arg(long)]
    claim: bool,
    /// Associate only: send no network credentials (the device stays in provisioning mode).
    #[arg(long, conflicts_with_all = ["ssid", "thread_dataset"])]
    no_wifi: bool,
    /// RainMaker API base URL (default: the one stored at login, else the public cloud).
    /// Plain http:// only for a loopback address.
    #[arg(long, value_name = "URL")]
    cloud_url: Option<String>,
    /// RainMaker assisted-claiming service base URL (default: the public service).
    #[arg(long, value_name = "URL")]
    claim_url: Option<String>,
    /// How long to wait for the cloud to confirm a user-node mapping, in seconds (the node stays
    /// `pending` after it).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    confirm_timeout: u64,
}

impl RainMakerArgs {
    /// Whether any option asks for the RainMaker flow.
    fn wanted(&self) -> bool {
        self.userid.is_some() || self.rainmaker || self.claim || self.no_wifi
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Log in to the ESP RainMaker cloud and store the tokens for `provision --rainmaker`.
    ///
    /// The password is prompted on a terminal (hidden) or read from RAINMAKER_PROV_CLOUD_PASSWORD;
    /// it is never an argument. Tokens are stored in $XDG_CONFIG_HOME/rainmaker-prov/credentials.json
    /// (else ~/.config/rainmaker-prov/), readable by the user only.
    #[command(after_help = EXIT_CODES)]
    Login {
        /// The account's e-mail address (user name).
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// RainMaker API base URL (default: the public cloud). Plain http:// only for loopback.
        #[arg(long, value_name = "URL")]
        cloud_url: Option<String>,
        /// The one-time code, when the account asks for one (prompted on a terminal otherwise).
        #[arg(long, value_name = "CODE", env = "RAINMAKER_PROV_CLOUD_CODE", hide_env_values = true)]
        code: Option<Secret>,
    },
    /// Forget the stored RainMaker login (removes the credentials file).
    Logout,
    /// Provision a device onto a Wi-Fi (or Thread) network, optionally adding it to an ESP
    /// RainMaker account.
    #[command(after_help = EXIT_CODES)]
    Provision {
        #[command(flatten)]
        device: DeviceArgs,
        /// Wi-Fi SSID. Without it, a scan is shown to pick from (needs a terminal).
        #[arg(long)]
        ssid: Option<String>,
        /// Wi-Fi passphrase (prompted when a network is picked interactively).
        #[arg(long, env = "RAINMAKER_PROV_PASSPHRASE", hide_env_values = true)]
        passphrase: Option<Secret>,
        /// Thread Active Operational Dataset as hex (instead of Wi-Fi).
        #[arg(long, conflicts_with_all = ["ssid", "passphrase"])]
        thread_dataset: Option<String>,
        /// Send data to a custom endpoint before the credentials: ENDPOINT=TEXT (repeatable).
        #[arg(long = "custom-data", value_name = "ENDPOINT=TEXT")]
        custom_data: Vec<String>,
        #[command(flatten)]
        rainmaker: RainMakerArgs,
    },
    /// Scan for Wi-Fi networks through a device.
    Scan {
        #[command(flatten)]
        device: DeviceArgs,
    },
    /// Run a simulated device until interrupted.
    Sim(commands::SimArgs),
    /// Start a simulated device in-process and provision it, showing every step.
    Demo {
        /// Security scheme of the simulated device (the client detects it, as against a real
        /// device).
        #[arg(long, value_enum, default_value = "2")]
        sec: SimSecArg,
        /// Print one JSON object with the outcome.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script on stdout (bash, zsh, fish, elvish or powershell).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff, section 1) on stdout.
    Man,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    output::init_logger(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(commands::run(cli));
    // Do not wait for blocking work still running: a prompt's reader thread left blocked on the
    // terminal by Ctrl-C must not keep the process alive.
    runtime.shutdown_background();
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_secrets_are_redacted_in_debug_output() {
        let cli = Cli::try_parse_from([
            "rainmaker-prov",
            "provision",
            "--pop",
            "PopSecret77",
            "--sec2-password",
            "SrpSecret88",
            "--ssid",
            "Home",
            "--passphrase",
            "WifiSecret99",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let text = format!("{cli:?}");
        assert!(text.contains("Home"), "{text}");
        for secret in ["PopSecret77", "SrpSecret88", "WifiSecret99"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let rm = Cli::try_parse_from([
            "rainmaker-prov",
            "provision",
            "--userid",
            "user-1",
            "--secretkey",
            "MapSecret33",
            "--ssid",
            "Home",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let text = format!("{rm:?}");
        assert!(text.contains("user-1") && !text.contains("MapSecret33"), "{text}");
        let login = Cli::try_parse_from(["rainmaker-prov", "login", "--email", "a@b.c", "--code", "Otp44"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{login:?}").contains("Otp44"));
        let sim = Cli::try_parse_from(["rainmaker-prov", "sim", "--pop", "SimPop11", "--wifi-password", "SimWifi22"])
            .unwrap_or_else(|e| panic!("{e}"));
        let text = format!("{sim:?}");
        assert!(!text.contains("SimPop11") && !text.contains("SimWifi22"), "{text}");
    }
}
