// The log in workerd: every request ends with one JSON line on the worker's console (request
// id, route, outcome, status, duration), which never holds a client secret or a token.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startWorker, basic, ADMIN_TOKEN, KEY_ENCRYPTION_KEY } from "./harness.mjs";

let w;
const output = []; // every line workerd wrote, stdout and stderr

function collect(stream) {
  let rest = "";
  stream.on("data", (chunk) => {
    const lines = (rest + chunk.toString()).split("\n");
    rest = lines.pop();
    output.push(...lines);
  });
}

/** The JSON log lines of `requestId`, once `count` of them arrived. */
async function linesOf(requestId, count = 1) {
  for (let i = 0; i < 100; i++) {
    const found = output
      .map((line) => line.slice(line.indexOf("{")))
      .filter((line) => line.includes(`"request_id":"${requestId}"`))
      .map((line) => JSON.parse(line));
    if (found.length >= count) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`no log line of ${requestId}:\n${output.join("\n")}`);
}

before(async () => {
  w = await startWorker({ stdio: (stdout, stderr) => (collect(stdout), collect(stderr)) });
  await w.scope("read", "Read things");
});
after(async () => w?.stop());

test("a token request logs one line of its fields, without the secret or the token", async () => {
  const svc = await w.client({ scopes: ["read"] });
  const requestId = `e2e-${randomBytes(6).toString("hex")}`;
  const r = await w.form("/oauth/token", { grant_type: "client_credentials", scope: "read" }, {
    authorization: basic(svc.client_id, svc.client_secret),
    "cf-ray": requestId,
  });
  assert.equal(r.status, 200, r.text);
  const token = r.body.access_token;
  const [line, ...others] = await linesOf(requestId);
  assert.deepEqual(others, []);
  assert.deepEqual(Object.keys(line).sort(), ["duration_ms", "outcome", "request_id", "route", "status"]);
  assert.equal(line.route, "/oauth/token");
  assert.equal(line.outcome, "ok");
  assert.equal(line.status, 200);
  assert.ok(Number.isInteger(line.duration_ms) && line.duration_ms >= 0);

  // A refused request, and a path the gateway answers, end with their lines too.
  const refusedId = `e2e-${randomBytes(6).toString("hex")}`;
  const refused = await w.form("/oauth/token", { grant_type: "client_credentials" }, {
    authorization: basic(svc.client_id, "not-the-secret"),
    "cf-ray": refusedId,
  });
  assert.equal(refused.status, 401);
  const [refusal] = await linesOf(refusedId);
  assert.equal(refusal.outcome, "client_error");
  assert.equal(refusal.status, 401);
  const gatewayId = `e2e-${randomBytes(6).toString("hex")}`;
  const res = await w.fetch("/no/such/route", { headers: { "cf-ray": gatewayId } });
  assert.equal(res.status, 404);
  const [gateway] = await linesOf(gatewayId);
  assert.equal(gateway.route, "gateway");
  assert.equal(gateway.status, 404);

  const all = output.join("\n");
  for (const secret of [svc.client_secret, token, ...token.split("."), ADMIN_TOKEN, KEY_ENCRYPTION_KEY]) {
    assert.ok(!all.includes(secret), `the log holds a secret: ${secret}`);
  }
});
