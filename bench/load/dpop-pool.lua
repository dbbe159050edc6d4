-- GET with a DPoP-bound token, each request with the next proof of a pool, every proof used once
-- (the gateway-dpop scenario: a replayed proof would be refused). The warm-up and each run are
-- separate wrk processes: the count of proofs used so far is kept in BENCH_PROOFS .. ".used", so
-- a run goes on where the one before stopped. bench/run.mjs sets:
--   BENCH_TOKEN   the DPoP-bound access token
--   BENCH_PROOFS  a file with one DPoP proof a line, each for GET of the load's URL
local token = os.getenv("BENCH_TOKEN")
local state = os.getenv("BENCH_PROOFS") .. ".used"
local proofs = {}
for line in io.lines(os.getenv("BENCH_PROOFS")) do
  if #line > 0 then table.insert(proofs, line) end
end
local saved = io.open(state, "r")
used = saved and tonumber(saved:read("*l")) or 0
if saved then saved:close() end

request = function()
  used = used % #proofs + 1
  return wrk.format("GET", nil, { ["Authorization"] = "DPoP " .. token, ["DPoP"] = proofs[used] })
end

local threads = {}

setup = function(thread)
  table.insert(threads, thread)
end

done = function()
  local last = 0
  for _, thread in ipairs(threads) do
    last = math.max(last, thread:get("used") or 0)
  end
  local out = io.open(state, "w")
  out:write(tostring(last))
  out:close()
end
