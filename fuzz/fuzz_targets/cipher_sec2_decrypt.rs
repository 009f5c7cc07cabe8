//! Phone side: `SessionCipher::decrypt` of security 2 (AES-256-GCM, patch 0 fixed nonce and
//! patch 1 counter nonce) on a sequence of records after an honest SRP handshake. The first byte
//! picks the patch. The established cipher is kept between runs (the handshake costs
//! milliseconds) and rebuilt after any successful decryption, the only thing that changes it.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::endpoints::wifi;
use rainmaker_prov::security::{GCM_TAG_LEN, SessionCipher};
use rainmaker_prov_fuzz::{Scheme, establish, frames};

thread_local! {
    static CIPHERS: RefCell<[Option<SessionCipher>; 2]> = const { RefCell::new([None, None]) };
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, records)) = data.split_first() else { return };
    let (slot, scheme) = if selector & 1 == 0 { (0, Scheme::Sec2Patch0) } else { (1, Scheme::Sec2Patch1) };
    CIPHERS.with_borrow_mut(|ciphers| {
        let mut phone = ciphers[slot].take().unwrap_or_else(|| establish(scheme).0);
        let mut changed = false;
        for (_tag, record) in frames(records).into_iter().take(32) {
            match phone.decrypt(record) {
                Ok(plain) => {
                    changed = true;
                    assert_eq!(plain.len() + GCM_TAG_LEN, record.len(), "GCM strips exactly the tag");
                    let _ = wifi::parse_get_status_response(&plain);
                    let _ = wifi::parse_scan_result_response(&plain);
                }
                Err(_) => break,
            }
        }
        if !changed {
            ciphers[slot] = Some(phone);
        }
    });
});
