-- GET with a DPoP-bound token, each request with the next proof of a pool, every proof used once
-- (the gateway-dpop scenario: a replayed proof would be refused). bench/run.mjs sets:
--   BENCH_TOKEN   the DPoP-bound access token
--   BENCH_PROOFS  a file with one DPoP proof a line, each for GET of the load's URL
local token = os.getenv("BENCH_TOKEN")
local proofs = {}
for line in io.lines(os.getenv("BENCH_PROOFS")) do
  if #line > 0 then table.insert(proofs, line) end
end
local used = 0

request = function()
  used = used % #proofs + 1
  return wrk.format("GET", nil, { ["Authorization"] = "DPoP " .. token, ["DPoP"] = proofs[used] })
end
