// User grants: authorization code + PKCE with login and consent pages, refresh rotation with
// reuse detection, password and implicit grants, grant review and revocation, lockouts, the
// upstream-login mode, and a real browser (headless Chromium) going through it all.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { randomBytes } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as oauth from "oauth4webapi";
import { startWorker, basic, pkce, Person, csrfOf, hiddenFieldsOf } from "./harness.mjs";

const PASSWORD = "correct horse battery";
const CB = "https://app.example.test/cb";
const LOOPBACK_CB = "http://127.0.0.1:8400/cb";

let w;
let alice; // { id, username }
let spa; // public client: authorization_code + refresh_token
let web; // confidential client: authorization_code + refresh_token
let other; // another public client with the same redirect URI


async function user(username, password = PASSWORD) {
  const r = await w.admin("POST", "/admin/v1/users", { username, password });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

/** A client of the code flow with both redirect URIs, unless `fields` say otherwise. */
const codeClient = (fields) =>
  w.client({
    grant_types: ["authorization_code", "refresh_token"],
    scopes: ["read", "write"],
    redirect_uris: [CB, LOOPBACK_CB],
    ...fields,
  });

before(async () => {
  // The longest retry window, so the concurrent-retry tests hold on a slow machine too.
  w = await startWorker({ bindings: { REFRESH_RETRY_WINDOW_MS: "10000" } });
  await w.scope("read", "Read your documents");
  await w.scope("write", "Change your documents");
  alice = await user("alice");
  spa = await codeClient({ name: "Photo Printer", public: true });
  web = await codeClient({ name: "Web Dashboard" });
  other = await codeClient({ name: "Other App", public: true });
});
after(async () => w?.stop());

/** A person with a cookie jar, driving the pages over plain HTTP (alice unless told). */
class Agent extends Person {
  constructor() {
    super(w);
  }
  login(username = "alice", password = PASSWORD, next) {
    return super.login(username, password, next);
  }
}

const csrf = csrfOf;
const hiddenFields = hiddenFieldsOf;

function authorizeUrl(client, params = {}) {
  const q = new URLSearchParams({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: CB,
    scope: "read",
    state: "st-" + randomBytes(4).toString("hex"),
    code_challenge_method: "S256",
    ...params,
  });
  for (const [k, v] of Object.entries(params)) if (v === undefined) q.delete(k);
  return "/oauth/authorize?" + q.toString();
}

/** Signs in (if needed), consents, and answers the redirect's query parameters. */
async function getCode(agent, client, params = {}) {
  const { verifier, challenge } = pkce();
  const url = authorizeUrl(client, { code_challenge: challenge, ...params });
  let r = await agent.get(url);
  if (r.status === 303 && r.location.startsWith("/login")) {
    r = await agent.login("alice", PASSWORD, new URL(r.location, w.url).searchParams.get("next"));
    assert.equal(r.status, 303, r.html);
    r = await agent.get(r.location);
  }
  if (r.status === 200) {
    assert.match(r.html, /name="decision" value="allow"/);
    r = await agent.post("/oauth/authorize", { ...hiddenFields(r.html), decision: "allow" });
  }
  assert.equal(r.status, 302, r.html);
  const loc = new URL(r.location);
  return { loc, params: loc.searchParams, verifier, code: loc.searchParams.get("code") };
}

function redeem(client, code, verifier, extra = {}) {
  const params = { grant_type: "authorization_code", code, redirect_uri: CB, code_verifier: verifier, ...extra };
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete params[k];
  if (client.client_secret) return w.form("/oauth/token", params, { authorization: basic(client.client_id, client.client_secret) });
  return w.form("/oauth/token", { ...params, client_id: client.client_id });
}

/** A refresh by `client`; `headers` may name the caller (`cf-connecting-ip`). */
function refresh(client, refresh_token, extra = {}, headers = {}) {
  const params = { grant_type: "refresh_token", refresh_token, ...extra };
  if (client.client_secret) return w.form("/oauth/token", params, { authorization: basic(client.client_id, client.client_secret), ...headers });
  return w.form("/oauth/token", { ...params, client_id: client.client_id }, headers);
}

async function tokens(agent = new Agent(), client = spa, params = {}) {
  const { code, verifier } = await getCode(agent, client, params);
  const r = await redeem(client, code, verifier);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

const verifyStatus = async (at) =>
  (await w.fetch("/verify", { method: "POST", headers: { authorization: `Bearer ${at}` } })).status;

describe("authorization code with PKCE", () => {
  test("a public client gets tokens through oauth4webapi with state and iss checked", async () => {
    const as = await oauth.processDiscoveryResponse(
      new URL(w.url),
      await oauth.discoveryRequest(new URL(w.url), { algorithm: "oauth2", [oauth.allowInsecureRequests]: true }),
    );
    assert.equal(as.authorization_endpoint, `${w.url}/oauth/authorize`);
    assert.deepEqual(as.code_challenge_methods_supported, ["S256"]);
    assert.equal(as.authorization_response_iss_parameter_supported, true);
    const client = { client_id: spa.client_id };
    const agent = new Agent();
    const state = oauth.generateRandomState();
    const { loc, verifier } = await getCode(agent, spa, { state });
    assert.equal(loc.origin + loc.pathname, CB);
    assert.equal(loc.searchParams.get("iss"), w.url);
    assert.equal(loc.searchParams.get("state"), state);
    assert.ok(loc.searchParams.get("code").length >= 43);
    const params = oauth.validateAuthResponse(as, client, loc, state);
    const res = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, CB, verifier, {
      [oauth.allowInsecureRequests]: true,
    });
    const body = await oauth.processAuthorizationCodeResponse(as, client, res);
    assert.equal(body.token_type.toLowerCase(), "bearer");
    assert.ok(body.refresh_token);
    assert.equal(body.scope, "read");
    const claims = JSON.parse(Buffer.from(body.access_token.split(".")[1], "base64url"));
    assert.equal(claims.sub, alice.id);
    assert.equal(claims.client_id, spa.client_id);
    assert.equal(claims.scope, "read");
    assert.equal(await verifyStatus(body.access_token), 200);
  });

  test("a confidential client authenticates and uses PKCE too", async () => {
    const t = await tokens(new Agent(), web);
    assert.ok(t.access_token && t.refresh_token);
    const { code, verifier } = await getCode(new Agent(), web);
    const r = await w.form("/oauth/token", { grant_type: "authorization_code", code, redirect_uri: CB, code_verifier: verifier, client_id: web.client_id });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, "invalid_client");
  });

  test("a replayed code fails with invalid_grant and revokes what it issued", async () => {
    const { code, verifier } = await getCode(new Agent(), spa);
    const first = await redeem(spa, code, verifier);
    assert.equal(first.status, 200);
    assert.equal(await verifyStatus(first.body.access_token), 200);
    const again = await redeem(spa, code, verifier);
    assert.equal(again.status, 400);
    assert.equal(again.body.error, "invalid_grant");
    assert.equal(await verifyStatus(first.body.access_token), 401);
    const r = await refresh(spa, first.body.refresh_token);
    assert.equal(r.body.error, "invalid_grant");
  });

  test("a code is bound to its client and redirect URI", async () => {
    let { code, verifier } = await getCode(new Agent(), spa);
    let r = await redeem(other, code, verifier);
    assert.equal(r.body.error, "invalid_grant");
    ({ code, verifier } = await getCode(new Agent(), spa));
    r = await redeem(spa, code, verifier, { redirect_uri: LOOPBACK_CB });
    assert.equal(r.body.error, "invalid_grant");
  });

  test("redirect_uri left out of the authorization request may be left out or repeated at the token endpoint (RFC 6749 §4.1.3)", async () => {
    const single = await codeClient({ name: "Single Redirect", public: true, redirect_uris: [CB] });
    const agent = new Agent();
    let { code, verifier, loc } = await getCode(agent, single, { redirect_uri: undefined });
    assert.equal(loc.origin + loc.pathname, CB, "the one registered URI is used");
    let r = await redeem(single, code, verifier);
    assert.equal(r.status, 200, r.text);
    ({ code, verifier } = await getCode(agent, single, { redirect_uri: undefined }));
    r = await redeem(single, code, verifier, { redirect_uri: undefined });
    assert.equal(r.status, 200, r.text);
    ({ code, verifier } = await getCode(agent, single, { redirect_uri: undefined }));
    r = await redeem(single, code, verifier, { redirect_uri: CB + "/other" });
    assert.equal(r.body.error, "invalid_grant");
    // Named in the request, it must be repeated.
    ({ code, verifier } = await getCode(agent, single));
    r = await redeem(single, code, verifier, { redirect_uri: undefined });
    assert.equal(r.body.error, "invalid_grant");
  });

  test("PKCE downgrade: no challenge or a plain challenge is refused at the redirect", async () => {
    const agent = new Agent();
    await agent.login();
    for (const params of [
      { code_challenge: undefined, code_challenge_method: undefined },
      { code_challenge: "a".repeat(43), code_challenge_method: "plain" },
      { code_challenge: "a".repeat(43), code_challenge_method: undefined },
    ]) {
      const r = await agent.get(authorizeUrl(spa, { state: "s1", ...params }));
      assert.equal(r.status, 302, JSON.stringify(params));
      const loc = new URL(r.location);
      assert.equal(loc.origin + loc.pathname, CB);
      assert.equal(loc.searchParams.get("error"), "invalid_request");
      assert.equal(loc.searchParams.get("state"), "s1");
      assert.equal(loc.searchParams.get("iss"), w.url);
    }
  });

  test("PKCE: a missing or wrong code_verifier fails with invalid_grant", async () => {
    let { code } = await getCode(new Agent(), spa);
    let r = await redeem(spa, code, undefined, { code_verifier: "" });
    assert.equal(r.body.error, "invalid_grant");
    ({ code } = await getCode(new Agent(), spa));
    r = await redeem(spa, code, pkce().verifier);
    assert.equal(r.body.error, "invalid_grant");
  });

  test("redirect URI variants are refused on a page, never redirected", async () => {
    const agent = new Agent();
    await agent.login();
    const variants = [
      "https://app.example.test/cb/",
      "https://APP.example.test/cb",
      "https://app.example.test/CB",
      "https://app.example.test/cb/extra",
      "https://app.example.test/cb?x=1",
      "https://app.example.test/cb#frag",
      "https://app.example.test@evil.example/cb",
      "https://app.example.test:8443/cb",
      "http://app.example.test/cb",
      "https://evil.example/cb",
      "http://127.0.0.1:8400/cb/",
      "http://localhost:8400/cb",
    ];
    for (const redirect_uri of variants) {
      const r = await agent.get(authorizeUrl(spa, { redirect_uri, code_challenge: pkce().challenge }));
      assert.equal(r.status, 400, redirect_uri);
      assert.equal(r.location, null, redirect_uri);
      assert.match(r.res.headers.get("content-type"), /text\/html/);
      assert.match(r.html, /redirect URI is not registered/);
    }
    const unknown = await agent.get(authorizeUrl({ client_id: "nobody" }, { code_challenge: pkce().challenge }));
    assert.equal(unknown.status, 400);
    assert.equal(unknown.location, null);
  });

  test("a loopback redirect URI may use another port (RFC 8252 §7.3)", async () => {
    const redirect_uri = "http://127.0.0.1:53124/cb";
    const { loc, code, verifier } = await getCode(new Agent(), spa, { redirect_uri });
    assert.equal(loc.origin, "http://127.0.0.1:53124");
    const r = await redeem(spa, code, verifier, { redirect_uri });
    assert.equal(r.status, 200, r.text);
  });

  test("errors after the redirect URI is validated go back to the client", async () => {
    const agent = new Agent();
    await agent.login();
    let r = await agent.get(authorizeUrl(spa, { scope: "admin", code_challenge: pkce().challenge, state: "x" }));
    let loc = new URL(r.location);
    assert.equal(loc.searchParams.get("error"), "invalid_scope");
    assert.equal(loc.searchParams.get("state"), "x");
    r = await agent.get(authorizeUrl(spa, { response_type: "id_token", code_challenge: pkce().challenge }));
    assert.equal(new URL(r.location).searchParams.get("error"), "unsupported_response_type");
  });

  test("twenty concurrent redemptions of one code give exactly one success", async () => {
    const { code, verifier } = await getCode(new Agent(), spa);
    const results = await Promise.all(Array.from({ length: 20 }, () => redeem(spa, code, verifier)));
    assert.equal(results.filter((r) => r.status === 200).length, 1);
    assert.ok(results.filter((r) => r.status !== 200).every((r) => r.body.error === "invalid_grant"));
  });
});

