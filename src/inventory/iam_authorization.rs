//! What the IAM controls share beyond the credential report: live per-user reads that confirm what
//! the report says, the account's authorization details, and the helpers that turn them into findings.
//!
//! The credential report can be up to four hours old (AWS rebuilds it no more often). So a user the
//! report flags is confirmed live before a finding is made ([`confirm`]: `iam:ListAccessKeys`,
//! `iam:GetLoginProfile`, `iam:ListMFADevices`, for that user only): a converged account costs no
//! per-user call, a stale report never produces a wrong `fail`, and after `apply` changes a user it
//! [`forget`]s that user's reads so the engine's next observation reads the account again. Every read
//! goes through the run's [`crate::aws::Memo`], so controls that look at the same user share it.
//!
//! [`authorization`] reads users, groups, roles (with the instance profiles that hold them) and customer
//! managed policies (with their documents) in one paginated `iam:GetAccountAuthorizationDetails`,
//! shared by the IAM controls and `ec2.instance-roles`. AWS managed policies attached to a user or role are read one by one
//! (`iam:GetPolicy`, `iam:GetPolicyVersion`), only when needed.
//!
//! Its only writes are the two opt-in fixes the controls share, [`remove_console_password`] and
//! [`deactivate_access_key`]; it never deletes a user, a key, a group or a policy.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::aws::{Aws, AwsError, NameCall};
use crate::engine::Part;

use crate::inventory::credential_report::{CredentialRow, KeySlot};
use crate::least_privilege::{arn, Grant};

/// The IAM actions of this read (the authorization details, the live per-user confirmations and the AWS managed policies attached), scoped where the baseline names the resource.
pub static READS: &[Grant] = &[
    Grant::any(&["iam:GetAccountAuthorizationDetails"]),
    Grant::on(&["iam:GetUser", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:GetLoginProfile", "iam:ListMFADevices"], &[arn::IAM_USER]),
    Grant::on(&["iam:GetPolicy", "iam:GetPolicyVersion"], &[arn::AWS_MANAGED_POLICY]),
];

/// One access key as `iam:ListAccessKeys` returns it (never the secret: the API has none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveKey {
    pub id: String,
    pub active: bool,
    pub created: Option<i64>,
}

fn keys_key(user: &str) -> String {
    format!("iam:ListAccessKeys/{user}")
}
fn login_key(user: &str) -> String {
    format!("iam:GetLoginProfile/{user}")
}
fn mfa_key(user: &str) -> String {
    format!("iam:ListMFADevices/{user}")
}
fn user_key(user: &str) -> String {
    format!("iam:GetUser/{user}")
}

/// The user's access keys, live.
pub async fn access_keys(aws: &Aws, user: &str) -> Result<Arc<Vec<LiveKey>>, AwsError> {
    let (iam, name) = (aws.iam(), user.to_string());
    aws.memo()
        .get_or_read(&keys_key(user), move || async move {
            let out = iam.list_access_keys().user_name(&name).send().await.named("iam:ListAccessKeys")?;
            let mut keys: Vec<LiveKey> = out
                .access_key_metadata()
                .iter()
                .map(|k| LiveKey {
                    id: k.access_key_id().unwrap_or_default().to_string(),
                    active: k.status().is_some_and(|s| *s == aws_sdk_iam::types::StatusType::Active),
                    created: k.create_date().map(|d| d.secs()),
                })
                .collect();
            keys.sort_by_key(|k| (k.created, k.id.clone()));
            Ok(Arc::new(keys))
        })
        .await
}

/// Whether the user has a console password, live.
pub async fn has_login_profile(aws: &Aws, user: &str) -> Result<bool, AwsError> {
    let (iam, name) = (aws.iam(), user.to_string());
    aws.memo()
        .get_or_read(&login_key(user), move || async move {
            match iam.get_login_profile().user_name(&name).send().await {
                Ok(_) => Ok(true),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => Ok(false),
                Err(e) => Err(AwsError::from_sdk("iam:GetLoginProfile", e)),
            }
        })
        .await
}

/// Whether the user has an MFA device, live.
pub async fn has_mfa(aws: &Aws, user: &str) -> Result<bool, AwsError> {
    let (iam, name) = (aws.iam(), user.to_string());
    aws.memo()
        .get_or_read(&mfa_key(user), move || async move {
            let out = iam.list_mfa_devices().user_name(&name).send().await.named("iam:ListMFADevices")?;
            Ok(!out.mfa_devices().is_empty())
        })
        .await
}

/// Forgets the live reads of `user` (after `apply` changed it).
pub fn forget(aws: &Aws, user: &str) {
    for key in [keys_key(user), login_key(user), mfa_key(user), user_key(user)] {
        aws.memo().forget(&key);
    }
}

/// Removes `user`'s console password (`iam:DeleteLoginProfile`; already gone counts as done). The
/// user, its keys and policies stay. Only for opt-in fixes.
pub async fn remove_console_password(aws: &Aws, user: &str) -> Result<(), AwsError> {
    match aws.iam().delete_login_profile().user_name(user).send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => {}
        Err(e) => return Err(AwsError::from_sdk("iam:DeleteLoginProfile", e)),
    }
    tracing::info!(user = %user, "removed a console password");
    forget(aws, user);
    Ok(())
}

