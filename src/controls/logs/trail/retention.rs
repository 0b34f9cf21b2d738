//! How long the trail's CloudWatch Logs group keeps events: raised to the baseline's minimum, never
//! shortened.
//!
//! CloudWatch Logs deletes the events older than a group's retention period as soon as the period
//! allows it (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html#SettingLogRetention>):
//! writing a shorter retention on a group that keeps events longer (or forever, the default) deletes
//! audit data, which mamori never does. The baseline's `log_group_retention_days` is therefore a
//! minimum, as the password policy's values are: a shorter retention is raised to it, a longer one is
//! kept. A group mamori creates gets exactly the baseline's value. Pure.

/// A group's retention as findings show it: `365 days`, `never expires`.
pub fn label(days: Option<i32>) -> String {
    match days {
        Some(days) => format!("{days} days"),
        None => "never expires".into(),
    }
}

/// The retention mamori wants for a group that keeps events `current` days (`None`: forever), given
/// the baseline's `minimum`: the longer of the two, said so when it is a raise.
pub fn desired_label(current: Option<i32>, minimum: i32) -> String {
    match current {
        Some(days) if days < minimum => format!("{minimum} days (raised to the baseline's minimum: retention is never shortened)"),
        kept => label(kept),
    }
}

/// Whether `apply` writes `minimum` on a group that keeps events `current` days: only to raise it.
pub fn needs_raise(current: Option<i32>, minimum: i32) -> bool {
    current.is_some_and(|days| days < minimum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shorter_retention_is_raised_and_the_plan_says_so() {
        assert!(needs_raise(Some(30), 365));
        assert_eq!(label(Some(30)), "30 days");
        assert_eq!(desired_label(Some(30), 365), "365 days (raised to the baseline's minimum: retention is never shortened)");
    }

    #[test]
    fn a_longer_retention_is_kept() {
        assert!(!needs_raise(Some(3653), 365));
        assert_eq!(desired_label(Some(3653), 365), label(Some(3653)), "no drift: the group keeps ten years");
        assert!(!needs_raise(None, 365), "a group that never expires is never shortened");
        assert_eq!(desired_label(None, 365), "never expires");
    }

    #[test]
    fn the_baseline_value_is_compliant() {
        assert!(!needs_raise(Some(365), 365));
        assert_eq!(desired_label(Some(365), 365), "365 days");
    }
}
