//! The HTTP backend the RainMaker cloud client speaks through: a request/response interface any
//! HTTP stack can implement (reqwest on desktops, the app's own stack on phones).

use std::fmt;

/// Largest answer body a backend may hand to the cloud client, in bytes. Backends should stop
/// reading past it ([`HttpError::TooLarge`]); the client refuses anything longer either way.
pub const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// The HTTP methods the RainMaker cloud API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
}

impl HttpMethod {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
        }
    }
}

/// One header line. Header values can carry the access token: [`HttpRequest`]'s `Debug`
/// redacts `Authorization`.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record), uniffi::export(Debug))]
pub struct HttpHeader {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
}

impl fmt::Debug for HttpHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.eq_ignore_ascii_case("authorization") {
            write!(f, "{}: <redacted>", self.name)
        } else {
            write!(f, "{}: {}", self.name, self.value)
        }
    }
}

/// A request for the backend to send. The body can hold a password, a refresh token or a
/// mapping secret key: `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record), uniffi::export(Debug))]
pub struct HttpRequest {
    /// Method.
    pub method: HttpMethod,
    /// Absolute `http://` or `https://` URL.
    pub url: String,
    /// Headers to send (besides what the HTTP stack adds itself, such as `Host` and
    /// `Content-Length`).
    pub headers: Vec<HttpHeader>,
    /// Request body (empty for `GET`).
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// What the backend received. The body can hold tokens (login answers): `Debug` shows only its
/// length.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record), uniffi::export(Debug))]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers (may be empty: the client needs none).
    pub headers: Vec<HttpHeader>,
    /// Response body, at most [`MAX_RESPONSE_BODY`] bytes.
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers.len())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Why a backend could not produce a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error))]
#[non_exhaustive]
pub enum HttpError {
    /// No connection (DNS, refused, TLS failure, network down): worth retrying later.
    #[error("cannot reach the server: {detail}")]
    Unreachable {
        /// What failed, in the HTTP stack's words.
        detail: String,
    },
    /// The request did not complete in time.
    #[error("the request timed out")]
    Timeout,
    /// The answer was larger than [`MAX_RESPONSE_BODY`].
    #[error("the answer is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The request itself cannot be sent (bad URL, invalid header).
    #[error("invalid request: {detail}")]
    InvalidRequest {
        /// What is wrong.
        detail: String,
    },
}

/// A foreign implementation that failed in a way its interface does not declare (an unexpected
/// exception in Kotlin or Swift) counts as an unreachable server.
#[cfg(feature = "uniffi")]
impl From<uniffi::UnexpectedUniFFICallbackError> for HttpError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        HttpError::Unreachable {
            detail: format!("the app's HTTP client failed: {}", crate::transport::foreign::callback_failure(&e)),
        }
    }
}

/// Sends HTTP requests for the RainMaker cloud client. Implementations follow redirects or not as
/// they like, must validate TLS certificates for `https://` URLs, and should bound the body
/// they read by [`MAX_RESPONSE_BODY`].
#[cfg_attr(feature = "uniffi", uniffi::export(foreign))]
#[async_trait::async_trait]
pub trait HttpBackend: Send + Sync {
    /// Sends one request and returns the answer, whatever its status code.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;
}

/// An [`HttpBackend`] on reqwest: HTTPS (rustls, ring, the platform's certificate verifier)
/// with the `rainmaker-tls` feature, plain HTTP otherwise. Redirects are not followed.
#[cfg(feature = "rainmaker-http")]
#[derive(Debug, Clone)]
pub struct ReqwestBackend {
    client: reqwest::Client,
}

#[cfg(feature = "rainmaker-http")]
impl ReqwestBackend {
    /// A backend whose connections time out after 10 s and whole requests after `timeout`.
    pub fn new(timeout: std::time::Duration) -> Result<Self, HttpError> {
        // reqwest without a built-in provider needs a process-wide one; an application that
        // installed its own keeps it.
        #[cfg(feature = "rainmaker-tls")]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| HttpError::InvalidRequest { detail: format!("cannot build the HTTP client: {e}") })?;
        Ok(Self { client })
    }

    /// Whether this build can speak HTTPS.
    pub fn supports_https() -> bool {
        cfg!(feature = "rainmaker-tls")
    }
}

#[cfg(feature = "rainmaker-http")]
#[async_trait::async_trait]
impl HttpBackend for ReqwestBackend {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let method = match request.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
        };
        if request.url.starts_with("https://") && !Self::supports_https() {
            return Err(HttpError::InvalidRequest {
                detail: "HTTPS needs the `rainmaker-tls` feature of rainmaker-prov".into(),
            });
        }
        let mut builder = self.client.request(method, &request.url);
        for h in &request.headers {
            let mut value = reqwest::header::HeaderValue::from_str(&h.value)
                .map_err(|_| HttpError::InvalidRequest { detail: format!("invalid value for header {}", h.name) })?;
            if h.name.eq_ignore_ascii_case("authorization") {
                value.set_sensitive(true);
            }
            builder = builder.header(h.name.as_str(), value);
        }
        if request.method != HttpMethod::Get {
            builder = builder.body(request.body);
        }
        let map = |e: reqwest::Error| {
            if e.is_timeout() {
                HttpError::Timeout
            } else if e.is_builder() {
                HttpError::InvalidRequest { detail: e.to_string() }
            } else {
                HttpError::Unreachable { detail: e.to_string() }
            }
        };
        let mut resp = builder.send().await.map_err(map)?;
        let status = resp.status().as_u16();
        if resp.content_length().is_some_and(|n| n > MAX_RESPONSE_BODY as u64) {
            return Err(HttpError::TooLarge { limit: MAX_RESPONSE_BODY as u64 });
        }
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                v.to_str().ok().map(|v| HttpHeader { name: k.as_str().to_owned(), value: v.to_owned() })
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(map)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BODY {
                return Err(HttpError::TooLarge { limit: MAX_RESPONSE_BODY as u64 });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse { status, headers, body })
    }
}
