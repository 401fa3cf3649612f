//! XML without surprises: a guarded reader that builds a small element tree ([`read`]), a writer
//! whose output reads back to the same characters ([`write`]), and the mapping between typed
//! values and elements ([`map`]).

pub mod map;
pub mod read;
pub mod write;

pub(crate) use map::Leaf;
pub use read::{Attribute, Element, Limits, parse};
pub use write::XmlWriter;
