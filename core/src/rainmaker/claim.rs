//! Assisted claiming, phone side (docs/protocol.md 8.3): Start → cloud `claim/initiate` → Init →
//! CSR fragments → cloud `claim/verify` → the certificate in contiguous chunks, with Abort on any
//! failure after Start.

use crate::endpoints::rainmaker::{self as codec, ClaimAssembler, ClaimStep};
use crate::error::{Error, Step};
use crate::session::DeviceSession;

use super::cloud::RainMakerCloud;
use super::{RainMakerError, RainMakerResult};

/// Largest cloud answer forwarded to the device, in bytes: the device copies a claiming message
/// into a 3,072-byte buffer without checking the whole length (docs/protocol.md 12.1), so an
/// answer of 3,072 bytes or more is refused instead of sent.
pub const MAX_CLOUD_CLAIM_ANSWER: usize = codec::MAX_CLAIM_CHUNK;

/// At most this many Init requests fetch the CSR (8 KiB in 200-byte fragments, plus slack).
const MAX_CSR_FRAGMENTS: usize = codec::MAX_CLAIM_DATA_LEN / codec::CLAIM_FRAGMENT_SIZE + 8;

fn step() -> Step {
    Step::RainMaker { endpoint: codec::RMAKER_CLAIM.to_owned() }
}

async fn claim_exchange(
    session: &DeviceSession,
    which: ClaimStep,
    request: &[u8],
) -> RainMakerResult<codec::ClaimFragment> {
    let answer = session.exchange(step(), codec::RMAKER_CLAIM, request).await?;
    codec::parse_claim_response(which, &answer).map_err(|e| Error::from_endpoint(step(), e).into())
}

/// Claims the device through the cloud (the node key never leaves the device: it sends a CSR and
/// receives the certificate the claiming service issues). Returns the node id the service
/// assigned. On any failure after Start the device is told to abort, so it can be claimed again.
pub async fn claim(session: &DeviceSession, cloud: &RainMakerCloud) -> RainMakerResult<String> {
    let start = claim_exchange(session, ClaimStep::Start, &codec::claim_start_request()).await?;
    match run_after_start(session, cloud, start).await {
        Ok(node_id) => Ok(node_id),
        Err(e) => {
            // Best effort: the device goes back to "key generated"; a failed abort (the session
            // may be gone) changes nothing for the caller, who gets the first error.
            if session.info().await.is_some() {
                match claim_exchange(session, ClaimStep::Abort, &codec::claim_abort_request()).await {
                    Ok(_) => log::info!("rainmaker: claiming aborted on the device"),
                    Err(abort) => log::warn!("rainmaker: the device did not confirm the claim abort: {abort}"),
                }
            }
            Err(e)
        }
    }
}

async fn run_after_start(
    session: &DeviceSession,
    cloud: &RainMakerCloud,
    start: codec::ClaimFragment,
) -> RainMakerResult<String> {
    if start.offset != 0 || start.payload.len() != start.total_len as usize || start.payload.is_empty() {
        return Err(protocol("the Start answer is not one complete message"));
    }
    let initiate = cloud.claim_initiate(&start.payload).await?;
    refuse_oversized("claim/initiate", &initiate)?;
    let node_id = node_id_of(&initiate)?;
    log::info!("rainmaker: the claiming service assigned node id {node_id}");
    let request = codec::claim_init_request(&initiate).map_err(|e| Error::from_endpoint(step(), e))?;
    let mut csr = ClaimAssembler::new();
    let mut fragment = claim_exchange(session, ClaimStep::Init, &request).await?;
    let mut fetched = 0;
    loop {
        let complete = csr.push(fragment).map_err(|e| Error::from_endpoint(step(), e))?;
        if complete {
            break;
        }
        fetched += 1;
        if fetched > MAX_CSR_FRAGMENTS {
            return Err(protocol("the device sent too many CSR fragments"));
        }
        fragment = claim_exchange(session, ClaimStep::Init, &codec::claim_init_next_request()).await?;
    }
    let csr = csr.into_bytes();
    log::debug!("rainmaker: received the device's CSR ({} bytes)", csr.len());
    let certificate = cloud.claim_verify(&csr).await?;
    refuse_oversized("claim/verify", &certificate)?;
    let requests = codec::claim_verify_requests(&certificate, codec::CLAIM_FRAGMENT_SIZE)
        .map_err(|e| Error::from_endpoint(step(), e))?;
    for request in requests {
        claim_exchange(session, ClaimStep::Verify, &request).await?;
    }
    log::info!("rainmaker: the device accepted its certificate (node {node_id})");
    Ok(node_id)
}

fn refuse_oversized(operation: &'static str, answer: &[u8]) -> RainMakerResult<()> {
    if answer.len() > MAX_CLOUD_CLAIM_ANSWER {
        return Err(RainMakerError::ClaimAnswerTooLarge {
            operation: operation.into(),
            size: answer.len() as u64,
            limit: MAX_CLOUD_CLAIM_ANSWER as u64,
        });
    }
    if answer.is_empty() {
        return Err(RainMakerError::CloudProtocol { operation: operation.into(), detail: "empty answer".into() });
    }
    Ok(())
}

/// The `node_id` of the claim/initiate answer (what the device will call itself).
fn node_id_of(answer: &[u8]) -> RainMakerResult<String> {
    let v: serde_json::Value = serde_json::from_slice(answer).map_err(|e| RainMakerError::CloudProtocol {
        operation: "claim/initiate".into(),
        detail: format!("not JSON: {e}"),
    })?;
    match v.get("node_id").and_then(serde_json::Value::as_str) {
        // The device keeps at most 63 characters.
        Some(id) if !id.is_empty() && id.len() <= 63 && id.chars().all(|c| c.is_ascii_graphic()) => Ok(id.to_owned()),
        _ => Err(RainMakerError::CloudProtocol {
            operation: "claim/initiate".into(),
            detail: "no usable `node_id` (1–63 printable ASCII characters)".into(),
        }),
    }
}

fn protocol(detail: &str) -> RainMakerError {
    Error::Protocol { step: step(), detail: detail.to_owned() }.into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cloud_answers_are_checked_before_they_reach_the_device() {
        assert!(refuse_oversized("claim/verify", &[b'x'; MAX_CLOUD_CLAIM_ANSWER]).is_ok());
        assert!(matches!(
            refuse_oversized("claim/verify", &[b'x'; MAX_CLOUD_CLAIM_ANSWER + 1]),
            Err(RainMakerError::ClaimAnswerTooLarge { size: 3072, limit: 3071, .. })
        ));
        assert!(refuse_oversized("claim/verify", b"").is_err());
        assert_eq!(node_id_of(br#"{"node_id":"abc123","x":1}"#).unwrap(), "abc123");
        for bad in [&br#"{"node_id":""}"#[..], br#"{"node_id":"a b"}"#, b"{}", b"nope"] {
            assert!(node_id_of(bad).is_err());
        }
        let long = format!(r#"{{"node_id":"{}"}}"#, "a".repeat(64));
        assert!(node_id_of(long.as_bytes()).is_err());
    }
}
