//! The control catalogue, laid out by control id: the control `logs.bucket` lives in
//! `src/controls/logs/bucket.rs`, `ec2.instance-roles` in `src/controls/ec2/instance_roles.rs`. Each
//! group's module says what the group covers; every file under a group is a control (helpers that
//! several controls share live in [`crate::inventory`], helpers one control owns sit in a folder named
//! after it, as `logs/alarms/`).
//!
//! [`catalogue`] lists every control in dependency order (a control comes after those it depends on);
//! the engine relies on that order, and a unit test checks it, and that each control sits at the path
//! its id names. [`benchmarks`] says, for every CIS and Security Hub id a control cites, what it asks
//! and under which baseline settings the control checks it (a finding cites only those). Adding a
//! control = one file in its group, one line in the catalogue, and a row in `benchmarks` per id it
//! cites.

pub mod benchmarks;
pub mod ebs;
pub mod ec2;
pub mod iam;
pub mod kms;
pub mod logs;
pub mod root;
pub mod s3;
pub mod ssm;
pub mod vpc;

use crate::engine::Reconciler;

/// Every control, dependencies first.
pub fn catalogue() -> Vec<&'static dyn Reconciler> {
    vec![
        &kms::baseline_key::BaselineKey,
        &ebs::default_encryption::EbsDefaultEncryption,
        &s3::account_public_access_block::AccountPublicAccessBlock,
        &iam::password_policy::PasswordPolicy,
        &logs::bucket::LogBucket,
        &logs::bucket_mfa_delete::BucketMfaDelete,
        &logs::trail::Trail,
        &logs::alarms::LogAlarms,
        &root::access_keys::RootAccessKeys,
        &root::mfa::RootMfaControl,
        &root::recent_use::RootRecentUse,
        &iam::console_mfa::ConsoleMfa,
        &iam::unused_credentials::UnusedCredentials,
        &iam::access_key_rotation::AccessKeyRotation,
        &iam::no_admin_keys::NoAdminKeys,
        &iam::no_star_policies::NoStarPolicies,
        &vpc::endpoints::VpcEndpointsControl,
        &vpc::s3_bucket_vpce_only::BucketVpceOnly,
        &vpc::restricted_egress::RestrictedEgressControl,
        &vpc::nacl_admin_ports::NaclAdminPorts,
        &ec2::instance_roles::InstanceRoles,
        &ec2::embedded_keys::EmbeddedKeys,
        &ec2::imdsv2::Imdsv2,
        &ec2::no_open_admin_ports::NoOpenAdminPorts,
        &ssm::session_preferences::SessionManagerPreferences,
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
    fn every_control_sits_at_the_path_its_id_names() {
        for control in catalogue() {
            let meta = control.meta();
            let (group, name) = meta.id.split_once('.').expect("ids are `group.name`");
            let expected = format!("src/controls/{group}/{}.rs", name.replace('-', "_"));
            assert_eq!(meta.source, expected, "{} is defined in {}, not at the path its id names", meta.id, meta.source);
        }
    }

    #[test]
    fn every_file_of_a_group_is_a_control() {
        let sources: Vec<&str> = catalogue().iter().map(|c| c.meta().source).collect();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let groups = std::fs::read_dir(root.join("src/controls")).expect("src/controls");
        for group in groups.map(|entry| entry.expect("a directory entry").path()).filter(|p| p.is_dir()) {
            for file in std::fs::read_dir(&group).expect("a group folder").map(|entry| entry.expect("a directory entry").path()) {
                if file.extension().is_some_and(|e| e == "rs") && file.file_name().is_some_and(|n| n != "mod.rs") {
                    let relative = file.strip_prefix(root).expect("under the crate").to_string_lossy().replace('\\', "/");
                    assert!(sources.contains(&relative.as_str()), "{relative} is not a control of the catalogue: shared helpers belong in src/inventory/");
                }
            }
        }
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
