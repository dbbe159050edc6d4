// Attack suite (issue 8): every hostile input we know of, end to end in workerd, each asserting
// the exact refusal (status and error code). Client authentication per RFC 6749 §2.3.1 and
// RFC 7617; parameters per RFC 6749 §3.2; bearer tokens per RFC 7519/8725/9068; the admin API's
// authentication, path handling and body schema.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { generateKeyPairSync, sign } from "node:crypto";
import * as jose from "jose";
import { startWorker, basic, ADMIN_TOKEN } from "./harness.mjs";

let w;
let svc; // a confidential client-credentials client with scopes read and write

before(async () => {
  w = await startWorker();
  await w.scope("read");
  await w.scope("write");
  svc = await w.client({ scopes: ["read", "write"] });
});
after(async () => w?.stop());

const b64 = (s) => Buffer.from(s).toString("base64");
const b64url = (o) => Buffer.from(typeof o === "string" ? o : JSON.stringify(o)).toString("base64url");
/** Percent-encodes every byte, the most a form-urlencoder may do (RFC 6749 §2.3.1). */
const encodeAll = (s) => [...Buffer.from(s)].map((b) => "%" + b.toString(16).toUpperCase().padStart(2, "0")).join("");

const expectError = (r, status, error) => {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body?.error, error, r.text);
};

/** A client-credentials request with the given Authorization header value. */
const withAuth = (authorization, params = {}) =>
  w.form("/oauth/token", { grant_type: "client_credentials", ...params }, { authorization });

/**
 * A raw HTTP/1.1 request on a connection of its own (a server that answers before reading a
 * large body may close the connection, which must not poison a pooled one), so headers can
 * repeat. Answers { status, body }. `headers` is a flat list of [name, value] pairs sent in
 * order; a `body` given as an array of chunks is sent chunked, without Content-Length.
 */
function rawRequest(method, p, headers, body = "") {
  const url = new URL(w.url + p);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, agent: false });
    const grouped = new Map();
    for (const [k, v] of headers) grouped.set(k, [...(grouped.get(k) ?? []), v]);
    for (const [k, v] of grouped) req.setHeader(k, v.length === 1 ? v[0] : v);
    const chunks = Array.isArray(body) ? body : null;
    if (!chunks) req.setHeader("content-length", Buffer.byteLength(body));
    let answered = false;
    req.on("response", (res) => {
      answered = true;
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => {
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, body: json, text, headers: res.headers });
      });
    });
    // Writing the rest of a body the server has already refused may fail; the answer counts.
    req.on("error", (e) => answered || reject(e));
    if (chunks) {
      for (const c of chunks) req.write(c);
      req.end();
    } else {
      req.end(body);
    }
  });
}

