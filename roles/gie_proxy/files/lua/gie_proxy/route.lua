-- gie_proxy.route: routes one request by the session map that gie_proxy.map keeps in the shared dict, the way
-- gx-it-proxy 0.2.3 does, with its known holes closed:
--   * an unknown key, a wrong token or a malformed URL ends here as 404 (gx-it-proxy proxies those to
--     127.0.0.1:80 with the user's Host), websocket upgrades included;
--   * no CORS header is added (gx-it-proxy reflects any Origin with credentials);
--   * nothing is logged here: in a request, every ngx.log line carries the request line and the Host, which hold
--     the key and the token.
-- A found row sets ngx.var.gie_uri (the URI for proxy_pass) and the peer for balancer(), which the upstream
-- gie_proxy_backend calls; its keepalive pool then reuses backend connections per peer address.

local map = require("gie_proxy.map")
local balancer = require("ngx.balancer")

local _M = {}

local rows = ngx.shared.gie_proxy_map

local function not_found()
    return ngx.exit(ngx.HTTP_NOT_FOUND)
end

-- The row of `key` if its token is `token`, else nil. Lua strings are interned, so == compares in constant time.
local function lookup(key, token)
    if key == "" or token == "" then
        return nil
    end
    local value = rows:get(key)
    if not value then
        return nil
    end
    local stored, ip, port, in_url, header = map.decode(value)
    if stored ~= token then
        return nil
    end
    return ip, port, in_url, header
end

local function target(ip, port, uri)
    local ctx = ngx.ctx
    ctx.gie_ip, ctx.gie_port = ip, port
    ngx.var.gie_uri = uri
end

-- Path entry points: <prefix>/<key>/<token>[/<rest>][?<args>], cut from the raw request URI (so an encoded
-- %2F stays encoded, as gx-it-proxy sees it). `canonical` is the prefix Galaxy hands out (the path prefix, which
-- differs from `prefix` under the legacy prefix): a backend that requires the path in its URL, or in a header,
-- gets it under that prefix, exactly as on the path prefix itself.
function _M.path(prefix, canonical)
    prefix = prefix:gsub("/+$", "")
    canonical = (canonical or prefix):gsub("/+$", "")
    local raw = ngx.var.request_uri
    local query = raw:find("?", 1, true)
    local path = query and raw:sub(1, query - 1) or raw
    local args = query and raw:sub(query) or ""
    if path:sub(1, #prefix) ~= prefix then
        return not_found()
    end
    local key, token, rest = path:match("^/([^/]*)/([^/]*)(.*)$", #prefix + 1)
    if not key then
        return not_found()
    end
    local ip, port, in_url, header = lookup(key, token)
    if not ip then
        return not_found()
    end
    if header then
        ngx.req.set_header(header, canonical .. "/" .. key .. "/" .. token)
    end
    if in_url then
        target(ip, port, canonical .. path:sub(#prefix + 1) .. args)
    else
        target(ip, port, (rest == "" and "/" or rest) .. args)
    end
end

-- Subdomain entry points: <key>-<token>.<anything>; the URI goes to the backend as it came.
function _M.subdomain()
    local host = ngx.var.host
    local dash = host:find("-", 1, true)
    local dot = dash and host:find(".", dash + 1, true)
    if not dot then
        return not_found()
    end
    local key = host:sub(1, dash - 1)
    if key:find(".", 1, true) then
        return not_found()
    end
    local ip, port = lookup(key, host:sub(dash + 1, dot - 1))
    if not ip then
        return not_found()
    end
    target(ip, port, ngx.var.request_uri)
end

-- balancer_by_lua of the upstream gie_proxy_backend.
function _M.balancer()
    local ctx = ngx.ctx
    if not ctx.gie_ip or not balancer.set_current_peer(ctx.gie_ip, ctx.gie_port) then
        return ngx.exit(ngx.HTTP_INTERNAL_SERVER_ERROR)
    end
end

return _M
