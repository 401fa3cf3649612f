//! JWE compact serialisation with `alg: ECDH-ES` (direct key agreement, RFC 7518 §4.6) on P-256
//! and `enc` A128GCM or A256GCM: what OpenID4VP's `direct_post.jwt` response mode uses (the
//! wallet encrypts to the verifier's ephemeral key from the request's `client_metadata.jwks`).

use aws_lc_rs::{aead, agreement, digest};
use crate::b64;
use serde_json::{Value, json};

fn enc_len(enc: &str) -> Option<(&'static aead::Algorithm, usize)> {
    match enc {
        "A128GCM" => Some((&aead::AES_128_GCM, 16)),
        "A256GCM" => Some((&aead::AES_256_GCM, 32)),
        _ => None,
    }
}

/// The Concat KDF of RFC 7518 §4.6.2 (NIST SP 800-56A) with SHA-256, for direct agreement:
/// AlgorithmID is the `enc` value.
pub fn concat_kdf(z: &[u8], enc: &str, apu: &[u8], apv: &[u8], key_len: usize) -> Vec<u8> {
    let mut input = vec![0, 0, 0, 1];
    input.extend_from_slice(z);
    for part in [enc.as_bytes(), apu, apv] {
        input.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        input.extend_from_slice(part);
    }
    input.extend_from_slice(&u32::try_from(key_len * 8).unwrap_or(u32::MAX).to_be_bytes());
    let d = digest::digest(&digest::SHA256, &input);
    d.as_ref().get(..key_len).map(<[u8]>::to_vec).unwrap_or_default()
}

fn point(jwk: &Value) -> Result<Vec<u8>, String> {
    if jwk.get("kty").and_then(Value::as_str) != Some("EC") || jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
        return Err("epk is not a P-256 EC key".into());
    }
    let c = |k: &str| jwk.get(k).and_then(Value::as_str).ok_or_else(|| format!("epk has no {k}")).and_then(|v| b64::decode(v).map_err(|e| e.detail));
    let (x, y) = (c("x")?, c("y")?);
    if x.len() != 32 || y.len() != 32 {
        return Err("epk coordinates are not 32 bytes".into());
    }
    let mut p = vec![4u8];
    p.extend_from_slice(&x);
    p.extend_from_slice(&y);
    Ok(p)
}

/// Decrypt a compact JWE with the recipient's private key; `kid`, when the header has one, must
/// be the recipient's.
pub fn decrypt(jwe: &str, key: &agreement::PrivateKey, kid: &str) -> Result<Vec<u8>, String> {
    let parts: Vec<&str> = jwe.trim().split('.').collect();
    let [h, ek, iv, ct, tag] = parts.as_slice() else { return Err("not a compact JWE (five parts)".into()) };
    let header: Value = serde_json::from_slice(&b64::decode(h).map_err(|_| "header is not base64url")?).map_err(|_| "header is not JSON")?;
    if header.get("alg").and_then(Value::as_str) != Some("ECDH-ES") {
        return Err(format!("alg {} is not ECDH-ES", header.get("alg").unwrap_or(&Value::Null)));
    }
    let enc = header.get("enc").and_then(Value::as_str).unwrap_or_default();
    let (alg, key_len) = enc_len(enc).ok_or_else(|| format!("enc {enc:?} is neither A128GCM nor A256GCM"))?;
    if header.get("zip").is_some() {
        return Err("compressed JWE is not accepted".into());
    }
    if !ek.is_empty() {
        return Err("direct key agreement has an empty encrypted key".into());
    }
    if let Some(k) = header.get("kid").and_then(Value::as_str)
        && k != kid
    {
        return Err("the response is encrypted to another key (kid)".into());
    }
    let epk = point(header.get("epk").ok_or("no epk")?)?;
    let part = |k: &str| header.get(k).and_then(Value::as_str).map(b64::decode).transpose().map_err(|_| format!("{k} is not base64url")).map(Option::unwrap_or_default);
    let (apu, apv) = (part("apu")?, part("apv")?);
    let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, epk);
    let z = agreement::agree(key, &peer, "the epk is not a valid P-256 point".to_owned(), |z| Ok(z.to_vec()))?;
    let cek = concat_kdf(&z, enc, &apu, &apv, key_len);
    let nonce = aead::Nonce::try_assume_unique_for_key(&b64::decode(iv).map_err(|_| "iv is not base64url")?).map_err(|_| "iv is not 96 bits")?;
    let mut data = b64::decode(ct).map_err(|_| "ciphertext is not base64url")?;
    data.extend_from_slice(&b64::decode(tag).map_err(|_| "tag is not base64url")?);
    let k = aead::LessSafeKey::new(aead::UnboundKey::new(alg, &cek).map_err(|_| "key")?);
    let plain = k.open_in_place(nonce, aead::Aad::from(h.as_bytes()), &mut data).map_err(|_| "the ciphertext or its tag does not verify".to_owned())?;
    Ok(plain.to_vec())
}

