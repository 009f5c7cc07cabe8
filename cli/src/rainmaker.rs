//! The ESP RainMaker commands (docs/protocol.md 8): `login`, `logout`, and `provision` with a
//! RainMaker option (`--userid/--secretkey`, `--rainmaker`, `--claim`, `--no-wifi`).
//!
//! Tokens, passwords, codes and secret keys are held in [`Secret`]s and never printed, logged or
//! put in an error message.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use rainmaker_prov::error::Error;
use rainmaker_prov::rainmaker::cloud::normalize_base_url;
use rainmaker_prov::rainmaker::{
    AssociationMode, AssociationPlan, AssociationState, CloudConfig, ConfirmOptions, DEFAULT_BASE_URL,
    DEFAULT_CLAIM_URL, LoginOutcome, RainMakerCloud, RainMakerError, RainMakerOutcome, RainMakerRequest,
    ReqwestBackend, provision_rainmaker,
};
use rainmaker_prov::security::Secret;
use zeroize::Zeroizing;

use crate::commands::{self, Progress};
use crate::credentials::{self, StoredLogin};
use crate::output;
use crate::prompt::Prompter;
use crate::{DeviceArgs, RainMakerArgs};

/// Environment variable that carries the cloud password (it is never a command-line option).
pub const PASSWORD_ENV: &str = "RAINMAKER_PROV_CLOUD_PASSWORD";
/// Bound on one cloud request.
const CLOUD_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a RainMaker command failed.
enum Failure {
    /// A RainMaker (cloud or device) error.
    RainMaker(RainMakerError),
    /// The credentials file could not be read or written.
    Store { code: u8, message: String },
}

