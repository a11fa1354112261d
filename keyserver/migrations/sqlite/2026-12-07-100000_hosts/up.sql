-- Host applications the CA certified: name, address and the serial of the
-- current certificate (archived in `certificates` under the holder
-- `host:<name>`, which no user id can spell). Times are Unix seconds.
CREATE TABLE hosts (
    name TEXT NOT NULL PRIMARY KEY,
    url TEXT NOT NULL,
    serial TEXT NOT NULL REFERENCES certificates (serial),
    certified_at INTEGER NOT NULL
) STRICT;
