//! ARNs as IAM compares them: in six parts, never as one string.
//!
//! An ARN is `arn:partition:service:region:account-id:resource`; the resource part is everything after
//! the fifth colon and may hold colons itself (`log-group:/mamori/cloudtrail:*`). IAM matches a
//! pattern against an ARN part by part, each part with `*` and `?` ([`Wildcard::IAM_VALUE`]), so a
//! wildcard never crosses one of the five separating colons:
//!
//! - [`arn_like`] is the `ArnLike`/`ArnEquals` condition operator ("IAM JSON policy elements:
//!   Condition operators", ARN condition operators: "Each of the six colon-delimited components of
//!   the ARN is checked separately"). A pattern or a value that is not six parts matches nothing.
//!   `arn:aws:*:role/BreakGlass` therefore does not match `arn:aws:iam::111122223333:role/BreakGlass`,
//!   and `role/BreakGlass` does not match `role/ops/BreakGlass` (the path is part of the resource).
//! - [`resource_matches`] is the `Resource`/`NotResource` element ("IAM JSON policy elements:
//!   Resource", Using wildcards in resource ARNs): the same part-by-part match, except that a `*`
//!   ending the last part of a shorter pattern swallows the rest of the ARN, colons included
//!   (`arn:aws:ec2:*` matches every EC2 ARN), and `*` alone matches everything.
//!
//! Nothing here knows which service an ARN belongs to; it compares text.

use super::wildcard::Wildcard;

/// The six parts of `text` (`arn`, partition, service, region, account, resource), or `None` when it
/// is not an ARN.
pub fn parts(text: &str) -> Option<[&str; 6]> {
    let mut split = text.splitn(6, ':');
    let parts = [split.next()?, split.next()?, split.next()?, split.next()?, split.next()?, split.next()?];
    (parts[0] == "arn").then_some(parts)
}

/// The account id of an ARN (empty for S3 buckets, which carry none).
pub fn account(text: &str) -> Option<&str> {
    parts(text).map(|parts| parts[4])
}

/// `ArnLike` (and `ArnEquals`, which IAM evaluates the same way): every part of `value` matches the
/// same part of `pattern`.
pub fn arn_like(pattern: &str, value: &str) -> bool {
    match (parts(pattern), parts(value)) {
        (Some(pattern), Some(value)) => pattern.iter().zip(value.iter()).all(|(p, v)| Wildcard::IAM_VALUE.matches(p, v)),
        _ => false,
    }
}

/// Whether a `Resource` pattern covers the requested `resource` (an ARN, or `*` for actions that
/// take no resource).
pub fn resource_matches(pattern: &str, resource: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let (Some(value), true) = (parts(resource), pattern.starts_with("arn:")) else {
        return Wildcard::IAM_VALUE.matches(pattern, resource);
    };
    let pattern_parts: Vec<&str> = pattern.splitn(6, ':').collect();
    let last = pattern_parts.len() - 1;
    if last < 5 && !pattern_parts[last].ends_with('*') {
        return false;
    }
    pattern_parts.iter().enumerate().all(|(i, part)| {
        if i == last && last < 5 {
            Wildcard::IAM_VALUE.matches(part, &value[i..].join(":"))
        } else {
            Wildcard::IAM_VALUE.matches(part, value[i])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::111122223333:role/ops/BreakGlass";
    const SSO: &str = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef";

    #[test]
    fn arns_split_into_six_parts_keeping_colons_in_the_resource() {
        assert_eq!(parts("arn:aws:logs:us-east-1:1:log-group:/a:*"), Some(["arn", "aws", "logs", "us-east-1", "1", "log-group:/a:*"]));
        assert_eq!(parts("arn:aws:s3:::bucket/key"), Some(["arn", "aws", "s3", "", "", "bucket/key"]));
        assert_eq!(parts("arn:aws:iam::1"), None);
        assert_eq!(parts("*"), None);
        assert_eq!(account(ROLE), Some("111122223333"));
    }

    #[test]
    fn arn_like_compares_each_part_separately() {
        // (pattern, value, matches)
        let table = [
            ("arn:aws:iam::111122223333:role/ops/BreakGlass", ROLE, true),
            ("arn:aws:iam::111122223333:role/BreakGlass", ROLE, false),
            ("arn:aws:iam::111122223333:role/*BreakGlass", ROLE, true),
            ("arn:aws:iam::*:role/ops/Break?lass", ROLE, true),
            ("arn:aws:iam::111122223333:role/ops/breakglass", ROLE, false),
            ("arn:aws:*:role/ops/BreakGlass", ROLE, false),
            ("arn:aws:iam::*", ROLE, false),
            ("arn:aws:iam:*:role/ops/BreakGlass", ROLE, false),
            ("arn:aws:iam::1111*:role/ops/BreakGlass", ROLE, true),
            ("arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_*", SSO, false),
            ("arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Admin_*", SSO, true),
            ("arn:aws:iam::111122223333:role/*AWSReservedSSO_Admin_*", SSO, true),
            ("arn:aws:logs:us-east-1:1:*", "arn:aws:logs:us-east-1:1:log-group:/mamori/cloudtrail", true),
            ("arn:aws:logs:us-east-1:1:*", "arn:aws:logs:us-east-1:2:log-group:/mamori/cloudtrail", false),
            ("arn:aws:cloudwatch:*:1:alarm:mamori-cis-*", "arn:aws:cloudwatch:us-east-1:1:alarm:mamori-cis-root-usage", true),
            ("*", ROLE, false),
            (ROLE, "not-an-arn", false),
        ];
        for (pattern, value, expected) in table {
            assert_eq!(arn_like(pattern, value), expected, "ArnLike {pattern} against {value}");
        }
    }

    #[test]
    fn resource_patterns_let_a_trailing_star_run_past_the_colons() {
        let table = [
            ("*", "arn:aws:s3:::bucket/key", true),
            ("*", "*", true),
            ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/AWSLogs/1/x:y.json", true),
            ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", false),
            ("arn:aws:s3:::bucket", "arn:aws:s3:::bucket", true),
            ("arn:aws:ec2:*", "arn:aws:ec2:us-east-1:1:instance/i-1", true),
            ("arn:aws:ec2", "arn:aws:ec2:us-east-1:1:instance/i-1", false),
            ("arn:aws:kms:*:1:key/*", "arn:aws:kms:eu-west-1:1:key/abcd", true),
            ("arn:aws:kms:*:1:key/*", "arn:aws:kms:eu-west-1:2:key/abcd", false),
            ("arn:aws:kms:*:1:key/*", "*", false),
            ("arn:aws:logs:*:1:log-group:/mamori/session-manager:*", "arn:aws:logs:us-east-1:1:log-group:/mamori/session-manager:log-stream:i-1", true),
        ];
        for (pattern, resource, expected) in table {
            assert_eq!(resource_matches(pattern, resource), expected, "Resource {pattern} against {resource}");
        }
    }
}
