// Gateway: the route table, RFC 6750 refusals, identity headers, streaming and trusted external
// issuers, against the real wasm worker in workerd with a real origin and a real JWKS server on
// loopback. The origin records every request it receives: refusals must never reach it.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import * as jose from "jose";
import { startWorker, basic, serve, keyPair } from "./harness.mjs";

const AUD = "https://api.example.test";
const MB = 1024 * 1024;

// The origin: records method, URL, headers and body size of everything it receives.
const seen = [];
const origin = await serve((req, res) => {
  let bytes = 0;
  req.on("data", (chunk) => (bytes += chunk.length));
  req.on("end", () => {
    seen.push({ method: req.method, url: req.url, headers: req.headers, bytes });
    if (req.url.startsWith("/public/teapot")) {
      res.writeHead(418, { "x-origin": "teapot", "content-type": "text/plain" });
      return res.end("short and stout");
    }
    if (req.url.startsWith("/public/download")) {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      const chunk = Buffer.alloc(MB, 1);
      for (let i = 0; i < 8; i++) res.write(chunk);
      return res.end();
    }
    if (req.url.startsWith("/public/redirect")) {
      res.writeHead(302, { location: "/elsewhere" });
      return res.end();
    }
    res.writeHead(200, { "content-type": "application/json", "x-origin": "yes" });
    res.end(JSON.stringify({ bytes }));
  });
});

// The external issuer: its JWKS is whatever `jwksKeys` holds now; fetches are counted.
const EXT_ISS = "https://idp.example.test";
let jwksKeys = [];
let jwksFetches = 0;
const idp = await serve((req, res) => {
  jwksFetches += 1;
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ keys: jwksKeys }));
});

async function externalToken(key, { iss = EXT_ISS, aud = AUD, scope = "read", exp = "5m", sub = "ext-user" } = {}) {
  return new jose.SignJWT({ scope, azp: "ext-app" })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT" })
    .setIssuer(iss)
    .setAudience(aud)
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(key.privateKey);
}

let w;
let rsa1;
let ec1;
let reader; // client allowed read + write, audience AUD
let other; // client whose tokens carry another audience

const ROUTES = [
  { path: "/public/*", public: true },
  { path: "/api/*", methods: ["GET", "HEAD"], scopes: ["read"], audience: AUD },
  { path: "/api/*", methods: ["POST", "PUT"], scopes: ["write"], audience: AUD },
  { path: "/either/*", scopes: ["read", "admin"], scope_mode: "any", forward_token: true, audience: AUD },
  { path: "/upload", methods: ["POST"], scopes: ["write"], audience: AUD },
  { path: "/ext/*", issuer: EXT_ISS, scopes: ["read"], audience: AUD },
];

before(async () => {
  w = await startWorker({ bindings: { ORIGIN_URL: origin.url, JWKS_COOLDOWN_SECONDS: "2" } });
  await w.scope("read");
  await w.scope("write");
  await w.scope("admin");
  reader = await w.client({ scopes: ["read", "write"], audiences: [AUD] });
  other = await w.client({ scopes: ["read"], audiences: ["https://other.example.test"] });
  const r = await w.admin("PUT", "/admin/v1/routes", { routes: ROUTES });
  assert.equal(r.status, 200, r.text);
  rsa1 = await keyPair("RS256", "rsa-1");
  ec1 = await keyPair("ES256", "ec-1");
  jwksKeys = [rsa1.jwk, ec1.jwk];
  const i = await w.admin("PUT", "/admin/v1/issuers", {
    issuers: [{ issuer: EXT_ISS, jwks_uri: `${idp.url}/jwks.json`, audiences: [AUD], algorithms: ["RS256", "ES256"] }],
  });
  assert.equal(i.status, 200, i.text);
});

after(async () => {
  await w?.stop();
  origin.server.close();
  idp.server.close();
});

async function ownToken(scope, client = reader) {
  const r = await w.form("/oauth/token", { grant_type: "client_credentials", scope }, {
    authorization: basic(client.client_id, client.client_secret),
  });
  assert.equal(r.status, 200, r.text);
  return r.body.access_token;
}

