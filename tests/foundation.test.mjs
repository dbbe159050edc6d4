// Foundation: discovery, client credentials, verification, revocation, introspection and the
// first admin endpoints, against the real wasm worker in workerd, with real OAuth/JWT clients.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import * as oauth from "oauth4webapi";
import * as jose from "jose";
import { startWorker, basic, ADMIN_TOKEN } from "./harness.mjs";

let w;
let svc; // a confidential client-credentials client

before(async () => {
  w = await startWorker();
  await w.scope("read", "Read things");
  await w.scope("write", "Write things");
  svc = await w.client({
    scopes: ["read", "write"],
    audiences: ["https://api.example.test"],
    claims: { roles: ["reader"] },
  });
});
after(async () => w?.stop());

async function ccToken(params = {}, client = svc) {
  return w.form("/oauth/token", { grant_type: "client_credentials", ...params }, {
    authorization: basic(client.client_id, client.client_secret),
  });
}

describe("discovery", () => {
  test("metadata names every endpoint and the issuer is the request origin", async () => {
    const as = await oauth.processDiscoveryResponse(
      new URL(w.url),
      await oauth.discoveryRequest(new URL(w.url), { algorithm: "oauth2", [oauth.allowInsecureRequests]: true }),
    );
    assert.equal(as.issuer, w.url);
    assert.equal(as.token_endpoint, `${w.url}/oauth/token`);
    assert.equal(as.jwks_uri, `${w.url}/.well-known/jwks.json`);
    assert.equal(as.revocation_endpoint, `${w.url}/oauth/revoke`);
    assert.equal(as.introspection_endpoint, `${w.url}/oauth/introspect`);
    assert.deepEqual(as.token_endpoint_auth_methods_supported, ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]);
    assert.ok(as.grant_types_supported.includes("client_credentials"));
    assert.deepEqual(as.scopes_supported, ["read", "write"]);
  });

  test("JWKS publishes Ed25519 access-token keys and RS256 ID-token keys, public parts only", async () => {
    const res = await w.fetch("/.well-known/jwks.json");
    assert.equal(res.status, 200);
    const jwks = await res.json();
    assert.ok(jwks.keys.length >= 1);
    for (const k of jwks.keys) {
      if (k.kty === "RSA") {
        assert.equal(k.alg, "RS256");
        assert.ok(k.n && k.e);
      } else {
        assert.equal(k.kty, "OKP");
        assert.equal(k.crv, "Ed25519");
      }
      assert.equal(k.d, undefined);
      assert.equal(k.p, undefined);
      assert.ok(k.kid);
    }
  });
});

describe("client credentials", () => {
  test("oauth4webapi gets an RFC 9068 token that jose verifies against the served JWKS", async () => {
    const as = await oauth.processDiscoveryResponse(
      new URL(w.url),
      await oauth.discoveryRequest(new URL(w.url), { algorithm: "oauth2", [oauth.allowInsecureRequests]: true }),
    );
    const client = { client_id: svc.client_id };
    const res = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretBasic(svc.client_secret),
      new URLSearchParams({ scope: "read" }),
      { [oauth.allowInsecureRequests]: true },
    );
    assert.equal(res.headers.get("cache-control"), "no-store");
    const tokens = await oauth.processClientCredentialsResponse(as, client, res);
    assert.equal(tokens.token_type, "bearer");
    assert.equal(tokens.scope, "read");
    assert.equal(tokens.expires_in, 3600);

    const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri), {});
    const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
      issuer: w.url,
      audience: "https://api.example.test",
      typ: "at+jwt",
      algorithms: ["EdDSA"],
    });
    assert.equal(protectedHeader.typ, "at+jwt");
    assert.ok(protectedHeader.kid);
    assert.equal(payload.sub, svc.client_id);
    assert.equal(payload.client_id, svc.client_id);
    assert.equal(payload.scope, "read");
    assert.deepEqual(payload.roles, ["reader"]);
    assert.ok(payload.jti && payload.jti.length >= 16);
    assert.equal(payload.exp - payload.iat, 3600);
  });

  test("client_secret_post works and grants every allowed scope when none is asked", async () => {
    const r = await w.form("/oauth/token", {
      grant_type: "client_credentials",
      client_id: svc.client_id,
      client_secret: svc.client_secret,
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.scope, "read write");
  });

  test("a resource names the audience; a foreign one is invalid_target", async () => {
    const ok = await ccToken({ resource: "https://api.example.test" });
    assert.equal(ok.status, 200);
    const bad = await ccToken({ resource: "https://evil.example.test" });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, "invalid_target");
  });

  test("a client with no audience gets the issuer as audience", async () => {
    const c = await w.client({ scopes: ["read"] });
    const r = await ccToken({}, c);
    const claims = jose.decodeJwt(r.body.access_token);
    assert.equal(claims.aud, w.url);
  });
});

