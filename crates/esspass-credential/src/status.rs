//! Token Status List (draft-ietf-oauth-status-list-20): 1/2/4/8-bit lists packed least-significant
//! bit first and compressed with DEFLATE in the zlib format; `statuslist+jwt` tokens; a fetcher
//! trait; and a cache that verifies a token once per fetch, honours `ttl`, `exp` and a policy for
//! the longest acceptable cache age, and refuses a token older (`iat`) than one it has seen.

use crate::x509::{Certificate, ChainValidator};
use crate::{Error, Result, Signer, b64, jose::CompactJws};
use esspass_core::ErrorCode;
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

/// Status values.
pub const VALID: u8 = 0;
pub const INVALID: u8 = 1;
pub const SUSPENDED: u8 = 2;

/// Largest list a verifier will inflate (entries × bits / 8), against decompression bombs.
pub const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;

/// A status list: `bits` per entry, packed LSB first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: u8,
    bytes: Vec<u8>,
}

impl StatusList {
    /// A list of `size` entries, all VALID. `bits` is 1, 2, 4 or 8.
    pub fn new(bits: u8, size: usize) -> Result<Self> {
        check_bits(bits)?;
        let len = (size * usize::from(bits)).div_ceil(8);
        if len > MAX_LIST_BYTES {
            return Err(Error::new(ErrorCode::StatusListMalformed, "list too large"));
        }
        Ok(Self { bits, bytes: vec![0; len] })
    }

    pub fn from_bytes(bits: u8, bytes: Vec<u8>) -> Result<Self> {
        check_bits(bits)?;
        Ok(Self { bits, bytes })
    }

    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.bytes.len() * 8 / usize::from(self.bits)
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn locate(&self, idx: usize) -> Option<(usize, u32)> {
        let bits = usize::from(self.bits);
        let bit = idx.checked_mul(bits)?;
        let byte = bit / 8;
        (byte < self.bytes.len()).then_some((byte, (bit % 8) as u32))
    }

    /// The status at `idx`; `None` outside the list.
    pub fn get(&self, idx: usize) -> Option<u8> {
        let (byte, shift) = self.locate(idx)?;
        let mask = ((1u16 << self.bits) - 1) as u8;
        self.bytes.get(byte).map(|b| (b >> shift) & mask)
    }

    /// Set the status at `idx`.
    pub fn set(&mut self, idx: usize, value: u8) -> Result<()> {
        let mask = ((1u16 << self.bits) - 1) as u8;
        if value > mask {
            return Err(Error::new(ErrorCode::Usage, format!("value {value} does not fit in {} bits", self.bits)));
        }
        let (byte, shift) = self.locate(idx).ok_or_else(|| Error::new(ErrorCode::StatusIndexOutOfRange, format!("index {idx} is outside the list of {}", self.len())))?;
        if let Some(b) = self.bytes.get_mut(byte) {
            *b = (*b & !(mask << shift)) | (value << shift);
        }
        Ok(())
    }

    /// zlib (RFC 1950) at the best compression level, base64url: the `lst` value.
    pub fn encode_lst(&self) -> Result<String> {
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&self.bytes).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
        let z = enc.finish().map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
        Ok(b64::encode(z))
    }

    /// Decode a `status_list` object `{bits, lst}`.
    pub fn from_json(v: &Value) -> Result<Self> {
        let bad = |m: &str| Error::new(ErrorCode::StatusListMalformed, m.to_owned());
        let bits = v.get("bits").and_then(Value::as_u64).ok_or_else(|| bad("status_list.bits missing"))?;
        let bits = u8::try_from(bits).map_err(|_| bad("bits must be 1, 2, 4 or 8"))?;
        check_bits(bits)?;
        let lst = v.get("lst").and_then(Value::as_str).ok_or_else(|| bad("status_list.lst missing"))?;
        let z = b64::decode(lst).map_err(|_| bad("lst is not base64url"))?;
        let mut out = Vec::new();
        ZlibDecoder::new(z.as_slice())
            .take(MAX_LIST_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| bad(&format!("lst is not zlib data: {e}")))?;
        if out.len() > MAX_LIST_BYTES {
            return Err(bad("the list inflates beyond the size limit"));
        }
        Ok(Self { bits, bytes: out })
    }

    pub fn to_json(&self) -> Result<Value> {
        Ok(json!({"bits": self.bits, "lst": self.encode_lst()?}))
    }
}

fn check_bits(bits: u8) -> Result<()> {
    if matches!(bits, 1 | 2 | 4 | 8) { Ok(()) } else { Err(Error::new(ErrorCode::StatusListMalformed, format!("bits must be 1, 2, 4 or 8, not {bits}"))) }
}

