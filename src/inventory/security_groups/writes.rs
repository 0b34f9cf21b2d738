//! Writing a batch of security group permissions to a group that may have changed since it was read.
//!
//! EC2 applies a batch all or nothing: one permission that is already there (authorize:
//! `InvalidPermission.Duplicate`) or already gone (revoke: `InvalidPermission.NotFound`) fails the
//! whole call, and a rerun of `apply` would fail the same way. [`send_tolerating`] then sends each
//! permission alone and counts that answer as done, so a rule someone added or removed in the
//! meantime is neither an error nor written twice. [`authorize_ingress`], [`revoke_ingress`],
//! [`authorize_egress`] and [`revoke_egress`] are the four writes the VPC and EC2 controls make this
//! way; they write nothing else.

use std::future::Future;

use aws_sdk_ec2::types::IpPermission;

use crate::aws::{AwsError, NameCall};
use crate::least_privilege::{arn, Grant};

/// The IAM actions of these writes, on the region's security groups (and their rules, which EC2
/// authorizes as a resource of their own).
pub const AUTHORIZE_INGRESS: Grant = Grant::on(&["ec2:AuthorizeSecurityGroupIngress"], &[arn::SECURITY_GROUP, arn::SECURITY_GROUP_RULE]);
pub const REVOKE_INGRESS: Grant = Grant::on(&["ec2:RevokeSecurityGroupIngress"], &[arn::SECURITY_GROUP]);
pub const AUTHORIZE_EGRESS: Grant = Grant::on(&["ec2:AuthorizeSecurityGroupEgress"], &[arn::SECURITY_GROUP, arn::SECURITY_GROUP_RULE]);
pub const REVOKE_EGRESS: Grant = Grant::on(&["ec2:RevokeSecurityGroupEgress"], &[arn::SECURITY_GROUP]);

/// The error code that says an authorized permission is already there.
const ALREADY_THERE: &str = "InvalidPermission.Duplicate";
/// The error code that says a revoked permission is already gone.
const ALREADY_GONE: &str = "InvalidPermission.NotFound";

/// Adds `permissions` to the group's inbound rules; one already there counts as added.
pub async fn authorize_ingress(client: &aws_sdk_ec2::Client, group_id: &str, permissions: Vec<IpPermission>) -> Result<(), AwsError> {
    let send = |batch| async {
        client.authorize_security_group_ingress().group_id(group_id).set_ip_permissions(Some(batch)).send().await.named("ec2:AuthorizeSecurityGroupIngress").map(|_| ())
    };
    send_tolerating(permissions, ALREADY_THERE, send).await
}

/// Removes exactly `permissions` from the group's inbound rules; one already gone counts as removed.
pub async fn revoke_ingress(client: &aws_sdk_ec2::Client, group_id: &str, permissions: Vec<IpPermission>) -> Result<(), AwsError> {
    let send = |batch| async {
        client.revoke_security_group_ingress().group_id(group_id).set_ip_permissions(Some(batch)).send().await.named("ec2:RevokeSecurityGroupIngress").map(|_| ())
    };
    send_tolerating(permissions, ALREADY_GONE, send).await
}

/// Adds `permissions` to the group's outbound rules; one already there counts as added.
pub async fn authorize_egress(client: &aws_sdk_ec2::Client, group_id: &str, permissions: Vec<IpPermission>) -> Result<(), AwsError> {
    let send = |batch| async {
        client.authorize_security_group_egress().group_id(group_id).set_ip_permissions(Some(batch)).send().await.named("ec2:AuthorizeSecurityGroupEgress").map(|_| ())
    };
    send_tolerating(permissions, ALREADY_THERE, send).await
}

/// Removes exactly `permissions` from the group's outbound rules; one already gone counts as removed.
pub async fn revoke_egress(client: &aws_sdk_ec2::Client, group_id: &str, permissions: Vec<IpPermission>) -> Result<(), AwsError> {
    let send = |batch| async {
        client.revoke_security_group_egress().group_id(group_id).set_ip_permissions(Some(batch)).send().await.named("ec2:RevokeSecurityGroupEgress").map(|_| ())
    };
    send_tolerating(permissions, ALREADY_GONE, send).await
}

/// Sends `permissions` in one call through `send`; when EC2 answers `done_code` for the batch, sends
/// them one by one, each `done_code` counting as done.
async fn send_tolerating<F, Fut>(permissions: Vec<IpPermission>, done_code: &str, send: F) -> Result<(), AwsError>
where
    F: Fn(Vec<IpPermission>) -> Fut,
    Fut: Future<Output = Result<(), AwsError>>,
{
    match send(permissions.clone()).await {
        Err(e) if e.is_code(done_code) => {
            for permission in permissions {
                match send(vec![permission]).await {
                    Err(e) if !e.is_code(done_code) => return Err(e),
                    _ => {}
                }
            }
            Ok(())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn error(code: &str) -> AwsError {
        AwsError { operation: "ec2:AuthorizeSecurityGroupEgress".into(), code: Some(code.into()), message: String::new(), request_id: None, status: Some(400) }
    }

    fn rule(port: i32) -> IpPermission {
        IpPermission::builder().ip_protocol("tcp").from_port(port).to_port(port).build()
    }

    #[tokio::test]
    async fn a_batch_with_a_rule_already_there_is_sent_rule_by_rule() {
        let sent = Mutex::new(Vec::new());
        let send = |batch: Vec<IpPermission>| {
            let ports: Vec<i32> = batch.iter().filter_map(|p| p.from_port()).collect();
            sent.lock().unwrap().push(ports.clone());
            async move { if ports.contains(&443) { Err(error(ALREADY_THERE)) } else { Ok(()) } }
        };
        send_tolerating(vec![rule(443), rule(80)], ALREADY_THERE, send).await.unwrap();
        assert_eq!(*sent.lock().unwrap(), [vec![443, 80], vec![443], vec![80]]);
    }

    #[tokio::test]
    async fn other_errors_are_errors() {
        let send = |_: Vec<IpPermission>| async { Err(error("UnauthorizedOperation")) };
        assert!(send_tolerating(vec![rule(443)], ALREADY_THERE, send).await.unwrap_err().is_code("UnauthorizedOperation"));
        let send = |batch: Vec<IpPermission>| async move { if batch.len() > 1 { Err(error(ALREADY_GONE)) } else { Err(error("RequestLimitExceeded")) } };
        assert!(send_tolerating(vec![rule(22), rule(3389)], ALREADY_GONE, send).await.is_err(), "a single send's other error stops it");
    }
}
