//! Personal data typed into a plaintext message: phone numbers (validated with libphonenumber's
//! metadata through the `phonenumber` crate, not a digit count), email addresses (also written
//! "john at gmail dot com"), payment card numbers (Luhn), IBANs (ISO 13616 mod-97) and street
//! addresses (house number + street type, UK postcodes). Detection is conservative: a match
//! must pass its checksum or validation, so prices, order numbers and dates pass untouched.
//! Masking replaces each finding with a label and says what it found, so the sender can be
//! pointed to the end-to-end encrypted channel.

use std::ops::Range;
use std::sync::LazyLock;

/// A country, for national phone formats (ISO 3166 alpha-2: `Country::GB`, `"DE".parse()`).
pub use phonenumber::country::Id as Country;
use regex::Regex;

/// A kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    /// A phone number.
    Phone,
    /// An email address.
    Email,
    /// A payment card number.
    Card,
    /// An international bank account number.
    Iban,
    /// A street address or postcode.
    Address,
}

impl PiiKind {
    /// The stable name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Email => "email",
            Self::Card => "card",
            Self::Iban => "iban",
            Self::Address => "address",
        }
    }

    /// What a masked value is replaced with.
    pub fn mask(self) -> &'static str {
        match self {
            Self::Phone => "[phone number hidden]",
            Self::Email => "[email hidden]",
            Self::Card => "[card number hidden]",
            Self::Iban => "[bank account hidden]",
            Self::Address => "[address hidden]",
        }
    }
}

/// A text with its personal data masked, and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    /// The text with every finding replaced by its label.
    pub text: String,
    /// The kinds found, each once, in a stable order.
    pub found: Vec<PiiKind>,
}

/// Finds personal data in `text`, also when disguised with look-alike characters (full-width
/// digits, `＠`) or invisible ones between digits: the search runs on a compatibility-folded
/// (NFKC) copy without invisible characters, and its findings are mapped back to `text`.
/// National phone numbers (without `+` or `00`) are checked against the `regions` given, in
/// order (a marketplace's home countries).
pub fn find(text: &str, regions: &[Country]) -> Vec<(PiiKind, Range<usize>)> {
    let (folded, origin) = fold(text);
    find_in(&folded, regions)
        .into_iter()
        .filter_map(|(kind, range)| {
            let start = origin.get(range.start)?.start;
            let end = origin.get(range.end.checked_sub(1)?)?.end;
            Some((kind, start..end))
        })
        .collect()
}

/// The folded copy of `text` and, for each of its bytes, the range of `text` it came from.
fn fold(text: &str) -> (String, Vec<Range<usize>>) {
    use unicode_normalization::UnicodeNormalization as _;
    let mut folded = String::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        if is_invisible(c) {
            continue;
        }
        let source = at..at + c.len_utf8();
        for out in std::iter::once(c).nfkc() {
            folded.push(out);
            origin.extend(std::iter::repeat_n(source.clone(), out.len_utf8()));
        }
    }
    (folded, origin)
}

/// Characters that show nothing: zero-width spaces and joiners, direction marks, soft hyphens.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

fn find_in(text: &str, regions: &[Country]) -> Vec<(PiiKind, Range<usize>)> {
    let mut found: Vec<(PiiKind, Range<usize>)> = Vec::new();
    let mut add = |kind, range: Range<usize>| {
        if !found.iter().any(|(_, taken)| taken.start < range.end && range.start < taken.end) {
            found.push((kind, range));
        }
    };
    for m in EMAIL.find_iter(text).chain(OBFUSCATED_EMAIL.find_iter(text)) {
        add(PiiKind::Email, m.range());
    }
    for m in IBAN.find_iter(text).filter(|m| iban_checksum_ok(m.as_str())) {
        add(PiiKind::Iban, m.range());
    }
    for m in CARD.find_iter(text).filter(|m| luhn_ok(m.as_str())) {
        add(PiiKind::Card, m.range());
    }
    for m in PHONE.find_iter(text).filter(|m| is_phone(text, m.range(), regions)) {
        add(PiiKind::Phone, trimmed(text, m.range()));
    }
    for m in STREET.find_iter(text).chain(UK_POSTCODE.find_iter(text)) {
        add(PiiKind::Address, m.range());
    }
    found.sort_by_key(|(_, range)| range.start);
    found
}

