-- Each category label's article count, kept by statement triggers (one
-- upsert per statement, from its transition tables), so that the news page's
-- navigation reads a few rows instead of counting every label.
CREATE TABLE label_counts (
    category text PRIMARY KEY,
    articles bigint NOT NULL
);

INSERT INTO label_counts (category, articles)
SELECT category, count(*) FROM article_categories GROUP BY category;

CREATE FUNCTION tidings_count_added_labels() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO label_counts (category, articles)
    SELECT category, count(*) FROM added GROUP BY category
        ON CONFLICT (category) DO UPDATE SET articles = label_counts.articles + excluded.articles;
    RETURN NULL;
END $$;

CREATE FUNCTION tidings_count_removed_labels() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE label_counts l SET articles = l.articles - r.n
      FROM (SELECT category, count(*) AS n FROM removed GROUP BY category) r
     WHERE l.category = r.category;
    RETURN NULL;
END $$;

CREATE TRIGGER label_counts_insert AFTER INSERT ON article_categories
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION tidings_count_added_labels();
CREATE TRIGGER label_counts_delete AFTER DELETE ON article_categories
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION tidings_count_removed_labels();
CREATE TRIGGER label_counts_update_removed AFTER UPDATE ON article_categories
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION tidings_count_removed_labels();
CREATE TRIGGER label_counts_update_added AFTER UPDATE ON article_categories
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION tidings_count_added_labels();
