-- The source that carried each article first (the earliest to store it;
-- of two at once, the one added first): the outlet an article is shown
-- under, in `tidings story`, in the merged feeds' 亦见于 line and in the
-- stories window. One definition, for tidings and for anyone querying.
CREATE VIEW article_origins AS
SELECT a.id AS article_id, s.id AS source_id, s.name AS source_name
  FROM articles a
  JOIN sources s ON s.id = (SELECT x.source_id FROM article_sources x WHERE x.article_id = a.id
                             ORDER BY x.first_seen, x.source_id LIMIT 1);

-- The articles of a story by its id: moving a story (`tidings split`,
-- `merge`, an article deleted by hand that led its story) finds them
-- without reading every article, and the `stories` view reads this index
-- instead of the articles' rows.
CREATE INDEX articles_by_story ON articles (story_id);
