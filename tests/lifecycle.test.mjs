// When an access token stops being valid (issue 12, points 1, 6 and 7): grants that follow the
// client (scopes, grant types and audiences taken away, clients disabled or deleted), a
// deny-list whose stored values stay small however many tokens are revoked, and signing keys
// revoked outright after a compromise. Each outcome is observed at /verify, the gateway and
// introspection; a second worker on the same state plays an isolate with stale caches.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createDecipheriv, hkdfSync } from "node:crypto";
import * as jose from "jose";
import { startWorker, workerScript, basic, pkce, Person, hiddenFieldsOf, serve, KEY_ENCRYPTION_KEY } from "./harness.mjs";

const PASSWORD = "correct horse battery";
const CB = "https://app.example.test/cb";
const API = "https://api.example.test";
const OTHER_API = "https://other.example.test";

let w;
let origin;
let reader; // confidential client_credentials client: introspects

before(async () => {
  origin = await serve((req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("origin");
  });
  const bindings = { ORIGIN_URL: origin.url };
  w = await startWorker({ bindings, extraWorkers: [{ name: "stale", ...workerScript({ bindings }) }] });
  await w.scope("read", "Read your documents");
  await w.scope("write", "Change your documents");
  const u = await w.admin("POST", "/admin/v1/users", { username: "alice", password: PASSWORD });
  assert.equal(u.status, 201, u.text);
  const routes = await w.admin("PUT", "/admin/v1/routes", { routes: [{ path: "/api/*", methods: ["GET"], scopes: [], audience: API }] });
  assert.equal(routes.status, 200, routes.text);
  reader = await w.client({ name: "introspector" });
});
after(async () => {
  await w?.stop();
  origin?.server.close();
});

const codeClient = (fields = {}) =>
  w.client({
    grant_types: ["authorization_code", "refresh_token"],
    scopes: ["read", "write"],
    redirect_uris: [CB],
    audiences: [API, OTHER_API],
    ...fields,
  });

