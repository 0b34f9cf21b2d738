//! The `csv` format: one row per finding, the columns of the JSON finding (`expected` and `actual` as
//! compact JSON, the benchmark ids joined by spaces), written by the `csv` crate, which quotes.

use super::Report;

/// The exception columns are empty unless an exception decided the finding (`excepted`, or covering
/// it but expired).
const COLUMNS: [&str; 15] = [
    "account", "control", "region", "resource", "status", "message", "expected", "actual", "remediation", "cis_v5", "fsbp",
    "exception_reason", "exception_owner", "exception_expires", "exception_ticket",
];

pub fn render(report: &Report) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(COLUMNS).expect("writing to memory");
    for f in &report.findings {
        let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
        writer
            .write_record([
                f.account.as_str(),
                &f.control,
                &f.region,
                &f.resource,
                f.status.label(),
                &f.message,
                &json(&f.expected),
                &json(&f.actual),
                f.remediation.as_deref().unwrap_or(""),
                &f.references.cis_v5.join(" "),
                &f.references.fsbp.join(" "),
                f.exception.as_ref().map_or("", |e| e.reason.as_str()),
                f.exception.as_ref().map_or("", |e| e.owner.as_str()),
                f.exception.as_ref().map_or("", |e| e.expires.as_str()),
                f.exception.as_ref().and_then(|e| e.ticket.as_deref()).unwrap_or(""),
            ])
            .expect("writing to memory");
    }
    String::from_utf8(writer.into_inner().expect("flushing to memory")).expect("csv of strings is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn one_row_per_finding_quoted_where_a_value_needs_it() {
        let report = fixture::fleet_report();
        let text = render(&report);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), COLUMNS);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), report.findings.len());
        for (row, finding) in rows.iter().zip(&report.findings) {
            assert_eq!((&row[0], &row[1], &row[4], &row[5]), (finding.account.as_str(), finding.control.as_str(), finding.status.label(), finding.message.as_str()));
            let exception = if finding.exception.is_some() { vec!["public website & blog", "data-team", "2027-01-31", "RISK-42"] } else { vec![""; 4] };
            assert_eq!(row.iter().skip(11).collect::<Vec<_>>(), exception, "{row:?}");
        }
    }
}