/// Claims of a status list token other than the list.
#[derive(Debug, Clone)]
pub struct TokenClaims {
    pub sub: String,
    pub iat: i64,
    pub exp: Option<i64>,
    pub ttl: Option<i64>,
}

/// Sign a `statuslist+jwt` with an `x5c` chain (leaf first, no root).
pub fn sign_token(signer: &dyn Signer, x5c: &[Vec<u8>], list: &StatusList, claims: &TokenClaims) -> Result<String> {
    let mut header = Map::new();
    header.insert("typ".into(), json!("statuslist+jwt"));
    header.insert("x5c".into(), Value::Array(x5c.iter().map(|c| Value::String(b64::encode_std(c))).collect()));
    let mut p = Map::new();
    p.insert("sub".into(), json!(claims.sub));
    p.insert("iat".into(), json!(claims.iat));
    if let Some(exp) = claims.exp {
        p.insert("exp".into(), json!(exp));
    }
    if let Some(ttl) = claims.ttl {
        p.insert("ttl".into(), json!(ttl));
    }
    p.insert("status_list".into(), list.to_json()?);
    crate::jose::sign_compact(signer, header, &p)
}

/// A status list token whose signature and chain verified.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub list: StatusList,
    pub claims: TokenClaims,
    pub signer: Arc<Certificate>,
}

/// Verify a `statuslist+jwt`: typ, ES256 signature by the `x5c` leaf, the chain to an anchor,
/// `sub` equal to the referenced `uri`, `iat` present, not expired at `now`.
pub fn verify_token(token: &str, uri: &str, chains: &ChainValidator, now: i64) -> Result<VerifiedToken> {
    let jws = CompactJws::parse(token).map_err(|e| Error::new(if e.code == ErrorCode::AlgorithmNotAllowed { e.code } else { ErrorCode::StatusListMalformed }, e.detail))?;
    if jws.typ() != Some("statuslist+jwt") {
        return Err(Error::new(ErrorCode::WrongTyp, format!("status list token typ {}, expected statuslist+jwt", jws.typ().unwrap_or("(none)"))));
    }
    let x5c: Vec<&str> = jws.header.get("x5c").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    if x5c.is_empty() {
        return Err(Error::new(ErrorCode::MissingX5c, "the status list token has no x5c"));
    }
    let chain = chains.validate_x5c(&x5c, now)?;
    let point = chain.leaf.p256_point().ok_or_else(|| Error::new(ErrorCode::StatusTokenSignatureInvalid, "the status signer's key is not P-256"))?;
    if !jws.verify_with_point(point) {
        return Err(Error::new(ErrorCode::StatusTokenSignatureInvalid, "the status list token's signature does not verify"));
    }
    let p = &jws.payload;
    let sub = p.get("sub").and_then(Value::as_str).ok_or_else(|| Error::new(ErrorCode::StatusListMalformed, "the status list token has no sub"))?;
    if sub != uri {
        return Err(Error::new(ErrorCode::StatusSubjectMismatch, format!("sub {sub:?} differs from the referenced uri {uri:?}")));
    }
    let iat = p.get("iat").and_then(Value::as_i64).ok_or_else(|| Error::new(ErrorCode::StatusListMalformed, "the status list token has no iat"))?;
    let exp = p.get("exp").and_then(Value::as_i64);
    let ttl = p.get("ttl").and_then(Value::as_i64);
    if exp.is_some_and(|e| e <= now) {
        return Err(Error::new(ErrorCode::StatusTokenExpired, "the status list token has expired"));
    }
    let list = StatusList::from_json(p.get("status_list").unwrap_or(&Value::Null))?;
    Ok(VerifiedToken { list, claims: TokenClaims { sub: sub.into(), iat, exp, ttl }, signer: chain.leaf })
}

/// Where status list tokens come from (HTTPS in production; files or memory in tests).
pub trait StatusListSource: Send + Sync {
    /// Fetch the token at `uri`. An error means "could not obtain", never "invalid".
    fn fetch(&self, uri: &str) -> std::result::Result<String, String>;
}

/// How long a verified list may be used.
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    /// Refetch after this many seconds when the token gives no `ttl`.
    pub default_ttl: i64,
    /// The longest a cached list may be used when a refetch fails (offline operation).
    pub max_age: i64,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self { default_ttl: 300, max_age: 24 * 3600 }
    }
}

/// How the status was obtained, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusSource {
    Fetched,
    Cache,
    /// The refetch failed; a cached list within `max_age` was used.
    StaleCache,
}

#[derive(Debug, Clone)]
struct Cached {
    token: Arc<VerifiedToken>,
    fetched_at: i64,
}