/// Deactivates (never deletes) one of `user`'s access keys (`iam:UpdateAccessKey` to `Inactive`).
/// Only for opt-in fixes.
pub async fn deactivate_access_key(aws: &Aws, user: &str, key_id: &str) -> Result<(), AwsError> {
    aws.iam()
        .update_access_key()
        .user_name(user)
        .access_key_id(key_id)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .named("iam:UpdateAccessKey")?;
    tracing::info!(user = %user, key = %key_id, "deactivated an access key");
    forget(aws, user);
    Ok(())
}

/// What to confirm live of a flagged row.
#[derive(Clone, Copy, Debug, Default)]
pub struct Confirm {
    pub keys: bool,
    pub password: bool,
    pub mfa: bool,
    /// Last-use dates too: each active key's (`iam:GetAccessKeyLastUsed`) and, with `password`, the
    /// password's (`iam:GetUser`). The report's can be four hours old, too old to deactivate on.
    pub last_use: bool,
}

/// `row` with what `what` names replaced by the live state. Live keys take the report's slots in
/// creation order and keep the report's last-used date of the slot created at the same time, unless
/// `what.last_use` reads it live.
pub async fn confirm(aws: &Aws, row: &CredentialRow, what: Confirm) -> Result<CredentialRow, AwsError> {
    let mut row = row.clone();
    if what.keys {
        let live = access_keys(aws, &row.user).await?;
        let reported_use = |created: Option<i64>| {
            row.keys.iter().find(|slot| slot.last_rotated.is_some() && slot.last_rotated == created).and_then(|slot| slot.last_used)
        };
        let mut keys = Vec::new();
        for key in live.iter() {
            let last_used = match what.last_use && key.active {
                true => key_last_used(aws, &key.id).await?,
                false => reported_use(key.created),
            };
            keys.push(KeySlot { id: Some(key.id.clone()), active: key.active, last_rotated: key.created, last_used });
        }
        row.keys = keys;
    }
    if what.password {
        row.password_enabled = has_login_profile(aws, &row.user).await?;
        if what.last_use && row.password_enabled {
            row.password_last_used = password_last_used(aws, &row.user).await?;
        }
    }
    if what.mfa {
        row.mfa_active = has_mfa(aws, &row.user).await?;
    }
    Ok(row)
}

/// When an access key was last used, live (`None`: never).
async fn key_last_used(aws: &Aws, key_id: &str) -> Result<Option<i64>, AwsError> {
    let (iam, id) = (aws.iam(), key_id.to_string());
    aws.memo()
        .get_or_read(&format!("iam:GetAccessKeyLastUsed/{key_id}"), move || async move {
            let out = iam.get_access_key_last_used().access_key_id(&id).send().await.named("iam:GetAccessKeyLastUsed")?;
            Ok(out.access_key_last_used().and_then(|used| used.last_used_date()).map(|date| date.secs()))
        })
        .await
}

/// When the user's console password was last used, live (`None`: never, or before AWS tracked it).
async fn password_last_used(aws: &Aws, user: &str) -> Result<Option<i64>, AwsError> {
    let (iam, name) = (aws.iam(), user.to_string());
    aws.memo()
        .get_or_read(&user_key(user), move || async move {
            let out = iam.get_user().user_name(&name).send().await.named("iam:GetUser")?;
            Ok(out.user().and_then(|u| u.password_last_used()).map(|date| date.secs()))
        })
        .await
}

/// A user's or group's grants: attached managed policy ARNs and inline policy documents by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grants {
    pub attached: Vec<String>,
    pub inline: BTreeMap<String, Value>,
}

/// A customer managed policy and its default version's document.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerPolicy {
    pub name: String,
    pub arn: String,
    pub document: Value,
}

