//! Device side: the RainMaker request decoders (`cloud_user_assoc`, `ch_resp`, `rmaker_claim`),
//! each decoded command answered with the device-side encoder and read back by the phone side.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::endpoints::rainmaker::{self, ChRespCommand, ClaimStatus, UserMappingCommand};

fuzz_target!(|data: &[u8]| {
    if let Ok(UserMappingCommand::Set(mapping)) = rainmaker::decode_user_mapping_request(data) {
        let _ = format!("{mapping:?}");
        let answer = rainmaker::encode_set_user_mapping_response(&mapping.user_id);
        let _ = rainmaker::parse_set_user_mapping_response(&answer);
    }
    match rainmaker::decode_ch_resp_request(data) {
        Ok(ChRespCommand::Challenge(challenge)) => assert!(!challenge.is_empty(), "empty challenge accepted"),
        Ok(ChRespCommand::Disable) | Err(_) => {}
    }
    if let Ok(command) = rainmaker::decode_claim_request(data) {
        let answer = rainmaker::encode_claim_response(command.msg, ClaimStatus::Success, Some(&command.buf));
        if let Some(step) = command.step {
            let _ = rainmaker::parse_claim_response(step, &answer);
        }
    }
});
