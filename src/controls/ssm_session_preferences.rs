//! `ssm.session-preferences`: the Session Manager preferences of each baseline region, i.e. the
//! account's `SSM-SessionManagerRunShell` document (type `Session`).
//!
//! The document's `inputs` say where session logs go (S3 bucket and prefix, CloudWatch Logs group,
//! both encrypted), which KMS key encrypts session data (the baseline key `kms.baseline-key`
//! publishes), the idle timeout and maximum duration, Run As and the shell profile. The log bucket and
//! log group are named by this control's baseline settings; this control does not create them.
//!
//! Content is compared by meaning: key order, whitespace, `20` versus `"20"` and settings left at their
//! empty default do not count. When the document is missing it is created; when it exists with other
//! content it is updated in place (`UpdateDocument` then `UpdateDocumentDefaultVersion`), never
//! deleted and recreated — creating over an existing one is the `DocumentAlreadyExists` trap. If the
//! wanted content is already an older version (UpdateDocument answers `DuplicateDocumentContent`),
//! that version is made the default again.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ssm::types::{DocumentFormat, DocumentType};
use serde::Serialize;
use serde_json::{json, Value};

use crate::aws::{AwsError, NameCall};
use crate::baseline::{Baseline, SessionPreferences};
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Scope, Target};
use crate::report::Action;

use super::kms_key;

static META: ControlMeta = ControlMeta {
    id: "ssm.session-preferences",
    title: "Session Manager preferences: KMS-encrypted sessions, encrypted session logs, idle timeout",
    fix: Fix::Automatic,
    scope: Scope::Regional,
    cis_v5: &[],
    fsbp: &[],
    depends_on: &["kms.baseline-key"],
};

/// The document Session Manager reads its preferences from.
pub const DOCUMENT_NAME: &str = "SSM-SessionManagerRunShell";

pub struct SessionManagerPreferences;

/// The preferences as they mean something: session type and the normalized inputs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionDocument {
    pub session_type: String,
    /// Inputs with scalars as strings and empty settings left out.
    pub inputs: BTreeMap<String, Value>,
}

/// `None` when the account has no `SSM-SessionManagerRunShell` document in the region.
pub type SessionState = Option<SessionDocument>;

fn settings<'a>(ctx: &Context<'a>) -> &'a SessionPreferences {
    ctx.baseline.session_preferences.as_ref().expect("the engine only runs enabled controls")
}

/// The full document mamori writes.
pub fn session_document(settings: &SessionPreferences, vars: &crate::baseline::Vars<'_>, kms_key: &str) -> Value {
    let render = |value: &Option<String>| value.as_deref().map(|v| vars.render(v)).unwrap_or_default();
    json!({
        "schemaVersion": "1.0",
        "description": "Session Manager preferences, managed by mamori",
        "sessionType": "Standard_Stream",
        "inputs": {
            "s3BucketName": render(&settings.s3_bucket),
            "s3KeyPrefix": render(&settings.s3_key_prefix),
            "s3EncryptionEnabled": true,
            "cloudWatchLogGroupName": render(&settings.cloudwatch_log_group),
            "cloudWatchEncryptionEnabled": true,
            "cloudWatchStreamingEnabled": false,
            "kmsKeyId": kms_key,
            "runAsEnabled": settings.run_as_default_user.is_some(),
            "runAsDefaultUser": settings.run_as_default_user.clone().unwrap_or_default(),
            "idleSessionTimeout": settings.idle_session_timeout_minutes.to_string(),
            "maxSessionDuration": settings.max_session_duration_minutes.map(|m| m.to_string()).unwrap_or_default(),
            "shellProfile": { "linux": settings.shell_profile_linux.clone().unwrap_or_default(), "windows": "" }
        }
    })
}

/// Scalars as strings (`20` and `"20"`, `true` and `"true"` mean the same to Session Manager), and
/// empty strings, nulls and empty objects dropped (they mean "not set").
fn normalize_input(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(_) => Some(value.clone()),
        Value::Bool(_) | Value::Number(_) => Some(Value::String(value.to_string())),
        Value::Object(map) => {
            let inner: serde_json::Map<String, Value> = map.iter().filter_map(|(k, v)| Some((k.clone(), normalize_input(v)?))).collect();
            (!inner.is_empty()).then_some(Value::Object(inner))
        }
        Value::Array(items) => Some(Value::Array(items.iter().filter_map(normalize_input).collect())),
    }
}

/// What a Session document means, from its JSON content.
pub fn meaning(document: &Value) -> SessionDocument {
    let inputs = document
        .get("inputs")
        .and_then(Value::as_object)
        .map(|inputs| inputs.iter().filter_map(|(k, v)| Some((k.clone(), normalize_input(v)?))).collect())
        .unwrap_or_default();
    SessionDocument { session_type: document.get("sessionType").and_then(Value::as_str).unwrap_or_default().to_string(), inputs }
}

