//! ASFF documents (as [`crate::report::asff`] renders them, JSON) turned into the SDK's
//! `AwsSecurityFinding`, attribute by attribute: only the attributes that renderer writes. The JSON
//! document stays the one definition of what mamori sends; this is its typed spelling for
//! `BatchImportFindings`. Pure: no AWS call.

use aws_sdk_securityhub::types::{
    AssociatedStandard, AwsSecurityFinding, Compliance, ComplianceStatus, FindingProviderFields, FindingProviderSeverity, Note, Partition, Recommendation,
    RecordState, Remediation, Resource, Severity, SeverityLabel, Workflow, WorkflowStatus,
};
use serde_json::Value;

fn text<'a>(document: &'a Value, pointer: &str) -> Option<&'a str> {
    document.pointer(pointer).and_then(Value::as_str)
}

fn texts(document: &Value, pointer: &str) -> Vec<String> {
    document.pointer(pointer).and_then(Value::as_array).map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// The typed finding of one ASFF `document`.
pub fn finding(document: &Value) -> AwsSecurityFinding {
    let get = |pointer: &str| text(document, pointer).map(str::to_string);
    let mut finding = AwsSecurityFinding::builder()
        .set_schema_version(get("/SchemaVersion"))
        .set_id(get("/Id"))
        .set_product_arn(get("/ProductArn"))
        .set_product_name(get("/ProductName"))
        .set_company_name(get("/CompanyName"))
        .set_generator_id(get("/GeneratorId"))
        .set_aws_account_id(get("/AwsAccountId"))
        .set_region(get("/Region"))
        .set_types(Some(texts(document, "/Types")))
        .set_created_at(get("/CreatedAt"))
        .set_updated_at(get("/UpdatedAt"))
        .severity(
            Severity::builder()
                .set_label(get("/Severity/Label").map(|l| SeverityLabel::from(l.as_str())))
                .set_normalized(document.pointer("/Severity/Normalized").and_then(Value::as_i64).map(|n| n as i32))
                .build(),
        )
        .finding_provider_fields(
            FindingProviderFields::builder()
                .severity(
                    FindingProviderSeverity::builder()
                        .set_label(get("/FindingProviderFields/Severity/Label").map(|l| SeverityLabel::from(l.as_str())))
                        .set_original(get("/FindingProviderFields/Severity/Original"))
                        .build(),
                )
                .set_types(Some(texts(document, "/FindingProviderFields/Types")))
                .build(),
        )
        .set_title(get("/Title"))
        .set_description(get("/Description"))
        .compliance(
            Compliance::builder()
                .set_status(get("/Compliance/Status").map(|s| ComplianceStatus::from(s.as_str())))
                .set_related_requirements(Some(texts(document, "/Compliance/RelatedRequirements")))
                .set_associated_standards(Some(
                    document
                        .pointer("/Compliance/AssociatedStandards")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|s| AssociatedStandard::builder().set_standards_id(text(s, "/StandardsId").map(str::to_string)).build())
                        .collect(),
                ))
                .build(),
        )
        .workflow(Workflow::builder().set_status(get("/Workflow/Status").map(|s| WorkflowStatus::from(s.as_str()))).build())
        .set_record_state(get("/RecordState").map(|s| RecordState::from(s.as_str())));
    for resource in document.pointer("/Resources").and_then(Value::as_array).into_iter().flatten() {
        finding = finding.resources(
            Resource::builder()
                .set_type(text(resource, "/Type").map(str::to_string))
                .set_id(text(resource, "/Id").map(str::to_string))
                .set_partition(text(resource, "/Partition").map(Partition::from))
                .set_region(text(resource, "/Region").map(str::to_string))
                .build(),
        );
    }
    for (key, value) in document.pointer("/ProductFields").and_then(Value::as_object).into_iter().flatten() {
        if let Some(value) = value.as_str() {
            finding = finding.product_fields(key, value);
        }
    }
    if let Some(recommendation) = get("/Remediation/Recommendation/Text") {
        finding = finding.remediation(Remediation::builder().recommendation(Recommendation::builder().text(recommendation).build()).build());
    }
    if let Some(note) = get("/Note/Text") {
        finding = finding.note(Note::builder().text(note).set_updated_by(get("/Note/UpdatedBy")).set_updated_at(get("/Note/UpdatedAt")).build());
    }
    finding.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{asff, fixture};

    #[test]
    fn every_attribute_the_renderer_writes_reaches_the_typed_finding() {
        let documents = asff::findings(&fixture::fleet_report());
        for document in &documents {
            let finding = finding(document);
            assert_eq!(finding.id(), text(document, "/Id"));
            assert_eq!(finding.product_arn(), text(document, "/ProductArn"));
            assert_eq!(finding.aws_account_id(), text(document, "/AwsAccountId"));
            assert_eq!(finding.region(), text(document, "/Region"));
            assert_eq!(finding.record_state().map(|s| s.as_str()), text(document, "/RecordState"));
            assert_eq!(finding.workflow().and_then(|w| w.status()).map(|s| s.as_str()), text(document, "/Workflow/Status"));
            assert_eq!(finding.compliance().and_then(|c| c.status()).map(|s| s.as_str()), text(document, "/Compliance/Status"));
            assert_eq!(finding.severity().and_then(|s| s.label()).map(|s| s.as_str()), text(document, "/Severity/Label"));
            let provided = finding.finding_provider_fields().and_then(|f| f.severity()).and_then(|s| s.label()).map(|s| s.as_str());
            assert_eq!(provided, text(document, "/FindingProviderFields/Severity/Label"));
            assert_eq!(finding.resources().len(), 1);
            assert_eq!(finding.resources()[0].id(), text(document, "/Resources/0/Id"));
            assert_eq!(finding.types(), texts(document, "/Types"));
            assert_eq!(finding.product_fields().and_then(|f| f.get("mamori/control")).map(String::as_str), text(document, "/ProductFields/mamori~1control"));
            assert_eq!(finding.note().and_then(|n| n.text()), text(document, "/Note/Text"));
        }
        assert!(finding(&documents[3]).note().is_some_and(|n| n.updated_by() == Some("data-team")), "the accepted risk's note");
    }
}