describe("token endpoint refusals (RFC 6749 §5.2)", () => {
  const expectError = (r, status, error) => {
    assert.equal(r.status, status, r.text);
    assert.equal(r.body?.error, error, r.text);
    assert.equal(r.headers.get("cache-control"), "no-store");
  };

  test("wrong secret and unknown client both answer 401 invalid_client with a Basic challenge", async () => {
    const wrong = await ccToken({}, { client_id: svc.client_id, client_secret: "nope" });
    const unknown = await ccToken({}, { client_id: "no-such-client", client_secret: svc.client_secret });
    expectError(wrong, 401, "invalid_client");
    expectError(unknown, 401, "invalid_client");
    assert.deepEqual(wrong.body, unknown.body);
    assert.match(wrong.headers.get("www-authenticate"), /^Basic /);
  });

  test("a scope the client lacks is invalid_scope", async () => {
    const c = await w.client({ scopes: ["read"] });
    expectError(await ccToken({ scope: "write" }, c), 400, "invalid_scope");
    expectError(await ccToken({ scope: "read admin" }, c), 400, "invalid_scope");
  });

  test("an unknown grant type is unsupported_grant_type", async () => {
    const r = await w.form("/oauth/token", { grant_type: "urn:example:teleport" }, {
      authorization: basic(svc.client_id, svc.client_secret),
    });
    expectError(r, 400, "unsupported_grant_type");
  });

  test("malformed Basic headers are invalid_client", async () => {
    for (const header of [
      "Basic !!!not-base64!!!",
      "Basic " + Buffer.from("no-colon").toString("base64"),
      "Basic",
      "Basic " + Buffer.from(":secret").toString("base64"),
    ]) {
      const r = await w.form("/oauth/token", { grant_type: "client_credentials" }, { authorization: header });
      expectError(r, 401, "invalid_client");
    }
  });

  test("a JSON body is invalid_request", async () => {
    const res = await w.fetch("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basic(svc.client_id, svc.client_secret) },
      body: JSON.stringify({ grant_type: "client_credentials" }),
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, "invalid_request");
  });

  test("a 2 MB body is refused with 413, not a 5xx", async () => {
    // Answered before the body is read, so the connection is not reused afterwards.
    const res = await w.fetch("/oauth/token", {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: basic(svc.client_id, svc.client_secret),
        connection: "close",
      },
      body: "grant_type=client_credentials&pad=" + "a".repeat(2 * 1024 * 1024),
    });
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error, "invalid_request");
  });

  test("repeated parameters and two authentication methods are invalid_request", async () => {
    const dup = await w.fetch("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(svc.client_id, svc.client_secret) },
      body: "grant_type=client_credentials&grant_type=client_credentials",
    });
    assert.equal(dup.status, 400);
    const both = await ccToken({ client_secret: svc.client_secret });
    expectError(both, 400, "invalid_request");
  });

  test("GET on the token endpoint is refused", async () => {
    const res = await w.fetch("/oauth/token?grant_type=client_credentials");
    assert.equal(res.status, 405);
  });
});

