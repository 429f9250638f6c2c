-- Each account row's HMAC-SHA-256 keyed from the kiosk's pepper (store::accounts):
-- a row edited outside the kiosk no longer matches.
ALTER TABLE staff ADD COLUMN mac TEXT NOT NULL DEFAULT '';
