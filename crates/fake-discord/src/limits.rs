//! Discord's size limits, answered the way Discord answers them (400, code 50035, with an
//! `errors` tree), so the bot's own clamping is what the tests exercise. Lengths count Unicode
//! scalar values. Pure functions over request JSON.

use std::collections::HashSet;

use serde_json::Value;

use crate::error::{DiscordError, FieldProblem};

pub const CONTENT_MAX: usize = 2000;
pub const EMBEDS_MAX: usize = 10;
pub const EMBED_TITLE_MAX: usize = 256;
pub const EMBED_DESCRIPTION_MAX: usize = 4096;
pub const EMBED_FIELDS_MAX: usize = 25;
pub const EMBED_FIELD_NAME_MAX: usize = 256;
pub const EMBED_FIELD_VALUE_MAX: usize = 1024;
pub const EMBED_FOOTER_MAX: usize = 2048;
pub const EMBED_AUTHOR_MAX: usize = 256;
pub const EMBED_TOTAL_MAX: usize = 6000;
pub const ACTION_ROWS_MAX: usize = 5;
pub const ROW_ITEMS_MAX: usize = 5;
pub const CUSTOM_ID_MAX: usize = 100;
pub const BUTTON_LABEL_MAX: usize = 80;
pub const SELECT_OPTIONS_MAX: usize = 25;
pub const PINS_MAX: usize = 250;
pub const CHOICES_MAX: usize = 25;
pub const CHOICE_NAME_MAX: usize = 100;
pub const MODAL_TITLE_MAX: usize = 45;
pub const TEXT_INPUT_LABEL_MAX: usize = 45;
pub const TEXT_INPUT_VALUE_MAX: usize = 4000;
pub const COMMAND_NAME_MAX: usize = 32;
pub const COMMAND_DESCRIPTION_MAX: usize = 100;
pub const COMMAND_OPTIONS_MAX: usize = 25;
pub const GLOBAL_COMMANDS_MAX: usize = 100;

fn len(v: Option<&Value>) -> usize {
    v.and_then(Value::as_str).map_or(0, |s| s.chars().count())
}

