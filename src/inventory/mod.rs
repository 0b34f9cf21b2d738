//! Reads of the account that several controls share, and the pure helpers that interpret them.
//!
//! Every read here goes through the run's [`crate::aws::Memo`]: the first control to ask sends the
//! call, the others await the same answer, and a control whose `apply` changes what was read forgets
//! it so that the engine's next observation reads the account again. Nothing here decides what is
//! compliant (that is each control's `desired`); nothing here writes, except where noted.
//!
//! | module | read | used by | cost per run |
//! |---|---|---|---|
//! | [`buckets`] | where a bucket is (its region) and whether it is the expected owner's | `logs.bucket`, `logs.bucket-mfa-delete`, `vpc.s3-bucket-vpce-only`, `ssm.session-preferences`, `ec2.instance-roles` | one `s3:HeadBucket` per bucket (a second in the bucket's region when it is elsewhere; `s3:ListBuckets` only when S3 refuses the expected owner) |
//! | [`bucket_encryption`] | a bucket's default encryption (its KMS key), read in the bucket's region | `ssm.session-preferences`, `ec2.instance-roles` | the bucket's `HeadBucket` (shared with [`buckets`]) + one `s3:GetBucketEncryption` |
//! | [`key_alias`] | the KMS key behind an alias in a region | `kms.baseline-key`, `ec2.instance-roles` | one `kms:DescribeKey` per region |
//! | [`credential_report`] | the IAM credential report and the pure rules over its rows | `iam.console-mfa`, `iam.unused-credentials`, `iam.access-key-rotation`, `root.recent-use`, `ec2.embedded-keys` | `iam:GenerateCredentialReport` + `iam:GetCredentialReport` (polled while AWS builds it) |
//! | [`iam_authorization`] | users, groups, roles, instance profiles and customer policies; live per-user confirmations | the `iam.*` controls, `ec2.instance-roles`, `ec2.embedded-keys` | one paginated `iam:GetAccountAuthorizationDetails`; per flagged user `ListAccessKeys`, `GetLoginProfile`, `ListMFADevices`; AWS managed policies one `GetPolicy` + `GetPolicyVersion` each, when attached |
//! | [`instances`] | the EC2 instances of a region | `ec2.imdsv2`, `ec2.instance-roles`, `ec2.embedded-keys` | one paginated `ec2:DescribeInstances` per region |
//! | [`organization`] | where the account stands in AWS Organizations; which services it trusts | `logs.trail`, `root.mfa` | one `organizations:DescribeOrganization`; in the management account every page of `organizations:ListAWSServiceAccessForOrganization` (one in practice) |
//! | [`root_user`] | the root user's MFA, keys and password, live | `root.access-keys`, `root.mfa` | one `iam:GetAccountSummary`; `iam:ListVirtualMFADevices` once root has MFA |
//! | [`trails`] | the trails the account sees, and the organization trail that records it | `logs.trail`, `logs.alarms` | one `cloudtrail:DescribeTrails` (shadow trails included) |
//! | [`log_groups`] | a CloudWatch Logs group by exact name | `logs.trail`, `logs.alarms`, `ssm.session-preferences` | `logs:DescribeLogGroups` pages until the name shows up (one page in practice) |
//! | [`security_groups`] | security group rules in one-peer form, and the tolerant batch writes | `vpc.endpoints`, `vpc.restricted-egress`, `ec2.no-open-admin-ports` | none: pure, and writes only when a control applies |
//! | [`vpc_networks`] | EC2 filters in batches, `DescribeVpcs`, the CIDR blocks of a VPC | `vpc.endpoints`, `vpc.restricted-egress` | what its callers read with it |

pub mod bucket_encryption;
pub mod buckets;
pub mod credential_report;
pub mod iam_authorization;
pub mod instances;
pub mod key_alias;
pub mod log_groups;
pub mod organization;
pub mod root_user;
pub mod security_groups;
pub mod trails;
pub mod vpc_networks;
