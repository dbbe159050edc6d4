// Rate limits: per client and per caller address at the token, revocation and introspection
// endpoints and the sign-in page (there, per client means the sign-ins for an existing client's
// authorization request), on the Workers rate-limit binding; 429 with Retry-After, audited when
// tripped. What a stranger can do in a client's name (failed grants of a public client, sign-in
// posts without a good CSRF token) never spends that client's budget.
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { startWorker, basic, csrfOf } from "./harness.mjs";

let w;
let svc;

before(async () => {
  w = await startWorker({ limits: { client: 3, ip: 6 } });
  await w.scope("read");
  svc = await w.client({ scopes: ["read"] });
});
after(async () => w?.stop());

// The binding counts in fixed windows of the wall clock's minutes (Miniflare clears every bucket
// when Date.now() enters a new minute), so a test that straddled a minute's end would see its
// counts start over. Each test (a few hundred ms to 2 s) starts with 15 s of its window left:
// this waits for the binding's window, not for a condition under test.
beforeEach(async () => {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 15_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
});

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

/** The authorization request of `clientId`, as a sign-in's `next`. */
const authorize = (clientId) => `/oauth/authorize?response_type=code&client_id=${encodeURIComponent(clientId)}&redirect_uri=${encodeURIComponent("https://app.example.test/cb")}`;

/**
 * A sign-in from `ip` through the form, with its session and CSRF token, returning to `next`,
 * for a username of its own (so that no lockout answers first).
 */
async function signInWithSession(ip, next) {
  const page = await w.fetch(`/login?next=${encodeURIComponent(next)}`, { headers: { "cf-connecting-ip": ip } });
  const cookie = page.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const csrf_token = csrfOf(await page.text());
  return w.fetch("/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": ip, cookie },
    body: new URLSearchParams({ username: `nobody-${ip}`, password: "b", next, csrf_token }).toString(),
  });
}

const codeApp = () => w.client({ grant_types: ["authorization_code"], scopes: ["read"], redirect_uris: ["https://app.example.test/cb"], public: true });

test("sign-ins for an existing client count against that client from every address; made-up client ids count for nothing", async () => {
  const app = await codeApp();
  // Over the client limit (3) with an unknown id: nothing trips, so no key was made for it.
  for (let i = 0; i < 5; i++) assert.notEqual((await signInWithSession(`192.0.2.${i}`, authorize("no-such-client"))).status, 429, `unknown client, attempt ${i}`);
  // Each attempt from an address of its own: only the client's budget can run out.
  for (let i = 0; i < 3; i++) assert.equal((await signInWithSession(`192.0.2.${10 + i}`, authorize(app.client_id))).status, 401, `attempt ${i}`);
  const r = await signInWithSession("192.0.2.20", authorize(app.client_id));
  assert.equal(r.status, 429);
  assert.equal(r.headers.get("retry-after"), "60");
  assert.match(await r.text(), /Too many sign-in attempts for this application/);
  // A sign-in for no client from a fresh address still gets the form.
  assert.notEqual((await signIn("192.0.2.21")).status, 429);
  // Audited under the client's sign-in key, apart from its token requests' budget.
  assert.ok((await tripTargets()).includes(`client:login:${app.client_id}`));
});

test("sign-in posts that fail the CSRF check never spend the client's sign-in budget", async () => {
  const app = await codeApp();
  // A stranger's posts in the client's name, without a session: refused, and not counted.
  for (let i = 0; i < 10; i++) assert.equal((await signIn(`192.0.2.${100 + i}`, authorize(app.client_id))).status, 403, `forged post ${i}`);
  // The client's real users still have their whole budget (3).
  for (let i = 0; i < 3; i++) assert.equal((await signInWithSession(`192.0.2.${120 + i}`, authorize(app.client_id))).status, 401, `sign-in ${i}`);
  assert.equal((await signInWithSession("192.0.2.130", authorize(app.client_id))).status, 429);
});

