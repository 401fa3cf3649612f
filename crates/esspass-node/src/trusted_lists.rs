//! Signed trusted lists a node reads (the Issuer and Verifier Trusted Lists of the verifier role,
//! the Institution Repository of an EESSI access point): loaded from a file or an `https://` URL and
//! verified, and the one rule by which a list read again replaces the one in use.

use esspass_credential::trust::TrustedList;
use esspass_credential::x509::ChainValidator;

/// The largest trusted list read over HTTPS.
pub const MAX_LIST_BYTES: usize = 8 * 1024 * 1024;

/// A signed trusted list from a file or an `https://` URL (fetched trusting the anchors), verified.
pub async fn load_list(src: &str, chains: &ChainValidator, client: &reqwest::Client, now: i64) -> Result<TrustedList, String> {
    let text = if src.starts_with("https://") {
        let resp = client.get(src).header("Accept", "application/jwt").send().await.map_err(|e| format!("GET {src}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("GET {src}: HTTP {}", resp.status()));
        }
        if resp.content_length().is_some_and(|n| n > MAX_LIST_BYTES as u64) {
            return Err(format!("GET {src}: larger than {MAX_LIST_BYTES} bytes"));
        }
        let bytes = resp.bytes().await.map_err(|e| format!("GET {src}: {e}"))?;
        if bytes.len() > MAX_LIST_BYTES {
            return Err(format!("GET {src}: larger than {MAX_LIST_BYTES} bytes"));
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("GET {src}: not text"))?
    } else if src.starts_with("http:") {
        return Err(format!("{src}: trusted lists are fetched over https only"));
    } else {
        std::fs::read_to_string(src).map_err(|e| format!("{src}: {e}"))?
    };
    TrustedList::verify(text.trim(), chains, now).map_err(|e| format!("{} {src}: {}", e.code, e.detail))
}

/// What a list read again means for the one in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// Same series, higher sequence: it replaces the one in use.
    Newer,
    /// The same sequence again: the one in use stays.
    Unchanged,
    /// Another series, or a lower sequence (a rollback): refused, with why.
    Refused(&'static str),
}

/// Whether `fresh` replaces `current`: only a list of the same series with a higher sequence does.
pub fn update(current: &TrustedList, fresh: &TrustedList) -> Update {
    if fresh.series() != current.series() {
        Update::Refused("another series")
    } else if fresh.sequence < current.sequence {
        Update::Refused("an older sequence (rollback)")
    } else if fresh.sequence == current.sequence {
        Update::Unchanged
    } else {
        Update::Newer
    }
}
