//! The printable paper document: one A4 page with the holder's data in the document's layout, the
//! signed QR code (vector, at least 35 mm: we print it at 60 mm), the issuing institution and how to
//! check it, in the issuing state's language and in English ([`crate::labels`]); and the QR code
//! alone as PNG. `krilla` writes the PDF (DejaVu Sans, subset and embedded), `image` the PNG.

use crate::labels::{self, EN, Labels};
use crate::{Paper, err, qr};
use esspass_core::{CredentialType, ErrorCode};
use esspass_credential::Result;
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use serde_json::Value;
use std::sync::{Arc, OnceLock};

const REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// A4 in points.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 48.0;
/// One millimetre in points.
const MM: f32 = 72.0 / 25.4;
/// The printed side of the QR code, quiet zone included.
pub const QR_SIDE_MM: f32 = 60.0;

fn fonts() -> Result<&'static (Font, Font)> {
    static FONTS: OnceLock<Option<(Font, Font)>> = OnceLock::new();
    FONTS
        .get_or_init(|| Some((Font::new(Arc::new(REGULAR.to_vec()).into(), 0)?, Font::new(Arc::new(BOLD.to_vec()).into(), 0)?)))
        .as_ref()
        .ok_or_else(|| err(ErrorCode::Internal, "the embedded font does not load"))
}

/// What is printed: the paper credential (its QR text) and the document's claims.
#[derive(Debug)]
pub struct PrintRequest<'a> {
    pub paper: &'a Paper,
    pub credential_type: CredentialType,
    /// The business claims (docs/domain.md §2): printed whole even when the QR code holds only the
    /// identifiers.
    pub claims: &'a Value,
    /// Where the document can be checked online by its number, printed when given.
    pub online_check: Option<&'a str>,
}

struct Writer<'s, 'p> {
    s: &'s mut Surface<'p>,
    regular: Font,
    bold: Font,
    y: f32,
    /// Right edge of the text column (narrower beside the QR code).
    right: f32,
    local: Option<&'static Labels>,
}

fn black() -> Fill {
    Fill { paint: rgb::Color::new(0, 0, 0).into(), opacity: NormalizedF32::ONE, rule: Default::default() }
}

fn grey() -> Fill {
    // 4.6:1 against white: readable small print.
    Fill { paint: rgb::Color::new(0x55, 0x55, 0x55).into(), opacity: NormalizedF32::ONE, rule: Default::default() }
}

/// A conservative width estimate for DejaVu Sans (its widest common glyphs are ~0.65 em).
fn fits(text: &str, size: f32, width: f32) -> usize {
    let per = size * 0.62;
    ((width / per).floor() as usize).max(8).min(text.chars().count().max(1))
}

fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
        if candidate.chars().count() > fits(&candidate, size, width) && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            line = word.to_owned();
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

impl Writer<'_, '_> {
    fn text(&mut self, x: f32, size: f32, bold: bool, fill: Fill, text: &str) {
        let width = self.right - x;
        let font = if bold { self.bold.clone() } else { self.regular.clone() };
        self.s.set_fill(Some(fill));
        for line in wrap(text, size, width) {
            self.y += size * 1.25;
            self.s.draw_text(Point::from_xy(x, self.y), font.clone(), size, &line, false, TextDirection::Auto);
        }
    }

    /// "Local / English" (or English alone).
    fn both(&self, pick: fn(&Labels) -> &'static str) -> String {
        match self.local {
            Some(l) if pick(l) != pick(&EN) => format!("{} / {}", pick(l), pick(&EN)),
            _ => pick(&EN).to_owned(),
        }
    }

    fn heading(&mut self, pick: fn(&Labels) -> &'static str) {
        self.y += 10.0;
        let t = self.both(pick);
        self.text(MARGIN, 12.0, true, black(), &t);
        self.y += 2.0;
    }

