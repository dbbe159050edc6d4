-- One fixed request, repeated: the token, /verify, introspection, gateway, ceiling, floor and
-- peer scenarios. bench/run.mjs sets the request through the environment:
--   BENCH_METHOD         the method (default POST)
--   BENCH_BODY           the body (default empty)
--   BENCH_AUTHORIZATION  the Authorization header, when set
--   BENCH_CONTENT_TYPE   the Content-Type header, when set
wrk.method = os.getenv("BENCH_METHOD") or "POST"
wrk.body = os.getenv("BENCH_BODY") or ""
local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization then wrk.headers["Authorization"] = authorization end
local content_type = os.getenv("BENCH_CONTENT_TYPE")
if content_type then wrk.headers["Content-Type"] = content_type end
