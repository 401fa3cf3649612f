//! A small HTTPS server (rustls over tokio, HTTP/1.1) for an axum router, bound to 127.0.0.1.
//! The demo uses it to publish status lists; the institution node builds on it.

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// TLS configuration from a PEM chain (leaf first) and a PKCS#8 PEM key.
pub fn tls_config(chain_pem: &Path, key_pem: &Path) -> Result<Arc<ServerConfig>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(chain_pem)
        .map_err(|e| format!("{}: {e}", chain_pem.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", chain_pem.display()))?;
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|e| format!("{}: {e}", key_pem.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate/key: {e}"))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Bind `addr` and serve `router` over TLS until the returned handle is dropped or the runtime ends.
pub async fn serve(addr: SocketAddr, tls: Arc<ServerConfig>, router: axum::Router) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), String> {
    let listener = std::net::TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    serve_listener(listener, tls, router)
}

/// Connection limits of a server: how many at once, how long a client may take to send its
/// request headers (also while a kept-alive connection idles), a request, and a connection in all.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    pub max_connections: usize,
    pub header_read_timeout: std::time::Duration,
    pub request_timeout: std::time::Duration,
    pub connection_lifetime: std::time::Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self::from(&crate::config::LimitsConfig::default())
    }
}

impl From<&crate::config::LimitsConfig> for ServeLimits {
    fn from(c: &crate::config::LimitsConfig) -> Self {
        use std::time::Duration;
        Self {
            max_connections: c.max_connections,
            header_read_timeout: Duration::from_secs(c.header_read_timeout),
            request_timeout: Duration::from_secs(c.request_timeout),
            connection_lifetime: Duration::from_secs(c.connection_lifetime.max(1)),
        }
    }
}

/// Serve `router` over TLS on an already bound listener (must be called inside a tokio runtime),
/// with the default limits.
pub fn serve_listener(listener: std::net::TcpListener, tls: Arc<ServerConfig>, router: axum::Router) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), String> {
    serve_listener_with(listener, tls, router, ServeLimits::default())
}

/// Serve `router` over TLS with `limits`. Each request carries the peer address as
/// `axum::extract::ConnectInfo<SocketAddr>`. A connection over the cap is closed at accept; a
/// request that outlives `request_timeout` is answered 408 (RFC 9457, `ESP-7011`) and the
/// connection closed.
pub fn serve_listener_with(listener: std::net::TcpListener, tls: Arc<ServerConfig>, router: axum::Router, limits: ServeLimits) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let listener = TcpListener::from_std(listener).map_err(|e| e.to_string())?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let acceptor = TlsAcceptor::from(tls);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let handle = tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else { continue };
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                // Over the cap: closed at once rather than queued.
                drop(tcp);
                continue;
            };
            let acceptor = acceptor.clone();
            let router = router.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let Ok(Ok(stream)) = tokio::time::timeout(limits.header_read_timeout, acceptor.accept(tcp)).await else { return };
                let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    let router = router.clone();
                    req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                    async move {
                        use tower::ServiceExt;
                        match tokio::time::timeout(limits.request_timeout, router.oneshot(req.map(axum::body::Body::new))).await {
                            Ok(r) => r,
                            Err(_) => Ok(crate::http::problem_response(408, esspass_core::ErrorCode::RequestTimeout, "the request took too long")),
                        }
                    }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(limits.header_read_timeout)
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                let _ = tokio::time::timeout(limits.connection_lifetime, conn).await;
            });
        }
    });
    Ok((local, handle))
}