fn arr(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Checks a message body (create, edit, interaction response or follow-up). `path` prefixes
/// error paths (interaction callbacks nest the message under `data`).
pub fn check_message(body: &Value, path: &[&str]) -> Result<(), DiscordError> {
    let mut problems = Vec::new();
    let at = |rest: &[&str]| -> Vec<String> {
        path.iter()
            .chain(rest)
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
    };
    let problem = |rest: &[&str], code, message: String| FieldProblem {
        path: at(rest),
        code,
        message,
    };
    let too_long = |rest: &[&str], max: usize| {
        problem(
            rest,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        )
    };

    if len(body.get("content")) > CONTENT_MAX {
        problems.push(too_long(&["content"], CONTENT_MAX));
    }

    let embeds = arr(body.get("embeds"));
    if embeds.len() > EMBEDS_MAX {
        problems.push(too_long(&["embeds"], EMBEDS_MAX));
    }
    let mut total = 0;
    for (i, e) in embeds.iter().enumerate() {
        let i = i.to_string();
        let i = i.as_str();
        let title = len(e.get("title"));
        let description = len(e.get("description"));
        let footer = len(e.pointer("/footer/text"));
        let author = len(e.pointer("/author/name"));
        total += title + description + footer + author;
        if title > EMBED_TITLE_MAX {
            problems.push(too_long(&["embeds", i, "title"], EMBED_TITLE_MAX));
        }
        if description > EMBED_DESCRIPTION_MAX {
            problems.push(too_long(
                &["embeds", i, "description"],
                EMBED_DESCRIPTION_MAX,
            ));
        }
        if footer > EMBED_FOOTER_MAX {
            problems.push(too_long(&["embeds", i, "footer", "text"], EMBED_FOOTER_MAX));
        }
        if author > EMBED_AUTHOR_MAX {
            problems.push(too_long(&["embeds", i, "author", "name"], EMBED_AUTHOR_MAX));
        }
        let fields = arr(e.get("fields"));
        if fields.len() > EMBED_FIELDS_MAX {
            problems.push(too_long(&["embeds", i, "fields"], EMBED_FIELDS_MAX));
        }
        for (j, f) in fields.iter().enumerate() {
            let j = j.to_string();
            let name = len(f.get("name"));
            let value = len(f.get("value"));
            total += name + value;
            for (key, n, max) in [
                ("name", name, EMBED_FIELD_NAME_MAX),
                ("value", value, EMBED_FIELD_VALUE_MAX),
            ] {
                if n == 0 {
                    problems.push(problem(
                        &["embeds", i, "fields", &j, key],
                        "BASE_TYPE_REQUIRED",
                        "This field is required".to_owned(),
                    ));
                } else if n > max {
                    problems.push(too_long(&["embeds", i, "fields", &j, key], max));
                }
            }
        }
    }
    if total > EMBED_TOTAL_MAX {
        problems.push(problem(
            &["embeds"],
            "MAX_EMBED_SIZE_EXCEEDED",
            format!("Embed size exceeds maximum size of {EMBED_TOTAL_MAX}"),
        ));
    }

    check_components(
        arr(body.get("components")),
        &at(&["components"]),
        &mut problems,
    );

    if problems.is_empty() {
        Ok(())
    } else {
        Err(DiscordError::invalid_form(&problems))
    }
}

fn check_components(rows: &[Value], path: &[String], problems: &mut Vec<FieldProblem>) {
    let p = |rest: &[&str]| -> Vec<String> {
        path.iter()
            .cloned()
            .chain(rest.iter().map(|s| (*s).to_owned()))
            .collect()
    };
    let too_long = |rest: &[&str], max: usize| FieldProblem {
        path: p(rest),
        code: "BASE_TYPE_MAX_LENGTH",
        message: format!("Must be {max} or fewer in length."),
    };
    if rows.len() > ACTION_ROWS_MAX {
        problems.push(too_long(&[], ACTION_ROWS_MAX));
    }
    let mut seen = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let i = i.to_string();
        if row.get("type").and_then(Value::as_u64) != Some(1) {
            problems.push(FieldProblem {
                path: p(&[&i, "type"]),
                code: "UNION_TYPE_CHOICES",
                message: "Value of field \"type\" must be one of (1,).".to_owned(),
            });
            continue;
        }
        let items = arr(row.get("components"));
        if items.len() > ROW_ITEMS_MAX {
            problems.push(too_long(&[&i, "components"], ROW_ITEMS_MAX));
        }
        for (j, c) in items.iter().enumerate() {
            let j = j.to_string();
            if let Some(id) = c.get("custom_id").and_then(Value::as_str) {
                if id.chars().count() > CUSTOM_ID_MAX {
                    problems.push(too_long(
                        &[&i, "components", &j, "custom_id"],
                        CUSTOM_ID_MAX,
                    ));
                }
                if !seen.insert(id.to_owned()) {
                    problems.push(FieldProblem {
                        path: p(&[&i, "components", &j, "custom_id"]),
                        code: "COMPONENT_CUSTOM_ID_DUPLICATED",
                        message: "Component custom id cannot be duplicated".to_owned(),
                    });
                }
            } else if c.get("type").and_then(Value::as_u64) == Some(2)
                && c.get("style").and_then(Value::as_u64) != Some(5)
            {
                problems.push(FieldProblem {
                    path: p(&[&i, "components", &j, "custom_id"]),
                    code: "BASE_TYPE_REQUIRED",
                    message: "This field is required".to_owned(),
                });
            }
            if len(c.get("label")) > BUTTON_LABEL_MAX {
                problems.push(too_long(&[&i, "components", &j, "label"], BUTTON_LABEL_MAX));
            }
            if arr(c.get("options")).len() > SELECT_OPTIONS_MAX {
                problems.push(too_long(
                    &[&i, "components", &j, "options"],
                    SELECT_OPTIONS_MAX,
                ));
            }
        }
    }
}

/// Is there anything to show? (Discord refuses empty messages with 50006.)
pub fn has_payload(body: &Value, files: usize) -> bool {
    files > 0
        || len(body.get("content")) > 0
        || !arr(body.get("embeds")).is_empty()
        || !arr(body.get("components")).is_empty()
        || !arr(body.get("sticker_ids")).is_empty()
        || body.get("poll").is_some_and(|p| !p.is_null())
}

/// Autocomplete result (callback type 8).
pub fn check_choices(data: &Value) -> Result<(), DiscordError> {
    let mut problems = Vec::new();
    let choices = arr(data.get("choices"));
    if choices.len() > CHOICES_MAX {
        problems.push(FieldProblem::too_long(&["data", "choices"], CHOICES_MAX));
    }
    for (i, c) in choices.iter().enumerate() {
        let i = i.to_string();
        let name = len(c.get("name"));
        if name == 0 {
            problems.push(FieldProblem::required(&["data", "choices", &i, "name"]));
        } else if name > CHOICE_NAME_MAX {
            problems.push(FieldProblem::too_long(
                &["data", "choices", &i, "name"],
                CHOICE_NAME_MAX,
            ));
        }
        match c.get("value") {
            None | Some(Value::Null) => {
                problems.push(FieldProblem::required(&["data", "choices", &i, "value"]))
            }
            Some(Value::String(s)) if s.chars().count() > CHOICE_NAME_MAX => problems.push(
                FieldProblem::too_long(&["data", "choices", &i, "value"], CHOICE_NAME_MAX),
            ),
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DiscordError::invalid_form(&problems))
    }
}

