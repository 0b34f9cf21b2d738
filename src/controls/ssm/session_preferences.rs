//! `ssm.session-preferences`: the Session Manager preferences of each baseline region, i.e. the
//! account's `SSM-SessionManagerRunShell` document (type `Session`).
//!
//! The document's `inputs` say where session logs go (S3 bucket and prefix, CloudWatch Logs group,
//! both encrypted), which KMS key encrypts session data (the baseline key `kms.baseline-key`
//! publishes), the idle timeout and maximum duration, Run As and the shell profile.
//!
//! # Log destinations
//! With encryption required, Session Manager refuses to start a session when the bucket or log group
//! it must log to is missing or unencrypted: a document naming such a destination would shut every
//! session out. So the destinations are checked (`s3:HeadBucket`, which names the bucket's region, then
//! `s3:GetBucketEncryption` there, once per run; `logs:DescribeLogGroups` for a group and its KMS key in each
//! region), each missing or unencrypted one is a `manual` finding with the commands that make it, and the
//! document is not written (its finding is `manual` too) until they are usable. The audit-log bucket
//! `logs.bucket` makes (versioned, encrypted with the baseline key, locked against deletion) is not
//! read again here: the shipped baselines log sessions there, under `session-logs/`. This control
//! depends on `logs.bucket`, so an `apply` makes that bucket before it writes the document, and does
//! not write it when `logs.bucket` could not be evaluated or applied (the engine holds back the
//! dependants of a control that failed); `verify` reports a missing audit bucket under `logs.bucket`.
//!
//! # Both versions that can hold the preferences
//! AWS's own procedure for changing the preferences from the command line ("Update Session Manager
//! preferences (AWS CLI)", Session Manager User Guide,
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-configure-preferences-cli.html>)
//! is `aws ssm update-document --name SSM-SessionManagerRunShell --document-version '$LATEST' …`:
//! it adds a version and leaves the default version where it was, and Session Manager applies the
//! change. So the preferences in force may be the latest version while `GetDocument` without a version
//! answers the default one: both are read (`GetDocument` of the default version and of `$LATEST`,
//! concurrently) and both must say what the baseline says. The latest version is reported inside the
//! document's finding (`latest`) only while it is another version that means something else; `apply`
//! leaves the two the same version.
//!
//! Content is compared by meaning: key order, whitespace, `20` versus `"20"` and settings left at their
//! empty default do not count. When the document is missing it is created; when it exists with other
//! content it is updated in place, never deleted and recreated — creating over an existing one is the
//! `DocumentAlreadyExists` trap. When the latest version already means what the baseline says (a run
//! interrupted between its two writes), it is made the default; otherwise a new version is added
//! (`UpdateDocument`) and made the default (`UpdateDocumentDefaultVersion`). SSM refuses a version
//! whose content an older version has (`DuplicateDocumentContent`), so the new version's description
//! names the version it replaces, which no older version can.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ssm::types::{DocumentFormat, DocumentType};
use serde::Serialize;
use serde_json::{json, Value};

use crate::aws::{AwsError, NameCall};
use crate::baseline::{Baseline, SessionPreferences};
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::report::Action;

use crate::controls::kms::baseline_key;
use crate::controls::logs::bucket;
use crate::inventory::{bucket_encryption, log_groups};
use crate::least_privilege::{arn, Access, Grant};

static META: ControlMeta = ControlMeta {
    id: "ssm.session-preferences",
    source: file!(),
    title: "Session Manager preferences: KMS-encrypted sessions, encrypted session logs, idle timeout",
    fix: Fix::Automatic,
    scope: Scope::Regional,
    cis_v5: &[],
    fsbp: &[],
    depends_on: &["kms.baseline-key", "logs.bucket"],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::on(&["ssm:GetDocument"], &[arn::SESSION_DOCUMENT]),
    ],
    shared: &[crate::inventory::buckets::READS, crate::inventory::bucket_encryption::READS, crate::inventory::log_groups::READS],
    apply: &[
        Grant::on(&["ssm:CreateDocument", "ssm:UpdateDocument", "ssm:UpdateDocumentDefaultVersion"], &[arn::SESSION_DOCUMENT]),
    ],
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

