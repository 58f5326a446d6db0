-- A table no model declares, made and kept by hand.
CREATE TABLE {{audit_log}} (id INTEGER PRIMARY KEY, note VARCHAR(100));
INSERT INTO {{audit_log}} (id, note) VALUES (1, 'created by migration 1');
