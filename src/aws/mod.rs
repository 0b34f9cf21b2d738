//! The AWS client layer: every SDK client mamori uses is built here, from one `SdkConfig`.
//!
//! It owns how mamori talks to AWS: the standard credential chain (or an explicit provider, which the
//! tests and, later, the organization fan-out use), `--profile`, one region per client, `--endpoint-url`
//! for emulators, the SDK's retry (mode and whose retry state a client shares: [`retry`]), path-style S3 and the S3 Control endpoint fix for emulators,
//! and the one HTTPS client they all share ([`https`]).
//!
//! Endpoints configured outside the command line (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, a
//! profile's `endpoint_url` or `services` section, `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`) are left to the
//! SDK and its documented precedence
//! (<https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html>); only `--endpoint-url`
//! is set explicitly, and like any explicit endpoint it wins over all of them. The emulator adjustments
//! follow the endpoint the SDK resolves for S3 and S3 Control, whichever setting it came from.
//! It is also the single place where the read-only guard sits (see [`guard`]): a client built by an
//! [`Aws`] in [`AccessMode::ReadOnly`] refuses every mutating operation before it is serialized, so
//! `plan` and `verify` are read-only by construction, whatever a control's code does.
//!
//! It must never log credentials: only operation names and their parameters' fingerprints are recorded.

pub mod client_token;
pub mod error;
pub mod guard;
mod https;
pub mod interrupt;
pub mod memo;
pub mod non_idempotent;
pub mod propagation;
pub mod reads;
pub mod retry;
mod s3control_endpoint;

use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_types::region::Region;
use aws_types::service_config::ServiceConfigKey;

pub use client_token::ClientTokens;
pub use error::{AwsError, NameCall};
pub use guard::{AccessMode, CallLog, CallRecord};
pub use interrupt::Interrupt;
pub use memo::Memo;

use guard::CallGuard;
use retry::RetryPartitions;

/// How to reach AWS: what the command line (or a test) says about credentials and endpoints.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// Named profile from the shared config files; `None` = the standard chain.
    pub profile: Option<String>,
    /// `--endpoint-url`: send every call to this URL (an emulator), whatever else is configured.
    /// Endpoints from the environment or the profile are the SDK's to resolve.
    pub endpoint_url: Option<String>,
    /// Explicit credentials instead of the standard chain (tests, assumed roles).
    pub credentials: Option<SharedCredentialsProvider>,
    /// The retry mode and attempts; `None` = [`retry::default_config`].
    pub retry: Option<RetryConfig>,
    /// Set by the first Ctrl-C of an `apply`: no write starts after it (see [`interrupt`]).
    pub interrupt: Interrupt,
}

/// An MFA device serial (or ARN) and a current six-digit code, for the root-only calls that require
/// them (the `x-amz-mfa` header of `PutBucketVersioning` with MFA Delete). Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Mfa {
    pub serial: String,
    pub code: String,
}

impl Mfa {
    /// Parses `"SERIAL CODE"`.
    pub fn parse(value: &str) -> Result<Mfa, String> {
        let parts: Vec<&str> = value.split_whitespace().collect();
        match parts.as_slice() {
            [serial, code] if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) => {
                Ok(Mfa { serial: serial.to_string(), code: code.to_string() })
            }
            _ => Err("expected \"SERIAL CODE\": the MFA device serial or ARN, a space, and the current 6-digit code".into()),
        }
    }

    /// The `x-amz-mfa` header value.
    pub fn header(&self) -> String {
        format!("{} {}", self.serial, self.code)
    }
}

impl std::fmt::Debug for Mfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mfa").field("serial", &self.serial).field("code", &"******").finish()
    }
}

/// Who the credentials belong to, read once per run with `sts:GetCallerIdentity`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub account_id: String,
    pub partition: String,
    pub arn: String,
}

impl Caller {
    /// The IAM user mamori runs as (`arn:aws:iam::123456789012:user/path/alice` → `alice`), when the
    /// credentials are an IAM user's access key; `None` for a role, the root user or a federated user.
    /// The access key mamori runs with is then one of this user's keys.
    pub fn iam_user(&self) -> Option<&str> {
        let resource = self.arn.split(':').nth(5)?;
        resource.strip_prefix("user/").map(|path_and_name| path_and_name.rsplit('/').next().unwrap_or(path_and_name))
    }
}

/// The connection to one account: a base `SdkConfig`, the access mode and the call log.
#[derive(Clone, Debug)]
pub struct Aws {
    config: SdkConfig,
    guard: CallGuard,
    /// Reads shared by the controls of this run (see [`memo`]).
    memo: Arc<Memo>,
    /// The run's client tokens (see [`client_token`]).
    tokens: ClientTokens,
    /// This connection's retry quotas and rate limiters, shared with no other account (see [`retry`]).
    retry: RetryPartitions,
}

