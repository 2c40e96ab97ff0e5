-- Label counts as added changes instead of one row per label. The upsert of
-- 0006 made every poll that stored articles hold the row of each of its
-- labels until it committed, so pollers' transactions, which all carry the
-- source's category and name, waited for each other: a cold poll of 1,000
-- feeds spent more time waiting for those rows than writing. Now each
-- statement appends its change, no row is updated, and `label_counts` is a
-- view of the sums; tidings folds the changes into one row per label now
-- and then (`tidings_fold_label_counts`), which waits for no writer either.
CREATE TABLE label_count_changes (
    category text NOT NULL,
    articles bigint NOT NULL
);

CREATE INDEX label_count_changes_category ON label_count_changes (category);

INSERT INTO label_count_changes (category, articles)
SELECT category, articles FROM label_counts;

DROP TABLE label_counts;

CREATE VIEW label_counts AS
SELECT category, sum(articles)::bigint AS articles
  FROM label_count_changes
 GROUP BY category;

CREATE OR REPLACE FUNCTION tidings_count_added_labels() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO label_count_changes (category, articles)
    SELECT category, count(*) FROM added GROUP BY category;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION tidings_count_removed_labels() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO label_count_changes (category, articles)
    SELECT category, -count(*) FROM removed GROUP BY category;
    RETURN NULL;
END $$;

-- An update counts only the labels it changed: tidings updates the rows'
-- dates (`published`) when an article changes, which moves no count.
CREATE FUNCTION tidings_count_relabelled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO label_count_changes (category, articles)
    SELECT category, sum(n) FROM (
        SELECT category, count(*) AS n FROM added GROUP BY category
        UNION ALL
        SELECT category, -count(*) FROM removed GROUP BY category
    ) c
     GROUP BY category
    HAVING sum(n) <> 0;
    RETURN NULL;
END $$;

DROP TRIGGER label_counts_insert ON article_categories;
DROP TRIGGER label_counts_delete ON article_categories;
DROP TRIGGER label_counts_update_removed ON article_categories;
DROP TRIGGER label_counts_update_added ON article_categories;

CREATE TRIGGER label_counts_insert AFTER INSERT ON article_categories
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION tidings_count_added_labels();
CREATE TRIGGER label_counts_delete AFTER DELETE ON article_categories
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION tidings_count_removed_labels();
CREATE TRIGGER label_counts_update AFTER UPDATE ON article_categories
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION tidings_count_relabelled();

-- One row per label again, from the changes this transaction can see. Rows
-- other transactions add meanwhile are left for the next fold; two folds at
-- once cannot count a change twice (the second finds the first's rows
-- deleted and skips them).
CREATE FUNCTION tidings_fold_label_counts() RETURNS void LANGUAGE sql AS $$
    WITH folded AS (DELETE FROM label_count_changes RETURNING category, articles)
    INSERT INTO label_count_changes (category, articles)
    SELECT category, sum(articles) FROM folded GROUP BY category;
$$;
