//! The REST API under `/api/v10`: one axum fallback handler that buffers the body (JSON or
//! multipart `payload_json` + `files[n]`), checks `Authorization: Bot <token>`, routes on
//! `(method, path segments)`, answers like Discord, and logs every request with its answer.
//! Unknown routes answer 404 and are flagged `unexpected` so the test fails.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request, State as AxumState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::error::{DiscordError, FieldProblem};
use crate::limits;
use crate::model::LoggedRequest;
use crate::snowflake::{ChannelId, CommandId, GuildId, MessageId, RoleId, UserId, iso8601};
use crate::state::{
    ChannelPlace, NewMessage, RoleEntry, Shared, State, UploadedFile, allowed_flags,
};

const MAX_BODY: usize = 64 << 20;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

enum Reply {
    Json(Value),
    NoContent,
    Bytes(Vec<u8>, Option<String>),
}

enum Refusal {
    Discord(DiscordError),
    UnknownRoute,
}

impl From<DiscordError> for Refusal {
    fn from(e: DiscordError) -> Self {
        Refusal::Discord(e)
    }
}

type Answer = Result<Reply, Refusal>;

struct Body_ {
    json: Value,
    files: Vec<UploadedFile>,
}

async fn handle(AxumState(shared): AxumState<Arc<Shared>>, req: Request) -> Response {
    let at = Instant::now();
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str().to_owned();
    let full_path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let auth = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let parsed = parse_body(&content_type, bytes).await;

    let path = full_path
        .strip_prefix("/api/v10")
        .unwrap_or(&full_path)
        .to_owned();
    // Route and log under one lock, so a test that sees the effect also sees the request.
    let answer = shared.with(|st| {
        let (answer, logged_body, files) = match parsed {
            Ok(b) => {
                let names = b
                    .files
                    .iter()
                    .map(|f| f.filename.clone())
                    .collect::<Vec<_>>();
                let json = (!b.json.is_null()).then(|| b.json.clone());
                let answer = route(
                    st,
                    &method,
                    &full_path,
                    query.as_deref(),
                    auth.as_deref(),
                    b,
                );
                (answer, json, names)
            }
            Err(e) => (Err(Refusal::Discord(e)), None, Vec::new()),
        };
        let (status, response, unexpected) = match &answer {
            Ok(Reply::Json(v)) => (200, Some(v.clone()), false),
            Ok(Reply::NoContent) => (204, None, false),
            Ok(Reply::Bytes(..)) => (200, None, false),
            Err(Refusal::Discord(e)) => (e.status, Some(e.body()), false),
            Err(Refusal::UnknownRoute) => (404, Some(DiscordError::not_found().body()), true),
        };
        st.requests.push(LoggedRequest {
            at,
            method,
            path,
            query,
            body: logged_body,
            files,
            status,
            response,
            unexpected,
        });
        answer
    });
    match answer {
        Ok(Reply::Json(v)) => axum::Json(v).into_response(),
        Ok(Reply::NoContent) => StatusCode::NO_CONTENT.into_response(),
        Ok(Reply::Bytes(data, ct)) => {
            let mut r = Body::from(data).into_response();
            if let Some(ct) = ct.and_then(|c| HeaderValue::from_str(&c).ok()) {
                r.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            r
        }
        Err(refusal) => {
            let e = match refusal {
                Refusal::Discord(e) => e,
                Refusal::UnknownRoute => DiscordError::not_found(),
            };
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, axum::Json(e.body())).into_response()
        }
    }
}

