//! The envelope: who sends which document of which case to whom, shaped like the SBDH header that
//! EESSI wraps every SED in (namespace `http://eessi.dgempl.ec.europa.eu/namespaces/sbdh`, every
//! element qualified with the prefix `sbdh`), and the [`Message`] that carries one SED inside a
//! `StandardBusinessDocument` after its header:
//!
//! ```xml
//! <sbdh:StandardBusinessDocument xmlns:sbdh="http://eessi.dgempl.ec.europa.eu/namespaces/sbdh">
//!   <sbdh:StandardBusinessDocumentHeader>
//!     <sbdh:HeaderVersion>1.0</sbdh:HeaderVersion>
//!     <sbdh:Sender><sbdh:Identifier Authority="EESSI">EL:EFKA01</sbdh:Identifier></sbdh:Sender>
//!     <sbdh:Receiver><sbdh:Identifier Authority="EESSI">IT:INPS01</sbdh:Identifier></sbdh:Receiver>
//!     <sbdh:DocumentIdentification>
//!       <sbdh:Type>A009</sbdh:Type>
//!       <sbdh:TypeVersion>4.2</sbdh:TypeVersion>
//!       <sbdh:InstanceIdentifier>…document id…</sbdh:InstanceIdentifier>
//!       <sbdh:CreationDateAndTime>2026-03-02T09:30:00Z</sbdh:CreationDateAndTime>
//!     </sbdh:DocumentIdentification>
//!     <sbdh:BusinessScope>
//!       <sbdh:CaseId>
//!         <sbdh:InstanceIdentifier>…case id…</sbdh:InstanceIdentifier>
//!         <sbdh:BusinessServiceName>LA_BUC_04</sbdh:BusinessServiceName>
//!       </sbdh:CaseId>
//!       <sbdh:MessageId>…message id…</sbdh:MessageId>
//!     </sbdh:BusinessScope>
//!   </sbdh:StandardBusinessDocumentHeader>
//!   <sed:A009 xmlns:sed="http://ec.europa.eu/eessi/ns/4_2/A009" sedGVer="4" sedVer="2">…</sed:A009>
//! </sbdh:StandardBusinessDocument>
//! ```
//!
//! The element names are those of the SBDH model NAV's SYN001 code shows; the place of the message
//! id (in production an ebMS header field) is our choice.

use crate::buc::tables::spec;
use crate::codec::{DecodeError, DecodeOptions, decode_element, write_sed};
use crate::codes::{EessiCode, Problem, Problems};
use crate::ids::{BucType, CaseId, CdmVersion, DocumentId, MessageId, SedType};
use crate::sed::Sed;
use crate::xml::map::{Decoder, Fields, Leaf};
use crate::xml::{Element, XmlWriter, parse};
use esspass_core::InstitutionId;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The SBDH namespace.
pub const SBDH_NS: &str = "http://eessi.dgempl.ec.europa.eu/namespaces/sbdh";
const P: &str = "sbdh";
const HEADER_VERSION: &str = "1.0";
const AUTHORITY: &str = "EESSI";

/// Who sends which document of which case to whom, and when it was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub sender: InstitutionId,
    pub receiver: InstitutionId,
    pub sed_type: SedType,
    pub cdm_version: CdmVersion,
    pub document_id: DocumentId,
    pub case_id: CaseId,
    pub buc_type: BucType,
    pub message_id: MessageId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Leaf for CdmVersion {
    fn to_text(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
    fn from_text(s: &str) -> Result<Self, String> {
        CdmVersion::parse(s).ok_or_else(|| format!("{s:?} is not a CDM version G.V"))
    }
}

/// Instants are written in RFC 3339 with their offset.
impl Leaf for OffsetDateTime {
    fn to_text(&self) -> Cow<'_, str> {
        Cow::Owned(self.format(&Rfc3339).unwrap_or_default())
    }
    fn from_text(s: &str) -> Result<Self, String> {
        OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|e| format!("{s:?} is not an RFC 3339 date and time: {e}"))
    }
}

fn q(name: &str) -> String {
    format!("{P}:{name}")
}

impl Envelope {
    /// Content rules: sender and receiver differ, the CDM version is one this crate writes, and the
    /// BUC type uses the SED type.
    pub fn validate(&self) -> Result<(), Problems> {
        self.validate_at("/StandardBusinessDocumentHeader")
    }

