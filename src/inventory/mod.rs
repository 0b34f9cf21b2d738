//! Reads of the account that several controls share, and the pure helpers that interpret them.
//!
//! Every read here goes through the run's [`crate::aws::Memo`]: the first control to ask sends the
//! call, the others await the same answer, and a control whose `apply` changes what was read forgets
//! it so that the engine's next observation reads the account again. Nothing here decides what is
//! compliant (that is each control's `desired`); nothing here writes, except where noted.
//!
//! | module | read | used by | cost per run |
//! |---|---|---|---|
//! | [`credential_report`] | the IAM credential report and the pure rules over its rows | `iam.console-mfa`, `iam.unused-credentials`, `iam.access-key-rotation`, `root.recent-use`, `ec2.embedded-keys` | `iam:GenerateCredentialReport` + `iam:GetCredentialReport` (polled while AWS builds it) |
//! | [`iam_authorization`] | users, groups, roles, instance profiles and customer policies; live per-user confirmations | the `iam.*` controls, `ec2.instance-roles`, `ec2.embedded-keys` | one paginated `iam:GetAccountAuthorizationDetails`; per flagged user `ListAccessKeys`, `GetLoginProfile`, `ListMFADevices`; AWS managed policies one `GetPolicy` + `GetPolicyVersion` each, when attached |
//! | [`instances`] | the EC2 instances of a region | `ec2.imdsv2`, `ec2.instance-roles`, `ec2.embedded-keys` | one paginated `ec2:DescribeInstances` per region |
//! | [`organization`] | where the account stands in AWS Organizations | `logs.trail`, `root.mfa` | one `organizations:DescribeOrganization` |
//! | [`root_user`] | the root user's MFA, keys and password, live | `root.access-keys`, `root.mfa` | one `iam:GetAccountSummary`; `iam:ListVirtualMFADevices` once root has MFA |
//! | [`log_groups`] | a CloudWatch Logs group by exact name | `logs.trail`, `logs.alarms`, `ssm.session-preferences` | `logs:DescribeLogGroups` pages until the name shows up (one page in practice) |
//! | [`security_groups`] | security group rules in one-peer form, and the tolerant batch writes | `vpc.endpoints`, `vpc.restricted-egress`, `ec2.no-open-admin-ports` | none: pure, and writes only when a control applies |
//! | [`vpc_networks`] | EC2 filters in batches, `DescribeVpcs`, the CIDR blocks of a VPC | `vpc.endpoints`, `vpc.restricted-egress` | what its callers read with it |

pub mod credential_report;
pub mod iam_authorization;
pub mod instances;
pub mod log_groups;
pub mod organization;
pub mod root_user;
pub mod security_groups;
pub mod vpc_networks;
