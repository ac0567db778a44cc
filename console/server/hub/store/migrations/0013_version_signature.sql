-- The staging agent's Ed25519 signature over a version's envelope statement (package shared/authority): the hub
-- keeps it and hands it out with the envelope, and cannot make one. Versions staged before it, or by an agent that
-- sent none, have NULL.
ALTER TABLE versions ADD COLUMN signature BLOB;
