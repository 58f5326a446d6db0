ALTER TABLE {{audit_log}} ADD COLUMN level VARCHAR(20);