    fn field(&mut self, pick: fn(&Labels) -> &'static str, value: &str) {
        let label = self.both(pick);
        self.text(MARGIN, 7.5, false, grey(), &label);
        self.text(MARGIN, 11.0, false, black(), value);
        self.y += 3.0;
    }
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn address(a: &Value) -> String {
    if let Some(f) = a.get("formatted").and_then(Value::as_str) {
        return f.to_owned();
    }
    let parts: Vec<&str> = ["/company_name", "/street_address", "/house_number", "/postal_code", "/locality", "/region", "/country"].iter().map(|p| s(a, p)).filter(|x| !x.is_empty()).collect();
    parts.join(", ")
}

/// Draw the QR code with its top-left corner at (x, y), `side` points wide, quiet zone included.
fn draw_qr(surface: &mut Surface<'_>, text: &str, x: f32, y: f32, side: f32) -> Result<()> {
    let code = qr(text)?;
    let w = code.width();
    let colors = code.to_colors();
    let module = side / (w as f32 + 8.0);
    let (ox, oy) = (x + 4.0 * module, y + 4.0 * module);
    let mut pb = PathBuilder::new();
    for (row, line) in colors.chunks(w).enumerate() {
        let mut col = 0;
        while col < line.len() {
            if line.get(col) == Some(&qrcode::Color::Dark) {
                let start = col;
                while line.get(col) == Some(&qrcode::Color::Dark) {
                    col += 1;
                }
                if let Some(r) = Rect::from_xywh(ox + start as f32 * module, oy + row as f32 * module, (col - start) as f32 * module, module) {
                    pb.push_rect(r);
                }
            } else {
                col += 1;
            }
        }
    }
    surface.set_fill(Some(black()));
    if let Some(path) = pb.finish() {
        surface.draw_path(&path);
    }
    Ok(())
}

/// The printable A4 page as PDF bytes.
pub fn pdf(r: &PrintRequest<'_>) -> Result<Vec<u8>> {
    let (regular, bold) = fonts()?.clone();
    let c = r.claims;
    let local = labels::for_country(s(c, "/issuing_authority/country"));
    let mut doc = Document::new();
    let title = match r.credential_type {
        CredentialType::Pda1 => EN.pda1_title,
        CredentialType::Ehic => EN.ehic_title,
        CredentialType::Pid => return Err(err(ErrorCode::Usage, "a PID has no paper form (only the PDA1 and the EHIC)")),
    };
    let mut meta = Metadata::new().title(format!("{title} {}", s(c, "/document_number"))).creator("esspass".to_owned());
    if let Some(l) = local {
        meta = meta.language(l.lang.to_owned());
    }
    doc.set_metadata(meta);
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| err(ErrorCode::Internal, "page size"))?;
    {
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        let side = QR_SIDE_MM * MM;
        let qr_x = PAGE_W - MARGIN - side;
        let mut w = Writer { s: &mut surface, regular, bold, y: MARGIN - 10.0, right: PAGE_W - MARGIN, local };
        // Title block, full width.
        type Pick = fn(&Labels) -> &'static str;
        let (t, sub): (Pick, Pick) = match r.credential_type {
            CredentialType::Pda1 => (|l| l.pda1_title, |l| l.pda1_subtitle),
            CredentialType::Ehic | CredentialType::Pid => (|l| l.ehic_title, |l| l.ehic_subtitle),
        };
        if let Some(l) = local {
            w.text(MARGIN, 18.0, true, black(), t(l));
            w.text(MARGIN, 9.5, false, black(), sub(l));
            w.y += 4.0;
        }
        w.text(MARGIN, if local.is_some() { 13.0 } else { 18.0 }, true, black(), t(&EN));
        w.text(MARGIN, 9.5, false, grey(), sub(&EN));
        w.y += 8.0;
        // The QR code on the right, the identifying fields beside it.
        let qr_top = w.y + 6.0;
        draw_qr(w.s, &r.paper.text, qr_x, qr_top, side)?;
        w.right = qr_x - 12.0;
        w.heading(|l| l.document);
        w.field(|l| l.document_number, s(c, "/document_number"));
        let issuer = format!("{} ({}, {})", s(c, "/issuing_authority/name"), s(c, "/issuing_authority/id"), s(c, "/issuing_authority/country"));
        w.field(|l| l.issuing_institution, &issuer);
        w.field(|l| l.date_of_issue, s(c, "/date_of_issuance"));
        w.field(|l| l.expiry, s(c, "/date_of_expiry"));
        let to = w.both(|l| l.to);
        w.field(|l| l.period, &format!("{}   ({to})   {}", s(c, "/starting_date"), s(c, "/ending_date")));
        w.y = w.y.max(qr_top + side + 4.0);
        w.right = PAGE_W - MARGIN;
        w.heading(|l| l.holder);
        w.field(|l| l.personal_number, s(c, "/personal_administrative_number"));
        if let Some(subject) = c.get("subject") {
            w.field(|l| l.surname, s(subject, "/familynames"));
            w.field(|l| l.forenames, s(subject, "/forenames"));
            w.field(|l| l.birth_date, s(subject, "/date_of_birth"));
        }
        if r.credential_type == CredentialType::Pda1 {
            w.field(|l| l.legislation, s(c, "/legislation_country"));
            let code = s(c, "/status_confirmation");
            w.field(|l| l.status, &format!("{code} — {}", labels::status_text(code)));
            if c.get("transitional_rules").and_then(Value::as_bool) == Some(true) {
                let yes = w.both(|l| l.yes);
                w.field(|l| l.transitional, &yes);
            }
            w.heading(|l| l.employer);
            for e in c.get("employer").and_then(Value::as_array).into_iter().flatten() {
                w.text(MARGIN, 11.0, false, black(), &format!("{} — {} ({}, {})", s(e, "/name"), s(e, "/id"), s(e, "/country"), s(e, "/type")));
            }
            w.heading(|l| l.places);
            let wi = c.get("work_information").cloned().unwrap_or(Value::Null);
            if wi.get("no_fixed_place_of_work").and_then(Value::as_bool) == Some(true) {
                let t = w.both(|l| l.no_fixed_place);
                w.text(MARGIN, 11.0, false, black(), &t);
            }
            for a in wi.get("work_address").and_then(Value::as_array).into_iter().flatten() {
                w.text(MARGIN, 11.0, false, black(), &address(a));
            }
        }
        w.heading(|l| l.how_to_check);
        if let Some(l) = local {
            w.text(MARGIN, 9.0, false, black(), l.check_text);
        }
        w.text(MARGIN, 9.0, false, if local.is_some() { grey() } else { black() }, EN.check_text);
        if r.paper.minimal {
            if let Some(l) = local {
                w.text(MARGIN, 9.0, true, black(), l.minimal_note);
            }
            w.text(MARGIN, 9.0, true, black(), EN.minimal_note);
        }
        if let Some(url) = r.online_check {
            w.text(MARGIN, 9.0, false, black(), url);
        }
        w.y = w.y.max(PAGE_H - MARGIN - 24.0);
        let foot = format!("{}   ·   QR {} · v{}", s(c, "/document_number"), &r.paper.text.get(..4).unwrap_or(""), r.paper.qr_version);
        w.text(MARGIN, 7.0, false, grey(), &foot);
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| err(ErrorCode::Internal, format!("PDF: {e:?}")))
}

