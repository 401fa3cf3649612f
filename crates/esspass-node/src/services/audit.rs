//! The audit trail's guarantees beyond the hash chain: signed checkpoints of the chain head, and the
//! verification (`esspass audit verify`) that finds an edited, deleted, reordered or truncated record
//! — also when someone rewrote the whole chain and its head, as long as a signed checkpoint covers it.

use esspass_credential::jose::{CompactJws, sign_compact};
use esspass_credential::x509::{Certificate, ChainValidator};
use esspass_credential::{Signer, b64};
use esspass_store::{Store, StoreError, verify_chain};
use serde::Serialize;
use serde_json::{Map, Value, json};

pub const CHECKPOINT_TYP: &str = "audit-checkpoint+jwt";

/// Sign the current head if it moved since the last checkpoint, store it, and append it to
/// `outside` (a file outside the database, one JSON line per checkpoint) when given. Returns the
/// sequence signed.
pub async fn checkpoint(store: &Store, signer: &dyn Signer, chain: &[Vec<u8>], institution_id: &str, outside: Option<&std::path::Path>, now: i64) -> Result<Option<i64>, StoreError> {
    let (seq, hash) = store.audit_head().await?;
    let last = store.audit_checkpoints().await?.last().map_or(0, |c| c.0);
    if seq == 0 || seq <= last {
        return Ok(None);
    }
    let mut h = Map::new();
    h.insert("typ".into(), json!(CHECKPOINT_TYP));
    h.insert("x5c".into(), Value::Array(chain.iter().map(|c| Value::String(b64::encode_std(c))).collect()));
    let payload = json!({"iss": institution_id, "seq": seq, "hash": hash, "iat": now});
    let jws = sign_compact(signer, h, payload.as_object().unwrap_or(&Map::new())).map_err(|e| StoreError::Database(e.detail))?;
    store.insert_audit_checkpoint(seq, &hash, now, &jws).await?;
    if let Some(path) = outside {
        append_line(path, &json!({"seq": seq, "hash": hash, "at": now, "jws": jws})).map_err(|e| StoreError::Database(format!("checkpoint file {}: {e}", path.display())))?;
    }
    Ok(Some(seq))
}

/// Append one JSON line and flush it to disk (the file is created with mode 0600).
fn append_line(path: &std::path::Path, v: &Value) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(format!("{v}\n").as_bytes())?;
    f.sync_data()
}

/// A checkpoint as kept in the database or in the file outside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub at: i64,
    pub jws: String,
}

/// Read the checkpoint file a node appends to (lines that do not parse are reported).
pub fn read_checkpoint_file(path: &std::path::Path) -> Result<(Vec<Checkpoint>, Vec<String>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: Option<Value> = serde_json::from_str(line).ok();
        let get = |k: &str| v.as_ref().and_then(|v| v.get(k)).cloned();
        match (get("seq").and_then(|x| x.as_i64()), get("hash"), get("at").and_then(|x| x.as_i64()), get("jws")) {
            (Some(seq), Some(Value::String(hash)), Some(at), Some(Value::String(jws))) => out.push(Checkpoint { seq, hash, at, jws }),
            _ => bad.push(format!("{}: line {} is not a checkpoint", path.display(), i + 1)),
        }
    }
    Ok((out, bad))
}

/// What `verify` holds the trail against besides the database itself.
#[derive(Debug, Default)]
pub struct VerifyOptions<'a> {
    /// Checkpoint signers must chain to these anchors.
    pub anchors: Option<&'a ChainValidator>,
    /// The institution's certificate: every checkpoint must be signed by exactly this one.
    pub pinned: Option<&'a Certificate>,
    /// Checkpoints kept outside the database (the node's checkpoint file).
    pub outside: Vec<Checkpoint>,
    /// Fail when the newest checkpoint seen is older than this many seconds.
    pub max_age: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditVerification {
    pub ok: bool,
    pub records: usize,
    pub head_seq: i64,
    pub checkpoints: usize,
    pub problems: Vec<String>,
}

