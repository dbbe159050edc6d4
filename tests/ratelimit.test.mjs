// Rate limits: per authenticated client and per caller address at the token endpoint and the
// sign-in page, on the Workers rate-limit binding; 429 with Retry-After, audited when tripped.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, basic } from "./harness.mjs";

let w;
let svc;

before(async () => {
  w = await startWorker({ limits: { client: 3, ip: 6 } });
  await w.scope("read");
  svc = await w.client({ scopes: ["read"] });
});
after(async () => w?.stop());

const tokenFrom = (ip, secret = svc.client_secret) =>
  w.form("/oauth/token", { grant_type: "client_credentials" }, {
    authorization: basic(svc.client_id, secret),
    "cf-connecting-ip": ip,
  });

test("a client over its limit gets 429 with Retry-After, and the trip is audited", async () => {
  // Failed authentications count against the address only, never against the client.
  assert.equal((await tokenFrom("198.51.100.7", "wrong")).status, 401);
  for (let i = 0; i < 3; i++) assert.equal((await tokenFrom(`198.51.100.${i + 1}`)).status, 200);
  const r = await tokenFrom("198.51.100.9");
  assert.equal(r.status, 429);
  assert.equal(r.headers.get("retry-after"), "60");
  assert.equal(r.headers.get("cache-control"), "no-store");
  assert.equal(r.body.error, "temporarily_unavailable");
  const audit = await w.admin("GET", "/admin/v1/audit?action=ratelimit.trip");
  assert.equal(audit.status, 200);
  assert.ok(audit.body.events.some((e) => e.target === `client:${svc.client_id}`), audit.text);
});

test("an address over its limit gets 429 at the token endpoint and the sign-in page", async () => {
  const ip = "203.0.113.50";
  const statuses = [];
  for (let i = 0; i < 6; i++) {
    const res = await w.fetch("/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": ip },
      body: "username=a&password=b",
    });
    statuses.push(res.status);
  }
  assert.ok(statuses.every((s) => s !== 429), statuses.join(","));
  const login = await w.fetch("/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": ip },
    body: "username=a&password=b",
  });
  assert.equal(login.status, 429);
  assert.equal(login.headers.get("retry-after"), "60");
  const token = await tokenFrom(ip);
  assert.equal(token.status, 429);
  // Another address is unaffected.
  const other = await w.fetch("/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": "203.0.113.51" },
    body: "username=a&password=b",
  });
  assert.notEqual(other.status, 429);
});

test("failed admin authentications count against the address: 429 once over, the right token still works", async () => {
  const ip = "203.0.113.60";
  const wrong = () => w.admin("GET", "/admin/v1/clients", undefined, { token: "guess", headers: { "cf-connecting-ip": ip } });
  for (let i = 0; i < 6; i++) assert.equal((await wrong()).status, 401, `attempt ${i}`);
  const r = await wrong();
  assert.equal(r.status, 429);
  assert.equal(r.headers.get("retry-after"), "60");
  assert.equal(r.body.error, "rate_limited");
  const audit = await w.admin("GET", "/admin/v1/audit?action=admin.auth_failed", undefined, { headers: { "cf-connecting-ip": ip } });
  assert.equal(audit.status, 200, "an authenticated operator is not limited");
  assert.equal(audit.body.events.filter((e) => JSON.stringify(e).includes(ip)).length, 6, "refusals past the limit are not audited");
});
