//! HTTPS fetching for status lists and trusted lists. Plain `http` is refused except for loopback
//! addresses (development and tests). Extra CA certificates (the demo root) are trusted in addition
//! to the platform's.

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
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { client })
    }

    /// GET `url` with the given Accept header; returns the body as text.
    pub fn get(&self, url: &str, accept: &str) -> Result<String, String> {
        check_url(url)?;
        let resp = self.client.get(url).header("Accept", accept).send().map_err(|e| format!("GET {url}: {e}"))?;
        let status = resp.status();
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
