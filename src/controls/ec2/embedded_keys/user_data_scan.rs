//! Finds access key material in EC2 user data: AWS access key ids and secret-like strings.
//!
//! It owns decoding (base64 as EC2 returns it, then gzip when the payload is compressed) and matching.
//! What it returns can be printed: access key ids are masked, and a secret is only counted, never
//! copied, so the secret never leaves this module. It never logs what it scans.

use std::io::Read;

use crate::redact::{is_access_key_id, is_key_id_char, mask_key_id};

/// What a scan found, safe to print.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Access key ids found, masked (`AKIA************MPLE`), in order, once each.
    pub masked_key_ids: Vec<String>,
    /// Number of secret-like strings (40 characters of the secret alphabet, mixed case and digits).
    pub secret_like: usize,
}

impl Scan {
    pub fn is_clean(&self) -> bool {
        self.masked_key_ids.is_empty() && self.secret_like == 0
    }

    /// One line per problem, for findings (no secret in it).
    pub fn describe(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.masked_key_ids.iter().map(|id| format!("access key id {id} in user data")).collect();
        if self.secret_like > 0 {
            lines.push(format!("{} secret-like string(s) in user data (not shown)", self.secret_like));
        }
        lines
    }
}

/// The user data as text: EC2 returns it base64-encoded; it may be gzip-compressed inside.
pub fn decode_user_data(encoded: &str) -> String {
    let bytes = aws_smithy_types::base64::decode(encoded.trim()).unwrap_or_else(|_| encoded.as_bytes().to_vec());
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut inflated = Vec::new();
        match flate2::read::MultiGzDecoder::new(bytes.as_slice()).read_to_end(&mut inflated) {
            Ok(_) => inflated,
            Err(_) => bytes,
        }
    } else {
        bytes
    };
    String::from_utf8_lossy(&bytes).into_owned()
}

fn is_secret_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '/' || c == '+'
}

/// Maximal runs of characters satisfying `keep`.
fn runs(text: &str, keep: fn(char) -> bool) -> impl Iterator<Item = &str> {
    text.split(move |c: char| !keep(c)).filter(|run| !run.is_empty())
}

/// Scans decoded text. A key id is `AKIA` or `ASIA` and 16 upper-case letters or digits, standing
/// alone (not part of a longer run of such characters). A secret-like string is a run of exactly 40
/// characters of `A-Za-z0-9/+` with upper case, lower case and a digit in it (a hexadecimal digest,
/// a word or a longer base64 blob does not qualify).
pub fn scan_text(text: &str) -> Scan {
    let mut scan = Scan::default();
    for run in runs(text, is_key_id_char) {
        if is_access_key_id(run) {
            let masked = mask_key_id(run);
            if !scan.masked_key_ids.contains(&masked) {
                scan.masked_key_ids.push(masked);
            }
        }
    }
    scan.secret_like = runs(text, is_secret_char)
        .filter(|run| {
            run.len() == 40
                && run.chars().any(|c| c.is_ascii_uppercase())
                && run.chars().any(|c| c.is_ascii_lowercase())
                && run.chars().any(|c| c.is_ascii_digit())
        })
        .count();
    scan
}

/// Decodes and scans EC2 user data as `DescribeInstanceAttribute` returns it.
pub fn scan_user_data(encoded: &str) -> Scan {
    scan_text(&decode_user_data(encoded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn script() -> String {
        format!("#!/bin/bash\nexport AWS_ACCESS_KEY_ID={KEY_ID}\nexport AWS_SECRET_ACCESS_KEY={SECRET}\n")
    }

    fn assert_found(scan: &Scan) {
        assert_eq!(scan.masked_key_ids, ["AKIA************MPLE"]);
        assert_eq!(scan.secret_like, 1);
        let printed = scan.describe().join("\n");
        assert!(!printed.contains(SECRET) && !printed.contains(KEY_ID), "{printed}");
    }

    #[test]
    fn plain_text_is_scanned() {
        assert_found(&scan_text(&script()));
        assert_found(&scan_user_data(&script()), );
    }

    #[test]
    fn base64_user_data_is_decoded() {
        assert_found(&scan_user_data(&aws_smithy_types::base64::encode(script())));
    }

    #[test]
    fn gzip_user_data_is_inflated() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(script().as_bytes()).unwrap();
        assert_found(&scan_user_data(&aws_smithy_types::base64::encode(gz.finish().unwrap())));
    }

    #[test]
    fn a_key_id_in_a_comment_counts() {
        let scan = scan_text("#cloud-config\n# old key: ASIAJEXAMPLEXEG2JICE (rotated?)\nruncmd: [echo hi]\n");
        assert_eq!(scan.masked_key_ids, ["ASIA************JICE"]);
        assert_eq!(scan.secret_like, 0);
    }

    #[test]
    fn look_alikes_do_not_match() {
        let text = "commit da39a3ee5e6b4b0d3255bfef95601890afd80709\n\
                    AKIAIOSFODNN7EXAMPLE12 is too long, XAKIAIOSFODNN7EXAMPL is not a key, akiaiosfodnn7example neither\n\
                    image=sha256:Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhxdXV4cXV1eHE1\n\
                    ThisIsAVeryLongCamelCaseIdentifierWithoutDigitsAtAll\n";
        assert_eq!(scan_text(text), Scan::default(), "nothing in {text}");
    }
}
