-- Approvals per stage (postgres). Keep in step with ../sqlite/0007_approval_stage.sql.
-- An approval was for the promotion stage the image was decided at; it may now be given at
-- any stage where the policy nudges (what `portcullis gate --stage` asks for). Existing
-- approvals take their image's stage. At most one approval per image and stage.

ALTER TABLE approvals ADD COLUMN stage TEXT;
UPDATE approvals SET stage = (SELECT images.stage FROM images WHERE images.id = approvals.image_id);
CREATE UNIQUE INDEX approvals_one_per_stage ON approvals (image_id, stage);
