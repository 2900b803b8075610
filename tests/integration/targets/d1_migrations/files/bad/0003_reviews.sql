CREATE TABLE reviews (id INTEGER PRIMARY KEY, isbn TEXT, stars INTEGER);
INSERT INTO reviews (isbn, stars) VALUES ('9780441013593', 5);
CREATE INDEX reviews_isbn ON reviews (isbn;
