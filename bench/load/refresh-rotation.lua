-- Refresh-token rotation: each request spends one refresh token from a pool and each answer's
-- new refresh token goes back into it. The pool lives in a file: each wrk run starts from what
-- the previous one left (a refresh token is single-use, so replaying the first pool would trip
-- reuse detection). bench/run.mjs sets:
--   BENCH_POOL       the pool file, one refresh token a line (rewritten when the run ends)
--   BENCH_CLIENT_ID  the public client the tokens belong to
local pool = os.getenv("BENCH_POOL")
local client_id = os.getenv("BENCH_CLIENT_ID")
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
queue = {}
for line in io.lines(pool) do
  if #line > 0 then table.insert(queue, line) end
end

local threads = {}
setup = function(thread) table.insert(threads, thread) end

done = function()
  local f = io.open(pool, "w")
  for _, t in ipairs(threads) do
    for _, token in ipairs(t:get("queue")) do f:write(token, "\n") end
  end
  f:close()
end

request = function()
  local token = table.remove(queue, 1) or "exhausted"
  return wrk.format("POST", "/oauth/token", headers, "grant_type=refresh_token&client_id=" .. client_id .. "&refresh_token=" .. token)
end

response = function(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then table.insert(queue, token) end
end
