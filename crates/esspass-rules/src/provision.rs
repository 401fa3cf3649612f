//! The legal provisions the engine cites, and how each is cited under each instrument.
//!
//! The EEA Agreement (Annex VI) and the EU–Swiss Agreement (Annex II) apply Regulations 883/2004 and
//! 987/2009 themselves, so they are cited by the Regulations' articles. The EU–UK Trade and
//! Cooperation Agreement has its own Protocol on Social Security Coordination: the engine cites its
//! articles where it automates them (Art SSC.10(3)(a), Art SSC.11) and otherwise names the
//! Regulation provision the Protocol mirrors, marked "cf.".

use serde::Serialize;

/// The instrument under which the states involved coordinate their social security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Instrument {
    /// Regulations 883/2004 and 987/2009 between EU Member States (with Reg. 1231/2010 for
    /// third-country nationals).
    Regulation883,
    /// The EEA Agreement, Annex VI (Iceland, Liechtenstein, Norway with the EU).
    EeaAgreement,
    /// The EU–Swiss Agreement on the free movement of persons, Annex II.
    EuSwissAgreement,
    /// The EU–UK Trade and Cooperation Agreement, Protocol on Social Security Coordination.
    EuUkTca,
}

impl Instrument {
    /// A name for sentences.
    pub fn title(self) -> &'static str {
        match self {
            Instrument::Regulation883 => "Regulations (EC) 883/2004 and 987/2009",
            Instrument::EeaAgreement => "the EEA Agreement (Annex VI: Regulations 883/2004 and 987/2009)",
            Instrument::EuSwissAgreement => "the EU–Swiss Agreement on the free movement of persons (Annex II: Regulations 883/2004 and 987/2009)",
            Instrument::EuUkTca => "the EU–UK Trade and Cooperation Agreement, Protocol on Social Security Coordination",
        }
    }
}

macro_rules! provisions {
    ($( $(#[$doc:meta])* $v:ident => $eu:literal, $uk:literal; )*) => {
        /// A provision the engine applies or cites.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Provision { $( $(#[$doc])* $v, )* }

        impl Provision {
            pub const ALL: &'static [Provision] = &[$(Provision::$v,)*];

            /// Citation under the Regulations (EU, EEA, Switzerland).
            pub fn regulation(self) -> &'static str {
                match self { $(Provision::$v => $eu,)* }
            }

            /// Citation under the EU–UK Trade and Cooperation Agreement.
            pub fn tca(self) -> &'static str {
                match self { $(Provision::$v => $uk,)* }
            }
        }
    };
}

