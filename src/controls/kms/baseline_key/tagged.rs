//! The keys `CreateKey` stamped with mamori's tag (`mamori:baseline-key = <alias>`) that no alias
//! names: the key an interrupted `apply` created before it could give it its alias (adopted), and the
//! duplicates an earlier release's blind retry of `CreateKey` left behind (reported, never deleted).
//!
//! Looked for among the keys without any alias only: a key an alias names is either the baseline key
//! itself or someone's own key, and every AWS managed key carries its `alias/aws/...` alias, so one
//! `kms:ListAliases` and one `kms:ListKeys` per region (and their pages) narrow the search, and only the
//! keys no alias names cost a `kms:ListResourceTags` each (none on an account whose keys all have
//! aliases), plus a `kms:DescribeKey` for each key found. Nothing here writes.

use std::collections::HashSet;

use aws_sdk_kms::types::{KeyMetadata, KeyState};
use serde::{Deserialize, Serialize};

use crate::aws::{AwsError, NameCall};

use super::TAG_KEY;

/// The `kms:ListResourceTags` answers that mean "this key is not ours to look at": the key was deleted
/// since `ListKeys` listed it (`NotFoundException`), or its key policy does not let the caller read
/// its tags (`AccessDeniedException`, which AWS managed keys answer). Any other failure (throttling
/// after the SDK's retries, `KMSInternalException`, `DependencyTimeoutException`, a network error)
/// leaves the question open: the key may be the one an interrupted run created, and treating it as
/// someone else's would create a second baseline key. Those are errors.
/// <https://docs.aws.amazon.com/kms/latest/APIReference/API_ListResourceTags.html#API_ListResourceTags_Errors>
const NOT_OURS_TO_READ: &[&str] = &["NotFoundException", "AccessDeniedException"];

/// True when a failed `kms:ListResourceTags` says the key is not ours (see [`NOT_OURS_TO_READ`]).
fn tags_unreadable_means_not_ours(error: &AwsError) -> bool {
    NOT_OURS_TO_READ.iter().any(|code| error.is_code(code))
}

/// A key carrying mamori's tag for the baseline's alias that is not the baseline key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DuplicateKey {
    pub key_id: String,
    pub arn: String,
    /// `Enabled` or `Disabled` (a key already pending deletion is on its way out and not listed).
    pub key_state: String,
}

impl DuplicateKey {
    fn of(key: &KeyMetadata) -> DuplicateKey {
        DuplicateKey {
            key_id: key.key_id().to_string(),
            arn: key.arn().unwrap_or_default().to_string(),
            key_state: key.key_state().map_or_else(|| "Unknown".to_string(), |state| state.as_str().to_string()),
        }
    }
}

/// The keys no alias names that carry the tag for `alias` (`alias/mamori-baseline`), the best one to
/// adopt first: enabled before disabled before pending deletion, then the oldest.
pub async fn unaliased_keys(client: &aws_sdk_kms::Client, alias: &str) -> Result<Vec<KeyMetadata>, AwsError> {
    let alias_name = alias.trim_start_matches("alias/");
    let aliases: Vec<_> = client.list_aliases().into_paginator().items().send().try_collect().await.named("kms:ListAliases")?;
    let aliased: HashSet<&str> = aliases.iter().filter_map(|a| a.target_key_id()).collect();
    let keys: Vec<_> = client.list_keys().into_paginator().items().send().try_collect().await.named("kms:ListKeys")?;
    let mut found = Vec::new();
    for key_id in keys.iter().filter_map(|k| k.key_id()).filter(|id| !aliased.contains(id)) {
        let tags = match client.list_resource_tags().key_id(key_id).send().await.named("kms:ListResourceTags") {
            Ok(out) => out.tags.unwrap_or_default(),
            Err(e) if tags_unreadable_means_not_ours(&e) => continue,
            Err(e) => return Err(e),
        };
        if tags.iter().any(|t| t.tag_key() == TAG_KEY && t.tag_value() == alias_name) {
            let out = client.describe_key().key_id(key_id).send().await.named("kms:DescribeKey")?;
            found.extend(out.key_metadata().cloned());
        }
    }
    in_adoption_order(&mut found);
    Ok(found)
}

/// Sorts `keys` so that the one to adopt comes first (see [`adoption_rank`]), the oldest first within a rank.
fn in_adoption_order(keys: &mut [KeyMetadata]) {
    keys.sort_by_key(|key| (adoption_rank(key.key_state()), key.creation_date().map(|d| (d.secs(), d.subsec_nanos()))));
}

