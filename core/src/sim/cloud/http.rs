//! The fake cloud's HTTP/1.1 layer: reads one bounded request from a socket and renders JSON
//! answers with `Content-Length` and `Connection: close`.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Longest request line + headers (including the blank line) accepted before answering 431.
pub(super) const MAX_HEAD: usize = 16 * 1024;

/// Largest `Content-Length` accepted before answering 413.
pub(super) const MAX_BODY: usize = 64 * 1024;

/// How much of an unread body is drained (and dropped) after an error answer, so that closing
/// the socket sends a FIN rather than a reset that could destroy the answer.
const DRAIN_LIMIT: usize = 64 * 1024;

/// How long the drain after an error answer may take.
const DRAIN_TIME: Duration = Duration::from_millis(500);

/// One parsed request.
#[derive(Debug)]
pub(super) struct Request {
    /// The method as sent (`GET`, `POST`, ...).
    pub method: String,
    /// The path of the request target, without the query.
    pub path: String,
    /// The query (after `?`), empty when there is none.
    pub query: String,
    /// The headers in the order received (names as sent, values trimmed).
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

impl Request {
    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value of the query parameter `name` (no percent-decoding; empty pairs such as the
    /// leading `&` of `?&request_id=...` are skipped).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.split('&').filter(|pair| !pair.is_empty()).find_map(|pair| match pair.split_once('=') {
            Some((key, value)) if key == name => Some(value),
            None if pair == name => Some(""),
            _ => None,
        })
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub(super) enum ReadError {
    /// The peer closed the connection (or the socket failed) before a whole request arrived:
    /// nothing is answered.
    Closed,
    /// The request is refused with this status and description (its body, if any, is left
    /// unread).
    Reject {
        /// HTTP status.
        status: u16,
        /// The `description` of the JSON failure answer.
        description: &'static str,
    },
}

/// Reads one request: the head (at most [`MAX_HEAD`] bytes) and a `Content-Length` body (at
/// most [`MAX_BODY`] bytes). Answers `Expect: 100-continue` with an interim `100 Continue`.
pub(super) async fn read_request<S>(stream: &mut S) -> Result<Request, ReadError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf: Vec<u8> = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = find_head_end(&buf) {
            break pos;
        }
        if buf.len() >= MAX_HEAD {
            return Err(reject(431, "Request header too large"));
        }
        let n = stream.read(&mut chunk).await.map_err(|_| ReadError::Closed)?;
        if n == 0 {
            return Err(ReadError::Closed);
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    };
    if head_end > MAX_HEAD {
        return Err(reject(431, "Request header too large"));
    }
    let head = std::str::from_utf8(buf.get(..head_end).unwrap_or_default())
        .map_err(|_| reject(400, "Request header is not UTF-8"))?;
    let mut request = parse_head(head)?;
    let content_length = content_length(&request.headers)?;
    if request.header("transfer-encoding").is_some() {
        return Err(reject(411, "Chunked bodies are not supported; send Content-Length"));
    }
    if content_length > MAX_BODY {
        return Err(reject(413, "Request body too large"));
    }
    if content_length > 0 && request.header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.map_err(|_| ReadError::Closed)?;
    }
    let mut body = buf.get(head_end + 4..).unwrap_or_default().to_vec();
    // Bytes past the body (a pipelined request) are ignored: the connection closes after the answer.
    body.truncate(content_length);
    while body.len() < content_length {
        let want = (content_length - body.len()).min(chunk.len());
        let n = stream.read(chunk.get_mut(..want).unwrap_or_default()).await.map_err(|_| ReadError::Closed)?;
        if n == 0 {
            return Err(ReadError::Closed);
        }
        body.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    request.body = body;
    Ok(request)
}

fn reject(status: u16, description: &'static str) -> ReadError {
    ReadError::Reject { status, description }
}

/// Offset of the `\r\n\r\n` that ends the head.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

fn parse_head(head: &str) -> Result<Request, ReadError> {
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(reject(400, "Malformed request line"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(reject(400, "Malformed request line"));
    }
    if !version.starts_with("HTTP/1.") {
        return Err(reject(505, "HTTP version not supported"));
    }
    if !target.starts_with('/') {
        return Err(reject(400, "Malformed request target"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            return Err(reject(400, "Folded header lines are not supported"));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(reject(400, "Malformed header line"));
        };
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
            return Err(reject(400, "Malformed header line"));
        }
        headers.push((name.to_owned(), value.trim_matches([' ', '\t']).to_owned()));
    }
    Ok(Request { method: method.to_owned(), path: path.to_owned(), query: query.to_owned(), headers, body: Vec::new() })
}

/// The body length: 0 without `Content-Length`; every `Content-Length` must agree.
fn content_length(headers: &[(String, String)]) -> Result<usize, ReadError> {
    let mut length = None;
    for (_, value) in headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("content-length")) {
        if value.is_empty() || value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(reject(400, "Invalid Content-Length"));
        }
        let parsed: usize = value.parse().map_err(|_| reject(400, "Invalid Content-Length"))?;
        if length.is_some_and(|l| l != parsed) {
            return Err(reject(400, "Conflicting Content-Length headers"));
        }
        length = Some(parsed);
    }
    Ok(length.unwrap_or(0))
}

/// A whole HTTP answer with a JSON body.
pub(super) fn render(status: u16, body: &str) -> Vec<u8> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

/// After an error answer on a connection whose request was not read completely: stops sending
/// and reads (and drops) what the client still sends, bounded in size and time.
pub(super) async fn drain<S>(stream: &mut S)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = stream.shutdown().await;
    let mut chunk = [0u8; 4096];
    let mut drained = 0usize;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while drained < DRAIN_LIMIT {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str) -> Request {
        Request { method: "GET".into(), path: "/".into(), query: query.into(), headers: Vec::new(), body: Vec::new() }
    }

    #[test]
    fn query_parameters_skip_empty_pairs() {
        assert_eq!(request("&request_id=abc").query_param("request_id"), Some("abc"));
        assert_eq!(request("request_id=abc&user_request=true").query_param("user_request"), Some("true"));
        assert_eq!(request("").query_param("request_id"), None);
        assert_eq!(request("flag").query_param("flag"), Some(""));
    }

    #[test]
    fn head_parsing_rejects_malformed_input() {
        assert!(parse_head("GET / HTTP/1.1\r\nHost: x").is_ok());
        assert!(matches!(parse_head("GET /"), Err(ReadError::Reject { status: 400, .. })));
        assert!(matches!(parse_head("GET / HTTP/2.0"), Err(ReadError::Reject { status: 505, .. })));
        assert!(matches!(parse_head("GET x HTTP/1.1"), Err(ReadError::Reject { status: 400, .. })));
        assert!(matches!(parse_head("GET / HTTP/1.1\r\nbad header"), Err(ReadError::Reject { status: 400, .. })));
        assert!(matches!(parse_head("GET / HTTP/1.1\r\n folded"), Err(ReadError::Reject { status: 400, .. })));
    }

    #[test]
    fn content_length_must_be_digits_and_agree() {
        let h = |v: &[&str]| v.iter().map(|v| ("Content-Length".to_owned(), (*v).to_owned())).collect::<Vec<_>>();
        assert!(matches!(content_length(&h(&["12"])), Ok(12)));
        assert!(matches!(content_length(&[]), Ok(0)));
        assert!(content_length(&h(&["-1"])).is_err());
        assert!(content_length(&h(&["1", "2"])).is_err());
        assert!(content_length(&h(&["99999999999999999999"])).is_err());
    }
}
