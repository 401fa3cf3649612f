//! The portal's languages: Fluent bundles for English, Slovenian, Spanish, Greek and Italian
//! (`locales/*.ftl`, compiled in), the language chosen by `?lang=`, then the `esspass-lang` cookie,
//! then `Accept-Language`, and dates in each locale's usual form.

use esspass_core::Date;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Sl,
    Es,
    El,
    It,
}

impl Lang {
    pub const ALL: [Lang; 5] = [Lang::En, Lang::Sl, Lang::Es, Lang::El, Lang::It];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Sl => "sl",
            Lang::Es => "es",
            Lang::El => "el",
            Lang::It => "it",
        }
    }

    /// The language's own name (for the switcher).
    pub fn native(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Sl => "Slovenščina",
            Lang::Es => "Español",
            Lang::El => "Ελληνικά",
            Lang::It => "Italiano",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        let primary = s.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The best of ours for an `Accept-Language` header (quality values honoured; English when none fits).
    pub fn negotiate(accept: &str) -> Lang {
        let mut best: Option<(u32, Lang)> = None;
        for (i, part) in accept.split(',').take(32).enumerate() {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("");
            let q = it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
            if let Some(l) = Lang::parse(tag).filter(|_| q > 0.0) {
                // Higher quality first, then earlier in the header.
                let score = (q.clamp(0.0, 1.0) * 1000.0) as u32 * 100 + (99 - i.min(99) as u32);
                if best.is_none_or(|(s, _)| score > s) {
                    best = Some((score, l));
                }
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../../locales/en.ftl"),
            Lang::Sl => include_str!("../../locales/sl.ftl"),
            Lang::Es => include_str!("../../locales/es.ftl"),
            Lang::El => include_str!("../../locales/el.ftl"),
            Lang::It => include_str!("../../locales/it.ftl"),
        }
    }
}

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static Vec<(Lang, Bundle)> {
    static B: OnceLock<Vec<(Lang, Bundle)>> = OnceLock::new();
    B.get_or_init(|| {
        Lang::ALL
            .into_iter()
            .filter_map(|l| {
                let res = FluentResource::try_new(l.source().to_owned()).ok()?;
                let id: unic_langid::LanguageIdentifier = l.code().parse().ok()?;
                let mut b = FluentBundle::new_concurrent(vec![id]);
                // No Unicode isolation marks around arguments: the pages are escaped HTML, not bidi text.
                b.set_use_isolating(false);
                b.add_resource(res).ok()?;
                Some((l, b))
            })
            .collect()
    })
}

/// The messages of one language.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    fn format(&self, lang: Lang, key: &str, args: Option<&FluentArgs<'_>>) -> Option<String> {
        let (_, b) = bundles().iter().find(|(l, _)| *l == lang)?;
        let pattern = b.get_message(key)?.value()?;
        let mut errors = Vec::new();
        Some(b.format_pattern(pattern, args, &mut errors).into_owned())
    }

    /// The message `key` (English when the language lacks it; the key itself when nobody has it).
    pub fn t(&self, key: &str) -> String {
        self.format(self.lang, key, None).or_else(|| self.format(Lang::En, key, None)).unwrap_or_else(|| key.to_owned())
    }

    /// The message `key`, or `fallback` when no language has it.
    pub fn t_or(&self, key: &str, fallback: &str) -> String {
        self.format(self.lang, key, None).or_else(|| self.format(Lang::En, key, None)).unwrap_or_else(|| fallback.to_owned())
    }

    /// The message `key` with arguments.
    pub fn ta(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut a = FluentArgs::new();
        for (k, v) in args {
            a.set(*k, (*v).to_owned());
        }
        self.format(self.lang, key, Some(&a)).or_else(|| self.format(Lang::En, key, Some(&a))).unwrap_or_else(|| key.to_owned())
    }

    /// A date as the locale writes it.
    pub fn date(&self, d: Date) -> String {
        let (y, m, day) = (d.year(), d.month(), d.day());
        match self.lang {
            Lang::En => {
                const MONTHS: [&str; 12] = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
                format!("{day} {} {y}", MONTHS.get(usize::from(m).saturating_sub(1)).copied().unwrap_or("?"))
            }
            Lang::Sl => format!("{day}. {m}. {y}"),
            Lang::Es | Lang::El => format!("{day}/{m}/{y}"),
            Lang::It => format!("{day:02}/{m:02}/{y}"),
        }
    }

    /// A moment (Unix seconds, UTC) as the locale writes it: the date and the time of day.
    pub fn time(&self, at: i64) -> String {
        let t = time::OffsetDateTime::from_unix_timestamp(at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let d = Date::of_instant(t);
        format!("{} {:02}:{:02} UTC", self.date(d), t.hour(), t.minute())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(src: &str) -> Vec<&str> {
        src.lines().filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim())).filter(|k| !k.is_empty() && !k.starts_with('#')).collect()
    }

    #[test]
    fn every_language_has_every_message_and_parses() {
        let en = keys(Lang::En.source());
        assert!(en.len() > 40);
        for l in Lang::ALL {
            assert_eq!(keys(l.source()), en, "{}: the same messages in the same order", l.code());
            assert!(bundles().iter().any(|(b, _)| *b == l), "{} parses", l.code());
            for k in &en {
                assert_ne!(Tr { lang: l }.t(k), *k, "{}: {k}", l.code());
            }
        }
    }

    #[test]
    fn accept_language_and_dates() {
        assert_eq!(Lang::negotiate("sl-SI,sl;q=0.9,en;q=0.8"), Lang::Sl);
        assert_eq!(Lang::negotiate("de-DE, fr;q=0.9, it;q=0.5, es;q=0.6"), Lang::Es);
        assert_eq!(Lang::negotiate("de"), Lang::En);
        assert_eq!(Lang::negotiate("el;q=0, it"), Lang::It);
        let d = Date::parse("2026-12-04").unwrap();
        assert_eq!(Tr { lang: Lang::En }.date(d), "4 December 2026");
        assert_eq!(Tr { lang: Lang::Sl }.date(d), "4. 12. 2026");
        assert_eq!(Tr { lang: Lang::It }.date(d), "04/12/2026");
        assert_eq!(Tr { lang: Lang::Es }.ta("documents-none", &[("institution", "INSS")]), "Aún no tiene documentos de INSS.");
    }
}
