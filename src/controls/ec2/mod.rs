//! Instances: role credentials instead of access keys, IMDSv2, and no inbound administration ports.
//!
//! Controls of the `ec2` group:
//! - `ec2.instance-roles` ([`instance_roles`]): least-privilege instance roles and profiles from templates, attached to instances without one.
//! - `ec2.embedded-keys` ([`embedded_keys`]): no access key material in user data; application users reported with the role that replaces them.
//! - `ec2.imdsv2` ([`imdsv2`]): IMDSv2 required, with the baseline's token hop limit, as the account default and on instances.
//! - `ec2.no-open-admin-ports` ([`no_open_admin_ports`]): no security group opens SSH, RDP or every port to the internet.

pub mod embedded_keys;
pub mod imdsv2;
pub mod instance_roles;
pub mod no_open_admin_ports;
