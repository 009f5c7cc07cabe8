//! Phone side: the RainMaker claiming response parser and the fragment reassembler; the input
//! is a sequence of frames (tag selects the claiming step, body is the device's answer).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::endpoints::rainmaker::{self, ClaimAssembler, ClaimStep};
use rainmaker_prov_fuzz::frames;

const STEPS: [ClaimStep; 4] = [ClaimStep::Start, ClaimStep::Init, ClaimStep::Verify, ClaimStep::Abort];

fuzz_target!(|data: &[u8]| {
    let mut assembler = ClaimAssembler::new();
    for (tag, body) in frames(data).into_iter().take(64) {
        let step = STEPS[usize::from(tag) % STEPS.len()];
        let Ok(fragment) = rainmaker::parse_claim_response(step, body) else { continue };
        if assembler.push(fragment).is_err() {
            assembler = ClaimAssembler::new();
        }
    }
    let _ = assembler.is_complete();
    let _ = assembler.into_bytes();
});
