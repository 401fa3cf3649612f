//! Paper PDA1 and EHIC: a signed QR code that a verifier checks without a network, built like the EU
//! Digital COVID Certificate (HCERT): CWT claims → COSE_Sign1 (ES256, `kid` = the first 8 bytes of the
//! SHA-256 of the signing certificate's DER) → zlib → Base45 → a context prefix → QR code in
//! alphanumeric mode at error correction level Q.
//!
//! The profile is ours (documented in `docs/paper.md`):
//! - prefixes `PA1:` (PDA1) and `EH1:` (EHIC);
//! - CWT claims `iss` (1, the issuing institution's id), `iat` (6), `exp` (4), and the private claim
//!   [`CLAIM`] holding `{"v": 1, "t": "pda1" | "ehic", "d": document}` — the document's business claims
//!   with the short keys of [`SHORT_KEYS`] — and, for a document too large for a QR code of version
//!   [`MAX_QR_VERSION`], `"m": true` with only what identifies it (an online check gives the rest).
//!
//! Everything here is pure: no files, no network. Libraries do the CBOR/COSE (`coset`), Base45, zlib
//! and QR work; this crate writes only the profile.

use coset::cbor::value::Value as Cbor;
use coset::cwt::{ClaimsSet, ClaimsSetBuilder, Timestamp};
use coset::{CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana};
use esspass_core::document::ClaimsMode;
use esspass_core::{CredentialType, ErrorCode};
use esspass_credential::x509::Certificate;
use esspass_credential::{Error, Result, Signer};
use serde_json::{Map, Value};
use std::io::Read;

pub mod bundle;
pub mod labels;
pub mod print;

pub use print::{PrintRequest, pdf, png, scan};

/// The private CWT claim that carries the document.
pub const CLAIM: i64 = -65537;
/// The largest QR code version a paper document may need (at error correction level Q).
pub const MAX_QR_VERSION: i16 = 20;
/// The most a paper credential may decompress to (a zlib bomb is refused).
pub const MAX_DECOMPRESSED: u64 = 64 * 1024;

/// The context prefix of a document type; none for the PID, which has no paper form.
pub fn prefix(t: CredentialType) -> Option<&'static str> {
    match t {
        CredentialType::Pda1 => Some("PA1:"),
        CredentialType::Ehic => Some("EH1:"),
        CredentialType::Pid => None,
    }
}

/// Every business claim name of both documents and its short key in the paper payload.
pub const SHORT_KEYS: &[(&str, &str)] = &[
    ("personal_administrative_number", "pn"),
    ("issuing_authority", "ia"),
    ("authentic_source", "as"),
    ("document_number", "dn"),
    ("date_of_issuance", "di"),
    ("date_of_expiry", "de"),
    ("starting_date", "sd"),
    ("ending_date", "ed"),
    ("employer", "em"),
    ("type", "t"),
    ("id", "i"),
    ("name", "n"),
    ("country", "c"),
    ("work_information", "wi"),
    ("no_fixed_place_of_work", "nf"),
    ("work_address", "wa"),
    ("formatted", "f"),
    ("street_address", "s"),
    ("house_number", "h"),
    ("postal_code", "p"),
    ("locality", "l"),
    ("region", "r"),
    ("company_name", "cn"),
    ("company_id", "ci"),
    ("flag_base_home", "fb"),
    ("legislation_country", "lc"),
    ("status_confirmation", "sc"),
    ("transitional_rules", "tr"),
    ("subject", "su"),
    ("forenames", "fo"),
    ("familynames", "fa"),
    ("date_of_birth", "b"),
];

/// What identifies a document when the whole one does not fit (an online check gives the rest).
const MINIMAL: &[&str] = &["document_number", "issuing_authority", "date_of_issuance", "date_of_expiry", "starting_date", "ending_date", "legislation_country", "status_confirmation"];

fn err(code: ErrorCode, detail: impl Into<String>) -> Error {
    Error::new(code, detail)
}

fn short(name: &str) -> Option<&'static str> {
    SHORT_KEYS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

fn long(key: &str) -> Option<&'static str> {
    SHORT_KEYS.iter().find(|(_, s)| *s == key).map(|(n, _)| *n)
}

/// JSON business claims → CBOR with short keys.
fn to_cbor(v: &Value) -> Result<Cbor> {
    Ok(match v {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cbor::Integer(i.into()),
            None => return Err(err(ErrorCode::PaperPayload, "only integer numbers are carried")),
        },
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Array(a) => Cbor::Array(a.iter().map(to_cbor).collect::<Result<_>>()?),
        Value::Object(o) => Cbor::Map(
            o.iter()
                .map(|(k, v)| {
                    let key = short(k).ok_or_else(|| err(ErrorCode::PaperPayload, format!("{k} has no short key in the paper profile")))?;
                    Ok((Cbor::Text(key.to_owned()), to_cbor(v)?))
                })
                .collect::<Result<_>>()?,
        ),
    })
}

