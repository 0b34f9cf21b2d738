//! How controls that encrypt with the baseline key name it in their desired state.
//!
//! It owns one rule shared by those controls and nothing else: the ARN `kms.baseline-key` published
//! for the region; before that key exists (a `plan` on a fresh account), a placeholder naming the
//! alias it will be created under, so the plan shows the change; `None` when the baseline has no key.
//! It never calls AWS.

use crate::baseline::RegionName;
use crate::engine::{Context, Facts};

/// The baseline key of `region` as a desired state names it (see the module documentation).
pub fn wanted_key(ctx: &Context<'_>, region: &RegionName, facts: &Facts) -> Option<String> {
    let key = ctx.baseline.baseline_key.as_ref()?;
    Some(match facts.baseline_key_arn.get(region) {
        Some(arn) => arn.clone(),
        None => format!("{} (to be created by kms.baseline-key)", key.alias.qualified()),
    })
}

/// True when `value` is a real key ARN, not the placeholder of a key still to be created.
pub fn is_key_arn(value: &str) -> bool {
    value.starts_with("arn:")
}
