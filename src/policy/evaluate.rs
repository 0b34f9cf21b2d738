//! Whether a set of policies allows a request, as IAM decides it ("Policy evaluation logic", IAM User
//! Guide).
//!
//! The policies are the principal's identity policies and, when the resource has one, its resource
//! policy (a bucket policy, a key policy). For one [`Request`]:
//!
//! 1. An explicit `Deny` in any of them whose principal, action, resource and conditions all apply
//!    decides: [`Decision::ExplicitDeny`], naming the statement.
//! 2. Otherwise an `Allow` decides, where it counts:
//!    - a service principal (`cloudtrail.amazonaws.com`) has no identity policies: only a resource
//!      policy statement naming it (or everyone) allows it;
//!    - an IAM principal in the resource's account is allowed by its identity policies or by a resource
//!      policy statement naming it directly (its ARN, or everyone); a statement naming its account
//!      (`arn:aws:iam::ACCOUNT:root`) only delegates to the identity policies;
//!    - across accounts both sides must allow: the identity policies and the resource policy (the
//!      principal, or its account);
//!    - a KMS key is the exception to the same-account rule: its key policy must allow the request,
//!      directly or by naming the account, which is what lets identity policies grant it at all
//!      ("AWS KMS: Key policies": "Unless the key policy explicitly allows it, you cannot use IAM
//!      policies to allow access to a KMS key").
//!    The account root user of the resource's account is allowed wherever an identity policy would
//!    be (it has every identity permission), but not past a key policy that leaves out the account.
//! 3. Otherwise: [`Decision::ImplicitDeny`].
//!
//! A statement applies when its `Principal`/`NotPrincipal` (resource policies only), `Action`/
//! `NotAction` ([`Wildcard::IAM_ACTION`]), `Resource`/`NotResource` ([`arn::resource_matches`], policy
//! variables replaced) match and every condition holds ([`condition::holds`]). A condition mamori
//! cannot evaluate makes an `Allow` not apply and a `Deny` apply: the answer errs towards "denied".
//! Permissions boundaries, session policies, SCPs and RCPs are not looked at; a caller that needs them
//! says so in its own documentation.

use serde_json::Value;

use super::arn;
use super::condition::{self, substitute};
use super::document::{self, Effect, Listed, Principals, Statement};
use super::request::{Principal, Request};
use super::wildcard::Wildcard;

/// IAM's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// A `Deny` statement applies; its `Sid`, when it has one.
    ExplicitDeny(Option<String>),
    /// Nothing allows the request.
    ImplicitDeny,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        *self == Decision::Allowed
    }
}

/// What the resource is, as far as evaluation differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Any resource but a KMS key.
    Plain,
    /// A KMS key: its key policy must allow (step 2 of the module documentation).
    KmsKey,
}

/// The policies that decide a request.
#[derive(Clone, Debug)]
pub struct Policies<'a> {
    identity: Vec<&'a Value>,
    resource: Option<&'a Value>,
    /// The account that owns the resource; `None`: the principal's own.
    owner: Option<String>,
    kind: Kind,
}

