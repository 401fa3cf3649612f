//! Code lists of the PDA1: the twelve status-confirmation codes and the employer types.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! two_digit_code {
    ($(#[$doc:meta])* $name:ident, $err:expr, { $($variant:ident = $code:literal, $text:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $( #[doc = $text] $variant, )* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            /// The two-digit code as written in the credential.
            pub fn code(self) -> &'static str { match self { $($name::$variant => $code,)* } }
            /// The meaning in plain English.
            pub fn label(self) -> &'static str { match self { $($name::$variant => $text,)* } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($code => Some($name::$variant),)* _ => None } }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.code()) }
        }

        impl std::str::FromStr for $name {
            type Err = crate::ErrorCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> { $name::parse(s).ok_or($err) }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.code()) }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown code {s:?}")))
            }
        }
    };
}

two_digit_code!(
    /// PDA1 `status_confirmation` (DC4EU WP6 Annex 1).
    StatusConfirmation, crate::ErrorCode::InvalidStatusConfirmation, {
    PostedEmployed = "01", "posted employed person";
    EmployedTwoOrMoreStates = "02", "employed in two or more states";
    PostedSelfEmployed = "03", "posted self-employed person";
    SelfEmployedTwoOrMoreStates = "04", "self-employed in two or more states";
    CivilServant = "05", "civil servant";
    ContractStaff = "06", "contract staff";
    Mariner = "07", "mariner";
    EmployedAndSelfEmployed = "08", "employed and self-employed in different states";
    CivilServantAndEmployedOrSelfEmployed = "09", "civil servant and employed or self-employed";
    FlightCrew = "10", "flight crew member";
    Exception = "11", "exception (Art 16)";
    WorkingInCompetentStateOnly = "12", "working only in the state whose legislation applies";
});

two_digit_code!(
    /// PDA1 `employer[].type`.
    EmployerType, crate::ErrorCode::InvalidEmployerType, {
    Employment = "01", "employment";
    SelfEmployment = "02", "self-employment";
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_twelve_codes_roundtrip() {
        assert_eq!(StatusConfirmation::ALL.len(), 12);
        for (i, c) in StatusConfirmation::ALL.iter().enumerate() {
            assert_eq!(c.code(), format!("{:02}", i + 1));
            assert_eq!(StatusConfirmation::parse(c.code()), Some(*c));
        }
        // Code 01, the most common case, is accepted (one pilot rejects it).
        assert_eq!(StatusConfirmation::parse("01"), Some(StatusConfirmation::PostedEmployed));
        for bad in ["00", "13", "1", "001", " 01"] {
            assert!(StatusConfirmation::parse(bad).is_none());
        }
        assert!(EmployerType::parse("03").is_none());
    }
}