/// Users, groups, roles and customer managed policies of the account.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Authorization {
    pub users: BTreeMap<String, (Grants, Vec<String>)>,
    pub groups: BTreeMap<String, Grants>,
    /// By role name.
    pub roles: BTreeMap<String, RoleGrants>,
    /// By ARN.
    pub customer_policies: BTreeMap<String, CustomerPolicy>,
}

/// A role's grants and the ARNs of the instance profiles that hold it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoleGrants {
    pub grants: Grants,
    pub instance_profiles: Vec<String>,
}

const AUTHORIZATION_OP: &str = "iam:GetAccountAuthorizationDetails";

fn managed_policy_key(arn: &str) -> String {
    format!("iam:GetPolicyVersion/{arn}")
}

/// The account's users, groups, roles (with the instance profiles that hold them) and customer managed
/// policies: one paginated read per run, shared by every control that looks at who may do what.
pub async fn authorization(aws: &Aws) -> Result<Arc<Authorization>, AwsError> {
    use aws_sdk_iam::types::EntityType;
    let iam = aws.iam();
    aws.memo()
        .get_or_read(AUTHORIZATION_OP, move || async move {
            let mut details = Authorization::default();
            let entities = [EntityType::User, EntityType::Group, EntityType::Role, EntityType::LocalManagedPolicy];
            for page in authorization_pages(&iam, &entities).await? {
                for user in page.user_detail_list() {
                    let grants = grants_of(user.attached_managed_policies(), user.user_policy_list());
                    details.users.insert(user.user_name().unwrap_or_default().to_string(), (grants, user.group_list().to_vec()));
                }
                for group in page.group_detail_list() {
                    details.groups.insert(group.group_name().unwrap_or_default().to_string(), grants_of(group.attached_managed_policies(), group.group_policy_list()));
                }
                for role in page.role_detail_list() {
                    let role_grants = RoleGrants {
                        grants: grants_of(role.attached_managed_policies(), role.role_policy_list()),
                        instance_profiles: role.instance_profile_list().iter().map(|p| p.arn().to_string()).collect(),
                    };
                    details.roles.insert(role.role_name().unwrap_or_default().to_string(), role_grants);
                }
                details.customer_policies.extend(customer_policies(&page));
            }
            Ok(Arc::new(details))
        })
        .await
}

/// Forgets the run's [`authorization`] after a write changed a role.
pub fn forget_authorization(aws: &Aws) {
    aws.memo().forget(AUTHORIZATION_OP);
}

type AuthorizationPage = aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;

/// Every page of `iam:GetAccountAuthorizationDetails` for the entity types `filters` name.
async fn authorization_pages(iam: &aws_sdk_iam::Client, filters: &[aws_sdk_iam::types::EntityType]) -> Result<Vec<AuthorizationPage>, AwsError> {
    iam.get_account_authorization_details().set_filter(Some(filters.to_vec())).into_paginator().send().try_collect().await.named(AUTHORIZATION_OP)
}

fn grants_of(attached: &[aws_sdk_iam::types::AttachedPolicy], inline: &[aws_sdk_iam::types::PolicyDetail]) -> Grants {
    Grants {
        attached: attached.iter().filter_map(|p| p.policy_arn().map(str::to_string)).collect(),
        inline: inline.iter().map(|p| (p.policy_name().unwrap_or_default().to_string(), decode_document(p.policy_document().unwrap_or_default()))).collect(),
    }
}

/// The customer managed policies of one page, by ARN, with their default version's document.
fn customer_policies(page: &AuthorizationPage) -> impl Iterator<Item = (String, CustomerPolicy)> + '_ {
    page.policies().iter().filter_map(|policy| {
        let arn = policy.arn()?.to_string();
        let default = policy.policy_version_list().iter().find(|v| v.is_default_version());
        let document = default.and_then(|v| v.document()).map(decode_document).unwrap_or(Value::Null);
        Some((arn.clone(), CustomerPolicy { name: policy.policy_name().unwrap_or_default().to_string(), arn, document }))
    })
}

/// The default version's document of a managed policy that is not a customer policy (an AWS managed
/// one), read once per run per ARN.
pub async fn managed_policy_document(aws: &Aws, arn: &str) -> Result<Value, AwsError> {
    let (iam, arn_owned) = (aws.iam(), arn.to_string());
    aws.memo()
        .get_or_read(&managed_policy_key(arn), move || async move {
            let policy = iam.get_policy().policy_arn(&arn_owned).send().await.named("iam:GetPolicy")?;
            let version = policy.policy().and_then(|p| p.default_version_id()).ok_or_else(|| AwsError::malformed("iam:GetPolicy", "no default version"))?;
            let out = iam.get_policy_version().policy_arn(&arn_owned).version_id(version).send().await.named("iam:GetPolicyVersion")?;
            Ok(out.policy_version().and_then(|v| v.document()).map(decode_document).unwrap_or(Value::Null))
        })
        .await
}

