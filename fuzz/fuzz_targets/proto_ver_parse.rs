//! Phone side: the `proto-ver` reply parser, security detection, and render/parse consistency.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::endpoints::proto_ver::{self, ProtoVersion};

fuzz_target!(|data: &[u8]| {
    let version = proto_ver::parse(data);
    let _ = proto_ver::detect_security(&version);
    let _ = (version.has_ch_resp(), version.supports_thread(), version.has_wifi_scan(), version.needs_claim());
    if let ProtoVersion::Json { info } = &version {
        // What we render, we parse back to the same document.
        let rendered = proto_ver::render(info);
        match proto_ver::parse(rendered.as_bytes()) {
            ProtoVersion::Json { info: again } => {
                assert_eq!(proto_ver::render(&again), rendered, "render/parse is not stable");
            }
            other => panic!("rendered proto-ver does not parse as a document: {other:?}"),
        }
    }
});
