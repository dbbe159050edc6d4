// What the origin can trust (SECURITY.md): the origin serves exactly the path the gateway
// matched, never sees headers that re-route a request or Portcullis's own cookies, and gets
// only tokens for its audience from the issuer its route names. Against the real wasm worker in
// workerd, with a recording origin on loopback; requests go out raw (node:http), so paths reach
// the worker as an attacker would write them, not as fetch() would normalise them.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import * as jose from "jose";
import { startWorker, basic, serve, keyPair, Person } from "./harness.mjs";

const API = "https://api.example.test";
const EXT_ISS = "https://idp.example.test";

// The origin: records every request; answers with the cookies a test asks for.
const seen = [];
let originCookies = [];
const origin = await serve((req, res) => {
  req.resume();
  req.on("end", () => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    res.writeHead(200, [["content-type", "text/plain"], ...originCookies.map((c) => ["set-cookie", c])]);
    res.end("ok");
  });
});
let jwksKeys = [];
const idp = await serve((req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ keys: jwksKeys }));
});

// The classic layout an attacker probes: everything public except what a route protects.
const ROUTES = [
  { path: "/*", public: true },
  { path: "/private/*", scopes: ["private"] },
  { path: "/api/*", scopes: ["read"], audience: API },
  { path: "/ext/*", scopes: ["read"], issuer: EXT_ISS, audience: API },
];

let w;
let admin; // a client without audiences: its tokens are for Portcullis's own (the issuer)
let apiClient; // a client whose tokens are for API only
let ext;

before(async () => {
  w = await startWorker({ bindings: { ORIGIN_URL: origin.url } });
  for (const s of ["private", "read"]) await w.scope(s);
  admin = await w.client({ scopes: ["private", "read"] });
  apiClient = await w.client({ scopes: ["private", "read"], audiences: [API] });
  const r = await w.admin("PUT", "/admin/v1/routes", { routes: ROUTES });
  assert.equal(r.status, 200, r.text);
  ext = await keyPair("ES256", "ext-1");
  jwksKeys = [ext.jwk];
  const i = await w.admin("PUT", "/admin/v1/issuers", {
    issuers: [{ issuer: EXT_ISS, jwks_uri: `${idp.url}/jwks.json`, audiences: [API], algorithms: ["ES256"] }],
  });
  assert.equal(i.status, 200, i.text);
});

after(async () => {
  await w?.stop();
  origin.server.close();
  idp.server.close();
});

async function tokenOf(client, scope) {
  const r = await w.form("/oauth/token", { grant_type: "client_credentials", scope }, {
    authorization: basic(client.client_id, client.client_secret),
  });
  assert.equal(r.status, 200, r.text);
  return r.body.access_token;
}

/**
 * Sends `path` byte for byte on a connection of its own; answers { status, headers, body, got }
 * where `got` is what the origin recorded (undefined when the request never reached it).
 */
