//! The consent letter: one A4 page the help desk prints and posts to the
//! user, carrying the consent phrase that activates the key.
//!
//! The PDF (ISO 32000-1) uses only the standard Type 1 fonts Helvetica,
//! Helvetica-Bold and Courier-Bold (§9.6.2.2, not embedded) with
//! WinAnsiEncoding (Annex D), and an uncompressed content stream, so text
//! extraction (`pdftotext`) finds the phrase and the fingerprint. Text outside
//! WinAnsi is mapped to the nearest letter without its accent where Unicode
//! Latin Extended-A has one (Ł → L, ő → o), else to `?`. No creation date is
//! written: the same letter gives the same bytes.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

/// A4 in PostScript points.
const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 64.0;
/// Wrapping width for 10.5 pt Helvetica body text, in characters: a
/// conservative count (Helvetica's average width is about 0.5 em).
const WRAP_CHARS: usize = 88;

const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");
const MONO: Name<'static> = Name(b"F3");

/// What a consent letter says.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsentLetter {
    /// The user's name as registered (common name).
    pub full_name: String,
    /// The user id to type with the phrase.
    pub user_id: String,
    /// The user's organisation.
    pub organization: String,
    /// The consent phrase in its printed form (`ConsentPhrase::display`).
    pub phrase: String,
    /// SHA-256 fingerprint of the user's public key, hexadecimal.
    pub public_key_fingerprint_hex: String,
    /// Date of the application, as it should be printed.
    pub issued_on: String,
    /// Last day the phrase is accepted, as it should be printed.
    pub expires_on: String,
}

impl std::fmt::Debug for ConsentLetter {
    /// Everything but the phrase.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentLetter")
            .field("user_id", &self.user_id)
            .field("issued_on", &self.issued_on)
            .field("expires_on", &self.expires_on)
            .finish_non_exhaustive()
    }
}

impl ConsentLetter {
    /// The letter as a one-page PDF.
    pub fn to_pdf(&self) -> Vec<u8> {
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let page = Ref::new(3);
        let content = Ref::new(4);
        let fonts = [
            (REGULAR, Ref::new(5), "Helvetica"),
            (BOLD, Ref::new(6), "Helvetica-Bold"),
            (MONO, Ref::new(7), "Courier-Bold"),
        ];
        let info = Ref::new(8);

        let mut pdf = Pdf::new();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree).kids([page]).count(1);
        let mut p = pdf.page(page);
        p.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
        p.parent(tree);
        p.contents(content);
        {
            let mut resources = p.resources();
            let mut dict = resources.fonts();
            for (name, id, _) in fonts {
                dict.pair(name, id);
            }
        }
        p.finish();
        for (_, id, base) in fonts {
            pdf.type1_font(id)
                .base_font(Name(base.as_bytes()))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        pdf.document_info(info)
            .title(TextStr("Signet consent letter"))
            .producer(TextStr("signet-keyserver"));
        let stream = self.content();
        pdf.stream(content, &stream);
        pdf.finish()
    }

    /// The page's content stream.
    fn content(&self) -> Vec<u8> {
        let mut page = Page::new();
        let left = MARGIN;

        page.text(BOLD, 20.0, left, 770.0, "Signet - consent letter");
        page.text(
            REGULAR,
            10.0,
            left,
            752.0,
            "Personal and confidential - to be opened by the addressee only",
        );
        page.rule(740.0);

        let mut y = 712.0;
        for (font, line) in [
            (BOLD, self.full_name.as_str()),
            (REGULAR, self.organization.as_str()),
            (REGULAR, &format!("User id: {}", self.user_id)),
        ] {
            page.text(font, 11.5, left, y, line);
            y -= 16.0;
        }

        y -= 14.0;
        let intro = format!(
            "You applied for a Signet signing key on {}. To activate it, open the Signet app, choose the Consent \
             screen, and type your user id, your registration data and the consent phrase below by {}.",
            self.issued_on, self.expires_on
        );
        y = page.paragraph(left, y, &intro);

        // The phrase, large, in a box.
        y -= 24.0;
        let box_height = 64.0;
        page.frame(left, y - box_height + 18.0, PAGE_WIDTH - 2.0 * MARGIN, box_height);
        page.text(REGULAR, 9.0, left + 12.0, y + 4.0, "Consent phrase");
        page.text(MONO, 22.0, left + 12.0, y - 26.0, &self.phrase);
        y -= box_height + 14.0;

        page.text(BOLD, 10.5, left, y, "Fingerprint of your public key (SHA-256)");
        y -= 16.0;
        for line in fingerprint_lines(&self.public_key_fingerprint_hex) {
            page.text(MONO, 11.0, left, y, &line);
            y -= 14.0;
        }
        y = page.paragraph(
            left,
            y - 4.0,
            "The Signet app shows the same fingerprint when you apply and when you consent. If they differ, do not \
             consent: call the help desk.",
        );

        y -= 12.0;
        page.text(REGULAR, 10.5, left, y, &format!("Applied on:  {}", self.issued_on));
        y -= 15.0;
        page.text(BOLD, 10.5, left, y, &format!("Valid until: {}", self.expires_on));
        y -= 28.0;

        page.text(BOLD, 12.0, left, y, "Please note");
        y -= 18.0;
        for item in [
            "Type the phrase in the Signet app's Consent screen within 30 days; after that it no longer works and \
             you must apply again.",
            "Never share the phrase. Nobody needs it but you: the help desk never asks for it, by phone, e-mail or \
             in person.",
            "Case, spaces and dashes do not matter. The letters I, L, O and U are not used (O is read as zero).",
            "Destroy this letter once your key is active. If you did not apply for a Signet key, call the help desk.",
        ] {
            page.text(REGULAR, 10.5, left, y, "-");
            y = page.paragraph(left + 12.0, y, item) - 6.0;
        }
        page.finish()
    }
}

