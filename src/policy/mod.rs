//! IAM-style policy documents (key policies, bucket policies, role policies): compared, merged, and
//! evaluated.
//!
//! This module compares and merges. AWS hands back a policy in whatever shape it was written or
//! re-serialized: statement order, key order, whitespace, `"s3:GetObject"` versus `["s3:GetObject"]`,
//! duplicated list entries. None of that changes what the policy means, so none of it may cause a write.
//! [`normalize`] maps a document to a canonical form in which those differences vanish; equal canonical
//! forms mean equal policies. It never interprets wildcards or conditions: two documents that differ in
//! meaning always stay different.
//!
//! What a set of policies allows is the question of the evaluator, one concern per module:
//! [`wildcard`] (the one matcher for every pattern), [`arn`] (ARNs compared part by part),
//! [`document`] (statements read from JSON), [`request`] (principal, action, resource and context
//! keys), [`condition`] (condition operators) and [`evaluate`] (IAM's policy evaluation logic).
//! [`permissions`] asks it which actions identity policies leave out.

use serde_json::{Map, Value};

pub mod arn;
pub mod condition;
pub mod document;
pub mod evaluate;
pub mod permissions;
pub mod request;
pub mod wildcard;

/// A policy document as IAM returns it: JSON, or JSON URL-encoded (RFC 3986) by IAM's Query API.
/// `None` when it is neither.
pub fn parse_document(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok().or_else(|| {
        let decoded = percent_encoding::percent_decode_str(text).decode_utf8().ok()?;
        serde_json::from_str(&decoded).ok()
    })
}

/// Canonical form of a policy document or statement: objects keep their keys (maps compare
/// order-insensitively), every list is normalized element-wise, sorted and deduplicated, and a
/// one-element list becomes its element.
pub fn normalize(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), normalize(v))).collect::<Map<_, _>>()),
        Value::Array(items) => {
            let mut normalized: Vec<Value> = items.iter().map(normalize).collect();
            normalized.sort_by_key(|item| item.to_string());
            normalized.dedup();
            if normalized.len() == 1 {
                normalized.pop().expect("one element")
            } else {
                Value::Array(normalized)
            }
        }
        other => other.clone(),
    }
}

/// The statements of a policy document, as a list (a single statement object counts as one).
pub fn statements(document: &Value) -> Vec<Value> {
    match document.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(statement @ Value::Object(_)) => vec![statement.clone()],
        _ => Vec::new(),
    }
}

/// A statement without its `Sid`, normalized: two statements that grant the same thing compare equal
/// whatever they are called.
pub fn statement_meaning(statement: &Value) -> Value {
    let mut statement = statement.clone();
    if let Value::Object(map) = &mut statement {
        map.remove("Sid");
    }
    normalize(&statement)
}

/// True when `document` contains a statement meaning the same as `wanted`.
pub fn contains_statement(document: &Value, wanted: &Value) -> bool {
    let wanted = statement_meaning(wanted);
    statements(document).iter().any(|statement| statement_meaning(statement) == wanted)
}

/// `current` with every statement of `required` that it lacks added: statements of `current` that
/// carry the same `Sid` as a required one are replaced, all others (foreign statements) are kept as
/// they are, in their order.
pub fn merge_statements(current: &Value, required: &Value) -> Value {
    let required_statements = statements(required);
    let required_sids: Vec<&str> = required_statements.iter().filter_map(|s| s.get("Sid")?.as_str()).collect();
    let mut merged: Vec<Value> = statements(current)
        .into_iter()
        .filter(|s| !s.get("Sid").and_then(Value::as_str).is_some_and(|sid| required_sids.contains(&sid)))
        .collect();
    for statement in required_statements {
        if !merged.iter().any(|existing| statement_meaning(existing) == statement_meaning(&statement)) {
            merged.push(statement);
        }
    }
    let mut document = match current {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    document.entry("Version").or_insert_with(|| required.get("Version").cloned().unwrap_or(Value::from("2012-10-17")));
    document.insert("Statement".into(), Value::Array(merged));
    Value::Object(document)
}

/// `current` (a policy document's text) with the statement whose `Sid` is `wanted`'s replaced by
/// `wanted`, or `wanted` appended when there is none; `None` = no policy yet. Every other byte of every
/// other statement is kept as it was written (the text is spliced, not re-serialized), so foreign
/// statements survive byte for byte. Fails when `current` is not a JSON object.
pub fn splice_statement(current: Option<&str>, wanted: &Value) -> Result<String, String> {
    let wanted_text = wanted.to_string();
    let sid = wanted.get("Sid").and_then(Value::as_str);
    let Some(text) = current.filter(|t| !t.trim().is_empty()) else {
        return Ok(format!("{{\"Version\":\"2012-10-17\",\"Statement\":[{wanted_text}]}}"));
    };
    let members = spans::object_members(text)?;
    let mut out = String::from("{");
    let mut placed = false;
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&text[key.clone()]);
        out.push(':');
        let is_statement = serde_json::from_str::<String>(&text[key.clone()]).is_ok_and(|k| k == "Statement");
        if !is_statement {
            out.push_str(&text[value.clone()]);
            continue;
        }
        let raw = &text[value.clone()];
        let items = if raw.trim_start().starts_with('[') { spans::array_items(raw)? } else { vec![std::ops::Range { start: 0, end: raw.len() }] };
        let mut kept: Vec<String> = Vec::new();
        for item in items {
            let statement: Value = serde_json::from_str(&raw[item.clone()]).map_err(|e| format!("a statement is not JSON: {e}"))?;
            if sid.is_some() && statement.get("Sid").and_then(Value::as_str) == sid {
                if !placed {
                    kept.push(wanted_text.clone());
                    placed = true;
                }
            } else {
                kept.push(raw[item].to_string());
            }
        }
        if !placed {
            kept.push(wanted_text.clone());
            placed = true;
        }
        out.push('[');
        out.push_str(&kept.join(","));
        out.push(']');
    }
    if !placed {
        if !members.is_empty() {
            out.push(',');
        }
        out.push_str(&format!("\"Statement\":[{wanted_text}]"));
    }
    out.push('}');
    serde_json::from_str::<Value>(&out).map_err(|e| format!("the spliced policy is not JSON: {e}"))?;
    Ok(out)
}