/// The QR code alone as PNG: `scale` pixels a module, a four-module quiet zone.
pub fn png(paper: &Paper, scale: u32) -> Result<Vec<u8>> {
    qr_png(&paper.text, scale)
}

/// Any text (an `openid4vp://` link, an offer) as a QR code in SVG, at error correction level Q.
pub fn qr_svg(text: &str) -> Result<String> {
    Ok(qr(text)?.render::<qrcode::render::svg::Color<'_>>().min_dimensions(320, 320).quiet_zone(true).build())
}

/// Any text as a QR code in PNG: `scale` pixels a module, a four-module quiet zone.
pub fn qr_png(text: &str, scale: u32) -> Result<Vec<u8>> {
    let code = qr(text)?;
    let w = code.width() as u32;
    let colors = code.to_colors();
    let scale = scale.clamp(1, 32);
    let side = (w + 8) * scale;
    let img = image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = ((x / scale).wrapping_sub(4), (y / scale).wrapping_sub(4));
        let dark = mx < w && my < w && colors.get((my * w + mx) as usize) == Some(&qrcode::Color::Dark);
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).map_err(|e| err(ErrorCode::Internal, format!("PNG: {e}")))?;
    Ok(out.into_inner())
}

/// The largest image [`scan`] decodes (pixels), and the memory it may take.
pub const MAX_PIXELS: u64 = 40_000_000;