/** Tokens for `client` through sign-in, consent and redemption. */
async function tokens(client, scope = "read write", resource = API) {
  const agent = new Person(w);
  const { verifier, challenge } = pkce();
  const q = new URLSearchParams({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: CB,
    scope,
    state: "s",
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  let r = await agent.get(`/oauth/authorize?${q}`);
  if (r.status === 303 && r.location.startsWith("/login")) {
    r = await agent.login("alice", PASSWORD, new URL(r.location, w.url).searchParams.get("next"));
    r = await agent.get(r.location);
  }
  if (r.status === 200) r = await agent.post("/oauth/authorize", { ...hiddenFieldsOf(r.html), decision: "allow" });
  assert.equal(r.status, 302, r.html);
  const code = new URL(r.location).searchParams.get("code");
  const t = await token(client, { grant_type: "authorization_code", code, redirect_uri: CB, code_verifier: verifier, resource });
  assert.equal(t.status, 200, t.text);
  return t.body;
}

function token(client, params) {
  return w.form("/oauth/token", params, { authorization: basic(client.client_id, client.client_secret) });
}

const refresh = (client, refresh_token, extra = {}) => token(client, { grant_type: "refresh_token", refresh_token, ...extra });
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
const verify = async (at) => (await w.fetch("/verify", { method: "POST", headers: { authorization: `Bearer ${at}` } })).status;
const gateway = async (at) => (await w.fetch("/api/items", { headers: { authorization: `Bearer ${at}` } })).status;
/** /verify in the other isolate, which keeps its own key and deny-list caches. */
const verifyStale = async (at) =>
  (await (await w.mf.getWorker("stale")).fetch(`${w.url}/verify`, { method: "POST", headers: { authorization: `Bearer ${at}` } })).status;
const introspect = async (at) => (await w.form("/oauth/introspect", { token: at }, { authorization: basic(reader.client_id, reader.client_secret) })).body.active;

/** Asserts that `at` passes (or fails) everywhere a token is checked. */
async function everywhere(at, live) {
  assert.equal(await verify(at), live ? 200 : 401, "/verify");
  assert.equal(await gateway(at), live ? 200 : 401, "gateway");
  assert.equal(await introspect(at), live, "introspection");
}

async function audited(action, target) {
  const r = await w.admin("GET", `/admin/v1/audit?action=${encodeURIComponent(action)}`);
  assert.equal(r.status, 200, r.text);
  return r.body.events.filter((e) => e.target.startsWith(target));
}

describe("grants follow the client", () => {
  test("a refresh issues only the scopes the client still holds, with or without scope", async () => {
    const c = await codeClient();
    const t = await tokens(c);
    assert.equal(claims(t.access_token).scope, "read write");
    const p = await w.admin("PATCH", `/admin/v1/clients/${c.client_id}`, { scopes: ["read"] });
    assert.equal(p.status, 200, p.text);
    const r = await refresh(c, t.refresh_token, { resource: API });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.scope, "read");
    assert.equal(claims(r.body.access_token).scope, "read");
    const widened = await refresh(c, r.body.refresh_token, { scope: "read write", resource: API });
    assert.equal(widened.body.error, "invalid_scope");
  });

  test("a refresh gets only an audience the client still holds", async () => {
    const c = await codeClient();
    const t = await tokens(c, "read", OTHER_API);
    assert.equal(claims(t.access_token).aud, OTHER_API);
    const p = await w.admin("PATCH", `/admin/v1/clients/${c.client_id}`, { audiences: [API] });
    assert.equal(p.status, 200, p.text);
    const gone = await refresh(c, t.refresh_token, { resource: OTHER_API });
    assert.equal(gone.status, 400, gone.text);
    assert.equal(gone.body.error, "invalid_target");
    const r = await refresh(c, t.refresh_token);
    assert.equal(r.status, 200, r.text);
    assert.equal(claims(r.body.access_token).aud, API);
  });

  test("a refresh fails once the client loses the refresh_token grant", async () => {
    const c = await codeClient();
    const t = await tokens(c, "read");
    const p = await w.admin("PATCH", `/admin/v1/clients/${c.client_id}`, { grant_types: ["authorization_code"] });
    assert.equal(p.status, 200, p.text);
    const r = await refresh(c, t.refresh_token);
    assert.equal(r.body.error, "unauthorized_client", r.text);
  });

  test("disabling a client fails its access tokens everywhere and revokes its refresh families", async () => {
    const c = await codeClient();
    const t = await tokens(c, "read");
    await everywhere(t.access_token, true);
    const off = await w.admin("PATCH", `/admin/v1/clients/${c.client_id}`, { disabled: true });
    assert.equal(off.status, 200, off.text);
    await everywhere(t.access_token, false);
    const on = await w.admin("PATCH", `/admin/v1/clients/${c.client_id}`, { disabled: false });
    assert.equal(on.status, 200, on.text);
    await everywhere(t.access_token, false);
    const r = await refresh(c, t.refresh_token, { resource: API });
    assert.equal(r.body.error, "invalid_grant", "the family was revoked in its shard");
    assert.equal((await audited("client.grants_revoke", c.client_id)).length, 1);
  });

  test("deleting a client fails its access tokens everywhere", async () => {
    const c = await codeClient();
    const t = await tokens(c, "read");
    const d = await w.admin("DELETE", `/admin/v1/clients/${c.client_id}`);
    assert.equal(d.status, 204, d.text);
    assert.equal(await verify(t.access_token), 401);
    assert.equal(await gateway(t.access_token), 401);
    assert.equal((await audited("client.grants_revoke", c.client_id)).length, 1);
  });
});

describe("revocation that scales", () => {
  test("past two sealed pages, revoked tokens stay revoked and no stored value grows", async () => {
    const cc = await w.client({ name: "bulk", audiences: [API] });
    const issue = async () => (await token(cc, { grant_type: "client_credentials" })).body.access_token;
    const revoked = [];
    const N = 2100; // two pages of 1,000 and a head of 100
    for (let i = 0; i < N; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, N - i) }, issue));
      const answers = await Promise.all(batch.map((at) => w.form("/oauth/revoke", { token: at }, { authorization: basic(cc.client_id, cc.client_secret) })));
      for (const a of answers) assert.equal(a.status, 200);
      revoked.push(...batch);
    }
    const kv = await w.mf.getKVNamespace("PORTCULLIS_KV");
    const head = await kv.get("config:denylist");
    assert.ok(head.length < 16 * 1024, `head ${head.length} bytes`);
    const parsed = JSON.parse(head);
    assert.deepEqual([parsed.first_page, parsed.next_page, Object.keys(parsed.recent).length], [0, 2, 100]);
    for (const n of [0, 1]) assert.ok((await kv.get(`denylist:page:${n}`)).length < 64 * 1024);
    for (const at of [revoked[0], revoked[999], revoked[1500], revoked[N - 1]]) await everywhere(at, false);
    await everywhere(await issue(), true);
  });
});