/// The preferences of one region and the destinations they log to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionState {
    /// The default version; `None` when the account has no `SSM-SessionManagerRunShell` document in
    /// the region.
    pub document: Option<SessionDocument>,
    /// The latest version, while it is not the default version and means something else (preferences
    /// changed with `update-document --document-version '$LATEST'`); `None` in a desired state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest: Option<SessionDocument>,
    /// The version numbers read, default and latest: inputs of `apply`, copied into the desired state.
    #[serde(skip)]
    pub versions: Option<Versions>,
    /// The log destinations the preferences name, but `logs.bucket`'s, by `s3/BUCKET` or
    /// `log-group/NAME`.
    pub destinations: BTreeMap<String, Destination>,
}

/// A log destination as Session Manager needs it: there, and encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Destination {
    pub exists: bool,
    pub encrypted: bool,
}

/// The default and the latest version numbers of the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versions {
    pub default: String,
    pub latest: String,
}

const USABLE: Destination = Destination { exists: true, encrypted: true };
const S3_DESTINATION: &str = "s3/";
const LOG_GROUP_DESTINATION: &str = "log-group/";

fn settings<'a>(ctx: &Context<'a>) -> &'a SessionPreferences {
    ctx.baseline.session_preferences.as_ref().expect("the engine only runs enabled controls")
}

