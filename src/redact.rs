//! Access key ids, recognised and masked wherever mamori may show text it did not write itself:
//! EC2 user data it scans, and log lines other crates write.
//!
//! An access key id is `AKIA` (long-term) or `ASIA` (temporary) and 16 upper-case letters or digits,
//! standing alone (not part of a longer run of such characters). Masked, it keeps its first and last
//! four characters (`AKIA************MPLE`), as the AWS console shows keys. This module never stores
//! or logs what it is given.

use std::borrow::Cow;

/// `AKIA1234…` → `AKIA************ABCD`.
pub fn mask_key_id(id: &str) -> String {
    match (id.get(..4), id.len().checked_sub(4).and_then(|end| id.get(end..))) {
        (Some(head), Some(tail)) if id.len() > 8 => format!("{head}{}{tail}", "*".repeat(id.len() - 8)),
        _ => "*".repeat(id.len()),
    }
}

/// A character of an access key id.
pub fn is_key_id_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

/// True when `run` (a maximal run of [`is_key_id_char`] characters) is an access key id.
pub fn is_access_key_id(run: &str) -> bool {
    run.len() == 20 && (run.starts_with("AKIA") || run.starts_with("ASIA"))
}

/// `text` with every access key id in it masked; borrowed when there is none.
pub fn mask_key_ids(text: &str) -> Cow<'_, str> {
    let mut masked = String::new();
    let mut copied = 0;
    let mut run_start = None;
    for (at, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (is_key_id_char(c), run_start) {
            (true, None) => run_start = Some(at),
            (false, Some(start)) => {
                run_start = None;
                if is_access_key_id(&text[start..at]) {
                    masked.push_str(&text[copied..start]);
                    masked.push_str(&mask_key_id(&text[start..at]));
                    copied = at;
                }
            }
            _ => {}
        }
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    masked.push_str(&text[copied..]);
    Cow::Owned(masked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_in_a_log_line_are_masked_and_nothing_else_is_touched() {
        let line = r#"loaded base credentials creds=Credentials { provider_name: "ProfileFile", access_key_id: "AKIAIOSFODNN7EXAMPLE", secret_access_key: "** redacted **" }"#;
        assert_eq!(
            mask_key_ids(line),
            r#"loaded base credentials creds=Credentials { provider_name: "ProfileFile", access_key_id: "AKIA************MPLE", secret_access_key: "** redacted **" }"#
        );
        assert_eq!(mask_key_ids("temporary ASIAJEXAMPLEXEG2JICE at the end"), "temporary ASIA************JICE at the end");
        assert_eq!(mask_key_ids("ASIAJEXAMPLEXEG2JICE"), "ASIA************JICE");
        let untouched = "AKIAIOSFODNN7EXAMPLE12 is too long, XAKIAIOSFODNN7EXAMPL is not a key, akiaiosfodnn7example neither; é AKIA";
        assert!(matches!(mask_key_ids(untouched), Cow::Borrowed(_)), "{untouched}");
    }

    #[test]
    fn masks_keep_four_characters_at_each_end() {
        assert_eq!(mask_key_id("AKIAIOSFODNN7EXAMPLE"), "AKIA************MPLE");
        assert_eq!(mask_key_id("AKIA1234"), "********", "too short to show anything");
        assert_eq!(mask_key_id(""), "");
    }
}
