//! Errors: the Discord-style refusals the fake answers with, and the failures tests see when
//! something they wait for does not happen.

use std::fmt;

use serde_json::{Value, json};

/// A refusal, rendered as Discord's JSON error body (`{"code","message","errors"}`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DiscordError {
    pub status: u16,
    pub code: i64,
    pub message: String,
    pub errors: Option<Value>,
}

impl DiscordError {
    pub fn new(status: u16, code: i64, message: &str) -> Self {
        Self {
            status,
            code,
            message: message.to_owned(),
            errors: None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(401, 0, "401: Unauthorized")
    }

    pub fn not_found() -> Self {
        Self::new(404, 0, "404: Not Found")
    }

    pub fn unknown_channel() -> Self {
        Self::new(404, 10003, "Unknown Channel")
    }

    pub fn unknown_message() -> Self {
        Self::new(404, 10008, "Unknown Message")
    }

    pub fn unknown_user() -> Self {
        Self::new(404, 10013, "Unknown User")
    }

    pub fn unknown_member() -> Self {
        Self::new(404, 10007, "Unknown Member")
    }

    pub fn unknown_role() -> Self {
        Self::new(404, 10011, "Unknown Role")
    }

    pub fn unknown_guild() -> Self {
        Self::new(404, 10004, "Unknown Guild")
    }

    pub fn unknown_webhook() -> Self {
        Self::new(404, 10015, "Unknown Webhook")
    }

    pub fn unknown_interaction() -> Self {
        Self::new(404, 10062, "Unknown interaction")
    }

    pub fn already_acknowledged() -> Self {
        Self::new(400, 40060, "Interaction has already been acknowledged")
    }

    pub fn invalid_webhook_token() -> Self {
        Self::new(401, 50027, "Invalid Webhook Token")
    }

    pub fn missing_permissions() -> Self {
        Self::new(403, 50013, "Missing Permissions")
    }

    pub fn cannot_dm() -> Self {
        Self::new(403, 50007, "Cannot send messages to this user")
    }

    pub fn empty_message() -> Self {
        Self::new(400, 50006, "Cannot send an empty message")
    }

    pub fn not_author() -> Self {
        Self::new(403, 50005, "Cannot edit a message authored by another user")
    }

    pub fn max_pins() -> Self {
        Self::new(400, 30003, "Maximum number of pins reached (250)")
    }

    /// 400 code 50035 with Discord's nested `errors` tree, e.g. path `["embeds","0","title"]`.
    pub fn invalid_form(problems: &[FieldProblem]) -> Self {
        let mut errors = json!({});
        for p in problems {
            let mut node = &mut errors;
            for seg in &p.path {
                node = node
                    .as_object_mut()
                    .expect("error tree nodes are objects")
                    .entry(seg.clone())
                    .or_insert_with(|| json!({}));
            }
            let list = node
                .as_object_mut()
                .expect("error tree nodes are objects")
                .entry("_errors")
                .or_insert_with(|| json!([]));
            list.as_array_mut()
                .expect("_errors is an array")
                .push(json!({"code": p.code, "message": p.message}));
        }
        Self {
            errors: Some(errors),
            ..Self::new(400, 50035, "Invalid Form Body")
        }
    }

    pub fn body(&self) -> Value {
        let mut body = json!({"code": self.code, "message": self.message});
        if let Some(errors) = &self.errors {
            body["errors"] = errors.clone();
        }
        body
    }
}

/// One entry of a 50035 "Invalid Form Body" error.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FieldProblem {
    pub path: Vec<String>,
    pub code: &'static str,
    pub message: String,
}

impl FieldProblem {
    pub fn new(path: &[&str], code: &'static str, message: impl Into<String>) -> Self {
        Self {
            path: path.iter().map(|s| (*s).to_owned()).collect(),
            code,
            message: message.into(),
        }
    }

    pub fn too_long(path: &[&str], max: usize) -> Self {
        Self::new(
            path,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        )
    }

    pub fn required(path: &[&str]) -> Self {
        Self::new(path, "BASE_TYPE_REQUIRED", "This field is required")
    }
}

/// Something a test waited for did not happen in time. Its `Debug` (what `unwrap` prints) says
/// what was awaited and what the fake saw instead.
#[derive(Clone, PartialEq, Eq)]
pub struct WaitError {
    pub what: String,
    pub seen: String,
}

impl WaitError {
    pub(crate) fn new(what: impl Into<String>, seen: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            seen: seen.into(),
        }
    }
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timed out waiting for {}", self.what)?;
        if !self.seen.is_empty() {
            write!(f, "\n--- the fake saw ---\n{}", self.seen)?;
        }
        Ok(())
    }
}

impl fmt::Debug for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for WaitError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_form_nests_paths() {
        let e = DiscordError::invalid_form(&[
            FieldProblem::too_long(&["embeds", "0", "title"], 256),
            FieldProblem::too_long(&["content"], 2000),
        ]);
        assert_eq!(
            e.body(),
            json!({"code": 50035, "message": "Invalid Form Body", "errors": {
                "embeds": {"0": {"title": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}]}}},
                "content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}
            }})
        );
    }
}
