-- What a device typed when it registered under a reserved username: the tech takes the reservation's display
-- name, email and organization, and the pending list shows both side by side. Empty until the reservation matches.
ALTER TABLE tech_reservations ADD COLUMN typed_display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE tech_reservations ADD COLUMN typed_email TEXT NOT NULL DEFAULT '';
ALTER TABLE tech_reservations ADD COLUMN typed_organization TEXT NOT NULL DEFAULT '';