async fn parse_body(content_type: &str, bytes: Bytes) -> Result<Body_, DiscordError> {
    let bad_json = || DiscordError::new(400, 50109, "The request body contains invalid JSON.");
    if content_type.starts_with("multipart/form-data") {
        let req = Request::builder()
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(bytes))
            .map_err(|_| bad_json())?;
        let mut form = Multipart::from_request(req, &())
            .await
            .map_err(|_| bad_json())?;
        let mut out = Body_ {
            json: json!({}),
            files: Vec::new(),
        };
        while let Some(field) = form.next_field().await.map_err(|_| bad_json())? {
            let name = field.name().unwrap_or("").to_owned();
            let filename = field.file_name().map(str::to_owned);
            let ct = field.content_type().map(str::to_owned);
            let data = field.bytes().await.map_err(|_| bad_json())?;
            if name == "payload_json" {
                out.json = serde_json::from_slice(&data).map_err(|_| bad_json())?;
            } else if let Some(index) = name
                .strip_prefix("files[")
                .and_then(|n| n.strip_suffix(']'))
            {
                out.files.push(UploadedFile {
                    index: index.parse().map_err(|_| bad_json())?,
                    filename: filename.unwrap_or_else(|| name.clone()),
                    content_type: ct,
                    data: data.to_vec(),
                });
            }
        }
        Ok(out)
    } else if bytes.is_empty() {
        Ok(Body_ {
            json: Value::Null,
            files: Vec::new(),
        })
    } else {
        let json = serde_json::from_slice(&bytes).map_err(|_| bad_json())?;
        Ok(Body_ {
            json,
            files: Vec::new(),
        })
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn route(
    st: &mut State,
    method: &str,
    full_path: &str,
    query: Option<&str>,
    auth: Option<&str>,
    body: Body_,
) -> Answer {
    let segs: Vec<String> = full_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    if let ["attachments", c, a, _name] = segs.as_slice() {
        return attachment(st, c, a);
    }
    let ["api", "v10", rest @ ..] = segs.as_slice() else {
        return Err(Refusal::UnknownRoute);
    };
    let expected = format!("Bot {}", st.config.token);
    let token_free = matches!(rest.first(), Some(&"webhooks" | &"interactions"));
    match auth {
        Some(a) if a == expected => {}
        None if token_free => {}
        _ => return Err(DiscordError::unauthorized().into()),
    }
    let Body_ { json: body, files } = body;
    let j = Reply::Json;
    match (method, rest) {
        ("GET", ["gateway"]) => Ok(j(st.gateway_json())),
        ("GET", ["gateway", "bot"]) => Ok(j(st.gateway_bot_json())),
        ("GET", ["oauth2", "applications", "@me"] | ["applications", "@me"]) => {
            Ok(j(st.application_json()))
        }
        ("GET", ["users", "@me"]) => Ok(j(st.current_user_json())),
        ("GET", ["users", u]) => {
            let id = parse::<u64>(u)
                .map(UserId)
                .filter(|u| st.users.contains_key(u));
            let id = id.ok_or_else(DiscordError::unknown_user)?;
            Ok(j(st.user_json(id)))
        }
        ("POST", ["users", "@me", "channels"]) => create_dm(st, &body),

        ("GET" | "PUT" | "POST", ["applications", app, "commands"]) => {
            commands(st, method, app, None, None, body)
        }
        ("GET" | "PATCH" | "DELETE", ["applications", app, "commands", c]) => {
            commands(st, method, app, None, Some(c), body)
        }
        ("GET" | "PUT" | "POST", ["applications", app, "guilds", g, "commands"]) => {
            commands(st, method, app, Some(g), None, body)
        }
        ("GET" | "PATCH" | "DELETE", ["applications", app, "guilds", g, "commands", c]) => {
            commands(st, method, app, Some(g), Some(c), body)
        }

        ("POST", ["interactions", id, token, "callback"]) => {
            st.interaction_callback(id, token, &body, files)?;
            Ok(Reply::NoContent)
        }
        ("POST", ["webhooks", app, token]) => Ok(j(st.create_followup(app, token, &body, files)?)),
        ("GET" | "PATCH" | "DELETE", ["webhooks", app, token, "messages", m]) => {
            match st.webhook_message(method, app, token, m, &body, files)? {
                Some(v) => Ok(j(v)),
                None => Ok(Reply::NoContent),
            }
        }

        ("GET", ["channels", c]) => {
            let c = channel(st, c)?;
            Ok(j(st.channel_json(c).expect("channel exists")))
        }
        ("GET", ["channels", c, "messages"]) => list_messages(st, c, query),
        ("POST", ["channels", c, "messages"]) => create_message(st, c, &body, files),
        ("GET" | "PATCH" | "DELETE", ["channels", c, "messages", m]) => {
            let (c, m) = message_in(st, c, m)?;
            match method {
                "GET" => Ok(j(st.message_json(&st.messages[&m]))),
                "PATCH" => {
                    if st.messages[&m].author != st.bot_id() {
                        return Err(DiscordError::not_author().into());
                    }
                    limits::check_message(&body, &[])?;
                    st.apply_edit(m, &body, files)?;
                    Ok(j(st.message_json(&st.messages[&m])))
                }
                _ => {
                    let _ = c;
                    st.delete_message(m);
                    Ok(Reply::NoContent)
                }
            }
        }
        ("PUT" | "DELETE", ["channels", c, "messages", m, "reactions", emoji, "@me"]) => {
            let (_, m) = message_in(st, c, m)?;
            let msg = st.messages.get_mut(&m).expect("exists");
            if method == "PUT" {
                if !msg.reactions.iter().any(|e| e == emoji) {
                    msg.reactions.push((*emoji).to_owned());
                }
            } else {
                msg.reactions.retain(|e| e != emoji);
            }
            Ok(Reply::NoContent)
        }
        ("GET", ["channels", c, "pins"]) => {
            let c = channel(st, c)?;
            let pins = st.channels[&c]
                .pins
                .iter()
                .rev()
                .map(|m| st.message_json(&st.messages[m]));
            Ok(j(pins.collect()))
        }
        ("PUT" | "DELETE", ["channels", c, "pins", m]) => pin(st, method, c, m),
        ("POST", ["channels", c, "typing"]) => {
            channel(st, c)?;
            Ok(Reply::NoContent)
        }

        ("GET", ["guilds", g, rest @ ..]) if !st.is_our_guild(g) => {
            let _ = rest;
            Err(DiscordError::unknown_guild().into())
        }
        ("GET", ["guilds", _]) => Ok(j(st.partial_guild_json())),
        ("GET", ["guilds", _, "channels"]) => Ok(j(st.guild_channels_json().into())),
        ("GET", ["guilds", _, "roles"]) => Ok(j(st.roles_json().into())),
        ("GET", ["guilds", _, "members"]) => Ok(j(st
            .users
            .keys()
            .map(|u| member_with_guild(st, *u))
            .collect())),
        ("GET", ["guilds", _, "members", u]) => {
            let u = parse::<u64>(u)
                .map(UserId)
                .filter(|u| st.users.contains_key(u));
            let u = u.ok_or_else(DiscordError::unknown_member)?;
            Ok(j(member_with_guild(st, u)))
        }
        ("POST", ["guilds", g, "roles"]) if st.is_our_guild(g) => create_role(st, &body),
        ("PUT" | "DELETE", ["guilds", g, "members", u, "roles", r]) if st.is_our_guild(g) => {
            member_role(st, method, u, r)
        }
        _ => Err(Refusal::UnknownRoute),
    }
}

fn parse<T: std::str::FromStr>(s: &str) -> Option<T> {
    s.parse().ok()
}

fn attachment(st: &State, c: &str, a: &str) -> Answer {
    let (c, a) = (parse::<u64>(c), parse::<u64>(a));
    let found = st
        .messages
        .values()
        .filter(|m| Some(m.channel_id.0) == c)
        .flat_map(|m| &m.attachments)
        .find(|att| Some(att.id.0) == a)
        .ok_or_else(DiscordError::not_found)?;
    Ok(Reply::Bytes(found.data.clone(), found.content_type.clone()))
}

fn channel(st: &State, c: &str) -> Result<ChannelId, DiscordError> {
    parse::<u64>(c)
        .map(ChannelId)
        .filter(|c| st.channels.contains_key(c))
        .ok_or_else(DiscordError::unknown_channel)
}

fn message_in(st: &State, c: &str, m: &str) -> Result<(ChannelId, MessageId), DiscordError> {
    let c = channel(st, c)?;
    let m = parse::<u64>(m)
        .map(MessageId)
        .filter(|m| {
            st.messages
                .get(m)
                .is_some_and(|m| m.channel_id == c && !m.deleted)
        })
        .ok_or_else(DiscordError::unknown_message)?;
    Ok((c, m))
}

fn member_with_guild(st: &State, u: UserId) -> Value {
    let mut m = st.member_json(u, false);
    m["guild_id"] = st.guild_id().to_json();
    m
}

fn create_dm(st: &mut State, body: &Value) -> Answer {
    let recipient = match &body["recipient_id"] {
        Value::String(s) => parse::<u64>(s),
        v => v.as_u64(),
    }
    .map(UserId)
    .filter(|u| st.users.contains_key(u) && *u != st.bot_id())
    .ok_or_else(DiscordError::unknown_user)?;
    let c = st.dm_channel(recipient);
    Ok(Reply::Json(st.channel_json(c).expect("just created")))
}

fn create_message(st: &mut State, c: &str, body: &Value, files: Vec<UploadedFile>) -> Answer {
    let c = channel(st, c)?;
    match st.channels[&c].place {
        ChannelPlace::Dm(u) => {
            let open = st.users.get(&u).is_some_and(|u| u.dms_open && !u.user.bot);
            if !open {
                return Err(DiscordError::cannot_dm().into());
            }
        }
        ChannelPlace::Guild(_) => {
            if !st.channels[&c].bot_can_send {
                return Err(DiscordError::missing_permissions().into());
            }
        }
    }
    limits::check_message(body, &[])?;
    if !limits::has_payload(body, files.len()) {
        return Err(DiscordError::empty_message().into());
    }
    let mut kind = 0;
    if let Some(r) = body.get("message_reference").filter(|r| !r.is_null()) {
        let target = match &r["message_id"] {
            Value::String(s) => parse::<u64>(s),
            v => v.as_u64(),
        }
        .map(MessageId);
        let exists = target.is_some_and(|t| st.messages.get(&t).is_some_and(|m| !m.deleted));
        if !exists && r["fail_if_not_exists"].as_bool() != Some(false) {
            return Err(DiscordError::invalid_form(&[FieldProblem::new(
                &["message_reference"],
                "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                "Unknown message",
            )])
            .into());
        }
        kind = 19;
    }
    let id = st.insert_message(NewMessage {
        channel: c,
        author: st.bot_id(),
        body,
        files,
        flags: allowed_flags(body, false),
        kind,
        interaction: None,
    });
    Ok(Reply::Json(st.message_json(&st.messages[&id])))
}

fn list_messages(st: &State, c: &str, query: Option<&str>) -> Answer {
    let c = channel(st, c)?;
    let mut limit = 50usize;
    let (mut before, mut after) = (None, None);
    for pair in query.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "limit" => limit = v.parse().unwrap_or(50usize).clamp(1, 100),
            "before" => before = v.parse::<u64>().ok(),
            "after" => after = v.parse::<u64>().ok(),
            _ => {}
        }
    }
    let msgs: Vec<Value> = st
        .visible_messages(c)
        .iter()
        .rev()
        .filter(|m| before.is_none_or(|b| m.id.0 < b) && after.is_none_or(|a| m.id.0 > a))
        .take(limit)
        .map(|m| st.message_json(m))
        .collect();
    Ok(Reply::Json(msgs.into()))
}