impl<'a> Policies<'a> {
    /// Only identity policies, for a resource of the principal's own account that has no resource
    /// policy (or whose resource policy is known to leave the decision to them).
    pub fn identity(identity: &[&'a Value]) -> Policies<'a> {
        Policies { identity: identity.to_vec(), resource: None, owner: None, kind: Kind::Plain }
    }

    /// The resource policy of a resource that `owner` owns (a bucket policy, a topic policy).
    pub fn resource(policy: &'a Value, owner: &str) -> Policies<'a> {
        Policies { identity: Vec::new(), resource: Some(policy), owner: Some(owner.to_string()), kind: Kind::Plain }
    }

    /// The key policy of a KMS key that `owner` owns.
    pub fn key(policy: &'a Value, owner: &str) -> Policies<'a> {
        Policies { kind: Kind::KmsKey, ..Policies::resource(policy, owner) }
    }

    /// These policies with the principal's identity policies.
    pub fn with_identity(mut self, identity: &[&'a Value]) -> Policies<'a> {
        self.identity = identity.to_vec();
        self
    }
}

/// How a resource policy statement's `Principal` covers the requester.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Named {
    No,
    /// By its account: delegates to the account's identity policies.
    Account,
    /// By name, or as everyone.
    Directly,
}

/// IAM's decision on `request` under `policies` (module documentation).
pub fn evaluate(policies: &Policies<'_>, request: &Request) -> Decision {
    let identity: Vec<Statement> = match request.principal {
        Principal::Aws { .. } => policies.identity.iter().flat_map(|document| document::read(document)).collect(),
        Principal::Service(_) => Vec::new(),
    };
    let resource: Vec<Statement> = policies.resource.map(document::read).unwrap_or_default();
    let identity_denies = identity.iter().filter(|s| s.effect == Effect::Deny).find(|s| applies(s, request, Effect::Deny));
    let resource_denies = resource.iter().filter(|s| s.effect == Effect::Deny).find(|s| named(s, request) != Named::No && applies(s, request, Effect::Deny));
    if let Some(deny) = identity_denies.or(resource_denies) {
        return Decision::ExplicitDeny(deny.sid.clone());
    }
    let identity_allows = identity.iter().any(|s| s.effect == Effect::Allow && applies(s, request, Effect::Allow));
    let resource_allows = resource
        .iter()
        .filter(|s| s.effect == Effect::Allow && applies(s, request, Effect::Allow))
        .map(|s| named(s, request))
        .max()
        .unwrap_or(Named::No);
    let allowed = match &request.principal {
        Principal::Service(_) => resource_allows == Named::Directly,
        Principal::Aws { account, .. } => {
            let same_account = policies.owner.as_deref().is_none_or(|owner| owner == account);
            let identity_allows = identity_allows || (same_account && request.principal.is_root());
            match (policies.kind, same_account) {
                (Kind::KmsKey, true) => resource_allows == Named::Directly || (resource_allows == Named::Account && identity_allows),
                (Kind::Plain, true) => identity_allows || resource_allows == Named::Directly,
                (_, false) => identity_allows && resource_allows != Named::No,
            }
        }
    };
    if allowed {
        Decision::Allowed
    } else {
        Decision::ImplicitDeny
    }
}

/// Whether the statement's action, resource and conditions apply to `request`. A condition mamori
/// cannot evaluate counts as applying for a `Deny` and not for an `Allow`.
fn applies(statement: &Statement, request: &Request, effect: Effect) -> bool {
    let action = listed_match(&statement.action, |pattern| Wildcard::IAM_ACTION.matches(pattern, &request.action));
    let resource = statement.resource.as_ref().is_none_or(|resource| {
        listed_match(resource, |pattern| substitute(pattern, request).is_some_and(|pattern| arn::resource_matches(&pattern, &request.resource)))
    });
    action
        && resource
        && statement.conditions.iter().all(|c| match condition::holds(c, request) {
            Ok(holds) => holds,
            Err(_) => effect == Effect::Deny,
        })
}

/// True when some item matches (or, negated, none does).
fn listed_match(listed: &Listed<Vec<String>>, matches: impl Fn(&str) -> bool) -> bool {
    listed.items.iter().any(|item| matches(item)) != listed.negated
}

/// How the statement's `Principal` (or `NotPrincipal`) names the requester. A statement without one
/// (invalid in a resource policy) names nobody.
fn named(statement: &Statement, request: &Request) -> Named {
    let Some(principal) = &statement.principal else { return Named::No };
    let named = names(&principal.items, &request.principal);
    match (principal.negated, named) {
        (false, named) => named,
        (true, Named::No) => Named::Directly,
        (true, _) => Named::No,
    }
}

fn names(principals: &Principals, requester: &Principal) -> Named {
    if principals.everyone {
        return Named::Directly;
    }
    match requester {
        Principal::Service(name) => {
            if principals.services.iter().any(|service| service.eq_ignore_ascii_case(name)) {
                Named::Directly
            } else {
                Named::No
            }
        }
        Principal::Aws { arn, account } => principals
            .aws
            .iter()
            .map(|entry| {
                let root = format!("arn:{}:iam::{account}:root", arn::parts(arn).map_or("aws", |parts| parts[1]));
                if entry == arn {
                    Named::Directly
                } else if entry == account || *entry == root {
                    Named::Account
                } else {
                    Named::No
                }
            })
            .max()
            .unwrap_or(Named::No),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ACCOUNT: &str = "111122223333";
    const OTHER: &str = "999988887777";

    fn role(account: &str, name: &str) -> Principal {
        Principal::aws(&format!("arn:aws:iam::{account}:role/{name}"))
    }

    fn allow_all() -> Value {
        json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    }

    #[test]
    fn an_explicit_deny_wins_then_an_allow_else_nothing() {
        let get = Request::new(role(ACCOUNT, "App"), "s3:GetObject", "arn:aws:s3:::data/k");
        let all = allow_all();
        let deny = json!({"Statement": {"Sid": "NoReads", "Effect": "Deny", "Action": "s3:Get*", "Resource": "arn:aws:s3:::data/*"}});
        let put_only = json!({"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]});
        assert_eq!(evaluate(&Policies::identity(&[&all]), &get), Decision::Allowed);
        assert_eq!(evaluate(&Policies::identity(&[&all, &deny]), &get), Decision::ExplicitDeny(Some("NoReads".into())));
        assert_eq!(evaluate(&Policies::identity(&[&put_only]), &get), Decision::ImplicitDeny);
        assert_eq!(evaluate(&Policies::identity(&[]), &get), Decision::ImplicitDeny);
    }

    #[test]
    fn not_action_not_resource_and_not_principal_invert_their_lists() {
        let get = Request::new(role(ACCOUNT, "App"), "s3:GetObject", "arn:aws:s3:::data/k");
        let table = [
            (json!({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), true),
            (json!({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}), false),
            (json!({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::other/*"}), true),
            (json!({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::data/*"}), false),
        ];
        for (statement, allowed) in table {
            let document = json!({"Statement": [statement]});
            assert_eq!(evaluate(&Policies::identity(&[&document]), &get).is_allowed(), allowed, "{document}");
        }
        let bucket = json!({"Statement": [{"Sid": "OnlyAdmin", "Effect": "Deny", "NotPrincipal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/Admin")}, "Action": "s3:*", "Resource": "arn:aws:s3:::data/*"}]});
        let all = allow_all();
        let policies = Policies::resource(&bucket, ACCOUNT).with_identity(&[&all]);
        assert_eq!(evaluate(&policies, &get), Decision::ExplicitDeny(Some("OnlyAdmin".into())));
        let admin = Request::new(role(ACCOUNT, "Admin"), "s3:GetObject", "arn:aws:s3:::data/k");
        assert_eq!(evaluate(&policies, &admin), Decision::Allowed);
    }

    #[test]
    fn who_a_resource_policy_allows_depends_on_the_principal_and_the_account() {
        let bucket = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::logs/*"},
            {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/Reader")}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs/*"},
            {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs/*"}
        ]});
        let all = allow_all();
        let put = |principal: Principal| Request::new(principal, "s3:PutObject", "arn:aws:s3:::logs/x");
        let get = |principal: Principal| Request::new(principal, "s3:GetObject", "arn:aws:s3:::logs/x");
        let on_bucket = Policies::resource(&bucket, ACCOUNT);
        let with_identity = Policies::resource(&bucket, ACCOUNT).with_identity(&[&all]);
        let table = [
            ("a named service principal", &on_bucket, put(Principal::service("logging.s3.amazonaws.com")), true),
            ("another service principal", &on_bucket, put(Principal::service("cloudtrail.amazonaws.com")), false),
            ("a service principal ignores identity policies", &with_identity, put(Principal::service("cloudtrail.amazonaws.com")), false),
            ("a role the bucket names, without identity policy", &on_bucket, get(role(ACCOUNT, "Reader")), true),
            ("a role the bucket does not name, without identity policy", &on_bucket, get(role(ACCOUNT, "Writer")), false),
            ("the same account's role by its identity policy alone", &with_identity, put(role(ACCOUNT, "Writer")), true),
            ("the same account's root user", &on_bucket, put(Principal::aws(&format!("arn:aws:iam::{ACCOUNT}:root"))), true),
            ("another account the bucket names, with identity policy", &with_identity, get(role(OTHER, "Any")), true),
            ("another account the bucket names, without identity policy", &on_bucket, get(role(OTHER, "Any")), false),
            ("another account, an action the bucket does not grant", &with_identity, put(role(OTHER, "Any")), false),
            ("a third account", &with_identity, get(role("444455556666", "Any")), false),
        ];
        for (case, policies, request, allowed) in table {
            assert_eq!(evaluate(policies, &request).is_allowed(), allowed, "{case}");
        }
    }

    #[test]
    fn a_key_policy_must_allow_even_the_same_account() {
        let delegating = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"}]});
        let closed = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/KeyAdmin")}, "Action": "kms:*", "Resource": "*"}]});
        let identity = json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]});
        let decrypt = |principal: Principal| Request::new(principal, "kms:Decrypt", &format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/k"));
        let table = [
            ("delegated, identity allows", Policies::key(&delegating, ACCOUNT).with_identity(&[&identity]), decrypt(role(ACCOUNT, "App")), true),
            ("delegated, no identity policy", Policies::key(&delegating, ACCOUNT), decrypt(role(ACCOUNT, "App")), false),
            ("not delegated, identity allows", Policies::key(&closed, ACCOUNT).with_identity(&[&identity]), decrypt(role(ACCOUNT, "App")), false),
            ("named in the key policy", Policies::key(&closed, ACCOUNT), decrypt(role(ACCOUNT, "KeyAdmin")), true),
            ("root, delegated", Policies::key(&delegating, ACCOUNT), decrypt(Principal::aws(&format!("arn:aws:iam::{ACCOUNT}:root"))), true),
            ("root, not delegated", Policies::key(&closed, ACCOUNT), decrypt(Principal::aws(&format!("arn:aws:iam::{ACCOUNT}:root"))), false),
            ("another account", Policies::key(&delegating, ACCOUNT).with_identity(&[&identity]), decrypt(role(OTHER, "App")), false),
        ];
        for (case, policies, request, allowed) in table {
            assert_eq!(evaluate(&policies, &request).is_allowed(), allowed, "{case}");
        }
    }

    #[test]
    fn conditions_decide_with_the_request_context() {
        let bucket = json!({"Statement": [
            {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*",
             "Condition": {"StringEquals": {"aws:SourceArn": format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t"), "s3:x-amz-acl": "bucket-owner-full-control"}}}
        ]});
        let policies = Policies::resource(&bucket, ACCOUNT);
        let write = Request::new(Principal::service("cloudtrail.amazonaws.com"), "s3:PutObject", "arn:aws:s3:::b/AWSLogs/x")
            .with("aws:SourceArn", &format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t"))
            .with("s3:x-amz-acl", "bucket-owner-full-control");
        assert_eq!(evaluate(&policies, &write), Decision::Allowed);
        assert_eq!(evaluate(&policies, &write.clone().without("s3:x-amz-acl")), Decision::ImplicitDeny);
        let confused_deputy = write.clone().with("aws:SourceArn", &format!("arn:aws:cloudtrail:us-east-1:{OTHER}:trail/t"));
        assert_eq!(evaluate(&policies, &confused_deputy), Decision::ImplicitDeny);
        assert_eq!(evaluate(&policies, &write.with("aws:SecureTransport", "false")), Decision::ExplicitDeny(Some("TlsOnly".into())));
    }

    #[test]
    fn unevaluable_conditions_err_towards_denied() {
        let dated_allow = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}}]});
        let dated_deny = json!({"Statement": [{"Sid": "Later", "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}}]});
        let all = allow_all();
        let request = Request::new(role(ACCOUNT, "App"), "ssm:UpdateInstanceInformation", "*");
        assert_eq!(evaluate(&Policies::identity(&[&dated_allow]), &request), Decision::ImplicitDeny);
        assert_eq!(evaluate(&Policies::identity(&[&all, &dated_deny]), &request), Decision::ExplicitDeny(Some("Later".into())));
    }

    #[test]
    fn resource_patterns_take_policy_variables() {
        let own_prefix = json!({"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::home/${aws:PrincipalAccount}/*"}]});
        let mine = Request::new(role(ACCOUNT, "App"), "s3:PutObject", &format!("arn:aws:s3:::home/{ACCOUNT}/x"));
        let theirs = Request::new(role(ACCOUNT, "App"), "s3:PutObject", &format!("arn:aws:s3:::home/{OTHER}/x"));
        assert!(evaluate(&Policies::identity(&[&own_prefix]), &mine).is_allowed());
        assert!(!evaluate(&Policies::identity(&[&own_prefix]), &theirs).is_allowed());
    }
}
