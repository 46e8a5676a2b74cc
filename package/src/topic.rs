//! Topics and subscription patterns, in NATS subject syntax so the clustered
//! backend maps them one to one: dot-separated tokens, `*` matches exactly one token,
//! `>` (last token only) matches one or more remaining tokens.

/// Checks a concrete topic (no wildcards), e.g. `appliance.fridge.inventory`.
pub fn validate_topic(topic: &str) -> Result<(), String> {
    validate(topic, false)
}

/// Checks a subscription pattern, e.g. `appliance.water-purifier.>`.
pub fn validate_pattern(pattern: &str) -> Result<(), String> {
    validate(pattern, true)
}

fn validate(subject: &str, wildcards: bool) -> Result<(), String> {
    if subject.is_empty() {
        return Err("topic is empty".into());
    }
    if subject.len() > 255 {
        return Err(format!("topic {subject:?} is longer than 255 bytes"));
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    for (index, token) in tokens.iter().enumerate() {
        match *token {
            "" => return Err(format!("topic {subject:?} has an empty token")),
            "*" | ">" if !wildcards => {
                return Err(format!("topic {subject:?} may not contain wildcards"));
            }
            ">" if index + 1 != tokens.len() => {
                return Err(format!("in {subject:?}, `>` may only be the last token"));
            }
            "*" | ">" => {}
            token => {
                if let Some(bad) =
                    token.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
                {
                    return Err(format!("topic {subject:?} contains {bad:?}; tokens use a-z, 0-9, '-' and '_'"));
                }
            }
        }
    }
    Ok(())
}

/// Whether `topic` is covered by the (valid) subscription `pattern`.
pub fn matches(pattern: &str, topic: &str) -> bool {
    let mut topic_tokens = topic.split('.');
    for pattern_token in pattern.split('.') {
        match (pattern_token, topic_tokens.next()) {
            (">", Some(_)) => return true,
            (_, None) => return false,
            ("*", Some(_)) => {}
            (expected, Some(token)) if expected == token => {}
            _ => return false,
        }
    }
    topic_tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_table() {
        let table = [
            ("appliance.fridge.inventory", "appliance.fridge.inventory", true),
            ("appliance.fridge.inventory", "appliance.fridge.door", false),
            ("appliance.*.inventory", "appliance.fridge.inventory", true),
            ("appliance.*", "appliance.fridge.inventory", false),
            ("appliance.>", "appliance.fridge.inventory", true),
            ("appliance.>", "appliance", false),
            ("appliance.water-purifier.>", "appliance.water-purifier.telemetry", true),
            ("appliance.water-purifier.>", "appliance.oven.state", false),
            (">", "anything.at.all", true),
            ("a.b", "a.b.c", false),
        ];
        for (pattern, topic, expected) in table {
            assert_eq!(matches(pattern, topic), expected, "{pattern} vs {topic}");
        }
    }

    #[test]
    fn syntax_errors_are_explained() {
        assert!(validate_pattern("appliance.>").is_ok());
        assert!(validate_pattern("appliance.*.state").is_ok());
        assert!(validate_pattern("appliance.>.state").unwrap_err().contains("last token"));
        assert!(validate_pattern("appliance..state").unwrap_err().contains("empty token"));
        assert!(validate_pattern("Appliance.state").unwrap_err().contains("'A'"));
        assert!(validate_topic("appliance.*").unwrap_err().contains("wildcards"));
        assert!(validate_topic("").is_err());
    }
}
