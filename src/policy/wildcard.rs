//! The one wildcard matcher of mamori: IAM action names, the parts of an ARN, `Resource` and
//! `StringLike` patterns, break-glass principal patterns and CloudWatch Logs filter values all match
//! through [`Wildcard::matches`].
//!
//! The dialects differ in two ways only, and each is an explicit option rather than a separate
//! matcher: whether letters compare without regard to case (IAM compares action names
//! case-insensitively, everything else case-sensitively) and whether `?` stands for one character
//! (in IAM patterns it does; in CloudWatch Logs filter values only `*` is special). `*` always matches
//! any run of characters, the empty run included. Where a dialect stops `*` at a boundary (the six
//! parts of an ARN under `ArnLike`), the caller cuts the text at that boundary and matches each piece
//! here: see [`super::arn`]. The matcher allocates nothing and never backtracks more than once per
//! `*`.
//!
//! AWS pages for the dialects: "IAM JSON policy elements: Action" (case-insensitive action names),
//! "IAM JSON policy elements: Condition operators" (`StringLike`: case-sensitive, `*` and `?`), and
//! "Filter pattern syntax for metric filters" in the CloudWatch Logs User Guide (`*` in values).

/// How a pattern is read. See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wildcard {
    /// Letters compare without regard to case.
    pub ignore_case: bool,
    /// `?` matches exactly one character; when false it is a literal `?`.
    pub single_character: bool,
}

impl Wildcard {
    /// IAM action names (`ssmmessages:Open*`): `*` and `?`, case-insensitive.
    pub const IAM_ACTION: Wildcard = Wildcard { ignore_case: true, single_character: true };
    /// IAM string and ARN patterns (`StringLike`, one part of an `ArnLike` ARN, `Resource`): `*` and
    /// `?`, case-sensitive.
    pub const IAM_VALUE: Wildcard = Wildcard { ignore_case: false, single_character: true };
    /// CloudWatch Logs filter values (`"*UnauthorizedOperation"`): only `*`, case-sensitive.
    pub const FILTER_VALUE: Wildcard = Wildcard { ignore_case: false, single_character: false };

    /// True when `text` matches `pattern`, read in this dialect.
    pub fn matches(self, pattern: &str, text: &str) -> bool {
        let pattern: Vec<char> = pattern.chars().collect();
        let text: Vec<char> = text.chars().collect();
        let (mut p, mut t) = (0, 0);
        // The last `*` seen, and the text position it currently swallows up to.
        let mut last_star: Option<(usize, usize)> = None;
        while t < text.len() {
            match pattern.get(p) {
                Some('*') => {
                    last_star = Some((p, t));
                    p += 1;
                }
                Some(&c) if self.same(c, text[t]) => {
                    p += 1;
                    t += 1;
                }
                _ => match last_star {
                    Some((star, swallowed)) => {
                        p = star + 1;
                        t = swallowed + 1;
                        last_star = Some((star, swallowed + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].iter().all(|&c| c == '*')
    }

    /// True when the pattern character `wanted` accepts the text character `found`.
    fn same(self, wanted: char, found: char) -> bool {
        (wanted == '?' && self.single_character)
            || wanted == found
            || (self.ignore_case && wanted.to_lowercase().eq(found.to_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_star_matches_any_run_of_characters_in_every_dialect() {
        for dialect in [Wildcard::IAM_ACTION, Wildcard::IAM_VALUE, Wildcard::FILTER_VALUE] {
            assert!(dialect.matches("*", "") && dialect.matches("*", "anything:at/all"), "{dialect:?}");
            assert!(dialect.matches("a*b*c", "aXXbYYc") && dialect.matches("a**b", "ab"), "{dialect:?}");
            assert!(!dialect.matches("a*b*c", "aXXcYYb"), "{dialect:?}: order matters");
            assert!(dialect.matches("*Unauthorized*", "Client.UnauthorizedOperation"), "{dialect:?}");
            assert!(!dialect.matches("AccessDenied*", "Denied"), "{dialect:?}");
            assert!(dialect.matches("", "") && !dialect.matches("", "x") && !dialect.matches("x", ""), "{dialect:?}");
            assert!(dialect.matches("s*s*s", "ssmmessages"), "{dialect:?}: backtracking");
        }
    }

    #[test]
    fn iam_actions_ignore_case_and_take_question_marks() {
        let action = Wildcard::IAM_ACTION;
        assert!(action.matches("SSMMessages:open*channel", "ssmmessages:OpenDataChannel"));
        assert!(action.matches("ssm:Update?nstance*", "ssm:UpdateInstanceInformation"));
        assert!(!action.matches("ssm:Update?", "ssm:Update"), "? is exactly one character");
        assert!(!action.matches("ssm:*", "ssmmessages:OpenDataChannel"), "the colon is a literal");
        assert!(action.matches("?", "*"), "a pattern character may match a literal star in the text");
    }

    #[test]
    fn iam_values_are_case_sensitive() {
        let value = Wildcard::IAM_VALUE;
        assert!(value.matches("arn:aws:iam::*:role/Break?lass", "arn:aws:iam::111122223333:role/BreakGlass"));
        assert!(!value.matches("arn:aws:iam::*:role/breakglass", "arn:aws:iam::111122223333:role/BreakGlass"));
        assert!(!value.matches("vpce-1?", "vpce-1"));
    }

    #[test]
    fn filter_values_take_a_question_mark_literally() {
        let filter = Wildcard::FILTER_VALUE;
        assert!(filter.matches("Why?*", "Why?Because"));
        assert!(!filter.matches("Why?", "WhyX"), "? is no wildcard in a filter value");
        assert!(!filter.matches("accessdenied*", "AccessDeniedException"), "case-sensitive");
    }
}
