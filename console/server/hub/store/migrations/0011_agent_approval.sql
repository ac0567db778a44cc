-- Agent approval. An agent enrolled with a token not created "approve on use" waits for an admin: review is
-- 'pending' (then 'rejected' if refused) while status stays 'disabled', so anything that looks at status alone
-- treats it as the inactive agent it is. Agents enrolled before this migration keep their status.
ALTER TABLE agents ADD COLUMN review TEXT NOT NULL DEFAULT '' CHECK (review IN ('', 'pending', 'rejected'));
ALTER TABLE tokens ADD COLUMN approve_on_use INTEGER NOT NULL DEFAULT 0;
