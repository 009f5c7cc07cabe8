//! HTTP server for the device simulator.
