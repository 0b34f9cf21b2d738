//! The IAM credential report: read once per run, parsed, and the pure rules the identity controls
//! apply to its rows.
//!
//! One report answers, for every user and for the root user (`<root_account>`), whether a console
//! password is set and when it was last used, whether MFA is on, and for both access-key slots whether
//! the key is active, when it was created ("last rotated") and last used. Reading it costs
//! `iam:GenerateCredentialReport` (which only rebuilds a report older than four hours) and
//! `iam:GetCredentialReport`, polled with a bounded wait while AWS builds it, instead of several calls
//! per user. The run's [`crate::aws::Memo`] holds it, so the controls that need it share one read.
//!
//! The report is CSV in the format of the IAM User Guide's "Generate credential reports for your AWS
//! account" (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html>):
//! the `csv` crate reads it (quoted fields, CRLF from some writers), and its ISO 8601 dates, always with
//! an offset, are read by the AWS SDK's own RFC 3339 parser (`aws_smithy_types::DateTime`), so this
//! module parses no format by hand.
//!
//! The rules ([`unused_password`], [`unused_keys`], [`keys_older_than`], [`console_without_mfa`],
//! [`root_last_use_within`]) are pure functions of a row, `now` and a number of days, unit-tested on CSV
//! fixtures (the only way to test the root user's row on emulators that have none). This module never
//! changes the account and never sees a secret: the report holds no key material, only key slots and
//! dates.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_types::date_time::{DateTime, Format};

use crate::aws::{Aws, AwsError, NameCall};
use crate::least_privilege::Grant;

/// The IAM actions of this read (the credential report), scoped where the baseline names the resource.
pub static READS: &[Grant] = &[
    Grant::any(&["iam:GenerateCredentialReport", "iam:GetCredentialReport"]),
];

/// The user name the report gives the root user.
pub const ROOT_USER: &str = "<root_account>";

/// How long to wait in total for AWS to build a report before giving up.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Seconds since the Unix epoch.
pub type Epoch = i64;

const DAY: Epoch = 86_400;

/// One access-key slot of a row (the report has two per user).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct KeySlot {
    /// The key id, when the row was confirmed against `iam:ListAccessKeys` (the report has no ids).
    pub id: Option<String>,
    pub active: bool,
    /// When the key was created: AWS calls it "last rotated".
    pub last_rotated: Option<Epoch>,
    pub last_used: Option<Epoch>,
}

impl KeySlot {
    /// How findings name the key: its id when known, its report slot otherwise.
    pub fn name(&self, slot: usize) -> String {
        self.id.clone().unwrap_or_else(|| format!("access_key_{}", slot + 1))
    }
}

/// One row of the report: one IAM user, or the root user.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CredentialRow {
    pub user: String,
    pub arn: String,
    pub created: Option<Epoch>,
    /// A console password is set (`not_supported` for the root user reads as false: see
    /// [`root_login_within`] for root logins).
    pub password_enabled: bool,
    pub password_last_used: Option<Epoch>,
    pub password_last_changed: Option<Epoch>,
    pub mfa_active: bool,
    pub keys: Vec<KeySlot>,
}

/// A parsed report: the users' rows and, separately, the root user's.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CredentialReport {
    pub users: Vec<CredentialRow>,
    pub root: Option<CredentialRow>,
}

/// The run's credential report (read on first use, shared by every control of the run).
pub async fn read(aws: &Aws) -> Result<Arc<CredentialReport>, AwsError> {
    let iam = aws.iam();
    aws.memo().get_or_read("iam:GetCredentialReport", move || fetch(iam)).await
}

/// Generate, then get; while AWS is still building the report, wait (1 s, 2 s, 4 s, ... up to
/// [`MAX_WAIT`] in total) and get again.
async fn fetch(iam: aws_sdk_iam::Client) -> Result<Arc<CredentialReport>, AwsError> {
    const GET: &str = "iam:GetCredentialReport";
    iam.generate_credential_report().send().await.named("iam:GenerateCredentialReport")?;
    let mut waited = Duration::ZERO;
    let mut pause = Duration::from_secs(1);
    loop {
        match iam.get_credential_report().send().await {
            Ok(out) => {
                let content = out.content().ok_or_else(|| AwsError::malformed(GET, "no report content"))?;
                let text = std::str::from_utf8(content.as_ref()).map_err(|_| AwsError::malformed(GET, "report is not UTF-8"))?;
                return parse(text).map(Arc::new).map_err(|e| AwsError::malformed(GET, &e));
            }
            Err(e)
                if waited < MAX_WAIT
                    && e.as_service_error().is_some_and(|s| s.is_credential_report_not_ready_exception() || s.is_credential_report_not_present_exception()) =>
            {
                tracing::debug!(waited_s = waited.as_secs(), "credential report not ready yet");
                tokio::time::sleep(pause).await;
                waited += pause;
                pause = (pause * 2).min(Duration::from_secs(8));
            }
            Err(e) => return Err(AwsError::from_sdk(GET, e)),
        }
    }
}