/** Calls the gateway; asserts the origin was (or was not) reached. */
async function call(path, { token, method = "GET", headers = {}, body, reaches = true } = {}) {
  const before = seen.length;
  const init = { method, headers: { ...headers }, redirect: "manual" };
  if (token) init.headers.authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.body = body;
    init.duplex = "half";
  }
  const res = await fetch(w.url + path, init);
  const text = await res.text();
  assert.equal(seen.length, before + (reaches ? 1 : 0), `origin ${reaches ? "not reached" : "reached"}: ${res.status} ${text}`);
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: json, got: reaches ? seen.at(-1) : undefined };
}

const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

function assertInvalidToken(r) {
  assert.equal(r.status, 401, r.text);
  assert.match(r.headers.get("www-authenticate"), /^Bearer realm="portcullis", error="invalid_token"/);
  assert.equal(r.body.error, "invalid_token");
}

describe("route table admin", () => {
  test("GET answers the table with its version as ETag", async () => {
    const r = await w.admin("GET", "/admin/v1/routes");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("etag"), '"1"');
    assert.equal(r.body.version, 1);
    assert.equal(r.body.routes.length, ROUTES.length);
    assert.equal(r.body.routes[1].scope_mode, "all");
  });

  test("bad tables name the field, unknown fields are refused, and nothing changes", async () => {
    const bad = await w.admin("PUT", "/admin/v1/routes", { routes: [{ path: "/a", methods: ["FETCH"] }] });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.field, "routes[0].methods[0]");
    const unknown = await w.admin("PUT", "/admin/v1/routes", { routes: [{ path: "/a", colour: "red" }] });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error_description, /colour/);
    const origin = await w.admin("PUT", "/admin/v1/routes", { routes: [{ path: "/a", origin: "ftp://x" }] });
    assert.equal(origin.body.field, "routes[0].origin");
    const stale = await w.admin("PUT", "/admin/v1/routes", { routes: [] }, { headers: { "if-match": '"99"' } });
    assert.equal(stale.status, 412);
    const noAuth = await w.admin("PUT", "/admin/v1/routes", { routes: [] }, { token: null });
    assert.equal(noAuth.status, 401);
    assert.equal((await w.admin("GET", "/admin/v1/routes")).body.version, 1);
  });

  test("issuers refuse none and HMAC algorithms by name", async () => {
    for (const alg of ["none", "HS256"]) {
      const r = await w.admin("PUT", "/admin/v1/issuers", {
        issuers: [{ issuer: "https://x", jwks_uri: "https://x/jwks", audiences: [AUD], algorithms: [alg] }],
      });
      assert.equal(r.status, 400, alg);
      assert.equal(r.body.field, "issuers[0].algorithms[0]");
    }
    const r = await w.admin("GET", "/admin/v1/issuers");
    assert.equal(r.body.issuers[0].issuer, EXT_ISS);
  });
});

describe("routing and public routes", () => {
  test("a path no route matches is 404 and never reaches the origin", async () => {
    const r = await call("/not/routed", { reaches: false });
    assert.equal(r.status, 404);
    assert.equal(r.body.error, "not_found");
  });

  test("a routed path with another method is 405 with Allow", async () => {
    const r = await call("/api/x", { method: "DELETE", reaches: false });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "GET, HEAD, POST, PUT");
  });

  test("a dot segment with path parameters cannot climb out of a public route", async () => {
    for (const p of ["/public/..;/api/x", "/public/%2e%2e;jsessionid=1/api/x"]) {
      const r = await call(p, { reaches: false });
      assert.equal(r.status, 400, p);
    }
  });

  test("a public route passes without a token; spoofed identity and Authorization are stripped", async () => {
    const r = await call("/public/hello?x=1&y=2", {
      headers: {
        "X-Portcullis-Subject": "admin",
        "x-portcullis-client-id": "root",
        "X-PORTCULLIS-SCOPE": "everything",
        authorization: "Bearer not-checked-here",
        "x-custom": "kept",
      },
    });
    assert.equal(r.status, 200);
    assert.equal(r.got.url, "/public/hello?x=1&y=2");
    assert.equal(r.got.headers["x-custom"], "kept");
    assert.equal(r.got.headers.authorization, undefined);
    for (const h of Object.keys(r.got.headers)) assert.ok(!h.startsWith("x-portcullis-"), h);
  });

  test("the origin's status, headers and redirects come back as they are", async () => {
    const teapot = await call("/public/teapot");
    assert.equal(teapot.status, 418);
    assert.equal(teapot.headers.get("x-origin"), "teapot");
    assert.equal(teapot.text, "short and stout");
    const redirect = await call("/public/redirect");
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get("location"), "/elsewhere");
  });
});

