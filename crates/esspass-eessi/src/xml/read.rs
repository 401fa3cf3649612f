//! The guarded XML reader: turns bytes into a small element tree, or refuses them.
//!
//! Refused before anything is built: documents over the size limit, documents that are not UTF-8,
//! any DOCTYPE (so no DTD, no entity declaration, no external entity, no billion laughs), any
//! reference to an entity other than `&lt; &gt; &amp; &apos; &quot;` and numeric character
//! references to characters XML 1.0 allows, processing instructions, nesting deeper than the
//! limit, and everything quick-xml finds ill-formed (mismatched tags, undeclared prefixes,
//! duplicate attributes, text outside the root, a second root).

use crate::codes::{EessiCode, Problem};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

/// Bounds on untrusted documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest document accepted, in bytes (default 1 MiB).
    pub max_bytes: usize,
    /// Deepest element nesting accepted, the root counting as 1 (default 32; SEDs need 6).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 1024 * 1024,
            max_depth: 32,
        }
    }
}

/// An attribute other than a namespace declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub ns: Option<String>,
    pub name: String,
    pub value: String,
}

/// An element with its resolved namespace, attributes, child elements and character data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub ns: Option<String>,
    pub name: String,
    pub attributes: Vec<Attribute>,
    pub children: Vec<Element>,
    /// All character data directly inside the element (entities resolved, line ends normalised).
    pub text: String,
}

impl Element {
    /// The value of an unqualified attribute.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.ns.is_none() && a.name == name)
            .map(|a| a.value.as_str())
    }
}

fn refused(path: &str, code: EessiCode, message: impl Into<String>) -> Problem {
    Problem::new(if path.is_empty() { "/" } else { path }, code, message)
}

fn path_of(stack: &[Element]) -> String {
    stack.iter().fold(String::new(), |mut p, e| {
        p.push('/');
        p.push_str(&e.name);
        p
    })
}

/// Whether XML 1.0 allows the character in a document.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn ns_of(r: ResolveResult<'_>, path: &str) -> Result<Option<String>, Problem> {
    match r {
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Bound(ns) => {
            let s: &str = ns.as_ref();
            Ok(Some(s.to_owned()))
        }
        ResolveResult::Unknown(prefix) => Err(refused(
            path,
            EessiCode::MalformedXml,
            format!("the namespace prefix {prefix:?} is not declared"),
        )),
    }
}

fn name_str(name: &str) -> String {
    name.to_owned()
}

fn check_chars(s: &str, path: &str) -> Result<(), Problem> {
    match s.chars().find(|c| !is_xml_char(*c)) {
        Some(c) => Err(refused(
            path,
            EessiCode::MalformedXml,
            format!("the character U+{:04X} is not allowed in XML 1.0", c as u32),
        )),
        None => Ok(()),
    }
}