impl Aws {
    /// Loads the shared `SdkConfig` (credential chain, profile, retry) without making any call.
    /// `home_region` is where global services (STS, IAM) are called; every other client gets its
    /// region explicitly.
    pub async fn connect(options: &ConnectOptions, mode: AccessMode, home_region: &str) -> Aws {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .operation_attempt_timeout(std::time::Duration::from_secs(60))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(options.retry.clone().unwrap_or_else(retry::default_config))
            .timeout_config(timeouts)
            .http_client(https::client())
            .region(Region::new(home_region.to_string()));
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(credentials) = &options.credentials {
            loader = loader.credentials_provider(credentials.clone());
        }
        Aws { config: loader.load().await, guard: CallGuard::new(mode, options.interrupt.clone()), memo: Arc::default(), tokens: ClientTokens::new(), retry: RetryPartitions::default() }
    }

    /// A connection to another account: the same configuration (HTTP client, retry, endpoint, region),
    /// `credentials` instead of this connection's, and its own guard, call log and memo, so that
    /// nothing one account reads or records is seen by another and all of it is dropped with the
    /// connection; its retry quotas and rate limiters are its own too.
    pub fn for_account(&self, credentials: SharedCredentialsProvider) -> Aws {
        let config = self.config.to_builder().credentials_provider(credentials).build();
        Aws { config, guard: CallGuard::new(self.guard.mode(), self.guard.interrupt()), memo: Arc::default(), tokens: self.tokens, retry: RetryPartitions::default() }
    }

    /// Every call made (or refused) through this connection so far.
    pub fn calls(&self) -> Arc<CallLog> {
        self.guard.log()
    }

    /// Reads shared by every control of this run: sent once, answered to every asker.
    pub fn memo(&self) -> &Memo {
        &self.memo
    }

    /// The client token of one create (see [`client_token`]): the same for every attempt at the same
    /// intent in this run.
    pub fn client_token(&self, intent: &[&str]) -> String {
        self.tokens.for_intent(intent)
    }

    pub fn mode(&self) -> AccessMode {
        self.guard.mode()
    }

    /// True once the run was interrupted: no write starts any more.
    pub fn interrupted(&self) -> bool {
        self.guard.interrupt().is_requested()
    }

    /// The endpoint the SDK sends `service_id`'s calls to (`S3`, `S3 Control`) when it is not AWS's own,
    /// resolved as the SDK resolves it: `--endpoint-url`; else `AWS_ENDPOINT_URL_<SERVICE>` or the
    /// profile's `services` section; else `AWS_ENDPOINT_URL` or the profile's `endpoint_url` (aws-config
    /// has already dropped those two when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is set).
    pub fn configured_endpoint(&self, service_id: &str) -> Option<String> {
        if self.config.get_origin("endpoint_url").is_client_config() {
            return self.config.endpoint_url().map(str::to_string);
        }
        let key = ServiceConfigKey::builder().service_id(service_id).env("AWS_ENDPOINT_URL").profile("endpoint_url").build().expect("all parts set");
        self.config.service_config().and_then(|config| config.load_config(key)).or_else(|| self.config.endpoint_url().map(str::to_string))
    }

    /// `sts:GetCallerIdentity`: the account and partition every template is rendered with.
    pub async fn caller(&self) -> Result<Caller, AwsError> {
        const OP: &str = "sts:GetCallerIdentity";
        let out = self.sts().get_caller_identity().send().await.named(OP)?;
        let arn = out.arn().unwrap_or_default().to_string();
        let partition = arn.split(':').nth(1).filter(|p| !p.is_empty()).unwrap_or("aws").to_string();
        let account_id = out.account().map(str::to_string).ok_or_else(|| AwsError::malformed(OP, "no account id"))?;
        Ok(Caller { account_id, partition, arn })
    }

    /// The retry partition of a global service's clients: the home region's.
    fn global_partition(&self, service: &'static str) -> aws_sdk_sts::config::retry::RetryPartition {
        self.retry.of(service, self.config.region().map_or("global", |r| r.as_ref()))
    }

    /// STS, on the home region's endpoint.
    pub fn sts(&self) -> aws_sdk_sts::Client {
        let conf = aws_sdk_sts::config::Builder::from(&self.config).retry_partition(self.global_partition("sts")).interceptor(self.guard.clone()).build();
        aws_sdk_sts::Client::from_conf(conf)
    }