/// The fingerprint in groups of four hexadecimal digits, eight groups a line.
fn fingerprint_lines(hex: &str) -> Vec<String> {
    let digits: Vec<char> = hex
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let groups: Vec<String> = digits.chunks(4).map(|g| g.iter().collect()).collect();
    groups.chunks(8).map(|line| line.join(" ")).collect()
}

/// Wraps `text` at word boundaries to lines of at most `width` characters
/// (longer words stay whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A content stream being written, with the few drawing operations a
/// letter needs.
struct Page {
    content: Content,
}

impl Page {
    fn new() -> Self {
        Page {
            content: Content::new(),
        }
    }

    /// One line of text with its baseline at (`x`, `y`).
    fn text(&mut self, font: Name<'_>, size: f32, x: f32, y: f32, text: &str) {
        let bytes = to_winansi(text);
        self.content.begin_text();
        self.content.set_font(font, size);
        self.content.next_line(x, y);
        self.content.show(Str(&bytes));
        self.content.end_text();
    }

    /// Body text wrapped from (`x`, `y`) downwards; returns the baseline
    /// below the last line.
    fn paragraph(&mut self, x: f32, mut y: f32, text: &str) -> f32 {
        let width = WRAP_CHARS - ((x - MARGIN) / 5.0) as usize;
        for line in wrap(text, width) {
            self.text(REGULAR, 10.5, x, y, &line);
            y -= 14.0;
        }
        y
    }

    /// A thin horizontal line across the text width.
    fn rule(&mut self, y: f32) {
        self.content.set_line_width(0.6);
        self.content.move_to(MARGIN, y);
        self.content.line_to(PAGE_WIDTH - MARGIN, y);
        self.content.stroke();
    }

    /// A light grey box with a border.
    fn frame(&mut self, x: f32, y: f32, width: f32, height: f32) {
        self.content.save_state();
        self.content.set_fill_gray(0.94);
        self.content.set_line_width(1.0);
        self.content.rect(x, y, width, height);
        self.content.fill_nonzero_and_stroke();
        self.content.restore_state();
    }

    fn finish(self) -> Vec<u8> {
        self.content.finish().into_vec()
    }
}

