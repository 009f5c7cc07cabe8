//! ESP RainMaker across the FFI (docs/protocol.md 8): the app's HTTP stack (`HttpBackend`), the
//! cloud account ([`RainMakerCloud`]), and the objects that carry secrets ([`CloudTokens`],
//! [`LoginOutcome`], [`AssociationPlan`]). A pending mapping is the core's `PendingMapping`, itself
//! an object.
//!
//! The app's HTTP stack is the core's `HttpBackend` trait, exported with the plain data types (`HttpRequest`, `HttpResponse`,
//! `HttpHeader`, `HttpMethod`, `HttpError`, `AssociationState`) through the core's `uniffi`
//! feature: they live in the core crate's namespace (Kotlin package `rainmaker.prov.core`, Swift
//! module `RainmakerProv`). The trait is the core's rather than a bindings one because uniffi
//! 0.32's Kotlin code for a foreign async trait of one crate returning a record of another does
//! not compile (two `RustBuffer` classes).
//!
//! Implement `HttpBackend` in Kotlin (`override suspend fun send`) or Swift (`func send(request:)
//! async throws`), or take the shipped one. Return every answer, whatever its status code; throw
//! `HttpError` only when there is no answer; read at most 64 KiB of body (`HttpError.TooLarge`
//! beyond); never log requests (they carry the access token, passwords and secret keys).
//! The types here wrap core types that hold a `Secret` and therefore cannot be plain records:
//! they are objects whose secrets are readable only through explicit accessors, never through
//! `toString`/`description`.
//!
//! The library has no HTTP stack and no TLS of its own: the app passes one in (the Android
//! library ships `HttpUrlConnectionClient`, the Swift package `URLSessionHttpClient`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rainmaker_prov::events::CancelToken;
use rainmaker_prov::rainmaker::flow::confirm_mapping;
use rainmaker_prov::rainmaker::http::MAX_RESPONSE_BODY;
use rainmaker_prov::rainmaker::{
    self as core_rm, AssociationState, CloudConfig, ConfirmOptions, HttpBackend, HttpError, HttpRequest, HttpResponse,
    PendingMapping, RainMakerError,
};
use rainmaker_prov::security::Secret;

use crate::events::CancelHandle;

/// The RainMaker REST base of Espressif's public cloud (global region).
pub const DEFAULT_BASE_URL: &str = core_rm::DEFAULT_BASE_URL;
/// Espressif's public assisted-claiming service (global region).
pub const DEFAULT_CLAIM_URL: &str = core_rm::DEFAULT_CLAIM_URL;

/// Presents the app's HTTP stack (the core's `HttpBackend`, implemented in Kotlin/Swift and
/// a foreign trait object) to the core cloud client, with a task boundary around each call.
struct ForeignHttp {
    client: Arc<dyn HttpBackend>,
}

#[async_trait]
impl HttpBackend for ForeignHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let client = Arc::clone(&self.client);
        // Its own task: an app exception of another type than `HttpError` cannot be lifted, and
        // the task boundary turns that failure into an error instead of unwinding further.
        let answer = match crate::runtime::spawn(async move { client.send(request).await }).await {
            Ok(answer) => answer?,
            Err(e) => {
                return Err(HttpError::Unreachable { detail: format!("the app's HTTP client failed: {e}") });
            }
        };
        if answer.body.len() > MAX_RESPONSE_BODY {
            return Err(HttpError::TooLarge { limit: MAX_RESPONSE_BODY as u64 });
        }
        Ok(answer)
    }
}

/// The tokens of a logged-in RainMaker account, for the app to persist (in the Keystore /
/// Keychain) and restore with `RainMakerCloud.set_tokens`. Every value is a secret: the object
/// never prints them; read them only to store them.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct CloudTokens {
    tokens: core_rm::CloudTokens,
}

impl std::fmt::Debug for CloudTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CloudTokens(<redacted>)")
    }
}

fn secret_text(secret: &Secret) -> String {
    String::from_utf8_lossy(secret.expose()).into_owned()
}

#[uniffi::export]
impl CloudTokens {
    /// Tokens read back from the app's storage.
    #[uniffi::constructor]
    pub fn new(access_token: String, id_token: String, refresh_token: String) -> Arc<Self> {
        Arc::new(Self {
            tokens: core_rm::CloudTokens {
                access_token: Secret::from(access_token),
                id_token: Secret::from(id_token),
                refresh_token: Secret::from(refresh_token),
            },
        })
    }

    /// The access token (a JWT).
    pub fn access_token(&self) -> String {
        secret_text(&self.tokens.access_token)
    }

    /// The id token (a JWT carrying the user id).
    pub fn id_token(&self) -> String {
        secret_text(&self.tokens.id_token)
    }

    /// The refresh token.
    pub fn refresh_token(&self) -> String {
        secret_text(&self.tokens.refresh_token)
    }
}

/// What a `RainMakerCloud.login` needs next: nothing (`is_logged_in()`), or the one-time code the
/// user received (`needs_code()`): pass this object back to `login_with_code`. It holds the
/// cloud's login session, which it never prints.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct LoginOutcome {
    session: Option<Secret>,
}

