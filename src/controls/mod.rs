//! The control catalogue: one module per control, each a [`Control`](crate::engine::Control).
//!
//! [`catalogue`] lists every control in dependency order (a control comes after those it depends on);
//! the engine relies on that order, and a unit test checks it. Adding a control = one module here and
//! one line in the catalogue.

mod baseline_key_ref;
pub mod ebs_encryption;
pub mod ec2_embedded_keys;
pub mod ec2_imdsv2;
pub mod ec2_instance_roles;
mod ec2_instances;
pub mod ec2_open_admin_ports;
pub mod kms_key;
pub mod password_policy;
pub mod s3_public_access_block;
pub mod ssm_session_preferences;
pub mod user_data_scan;

use crate::engine::Reconciler;

/// Every control, dependencies first.
pub fn catalogue() -> Vec<&'static dyn Reconciler> {
    vec![
        &kms_key::BaselineKey,
        &ebs_encryption::EbsDefaultEncryption,
        &s3_public_access_block::AccountPublicAccessBlock,
        &password_policy::PasswordPolicy,
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
        assert_eq!(ids(&["iam"]), ["iam.password-policy"]);
        assert_eq!(selection::layers(&selection::select(&controls, &["ebs".into()]).unwrap()), [0, 1]);
        let unknown = selection::select(&controls, &["nope".into()]).err().expect("an unknown name is rejected");
        assert!(unknown.to_string().contains("--only nope"), "{unknown}");
    }
}
