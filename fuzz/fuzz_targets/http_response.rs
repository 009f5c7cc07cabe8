//! Phone side: the SoftAP HTTP response reader of `HttpTransport` (status line, headers,
//! `Content-Length`, cookie, body), driven against a loopback TCP listener that answers one
//! `POST /prov-session` with the fuzz input and closes the connection.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::transport::Transport;
use rainmaker_prov::transport::http::{HttpConfig, HttpTransport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

const REQUEST_BODY: &[u8] = b"fuzz";

struct Server {
    runtime: Runtime,
    listener: TcpListener,
    host: String,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).expect("loopback listener");
        let host = listener.local_addr().expect("bound address").to_string();
        Server { runtime, listener, host }
    })
}

/// Accepts one connection, reads the whole request (so closing never resets it), answers `reply`.
async fn answer_once(listener: &TcpListener, reply: &[u8]) {
    let Ok((mut socket, _)) = listener.accept().await else { return };
    let mut request = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n")
            && request.len() >= end + 4 + REQUEST_BODY.len()
        {
            break;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&chunk[..n]),
        }
    }
    let _ = socket.write_all(reply).await;
    let _ = socket.shutdown().await;
}

fuzz_target!(|data: &[u8]| {
    let server = server();
    server.runtime.block_on(async {
        let transport = HttpTransport::new(HttpConfig {
            host: server.host.clone(),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(2),
        });
        let serve = tokio::time::timeout(Duration::from_secs(5), answer_once(&server.listener, data));
        let (_, result) = tokio::join!(serve, transport.send("prov-session".to_owned(), REQUEST_BODY.to_vec()));
        if let Ok(body) = result {
            assert!(body.len() <= data.len(), "the body comes from the reply");
        }
    });
});
