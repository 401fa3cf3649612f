//! Mapping between typed values and elements: the [`Item`] and [`Leaf`] traits, the [`Decoder`]
//! that walks an element tree collecting every problem with its path, and the `record!` macro
//! that declares a struct together with its element names.

use super::read::Element;
use super::write::XmlWriter;
use crate::codes::{EessiCode, Problem};
use std::borrow::Cow;

/// A value written as one element.
pub(crate) trait Item: Sized {
    fn write(&self, name: &str, w: &mut XmlWriter);
    /// Read one element; `None` when it holds problems (recorded in `cx`).
    fn read(el: &Element, cx: &mut Decoder) -> Option<Self>;
    /// Content rules checked as soon as the item is read (see [`Decoder::deferred`]).
    fn check(&self, _path: &str, _out: &mut Vec<Problem>) {}
}

/// A value written as the text of an element.
pub(crate) trait Leaf: Sized {
    fn to_text(&self) -> Cow<'_, str>;
    fn from_text(s: &str) -> Result<Self, String>;
}

impl<T: Leaf> Item for T {
    fn write(&self, name: &str, w: &mut XmlWriter) {
        w.leaf(name, &self.to_text());
    }

    fn read(el: &Element, cx: &mut Decoder) -> Option<Self> {
        let mut ok = true;
        if !el.children.is_empty() {
            cx.problem(
                EessiCode::UnexpectedText,
                "this element holds text, not elements",
            );
            ok = false;
        }
        if !el.attributes.is_empty() {
            cx.problem(
                EessiCode::AttributeProblem,
                "this element takes no attributes",
            );
            ok = false;
        }
        match T::from_text(&el.text) {
            Ok(v) if ok => Some(v),
            Ok(_) => None,
            Err(msg) => {
                cx.problem(EessiCode::InvalidValue, msg);
                None
            }
        }
    }
}

impl Leaf for String {
    fn to_text(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
    fn from_text(s: &str) -> Result<Self, String> {
        Ok(s.to_owned())
    }
}

impl Leaf for esspass_core::Date {
    fn to_text(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
    fn from_text(s: &str) -> Result<Self, String> {
        esspass_core::Date::parse(s).ok_or_else(|| format!("{s:?} is not a date YYYY-MM-DD"))
    }
}

/// Countries are written in ISO 3166-1 alpha-2 (`GR`); the EESSI spellings `EL` and `UK` are read too.
impl Leaf for esspass_core::Country {
    fn to_text(&self) -> Cow<'_, str> {
        Cow::Owned(self.iso().to_owned())
    }
    fn from_text(s: &str) -> Result<Self, String> {
        esspass_core::Country::parse(s).ok_or_else(|| format!("{s:?} is not a country code"))
    }
}

impl Leaf for esspass_core::InstitutionId {
    fn to_text(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
    fn from_text(s: &str) -> Result<Self, String> {
        esspass_core::InstitutionId::parse(s)
            .ok_or_else(|| format!("{s:?} is not an institution id CC:localid"))
    }
}

/// Yes/no answers are written `yes` / `no`.
impl Leaf for bool {
    fn to_text(&self) -> Cow<'_, str> {
        Cow::Borrowed(if *self { "yes" } else { "no" })
    }
    fn from_text(s: &str) -> Result<Self, String> {
        match s {
            "yes" => Ok(true),
            "no" => Ok(false),
            _ => Err(format!("{s:?} is not yes or no")),
        }
    }
}

/// Walks an element tree, keeping the path and every problem found.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    path: Vec<String>,
    /// Structural problems: missing, unknown, duplicate elements, values of the wrong type.
    pub problems: Vec<Problem>,
    /// Content problems of the parts that could be read; reported when the whole SED cannot be
    /// built (when it can, the SED's own validation reports them, and more).
    pub deferred: Vec<Problem>,
}

