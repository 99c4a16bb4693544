-- Every purpose now leaves out subjects without a legal basis, and how many
-- were left out is counted only when a request asks for explanations: NULL
-- records "not counted", where 0 would claim that nobody was excluded.
ALTER TABLE "access_record" ALTER COLUMN "rows_excluded" DROP NOT NULL;