fn pin(st: &mut State, method: &str, c: &str, m: &str) -> Answer {
    let (c, m) = message_in(st, c, m)?;
    let pins = &st.channels[&c].pins;
    if method == "PUT" {
        if pins.contains(&m) {
            return Ok(Reply::NoContent);
        }
        if pins.len() >= limits::PINS_MAX {
            return Err(DiscordError::max_pins().into());
        }
        st.channels.get_mut(&c).expect("exists").pins.push(m);
        st.messages.get_mut(&m).expect("exists").pinned = true;
    } else {
        st.channels
            .get_mut(&c)
            .expect("exists")
            .pins
            .retain(|p| *p != m);
        st.messages.get_mut(&m).expect("exists").pinned = false;
    }
    let guild = st.channel_guild(c);
    let last = st.channels[&c]
        .pins
        .last()
        .map(|_| iso8601(std::time::SystemTime::now()));
    let mut d = json!({"channel_id": c.to_json(), "last_pin_timestamp": last});
    if let Some(g) = guild {
        d["guild_id"] = g.to_json();
    }
    let intent = if guild.is_some() { 1 } else { 1 << 12 };
    st.dispatch("CHANNEL_PINS_UPDATE", d, Some(intent));
    Ok(Reply::NoContent)
}

fn create_role(st: &mut State, body: &Value) -> Answer {
    let id = RoleId(st.next_id());
    let permissions = match &body["permissions"] {
        Value::String(s) => s.parse().unwrap_or(0),
        v => v.as_u64().unwrap_or(0),
    };
    let position = st.roles.len() as u64;
    st.roles.push(RoleEntry {
        id,
        name: body["name"].as_str().unwrap_or("new role").to_owned(),
        permissions,
        position,
    });
    let role = st.roles_json().pop().expect("just pushed");
    let d = json!({"guild_id": st.guild_id().to_json(), "role": role});
    st.dispatch("GUILD_ROLE_CREATE", d, Some(1));
    Ok(Reply::Json(role))
}