/// A policy document as IAM returns it (URL-encoded JSON), parsed; `null` when it is not JSON.
pub fn decode_document(raw: &str) -> Value {
    crate::policy::parse_document(raw).unwrap_or(Value::Null)
}

/// True when the document has an `Allow` statement for every action (`*` or `*:*`) on every
/// resource (`*`), whatever its conditions: full administrator rights.
pub fn grants_full_admin(document: &Value) -> bool {
    let has_star = |value: Option<&Value>, stars: &[&str]| match value {
        Some(Value::String(s)) => stars.contains(&s.as_str()),
        Some(Value::Array(items)) => items.iter().any(|i| i.as_str().is_some_and(|s| stars.contains(&s))),
        _ => false,
    };
    crate::policy::statements(document).iter().any(|statement| {
        statement.get("Effect").and_then(Value::as_str) == Some("Allow")
            && has_star(statement.get("Action"), &["*", "*:*"])
            && has_star(statement.get("Resource"), &["*"])
    })
}

/// How a user gets full administrator rights: each grant that gives them, named for the finding
/// (`policy AdministratorAccess`, `group admins: inline policy all`). Empty: not an administrator.
pub async fn admin_grants(aws: &Aws, details: &Authorization, user: &str) -> Result<Vec<String>, AwsError> {
    let Some((grants, groups)) = details.users.get(user) else { return Ok(Vec::new()) };
    let mut via = Vec::new();
    let check = |owner: String, grants: &Grants| {
        let mut found = Vec::new();
        for (name, document) in &grants.inline {
            if grants_full_admin(document) {
                found.push(format!("{owner}inline policy {name}"));
            }
        }
        (found, grants.attached.iter().map(|arn| (owner.clone(), arn.clone())).collect::<Vec<_>>())
    };
    let mut attached = Vec::new();
    let (found, user_attached) = check(String::new(), grants);
    via.extend(found);
    attached.extend(user_attached);
    for group in groups {
        if let Some(group_grants) = details.groups.get(group) {
            let (found, group_attached) = check(format!("group {group}: "), group_grants);
            via.extend(found);
            attached.extend(group_attached);
        }
    }
    for (owner, arn) in attached {
        let name = arn.rsplit('/').next().unwrap_or(&arn).to_string();
        let admin = match details.customer_policies.get(&arn) {
            Some(policy) => grants_full_admin(&policy.document),
            None => grants_full_admin(&managed_policy_document(aws, &arn).await?),
        };
        if admin {
            via.push(format!("{owner}policy {name}"));
        }
    }
    via.sort();
    via.dedup();
    Ok(via)
}

/// One part per key (`user/alice`), or, when the control covers nothing (no user has a console
/// password, say), one passing part named `empty` so the report still shows the control was checked.
pub fn parts_or_empty<V: Serialize>(prefix: &str, observed: &BTreeMap<String, V>, desired: &BTreeMap<String, V>, empty: &str) -> Vec<Part> {
    let parts = Part::by_key(prefix, observed, desired);
    if !parts.is_empty() {
        return parts;
    }
    vec![Part {
        resource: empty.to_string(),
        observed: Value::Object(Default::default()),
        desired: Value::Object(Default::default()),
        action: crate::report::Action::Update,
        fix: None,
    }]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn full_admin_is_allow_star_on_star() {
        assert!(grants_full_admin(&json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})));
        assert!(grants_full_admin(&json!({"Statement": {"Effect": "Allow", "Action": ["s3:GetObject", "*:*"], "Resource": ["*"], "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}})));
        assert!(!grants_full_admin(&json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})));
        assert!(!grants_full_admin(&json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}]})));
        assert!(!grants_full_admin(&json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})));
        assert!(!grants_full_admin(&json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})));
    }

    #[test]
    fn documents_are_url_decoded_when_needed() {
        let encoded = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        assert!(grants_full_admin(&decode_document(encoded)));
        assert_eq!(decode_document(r#"{"a": 1}"#), json!({"a": 1}));
        assert_eq!(decode_document("%zz"), Value::Null);
    }
}
