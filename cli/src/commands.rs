//! The subcommands: provision, scan, sim, demo (login, logout and the RainMaker provisioning are in
//! `rainmaker.rs`).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use clap::{Args, ValueEnum};
use rainmaker_prov::endpoints::{qr, wifi};
use rainmaker_prov::error::{Error, Step};
use rainmaker_prov::events::{CancelToken, ProgressEvent, ProgressListener};
use rainmaker_prov::provision::{self, Joined, NetworkCredentials, ProvisionRequest};
use rainmaker_prov::security::{Sec2Patch, Secret, SecurityLevel};
use rainmaker_prov::session::{SecurityChoice, SessionInfo, SessionOptions};
use rainmaker_prov::sim::cloud::{FakeCloud, FakeCloudConfig};
use rainmaker_prov::sim::device::{SimConfig, SimDevice, SimFlavor, SimNodeKey, SimRainMaker, SimSecurity};
use rainmaker_prov::sim::http_server::HttpDeviceServer;
use rainmaker_prov::transport::console::{ConsoleConfig, ConsoleTransport};
use rainmaker_prov::transport::http::{HttpConfig, HttpTransport};
use rainmaker_prov::transport::{Transport, TransportError};

use crate::output::{self, StderrProgress};
use crate::prompt::Prompter;
use crate::{Cli, Command, DeviceArgs, SecArg, SimSecArg, TransportArg};
use rainmaker_prov::endpoints::wifi::ScanSighting;

/// Arguments of `rainmaker-prov sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Transport to serve: SoftAP/HTTP on `--listen`, or the console on a new pseudo-terminal
    /// (its path is printed; security 0 and 1 only).
    #[arg(long, value_enum, default_value = "softap")]
    transport: SimTransportArg,
    /// Address to listen on for SoftAP (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Security scheme of the device [default: 2 for softap, 1 for console, which cannot carry
    /// security 2].
    #[arg(long, value_enum)]
    sec: Option<SimSecArg>,
    /// Proof of possession (security 1; omit for a `no_pop` device) / SRP password (security 2).
    #[arg(long, env = "RAINMAKER_PROV_SIM_POP", hide_env_values = true)]
    pop: Option<Secret>,
    /// SRP username (security 2).
    #[arg(long, default_value = "wifiprov")]
    username: String,
    /// SRP password (security 2; default: the PoP, else `abcd1234`).
    #[arg(long, env = "RAINMAKER_PROV_SIM_PASSWORD", hide_env_values = true)]
    password: Option<Secret>,
    /// Security 2 patch level: 1 = counter nonce (current firmware), 0 = fixed 16-byte nonce.
    #[arg(long, default_value_t = 1)]
    sec_patch_ver: u8,
    /// SSID of the network the device can join.
    #[arg(long, default_value = "RefPeer-Home")]
    ssid: String,
    /// Passphrase of that network.
    #[arg(long, default_value = "secretpass", env = "RAINMAKER_PROV_SIM_WIFI_PASSWORD", hide_env_values = true)]
    wifi_password: Secret,
    /// Time the join takes after apply, in milliseconds.
    #[arg(long, default_value_t = 300)]
    join_delay_ms: u64,
    /// Extra latency added to every exchange, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Status polls answered "connecting" before the join resolves.
    #[arg(long, default_value_t = 0)]
    connecting_polls: u32,
    /// Connection attempts before giving up (reports attempts_remaining); 0 = fail at once.
    #[arg(long, default_value_t = 0)]
    connection_attempts: u32,
    /// Simulate network_provisioning (Wi-Fi + Thread) instead of wifi_provisioning.
    #[arg(long)]
    thread: bool,
    /// Stop the provisioning service 1 s after the device reports Connected, like firmware that
    /// ends provisioning once it joined (by default the simulated device keeps serving, so it can
    /// be provisioned again).
    #[arg(long, conflicts_with = "no_auto_stop")]
    auto_stop: bool,
    /// Keep serving after a successful provisioning (the default; kept for older scripts).
    #[arg(long, hide = true)]
    no_auto_stop: bool,
    /// Seed of the device's randomness (deterministic sessions).
    #[arg(long)]
    seed: Option<u64>,
    /// Security 2 device whose salt starts with 0x00 and whose verifier was made over the first
    /// 15 salt bytes (a RainMaker firmware bug, docs/protocol.md 4.3.2 hazard 2).
    #[arg(long)]
    corrupted_salt: bool,
    /// Give the device an ESP RainMaker personality: the traditional user-node mapping
    /// (`cloud_user_assoc`) or challenge-response (`ch_resp`).
    #[arg(long, value_enum, help_heading = "ESP RainMaker")]
    rainmaker: Option<SimRainMakerArg>,
    /// The RainMaker node id the device reports (a claiming device gets one from the cloud).
    #[arg(long, default_value = "SimNode0000000001", help_heading = "ESP RainMaker")]
    node_id: String,
    /// The node is unclaimed and needs assisted claiming (`rmaker_claim`) first.
    #[arg(long, requires = "rainmaker", help_heading = "ESP RainMaker")]
    claim: bool,
    /// Type of the node key (RSA-2048 key generation takes a while in debug builds).
    #[arg(long, value_enum, default_value = "ec", requires = "rainmaker", help_heading = "ESP RainMaker")]
    node_key: NodeKeyArg,
    /// Also run a fake RainMaker cloud on loopback that knows this device; prints its API URL,
    /// claiming URL and test account.
    #[arg(long, requires = "rainmaker", help_heading = "ESP RainMaker")]
    fake_cloud: bool,
}