/// Encrypt `plaintext` to the recipient's public JWK (the wallet's side; tests and the CLI wallet).
pub fn encrypt(plaintext: &[u8], recipient: &Value, enc: &str, apu: &[u8], apv: &[u8]) -> Result<String, String> {
    let (alg, key_len) = enc_len(enc).ok_or("enc")?;
    let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, point(recipient)?);
    let eph = agreement::PrivateKey::generate(&agreement::ECDH_P256).map_err(|_| "no randomness")?;
    let epub = eph.compute_public_key().map_err(|_| "public key")?;
    let epub = epub.as_ref();
    let mut header = json!({"alg": "ECDH-ES", "enc": enc, "epk": {"kty": "EC", "crv": "P-256", "x": b64::encode(epub.get(1..33).ok_or("point")?), "y": b64::encode(epub.get(33..65).ok_or("point")?)}});
    if let (Some(o), Some(kid)) = (header.as_object_mut(), recipient.get("kid")) {
        o.insert("kid".into(), kid.clone());
        if !apu.is_empty() {
            o.insert("apu".into(), json!(b64::encode(apu)));
        }
        if !apv.is_empty() {
            o.insert("apv".into(), json!(b64::encode(apv)));
        }
    }
    let z = agreement::agree(&eph, &peer, "the recipient key is not a valid P-256 point".to_owned(), |z| Ok(z.to_vec()))?;
    let cek = concat_kdf(&z, enc, apu, apv, key_len);
    let h = b64::encode(serde_json::to_vec(&header).map_err(|e| e.to_string())?);
    let iv = crate::random_bytes::<12>();
    let k = aead::LessSafeKey::new(aead::UnboundKey::new(alg, &cek).map_err(|_| "key")?);
    let mut data = plaintext.to_vec();
    let tag = k.seal_in_place_separate_tag(aead::Nonce::assume_unique_for_key(iv), aead::Aad::from(h.as_bytes()), &mut data).map_err(|_| "sealing")?;
    Ok(format!("{h}..{}.{}.{}", b64::encode(iv), b64::encode(&data), b64::encode(tag.as_ref())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    /// RFC 7518 Appendix C: the Concat KDF for ECDH-ES with A128GCM, apu "Alice", apv "Bob".
    #[test]
    fn concat_kdf_matches_rfc_7518_appendix_c() {
        let z: [u8; 32] = [158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196];
        let k = concat_kdf(&z, "A128GCM", b"Alice", b"Bob", 16);
        assert_eq!(b64::encode(k), "VqqN6vgjbSBcIijNcacQGg");
    }

    #[test]
    fn round_trip_both_encs_and_every_tampering_refused() {
        let key = agreement::PrivateKey::generate(&agreement::ECDH_P256).unwrap();
        let public = key.compute_public_key().unwrap();
        let p = public.as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64::encode(&p[1..33]), "y": b64::encode(&p[33..65]), "kid": "k1"});
        for enc in ["A128GCM", "A256GCM"] {
            let jwe = encrypt(b"{\"vp_token\":{}}", &jwk, enc, b"wallet-nonce", b"verifier-nonce").unwrap();
            assert_eq!(decrypt(&jwe, &key, "k1").unwrap(), b"{\"vp_token\":{}}");
            assert!(decrypt(&jwe, &key, "k2").is_err(), "another kid");
            let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
            let ct = parts[3].clone();
            parts[3] = format!("{}{}", if ct.starts_with('A') { "B" } else { "A" }, &ct[1..]);
            assert!(decrypt(&parts.join("."), &key, "k1").is_err(), "ciphertext changed");
            let other = agreement::PrivateKey::generate(&agreement::ECDH_P256).unwrap();
            assert!(decrypt(&jwe, &other, "k1").is_err(), "another key");
        }
        // Another algorithm in the header.
        let jwe = encrypt(b"x", &jwk, "A128GCM", b"", b"").unwrap();
        let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
        let mut h: Value = serde_json::from_slice(&b64::decode(&parts[0]).unwrap()).unwrap();
        h["alg"] = json!("ECDH-ES+A128KW");
        parts[0] = b64::encode(serde_json::to_vec(&h).unwrap());
        assert!(decrypt(&parts.join("."), &key, "k1").unwrap_err().contains("not ECDH-ES"));
    }
}
