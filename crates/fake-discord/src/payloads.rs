//! The JSON the fake puts on the wire: users, members, roles, channels, the guild, READY,
//! messages, the application. Each builder is covered by `tests/contract.rs`, which parses the
//! output with serenity's own model types (a payload serenity cannot parse would otherwise be
//! silently dropped as `Event::Unknown`).

use serde_json::{Value, json};

use crate::config::{ALL_PERMISSIONS, ChannelKind};
use crate::model::Message;
use crate::snowflake::{ChannelId, GuildId, UserId};
use crate::state::{ChannelPlace, State};

impl State {
    pub fn user_json(&self, id: UserId) -> Value {
        match self.user(id) {
            Some(u) => json!({
                "id": u.id.to_json(),
                "username": u.name,
                "global_name": null,
                "discriminator": "0",
                "avatar": null,
                "bot": u.bot,
            }),
            None => json!({"id": id.to_json(), "username": "unknown-user", "discriminator": "0"}),
        }
    }

    /// A guild member; `with_permissions` adds `permissions` as interactions carry it.
    pub fn member_json(&self, id: UserId, with_permissions: bool) -> Value {
        let (roles, joined_at) = self
            .users
            .get(&id)
            .map(|u| (u.roles.clone(), u.joined_at.clone()))
            .unwrap_or_default();
        let mut m = json!({
            "user": self.user_json(id),
            "nick": null,
            "avatar": null,
            "roles": roles.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
            "joined_at": joined_at,
            "deaf": false,
            "mute": false,
            "flags": 0,
            "pending": false,
        });
        if with_permissions {
            m["permissions"] = json!(self.member_permissions(id).to_string());
        }
        m
    }

    /// A member's permissions as Discord computes them for interactions: the guild owner and
    /// administrators have everything; others `@everyone`'s member permissions plus their roles'.
    pub fn member_permissions(&self, id: UserId) -> u64 {
        if id == self.config.guild.owner {
            return ALL_PERMISSIONS;
        }
        let everyone = crate::snowflake::RoleId(self.config.guild.id.0);
        let roles = self
            .users
            .get(&id)
            .map(|u| u.roles.clone())
            .unwrap_or_default();
        let mut p = self.config.member_permissions;
        for r in self
            .roles
            .iter()
            .filter(|r| r.id != everyone && roles.contains(&r.id))
        {
            p |= r.permissions;
        }
        if p & crate::config::perms::ADMINISTRATOR != 0 {
            ALL_PERMISSIONS
        } else {
            p
        }
    }

    pub fn roles_json(&self) -> Vec<Value> {
        self.roles
            .iter()
            .map(|r| {
                json!({
                    "id": r.id.to_json(),
                    "name": r.name,
                    "color": 0,
                    "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
                    "hoist": false,
                    "icon": null,
                    "unicode_emoji": null,
                    "position": r.position,
                    "permissions": r.permissions.to_string(),
                    "managed": false,
                    "mentionable": false,
                    "flags": 0,
                })
            })
            .collect()
    }

    /// A channel as `GET /channels/{id}` returns it (guild channel or DM).
    pub fn channel_json(&self, id: ChannelId) -> Option<Value> {
        let c = self.channels.get(&id)?;
        let last = self
            .messages
            .values()
            .rev()
            .find(|m| m.channel_id == id && !m.deleted && !m.is_ephemeral())
            .map(|m| m.id.to_json())
            .unwrap_or(Value::Null);
        Some(match c.place {
            ChannelPlace::Dm(user) => json!({
                "id": id.to_json(),
                "type": 1,
                "last_message_id": last,
                "recipients": [self.user_json(user)],
                "flags": 0,
            }),
            ChannelPlace::Guild(kind) => {
                let mut v = json!({
                    "id": id.to_json(),
                    "type": kind.code(),
                    "guild_id": self.guild_id().to_json(),
                    "name": c.name,
                    "position": c.position,
                    "permission_overwrites": [],
                    "parent_id": null,
                    "nsfw": false,
                    "rate_limit_per_user": 0,
                    "last_message_id": last,
                    "flags": 0,
                });
                match kind {
                    ChannelKind::Text => v["topic"] = Value::Null,
                    ChannelKind::Voice => {
                        v["bitrate"] = json!(64000);
                        v["user_limit"] = json!(0);
                        v["rtc_region"] = Value::Null;
                    }
                }
                v
            }
        })
    }

