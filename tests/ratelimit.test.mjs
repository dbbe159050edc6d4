// Rate limits: per client and per caller address at the token endpoint and the sign-in page
// (there, per client means the sign-ins for an existing client's authorization request), on
// the Workers rate-limit binding; 429 with Retry-After, audited when tripped.
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

/** A sign-in form post from `ip`, returning to `next`. */
const signIn = (ip, next = "") =>
  w.fetch("/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": ip },
    body: new URLSearchParams({ username: "a", password: "b", next }).toString(),
  });

const tripTargets = async () => {
  const audit = await w.admin("GET", "/admin/v1/audit?action=ratelimit.trip");
  assert.equal(audit.status, 200, audit.text);
  return audit.body.events.map((e) => e.target);
};

test("an address over its limit at the sign-in page is audited as ratelimit.trip ip:<address>", async () => {
  const ip = "203.0.113.70";
  assert.ok(!(await tripTargets()).includes(`ip:${ip}`));
  for (let i = 0; i < 6; i++) assert.notEqual((await signIn(ip)).status, 429, `attempt ${i}`);
  assert.equal((await signIn(ip)).status, 429);
  assert.ok((await tripTargets()).includes(`ip:${ip}`));
});

test("sign-ins for an existing client count against that client from every address; made-up client ids count for nothing", async () => {
  const app = await w.client({ grant_types: ["authorization_code"], scopes: ["read"], redirect_uris: ["https://app.example.test/cb"], public: true });
  const authorize = (clientId) => `/oauth/authorize?response_type=code&client_id=${encodeURIComponent(clientId)}&redirect_uri=${encodeURIComponent("https://app.example.test/cb")}`;
  // Over the client limit (3) with an unknown id: nothing trips, so no key was made for it.
  for (let i = 0; i < 5; i++) assert.notEqual((await signIn(`192.0.2.${i}`, authorize("no-such-client"))).status, 429, `unknown client, attempt ${i}`);
  // Each attempt from an address of its own: only the client's budget can run out.
  for (let i = 0; i < 3; i++) assert.notEqual((await signIn(`192.0.2.${10 + i}`, authorize(app.client_id))).status, 429, `attempt ${i}`);
  const r = await signIn("192.0.2.20", authorize(app.client_id));
  assert.equal(r.status, 429);
  assert.equal(r.headers.get("retry-after"), "60");
  assert.match(await r.text(), /Too many sign-in attempts for this application/);
  // A sign-in for no client from a fresh address still gets the form.
  assert.notEqual((await signIn("192.0.2.21")).status, 429);
  // Audited under the client's sign-in key, apart from its token requests' budget.
  assert.ok((await tripTargets()).includes(`client:login:${app.client_id}`));
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
  // Coalesced per address and hour (tests/audit.test.mjs): the counts add up to the six.
  const counted = audit.body.events.filter((e) => e.target === ip).reduce((n, e) => n + e.count, 0);
  assert.equal(counted, 6, "refusals past the limit are not audited");
});
