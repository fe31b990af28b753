-- The session map of Galaxy's interactive tools: the table exactly as Galaxy (SQLAlchemy 2,
-- lib/galaxy/managers/interactivetool.py) creates it in SQLite, default journal mode. gx-it-proxy and the
-- nginx engine read it; Galaxy writes it (delete, then insert, in one transaction per entry point).
CREATE TABLE gxitproxy ("key" VARCHAR(16) NOT NULL, key_type TEXT NOT NULL, token VARCHAR(32), host TEXT, port INTEGER, info TEXT, PRIMARY KEY ("key", key_type));