/// Text in WinAnsiEncoding (ISO 32000-1 Annex D.2): ASCII and Latin-1 as
/// themselves, the Windows-1252 extras (€, curly quotes, dashes, Œ, Š, Ž…) at
/// their 0x80–0x9F codes, Latin Extended-A letters without their accents,
/// anything else as `?`. Control characters become spaces.
pub fn to_winansi(text: &str) -> Vec<u8> {
    /// Base letters of U+0100..=U+017F, sixteen a row.
    const LATIN_EXTENDED_A: &[u8; 128] = b"AaAaAaCcCcCcCcDd\
DdEeEeEeEeEeGgGg\
GgGgHhHhIiIiIiIi\
IiIiJjKkkLlLlLlL\
lLlNnNnNnnNnOoOo\
OoOoRrRrRrSsSsSs\
SsTtTtTtUuUuUuUu\
UuUuWwYyYZzZzZzs";
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8a,
            '‹' => 0x8b,
            'Œ' => 0x8c,
            'Ž' => 0x8e,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9a,
            '›' => 0x9b,
            'œ' => 0x9c,
            'ž' => 0x9e,
            'Ÿ' => 0x9f,
            '\u{100}'..='\u{17f}' => LATIN_EXTENDED_A[(c as u32 - 0x100) as usize],
            c if c.is_control() => b' ',
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> ConsentLetter {
        ConsentLetter {
            full_name: "Zoë Ørsted-Łukasiewicz".into(),
            user_id: "zoe".into(),
            organization: "Example Bank (Payments)".into(),
            phrase: "K7QM-3XR0-VD9A-2NHT-E5WC-PJ4F".into(),
            public_key_fingerprint_hex: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            issued_on: "2026-11-27".into(),
            expires_on: "2026-12-27".into(),
        }
    }

    #[test]
    fn pdf_has_one_a4_page_base_fonts_and_the_text() {
        let pdf = sample().to_pdf();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/MediaBox [0 0 595 842]"), "{text}");
        assert!(text.contains("/Count 1"));
        for font in ["/Helvetica", "/Helvetica-Bold", "/Courier-Bold", "/WinAnsiEncoding"] {
            assert!(text.contains(font), "{font}");
        }
        assert!(!text.contains("/Filter"), "content stream is not compressed");
        assert!(text.contains("(K7QM-3XR0-VD9A-2NHT-E5WC-PJ4F) Tj"));
        assert!(text.contains("(9F86 D081 884C 7D65 9A2F EAA0 C55A D015) Tj"));
        assert!(text.contains("(A3BF 4F1B 2B0B 822C D15D 6C15 B0F0 0A08) Tj"));
        assert!(text.contains("Consent"));
        assert!(text.contains("help desk never asks"));
        assert!(!text.contains("CreationDate"));
    }

    #[test]
    fn the_same_letter_gives_the_same_bytes() {
        assert_eq!(sample().to_pdf(), sample().to_pdf());
    }

    #[test]
    fn parentheses_and_backslashes_are_escaped() {
        // Balanced parentheses may stay as they are in a PDF string (ISO
        // 32000-1 §7.3.4.2); unbalanced ones and backslashes must be escaped.
        let letter = ConsentLetter {
            organization: r"Evil (Co) \ Ltd".into(),
            user_id: "a)b(".into(),
            ..sample()
        };
        let text = String::from_utf8_lossy(&letter.to_pdf()).into_owned();
        assert!(text.contains(r"(Evil (Co) \\ Ltd) Tj"), "{text}");
        assert!(text.contains(r"(User id: a\)b\() Tj"), "{text}");
    }

    #[test]
    fn winansi_mapping() {
        assert_eq!(to_winansi("Zoë"), b"Zo\xeb");
        assert_eq!(to_winansi("Ørsted"), b"\xd8rsted");
        assert_eq!(to_winansi("Łukasiewicz Őz"), b"Lukasiewicz Oz");
        assert_eq!(to_winansi("€ – “x” Œ š Ÿ"), b"\x80 \x96 \x93x\x94 \x8c \x9a \x9f");
        assert_eq!(to_winansi("日本\tx"), b"?? x");
        assert_eq!(to_winansi("ſ"), b"s");
    }

    #[test]
    fn fingerprint_grouping() {
        let lines = fingerprint_lines(&"ab".repeat(32));
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], "ABAB ABAB ABAB ABAB ABAB ABAB ABAB ABAB");
        assert_eq!(fingerprint_lines("ab:cd:ef"), vec!["ABCD EF".to_string()]);
    }

    #[test]
    fn wrapping_keeps_words_and_width() {
        let text = "one two three four five six seven eight nine ten eleven twelve";
        let lines = wrap(text, 15);
        assert!(lines.iter().all(|l| l.chars().count() <= 15), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert_eq!(wrap("averyveryverylongword", 5), vec!["averyveryverylongword"]);
        assert!(wrap("   ", 5).is_empty());
    }

    /// Text extraction with poppler's `pdftotext`, when installed (Debian
    /// poppler-utils).
    #[test]
    fn pdftotext_finds_phrase_fingerprint_and_name() {
        let dir = std::env::temp_dir().join(format!("signet-letter-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("letter.pdf");
        std::fs::write(&path, sample().to_pdf()).expect("write");
        let output = match std::process::Command::new("pdftotext").arg(&path).arg("-").output() {
            Ok(output) => output,
            Err(_) => {
                eprintln!("pdftotext not installed; skipped");
                return;
            }
        };
        // SIGNET_LETTER_SAMPLE=/tmp/letter.pdf keeps a copy to look at.
        if let Ok(keep) = std::env::var("SIGNET_LETTER_SAMPLE") {
            let _ = std::fs::copy(&path, keep);
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("K7QM-3XR0-VD9A-2NHT-E5WC-PJ4F"), "{text}");
        assert!(text.contains("9F86 D081 884C 7D65 9A2F EAA0 C55A D015"), "{text}");
        assert!(text.contains("Zoë Ørsted-Lukasiewicz"), "{text}");
        assert!(text.contains("2026-12-27"));
    }
}
