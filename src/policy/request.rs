//! A request as IAM sees it when it evaluates policies: who asks (the principal), for what (action and
//! resource), and the request context, the condition keys AWS attaches.
//!
//! [`Request::new`] fills in the keys AWS documents for every signed request ("AWS global condition
//! context keys"): `aws:PrincipalArn` and `aws:PrincipalAccount` for an IAM principal (absent for a
//! service principal), `aws:PrincipalIsAWSService` (`true` only when an AWS service principal makes
//! the call itself, CloudTrail writing its log files, say), `aws:PrincipalServiceName` for a service
//! principal, `aws:ViaAWSService` (`false` unless the request is made for the principal by a service
//! through a forward access session, see [`Request::via_service`]) and `aws:SecureTransport` (`true`:
//! AWS services and the SDKs speak TLS). Everything else (`aws:SourceVpce`, `aws:SourceIp`,
//! `aws:SourceArn`, `aws:SourceAccount`, `kms:ViaService`, `kms:CallerAccount`,
//! `kms:EncryptionContext:…`, `s3:x-amz-acl`, …) is absent until a caller sets it with
//! [`Request::with`], exactly as AWS leaves out a key that does not apply to a request.
//!
//! Condition key names are case-insensitive (their values are not): keys are stored lower-cased.

use std::collections::BTreeMap;

use super::arn;

/// Who makes a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// An IAM principal: the account root, an IAM user, or a role session. `arn` is what
    /// `aws:PrincipalArn` carries: for a role session the role's ARN, path included.
    Aws { arn: String, account: String },
    /// An AWS service principal acting on its own behalf (`cloudtrail.amazonaws.com`).
    Service(String),
}

impl Principal {
    /// An IAM principal from its ARN (`arn:aws:iam::111122223333:role/ops/BreakGlass`, `…:root`).
    pub fn aws(arn: &str) -> Principal {
        Principal::Aws { arn: arn.to_string(), account: arn::account(arn).unwrap_or_default().to_string() }
    }

    /// An AWS service principal (`logging.s3.amazonaws.com`).
    pub fn service(name: &str) -> Principal {
        Principal::Service(name.to_string())
    }

    /// The account of an IAM principal; `None` for a service principal.
    pub fn account(&self) -> Option<&str> {
        match self {
            Principal::Aws { account, .. } => Some(account),
            Principal::Service(_) => None,
        }
    }

    /// True for the root user of its account.
    pub fn is_root(&self) -> bool {
        matches!(self, Principal::Aws { arn, .. } if arn.ends_with(":root"))
    }
}

/// One request: principal, action, resource and context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub principal: Principal,
    /// `service:Action`.
    pub action: String,
    /// The resource ARN, or `*` for an action that takes no resource.
    pub resource: String,
    /// Condition keys, lower-cased, each with its values (a single-valued key has one).
    context: BTreeMap<String, Vec<String>>,
}

impl Request {
    /// A request with the context keys AWS attaches to every signed request (module documentation).
    pub fn new(principal: Principal, action: &str, resource: &str) -> Request {
        let mut request = Request { principal, action: action.to_string(), resource: resource.to_string(), context: BTreeMap::new() };
        match request.principal.clone() {
            Principal::Aws { arn, account } => {
                request = request.with("aws:PrincipalArn", &arn).with("aws:PrincipalAccount", &account).with("aws:PrincipalIsAWSService", "false");
            }
            Principal::Service(name) => {
                request = request.with("aws:PrincipalServiceName", &name).with("aws:PrincipalIsAWSService", "true");
            }
        }
        request.with("aws:ViaAWSService", "false").with("aws:SecureTransport", "true")
    }

    /// This request with the single-valued key `key` set to `value`.
    pub fn with(self, key: &str, value: &str) -> Request {
        self.with_values(key, &[value])
    }

    /// This request with the (multivalued) key `key` set to `values`.
    pub fn with_values(mut self, key: &str, values: &[&str]) -> Request {
        self.context.insert(key.to_lowercase(), values.iter().map(|v| v.to_string()).collect());
        self
    }

    /// This request without `key`: AWS does not send it.
    pub fn without(mut self, key: &str) -> Request {
        self.context.remove(&key.to_lowercase());
        self
    }

    /// This request made for its principal by the AWS service `service` through a forward access
    /// session (Athena reading a bucket for a user, S3 calling KMS for the uploader):
    /// `aws:ViaAWSService` is `true` and `aws:CalledVia` names the service.
    pub fn via_service(self, service: &str) -> Request {
        self.with("aws:ViaAWSService", "true").with_values("aws:CalledVia", &[service])
    }

    /// The values of `key`, when the request carries it.
    pub fn values(&self, key: &str) -> Option<&[String]> {
        self.context.get(&key.to_lowercase()).map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_carries_the_keys_aws_always_sends() {
        let role = Request::new(Principal::aws("arn:aws:iam::111122223333:role/ops/Admin"), "s3:GetObject", "arn:aws:s3:::b/k");
        assert_eq!(role.values("AWS:PrincipalArn"), Some(&["arn:aws:iam::111122223333:role/ops/Admin".to_string()][..]), "keys ignore case");
        assert_eq!(role.values("aws:PrincipalAccount").unwrap()[0], "111122223333");
        assert_eq!(role.values("aws:PrincipalIsAWSService").unwrap()[0], "false");
        assert_eq!(role.values("aws:ViaAWSService").unwrap()[0], "false");
        assert_eq!(role.values("aws:SourceVpce"), None, "absent unless set");

        let trail = Request::new(Principal::service("cloudtrail.amazonaws.com"), "s3:PutObject", "arn:aws:s3:::b/k");
        assert_eq!(trail.values("aws:PrincipalIsAWSService").unwrap()[0], "true");
        assert_eq!(trail.values("aws:PrincipalArn"), None, "a service principal has no PrincipalArn");
        assert_eq!(trail.principal.account(), None);

        let athena = role.via_service("athena.amazonaws.com").with("aws:SourceVpce", "vpce-1").without("aws:SecureTransport");
        assert_eq!(athena.values("aws:ViaAWSService").unwrap()[0], "true");
        assert_eq!(athena.values("aws:CalledVia").unwrap()[0], "athena.amazonaws.com");
        assert_eq!(athena.values("aws:SourceVpce").unwrap()[0], "vpce-1");
        assert_eq!(athena.values("aws:SecureTransport"), None);
        assert!(Principal::aws("arn:aws:iam::1:root").is_root() && !Principal::aws("arn:aws:iam::1:user/root").is_root());
    }
}