impl std::fmt::Debug for LoginOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.session.is_some() {
            f.write_str("LoginOutcome(CodeRequired)")
        } else {
            f.write_str("LoginOutcome(LoggedIn)")
        }
    }
}

#[uniffi::export]
impl LoginOutcome {
    /// The account is logged in: the tokens are in the cloud client.
    pub fn is_logged_in(&self) -> bool {
        self.session.is_none()
    }

    /// The account needs a one-time code: call `login_with_code` with this object.
    pub fn needs_code(&self) -> bool {
        self.session.is_some()
    }
}

/// Who `ProvDevice.provision_rainmaker` associates the node with.
#[derive(Debug, uniffi::Object)]
pub struct AssociationPlan {
    plan: core_rm::AssociationPlan,
}

impl AssociationPlan {
    pub(crate) fn core(&self) -> core_rm::AssociationPlan {
        self.plan.clone()
    }
}

#[uniffi::export]
impl AssociationPlan {
    /// No association: plain network provisioning.
    #[uniffi::constructor]
    pub fn none() -> Arc<Self> {
        Arc::new(Self { plan: core_rm::AssociationPlan::None })
    }

    /// Hand this user id and secret key to the device (`cloud_user_assoc`), like Espressif's
    /// `provision_device(userid=…, secretkey=…)`. No cloud call is made: confirming the mapping
    /// with the cloud is the caller's (the outcome is `AssociationState.SentToDevice`).
    #[uniffi::constructor]
    pub fn user_mapping(user_id: String, secret_key: String) -> Arc<Self> {
        Arc::new(Self { plan: core_rm::AssociationPlan::UserMapping { user_id, secret_key: Secret::from(secret_key) } })
    }

    /// The logged-in account of `cloud`: challenge-response when the device offers it, otherwise
    /// the traditional mapping with a fresh secret key, confirmed with the cloud after the device
    /// joined the network.
    #[uniffi::constructor]
    pub fn cloud(cloud: Arc<RainMakerCloud>) -> Arc<Self> {
        Arc::new(Self { plan: core_rm::AssociationPlan::Cloud(cloud.inner.clone()) })
    }
}

/// A RainMaker cloud account client. Share one per account: every `ProvDevice` call given it
/// uses (and refreshes) the same tokens. Not logged in when created: `login`, or `set_tokens`
/// with tokens the app stored.
#[derive(Debug, uniffi::Object)]
pub struct RainMakerCloud {
    pub(crate) inner: core_rm::RainMakerCloud,
}

/// Runs a cloud call on the bindings' runtime, stopped by `cancel`.
pub(crate) async fn run_cloud<T, F>(cancel: Option<Arc<CancelHandle>>, fut: F) -> Result<T, RainMakerError>
where
    F: std::future::Future<Output = Result<T, RainMakerError>> + Send + 'static,
    T: Send + 'static,
{
    let token: CancelToken = cancel.map(|c| c.token()).unwrap_or_default();
    let result = crate::runtime::spawn(async move { token.run(async { Ok(fut.await) }).await }).await?;
    result?
}