/// The full document mamori writes; `replaces` is the latest version it is written over, named in the
/// description so that the content differs from every older version's.
pub fn session_document(settings: &SessionPreferences, vars: &crate::baseline::Vars<'_>, kms_key: &str, replaces: Option<&str>) -> Value {
    let render = |value: &Option<String>| value.as_deref().map(|v| vars.render(v)).unwrap_or_default();
    let description = match replaces {
        Some(version) => format!("Session Manager preferences, managed by mamori (replaces version {version})"),
        None => "Session Manager preferences, managed by mamori".to_string(),
    };
    json!({
        "schemaVersion": "1.0",
        "description": description,
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
        let (document, latest, versions) = match read_versions(&client).await? {
            Some(read) => {
                let differs = read.versions.latest != read.versions.default && read.latest != read.default;
                (Some(read.default), differs.then_some(read.latest), Some(read.versions))
            }
            None => (None, None, None),
        };
        let settings = settings(ctx);
        let vars = ctx.vars(&target.region);
        let mut destinations = BTreeMap::new();
        let audit_bucket = bucket::audit_bucket_name(ctx, ctx.baseline.home_region());
        if let Some(bucket) = settings.s3_bucket.as_ref().map(|b| vars.render(b)).filter(|b| Some(b) != audit_bucket.as_ref()) {
            destinations.insert(format!("{S3_DESTINATION}{bucket}"), bucket_destination(ctx, &bucket).await?);
        }
        if let Some(group) = settings.cloudwatch_log_group.as_ref().map(|g| vars.render(g)) {
            destinations.insert(format!("{LOG_GROUP_DESTINATION}{group}"), log_group_destination(ctx, target, &group).await?);
        }
        Ok(SessionState { document, latest, versions, destinations })
    }

    fn desired(&self, ctx: &Context<'_>, target: &Target, observed: &SessionState, facts: &Facts) -> SessionState {
        let kms_key = baseline_key::key_reference(ctx, facts, &target.region).unwrap_or_default();
        let document = session_document(settings(ctx), &ctx.vars(&target.region), &kms_key, None);
        SessionState {
            document: Some(meaning(&document)),
            latest: None,
            versions: observed.versions.clone(),
            destinations: observed.destinations.keys().map(|key| (key.clone(), USABLE)).collect(),
        }
    }

    /// The document, then one part per destination. Destinations are only ever `manual`; while one is
    /// not usable, so is the document (writing it would shut sessions out).
    fn parts(&self, ctx: &Context<'_>, target: &Target, observed: &SessionState, desired: &SessionState) -> Vec<Part> {
        let document = Part {
            resource: self.resource(ctx, target),
            observed: document_value(observed),
            desired: document_value(desired),
            action: if observed.document.is_some() { Action::Update } else { Action::Create },
            fix: None,
        };
        let unusable = observed.destinations != desired.destinations;
        let mut parts = vec![if unusable { document.with_fix(Fix::Manual) } else { document }];
        parts.extend(Part::by_key("destination/", &observed.destinations, &desired.destinations).into_iter().map(|part| part.with_fix(Fix::Manual)));
        parts
    }

    fn manual_steps(&self, ctx: &Context<'_>, target: &Target, part: &Part) -> Option<String> {
        let region = target.region.as_str();
        let key = match &ctx.baseline.baseline_key {
            Some(settings) => format!("$(aws kms describe-key --region {region} --key-id {} --query KeyMetadata.Arn --output text)", settings.alias.qualified()),
            None => "KEY_ARN".to_string(),
        };
        let Some(destination) = part.resource.strip_prefix("destination/") else {
            return Some(format!(
                "Session Manager refuses sessions while a log destination it must encrypt to is missing or unencrypted, so \
                 mamori does not write these preferences yet: make the destinations reported for ssm.session-preferences \
                 in {region} usable (or change ssm.session_preferences), then run `mamori apply --only ssm.session-preferences`."
            ));
        };
        if let Some(bucket) = destination.strip_prefix(S3_DESTINATION) {
            return Some(format!(
                "Create the bucket with default encryption, or point ssm.session_preferences.s3_bucket at the audit-log \
                 bucket: `aws s3api create-bucket --bucket {bucket}` (plus `--create-bucket-configuration \
                 LocationConstraint=REGION` outside us-east-1), `aws s3api put-public-access-block --bucket {bucket} \
                 --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true`, \
                 `aws s3api put-bucket-encryption --bucket {bucket} --server-side-encryption-configuration \
                 '{{\"Rules\":[{{\"ApplyServerSideEncryptionByDefault\":{{\"SSEAlgorithm\":\"aws:kms\",\"KMSMasterKeyID\":\"{key}\"}}}}]}}'`."
            ));
        }
        let group = destination.strip_prefix(LOG_GROUP_DESTINATION)?;
        Some(format!(
            "Create the log group encrypted with a KMS key whose policy lets CloudWatch Logs use it (the baseline key's \
             does): `aws logs create-log-group --region {region} --log-group-name {group} --kms-key-id {key}`, or for an \
             existing group `aws logs associate-kms-key --region {region} --log-group-name {group} --kms-key-id {key}`. \
             Instance roles then also need the ssm-session-cloudwatch-logs policy template."
        ))
    }

    async fn apply(&self, ctx: &Context<'_>, target: &Target, observed: &SessionState, desired: &SessionState) -> Result<(), ControlError> {
        // The key desired named from what kms.baseline-key published after it was applied.
        let kms_key = desired.document.as_ref().and_then(|d| d.inputs.get("kmsKeyId")).and_then(Value::as_str).unwrap_or_default().to_string();
        if ctx.baseline.baseline_key.is_some() && !baseline_key::is_key_arn(&kms_key) {
            return Err(ControlError::Precondition(format!(
                "the baseline key does not exist in {}: kms.baseline-key must be applied first",
                target.region
            )));
        }
        let render = |replaces: Option<&str>| session_document(settings(ctx), &ctx.vars(&target.region), &kms_key, replaces).to_string();
        let client = ctx.aws.ssm(target.region.as_str());
        let (versions, latest_meaning) = match (&observed.document, &observed.versions) {
            (Some(default), Some(versions)) => (versions.clone(), observed.latest.clone().unwrap_or_else(|| default.clone())),
            _ => {
                let created = client
                    .create_document()
                    .name(DOCUMENT_NAME)
                    .document_type(DocumentType::Session)
                    .document_format(DocumentFormat::Json)
                    .content(render(None))
                    .send()
                    .await;
                match created {
                    Ok(_) => return Ok(()),
                    // Created since it was observed: corrected like any existing document.
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_document_already_exists()) => {
                        let read = read_versions(&client).await?.ok_or_else(|| AwsError::malformed("ssm:GetDocument", "the document exists but cannot be read"))?;
                        (read.versions, read.latest)
                    }
                    Err(e) => return Err(AwsError::from_sdk("ssm:CreateDocument", e).into()),
                }
            }
        };
        let version = if Some(&latest_meaning) == desired.document.as_ref() {
            versions.latest.clone()
        } else {
            let updated = client
                .update_document()
                .name(DOCUMENT_NAME)
                .document_version(LATEST)
                .document_format(DocumentFormat::Json)
                .content(render(Some(&versions.latest)))
                .send()
                .await
                .named("ssm:UpdateDocument")?;
            let version = updated.document_description().and_then(|d| d.document_version()).map(str::to_string);
            version.ok_or_else(|| AwsError::malformed("ssm:UpdateDocument", "no document version"))?
        };
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

/// The document's finding: the default version's preferences, and the latest version's while they
/// differ.
fn document_value(state: &SessionState) -> Value {
    let mut value = serde_json::to_value(&state.document).expect("states serialize");
    if let (Value::Object(map), Some(latest)) = (&mut value, &state.latest) {
        map.insert("latest".into(), serde_json::to_value(latest).expect("states serialize"));
    }
    value
}

/// `$LATEST`: the newest version of a document, whichever is the default.
const LATEST: &str = "$LATEST";

/// The default and the latest version of the document, as they mean something.
struct ReadVersions {
    versions: Versions,
    default: SessionDocument,
    latest: SessionDocument,
}

/// Both versions, read concurrently; `None` when the document does not exist (or was deleted between
/// the two reads).
async fn read_versions(client: &aws_sdk_ssm::Client) -> Result<Option<ReadVersions>, AwsError> {
    let (default, latest) = futures::try_join!(read_version(client, None), read_version(client, Some(LATEST)))?;
    Ok(match (default, latest) {
        (Some((default_version, default)), Some((latest_version, latest))) => {
            Some(ReadVersions { versions: Versions { default: default_version, latest: latest_version }, default, latest })
        }
        _ => None,
    })
}

/// One version of the document (`None`: the default), with its number, as it means something;
/// `None` when the document does not exist.
async fn read_version(client: &aws_sdk_ssm::Client, version: Option<&str>) -> Result<Option<(String, SessionDocument)>, AwsError> {
    let read = client.get_document().name(DOCUMENT_NAME).set_document_version(version.map(str::to_string)).document_format(DocumentFormat::Json).send().await;
    match read {
        Ok(out) => {
            let content: Value = out.content().and_then(|text| serde_json::from_str(text).ok()).unwrap_or(Value::Null);
            Ok(Some((out.document_version().unwrap_or_default().to_string(), meaning(&content))))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_invalid_document()) => Ok(None),
        Err(e) => Err(AwsError::from_sdk("ssm:GetDocument", e)),
    }
}

/// The S3 destination, read once per run (every region logs to the same bucket; `ec2.instance-roles`
/// shares the read): where it is, whatever its region, then its default encryption from there.
async fn bucket_destination(ctx: &Context<'_>, bucket: &str) -> Result<Destination, AwsError> {
    let found = bucket_encryption::read(ctx, bucket).await?;
    Ok(Destination { exists: found.exists, encrypted: found.encrypted })
}

/// The CloudWatch Logs destination of one region: the group and its KMS key.
async fn log_group_destination(ctx: &Context<'_>, target: &Target, group: &str) -> Result<Destination, AwsError> {
    let found = log_groups::find(&ctx.aws.logs(target.region.as_str()), group).await?;
    Ok(Destination { exists: found.is_some(), encrypted: found.is_some_and(|g| g.kms_key_id().is_some()) })
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
