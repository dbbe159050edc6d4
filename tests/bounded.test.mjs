// Bounded reads (issue 11): whatever a caller, a trusted issuer's JWKS server or the origin's
// login endpoint streams at the worker, it holds no more than a fixed cap in memory and stops
// reading there. Request bodies without Content-Length are refused (413) while they stream;
// JWKS and upstream-login answers are cut off at their caps; JWKS fetches do not follow
// redirects. Each suite runs a worker of its own against loopback servers of its own.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import * as jose from "jose";
import { startWorker, basic, serve, keyPair, ADMIN_TOKEN, Person } from "./harness.mjs";

const KiB = 1024;
const MiB = 1024 * KiB;
/** Far above any cap of the worker: a server that wrote this much was read without bound. */
const UNBOUNDED = 32 * MiB;
/** Failure detection only: a worker that reads without bound never answers these tests. */
const HANG = { timeout: 30_000 };

/**
 * Writes `chunk` to `res` for as long as the peer takes it, respecting back-pressure, until
 * the peer closes the connection. Answers a promise of the bytes written by then.
 */
function streamForever(res, chunk) {
  return new Promise((resolve) => {
    let written = 0;
    res.on("close", () => resolve(written));
    const pump = () => {
      while (!res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) return res.once("drain", pump);
      }
    };
    pump();
  });
}

/**
 * POSTs a chunked body (no Content-Length) that never ends to the worker, on a connection of
 * its own: `cap` bytes and 512 KiB more, as fast as the worker takes them, then nothing, with
 * the body left open. Only a worker that stops reading at its cap can answer that; one that
 * reads to the end of the body never does. Answers { status, headers, body, text }.
 *
 * Why not stream on until the answer comes: the runtime (workerd) drains about 1 MiB of an
 * upload it refused and then closes the connection, and closing it with more unread bytes in
 * flight resets it, which can destroy the answer on its way. 512 KiB stays under that.
 */
function postOpenBody(url, path, headers, cap) {
  const target = new URL(url + path);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      method: "POST",
      agent: false,
      headers: { ...headers, "transfer-encoding": "chunked" },
    });
    let sent = 0;
    let answered = false;
    req.on("response", (res) => {
      answered = true;
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => {
        req.destroy();
        let body;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, body, text });
      });
    });
    req.on("error", reject);
    const chunk = Buffer.alloc(64 * KiB, "a");
    const pump = () => {
      while (!answered && sent < cap + 512 * KiB) {
        sent += chunk.length;
        if (!req.write(chunk)) return req.once("drain", pump);
      }
    };
    pump();
  });
}

/** Asserts a 413 in the JSON error format. */
function assertTooLarge(r) {
  assert.equal(r.status, 413, r.text);
  assert.match(r.headers["content-type"], /^application\/json/);
  assert.equal(r.body?.error, "invalid_request", r.text);
}

describe("request bodies without Content-Length", () => {
  let w;
  let svc;
  before(async () => {
    w = await startWorker();
    svc = await w.client();
  });
  after(async () => w?.stop());

  test("a chunked body over the token endpoint's 64 KiB cap is refused with 413 before it ends", HANG, async () => {
    const r = await postOpenBody(
      w.url,
      "/oauth/token",
      { "content-type": "application/x-www-form-urlencoded", authorization: basic(svc.client_id, svc.client_secret) },
      64 * KiB,
    );
    assertTooLarge(r);
    assert.equal(r.headers["cache-control"], "no-store");
  });

  test("a chunked body over the admin API's 1 MiB cap is refused with 413 before it ends", HANG, async () => {
    const r = await postOpenBody(
      w.url,
      "/admin/v1/clients",
      { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
      MiB,
    );
    assertTooLarge(r);
    // Nothing was created.
    assert.equal((await w.admin("GET", "/admin/v1/clients")).body.clients.length, 1);
  });

  test("a chunked body under the cap is read whole", async () => {
    const params = new URLSearchParams({ grant_type: "client_credentials", pad: "a".repeat(60 * KiB) });
    const body = Buffer.from(params.toString());
    const res = await new Promise((resolve, reject) => {
      const req = http.request(new URL(w.url + "/oauth/token"), {
        method: "POST",
        agent: false,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: basic(svc.client_id, svc.client_secret),
          "transfer-encoding": "chunked",
        },
      });
      req.on("response", (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode, text }));
      });
      req.on("error", reject);
      for (let i = 0; i < body.length; i += 4 * KiB) req.write(body.subarray(i, i + 4 * KiB));
      req.end();
    });
    assert.equal(res.status, 200, res.text);
    assert.ok(JSON.parse(res.text).access_token);
  });
});

