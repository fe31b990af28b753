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
local RETRY_S = 5            -- a row left out (host not resolved, dict full) is retried this often
local THREAD_POOL = "default"  -- nginx's thread pool for hostname lookups
local SEP = "\0"             -- field separator of a stored row (no field can hold a NUL)
local HEADER_NAME = "^[!#$%%&'*+.^_`|~0-9A-Za-z-]+$"  -- an HTTP header name (RFC 9110 token)

local log, ERR, WARN, NOTICE, INFO = ngx.log, ngx.ERR, ngx.WARN, ngx.NOTICE, ngx.INFO

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
    dirty = true,     -- a load is owed (reconnected, a read failed, or a host was resolved)
    retry_at = nil,   -- when rows left out are retried
    stored = nil,     -- key -> value now in the dict (worker 0's shadow of it)
    dns = {},         -- hostname -> {ip, expires}, for the hosts of the last load
    pending = {},     -- hostname -> true while it is being resolved
    skipped = 0,      -- rows left out at the last load
    problem = nil,    -- the last problem logged, to log each one once
    threads = nil,    -- false once ngx.run_worker_thread turned out unusable
    busy = false,     -- a poll is running (a guard: timers may overlap)
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

-- Resolve `host` in the background and remember the answer; the next poll then reloads the map. The lookup runs
-- in a worker thread of THREAD_POOL (created by `aio threads` in the location part), so neither requests nor the
-- poll ever wait for a resolver; where no thread pool exists, it runs in its own timer (blocking worker 0).
local function resolve_job(premature, host)
    local resolve = require("gie_proxy.resolve")
    local ip, err
    if not premature and state.threads ~= false then
        local ok, a, b = ngx.run_worker_thread(THREAD_POOL, "gie_proxy.resolve", "lookup", host)
        if ok then
            ip, err = a, b
        else
            state.threads = false
            log(WARN, "gie_proxy map: resolving hostnames in worker 0, not in a worker thread: ", a)
        end
    end
    if not premature and state.threads == false then
        ip, err = resolve.lookup(host)
    end
    state.pending[host] = nil
    if premature then
        return
    end
    local now, old = ngx.now(), state.dns[host]
    if ip then
        state.dns[host] = { ip = ip, expires = now + DNS_TTL_S }
    else
        if not old or old.ip then
            log(WARN, "gie_proxy map: cannot resolve host ", host, ": ", err or "no address",
                old and old.ip and "; keeping its last address" or "")
        end
        -- A host that resolved before keeps its last address while the resolver fails.
        state.dns[host] = { ip = old and old.ip, expires = now + RETRY_S }
    end
    state.dirty = true
end

-- IP literal for set_current_peer, from an IP literal or a hostname (through the system resolver, so /etc/hosts
-- counts; cached for DNS_TTL_S, refreshed in the background). nil while a hostname is not resolved (yet).
local function address(host, now)
    if host:find("^%d+%.%d+%.%d+%.%d+$") then
        return host
    end
    local bare = host:match("^%[(.*)%]$") or host
    if bare:find(":", 1, true) then
        return "[" .. bare .. "]"
    end
    local cached = state.dns[host]
    if (not cached or cached.expires <= now) and not state.pending[host] then
        local ok, err = ngx.timer.at(0, resolve_job, host)
        if ok then
            state.pending[host] = true
        else
            log(ERR, "gie_proxy map: cannot start resolving ", host, ": ", err)
        end
    end
    return cached and cached.ip
end

-- Every row of the map, encoded, keyed by key (the last row of a key wins, as in gx-it-proxy; key_type is not
-- looked at). Returns nil, err when sqlite fails (locked, no table yet, ...). The cursor is closed at once: an
-- open cursor holds a read lock that would keep Galaxy from writing.
local function read_rows(now)
    local cur, err = state.conn:execute("SELECT key, token, host, port, info FROM gxitproxy")
    if not cur then
        return nil, err
    end
    local raw, row, ferr = {}, cur:fetch({}, "a"), nil
    while row do
        raw[#raw + 1] = row
        row, ferr = cur:fetch({}, "a")
    end
    cur:close()
    if ferr then
        return nil, ferr
    end
    local cjson = require("cjson")
    local infos = {}  -- most rows carry the same info text
    local rows, skipped, unresolved, named = {}, 0, false, {}
    for _, r in ipairs(raw) do
        local key, token, host, port = r.key, r.token, r.host, tonumber(r.port)
        local info = r.info or ""
        if not infos[info] then
            infos[info] = { parse_info(cjson, info) }
        end
        local in_url, header = infos[info][1], infos[info][2]
        if type(key) ~= "string" or key == "" or type(token) ~= "string" or token == ""
            or type(host) ~= "string" or host == ""
            or not port or port < 1 or port > 65535 or port % 1 ~= 0 or in_url == nil then
            skipped = skipped + 1
        else
            named[host] = true
            local ip = address(host, now)
            if ip then
                rows[key] = _M.encode(token, ip, port, in_url, header)
            else
                unresolved = true
                skipped = skipped + 1
            end
        end
    end
    for host in pairs(state.dns) do
        if not named[host] then
            state.dns[host] = nil  -- forget hosts no row names any more
        end
    end
    if skipped ~= state.skipped then
        state.skipped = skipped
        log(WARN, "gie_proxy map ", state.path, ": ", skipped, " row(s) skipped (bad fields or unresolved host)")
    end
    state.retry_at = unresolved and now + RETRY_S or nil
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
    ngx.update_time()
    local started = ngx.now()
    local rows, rerr = read_rows(now)
    if not rows then
        -- Locked by a writer, or no table yet: keep serving the rows we have, retry on the next tick.
        state.dirty = true
        note(NOTICE, "not read yet, retrying: " .. tostring(rerr))
        return
    end
    if not apply(dict, rows) then
        state.retry_at = math.min(state.retry_at or now + RETRY_S, now + RETRY_S)
    end
    state.version, state.header, state.dirty = version, header, false
    note(NOTICE, "loaded")
    ngx.update_time()
    log(INFO, "gie_proxy map: read in ", math.floor((ngx.now() - started) * 1000 + 0.5), " ms")
end

local function tick(premature, dict)
    if premature then
        disconnect()
        return
    end
    if state.busy then
        return
    end
    state.busy = true
    local ok, err = pcall(poll, dict)
    state.busy = false
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