/// The statement of `document` (text) whose `Sid` is `sid`.
pub fn statement_with_sid(document: &Value, sid: &str) -> Option<Value> {
    statements(document).into_iter().find(|s| s.get("Sid").and_then(Value::as_str) == Some(sid))
}

/// Byte spans of JSON text: just enough of a scanner to cut a document into its members without
/// re-serializing them.
mod spans {
    use std::ops::Range;

    fn skip_ws(text: &[u8], mut at: usize) -> usize {
        while at < text.len() && text[at].is_ascii_whitespace() {
            at += 1;
        }
        at
    }

    /// End (exclusive) of the JSON value that starts at `at`.
    fn value_end(text: &[u8], at: usize) -> Result<usize, String> {
        let mut depth = 0usize;
        let mut i = at;
        let mut in_string = false;
        while i < text.len() {
            let c = text[i];
            if in_string {
                match c {
                    b'\\' => i += 1,
                    b'"' => {
                        in_string = false;
                        if depth == 0 {
                            return Ok(i + 1);
                        }
                    }
                    _ => {}
                }
            } else {
                match c {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        if depth == 0 {
                            return Ok(i);
                        }
                        depth -= 1;
                        if depth == 0 {
                            return Ok(i + 1);
                        }
                    }
                    b',' if depth == 0 => return Ok(i),
                    c if depth == 0 && c.is_ascii_whitespace() => return Ok(i),
                    _ => {}
                }
            }
            i += 1;
        }
        if depth == 0 && !in_string {
            Ok(i)
        } else {
            Err("unterminated JSON value".into())
        }
    }

    /// (key span including quotes, value span) of one object member.
    pub type Member = (Range<usize>, Range<usize>);

    /// The members of the object `text` holds.
    pub fn object_members(text: &str) -> Result<Vec<Member>, String> {
        let bytes = text.as_bytes();
        let mut at = skip_ws(bytes, 0);
        if bytes.get(at) != Some(&b'{') {
            return Err("the policy is not a JSON object".into());
        }
        at = skip_ws(bytes, at + 1);
        let mut members = Vec::new();
        if bytes.get(at) == Some(&b'}') {
            return Ok(members);
        }
        loop {
            if bytes.get(at) != Some(&b'"') {
                return Err("expected a key in the policy object".into());
            }
            let key_end = value_end(bytes, at)?;
            let key = at..key_end;
            at = skip_ws(bytes, key_end);
            if bytes.get(at) != Some(&b':') {
                return Err("expected `:` in the policy object".into());
            }
            let value_start = skip_ws(bytes, at + 1);
            let end = value_end(bytes, value_start)?;
            members.push((key, value_start..end));
            at = skip_ws(bytes, end);
            match bytes.get(at) {
                Some(b',') => at = skip_ws(bytes, at + 1),
                Some(b'}') => return Ok(members),
                _ => return Err("expected `,` or `}` in the policy object".into()),
            }
        }
    }

    /// The span of each item of the array `text` holds.
    pub fn array_items(text: &str) -> Result<Vec<Range<usize>>, String> {
        let bytes = text.as_bytes();
        let mut at = skip_ws(bytes, 0);
        if bytes.get(at) != Some(&b'[') {
            return Err("expected a JSON array".into());
        }
        at = skip_ws(bytes, at + 1);
        let mut items = Vec::new();
        if bytes.get(at) == Some(&b']') {
            return Ok(items);
        }
        loop {
            let end = value_end(bytes, at)?;
            items.push(at..end);
            at = skip_ws(bytes, end);
            match bytes.get(at) {
                Some(b',') => at = skip_ws(bytes, at + 1),
                Some(b']') => return Ok(items),
                _ => return Err("expected `,` or `]` in the statement list".into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_are_read_plain_or_url_encoded() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(parse_document(encoded), Some(json!({"Version": "2012-10-17", "Statement": []})));
        assert_eq!(parse_document(r#"{"a": 1}"#), Some(json!({"a": 1})));
        assert_eq!(parse_document("%zz"), None);
    }

    #[test]
    fn order_whitespace_and_singletons_do_not_matter() {
        let a = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["b", "a"]},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]});
        let b: Value = serde_json::from_str(r#"{ "Statement": [ {"Resource":"*","Action":"s3:*","Effect":"Deny"},
            {"Resource": ["a","b","a"], "Effect":"Allow", "Action":"s3:GetObject"} ], "Version":"2012-10-17" }"#)
        .unwrap();
        assert_eq!(normalize(&a), normalize(&b));
    }

    #[test]
    fn different_meaning_stays_different() {
        let a = json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"});
        let b = json!({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"});
        let c = json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"});
        assert_ne!(normalize(&a), normalize(&b));
        assert_ne!(normalize(&a), normalize(&c));
    }

    #[test]
    fn statements_match_whatever_their_sid() {
        let document = json!({"Statement": {"Sid": "Theirs", "Effect": "Allow", "Action": ["kms:*"], "Resource": "*"}});
        assert!(contains_statement(&document, &json!({"Sid": "Ours", "Effect": "Allow", "Action": "kms:*", "Resource": "*"})));
        assert!(!contains_statement(&document, &json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})));
    }

    #[test]
    fn splicing_keeps_foreign_statements_byte_for_byte() {
        let foreign = "{ \"Sid\" : \"Theirs\",\n  \"Effect\":\"Allow\", \"Principal\": {\"AWS\": \"arn:aws:iam::1:root\"}, \"Action\":\"s3:GetObject\", \"Resource\":\"arn:aws:s3:::b/*\" }";
        let current = format!("{{\n \"Version\": \"2012-10-17\", \"Id\": \"x\",\n \"Statement\": [ {foreign} ,\n {{\"Sid\": \"Ours\", \"Effect\": \"Deny\"}} ] }}");
        let ours = json!({"Sid": "Ours", "Effect": "Deny", "Action": "s3:*"});
        let spliced = splice_statement(Some(&current), &ours).unwrap();
        assert!(spliced.contains(foreign), "{spliced}");
        let document: Value = serde_json::from_str(&spliced).unwrap();
        assert_eq!(document["Id"], "x");
        assert_eq!(statements(&document).len(), 2);
        assert_eq!(statement_with_sid(&document, "Ours"), Some(ours.clone()));
        assert_eq!(splice_statement(Some(&spliced), &ours).unwrap(), spliced, "splicing twice changes nothing");
        let single = format!("{{\"Statement\": {foreign}}}");
        let spliced = splice_statement(Some(&single), &ours).unwrap();
        assert!(spliced.contains(foreign) && spliced.contains("\"Sid\":\"Ours\""), "{spliced}");
        let fresh: Value = serde_json::from_str(&splice_statement(None, &ours).unwrap()).unwrap();
        assert_eq!(statements(&fresh), vec![ours.clone()]);
        assert!(splice_statement(Some("[1]"), &ours).is_err());
    }

    #[test]
    fn merge_keeps_foreign_statements_and_replaces_same_sid() {
        let current = json!({"Version": "2012-10-17", "Id": "keep", "Statement": [
            {"Sid": "Foreign", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
            {"Sid": "Ours", "Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}]});
        let required = json!({"Statement": [{"Sid": "Ours", "Effect": "Allow", "Action": "kms:*", "Resource": "*"}]});
        let merged = merge_statements(&current, &required);
        assert_eq!(merged["Id"], "keep");
        assert_eq!(statements(&merged).len(), 2);
        assert_eq!(statements(&merged)[0]["Sid"], "Foreign");
        assert!(contains_statement(&merged, &required["Statement"][0]));
        assert_eq!(merge_statements(&merged, &required), merged, "merging twice changes nothing");
    }
}