impl Decoder {
    pub fn new(root: &str) -> Self {
        Self {
            path: vec![root.to_owned()],
            problems: Vec::new(),
            deferred: Vec::new(),
        }
    }

    pub fn path(&self) -> String {
        self.path.iter().fold(String::new(), |mut p, s| {
            p.push('/');
            p.push_str(s);
            p
        })
    }

    pub fn problem(&mut self, code: EessiCode, message: impl Into<String>) {
        let path = self.path();
        self.problems.push(Problem::new(path, code, message));
    }

    pub fn within<T>(&mut self, segment: String, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(segment);
        let r = f(self);
        self.path.pop();
        r
    }

    fn read_item<T: Item>(&mut self, segment: String, el: &Element) -> Option<T> {
        self.within(segment, |cx| {
            let v = T::read(el, cx)?;
            let path = cx.path();
            v.check(&path, &mut cx.deferred);
            Some(v)
        })
    }
}

/// The children of one element, each taken at most once; what is left over is reported.
pub(crate) struct Fields<'a> {
    el: &'a Element,
    used: Vec<bool>,
    /// The namespace the children are expected in (`None`: unqualified, as in SEDs).
    ns: Option<&'a str>,
}

impl<'a> Fields<'a> {
    pub fn new(el: &'a Element) -> Self {
        Self {
            el,
            used: vec![false; el.children.len()],
            ns: None,
        }
    }

    /// Children expected in the namespace `ns` (the envelope's).
    pub fn new_in(el: &'a Element, ns: &'a str) -> Self {
        Self {
            el,
            used: vec![false; el.children.len()],
            ns: Some(ns),
        }
    }

