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

/// Sign the current head if it moved since the last checkpoint. Returns the sequence signed.
pub async fn checkpoint(store: &Store, signer: &dyn Signer, chain: &[Vec<u8>], institution_id: &str, now: i64) -> Result<Option<i64>, StoreError> {
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
    Ok(Some(seq))
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditVerification {
    pub ok: bool,
    pub records: usize,
    pub head_seq: i64,
    pub checkpoints: usize,
    pub problems: Vec<String>,
}

/// Check the whole trail. With `anchors`, checkpoint signers must chain to them.
pub async fn verify(store: &Store, anchors: Option<&ChainValidator>, now: i64) -> Result<AuditVerification, StoreError> {
    let records = store.audit_records(1, i64::MAX).await?;
    let (head_seq, head_hash) = store.audit_head().await?;
    let checkpoints = store.audit_checkpoints().await?;
    let mut problems = Vec::new();
    if let Err(p) = verify_chain(&records, head_seq, &head_hash) {
        problems.push(format!("record {}: {}", p.seq, p.problem));
    }
    for (seq, hash, _, jws) in &checkpoints {
        match check_checkpoint(jws, anchors, now) {
            Ok((s, h)) if s == *seq && h == *hash => {}
            Ok(_) => problems.push(format!("checkpoint {seq}: its signed content differs from the stored one")),
            Err(e) => problems.push(format!("checkpoint {seq}: {e}")),
        }
        let at = usize::try_from(*seq - 1).ok().and_then(|i| records.get(i));
        match at {
            Some(r) if r.seq == *seq && r.hash == *hash => {}
            Some(_) => problems.push(format!("checkpoint {seq}: the record it signed was changed (the chain was rewritten)")),
            None => problems.push(format!("checkpoint {seq}: the record it signed is gone (truncated)")),
        }
    }
    Ok(AuditVerification { ok: problems.is_empty(), records: records.len(), head_seq, checkpoints: checkpoints.len(), problems })
}

fn check_checkpoint(jws: &str, anchors: Option<&ChainValidator>, now: i64) -> Result<(i64, String), String> {
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
    let point = leaf.p256_point().ok_or("signer key is not P-256")?;
    if !j.verify_with_point(point) {
        return Err("signature does not verify".into());
    }
    let seq = j.payload.get("seq").and_then(Value::as_i64).ok_or("no seq")?;
    let hash = j.payload.get("hash").and_then(Value::as_str).ok_or("no hash")?.to_owned();
    Ok((seq, hash))
}
