-- Stories (issue 13): the articles that are one piece of news under different URLs.

-- The story an article belongs to: the id of the story's first stored
-- article, its own id when it stands alone. It never changes when a reprint
-- joins, so the merged feeds' entry of a story keeps its id.
ALTER TABLE articles ADD COLUMN story_id INTEGER;
UPDATE articles SET story_id = id;

-- The MinHash signature of each article's comparable text and the numbers
-- it states (see src/cluster), in a table of its own: the writer reads the
-- last days' of them when it starts, and a column after an article's
-- content would be read through the content's overflow pages. None for
-- sources with `cluster = false`, nor for articles stored before stories
-- until `tidings regroup`.
CREATE TABLE article_fingerprints (
    article_id  INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    fingerprint BLOB NOT NULL
);

-- Why each article that is not its story's first joined it: one row per
-- such article. `method` is 'text' (tidings found it alike: the article it
-- matched, how much of the shorter text is in the longer, the 3-gram Jaccard
-- similarity, whether the numbers agree, how far apart they were published)
-- or 'merged' (`tidings merge`).
CREATE TABLE story_evidence (
    article_id         INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    story_id           INTEGER NOT NULL,
    matched_article_id INTEGER,
    method             TEXT NOT NULL CHECK (method IN ('text', 'merged')),
    overlap            REAL,
    jaccard            REAL,
    numbers_agree      INTEGER,
    minutes_apart      INTEGER,
    decided_at         TEXT NOT NULL
);
CREATE INDEX story_evidence_by_story ON story_evidence (story_id);

-- What people decided: two articles kept apart (`tidings split`) or put
-- together (`tidings merge`), whatever the fingerprints say; `tidings
-- regroup` honours them.
CREATE TABLE story_overrides (
    article_id       INTEGER NOT NULL,
    other_article_id INTEGER NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('apart', 'together')),
    made_at          TEXT NOT NULL,
    PRIMARY KEY (article_id, other_article_id)
) WITHOUT ROWID;

-- An article inserted by hand, without a story, is a story of its own.
CREATE TRIGGER articles_own_story AFTER INSERT ON articles WHEN new.story_id IS NULL BEGIN
    UPDATE articles SET story_id = new.id WHERE id = new.id;
END;

-- One row per story: its first article, and how many articles it has.
CREATE VIEW stories AS
SELECT a.id AS id, a.title AS title, a.link AS link, a.published AS published,
       1 + (SELECT count(*) FROM story_evidence e WHERE e.story_id = a.id) AS articles
  FROM articles a
 WHERE a.story_id = a.id;

-- An article deleted by hand leaves its story: its evidence and overrides
-- go, and a story whose first article it was is led by its next one.
CREATE TRIGGER articles_leave_stories AFTER DELETE ON articles BEGIN
    DELETE FROM story_evidence WHERE article_id = old.id;
    DELETE FROM article_fingerprints WHERE article_id = old.id;
    DELETE FROM story_overrides WHERE article_id = old.id OR other_article_id = old.id;
    UPDATE articles SET story_id = (SELECT min(article_id) FROM story_evidence WHERE story_id = old.id)
     WHERE story_id = old.id AND old.story_id = old.id;
    UPDATE story_evidence SET story_id = (SELECT min(article_id) FROM story_evidence WHERE story_id = old.id)
     WHERE story_id = old.id AND old.story_id = old.id;
    DELETE FROM story_evidence WHERE article_id = story_id;
END;
