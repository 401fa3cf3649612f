//! Matching a demo eID sign-in to the person record: family name, given name and birth date are
//! compared after Unicode normalisation; the personal number only selects the record.

use esspass_core::Date;
use esspass_store::Person;
use unicode_normalization::UnicodeNormalization;

/// The comparison form of a name: canonical decomposition, case folding (lower-casing plus the
/// full folds lower-casing lacks: `ß`/`ẞ` → `ss`, final `ς` → `σ`), recomposition (NFC), leading
/// and trailing white space removed and inner runs collapsed to one space.
///
/// Canonically equivalent spellings (`Ž` as one code point or as `Z` + U+030C) compare equal; a
/// letter never equals its base letter (`Ž` ≠ `Z`): diacritics are significant in names.
pub fn fold_name(s: &str) -> String {
    let mut folded = String::with_capacity(s.len());
    for c in s.nfd().flat_map(char::to_lowercase) {
        match c {
            'ß' => folded.push_str("ss"),
            'ς' => folded.push('σ'),
            _ => folded.push(c),
        }
    }
    let composed: String = folded.nfc().collect();
    composed.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the person typed into the demo eID form, validated.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub family_name: String,
    pub given_name: String,
    pub birth_date: Date,
    pub personal_number: String,
}

/// Why a sign-in did not match its record (for the audit trail; never shown to the user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// No record has this personal number.
    NoRecord,
    /// The record exists, but a name or the birth date differs.
    Details,
}

impl Mismatch {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoRecord => "no_record",
            Self::Details => "details_differ",
        }
    }
}

/// Compare a sign-in with the record its personal number found.
pub fn matches(sign_in: &SignIn, person: Option<&Person>) -> Result<(), Mismatch> {
    let p = person.ok_or(Mismatch::NoRecord)?;
    let same_date = Date::parse(p.birth_date.trim()).is_some_and(|d| d == sign_in.birth_date);
    if same_date && fold_name(&p.family_name) == fold_name(&sign_in.family_name) && fold_name(&p.given_name) == fold_name(&sign_in.given_name) {
        Ok(())
    } else {
        Err(Mismatch::Details)
    }
}

/// Longest accepted name or personal number (characters).
pub const MAX_FIELD: usize = 200;

/// Validate the form fields; the message is for the person filling the form.
pub fn validate(family_name: Option<&str>, given_name: Option<&str>, birth_date: Option<&str>, personal_number: Option<&str>) -> Result<SignIn, &'static str> {
    fn text(v: Option<&str>, missing: &'static str) -> Result<String, &'static str> {
        let v = v.map(str::trim).filter(|v| !v.is_empty()).ok_or(missing)?;
        if v.chars().count() > MAX_FIELD || v.chars().any(char::is_control) {
            return Err("A field is too long or contains characters that cannot be part of it.");
        }
        Ok(v.to_owned())
    }
    let family_name = text(family_name, "Enter your family name.")?;
    let given_name = text(given_name, "Enter your given name.")?;
    let birth = text(birth_date, "Enter your birth date.")?;
    let birth_date = Date::parse(&birth).ok_or("Enter the birth date as year-month-day, for example 1985-04-12.")?;
    let personal_number = text(personal_number, "Enter your personal number.")?;
    Ok(SignIn { family_name, given_name, birth_date, personal_number })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_and_case_compare_equal() {
        assert_eq!(fold_name("Živa"), fold_name("z\u{30c}IVA"));
        assert_eq!(fold_name("  Živa   Marija "), fold_name("živa marija"));
        assert_eq!(fold_name("STRASSE"), fold_name("Straße"));
        assert_eq!(fold_name("ΟΔΥΣΣΕΥΣ"), fold_name("Οδυσσευς"));
        assert_eq!(fold_name("Ångström"), fold_name("A\u{30a}NGSTRO\u{308}M"));
    }

    #[test]
    fn diacritics_are_significant() {
        assert_ne!(fold_name("Živa"), fold_name("ZIVA"));
        assert_ne!(fold_name("Müller"), fold_name("Muller"));
        assert_ne!(fold_name("Novak"), fold_name("Nowak"));
    }

    #[test]
    fn validation() {
        assert!(validate(Some("Novak"), Some("Živa"), Some("1985-04-12"), Some("SI1")).is_ok());
        assert!(validate(Some("Novak"), Some("Živa"), Some("12.04.1985"), Some("SI1")).is_err());
        assert!(validate(Some("Novak"), Some("Živa"), Some("1985-02-30"), Some("SI1")).is_err());
        assert!(validate(Some(" "), Some("Živa"), Some("1985-04-12"), Some("SI1")).is_err());
        assert!(validate(Some("Novak"), None, Some("1985-04-12"), Some("SI1")).is_err());
        assert!(validate(Some("No\u{7}vak"), Some("Živa"), Some("1985-04-12"), Some("SI1")).is_err());
        assert!(validate(Some(&"a".repeat(201)), Some("Živa"), Some("1985-04-12"), Some("SI1")).is_err());
    }
}
