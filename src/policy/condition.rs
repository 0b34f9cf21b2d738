//! Condition operators, as "IAM JSON policy elements: Condition operators" defines them.
//!
//! One [`Condition`] (operator, key, policy values) holds or not for a [`Request`]:
//!
//! - the value of the key in the request context matches any of the policy values (`OR`); a negated
//!   operator (`StringNotEquals`, `ArnNotLike`, `NotIpAddress`, `NumericNotEquals`) holds when it
//!   matches none of them;
//! - a key absent from the request: the condition is false, except that a negated operator is then
//!   true, `…IfExists` is then true, and `Null` tests exactly that absence ("If the key that you
//!   specify in a policy condition is not present in the request context, the values do not match
//!   … If the policy condition requires that the key is not matched, such as StringNotLike or
//!   ArnNotLike, and the right key is not present, the condition is true");
//! - `ForAnyValue:` holds when some value of a multivalued key matches (false when the key is absent
//!   or empty), `ForAllValues:` when every value does (true when it is absent or empty) ("Set
//!   operators for multivalued context keys");
//! - policy variables (`${aws:PrincipalAccount}`) in a policy value are replaced by the request's value
//!   of that key; a value whose variable the request lacks matches nothing ("IAM policy elements:
//!   Variables and tags").
//!
//! Supported operators: `String*` (`Equals`, `NotEquals`, `EqualsIgnoreCase`, `NotEqualsIgnoreCase`,
//! `Like`, `NotLike`), `Numeric*`, `Bool`, `Null`, `IpAddress`/`NotIpAddress`, `Arn*` (part by part,
//! see [`super::arn`]), each with `IfExists` and the set prefixes. Others (`Date*`, `Binary*`) are
//! [`Unsupported`]: the evaluator then assumes the worst for the question asked (an `Allow` that does
//! not apply, a `Deny` that does), never a silent pass.

use std::net::IpAddr;

use super::arn;
use super::document::Condition;
use super::request::Request;
use super::wildcard::Wildcard;

/// A condition operator mamori cannot evaluate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("condition operator `{0}` is not evaluated by mamori")]
pub struct Unsupported(pub String);

/// How one request value is compared with one policy value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Comparison {
    String,
    StringIgnoreCase,
    StringLike,
    Numeric(Order),
    Bool,
    Ip,
    Arn,
}

/// How a numeric request value must stand to the policy value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Order {
    fn holds(self, request: f64, policy: f64) -> bool {
        match self {
            Order::Equal => request == policy,
            Order::Less => request < policy,
            Order::LessOrEqual => request <= policy,
            Order::Greater => request > policy,
            Order::GreaterOrEqual => request >= policy,
        }
    }
}

/// Whether the operator asks about some or all values of a multivalued key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Set {
    Single,
    AnyValue,
    AllValues,
}

/// An operator taken apart: `ForAllValues:StringNotLikeIfExists` is (AllValues, StringLike, negated,
/// if-exists).
struct Operator {
    set: Set,
    comparison: Comparison,
    negated: bool,
    if_exists: bool,
}

