//! Stable error codes of the EESSI exchange, and the [`Problem`] list that decoding and validation
//! return.
//!
//! The codes follow the scheme of `esspass_core::ErrorCode` (`ESP-` + four digits, grouped by area):
//! they sit in the institution node's area, `72xx` for SED and envelope documents (refusals,
//! structure, validation) and `73xx` for the rules of the business use cases. One catalogue holds
//! both, `docs/error-codes.md` (and `docs/eessi.md` explains these); the type stays here so that
//! `esspass-core` knows nothing of SEDs, and a test keeps the numbers disjoint from the core's.
//! Codes never change meaning; messages may.

use serde::{Serialize, Serializer};

macro_rules! eessi_codes {
    ($( $variant:ident = $num:literal, $msg:literal; )*) => {
        /// Every error of the EESSI exchange a client or a partner institution can see.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EessiCode {
            $( #[doc = $msg] $variant, )*
        }

        impl EessiCode {
            /// All codes, in catalogue order.
            pub const ALL: &'static [EessiCode] = &[$(EessiCode::$variant,)*];

            /// The stable code, e.g. `ESP-7220`.
            pub fn as_str(self) -> &'static str {
                match self { $(EessiCode::$variant => concat!("ESP-", $num),)* }
            }

            /// A short English description of the rule.
            pub fn message(self) -> &'static str {
                match self { $(EessiCode::$variant => $msg,)* }
            }
        }
    };
}

eessi_codes! {
    // 720x–721x — documents refused before their content is looked at
    TooLarge = "7201", "the document exceeds the size limit";
    TooDeep = "7202", "the document nests elements deeper than allowed";
    DoctypeRefused = "7203", "the document has a DOCTYPE: DTDs and entity declarations are refused";
    EntityRefused = "7204", "the document refers to an entity other than the five predefined XML entities";
    MalformedXml = "7205", "the document is not well-formed XML";
    NotUtf8 = "7206", "the document is not UTF-8";
    WrongNamespace = "7207", "the root element is not in the EESSI namespace of a known SED and CDM version";
    UnsupportedVersion = "7208", "the CDM version is not one this node reads";
    VersionMismatch = "7209", "sedGVer/sedVer disagree with the version in the namespace";
    UnexpectedRoot = "7210", "the root element is not the one expected here";
    ProcessingInstructionRefused = "7211", "the document has a processing instruction";
    QualifiedChild = "7212", "an element below the SED root is in a namespace (SED elements are unqualified)";

    // 722x — structure of a document
    MissingElement = "7220", "a required element is missing";
    UnknownElement = "7221", "an element that the document type does not define";
    DuplicateElement = "7222", "an element that may occur once occurs more than once";
    InvalidValue = "7223", "the value is not of the element's type (date, country, code, id, yes/no)";
    UnexpectedText = "7224", "text where only elements are allowed, or elements where only text is allowed";
    AttributeProblem = "7225", "an attribute is missing, unknown or invalid";

    // 723x — validation of a SED's content
    Required = "7230", "a required value is empty";
    TextTooLong = "7231", "the text is longer than allowed";
    ForbiddenCharacter = "7232", "the text holds a character that XML 1.0 cannot carry";
    PeriodReversed = "7233", "the period ends before it starts";
    DateImplausible = "7234", "the date is outside the plausible range or contradicts another date";
    NotParticipating = "7235", "the country does not take part in EU social security coordination";
    ArticleNotForSed = "7236", "the article of the regulation does not belong to this SED";
    PeriodIncomplete = "7237", "the SED needs a period with an end date here";
    ConditionalField = "7238", "a field is required, or forbidden, by the value of another field";
    DuplicateEntry = "7239", "the same entry is listed twice";

    // 725x — the envelope
    EnvelopeSedMismatch = "7250", "the envelope's document type or CDM version differs from the SED it carries";
    SenderIsReceiver = "7251", "the sender and the receiver are the same institution";
    SedNotInBucType = "7252", "the envelope names a SED type that the BUC type does not use";

    // 73xx — rules of the business use cases (BUC state machines)
    NotParticipant = "7301", "the institution is not a participant of the case";
    SedNotInBuc = "7302", "the SED type is not used in this BUC";
    RoleMayNotSend = "7303", "the participant's role may not send this SED in this BUC";
    CaseClosed = "7304", "the case is closed";
    StarterFirst = "7305", "the first SED of a case must be its BUC's starting SED";
    StarterAlreadySent = "7306", "the BUC's starting SED was already sent in this case";
    ReferenceMissing = "7307", "the SED must refer to the document it answers, invalidates, rejects or reminds of";
    ReferenceUnknown = "7308", "the referenced document is not part of this case";
    ReferenceWrongType = "7309", "the referenced document is of a type this SED cannot refer to";
    AlreadyAnswered = "7310", "the referenced document was already answered (or rejected) by this institution";
    ReferenceCancelled = "7311", "the referenced document was invalidated";
    NotAddressee = "7312", "only an addressee of the referenced document may answer or reject it";
    NotOriginator = "7313", "only the sender of the referenced document may invalidate it or remind of it";
    ParticipantsInvalid = "7314", "the participants do not fit the BUC (a bilateral BUC has exactly one counterparty; nobody twice)";
    CdmVersionMismatch = "7315", "every SED of a case must use the case's CDM version";
    DuplicateDocumentId = "7316", "the document id is already used in this case";
    NotDraft = "7317", "only a document in state new can be sent";
    UnknownDocument = "7318", "no such document in this case";
    WrongCase = "7319", "the message belongs to another case or another BUC type";
    RecipientInvalid = "7320", "a recipient is not a counterpart of the sender in this case";
    NotOpenForReceipt = "7321", "the document was addressed to another institution";
}