fn member_role(st: &mut State, method: &str, u: &str, r: &str) -> Answer {
    let u = parse::<u64>(u)
        .map(UserId)
        .filter(|u| st.users.contains_key(u))
        .ok_or_else(DiscordError::unknown_member)?;
    let r = parse::<u64>(r)
        .map(RoleId)
        .filter(|r| st.roles.iter().any(|x| x.id == *r))
        .ok_or_else(DiscordError::unknown_role)?;
    let entry = st.users.get_mut(&u).expect("exists");
    if method == "PUT" {
        if !entry.roles.contains(&r) && r.0 != st.config.guild.id.0 {
            entry.roles.push(r);
        }
    } else {
        entry.roles.retain(|x| *x != r);
    }
    let d = member_with_guild(st, u);
    st.dispatch("GUILD_MEMBER_UPDATE", d, Some(1 << 1));
    Ok(Reply::NoContent)
}

/// Application command routes for one scope (`guild` = `None`: global).
fn commands(
    st: &mut State,
    method: &str,
    app: &str,
    guild: Option<&str>,
    command: Option<&str>,
    body: Value,
) -> Answer {
    if app != st.bot_id().0.to_string() {
        return Err(DiscordError::new(404, 10002, "Unknown Application").into());
    }
    let scope = match guild {
        Some(g) if st.is_our_guild(g) => Some(st.guild_id()),
        Some(_) => return Err(DiscordError::new(403, 50001, "Missing Access").into()),
        None => None,
    };
    let find = |st: &State, c: &str| -> Result<usize, DiscordError> {
        st.commands
            .get(&scope)
            .and_then(|cmds| cmds.iter().position(|x| x["id"].as_str() == Some(c)))
            .ok_or_else(|| DiscordError::new(404, 10063, "Unknown application command"))
    };
    match (method, command) {
        ("GET", None) => Ok(Reply::Json(
            st.commands.get(&scope).cloned().unwrap_or_default().into(),
        )),
        ("PUT", None) => {
            let list = body.as_array().cloned().unwrap_or_default();
            limits::check_commands(&list, scope.is_none())?;
            let stored: Vec<Value> = list.iter().map(|c| store_command(st, scope, c)).collect();
            st.commands.insert(scope, stored.clone());
            Ok(Reply::Json(stored.into()))
        }
        ("POST", None) => {
            let mut list = st.commands.get(&scope).cloned().unwrap_or_default();
            let name = body["name"].as_str().unwrap_or("").to_owned();
            list.retain(|c| c["name"].as_str() != Some(&name));
            list.push(body);
            limits::check_commands(&list, scope.is_none())?;
            let last = list.pop().expect("just pushed");
            let stored = store_command(st, scope, &last);
            list.push(stored.clone());
            st.commands.insert(scope, list);
            Ok(Reply::Json(stored))
        }
        ("GET", Some(c)) => {
            let i = find(st, c)?;
            Ok(Reply::Json(st.commands[&scope][i].clone()))
        }
        ("PATCH", Some(c)) => {
            let i = find(st, c)?;
            let mut merged = st.commands[&scope][i].clone();
            if let (Some(m), Some(b)) = (merged.as_object_mut(), body.as_object()) {
                for (k, v) in b {
                    m.insert(k.clone(), v.clone());
                }
            }
            limits::check_commands(std::slice::from_ref(&merged), scope.is_none())?;
            let stored = store_command(st, scope, &merged);
            st.commands.get_mut(&scope).expect("exists")[i] = stored.clone();
            Ok(Reply::Json(stored))
        }
        ("DELETE", Some(c)) => {
            let i = find(st, c)?;
            st.commands.get_mut(&scope).expect("exists").remove(i);
            Ok(Reply::NoContent)
        }
        _ => Err(Refusal::UnknownRoute),
    }
}

