// DPoP (RFC 9449) end to end against the wasm worker in workerd: oauth4webapi's own DPoP handle
// drives the token endpoint (client credentials, code + PKCE with dpop_jkt, refresh) and the
// gateway; hand-made proofs check every refusal one by one at the token endpoint, /verify,
// introspection and a gateway route with "dpop": "required". The origin records what it gets:
// a refusal never reaches it.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import * as oauth from "oauth4webapi";
import * as jose from "jose";
import { createHash, randomBytes } from "node:crypto";
import { startWorker, serve, basic, authorizeRequest, Person } from "./harness.mjs";

const insecure = { [oauth.allowInsecureRequests]: true };
const PASSWORD = "correct horse battery";
const CB = "https://app.example.test/cb";
const seen = [];
const origin = await serve((req, res) => {
  seen.push({ method: req.method, url: req.url, headers: req.headers });
  res.writeHead(200, { "content-type": "application/json" });
  res.end("{}");
});

let w;
let as;
let svc; // confidential: client_credentials
let bound; // confidential, dpop_bound_access_tokens
let spa; // public: code + refresh
let keyless; // private_key_jwt, dpop_bound_access_tokens
let signer; // its key

before(async () => {
  w = await startWorker({ bindings: { ORIGIN_URL: origin.url } });
  await w.scope("read");
  await w.admin("POST", "/admin/v1/users", { username: "dana", password: PASSWORD });
  svc = await w.client({ scopes: ["read"] });
  bound = await w.client({ scopes: ["read"], dpop_bound_access_tokens: true });
  spa = await w.client({
    public: true,
    grant_types: ["authorization_code", "refresh_token"],
    scopes: ["read", "openid"],
    redirect_uris: [CB],
  });
  const { publicKey, privateKey } = await jose.generateKeyPair("ES256", { extractable: true });
  signer = { key: privateKey, kid: "k1" };
  keyless = await w.client({
    scopes: ["read"],
    token_endpoint_auth_method: "private_key_jwt",
    jwks: { keys: [{ ...(await jose.exportJWK(publicKey)), kid: "k1", alg: "ES256" }] },
    dpop_bound_access_tokens: true,
  });
  const put = await w.admin("PUT", "/admin/v1/routes", {
    routes: [
      { path: "/bound/*", scopes: ["read"], dpop: "required" },
      { path: "/open/*", scopes: ["read"] },
      { path: "/res", scopes: ["read"], dpop: "required", resource: `${w.url}/res` },
    ],
  });
  assert.equal(put.status, 200, put.text);
  as = await oauth.processDiscoveryResponse(
    new URL(w.url),
    await oauth.discoveryRequest(new URL(w.url), { algorithm: "oauth2", ...insecure }),
  );
});
after(async () => {
  await w?.stop();
  origin.server.close();
});

const newKeys = (alg = "ES256") => jose.generateKeyPair(alg, { extractable: false });

/** Runs `request` (which uses a DPoP handle) again once if the server asked for its nonce. */
async function withNonce(request) {
  try {
    return await request();
  } catch (e) {
    if (oauth.isDPoPNonceError(e)) return request();
    throw e;
  }
}

async function ccDpop(client, keys, auth = oauth.ClientSecretBasic(client.client_secret)) {
  const c = { client_id: client.client_id };
  const DPoP = oauth.DPoP(c, keys);
  const tokens = await withNonce(async () =>
    oauth.processClientCredentialsResponse(
      as,
      c,
      await oauth.clientCredentialsGrantRequest(as, c, auth, new URLSearchParams({ scope: "read" }), { DPoP, ...insecure }),
    ),
  );
  return { tokens, DPoP };
}

async function thumbprint(keys) {
  return jose.calculateJwkThumbprint(await jose.exportJWK(keys.publicKey));
}

/** A hand-made proof by `keys` for `htm` `htu`, with `changes` to its claims or header. */
async function proof(keys, htm, htu, { token, claims = {}, header = {}, alg = "ES256" } = {}) {
  const jwk = await jose.exportJWK(keys.publicKey);
  const payload = {
    jti: randomBytes(12).toString("base64url"),
    htm,
    htu,
    iat: Math.floor(Date.now() / 1000),
    ...(token ? { ath: createHash("sha256").update(token).digest("base64url") } : {}),
    ...claims,
  };
  return new jose.SignJWT(payload).setProtectedHeader({ alg, typ: "dpop+jwt", jwk, ...header }).sign(keys.privateKey);
}

