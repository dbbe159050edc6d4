// OpenID Connect: a standard relying party (openid-client v6) signs a person in through
// Portcullis in workerd — discovery, code + PKCE + nonce through the login and consent pages,
// ID token validation, UserInfo, refresh, prompt=none with and without a session, max_age,
// RP-Initiated Logout — and the refusals one by one: a wrong nonce, no `openid` scope, an
// unregistered post_logout_redirect_uri.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import * as client from "openid-client";
import * as jose from "jose";
import { startWorker, Person } from "./harness.mjs";

const PASSWORD = "correct horse battery";
const CB = "https://rp.example.test/cb";
const BYE = "https://rp.example.test/signed-out";
// openid-client refuses http issuers unless told; the worker under test is http://127.0.0.1.
const insecure = { execute: [client.allowInsecureRequests] };

let w;
let rp; // a confidential relying party
let config; // openid-client's view of Portcullis, from discovery

before(async () => {
  w = await startWorker();
  await w.scope("read", "Read your documents");
  const r = await w.admin("POST", "/admin/v1/users", {
    username: "alice",
    password: PASSWORD,
    name: "Alice Liddell",
    given_name: "Alice",
    family_name: "Liddell",
    email: "alice@example.com",
    email_verified: true,
    locale: "en-GB",
    picture: "https://pics.example.com/alice.png",
  });
  assert.equal(r.status, 201, r.text);
  rp = await w.client({
    name: "Relying Party",
    grant_types: ["authorization_code", "refresh_token"],
    scopes: ["openid", "profile", "email", "read"],
    redirect_uris: [CB],
    post_logout_redirect_uris: [BYE],
  });
  config = await client.discovery(
    new URL(w.url),
    rp.client_id,
    { redirect_uris: [CB] },
    client.ClientSecretBasic(rp.client_secret),
    insecure,
  );
});
after(async () => w?.stop());

/** An authorization request of openid-client: its URL (path and query) and its checks. */
async function request(params = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CB,
    scope: "openid profile email",
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: "S256",
    nonce,
    state,
    ...params,
  });
  return { path: url.pathname + url.search, checks: { pkceCodeVerifier, expectedNonce: nonce, expectedState: state } };
}

/** A person signs in and consents; the RP redeems the code. */
async function signIn(person = new Person(w), params = {}, checks = {}) {
  const req = await request(params);
  const r = await person.authorize(req.path, "alice", PASSWORD);
  assert.equal(r.status, 302, r.html);
  const tokens = await client.authorizationCodeGrant(config, new URL(r.location), { ...req.checks, ...checks });
  return { person, tokens, req };
}

describe("discovery", () => {
  test("the OpenID Provider document passes openid-client and names every OpenID field", async () => {
    const m = config.serverMetadata();
    assert.equal(m.issuer, w.url);
    assert.equal(m.userinfo_endpoint, `${w.url}/oauth/userinfo`);
    assert.equal(m.end_session_endpoint, `${w.url}/oauth/logout`);
    assert.deepEqual(m.subject_types_supported, ["public"]);
    assert.ok(m.id_token_signing_alg_values_supported.includes("RS256"));
    assert.ok(m.scopes_supported.includes("openid"));
    assert.deepEqual(m.response_types_supported, ["code"]);
    for (const claim of ["sub", "name", "email", "email_verified", "auth_time", "nonce"]) {
      assert.ok(m.claims_supported.includes(claim), claim);
    }
    const oauth = await (await w.fetch("/.well-known/oauth-authorization-server")).json();
    assert.equal(oauth.userinfo_endpoint, undefined, "the RFC 8414 document stays as it was");
  });

  test("the JWKS publishes the RS256 ID-token keys beside the access-token keys", async () => {
    const jwks = await (await w.fetch("/.well-known/jwks.json")).json();
    const rsa = jwks.keys.filter((k) => k.kty === "RSA");
    assert.equal(rsa.length, 2, "current and next");
    for (const k of rsa) assert.equal(k.alg, "RS256");
    assert.ok(jwks.keys.some((k) => k.kty === "OKP"));
  });
});

describe("sign-in", () => {
  test("code + PKCE + nonce through the pages gives a valid RS256 ID token, UserInfo and a refresh", async () => {
    const { tokens } = await signIn();
    const claims = tokens.claims();
    assert.equal(claims.iss, w.url);
    assert.equal(claims.aud, rp.client_id);
    assert.equal(typeof claims.auth_time, "number");
    assert.equal(typeof claims.at_hash, "string");
    assert.equal(typeof claims.sid, "string");
    assert.equal(jose.decodeProtectedHeader(tokens.id_token).alg, "RS256");
    // The ID token verifies against the published JWKS with jose, too.
    const jwks = jose.createRemoteJWKSet(new URL(`${w.url}/.well-known/jwks.json`));
    const { payload } = await jose.jwtVerify(tokens.id_token, jwks, { issuer: w.url, audience: rp.client_id });
    assert.equal(payload.sub, claims.sub);

    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.name, "Alice Liddell");
    assert.equal(info.family_name, "Liddell");
    assert.equal(info.email, "alice@example.com");
    assert.equal(info.email_verified, true);
    assert.equal(info.locale, "en-GB");
    assert.equal(info.picture, "https://pics.example.com/alice.png");

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    const again = refreshed.claims();
    assert.equal(again.sub, claims.sub);
    assert.equal(again.auth_time, claims.auth_time);
    assert.notEqual(refreshed.id_token, tokens.id_token);
  });

  test("scopes release their claims only: openid alone answers sub", async () => {
    const { tokens } = await signIn(new Person(w), { scope: "openid" });
    const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
    assert.deepEqual(Object.keys(info), ["sub"]);
  });

  test("UserInfo refuses a missing or bad token per RFC 6750", async () => {
    const none = await w.fetch("/oauth/userinfo");
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="portcullis"');
    const bad = await w.fetch("/oauth/userinfo", { headers: { authorization: "Bearer nope" } });
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get("www-authenticate"), /error="invalid_token"/);
  });
});