/// What a simulated device serves (BLE is simulated by the test suite's fake BlueZ in front of
/// the SoftAP simulator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimTransportArg {
    /// SoftAP: HTTP on --listen.
    Softap,
    /// A serial console on a new pseudo-terminal (security 0 and 1 only).
    Console,
}

/// The user-node association a simulated RainMaker device offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimRainMakerArg {
    /// Traditional user-node mapping (`cloud_user_assoc`).
    UserAssoc,
    /// Challenge-response (`ch_resp`).
    ChResp,
}

/// The node key type of a simulated RainMaker device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NodeKeyArg {
    /// ECDSA P-256.
    Ec,
    /// RSA-2048 (RSASSA-PSS signatures).
    Rsa,
}

/// Runs a parsed command line; returns the exit code.
pub async fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Login { email, cloud_url, code } => crate::rainmaker::login_cmd(email, cloud_url, code).await,
        Command::Logout => crate::rainmaker::logout_cmd(),
        Command::Provision { device, ssid, passphrase, thread_dataset, custom_data, rainmaker }
            if rainmaker.wanted() =>
        {
            crate::rainmaker::provision_cmd(device, ssid, passphrase, thread_dataset, custom_data, rainmaker).await
        }
        Command::Provision { device, ssid, passphrase, thread_dataset, custom_data, rainmaker: _ } => {
            let json = device.json;
            match provision_cmd(device, ssid, passphrase, thread_dataset, custom_data).await {
                Ok(()) => 0,
                Err(e) => output::report_error(&e, json),
            }
        }
        Command::Scan { device } => {
            let json = device.json;
            match scan_cmd(device).await {
                Ok(()) => 0,
                Err(e) => output::report_error(&e, json),
            }
        }
        Command::Sim(args) => match sim_cmd(args).await {
            Ok(()) => 0,
            Err(e) => output::report_error(&e, false),
        },
        Command::Demo { sec, json } => match demo_cmd(sec, json).await {
            Ok(()) => 0,
            Err(e) => output::report_error(&e, json),
        },
        Command::Completions { shell } => crate::generate::completions(shell),
        Command::Man => crate::generate::man(),
    }
}

fn level_of(sec: SecArg) -> Option<SecurityLevel> {
    match sec {
        SecArg::Auto => None,
        SecArg::S0 => Some(SecurityLevel::Sec0),
        SecArg::S1 => Some(SecurityLevel::Sec1),
        SecArg::S2 => Some(SecurityLevel::Sec2),
    }
}

pub(crate) fn session_options(args: &DeviceArgs) -> Result<SessionOptions, Error> {
    let mut options = SessionOptions {
        security: level_of(args.sec).map_or(SecurityChoice::Auto, SecurityChoice::Fixed),
        min_security: SecurityLevel::try_from(args.min_sec).map_err(|_| Error::InvalidInput {
            detail: format!("--min-sec must be 0, 1 or 2, not {}", args.min_sec),
        })?,
        allow_no_pop: args.allow_no_pop,
        ..SessionOptions::default()
    };
    if let Some(text) = &args.qrcode {
        let payload = qr::parse(text).map_err(|e| Error::InvalidInput { detail: format!("QR code payload: {e}") })?;
        if args.transport == TransportArg::Softap && payload.transport != qr::QrTransport::SoftAp {
            return Err(Error::InvalidInput {
                detail: "this QR code is for a BLE device; only SoftAP is available here".into(),
            });
        }
        options.apply_qr(&payload);
    }
    if let Some(pop) = &args.pop {
        options.pop = Some(pop.clone());
    }
    if let Some(user) = &args.sec2_username {
        options.sec2_username = Some(user.clone());
    }
    if let Some(pw) = &args.sec2_password {
        options.sec2_password = Some(pw.clone());
    }
    Ok(options)
}