describe("client authentication (RFC 6749 §2.3.1)", () => {
  test("Basic without a colon is invalid_client", async () => {
    expectError(await withAuth("Basic " + b64(svc.client_id + svc.client_secret)), 401, "invalid_client");
  });

  test("Basic with bad base64 is invalid_client", async () => {
    for (const value of ["%%%", "YWJj=ZA", b64(`${svc.client_id}:${svc.client_secret}`) + "!"]) {
      expectError(await withAuth("Basic " + value), 401, "invalid_client");
    }
  });

  test("the scheme is case-insensitive (RFC 9110 §11.1): lowercase basic works", async () => {
    const r = await withAuth("basic " + b64(`${svc.client_id}:${svc.client_secret}`));
    assert.equal(r.status, 200, r.text);
    const upper = await withAuth("BASIC " + b64(`${svc.client_id}:${svc.client_secret}`));
    assert.equal(upper.status, 200, upper.text);
  });

  test("an empty client id is invalid_client", async () => {
    expectError(await withAuth("Basic " + b64(`:${svc.client_secret}`)), 401, "invalid_client");
    const post = await w.form("/oauth/token", { grant_type: "client_credentials", client_id: "", client_secret: svc.client_secret });
    expectError(post, 401, "invalid_client");
  });

  test("percent-encoded id and secret are decoded (encodeURIComponent and every byte encoded)", async () => {
    const c = await w.client({ scopes: ["read"] });
    const component = await withAuth("Basic " + b64(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`));
    assert.equal(component.status, 200, component.text);
    const everything = await withAuth("Basic " + b64(`${encodeAll(c.client_id)}:${encodeAll(c.client_secret)}`));
    assert.equal(everything.status, 200, everything.text);
    // The encoding is decoded once only: a doubly encoded secret is another secret.
    const twice = await withAuth("Basic " + b64(`${c.client_id}:${encodeURIComponent(encodeAll(c.client_secret))}`));
    expectError(twice, 401, "invalid_client");
  });

  test("credentials in both the header and the body are invalid_request", async () => {
    const r = await withAuth(basic(svc.client_id, svc.client_secret), { client_id: svc.client_id, client_secret: svc.client_secret });
    expectError(r, 400, "invalid_request");
  });

  test("a body client_id naming another client than the header is invalid_request", async () => {
    const other = await w.client({ scopes: ["read"] });
    const r = await withAuth(basic(svc.client_id, svc.client_secret), { client_id: other.client_id });
    expectError(r, 400, "invalid_request");
  });

  test("two Authorization headers are refused, whether equal or different", async () => {
    const good = basic(svc.client_id, svc.client_secret);
    const body = "grant_type=client_credentials";
    const type = ["content-type", "application/x-www-form-urlencoded"];
    for (const second of [good, basic("someone-else", "x")]) {
      const r = await rawRequest("POST", "/oauth/token", [type, ["authorization", good], ["authorization", second]], body);
      // The runtime joins repeated headers with ", " (RFC 9110 §5.3), which is no Basic credential.
      expectError(r, 401, "invalid_client");
    }
  });

  test("a secret in the query string is invalid_request, even when the body is right", async () => {
    const r = await w.form(`/oauth/token?client_secret=${encodeURIComponent(svc.client_secret)}`, {
      grant_type: "client_credentials",
      client_id: svc.client_id,
      client_secret: svc.client_secret,
    });
    expectError(r, 400, "invalid_request");
    const onlyQuery = await w.form(`/oauth/token?client_id=${svc.client_id}&client_secret=${encodeURIComponent(svc.client_secret)}`, {
      grant_type: "client_credentials",
    });
    expectError(onlyQuery, 400, "invalid_request");
  });

  test("a prefix of the secret, the secret plus characters and a 100-byte secret are invalid_client", async () => {
    for (const secret of [
      svc.client_secret.slice(0, -1),
      svc.client_secret.slice(0, 8),
      svc.client_secret + "x",
      svc.client_secret + svc.client_secret,
      "a".repeat(100),
      svc.client_secret + "\0",
    ]) {
      expectError(await withAuth(basic(svc.client_id, secret)), 401, "invalid_client");
    }
  });

  test("unknown client and wrong secret answer identically (status, headers, body)", async () => {
    const wrong = await withAuth(basic(svc.client_id, "wrong-secret"));
    const unknown = await withAuth(basic("no-such-client", "wrong-secret"));
    const unknownPost = await w.form("/oauth/token", { grant_type: "client_credentials", client_id: "no-such-client", client_secret: "x" });
    expectError(wrong, 401, "invalid_client");
    for (const other of [unknown, unknownPost]) {
      assert.equal(other.status, wrong.status);
      assert.equal(other.text, wrong.text);
      for (const h of ["www-authenticate", "cache-control", "content-type"]) {
        assert.equal(other.headers.get(h), wrong.headers.get(h), h);
      }
    }
  });
});

describe("token endpoint parameters (RFC 6749 §3.2)", () => {
  const post = (body, headers = {}) =>
    w.fetch("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(svc.client_id, svc.client_secret), ...headers },
      body,
    }).then(async (res) => ({ status: res.status, text: await res.clone().text(), body: await res.json().catch(() => undefined) }));

  test("a duplicate grant_type or scope is invalid_request", async () => {
    expectError(await post("grant_type=client_credentials&grant_type=client_credentials"), 400, "invalid_request");
    expectError(await post("grant_type=client_credentials&scope=read&scope=write"), 400, "invalid_request");
    expectError(await post("grant_type=client_credentials&scope=read&scope=read"), 400, "invalid_request");
  });

  test("an empty scope counts as omitted: every allowed scope is granted", async () => {
    const r = await post("grant_type=client_credentials&scope=");
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.scope, "read write");
  });

  test("a scope of blanks only is invalid_scope", async () => {
    expectError(await post("grant_type=client_credentials&scope=%20%20"), 400, "invalid_scope");
  });

  test("a 10,000-character scope is invalid_scope", async () => {
    expectError(await post(`grant_type=client_credentials&scope=${"a".repeat(10_000)}`), 400, "invalid_scope");
    expectError(await post(`grant_type=client_credentials&scope=${"read%20".repeat(1500)}`), 400, "invalid_scope");
  });

  test("GET on the token endpoint is 405 invalid_request with Allow: POST", async () => {
    const res = await w.fetch(`/oauth/token?grant_type=client_credentials`, {
      headers: { authorization: basic(svc.client_id, svc.client_secret) },
    });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "POST");
    assert.equal((await res.json()).error, "invalid_request");
  });

  test("a body over the 64 KiB cap is 413 invalid_request, with or without Content-Length", async () => {
    const headers = [
      ["content-type", "application/x-www-form-urlencoded"],
      ["authorization", basic(svc.client_id, svc.client_secret)],
    ];
    const body = "grant_type=client_credentials&pad=" + "a".repeat(70 * 1024);
    expectError(await rawRequest("POST", "/oauth/token", headers, body), 413, "invalid_request");
    // Chunked: no Content-Length to trust, the cap still holds.
    const chunked = await rawRequest("POST", "/oauth/token", headers, [body.slice(0, 1000), body.slice(1000)]);
    expectError(chunked, 413, "invalid_request");
  });

  test("a body that is not UTF-8 is invalid_request", async () => {
    const res = await w.fetch("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(svc.client_id, svc.client_secret) },
      body: Buffer.from([0x67, 0x3d, 0xff, 0xfe]),
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, "invalid_request");
  });
});

describe("bearer tokens at /verify (RFC 8725, RFC 9068)", () => {
  let good; // a valid token: header, payload, signature, parsed header and claims
  const attacker = generateKeyPairSync("ed25519");

  before(async () => {
    const r = await withAuth(basic(svc.client_id, svc.client_secret), { scope: "read" });
    assert.equal(r.status, 200, r.text);
    const [h, p, s] = r.body.access_token.split(".");
    good = { token: r.body.access_token, h, p, s, header: JSON.parse(Buffer.from(h, "base64url")), claims: jose.decodeJwt(r.body.access_token) };
  });

  const verify = async (token) => {
    const res = await w.fetch("/verify", { method: "POST", headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, challenge: res.headers.get("www-authenticate"), body: await res.json().catch(() => undefined) };
  };
  const expectInvalid = async (token, name) => {
    const r = await verify(token);
    assert.equal(r.status, 401, name);
    assert.equal(r.body?.error, "invalid_token", name);
    assert.match(r.challenge ?? "", /error="invalid_token"/, name);
  };
  /** Signs `claims` with the attacker's own Ed25519 key under `header`. */
  const attackerSigned = async (header, claims = good.claims) => {
    const input = `${b64url({ alg: "EdDSA", typ: "at+jwt", ...header })}.${b64url(claims)}`;
    return `${input}.${sign(null, Buffer.from(input), attacker.privateKey).toString("base64url")}`;
  };

  test("the valid token verifies (the baseline every forgery below departs from)", async () => {
    assert.equal((await verify(good.token)).status, 200);
  });

  test("alg none in every spelling is invalid_token", async () => {
    for (const alg of ["none", "None", "NONE", "nOnE", "none ", ""]) {
      for (const sig of ["", good.s]) {
        await expectInvalid(`${b64url({ ...good.header, alg })}.${good.p}.${sig}`, `alg ${JSON.stringify(alg)} sig ${sig ? "kept" : "empty"}`);
      }
    }
    await expectInvalid(`${b64url({ ...good.header, alg: "none" })}.${good.p}`, "two parts");
  });

  test("HS256 keyed with the public key is invalid_token", async () => {
    const jwks = await (await w.fetch("/.well-known/jwks.json")).json();
    const jwk = jwks.keys.find((k) => k.kid === good.header.kid);
    for (const key of [Buffer.from(JSON.stringify(jwk)), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.x)]) {
      const token = await new jose.SignJWT(good.claims).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: good.header.kid }).sign(key);
      await expectInvalid(token, `HS256 with ${key.length}-byte key`);
    }
  });

  test("ES256 with r = s = 0 against an EdDSA key is invalid_token", async () => {
    const zero = Buffer.alloc(64).toString("base64url");
    await expectInvalid(`${b64url({ ...good.header, alg: "ES256" })}.${good.p}.${zero}`, "ES256 zero");
  });

  test("embedded jwk, jku and x5u headers are ignored: an attacker's own key never verifies", async () => {
    const jwk = { ...attacker.publicKey.export({ format: "jwk" }), kid: good.header.kid };
    const cases = {
      jwk: { kid: good.header.kid, jwk },
      "jwk without kid": { jwk },
      jku: { kid: good.header.kid, jku: "https://attacker.example/jwks.json" },
      x5u: { kid: good.header.kid, x5u: "https://attacker.example/cert.pem" },
      x5c: { kid: good.header.kid, x5c: ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"] },
    };
    for (const [name, header] of Object.entries(cases)) await expectInvalid(await attackerSigned(header), name);
    // The real signature stays valid only over the real header: adding jku to it breaks it too.
    await expectInvalid(`${b64url({ ...good.header, jku: "https://attacker.example/jwks.json" })}.${good.p}.${good.s}`, "jku added");
  });

  test("a kid with path or SQL characters is invalid_token", async () => {
    for (const kid of ["../../../../etc/passwd", "..%2F..%2Fkeys", "' OR '1'='1", "x\"; DROP TABLE keys; --", "\u0000", good.header.kid + "\u0000", "*"]) {
      await expectInvalid(`${b64url({ ...good.header, kid })}.${good.p}.${good.s}`, `kid ${JSON.stringify(kid)}`);
    }
  });

  test("non-canonical base64url (padding, standard alphabet, stray bits) is invalid_token", async () => {
    // The last character of an 86-character Ed25519 signature carries 2 bits and 4 spare bits
    // that must be zero: setting a spare bit decodes to the same bytes for a lax decoder.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(good.s.at(-1));
    const stray = good.s.slice(0, -1) + alphabet[last | 1];
    assert.notEqual(stray, good.s);
    const variants = {
      "stray bits in the signature": `${good.h}.${good.p}.${stray}`,
      "padded signature": `${good.h}.${good.p}.${good.s}==`,
      "padded header": `${good.h}${"=".repeat((4 - (good.h.length % 4)) % 4) || "=="}.${good.p}.${good.s}`,
      "standard alphabet": `${good.h}.${good.p}.${good.s.replace(/-/g, "+").replace(/_/g, "/")}`,
      "whitespace inside": `${good.h}.${good.p.slice(0, 10)} ${good.p.slice(10)}.${good.s}`,
    };
    for (const [name, token] of Object.entries(variants)) {
      if (token === good.token) continue; // nothing to change for this token
      await expectInvalid(token, name);
    }
  });

  test("a 20 kB token is invalid_token", async () => {
    const big = `${good.h}.${b64url({ ...good.claims, pad: "a".repeat(15_000) })}.${good.s}`;
    assert.ok(big.length > 20_000);
    await expectInvalid(big, "20 kB");
  });

});

describe("valid tokens of a trusted issuer with one defect each, at the gateway (RFC 7515, RFC 7519)", () => {
  // Every token below carries a valid ES256 signature of a trusted issuer, so the defect under
  // test is the only reason to refuse it; each test also shows its accepted twin.
  const ISS = "https://idp.attacks.test";
  const AUD = "https://api.attacks.test";
  const LEEWAY = 60; // the harness's LEEWAY_SECONDS
  const SLACK = 10; // seconds either side of a leeway edge: room for a slow run, far from the edge
  const KID = "ec-1";
  const key = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = { ...key.publicKey.export({ format: "jwk" }), kid: KID, alg: "ES256", use: "sig" };
  let reached = 0; // requests the origin received
  const servers = [];

  const listen = async (handler) => {
    const server = http.createServer(handler);
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    return `http://127.0.0.1:${server.address().port}`;
  };

  before(async () => {
    const jwksUrl = await listen((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    const origin = await listen((req, res) => {
      reached += 1;
      req.resume();
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
    const i = await w.admin("PUT", "/admin/v1/issuers", {
      issuers: [{ issuer: ISS, jwks_uri: `${jwksUrl}/jwks.json`, audiences: [AUD], algorithms: ["ES256"] }],
    });
    assert.equal(i.status, 200, i.text);
    const r = await w.admin("PUT", "/admin/v1/routes", { routes: [{ path: "/ext/*", issuer: ISS, origin, scopes: ["read"], audience: AUD }] });
    assert.equal(r.status, 200, r.text);
  });
  after(() => servers.forEach((s) => s.close()));

  const now = () => Math.floor(Date.now() / 1000);
  const HEADER = JSON.stringify({ alg: "ES256", typ: "JWT", kid: KID });
  const claimsText = (over = {}) => JSON.stringify({ iss: ISS, aud: AUD, sub: "ext-user", scope: "read", iat: now(), exp: now() + 300, ...over });
  /** Signs the raw JSON texts with the issuer's key, so a member may be named twice. */
  const signRaw = (header, claims) => {
    const input = `${b64url(header)}.${b64url(claims)}`;
    return `${input}.${sign("sha256", Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
  };
  const token = (over, header = {}) => signRaw(JSON.stringify({ ...JSON.parse(HEADER), ...header }), claimsText(over));

  const call = async (tok) => {
    const before = reached;
    const res = await w.fetch("/ext/resource", { headers: { authorization: `Bearer ${tok}` } });
    const body = await res.json().catch(() => undefined);
    return { status: res.status, body, challenge: res.headers.get("www-authenticate") ?? "", reached: reached - before };
  };
  const expectAccepted = async (tok, name) => {
    const r = await call(tok);
    assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.reached, 1, name);
  };
  const expectRefused = async (tok, name) => {
    const r = await call(tok);
    assert.equal(r.status, 401, name);
    assert.equal(r.body?.error, "invalid_token", name);
    assert.match(r.challenge, /error="invalid_token"/, name);
    assert.equal(r.reached, 0, `${name}: the origin was reached`);
  };

  test("the issuer's valid token reaches the origin (the baseline of every case below)", async () => {
    await expectAccepted(token(), "baseline");
  });

  test("an unknown crit header is invalid_token even with a valid signature", async () => {
    await expectAccepted(token({}, { x: true }), "an unknown header without crit");
    await expectRefused(token({}, { crit: ["x"], x: true }), "crit [x]");
  });

  test("iat far in the future is invalid_token; within the leeway it is accepted", async () => {
    await expectAccepted(token({ iat: now() + LEEWAY - SLACK, exp: now() + 7200 }), "iat inside the leeway");
    await expectRefused(token({ iat: now() + 3600, exp: now() + 7200 }), "iat an hour ahead");
  });

  test("exp is judged at the leeway edge: just inside is accepted, just outside is invalid_token", async () => {
    await expectAccepted(token({ iat: now() - 600, exp: now() - LEEWAY + SLACK }), "exp inside the leeway");
    await expectRefused(token({ iat: now() - 600, exp: now() - LEEWAY - SLACK }), "exp outside the leeway");
  });

  test("nbf is judged at the leeway edge: just inside is accepted, just outside is invalid_token", async () => {
    await expectAccepted(token({ nbf: now() + LEEWAY - SLACK }), "nbf inside the leeway");
    await expectRefused(token({ nbf: now() + LEEWAY + SLACK }), "nbf outside the leeway");
  });

  test("a member named twice in the claims or the header is invalid_token even with a valid signature", async () => {
    const claims = claimsText().slice(0, -1); // without its closing brace
    await expectAccepted(signRaw(HEADER, `${claims}}`), "the same raw signing without a repeat");
    for (const repeat of [`"sub":"admin"`, `"exp":${now() + 999_999}`, `"scope":"read write admin"`, `"roles":["user"],"roles":["admin"]`]) {
      await expectRefused(signRaw(HEADER, `${claims},${repeat}}`), `claims repeat ${repeat}`);
    }
    for (const repeat of [`"kid":"${KID}"`, `"alg":"ES256"`, `"x5u":"a","x5u":"b"`]) {
      await expectRefused(signRaw(`${HEADER.slice(0, -1)},${repeat}}`, `${claims}}`), `header repeat ${repeat}`);
    }
  });
});

describe("ES256 worker", () => {
  let es;
  let client;
  before(async () => {
    es = await startWorker({ bindings: { SIGNING_ALG: "ES256" } });
    await es.scope("read");
    client = await es.client({ scopes: ["read"] });
  });
  after(async () => es?.stop());

  test("r = s = 0, r = s = n and a DER signature are invalid_token", async () => {
    const r = await es.form("/oauth/token", { grant_type: "client_credentials" }, { authorization: basic(client.client_id, client.client_secret) });
    assert.equal(r.status, 200, r.text);
    const [h, p, s] = r.body.access_token.split(".");
    const n = Buffer.from("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", "hex");
    const sigs = {
      zero: Buffer.alloc(64),
      "r = s = n": Buffer.concat([n, n]),
      "DER-wrapped": Buffer.concat([Buffer.from([0x30, 0x44, 0x02, 0x20]), Buffer.from(s, "base64url").subarray(0, 32), Buffer.from([0x02, 0x20]), Buffer.from(s, "base64url").subarray(32)]),
    };
    for (const [name, sig] of Object.entries(sigs)) {
      const res = await es.fetch("/verify", { method: "POST", headers: { authorization: `Bearer ${h}.${p}.${sig.toString("base64url")}` } });
      assert.equal(res.status, 401, name);
      assert.equal((await res.json()).error, "invalid_token", name);
    }
    const ok = await es.fetch("/verify", { method: "POST", headers: { authorization: `Bearer ${r.body.access_token}` } });
    assert.equal(ok.status, 200);
  });
});

describe("admin API", () => {
  const expectUnauthorized = (r, name) => {
    assert.equal(r.status, 401, name);
    assert.equal(r.body?.error, "invalid_token", name);
    assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="portcullis-admin"', name);
  };

  test("no token, a malformed header and a wrong token are 401 invalid_token", async () => {
    expectUnauthorized(await w.admin("GET", "/admin/v1/clients", undefined, { token: null }), "no token");
    expectUnauthorized(await w.admin("GET", "/admin/v1/clients", undefined, { token: null, headers: { authorization: `Basic ${b64(`admin:${ADMIN_TOKEN}`)}` } }), "Basic");
    expectUnauthorized(await w.admin("GET", "/admin/v1/clients", undefined, { token: ADMIN_TOKEN.slice(0, -1) }), "prefix");
    expectUnauthorized(await w.admin("POST", "/admin/v1/scopes", { name: "sneaky" }, { token: null }), "write without token");
  });

  test("a client's access token is not an admin token", async () => {
    const t = await withAuth(basic(svc.client_id, svc.client_secret));
    assert.equal(t.status, 200);
    expectUnauthorized(await w.admin("GET", "/admin/v1/clients", undefined, { token: t.body.access_token }), "access token");
    expectUnauthorized(await w.admin("DELETE", `/admin/v1/clients/${svc.client_id}`, undefined, { token: t.body.access_token }), "delete with access token");
    assert.equal((await w.admin("GET", `/admin/v1/clients/${svc.client_id}`)).status, 200);
  });

  test("two Authorization headers on the admin API are refused even if one is the admin token", async () => {
    const r = await rawRequest("GET", "/admin/v1/clients", [
      ["authorization", `Bearer ${ADMIN_TOKEN}`],
      ["authorization", "Bearer other"],
    ]);
    assert.equal(r.status, 401, r.text);
    assert.equal(r.body?.error, "invalid_token");
  });

  test("encoded slashes and dots never reach another admin path", async () => {
    for (const p of [
      "/admin/v1/clients%2F..%2Fscopes",
      "/admin/v1/clients%2f..%2fscopes",
      `/admin/v1/clients/${svc.client_id}%2F..%2F..%2Fscopes`,
      "/admin/v1/clients/x%2F..%2F..%2Fusers",
      "/admin/v1/clients%5C..%5Cscopes",
    ]) {
      const r = await w.admin("GET", p);
      assert.equal(r.status, 404, `${p}: ${r.text}`);
      assert.equal(r.body?.error, "not_found", p);
      expectUnauthorized(await w.admin("GET", p, undefined, { token: null }), p);
    }
    // Not under /admin/ once encoded: the gateway refuses a path with an encoded slash outright.
    for (const token of [ADMIN_TOKEN, null]) {
      const r = await w.admin("GET", "/admin%2Fv1%2Fscopes", undefined, { token });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body?.error, "invalid_request");
    }
    const del = await w.admin("DELETE", "/admin/v1/clients%2F..%2Fscopes%2Fread");
    assert.equal(del.status, 404, del.text);
    assert.equal((await w.admin("GET", "/admin/v1/scopes/read")).status, 200, "the scope survived");
  });

  test("mass assignment: fields the API does not accept are 400 naming the field, and change nothing", async () => {
    const before = (await w.admin("GET", "/admin/v1/clients")).body;
    for (const [field, value] of [
      ["client_id", "chosen-by-attacker"],
      ["client_secret", "chosen-secret"],
      ["secret_hashes", ["x"]],
      ["version", 99],
      ["created_at", 0],
      ["disabled", false],
    ]) {
      const r = await w.admin("POST", "/admin/v1/clients", { name: "mass", grant_types: ["client_credentials"], scopes: ["read"], [field]: value });
      assert.equal(r.status, 400, `${field}: ${r.text}`);
      assert.equal(r.body?.error, "invalid_request", field);
      assert.match(r.text, new RegExp(field), field);
    }
    const patch = await w.admin("PATCH", `/admin/v1/clients/${svc.client_id}`, { client_id: "renamed" });
    assert.equal(patch.status, 400, patch.text);
    assert.equal(patch.body?.error, "invalid_request");
    const scope = await w.admin("POST", "/admin/v1/scopes", { name: "mass", description: "", version: 7 });
    assert.equal(scope.status, 400, scope.text);
    const after = (await w.admin("GET", "/admin/v1/clients")).body;
    assert.deepEqual(after, before);
    assert.equal((await w.admin("GET", "/admin/v1/clients/chosen-by-attacker")).status, 404);
  });
});
