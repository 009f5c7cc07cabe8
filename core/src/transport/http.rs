//! SoftAP/HTTP transport.
