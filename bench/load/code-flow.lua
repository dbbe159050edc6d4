-- The authorization-code flow on one connection: a signed-in person with remembered consent
-- asks /oauth/authorize for a code (302 with the code in Location), and the next request
-- redeems it at /oauth/token; half the requests are each. bench/run.mjs sets:
--   BENCH_COOKIE          the signed-in person's Cookie header
--   BENCH_AUTHORIZE_PATH  the /oauth/authorize path and query (PKCE S256)
--   BENCH_EXCHANGE_BODY   the token request's form body up to and including "code="
local authorize = { ["Cookie"] = os.getenv("BENCH_COOKIE") }
local authorize_path = os.getenv("BENCH_AUTHORIZE_PATH")
local exchange_body = os.getenv("BENCH_EXCHANGE_BODY")
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local codes = {}

request = function()
  local code = table.remove(codes)
  if code == nil then return wrk.format("GET", authorize_path, authorize) end
  return wrk.format("POST", "/oauth/token", headers, exchange_body .. code)
end

response = function(status, headers, body)
  local location = headers["location"] or headers["Location"]
  if status == 302 and location then
    local code = location:match("[?&]code=([^&]+)")
    if code then table.insert(codes, code) end
  end
end
