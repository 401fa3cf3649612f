//! Stable error codes (`ESP-` + four digits) for everything a client can see, and the
//! [`Problem`] list that validation returns.
//!
//! Codes never change meaning; messages may. The catalogue is documented in `docs/error-codes.md`
//! (a test keeps that file and this enum in step).

use serde::{Serialize, Serializer};

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $num:literal, $msg:literal; )*) => {
        /// Every error a user or client of esspass can see.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* #[doc = $msg] $variant, )*
        }

        impl ErrorCode {
            /// All codes, in catalogue order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The stable code, e.g. `ESP-2014`.
            pub fn code(self) -> &'static str {
                match self { $(ErrorCode::$variant => concat!("ESP-", $num),)* }
            }

            /// A short English description of what went wrong.
            pub fn message(self) -> &'static str {
                match self { $(ErrorCode::$variant => $msg,)* }
            }
        }
    };
}

error_codes! {
    // 1xxx — documents and domain values
    NotAnObject = "1001", "a JSON object was expected";
    MissingField = "1002", "a required field is missing";
    LengthOutOfRange = "1003", "the string length is outside the allowed range";
    InvalidCountry = "1004", "not an ISO 3166-1 alpha-2 (or EESSI) country code";
    InvalidInstitutionId = "1005", "not an institution id of the form CC:localid";
    InvalidDate = "1006", "not a calendar date YYYY-MM-DD";
    PeriodReversed = "1007", "the period ends before it starts";
    InvalidStatusConfirmation = "1008", "status_confirmation must be one of the codes 01 to 12";
    InvalidEmployerType = "1009", "employer type must be 01 (employment) or 02 (self-employment)";
    UnknownField = "1010", "a field that the document type does not define";
    WorkInformationIncomplete = "1011", "work_information needs no_fixed_place_of_work or at least one work_address";
    EmptyArray = "1012", "the array must have at least one element";
    WrongType = "1013", "the value has the wrong JSON type";
    JwtClaimInBusinessClaims = "1014", "a JWT claim (iss, iat, cnf, status, …) was given among the business claims";
    InconsistentDates = "1015", "the document dates contradict each other";
    NotParticipating = "1016", "the country does not take part in EU social security coordination";
    DuplicateRecord = "1017", "a record with this identifier already exists";

    // 2xxx — SD-JWT / SD-JWT VC structure
    Malformed = "2001", "the SD-JWT serialisation is malformed";
    MalformedJws = "2002", "a JWS is malformed";
    InvalidBase64 = "2003", "invalid base64url";
    InvalidJson = "2004", "invalid JSON";
    InputTooLarge = "2005", "the input exceeds the size limit";
    NestingTooDeep = "2006", "the JSON nests deeper than allowed";
    AlgorithmNotAllowed = "2010", "the JWS algorithm is not allowed (only ES256)";
    WrongTyp = "2011", "the JOSE header typ is not the expected one";
    UnsupportedSdAlg = "2012", "unsupported _sd_alg";
    MalformedDisclosure = "2013", "a disclosure is malformed";
    DuplicateDisclosure = "2014", "the same disclosure appears twice";
    UnreferencedDisclosure = "2015", "a disclosure is not referenced by any digest";
    DuplicateDigest = "2016", "a digest appears more than once in the payload";
    ForbiddenDisclosureName = "2017", "a disclosure uses the reserved name _sd or ...";
    ClaimNameCollision = "2018", "a disclosed claim name already exists in the object";
    NonDisclosableClaimDisclosed = "2019", "a claim that must stay visible was selectively disclosable";
    MissingVct = "2020", "the credential has no vct";
    MissingCnf = "2021", "the credential has no holder key (cnf.jwk)";
    TypeMetadataViolation = "2022", "the disclosures contradict the type metadata (sd)";
    MandatoryClaimMissing = "2023", "a claim the type metadata marks mandatory is missing";
    UnknownVct = "2024", "no type metadata is known for this vct";
    InvalidDocument = "2025", "the disclosed document does not validate against its type";
    MalformedSdPayload = "2026", "_sd or ... is used where RFC 9901 does not allow it";

    // 3xxx — signatures and trust
    SignatureInvalid = "3001", "the issuer signature does not verify";
    MissingX5c = "3002", "the JOSE header has no x5c certificate chain";
    CertificateUnparsable = "3003", "a certificate cannot be parsed";
    ChainUntrusted = "3004", "the certificate chain does not lead to a trust anchor";
    CertificateNotValidAtTime = "3005", "a certificate in the chain is expired or not yet valid";
    KeyUsage = "3006", "a certificate's key usage does not allow this use";
    BasicConstraints = "3007", "a CA certificate lacks basic constraints cA=true (or a leaf claims to be a CA)";
    PathLength = "3008", "the chain exceeds a CA's path length constraint";
    TrustAnchorInX5c = "3009", "the x5c chain contains the trust anchor itself";
    SelfSignedLeaf = "3010", "the signing certificate is self-signed";
    NoTrustInput = "3011", "no trust anchor or trusted list was configured";
    IssuerNotListed = "3012", "the signing certificate is not in the Issuer Trusted List";
    NotAuthorisedForType = "3013", "the trusted list does not authorise this institution for this credential type on the date the credential was signed (iat)";
    IssuingAuthorityMismatch = "3014", "issuing_authority disagrees with the trusted list entry for the certificate";
    IssNotInSan = "3015", "iss is not a URI in the signing certificate's subjectAltName";
    TrustedListInvalid = "3016", "the trusted list's signature or format is invalid";
    TrustedListExpired = "3017", "the trusted list is outside its validity";
    CertificateSignatureInvalid = "3018", "a certificate's signature does not verify with its issuer's key";
    NotCredentialSigner = "3019", "the signing certificate may not sign credentials (no Issuer Trusted List entry or credential-signing key purpose, or a TLS, list-signing or relying-party certificate)";
    TrustedListRollback = "3020", "the trusted list's sequence number is lower than one already seen from its operator";
    ProofInvalid = "3021", "the verification proof's signature, chain or format is invalid";
    ProofVerifierUnknown = "3022", "the verification proof is not signed by the verifier it names in the Verifier Trusted List";
    ProofDocumentMismatch = "3023", "the verification proof refers to another document or another issuing institution";

    // 4xxx — validity and status
    TokenNotYetValid = "4001", "the token is not yet valid (nbf or iat in the future)";
    TokenExpired = "4002", "the token has expired (exp)";
    DocumentNotYetIssued = "4003", "date_of_issuance is in the future";
    DocumentExpired = "4004", "the document is past date_of_expiry";
    CoverageNotStarted = "4005", "the coverage period has not started (starting_date)";
    CoverageEnded = "4006", "the coverage period has ended (ending_date)";
    IssuedAfterSigning = "4007", "date_of_issuance is after the date the credential was signed (iat)";
    Revoked = "4010", "the credential is revoked";
    Suspended = "4011", "the credential is suspended";
    StatusUnknownValue = "4012", "the status list holds a value this verifier does not accept";
    StatusUnavailable = "4013", "the status list could not be obtained";
    StatusTokenSignatureInvalid = "4014", "the status list token's signature does not verify";
    StatusSubjectMismatch = "4015", "the status list token's sub differs from the referenced uri";
    StatusIndexOutOfRange = "4016", "the status index is outside the list";
    StatusSignerNotAuthorised = "4017", "the status list token is not signed by the issuer or its named status issuer";
    StatusTokenExpired = "4018", "the status list token has expired or is older than the cache policy allows";
    StatusListMalformed = "4019", "the status list is malformed";
    StatusListRollback = "4020", "the status list token is older (iat) than one already seen for its uri";

    // 5xxx — holder binding (KB-JWT)
    KbJwtMissing = "5001", "the presentation has no KB-JWT";
    KbJwtTyp = "5002", "the KB-JWT typ is not kb+jwt";
    KbJwtSignatureInvalid = "5003", "the KB-JWT signature does not verify with the cnf key";
    KbJwtNonce = "5004", "the KB-JWT nonce is not the expected one";
    KbJwtAudience = "5005", "the KB-JWT aud is not the expected verifier";
    KbJwtSdHash = "5006", "the KB-JWT sd_hash does not match the presentation";
    KbJwtIat = "5007", "the KB-JWT iat is outside the accepted window";

    // 6xxx — applicable-legislation engine input
    RulesInvalidInput = "6001", "the application is not valid input for the rules engine";
    RulesShareOutOfRange = "6002", "a share must be a decimal from 0 to 1";
    RulesSharesExceedOne = "6003", "the shares across states add up to more than 1";
    RulesMissingField = "6004", "a field the rules engine needs to read the application is missing";
    RulesWrongType = "6005", "a field of the application has the wrong JSON type";
    RulesUnknownField = "6006", "the application has a field the rules engine does not define";
    RulesUnknownValue = "6007", "a field holds a value outside its code list";
    RulesConflictingFields = "6008", "fields were given together that exclude each other";
    RulesTooLarge = "6009", "the application exceeds a size limit (bytes, activities, states or periods)";
    RulesEmptyList = "6010", "a list that needs at least one entry is empty";
    RulesTextLength = "6011", "a text field is empty or too long";

    // 7xxx — the institution node's API
    Unauthenticated = "7001", "no valid API key was presented";
    Forbidden = "7002", "the API key's role may not use this route";
    PersonNotFound = "7003", "no such insured person";
    NotEntitled = "7004", "the person's record does not entitle to this credential";
    CredentialNotFound = "7005", "no such credential";
    UnknownConfiguration = "7006", "no such credential configuration";
    BodyTooLarge = "7007", "the request body is too large";
    BadRequest = "7008", "the request is malformed";
    UnavailableForEmployer = "7009", "the record belongs to another employer";
    RouteNotFound = "7010", "no such route";
    RequestTimeout = "7011", "the request took too long";
    TooManyRequests = "7012", "too many requests from this client; wait and retry";
    MethodNotAllowed = "7013", "the route does not take this method";
    NotCompetent = "7014", "this institution is not competent: another state's legislation applies or another institution holds the coverage";
    NoEmployment = "7015", "no employment record links the employer to the person";
    SignInDisabled = "7016", "sign-in (the authorization-code flow) is not enabled on this node";
    ApplicationClosed = "7017", "the application no longer yields a credential: it was refused or its PDA1 was revoked";
    OverrideReasonRequired = "7018", "the approval departs from what the rules engine's reasons allow and gives no override reason";
    AgreementRequired = "7019", "an Art 16 exception needs the other state's recorded agreement before it is approved";
    NotContestable = "7020", "the decision cannot be contested: it is not an adverse automatic decision, or it is no longer open";
    OfferGone = "7021", "the offer was used, has expired or never existed";
    CredentialRevoked = "7022", "the credential is revoked; a revocation is final";
    StaffNotListed = "7023", "the PID verified but matches no staff member of this institution";
    StaffSignInGone = "7024", "no such staff sign-in: unknown, already completed or expired";
    StaffSignInRefused = "7025", "the PID presented for the staff sign-in did not verify";
    UnknownProcedure = "7026", "the gateway offers no such procedure, or the country is not a participating state";
    NoCompetentInstitution = "7027", "no institution of that country handles this procedure in the Institution Repository";
    ListUnavailable = "7028", "the trust operator has no valid list or bundle part of that name to publish";
    UnknownProfile = "7101", "the verifier has no such profile";
    TransactionNotFound = "7102", "no such verification transaction, or it has not been answered";
    TransactionExpired = "7103", "the verification transaction has expired";
    ResponseReplayed = "7104", "the verification transaction has already been answered";
    ResponseForAnotherTransaction = "7105", "the response belongs to another transaction (state)";
    ResponseUndecryptable = "7106", "the encrypted response does not decrypt with the transaction's key";
    ResponseMalformed = "7107", "the response is not a well-formed OpenID4VP authorization response";
    WrongCredentialType = "7108", "the presented credential is not of the type the profile asks for";
    DisclosedBeyondQuery = "7109", "the presentation discloses claims beyond the query";
    NotCoveredOnDate = "7110", "the document does not cover the treatment or inspection date";
    ProfileBeyondRegistration = "7111", "a profile asks for more than the verifier's registration in the Verifier Trusted List";
    RequestUntrusted = "7112", "the request is not signed by a verifier in the Verifier Trusted List, or its client id does not match its certificate";
    RequestBeyondRegistration = "7113", "the request asks for more than the verifier is registered for";
    EessiMessageInvalid = "7401", "the EESSI message is not a signed message of an institution (format, signature or certificate)";
    EessiSenderUnknown = "7402", "the message's signer is not in the Institution Repository, or is not the institution the envelope names as sender";
    EessiNotForUs = "7403", "the message is addressed to another institution";
    EessiSedInvalid = "7404", "the envelope or the SED does not decode or validate";
    EessiReceiverUnknown = "7405", "the receiver is not in the Institution Repository or does not take part in the BUC";
    EessiNotConfigured = "7406", "this node has no EESSI access point ([eessi] in the configuration)";
    EessiPostingNotFound = "7407", "no posting was notified with this message id";
    EessiPostingDecided = "7408", "the posting is not waiting for a case worker's decision";
    EessiBucRule = "7409", "the message breaks a rule of its business use case (participant, order, state)";
    EessiCaseNotFound = "7410", "no case with this id";

    // 8xxx — paper credentials (signed QR codes)
    PaperPrefix = "8001", "not a paper credential of a known type (PA1: or EH1:)";
    PaperEncoding = "8002", "the paper credential's Base45 or zlib encoding is broken";
    PaperTooLarge = "8003", "the paper credential decompresses beyond the size limit";
    PaperCose = "8004", "the paper credential is not a COSE_Sign1 structure";
    PaperAlgorithm = "8005", "the paper credential is not signed with ES256";
    PaperUnknownKid = "8006", "the paper credential's signer (kid) is not in the trust bundle";
    PaperNotAuthorised = "8007", "the signer may not sign this type of paper credential";
    PaperSignature = "8008", "the paper credential's signature does not verify";
    PaperPayload = "8009", "the paper credential's payload is malformed";
    PaperExpired = "8010", "the paper credential is expired or not yet valid";
    PaperTypeMismatch = "8011", "the paper credential's payload is of another type than its prefix";
    PaperImage = "8012", "no esspass QR code could be read from the image";
    PaperRevoked = "8013", "the document is revoked (offline bundle)";
    PaperSuspended = "8014", "the document is suspended (offline bundle)";
    BundleInvalid = "8015", "the offline trust bundle is invalid";
    BundleTooOld = "8016", "the offline trust bundle is older than allowed";
    PaperUnavailable = "8017", "no paper version can be made of this credential";

    // 9xxx — usage, keys, IO
    Usage = "9001", "usage error";
    FileUnreadable = "9002", "a file cannot be read";
    KeyInvalid = "9003", "the key cannot be used";
    Internal = "9004", "internal error";
    FetchFailed = "9005", "a resource could not be fetched";
    FileUnwritable = "9006", "a file cannot be written (or exists and is not replaced without --force)";
    FileMissing = "9007", "a file or folder does not exist";
    NoSuchDatabase = "9008", "the database does not exist (commands that only read a database never create one)";
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One problem found while validating input: where (a JSON path such as `$.employer[0].name`),
/// what (a stable code) and a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub path: String,
    pub code: ErrorCode,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self { path: path.into(), code, message: message.into() }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.path, self.message)
    }
}

/// Every problem found in one input; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(transparent)]
pub struct Problems(pub Vec<Problem>);

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
    fn codes_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for c in ErrorCode::ALL {
            let s = c.code();
            assert!(seen.insert(s), "duplicate {s}");
            assert_eq!(s.len(), 8);
            assert!(s.starts_with("ESP-") && s[4..].chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn catalogue_document_lists_every_code() {
        let doc = include_str!("../../../docs/error-codes.md");
        for c in ErrorCode::ALL {
            assert!(doc.contains(c.code()), "{} missing from docs/error-codes.md", c.code());
        }
    }
}
