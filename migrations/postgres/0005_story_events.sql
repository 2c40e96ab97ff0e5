-- Stories of one event written up by different outlets: the evidence says
-- what the write-ups share (`同一事件：宁德时代，3 个数字一致`); NULL when the
-- texts themselves are alike.
ALTER TABLE story_evidence ADD COLUMN event TEXT;