/** A raw call of the gateway or /verify with `authorization` and an optional DPoP header. */
async function call(path, authorization, dpop, method = "GET") {
  const headers = { authorization };
  if (dpop) headers.dpop = dpop;
  const res = await w.fetch(path, { method, headers });
  return { status: res.status, challenge: res.headers.get("www-authenticate") ?? "", body: await res.json().catch(() => ({})) };
}

/** Asserts a RFC 9449 §7.1 refusal: 401, a DPoP challenge with `algs`, the error code. */
function refusedWith(r, error) {
  assert.equal(r.status, 401, JSON.stringify(r.body));
  assert.match(r.challenge, /^DPoP /);
  assert.match(r.challenge, new RegExp(`error="${error}"`));
  assert.match(r.challenge, /algs="ES256 EdDSA Ed25519 RS256"/);
}

describe("DPoP at the token endpoint", () => {
  test("metadata lists the proof algorithms", () => {
    assert.deepEqual(as.dpop_signing_alg_values_supported, ["ES256", "EdDSA", "Ed25519", "RS256"]);
  });

  test("client credentials with oauth4webapi: a nonce is demanded first, then a DPoP-bound token", async () => {
    const keys = await newKeys();
    const c = { client_id: svc.client_id };
    const DPoP = oauth.DPoP(c, keys);
    const first = await oauth.clientCredentialsGrantRequest(as, c, oauth.ClientSecretBasic(svc.client_secret), new URLSearchParams(), { DPoP, ...insecure });
    assert.equal(first.status, 400);
    assert.ok(first.headers.get("dpop-nonce"));
    await assert.rejects(oauth.processClientCredentialsResponse(as, c, first), (e) => oauth.isDPoPNonceError(e));
    const second = await oauth.clientCredentialsGrantRequest(as, c, oauth.ClientSecretBasic(svc.client_secret), new URLSearchParams(), { DPoP, ...insecure });
    const tokens = await oauth.processClientCredentialsResponse(as, c, second);
    assert.equal(tokens.token_type, "dpop");
    assert.equal(jose.decodeJwt(tokens.access_token).cnf.jkt, await thumbprint(keys));
  });

  test("EdDSA and RS256 proofs work too", async () => {
    for (const alg of ["EdDSA", "RS256"]) {
      const keys = await newKeys(alg);
      const { tokens } = await ccDpop(svc, keys).catch((e) => assert.fail(`${alg}: ${e.error} ${e.error_description}`));
      assert.equal(jose.decodeJwt(tokens.access_token).cnf.jkt, await thumbprint(keys));
    }
  });

  test("a client registered with dpop_bound_access_tokens must send a proof", async () => {
    const r = await w.form("/oauth/token", { grant_type: "client_credentials" }, { authorization: basic(bound.client_id, bound.client_secret) });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, "invalid_dpop_proof");
    const { tokens } = await ccDpop(bound, await newKeys());
    assert.equal(tokens.token_type, "dpop");
  });

  test("a proof replayed at the token endpoint is refused", async () => {
    const keys = await newKeys();
    const htu = `${w.url}/oauth/token`;
    const probe = await w.form("/oauth/token", { grant_type: "client_credentials" }, { authorization: basic(svc.client_id, svc.client_secret), dpop: await proof(keys, "POST", htu) });
    assert.equal(probe.body.error, "use_dpop_nonce");
    const nonce = probe.headers.get("dpop-nonce");
    const once = await proof(keys, "POST", htu, { claims: { nonce } });
    const send = () => w.form("/oauth/token", { grant_type: "client_credentials" }, { authorization: basic(svc.client_id, svc.client_secret), dpop: once });
    assert.equal((await send()).status, 200);
    const again = await send();
    assert.equal(again.status, 400);
    assert.equal(again.body.error, "invalid_dpop_proof");
  });

  test("a proof for another URL, method, a bad typ or a made-up nonce is invalid_dpop_proof or use_dpop_nonce", async () => {
    const keys = await newKeys();
    const htu = `${w.url}/oauth/token`;
    const send = async (dpop) => (await w.form("/oauth/token", { grant_type: "client_credentials" }, { authorization: basic(svc.client_id, svc.client_secret), dpop })).body.error;
    assert.equal(await send(await proof(keys, "POST", `${w.url}/oauth/other`)), "invalid_dpop_proof");
    assert.equal(await send(await proof(keys, "GET", htu)), "invalid_dpop_proof");
    assert.equal(await send(await proof(keys, "POST", htu, { header: { typ: "JWT" } })), "invalid_dpop_proof");
    assert.equal(await send(await proof(keys, "POST", htu, { claims: { nonce: "1.forged" } })), "use_dpop_nonce");
  });

  test("code + PKCE: dpop_jkt binds the code, and a public client's refresh token is bound to the key", async () => {
    const keys = await newKeys();
    const c = { client_id: spa.client_id };
    const { url, verifier } = authorizeRequest({ client_id: spa.client_id, redirect_uri: CB, scope: "read" });
    const r = await new Person(w).authorize(`${url}&dpop_jkt=${await thumbprint(keys)}`, "dana", PASSWORD);
    assert.equal(r.status, 302, r.html);
    const params = oauth.validateAuthResponse(as, c, new URL(r.location), "s");
    const DPoP = oauth.DPoP(c, keys);
    const tokens = await withNonce(async () =>
      oauth.processAuthorizationCodeResponse(as, c, await oauth.authorizationCodeGrantRequest(as, c, oauth.None(), params, CB, verifier, { DPoP, ...insecure })),
    );
    assert.equal(tokens.token_type, "dpop");
    assert.ok(tokens.refresh_token);

    // Another key cannot refresh it; the key it is bound to can.
    const thief = oauth.DPoP(c, await newKeys());
    await assert.rejects(
      withNonce(async () => oauth.processRefreshTokenResponse(as, c, await oauth.refreshTokenGrantRequest(as, c, oauth.None(), tokens.refresh_token, { DPoP: thief, ...insecure }))),
      (e) => e.error === "invalid_grant",
    );
    const refreshed = await withNonce(async () =>
      oauth.processRefreshTokenResponse(as, c, await oauth.refreshTokenGrantRequest(as, c, oauth.None(), tokens.refresh_token, { DPoP, ...insecure })),
    );
    assert.equal(jose.decodeJwt(refreshed.access_token).cnf.jkt, await thumbprint(keys));
  });

  test("a code bound by dpop_jkt cannot be redeemed with another key, nor without DPoP", async () => {
    const keys = await newKeys();
    const c = { client_id: spa.client_id };
    for (const DPoP of [oauth.DPoP(c, await newKeys()), undefined]) {
      const { url, verifier } = authorizeRequest({ client_id: spa.client_id, redirect_uri: CB, scope: "read" });
      const r = await new Person(w).authorize(`${url}&dpop_jkt=${await thumbprint(keys)}`, "dana", PASSWORD);
      const params = oauth.validateAuthResponse(as, c, new URL(r.location), "s");
      await assert.rejects(
        withNonce(async () =>
          oauth.processAuthorizationCodeResponse(as, c, await oauth.authorizationCodeGrantRequest(as, c, oauth.None(), params, CB, verifier, { DPoP, ...insecure })),
        ),
        (e) => e.error === "invalid_grant",
      );
    }
  });
});

