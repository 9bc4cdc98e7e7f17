-- dicebard schema, version 3: the table feed (src/feed).
--
-- What the feed told of each batch of events, so a reconnecting client or a restarted
-- bot replays exactly the same words and the LLM is never asked twice for one batch.
-- Same portability rules as 0001.

-- Every item of a campaign's feed that is not an event itself: the built-in narrator's
-- line for an event, and the prose of a batch (start, sentences, end) and the LLM's
-- notices for the GM. An item is written before it is published. (seq, part) orders
-- the feed: part 0 is the event `seq` itself (read from the log, not stored here),
-- part 1 its line, parts 2.. the prose told after event `seq` (a batch's last event).
CREATE TABLE feed_items (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    part        INTEGER NOT NULL CHECK (part >= 1),
    -- "line", "prose_start", "prose_chunk", "prose_end" or "notice"
    kind        TEXT    NOT NULL,
    -- "public", "party", "gm" or "player:<player_id>" (as in events)
    visibility  TEXT    NOT NULL,
    -- The event the text tells of (a prose sentence: the last event it tells).
    told_seq    INTEGER NOT NULL,
    -- "llm" or "builtin" for prose sentences; NULL otherwise.
    source      TEXT    NULL,
    text        TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, seq, part)
);

-- How far each campaign's feed has told the log: every event up to through_seq has
-- its line stored and its batch's telling begun.
CREATE TABLE feed_cursors (
    campaign_id INTEGER NOT NULL PRIMARY KEY REFERENCES campaigns (id),
    through_seq INTEGER NOT NULL
);
