//! Content rules of SEDs. Every rule that fails adds a [`Problem`] with the path of the element it
//! concerns, named as in the XML (`/A009/person/birthDate`); validation never stops at the first.
//!
//! Rules that hold for every SED: required text is not blank and not longer than its bound (names
//! 150, identifiers 65, short texts 255, free text 4,000 characters — our bounds, the CDM's are not
//! public), text holds only characters XML 1.0 can carry, dates lie between 1900-01-01 and
//! 2199-12-31, periods do not end before they start, legislation states take part in the
//! coordination (EU 27, IS, LI, NO, CH, UK), lists hold no entry twice. The rules of each SED type
//! are documented on its type.

use crate::codes::{EessiCode, Problem};
use esspass_core::{Country, Date};

/// A value whose content can be checked; `path` is the path of the value's own element.
pub trait Validate {
    fn validate(&self, path: &str, out: &mut Vec<Problem>);
}

pub(crate) const NAME: usize = 150;
pub(crate) const IDENTIFIER: usize = 65;
pub(crate) const SHORT: usize = 255;
pub(crate) const FREE_TEXT: usize = 4000;

pub(crate) fn at(path: &str, name: &str) -> String {
    format!("{path}/{name}")
}

pub(crate) fn at_index(path: &str, name: &str, i: usize) -> String {
    format!("{path}/{name}[{i}]")
}

/// Characters only; no blank check.
pub(crate) fn chars(out: &mut Vec<Problem>, path: String, value: &str, max: usize) {
    if let Some(c) = value.chars().find(|c| !crate::xml::read::is_xml_char(*c)) {
        out.push(Problem::new(
            path.clone(),
            EessiCode::ForbiddenCharacter,
            format!("U+{:04X} cannot be carried in XML 1.0", c as u32),
        ));
    }
    let n = value.chars().count();
    if n > max {
        out.push(Problem::new(
            path,
            EessiCode::TextTooLong,
            format!("{n} characters; at most {max} are allowed"),
        ));
    }
}

/// Required text: not blank, within `max` characters, only XML characters.
pub(crate) fn text(out: &mut Vec<Problem>, path: String, value: &str, max: usize) {
    if value.trim().is_empty() {
        out.push(Problem::new(path, EessiCode::Required, "must not be empty"));
        return;
    }
    chars(out, path, value, max);
}

pub(crate) fn opt_text(out: &mut Vec<Problem>, path: String, value: Option<&String>, max: usize) {
    if let Some(v) = value {
        text(out, path, v, max);
    }
}

pub(crate) fn texts(out: &mut Vec<Problem>, path: &str, name: &str, values: &[String], max: usize) {
    for (i, v) in values.iter().enumerate() {
        text(out, at_index(path, name, i), v, max);
    }
}

pub(crate) fn date(out: &mut Vec<Problem>, path: String, d: Date) {
    let (Some(lo), Some(hi)) = (Date::from_ymd(1900, 1, 1), Date::from_ymd(2199, 12, 31)) else {
        return;
    };
    if d < lo || d > hi {
        out.push(Problem::new(
            path,
            EessiCode::DateImplausible,
            format!("{d} lies outside 1900-01-01 to 2199-12-31"),
        ));
    }
}

pub(crate) fn opt_date(out: &mut Vec<Problem>, path: String, d: Option<Date>) {
    if let Some(d) = d {
        date(out, path, d);
    }
}

pub(crate) fn participating(out: &mut Vec<Problem>, path: String, c: Country) {
    if c.area().is_none() {
        out.push(Problem::new(
            path,
            EessiCode::NotParticipating,
            format!("{c} does not take part in EU social security coordination"),
        ));
    }
}

pub(crate) fn non_empty<T>(out: &mut Vec<Problem>, path: String, list: &[T], what: &str) {
    if list.is_empty() {
        out.push(Problem::new(
            path,
            EessiCode::Required,
            format!("at least one {what} is required"),
        ));
    }
}

pub(crate) fn no_duplicates<T: PartialEq>(
    out: &mut Vec<Problem>,
    path: &str,
    name: &str,
    list: &[T],
) {
    for (i, x) in list.iter().enumerate() {
        if list.iter().take(i).any(|y| y == x) {
            out.push(Problem::new(
                at_index(path, name, i),
                EessiCode::DuplicateEntry,
                "the same entry is listed before",
            ));
        }
    }
}

pub(crate) fn each<T: Validate>(out: &mut Vec<Problem>, path: &str, name: &str, list: &[T]) {
    for (i, x) in list.iter().enumerate() {
        x.validate(&at_index(path, name, i), out);
    }
}

pub(crate) fn conditional(out: &mut Vec<Problem>, path: String, message: impl Into<String>) {
    out.push(Problem::new(path, EessiCode::ConditionalField, message));
}

/// Validate a whole SED; the path starts at its root element (`/A009`).
pub fn validate_sed(sed: &crate::sed::Sed) -> Result<(), crate::codes::Problems> {
    let mut out = Vec::new();
    sed.validate(&format!("/{}", sed.sed_type()), &mut out);
    if out.is_empty() {
        Ok(())
    } else {
        Err(crate::codes::Problems(out))
    }
}
