//! `verify --security-hub`: the run's findings sent to AWS Security Hub with `BatchImportFindings`,
//! in the account they belong to (with that account's own credentials: in a multi-account run, the
//! role mamori assumed there) and the region they belong to (account-wide findings, `global`, go to
//! the home region), at most [`BATCH_LIMIT`] findings a call.
//!
//! Every finding is sent, passes included: a finding keeps its `Id` across runs, so a pass updates
//! the earlier failure in place and archives it (see [`crate::report::asff`]). The import is the one
//! write `verify` makes, and it goes through the one client that the read-only guard lets send it
//! ([`crate::aws::Aws::security_hub_import`]); everything else stays refused. mamori never enables
//! Security Hub: where it is not enabled, AWS answers `InvalidAccessException` and the region's
//! import is reported as failed, with how to enable it. Findings that Security Hub refuses one by one
//! (`FailedFindings`) are reported with their id, error code and message.
//!
//! Reference: AWS Security Hub API Reference, "BatchImportFindings" (100 findings a request at most;
//! the caller must be the account in `AwsAccountId` when the product ARN is the account's default)
//! and "Common Errors" / "InvalidAccessException" (the account is not subscribed to Security Hub).

pub mod convert;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::aws::{Aws, AwsError, NameCall};
use crate::report::{asff, Report};

/// The most findings one `BatchImportFindings` request may carry.
pub const BATCH_LIMIT: usize = 100;

/// What the export to one region of one account came to.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionImport {
    pub account: String,
    pub region: String,
    /// The account's findings in the region.
    pub total: usize,
    /// Findings sent.
    pub sent: usize,
    /// Findings Security Hub accepted.
    pub imported: usize,
    /// Findings Security Hub refused, one by one.
    pub failed: Vec<FailedFinding>,
    /// The call that failed, for the batches it did not send (Security Hub not enabled, access
    /// denied, ...).
    pub error: Option<ImportError>,
}

impl RegionImport {
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.error.is_none()
    }
}

/// A finding Security Hub refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedFinding {
    pub id: String,
    pub code: String,
    pub message: String,
}

/// Why a region's findings could not be imported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Security Hub is not enabled in the region (`InvalidAccessException`).
    #[error(
        "Security Hub is not enabled in {region} of account {account} ({source}): mamori does not enable it; enable it with \
         `aws securityhub enable-security-hub --region {region}` (or from the organization's delegated administrator), \
         or run verify without --security-hub"
    )]
    NotEnabled { account: String, region: String, source: AwsError },
    #[error(transparent)]
    Call(AwsError),
}

/// Sends the findings of `report` that belong to `account` to Security Hub through `aws` (that
/// account's connection): one region after another, [`BATCH_LIMIT`] findings a call.
pub async fn export(aws: &Aws, report: &Report, account: &str) -> Vec<RegionImport> {
    let mut by_region: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for document in asff::findings(report).into_iter().filter(|d| d["AwsAccountId"] == account) {
        let region = document["Region"].as_str().unwrap_or_default().to_string();
        by_region.entry(region).or_default().push(document);
    }
    let mut imports = Vec::new();
    for (region, documents) in by_region {
        imports.push(Box::pin(import_region(aws, account, &region, &documents)).await);
    }
    imports
}

async fn import_region(aws: &Aws, account: &str, region: &str, documents: &[Value]) -> RegionImport {
    let client = aws.security_hub_import(region);
    let mut outcome = RegionImport { account: account.into(), region: region.into(), total: documents.len(), sent: 0, imported: 0, failed: Vec::new(), error: None };
    for batch in documents.chunks(BATCH_LIMIT) {
        let findings = batch.iter().map(convert::finding).collect();
        // Boxed, like the export itself in `app` and `fleet`: the import's futures stay off the
        // run's stack.
        let answer = Box::pin(client.batch_import_findings().set_findings(Some(findings)).send()).await.named("securityhub:BatchImportFindings");
        match answer {
            Ok(answer) => {
                outcome.sent += batch.len();
                outcome.failed.extend(answer.failed_findings().iter().map(|f| FailedFinding {
                    id: f.id().unwrap_or_default().to_string(),
                    code: f.error_code().unwrap_or_default().to_string(),
                    message: f.error_message().unwrap_or_default().to_string(),
                }));
                let failed_here = answer.failed_findings().len();
                outcome.imported += answer.success_count().map_or(batch.len() - failed_here, |n| n.max(0) as usize);
            }
            Err(error) if error.is_code("InvalidAccessException") => {
                outcome.error = Some(ImportError::NotEnabled { account: account.into(), region: region.into(), source: error });
                break;
            }
            Err(error) => {
                outcome.error = Some(ImportError::Call(error));
                break;
            }
        }
    }
    outcome
}

/// One line per problem of `imports`, for stderr; empty when everything was imported.
pub fn problems(imports: &[RegionImport]) -> Vec<String> {
    let mut lines = Vec::new();
    for import in imports {
        if let Some(error) = &import.error {
            lines.push(format!("security hub: {} {}: {} of {} findings not sent: {error}", import.account, import.region, import.total - import.sent, import.total));
        }
        for failed in &import.failed {
            lines.push(format!("security hub: {} {}: finding {} refused: {}: {}", import.account, import.region, failed.id, failed.code, failed.message));
        }
    }
    lines
}
