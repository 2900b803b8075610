-- Books, as the seed plan's first migration
CREATE TABLE books (isbn TEXT PRIMARY KEY, title TEXT NOT NULL);
INSERT INTO books VALUES ('9780441013593', 'Dune');