pub(crate) async fn transport(args: &DeviceArgs) -> Result<Arc<dyn Transport>, Error> {
    if args.transport == TransportArg::Ble {
        #[cfg(feature = "ble")]
        return ble_transport(args).await;
        #[cfg(not(feature = "ble"))]
        return Err(Error::InvalidInput { detail: NO_BLE.into() });
    }
    if args.transport == TransportArg::Console {
        let port = args
            .port
            .as_deref()
            .ok_or_else(|| Error::InvalidInput { detail: "--transport console needs --port".into() })?;
        let console = ConsoleTransport::open_serial(port, args.baud, ConsoleConfig::default()).map_err(|e| {
            let detail = match e {
                TransportError::Unreachable { detail } => detail,
                other => other.to_string(),
            };
            Error::Unreachable { step: rainmaker_prov::error::Step::ReadCapabilities, detail }
        })?;
        return Ok(Arc::new(console));
    }
    let config = HttpConfig { host: args.host.clone(), ..HttpConfig::default() };
    if args.host.parse::<SocketAddr>().is_err() && !args.host.contains(':') {
        return Err(Error::InvalidInput { detail: format!("--host wants host:port, got `{}`", args.host) });
    }
    Ok(Arc::new(HttpTransport::new(config)))
}

/// Why `--transport ble` fails in a build without the `ble` feature, and how to get one.
#[cfg(not(feature = "ble"))]
const NO_BLE: &str = "this rainmaker-prov was built without Bluetooth LE: install it with \
    `cargo install --locked --path cli --features ble` (on Linux that needs libdbus-1-dev and pkg-config), \
    or use --transport softap / console";

/// Finds the BLE device (by --device-name, else the QR code's `name`, else the only `PROV_` device
/// around) and makes a transport to it.
#[cfg(feature = "ble")]
async fn ble_transport(args: &DeviceArgs) -> Result<Arc<dyn Transport>, Error> {
    use rainmaker_prov::transport::ble::{self, BleConfig, BleTransport};
    use rainmaker_prov::transport::gatt::{DEFAULT_NAME_PREFIX, NameFilter};

    let unreachable = |e: TransportError| {
        let detail = match e {
            TransportError::Unreachable { detail } => detail,
            other => other.to_string(),
        };
        Error::Unreachable { step: rainmaker_prov::error::Step::ReadCapabilities, detail }
    };
    let name = match (&args.device_name, &args.qrcode) {
        (Some(name), _) => Some(name.clone()),
        (None, Some(text)) => {
            let payload =
                qr::parse(text).map_err(|e| Error::InvalidInput { detail: format!("QR code payload: {e}") })?;
            Some(payload.name.clone()).filter(|name| !name.is_empty())
        }
        (None, None) => None,
    };
    let scan_time = Duration::from_secs(args.ble_scan_seconds.max(1));
    let device = match name {
        Some(name) => ble::find_device(&NameFilter::Exact(name), scan_time).await.map_err(unreachable)?,
        None => {
            let mut found = ble::scan(&NameFilter::default(), scan_time).await.map_err(unreachable)?;
            match found.len() {
                0 => {
                    return Err(unreachable(TransportError::Unreachable {
                        detail: format!(
                            "no device named `{DEFAULT_NAME_PREFIX}…` showed up within {} s",
                            scan_time.as_secs()
                        ),
                    }));
                }
                1 => found.remove(0),
                _ => {
                    let names: Vec<&str> = found.iter().map(|d| d.name()).collect();
                    return Err(Error::InvalidInput {
                        detail: format!(
                            "several provisioning devices are in range ({}); pick one with --device-name",
                            names.join(", ")
                        ),
                    });
                }
            }
        }
    };
    log::info!("BLE device {} ({})", device.name(), device.address());
    Ok(Arc::new(BleTransport::new(device, BleConfig::default())))
}

/// Progress on stderr (never mixed with the JSON on stdout), plus the security level the session
/// chose, so that a security 2 device on the serial console gets a clear error.
pub(crate) struct Progress {
    /// Where the lines go; `None`: print nothing.
    out: Option<StderrProgress>,
    /// The chosen level's number, `NONE` before the choice.
    level: AtomicU8,
}