describe("Portcullis tokens", () => {
  test("no token: 401 with a bare Bearer challenge", async () => {
    const r = await call("/api/items", { reaches: false });
    assert.equal(r.status, 401);
    assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="portcullis"');
  });

  test("a valid token reaches the origin with verified identity headers only", async () => {
    const token = await ownToken("read");
    const r = await call("/api/items?page=2", {
      token,
      headers: { "x-portcullis-subject": "someone-else", "x-request-thing": "1" },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("x-origin"), "yes");
    assert.equal(r.got.method, "GET");
    assert.equal(r.got.url, "/api/items?page=2");
    assert.equal(r.got.headers["x-portcullis-subject"], reader.client_id);
    assert.equal(r.got.headers["x-portcullis-client-id"], reader.client_id);
    assert.equal(r.got.headers["x-portcullis-scope"], "read");
    assert.equal(r.got.headers["x-request-thing"], "1");
    assert.equal(r.got.headers.authorization, undefined);
  });

  test("a GET that declares Content-Length: 0 (as wrk and some proxies send) is forwarded", async () => {
    const token = await ownToken("read");
    const before = seen.length;
    const { request } = await import("node:http");
    const status = await new Promise((resolve, reject) => {
      const req = request(`${w.url}/api/items`, {
        method: "GET",
        headers: { authorization: `Bearer ${token}`, "content-length": "0" },
      }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 200);
    assert.equal(seen.length, before + 1);
    assert.equal(seen.at(-1).method, "GET");
  });

  test("forward_token keeps Authorization; scope_mode any accepts one of the scopes", async () => {
    const token = await ownToken("read");
    const r = await call("/either/thing", { token });
    assert.equal(r.status, 200);
    assert.equal(r.got.headers.authorization, `Bearer ${token}`);
  });

  test("a missing scope is 403 insufficient_scope naming the scope", async () => {
    const r = await call("/api/items", { method: "POST", token: await ownToken("read"), body: "{}", reaches: false });
    assert.equal(r.status, 403);
    assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="portcullis", error="insufficient_scope", scope="write"');
    assert.equal(r.body.error, "insufficient_scope");
  });

  test("a token for another audience is invalid_token", async () => {
    assertInvalidToken(await call("/api/items", { token: await ownToken("read", other), reaches: false }));
  });

  test("a revoked token is refused", async () => {
    const token = await ownToken("read");
    await call("/api/ok", { token });
    const rev = await w.form("/oauth/revoke", { token }, { authorization: basic(reader.client_id, reader.client_secret) });
    assert.equal(rev.status, 200);
    assertInvalidToken(await call("/api/ok", { token, reaches: false }));
  });

  test("forged tokens are refused: alg none, HS256 with the public key, ES256 r=s=0, tampered, unknown kid", async () => {
    const token = await ownToken("read");
    const [h, p] = token.split(".");
    const header = JSON.parse(Buffer.from(h, "base64url"));
    const jwks = await (await w.fetch("/.well-known/jwks.json")).json();
    const pub = jwks.keys.find((k) => k.kid === header.kid);
    const hs256 = await new jose.SignJWT(jose.decodeJwt(token))
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: header.kid })
      .sign(Buffer.from(pub.x, "base64url"));
    const tampered = { ...jose.decodeJwt(token), scope: "read write admin" };
    const forged = {
      none: `${b64({ ...header, alg: "none" })}.${p}.`,
      hs256,
      es256zero: `${b64({ ...header, alg: "ES256" })}.${p}.${Buffer.alloc(64).toString("base64url")}`,
      tampered: `${h}.${b64(tampered)}.${token.split(".")[2]}`,
      unknownKid: `${b64({ ...header, kid: "no-such-key" })}.${p}.${token.split(".")[2]}`,
    };
    for (const [name, t] of Object.entries(forged)) {
      const r = await call("/api/items", { token: t, reaches: false });
      assert.equal(r.status, 401, name);
      assert.match(r.headers.get("www-authenticate"), /error="invalid_token"/, name);
    }
  });
});

describe("streaming", () => {
  test("a 10 MB upload streams through to the origin", async () => {
    const token = await ownToken("write");
    const chunk = Buffer.alloc(MB, 7);
    let sent = 0;
    const stream = new ReadableStream({
      pull(controller) {
        if (sent === 10) return controller.close();
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    const r = await call("/upload", { method: "POST", token, body: stream, headers: { "content-type": "application/octet-stream" } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.got.bytes, 10 * MB);
    assert.equal(r.body.bytes, 10 * MB);
  });
});

describe("streaming back", () => {
  test("an 8 MB answer streams back from the origin whole", async () => {
    const res = await fetch(`${w.url}/public/download`);
    assert.equal(res.status, 200);
    let bytes = 0;
    for await (const chunk of res.body) bytes += chunk.length;
    assert.equal(bytes, 8 * MB);
  });
});

describe("trusted external issuer", () => {
  test("RS256 and ES256 tokens from the issuer reach the origin with its identity", async () => {
    for (const key of [rsa1, ec1]) {
      const r = await call("/ext/profile", { token: await externalToken(key) });
      assert.equal(r.status, 200, `${key.alg}: ${r.text}`);
      assert.equal(r.got.headers["x-portcullis-subject"], "ext-user");
      assert.equal(r.got.headers["x-portcullis-client-id"], "ext-app");
      assert.equal(r.got.headers["x-portcullis-scope"], "read");
    }
  });

  test("expired, wrong-audience and wrong-issuer tokens are invalid_token", async () => {
    const past = Math.floor(Date.now() / 1000) - 600;
    assertInvalidToken(await call("/ext/p", { token: await externalToken(rsa1, { exp: past }), reaches: false }));
    assertInvalidToken(await call("/ext/p", { token: await externalToken(rsa1, { aud: "https://other" }), reaches: false }));
    assertInvalidToken(await call("/ext/p", { token: await externalToken(rsa1, { iss: "https://evil.example" }), reaches: false }));
    // A Portcullis token on a route that only trusts the external issuer.
    assertInvalidToken(await call("/ext/p", { token: await ownToken("read"), reaches: false }));
  });

  test("an algorithm outside the issuer's allow-list is refused even with a published key", async () => {
    const ed = await keyPair("EdDSA", "ed-1");
    jwksKeys = [rsa1.jwk, ec1.jwk, ed.jwk];
    assertInvalidToken(await call("/ext/p", { token: await externalToken(ed), reaches: false }));
  });

  test("key rotation: a new kid refetches the JWKS, at most once per cool-down", async () => {
    await new Promise((r) => setTimeout(r, 2100));
    const rsa2 = await keyPair("RS256", "rsa-2");
    // Before the issuer publishes rsa-2: one refetch, then a flood of unknown kids fetches nothing.
    const fetchesBefore = jwksFetches;
    for (let i = 0; i < 10; i++) {
      assertInvalidToken(await call("/ext/p", { token: await externalToken(rsa2), reaches: false }));
    }
    assert.equal(jwksFetches - fetchesBefore, 1);
    // The issuer rotates: rsa-2 in, rsa-1 out. After the cool-down rsa-2 verifies.
    jwksKeys = [rsa2.jwk];
    await new Promise((r) => setTimeout(r, 2100));
    const r = await call("/ext/p", { token: await externalToken(rsa2) });
    assert.equal(r.status, 200, r.text);
    assert.equal(jwksFetches - fetchesBefore, 2);
  });
});