    /// The partial channel embedded in interactions.
    pub fn interaction_channel_json(&self, id: ChannelId) -> Value {
        let mut v = self
            .channel_json(id)
            .unwrap_or_else(|| json!({"id": id.to_json(), "type": 0}));
        v["permissions"] = json!(ALL_PERMISSIONS.to_string());
        v
    }

    pub fn guild_channels_json(&self) -> Vec<Value> {
        let mut chans: Vec<_> = self
            .channels
            .values()
            .filter(|c| matches!(c.place, ChannelPlace::Guild(_)))
            .collect();
        chans.sort_by_key(|c| c.position);
        chans
            .iter()
            .filter_map(|c| self.channel_json(c.id))
            .collect()
    }

    fn guild_base_json(&self) -> Value {
        let g = &self.config.guild;
        json!({
            "id": g.id.to_json(),
            "name": g.name,
            "icon": null,
            "splash": null,
            "discovery_splash": null,
            "owner_id": g.owner.to_json(),
            "afk_channel_id": null,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": self.roles_json(),
            "emojis": [],
            "features": [],
            "mfa_level": 0,
            "application_id": null,
            "system_channel_id": null,
            "system_channel_flags": 0,
            "rules_channel_id": null,
            "vanity_url_code": null,
            "description": null,
            "banner": null,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": null,
            "nsfw_level": 0,
            "stickers": [],
            "premium_progress_bar_enabled": false,
        })
    }

    /// `GET /guilds/{id}` (serenity's `PartialGuild`).
    pub fn partial_guild_json(&self) -> Value {
        let mut g = self.guild_base_json();
        g["approximate_member_count"] = json!(self.users.len());
        g["approximate_presence_count"] = json!(0);
        g
    }

    /// GUILD_CREATE's `d`: the guild with its channels, members and voice states.
    pub fn guild_create_json(&self) -> Value {
        let mut g = self.guild_base_json();
        g["joined_at"] = json!("2024-01-01T00:00:00.000000+00:00");
        g["large"] = json!(false);
        g["unavailable"] = json!(false);
        g["member_count"] = json!(self.users.len());
        g["members"] = self
            .users
            .keys()
            .map(|u| self.member_json(*u, false))
            .collect();
        g["channels"] = self.guild_channels_json().into();
        g["voice_states"] = self
            .voice
            .keys()
            .filter_map(|u| self.voice_state_json(*u, false))
            .collect();
        g["threads"] = json!([]);
        g["presences"] = json!([]);
        g["stage_instances"] = json!([]);
        g["guild_scheduled_events"] = json!([]);
        g["soundboard_sounds"] = json!([]);
        g
    }

    /// A user's voice state; `with_guild` adds `guild_id` and `member` as VOICE_STATE_UPDATE
    /// carries them (GUILD_CREATE's `voice_states` omit them).
    pub fn voice_state_json(&self, user: UserId, with_guild: bool) -> Option<Value> {
        let v = self.voice.get(&user)?;
        let mut d = json!({
            "channel_id": v.channel.map(ChannelId::to_json),
            "user_id": user.to_json(),
            "session_id": v.session_id,
            "deaf": false,
            "mute": false,
            "self_deaf": v.self_deaf,
            "self_mute": v.self_mute,
            "self_video": false,
            "suppress": false,
            "request_to_speak_timestamp": null,
        });
        if with_guild {
            d["guild_id"] = self.guild_id().to_json();
            d["member"] = self.member_json(user, false);
        }
        Some(d)
    }