impl Progress {
    const NONE: u8 = u8::MAX;

    fn new(quiet: bool) -> Arc<Self> {
        Arc::new(Self { out: (!quiet).then(|| StderrProgress::new(false)), level: AtomicU8::new(Self::NONE) })
    }

    /// Progress whose lines name the RainMaker step they belong to.
    pub(crate) fn tagged() -> Arc<Self> {
        Arc::new(Self { out: Some(StderrProgress::new(true)), level: AtomicU8::new(Self::NONE) })
    }

    /// Removes the join spinner, if one is shown (before an error or the result is printed).
    pub(crate) fn finish(&self) {
        if let Some(out) = &self.out {
            out.finish();
        }
    }

    /// Explains an error of a session over the serial console that chose security 2: its
    /// handshake cannot be carried (docs/protocol.md §5.3), whatever the step reported.
    pub(crate) fn explain(&self, args: &DeviceArgs, err: Error) -> Error {
        match err {
            err @ Error::PayloadTooLarge { .. }
                if args.transport == TransportArg::Console && self.level.load(Ordering::Relaxed) == 2 =>
            {
                let detail = err.to_string();
                Error::InvalidInput {
                    detail: format!(
                        "the device uses security 2, which the serial console cannot carry ({detail}); \
                     provision it over SoftAP or BLE"
                    ),
                }
            }
            other => other,
        }
    }
}

impl ProgressListener for Progress {
    fn on_progress(&self, event: ProgressEvent) {
        if let ProgressEvent::SecurityChosen { level, .. } = &event {
            self.level.store(level.number(), Ordering::Relaxed);
        }
        if let Some(out) = &self.out {
            out.on_progress(event);
        }
    }
}

pub(crate) fn cancel_on_ctrl_c() -> CancelToken {
    let token = CancelToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            t.cancel();
        }
    });
    token
}

pub(crate) fn parse_custom(items: &[String]) -> Result<Vec<(String, Vec<u8>)>, Error> {
    items
        .iter()
        .map(|item| {
            let (endpoint, text) = item.split_once('=').ok_or_else(|| Error::InvalidInput {
                detail: format!("--custom-data wants ENDPOINT=TEXT, got `{item}`"),
            })?;
            Ok((endpoint.to_owned(), text.as_bytes().to_vec()))
        })
        .collect()
}

/// Scans through the device, shows the networks and lets the terminal user pick one; asks for the
/// SSID of a hidden network and for the passphrase (hidden input) unless the network is open or
/// `passphrase` was given. Ctrl-C at a question gives [`Error::Cancelled`].
pub(crate) async fn pick_network(
    args: &DeviceArgs,
    options: &SessionOptions,
    cancel: &CancelToken,
    progress: Arc<Progress>,
    passphrase: Option<Secret>,
) -> Result<(Vec<u8>, Secret), Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::InvalidInput { detail: "no --ssid given and no terminal to pick a network from".into() });
    }
    let mut prompter = Prompter::new()?;
    let limit = Some(Duration::from_secs(args.timeout));
    let networks = provision::scan_wifi(transport(args).await?, options.clone(), Some(progress), limit, cancel).await?;
    if networks.is_empty() {
        return Err(Error::WifiNetworkNotFound);
    }
    eprintln!("Networks seen by the device:");
    for (i, n) in networks.iter().enumerate() {
        eprintln!("  {:>2}. {}", i + 1, output::network_line(n));
    }
    let index = prompter.choice(&format!("Pick a network [1-{}]: ", networks.len()), networks.len()).await?;
    let net = networks.get(index).ok_or_else(|| Error::Internal { detail: "the choice is out of range".into() })?;
    let ssid = if net.ssid.is_empty() { prompter.ssid("Hidden network: SSID: ").await? } else { net.ssid.clone() };
    let passphrase = match passphrase {
        Some(passphrase) => passphrase,
        None if net.auth.is_open() => Secret::default(),
        None => {
            let shown = output::terminal_safe(&output::display_ssid(&ssid));
            prompter.passphrase(&format!("Passphrase for `{shown}` (hidden): "), false).await?
        }
    };
    Ok((ssid, passphrase))
}

async fn provision_cmd(
    args: DeviceArgs,
    ssid: Option<String>,
    passphrase: Option<Secret>,
    thread_dataset: Option<String>,
    custom: Vec<String>,
) -> Result<(), Error> {
    let progress = Progress::new(false);
    provision_flow(&args, ssid, passphrase, thread_dataset, custom, Arc::clone(&progress))
        .await
        .map_err(|e| progress.explain(&args, e))
}

