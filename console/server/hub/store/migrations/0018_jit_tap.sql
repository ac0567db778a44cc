-- A just-in-time window's Temporary Access Pass (Entra ID: a sign-in code for a tenant that requires a second
-- factor), issued by the agent for the window and sealed to the tech's device like a password. The hub keeps only
-- the age file and the agent's signature over its statement; it never sees the code. tap_expires_at is when the
-- pass stops working on the target (the agent issues it for the window), for display.
ALTER TABLE jit_grants ADD COLUMN tap_envelope BLOB;
ALTER TABLE jit_grants ADD COLUMN tap_signature BLOB;
ALTER TABLE jit_grants ADD COLUMN tap_issued_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jit_grants ADD COLUMN tap_expires_at INTEGER NOT NULL DEFAULT 0;
