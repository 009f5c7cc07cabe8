//! endpoints (in progress).