/// Which tagged key to adopt first: an enabled one, then a disabled one, then one pending deletion.
fn adoption_rank(state: Option<&KeyState>) -> u8 {
    match state {
        Some(KeyState::Enabled) => 0,
        Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion) => 2,
        _ => 1,
    }
}

/// The duplicates among `keys` (tagged keys other than the baseline key) that still need a human:
/// those not already scheduled for deletion.
pub fn duplicates(keys: &[KeyMetadata]) -> Vec<DuplicateKey> {
    keys.iter().filter(|key| adoption_rank(key.key_state()) < 2).map(DuplicateKey::of).collect()
}

/// The steps that remove `duplicate` of the baseline key `alias` in `region`, safely: mamori never
/// deletes a key, because data encrypted under it becomes unreadable for good.
/// <https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys-determining-usage.html>
pub fn removal_steps(alias: &str, region: &str, duplicate: &DuplicateKey) -> String {
    let DuplicateKey { key_id, arn, .. } = duplicate;
    format!(
        "KMS key {key_id} in {region} carries mamori's tag {TAG_KEY}={} but is not the key {alias} names: an earlier apply \
         created it twice (a create retried after its answer was lost, before this release looked for its key first), and \
         nothing of the baseline uses it. mamori never deletes keys, because whatever is encrypted under a deleted key is lost. \
         To remove it: check that nothing uses it (aws cloudtrail lookup-events --region {region} --lookup-attributes \
         AttributeKey=ResourceName,AttributeValue={arn}), disable it and wait a while for anything that breaks (aws kms \
         disable-key --region {region} --key-id {key_id}), then schedule its deletion with the longest waiting period, which \
         aws kms cancel-key-deletion can undo until it ends (aws kms schedule-key-deletion --region {region} --key-id {key_id} \
         --pending-window-in-days 30). Then: mamori verify --only kms.baseline-key",
        alias.trim_start_matches("alias/")
    )
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::DateTime;

    use super::*;

    fn failed(code: Option<&str>) -> AwsError {
        AwsError { operation: "kms:ListResourceTags".into(), code: code.map(str::to_string), message: "x".into(), request_id: None, status: Some(400) }
    }

    fn key(id: &str, state: KeyState, created: i64) -> KeyMetadata {
        KeyMetadata::builder().key_id(id).arn(format!("arn:aws:kms:us-east-1:111122223333:key/{id}")).key_state(state).creation_date(DateTime::from_secs(created)).build().unwrap()
    }

    #[test]
    fn only_not_found_and_access_denied_mean_the_key_is_not_ours() {
        assert!(tags_unreadable_means_not_ours(&failed(Some("NotFoundException"))));
        assert!(tags_unreadable_means_not_ours(&failed(Some("AccessDeniedException"))));
        for open in [Some("KMSInternalException"), Some("ThrottlingException"), Some("DependencyTimeoutException"), Some("KMSInvalidStateException"), None] {
            assert!(!tags_unreadable_means_not_ours(&failed(open)), "{open:?} must be an error, not absence");
        }
    }

    #[test]
    fn keys_pending_deletion_are_no_longer_duplicates_to_remove() {
        let keys = [key("a", KeyState::Disabled, 2), key("b", KeyState::PendingDeletion, 1), key("c", KeyState::Enabled, 3)];
        let left: Vec<String> = duplicates(&keys).into_iter().map(|d| format!("{}:{}", d.key_id, d.key_state)).collect();
        assert_eq!(left, ["a:Disabled", "c:Enabled"]);
    }

    #[test]
    fn an_enabled_key_is_adopted_before_a_disabled_or_dying_one_and_the_oldest_first() {
        let mut keys = vec![key("dying", KeyState::PendingDeletion, 1), key("disabled", KeyState::Disabled, 2), key("newer", KeyState::Enabled, 9), key("older", KeyState::Enabled, 5)];
        in_adoption_order(&mut keys);
        let order: Vec<&str> = keys.iter().map(|k| k.key_id()).collect();
        assert_eq!(order, ["older", "newer", "disabled", "dying"]);
    }

    #[test]
    fn the_removal_steps_never_delete_at_once_and_name_the_key() {
        let duplicate = DuplicateKey { key_id: "k-1".into(), arn: "arn:aws:kms:eu-west-1:111122223333:key/k-1".into(), key_state: "Enabled".into() };
        let steps = removal_steps("alias/mamori-baseline", "eu-west-1", &duplicate);
        assert!(steps.contains("aws kms disable-key --region eu-west-1 --key-id k-1"), "{steps}");
        assert!(steps.contains("--pending-window-in-days 30"), "the longest waiting period: {steps}");
        assert!(steps.contains("AttributeValue=arn:aws:kms:eu-west-1:111122223333:key/k-1"), "{steps}");
    }
}