/// Modal (callback type 9).
pub fn check_modal(data: &Value) -> Result<(), DiscordError> {
    let mut problems = Vec::new();
    let title = len(data.get("title"));
    if title == 0 {
        problems.push(FieldProblem::required(&["data", "title"]));
    } else if title > MODAL_TITLE_MAX {
        problems.push(FieldProblem::too_long(&["data", "title"], MODAL_TITLE_MAX));
    }
    let id = len(data.get("custom_id"));
    if id == 0 {
        problems.push(FieldProblem::required(&["data", "custom_id"]));
    } else if id > CUSTOM_ID_MAX {
        problems.push(FieldProblem::too_long(
            &["data", "custom_id"],
            CUSTOM_ID_MAX,
        ));
    }
    let rows = arr(data.get("components"));
    if rows.is_empty() {
        problems.push(FieldProblem::required(&["data", "components"]));
    } else if rows.len() > ACTION_ROWS_MAX {
        problems.push(FieldProblem::too_long(
            &["data", "components"],
            ACTION_ROWS_MAX,
        ));
    }
    for (i, row) in rows.iter().enumerate() {
        let i = i.to_string();
        for (j, c) in arr(row.get("components")).iter().enumerate() {
            let j = j.to_string();
            let p = |k: &str| ["data", "components", &i, "components", &j, k].map(str::to_owned);
            let label = len(c.get("label"));
            if label > TEXT_INPUT_LABEL_MAX {
                problems.push(FieldProblem {
                    path: p("label").to_vec(),
                    code: "BASE_TYPE_MAX_LENGTH",
                    message: format!("Must be {TEXT_INPUT_LABEL_MAX} or fewer in length."),
                });
            }
            if len(c.get("value")) > TEXT_INPUT_VALUE_MAX {
                problems.push(FieldProblem {
                    path: p("value").to_vec(),
                    code: "BASE_TYPE_MAX_LENGTH",
                    message: format!("Must be {TEXT_INPUT_VALUE_MAX} or fewer in length."),
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DiscordError::invalid_form(&problems))
    }
}

fn valid_chat_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=COMMAND_NAME_MAX).contains(&n)
        && name
            .chars()
            .all(|c| c == '-' || c == '_' || (c.is_alphanumeric() && !c.is_uppercase()))
}

/// A bulk overwrite of application commands (`PUT .../commands`).
pub fn check_commands(commands: &[Value], global: bool) -> Result<(), DiscordError> {
    let mut problems = Vec::new();
    if global && commands.len() > GLOBAL_COMMANDS_MAX {
        problems.push(FieldProblem::too_long(&[], GLOBAL_COMMANDS_MAX));
    }
    let mut names = HashSet::new();
    for (i, cmd) in commands.iter().enumerate() {
        let i = i.to_string();
        let kind = cmd.get("type").and_then(Value::as_u64).unwrap_or(1);
        let name = cmd.get("name").and_then(Value::as_str).unwrap_or("");
        if !names.insert((kind, name.to_owned())) {
            problems.push(FieldProblem::new(
                &[&i, "name"],
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                format!("Application command names must be unique ({name})"),
            ));
        }
        if kind == 1 {
            check_named(cmd, &[&i], &mut problems);
            check_options(arr(cmd.get("options")), &[&i, "options"], 0, &mut problems);
        } else if name.is_empty() || name.chars().count() > COMMAND_NAME_MAX {
            problems.push(FieldProblem::new(
                &[&i, "name"],
                "APPLICATION_COMMAND_INVALID_NAME",
                format!("Command name is invalid ({name:?})"),
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DiscordError::invalid_form(&problems))
    }
}

fn check_named(v: &Value, path: &[&str], problems: &mut Vec<FieldProblem>) {
    let name = v.get("name").and_then(Value::as_str).unwrap_or("");
    let mut at = path.to_vec();
    at.push("name");
    if !valid_chat_name(name) {
        problems.push(FieldProblem::new(
            &at,
            "APPLICATION_COMMAND_INVALID_NAME",
            format!("Command name is invalid ({name:?}: lowercase letters, digits, - and _, 1-32)"),
        ));
    }
    let d = len(v.get("description"));
    at.pop();
    at.push("description");
    if d == 0 {
        problems.push(FieldProblem::required(&at));
    } else if d > COMMAND_DESCRIPTION_MAX {
        problems.push(FieldProblem::too_long(&at, COMMAND_DESCRIPTION_MAX));
    }
}

fn check_options(opts: &[Value], path: &[&str], depth: u8, problems: &mut Vec<FieldProblem>) {
    if opts.len() > COMMAND_OPTIONS_MAX {
        problems.push(FieldProblem::too_long(path, COMMAND_OPTIONS_MAX));
    }
    let mut seen_optional = false;
    let mut names = HashSet::new();
    for (i, o) in opts.iter().enumerate() {
        let i = i.to_string();
        let mut at = path.to_vec();
        at.push(&i);
        check_named(o, &at, problems);
        let name = o.get("name").and_then(Value::as_str).unwrap_or("");
        if !names.insert(name.to_owned()) {
            let mut p = at.clone();
            p.push("name");
            problems.push(FieldProblem::new(
                &p,
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                format!("Option name {name} is already used in these options"),
            ));
        }
        let kind = o.get("type").and_then(Value::as_u64).unwrap_or(0);
        if matches!(kind, 1 | 2) {
            if depth >= 2 || (kind == 2 && depth >= 1) {
                let mut p = at.clone();
                p.push("type");
                problems.push(FieldProblem::new(
                    &p,
                    "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                    "Sub-command nested too deeply",
                ));
            }
            let mut p = at.clone();
            p.push("options");
            check_options(arr(o.get("options")), &p, depth + 1, problems);
            continue;
        }
        let required = o.get("required").and_then(Value::as_bool).unwrap_or(false);
        if required && seen_optional {
            problems.push(FieldProblem::new(
                &at,
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            ));
        }
        seen_optional |= !required;
        let choices = arr(o.get("choices"));
        if choices.len() > CHOICES_MAX {
            let mut p = at.clone();
            p.push("choices");
            problems.push(FieldProblem::too_long(&p, CHOICES_MAX));
        }
        if !choices.is_empty() && o.get("autocomplete").and_then(Value::as_bool) == Some(true) {
            problems.push(FieldProblem::new(
                &at,
                "APPLICATION_COMMAND_OPTION_CHOICES_AUTOCOMPLETE",
                "Autocomplete cannot be set with choices",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn message_limits() {
        assert!(check_message(&json!({"content": "x".repeat(2000)}), &[]).is_ok());
        let e = check_message(&json!({"content": "é".repeat(2001)}), &[]).unwrap_err();
        assert_eq!(e.code, 50035);
        assert!(e.body()["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH");

        let big_field = json!({"name": "n", "value": "v".repeat(1025)});
        let e =
            check_message(&json!({"embeds": [{"fields": [big_field]}]}), &["data"]).unwrap_err();
        assert!(e.body()["errors"]["data"]["embeds"]["0"]["fields"]["0"]["value"].is_object());

        let many: Vec<_> = (0..26)
            .map(|i| json!({"name": i.to_string(), "value": "v"}))
            .collect();
        assert!(check_message(&json!({"embeds": [{"fields": many}]}), &[]).is_err());

        let four = json!({"description": "d".repeat(4000)});
        let e = check_message(&json!({"embeds": [four, four]}), &[]).unwrap_err();
        assert_eq!(
            e.body()["errors"]["embeds"]["_errors"][0]["code"],
            "MAX_EMBED_SIZE_EXCEEDED"
        );

        let eleven: Vec<_> = (0..11).map(|_| json!({"title": "t"})).collect();
        assert!(check_message(&json!({"embeds": eleven}), &[]).is_err());
        assert!(check_message(&json!({"embeds": [{"title": "t".repeat(257)}]}), &[]).is_err());
    }

    #[test]
    fn duplicate_custom_ids_refused() {
        let row = json!({"type": 1, "components": [
            {"type": 2, "style": 1, "label": "a", "custom_id": "x"},
            {"type": 2, "style": 1, "label": "b", "custom_id": "x"}]});
        assert!(check_message(&json!({"components": [row]}), &[]).is_err());
    }

    #[test]
    fn command_names_and_descriptions() {
        let ok = json!([{"name": "roll", "description": "Roll dice", "options": [
            {"type": 3, "name": "dice", "description": "d", "required": true},
            {"type": 4, "name": "times", "description": "t"}]}]);
        assert!(check_commands(ok.as_array().unwrap(), true).is_ok());
        let bad = json!([{"name": "Roll", "description": ""}]);
        let e = check_commands(bad.as_array().unwrap(), true).unwrap_err();
        let errs = &e.body()["errors"]["0"];
        assert!(errs["name"].is_object() && errs["description"].is_object());
        let order = json!([{"name": "r", "description": "d", "options": [
            {"type": 3, "name": "a", "description": "d"},
            {"type": 3, "name": "b", "description": "d", "required": true}]}]);
        assert!(check_commands(order.as_array().unwrap(), true).is_err());
    }
}