    pub fn ready_json(&self, session_id: &str) -> Value {
        json!({
            "v": 10,
            "user": self.current_user_json(),
            "guilds": [{"id": self.guild_id().to_json(), "unavailable": true}],
            "session_id": session_id,
            "resume_gateway_url": self.gateway_url,
            "shard": [0, 1],
            "application": {"id": self.bot_id().to_json(), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "guild_join_requests": [],
            "presences": [],
        })
    }

    /// `GET /users/@me`.
    pub fn current_user_json(&self) -> Value {
        let mut u = self.user_json(self.bot_id());
        u["verified"] = json!(true);
        u["mfa_enabled"] = json!(false);
        u["flags"] = json!(0);
        u["public_flags"] = json!(0);
        u
    }

    /// `GET /oauth2/applications/@me`. The owner is the guild owner.
    pub fn application_json(&self) -> Value {
        let bot = self
            .user(self.bot_id())
            .map(|u| u.name.clone())
            .unwrap_or_default();
        json!({
            "id": self.bot_id().to_json(),
            "name": bot,
            "icon": null,
            "description": "",
            "bot_public": false,
            "bot_require_code_grant": false,
            "verify_key": "0000000000000000000000000000000000000000000000000000000000000000",
            "owner": self.user_json(self.config.guild.owner),
            "team": null,
            "flags": 0,
            "bot": self.user_json(self.bot_id()),
            "summary": "",
        })
    }

    /// `GET /gateway`. No query string: serenity appends `?v=10`.
    pub fn gateway_json(&self) -> Value {
        json!({"url": self.gateway_url})
    }

    pub fn gateway_bot_json(&self) -> Value {
        json!({
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 1000u32.saturating_sub(self.gateway.identifies),
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        })
    }

    pub fn message_json(&self, m: &Message) -> Value {
        let mut v = json!({
            "id": m.id.to_json(),
            "channel_id": m.channel_id.to_json(),
            "author": self.user_json(m.author),
            "content": m.content,
            "timestamp": m.timestamp,
            "edited_timestamp": m.edited_timestamp,
            "tts": m.tts,
            "mention_everyone": false,
            "mentions": m.mentions.iter().map(|u| self.user_json(*u)).collect::<Vec<_>>(),
            "mention_roles": [],
            "attachments": m.attachments.iter().map(|a| json!({
                "id": a.id.to_json(),
                "filename": a.filename,
                "description": a.description,
                "content_type": a.content_type,
                "size": a.data.len(),
                "url": format!("{}/attachments/{}/{}/{}", self.rest_url, m.channel_id, a.id, a.filename),
                "proxy_url": format!("{}/attachments/{}/{}/{}", self.rest_url, m.channel_id, a.id, a.filename),
            })).collect::<Vec<_>>(),
            "embeds": m.embeds,
            "reactions": m.reactions.iter().map(|e| json!({
                "count": 1,
                "count_details": {"burst": 0, "normal": 1},
                "me": true,
                "me_burst": false,
                "burst_colors": [],
                "emoji": {"id": null, "name": e},
            })).collect::<Vec<_>>(),
            "pinned": m.pinned,
            "type": m.kind,
            "flags": m.flags,
            "components": m.components,
        });
        if let Some(g) = m.guild_id {
            v["guild_id"] = g.to_json();
        }
        if let Some(w) = m.webhook_id {
            v["webhook_id"] = json!(w.to_string());
            v["application_id"] = json!(w.to_string());
        }
        if let Some(r) = &m.message_reference {
            v["message_reference"] = r.clone();
        }
        if let Some(i) = m.interaction.and_then(|i| self.interactions.get(&i)) {
            let mut meta = json!({
                "id": i.id.to_json(),
                "type": i.kind,
                "user": self.user_json(i.user),
                "authorizing_integration_owners": {},
            });
            match i.kind {
                // A component's response names the message the component was on.
                3 => {
                    meta["interacted_message_id"] = i.source_message.unwrap_or(m.id).to_json();
                }
                // A modal submit's names the interaction that opened the modal.
                5 => {
                    let opener = self
                        .interactions
                        .values()
                        .rfind(|o| o.id < i.id && o.user == i.user && o.modal_submitted);
                    meta["triggering_interaction_metadata"] = match opener {
                        Some(o) => json!({
                            "id": o.id.to_json(),
                            "type": o.kind,
                            "user": self.user_json(o.user),
                            "authorizing_integration_owners": {},
                            "interacted_message_id": o.source_message.unwrap_or(m.id).to_json(),
                        }),
                        None => json!({
                            "id": i.id.to_json(),
                            "type": 2,
                            "user": self.user_json(i.user),
                            "authorizing_integration_owners": {},
                        }),
                    };
                }
                _ => {}
            }
            v["interaction_metadata"] = meta;
        }
        v
    }

    /// The guild a request path names must be ours.
    pub fn is_our_guild(&self, g: &str) -> bool {
        g.parse::<u64>().ok().map(GuildId) == Some(self.guild_id())
    }
}