describe("verify, revoke, introspect", () => {
  const verify = (token) =>
    w.fetch("/verify", { method: "POST", headers: { authorization: `Bearer ${token}` } });

  test("/verify answers the claims of a valid token", async () => {
    const { body } = await ccToken({ scope: "read" });
    const res = await verify(body.access_token);
    assert.equal(res.status, 200);
    const claims = await res.json();
    assert.equal(claims.client_id, svc.client_id);
    assert.equal(claims.scope, "read");
  });

  test("/verify without a token is 401 with a bare Bearer challenge", async () => {
    const res = await w.fetch("/verify", { method: "POST" });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="portcullis"');
  });

  test("forged tokens are 401 invalid_token", async () => {
    const { body } = await ccToken({ scope: "read" });
    const [h, p] = body.access_token.split(".");
    const header = JSON.parse(Buffer.from(h, "base64url"));
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const jwks = await (await w.fetch("/.well-known/jwks.json")).json();
    const publicKeyBytes = Buffer.from(JSON.stringify(jwks.keys[0]));
    const hs256 = await new jose.SignJWT(jose.decodeJwt(body.access_token))
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: header.kid })
      .sign(publicKeyBytes);
    const claims = jose.decodeJwt(body.access_token);
    const forged = {
      "alg none": `${b64({ ...header, alg: "none" })}.${p}.`,
      "HS256 keyed with the public key": hs256,
      "tampered payload": `${h}.${b64({ ...claims, scope: "read write admin" })}.${body.access_token.split(".")[2]}`,
      "unknown kid": `${b64({ ...header, kid: "not-a-key" })}.${p}.${body.access_token.split(".")[2]}`,
      garbage: "not.a.token",
      empty: "",
    };
    for (const [name, token] of Object.entries(forged)) {
      const res = await verify(token);
      assert.equal(res.status, 401, name);
      if (token) assert.match(res.headers.get("www-authenticate"), /error="invalid_token"/, name);
    }
  });

  test("a revoked token is inactive at /verify and introspection", async () => {
    const { body } = await ccToken({ scope: "read" });
    const introspect = () =>
      w.form("/oauth/introspect", { token: body.access_token }, { authorization: basic(svc.client_id, svc.client_secret) });
    let r = await introspect();
    assert.equal(r.status, 200);
    assert.equal(r.body.active, true);
    assert.equal(r.body.client_id, svc.client_id);
    assert.equal(r.body.token_type, "Bearer");

    const rev = await w.form("/oauth/revoke", { token: body.access_token, token_type_hint: "access_token" }, {
      authorization: basic(svc.client_id, svc.client_secret),
    });
    assert.equal(rev.status, 200);
    assert.equal((await verify(body.access_token)).status, 401);
    r = await introspect();
    assert.deepEqual(r.body, { active: false });
  });

  test("revoking an unknown token still answers 200 (RFC 7009 §2.2)", async () => {
    const r = await w.form("/oauth/revoke", { token: "whatever" }, { authorization: basic(svc.client_id, svc.client_secret) });
    assert.equal(r.status, 200);
  });

  test("introspection needs client authentication", async () => {
    const r = await w.form("/oauth/introspect", { token: "x" });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, "invalid_client");
  });

  test("a public client, which cannot authenticate, cannot introspect", async () => {
    const spa = await w.client({
      name: "spa-introspect", public: true, grant_types: ["authorization_code"], redirect_uris: ["https://spa.example/cb"],
    });
    const token = (await ccToken()).body.access_token;
    const r = await w.form("/oauth/introspect", { token, client_id: spa.client_id });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, "invalid_client");
    assert.equal(r.body.active, undefined, "no claims leak");
  });
});