test("failed grants of a public client never spend its budget; its successful grants do", async () => {
  const user = await w.admin("POST", "/admin/v1/users", { username: "pat", password: "correct horse battery" });
  assert.equal(user.status, 201, user.text);
  const app = await w.client({ grant_types: ["password", "refresh_token"], scopes: ["read"], public: true });
  const grant = (ip, params) => w.form("/oauth/token", { client_id: app.client_id, ...params }, { "cf-connecting-ip": ip });
  // What anyone who knows the id can send: made-up refresh tokens and codes, grants the client
  // may not use, wrong passwords, malformed requests. Four times the budget, none counted.
  const failures = [
    { grant_type: "refresh_token", refresh_token: "3.made-up" },
    { grant_type: "refresh_token" },
    { grant_type: "authorization_code", code: "3.made-up", code_verifier: "v".repeat(43) },
    { grant_type: "client_credentials" },
    { grant_type: "no-such-grant" },
    { grant_type: "password", username: "nobody", password: "wrong" },
  ];
  for (let i = 0; i < 12; i++) {
    const r = await grant(`198.18.0.${i}`, failures[i % failures.length]);
    assert.ok(r.status === 400 || r.status === 401, `failure ${i}: ${r.status} ${r.text}`);
  }
  const success = (ip) => grant(ip, { grant_type: "password", username: "pat", password: "correct horse battery" });
  for (let i = 0; i < 3; i++) assert.equal((await success(`198.18.1.${i}`)).status, 200, `grant ${i}`);
  // The grant that passes the limit is still answered (its work is done) and trips it...
  assert.equal((await success("198.18.1.3")).status, 200);
  // ...and every request after it is refused, before any work.
  const r = await success("198.18.1.4");
  assert.equal(r.status, 429);
  assert.equal(r.headers.get("retry-after"), "60");
  assert.ok((await tripTargets()).includes(`client:${app.client_id}`));
});

test("revocation and introspection count against the address and against the client, each on a budget of its own", async () => {
  const rs = await w.client({ scopes: ["read"] });
  const auth = { authorization: basic(rs.client_id, rs.client_secret) };
  for (const [path, key] of [["/oauth/introspect", "introspect"], ["/oauth/revoke", "revoke"]]) {
    // Each call from an address of its own: only the client's budget (3) can run out.
    for (let i = 0; i < 3; i++) assert.equal((await w.form(path, { token: "not-a-token" }, { ...auth, "cf-connecting-ip": `198.19.1.${i}` })).status, 200, `${path} ${i}`);
    const r = await w.form(path, { token: "not-a-token" }, { ...auth, "cf-connecting-ip": "198.19.1.9" });
    assert.equal(r.status, 429, path);
    assert.equal(r.headers.get("retry-after"), "60");
    assert.equal(r.headers.get("cache-control"), "no-store");
    assert.equal(r.body.error, "temporarily_unavailable");
    assert.ok((await tripTargets()).includes(`client:${key}:${rs.client_id}`), key);
  }
  // The client's token requests have a budget of their own.
  const token = await w.form("/oauth/token", { grant_type: "client_credentials" }, { ...auth, "cf-connecting-ip": "198.19.1.10" });
  assert.equal(token.status, 200, token.text);
  // Per address, before any work: a public client's revocations (which its id alone may
  // send) and anyone's introspection count against the caller's address (6).
  const pub = await codeApp();
  const ip = "198.19.2.1";
  for (let i = 0; i < 6; i++) assert.equal((await w.form("/oauth/revoke", { token: "not-a-token", client_id: pub.client_id }, { "cf-connecting-ip": ip })).status, 200, `revoke ${i}`);
  assert.equal((await w.form("/oauth/revoke", { token: "not-a-token", client_id: pub.client_id }, { "cf-connecting-ip": ip })).status, 429);
  assert.equal((await w.form("/oauth/introspect", { token: "not-a-token" }, { ...auth, "cf-connecting-ip": ip })).status, 429);
  assert.equal((await w.form("/oauth/introspect", { token: "not-a-token" }, { "cf-connecting-ip": ip, "content-type": "text/plain" })).status, 429, "refused before the form is parsed");
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
