-- A tech's short name: set by an admin when the username renders to an account name a target refuses (too long)
-- or that another tech's would share; it stands for the username in the naming format (entitle.Base). Empty: none.
ALTER TABLE techs ADD COLUMN short_name TEXT NOT NULL DEFAULT '';
