//! Percent-encoding of URL parts, written once over the `percent-encoding` crate: path segments
//! we send to Appwrite and query values we receive in the action API.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`) is escaped.
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment or template value (ids are usually safe already; user input
/// may not be).
pub fn segment(raw: &str) -> String {
    utf8_percent_encode(raw, RESERVED).to_string()
}

/// Decodes a query-string value (`+` is a space, `%XX` a byte). `None` when an escape is not
/// `%` and two hex digits or the result is not UTF-8: the caller answers 400 rather than
/// guessing (the crate itself keeps a broken escape as literal text).
pub fn decode_query_value(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let broken = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if broken {
        return None;
    }
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_escape_everything_but_unreserved_characters() {
        assert_eq!(segment("a/b c~é"), "a%2Fb%20c~%C3%A9");
        assert_eq!(segment("job-1.x_y"), "job-1.x_y");
    }

    #[test]
    fn query_values_decode_plus_and_escapes_and_refuse_broken_ones() {
        assert_eq!(decode_query_value("a+b%2Bc").as_deref(), Some("a b+c"));
        assert_eq!(decode_query_value("%e2%9c%93").as_deref(), Some("\u{2713}"));
        for broken in ["%", "%4", "%+5", "%zz", "%ff"] {
            assert_eq!(decode_query_value(broken), None, "{broken}");
        }
    }
}