describe("DPoP where tokens are presented", () => {
  test("oauth4webapi calls a DPoP-required gateway route; the origin gets the identity", async () => {
    const keys = await newKeys();
    const { tokens, DPoP } = await ccDpop(svc, keys);
    const before = seen.length;
    const res = await oauth.protectedResourceRequest(tokens.access_token, "GET", new URL(`${w.url}/bound/thing`), new Headers(), null, { DPoP, ...insecure });
    assert.equal(res.status, 200);
    assert.equal(seen.length, before + 1);
    assert.equal(seen.at(-1).headers["x-portcullis-client-id"], svc.client_id);
    assert.equal(seen.at(-1).headers.authorization, undefined);
    assert.equal(seen.at(-1).headers.dpop, undefined);
  });

  test("a secretless private_key_jwt client gets a DPoP-bound token and calls a DPoP-required route", async () => {
    const keys = await newKeys("EdDSA");
    const { tokens, DPoP } = await ccDpop(keyless, keys, oauth.PrivateKeyJwt(signer));
    assert.equal(keyless.client_secret, undefined);
    assert.equal(tokens.token_type, "dpop");
    const res = await oauth.protectedResourceRequest(tokens.access_token, "GET", new URL(`${w.url}/bound/keyless`), new Headers(), null, { DPoP, ...insecure });
    assert.equal(res.status, 200);
    assert.equal(seen.at(-1).url, "/bound/keyless");
  });

  describe("refusals at the gateway, one by one (the origin never sees them)", () => {
    let keys;
    let token;
    const url = (p) => `${w.url}${p}`;
    before(async () => {
      keys = await newKeys();
      token = (await ccDpop(svc, keys)).tokens.access_token;
    });
    const untouched = async (fn) => {
      const n = seen.length;
      await fn();
      assert.equal(seen.length, n);
    };

    test("a DPoP-bound token presented as Bearer", () =>
      untouched(async () => {
        refusedWith(await call("/open/x", `Bearer ${token}`), "invalid_token");
        refusedWith(await call("/open/x", `Bearer ${token}`, await proof(keys, "GET", url("/open/x"), { token })), "invalid_token");
      }));

    test("the DPoP scheme without a proof", () =>
      untouched(async () => refusedWith(await call("/bound/x", `DPoP ${token}`), "invalid_dpop_proof")));

    test("a proof by another key", () =>
      untouched(async () => {
        const other = await newKeys();
        refusedWith(await call("/bound/x", `DPoP ${token}`, await proof(other, "GET", url("/bound/x"), { token })), "invalid_dpop_proof");
      }));

    test("a proof for another method", () =>
      untouched(async () => refusedWith(await call("/bound/x", `DPoP ${token}`, await proof(keys, "POST", url("/bound/x"), { token })), "invalid_dpop_proof")));

    test("a proof for another URL", () =>
      untouched(async () => refusedWith(await call("/bound/x", `DPoP ${token}`, await proof(keys, "GET", url("/bound/y"), { token })), "invalid_dpop_proof")));

    test("a wrong ath", () =>
      untouched(async () => {
        refusedWith(await call("/bound/x", `DPoP ${token}`, await proof(keys, "GET", url("/bound/x"), { token: "another token" })), "invalid_dpop_proof");
        refusedWith(await call("/bound/x", `DPoP ${token}`, await proof(keys, "GET", url("/bound/x"))), "invalid_dpop_proof");
      }));

    test("a replayed proof", async () => {
      const once = await proof(keys, "GET", url("/bound/r"), { token });
      assert.equal((await call("/bound/r", `DPoP ${token}`, once)).status, 200);
      await untouched(async () => refusedWith(await call("/bound/r", `DPoP ${token}`, once), "invalid_dpop_proof"));
    });

    test("a proof whose iat is too old or in the future", () =>
      untouched(async () => {
        const now = Math.floor(Date.now() / 1000);
        for (const iat of [now - 300, now + 300]) {
          refusedWith(await call("/bound/x", `DPoP ${token}`, await proof(keys, "GET", url("/bound/x"), { token, claims: { iat } })), "invalid_dpop_proof");
        }
      }));

    test("a proof that is not typ dpop+jwt, or carries a private key", () =>
      untouched(async () => {
        refusedWith(await call("/bound/x", `DPoP ${token}`, await proof(keys, "GET", url("/bound/x"), { token, header: { typ: "JWT" } })), "invalid_dpop_proof");
        const exportable = await jose.generateKeyPair("ES256", { extractable: true });
        const priv = await jose.exportJWK(exportable.privateKey);
        refusedWith(await call("/bound/x", `DPoP ${token}`, await proof(exportable, "GET", url("/bound/x"), { token, header: { jwk: priv } })), "invalid_dpop_proof");
      }));

    test("a bearer token on a route with dpop required", async () => {
      const bearer = (await w.form("/oauth/token", { grant_type: "client_credentials" }, { authorization: basic(svc.client_id, svc.client_secret) })).body.access_token;
      assert.equal((await call("/open/x", `Bearer ${bearer}`)).status, 200);
      await untouched(async () => {
        refusedWith(await call("/bound/x", `Bearer ${bearer}`), "invalid_token");
        refusedWith(await call("/bound/x", `DPoP ${bearer}`, await proof(keys, "GET", url("/bound/x"), { token: bearer })), "invalid_token");
      });
    });

    test("no token at all on a dpop route gets a bare DPoP challenge", async () => {
      const res = await w.fetch("/bound/x");
      assert.equal(res.status, 401);
      assert.match(res.headers.get("www-authenticate"), /^DPoP realm="portcullis", algs="ES256 EdDSA Ed25519 RS256"$/);
    });
  });

  test("/verify checks the proof the same way", async () => {
    const keys = await newKeys();
    const { tokens } = await ccDpop(svc, keys);
    const token = tokens.access_token;
    const ok = await call("/verify", `DPoP ${token}`, await proof(keys, "POST", `${w.url}/verify`, { token }), "POST");
    assert.equal(ok.status, 200);
    assert.equal(ok.body.cnf.jkt, await thumbprint(keys));
    refusedWith(await call("/verify", `Bearer ${token}`, undefined, "POST"), "invalid_token");
    refusedWith(await call("/verify", `DPoP ${token}`, await proof(keys, "GET", `${w.url}/verify`, { token }), "POST"), "invalid_dpop_proof");
  });

  test("a resource whose routes require DPoP says so in its RFC 9728 metadata and challenges", async () => {
    const doc = await (await w.fetch("/.well-known/oauth-protected-resource/res")).json();
    assert.equal(doc.resource, `${w.url}/res`);
    assert.equal(doc.dpop_bound_access_tokens_required, true);
    assert.deepEqual(doc.dpop_signing_alg_values_supported, ["ES256", "EdDSA", "Ed25519", "RS256"]);
    const r = await w.fetch("/res");
    assert.equal(r.status, 401);
    assert.equal(
      r.headers.get("www-authenticate"),
      `DPoP realm="portcullis", algs="ES256 EdDSA Ed25519 RS256", resource_metadata="${w.url}/.well-known/oauth-protected-resource/res", scope="read"`,
    );
  });

  test("UserInfo takes a DPoP-bound token only with its proof", async () => {
    const keys = await newKeys();
    const c = { client_id: spa.client_id };
    const { url, verifier } = authorizeRequest({ client_id: spa.client_id, redirect_uri: CB, scope: "openid read" });
    const r = await new Person(w).authorize(url, "dana", PASSWORD);
    assert.equal(r.status, 302, r.html);
    const params = oauth.validateAuthResponse(as, c, new URL(r.location), "s");
    const DPoP = oauth.DPoP(c, keys);
    const tokens = await withNonce(async () =>
      oauth.processAuthorizationCodeResponse(as, c, await oauth.authorizationCodeGrantRequest(as, c, oauth.None(), params, CB, verifier, { DPoP, ...insecure })),
    );
    const token = tokens.access_token;
    const userinfo = `${w.url}/oauth/userinfo`;
    const ok = await call("/oauth/userinfo", `DPoP ${token}`, await proof(keys, "GET", userinfo, { token }));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.sub, jose.decodeJwt(token).sub);
    refusedWith(await call("/oauth/userinfo", `Bearer ${token}`), "invalid_token");
    refusedWith(await call("/oauth/userinfo", `DPoP ${token}`), "invalid_dpop_proof");
    const thief = await proof(await newKeys(), "GET", userinfo, { token });
    refusedWith(await call("/oauth/userinfo", `DPoP ${token}`, thief), "invalid_dpop_proof");
  });

  test("introspection answers cnf and token_type DPoP", async () => {
    const keys = await newKeys();
    const { tokens } = await ccDpop(svc, keys);
    const r = await w.form("/oauth/introspect", { token: tokens.access_token }, { authorization: basic(svc.client_id, svc.client_secret) });
    assert.equal(r.body.active, true);
    assert.equal(r.body.token_type, "DPoP");
    assert.deepEqual(r.body.cnf, { jkt: await thumbprint(keys) });
  });
});