    /// [`Envelope::validate`] with paths below `root` (the header's own path).
    fn validate_at(&self, root: &str) -> Result<(), Problems> {
        let mut out = Vec::new();
        if self.sender == self.receiver {
            out.push(Problem::new(
                format!("{root}/Receiver"),
                EessiCode::SenderIsReceiver,
                format!("{} sends to itself", self.sender),
            ));
        }
        if !CdmVersion::SUPPORTED.contains(&self.cdm_version) {
            out.push(Problem::new(
                format!("{root}/DocumentIdentification/TypeVersion"),
                EessiCode::UnsupportedVersion,
                format!("CDM {} is not supported", self.cdm_version),
            ));
        }
        if !spec(self.buc_type).uses(self.sed_type) {
            out.push(Problem::new(
                format!("{root}/DocumentIdentification/Type"),
                EessiCode::SedNotInBucType,
                format!("{} does not use {}", self.buc_type, self.sed_type),
            ));
        }
        if out.is_empty() {
            Ok(())
        } else {
            Err(Problems(out))
        }
    }

    fn write(&self, w: &mut XmlWriter, declare_ns: bool) {
        let root = q("StandardBusinessDocumentHeader");
        let xmlns = format!("xmlns:{P}");
        if declare_ns {
            w.start_with(&root, &[(&xmlns, SBDH_NS)]);
        } else {
            w.start(&root);
        }
        w.leaf(&q("HeaderVersion"), HEADER_VERSION);
        for (party, id) in [("Sender", &self.sender), ("Receiver", &self.receiver)] {
            w.start(&q(party));
            w.leaf_with(
                &q("Identifier"),
                &[("Authority", AUTHORITY)],
                &id.to_string(),
            );
            w.end(&q(party));
        }
        w.start(&q("DocumentIdentification"));
        w.leaf(&q("Type"), self.sed_type.as_str());
        w.leaf(&q("TypeVersion"), &self.cdm_version.to_string());
        w.leaf(&q("InstanceIdentifier"), self.document_id.as_str());
        w.leaf(&q("CreationDateAndTime"), &self.created_at.to_text());
        w.end(&q("DocumentIdentification"));
        w.start(&q("BusinessScope"));
        w.start(&q("CaseId"));
        w.leaf(&q("InstanceIdentifier"), self.case_id.as_str());
        w.leaf(&q("BusinessServiceName"), self.buc_type.as_str());
        w.end(&q("CaseId"));
        w.leaf(&q("MessageId"), self.message_id.as_str());
        w.end(&q("BusinessScope"));
        w.end(&root);
    }

    /// The header alone as an XML document.
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new();
        self.write(&mut w, true);
        w.finish()
    }

    /// Read a header document (size and depth bounded, no DTD or entities) and validate it.
    pub fn from_xml(input: &[u8], options: &DecodeOptions) -> Result<Envelope, DecodeError> {
        let root = parse(input, &options.limits).map_err(DecodeError::Refused)?;
        expect_root(&root, "StandardBusinessDocumentHeader")?;
        let mut cx = Decoder::new("StandardBusinessDocumentHeader");
        let env = read_header(&root, &mut cx);
        finish_envelope(env, cx, "/StandardBusinessDocumentHeader")
    }
}

fn finish_envelope(
    env: Option<Envelope>,
    cx: Decoder,
    root: &str,
) -> Result<Envelope, DecodeError> {
    let mut problems = cx.problems;
    match env {
        Some(env) => {
            if let Err(mut ps) = env.validate_at(root) {
                problems.append(&mut ps.0);
            }
            if problems.is_empty() {
                Ok(env)
            } else {
                Err(DecodeError::Invalid(Problems(problems)))
            }
        }
        None => Err(DecodeError::Invalid(Problems(problems))),
    }
}

fn expect_root(root: &Element, name: &str) -> Result<(), DecodeError> {
    if root.ns.as_deref() != Some(SBDH_NS) {
        return Err(DecodeError::Refused(Problem::new(
            format!("/{}", root.name),
            EessiCode::WrongNamespace,
            format!("the root element is not in the namespace {SBDH_NS}"),
        )));
    }
    if root.name != name {
        return Err(DecodeError::Refused(Problem::new(
            format!("/{}", root.name),
            EessiCode::UnexpectedRoot,
            format!("expected {name}"),
        )));
    }
    Ok(())
}