describe("login and consent pages", () => {
  test("pages are strict: CSP, no framing, no caching, accessible labels", async () => {
    const r = await new Agent().get("/login");
    const csp = r.res.headers.get("content-security-policy");
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /form-action 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(r.res.headers.get("cache-control"), "no-store");
    assert.match(r.html, /<label for="username">/);
    assert.match(r.html, /<label for="password">/);
    assert.doesNotMatch(r.html, /<script|https?:\/\/(?!www\.w3)/);
  });

  test("the session cookie is HttpOnly, SameSite=Lax, short-lived (not Secure on loopback)", async () => {
    const agent = new Agent();
    const r = await agent.login();
    assert.equal(r.status, 303);
    const cookie = r.res.headers.getSetCookie().find((c) => c.startsWith("portcullis_session="));
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.doesNotMatch(cookie, /Secure/);
    const maxAge = Number(cookie.match(/Max-Age=(\d+)/)[1]);
    assert.ok(maxAge > 0 && maxAge <= 3600);
  });

  test("a form without the CSRF token is refused", async () => {
    const agent = new Agent();
    await agent.get("/login");
    let r = await agent.post("/login", { username: "alice", password: PASSWORD });
    assert.equal(r.status, 403);
    assert.equal(r.res.headers.getSetCookie().some((c) => c.includes("portcullis_session=") && !c.includes("Max-Age=0")), true);
    await agent.login();
    const page = await agent.get(authorizeUrl(web, { code_challenge: pkce().challenge, scope: "read write" }));
    const fields = hiddenFields(page.html);
    delete fields.csrf_token;
    r = await agent.post("/oauth/authorize", { ...fields, decision: "allow" });
    assert.equal(r.status, 403);
    assert.equal(r.location, null);
  });

  test("the consent page names the client and describes each scope", async () => {
    const agent = new Agent();
    await agent.login();
    const r = await agent.get(authorizeUrl(other, { scope: "read write", code_challenge: pkce().challenge }));
    assert.equal(r.status, 200);
    assert.match(r.html, /Other App/);
    assert.match(r.html, /Read your documents/);
    assert.match(r.html, /Change your documents/);
    assert.match(r.html, /name="decision" value="deny"/);
  });

  test("deny answers access_denied with the state", async () => {
    const bob = new Agent();
    await user("bob");
    await bob.login("bob");
    const page = await bob.get(authorizeUrl(spa, { code_challenge: pkce().challenge, state: "d1" }));
    assert.equal(page.status, 200);
    const r = await bob.post("/oauth/authorize", { ...hiddenFields(page.html), decision: "deny" });
    const loc = new URL(r.location);
    assert.equal(loc.searchParams.get("error"), "access_denied");
    assert.equal(loc.searchParams.get("state"), "d1");
    assert.equal(loc.searchParams.get("code"), null);
  });

  test("consent is remembered per scope set; a wider request asks again", async () => {
    await user("carol");
    const carol = new Agent();
    await carol.login("carol");
    let r = await carol.get(authorizeUrl(web, { code_challenge: pkce().challenge }));
    assert.equal(r.status, 200);
    r = await carol.post("/oauth/authorize", { ...hiddenFields(r.html), decision: "allow" });
    assert.equal(r.status, 302);
    r = await carol.get(authorizeUrl(web, { code_challenge: pkce().challenge }));
    assert.equal(r.status, 302, "same scopes: no consent page");
    assert.ok(new URL(r.location).searchParams.get("code"));
    r = await carol.get(authorizeUrl(web, { code_challenge: pkce().challenge, scope: "read write" }));
    assert.equal(r.status, 200, "wider scopes: consent again");
    const audit = await w.admin("GET", "/admin/v1/audit");
    if (audit.status === 200) {
      const events = audit.body.events ?? audit.body.items ?? audit.body;
      assert.ok(JSON.stringify(events).includes("consent.grant"));
    }
  });

  test("failed logins lock the user out with back-off, even with the right password", async () => {
    await user("dave");
    const agent = new Agent();
    for (let i = 0; i < 5; i++) {
      const r = await agent.login("dave", "wrong password " + i);
      assert.equal(r.status, i < 4 ? 401 : 401, `attempt ${i}`);
    }
    const r = await agent.login("dave", PASSWORD);
    assert.equal(r.status, 429);
    assert.ok(Number(r.res.headers.get("retry-after")) > 0);
    assert.match(r.html, /Too many failed sign-ins/);
    // Another user is not affected.
    assert.equal((await new Agent().login()).status, 303);
  });

  test("twenty concurrent wrong sign-ins get at most five tries before the lockout", async () => {
    await user("fay");
    const from = { "cf-connecting-ip": "192.0.2.77" };
    const pages = await Promise.all(Array.from({ length: 20 }, () => w.fetch("/login", { headers: from })));
    const statuses = await Promise.all(
      pages.map(async (page, i) => {
        const cookie = page.headers.getSetCookie()[0].split(";")[0];
        const res = await w.fetch("/login", {
          method: "POST",
          headers: { ...from, cookie, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ username: "fay", password: `wrong ${i}`, csrf_token: csrf(await page.text()) }).toString(),
        });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    assert.equal(statuses.filter((s) => s === 401).length, 5, statuses.join(" "));
    assert.equal(statuses.filter((s) => s === 429).length, 15, statuses.join(" "));
    assert.equal((await new Agent().login("fay", PASSWORD)).status, 429, "locked, even with the right password");
  });
});

describe("lockout per IP address", () => {
  test("twenty failed sign-ins from one address lock it out for every username", { timeout: 60_000 }, async () => {
    const main = w;
    w = await startWorker();
    try {
      await user("alice");
      const from = (ip) => ({ "cf-connecting-ip": ip });
      const attempt = async (ip, username, password) => {
        const page = await w.fetch("/login", { headers: from(ip) });
        const cookie = page.headers.getSetCookie()[0].split(";")[0];
        const res = await w.fetch("/login", {
          method: "POST",
          headers: { ...from(ip), cookie, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ username, password, csrf_token: csrf(await page.text()) }).toString(),
        });
        return res.status;
      };
      for (let i = 0; i < 20; i++) assert.equal(await attempt("203.0.113.9", `nobody${i}`, "wrong"), 401, `attempt ${i}`);
      assert.equal(await attempt("203.0.113.9", "alice", PASSWORD), 429);
      assert.equal(await attempt("198.51.100.7", "alice", PASSWORD), 303, "another address still signs in");
    } finally {
      await w.stop();
      w = main;
    }
  });
});

describe("refresh tokens", () => {
  test("refresh rotates; reusing an old one from elsewhere revokes the whole grant", async () => {
    const t = await tokens();
    const r1 = await refresh(spa, t.refresh_token);
    assert.equal(r1.status, 200, r1.text);
    assert.notEqual(r1.body.refresh_token, t.refresh_token);
    assert.equal(await verifyStatus(r1.body.access_token), 200);
    // Another network than the rotation's: no retry, a copy (README: retried refreshes).
    const reuse = await refresh(spa, t.refresh_token, {}, { "cf-connecting-ip": "198.51.100.99" });
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, "invalid_grant");
    const r2 = await refresh(spa, r1.body.refresh_token);
    assert.equal(r2.body.error, "invalid_grant", "the newest refresh token died with the grant");
    assert.equal(await verifyStatus(r1.body.access_token), 401);
    assert.equal(await verifyStatus(t.access_token), 401);
  });

  test("a refresh by another client fails", async () => {
    const t = await tokens();
    const r = await refresh(other, t.refresh_token);
    assert.equal(r.body.error, "invalid_grant");
    assert.equal((await refresh(spa, t.refresh_token)).status, 200);
  });

  test("a refresh may narrow scopes, never widen them", async () => {
    const t = await tokens(new Agent(), spa, { scope: "read write" });
    const narrow = await refresh(spa, t.refresh_token, { scope: "read" });
    assert.equal(narrow.status, 200, narrow.text);
    assert.equal(narrow.body.scope, "read");
    const t2 = await tokens(new Agent(), spa, { scope: "read" });
    const widen = await refresh(spa, t2.refresh_token, { scope: "read write" });
    assert.equal(widen.body.error, "invalid_scope");
  });

  test("refresh lifetimes are per client, with defaults, idle within absolute", async () => {
    const c = await w.client({ grant_types: ["authorization_code", "refresh_token"], scopes: ["read"], redirect_uris: [CB], refresh_token_idle_ttl: 3600, refresh_token_absolute_ttl: 86400 });
    assert.equal(c.refresh_token_idle_ttl, 3600);
    assert.equal(c.refresh_token_absolute_ttl, 86400);
    const bad = await w.admin("POST", "/admin/v1/clients", { name: "bad-ttl", grant_types: ["authorization_code"], redirect_uris: [CB], refresh_token_idle_ttl: 7200, refresh_token_absolute_ttl: 3600 });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.field, "refresh_token_idle_ttl");
    const t = await tokens(new Agent(), c);
    const r = await w.form("/oauth/introspect", { token: t.refresh_token }, { authorization: basic(c.client_id, c.client_secret) });
    assert.equal(r.body.active, true);
    assert.ok(r.body.exp - r.body.iat <= 3600, "the idle lifetime bounds the refresh token");
  });

  test("twenty concurrent retries of one refresh from one caller get one new refresh token, and the grant lives", async () => {
    const t = await tokens();
    const ip = "203.0.113.80";
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(spa, t.refresh_token, {}, { "cf-connecting-ip": ip })));
    assert.deepEqual(results.map((r) => r.body.error ?? r.status), Array(20).fill(200));
    assert.equal(new Set(results.map((r) => r.body.refresh_token)).size, 1, "the same new refresh token");
    assert.equal(new Set(results.map((r) => r.body.access_token)).size, 20, "each answer its own access token");
    for (const r of results) assert.equal(await verifyStatus(r.body.access_token), 200);
    // The family was not burnt: the new token rotates on.
    const next = await refresh(spa, results[0].body.refresh_token, {}, { "cf-connecting-ip": ip });
    assert.equal(next.status, 200, next.text);
  });

  test("twenty concurrent uses of one refresh token from twenty networks give exactly one success", async () => {
    const t = await tokens();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => refresh(spa, t.refresh_token, {}, { "cf-connecting-ip": `203.0.113.${100 + i}` })));
    assert.equal(results.filter((r) => r.status === 200).length, 1);
  });

  test("a retry from the same caller by another client, or with other scopes, is reuse and revokes", async () => {
    for (const [retryClient, extra] of [[other, {}], [spa, { scope: "read" }]]) {
      const t = await tokens(new Agent(), spa, { scope: "read write" });
      const first = await refresh(spa, t.refresh_token);
      assert.equal(first.status, 200, first.text);
      const again = await refresh(retryClient, t.refresh_token, extra);
      assert.equal(again.body.error, "invalid_grant");
      assert.equal((await refresh(spa, first.body.refresh_token)).body.error, "invalid_grant", "the grant is revoked");
      assert.equal(await verifyStatus(first.body.access_token), 401);
    }
  });

  test("after the retry window a reuse from the same caller revokes the grant (REFRESH_RETRY_WINDOW_MS=0)", { timeout: 60_000 }, async () => {
    const main = w;
    w = await startWorker({ bindings: { REFRESH_RETRY_WINDOW_MS: "0" } });
    try {
      await w.scope("read");
      const pat = await w.admin("POST", "/admin/v1/users", { username: "pat", password: PASSWORD });
      assert.equal(pat.status, 201, pat.text);
      const app = await w.client({ grant_types: ["password", "refresh_token"], scopes: ["read"], public: true });
      const t = await w.form("/oauth/token", { grant_type: "password", username: "pat", password: PASSWORD, client_id: app.client_id });
      assert.equal(t.status, 200, t.text);
      const first = await refresh(app, t.body.refresh_token);
      assert.equal(first.status, 200, first.text);
      const late = await refresh(app, t.body.refresh_token);
      assert.equal(late.status, 400);
      assert.equal(late.body.error, "invalid_grant");
      assert.equal((await refresh(app, first.body.refresh_token)).body.error, "invalid_grant");
      assert.equal(await verifyStatus(first.body.access_token), 401);
      const audit = await w.admin("GET", "/admin/v1/audit?action=refresh.reuse");
      assert.equal(audit.body.events.length, 1, audit.text);
    } finally {
      await w.stop();
      w = main;
    }
  });

  test("a retry window that is not whole milliseconds up to 10 s stops the worker", { timeout: 60_000 }, async () => {
    const bad = await startWorker({ bindings: { REFRESH_RETRY_WINDOW_MS: "60000" } });
    try {
      const r = await bad.fetch("/.well-known/oauth-authorization-server");
      assert.equal(r.status, 500);
      assert.doesNotMatch(await r.text(), /KEY_ENCRYPTION_KEY|ADMIN_TOKEN=/);
    } finally {
      await bad.stop();
    }
  });

  test("introspection and revocation cover refresh tokens", async () => {
    const t = await tokens(new Agent(), web);
    const auth = { authorization: basic(web.client_id, web.client_secret) };
    let r = await w.form("/oauth/introspect", { token: t.refresh_token, token_type_hint: "refresh_token" }, auth);
    assert.equal(r.status, 200);
    assert.equal(r.body.active, true);
    assert.equal(r.body.client_id, web.client_id);
    assert.equal(r.body.sub, alice.id);
    assert.equal(r.body.token_type, "refresh_token");
    const stranger = await w.client({ scopes: ["read"] });
    r = await w.form("/oauth/introspect", { token: t.refresh_token }, { authorization: basic(stranger.client_id, stranger.client_secret) });
    assert.deepEqual(r.body, { active: false }, "another client learns nothing");
    r = await w.form("/oauth/revoke", { token: t.refresh_token }, { authorization: basic(stranger.client_id, stranger.client_secret) });
    assert.equal(r.status, 200);
    assert.equal((await w.form("/oauth/introspect", { token: t.refresh_token }, auth)).body.active, true, "nor can it revoke");
    r = await w.form("/oauth/revoke", { token: t.refresh_token, token_type_hint: "refresh_token" }, auth);
    assert.equal(r.status, 200);
    r = await w.form("/oauth/introspect", { token: t.refresh_token }, auth);
    assert.equal(r.body.active, false);
    assert.equal((await refresh(web, t.refresh_token)).body.error, "invalid_grant");
    assert.equal(await verifyStatus(t.access_token), 401);
  });
});