/// Read a document into its root element, or refuse it with the first reason found.
pub fn parse(input: &[u8], limits: &Limits) -> Result<Element, Problem> {
    if input.len() > limits.max_bytes {
        return Err(refused(
            "/",
            EessiCode::TooLarge,
            format!(
                "the document has {} bytes; at most {} are accepted",
                input.len(),
                limits.max_bytes
            ),
        ));
    }
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = std::str::from_utf8(input).map_err(|e| {
        refused(
            "/",
            EessiCode::NotUtf8,
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    let mut reader = NsReader::from_str(text);
    {
        let c = reader.config_mut();
        c.check_end_names = true;
        c.check_comments = true;
        c.expand_empty_elements = false;
        c.allow_unmatched_ends = false;
        c.allow_dangling_amp = false;
        c.trim_text_start = false;
        c.trim_text_end = false;
    }
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut seen_anything = false;
    loop {
        let path = path_of(&stack);
        let (resolved, event) = match reader.read_resolved_event() {
            Ok(x) => x,
            Err(e) => {
                return Err(refused(
                    &path,
                    EessiCode::MalformedXml,
                    format!("at byte {}: {e}", reader.error_position()),
                ));
            }
        };
        let resolved_ns = match &event {
            Event::Start(_) | Event::Empty(_) => Some(ns_of(resolved, &path)?),
            _ => None,
        };
        match event {
            Event::Decl(d) => {
                if seen_anything {
                    return Err(refused(
                        &path,
                        EessiCode::MalformedXml,
                        "the XML declaration must come first",
                    ));
                }
                let version = d
                    .version()
                    .map_err(|e| refused("/", EessiCode::MalformedXml, e.to_string()))?;
                if version.as_ref() != "1.0" {
                    return Err(refused(
                        "/",
                        EessiCode::MalformedXml,
                        format!("XML version {version} is not accepted; only 1.0"),
                    ));
                }
                if let Some(enc) = d.encoding() {
                    let enc =
                        enc.map_err(|e| refused("/", EessiCode::MalformedXml, e.to_string()))?;
                    if !enc.eq_ignore_ascii_case("utf-8") {
                        return Err(refused(
                            "/",
                            EessiCode::NotUtf8,
                            format!("the declared encoding {enc:?} is not UTF-8"),
                        ));
                    }
                }
            }
            Event::DocType(_) => {
                return Err(refused(
                    &path,
                    EessiCode::DoctypeRefused,
                    "a DOCTYPE is not accepted: SEDs are read without DTD or entity declarations",
                ));
            }
            Event::PI(pi) => {
                return Err(refused(
                    &path,
                    EessiCode::ProcessingInstructionRefused,
                    format!(
                        "the processing instruction <?{}?> is not accepted",
                        pi.target()
                    ),
                ));
            }
            Event::Comment(_) => {}
            Event::Start(s) | Event::Empty(s) if root.is_some() => {
                let _ = s;
                return Err(refused(
                    "/",
                    EessiCode::MalformedXml,
                    "the document has a second root element",
                ));
            }
            ev @ (Event::Start(_) | Event::Empty(_)) => {
                let is_empty = matches!(ev, Event::Empty(_));
                let (Event::Start(s) | Event::Empty(s)) = ev else {
                    continue;
                };
                if stack.len() >= limits.max_depth {
                    return Err(refused(
                        &path,
                        EessiCode::TooDeep,
                        format!("elements nest deeper than {} levels", limits.max_depth),
                    ));
                }
                let name = name_str(s.local_name().as_ref());
                let here = format!("{path}/{name}");
                let mut attributes = Vec::new();
                for a in s.attributes() {
                    let a =
                        a.map_err(|e| refused(&here, EessiCode::MalformedXml, e.to_string()))?;
                    let key = a.key;
                    if key.as_namespace_binding().is_some() {
                        continue;
                    }
                    let (ans, local) = reader.resolver().resolve_attribute(key);
                    let ns = ns_of(ans, &here)?;
                    let value = a.normalized_value(XmlVersion::Implicit1_0).map_err(|e| {
                        let msg = e.to_string();
                        if msg.contains("entity") || msg.contains("Entity") {
                            refused(
                                &here,
                                EessiCode::EntityRefused,
                                format!("attribute value: {msg}"),
                            )
                        } else {
                            refused(
                                &here,
                                EessiCode::MalformedXml,
                                format!("attribute value: {msg}"),
                            )
                        }
                    })?;
                    check_chars(&value, &here)?;
                    attributes.push(Attribute {
                        ns,
                        name: name_str(local.as_ref()),
                        value: value.into_owned(),
                    });
                }
                seen_anything = true;
                let el = Element {
                    ns: resolved_ns.flatten(),
                    name,
                    attributes,
                    children: Vec::new(),
                    text: String::new(),
                };
                if is_empty {
                    attach(&mut stack, &mut root, el);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err(refused(
                        "/",
                        EessiCode::MalformedXml,
                        "an end tag without a start tag",
                    ));
                };
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                check_chars(&content, &path)?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&content),
                    None if content
                        .chars()
                        .all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) => {}
                    None => {
                        return Err(refused(
                            "/",
                            EessiCode::MalformedXml,
                            "text outside the root element",
                        ));
                    }
                }
                seen_anything = true;
            }
            Event::CData(t) => {
                let content = t.xml10_content();
                check_chars(&content, &path)?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&content),
                    None => {
                        return Err(refused(
                            "/",
                            EessiCode::MalformedXml,
                            "CDATA outside the root element",
                        ));
                    }
                }
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) if is_xml_char(c) => c,
                        _ => {
                            return Err(refused(
                                &path,
                                EessiCode::MalformedXml,
                                format!("&{}; is not a character XML 1.0 allows", &*r),
                            ));
                        }
                    }
                } else {
                    match &*r {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            return Err(refused(
                                &path,
                                EessiCode::EntityRefused,
                                format!(
                                    "the entity &{other}; is not one of the five predefined XML entities"
                                ),
                            ));
                        }
                    }
                };
                match stack.last_mut() {
                    Some(top) => top.text.push(resolved),
                    None => {
                        return Err(refused(
                            "/",
                            EessiCode::MalformedXml,
                            "a reference outside the root element",
                        ));
                    }
                }
            }
            Event::Eof => {
                if !stack.is_empty() {
                    return Err(refused(
                        &path,
                        EessiCode::MalformedXml,
                        "the document ends inside an element",
                    ));
                }
                return root.ok_or_else(|| {
                    refused(
                        "/",
                        EessiCode::MalformedXml,
                        "the document has no root element",
                    )
                });
            }
        }
    }
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(doc: &str) -> EessiCode {
        match parse(doc.as_bytes(), &Limits::default()) {
            Ok(_) => panic!("accepted: {doc}"),
            Err(p) => p.code,
        }
    }

    #[test]
    fn reads_namespaces_text_and_references() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c --><s:R xmlns:s=\"urn:x\" a=\"1 &amp; 2\"><k>a&lt;b&#x41;&#66;\r\nz</k><e/></s:R>\n";
        let r = parse(doc.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(r.ns.as_deref(), Some("urn:x"));
        assert_eq!(r.name, "R");
        assert_eq!(r.attribute("a"), Some("1 & 2"));
        assert_eq!(r.children[0].ns, None);
        assert_eq!(r.children[0].text, "a<bAB\nz");
        assert_eq!(r.children[1].name, "e");
    }

    #[test]
    fn refusals() {
        assert_eq!(
            code("<!DOCTYPE r [<!ENTITY a \"x\">]><r>&a;</r>"),
            EessiCode::DoctypeRefused
        );
        assert_eq!(code("<r>&a;</r>"), EessiCode::EntityRefused);
        assert_eq!(code("<r a=\"&a;\"/>"), EessiCode::EntityRefused);
        assert_eq!(code("<r>&#1;</r>"), EessiCode::MalformedXml);
        assert_eq!(
            code("<r><?php x?></r>"),
            EessiCode::ProcessingInstructionRefused
        );
        assert_eq!(code("<r></s>"), EessiCode::MalformedXml);
        assert_eq!(code("<r/><r/>"), EessiCode::MalformedXml);
        assert_eq!(code("<p:r/>"), EessiCode::MalformedXml);
        assert_eq!(code("<r>\u{1}</r>"), EessiCode::MalformedXml);
        assert_eq!(code("x<r/>"), EessiCode::MalformedXml);
        assert_eq!(code("<r>"), EessiCode::MalformedXml);
        assert_eq!(code(""), EessiCode::MalformedXml);
        assert_eq!(code("<?xml version=\"1.1\"?><r/>"), EessiCode::MalformedXml);
        assert_eq!(
            code("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>"),
            EessiCode::NotUtf8
        );
        assert_eq!(code("<r a=\"1\" a=\"2\"/>"), EessiCode::MalformedXml);
        let limits = Limits {
            max_bytes: 10,
            max_depth: 2,
        };
        assert_eq!(
            parse(b"<r>0123456789</r>", &limits).unwrap_err().code,
            EessiCode::TooLarge
        );
        assert_eq!(
            parse(
                b"<a><b><c/></b></a>",
                &Limits {
                    max_bytes: 100,
                    max_depth: 2
                }
            )
            .unwrap_err()
            .code,
            EessiCode::TooDeep
        );
        assert!(
            parse(
                b"<a><b/></a>",
                &Limits {
                    max_bytes: 100,
                    max_depth: 2
                }
            )
            .is_ok()
        );
        assert_eq!(
            parse(b"<r>\xFF</r>", &Limits::default()).unwrap_err().code,
            EessiCode::NotUtf8
        );
    }
}