impl std::fmt::Display for EessiCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EessiCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One problem found in a document: where (a path of XML element names such as
/// `/A009/person/birthDate`, list entries indexed from 0 as `pin[1]`), what (a stable code) and a
/// sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub path: String,
    pub code: EessiCode,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, code: EessiCode, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.path, self.message)
    }
}

/// Every problem found in one document; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(transparent)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Whether some problem has this code.
    pub fn has(&self, code: EessiCode) -> bool {
        self.0.iter().any(|p| p.code == code)
    }

    /// Whether some problem has this code at exactly this path.
    pub fn has_at(&self, path: &str, code: EessiCode) -> bool {
        self.0.iter().any(|p| p.code == code && p.path == path)
    }
}

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_well_formed_and_outside_core() {
        let mut seen = HashSet::new();
        for c in EessiCode::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "duplicate {s}");
            assert_eq!(s.len(), 8);
            assert!(s.starts_with("ESP-72") || s.starts_with("ESP-73"), "{s}");
        }
        let core: HashSet<&str> = esspass_core::ErrorCode::ALL
            .iter()
            .map(|c| c.code())
            .collect();
        for c in EessiCode::ALL {
            assert!(
                !core.contains(c.as_str()),
                "{} is already used by esspass-core",
                c.as_str()
            );
        }
    }

    #[test]
    fn catalogue_document_lists_every_code() {
        for (name, doc) in [
            ("docs/eessi.md", include_str!("../../../docs/eessi.md")),
            ("docs/error-codes.md", include_str!("../../../docs/error-codes.md")),
        ] {
            for c in EessiCode::ALL {
                assert!(doc.contains(c.as_str()), "{} missing from {name}", c.as_str());
            }
        }
    }

    #[test]
    fn display_names_code_path_and_message() {
        let p = Problem::new(
            "/A009/person/birthDate",
            EessiCode::MissingElement,
            "missing",
        );
        assert_eq!(p.to_string(), "ESP-7220 /A009/person/birthDate: missing");
    }
}
