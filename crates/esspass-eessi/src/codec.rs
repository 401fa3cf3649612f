//! The SED XML codec, shaped like the production format: one namespace per SED type and CDM version,
//! `http://ec.europa.eu/eessi/ns/4_2/A009`, on the root element only (the CDM's schemas are
//! `elementFormDefault="unqualified"`), which also carries `sedGVer` and `sedVer`:
//!
//! ```xml
//! <?xml version="1.0" encoding="UTF-8"?>
//! <sed:A009 xmlns:sed="http://ec.europa.eu/eessi/ns/4_2/A009" sedGVer="4" sedVer="2">
//!   <person>
//!     <familyName>Papadopoulos</familyName>
//!     …
//! ```
//!
//! [`encode`] validates first and writes only valid SEDs; [`decode`] refuses what is unsafe or not a
//! SED of a supported version ([`DecodeError::Refused`]), and otherwise lists every structural and
//! content problem with its path ([`DecodeError::Invalid`]). `decode(encode(x)) == x`, and encoding
//! what was decoded gives the same bytes.

use crate::codes::{EessiCode, Problem, Problems};
use crate::ids::{CdmVersion, SedType, parse_small};
use crate::sed::Sed;
use crate::validate::Validate;
use crate::xml::map::Decoder;
use crate::xml::{Element, Limits, XmlWriter, parse};

/// The common start of every SED namespace.
pub const NS_BASE: &str = "http://ec.europa.eu/eessi/ns/";

/// The prefix the writer binds to the SED namespace (readers accept any prefix, or none on a root
/// without children).
pub const PREFIX: &str = "sed";

/// The namespace of a SED type in a CDM version.
pub fn namespace(t: SedType, v: CdmVersion) -> String {
    format!("{NS_BASE}{}/{}", v.ns_segment(), t)
}

/// What a reader accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    pub limits: Limits,
    /// The CDM versions accepted (default: all of [`CdmVersion::SUPPORTED`]).
    pub versions: Vec<CdmVersion>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            versions: CdmVersion::SUPPORTED.to_vec(),
        }
    }
}

/// A decoded SED and the CDM version it was written in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SedDocument {
    pub version: CdmVersion,
    pub sed: Sed,
}

/// Why a document was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Refused before its content was read: unsafe (DOCTYPE, entities), too large or deep, not
    /// well-formed, or not a SED of a supported version.
    #[error("refused: {0}")]
    Refused(Problem),
    /// A SED whose content has problems; all of them are listed.
    #[error("invalid: {0}")]
    Invalid(Problems),
}

impl DecodeError {
    /// Every problem, as a list.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            DecodeError::Refused(p) => vec![p.clone()],
            DecodeError::Invalid(ps) => ps.0.clone(),
        }
    }

    /// Whether some problem has this code.
    pub fn has(&self, code: EessiCode) -> bool {
        self.problems().iter().any(|p| p.code == code)
    }
}

/// Write a SED after validating it; a SED with problems is not written.
pub fn encode(sed: &Sed, version: CdmVersion) -> Result<String, Problems> {
    crate::validate::validate_sed(sed)?;
    Ok(encode_unchecked(sed, version))
}

/// Write a SED without validating it (for tests and tools that must produce invalid documents).
/// Text holding characters XML 1.0 cannot carry is written as it is, and the document is then
/// not well-formed.
pub fn encode_unchecked(sed: &Sed, version: CdmVersion) -> String {
    let mut w = XmlWriter::new();
    write_sed(&mut w, sed, version);
    w.finish()
}

pub(crate) fn write_sed(w: &mut XmlWriter, sed: &Sed, version: CdmVersion) {
    let t = sed.sed_type();
    let root = format!("{PREFIX}:{t}");
    let ns = namespace(t, version);
    let g = version.generation.to_string();
    let v = version.version.to_string();
    w.start_with(
        &root,
        &[
            (&format!("xmlns:{PREFIX}"), &ns),
            ("sedGVer", &g),
            ("sedVer", &v),
        ],
    );
    sed.write_fields(w);
    w.end(&root);
}