thread_local! {
    /// Set by [`from_cache_only`]: lookups on this thread do not fetch.
    static CACHED_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Set when a lookup under [`from_cache_only`] would have fetched.
    static FETCH_WANTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f` with status lists taken from the cache only, for a caller that must not block (an async
/// runtime's thread): `Some(result)` when every list `f` looked up was fresh in the cache, `None`
/// when one would have been fetched — the result is then discarded (it may say "could not check")
/// and the caller runs `f` again where blocking is allowed.
pub fn from_cache_only<T>(f: impl FnOnce() -> T) -> Option<T> {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CACHED_ONLY.with(|c| c.set(false));
        }
    }
    CACHED_ONLY.with(|c| c.set(true));
    FETCH_WANTED.with(|c| c.set(false));
    let reset = Reset;
    let out = f();
    drop(reset);
    if FETCH_WANTED.with(|c| c.replace(false)) { None } else { Some(out) }
}

/// Fetches, verifies and caches status lists by URI.
pub struct StatusCache {
    source: Box<dyn StatusListSource>,
    policy: CachePolicy,
    entries: Mutex<HashMap<String, Cached>>,
}

impl std::fmt::Debug for StatusCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusCache").field("policy", &self.policy).finish()
    }
}

impl StatusCache {
    pub fn new(source: Box<dyn StatusListSource>, policy: CachePolicy) -> Self {
        Self { source, policy, entries: Mutex::new(HashMap::new()) }
    }

    /// The verified list for `uri` at time `now`, from the cache while fresh.
    pub fn get(&self, uri: &str, chains: &ChainValidator, now: i64) -> Result<(Arc<VerifiedToken>, StatusSource)> {
        self.lookup(uri, chains, now).map(|(t, s, _)| (t, s))
    }

    /// As [`StatusCache::get`], with the time the list was fetched (its age is `now` minus it).
    pub fn lookup(&self, uri: &str, chains: &ChainValidator, now: i64) -> Result<(Arc<VerifiedToken>, StatusSource, i64)> {
        let cached = self.entries.lock().ok().and_then(|m| m.get(uri).cloned());
        if let Some(c) = &cached {
            let ttl = c.token.claims.ttl.unwrap_or(self.policy.default_ttl).min(self.policy.max_age);
            let fresh = now < c.fetched_at + ttl && c.token.claims.exp.is_none_or(|e| now < e);
            if fresh {
                return Ok((c.token.clone(), StatusSource::Cache, c.fetched_at));
            }
        }
        if CACHED_ONLY.with(std::cell::Cell::get) {
            FETCH_WANTED.with(|c| c.set(true));
            return Err(Error::new(ErrorCode::StatusUnavailable, format!("status list {uri} is not fresh in the cache")));
        }
        match self.source.fetch(uri) {
            Ok(token) => {
                let verified = Arc::new(verify_token(&token, uri, chains, now)?);
                // Rollback: a token older than one already accepted for this uri (a replayed or
                // stale copy that may predate a revocation) is refused, and the newer one kept.
                if let Some(c) = &cached
                    && verified.claims.iat < c.token.claims.iat {
                        return Err(Error::new(ErrorCode::StatusListRollback, format!("the status list token for {uri} was issued at {} but one issued at {} was already seen", verified.claims.iat, c.token.claims.iat)));
                    }
                if let Ok(mut m) = self.entries.lock() {
                    m.insert(uri.to_owned(), Cached { token: verified.clone(), fetched_at: now });
                }
                Ok((verified, StatusSource::Fetched, now))
            }
            Err(e) => match cached {
                Some(c) if now - c.fetched_at <= self.policy.max_age && c.token.claims.exp.is_none_or(|x| now < x) => Ok((c.token, StatusSource::StaleCache, c.fetched_at)),
                _ => Err(Error::new(ErrorCode::StatusUnavailable, format!("status list {uri} could not be fetched: {e}"))),
            },
        }
    }
}

impl StatusCache {
    /// Fetch again, ahead of need, every cached list whose cache time ends within `margin` seconds
    /// (or has ended). A failed fetch or a token that does not verify leaves the cached list as it
    /// was (used up to the maximum age); an older token than the one held is not taken. Returns the
    /// number of lists renewed.
    pub fn refresh_due(&self, chains: &ChainValidator, now: i64, margin: i64) -> usize {
        let due: Vec<(String, i64)> = match self.entries.lock() {
            Ok(m) => m
                .iter()
                .filter(|(_, c)| {
                    let ttl = c.token.claims.ttl.unwrap_or(self.policy.default_ttl).min(self.policy.max_age);
                    c.fetched_at + ttl - margin <= now
                })
                .map(|(u, c)| (u.clone(), c.token.claims.iat))
                .collect(),
            Err(_) => return 0,
        };
        let mut renewed = 0;
        for (uri, held_iat) in due {
            let Ok(token) = self.source.fetch(&uri) else { continue };
            let Ok(verified) = verify_token(&token, &uri, chains, now) else { continue };
            if verified.claims.iat < held_iat {
                continue;
            }
            if let Ok(mut m) = self.entries.lock() {
                m.insert(uri, Cached { token: Arc::new(verified), fetched_at: now });
                renewed += 1;
            }
        }
        renewed
    }
}

/// Pick a random index in `0..size` for which `is_used` is false. Random allocation keeps a holder
/// hidden in the crowd; `is_used` is the authority on reuse (a database constraint in the node).
/// Returns `None` after `attempts` collisions (the list is too full: open a new one).
pub fn allocate_random_index(size: usize, attempts: usize, mut is_used: impl FnMut(usize) -> bool) -> Option<usize> {
    if size == 0 {
        return None;
    }
    for _ in 0..attempts {
        let r = u64::from_le_bytes(crate::random_bytes::<8>());
        let idx = usize::try_from(r % size as u64).ok()?;
        if !is_used(idx) {
            return Some(idx);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// draft-ietf-oauth-status-list-20 §4.1, 1-bit example: status[0]=1, [1]=0, [2]=0, [3]=1,
    /// [4]=1, [5]=1, [6]=0, [7]=1, [8]=1, [9]=1, [10]=0, [11]=0, [12]=0, [13]=1, [14]=0, [15]=1
    /// → bytes 0xB9 0xA3, lst "eNrbuRgAAhcBXQ".
    #[test]
    fn draft_example_one_bit() {
        let values = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
        let mut l = StatusList::new(1, 16).unwrap();
        for (i, v) in values.iter().enumerate() {
            l.set(i, *v).unwrap();
        }
        assert_eq!(l.as_bytes(), &[0xB9, 0xA3]);
        assert_eq!(l.encode_lst().unwrap(), "eNrbuRgAAhcBXQ");
        let back = StatusList::from_json(&json!({"bits": 1, "lst": "eNrbuRgAAhcBXQ"})).unwrap();
        for (i, v) in values.iter().enumerate() {
            assert_eq!(back.get(i), Some(*v));
        }
    }

    /// draft-20 §4.1, 2-bit example: [0]=1 [1]=2 [2]=0 [3]=3 [4]=0 [5]=1 [6]=0 [7]=1 [8]=1 [9]=2
    /// [10]=3 [11]=3 → bytes 0xC9 0x44 0xF9, lst "eNo76fITAAPfAgc".
    #[test]
    fn draft_example_two_bits() {
        let values = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3];
        let mut l = StatusList::new(2, 12).unwrap();
        for (i, v) in values.iter().enumerate() {
            l.set(i, *v).unwrap();
        }
        assert_eq!(l.as_bytes(), &[0xC9, 0x44, 0xF9]);
        assert_eq!(l.encode_lst().unwrap(), "eNo76fITAAPfAgc");
    }

    #[test]
    fn out_of_range_and_bad_bits() {
        let l = StatusList::new(2, 8).unwrap();
        assert_eq!(l.get(8), None);
        assert!(StatusList::new(3, 8).is_err());
        assert!(StatusList::from_json(&json!({"bits": 1, "lst": "AAAA"})).is_err());
    }

    #[test]
    fn random_allocation_never_reuses() {
        let mut used = std::collections::HashSet::new();
        for _ in 0..64 {
            let i = allocate_random_index(64, 10_000, |i| used.contains(&i)).unwrap();
            assert!(used.insert(i));
        }
        assert_eq!(allocate_random_index(64, 100, |i| used.contains(&i)), None);
    }

    proptest! {
        #[test]
        fn set_get_roundtrip(bits in prop::sample::select(vec![1u8, 2, 4, 8]), ops in prop::collection::vec((0usize..4096, 0u8..=255), 0..64)) {
            let mut l = StatusList::new(bits, 4096).unwrap();
            let mut model = vec![0u8; 4096];
            let mask = ((1u16 << bits) - 1) as u8;
            for (i, v) in ops {
                let v = v & mask;
                l.set(i, v).unwrap();
                model[i] = v;
            }
            let decoded = StatusList::from_json(&l.to_json().unwrap()).unwrap();
            for (i, v) in model.iter().enumerate() {
                prop_assert_eq!(decoded.get(i), Some(*v));
            }
        }

        #[test]
        fn decoder_never_panics(lst in "[A-Za-z0-9_-]{0,64}", bits in 0u64..10) {
            let _ = StatusList::from_json(&json!({"bits": bits, "lst": lst}));
        }
    }
}
