-- POST /verify with a bearer token picked at random from a pool (the scale and revocation
-- scenarios). bench/run.mjs sets:
--   BENCH_TOKENS  a file with one access token a line
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
  if #line > 0 then table.insert(tokens, line) end
end

request = function()
  return wrk.format("POST", "/verify", { ["Authorization"] = "Bearer " .. tokens[math.random(1, #tokens)] })
end