    /// IAM is global; its calls go to the home region's partition endpoint.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        let conf = aws_sdk_iam::config::Builder::from(&self.config).retry_partition(self.global_partition("iam")).interceptor(self.guard.clone()).build();
        aws_sdk_iam::Client::from_conf(conf)
    }

    /// Organizations is global; its calls go to the home region's partition endpoint.
    pub fn organizations(&self) -> aws_sdk_organizations::Client {
        let conf = aws_sdk_organizations::config::Builder::from(&self.config).retry_partition(self.global_partition("organizations")).interceptor(self.guard.clone()).build();
        aws_sdk_organizations::Client::from_conf(conf)
    }

    /// Route 53 is global; its calls go to the home region's partition endpoint.
    pub fn route53(&self) -> aws_sdk_route53::Client {
        let conf = aws_sdk_route53::config::Builder::from(&self.config).retry_partition(self.global_partition("route53")).interceptor(self.guard.clone()).build();
        aws_sdk_route53::Client::from_conf(conf)
    }

    /// S3 in `region`; path-style addressing when the SDK resolves a custom endpoint for S3 (emulators
    /// have no bucket-name DNS).
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .force_path_style(self.configured_endpoint("S3").is_some())
            .retry_partition(self.retry.of("s3", region))
            .interceptor(self.guard.clone())
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// S3 Control (account-level S3 settings). Against a custom endpoint the SDK would prefix the host
    /// with the account id, which does not resolve on loopback: there, and only there, the endpoint the
    /// SDK resolved for S3 Control is used exactly as given.
    pub fn s3control(&self, region: &str) -> aws_sdk_s3control::Client {
        let mut builder = aws_sdk_s3control::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .retry_partition(self.retry.of("s3control", region))
            .interceptor(self.guard.clone());
        if let Some(url) = self.configured_endpoint("S3 Control") {
            builder = builder.endpoint_resolver(s3control_endpoint::FixedEndpoint::new(&url));
        }
        aws_sdk_s3control::Client::from_conf(builder.build())
    }
}

impl Aws {
    /// Security Hub in `region`, for `verify --security-hub`: its guard keeps this connection's mode
    /// and call log and also lets [`guard::FINDINGS_IMPORT`] through, so a read-only run can send its
    /// findings and nothing else (`EnableSecurityHub` stays refused: mamori never turns Security Hub
    /// on by itself).
    pub fn security_hub_import(&self, region: &str) -> aws_sdk_securityhub::Client {
        let conf = aws_sdk_securityhub::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .retry_partition(self.retry.of("securityhub", region))
            .interceptor(self.guard.allowing_findings_import())
            .build();
        aws_sdk_securityhub::Client::from_conf(conf)
    }
}

/// Regional clients that need nothing but the region and the guard.
macro_rules! regional_clients {
    ($($(#[$doc:meta])* $name:ident => $sdk:ident;)*) => {
        impl Aws {
            $(
                $(#[$doc])*
                pub fn $name(&self, region: &str) -> $sdk::Client {
                    let conf = $sdk::config::Builder::from(&self.config)
                        .region(Region::new(region.to_string()))
                        .retry_partition(self.retry.of(stringify!($name), region))
                        .interceptor(self.guard.clone())
                        .build();
                    $sdk::Client::from_conf(conf)
                }
            )*
        }
    };
}

regional_clients! {
    /// KMS in `region`.
    kms => aws_sdk_kms;
    /// EC2 in `region`.
    ec2 => aws_sdk_ec2;
    /// SSM (Session Manager preferences, documents) in `region`.
    ssm => aws_sdk_ssm;
    /// CloudTrail in `region`.
    cloudtrail => aws_sdk_cloudtrail;
    /// CloudWatch Logs in `region`.
    logs => aws_sdk_cloudwatchlogs;
    /// CloudWatch (metrics, alarms) in `region`.
    cloudwatch => aws_sdk_cloudwatch;
    /// SNS in `region`.
    sns => aws_sdk_sns;
}

#[cfg(test)]
mod tests {
    use super::Caller;

    fn caller(arn: &str) -> Caller {
        Caller { account_id: "123456789012".into(), partition: "aws".into(), arn: arn.into() }
    }

    #[test]
    fn the_caller_is_an_iam_user_only_with_a_user_arn() {
        assert_eq!(caller("arn:aws:iam::123456789012:user/alice").iam_user(), Some("alice"));
        assert_eq!(caller("arn:aws:iam::123456789012:user/ops/team/bob").iam_user(), Some("bob"));
        assert_eq!(caller("arn:aws:sts::123456789012:assumed-role/admin/session").iam_user(), None);
        assert_eq!(caller("arn:aws:iam::123456789012:root").iam_user(), None);
        assert_eq!(caller("arn:aws:sts::123456789012:federated-user/carol").iam_user(), None);
    }
}