/// A command as Discord stores and returns it: the bot's definition plus ids and defaults.
/// A command keeps its id across overwrites as long as its name and type stay the same.
fn store_command(st: &mut State, scope: Option<GuildId>, def: &Value) -> Value {
    let kind = def["type"].as_u64().unwrap_or(1);
    let name = def["name"].as_str().unwrap_or("").to_owned();
    let key = (scope, kind, name);
    let id = match st.command_ids.get(&key) {
        Some(id) => *id,
        None => {
            let id = CommandId(st.next_id());
            st.command_ids.insert(key, id);
            id
        }
    };
    let mut c = def.clone();
    let obj = c.as_object_mut().expect("commands are objects");
    obj.retain(|_, v| !v.is_null());
    obj.insert("id".into(), id.to_json());
    obj.insert("application_id".into(), st.bot_id().to_json());
    obj.insert("version".into(), json!(st.snowflakes.next().to_string()));
    obj.insert("type".into(), json!(kind));
    obj.entry("description").or_insert_with(|| json!(""));
    obj.entry("default_member_permissions")
        .or_insert(Value::Null);
    obj.entry("nsfw").or_insert(json!(false));
    obj.entry("integration_types").or_insert(json!([0]));
    if let Some(g) = scope {
        obj.insert("guild_id".into(), g.to_json());
    } else {
        obj.entry("dm_permission").or_insert(json!(true));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_emoji_segments() {
        assert_eq!(percent_decode("%F0%9F%8E%B2"), "🎲");
        assert_eq!(percent_decode("plain"), "plain");
        assert_eq!(percent_decode("50%"), "50%");
    }
}