describe("trusted issuers' JWKS", () => {
  const AUD = "https://api.example.test";
  const ENDLESS = "https://endless.example.test";
  const MOVED = "https://moved.example.test";
  let w;
  let origin;
  let reached = 0;
  let endless; // a JWKS server whose answer never ends
  let endlessClosed; // settles with the bytes it wrote when the worker hangs up
  let issuerKey;
  let moved; // the issuer's JWKS server: its key, or a redirect to `movedTo` once that is set
  let movedTo;
  let movedFetches = 0;
  let attacker; // a JWKS server holding the attacker's key
  let attackerKey;
  let attackerFetches = 0;

  const token = (key, iss) =>
    new jose.SignJWT({ scope: "read" })
      .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "JWT" })
      .setIssuer(iss)
      .setAudience(AUD)
      .setSubject("someone")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(key.privateKey);
  const jwks = (res, key) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: [key.jwk] }));
  };

  before(async () => {
    origin = await serve((req, res) => {
      reached += 1;
      res.end("origin");
    });
    issuerKey = await keyPair("ES256", "issuer-1");
    attackerKey = await keyPair("ES256", "attacker-1");
    attacker = await serve((req, res) => {
      attackerFetches += 1;
      jwks(res, attackerKey);
    });
    moved = await serve((req, res) => {
      movedFetches += 1;
      if (!movedTo) return jwks(res, issuerKey);
      res.writeHead(302, { location: movedTo });
      res.end();
    });
    let closed;
    endlessClosed = new Promise((resolve) => (closed = resolve));
    endless = await serve((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"keys":[');
      streamForever(res, Buffer.from('{"kty":"EC","crv":"P-256","x":"","y":""},'.repeat(1000))).then(closed);
    });
    // No cool-down: every unknown kid refetches the JWKS.
    w = await startWorker({ bindings: { ORIGIN_URL: origin.url, JWKS_COOLDOWN_SECONDS: "0" } });
    const issuers = [
      { issuer: ENDLESS, jwks_uri: `${endless.url}/jwks.json`, audiences: [AUD], algorithms: ["ES256"] },
      { issuer: MOVED, jwks_uri: `${moved.url}/jwks.json`, audiences: [AUD], algorithms: ["ES256"] },
    ];
    let r = await w.admin("PUT", "/admin/v1/issuers", { issuers });
    assert.equal(r.status, 200, r.text);
    r = await w.admin("PUT", "/admin/v1/routes", {
      routes: [
        { path: "/endless/*", issuer: ENDLESS, scopes: ["read"], audience: AUD },
        { path: "/moved/*", issuer: MOVED, scopes: ["read"], audience: AUD },
      ],
    });
    assert.equal(r.status, 200, r.text);
  });
  after(async () => {
    await w?.stop();
    for (const s of [origin, attacker, moved, endless]) s?.server.closeAllConnections();
    for (const s of [origin, attacker, moved, endless]) s?.server.close();
  });

  /** A gateway GET with `token`; asserts whether the origin was reached. */
  const get = async (path, bearer, { reaches }) => {
    const before = reached;
    const res = await fetch(w.url + path, { headers: { authorization: `Bearer ${bearer}` } });
    const r = { status: res.status, headers: res.headers, text: await res.text() };
    assert.equal(reached, before + (reaches ? 1 : 0), `origin ${reaches ? "not " : ""}reached: ${r.status} ${r.text}`);
    return r;
  };
  const assertInvalidToken = (r) => {
    assert.equal(r.status, 401, r.text);
    assert.match(r.headers.get("www-authenticate"), /error="invalid_token"/);
  };

  test("an endless JWKS is cut off at its cap: the token is refused and the fetch hung up", HANG, async () => {
    const key = await keyPair("ES256", "some-key");
    assertInvalidToken(await get("/endless/x", await token(key, ENDLESS), { reaches: false }));
    // The worker cancelled the answer rather than reading on: the server sees the hang-up.
    const written = await endlessClosed;
    assert.ok(written < UNBOUNDED, `the JWKS server wrote ${written} bytes`);
  });

  test("a JWKS that redirects is a failed fetch: the keys at hand stay, the target is never asked", HANG, async () => {
    let r = await get("/moved/x", await token(issuerKey, MOVED), { reaches: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(movedFetches, 1);
    // The JWKS now redirects to the attacker's; the attacker's unknown kid makes the worker
    // refetch, and the 302 is the answer.
    movedTo = `${attacker.url}/jwks.json`;
    assertInvalidToken(await get("/moved/x", await token(attackerKey, MOVED), { reaches: false }));
    assert.equal(movedFetches, 2, "the JWKS was not refetched");
    assert.equal(attackerFetches, 0, "the redirect was followed");
    // The issuer's key was not replaced by the failed fetch.
    r = await get("/moved/x", await token(issuerKey, MOVED), { reaches: true });
    assert.equal(r.status, 200, r.text);
  });
});

describe("upstream login answers", () => {
  let w;
  let upstream;
  let upstreamClosed; // settles with the bytes it wrote when the worker hangs up

  before(async () => {
    let closed;
    upstreamClosed = new Promise((resolve) => (closed = resolve));
    upstream = await serve((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"user_id":"');
        streamForever(res, Buffer.alloc(64 * KiB, "a")).then(closed);
      });
    });
    w = await startWorker({ bindings: { UPSTREAM_LOGIN_URL: `${upstream.url}/api/login` } });
  });
  after(async () => {
    await w?.stop();
    upstream?.server.closeAllConnections();
    upstream?.server.close();
  });

  test("an endless answer from the login endpoint is cut off: the sign-in fails with the worker's own page", HANG, async () => {
    const r = await new Person(w).login("olivia", "origin-pass");
    assert.equal(r.status, 503, r.html);
    assert.match(r.res.headers.get("content-type"), /^text\/html/);
    assert.match(r.html, /Signing in is briefly unavailable/);
    const written = await upstreamClosed;
    assert.ok(written < UNBOUNDED, `the login endpoint wrote ${written} bytes`);
  });
});
