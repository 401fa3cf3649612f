//! HTTPS fetching for status lists and trusted lists. Plain `http` is refused except for loopback
//! addresses (development and tests). Redirects are refused, never followed: the URL a signed
//! credential or the operator named is the only one fetched (a 3xx answer is an error), so a
//! redirect cannot lead the verifier to plain http, another host or an internal address. Extra CA
//! certificates (the demo root) are trusted in addition to the platform's.

use esspass_credential::status::StatusListSource;
use std::time::Duration;

/// Largest body we read from a status or trusted list URL.
const MAX_BODY: u64 = 32 * 1024 * 1024;

pub struct Fetcher {
    client: reqwest::blocking::Client,
}

impl Fetcher {
    /// A client that also trusts `extra_ca_der` (DER certificates).
    pub fn new(extra_ca_der: &[Vec<u8>]) -> Result<Self, String> {
        let mut certs = Vec::new();
        for der in extra_ca_der {
            certs.push(reqwest::Certificate::from_der(der).map_err(|e| format!("CA certificate: {e}"))?);
        }
        let client = reqwest::blocking::Client::builder()
            .tls_certs_merge(certs)
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { client })
    }

    /// GET `url` with the given Accept header; returns the body as text.
    pub fn get(&self, url: &str, accept: &str) -> Result<String, String> {
        check_url(url)?;
        let resp = self.client.get(url).header("Accept", accept).send().map_err(|e| format!("GET {url}: {e}"))?;
        let status = resp.status();
        if status.is_redirection() {
            let to = resp.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or("?");
            return Err(format!("GET {url}: HTTP {status} redirect to {to} refused (status and trusted list URLs are fetched as given)"));
        }
        if !status.is_success() {
            return Err(format!("GET {url}: HTTP {status}"));
        }
        if resp.content_length().is_some_and(|l| l > MAX_BODY) {
            return Err(format!("GET {url}: body too large"));
        }
        use std::io::Read;
        let mut body = String::new();
        resp.take(MAX_BODY).read_to_string(&mut body).map_err(|e| format!("GET {url}: {e}"))?;
        Ok(body)
    }
}

/// Only `https`, or `http` to a loopback address.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match parsed.host() {
                Some(url::Host::Ipv4(a)) => a.is_loopback(),
                Some(url::Host::Ipv6(a)) => a.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            };
            if loopback { Ok(()) } else { Err(format!("{url}: plain http is only allowed for loopback addresses")) }
        }
        other => Err(format!("{url}: unsupported scheme {other}")),
    }
}

impl StatusListSource for Fetcher {
    fn fetch(&self, uri: &str) -> Result<String, String> {
        self.get(uri, "application/statuslist+jwt").map(|b| b.trim().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A one-request-per-connection HTTP server on loopback answering with `response`; counts requests.
    fn serve(response: String) -> (String, Arc<AtomicUsize>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for mut s in l.incoming().flatten() {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                while r.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                h.fetch_add(1, Ordering::SeqCst);
                let _ = s.write_all(response.as_bytes());
            }
        });
        (url, hits)
    }

    #[test]
    fn redirects_are_refused_not_followed() {
        let (target, target_hits) = serve("HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello".into());
        let (origin, origin_hits) = serve(format!("HTTP/1.1 302 Found\r\nlocation: {target}/status/1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"));
        let f = Fetcher::new(&[]).unwrap();
        // Positive control: the target itself is fetched.
        assert_eq!(f.get(&format!("{target}/status/1"), "text/plain").unwrap(), "hello");
        let before = target_hits.load(Ordering::SeqCst);
        let err = f.get(&format!("{origin}/status/1"), "application/statuslist+jwt").unwrap_err();
        assert!(err.contains("redirect") && err.contains("refused"), "{err}");
        assert_eq!(origin_hits.load(Ordering::SeqCst), 1);
        assert_eq!(target_hits.load(Ordering::SeqCst), before, "the redirect target was contacted");
    }
}
