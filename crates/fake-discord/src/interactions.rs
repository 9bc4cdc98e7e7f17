//! The interaction lifecycle. Inbound: building INTERACTION_CREATE payloads the way a Discord
//! client would, from the commands the bot registered (so option types and subcommands match),
//! from a message's components, or from a modal the bot opened. Outbound: the first callback
//! (3 s deadline, once only) and the webhook follow-ups and edits (token valid 15 min).

use serde_json::{Map, Value, json};

use crate::config::ALL_PERMISSIONS;
use crate::error::{DiscordError, FieldProblem};
use crate::limits;
use crate::model::{Callback, Choice, EPHEMERAL, LOADING, Modal, ModalField};
use crate::snowflake::{ChannelId, InteractionId, MessageId, RoleId, UserId};
use crate::state::{ChannelPlace, NewMessage, State, UploadedFile, allowed_flags};

/// What a test asked for, in Discord-client terms.
pub(crate) enum Invocation<'a> {
    Slash {
        command: &'a str,
        options: &'a [(&'a str, &'a str)],
    },
    Autocomplete {
        command: &'a str,
        options: &'a [(&'a str, &'a str)],
        focused: &'a str,
    },
}

impl State {
    /// Registered chat-input command by name, guild scope first. `Err` says what is registered.
    pub fn find_command(&self, name: &str, channel: ChannelId) -> Result<Value, String> {
        let in_guild = self.channel_guild(channel).is_some();
        let scopes: Vec<Option<crate::snowflake::GuildId>> = if in_guild {
            vec![Some(self.guild_id()), None]
        } else {
            vec![None]
        };
        for scope in scopes {
            let found = self.commands.get(&scope).and_then(|cmds| {
                cmds.iter().find(|c| {
                    c.get("name").and_then(Value::as_str) == Some(name)
                        && c.get("type").and_then(Value::as_u64).unwrap_or(1) == 1
                })
            });
            if let Some(c) = found {
                if !in_guild && c.get("dm_permission").and_then(Value::as_bool) == Some(false) {
                    return Err(format!(
                        "/{name} is not available in DMs (dm_permission false)"
                    ));
                }
                return Ok(c.clone());
            }
        }
        let registered: Vec<String> = self
            .commands
            .iter()
            .flat_map(|(scope, cmds)| {
                cmds.iter().map(move |c| {
                    let n = c.get("name").and_then(Value::as_str).unwrap_or("?");
                    match scope {
                        Some(_) => format!("/{n} (guild)"),
                        None => format!("/{n} (global)"),
                    }
                })
            })
            .collect();
        Err(format!(
            "the bot has not registered /{name}{}; registered: [{}]",
            if in_guild {
                ""
            } else {
                " globally (needed in DMs)"
            },
            registered.join(", ")
        ))
    }

    /// Builds, records and dispatches a command or autocomplete interaction.
    pub fn invoke(
        &mut self,
        user: UserId,
        channel: ChannelId,
        inv: Invocation<'_>,
    ) -> Result<InteractionId, String> {
        self.check_user_in_channel(user, channel)?;
        let (path, options, focused, kind) = match inv {
            Invocation::Slash { command, options } => (command, options, None, 2),
            Invocation::Autocomplete {
                command,
                options,
                focused,
            } => (command, options, Some(focused), 4),
        };
        let mut parts = path.split_whitespace();
        let name = parts.next().ok_or("empty command")?;
        let sub_path: Vec<&str> = parts.collect();
        let command = self.find_command(name, channel)?;
        let mut resolved = Map::new();
        let opts = self.build_options(
            &command,
            &format!("/{name}"),
            &sub_path,
            options,
            focused,
            &mut resolved,
        )?;
        let mut data = json!({
            "id": command["id"],
            "name": name,
            "type": 1,
            "options": opts,
        });
        if let Some(g) = command.get("guild_id").filter(|g| !g.is_null()) {
            data["guild_id"] = g.clone();
        }
        if !resolved.is_empty() {
            data["resolved"] = Value::Object(resolved);
        }
        let label = {
            let args: Vec<String> = options.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            let verb = if kind == 4 { "autocomplete " } else { "" };
            format!("{verb}/{path} {}", args.join(" "))
                .trim_end()
                .to_owned()
        };
        let (id, _) = self.new_interaction(kind, user, channel, label);
        let payload = self.interaction_json(id, data, None);
        self.dispatch_interaction(id, payload);
        Ok(id)
    }