/// CBOR with short keys → JSON business claims.
fn to_json(v: &Cbor, depth: usize) -> Result<Value> {
    if depth > 8 {
        return Err(err(ErrorCode::PaperPayload, "the document nests too deeply"));
    }
    Ok(match v {
        Cbor::Null => Value::Null,
        Cbor::Bool(b) => Value::Bool(*b),
        Cbor::Integer(i) => Value::from(i64::try_from(*i).map_err(|_| err(ErrorCode::PaperPayload, "an integer out of range"))?),
        Cbor::Text(s) => Value::String(s.clone()),
        Cbor::Array(a) => Value::Array(a.iter().map(|x| to_json(x, depth + 1)).collect::<Result<_>>()?),
        Cbor::Map(m) => {
            let mut o = Map::new();
            for (k, v) in m {
                let Cbor::Text(k) = k else { return Err(err(ErrorCode::PaperPayload, "a map key is not text")) };
                let name = long(k).ok_or_else(|| err(ErrorCode::PaperPayload, format!("unknown short key {k}")))?;
                o.insert(name.to_owned(), to_json(v, depth + 1)?);
            }
            Value::Object(o)
        }
        _ => return Err(err(ErrorCode::PaperPayload, "a CBOR item the profile does not use")),
    })
}

/// The `kid` of a signing certificate: the first 8 bytes of the SHA-256 of its DER.
pub fn kid(cert_der: &[u8]) -> [u8; 8] {
    let h = esspass_credential::sha256(cert_der);
    let mut k = [0u8; 8];
    k.copy_from_slice(h.get(..8).unwrap_or(&[0u8; 8]));
    k
}

/// A paper credential as made: the text in the QR code, the QR version it needs, and whether only
/// the minimal payload fitted.
#[derive(Debug, Clone)]
pub struct Paper {
    pub text: String,
    pub qr_version: i16,
    pub minimal: bool,
}

impl Paper {
    /// The QR code as SVG (alphanumeric mode, error correction level Q).
    pub fn svg(&self) -> Result<String> {
        let code = qr(&self.text)?;
        Ok(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(400, 400).quiet_zone(true).build())
    }
}

fn qr(text: &str) -> Result<qrcode::QrCode> {
    qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::Q).map_err(|e| err(ErrorCode::InputTooLarge, format!("no QR code holds it: {e}")))
}

fn qr_version(text: &str) -> Result<i16> {
    match qr(text)?.version() {
        qrcode::Version::Normal(n) | qrcode::Version::Micro(n) => Ok(n),
    }
}

/// What to sign.
pub struct IssueRequest<'a> {
    pub credential_type: CredentialType,
    /// The business claims (docs/domain.md §2), validated before anything is signed.
    pub claims: &'a Value,
    pub signer: &'a dyn Signer,
    /// The signing certificate (DER): its hash is the `kid`.
    pub cert_der: &'a [u8],
    /// The issuing institution's id (`iss`).
    pub iss: &'a str,
    pub iat: i64,
    pub exp: i64,
}

