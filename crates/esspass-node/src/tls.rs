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

/// Serve `router` over TLS on an already bound listener (must be called inside a tokio runtime).
pub fn serve_listener(listener: std::net::TcpListener, tls: Arc<ServerConfig>, router: axum::Router) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let listener = TcpListener::from_std(listener).map_err(|e| e.to_string())?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let acceptor = TlsAcceptor::from(tls);
    let handle = tokio::spawn(async move {
        loop {
            let Ok((tcp, _peer)) = listener.accept().await else { continue };
            let acceptor = acceptor.clone();
            let router = router.clone();
            tokio::spawn(async move {
                let Ok(Ok(stream)) = tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp)).await else { return };
                let service = hyper_util::service::TowerToHyperService::new(router);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((local, handle))
}
