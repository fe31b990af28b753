-- For each pg_hba.conf entry of the role (%(rules)s, a JSON list of {type, database, user, address, method}),
-- the first rule of pg_hba_file_rules that a connection of that database, user and address matches.
-- Returns one row per entry that is NOT its own first match (shadowed by an earlier rule, or absent).
-- A host entry is probed with and without TLS, a hostssl entry with TLS. Rules naming host names, samehost
-- or samenet are counted as matching (they may), and so are group (+role) and regular-expression entries
-- that the user or database satisfies.
WITH ours AS (
    SELECT * FROM json_to_recordset(%(rules)s::json) AS o(type text, database text, "user" text, address text,
                                                          method text)
), probe AS (
    SELECT o.*, p.ssl, CASE WHEN o.address IS NULL THEN NULL ELSE host(network(o.address::cidr))::inet END AS ip
      FROM ours o CROSS JOIN (VALUES (true), (false)) AS p(ssl)
     WHERE (o.type = 'local' AND NOT p.ssl) OR o.type = 'host' OR (o.type = 'hostssl' AND p.ssl)
), rules AS (
    SELECT r.*, r.address ~ '^[0-9.]+$' OR r.address ~ ':' AS numeric
      FROM pg_hba_file_rules r WHERE r.error IS NULL
), first AS (
    SELECT p.*, f.line_number, f.type AS rule_type, f.database AS rule_database, f.user_name AS rule_user,
           f.address AS rule_address, f.netmask AS rule_netmask, f.auth_method AS rule_method
      FROM probe p
      LEFT JOIN LATERAL (
          SELECT r.* FROM rules r
           WHERE CASE WHEN p.type = 'local' THEN r.type = 'local'
                      ELSE r.type IN ('host', 'hostnogssenc') OR (r.type = 'hostssl' AND p.ssl)
                           OR (r.type = 'hostnossl' AND NOT p.ssl) END
             AND (r.database && ARRAY['all', p.database]
                  OR ('sameuser' = ANY (r.database) AND p.database = p."user")
                  OR (r.database && ARRAY['samerole', 'samegroup']
                      AND EXISTS (SELECT FROM pg_roles g WHERE g.rolname = p.database)
                      AND EXISTS (SELECT FROM pg_roles u WHERE u.rolname = p."user")
                      AND pg_has_role(p."user", p.database, 'MEMBER'))
                  OR EXISTS (SELECT FROM unnest(r.database) d WHERE d LIKE '/%%' AND p.database ~ substr(d, 2)))
             AND (r.user_name && ARRAY['all', p."user"]
                  OR EXISTS (SELECT FROM unnest(r.user_name) u
                              WHERE u LIKE '+%%'
                                AND EXISTS (SELECT FROM pg_roles g WHERE g.rolname = substr(u, 2))
                                AND EXISTS (SELECT FROM pg_roles m WHERE m.rolname = p."user")
                                AND pg_has_role(p."user", substr(u, 2), 'MEMBER'))
                  OR EXISTS (SELECT FROM unnest(r.user_name) u WHERE u LIKE '/%%' AND p."user" ~ substr(u, 2)))
             AND (p.type = 'local' OR r.address IS NULL OR r.address = 'all' OR NOT r.numeric
                  OR (family(r.address::inet) = family(p.ip)
                      AND host(p.ip & r.netmask::inet) = host(r.address::inet & r.netmask::inet)))
           ORDER BY r.line_number
           LIMIT 1
      ) f ON true
)
SELECT type, database, "user", address, ssl, line_number,
       CASE WHEN line_number IS NULL THEN 'no rule matches'
            ELSE 'line ' || line_number || ' matches first: ' || rule_type || ' ' || array_to_string(rule_database, ',')
                 || ' ' || array_to_string(rule_user, ',') || coalesce(' ' || rule_address, '')
                 || coalesce('/' || rule_netmask, '') || ' ' || rule_method END AS problem
  FROM first
 WHERE line_number IS NULL
    OR NOT (rule_type = type AND rule_database = ARRAY[database] AND rule_user = ARRAY["user"]
            AND rule_method = method
            AND (type = 'local' OR (rule_address = host(ip) AND rule_netmask = host(netmask(address::cidr)))))
 ORDER BY type, database, "user", ssl