    pub fn take(&mut self, name: &str) -> Vec<&'a Element> {
        let mut out = Vec::new();
        for (child, used) in self.el.children.iter().zip(self.used.iter_mut()) {
            if child.ns.as_deref() == self.ns && child.name == name {
                *used = true;
                out.push(child);
            }
        }
        out
    }

    /// Report unknown or namespaced children, text and attributes of a container element.
    pub fn finish(self, cx: &mut Decoder, attributes_checked: bool) {
        for (child, used) in self.el.children.iter().zip(&self.used) {
            if *used {
                continue;
            }
            let segment = child.name.clone();
            let expected = self.ns;
            cx.within(segment, |cx| match (&child.ns, expected) {
                (Some(ns), None) => cx.problem(
                    EessiCode::QualifiedChild,
                    format!("the element is in the namespace {ns:?}; SED elements are unqualified"),
                ),
                (Some(ns), Some(e)) if ns != e => cx.problem(
                    EessiCode::UnknownElement,
                    format!("the element is in the namespace {ns:?}, not {e:?}"),
                ),
                (None, Some(e)) => cx.problem(
                    EessiCode::UnknownElement,
                    format!("the element is not in the namespace {e:?}"),
                ),
                _ => cx.problem(
                    EessiCode::UnknownElement,
                    "the document type does not define this element here",
                ),
            });
        }
        if !self
            .el
            .text
            .chars()
            .all(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
        {
            cx.problem(
                EessiCode::UnexpectedText,
                "this element holds elements, not text",
            );
        }
        if !attributes_checked && !self.el.attributes.is_empty() {
            cx.problem(
                EessiCode::AttributeProblem,
                "this element takes no attributes",
            );
        }
    }

    /// Exactly one child `name`.
    pub fn req<T: Item>(&mut self, name: &str, cx: &mut Decoder) -> Option<T> {
        let found = self.take(name);
        match found.as_slice() {
            [] => {
                cx.within(name.to_owned(), |cx| {
                    cx.problem(EessiCode::MissingElement, "missing")
                });
                None
            }
            [one] => cx.read_item(name.to_owned(), one),
            [first, ..] => {
                cx.within(name.to_owned(), |cx| {
                    cx.problem(
                        EessiCode::DuplicateElement,
                        format!("occurs {} times; once is allowed", found.len()),
                    )
                });
                let _ = cx.read_item::<T>(name.to_owned(), first);
                None
            }
        }
    }

    /// At most one child `name`: `Some(None)` when absent, `None` when present with problems.
    pub fn opt<T: Item>(&mut self, name: &str, cx: &mut Decoder) -> Option<Option<T>> {
        let found = self.take(name);
        match found.as_slice() {
            [] => Some(None),
            [one] => cx.read_item(name.to_owned(), one).map(Some),
            [first, ..] => {
                cx.within(name.to_owned(), |cx| {
                    cx.problem(
                        EessiCode::DuplicateElement,
                        format!("occurs {} times; at most once is allowed", found.len()),
                    )
                });
                let _ = cx.read_item::<T>(name.to_owned(), first);
                None
            }
        }
    }

    /// Any number of children `name`, each read (and its problems recorded) as `name[i]`.
    pub fn list<T: Item>(&mut self, name: &str, cx: &mut Decoder) -> Option<Vec<T>> {
        let found = self.take(name);
        let mut out = Vec::with_capacity(found.len());
        let mut ok = true;
        for (i, el) in found.into_iter().enumerate() {
            match cx.read_item(format!("{name}[{i}]"), el) {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}

/// Write helpers used by `record!`.
pub(crate) fn write_opt<T: Item>(v: &Option<T>, name: &str, w: &mut XmlWriter) {
    if let Some(v) = v {
        v.write(name, w);
    }
}

pub(crate) fn write_list<T: Item>(v: &[T], name: &str, w: &mut XmlWriter) {
    for x in v {
        x.write(name, w);
    }
}

/// Declare a struct whose fields are child elements, in document order. Each field names its
/// element and its multiplicity: `req` (exactly one), `opt` (`Option`, at most one) or `list`
/// (`Vec`, any number). The struct implements [`Item`]; its content rules come from its
/// `crate::validate::Validate` implementation.
macro_rules! record {
    ($(#[$m:meta])* pub struct $name:ident { $( $(#[$fm:meta])* $f:ident : $t:ty => $x:literal $kind:ident, )* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct $name { $( $(#[$fm])* #[serde(rename = $x)] pub $f: $t, )* }

        impl $name {
            /// The element names of the fields, in document order.
            pub const XML_FIELDS: &'static [&'static str] = &[$($x),*];

            #[allow(unused_variables)]
            pub(crate) fn write_fields(&self, w: &mut $crate::xml::XmlWriter) {
                $( record!(@write $kind, &self.$f, $x, w); )*
            }

            #[allow(unused_mut)]
            pub(crate) fn read_fields(el: &$crate::xml::Element, cx: &mut $crate::xml::map::Decoder, attributes_checked: bool) -> Option<Self> {
                let mut fields = $crate::xml::map::Fields::new(el);
                $( let $f = fields.$kind($x, cx); )*
                fields.finish(cx, attributes_checked);
                Some(Self { $($f: $f?,)* })
            }
        }

        impl $crate::xml::map::Item for $name {
            fn write(&self, name: &str, w: &mut $crate::xml::XmlWriter) {
                w.start(name);
                self.write_fields(w);
                w.end(name);
            }
            fn read(el: &$crate::xml::Element, cx: &mut $crate::xml::map::Decoder) -> Option<Self> {
                Self::read_fields(el, cx, false)
            }
            fn check(&self, path: &str, out: &mut Vec<$crate::codes::Problem>) {
                $crate::validate::Validate::validate(self, path, out)
            }
        }
    };
    (@write req, $v:expr, $x:literal, $w:ident) => { $crate::xml::map::Item::write($v, $x, $w) };
    (@write opt, $v:expr, $x:literal, $w:ident) => { $crate::xml::map::write_opt($v, $x, $w) };
    (@write list, $v:expr, $x:literal, $w:ident) => { $crate::xml::map::write_list($v, $x, $w) };
}
pub(crate) use record;
