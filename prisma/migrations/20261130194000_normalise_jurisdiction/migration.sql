-- Jurisdiction data in one normal form, for every writer.
--
-- The policy engine decides a subject's regime with regimeOf()
-- (src/policy/regime.ts), which trims and upper-cases country and region and
-- treats an empty value as unknown; its SQL twin permittedWhere()
-- (src/schema/permitted-where.ts) compares the stored columns as they are.
-- So that both always see the same regime, the database keeps "country" and
-- "region" normalised: trimmed, upper case, and NULL rather than empty. A
-- trigger normalises every write (the seed, a CRM sync, an operator's SQL) and
-- CHECK constraints reject any row that is not in that form (a writer that
-- bypasses the trigger).
--
-- The trimmed characters are those JavaScript's String.prototype.trim()
-- removes (regimeOf uses it), not only the space btrim() removes by default:
-- a region 'CA' + CR from a CSV import is CCPA in code and must be in SQL too.
-- The \u escapes need a UTF8 database (PGlite and our PostgreSQL are UTF8);
-- elsewhere this migration fails and is rolled back.

-- CreateFunction
CREATE FUNCTION "normalise_jurisdiction"(value TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT NULLIF(upper(btrim(value, E' \t\n\u000B\f\r\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF')), '')
    $$;

-- Normalise existing rows
UPDATE "customer"
   SET "country" = "normalise_jurisdiction"("country"),
       "region" = "normalise_jurisdiction"("region")
 WHERE "country" IS DISTINCT FROM "normalise_jurisdiction"("country")
    OR "region" IS DISTINCT FROM "normalise_jurisdiction"("region");

-- AddCheckConstraint
-- IS NOT DISTINCT FROM, not "=": the normal form of '' or '  ' is NULL, and a
-- CHECK whose expression is NULL passes.
ALTER TABLE "customer" ADD CONSTRAINT "customer_country_normalised"
    CHECK ("country" IS NOT DISTINCT FROM "normalise_jurisdiction"("country"));
ALTER TABLE "customer" ADD CONSTRAINT "customer_region_normalised"
    CHECK ("region" IS NOT DISTINCT FROM "normalise_jurisdiction"("region"));

-- CreateTrigger
-- search_path pinned to the migration's: a writer whose session has another
-- search_path still finds "normalise_jurisdiction".
CREATE FUNCTION "customer_normalise_jurisdiction"() RETURNS TRIGGER
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
    AS $$
BEGIN
    NEW."country" := "normalise_jurisdiction"(NEW."country");
    NEW."region" := "normalise_jurisdiction"(NEW."region");
    RETURN NEW;
END;
$$;

CREATE TRIGGER "customer_normalise_jurisdiction"
    BEFORE INSERT OR UPDATE OF "country", "region" ON "customer"
    FOR EACH ROW EXECUTE FUNCTION "customer_normalise_jurisdiction"();

-- AlterTable
ALTER TABLE "purpose" DROP COLUMN "exclude_rows";