/// Read and validate a SED.
pub fn decode(input: &[u8], options: &DecodeOptions) -> Result<SedDocument, DecodeError> {
    let root = parse(input, &options.limits).map_err(DecodeError::Refused)?;
    decode_element(&root, options)
}

/// Identify a root element: its SED type and CDM version from the namespace.
fn identify(root: &Element, options: &DecodeOptions) -> Result<(SedType, CdmVersion), Problem> {
    let here = format!("/{}", root.name);
    let wrong = |msg: String| Problem::new(here.clone(), EessiCode::WrongNamespace, msg);
    let Some(ns) = &root.ns else {
        return Err(wrong(format!(
            "the root element {} has no namespace; expected {NS_BASE}<G>_<V>/<SED>",
            root.name
        )));
    };
    let rest = ns
        .strip_prefix(NS_BASE)
        .ok_or_else(|| wrong(format!("{ns:?} is not an EESSI SED namespace")))?;
    let (ver, ty) = rest
        .split_once('/')
        .ok_or_else(|| wrong(format!("{ns:?} is not an EESSI SED namespace")))?;
    let (g, v) = ver
        .split_once('_')
        .ok_or_else(|| wrong(format!("{ns:?} has no version G_V")))?;
    let version = match (parse_small(g), parse_small(v)) {
        (Some(generation), Some(version)) => CdmVersion {
            generation,
            version,
        },
        _ => return Err(wrong(format!("{ns:?} has no version G_V"))),
    };
    let t = SedType::parse(ty).ok_or_else(|| {
        wrong(format!(
            "{ty:?} in {ns:?} is not a SED type this node reads"
        ))
    })?;
    if root.name != t.as_str() {
        return Err(Problem::new(
            here,
            EessiCode::UnexpectedRoot,
            format!("the root element {} is in the namespace of {t}", root.name),
        ));
    }
    if !options.versions.contains(&version) {
        let names: Vec<String> = options.versions.iter().map(ToString::to_string).collect();
        return Err(Problem::new(
            here,
            EessiCode::UnsupportedVersion,
            format!(
                "CDM {version} is not read here; accepted: {}",
                names.join(", ")
            ),
        ));
    }
    Ok((t, version))
}

fn check_root_attributes(root: &Element, version: CdmVersion, cx: &mut Decoder) {
    for (name, expected) in [("sedGVer", version.generation), ("sedVer", version.version)] {
        match root.attribute(name) {
            None => cx.problem(
                EessiCode::AttributeProblem,
                format!("the attribute {name} is missing"),
            ),
            Some(s) if parse_small(s) == Some(expected) => {}
            Some(s) => cx.problem(
                EessiCode::VersionMismatch,
                format!("{name}={s:?} but the namespace is of CDM {version}"),
            ),
        }
    }
    for a in &root.attributes {
        if a.ns.is_some() || (a.name != "sedGVer" && a.name != "sedVer") {
            cx.problem(
                EessiCode::AttributeProblem,
                format!("the attribute {} is not defined", a.name),
            );
        }
    }
}

/// Decode a SED from an element already read (the payload of a message).
pub(crate) fn decode_element(
    root: &Element,
    options: &DecodeOptions,
) -> Result<SedDocument, DecodeError> {
    let (t, version) = identify(root, options).map_err(DecodeError::Refused)?;
    let mut cx = Decoder::new(t.as_str());
    check_root_attributes(root, version, &mut cx);
    let sed = Sed::read_fields(t, root, &mut cx);
    let mut problems = std::mem::take(&mut cx.problems);
    match sed {
        Some(sed) => {
            sed.validate(&format!("/{t}"), &mut problems);
            if problems.is_empty() {
                Ok(SedDocument { version, sed })
            } else {
                Err(DecodeError::Invalid(Problems(problems)))
            }
        }
        None => {
            problems.append(&mut cx.deferred);
            Err(DecodeError::Invalid(Problems(problems)))
        }
    }
}