    pub fn check_user_in_channel(&self, user: UserId, channel: ChannelId) -> Result<(), String> {
        if !self.users.contains_key(&user) {
            return Err(format!("unknown user {user}"));
        }
        match self.channels.get(&channel).map(|c| c.place) {
            None => Err(format!("unknown channel {channel}")),
            Some(ChannelPlace::Dm(u)) if u != user => Err(format!(
                "channel {channel} is the DM channel of {u}, not of {user}"
            )),
            Some(_) => Ok(()),
        }
    }

    /// Options of `def` (a command or subcommand) for the remaining subcommand path.
    fn build_options(
        &self,
        def: &Value,
        label: &str,
        sub_path: &[&str],
        given: &[(&str, &str)],
        focused: Option<&str>,
        resolved: &mut Map<String, Value>,
    ) -> Result<Vec<Value>, String> {
        let defs = def
            .get("options")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let subs: Vec<&Value> = defs
            .iter()
            .filter(|o| matches!(o.get("type").and_then(Value::as_u64), Some(1 | 2)))
            .collect();
        let names = |list: &[&Value]| -> String {
            list.iter()
                .filter_map(|o| o.get("name").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some((first, rest)) = sub_path.split_first() {
            let sub = subs
                .iter()
                .find(|o| o.get("name").and_then(Value::as_str) == Some(first))
                .ok_or_else(|| {
                    format!(
                        "{label} has no subcommand {first:?}; it has [{}]",
                        names(&subs)
                    )
                })?;
            let inner = self.build_options(
                sub,
                &format!("{label} {first}"),
                rest,
                given,
                focused,
                resolved,
            )?;
            return Ok(vec![
                json!({"type": sub["type"], "name": first, "options": inner}),
            ]);
        }
        if !subs.is_empty() {
            return Err(format!(
                "{label} needs a subcommand: one of [{}]",
                names(&subs)
            ));
        }
        for (name, _) in given {
            if !defs
                .iter()
                .any(|o| o.get("name").and_then(Value::as_str) == Some(name))
            {
                let all: Vec<&Value> = defs.iter().collect();
                return Err(format!(
                    "{label} has no option {name:?}; it has [{}]",
                    names(&all)
                ));
            }
        }
        let mut out = Vec::new();
        for o in &defs {
            let name = o.get("name").and_then(Value::as_str).unwrap_or("");
            let kind = o.get("type").and_then(Value::as_u64).unwrap_or(3);
            let raw = given.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            if focused == Some(name) {
                if o.get("autocomplete").and_then(Value::as_bool) != Some(true) {
                    return Err(format!(
                        "{label} option {name:?} was not registered with autocomplete"
                    ));
                }
                out.push(json!({"type": kind, "name": name, "value": raw.unwrap_or(""), "focused": true}));
                continue;
            }
            let Some(raw) = raw else {
                if focused.is_none() && o.get("required").and_then(Value::as_bool) == Some(true) {
                    return Err(format!("{label} requires option {name:?}"));
                }
                continue;
            };
            let value = self
                .convert_option(o, raw, resolved)
                .map_err(|e| format!("{label} option {name}: {e}"))?;
            out.push(json!({"type": kind, "name": name, "value": value}));
        }
        if let Some(f) = focused
            && !out.iter().any(|o| o["name"] == f)
        {
            return Err(format!("{label} has no option {f:?} to focus"));
        }
        Ok(out)
    }

    /// Turns what a user typed into the option's wire value, as the Discord client would
    /// (choices by name or value, numbers parsed and range-checked, users/channels/roles by
    /// name or id, added to `resolved`).
    fn convert_option(
        &self,
        def: &Value,
        raw: &str,
        resolved: &mut Map<String, Value>,
    ) -> Result<Value, String> {
        let kind = def.get("type").and_then(Value::as_u64).unwrap_or(3);
        if let Some(choices) = def
            .get("choices")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
        {
            let hit = choices.iter().find(|c| {
                c.get("name").and_then(Value::as_str) == Some(raw)
                    || match &c["value"] {
                        Value::String(s) => s == raw,
                        v => v.as_f64().is_some() && raw.trim().parse::<f64>().ok() == v.as_f64(),
                    }
            });
            return match hit {
                Some(c) => Ok(c["value"].clone()),
                None => Err(format!(
                    "{raw:?} is not one of the registered choices [{}]",
                    choices
                        .iter()
                        .filter_map(|c| c.get("name").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            };
        }
        let min = def.get("min_value").and_then(Value::as_f64);
        let max = def.get("max_value").and_then(Value::as_f64);
        let in_range = |x: f64| -> Result<(), String> {
            if min.is_some_and(|m| x < m) || max.is_some_and(|m| x > m) {
                Err(format!("{x} is outside [{min:?}, {max:?}]"))
            } else {
                Ok(())
            }
        };
        let id_of = |s: &str, prefix: &str| -> Option<u64> {
            let s = s.trim();
            let s = s
                .strip_prefix(prefix)
                .and_then(|s| s.strip_suffix('>'))
                .unwrap_or(s);
            s.trim_start_matches('!')
                .trim_start_matches('&')
                .parse()
                .ok()
        };
        match kind {
            3 => {
                let n = raw.chars().count() as u64;
                let min_len = def.get("min_length").and_then(Value::as_u64).unwrap_or(0);
                let max_len = def
                    .get("max_length")
                    .and_then(Value::as_u64)
                    .unwrap_or(6000);
                if n < min_len || n > max_len {
                    return Err(format!("length {n} is outside [{min_len}, {max_len}]"));
                }
                Ok(json!(raw))
            }
            4 => {
                let x: i64 = raw
                    .trim()
                    .parse()
                    .map_err(|_| format!("{raw:?} is not an integer"))?;
                in_range(x as f64)?;
                Ok(json!(x))
            }
            10 => {
                let x: f64 = raw
                    .trim()
                    .parse()
                    .map_err(|_| format!("{raw:?} is not a number"))?;
                in_range(x)?;
                Ok(json!(x))
            }
            5 => match raw.trim() {
                "true" | "True" | "yes" => Ok(json!(true)),
                "false" | "False" | "no" => Ok(json!(false)),
                _ => Err(format!("{raw:?} is not a boolean")),
            },
            6 | 9 => {
                let user = id_of(raw, "<@")
                    .map(UserId)
                    .filter(|u| self.users.contains_key(u))
                    .or_else(|| {
                        self.users
                            .values()
                            .find(|u| u.user.name == raw)
                            .map(|u| u.user.id)
                    });
                if let Some(u) = user {
                    insert(resolved, "users", u.to_json(), self.user_json(u));
                    if self.users.contains_key(&u) {
                        let mut m = self.member_json(u, true);
                        if let Some(obj) = m.as_object_mut() {
                            obj.remove("user");
                        }
                        insert(resolved, "members", u.to_json(), m);
                    }
                    return Ok(u.to_json());
                }
                if kind == 9
                    && let Some(r) = self.find_role(raw, id_of(raw, "<@&"))
                {
                    let role = self.roles_json()[r].clone();
                    insert(resolved, "roles", role["id"].clone(), role.clone());
                    return Ok(role["id"].clone());
                }
                Err(format!("no user {raw:?}"))
            }
            7 => {
                let id = id_of(raw, "<#")
                    .map(ChannelId)
                    .filter(|c| self.channels.contains_key(c));
                let id = id.or_else(|| {
                    self.channels
                        .values()
                        .find(|c| c.name == raw.trim_start_matches('#'))
                        .map(|c| c.id)
                });
                let id = id.ok_or_else(|| format!("no channel {raw:?}"))?;
                let chan = self.interaction_channel_json(id);
                if let Some(types) = def.get("channel_types").and_then(Value::as_array)
                    && !types.is_empty()
                    && !types.contains(&chan["type"])
                {
                    return Err(format!("channel {raw:?} is not of types {types:?}"));
                }
                let partial = json!({
                    "id": chan["id"], "name": chan["name"], "type": chan["type"],
                    "permissions": chan["permissions"],
                });
                insert(resolved, "channels", id.to_json(), partial);
                Ok(id.to_json())
            }
            8 => {
                let r = self
                    .find_role(raw, id_of(raw, "<@&"))
                    .ok_or_else(|| format!("no role {raw:?}"))?;
                let role = self.roles_json()[r].clone();
                insert(resolved, "roles", role["id"].clone(), role.clone());
                Ok(role["id"].clone())
            }
            11 => {
                let id = self.interactions.len() as u64 + 1_000;
                let att = json!({
                    "id": id.to_string(), "filename": raw, "size": 0,
                    "url": format!("{}/attachments/0/{id}/{raw}", self.rest_url),
                    "proxy_url": format!("{}/attachments/0/{id}/{raw}", self.rest_url),
                });
                insert(resolved, "attachments", json!(id.to_string()), att);
                Ok(json!(id.to_string()))
            }
            k => Err(format!("option type {k} is not supported by the fake")),
        }
    }

    fn find_role(&self, raw: &str, id: Option<u64>) -> Option<usize> {
        self.roles.iter().position(|r| {
            Some(r.id) == id.map(RoleId)
                || r.name.trim_start_matches('@') == raw.trim_start_matches('@')
        })
    }

    /// The INTERACTION_CREATE `d` for a recorded interaction.
    pub fn interaction_json(
        &self,
        id: InteractionId,
        data: Value,
        message: Option<Value>,
    ) -> Value {
        let r = &self.interactions[&id];
        let mut v = json!({
            "id": id.to_json(),
            "application_id": self.bot_id().to_json(),
            "type": r.kind,
            "token": r.token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {},
            "attachment_size_limit": 26_214_400,
            "channel_id": r.channel.to_json(),
            "channel": self.interaction_channel_json(r.channel),
            "app_permissions": ALL_PERMISSIONS.to_string(),
            "data": data,
        });
        match r.guild {
            Some(g) => {
                v["guild_id"] = g.to_json();
                v["guild_locale"] = json!("en-US");
                v["member"] = self.member_json(r.user, true);
                v["context"] = json!(0);
                v["authorizing_integration_owners"] = json!({"0": g.to_json()});
            }
            None => {
                v["user"] = self.user_json(r.user);
                v["context"] = json!(1);
            }
        }
        if let Some(m) = message {
            v["message"] = m;
        }
        v
    }

    /// Builds, records and dispatches a component interaction (button click or select).
    pub fn component_interaction(
        &mut self,
        user: UserId,
        message: MessageId,
        custom_id: &str,
        values: Option<&[&str]>,
        forged: bool,
    ) -> Result<InteractionId, String> {
        let m = self
            .messages
            .get(&message)
            .filter(|m| !m.deleted)
            .ok_or_else(|| format!("message {message} does not exist (or was deleted)"))?
            .clone();
        if m.is_ephemeral() {
            let owner = m
                .interaction
                .and_then(|i| self.interactions.get(&i))
                .map(|i| i.user);
            if owner != Some(user) {
                return Err(format!(
                    "message {message} is ephemeral and not visible to {user}"
                ));
            }
        }
        let forged_button = serde_json::json!({"type": 2, "custom_id": custom_id});
        let c = match m.component(custom_id) {
            Some(c) => c,
            // A modified client can send any custom id for a message's button.
            None if forged => &forged_button,
            None => {
                return Err(format!(
                    "message {message} has no component {custom_id:?}; it has {:?}",
                    m.custom_ids()
                ));
            }
        };
        let ctype = c.get("type").and_then(Value::as_u64).unwrap_or(0);
        if c.get("disabled").and_then(Value::as_bool) == Some(true) {
            return Err(format!("component {custom_id:?} is disabled"));
        }
        let mut data = json!({"custom_id": custom_id, "component_type": ctype});
        match (ctype, values) {
            (2, None) => {}
            (3, Some(values)) => {
                let options = c
                    .get("options")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for v in values {
                    if !options
                        .iter()
                        .any(|o| o.get("value").and_then(Value::as_str) == Some(v))
                    {
                        return Err(format!("select {custom_id:?} has no option value {v:?}"));
                    }
                }
                let min = c.get("min_values").and_then(Value::as_u64).unwrap_or(1) as usize;
                let max = c.get("max_values").and_then(Value::as_u64).unwrap_or(1) as usize;
                if values.len() < min || values.len() > max {
                    return Err(format!("select {custom_id:?} takes {min}..={max} values"));
                }
                data["values"] = json!(values);
            }
            (2, Some(_)) => return Err(format!("{custom_id:?} is a button: use click")),
            (3, None) => return Err(format!("{custom_id:?} is a select menu: use select")),
            (t, _) => return Err(format!("component type {t} is not supported by the fake")),
        }
        let verb = if ctype == 2 { "click" } else { "select" };
        let (id, _) = self.new_interaction(3, user, m.channel_id, format!("{verb} {custom_id}"));
        if let Some(r) = self.interactions.get_mut(&id) {
            r.source_message = Some(message);
        }
        let payload = self.interaction_json(id, data, Some(self.message_json(&m)));
        self.dispatch_interaction(id, payload);
        Ok(id)
    }

    /// Builds, records and dispatches a modal submit for the latest open modal with `custom_id`.
    pub fn modal_submit(
        &mut self,
        user: UserId,
        custom_id: &str,
        fields: &[(&str, &str)],
    ) -> Result<InteractionId, String> {
        let opener = self
            .interactions
            .values()
            .rev()
            .find(|r| {
                !r.modal_submitted && r.modal.as_ref().is_some_and(|m| m.custom_id == custom_id)
            })
            .ok_or_else(|| {
                let open: Vec<String> = self
                    .interactions
                    .values()
                    .filter_map(|r| r.modal.as_ref())
                    .map(|m| m.custom_id.clone())
                    .collect();
                format!("the bot opened no modal {custom_id:?} (modals opened: {open:?})")
            })?;
        let modal = opener.modal.clone().expect("filtered on modal");
        let (opener_id, source) = (opener.id, opener.source_message);
        if modal.user != user {
            return Err(format!(
                "modal {custom_id:?} was shown to {}, not {user}",
                modal.user
            ));
        }
        // A test may name a field by custom_id or by the label the user sees.
        let names = |f: &ModalField, n: &str| f.custom_id == n || f.label == n;
        for (name, _) in fields {
            if !modal.fields.iter().any(|f| names(f, name)) {
                let ids: Vec<String> = modal
                    .fields
                    .iter()
                    .map(|f| format!("{} ({:?})", f.custom_id, f.label))
                    .collect();
                return Err(format!(
                    "modal {custom_id:?} has no field {name:?}; it has {ids:?}"
                ));
            }
        }
        let mut rows = Vec::new();
        for f in &modal.fields {
            let value = fields
                .iter()
                .find(|(n, _)| names(f, n))
                .map(|(_, v)| (*v).to_owned())
                .or_else(|| f.value.clone())
                .unwrap_or_default();
            let n = value.chars().count() as u64;
            if f.required && n == 0 {
                return Err(format!("modal field {:?} is required", f.custom_id));
            }
            if n > 0 && (f.min_length.is_some_and(|m| n < m) || f.max_length.is_some_and(|m| n > m))
            {
                return Err(format!(
                    "modal field {:?}: length {n} out of range",
                    f.custom_id
                ));
            }
            rows.push(json!({"type": 1, "components": [
                {"type": 4, "custom_id": f.custom_id, "value": value}
            ]}));
        }
        if let Some(r) = self.interactions.get_mut(&opener_id) {
            r.modal_submitted = true;
        }
        let (id, _) =
            self.new_interaction(5, user, modal.channel, format!("submit modal {custom_id}"));
        if let Some(r) = self.interactions.get_mut(&id) {
            r.source_message = source;
        }
        let message = source
            .and_then(|s| self.messages.get(&s))
            .map(|m| self.message_json(m));
        let data = json!({"custom_id": custom_id, "components": rows});
        let payload = self.interaction_json(id, data, message);
        self.dispatch_interaction(id, payload);
        Ok(id)
    }

    // ----- the bot's side ---------------------------------------------------------------------

    /// `POST /interactions/{id}/{token}/callback`.
    pub fn interaction_callback(
        &mut self,
        id: &str,
        token: &str,
        body: &Value,
        files: Vec<UploadedFile>,
    ) -> Result<(), DiscordError> {
        let id = id
            .parse()
            .map(InteractionId)
            .map_err(|_| DiscordError::unknown_interaction())?;
        let r = self
            .interactions
            .get(&id)
            .filter(|r| r.token == token)
            .ok_or_else(DiscordError::unknown_interaction)?;
        if r.callback.is_some() {
            return Err(DiscordError::already_acknowledged());
        }
        let latency = r.created.elapsed();
        if latency > self.config.ack_deadline {
            return Err(DiscordError::unknown_interaction());
        }
        let (ikind, channel, user, source) = (r.kind, r.channel, r.user, r.source_message);
        let kind = body.get("type").and_then(Value::as_u64).unwrap_or(0) as u8;
        let data = body.get("data").cloned().unwrap_or(Value::Null);
        let allowed: &[u8] = match ikind {
            2 => &[4, 5, 9],
            3 => &[4, 5, 6, 7, 9],
            4 => &[8],
            _ if source.is_some() => &[4, 5, 6, 7],
            _ => &[4, 5, 6],
        };
        if !allowed.contains(&kind) {
            return Err(DiscordError::invalid_form(&[FieldProblem::new(
                &["type"],
                "INTERACTION_RESPONSE_TYPE_INVALID",
                format!("Response type {kind} is not valid for interaction type {ikind}"),
            )]));
        }
        let message_kind = if ikind == 2 { 20 } else { 0 };
        let mut original = None;
        let mut choices = None;
        let mut modal = None;
        match kind {
            4 => {
                limits::check_message(&data, &["data"])?;
                if !limits::has_payload(&data, files.len()) {
                    return Err(DiscordError::empty_message());
                }
                original = Some(self.insert_message(NewMessage {
                    channel,
                    author: self.bot_id(),
                    body: &data,
                    files,
                    flags: allowed_flags(&data, true),
                    kind: message_kind,
                    interaction: Some(id),
                }));
            }
            5 => {
                let flags = LOADING | (allowed_flags(&data, true) & EPHEMERAL);
                original = Some(self.insert_message(NewMessage {
                    channel,
                    author: self.bot_id(),
                    body: &json!({}),
                    files: Vec::new(),
                    flags,
                    kind: message_kind,
                    interaction: Some(id),
                }));
            }
            6 => original = source,
            7 => {
                let source = source.expect("type 7 only allowed with a source message");
                limits::check_message(&data, &["data"])?;
                self.apply_edit(source, &data, files)?;
                original = Some(source);
            }
            8 => {
                limits::check_choices(&data)?;
                choices = Some(
                    data.get("choices")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|c| Choice {
                            name: c["name"].as_str().unwrap_or("").to_owned(),
                            value: c["value"].clone(),
                        })
                        .collect(),
                );
            }
            9 => {
                limits::check_modal(&data)?;
                modal = Some(parse_modal(id, user, channel, &data));
            }
            _ => unreachable!("checked against `allowed`"),
        }
        let edits = original
            .and_then(|m| self.messages.get(&m))
            .map_or(0, |m| m.edits);
        let r = self.interactions.get_mut(&id).expect("checked above");
        r.edits_at_callback = edits;
        r.callback = Some(Callback {
            kind,
            data,
            latency,
        });
        r.original = original;
        r.choices = choices;
        r.modal = modal;
        Ok(())
    }

    /// The interaction a webhook route's `{application}/{token}` names.
    fn webhook_interaction(&self, app: &str, token: &str) -> Result<InteractionId, DiscordError> {
        if app != self.bot_id().0.to_string() {
            return Err(DiscordError::unknown_webhook());
        }
        let id = *self
            .tokens
            .get(token)
            .ok_or_else(DiscordError::invalid_webhook_token)?;
        let r = &self.interactions[&id];
        if r.created.elapsed() > self.config.token_lifetime {
            return Err(DiscordError::invalid_webhook_token());
        }
        if r.callback.as_ref().is_none_or(|c| c.kind == 8) {
            // Nothing to follow up or edit before the interaction was acknowledged.
            return Err(DiscordError::unknown_webhook());
        }
        Ok(id)
    }

    /// `POST /webhooks/{app}/{token}`: a follow-up. Right after a deferred (type 5) response
    /// the first follow-up replaces the "thinking" message, as Discord does.
    pub fn create_followup(
        &mut self,
        app: &str,
        token: &str,
        body: &Value,
        files: Vec<UploadedFile>,
    ) -> Result<Value, DiscordError> {
        let id = self.webhook_interaction(app, token)?;
        limits::check_message(body, &[])?;
        if !limits::has_payload(body, files.len()) {
            return Err(DiscordError::empty_message());
        }
        let r = &self.interactions[&id];
        let (channel, original) = (r.channel, r.original);
        if let Some(o) = original.filter(|o| {
            self.messages
                .get(o)
                .is_some_and(|m| m.is_loading() && !m.deleted)
        }) {
            self.apply_edit(o, body, files)?;
            return Ok(self.message_json(&self.messages[&o]));
        }
        let mid = self.insert_message(NewMessage {
            channel,
            author: self.bot_id(),
            body,
            files,
            flags: allowed_flags(body, true),
            kind: 0,
            interaction: Some(id),
        });
        self.interactions
            .get_mut(&id)
            .expect("exists")
            .followups
            .push(mid);
        Ok(self.message_json(&self.messages[&mid]))
    }

    /// `GET|PATCH|DELETE /webhooks/{app}/{token}/messages/{@original|id}`.
    pub fn webhook_message(
        &mut self,
        method: &str,
        app: &str,
        token: &str,
        message: &str,
        body: &Value,
        files: Vec<UploadedFile>,
    ) -> Result<Option<Value>, DiscordError> {
        let id = self.webhook_interaction(app, token)?;
        let r = &self.interactions[&id];
        let target = if message == "@original" {
            r.original
        } else {
            message
                .parse()
                .ok()
                .map(MessageId)
                .filter(|m| r.original == Some(*m) || r.followups.contains(m))
        };
        let target = target
            .filter(|m| self.messages.get(m).is_some_and(|m| !m.deleted))
            .ok_or_else(DiscordError::unknown_message)?;
        match method {
            "GET" => Ok(Some(self.message_json(&self.messages[&target]))),
            "PATCH" => {
                limits::check_message(body, &[])?;
                self.apply_edit(target, body, files)?;
                Ok(Some(self.message_json(&self.messages[&target])))
            }
            "DELETE" => {
                self.delete_message(target);
                Ok(None)
            }
            _ => Err(DiscordError::new(405, 0, "405: Method Not Allowed")),
        }
    }
}

fn insert(resolved: &mut Map<String, Value>, kind: &str, id: Value, v: Value) {
    let key = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
    resolved
        .entry(kind)
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("resolved maps are objects")
        .insert(key, v);
}

fn parse_modal(
    interaction: InteractionId,
    user: UserId,
    channel: ChannelId,
    data: &Value,
) -> Modal {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let fields = data
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|row| row.get("components").and_then(Value::as_array))
        .flatten()
        .filter(|c| c.get("type").and_then(Value::as_u64) == Some(4))
        .map(|c| ModalField {
            custom_id: s(c, "custom_id").unwrap_or_default(),
            label: s(c, "label").unwrap_or_default(),
            style: c.get("style").and_then(Value::as_u64).unwrap_or(1) as u8,
            required: c.get("required").and_then(Value::as_bool).unwrap_or(true),
            value: s(c, "value"),
            min_length: c.get("min_length").and_then(Value::as_u64),
            max_length: c.get("max_length").and_then(Value::as_u64),
        })
        .collect();
    Modal {
        interaction,
        opened_at: tokio::time::Instant::now(),
        user,
        channel,
        custom_id: s(data, "custom_id").unwrap_or_default(),
        title: s(data, "title").unwrap_or_default(),
        fields,
    }
}