describe("refusals", () => {
  test("a wrong nonce in the ID token is refused by the client", async () => {
    await assert.rejects(
      signIn(new Person(w), {}, { expectedNonce: "not-the-nonce-sent" }),
      (e) => e.cause?.code === "OAUTH_JWT_CLAIM_COMPARISON_FAILED" && e.cause.cause.claim === "nonce",
    );
  });

  test("without the openid scope there is no ID token, and UserInfo says insufficient_scope", async () => {
    const { tokens } = await signIn(new Person(w), { scope: "read" }, { expectedNonce: undefined, idTokenExpected: false });
    assert.equal(tokens.id_token, undefined);
    await assert.rejects(
      signIn(new Person(w), { scope: "read" }, { idTokenExpected: true, expectedNonce: undefined }),
      (e) => /id_token/.test(e.cause?.message ?? ""),
    );
    const r = await w.fetch("/oauth/userinfo", { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(r.status, 403);
    assert.match(r.headers.get("www-authenticate"), /error="insufficient_scope", scope="openid"/);
  });

  test("an unregistered post_logout_redirect_uri is refused, and the session lives on", async () => {
    const { person, tokens } = await signIn();
    for (const uri of [`${BYE}/`, "https://evil.example.test/bye", CB]) {
      const url = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token, post_logout_redirect_uri: uri });
      const r = await person.get(url.pathname + url.search);
      assert.equal(r.status, 400, uri);
      assert.equal(r.location, null);
    }
    const silent = await request({ prompt: "none" });
    const r = await person.get(silent.path);
    assert.ok(new URL(r.location).searchParams.get("code"), "still signed in");
  });
});

describe("prompt and max_age", () => {
  test("prompt=none without a session answers login_required to the client", async () => {
    const req = await request({ prompt: "none" });
    const r = await new Person(w).get(req.path);
    assert.equal(r.status, 302);
    const back = new URL(r.location);
    assert.equal(back.origin + back.pathname, CB);
    await assert.rejects(
      client.authorizationCodeGrant(config, back, req.checks),
      (e) => e.error === "login_required",
    );
  });

  test("prompt=none with a session and consent signs in silently", async () => {
    const { person, tokens: first } = await signIn();
    const req = await request({ prompt: "none" });
    const r = await person.get(req.path);
    assert.equal(r.status, 302);
    const tokens = await client.authorizationCodeGrant(config, new URL(r.location), req.checks);
    assert.equal(tokens.claims().sub, first.claims().sub);
    assert.equal(tokens.claims().sid, first.claims().sid, "the same browser session");
  });

  test("max_age=0 makes a signed-in person sign in again; auth_time comes with it", async () => {
    const { person } = await signIn();
    const req = await request({ max_age: "0" });
    const r = await person.get(req.path);
    assert.equal(r.status, 303);
    assert.match(r.location, /^\/login\?/);
    const back = await person.authorize(req.path, "alice", PASSWORD);
    assert.equal(back.status, 302, back.html);
    const tokens = await client.authorizationCodeGrant(config, new URL(back.location), { ...req.checks, maxAge: 0 });
    assert.equal(typeof tokens.claims().auth_time, "number");
  });
});

describe("logout", () => {
  test("with an id_token_hint: the session ends and the person returns with state", async () => {
    const { person, tokens } = await signIn();
    const url = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: BYE,
      state: "bye-state",
    });
    const r = await person.get(url.pathname + url.search);
    assert.equal(r.status, 303);
    assert.equal(r.location, `${BYE}?state=bye-state`);
    const req = await request({ prompt: "none" });
    const after = await person.get(req.path);
    assert.equal(new URL(after.location).searchParams.get("error"), "login_required");
  });

  test("without a hint: a confirmation page with a CSRF token comes first", async () => {
    const { person } = await signIn();
    const url = client.buildEndSessionUrl(config, { post_logout_redirect_uri: BYE });
    const page = await person.get(url.pathname + url.search);
    assert.equal(page.status, 200);
    assert.match(page.html, /Sign out\?/);
    const forged = await person.post("/oauth/logout", { client_id: rp.client_id, post_logout_redirect_uri: BYE, decision: "logout" });
    assert.equal(forged.status, 200, "no CSRF token: asked again");
    const { hiddenFieldsOf } = await import("./harness.mjs");
    const done = await person.post("/oauth/logout", { ...hiddenFieldsOf(page.html), decision: "logout" });
    assert.equal(done.status, 303);
    assert.equal(done.location, BYE);
    const req = await request({ prompt: "none" });
    const after = await person.get(req.path);
    assert.equal(new URL(after.location).searchParams.get("error"), "login_required");
  });
});
