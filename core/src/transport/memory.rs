//! In-process transport to a simulated device.
