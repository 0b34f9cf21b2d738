//! CloudWatch Logs JSON filter patterns, evaluated against a CloudTrail event: enough of the syntax
//! to test the patterns mamori writes before it writes them.
//!
//! Supported: `{ ... }` around an expression of comparisons `$.a.b = value`, `$.a.b != value`,
//! `$.a.b NOT EXISTS`, joined with `&&` and `||` and grouped with parentheses. A value is a quoted or
//! bare string, and `*` in it matches any run of characters (mamori's one matcher,
//! [`Wildcard::FILTER_VALUE`]: case-sensitive, `?` literal). As in CloudWatch Logs, `!=` is true when
//! the field is absent. Anything else is a syntax error, so a pattern mamori cannot evaluate is never
//! shipped untested. Nothing here calls AWS.

use serde_json::Value;

use crate::policy::wildcard::Wildcard;

/// True when `event` matches `pattern`.
pub fn matches(pattern: &str, event: &Value) -> Result<bool, String> {
    let body = pattern.trim();
    let body = body.strip_prefix('{').and_then(|b| b.strip_suffix('}')).ok_or_else(|| format!("not a JSON filter pattern: {pattern}"))?;
    let tokens = tokenize(body)?;
    let mut parser = Parser { tokens: &tokens, at: 0, event };
    let result = parser.or()?;
    if parser.at != tokens.len() {
        return Err(format!("unexpected `{}` in {pattern}", tokens[parser.at]));
    }
    Ok(result)
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' | '\n' => {
                chars.next();
            }
            '(' | ')' | '=' => tokens.push(chars.next().expect("peeked").to_string()),
            '!' | '&' | '|' => {
                chars.next();
                let second = chars.next().ok_or("dangling operator")?;
                tokens.push(format!("{c}{second}"));
            }
            '"' => {
                chars.next();
                let mut quoted = String::from("\"");
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(other) => quoted.push(other),
                        None => return Err("unterminated string".into()),
                    }
                }
                tokens.push(quoted);
            }
            _ => {
                let mut word = String::new();
                while let Some(&w) = chars.peek() {
                    if " \t\n()=!&|".contains(w) {
                        break;
                    }
                    word.push(w);
                    chars.next();
                }
                tokens.push(word);
            }
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: &'a [String],
    at: usize,
    event: &'a Value,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Result<&str, String> {
        let token = self.tokens.get(self.at).ok_or("unexpected end of pattern")?;
        self.at += 1;
        Ok(token)
    }

    fn or(&mut self) -> Result<bool, String> {
        let mut value = self.and()?;
        while self.peek() == Some("||") {
            self.at += 1;
            value |= self.and()?;
        }
        Ok(value)
    }

    fn and(&mut self) -> Result<bool, String> {
        let mut value = self.term()?;
        while self.peek() == Some("&&") {
            self.at += 1;
            value &= self.term()?;
        }
        Ok(value)
    }

    fn term(&mut self) -> Result<bool, String> {
        if self.peek() == Some("(") {
            self.at += 1;
            let value = self.or()?;
            if self.next()? != ")" {
                return Err("missing `)`".into());
            }
            return Ok(value);
        }
        let selector = self.next()?.to_string();
        let path = selector.strip_prefix("$.").ok_or_else(|| format!("expected a `$.field` selector, found `{selector}`"))?;
        let field = path.split('.').try_fold(self.event, |value, key| value.get(key));
        let operator = self.next()?.to_string();
        match operator.as_str() {
            "NOT" if self.next()? == "EXISTS" => Ok(field.is_none()),
            "=" => {
                let wanted = value_text(self.next()?);
                Ok(field.is_some_and(|f| Wildcard::FILTER_VALUE.matches(&wanted, &field_text(f))))
            }
            "!=" => {
                let wanted = value_text(self.next()?);
                Ok(!field.is_some_and(|f| Wildcard::FILTER_VALUE.matches(&wanted, &field_text(f))))
            }
            other => Err(format!("unsupported operator `{other}`")),
        }
    }
}

fn value_text(token: &str) -> String {
    token.strip_prefix('"').unwrap_or(token).to_string()
}

fn field_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comparisons_combine_with_and_or_and_parentheses() {
        let event = json!({"eventName": "ConsoleLogin", "userIdentity": {"type": "IAMUser"}, "errorCode": "AccessDenied"});
        assert!(matches(r#"{ ($.eventName = "ConsoleLogin") && ($.userIdentity.type = IAMUser) }"#, &event).unwrap());
        assert!(matches(r#"{ ($.eventName = Nope) || ($.errorCode = "Access*") }"#, &event).unwrap());
        assert!(!matches(r#"{ ($.eventName = Nope) || (($.errorCode = "*Unauthorized*") && ($.x = y)) }"#, &event).unwrap());
    }

    #[test]
    fn absent_fields() {
        let event = json!({"userIdentity": {"type": "Root"}});
        assert!(matches("{ $.userIdentity.invokedBy NOT EXISTS }", &event).unwrap());
        assert!(matches(r#"{ $.additionalEventData.MFAUsed != "Yes" }"#, &event).unwrap(), "!= is true for an absent field");
        assert!(!matches(r#"{ $.additionalEventData.MFAUsed = "Yes" }"#, &event).unwrap());
    }

    #[test]
    fn values_match_with_stars_only() {
        let event = json!({"errorCode": "Client.UnauthorizedOperation", "eventName": "Why?"});
        assert!(matches(r#"{ $.errorCode = "*UnauthorizedOperation" }"#, &event).unwrap());
        assert!(!matches(r#"{ $.errorCode = "Unauthorized*" }"#, &event).unwrap());
        assert!(matches(r#"{ $.eventName = "Why?" }"#, &event).unwrap(), "? is literal in a filter value");
        assert!(!matches(r#"{ $.eventName = "Wh??" }"#, &event).unwrap(), "? is no wildcard in a filter value");
    }

    #[test]
    fn malformed_patterns_are_errors() {
        assert!(matches("$.a = b", &json!({})).is_err());
        assert!(matches("{ ($.a = b }", &json!({})).is_err());
        assert!(matches("{ $.a > 3 }", &json!({})).is_err());
    }
}
