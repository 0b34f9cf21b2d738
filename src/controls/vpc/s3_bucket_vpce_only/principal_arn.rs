//! The caller's `aws:PrincipalArn`, as AWS puts it in the request context of the caller's own
//! requests: what a break-glass pattern is compared with.
//!
//! For a role session (`arn:aws:sts::111122223333:assumed-role/BreakGlass/alice`, what
//! `sts:GetCallerIdentity` returns) AWS uses the role's ARN, **path included**
//! (`arn:aws:iam::111122223333:role/ops/BreakGlass`; an IAM Identity Center permission set's role is
//! `role/aws-reserved/sso.amazonaws.com/[REGION/]AWSReservedSSO_…`), "AWS global condition context
//! keys", `aws:PrincipalArn`. A session ARN carries no path, so the role is read with `iam:GetRole`
//! (one call, only when a policy is about to be written). An IAM user's ARN from
//! `GetCallerIdentity` already carries its path; the account root and federated users are taken as
//! they are. When the role cannot be read, the answer is an error: the caller's exemption then cannot
//! be confirmed, and the control refuses to write.

use crate::aws::{Aws, AwsError, NameCall};

/// The role name of an assumed-role session ARN, `None` for any other ARN.
pub fn session_role(caller_arn: &str) -> Option<&str> {
    let parts = crate::policy::arn::parts(caller_arn)?;
    let session = parts[5].strip_prefix("assumed-role/").filter(|_| parts[2] == "sts")?;
    session.split('/').next().filter(|role| !role.is_empty())
}

/// The caller's `aws:PrincipalArn` (module documentation).
pub async fn resolve(aws: &Aws, caller_arn: &str) -> Result<String, AwsError> {
    let Some(role) = session_role(caller_arn) else { return Ok(caller_arn.to_string()) };
    let out = aws.iam().get_role().role_name(role).send().await.named("iam:GetRole")?;
    out.role().map(|role| role.arn().to_string()).ok_or_else(|| AwsError::malformed("iam:GetRole", "no role in the answer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_role_sessions_need_their_role_read() {
        assert_eq!(session_role("arn:aws:sts::111122223333:assumed-role/BreakGlass/alice"), Some("BreakGlass"));
        assert_eq!(session_role("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/alice@example.com"), Some("AWSReservedSSO_Admin_0123"));
        assert_eq!(session_role("arn:aws-cn:sts::111122223333:assumed-role/Ops/i-0abc"), Some("Ops"));
        assert_eq!(session_role("arn:aws:iam::111122223333:user/ops/bob"), None);
        assert_eq!(session_role("arn:aws:iam::111122223333:root"), None);
        assert_eq!(session_role("arn:aws:sts::111122223333:federated-user/carol"), None);
        assert_eq!(session_role("arn:aws:iam::111122223333:role/assumed-role/x"), None, "an IAM role ARN is not a session");
    }
}