fn operator(name: &str) -> Result<Operator, Unsupported> {
    let unsupported = || Unsupported(name.to_string());
    let (set, rest) = match name.split_once(':') {
        Some(("ForAnyValue", rest)) => (Set::AnyValue, rest),
        Some(("ForAllValues", rest)) => (Set::AllValues, rest),
        Some(_) => return Err(unsupported()),
        None => (Set::Single, name),
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (rest, false),
    };
    let (comparison, negated) = match base {
        "StringEquals" => (Comparison::String, false),
        "StringNotEquals" => (Comparison::String, true),
        "StringEqualsIgnoreCase" => (Comparison::StringIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Comparison::StringIgnoreCase, true),
        "StringLike" => (Comparison::StringLike, false),
        "StringNotLike" => (Comparison::StringLike, true),
        "NumericEquals" => (Comparison::Numeric(Order::Equal), false),
        "NumericNotEquals" => (Comparison::Numeric(Order::Equal), true),
        "NumericLessThan" => (Comparison::Numeric(Order::Less), false),
        "NumericLessThanEquals" => (Comparison::Numeric(Order::LessOrEqual), false),
        "NumericGreaterThan" => (Comparison::Numeric(Order::Greater), false),
        "NumericGreaterThanEquals" => (Comparison::Numeric(Order::GreaterOrEqual), false),
        "Bool" => (Comparison::Bool, false),
        "IpAddress" => (Comparison::Ip, false),
        "NotIpAddress" => (Comparison::Ip, true),
        "ArnEquals" | "ArnLike" => (Comparison::Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (Comparison::Arn, true),
        _ => return Err(unsupported()),
    };
    Ok(Operator { set, comparison, negated, if_exists })
}

/// Whether `condition` holds for `request` (module documentation).
pub fn holds(condition: &Condition, request: &Request) -> Result<bool, Unsupported> {
    let values: &[String] = request.values(&condition.key).unwrap_or_default();
    if condition.operator == "Null" {
        let absent = values.is_empty();
        return Ok(condition.values.iter().any(|wanted| wanted.eq_ignore_ascii_case(&absent.to_string())));
    }
    let operator = operator(&condition.operator)?;
    let policy_values: Vec<String> = condition.values.iter().filter_map(|value| substitute(value, request)).collect();
    let matches = |value: &String| policy_values.iter().any(|wanted| compare(operator.comparison, wanted, value));
    if values.is_empty() {
        return Ok(operator.if_exists || match operator.set {
            Set::Single => operator.negated,
            Set::AnyValue => false,
            Set::AllValues => true,
        });
    }
    let accepted = |value: &String| matches(value) != operator.negated;
    Ok(match operator.set {
        Set::Single if operator.negated => values.iter().all(accepted),
        Set::Single | Set::AnyValue => values.iter().any(accepted),
        Set::AllValues => values.iter().all(accepted),
    })
}

/// `wanted` (a policy value) with its policy variables replaced from `request`; `None` when the
/// request lacks one of them.
pub fn substitute(wanted: &str, request: &Request) -> Option<String> {
    let mut out = String::new();
    let mut rest = wanted;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}')? + start;
        out.push_str(&rest[..start]);
        let name = &rest[start + 2..end];
        match name {
            "*" | "?" | "$" => out.push_str(name),
            key => out.push_str(request.values(key)?.first()?),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn compare(comparison: Comparison, wanted: &str, value: &str) -> bool {
    match comparison {
        Comparison::String => wanted == value,
        Comparison::StringIgnoreCase => wanted.to_lowercase() == value.to_lowercase(),
        Comparison::StringLike => Wildcard::IAM_VALUE.matches(wanted, value),
        Comparison::Numeric(order) => matches!((value.trim().parse::<f64>(), wanted.trim().parse::<f64>()), (Ok(v), Ok(w)) if order.holds(v, w)),
        Comparison::Bool => wanted.eq_ignore_ascii_case(value),
        Comparison::Ip => in_range(wanted, value),
        Comparison::Arn => arn::arn_like(wanted, value),
    }
}

/// True when the address `value` lies in `range` (a CIDR block, or one address).
fn in_range(range: &str, value: &str) -> bool {
    let (network, length) = match range.split_once('/') {
        Some((network, length)) => (network, length.parse::<u32>().ok()),
        None => (range, None),
    };
    let bits = |address: IpAddr| -> (u128, u32) {
        match address {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
            IpAddr::V6(v6) => (u128::from(v6), 128),
        }
    };
    let (Ok(network), Ok(address)) = (network.parse::<IpAddr>(), value.parse::<IpAddr>()) else { return false };
    let ((network, width), (address, address_width)) = (bits(network), bits(address));
    let length = length.unwrap_or(width);
    if width != address_width || length > width {
        return false;
    }
    let shift = width - length;
    shift >= width || (network >> shift) == (address >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::request::Principal;

    fn request() -> Request {
        Request::new(Principal::aws("arn:aws:iam::111122223333:role/ops/App"), "s3:GetObject", "arn:aws:s3:::b/k")
            .with("aws:SourceIp", "203.0.113.7")
            .with("aws:SourceAccount", "111122223333")
            .with("s3:max-keys", "10")
            .with_values("aws:TagKeys", &["team", "cost-center"])
            .with_values("kms:ResourceAliases", &["alias/mamori-baseline"])
    }

    fn check(operator: &str, key: &str, values: &[&str]) -> bool {
        let condition = Condition { operator: operator.into(), key: key.into(), values: values.iter().map(|v| v.to_string()).collect() };
        holds(&condition, &request()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn operators_on_a_present_key() {
        // (operator, key, policy values, holds)
        let table: &[(&str, &str, &[&str], bool)] = &[
            ("StringEquals", "aws:SourceAccount", &["999", "111122223333"], true),
            ("StringEquals", "AWS:SOURCEACCOUNT", &["111122223333"], true),
            ("StringNotEquals", "aws:SourceAccount", &["999", "111122223333"], false),
            ("StringNotEquals", "aws:SourceAccount", &["999"], true),
            ("StringEqualsIgnoreCase", "aws:PrincipalArn", &["ARN:AWS:IAM::111122223333:ROLE/OPS/APP"], true),
            ("StringEquals", "aws:PrincipalArn", &["arn:aws:iam::111122223333:role/ops/app"], false),
            ("StringLike", "aws:PrincipalArn", &["arn:aws:iam::*:role/*"], true),
            ("StringLike", "aws:PrincipalArn", &["*:role/App"], false),
            ("StringNotLike", "aws:PrincipalArn", &["*:role/App"], true),
            ("ArnLike", "aws:PrincipalArn", &["arn:aws:iam::111122223333:role/App"], false),
            ("ArnLike", "aws:PrincipalArn", &["arn:aws:iam::*:role/ops/App"], true),
            ("ArnEquals", "aws:PrincipalArn", &["arn:aws:iam::111122223333:role/ops/App"], true),
            ("ArnNotLike", "aws:PrincipalArn", &["arn:aws:iam::111122223333:role/App"], true),
            ("NumericLessThanEquals", "s3:max-keys", &["10"], true),
            ("NumericLessThan", "s3:max-keys", &["10"], false),
            ("NumericGreaterThan", "s3:max-keys", &["9.5"], true),
            ("NumericNotEquals", "s3:max-keys", &["10"], false),
            ("NumericEquals", "s3:max-keys", &["ten"], false),
            ("Bool", "aws:SecureTransport", &["TRUE"], true),
            ("Bool", "aws:SecureTransport", &["false"], false),
            ("IpAddress", "aws:SourceIp", &["203.0.113.0/24"], true),
            ("IpAddress", "aws:SourceIp", &["203.0.113.7"], true),
            ("IpAddress", "aws:SourceIp", &["198.51.100.0/24", "2001:db8::/32"], false),
            ("IpAddress", "aws:SourceIp", &["0.0.0.0/0"], true),
            ("NotIpAddress", "aws:SourceIp", &["203.0.113.0/25"], false),
            ("NotIpAddress", "aws:SourceIp", &["203.0.113.128/25"], true),
            ("StringEquals", "aws:SourceAccount", &["${aws:PrincipalAccount}"], true),
            ("StringEquals", "aws:SourceAccount", &["${aws:ResourceOrgID}"], false),
            ("Null", "aws:SourceAccount", &["false"], true),
            ("Null", "aws:SourceAccount", &["true"], false),
            ("StringEqualsIfExists", "aws:SourceAccount", &["999"], false),
        ];
        for (operator, key, values, expected) in table {
            assert_eq!(check(operator, key, values), *expected, "{operator} {key} {values:?}");
        }
    }

    #[test]
    fn an_absent_key_is_false_but_for_negated_operators_if_exists_and_null() {
        let table: &[(&str, bool)] = &[
            ("StringEquals", false),
            ("StringLike", false),
            ("ArnLike", false),
            ("Bool", false),
            ("IpAddress", false),
            ("NumericEquals", false),
            ("StringNotEquals", true),
            ("StringNotLike", true),
            ("ArnNotLike", true),
            ("NotIpAddress", true),
            ("NumericNotEquals", true),
            ("StringEqualsIfExists", true),
            ("BoolIfExists", true),
            ("ArnLikeIfExists", true),
            ("ForAnyValue:StringEquals", false),
            ("ForAnyValue:StringNotEquals", false),
            ("ForAnyValue:StringEqualsIfExists", true),
            ("ForAllValues:StringEquals", true),
            ("ForAllValues:StringNotLike", true),
        ];
        for (operator, expected) in table {
            assert_eq!(check(operator, "aws:SourceVpce", &["vpce-1"]), *expected, "{operator} on an absent key");
        }
        assert!(check("Null", "aws:SourceVpce", &["true"]));
        assert!(!check("Null", "aws:SourceVpce", &["false"]));
    }

    #[test]
    fn set_operators_on_multivalued_keys() {
        assert!(check("ForAnyValue:StringEquals", "aws:TagKeys", &["team"]));
        assert!(!check("ForAllValues:StringEquals", "aws:TagKeys", &["team"]));
        assert!(check("ForAllValues:StringEquals", "aws:TagKeys", &["team", "cost-center", "owner"]));
        assert!(check("ForAnyValue:StringNotEquals", "aws:TagKeys", &["team"]), "cost-center is not team");
        assert!(!check("ForAllValues:StringNotEquals", "aws:TagKeys", &["team"]));
        assert!(check("ForAnyValue:StringEquals", "kms:ResourceAliases", &["alias/mamori-baseline"]));
        assert!(!check("StringNotEquals", "aws:TagKeys", &["team"]), "a negated single-value operator holds only when no value matches");
    }

    #[test]
    fn operators_mamori_cannot_evaluate_are_reported() {
        let condition = Condition { operator: "DateGreaterThan".into(), key: "aws:CurrentTime".into(), values: vec!["2020-01-01T00:00:00Z".into()] };
        assert_eq!(holds(&condition, &request()), Err(Unsupported("DateGreaterThan".into())));
        let typo = Condition { operator: "ForSomeValues:StringEquals".into(), key: "aws:TagKeys".into(), values: vec![] };
        assert!(holds(&typo, &request()).is_err());
    }

    #[test]
    fn addresses_compare_by_prefix_and_family() {
        assert!(in_range("10.0.0.0/8", "10.255.0.1") && !in_range("10.0.0.0/8", "11.0.0.1"));
        assert!(in_range("2001:db8::/32", "2001:db8:1::1") && !in_range("2001:db8::/32", "2001:db9::1"));
        assert!(!in_range("10.0.0.0/8", "2001:db8::1"), "families never match each other");
        assert!(!in_range("10.0.0.0/33", "10.0.0.1") && !in_range("not-an-ip/8", "10.0.0.1"));
    }
}
