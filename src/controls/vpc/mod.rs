//! Private network paths: VPC endpoints, buckets reachable only through them, restricted egress, and
//! network ACLs closed to the internet on the administration ports.
//!
//! Controls of the `vpc` group:
//! - `vpc.endpoints` ([`endpoints`]): the S3 gateway endpoint and the interface endpoints in every VPC in scope, with their security group.
//! - `vpc.s3-bucket-vpce-only` ([`s3_bucket_vpce_only`]): designated data buckets accept requests only through the S3 gateway endpoint.
//! - `vpc.restricted-egress` ([`restricted_egress`]): named security groups send traffic only to S3 and their own VPC.
//! - `vpc.nacl-admin-ports` ([`nacl_admin_ports`]): no network ACL lets the internet in on SSH or RDP.

pub mod endpoints;
pub mod nacl_admin_ports;
pub mod restricted_egress;
pub mod s3_bucket_vpce_only;
