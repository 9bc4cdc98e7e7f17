-- dicebard schema, version 4: campaigns that existed before the table feed.
--
-- A campaign played before the feed (0003) has its story told already (by the
-- presenters of that time): its feed starts at the log's end, it does not tell the
-- old history again (nor ask the LLM for it). A campaign created afterwards has no
-- cursor row and its feed tells it from its first event. Same portability rules as
-- 0001 (INSERT ... SELECT ... ON CONFLICT DO NOTHING is PostgreSQL too).
INSERT INTO feed_cursors (campaign_id, through_seq)
SELECT campaign_id, MAX(seq) FROM events WHERE seq >= 1 GROUP BY campaign_id
ON CONFLICT (campaign_id) DO NOTHING;