/// Replaces every finding in `text` with its label.
pub fn mask(text: &str, regions: &[Country]) -> Masked {
    let findings = find(text, regions);
    let mut masked = String::with_capacity(text.len());
    let mut last = 0;
    let mut kinds: Vec<PiiKind> = Vec::new();
    for (kind, range) in &findings {
        masked.push_str(&text[last..range.start]);
        masked.push_str(kind.mask());
        last = range.end;
        if !kinds.contains(kind) {
            kinds.push(*kind);
        }
    }
    masked.push_str(&text[last..]);
    kinds.sort();
    Masked { text: masked, found: kinds }
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| compile(r"(?i)[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,24}"));

/// "john at gmail dot com", "john (at) gmail (dot) com", "john [at] gmail [dot] co [dot] uk":
/// the words must be spelled out and the last label must be a common top-level domain, so
/// "meet at noon" is left alone.
static OBFUSCATED_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i)\b[a-z0-9._%+\-]+\s*[\(\[\{]?\s*(?:at|@)\s*[\)\]\}]?\s*[a-z0-9\-]+(?:\s*[\(\[\{]?\s*(?:dot|\.)\s*[\)\]\}]?\s*[a-z0-9\-]+)*\s*[\(\[\{]?\s*(?:dot|\.)\s*[\)\]\}]?\s*(?:com|net|org|edu|gov|io|co|uk|de|fr|es|it|nl|be|ch|at|se|no|dk|fi|pl|ie|ca|au|in|info|biz|me)\b",
    )
});

/// 13 to 19 digits, in groups separated by single spaces or dashes.
static CARD: LazyLock<Regex> = LazyLock::new(|| compile(r"\b[0-9](?:[ \-]?[0-9]){12,18}\b"));

/// Two capital letters, two check digits, 11 to 30 more capitals or digits: run together, or
/// in groups of four separated by single spaces.
static IBAN: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\b[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b"));

/// A run that may be a phone number: an optional `+`, then digits with spaces, dots, dashes
/// and parentheses between them.
static PHONE: LazyLock<Regex> = LazyLock::new(|| compile(r"(?:\+|\b00|\()?[0-9][[0-9] \-.()/]{5,22}[0-9]"));

static STREET: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"\b[0-9]{1,5}[A-Za-z]?,?\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Close|Crescent|Square|Strasse|Straße)\b\.?",
    )
});

static UK_POSTCODE: LazyLock<Regex> = LazyLock::new(|| compile(r"\b[A-Z]{1,2}[0-9][A-Z[0-9]]? ?[0-9][ABD-HJLNP-UW-Z]{2}\b"));

static DATE: LazyLock<Regex> = LazyLock::new(|| compile(r"^[0-9]{1,4}[\-./][0-9]{1,2}[\-./][0-9]{1,4}$"));

#[allow(clippy::expect_used, reason = "the patterns are constants, checked by the tests")]
fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid built-in pattern")
}

fn digits(text: &str) -> Vec<u32> {
    text.chars().filter_map(|c| c.to_digit(10)).collect()
}