describe("admin API (first endpoints)", () => {
  test("creating a client answers 201 with a one-time secret; reads never show it", async () => {
    const created = await w.admin("POST", "/admin/v1/clients", {
      name: "once", grant_types: ["client_credentials"], scopes: ["read"], redirect_uris: [], public: false,
    });
    assert.equal(created.status, 201);
    assert.ok(created.body.client_id);
    assert.ok(created.body.client_secret.length >= 43);
    const secret = created.body.client_secret;
    const one = await w.admin("GET", `/admin/v1/clients/${created.body.client_id}`);
    const list = await w.admin("GET", "/admin/v1/clients");
    assert.equal(one.status, 200);
    assert.equal(one.body.client_id, created.body.client_id);
    assert.ok(list.body.clients.some((c) => c.client_id === created.body.client_id));
    for (const r of [one, list]) {
      assert.ok(!r.text.includes(secret));
      assert.ok(!r.text.includes("hash"));
    }
  });

  test("admin endpoints need the admin token", async () => {
    for (const token of [null, "wrong", svc.client_secret]) {
      const r = await w.admin("GET", "/admin/v1/clients", undefined, { token });
      assert.equal(r.status, 401);
    }
    const { body } = await ccToken();
    const r = await w.admin("GET", "/admin/v1/clients", undefined, { token: body.access_token });
    assert.equal(r.status, 401);
  });

  test("bad bodies get a 4xx naming the field and change nothing", async () => {
    const before = (await w.admin("GET", "/admin/v1/clients")).body.clients.length;
    const cases = [
      ["{broken json", 400],
      [{ name: "x", grant_types: ["client_credentials"], unknown_field: true }, 400],
      [{ name: "x", grant_types: ["teleport"] }, 400],
      [{ name: "x", grant_types: ["client_credentials"], scopes: ["nope"] }, 422],
      [{ name: "x", grant_types: ["authorization_code"], redirect_uris: ["http://evil.example/cb"] }, 422],
      [{ name: "x", grant_types: ["client_credentials"], public: true }, 422],
    ];
    for (const [body, status] of cases) {
      const r = await w.admin("POST", "/admin/v1/clients", body);
      assert.equal(r.status, status, JSON.stringify(body) + " -> " + r.text);
      assert.ok(r.body.error && r.body.error_description, r.text);
    }
    const after = (await w.admin("GET", "/admin/v1/clients")).body.clients.length;
    assert.equal(after, before);
  });

  test("a duplicate scope is 409", async () => {
    const r = await w.admin("POST", "/admin/v1/scopes", { name: "read", description: "again" });
    assert.equal(r.status, 409);
  });
});

test("unknown paths are 404 JSON, never 5xx", async () => {
  const res = await w.fetch("/no/such/path");
  assert.equal(res.status, 404);
  assert.equal(ADMIN_TOKEN.length > 16, true);
});

describe("ES256 signing through WebCrypto", () => {
  let es;
  let client;
  before(async () => {
    es = await startWorker({ bindings: { SIGNING_ALG: "ES256" } });
    await es.scope("read");
    client = await es.client({ scopes: ["read"] });
  });
  after(async () => es?.stop());

  test("tokens are ES256, verify with jose against the JWKS and at /verify", async () => {
    const r = await es.form("/oauth/token", { grant_type: "client_credentials" }, {
      authorization: basic(client.client_id, client.client_secret),
    });
    assert.equal(r.status, 200, r.text);
    const jwks = await (await es.fetch("/.well-known/jwks.json")).json();
    const access = jwks.keys.filter((k) => k.alg !== "RS256");
    assert.ok(access.length >= 1 && access.every((k) => k.kty === "EC" && k.crv === "P-256" && k.alg === "ES256"));
    const { payload, protectedHeader } = await jose.jwtVerify(
      r.body.access_token,
      jose.createLocalJWKSet(jwks),
      { issuer: es.url, typ: "at+jwt", algorithms: ["ES256"] },
    );
    assert.equal(protectedHeader.alg, "ES256");
    assert.equal(payload.client_id, client.client_id);
    const v = await es.fetch("/verify", { method: "POST", headers: { authorization: `Bearer ${r.body.access_token}` } });
    assert.equal(v.status, 200);
  });

  test("an ES256 token with r = s = 0 is refused", async () => {
    const r = await es.form("/oauth/token", { grant_type: "client_credentials" }, {
      authorization: basic(client.client_id, client.client_secret),
    });
    const [h, p] = r.body.access_token.split(".");
    const zero = Buffer.alloc(64).toString("base64url");
    const v = await es.fetch("/verify", { method: "POST", headers: { authorization: `Bearer ${h}.${p}.${zero}` } });
    assert.equal(v.status, 401);
  });
});
