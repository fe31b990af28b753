-- gie_proxy.map: keeps Galaxy's interactive tools session map (the sqlite table gxitproxy) in a lua_shared_dict.
--
-- Only worker 0 reads the map, from a timer: every POLL_S it asks its kept read-only connection for
-- PRAGMA data_version (which changes on any other connection's commit, rollback journal or WAL) and reads the
-- sqlite header of the path (which changes when the file is replaced), and runs the full SELECT only then.
-- Requests never touch sqlite or DNS: they read the shared dict (gie_proxy.route).
--
-- The busy timeout is 0: while Galaxy holds the lock, the poll fails and is retried on the next tick, and the
-- old rows keep serving. The map is opened as a read-only URI, so a missing map is never created (it would be
-- owned by nginx's user, which would lock Galaxy out); while it is missing, no row is served.
--
-- Nothing here logs a key or a token: log lines name the map file, counts and sqlite's or the resolver's error.

local _M = {}

local DICT_NAME = "gie_proxy_map"
local POLL_S = 0.25          -- a commit is live (or gone) within about one tick
local RECONNECT_S = 30       -- reopen and reread anyway, in case the file was replaced under an identical header
local DNS_TTL_S = 60         -- how long a resolved hostname is trusted
local DNS_RETRY_S = 5        -- a row whose host does not resolve is retried this often
local SEP = "\0"             -- field separator of a stored row (no field can hold a NUL)
local HEADER_NAME = "^[!#$%%&'*+.^_`|~0-9A-Za-z-]+$"  -- an HTTP header name (RFC 9110 token)

local log, ERR, WARN, NOTICE = ngx.log, ngx.ERR, ngx.WARN, ngx.NOTICE

-- A stored row: token, IP literal (IPv6 in brackets), port, "1" when the backend wants the full path, and the
-- name of the header that gets the entry point's path ("" for none). The one home of this format.
function _M.encode(token, ip, port, in_url, header)
    return table.concat({ token, ip, tostring(port), in_url and "1" or "0", header or "" }, SEP)
end

function _M.decode(value)
    local a = value:find(SEP, 1, true)
    local b = value:find(SEP, a + 1, true)
    local c = value:find(SEP, b + 1, true)
    local d = value:find(SEP, c + 1, true)
    local header = value:sub(d + 1)
    return value:sub(1, a - 1), value:sub(a + 1, b - 1), tonumber(value:sub(b + 1, c - 1)),
        value:sub(c + 1, d - 1) == "1", header ~= "" and header or nil
end

-- JavaScript truthiness, as gx-it-proxy tests the fields of `info`.
local function truthy(v, null)
    return v ~= nil and v ~= null and v ~= false and v ~= 0 and v ~= "" and v == v
end

-- `info` as Galaxy writes it: {"requires_path_in_url": bool, "requires_path_in_header_named": str|null}.
local function parse_info(cjson, text)
    if type(text) ~= "string" or text == "" then
        return false, nil
    end
    local ok, info = pcall(cjson.decode, text)
    if not ok or type(info) ~= "table" then
        return nil
    end
    local header = info.requires_path_in_header_named
    if not truthy(header, cjson.null) then
        header = nil
    elseif type(header) ~= "string" or not header:find(HEADER_NAME) then
        return nil
    end
    return truthy(info.requires_path_in_url, cjson.null), header
end

-- sqlite URI of the map, read-only: never creates the file.
local function uri(path)
    return "file:" .. path:gsub("[^%w/._~-]", function(ch)
        return string.format("%%%02X", ch:byte())
    end) .. "?mode=ro"
end

local state = {
    path = nil,
    env = nil,        -- luasql environment
    conn = nil,       -- kept read-only connection
    opened = 0,       -- ngx.now() when conn was opened
    version = nil,    -- data_version of the last successful load, on conn
    header = nil,     -- first 100 bytes of the file at the last successful load
    dirty = true,     -- a load is owed (failed, or a host to retry)
    retry_at = nil,   -- when rows with unresolved hosts are retried
    stored = nil,     -- key -> value now in the dict (worker 0's shadow of it)
    dns = {},         -- hostname -> {ip, expires}, for the hosts of the last load
    skipped = 0,      -- rows left out at the last load
    problem = nil,    -- the last problem logged, to log each one once
}

local function note(level, msg)
    if state.problem ~= msg then
        state.problem = msg
        log(level, "gie_proxy map ", state.path, ": ", msg)
    end
end

local function disconnect()
    if state.conn then
        state.conn:close()
        state.conn = nil
    end
    state.version = nil
end

-- IP literal for set_current_peer, from an IP literal or a hostname (resolved through the system resolver, so
-- /etc/hosts counts; cached for DNS_TTL_S). Returns nil when it does not resolve.
local function address(host, now, used)
    if host:find("^%d+%.%d+%.%d+%.%d+$") then
        return host
    end
    local bare = host:match("^%[(.*)%]$") or host
    if bare:find(":", 1, true) then
        return "[" .. bare .. "]"
    end
    local cached = state.dns[host]
    if cached and cached.expires > now then
        used[host] = cached
        return cached.ip
    end
    local socket = require("socket")
    local found, err = socket.dns.getaddrinfo(host)
    local ip
    for _, entry in ipairs(found or {}) do
        if entry.family == "inet" then
            ip = entry.addr
            break
        end
        ip = ip or ("[" .. entry.addr .. "]")
    end
    if not ip then
        if not cached or cached.ip then
            log(WARN, "gie_proxy map: cannot resolve host ", host, ": ", err or "no address")
        end
        used[host] = { ip = nil, expires = now + DNS_RETRY_S }
        return nil
    end
    used[host] = { ip = ip, expires = now + DNS_TTL_S }
    return ip
end

-- Every row of the map, encoded, keyed by key (the last row of a key wins, as in gx-it-proxy; key_type is not
-- looked at). Returns nil, err when sqlite fails (locked, no table yet, ...).
local function read_rows(now)
    local cjson = require("cjson")
    local cur, err = state.conn:execute("SELECT key, token, host, port, info FROM gxitproxy")
    if not cur then
        return nil, err
    end
    local rows, skipped, unresolved, used = {}, 0, false, {}
    local row, ferr = cur:fetch({}, "a")
    while row do
        local key, token, host, port = row.key, row.token, row.host, tonumber(row.port)
        local in_url, header = parse_info(cjson, row.info)
        if type(key) ~= "string" or key == "" or type(token) ~= "string" or token == ""
            or type(host) ~= "string" or host == ""
            or not port or port < 1 or port > 65535 or port % 1 ~= 0 or in_url == nil then
            skipped = skipped + 1
        else
            local ip = address(host, now, used)
            if ip then
                rows[key] = _M.encode(token, ip, port, in_url, header)
            else
                unresolved = true
                skipped = skipped + 1
            end
        end
        row, ferr = cur:fetch({}, "a")
    end
    cur:close()
    if ferr then
        return nil, ferr
    end
    state.dns = used  -- forget hosts no row names any more
    if skipped ~= state.skipped then
        state.skipped = skipped
        log(WARN, "gie_proxy map ", state.path, ": ", skipped, " row(s) skipped (bad fields or unresolved host)")
    end
    state.retry_at = unresolved and now + DNS_RETRY_S or nil
    return rows
end

-- Make the dict hold exactly `rows`.
local function apply(dict, rows)
    local stored = state.stored
    if not stored then
        -- First load in this worker: the dict may hold rows from before a reload of nginx.
        stored = {}
        for _, key in ipairs(dict:get_keys(0)) do
            stored[key] = false
        end
    end
    for key in pairs(stored) do
        if rows[key] == nil then
            dict:delete(key)
            stored[key] = nil
        end
    end
    local failed = 0
    for key, value in pairs(rows) do
        if stored[key] ~= value then
            local ok = dict:safe_set(key, value)
            if ok then
                stored[key] = value
            else
                dict:delete(key)
                stored[key] = nil
                failed = failed + 1
            end
        end
    end
    state.stored = stored
    if failed > 0 then
        log(ERR, "gie_proxy map: ", failed, " row(s) did not fit in lua_shared_dict ", DICT_NAME, "; raise its size")
        return false
    end
    return true
end

local function scalar(sql)
    local cur, err = state.conn:execute(sql)
    if not cur then
        return nil, err
    end
    local value = cur:fetch()
    cur:close()
    return value
end

local function read_header(path)
    local fh, err = io.open(path, "rb")
    if not fh then
        return nil, err
    end
    local header = fh:read(100)
    fh:close()
    return header or ""
end

local function poll(dict)
    local now = ngx.now()
    local header, err = read_header(state.path)
    if not header then
        -- Missing or unreadable: serve nothing (a kept connection would still see a deleted file).
        disconnect()
        state.header, state.dirty = nil, true
        apply(dict, {})
        note(WARN, "not readable, no interactive tool is served until it is: " .. tostring(err))
        return
    end
    if state.conn and (header ~= state.header or now - state.opened >= RECONNECT_S) then
        disconnect()
    end
    if not state.conn then
        local luasql = require("luasql.sqlite3")
        state.env = state.env or luasql.sqlite3()
        local conn, cerr = state.env:connect(uri(state.path), 0)
        if not conn then
            note(WARN, "cannot open: " .. tostring(cerr))
            return
        end
        state.conn, state.opened, state.dirty = conn, now, true
    end
    local version, verr = scalar("PRAGMA data_version")
    if not version then
        note(NOTICE, "not read yet, retrying: " .. tostring(verr))
        return
    end
    if not state.dirty and version == state.version and not (state.retry_at and now >= state.retry_at) then
        return
    end
    local rows, rerr = read_rows(now)
    if not rows then
        -- Locked by a writer, or no table yet: keep serving the rows we have, retry on the next tick.
        state.dirty = true
        note(NOTICE, "not read yet, retrying: " .. tostring(rerr))
        return
    end
    local complete = apply(dict, rows)
    state.version, state.header, state.dirty = version, header, not complete
    note(NOTICE, "loaded")
end

local function tick(premature, dict)
    if premature then
        disconnect()
        return
    end
    local ok, err = pcall(poll, dict)
    if not ok then
        disconnect()
        state.dirty = true
        note(ERR, "poll failed: " .. tostring(err))
    end
end

-- init_worker_by_lua: worker 0 loads the map now and polls it every POLL_S.
function _M.init_worker(path)
    if ngx.worker.id() ~= 0 then
        return
    end
    local dict = ngx.shared[DICT_NAME]
    if not dict then
        log(ERR, "gie_proxy map: lua_shared_dict ", DICT_NAME, " is not defined")
        return
    end
    state.path = path
    local ok, err = ngx.timer.at(0, tick, dict)
    if ok then
        ok, err = ngx.timer.every(POLL_S, tick, dict)
    end
    if not ok then
        log(ERR, "gie_proxy map: cannot start the poll timer: ", err)
    end
end

return _M
