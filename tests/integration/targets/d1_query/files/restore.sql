PRAGMA defer_foreign_keys=TRUE;
CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO "authors" VALUES(1,'Frank Herbert');
INSERT INTO "authors" VALUES(2,'Jane; Austen');
CREATE TRIGGER authors_guard BEFORE DELETE ON authors BEGIN SELECT RAISE(ABORT, 'no; deletes'); END;