impl From<RainMakerError> for Failure {
    fn from(e: RainMakerError) -> Self {
        Failure::RainMaker(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::RainMaker(RainMakerError::Device { error: e })
    }
}

fn report(failure: &Failure, json: bool) -> u8 {
    match failure {
        Failure::RainMaker(e) => output::report_rainmaker_error(e, json),
        Failure::Store { code, message } => {
            if json {
                let v = serde_json::json!({
                    "ok": false,
                    "exit_code": code,
                    "error": "credentials_store",
                    "message": message,
                });
                println!("{v}");
            }
            eprintln!("error: {}", output::terminal_safe(message));
            *code
        }
    }
}

fn invalid(detail: impl Into<String>) -> Failure {
    Failure::RainMaker(RainMakerError::InvalidInput { detail: detail.into() })
}

/// A cloud client for these URLs over HTTPS (reqwest + rustls), not logged in.
fn cloud_client(base_url: &str, claim_url: &str) -> Result<RainMakerCloud, RainMakerError> {
    let backend = ReqwestBackend::new(CLOUD_REQUEST_TIMEOUT)
        .map_err(|e| RainMakerError::CloudUnreachable { operation: "http client".into(), detail: e.to_string() })?;
    let config = CloudConfig {
        base_url: base_url.to_owned(),
        claim_url: claim_url.to_owned(),
        request_timeout: CLOUD_REQUEST_TIMEOUT,
    };
    RainMakerCloud::new(config, Arc::new(backend))
}

/// Reads one line from the terminal after a prompt on stderr, without surrounding white space
/// (Ctrl-C: cancelled).
async fn prompt_line(prompt: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let line = Prompter::new()?.line(prompt).await?;
    Ok(Zeroizing::new(line.trim_ascii().to_vec()))
}

/// The password: from [`PASSWORD_ENV`], else prompted (hidden) on a terminal.
async fn read_password(email: &str) -> Result<Secret, Failure> {
    if let Some(value) = std::env::var_os(PASSWORD_ENV) {
        let text = value.into_string().map_err(|_| invalid(format!("{PASSWORD_ENV} is not valid UTF-8")))?;
        return Ok(Secret::from(text));
    }
    if !std::io::stdin().is_terminal() {
        return Err(invalid(format!("no password: set {PASSWORD_ENV} or run `login` on a terminal")));
    }
    let prompt = format!("RainMaker password for {}: ", output::terminal_safe(email));
    Ok(Prompter::new()?.hidden(&prompt).await?)
}

/// `rainmaker-prov login`.
pub async fn login_cmd(email: String, cloud_url: Option<String>, code: Option<Secret>) -> u8 {
    // Ctrl-C (at a prompt, or while the cloud answers) cancels: exit code 130. A prompt sees the
    // same Ctrl-C and ends itself (terminal restored, line ended), perhaps a moment after this
    // listener: it is given that moment before the login is dropped.
    let login = login(&email, cloud_url, code);
    tokio::pin!(login);
    let result = tokio::select! {
        biased;
        result = &mut login => result,
        Ok(()) = tokio::signal::ctrl_c() => tokio::time::timeout(Duration::from_millis(500), &mut login)
            .await
            .unwrap_or_else(|_| Err(Failure::from(Error::Cancelled))),
    };
    match result {
        Ok(()) => 0,
        Err(f) => report(&f, false),
    }
}

async fn login(email: &str, cloud_url: Option<String>, code: Option<Secret>) -> Result<(), Failure> {
    let email = email.trim();
    if email.is_empty() {
        return Err(invalid("--email must not be empty"));
    }
    let cloud = cloud_client(cloud_url.as_deref().unwrap_or(DEFAULT_BASE_URL), DEFAULT_CLAIM_URL)?;
    let password = read_password(email).await?;
    match cloud.login(email, &password).await? {
        LoginOutcome::LoggedIn => {}
        LoginOutcome::CodeRequired { session } => {
            let code = match code {
                Some(code) => code,
                None if std::io::stdin().is_terminal() => {
                    let line = prompt_line("Verification code (sent by the cloud): ").await?;
                    Secret::from(line.as_slice())
                }
                None => {
                    return Err(invalid(
                        "the account needs a one-time code: pass --code or set RAINMAKER_PROV_CLOUD_CODE",
                    ));
                }
            };
            let code = std::str::from_utf8(code.expose()).map_err(|_| invalid("the code is not valid UTF-8"))?;
            cloud.login_with_code(email, &session, code).await?;
        }
    }
    let tokens = cloud.tokens().ok_or(RainMakerError::LoginRequired)?;
    let login = StoredLogin { cloud_url: cloud.config().base_url.clone(), user_name: email.to_owned(), tokens };
    let path = credentials::save(&login)
        .map_err(|e| Failure::Store { code: 1, message: format!("cannot save the login: {e}") })?;
    let user = cloud.user_id().map(|id| format!(" (user id {id})")).unwrap_or_default();
    println!(
        "Logged in to {} as {}{}; credentials saved to {}.",
        output::terminal_safe(&login.cloud_url),
        output::terminal_safe(email),
        output::terminal_safe(&user),
        path.display()
    );
    Ok(())
}

/// `rainmaker-prov logout`: removes the credentials file.
pub fn logout_cmd() -> u8 {
    match credentials::remove() {
        Ok((path, true)) => {
            println!("Logged out: removed {}.", path.display());
            0
        }
        Ok((path, false)) => {
            println!("Not logged in: there is no {}.", path.display());
            0
        }
        Err(e) => report(&Failure::Store { code: 1, message: format!("cannot remove the login: {e}") }, false),
    }
}

/// The logged-in cloud client for `provision --rainmaker`, with the stored tokens (refreshed
/// first when the access token has expired), and the login it came from.
async fn logged_in_cloud(rm: &RainMakerArgs) -> Result<(RainMakerCloud, StoredLogin), Failure> {
    let stored = credentials::load()
        .map_err(|e| Failure::Store { code: output::EXIT_LOGIN, message: format!("cannot read the login: {e}") })?;
    let Some(stored) = stored else {
        return Err(RainMakerError::LoginRequired.into());
    };
    let base_url = match &rm.cloud_url {
        Some(url) => {
            let url = normalize_base_url("RainMaker API URL", url)?;
            if url != stored.cloud_url {
                eprintln!(
                    "note: the stored login is for {}, not {}",
                    output::terminal_safe(&stored.cloud_url),
                    output::terminal_safe(&url)
                );
                return Err(RainMakerError::LoginRequired.into());
            }
            url
        }
        None => stored.cloud_url.clone(),
    };
    let cloud = cloud_client(&base_url, rm.claim_url.as_deref().unwrap_or(DEFAULT_CLAIM_URL))?;
    cloud.set_tokens(stored.tokens.clone());
    if cloud.access_token_expired() {
        log::info!("the stored access token has expired; refreshing it");
        match cloud.refresh().await {
            Ok(()) => save_if_changed(&cloud, &stored),
            // The cloud may become reachable later (the computer may be on the device's access
            // point): the client refreshes again when it needs the cloud.
            Err(RainMakerError::CloudUnreachable { detail, .. }) => {
                log::warn!("cannot refresh the access token now ({detail}); trying again when the cloud is needed");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok((cloud, stored))
}

/// Saves the client's tokens when they differ from the stored ones (a refresh happened).
fn save_if_changed(cloud: &RainMakerCloud, stored: &StoredLogin) {
    let Some(tokens) = cloud.tokens() else { return };
    if tokens == stored.tokens {
        return;
    }
    let login = StoredLogin { tokens, ..stored.clone() };
    match credentials::save(&login) {
        Ok(path) => log::info!("refreshed tokens saved to {}", path.display()),
        Err(e) => eprintln!("warning: cannot save the refreshed tokens: {}", output::terminal_safe(&e.to_string())),
    }
}

/// `rainmaker-prov provision` with a RainMaker option.
pub async fn provision_cmd(
    device: DeviceArgs,
    ssid: Option<String>,
    passphrase: Option<Secret>,
    thread_dataset: Option<String>,
    custom: Vec<String>,
    rm: RainMakerArgs,
) -> u8 {
    let json = device.json;
    let progress = Progress::tagged();
    let result = provision(&device, ssid, passphrase, thread_dataset, custom, &rm, &progress).await;
    progress.finish();
    match result {
        Ok(()) => 0,
        Err(Failure::RainMaker(RainMakerError::Device { error: e })) => {
            let e = progress.explain(&device, e);
            report(&Failure::RainMaker(RainMakerError::Device { error: e }), json)
        }
        Err(f) => report(&f, json),
    }
}

async fn provision(
    device: &DeviceArgs,
    ssid: Option<String>,
    passphrase: Option<Secret>,
    thread_dataset: Option<String>,
    custom: Vec<String>,
    rm: &RainMakerArgs,
    progress: &Arc<Progress>,
) -> Result<(), Failure> {
    let options = commands::session_options(device)?;
    let custom_data = commands::parse_custom(&custom)?;
    let cloud_wanted = rm.rainmaker || rm.claim;
    if rm.userid.is_none() && !cloud_wanted {
        return Err(invalid("--no-wifi needs --userid/--secretkey or --rainmaker"));
    }
    let (association, login) = match &rm.userid {
        Some(user_id) => {
            if user_id.trim().is_empty() {
                return Err(invalid("--userid must not be empty"));
            }
            let secret_key = rm
                .secretkey
                .clone()
                .filter(|k| !k.is_empty())
                .ok_or_else(|| invalid("--userid needs --secretkey (or RAINMAKER_PROV_SECRET_KEY)"))?;
            (AssociationPlan::UserMapping { user_id: user_id.trim().to_owned(), secret_key }, None)
        }
        None => {
            let (cloud, stored) = logged_in_cloud(rm).await?;
            log::info!("RainMaker account {}", stored.user_name);
            (AssociationPlan::Cloud(cloud), Some(stored))
        }
    };
    let cancel = commands::cancel_on_ctrl_c();
    let network = if rm.no_wifi {
        None
    } else {
        Some(
            commands::network_credentials(device, ssid, passphrase, thread_dataset, &options, &cancel, progress)
                .await?,
        )
    };
    let cloud = match &association {
        AssociationPlan::Cloud(cloud) => Some(cloud.clone()),
        _ => None,
    };
    let mut request = RainMakerRequest::new(network, association);
    request.session = options;
    request.allow_claim = rm.claim;
    request.custom_data = custom_data;
    request.confirm = ConfirmOptions::with_deadline(Duration::from_secs(rm.confirm_timeout));
    request.overall_timeout = Some(Duration::from_secs(device.timeout));
    let transport = commands::transport(device).await?;
    let listener: Arc<dyn rainmaker_prov::events::ProgressListener> = progress.clone();
    let result = provision_rainmaker(transport, request, Some(listener), &cancel).await;
    if let (Some(cloud), Some(stored)) = (&cloud, &login) {
        save_if_changed(cloud, stored);
    }
    let outcome = result?;
    print_outcome(&outcome, device.json);
    Ok(())
}

fn mode_name(mode: Option<AssociationMode>) -> Option<&'static str> {
    match mode {
        Some(AssociationMode::ChallengeResponse) => Some("challenge_response"),
        Some(AssociationMode::UserAssoc) => Some("user_mapping"),
        None => None,
    }
}

fn print_outcome(outcome: &RainMakerOutcome, json: bool) {
    if json {
        let mut v = serde_json::json!({
            "ok": true,
            "node_id": outcome.node_id,
            "association": outcome.association.as_str(),
            "association_mode": mode_name(outcome.mode),
            "claimed": outcome.claimed,
        });
        commands::add_outcome_fields(&mut v, &outcome.session, outcome.joined.as_ref(), &outcome.custom_responses);
        if let AssociationState::Pending { request_id } = &outcome.association {
            v["request_id"] = serde_json::json!(request_id);
        }
        println!("{v}");
        return;
    }
    match &outcome.joined {
        Some(joined) => println!("{}", commands::joined_line(joined)),
        None => println!("No network credentials sent (--no-wifi): the device stays in provisioning mode."),
    }
    let node = outcome.node_id.as_deref().map(output::terminal_safe).unwrap_or_else(|| "(unknown)".to_owned());
    let claimed = if outcome.claimed { ", claimed in this run" } else { "" };
    let state = match &outcome.association {
        AssociationState::Confirmed => "confirmed: the node is on the account".to_owned(),
        AssociationState::Pending { request_id: Some(id) } => format!(
            "pending: the cloud has not confirmed mapping request {} yet (the node confirms it once online)",
            output::terminal_safe(id)
        ),
        AssociationState::Pending { request_id: None } => {
            "pending: the cloud could not be reached to request the mapping".to_owned()
        }
        AssociationState::SentToDevice => "sent_to_device: the device has the user id and secret key".to_owned(),
        AssociationState::NotAssociated => "not_associated: the device has no RainMaker endpoints".to_owned(),
    };
    println!("RainMaker: node {node}{claimed}, association {state}.");
}
