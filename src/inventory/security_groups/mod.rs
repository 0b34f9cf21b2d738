//! Security groups as the network controls compare and write them: [`rules`] splits EC2's bundled
//! permissions into one-peer rules (pure), and [`writes`] sends a batch of them to a group that may
//! have changed since it was read. These writes are the one exception to the inventory's read-only
//! rule: the four of them are shared by `vpc.endpoints`, `vpc.restricted-egress` and
//! `ec2.no-open-admin-ports`, and tolerate exactly the drift a concurrent edit causes.

pub mod rules;
pub mod writes;
