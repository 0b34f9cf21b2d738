//! The `--output json` renderer: one pretty-printed JSON document on stdout.

use super::Report;

pub fn render(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("a report serializes") + "\n"
}
