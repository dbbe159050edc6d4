// private_key_jwt (RFC 7523 §2.2): a client with no secret authenticates at the token,
// revocation and introspection endpoints with an assertion signed by a key of its inline `jwks`
// or its `jwks_uri`, driven by oauth4webapi's own PrivateKeyJwt, against the wasm worker in
// workerd; then every refusal one by one.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import * as oauth from "oauth4webapi";
import * as jose from "jose";
import { randomBytes } from "node:crypto";
import { startWorker, serve, keyPair, basic } from "./harness.mjs";

const insecure = { [oauth.allowInsecureRequests]: true };
let w;
let as;
let es; // ES256 key, inline jwks
let ed; // EdDSA key, inline jwks
let rsa; // RS256 key, served at jwks_uri
let inline; // client with inline keys
let remote; // client with jwks_uri
let jwksFetches = 0;
const jwksServer = await serve((req, res) => {
  jwksFetches += 1;
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ keys: [rsa.jwk] }));
});

before(async () => {
  w = await startWorker();
  await w.scope("read");
  es = await keyPair("ES256", "es-1");
  ed = await keyPair("EdDSA", "ed-1");
  rsa = await keyPair("RS256", "rsa-1");
  inline = await w.client({
    scopes: ["read"],
    token_endpoint_auth_method: "private_key_jwt",
    jwks: { keys: [es.jwk, ed.jwk] },
  });
  remote = await w.client({
    scopes: ["read"],
    token_endpoint_auth_method: "private_key_jwt",
    jwks_uri: `${jwksServer.url}/jwks.json`,
  });
  as = await oauth.processDiscoveryResponse(
    new URL(w.url),
    await oauth.discoveryRequest(new URL(w.url), { algorithm: "oauth2", ...insecure }),
  );
});
after(async () => {
  await w?.stop();
  jwksServer.server.close();
});

async function ccWith(client, key, params = { scope: "read" }) {
  const res = await oauth.clientCredentialsGrantRequest(
    as,
    { client_id: client.client_id },
    oauth.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }),
    new URLSearchParams(params),
    insecure,
  );
  return oauth.processClientCredentialsResponse(as, { client_id: client.client_id }, res);
}

/** An assertion signed by `key` for `client`, with `changes` to its claims or header. */
async function assertion(client, key, { claims = {}, header = {} } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({
    iss: client.client_id,
    sub: client.client_id,
    aud: w.url,
    jti: randomBytes(16).toString("base64url"),
    iat: now,
    exp: now + 60,
    ...claims,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

function tokenRequest(jwt, extra = {}, headers = {}) {
  return w.form(
    "/oauth/token",
    {
      grant_type: "client_credentials",
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: jwt,
      ...extra,
    },
    headers,
  );
}

describe("private_key_jwt", () => {
  test("the client has no secret, and metadata lists the method and its algorithms", async () => {
    assert.equal(inline.client_secret, undefined);
    assert.deepEqual(inline.secrets, []);
    assert.equal(inline.token_endpoint_auth_method, "private_key_jwt");
    assert.deepEqual(as.token_endpoint_auth_methods_supported, [
      "client_secret_basic",
      "client_secret_post",
      "private_key_jwt",
      "none",
    ]);
    assert.deepEqual(as.token_endpoint_auth_signing_alg_values_supported, ["ES256", "EdDSA", "Ed25519", "RS256"]);
    assert.ok(as.introspection_endpoint_auth_methods_supported.includes("private_key_jwt"));
    assert.ok(as.revocation_endpoint_auth_methods_supported.includes("private_key_jwt"));
    const rotate = await w.admin("POST", `/admin/v1/clients/${inline.client_id}/secrets`, {});
    assert.equal(rotate.status, 422);
    assert.equal(rotate.body.field, "token_endpoint_auth_method");
  });

  test("oauth4webapi's PrivateKeyJwt gets a token with ES256 and EdDSA keys of the inline jwks", async () => {
    for (const key of [es, ed]) {
      const tokens = await ccWith(inline, key);
      assert.equal(tokens.token_type, "bearer");
      assert.equal(jose.decodeJwt(tokens.access_token).sub, inline.client_id);
    }
  });

  test("an RS256 key at jwks_uri is fetched once and cached", async () => {
    const before = jwksFetches;
    await ccWith(remote, rsa);
    await ccWith(remote, rsa);
    assert.equal(jwksFetches - before, 1);
  });

  test("revocation and introspection accept the assertion too", async () => {
    const tokens = await ccWith(inline, es);
    const client = { client_id: inline.client_id };
    const auth = () => oauth.PrivateKeyJwt({ key: es.privateKey, kid: es.kid });
    const live = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, auth(), tokens.access_token, insecure),
    );
    assert.equal(live.active, true);
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, auth(), tokens.access_token, insecure),
    );
    const dead = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, auth(), tokens.access_token, insecure),
    );
    assert.equal(dead.active, false);
  });

  test("aud may be the endpoint's URL instead of the issuer", async () => {
    const r = await tokenRequest(await assertion(inline, es, { claims: { aud: `${w.url}/oauth/token` } }));
    assert.equal(r.status, 200, r.text);
  });
});