async fn provision_flow(
    args: &DeviceArgs,
    ssid: Option<String>,
    passphrase: Option<Secret>,
    thread_dataset: Option<String>,
    custom: Vec<String>,
    progress: Arc<Progress>,
) -> Result<(), Error> {
    let options = session_options(args)?;
    let cancel = cancel_on_ctrl_c();
    let network = network_credentials(args, ssid, passphrase, thread_dataset, &options, &cancel, &progress).await?;
    let mut request = ProvisionRequest::new(network);
    request.session = options;
    request.custom_data = parse_custom(&custom)?;
    request.overall_timeout = Some(Duration::from_secs(args.timeout));
    let outcome = provision::provision(transport(args).await?, request, Some(progress), &cancel).await?;
    print_outcome(&outcome, args.json);
    Ok(())
}

/// The network to provision: the Thread dataset, the SSID given, or one picked from a scan on a
/// terminal.
///
/// With an SSID but no passphrase, a terminal user is asked for it (hidden input) unless the
/// device's scan shows an open network by that name; without a terminal the passphrase is empty.
pub(crate) async fn network_credentials(
    args: &DeviceArgs,
    ssid: Option<String>,
    passphrase: Option<Secret>,
    thread_dataset: Option<String>,
    options: &SessionOptions,
    cancel: &CancelToken,
    progress: &Arc<Progress>,
) -> Result<NetworkCredentials, Error> {
    Ok(match (thread_dataset, ssid) {
        (Some(hex_dataset), _) => NetworkCredentials::Thread {
            dataset: Secret::new(
                hex::decode(hex_dataset.trim())
                    .map_err(|_| Error::InvalidInput { detail: "--thread-dataset is not hex".into() })?,
            ),
        },
        (None, Some(ssid)) => {
            let passphrase = match passphrase {
                Some(passphrase) => passphrase,
                None if std::io::stdin().is_terminal() => {
                    let mut prompter = Prompter::new()?;
                    let limit = Some(Duration::from_secs(args.timeout));
                    let scan = provision::scan_wifi(
                        transport(args).await?,
                        options.clone(),
                        Some(Arc::clone(progress) as Arc<dyn ProgressListener>),
                        limit,
                        cancel,
                    )
                    .await;
                    let seen = match scan {
                        Ok(networks) => wifi::sighting(&networks, ssid.as_bytes()),
                        // The session is fine but the device cannot scan: ask, as for an unseen
                        // network. Anything else would fail the provisioning too.
                        Err(
                            e @ (Error::EndpointNotFound { step: Step::WifiScan, .. }
                            | Error::Unsupported { step: Step::WifiScan, .. }
                            | Error::DeviceStatus { step: Step::WifiScan, .. }
                            | Error::Timeout { step: Step::WifiScan }),
                        ) => {
                            eprintln!("note: the device could not scan ({})", output::terminal_safe(&e.to_string()));
                            ScanSighting::NotSeen
                        }
                        Err(e) => return Err(e),
                    };
                    let shown = output::terminal_safe(&ssid);
                    match seen {
                        ScanSighting::Open => {
                            eprintln!("`{shown}` is an open network: no passphrase needed.");
                            Secret::default()
                        }
                        ScanSighting::Secured => {
                            prompter.passphrase(&format!("Passphrase for `{shown}` (hidden): "), false).await?
                        }
                        ScanSighting::NotSeen => {
                            eprintln!(
                                "note: `{shown}` was not seen in the device's scan (hidden or out of range); \
                                 press Enter alone for an open network."
                            );
                            prompter.passphrase(&format!("Passphrase for `{shown}` (hidden): "), true).await?
                        }
                    }
                }
                None => Secret::default(),
            };
            NetworkCredentials::Wifi { ssid: ssid.into_bytes(), passphrase }
        }
        (None, None) => {
            let (ssid, passphrase) = pick_network(args, options, cancel, Arc::clone(progress), passphrase).await?;
            NetworkCredentials::Wifi { ssid, passphrase }
        }
    })
}

pub(crate) fn print_outcome(outcome: &provision::ProvisionOutcome, json: bool) {
    if json {
        let mut v = serde_json::json!({ "ok": true });
        add_outcome_fields(&mut v, &outcome.session, Some(&outcome.joined), &outcome.custom_responses);
        println!("{v}");
    } else {
        println!("{}", joined_line(&outcome.joined));
    }
}