/// Check the whole trail against its checkpoints: those in the database and those kept outside
/// it (a rewrite that also removed the database's checkpoints is still found), signed by the
/// pinned institution certificate or one that chains to the anchors, the newest not older than
/// `max_age`.
pub async fn verify(store: &Store, opts: &VerifyOptions<'_>, now: i64) -> Result<AuditVerification, StoreError> {
    let records = store.audit_records(1, i64::MAX).await?;
    let (head_seq, head_hash) = store.audit_head().await?;
    let inside: Vec<Checkpoint> = store.audit_checkpoints().await?.into_iter().map(|(seq, hash, at, jws)| Checkpoint { seq, hash, at, jws }).collect();
    let mut problems = Vec::new();
    if let Err(p) = verify_chain(&records, head_seq, &head_hash) {
        problems.push(format!("record {}: {}", p.seq, p.problem));
    }
    for c in &opts.outside {
        if !inside.iter().any(|i| i.seq == c.seq && i.hash == c.hash) {
            problems.push(format!("checkpoint {} kept outside the database is missing from it (checkpoints were removed or rewritten)", c.seq));
        }
    }
    let mut all: Vec<(&Checkpoint, &str)> = inside.iter().map(|c| (c, "database")).collect();
    all.extend(opts.outside.iter().filter(|c| !inside.contains(c)).map(|c| (c, "file")));
    let mut newest: Option<i64> = None;
    for (c, whence) in &all {
        match check_checkpoint(&c.jws, opts.anchors, opts.pinned, now) {
            Ok((s, h, iat)) if s == c.seq && h == c.hash => newest = Some(newest.map_or(iat, |n| n.max(iat))),
            Ok(_) => problems.push(format!("checkpoint {} ({whence}): its signed content differs from the stored one", c.seq)),
            Err(e) => problems.push(format!("checkpoint {} ({whence}): {e}", c.seq)),
        }
        let at = usize::try_from(c.seq - 1).ok().and_then(|i| records.get(i));
        match at {
            Some(r) if r.seq == c.seq && r.hash == c.hash => {}
            Some(_) => problems.push(format!("checkpoint {} ({whence}): the record it signed was changed (the chain was rewritten)", c.seq)),
            None => problems.push(format!("checkpoint {} ({whence}): the record it signed is gone (truncated)", c.seq)),
        }
    }
    if let Some(max) = opts.max_age {
        match newest {
            None if head_seq > 0 => problems.push("no valid signed checkpoint: the trail's age cannot be shown".into()),
            Some(t) if now - t > max => problems.push(format!("the newest valid checkpoint is {} s old (more than {max} s): recent records may have been removed", now - t)),
            _ => {}
        }
    }
    Ok(AuditVerification { ok: problems.is_empty(), records: records.len(), head_seq, checkpoints: all.len(), problems })
}

fn check_checkpoint(jws: &str, anchors: Option<&ChainValidator>, pinned: Option<&Certificate>, now: i64) -> Result<(i64, String, i64), String> {
    let j = CompactJws::parse(jws).map_err(|e| e.detail)?;
    if j.typ() != Some(CHECKPOINT_TYP) {
        return Err("not an audit checkpoint".into());
    }
    let x5c: Vec<&str> = j.header.get("x5c").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let leaf = match anchors {
        Some(v) => v.validate_x5c(&x5c, now).map_err(|e| e.detail)?.leaf,
        None => {
            let der = x5c.first().ok_or("no x5c")?;
            std::sync::Arc::new(Certificate::from_der(&b64::decode_std(der).map_err(|e| e.detail)?).map_err(|e| e.detail)?)
        }
    };
    if let Some(pin) = pinned
        && leaf.der != pin.der
    {
        return Err("not signed by the pinned institution certificate".into());
    }
    let point = leaf.p256_point().ok_or("signer key is not P-256")?;
    if !j.verify_with_point(point) {
        return Err("signature does not verify".into());
    }
    let seq = j.payload.get("seq").and_then(Value::as_i64).ok_or("no seq")?;
    let hash = j.payload.get("hash").and_then(Value::as_str).ok_or("no hash")?.to_owned();
    let iat = j.payload.get("iat").and_then(Value::as_i64).ok_or("no iat")?;
    Ok((seq, hash, iat))
}

/// The newest `n` records of the audit trail, newest first (an auditor's reading, itself audited).
pub async fn recent(store: &Store, n: i64, actor: &str, now: i64) -> Result<Vec<esspass_store::AuditRecord>, StoreError> {
    let (head, _) = store.audit_head().await?;
    let mut records = store.audit_records((head - n + 1).max(1), n).await?;
    records.reverse();
    store.append_audit(now, actor, "read_audit_trail", "audit trail", "audit", &serde_json::json!({"from": records.last().map(|r| r.seq), "count": records.len()})).await?;
    Ok(records)
}