#[async_trait]
impl Control for SessionManagerPreferences {
    type State = SessionState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.session_preferences.is_some()
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        format!("document/{DOCUMENT_NAME}")
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<SessionState, AwsError> {
        let client = ctx.aws.ssm(target.region.as_str());
        let out = match client.get_document().name(DOCUMENT_NAME).document_format(DocumentFormat::Json).send().await {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_invalid_document()) => return Ok(None),
            Err(e) => return Err(AwsError::from_sdk("ssm:GetDocument", e)),
        };
        let content: Value = out.content().and_then(|text| serde_json::from_str(text).ok()).unwrap_or(Value::Null);
        Ok(Some(meaning(&content)))
    }

    fn desired(&self, ctx: &Context<'_>, target: &Target, _observed: &SessionState, facts: &Facts) -> SessionState {
        let kms_key = kms_key::key_reference(ctx, facts, &target.region).unwrap_or_default();
        let document = session_document(settings(ctx), &ctx.vars(&target.region), &kms_key);
        Some(meaning(&document))
    }

    fn action(&self, observed: &SessionState) -> Action {
        if observed.is_some() {
            Action::Update
        } else {
            Action::Create
        }
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &SessionState, desired: &SessionState) -> Result<(), ControlError> {
        // The key desired named from what kms.baseline-key published after it was applied.
        let kms_key = desired.as_ref().and_then(|d| d.inputs.get("kmsKeyId")).and_then(Value::as_str).unwrap_or_default().to_string();
        if ctx.baseline.baseline_key.is_some() && !kms_key::is_key_arn(&kms_key) {
            return Err(ControlError::Precondition(format!(
                "the baseline key does not exist in {}: kms.baseline-key must be applied first",
                target.region
            )));
        }
        let content = session_document(settings(ctx), &ctx.vars(&target.region), &kms_key).to_string();
        let client = ctx.aws.ssm(target.region.as_str());
        if observed.is_none() {
            let created = client
                .create_document()
                .name(DOCUMENT_NAME)
                .document_type(DocumentType::Session)
                .document_format(DocumentFormat::Json)
                .content(&content)
                .send()
                .await;
            match created {
                Ok(_) => return Ok(()),
                // Created since it was observed: update it like any existing document.
                Err(e) if e.as_service_error().is_some_and(|s| s.is_document_already_exists()) => {}
                Err(e) => return Err(AwsError::from_sdk("ssm:CreateDocument", e).into()),
            }
        }
        let updated = client
            .update_document()
            .name(DOCUMENT_NAME)
            .document_version("$LATEST")
            .document_format(DocumentFormat::Json)
            .content(&content)
            .send()
            .await;
        let version = match updated {
            Ok(out) => out.document_description().and_then(|d| d.document_version()).map(str::to_string),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_duplicate_document_content()) => {
                version_with_meaning(&client, &meaning(&serde_json::from_str(&content).expect("rendered JSON"))).await?
            }
            Err(e) => return Err(AwsError::from_sdk("ssm:UpdateDocument", e).into()),
        };
        let version = version.ok_or_else(|| AwsError::malformed("ssm:UpdateDocument", "no document version"))?;
        client
            .update_document_default_version()
            .name(DOCUMENT_NAME)
            .document_version(version)
            .send()
            .await
            .named("ssm:UpdateDocumentDefaultVersion")?;
        Ok(())
    }
}

/// The version of the document whose content means `wanted` (UpdateDocument refuses to add a version
/// whose content an older version already has). Versions are numbered 1 to the latest; a version
/// deleted by hand is skipped. Newest first.
async fn version_with_meaning(client: &aws_sdk_ssm::Client, wanted: &SessionDocument) -> Result<Option<String>, AwsError> {
    let described = client.describe_document().name(DOCUMENT_NAME).send().await.named("ssm:DescribeDocument")?;
    let latest: u32 = described.document().and_then(|d| d.latest_version()).and_then(|v| v.parse().ok()).unwrap_or(0);
    for version in (1..=latest).rev().map(|v| v.to_string()) {
        let out = match client.get_document().name(DOCUMENT_NAME).document_version(&version).document_format(DocumentFormat::Json).send().await {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_invalid_document_version()) => continue,
            Err(e) => return Err(AwsError::from_sdk("ssm:GetDocument", e)),
        };
        let content: Value = out.content().and_then(|text| serde_json::from_str(text).ok()).unwrap_or(Value::Null);
        if &meaning(&content) == wanted {
            return Ok(Some(version));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_compared_by_meaning() {
        let written = json!({"schemaVersion": "1.0", "sessionType": "Standard_Stream", "inputs": {
            "idleSessionTimeout": "20", "s3EncryptionEnabled": true, "kmsKeyId": "", "shellProfile": {"linux": "", "windows": ""}}});
        let read_back: Value = serde_json::from_str(
            r#"{"inputs": {"s3EncryptionEnabled": "true", "idleSessionTimeout": 20}, "sessionType": "Standard_Stream", "schemaVersion": "1.0", "description": "other"}"#,
        )
        .unwrap();
        assert_eq!(meaning(&written), meaning(&read_back));
        let other = json!({"sessionType": "Standard_Stream", "inputs": {"idleSessionTimeout": "60", "s3EncryptionEnabled": true}});
        assert_ne!(meaning(&written), meaning(&other));
    }
}