#[uniffi::export]
impl RainMakerCloud {
    /// A client for the RainMaker cloud at `base_url` (REST base, `…/v1/`) and `claim_url`
    /// (assisted claiming) speaking through `http`; each request is bounded by
    /// `request_timeout_ms`. The URLs must be `https://` (plain `http://` only on loopback).
    #[uniffi::constructor(default(
        base_url = "https://api.rainmaker.espressif.com/v1/",
        claim_url = "https://esp-claiming.rainmaker.espressif.com/",
        request_timeout_ms = 30000
    ))]
    pub fn new(
        http: Arc<dyn HttpBackend>,
        base_url: String,
        claim_url: String,
        request_timeout_ms: u64,
    ) -> Result<Arc<Self>, RainMakerError> {
        let config = CloudConfig { base_url, claim_url, request_timeout: Duration::from_millis(request_timeout_ms) };
        let inner = core_rm::RainMakerCloud::new(config, Arc::new(ForeignHttp { client: http }))?;
        Ok(Arc::new(Self { inner }))
    }

    /// Logs in with the account's e-mail/phone and password. Wrong ones:
    /// `RainMakerError.LoginRejected`. An account with multi-factor login answers with a
    /// `LoginOutcome` that `needs_code()`.
    #[uniffi::method(default(cancel = None))]
    pub async fn login(
        &self,
        user_name: String,
        password: String,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<Arc<LoginOutcome>, RainMakerError> {
        let cloud = self.inner.clone();
        let password = Secret::from(password);
        let outcome = run_cloud(cancel, async move { cloud.login(&user_name, &password).await }).await?;
        Ok(Arc::new(match outcome {
            core_rm::LoginOutcome::LoggedIn => LoginOutcome { session: None },
            core_rm::LoginOutcome::CodeRequired { session } => LoginOutcome { session: Some(session) },
        }))
    }

    /// The second step of a login that `needs_code()`: the outcome of `login` and the code the
    /// user received.
    #[uniffi::method(default(cancel = None))]
    pub async fn login_with_code(
        &self,
        user_name: String,
        outcome: Arc<LoginOutcome>,
        code: String,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<(), RainMakerError> {
        let Some(session) = outcome.session.clone() else {
            return Err(RainMakerError::InvalidInput {
                detail: "this login needs no code: it is already complete".into(),
            });
        };
        let cloud = self.inner.clone();
        let code = Secret::from(code);
        run_cloud(cancel, async move {
            let code = std::str::from_utf8(code.expose())
                .map_err(|_| RainMakerError::InvalidInput { detail: "the code is not valid UTF-8".into() })?;
            cloud.login_with_code(&user_name, &session, code).await
        })
        .await
    }

    /// Trades the refresh token for a new access token (done automatically when a call finds the
    /// access token expired). A refused refresh token: `RainMakerError.LoginRejected` (log in again).
    #[uniffi::method(default(cancel = None))]
    pub async fn refresh(&self, cancel: Option<Arc<CancelHandle>>) -> Result<(), RainMakerError> {
        let cloud = self.inner.clone();
        run_cloud(cancel, async move { cloud.refresh().await }).await
    }

    /// The current tokens, to persist (they change when refreshed: store them again after a
    /// flow). `null`/`nil` when not logged in.
    pub fn tokens(&self) -> Option<Arc<CloudTokens>> {
        self.inner.tokens().map(|tokens| Arc::new(CloudTokens { tokens }))
    }

    /// Uses tokens the app stored earlier.
    pub fn set_tokens(&self, tokens: Arc<CloudTokens>) {
        self.inner.set_tokens(tokens.tokens.clone());
    }

    /// Forgets the tokens (local logout).
    pub fn logout(&self) {
        self.inner.clear_tokens();
    }

    /// Whether the client holds an access token.
    pub fn is_logged_in(&self) -> bool {
        self.inner.has_tokens()
    }

    /// The RainMaker user id of the logged-in account (`RainMakerError.LoginRequired` when not
    /// logged in).
    pub fn user_id(&self) -> Result<String, RainMakerError> {
        self.inner.user_id()
    }

    /// The account's e-mail address or phone number, when the id token carries one.
    pub fn user_name(&self) -> Option<String> {
        self.inner.user_name()
    }

    /// Asks the cloud to add a traditionally mapped node to the account and waits (up to
    /// `timeout_ms`) until it confirms: `Confirmed`, or `Pending` when the deadline passed (call
    /// again later). The cloud's refusal: `RainMakerError.MappingTimedOut` / `MappingDiscarded`.
    #[uniffi::method(default(timeout_ms = 60000, cancel = None))]
    pub async fn confirm_mapping(
        &self,
        pending: Arc<PendingMapping>,
        timeout_ms: u64,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<AssociationState, RainMakerError> {
        let cloud = self.inner.clone();
        let options = confirm_options(timeout_ms);
        run_cloud(cancel, async move {
            confirm_mapping(&cloud, &pending, options, &rainmaker_prov::events::NoProgress).await
        })
        .await
    }
}

/// The confirmation options for a deadline in milliseconds.
pub(crate) fn confirm_options(timeout_ms: u64) -> ConfirmOptions {
    ConfirmOptions::with_deadline(Duration::from_millis(timeout_ms))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rainmaker_prov::rainmaker::HttpMethod;

    struct Canned(usize);

    #[async_trait]
    impl HttpBackend for Canned {
        async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, HttpError> {
            if self.0 == usize::MAX {
                panic!("an app client that throws something else");
            }
            Ok(HttpResponse { status: 200, headers: vec![], body: vec![b'x'; self.0] })
        }
    }

    fn send(size: usize) -> Result<HttpResponse, HttpError> {
        let request =
            HttpRequest { method: HttpMethod::Get, url: "http://127.0.0.1/".into(), headers: vec![], body: vec![] };
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(ForeignHttp { client: Arc::new(Canned(size)) }.send(request))
    }

    #[test]
    fn the_app_client_is_bounded_and_cannot_unwind_into_the_flow() {
        assert_eq!(send(10).unwrap().body.len(), 10);
        assert_eq!(send(MAX_RESPONSE_BODY + 1), Err(HttpError::TooLarge { limit: MAX_RESPONSE_BODY as u64 }));
        assert!(matches!(send(usize::MAX), Err(HttpError::Unreachable { .. })));
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let tokens = CloudTokens::new("acc-s3cret".into(), "id-s3cret".into(), "ref-s3cret".into());
        assert!(!format!("{tokens:?}").contains("s3cret"));
        assert_eq!(tokens.refresh_token(), "ref-s3cret");
        let pending = PendingMapping::restore("node".into(), "user".into(), "key-s3cret".into());
        assert!(!format!("{pending:?}").contains("s3cret"));
        assert_eq!(pending.secret_key_text(), "key-s3cret");
        let plan = AssociationPlan::user_mapping("user".into(), "key-s3cret".into());
        assert!(!format!("{plan:?}").contains("s3cret"));
    }
}
