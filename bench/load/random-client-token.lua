-- Client-credentials tokens, each request naming a random client among N registered ones
-- (client_secret_post), so most client lookups miss the isolate cache. bench/run.mjs sets:
--   BENCH_CLIENTS        N; the clients are <BENCH_CLIENT_PREFIX>0 .. <BENCH_CLIENT_PREFIX>N-1
--   BENCH_CLIENT_PREFIX  the client ids' prefix
--   BENCH_SECRET         the secret every one of them shares
local n = tonumber(os.getenv("BENCH_CLIENTS"))
local prefix = os.getenv("BENCH_CLIENT_PREFIX")
local secret = os.getenv("BENCH_SECRET")
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

request = function()
  local body = "grant_type=client_credentials&client_id=" .. prefix .. math.random(0, n - 1) .. "&client_secret=" .. secret
  return wrk.format("POST", "/oauth/token", headers, body)
end