/// Adds the session's security, the joined network and the custom answers to a JSON outcome.
pub(crate) fn add_outcome_fields(
    v: &mut serde_json::Value,
    session: &SessionInfo,
    joined: Option<&Joined>,
    custom_responses: &[rainmaker_prov::provision::CustomResponse],
) {
    use serde_json::{Value, json};
    let custom: serde_json::Map<String, Value> = custom_responses
        .iter()
        .map(|r| (r.endpoint.clone(), Value::String(String::from_utf8_lossy(&r.data).into_owned())))
        .collect();
    let fields = match joined {
        Some(Joined::Wifi { info }) => json!({
            "security": session.security.number(),
            "sec_patch_ver": session.sec_patch_ver,
            "network": "wifi",
            "ssid": output::display_ssid(&info.ssid),
            "ip4_addr": info.ip4_addr,
            "channel": info.channel,
            "bssid": hex::encode(&info.bssid),
            "auth_mode": format!("{:?}", info.auth_mode),
            "custom_responses": custom,
        }),
        Some(Joined::Thread { status }) => {
            let mut fields = json!({
                "security": session.security.number(),
                "sec_patch_ver": session.sec_patch_ver,
                "network": "thread",
                "custom_responses": custom,
            });
            if let (Value::Object(target), Value::Object(thread)) = (&mut fields, output::thread_status_json(status)) {
                target.extend(thread);
            }
            fields
        }
        None => json!({
            "security": session.security.number(),
            "sec_patch_ver": session.sec_patch_ver,
            "network": Value::Null,
            "custom_responses": custom,
        }),
    };
    if let (Some(target), Value::Object(fields)) = (v.as_object_mut(), fields) {
        target.extend(fields);
    }
}

/// The text line for a joined network.
pub(crate) fn joined_line(joined: &Joined) -> String {
    match joined {
        Joined::Wifi { info } => format!(
            "Provisioned: the device joined `{}` (IP {}, channel {}).",
            output::terminal_safe(&output::display_ssid(&info.ssid)),
            output::terminal_safe(&info.ip4_addr),
            info.channel
        ),
        Joined::Thread { status } => format!("Provisioned: {}.", output::thread_status_text(status)),
    }
}

async fn scan_cmd(args: DeviceArgs) -> Result<(), Error> {
    let progress = Progress::new(args.json);
    scan_flow(&args, Arc::clone(&progress)).await.map_err(|e| progress.explain(&args, e))
}

async fn scan_flow(args: &DeviceArgs, progress: Arc<Progress>) -> Result<(), Error> {
    let options = session_options(args)?;
    let cancel = cancel_on_ctrl_c();
    let limit = Some(Duration::from_secs(args.timeout));
    let networks = provision::scan_wifi(transport(args).await?, options, Some(progress), limit, &cancel).await?;
    if args.json {
        let list: Vec<_> = networks.iter().map(output::network_json).collect();
        println!("{}", serde_json::json!({ "ok": true, "networks": list }));
    } else {
        for n in &networks {
            println!("{}", output::network_line(n));
        }
    }
    Ok(())
}

/// The simulated device's scheme: `--sec`, else 2 (1 on the console, which cannot carry 2).
fn sim_security(args: &SimArgs) -> SimSecArg {
    args.sec.unwrap_or(if args.transport == SimTransportArg::Console { SimSecArg::S1 } else { SimSecArg::S2 })
}

