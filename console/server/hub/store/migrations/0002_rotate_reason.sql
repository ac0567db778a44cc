-- Why an account's pending rotation request was made (rotate-now, after-reveal). A request may lie in the future:
-- a reveal schedules a rotation after the tenant's grace period, as Windows LAPS's post-authentication action does.
ALTER TABLE accounts ADD COLUMN rotate_reason TEXT NOT NULL DEFAULT '';
