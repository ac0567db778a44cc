-- Rotate after use and password history (issue 14).
--
-- An agent group may override the tenant's rotate-after-use grace: NULL inherits it, 0 turns it off.
ALTER TABLE groups ADD COLUMN rotate_after_use_seconds INTEGER;

-- The tenant policy's rotateAfterRevealSeconds became rotateAfterUseSeconds (a copy counts as a use too). A tenant
-- that had set a grace keeps it; one that had not gets the new default of 8 hours. historyDepth starts at 5.
-- engine: sqlite
UPDATE tenants SET policy = json_remove(
	json_set(policy,
		'$.rotateAfterUseSeconds', COALESCE(json_extract(policy, '$.rotateAfterRevealSeconds'), 28800),
		'$.historyDepth', COALESCE(json_extract(policy, '$.historyDepth'), 5)),
	'$.rotateAfterRevealSeconds');
-- engine: postgres
UPDATE tenants SET policy = ((policy::jsonb - 'rotateAfterRevealSeconds') || jsonb_build_object(
	'rotateAfterUseSeconds', COALESCE(policy::jsonb -> 'rotateAfterRevealSeconds', '28800'::jsonb),
	'historyDepth', COALESCE(policy::jsonb -> 'historyDepth', '5'::jsonb)))::text;
-- engine: both