describe("grant review and revocation", () => {
  test("the account page lists authorised applications and revokes at once", async () => {
    await user("erin");
    const erin = new Agent();
    await erin.login("erin");
    const { code, verifier } = await getCode(erin, web, { scope: "read write" });
    const t = (await redeem(web, code, verifier)).body;
    let page = await erin.get("/account/grants");
    assert.equal(page.status, 200);
    assert.match(page.html, /Web Dashboard/);
    assert.match(page.html, /read write/);
    const { grant_id, csrf_token } = hiddenFields(page.html);
    const r = await erin.post("/account/grants", { grant_id, csrf_token });
    assert.equal(r.status, 303);
    page = await erin.get(r.location);
    assert.doesNotMatch(page.html, /Web Dashboard/);
    assert.equal((await refresh(web, t.refresh_token)).body.error, "invalid_grant");
    assert.equal(await verifyStatus(t.access_token), 401);
  });

  test("the account page needs a session", async () => {
    const r = await new Agent().get("/account/grants");
    assert.equal(r.status, 303);
    assert.match(r.location, /^\/login\?next=/);
  });

  test("admin lists grants by user and client and revokes one", async () => {
    await user("frank");
    const frank = new Agent();
    await frank.login("frank");
    const { code, verifier } = await getCode(frank, spa);
    const t = (await redeem(spa, code, verifier)).body;
    const users = await w.admin("GET", "/admin/v1/users");
    const frankId = users.body.users.find((u) => u.username === "frank").id;
    let r = await w.admin("GET", `/admin/v1/grants?user=${encodeURIComponent(frankId)}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.grants.length, 1);
    const g = r.body.grants[0];
    assert.equal(g.client_id, spa.client_id);
    assert.deepEqual(g.scopes, ["read"]);
    r = await w.admin("GET", `/admin/v1/grants?client=${encodeURIComponent(spa.client_id)}`);
    assert.ok(r.body.grants.some((x) => x.id === g.id));
    assert.ok(r.body.grants.every((x) => x.client_id === spa.client_id));
    r = await w.admin("DELETE", `/admin/v1/grants/${encodeURIComponent(g.id)}`);
    assert.equal(r.status, 204);
    r = await w.admin("DELETE", `/admin/v1/grants/${encodeURIComponent(g.id)}`);
    assert.equal(r.status, 404);
    assert.equal(await verifyStatus(t.access_token), 401);
    assert.equal((await refresh(spa, t.refresh_token)).body.error, "invalid_grant");
    assert.equal((await w.admin("GET", "/admin/v1/grants", undefined, { token: "nope-nope-nope-nope" })).status, 401);
  });
});

describe("disabled and deleted users", () => {
  /** A fresh user signed in with a code-flow grant: { person, user, tokens }. */
  async function signedInWithTokens(name) {
    const person = await user(name);
    const agent = new Agent();
    assert.equal((await agent.login(name)).status, 303);
    return { person, agent, tokens: await tokens(agent, web) };
  }

  test("disabling a user ends their refresh tokens, access tokens and session at once", async () => {
    const { person, agent, tokens: t } = await signedInWithTokens("dora");
    assert.equal(await verifyStatus(t.access_token), 200);
    const r = await w.admin("PATCH", `/admin/v1/users/${person.id}`, { disabled: true });
    assert.equal(r.status, 200, r.text);
    assert.equal((await refresh(web, t.refresh_token)).body.error, "invalid_grant");
    assert.equal(await verifyStatus(t.access_token), 401);
    const listed = await w.admin("GET", `/admin/v1/grants?user=${person.id}`);
    assert.deepEqual(listed.body.grants, []);
    // The session cookie is still signed, but the user may no longer sign in: back to login.
    const again = await agent.get(authorizeUrl(web, { code_challenge: pkce().challenge }));
    assert.equal(again.status, 303);
    assert.match(again.location, /^\/login\?/);
    assert.equal((await agent.get("/account/grants")).status, 303);
  });

  test("deleting a user ends their grants and session", async () => {
    const { person, agent, tokens: t } = await signedInWithTokens("ezra");
    assert.equal((await w.admin("DELETE", `/admin/v1/users/${person.id}`)).status, 204);
    assert.equal((await refresh(web, t.refresh_token)).body.error, "invalid_grant");
    assert.equal(await verifyStatus(t.access_token), 401);
    const again = await agent.get(authorizeUrl(web, { code_challenge: pkce().challenge }));
    assert.equal(again.status, 303);
    assert.match(again.location, /^\/login\?/);
  });
});

describe("audit", () => {
  test("consents, code replays, refresh-token reuse and revocations are audited", async () => {
    for (const action of ["consent.grant", "code.replay", "refresh.reuse", "grant.revoke", "refresh.revoke"]) {
      const r = await w.admin("GET", `/admin/v1/audit?action=${action}`);
      assert.equal(r.status, 200, r.text);
      assert.ok(r.body.events.length >= 1, action);
      for (const e of r.body.events) {
        assert.equal(e.action, action);
        assert.match(e.target, /^\d+\./, "the target is the grant id");
      }
    }
  });
});

describe("legacy grants (RFC 9700), off by default", () => {
  test("the password grant works only for clients that enable it", async () => {
    let r = await w.form("/oauth/token", { grant_type: "password", username: "alice", password: PASSWORD, client_id: spa.client_id });
    assert.equal(r.body.error, "unauthorized_client");
    const legacy = await w.client({ grant_types: ["password", "refresh_token"], scopes: ["read"] });
    const auth = { authorization: basic(legacy.client_id, legacy.client_secret) };
    r = await w.form("/oauth/token", { grant_type: "password", username: "alice", password: PASSWORD }, auth);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.refresh_token);
    const claims = JSON.parse(Buffer.from(r.body.access_token.split(".")[1], "base64url"));
    assert.equal(claims.sub, alice.id);
    r = await w.form("/oauth/token", { grant_type: "password", username: "alice", password: "nope nope nope" }, auth);
    assert.equal(r.body.error, "invalid_grant");
  });

  test("the implicit grant puts the token in the fragment, with no refresh token", async () => {
    const agent = new Agent();
    await agent.login();
    let r = await agent.get(authorizeUrl(spa, { response_type: "token", state: "i1" }));
    const refused = new URLSearchParams(new URL(r.location).hash.slice(1));
    assert.equal(refused.get("error"), "unauthorized_client");
    assert.equal(refused.get("state"), "i1");
    const legacy = await w.client({ grant_types: ["implicit"], scopes: ["read"], redirect_uris: [CB], public: true });
    r = await agent.get(authorizeUrl(legacy, { response_type: "token", state: "i2" }));
    if (r.status === 200) r = await agent.post("/oauth/authorize", { ...hiddenFields(r.html), decision: "allow" });
    assert.equal(r.status, 302);
    const loc = new URL(r.location);
    assert.equal(loc.search, "");
    const frag = new URLSearchParams(loc.hash.slice(1));
    assert.equal(frag.get("state"), "i2");
    assert.equal(frag.get("token_type"), "Bearer");
    assert.equal(frag.get("refresh_token"), null);
    assert.equal(frag.get("iss"), w.url);
    assert.equal(await verifyStatus(frag.get("access_token")), 200);
  });

  test("metadata advertises the endpoints and marks the legacy grants", async () => {
    const r = await w.fetch("/.well-known/oauth-authorization-server");
    const m = await r.json();
    for (const g of ["authorization_code", "refresh_token", "client_credentials"]) assert.ok(m.grant_types_supported.includes(g), g);
    assert.ok(m.response_types_supported.includes("code"));
    assert.ok(m.token_endpoint_auth_methods_supported.includes("none"));
    assert.deepEqual(m.code_challenge_methods_supported, ["S256"]);
  });
});

describe("in a real browser (headless Chromium)", () => {
  test("a person signs in, consents, and the client exchanges the code for tokens", { timeout: 120_000 }, async () => {
    const { chromium } = await import("playwright-core");
    assert.ok(existsSync("/usr/bin/chromium"), "chromium is installed by `cargo xtask setup`");
    const hits = [];
    const clientApp = http.createServer((req, res) => {
      hits.push(req.url);
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!doctype html><title>Client app</title><p>Signed in.</p>");
    });
    await new Promise((resolve) => clientApp.listen(0, "127.0.0.1", resolve));
    const redirect_uri = `http://127.0.0.1:${clientApp.address().port}/callback`;
    const app = await w.client({
      name: "Browser Test App",
      public: true,
      grant_types: ["authorization_code", "refresh_token"],
      scopes: ["read", "write"],
      redirect_uris: [redirect_uri],
    });
    const profile = mkdtempSync(path.join(tmpdir(), "portcullis-chromium-"));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage();
      // Screenshots of each page, to look at (target/screenshots/, not committed).
      const shots = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "target", "screenshots");
      mkdirSync(shots, { recursive: true });
      const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
      const { verifier, challenge } = pkce();
      const state = "browser-" + randomBytes(4).toString("hex");
      await page.goto(w.url + authorizeUrl(app, { redirect_uri, code_challenge: challenge, state, scope: "read write" }));
      await shot("login");
      await page.getByLabel("Username").fill("alice");
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("button", { name: "Allow" }).waitFor();
      await shot("consent");
      const text = await page.textContent("main");
      assert.match(text, /Browser Test App/);
      assert.match(text, /Read your documents/);
      assert.match(text, /Change your documents/);
      await page.getByRole("button", { name: "Allow" }).click();
      await page.waitForURL((u) => u.href.startsWith(redirect_uri));
      assert.match(await page.textContent("body"), /Signed in/);
      const landed = new URL(page.url());
      assert.equal(landed.searchParams.get("state"), state);
      assert.equal(landed.searchParams.get("iss"), w.url);
      assert.equal(hits.filter((h) => h.startsWith("/callback?")).length, 1, "the client's server saw the redirect");
      const r = await w.form("/oauth/token", {
        grant_type: "authorization_code",
        code: landed.searchParams.get("code"),
        redirect_uri,
        code_verifier: verifier,
        client_id: app.client_id,
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.scope, "read write");
      assert.equal(await verifyStatus(r.body.access_token), 200);
      // The person sees the application on their account page.
      await page.goto(w.url + "/account/grants");
      assert.match(await page.textContent("main"), /Browser Test App/);
      await shot("account");
    } finally {
      await browser.close();
      clientApp.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});

describe("upstream login (UPSTREAM_LOGIN_URL)", () => {
  test("credentials are checked by the origin's login endpoint; its user id becomes sub", { timeout: 60_000 }, async () => {
    const seen = [];
    const origin = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push({ method: req.method, path: req.url, type: req.headers["content-type"], body });
        const creds = JSON.parse(body || "{}");
        if (creds.username === "olivia" && creds.password === "origin-pass") {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ user_id: "origin-user-42" }));
        } else {
          res.writeHead(401, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: "bad credentials" }));
        }
      });
    });
    await new Promise((resolve) => origin.listen(0, "127.0.0.1", resolve));
    const loginUrl = `http://127.0.0.1:${origin.address().port}/api/login`;
    const main = w;
    w = await startWorker({ bindings: { UPSTREAM_LOGIN_URL: loginUrl } });
    try {
      await w.scope("read", "Read your documents");
      const app = await w.client({
        name: "Origin App",
        public: true,
        grant_types: ["authorization_code"],
        scopes: ["read"],
        redirect_uris: [CB],
      });
      const agent = new Agent();
      let r = await agent.login("olivia", "wrong-pass");
      assert.equal(r.status, 401);
      r = await agent.login("olivia", "origin-pass");
      assert.equal(r.status, 303, r.html);
      assert.deepEqual(
        seen.map((s) => [s.method, s.path, s.type]),
        [
          ["POST", "/api/login", "application/json"],
          ["POST", "/api/login", "application/json"],
        ],
      );
      assert.deepEqual(JSON.parse(seen[1].body), { username: "olivia", password: "origin-pass" });
      const { verifier, challenge } = pkce();
      r = await agent.get(authorizeUrl(app, { code_challenge: challenge }));
      r = await agent.post("/oauth/authorize", { ...hiddenFields(r.html), decision: "allow" });
      const code = new URL(r.location).searchParams.get("code");
      const t = await w.form("/oauth/token", { grant_type: "authorization_code", code, redirect_uri: CB, code_verifier: verifier, client_id: app.client_id });
      assert.equal(t.status, 200, t.text);
      const claims = JSON.parse(Buffer.from(t.body.access_token.split(".")[1], "base64url"));
      assert.equal(claims.sub, "origin-user-42");
    } finally {
      await w.stop();
      w = main;
      origin.close();
    }
  });
});
