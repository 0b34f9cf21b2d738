//! The control catalogue: one module per control, each a [`Control`](crate::engine::Control).
//!
//! [`catalogue`] lists every control in dependency order (a control comes after those it depends on);
//! the engine relies on that order, and a unit test checks it. Adding a control = one module here and
//! one line in the catalogue.

pub mod access_key_rotation;
pub mod bucket_mfa_delete;
pub mod cis_filters;
pub mod console_mfa;
pub mod credential_report;
pub mod ebs_encryption;
pub mod ec2_embedded_keys;
pub mod ec2_imdsv2;
pub mod ec2_instance_roles;
mod ec2_instances;
pub mod ec2_open_admin_ports;
pub mod filter_pattern;
pub mod iam_inventory;
pub mod kms_key;
pub mod log_alarms;
pub mod log_bucket;
pub mod log_group;
pub mod no_admin_keys;
pub mod no_star_policies;
pub mod organization;
pub mod password_policy;
pub mod root_access_keys;
pub mod root_mfa;
pub mod root_recent_use;
pub mod root_user;
pub mod s3_public_access_block;
pub mod security_group_batch;
pub mod security_group_rule;
pub mod ssm_session_preferences;
pub mod trail;
pub mod unused_credentials;
pub mod user_data_scan;
pub mod vpc_bucket_vpce_only;
pub mod vpc_endpoints;
pub mod vpc_network;
pub mod vpc_restricted_egress;

use crate::engine::Reconciler;

/// Every control, dependencies first.
pub fn catalogue() -> Vec<&'static dyn Reconciler> {
    vec![
        &kms_key::BaselineKey,
        &ebs_encryption::EbsDefaultEncryption,
        &s3_public_access_block::AccountPublicAccessBlock,
        &password_policy::PasswordPolicy,
        &log_bucket::LogBucket,
        &bucket_mfa_delete::BucketMfaDelete,
        &trail::Trail,
        &log_alarms::LogAlarms,
        &root_access_keys::RootAccessKeys,
        &root_mfa::RootMfaControl,
        &root_recent_use::RootRecentUse,
        &console_mfa::ConsoleMfa,
        &unused_credentials::UnusedCredentials,
        &access_key_rotation::AccessKeyRotation,
        &no_admin_keys::NoAdminKeys,
        &no_star_policies::NoStarPolicies,
        &vpc_endpoints::VpcEndpointsControl,
        &vpc_bucket_vpce_only::BucketVpceOnly,
        &vpc_restricted_egress::RestrictedEgressControl,
        &ec2_instance_roles::InstanceRoles,
        &ec2_embedded_keys::EmbeddedKeys,
        &ec2_imdsv2::Imdsv2,
        &ec2_open_admin_ports::NoOpenAdminPorts,
        &ssm_session_preferences::SessionManagerPreferences,
    ]
}

#[cfg(test)]
mod tests {
    use super::catalogue;
    use crate::engine::selection;

    #[test]
    fn catalogue_lists_dependencies_first_and_ids_once() {
        let controls = catalogue();
        assert!(selection::is_ordered(&controls));
        let mut ids: Vec<&str> = controls.iter().map(|c| c.meta().id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), controls.len());
    }

    #[test]
    fn only_adds_dependencies_and_accepts_groups() {
        let controls = catalogue();
        let ids = |only: &[&str]| -> Vec<&str> {
            let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
            selection::select(&controls, &only).unwrap().iter().map(|c| c.meta().id).collect()
        };
        assert_eq!(ids(&["ebs.default-encryption"]), ["kms.baseline-key", "ebs.default-encryption"]);
        assert_eq!(
            ids(&["iam"]),
            ["iam.password-policy", "iam.console-mfa", "iam.unused-credentials", "iam.access-key-rotation", "iam.no-admin-keys", "iam.no-star-policies"]
        );
        assert_eq!(ids(&["s3"]), ["s3.account-public-access-block"]);
        assert_eq!(ids(&["root"]), ["root.access-keys", "root.mfa", "root.recent-use"]);
        assert!(ids(&["iam"]).iter().all(|id| id.starts_with("iam.")));
        assert_eq!(ids(&["vpc.s3-bucket-vpce-only"]), ["vpc.endpoints", "vpc.s3-bucket-vpce-only"]);
        assert_eq!(selection::layers(&selection::select(&controls, &["ebs".into()]).unwrap()), [0, 1]);
        let unknown = selection::select(&controls, &["nope".into()]).err().expect("an unknown name is rejected");
        assert!(unknown.to_string().contains("--only nope"), "{unknown}");
    }
}
