//! Typed SEDs: one struct per SED type, and [`Sed`], the one of them a document holds.

pub mod la;
pub mod other;

pub use la::{
    A001, A002, A003, A004, A005, A006, A007, A008, A008Purpose, A009, A010, A011, A012, Change,
    RefusalKind, SeveralStates,
};
pub use other::{
    BusinessException, ClosureReason, H001, H002, InvalidationReason, RejectionReason,
    ReminderReply, X001, X008, X009, X010, X011, X050,
};

use crate::blocks::{DocumentRef, Person};
use crate::codes::Problem;
use crate::ids::SedType;
use crate::validate::Validate;
use crate::xml::map::Decoder;
use crate::xml::{Element, XmlWriter};

macro_rules! seds {
    ($($t:ident),* $(,)?) => {
        /// One SED of any type this crate knows.
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "sed")]
        pub enum Sed { $( $t($t), )* }

        impl Sed {
            /// The SED's type.
            pub fn sed_type(&self) -> SedType {
                match self { $( Sed::$t(_) => SedType::$t, )* }
            }

            pub(crate) fn write_fields(&self, w: &mut XmlWriter) {
                match self { $( Sed::$t(x) => x.write_fields(w), )* }
            }

            pub(crate) fn read_fields(t: SedType, el: &Element, cx: &mut Decoder) -> Option<Sed> {
                match t { $( SedType::$t => $t::read_fields(el, cx, true).map(Sed::$t), )* }
            }

            /// The element names below the root, in document order.
            pub fn xml_fields(t: SedType) -> &'static [&'static str] {
                match t { $( SedType::$t => $t::XML_FIELDS, )* }
            }
        }

        impl Validate for Sed {
            fn validate(&self, path: &str, out: &mut Vec<Problem>) {
                match self { $( Sed::$t(x) => x.validate(path, out), )* }
            }
        }

        $(
            impl From<$t> for Sed {
                fn from(x: $t) -> Sed { Sed::$t(x) }
            }
        )*
    };
}

seds!(
    A001, A002, A003, A004, A005, A006, A007, A008, A009, A010, A011, A012, H001, H002, X001, X008,
    X009, X010, X011, X050
);

impl Sed {
    /// The person the SED concerns, where it names one.
    pub fn person(&self) -> Option<&Person> {
        match self {
            Sed::A001(x) => Some(&x.person),
            Sed::A002(x) => Some(&x.person),
            Sed::A003(x) => Some(&x.person),
            Sed::A004(x) => Some(&x.person),
            Sed::A005(x) => Some(&x.person),
            Sed::A006(x) => Some(&x.person),
            Sed::A007(x) => Some(&x.person),
            Sed::A008(x) => Some(&x.person),
            Sed::A009(x) => Some(&x.person),
            Sed::A010(x) => Some(&x.person),
            Sed::A011(x) => Some(&x.person),
            Sed::A012(x) => Some(&x.person),
            Sed::H001(x) => x.person.as_ref(),
            Sed::H002(x) => x.person.as_ref(),
            Sed::X001(_)
            | Sed::X008(_)
            | Sed::X009(_)
            | Sed::X010(_)
            | Sed::X011(_)
            | Sed::X050(_) => None,
        }
    }

    /// The other documents of the case this SED refers to: the request a reply answers, the SED an
    /// X008 invalidates or an X011 rejects, the requests an X009 reminds of, the document an X050
    /// concerns. The BUC state machine checks them.
    pub fn references(&self) -> Vec<DocumentRef> {
        match self {
            Sed::A002(x) => vec![x.answers.clone()],
            Sed::A004(x) => vec![x.answers.clone()],
            Sed::A006(x) => vec![x.answers.clone()],
            Sed::A011(x) => vec![x.answers.clone()],
            Sed::A012(x) => vec![x.answers.clone()],
            Sed::H002(x) => vec![x.answers.clone()],
            Sed::X008(x) => vec![x.invalidates.clone()],
            Sed::X009(x) => x.reminds_of.clone(),
            Sed::X010(x) => vec![x.answers.clone()],
            Sed::X011(x) => vec![x.rejects.clone()],
            Sed::X050(x) => x.concerns.iter().cloned().collect(),
            Sed::A001(_)
            | Sed::A003(_)
            | Sed::A005(_)
            | Sed::A007(_)
            | Sed::A008(_)
            | Sed::A009(_)
            | Sed::A010(_)
            | Sed::H001(_)
            | Sed::X001(_) => Vec::new(),
        }
    }
}
