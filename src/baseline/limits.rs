//! The size and nesting limits a baseline file must stay within, checked before any parser builds a
//! document from it.
//!
//! A baseline is a few kilobytes (`baselines/standard.yaml` is under 10 KB) and nests a handful of
//! levels. A file of megabytes, or one nested thousands of levels deep (a mistake, a generated file gone
//! wrong, or a hostile input), must be refused at once with a message naming the file, never read
//! into memory whole, parsed slowly, or allowed to overflow the stack of a recursive parser (yaml-rust2's
//! document loader has no depth limit; serde's deserializer stops at 128 levels). These checks own
//! that refusal; they never look at what the keys mean, which is [`super::raw`]'s job.

use std::path::Path;

use super::{locate, BaselineError};

/// The largest baseline file accepted, in bytes: a hundred times the standard baseline.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// The deepest nesting of mappings and sequences accepted (the shipped baselines nest at most 6).
pub const MAX_DEPTH: usize = 32;

/// Refuses a file larger than [`MAX_BYTES`], from its length alone (before reading it).
pub fn check_size(path: &Path, bytes: u64) -> Result<(), BaselineError> {
    if bytes <= MAX_BYTES {
        return Ok(());
    }
    Err(BaselineError {
        file: path.to_path_buf(),
        position: None,
        key: None,
        message: format!("the baseline is {bytes} bytes, more than the {MAX_BYTES} a baseline may have (the shipped ones are under 10 KB)"),
    })
}

/// Refuses a document that nests mappings and sequences more than [`MAX_DEPTH`] deep, at the
/// container that goes too deep.
pub fn check_depth(path: &Path, text: &str) -> Result<(), BaselineError> {
    match locate::deeper_than(text, MAX_DEPTH) {
        None => Ok(()),
        Some((key, position)) => Err(BaselineError {
            file: path.to_path_buf(),
            position: Some(position),
            key: Some(key),
            message: format!("nested more than {MAX_DEPTH} levels deep (a baseline nests a handful)"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_size_limit_is_refused_by_its_length() {
        assert!(check_size(Path::new("b.yaml"), MAX_BYTES).is_ok());
        let error = check_size(Path::new("b.yaml"), 10 * 1024 * 1024).unwrap_err().to_string();
        assert!(error.starts_with("b.yaml: the baseline is 10485760 bytes"), "{error}");
    }

    #[test]
    fn flow_nesting_over_the_depth_limit_is_refused_at_its_key() {
        let text = format!("version: 1\nname: t\nregions: [us-east-1]\niam: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        let error = check_depth(Path::new("b.yaml"), &text).unwrap_err();
        assert_eq!(error.position.map(|(line, _)| line), Some(4));
        assert_eq!(error.key.as_deref(), Some("iam"), "{error}");
        assert!(check_depth(Path::new("b.yaml"), "version: 1\nname: t\nregions: [us-east-1]\n").is_ok());
    }
}