fn sim_config(args: &SimArgs) -> Result<SimConfig, Error> {
    let security = match sim_security(args) {
        SimSecArg::S0 => SimSecurity::Sec0,
        SimSecArg::S1 => SimSecurity::Sec1 { pop: args.pop.clone() },
        SimSecArg::S2 => {
            let username = args.username.clone();
            let password =
                args.password.clone().or_else(|| args.pop.clone()).unwrap_or_else(|| Secret::from("abcd1234"));
            let patch = match args.sec_patch_ver {
                0 => Sec2Patch::Patch0,
                1 => Sec2Patch::Patch1,
                n => return Err(Error::InvalidInput { detail: format!("--sec-patch-ver must be 0 or 1, not {n}") }),
            };
            if args.corrupted_salt {
                SimSecurity::Sec2CorruptedSalt { username, password, patch }
            } else {
                SimSecurity::Sec2 { username, password, patch }
            }
        }
    };
    if args.corrupted_salt && !matches!(security, SimSecurity::Sec2CorruptedSalt { .. }) {
        return Err(Error::InvalidInput { detail: "--corrupted-salt needs a security 2 device (--sec 2)".into() });
    }
    let mut config = SimConfig::new(security);
    if args.ssid.len() > wifi::MAX_SSID_LEN {
        return Err(Error::InvalidInput { detail: format!("--ssid is longer than {} bytes", wifi::MAX_SSID_LEN) });
    }
    if let Some(first) = config.access_points.first_mut() {
        first.network.ssid = args.ssid.as_bytes().to_vec();
        first.passphrase = Some(args.wifi_password.clone());
    }
    config.join_delay = Duration::from_millis(args.join_delay_ms);
    config.exchange_latency = Duration::from_millis(args.latency_ms);
    config.connecting_polls = args.connecting_polls;
    config.connection_attempts = args.connection_attempts;
    config.seed = args.seed;
    if args.thread {
        config.flavor = SimFlavor::NetworkProvisioning;
    }
    config.auto_stop = if args.auto_stop { Some(Duration::from_secs(1)) } else { None };
    if let Some(kind) = args.rainmaker {
        let ch_resp = kind == SimRainMakerArg::ChResp;
        let personality = if args.claim {
            SimRainMaker::claiming(ch_resp)
        } else if args.node_id.trim().is_empty() {
            return Err(Error::InvalidInput { detail: "--node-id must not be empty".into() });
        } else if ch_resp {
            SimRainMaker::ch_resp(args.node_id.trim())
        } else {
            SimRainMaker::user_assoc(args.node_id.trim())
        };
        let key = match args.node_key {
            NodeKeyArg::Ec => SimNodeKey::P256,
            NodeKeyArg::Rsa => SimNodeKey::Rsa2048,
        };
        config.rainmaker = Some(personality.with_node_key(key, None));
    }
    Ok(config)
}

async fn sim_cmd(args: SimArgs) -> Result<(), Error> {
    let config = sim_config(&args)?;
    let level = config.security.level().number();
    let device = SimDevice::new(config);
    let cloud = if args.fake_cloud {
        let cloud = FakeCloud::start(FakeCloudConfig::default())
            .await
            .map_err(|e| Error::InvalidInput { detail: format!("cannot start the fake cloud: {e}") })?;
        cloud.attach(device.clone());
        Some(cloud)
    } else {
        None
    };
    if args.transport == SimTransportArg::Console {
        return sim_console(device, level, cloud.as_ref()).await;
    }
    let server = HttpDeviceServer::bind(args.listen, device.clone())
        .map_err(|e| Error::InvalidInput { detail: format!("cannot listen on {}: {e}", args.listen) })?;
    let addr = server.local_addr();
    println!("rainmaker-prov sim: listening on {addr} (security {level})");
    print_sim_rainmaker(&device, cloud.as_ref());
    let handle = server.spawn();
    announce_auto_stop(&device);
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown().await;
    Ok(())
}

/// With `--auto-stop`: says on stdout when the simulated device stops its provisioning service,
/// as firmware does once it joined (until then, and without `--auto-stop`, it keeps serving).
fn announce_auto_stop(device: &Arc<SimDevice>) {
    let Some(after) = device.config().auto_stop else { return };
    let device = Arc::clone(device);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            if device.provisioning_stopped() {
                println!(
                    "rainmaker-prov sim: provisioning stopped ({} ms after the device reported its connection, \
                     --auto-stop); it answers nothing now: restart the simulator to provision it again",
                    after.as_millis()
                );
                let _ = std::io::stdout().flush();
                return;
            }
        }
    });
}

/// Prints the simulated device's RainMaker personality and the fake cloud's URLs and test
/// account (a fake password, printed on purpose so that `login` can be tried against it).
fn print_sim_rainmaker(device: &SimDevice, cloud: Option<&FakeCloud>) {
    if let Some(rm) = &device.config().rainmaker {
        let association = if rm.ch_resp { "ch_resp" } else { "cloud_user_assoc" };
        let node = device.rainmaker_node_id().filter(|n| !n.is_empty());
        match (rm.claim, node) {
            (true, _) => println!("rainmaker-prov sim: RainMaker node (unclaimed: needs --claim), {association}"),
            (false, Some(node)) => println!("rainmaker-prov sim: RainMaker node {node}, {association}"),
            (false, None) => println!("rainmaker-prov sim: RainMaker node, {association}"),
        }
    }
    if let Some(cloud) = cloud {
        println!("fake cloud: API URL {}", cloud.base_url());
        println!("fake cloud: claim URL {}", cloud.claim_url());
        println!("fake cloud: account {}", cloud.user_name());
        let password = FakeCloudConfig::default().password;
        println!("fake cloud: password {}", String::from_utf8_lossy(password.expose()));
    }
    let _ = std::io::stdout().flush();
}

