//! Secrets never reach a log record, an error message or `Debug` output: a whole provisioning
//! run (success and every failure) is logged at trace level and searched for every secret.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use rainmaker_prov::events::CancelToken;
use rainmaker_prov::provision::{self, NetworkCredentials, ProvisionRequest};
use rainmaker_prov::security::{Sec2Patch, Secret};
use rainmaker_prov::session::{PollOptions, SessionOptions};
use rainmaker_prov::sim::device::SimSecurity;
use rainmaker_prov_tests::{Fixture, Via, fast_config};

const POP: &str = "Pop-7f3a91c2";
const WRONG_POP: &str = "Wrong-0e8b44d1";
const PASSPHRASE: &str = "Wifi-Pass-5d21";

fn assert_clean(text: &str, what: &str) {
    for secret in [POP, WRONG_POP, PASSPHRASE, "secretpass"] {
        assert!(!text.contains(secret), "{what} contains a secret: {text}");
        assert!(!text.contains(&hex(secret)), "{what} contains a secret in hex: {text}");
    }
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn no_secret_in_logs_errors_or_debug() {
    rainmaker_prov_tests::log_capture::install();
    let schemes = [
        SimSecurity::Sec1 { pop: Some(Secret::from(POP)) },
        SimSecurity::Sec2 { username: "wifiprov".into(), password: Secret::from(POP), patch: Sec2Patch::Patch1 },
        SimSecurity::Sec2 { username: "wifiprov".into(), password: Secret::from(POP), patch: Sec2Patch::Patch0 },
    ];
    let mut texts = Vec::new();
    for security in schemes {
        for via in [Via::Memory, Via::Http, Via::Console] {
            let mut config = fast_config(security.clone());
            config.access_points[0].passphrase = Some(Secret::from(PASSPHRASE));
            texts.push(format!("{config:?}"));
            for (pop, pass) in [(POP, PASSPHRASE), (WRONG_POP, PASSPHRASE), (POP, "secretpass")] {
                let fx = Fixture::start(config.clone(), via).unwrap();
                let mut request = ProvisionRequest::new(NetworkCredentials::Wifi {
                    ssid: b"RefPeer-Home".to_vec(),
                    passphrase: Secret::from(pass),
                });
                request.session = SessionOptions { pop: Some(Secret::from(pop)), ..SessionOptions::default() };
                request.poll = PollOptions { initial_interval: Duration::from_millis(20), ..PollOptions::default() };
                texts.push(format!("{request:?}"));
                let result = provision::provision(fx.transport.clone(), request, None, &CancelToken::new()).await;
                match result {
                    Ok(outcome) => texts.push(format!("{outcome:?}")),
                    Err(e) => {
                        texts.push(format!("{e:?}"));
                        texts.push(e.to_string());
                    }
                }
            }
        }
    }
    let records = rainmaker_prov_tests::log_capture::records();
    assert!(records.len() > 20, "the run should have logged: {}", records.len());
    for r in &records {
        assert_clean(r, "log record");
    }
    for t in &texts {
        assert_clean(t, "Debug/Display output");
    }
}