/// The one child `name` in the SBDH namespace, read with `f` inside its path.
fn container<T>(
    fields: &mut Fields<'_>,
    name: &str,
    cx: &mut Decoder,
    f: impl FnOnce(&Element, &mut Decoder) -> Option<T>,
) -> Option<T> {
    let found = fields.take(name);
    cx.within(name.to_owned(), |cx| match found.as_slice() {
        [] => {
            cx.problem(EessiCode::MissingElement, "missing");
            None
        }
        [one] => {
            if !one.attributes.is_empty() {
                cx.problem(
                    EessiCode::AttributeProblem,
                    "this element takes no attributes",
                );
            }
            f(one, cx)
        }
        _ => {
            cx.problem(
                EessiCode::DuplicateElement,
                format!("occurs {} times; once is allowed", found.len()),
            );
            None
        }
    })
}

fn read_party(el: &Element, cx: &mut Decoder) -> Option<InstitutionId> {
    let mut fields = Fields::new_in(el, SBDH_NS);
    let found = fields.take("Identifier");
    fields.finish(cx, true);
    cx.within("Identifier".to_owned(), |cx| {
        let [id] = found.as_slice() else {
            cx.problem(
                if found.is_empty() {
                    EessiCode::MissingElement
                } else {
                    EessiCode::DuplicateElement
                },
                "exactly one Identifier is required",
            );
            return None;
        };
        match id.attribute("Authority") {
            Some(AUTHORITY) => {}
            other => cx.problem(
                EessiCode::AttributeProblem,
                format!("Authority must be {AUTHORITY:?}, found {other:?}"),
            ),
        }
        if id.attributes.len() != 1 || !id.children.is_empty() {
            cx.problem(
                EessiCode::AttributeProblem,
                "Identifier holds only the institution id and the Authority attribute",
            );
        }
        match InstitutionId::from_text(&id.text) {
            Ok(i) => Some(i),
            Err(m) => {
                cx.problem(EessiCode::InvalidValue, m);
                None
            }
        }
    })
}

fn read_header(root: &Element, cx: &mut Decoder) -> Option<Envelope> {
    let mut top = Fields::new_in(root, SBDH_NS);
    let version: Option<String> = top.req("HeaderVersion", cx);
    if let Some(v) = &version
        && v != HEADER_VERSION
    {
        cx.within("HeaderVersion".to_owned(), |cx| {
            cx.problem(
                EessiCode::InvalidValue,
                format!("header version {v:?}; expected {HEADER_VERSION}"),
            )
        });
    }
    let sender = container(&mut top, "Sender", cx, read_party);
    let receiver = container(&mut top, "Receiver", cx, read_party);
    let ident = container(&mut top, "DocumentIdentification", cx, |el, cx| {
        let mut f = Fields::new_in(el, SBDH_NS);
        let t: Option<SedType> = f.req("Type", cx);
        let v: Option<CdmVersion> = f.req("TypeVersion", cx);
        let id: Option<DocumentId> = f.req("InstanceIdentifier", cx);
        let at: Option<OffsetDateTime> = f.req("CreationDateAndTime", cx);
        f.finish(cx, true);
        Some((t?, v?, id?, at?))
    });
    let scope = container(&mut top, "BusinessScope", cx, |el, cx| {
        let mut f = Fields::new_in(el, SBDH_NS);
        let case = container(&mut f, "CaseId", cx, |el, cx| {
            let mut c = Fields::new_in(el, SBDH_NS);
            let id: Option<CaseId> = c.req("InstanceIdentifier", cx);
            let buc: Option<BucType> = c.req("BusinessServiceName", cx);
            c.finish(cx, true);
            Some((id?, buc?))
        });
        let message: Option<MessageId> = f.req("MessageId", cx);
        f.finish(cx, true);
        Some((case?, message?))
    });
    top.finish(cx, true);
    let unexpected: Vec<String> = root.attributes.iter().map(|a| a.name.clone()).collect();
    if !unexpected.is_empty() {
        cx.problem(
            EessiCode::AttributeProblem,
            format!("the header takes no attributes: {}", unexpected.join(", ")),
        );
    }
    version?;
    let (sed_type, cdm_version, document_id, created_at) = ident?;
    let ((case_id, buc_type), message_id) = scope?;
    Some(Envelope {
        sender: sender?,
        receiver: receiver?,
        sed_type,
        cdm_version,
        document_id,
        case_id,
        buc_type,
        message_id,
        created_at,
    })
}

/// One SED with its envelope: what travels between access points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub envelope: Envelope,
    pub sed: Sed,
}