function raw(path, { method = "GET", headers = {} } = {}) {
  const before = seen.length;
  const { hostname, port } = new URL(w.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path, method, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () =>
        resolve({ status: res.statusCode, headers: res.headers, body, got: seen.length > before ? seen.at(-1) : undefined }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("one canonical path", () => {
  test("a path that walks, merges, encodes or cases its way into a protected route meets that route", async () => {
    for (const p of [
      "/private",
      "/private/",
      "/PRIVATE/users",
      "/Private/Users",
      "/%70rivate/users",
      "/private//users",
      "/x/..//private/users",
      "/public/%2e%2e/private/users",
      "/public/./../private/users",
    ]) {
      const r = await raw(p);
      assert.equal(r.status, 401, `${p}: ${r.status} ${r.body}`);
      assert.equal(r.got, undefined, `${p} reached the origin`);
    }
  });

  test("paths without one meaning are refused with 400 and never reach the origin", async () => {
    for (const p of [
      "/private;jsessionid=1/users",
      "/public/..;/private/users",
      "/public;x/%2e%2e;/private",
      "/private%2Fusers",
      "/public%2F..%2Fprivate/users",
      "/public/%5C..%5Cprivate",
      "/public/%252e%252e/private",
      "/public/%00",
    ]) {
      const r = await raw(p);
      assert.equal(r.status, 400, `${p}: ${r.status} ${r.body}`);
      assert.equal(JSON.parse(r.body).error, "invalid_request", p);
      assert.equal(r.got, undefined, `${p} reached the origin`);
    }
  });

  test("the origin is sent exactly the canonical path that was matched", async () => {
    const token = await tokenOf(admin, "private");
    const r = await raw("/x/..//Private//users/%7Ebob/caf%c3%a9/?q=%2e%2e/x", { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.got.url, "/Private/users/~bob/caf%C3%A9/?q=%2e%2e/x");
    const pub = await raw("/docs//a/./b/%2e%2e/c");
    assert.equal(pub.got.url, "/docs/a/c");
  });

  test("letter case is the route table's choice: case_sensitive makes /PRIVATE another path", async () => {
    const get = await w.admin("GET", "/admin/v1/routes");
    const strict = await w.admin("PUT", "/admin/v1/routes", { routes: ROUTES, case_sensitive: true }, {
      headers: { "if-match": get.headers.get("etag") },
    });
    assert.equal(strict.status, 200, strict.text);
    assert.equal(strict.body.case_sensitive, true);
    try {
      const r = await raw("/PRIVATE/users");
      assert.equal(r.status, 200);
      assert.equal(r.got.url, "/PRIVATE/users");
      assert.equal((await raw("/private/users")).status, 401);
    } finally {
      const back = await w.admin("PUT", "/admin/v1/routes", { routes: ROUTES }, {
        headers: { "if-match": strict.headers.get("etag") },
      });
      assert.equal(back.status, 200, back.text);
      assert.equal(back.body.case_sensitive, false);
    }
  });
});

describe("headers that re-route a request", () => {
  test("never reach the origin; X-Forwarded-Host, -Proto and -For are the gateway's own", async () => {
    const r = await raw("/docs/page", {
      headers: {
        "x-original-url": "/private/users",
        "x-rewrite-url": "/private/users",
        "x-original-uri": "/private/users",
        "x-http-method-override": "DELETE",
        "x-http-method": "DELETE",
        "x-method-override": "DELETE",
        "x-forwarded-host": "evil.example",
        "x-forwarded-proto": "https",
        "x-forwarded-for": "10.9.8.7",
        "x-forwarded-prefix": "/private",
        "x-forwarded-path": "/private/users",
        "x-forwarded-port": "8443",
        forwarded: "for=10.9.8.7;host=evil.example;proto=https",
        "x-real-ip": "10.9.8.7",
        "x-kept": "yes",
      },
    });
    assert.equal(r.status, 200);
    const h = r.got.headers;
    for (const name of [
      "x-original-url",
      "x-rewrite-url",
      "x-original-uri",
      "x-http-method-override",
      "x-http-method",
      "x-method-override",
      "x-forwarded-prefix",
      "x-forwarded-path",
      "x-forwarded-port",
      "forwarded",
      "x-real-ip",
    ]) {
      assert.equal(h[name], undefined, name);
    }
    assert.equal(h["x-forwarded-host"], new URL(w.url).host);
    assert.equal(h["x-forwarded-proto"], "http");
    assert.notEqual(h["x-forwarded-for"], "10.9.8.7");
    assert.equal(h["x-kept"], "yes");
  });
});

describe("Portcullis's own cookies", () => {
  async function signedIn(worker) {
    const id = `u-${Math.random().toString(36).slice(2)}`;
    const u = await worker.admin("POST", "/admin/v1/users", { username: id, password: "correct horse battery" });
    assert.equal(u.status, 201, u.text);
    const person = new Person(worker);
    const r = await person.login(id, "correct horse battery");
    assert.equal(r.status, 303, r.html);
    return person;
  }

  test("the sign-in session is never forwarded, an origin cannot set it, the app's cookies pass both ways", async () => {
    const person = await signedIn(w);
    assert.ok(person.jar.has("portcullis_session"));
    originCookies = ["portcullis_session=planted; Path=/", "app=2; Path=/", "theme=dark; Path=/"];
    try {
      const r = await raw("/docs/page", { headers: { cookie: `app=1; ${person.cookieHeader()}; other=x` } });
      assert.equal(r.status, 200);
      assert.equal(r.got.headers.cookie, "app=1; other=x");
      assert.deepEqual(r.headers["set-cookie"], ["app=2; Path=/", "theme=dark; Path=/"]);
    } finally {
      originCookies = [];
    }
  });

  test("over https the session cookie is __Host- prefixed and just as private", async () => {
    const tls = await startWorker({ bindings: { ORIGIN_URL: origin.url }, upstream: "https://auth.example.test" });
    try {
      const r = await tls.admin("PUT", "/admin/v1/routes", { routes: [{ path: "/*", public: true }] });
      assert.equal(r.status, 200, r.text);
      const person = await signedIn(tls);
      const set = [...person.jar.keys()];
      assert.deepEqual(set, ["__Host-portcullis_session"]);
      originCookies = ["__Host-portcullis_session=planted; Path=/; Secure", "app=2"];
      const before = seen.length;
      const res = await tls.fetch("/page", { headers: { cookie: `${person.cookieHeader()}; app=1` } });
      await res.text();
      assert.equal(seen.length, before + 1);
      assert.equal(seen.at(-1).headers.cookie, "app=1");
      assert.deepEqual(res.headers.getSetCookie(), ["app=2"]);
      const page = await person.get("/account/grants");
      assert.equal(page.status, 200, "the __Host- session signs the person in");
    } finally {
      originCookies = [];
      await tls.stop();
    }
  });
});

describe("audience and issuer by default (RFC 9068 §4)", () => {
  test("a route without audience takes only tokens for Portcullis's own audience", async () => {
    const forApi = await tokenOf(apiClient, "private");
    const r = await raw("/private/users", { headers: { authorization: `Bearer ${forApi}` } });
    assert.equal(r.status, 401);
    assert.match(r.headers["www-authenticate"], /invalid_token/);
    assert.equal(r.got, undefined);
    const own = await tokenOf(admin, "private");
    const ok = await raw("/private/users", { headers: { authorization: `Bearer ${own}` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.got.headers["x-portcullis-issuer"], w.url);
    assert.equal(ok.got.headers["x-portcullis-subject"], admin.client_id);
  });

  async function extToken({ typ = "at+jwt", claims = {} } = {}) {
    return new jose.SignJWT({ scope: "read", client_id: "ext-app", ...claims })
      .setProtectedHeader({ alg: "ES256", kid: ext.kid, typ })
      .setIssuer(EXT_ISS)
      .setAudience(API)
      .setSubject("ext-user")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(ext.privateKey);
  }

  test("an external issuer's tokens pass only on routes that name it, with X-Portcullis-Issuer", async () => {
    const token = await extToken();
    const ok = await raw("/ext/profile", { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.got.headers["x-portcullis-issuer"], EXT_ISS);
    assert.equal(ok.got.headers["x-portcullis-subject"], "ext-user");
    const api = await raw("/api/items", { headers: { authorization: `Bearer ${token}` } });
    assert.equal(api.status, 401, "a trusted issuer's token on a route that does not name it");
    assert.equal(api.got, undefined);
  });

  test("an external ID token is not an access token", async () => {
    for (const [what, t] of [
      ["nonce", await extToken({ typ: "JWT", claims: { nonce: "n-0S6_WzA2Mj" } })],
      ["at_hash", await extToken({ typ: "JWT", claims: { at_hash: "77QmUPtjPfzWtF2AnpK9RQ" } })],
      ["typ", await extToken({ typ: "id_token+jwt" })],
    ]) {
      const r = await raw("/ext/profile", { headers: { authorization: `Bearer ${t}` } });
      assert.equal(r.status, 401, what);
      assert.equal(r.got, undefined, what);
    }
    const plain = await raw("/ext/profile", { headers: { authorization: `Bearer ${await extToken({ typ: "JWT" })}` } });
    assert.equal(plain.status, 200, "typ JWT is allowed by default");
  });
});

describe("the README's examples", () => {
  /** The JSON body of the README's `curl … <path> -d '…'` example. */
  async function readmeBody(path) {
    const { readFile } = await import("node:fs/promises");
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    const at = readme.indexOf(`${path} -d '`);
    assert.ok(at > 0, `README has a ${path} example`);
    const start = at + path.length + 5;
    return JSON.parse(readme.slice(start, readme.indexOf("'", start)));
  }

  test("the route and issuer tables are accepted and route as the README says", async () => {
    const readme = await startWorker({ bindings: { ORIGIN_URL: origin.url } });
    try {
      const issuers = await readme.admin("PUT", "/admin/v1/issuers", await readmeBody("/admin/v1/issuers"));
      assert.equal(issuers.status, 200, issuers.text);
      const routes = await readme.admin("PUT", "/admin/v1/routes", await readmeBody("/admin/v1/routes"));
      assert.equal(routes.status, 200, routes.text);
      await readme.scope("read");
      const api = await readme.client({ scopes: ["read"], audiences: ["https://api.example.com"] });
      const t = await readme.form("/oauth/token", { grant_type: "client_credentials", scope: "read" }, {
        authorization: basic(api.client_id, api.client_secret),
      });
      const before = seen.length;
      const health = await readme.fetch("/health");
      assert.equal(health.status, 200);
      const items = await readme.fetch("/api/items", { headers: { authorization: `Bearer ${t.body.access_token}` } });
      assert.equal(items.status, 200);
      assert.equal(seen.length, before + 2);
      assert.equal(seen.at(-1).url, "/api/items");
      for (const p of ["/API/Admin/x", "/api/admin", "/api/items"]) {
        assert.equal((await readme.fetch(p)).status, 401, p);
      }
      const write = await readme.fetch("/api/items", { method: "POST", headers: { authorization: `Bearer ${t.body.access_token}` } });
      assert.equal(write.status, 403);
      assert.equal(seen.length, before + 2, "refusals never reach the origin");
    } finally {
      await readme.stop();
    }
  });
});