/// Read the esspass QR code (`PA1:`/`EH1:` …) from a PNG or JPEG image: a scan, a photo of the paper,
/// or a rasterised PDF page.
pub fn scan(bytes: &[u8]) -> Result<String> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|_| err(ErrorCode::PaperImage, "not an image"))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4);
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| err(ErrorCode::PaperImage, format!("the image does not decode (PNG or JPEG): {e}")))?;
    if u64::from(img.width()) * u64::from(img.height()) > MAX_PIXELS {
        return Err(err(ErrorCode::PaperImage, "the image is larger than 40 megapixels"));
    }
    let grey = img.to_luma8();
    // As taken first; then made black and white at Otsu's threshold (JPEG noise around small
    // modules); then enlarged two and three times and thresholded (modules of two or three pixels:
    // the finder patterns and the sampling grid are found on the larger picture).
    let mut seen = 0;
    if let Some(found) = decode_grey(&grey, &mut seen) {
        return Ok(found);
    }
    if let Some(found) = decode_grey(&otsu(&grey), &mut seen) {
        return Ok(found);
    }
    for factor in [2u32, 3] {
        if u64::from(grey.width()) * u64::from(grey.height()) * u64::from(factor * factor) > MAX_PIXELS {
            break;
        }
        let big = image::imageops::resize(&grey, grey.width() * factor, grey.height() * factor, image::imageops::FilterType::Triangle);
        if let Some(found) = decode_grey(&otsu(&big), &mut seen) {
            return Ok(found);
        }
    }
    Err(err(ErrorCode::PaperImage, if seen == 0 { "no QR code found in the image".to_owned() } else { format!("{seen} QR code(s) found, none an esspass paper credential that decodes") }))
}

/// The picture in black and white at the threshold that best separates its two classes of grey
/// (Otsu 1979).
fn otsu(grey: &image::GrayImage) -> image::GrayImage {
    let mut histogram = [0u64; 256];
    for p in grey.pixels() {
        if let Some(h) = histogram.get_mut(usize::from(p.0[0])) {
            *h += 1;
        }
    }
    let total: u64 = histogram.iter().sum();
    let sum: f64 = histogram.iter().enumerate().map(|(i, c)| i as f64 * *c as f64).sum();
    let (mut sum_below, mut below, mut best, mut threshold) = (0.0f64, 0u64, 0.0f64, 128u8);
    for (t, count) in (0u8..=255).zip(histogram.iter()) {
        below += count;
        if below == 0 {
            continue;
        }
        let above = total - below;
        if above == 0 {
            break;
        }
        sum_below += f64::from(t) * *count as f64;
        let (mean_below, mean_above) = (sum_below / below as f64, (sum - sum_below) / above as f64);
        let between = below as f64 * above as f64 * (mean_below - mean_above).powi(2);
        if between > best {
            best = between;
            threshold = t;
        }
    }
    let mut out = grey.clone();
    for p in out.pixels_mut() {
        p.0[0] = if p.0[0] > threshold { 255 } else { 0 };
    }
    out
}

fn decode_grey(grey: &image::GrayImage, seen: &mut usize) -> Option<String> {
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(grey.width() as usize, grey.height() as usize, |x, y| grey.get_pixel(x as u32, y as u32).0[0]);
    for grid in prepared.detect_grids() {
        *seen += 1;
        if let Ok((_, content)) = grid.decode()
            && (content.starts_with("PA1:") || content.starts_with("EH1:"))
        {
            return Some(content);
        }
    }
    None
}