/// Make a paper credential: the whole document if its QR code fits version [`MAX_QR_VERSION`] at
/// level Q, else the minimal payload (and `minimal` says so).
pub fn issue(r: &IssueRequest<'_>) -> Result<Paper> {
    let problems = match r.credential_type {
        CredentialType::Pda1 => esspass_core::Pda1::from_claims(r.claims, ClaimsMode::Business).err(),
        CredentialType::Ehic => esspass_core::Ehic::from_claims(r.claims, ClaimsMode::Business).err(),
        CredentialType::Pid => return Err(err(ErrorCode::Usage, "a PID has no paper form (only the PDA1 and the EHIC)")),
    };
    if let Some(p) = problems {
        let first = p.0.first().map_or_else(|| "invalid".to_owned(), |x| format!("{} {}: {}", x.code, x.path, x.message));
        return Err(err(ErrorCode::InvalidDocument, format!("the claims are invalid: {first}")));
    }
    if r.exp <= r.iat {
        return Err(err(ErrorCode::Usage, "exp must be after iat"));
    }
    let full = encode(r, r.claims, false)?;
    let v = qr_version(&full)?;
    if v <= MAX_QR_VERSION {
        return Ok(Paper { text: full, qr_version: v, minimal: false });
    }
    let Value::Object(o) = r.claims else { return Err(err(ErrorCode::NotAnObject, "the claims are not an object")) };
    let minimal: Map<String, Value> = o.iter().filter(|(k, _)| MINIMAL.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    let text = encode(r, &Value::Object(minimal), true)?;
    let v = qr_version(&text)?;
    if v > MAX_QR_VERSION {
        return Err(err(ErrorCode::InputTooLarge, format!("even the minimal payload needs QR version {v}")));
    }
    Ok(Paper { text, qr_version: v, minimal: true })
}

fn encode(r: &IssueRequest<'_>, claims: &Value, minimal: bool) -> Result<String> {
    let mut doc = vec![
        (Cbor::Text("v".into()), Cbor::Integer(1.into())),
        (Cbor::Text("t".into()), Cbor::Text(r.credential_type.short_name().into())),
        (Cbor::Text("d".into()), to_cbor(claims)?),
    ];
    if minimal {
        doc.push((Cbor::Text("m".into()), Cbor::Bool(true)));
    }
    let cwt = ClaimsSetBuilder::new()
        .issuer(r.iss.to_owned())
        .issued_at(Timestamp::WholeSeconds(r.iat))
        .expiration_time(Timestamp::WholeSeconds(r.exp))
        .private_claim(CLAIM, Cbor::Map(doc))
        .build();
    let payload = cwt.to_vec().map_err(|e| err(ErrorCode::PaperPayload, format!("CWT: {e}")))?;
    let protected = HeaderBuilder::new().algorithm(iana::Algorithm::ES256).key_id(kid(r.cert_der).to_vec()).build();
    let sign1 = CoseSign1Builder::new().protected(protected).payload(payload).try_create_signature(b"", |data| r.signer.sign(data))?.build();
    let cose = sign1.to_tagged_vec().map_err(|e| err(ErrorCode::PaperCose, format!("COSE: {e}")))?;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut z, &cose).map_err(|e| err(ErrorCode::PaperEncoding, e.to_string()))?;
    let compressed = z.finish().map_err(|e| err(ErrorCode::PaperEncoding, e.to_string()))?;
    let prefix = prefix(r.credential_type).ok_or_else(|| err(ErrorCode::Usage, "a PID has no paper form"))?;
    Ok(format!("{prefix}{}", base45::encode(&compressed)))
}

/// A signer a verifier trusts for paper credentials: its certificate and the types it may sign,
/// with the period it may sign them in.
#[derive(Debug, Clone)]
pub struct TrustedSigner {
    pub certificate: Certificate,
    pub types: Vec<CredentialType>,
}

/// What a verifier found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PaperReport {
    pub credential_type: &'static str,
    /// Hex of the signer's `kid`.
    pub kid: String,
    pub signer: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    /// Only the minimal payload: the rest needs an online check by document number.
    pub minimal: bool,
    /// The document's claims (full names).
    pub claims: Value,
}

