//! The AWS client layer: every SDK client mamori uses is built here, from one `SdkConfig`.
//!
//! It owns how mamori talks to AWS: the standard credential chain (or an explicit provider, which the
//! tests and, later, the organization fan-out use), `--profile`, one region per client, `--endpoint-url`
//! for emulators, the SDK's adaptive retry, path-style S3 and the S3 Control endpoint fix for emulators,
//! and the one HTTPS client they all share ([`https`]).
//! It is also the single place where the read-only guard sits (see [`guard`]): a client built by an
//! [`Aws`] in [`AccessMode::ReadOnly`] refuses every mutating operation before it is serialized, so
//! `plan` and `verify` are read-only by construction, whatever a control's code does.
//!
//! It must never log credentials: only operation names and their parameters' fingerprints are recorded.

pub mod error;
pub mod guard;
mod https;
pub mod memo;
mod s3control_endpoint;

use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_types::region::Region;

pub use error::{AwsError, NameCall};
pub use guard::{AccessMode, CallLog, CallRecord};
pub use memo::Memo;

use guard::CallGuard;

/// How to reach AWS: what the command line (or a test) says about credentials and endpoints.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// Named profile from the shared config files; `None` = the standard chain.
    pub profile: Option<String>,
    /// Send every call to this URL (an emulator). `AWS_ENDPOINT_URL` is honoured by the CLI layer.
    pub endpoint_url: Option<String>,
    /// Explicit credentials instead of the standard chain (tests, assumed roles).
    pub credentials: Option<SharedCredentialsProvider>,
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

/// The connection to one account: a base `SdkConfig`, the access mode and the call log.
#[derive(Clone, Debug)]
pub struct Aws {
    config: SdkConfig,
    endpoint_url: Option<String>,
    guard: CallGuard,
    /// Reads shared by the controls of this run (see [`memo`]).
    memo: Arc<Memo>,
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
            .retry_config(RetryConfig::adaptive().with_max_attempts(5))
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
        Aws { config: loader.load().await, endpoint_url: options.endpoint_url.clone(), guard: CallGuard::new(mode), memo: Arc::default() }
    }

    /// Every call made (or refused) through this connection so far.
    pub fn calls(&self) -> Arc<CallLog> {
        self.guard.log()
    }

    /// Reads shared by every control of this run: sent once, answered to every asker.
    pub fn memo(&self) -> &Memo {
        &self.memo
    }

    pub fn mode(&self) -> AccessMode {
        self.guard.mode()
    }

    /// True when calls go to a custom endpoint (an emulator) rather than AWS.
    pub fn is_custom_endpoint(&self) -> bool {
        self.endpoint_url.is_some()
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

    /// STS, on the home region's endpoint.
    pub fn sts(&self) -> aws_sdk_sts::Client {
        let conf = aws_sdk_sts::config::Builder::from(&self.config).interceptor(self.guard.clone()).build();
        aws_sdk_sts::Client::from_conf(conf)
    }

    /// IAM is global; its calls go to the home region's partition endpoint.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        let conf = aws_sdk_iam::config::Builder::from(&self.config).interceptor(self.guard.clone()).build();
        aws_sdk_iam::Client::from_conf(conf)
    }

    /// Organizations is global; its calls go to the home region's partition endpoint.
    pub fn organizations(&self) -> aws_sdk_organizations::Client {
        let conf = aws_sdk_organizations::config::Builder::from(&self.config).interceptor(self.guard.clone()).build();
        aws_sdk_organizations::Client::from_conf(conf)
    }

    /// S3 in `region`; path-style addressing against a custom endpoint (emulators have no
    /// bucket-name DNS).
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .force_path_style(self.endpoint_url.is_some())
            .interceptor(self.guard.clone())
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// S3 Control (account-level S3 settings). Against a custom endpoint the SDK would prefix the host
    /// with the account id, which does not resolve on loopback: there, and only there, the endpoint is
    /// used exactly as given.
    pub fn s3control(&self, region: &str) -> aws_sdk_s3control::Client {
        let mut builder = aws_sdk_s3control::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .interceptor(self.guard.clone());
        if let Some(url) = &self.endpoint_url {
            builder = builder.endpoint_resolver(s3control_endpoint::FixedEndpoint::new(url));
        }
        aws_sdk_s3control::Client::from_conf(builder.build())
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
