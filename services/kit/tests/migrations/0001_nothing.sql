-- The kit's own tables are created by Db::connect; this test schema needs nothing more.
SELECT 1;