/// Parses the report's CSV with the `csv` crate (RFC 4180: a header row, quoted fields, `""` inside
/// quotes, CRLF or LF line ends, blank lines skipped). Columns are found by name, so AWS may add or
/// reorder columns; a row shorter than the header reads its missing fields as `N/A`.
pub fn parse(text: &str) -> Result<CredentialReport, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| format!("credential report header: {e}"))?.clone();
    if header.is_empty() {
        return Err("empty credential report".into());
    }
    let column: HashMap<&str, usize> = header.iter().enumerate().map(|(i, name)| (name, i)).collect();
    for required in ["user", "arn", "password_enabled", "mfa_active", "access_key_1_active", "access_key_1_last_rotated", "access_key_2_active", "access_key_2_last_rotated"] {
        if !column.contains_key(required) {
            return Err(format!("credential report has no `{required}` column"));
        }
    }
    let mut report = CredentialReport::default();
    for record in reader.records() {
        let record = record.map_err(|e| format!("credential report: {e}"))?;
        let line = record.position().map_or(0, csv::Position::line);
        let field = |name: &str| column.get(name).and_then(|&i| record.get(i)).unwrap_or("N/A");
        let flag = |name: &str| field(name).eq_ignore_ascii_case("true");
        let date = |name: &str| -> Result<Option<Epoch>, String> { parse_date(field(name)).map_err(|e| format!("row {line}: `{name}`: {e}")) };
        let mut keys = Vec::new();
        for slot in 1..=2 {
            keys.push(KeySlot {
                id: None,
                active: flag(&format!("access_key_{slot}_active")),
                last_rotated: date(&format!("access_key_{slot}_last_rotated"))?,
                last_used: date(&format!("access_key_{slot}_last_used_date"))?,
            });
        }
        let row = CredentialRow {
            user: field("user").to_string(),
            arn: field("arn").to_string(),
            created: date("user_creation_time")?,
            password_enabled: flag("password_enabled"),
            password_last_used: date("password_last_used")?,
            password_last_changed: date("password_last_changed")?,
            mfa_active: flag("mfa_active"),
            keys,
        };
        if row.user == ROOT_USER {
            report.root = Some(row);
        } else {
            report.users.push(row);
        }
    }
    Ok(report)
}

/// A report date, RFC 3339 with its offset (`2024-05-01T12:00:00+00:00`, `...Z`, `...+09:00`), parsed
/// by the AWS SDK's own date type; `None` for the report's "no date" words (`N/A`,
/// `no_information`, `not_supported`).
pub fn parse_date(value: &str) -> Result<Option<Epoch>, String> {
    if matches!(value, "" | "N/A" | "no_information" | "not_supported" | "false") {
        return Ok(None);
    }
    DateTime::from_str(value, Format::DateTimeWithOffset).map(|at| Some(at.secs())).map_err(|_| format!("`{value}` is not a date"))
}

/// The current time as the rules take it.
pub fn now() -> Epoch {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as Epoch)
}

fn older_than(at: Epoch, now: Epoch, days: i64) -> bool {
    now - at > days * DAY
}

/// A console password not used for more than `days` days (never used: set more than `days` ago).
pub fn unused_password(row: &CredentialRow, now: Epoch, days: i64) -> bool {
    row.password_enabled
        && match row.password_last_used {
            Some(used) => older_than(used, now, days),
            None => row.password_last_changed.or(row.created).is_some_and(|set| older_than(set, now, days)),
        }
}

/// Active keys (slot indexes) not used for more than `days` days (never used: created more than
/// `days` ago).
pub fn unused_keys(row: &CredentialRow, now: Epoch, days: i64) -> Vec<usize> {
    let unused = |key: &KeySlot| match key.last_used {
        Some(used) => older_than(used, now, days),
        None => key.last_rotated.is_some_and(|created| older_than(created, now, days)),
    };
    row.keys.iter().enumerate().filter(|(_, key)| key.active && unused(key)).map(|(slot, _)| slot).collect()
}

/// Active keys (slot indexes) created ("rotated") more than `days` days ago.
pub fn keys_older_than(row: &CredentialRow, now: Epoch, days: i64) -> Vec<usize> {
    row.keys
        .iter()
        .enumerate()
        .filter(|(_, key)| key.active && key.last_rotated.is_some_and(|created| older_than(created, now, days)))
        .map(|(slot, _)| slot)
        .collect()
}

/// Active keys (slot indexes) of a row: for the root user, any is a finding.
pub fn active_keys(row: &CredentialRow) -> Vec<usize> {
    row.keys.iter().enumerate().filter(|(_, key)| key.active).map(|(slot, _)| slot).collect()
}

/// A console password without MFA.
pub fn console_without_mfa(row: &CredentialRow) -> bool {
    row.password_enabled && !row.mfa_active
}

/// The root user's last use, if within the last `days` days: its latest console sign-in or access-key
/// use, whichever is later.
pub fn root_last_use_within(root: &CredentialRow, now: Epoch, days: i64) -> Option<RootUse> {
    let sign_in = root.password_last_used.map(|at| RootUse { at, what: RootUseKind::ConsoleSignIn });
    let key_uses = root.keys.iter().filter_map(|key| key.last_used).map(|at| RootUse { at, what: RootUseKind::AccessKey });
    sign_in.into_iter().chain(key_uses).filter(|used| !older_than(used.at, now, days)).max_by_key(|used| used.at)
}

/// One use of the root user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootUse {
    pub at: Epoch,
    pub what: RootUseKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootUseKind {
    ConsoleSignIn,
    AccessKey,
}

/// `2024-05-01` for an epoch (UTC), as findings show dates.
pub fn format_date(at: Epoch) -> String {
    let rfc3339 = DateTime::from_secs(at).fmt(Format::DateTime).unwrap_or_else(|_| at.to_string());
    rfc3339.split('T').next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests;