fn luhn_ok(candidate: &str) -> bool {
    let digits = digits(candidate);
    if !(13..=19).contains(&digits.len()) || digits.iter().all(|d| *d == digits[0]) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn iban_checksum_ok(candidate: &str) -> bool {
    let compact: String = candidate.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    // Only ASCII can be an IBAN (and only ASCII may be sliced by byte below).
    if !compact.is_ascii() || !(15..=34).contains(&compact.len()) || !compact[2..4].chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let rearranged = compact[4..].chars().chain(compact[..4].chars());
    let mut remainder: u32 = 0;
    for c in rearranged {
        let Some(value) = c.to_digit(36) else { return false };
        for digit in value.to_string().chars().filter_map(|d| d.to_digit(10)) {
            remainder = (remainder * 10 + digit) % 97;
        }
    }
    remainder == 1
}

fn is_phone(text: &str, range: Range<usize>, regions: &[Country]) -> bool {
    let raw = &text[trimmed(text, range.clone())];
    let count = digits(raw).len();
    if !(7..=15).contains(&count) || DATE.is_match(raw) {
        return false;
    }
    // A price or an amount: "$1 299 000", "1.299,00 EUR".
    let before = text[..range.start].trim_end();
    if before.ends_with(['$', '£', '€', '¥', '#']) || before.to_ascii_lowercase().ends_with("order") {
        return false;
    }
    let international = raw.starts_with('+') || raw.starts_with("00");
    let normalised = raw.strip_prefix("00").map_or_else(|| raw.to_owned(), |rest| format!("+{rest}"));
    if international {
        return phonenumber::parse(None, &normalised).is_ok_and(|number| phonenumber::is_valid(&number));
    }
    regions.iter().any(|region| phonenumber::parse(Some(*region), raw).is_ok_and(|number| phonenumber::is_valid(&number)))
}

/// A candidate without the separators the pattern may have caught at its edges.
fn trimmed(text: &str, range: Range<usize>) -> Range<usize> {
    let slice = &text[range.clone()];
    let start = range.start + (slice.len() - slice.trim_start_matches([' ', '-', '.', '/']).len());
    let end = range.end - (slice.len() - slice.trim_end_matches([' ', '-', '.', '/', '(']).len());
    start..end.max(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGIONS: &[Country] = &[Country::GB, Country::US, Country::DE, Country::FR];

    use PiiKind::{Address, Card, Email, Iban, Phone};

    /// Each case: a realistic message and the kinds that must be found (none for the
    /// false-positive traps).
    const CASES: &[(&str, &[PiiKind])] = &[
        // International phone formats.
        ("Call me on +44 20 7946 0958 after six", &[Phone]),
        ("my cell: +1 (415) 555-2671", &[Phone]),
        ("+1-415-555-2671", &[Phone]),
        ("whatsapp +49 30 901820", &[Phone]),
        ("reach me at +33 1 42 68 53 00 tomorrow", &[Phone]),
        ("0044 20 7946 0958", &[Phone]),
        ("+447911123456", &[Phone]),
        ("tel:+14155552671", &[Phone]),
        ("+91 98765 43210 is my number", &[Phone]),
        ("+61 2 9374 4000", &[Phone]),
        ("Ring +353 1 234 5678", &[Phone]),
        ("+34 612 34 56 78", &[Phone]),
        // National formats of the marketplace's regions.
        ("text 07911 123456 please", &[Phone]),
        ("(415) 555-2671", &[Phone]),
        ("415.555.2671", &[Phone]),
        ("020 7946 0958", &[Phone]),
        ("030 901820", &[Phone]),
        ("01 42 68 53 00", &[Phone]),
        // Emails, plain and obfuscated.
        ("email john.smith@example.com", &[Email]),
        ("JOHN@GMAIL.COM", &[Email]),
        ("write to jane+ads@mail.example.co.uk", &[Email]),
        ("john at gmail dot com", &[Email]),
        ("john (at) gmail (dot) com", &[Email]),
        ("john [at] gmail [dot] co [dot] uk", &[Email]),
        ("reach me: j.doe at yahoo dot fr", &[Email]),
        ("john.doe(at)gmail.com", &[Email]),
        // Cards (Luhn-valid test numbers).
        ("Card 4111 1111 1111 1111 exp 12/29", &[Card]),
        ("4111111111111111", &[Card]),
        ("5555-5555-5555-4444", &[Card]),
        ("amex 3782 822463 10005", &[Card]),
        ("pay with 6011 1111 1111 1117", &[Card]),
        // IBANs (valid checksums).
        ("IBAN GB82 WEST 1234 5698 7654 32", &[Iban]),
        ("DE89370400440532013000", &[Iban]),
        ("send to FR14 2004 1010 0505 0001 3M02 606", &[Iban]),
        ("NL91ABNA0417164300 thanks", &[Iban]),
        // Addresses.
        ("I live at 221B Baker Street, come by", &[Address]),
        ("pick up from 1600 Pennsylvania Avenue", &[Address]),
        ("12 High St, London", &[Address]),
        ("postcode SW1A 1AA", &[Address]),
        ("EC1A1BB", &[Address]),
        ("42 Elm Road", &[Address]),
        // Several at once.
        ("+44 20 7946 0958 or john@example.com", &[Phone, Email]),
        ("card 4111 1111 1111 1111, phone 07911 123456", &[Phone, Card]),
        // False-positive traps: prices, order numbers, dates, versions, sizes, times.
        ("It costs $1,299.99 or best offer", &[]),
        ("Price: 1 299 000 RUB", &[]),
        ("€ 2500000", &[]),
        ("Order #123456789 shipped", &[]),
        ("order 987654321012", &[]),
        ("Delivered on 2024-05-17", &[]),
        ("see you 17/05/2024 at 10:30", &[]),
        ("firmware 10.2.3.4", &[]),
        ("The lens is 70-200mm f/2.8", &[]),
        ("size 42, colour blue, 3 left", &[]),
        ("I'll be at home dot", &[]),
        ("meet at noon at the station", &[]),
        ("4111 1111 1111 1112 is not a card", &[]),
        ("GB82 WEST 1234 5698 7654 33", &[]),
        ("tracking 1Z999AA10123456784", &[]),
        ("year 2023, 150000 km, 2 owners", &[]),
        ("between 9 and 17 o'clock", &[]),
        ("call me maybe", &[]),
        ("room 1234", &[]),
        ("ISBN 978-3-16-148410-0", &[]),
        // Hostile input: digits from other scripts are not sliced or counted as ours.
        ("GB\u{0967}\u{0968}12345678901", &[Phone]),
        // Disguises: full-width digits and at-signs, invisible characters between digits.
        (
            "\u{ff14}\u{ff11}\u{ff11}\u{ff11} \u{ff11}\u{ff11}\u{ff11}\u{ff11} \u{ff11}\u{ff11}\u{ff11}\u{ff11} \u{ff11}\u{ff11}\u{ff11}\u{ff11}",
            &[Card],
        ),
        ("john\u{ff20}gmail.com", &[Email]),
        ("+44\u{200b}20\u{200b}7946\u{200b}0958", &[Phone]),
        ("\u{0967}\u{0968}\u{0969}\u{096a}\u{096b}\u{096c}\u{096d}", &[]),
    ];

    fn kinds(text: &str) -> Vec<PiiKind> {
        mask(text, REGIONS).found
    }

    #[test]
    fn finds_personal_data_and_leaves_everything_else_alone() {
        let cases = CASES;
        assert!(cases.len() >= 60, "{} cases", cases.len());
        let mut failures = Vec::new();
        for (text, expected) in cases {
            let mut expected = expected.to_vec();
            expected.sort();
            let got = kinds(text);
            if got != expected {
                failures.push(format!("{text:?}: expected {expected:?}, got {got:?} ({:?})", mask(text, REGIONS).text));
            }
        }
        assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
    }

    #[test]
    fn masking_replaces_only_the_finding() {
        let masked = mask("Call +44 20 7946 0958, or mail me at jo@example.org. Cheers", REGIONS);
        assert_eq!(masked.text, "Call [phone number hidden], or mail me at [email hidden]. Cheers");
        assert_eq!(masked.found, vec![PiiKind::Phone, PiiKind::Email]);
        assert_eq!(mask("日本語 🙂 no data here", REGIONS).text, "日本語 🙂 no data here");
        // A disguised finding is masked in the original text, disguise and all.
        assert_eq!(mask("mail j\u{ff20}x.org now", REGIONS).text, "mail [email hidden] now");
        assert_eq!(mask("call +44\u{200b}20 7946 0958!", REGIONS).text, "call [phone number hidden]!");
    }

    #[test]
    fn checksums_match_their_standards() {
        assert!(!luhn_ok("79927398713"), "Luhn-valid, but too short for a card");
        assert!(luhn_ok("4111111111111111"));
        assert!(!luhn_ok("4111111111111112"));
        assert!(iban_checksum_ok("GB82WEST12345698765432"));
        assert!(!iban_checksum_ok("GB82WEST12345698765433"));
        assert!(!iban_checksum_ok("GB\u{ff13}\u{ff13}12345678901"), "non-ASCII is refused, not sliced");
    }
}
