-- dicebard schema, version 1.
--
-- Portability: this file is kept to SQL that PostgreSQL also accepts (with BIGINT for
-- INTEGER and BYTEA for BLOB when a postgres/ migrations folder is added). Times are
-- integer milliseconds since the Unix epoch, written by the caller (the coordinator owns
-- the clock); Discord snowflakes and the u64 RNG seed are stored as signed 64-bit
-- integers (bit-for-bit casts done in src/store).

-- One row per campaign (a table of players in one Discord channel, or a terminal game).
CREATE TABLE campaigns (
    id                 INTEGER PRIMARY KEY,
    name               TEXT    NOT NULL UNIQUE,
    discord_guild_id   INTEGER NULL,
    discord_channel_id INTEGER NULL,
    -- The campaign's RNG seed (u64 stored as i64): with the event log it replays the game.
    seed               INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    ended_at           INTEGER NULL,
    settings_json      TEXT    NOT NULL DEFAULT '{}'
);

-- A channel hosts at most one *active* campaign; an ended campaign frees its channel.
CREATE UNIQUE INDEX campaigns_active_channel
    ON campaigns (discord_channel_id)
    WHERE discord_channel_id IS NOT NULL AND ended_at IS NULL;

-- The append-only event log: the source of truth, state is rebuilt by replay.
-- Rows are never updated or deleted; (campaign_id, seq) makes a second writer of the
-- same seq fail instead of forking history.
CREATE TABLE events (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    at_ms       INTEGER NOT NULL,
    -- "public", "party", "gm" or "player:<player_id>"
    visibility  TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    -- JSON of the engine event
    body        TEXT    NOT NULL,
    -- JSON: who sent the command and from where (discord user/interaction, terminal, web)
    origin      TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, seq)
);

CREATE TABLE players (
    campaign_id     INTEGER NOT NULL REFERENCES campaigns (id),
    player_id       TEXT    NOT NULL,
    discord_user_id INTEGER NULL,
    display_name    TEXT    NOT NULL,
    character_id    TEXT    NULL,
    -- "player" or "gm"
    role            TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, player_id)
);

-- Replay shortcuts: the state after applying events 1..=seq. Derived data; may be
-- deleted at any time without losing anything.
CREATE TABLE snapshots (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    seq         INTEGER NOT NULL,
    state_json  TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, seq)
);

-- Messages the Discord front end keeps editing (pinned character sheets, initiative).
CREATE TABLE message_refs (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    -- e.g. "character_embed", "initiative_embed"
    kind        TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    channel_id  INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, kind, key)
);

-- Join links for the web side-port: only a hash of the secret is stored.
CREATE TABLE join_tokens (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    token_hash  BLOB    NOT NULL PRIMARY KEY,
    player_id   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER NULL
);

CREATE INDEX join_tokens_campaign ON join_tokens (campaign_id);
