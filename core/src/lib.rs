//! rainmaker-prov core: ESP-IDF provisioning and ESP RainMaker association, phone and device side.
//!
//! Layers, top to bottom: orchestration (device session, provisioner), endpoint codecs
//! ([`endpoints`]), session security ([`security`]), and the [`transport`] boundary. Security and
//! endpoint codecs are sans-I/O: bytes in, bytes out, randomness injected.

pub mod blocking;
pub mod endpoints;
pub mod error;
pub mod events;
pub mod provision;
#[cfg(feature = "rainmaker")]
pub mod rainmaker;
pub mod rng;
pub mod security;
pub mod session;
#[cfg(feature = "device")]
pub mod sim;
pub mod transport;

pub use error::{Error, Result, Step};

// The uniffi scaffolding of this crate's exported types (the bindings crate builds the library).
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();