provisions! {
    Reg883Art2 => "883/2004 Art 2", "TCA Art SSC.2";
    Reg883Art91 => "883/2004 Art 91", "TCA Art SSC.2";
    Reg883Art87 => "883/2004 Art 87(8)", "TCA Art SSC.2";
    Reg1231Art1 => "1231/2010 Art 1", "TCA Art SSC.2";
    EeaAnnexVi => "EEA Agreement Annex VI", "EEA Agreement Annex VI";
    SwissAnnexII => "EU-CH Agreement Annex II", "EU-CH Agreement Annex II";
    TcaProtocol => "TCA Protocol on Social Security Coordination", "TCA Protocol on Social Security Coordination";
    Art11_1 => "883/2004 Art 11(1)", "TCA Art SSC.10(1)";
    Art11_3a => "883/2004 Art 11(3)(a)", "TCA Art SSC.10(3)(a)";
    Art11_3b => "883/2004 Art 11(3)(b)", "TCA (cf. 883/2004 Art 11(3)(b))";
    Art11_4 => "883/2004 Art 11(4)", "TCA (cf. 883/2004 Art 11(4))";
    Art11_4Second => "883/2004 Art 11(4), second sentence", "TCA (cf. 883/2004 Art 11(4), second sentence)";
    Art11_5 => "883/2004 Art 11(5)", "TCA (cf. 883/2004 Art 11(5))";
    Art12_1 => "883/2004 Art 12(1)", "TCA Art SSC.11(1)";
    Art12_2 => "883/2004 Art 12(2)", "TCA Art SSC.11(2)";
    Art13_1a => "883/2004 Art 13(1)(a)", "TCA (cf. 883/2004 Art 13(1)(a))";
    Art13_1bi => "883/2004 Art 13(1)(b)(i)", "TCA (cf. 883/2004 Art 13(1)(b)(i))";
    Art13_1bii => "883/2004 Art 13(1)(b)(ii)", "TCA (cf. 883/2004 Art 13(1)(b)(ii))";
    Art13_1biii => "883/2004 Art 13(1)(b)(iii)", "TCA (cf. 883/2004 Art 13(1)(b)(iii))";
    Art13_1biv => "883/2004 Art 13(1)(b)(iv)", "TCA (cf. 883/2004 Art 13(1)(b)(iv))";
    Art13_2a => "883/2004 Art 13(2)(a)", "TCA (cf. 883/2004 Art 13(2)(a))";
    Art13_2b => "883/2004 Art 13(2)(b)", "TCA (cf. 883/2004 Art 13(2)(b))";
    Art13_3 => "883/2004 Art 13(3)", "TCA (cf. 883/2004 Art 13(3))";
    Art13_4 => "883/2004 Art 13(4)", "TCA (cf. 883/2004 Art 13(4))";
    Art15 => "883/2004 Art 15", "TCA (cf. 883/2004 Art 15)";
    Art16_1 => "883/2004 Art 16(1)", "TCA (cf. 883/2004 Art 16(1))";
    Impl14_1 => "987/2009 Art 14(1)", "TCA Annex SSC-7 (cf. 987/2009 Art 14(1))";
    Impl14_2 => "987/2009 Art 14(2)", "TCA Annex SSC-7 (cf. 987/2009 Art 14(2))";
    Impl14_3 => "987/2009 Art 14(3)", "TCA Annex SSC-7 (cf. 987/2009 Art 14(3))";
    Impl14_4 => "987/2009 Art 14(4)", "TCA Annex SSC-7 (cf. 987/2009 Art 14(4))";
    Impl14_5 => "987/2009 Art 14(5)", "TCA Annex SSC-7 (cf. 987/2009 Art 14(5))";
    Impl14_5b => "987/2009 Art 14(5b)", "TCA Annex SSC-7 (cf. 987/2009 Art 14(5b))";
    Impl14_7 => "987/2009 Art 14(7)", "TCA Annex SSC-7 (cf. 987/2009 Art 14(7))";
    Impl14_8 => "987/2009 Art 14(8)", "TCA Annex SSC-7 (cf. 987/2009 Art 14(8))";
    Impl14_9 => "987/2009 Art 14(9)", "TCA Annex SSC-7 (cf. 987/2009 Art 14(9))";
    Impl14_10 => "987/2009 Art 14(10)", "TCA Annex SSC-7 (cf. 987/2009 Art 14(10))";
    Impl14_11 => "987/2009 Art 14(11)", "TCA Annex SSC-7 (cf. 987/2009 Art 14(11))";
    Impl15_2 => "987/2009 Art 15(2)", "TCA Annex SSC-7 (cf. 987/2009 Art 15(2))";
    Impl16 => "987/2009 Art 16", "TCA Annex SSC-7 (cf. 987/2009 Art 16)";
    Impl11 => "987/2009 Art 11", "TCA Annex SSC-7 (cf. 987/2009 Art 11)";
    Impl18 => "987/2009 Art 18", "TCA Annex SSC-7 (cf. 987/2009 Art 18)";
    Impl19_2 => "987/2009 Art 19(2)", "TCA Annex SSC-7 (cf. 987/2009 Art 19(2))";
    GuideI3 => "Practical Guide (2013) Part I §3", "Practical Guide (2013) Part I §3";
    GuideI4 => "Practical Guide (2013) Part I §4", "Practical Guide (2013) Part I §4";
    GuideI5 => "Practical Guide (2013) Part I §5", "Practical Guide (2013) Part I §5";
    GuideI6 => "Practical Guide (2013) Part I §6", "Practical Guide (2013) Part I §6";
    GuideI7 => "Practical Guide (2013) Part I §7", "Practical Guide (2013) Part I §7";
    GuideI9 => "Practical Guide (2013) Part I §9", "Practical Guide (2013) Part I §9";
    GuideI12 => "Practical Guide (2013) Part I §12", "Practical Guide (2013) Part I §12";
    GuideI13 => "Practical Guide (2013) Part I §13", "Practical Guide (2013) Part I §13";
    GuideII2 => "Practical Guide (2013) Part II §2", "Practical Guide (2013) Part II §2";
    GuideII3 => "Practical Guide (2013) Part II §3", "Practical Guide (2013) Part II §3";
    A2Point1 => "Decision A2 point 1", "Decision A2 point 1 (by analogy)";
    A2Point2 => "Decision A2 point 2", "Decision A2 point 2 (by analogy)";
    A2Point3c => "Decision A2 point 3(c)", "Decision A2 point 3(c) (by analogy)";
    A2Point4 => "Decision A2 point 4", "Decision A2 point 4 (by analogy)";
    CjeuFormat => "CJEU C-115/11 Format", "CJEU C-115/11 Format (by analogy)";
    CjeuAlpenrind => "883/2004 Art 12(1); CJEU C-527/16 Alpenrind", "TCA Art SSC.11(1); CJEU C-527/16 Alpenrind (by analogy)";
    CjeuSalemink => "883/2004 Art 11(3)(a); CJEU C-347/10 Salemink", "TCA Art SSC.10(3)(a); CJEU C-347/10 Salemink (by analogy)";
    Gdpr22 => "GDPR Art 22(3)", "GDPR Art 22(3)";
    TeleworkFramework => "883/2004 Art 16(1); Framework Agreement on cross-border telework (2023)", "TCA (cf. 883/2004 Art 16(1))";
}

impl Provision {
    /// The citation under `instrument`.
    pub fn cite(self, instrument: Instrument) -> &'static str {
        match instrument {
            Instrument::EuUkTca => self.tca(),
            _ => self.regulation(),
        }
    }

    /// Whether the engine automates this provision under the TCA (UK cases).
    pub fn automated_under_tca(self) -> bool {
        matches!(self, Provision::Art11_3a | Provision::Art12_1 | Provision::Art12_2)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn citations_are_distinct_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for p in Provision::ALL {
            assert!(seen.insert(p.regulation()), "duplicate citation {}", p.regulation());
            assert!(!p.tca().is_empty());
        }
        assert_eq!(Provision::Art12_1.cite(Instrument::EeaAgreement), "883/2004 Art 12(1)");
        assert_eq!(Provision::Art12_1.cite(Instrument::EuUkTca), "TCA Art SSC.11(1)");
    }
}
