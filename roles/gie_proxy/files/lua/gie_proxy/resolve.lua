-- gie_proxy.resolve: one hostname to an IP literal through the system resolver (getaddrinfo: /etc/hosts, then
-- DNS, as nsswitch says), IPv4 preferred, IPv6 in brackets. gie_proxy.map runs it in a worker thread
-- (ngx.run_worker_thread), so a slow resolver never holds up worker 0's requests; this module must therefore
-- stay within what a worker thread's Lua may use (no ngx.* calls).

local _M = {}

function _M.lookup(host)
    local socket = require("socket")
    local found, err = socket.dns.getaddrinfo(host)
    local ip
    for _, entry in ipairs(found or {}) do
        if entry.family == "inet" then
            return entry.addr
        end
        ip = ip or ("[" .. entry.addr .. "]")
    end
    return ip, ip == nil and (err or "no address") or nil
end

return _M
