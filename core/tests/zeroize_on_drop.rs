//! Secrets are wiped before their memory is given back: a checking allocator looks for the PoP,
//! the SRP password and the Wi-Fi passphrase in every heap block the phone side frees during whole
//! provisioning runs (security 1 and 2, against the simulator) and during QR parsing.
//!
//! Only the test's own thread (the phone side: the flow runs on a current-thread runtime) is
//! watched; the simulated device runs on other threads. On the device side prost's decoder copies
//! a received passphrase through a temporary buffer it frees unwiped, which the simulator cannot
//! prevent; the phone never decodes a secret.
#![allow(unsafe_code, clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use rainmaker_prov::endpoints::qr;
use rainmaker_prov::events::CancelToken;
use rainmaker_prov::provision::{self, NetworkCredentials, ProvisionRequest};
use rainmaker_prov::security::{Sec2Patch, Secret};
use rainmaker_prov::session::{PollOptions, SessionOptions};
use rainmaker_prov::sim::device::{SimConfig, SimDevice, SimSecurity};
use rainmaker_prov::transport::memory::MemoryTransport;

/// The secrets looked for. Distinctive enough never to appear by chance.
const MARKERS: [&[u8]; 3] = [b"pop-Zq7x9Km2Wv", b"srp-Pw4Jt8Lc1Rn", b"wifi-Ps6Hy3Qd0Ub"];

/// Frees whose block still held a marker, while watching.
static HITS: AtomicUsize = AtomicUsize::new(0);
/// Whether frees are being watched (only inside one test at a time).
static WATCHING: AtomicBool = AtomicBool::new(false);
/// The last hit: marker index * 100000 + block size (for the failure message).
static LAST: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread's frees are checked.
    static WATCHED_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a free on the current thread is checked now.
fn watched_now() -> bool {
    WATCHING.load(Ordering::Relaxed) && WATCHED_THREAD.try_with(std::cell::Cell::get).unwrap_or(false)
}

struct Checking;

fn contains(block: &[u8], marker: &[u8]) -> bool {
    block.windows(marker.len()).any(|w| w == marker)
}

// SAFETY: every call is forwarded to the system allocator unchanged; `dealloc` only reads the
// block it is about to free, within its layout, before freeing it.
unsafe impl GlobalAlloc for Checking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= 14 && watched_now() {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes until it is freed below.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if let Some(i) = MARKERS.iter().position(|m| contains(block, m)) {
                HITS.fetch_add(1, Ordering::Relaxed);
                LAST.store(i * 100_000 + layout.size(), Ordering::Relaxed);
            }
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.size() >= 14 && watched_now() {
            // SAFETY: as in `dealloc`: the old block is live until realloc returns.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if let Some(i) = MARKERS.iter().position(|m| contains(block, m)) {
                LAST.store(1_000_000 + i * 100_000 + layout.size(), Ordering::Relaxed);
                // A reallocation copies the secret and frees the old block without wiping it.
                HITS.fetch_add(1, Ordering::Relaxed);
            }
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Checking = Checking;

/// Serialises the tests of this file: the watch is process-wide.
static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The last hit as "marker N in a freed block of S bytes".
fn last_hit() -> String {
    let last = LAST.load(Ordering::SeqCst);
    let kind = if last >= 1_000_000 { "reallocated" } else { "freed" };
    format!("marker {} in a {kind} block of {} bytes", (last % 1_000_000) / 100_000, last % 100_000)
}

fn watched<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let _guard = LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    HITS.store(0, Ordering::SeqCst);
    WATCHED_THREAD.with(|w| w.set(true));
    WATCHING.store(true, Ordering::SeqCst);
    let out = f();
    WATCHING.store(false, Ordering::SeqCst);
    WATCHED_THREAD.with(|w| w.set(false));
    (out, HITS.load(Ordering::SeqCst))
}

fn run_flow(security: SimSecurity, options: SessionOptions) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut config = SimConfig::new(security);
        config.join_delay = Duration::from_millis(10);
        config.access_points[0].passphrase = Some(Secret::from(MARKERS[2]));
        let ssid = config.access_points[0].network.ssid.clone();
        let device = SimDevice::new(config);
        let transport = Arc::new(MemoryTransport::new(device));
        let mut request =
            ProvisionRequest::new(NetworkCredentials::Wifi { ssid, passphrase: Secret::from(MARKERS[2]) });
        request.session = options;
        request.poll = PollOptions {
            deadline: Duration::from_secs(10),
            initial_interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(50),
        };
        let outcome = provision::provision(transport, request, None, &CancelToken::new()).await;
        assert!(outcome.is_ok(), "{outcome:?}");
    });
}

#[test]
fn security_1_flow_frees_no_secret_unwiped() {
    let pop = || Secret::from(MARKERS[0]);
    let ((), hits) = watched(|| {
        run_flow(
            SimSecurity::Sec1 { pop: Some(pop()) },
            SessionOptions { pop: Some(pop()), ..SessionOptions::default() },
        )
    });
    assert_eq!(hits, 0, "{hits} freed heap blocks still held a secret (last: {})", last_hit());
}

#[test]
fn security_2_flow_frees_no_secret_unwiped() {
    let password = || Secret::from(MARKERS[1]);
    let ((), hits) = watched(|| {
        run_flow(
            SimSecurity::Sec2 { username: "wifiprov".into(), password: password(), patch: Sec2Patch::Patch1 },
            SessionOptions {
                pop: Some(Secret::from(MARKERS[0])),
                sec2_password: Some(password()),
                ..SessionOptions::default()
            },
        )
    });
    assert_eq!(hits, 0, "{hits} freed heap blocks still held a secret (last: {})", last_hit());
}

#[test]
fn qr_payload_frees_no_secret_unwiped() {
    let text = format!(
        r#"{{"ver":"v1","name":"PROV_1","pop":"{}","password":"{}","transport":"softap"}}"#,
        std::str::from_utf8(MARKERS[0]).unwrap(),
        std::str::from_utf8(MARKERS[1]).unwrap()
    );
    let (parsed, hits) = watched(|| {
        let payload = qr::parse(&text).unwrap();
        let mut options = SessionOptions::default();
        options.apply_qr(&payload);
        let parsed = payload.pop.as_ref().map(|p| p.expose().to_vec());
        drop(options);
        drop(payload);
        parsed
    });
    // The watch ends before `parsed` (a deliberate plain copy, for the assertion) is freed.
    assert_eq!(parsed.as_deref(), Some(MARKERS[0]));
    assert_eq!(hits, 0, "{hits} freed heap blocks still held a secret (last: {})", last_hit());
}