impl Message {
    /// Validate envelope and SED and their agreement (the envelope names the SED's type), then write
    /// the `StandardBusinessDocument`. The SED is written in the envelope's CDM version.
    pub fn encode(&self) -> Result<String, Problems> {
        let mut problems = Vec::new();
        if let Err(mut ps) = self
            .envelope
            .validate_at("/StandardBusinessDocument/StandardBusinessDocumentHeader")
        {
            problems.append(&mut ps.0);
        }
        if let Err(mut ps) = crate::validate::validate_sed(&self.sed) {
            problems.append(&mut ps.0);
        }
        if self.envelope.sed_type != self.sed.sed_type() {
            problems.push(mismatch(format!(
                "the envelope names {} but carries {}",
                self.envelope.sed_type,
                self.sed.sed_type()
            )));
        }
        if !problems.is_empty() {
            return Err(Problems(problems));
        }
        Ok(self.encode_unchecked())
    }

    /// Write without any check (for tests of the reader).
    pub fn encode_unchecked(&self) -> String {
        let mut w = XmlWriter::new();
        let root = q("StandardBusinessDocument");
        let xmlns = format!("xmlns:{P}");
        w.start_with(&root, &[(&xmlns, SBDH_NS)]);
        self.envelope.write(&mut w, false);
        write_sed(&mut w, &self.sed, self.envelope.cdm_version);
        w.end(&root);
        w.finish()
    }

    /// Read a message: the envelope and the SED are both read and validated, and every problem of
    /// either is listed; they must agree on SED type and CDM version.
    pub fn decode(input: &[u8], options: &DecodeOptions) -> Result<Message, DecodeError> {
        let root = parse(input, &options.limits).map_err(DecodeError::Refused)?;
        expect_root(&root, "StandardBusinessDocument")?;
        let mut headers = Vec::new();
        let mut payloads = Vec::new();
        for child in &root.children {
            if child.ns.as_deref() == Some(SBDH_NS)
                && child.name == "StandardBusinessDocumentHeader"
            {
                headers.push(child);
            } else {
                payloads.push(child);
            }
        }
        let (&[header], &[payload]) = (headers.as_slice(), payloads.as_slice()) else {
            return Err(DecodeError::Refused(Problem::new(
                "/StandardBusinessDocument",
                EessiCode::UnexpectedRoot,
                format!(
                    "a message holds one header and one SED; found {} and {}",
                    headers.len(),
                    payloads.len()
                ),
            )));
        };
        let mut cx = Decoder::new("StandardBusinessDocument");
        let env = cx.within("StandardBusinessDocumentHeader".to_owned(), |cx| {
            read_header(header, cx)
        });
        if !root.attributes.is_empty() || !root.text.trim().is_empty() {
            cx.problem(
                EessiCode::UnexpectedText,
                "the message holds only the header and the SED",
            );
        }
        let env = finish_envelope(
            env,
            cx,
            "/StandardBusinessDocument/StandardBusinessDocumentHeader",
        );
        let sed = decode_element(payload, options);
        match (env, sed) {
            (_, Err(DecodeError::Refused(p))) => Err(DecodeError::Refused(p)),
            (Ok(envelope), Ok(doc)) => {
                let mut problems = Vec::new();
                if envelope.sed_type != doc.sed.sed_type() {
                    problems.push(mismatch(format!(
                        "the envelope names {} but carries {}",
                        envelope.sed_type,
                        doc.sed.sed_type()
                    )));
                }
                if envelope.cdm_version != doc.version {
                    problems.push(mismatch(format!(
                        "the envelope names CDM {} but the SED is written in {}",
                        envelope.cdm_version, doc.version
                    )));
                }
                if problems.is_empty() {
                    Ok(Message {
                        envelope,
                        sed: doc.sed,
                    })
                } else {
                    Err(DecodeError::Invalid(Problems(problems)))
                }
            }
            (env, sed) => {
                let mut problems: Vec<Problem> =
                    env.err().map(|e| e.problems()).unwrap_or_default();
                problems.extend(sed.err().map(|e| e.problems()).unwrap_or_default());
                Err(DecodeError::Invalid(Problems(problems)))
            }
        }
    }
}

fn mismatch(message: String) -> Problem {
    Problem::new(
        "/StandardBusinessDocument/StandardBusinessDocumentHeader/DocumentIdentification",
        EessiCode::EnvelopeSedMismatch,
        message,
    )
}