/// Decode and check a paper credential offline at `now`: prefix, Base45, zlib (bounded), COSE_Sign1
/// with ES256, a trusted signer by `kid` authorised for the type and valid at `iat`, the signature,
/// the CWT validity, and the document itself. `trusted` finds a signer by `kid`.
pub fn verify(text: &str, trusted: &dyn Fn(&[u8]) -> Option<TrustedSigner>, now: i64) -> Result<PaperReport> {
    let text = text.trim();
    let (t, body) = if let Some(b) = text.strip_prefix("PA1:") {
        (CredentialType::Pda1, b)
    } else if let Some(b) = text.strip_prefix("EH1:") {
        (CredentialType::Ehic, b)
    } else {
        return Err(err(ErrorCode::PaperPrefix, "the text starts with neither PA1: nor EH1:"));
    };
    let compressed = base45::decode(body).map_err(|_| err(ErrorCode::PaperEncoding, "not Base45"))?;
    let mut cose = Vec::new();
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut cose)
        .map_err(|_| err(ErrorCode::PaperEncoding, "not a zlib stream"))?;
    if cose.len() as u64 > MAX_DECOMPRESSED {
        return Err(err(ErrorCode::PaperTooLarge, format!("more than {MAX_DECOMPRESSED} bytes once decompressed")));
    }
    let sign1 = CoseSign1::from_tagged_slice(&cose).or_else(|_| CoseSign1::from_slice(&cose)).map_err(|_| err(ErrorCode::PaperCose, "not a COSE_Sign1"))?;
    if sign1.protected.header.alg != Some(coset::RegisteredLabelWithPrivate::Assigned(iana::Algorithm::ES256)) {
        return Err(err(ErrorCode::PaperAlgorithm, "the protected header does not name ES256"));
    }
    let kid_bytes = if sign1.protected.header.key_id.is_empty() { sign1.unprotected.key_id.clone() } else { sign1.protected.header.key_id.clone() };
    let kid_hex: String = kid_bytes.iter().map(|b| format!("{b:02x}")).collect();
    let signer = trusted(&kid_bytes).ok_or_else(|| err(ErrorCode::PaperUnknownKid, format!("kid {kid_hex} is not trusted")))?;
    if !signer.types.contains(&t) {
        return Err(err(ErrorCode::PaperNotAuthorised, format!("{} may not sign {} paper credentials", signer.certificate.subject_text, t.short_name())));
    }
    let point = signer.certificate.p256_point().ok_or_else(|| err(ErrorCode::PaperSignature, "the signer's key is not P-256"))?.to_vec();
    sign1
        .verify_signature(b"", |sig, data| if esspass_credential::jose::verify_es256(&point, data, sig) { Ok(()) } else { Err(()) })
        .map_err(|()| err(ErrorCode::PaperSignature, "the signature does not verify with the signer's certificate"))?;
    let payload = sign1.payload.as_deref().ok_or_else(|| err(ErrorCode::PaperPayload, "no payload"))?;
    let cwt = ClaimsSet::from_slice(payload).map_err(|_| err(ErrorCode::PaperPayload, "the payload is not a CWT claims set"))?;
    let ts = |t: &Option<Timestamp>, name: &str| match t {
        Some(Timestamp::WholeSeconds(s)) => Ok(*s),
        _ => Err(err(ErrorCode::PaperPayload, format!("no {name}"))),
    };
    let (iat, exp) = (ts(&cwt.issued_at, "iat")?, ts(&cwt.expiration_time, "exp")?);
    if now < iat - 300 || now >= exp {
        return Err(err(ErrorCode::PaperExpired, format!("valid from {iat} to {exp}")));
    }
    if !signer.certificate.valid_at(iat) {
        return Err(err(ErrorCode::PaperNotAuthorised, "signed (iat) outside the signer's certificate validity"));
    }
    let doc = cwt.rest.iter().find(|(k, _)| *k == coset::cwt::ClaimName::PrivateUse(CLAIM)).map(|(_, v)| v).ok_or_else(|| err(ErrorCode::PaperPayload, "no esspass document claim"))?;
    let Cbor::Map(fields) = doc else { return Err(err(ErrorCode::PaperPayload, "the document claim is not a map")) };
    let field = |name: &str| fields.iter().find(|(k, _)| matches!(k, Cbor::Text(s) if s == name)).map(|(_, v)| v);
    match field("t") {
        Some(Cbor::Text(s)) if s == t.short_name() => {}
        Some(Cbor::Text(_)) => return Err(err(ErrorCode::PaperTypeMismatch, "the payload's type differs from the prefix")),
        _ => return Err(err(ErrorCode::PaperPayload, "no document type")),
    }
    let minimal = matches!(field("m"), Some(Cbor::Bool(true)));
    let claims = to_json(field("d").ok_or_else(|| err(ErrorCode::PaperPayload, "no document"))?, 0)?;
    if !minimal {
        let problems = match t {
            CredentialType::Pda1 => esspass_core::Pda1::from_claims(&claims, ClaimsMode::Business).err(),
            CredentialType::Ehic => esspass_core::Ehic::from_claims(&claims, ClaimsMode::Business).err(),
            CredentialType::Pid => return Err(err(ErrorCode::PaperTypeMismatch, "a PID has no paper form")),
        };
        if let Some(p) = problems {
            let first = p.0.first().map_or_else(|| "invalid".to_owned(), |x| format!("{} {}: {}", x.code, x.path, x.message));
            return Err(err(ErrorCode::PaperPayload, format!("the document is invalid: {first}")));
        }
    }
    Ok(PaperReport { credential_type: t.short_name(), kid: kid_hex, signer: signer.certificate.subject_text.clone(), iss: cwt.issuer.unwrap_or_default(), iat, exp, minimal, claims })
}

/// Verify a paper credential offline against a loaded trust bundle: everything [`verify`] checks,
/// with the signers from the bundle, then the bundle's revocation data for the document.
pub fn verify_with_bundle(text: &str, b: &bundle::Bundle, now: i64) -> Result<PaperReport> {
    let report = verify(text, &|k| b.signer(k), now)?;
    let number = report.claims.get("document_number").and_then(Value::as_str).unwrap_or_default();
    match b.revocation(&report.kid, number) {
        Some(bundle::Revocation::Revoked) => Err(err(ErrorCode::PaperRevoked, format!("document {number} is revoked (bundle {} of {})", b.manifest.sequence, b.manifest.operator))),
        Some(bundle::Revocation::Suspended) => Err(err(ErrorCode::PaperSuspended, format!("document {number} is suspended (bundle {} of {})", b.manifest.sequence, b.manifest.operator))),
        None => Ok(report),
    }
}
