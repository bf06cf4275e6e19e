//! The HTTP agent portcullis uses for every outbound request: rustls with the
//! aws-lc-rs provider and the Mozilla roots, no error on HTTP status (callers
//! decide), the same timeout for connecting, sending, waiting and each read,
//! and credentials kept off redirects to other hosts.

use std::sync::Arc;
use std::time::Duration;

/// Builds an agent; `insecure` turns off certificate verification (loopback or a lab).
pub fn http_agent(user_agent: &str, timeout: Duration, insecure: bool) -> ureq::Agent {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(provider)
        .disable_verification(insecure)
        .build();
    let timeout = Some(timeout);
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(tls)
        .user_agent(user_agent)
        .timeout_connect(timeout)
        .timeout_send_request(timeout)
        .timeout_recv_response(timeout)
        .timeout_per_read(timeout)
        .max_redirects(10)
        // Blob storage and mirrors redirect to object storage with their own signed
        // URLs; our credentials must not follow there.
        .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
        .build()
        .new_agent()
}
