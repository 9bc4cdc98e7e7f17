-- dicebard schema, version 2: the LLM game master's memory and spend.
--
-- Derived data: everything here can be rebuilt (or simply forgotten) without losing
-- the game, which lives in the event log. Same portability rules as 0001.

-- The rolling summary of a campaign's story, covering events 1..=through_seq.
CREATE TABLE llm_summaries (
    campaign_id INTEGER NOT NULL PRIMARY KEY REFERENCES campaigns (id),
    through_seq INTEGER NOT NULL,
    summary     TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Key facts (people, places, quests, promises…) retrieved into prompts by relevance.
-- One row per (kind, name): a newer fact about the same thing replaces the older one.
CREATE TABLE llm_facts (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    kind        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    -- The event the fact was learnt from.
    seq         INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, kind, name)
);

-- Tokens and estimated cost per campaign and UTC day (days since the Unix epoch), for
-- the daily budget and the running cost shown to the GM.
CREATE TABLE llm_usage (
    campaign_id   INTEGER NOT NULL REFERENCES campaigns (id),
    day           INTEGER NOT NULL,
    requests      INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    -- Millionths of a US dollar.
    cost_micros   INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, day)
);