describe("key compromise", () => {
  test("a retired key still verifies what it signed before it retired", async () => {
    const c = await codeClient();
    const t = await tokens(c, "read");
    const r = await w.admin("POST", "/admin/v1/keys/rotate");
    assert.equal(r.status, 200, r.text);
    const old = r.body.keys.find((k) => k.kid === JSON.parse(Buffer.from(t.access_token.split(".")[0], "base64url")).kid);
    assert.equal(old.state, "retired");
    await everywhere(t.access_token, true);
  });

  test("a revoked key leaves the JWKS and every token it signed fails everywhere", async () => {
    const c = await codeClient();
    const t = await tokens(c, "read");
    const kid = JSON.parse(Buffer.from(t.access_token.split(".")[0], "base64url")).kid;
    await everywhere(t.access_token, true);
    assert.equal((await w.fetch(`/admin/v1/keys/${kid}/revoke`, { headers: { authorization: "Bearer nope" }, method: "POST" })).status, 401);
    const r = await w.admin("POST", `/admin/v1/keys/${kid}/revoke`);
    assert.equal(r.status, 200, r.text);
    assert.ok(!r.body.keys.some((k) => k.kid === kid));
    assert.ok(r.body.keys.some((k) => k.state === "current"));
    const jwks = await (await w.fetch("/.well-known/jwks.json")).json();
    assert.ok(!jwks.keys.some((k) => k.kid === kid), "no longer published");
    await everywhere(t.access_token, false);
    const after = await tokens(c, "read");
    assert.notEqual(JSON.parse(Buffer.from(after.access_token.split(".")[0], "base64url")).kid, kid);
    await everywhere(after.access_token, true);
    assert.equal((await audited("key.revoke", kid)).length, 1);
    assert.equal((await w.admin("POST", `/admin/v1/keys/${kid}/revoke`)).status, 404);
    assert.equal((await w.admin("POST", "/admin/v1/keys/%00%ff/revoke")).status, 404);
    assert.equal((await w.admin("GET", `/admin/v1/keys/${kid}/revoke`)).status, 405);
  });
  test("a stolen retired key cannot mint tokens: it vouches only for what it signed before it retired", async () => {
    const c = await codeClient();
    const real = (await tokens(c, "read")).access_token;
    const kid = JSON.parse(Buffer.from(real.split(".")[0], "base64url")).kid;
    // The attacker holds the storage and KEY_ENCRYPTION_KEY, so the key's private half.
    const set = await (await w.mf.getKVNamespace("PORTCULLIS_KV")).get("config:keys", "json");
    const stolen = set.keys.find((k) => k.kid === kid);
    assert.equal(stolen.alg, "EdDSA");
    const wrap = Buffer.from(hkdfSync("sha256", Buffer.from(KEY_ENCRYPTION_KEY, "base64"), "portcullis/v1", "signing-key-wrap", 32));
    const sealed = Buffer.from(stolen.sealed_private, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", wrap, sealed.subarray(0, 12));
    decipher.setAAD(Buffer.from(kid));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const secret = Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
    const key = await jose.importJWK({ kty: "OKP", crv: "Ed25519", d: secret.subarray(0, 32).toString("base64url"), x: stolen.x }, "EdDSA");
    const mint = (iat) =>
      new jose.SignJWT({ ...claims(real), iat, exp: iat + 300, jti: `forged-${iat}` })
        .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" })
        .sign(key);
    await everywhere(await mint(Math.floor(Date.now() / 1000)), true); // the forgery is otherwise sound
    const r = await w.admin("POST", "/admin/v1/keys/rotate");
    assert.equal(r.status, 200, r.text);
    const retiredAt = r.body.keys.find((k) => k.kid === kid).retired_at;
    assert.ok(retiredAt, "rotation retired the key");
    await everywhere(await mint(retiredAt - 10), true);
    // Past the retirement by more than the leeway (60 s), but not in the future beyond it: the
    // clock must first pass the retirement by two seconds.
    while (Math.floor(Date.now() / 1000) < retiredAt + 2) await new Promise((resolve) => setTimeout(resolve, 50));
    await everywhere(await mint(retiredAt + 61), false);
    await everywhere(real, true);
  });

  test("an isolate still holding a revoked key in its cache denies its tokens within the deny-list bound", async () => {
    const c = await codeClient();
    const t = await tokens(c, "read");
    const kid = JSON.parse(Buffer.from(t.access_token.split(".")[0], "base64url")).kid;
    assert.equal(await verifyStale(t.access_token), 200); // the stale isolate now caches the key set
    assert.equal((await w.admin("POST", `/admin/v1/keys/${kid}/revoke`)).status, 200);
    // The deny-list head is re-read every 5 s, the key set every 60 s: wait for the denial and
    // check that it came while the key set still held the key.
    const deadline = Date.now() + 30_000;
    while ((await verifyStale(t.access_token)) === 200) {
      assert.ok(Date.now() < deadline, "still accepted after 30 s");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const stale = await (await (await w.mf.getWorker("stale")).fetch(`${w.url}/.well-known/jwks.json`)).json();
    assert.ok(stale.keys.some((k) => k.kid === kid), "denied by the deny-list's key rule, not by a fresh key set");
  });
});