/// Serves the simulated device's console on a new pseudo-terminal until interrupted.
#[cfg(unix)]
async fn sim_console(device: Arc<SimDevice>, level: u8, cloud: Option<&FakeCloud>) -> Result<(), Error> {
    use rainmaker_prov::sim::console_server::ConsoleDeviceServer;

    let handle = ConsoleDeviceServer::new(device.clone())
        .spawn_pty()
        .map_err(|e| Error::InvalidInput { detail: format!("cannot create a pseudo-terminal: {e}") })?;
    let path = handle.pty_path().map(|p| p.display().to_string()).unwrap_or_default();
    println!("rainmaker-prov sim: listening on {path} (security {level})");
    print_sim_rainmaker(&device, cloud);
    announce_auto_stop(&device);
    if level == 2 {
        eprintln!(
            "note: security 2 does not fit the serial console: clients will refuse it; use --sec 1 (the console \
             default) or --transport softap"
        );
    }
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown().await;
    Ok(())
}

/// Pseudo-terminals exist on Unix only.
#[cfg(not(unix))]
async fn sim_console(_device: Arc<SimDevice>, _level: u8, _cloud: Option<&FakeCloud>) -> Result<(), Error> {
    Err(Error::InvalidInput { detail: "--transport console needs a Unix system (pseudo-terminal)".into() })
}

async fn demo_cmd(sec: SimSecArg, json: bool) -> Result<(), Error> {
    let pop = "abcd1234";
    let security = match sec {
        SimSecArg::S0 => SimSecurity::Sec0,
        SimSecArg::S1 => SimSecurity::Sec1 { pop: Some(Secret::from(pop)) },
        SimSecArg::S2 => {
            SimSecurity::Sec2 { username: "wifiprov".into(), password: Secret::from(pop), patch: Sec2Patch::Patch1 }
        }
    };
    let mut config = SimConfig::new(security);
    config.join_delay = Duration::from_millis(800);
    let device = SimDevice::new(config);
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = HttpDeviceServer::bind(loopback, device.clone())
        .map_err(|e| Error::InvalidInput { detail: format!("cannot listen on loopback: {e}") })?;
    let addr = server.local_addr();
    let handle = server.spawn();
    match sec {
        SimSecArg::S0 => eprintln!(
            "Simulated device listening on http://{addr} (SoftAP/HTTP, security 0: no PoP, nothing encrypted; \
             accepted here only because the demo asks for it)"
        ),
        SimSecArg::S1 => eprintln!(
            "Simulated device listening on http://{addr} (SoftAP/HTTP, security 1, PoP `{pop}` as printed on its label)"
        ),
        SimSecArg::S2 => eprintln!(
            "Simulated device listening on http://{addr} (SoftAP/HTTP, security 2, user `wifiprov`, password \
             `{pop}` as printed on its label)"
        ),
    }
    let transport: Arc<dyn Transport> =
        Arc::new(HttpTransport::new(HttpConfig { host: addr.to_string(), ..HttpConfig::default() }));
    let mut options = SessionOptions::default();
    if sec == SimSecArg::S0 {
        options.min_security = SecurityLevel::Sec0;
    } else {
        options.pop = Some(Secret::from(pop));
    }
    let cancel = cancel_on_ctrl_c();
    eprintln!("Step 1: scan through the device");
    let scanned = provision::scan_wifi(
        transport.clone(),
        options.clone(),
        Some(Arc::new(StderrProgress::default())),
        None,
        &cancel,
    )
    .await;
    for n in scanned? {
        eprintln!("      {}", output::network_line(&n));
    }
    eprintln!("Step 2: provision `RefPeer-Home`");
    let mut request = ProvisionRequest::new(NetworkCredentials::Wifi {
        ssid: b"RefPeer-Home".to_vec(),
        passphrase: Secret::from("secretpass"),
    });
    request.session = options;
    request.custom_data = vec![("custom-data".into(), b"hello from rainmaker-prov".to_vec())];
    request.overall_timeout = Some(Duration::from_secs(60));
    let outcome = provision::provision(transport, request, Some(Arc::new(StderrProgress::default())), &cancel).await;
    handle.shutdown().await;
    let outcome = outcome?;
    print_outcome(&outcome, json);
    Ok(())
}