describe("private_key_jwt refusals (invalid_client, nothing issued)", () => {
  const refused = async (r) => {
    assert.equal(r.status, 401, r.text);
    assert.equal(r.body.error, "invalid_client");
  };

  test("a replayed assertion (same jti) is refused", async () => {
    const jwt = await assertion(inline, es);
    assert.equal((await tokenRequest(jwt)).status, 200);
    await refused(await tokenRequest(jwt));
  });

  test("concurrent uses of one assertion: exactly one succeeds", async () => {
    const jwt = await assertion(inline, ed);
    const all = await Promise.all(Array.from({ length: 10 }, () => tokenRequest(jwt)));
    assert.equal(all.filter((r) => r.status === 200).length, 1);
  });

  test("a key the client did not register", async () => {
    const stranger = await keyPair("ES256", "es-1");
    await refused(await tokenRequest(await assertion(inline, stranger)));
  });

  test("iss or sub naming another client", async () => {
    await refused(await tokenRequest(await assertion(inline, es, { claims: { iss: remote.client_id } })));
    await refused(await tokenRequest(await assertion(inline, es, { claims: { sub: remote.client_id } })));
  });

  test("client_id in the form differs from the assertion's", async () => {
    await refused(await tokenRequest(await assertion(inline, es), { client_id: remote.client_id }));
  });

  test("another audience", async () => {
    await refused(await tokenRequest(await assertion(inline, es, { claims: { aud: "https://elsewhere.test" } })));
  });

  test("expired, or valid for longer than 300 seconds", async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(await tokenRequest(await assertion(inline, es, { claims: { exp: now - 120 } })));
    await refused(await tokenRequest(await assertion(inline, es, { claims: { exp: now + 3600 } })));
  });

  test("no jti", async () => {
    await refused(await tokenRequest(await assertion(inline, es, { claims: { jti: undefined } })));
  });

  test("an HMAC assertion", async () => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = await new jose.SignJWT({ iss: inline.client_id, sub: inline.client_id, aud: w.url, jti: "h", exp: now + 60 })
      .setProtectedHeader({ alg: "HS256" })
      .sign(randomBytes(32));
    await refused(await tokenRequest(jwt));
  });

  test("a secret client cannot use an assertion, nor a key client a secret or none", async () => {
    const secretClient = await w.client({ scopes: ["read"] });
    await refused(await tokenRequest(await assertion(secretClient, es)));
    await refused(await w.form("/oauth/token", { grant_type: "client_credentials" }, { authorization: basic(inline.client_id, "x".repeat(43)) }));
    await refused(await w.form("/oauth/token", { grant_type: "client_credentials", client_id: inline.client_id }));
  });

  test("two methods at once is invalid_request", async () => {
    const r = await tokenRequest(await assertion(inline, es), {}, { authorization: basic(inline.client_id, "x") });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, "invalid_request");
  });
});

describe("admin: registering and changing keys", () => {
  test("jwks and jwks_uri are validated and exclusive", async () => {
    const base = { name: `k-${randomBytes(3).toString("hex")}`, grant_types: ["client_credentials"], token_endpoint_auth_method: "private_key_jwt" };
    const none = await w.admin("POST", "/admin/v1/clients", base);
    assert.equal(none.status, 422);
    assert.equal(none.body.field, "jwks");
    const both = await w.admin("POST", "/admin/v1/clients", { ...base, jwks: { keys: [es.jwk] }, jwks_uri: "https://keys.example.test/jwks" });
    assert.equal(both.body.field, "jwks_uri");
    const priv = await jose.exportJWK(es.privateKey);
    const leaked = await w.admin("POST", "/admin/v1/clients", { ...base, jwks: { keys: [priv] } });
    assert.equal(leaked.body.field, "jwks");
    const http = await w.admin("POST", "/admin/v1/clients", { ...base, jwks_uri: "http://keys.example.test/jwks" });
    assert.equal(http.body.field, "jwks_uri");
    const secretWithKeys = await w.admin("POST", "/admin/v1/clients", { ...base, token_endpoint_auth_method: "client_secret_basic", jwks: { keys: [es.jwk] } });
    assert.equal(secretWithKeys.body.field, "token_endpoint_auth_method");
  });

  test("PATCH replaces the keys", async () => {
    const c = await w.client({ scopes: ["read"], token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [es.jwk] } });
    assert.equal((await tokenRequest(await assertion(c, es))).status, 200);
    const patched = await w.admin("PATCH", `/admin/v1/clients/${c.client_id}`, { jwks: { keys: [ed.jwk] } });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(patched.body.jwks, { keys: [ed.jwk] });
    const read = await w.admin("GET", `/admin/v1/clients/${c.client_id}`);
    assert.deepEqual(read.body.jwks, { keys: [ed.jwk] });
    assert.equal((await tokenRequest(await assertion(c, ed))).status, 200);
  });

  test("a client cannot gain or lose its secret by PATCH", async () => {
    const c = await w.client({ scopes: ["read"] });
    const r = await w.admin("PATCH", `/admin/v1/clients/${c.client_id}`, { token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [es.jwk] } });
    assert.equal(r.status, 422);
    assert.equal(r.body.field, "token_endpoint_auth_method");
    const post = await w.admin("PATCH", `/admin/v1/clients/${c.client_id}`, { token_endpoint_auth_method: "client_secret_post" });
    assert.equal(post.status, 200);
    assert.equal(post.body.token_endpoint_auth_method, "client_secret_post");
  });
});
