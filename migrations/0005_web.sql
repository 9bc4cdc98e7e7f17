-- dicebard schema, version 4: the phone table (src/web).
--
-- Join links and web sessions. Only SHA-256 hashes of their secrets are stored: a copy
-- of the database does not let anyone in. Same portability rules as 0001 (BLOB is BYTEA
-- on PostgreSQL, times are integer milliseconds).
--
-- `join_tokens` (0001) had no role, id or one-time use; it was never used and is
-- superseded by `web_invites`.

-- A join link: a 32-byte random secret (base64url in the link), worth one session.
CREATE TABLE web_invites (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    token_hash  BLOB    NOT NULL UNIQUE,
    -- "player", "display" or "gm"
    role        TEXT    NOT NULL CHECK (role IN ('player', 'display', 'gm')),
    -- The player the link seats (players and GMs); NULL for a display.
    player_id   TEXT    NULL,
    -- The name a new player joins under.
    name        TEXT    NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    -- Set when the link was exchanged for a session: it never works again.
    used_at     INTEGER NULL,
    revoked_at  INTEGER NULL
);

CREATE INDEX web_invites_campaign ON web_invites (campaign_id);

-- A browser's session: the cookie holds a 32-byte random id; only its hash is here.
CREATE TABLE web_sessions (
    id           INTEGER PRIMARY KEY,
    session_hash BLOB    NOT NULL UNIQUE,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    role         TEXT    NOT NULL CHECK (role IN ('player', 'display', 'gm')),
    player_id    TEXT    NULL,
    name         TEXT    NULL,
    invite_id    INTEGER NULL REFERENCES web_invites (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER NULL
);

CREATE INDEX web_sessions_campaign_player ON web_sessions (campaign_id, player_id);
