// Grants follow the person and sessions people can end (SECURITY.md, "People and sessions"):
// a new password ends sessions and revokes grants, sign-out from the account page, an
// operator's "sign out everywhere", and the bounded life of sessions signed in through the
// origin's login endpoint. What a failure midway leaves behind, and its retry, is tested on the
// core's in-memory ports with the Durable Objects failing on purpose (edge/core/src/
// people_tests.rs); here each rule is seen as a person and an operator see it.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startWorker, serve, pkce, Person, csrfOf, hiddenFieldsOf } from "./harness.mjs";

const PASSWORD = "correct horse battery";
const CB = "https://app.example.test/cb";

let w;
let app; // confidential code client with refresh tokens

before(async () => {
  w = await startWorker();
  await w.scope("read", "Read your documents");
  app = await w.client({
    name: "People App",
    grant_types: ["authorization_code", "refresh_token"],
    scopes: ["read"],
    redirect_uris: [CB],
  });
});
after(async () => w?.stop());

async function user(username, password = PASSWORD) {
  const r = await w.admin("POST", "/admin/v1/users", { username, password });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

/** A person signed in as `username`. */
async function signedIn(username, password = PASSWORD) {
  const person = new Person(w);
  const r = await person.login(username, password);
  assert.equal(r.status, 303, r.html);
  return person;
}

/** Whether `person`'s session is signed in (the account page shows, not the sign-in). */
async function isSignedIn(person) {
  const r = await person.get("/account/grants");
  assert.ok([200, 303].includes(r.status), `account page answered ${r.status}`);
  return r.status === 200;
}

/** Tokens of a code flow `person` goes through (already signed in). */
async function tokens(person) {
  const { verifier, challenge } = pkce();
  const q = new URLSearchParams({
    response_type: "code",
    client_id: app.client_id,
    redirect_uri: CB,
    scope: "read",
    state: "s",
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  let r = await person.get(`/oauth/authorize?${q}`);
  if (r.status === 200) r = await person.post("/oauth/authorize", { ...hiddenFieldsOf(r.html), decision: "allow" });
  assert.equal(r.status, 302, r.html);
  const code = new URL(r.location).searchParams.get("code");
  const t = await w.form(
    "/oauth/token",
    { grant_type: "authorization_code", code, redirect_uri: CB, code_verifier: verifier },
    { authorization: "Basic " + Buffer.from(`${app.client_id}:${app.client_secret}`).toString("base64") },
  );
  assert.equal(t.status, 200, t.text);
  return t.body;
}

const refresh = (rt) =>
  w.form(
    "/oauth/token",
    { grant_type: "refresh_token", refresh_token: rt },
    { authorization: "Basic " + Buffer.from(`${app.client_id}:${app.client_secret}`).toString("base64") },
  );

const verifyStatus = async (at) =>
  (await w.fetch("/verify", { method: "POST", headers: { authorization: `Bearer ${at}` } })).status;

async function audited(action, target) {
  const r = await w.admin("GET", `/admin/v1/audit?action=${action}&target=${encodeURIComponent(target)}`);
  assert.equal(r.status, 200, r.text);
  return r.body.events.length;
}

describe("grants follow the person", () => {
  test("an operator's password reset ends the person's sessions and revokes their grants, audited", async () => {
    const u = await user("paula");
    const person = await signedIn("paula");
    const t = await tokens(person);
    const [grant] = (await w.admin("GET", `/admin/v1/grants?user=${u.id}`)).body.grants;
    assert.equal(await verifyStatus(t.access_token), 200);
    const r = await w.admin("PATCH", `/admin/v1/users/${u.id}`, { password: "a brand new secret" });
    assert.equal(r.status, 200, r.text);
    assert.equal(await isSignedIn(person), false, "the session ended");
    assert.equal((await refresh(t.refresh_token)).body.error, "invalid_grant");
    assert.equal(await verifyStatus(t.access_token), 401, "the access token is deny-listed");
    assert.deepEqual((await w.admin("GET", `/admin/v1/grants?user=${u.id}`)).body.grants, []);
    assert.equal(await audited("grant.revoke", grant.id), 1);
    assert.equal((await new Person(w).login("paula", PASSWORD)).status, 401, "the old password is gone");
    assert.equal(await isSignedIn(await signedIn("paula", "a brand new secret")), true);
  });

  test("changing only `disabled: false` leaves sessions and grants alone", async () => {
    const u = await user("quinn");
    const person = await signedIn("quinn");
    const t = await tokens(person);
    const r = await w.admin("PATCH", `/admin/v1/users/${u.id}`, { disabled: false });
    assert.equal(r.status, 200, r.text);
    assert.equal(await isSignedIn(person), true);
    assert.equal(await verifyStatus(t.access_token), 200);
  });
});

describe("sessions people can end", () => {
  test("sign-out is a CSRF-protected form on the account page and ends only that session", async () => {
    await user("rosa");
    const [laptop, phone] = [await signedIn("rosa"), await signedIn("rosa")];
    const page = await laptop.get("/account/grants");
    assert.match(page.html, /<form method="post" action="\/logout">/);
    assert.match(page.html, /<button type="submit"[^>]*>Sign out<\/button>/);
    const forged = await laptop.post("/logout", { csrf_token: "not-the-token" });
    assert.equal(forged.status, 403);
    assert.equal(await isSignedIn(laptop), true, "a forged sign-out changes nothing");
    const out = await laptop.post("/logout", { csrf_token: csrfOf(page.html) });
    assert.equal(out.status, 303);
    assert.equal(out.location, "/login");
    assert.equal(await isSignedIn(laptop), false);
    assert.equal(await isSignedIn(phone), true, "the other session stays");
    const get = await w.fetch("/logout");
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
  });

  test("an operator signs a user out everywhere: every session ends at once, grants stay", async () => {
    const u = await user("sami");
    const [laptop, phone] = [await signedIn("sami"), await signedIn("sami")];
    const t = await tokens(laptop);
    const r = await w.admin("POST", `/admin/v1/users/${u.id}/sessions/revoke`);
    assert.equal(r.status, 204, r.text);
    assert.equal(await isSignedIn(laptop), false);
    assert.equal(await isSignedIn(phone), false);
    assert.equal(await verifyStatus(t.access_token), 200, "grants are not sessions");
    assert.equal((await refresh(t.refresh_token)).status, 200);
    assert.equal(await audited("user.signout", u.id), 1);
    assert.equal(await isSignedIn(await signedIn("sami")), true, "signing in again works");
    assert.equal((await w.admin("POST", "/admin/v1/users/nobody/sessions/revoke")).status, 404);
    assert.equal((await w.admin("GET", `/admin/v1/users/${u.id}/sessions/revoke`)).status, 405);
  });
});

describe("sessions signed in through UPSTREAM_LOGIN_URL", () => {
  test("live UPSTREAM_SESSION_SECONDS, are never extended, and can be ended by the origin's user id", { timeout: 60_000 }, async () => {
    const origin = await serve((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ user_id: "origin-7" }));
    });
    const main = w;
    w = await startWorker({ bindings: { UPSTREAM_LOGIN_URL: `${origin.url}/login`, UPSTREAM_SESSION_SECONDS: "120" } });
    try {
      const person = new Person(w);
      const page = await person.get("/login");
      const r = await person.post("/login", { username: "olga", password: "origin-pass", csrf_token: csrfOf(page.html) });
      assert.equal(r.status, 303, r.html);
      const cookie = r.res.headers.getSetCookie()[0];
      assert.match(cookie, /; Max-Age=120;/, "the session lives UPSTREAM_SESSION_SECONDS");
      const payload = JSON.parse(Buffer.from(cookie.split("=")[1].split(".")[0], "base64url"));
      assert.equal(payload.user.id, "origin-7");
      assert.ok(payload.exp <= Math.ceil(Date.now() / 1000) + 120, "its end is signed into it");
      // Pages a signed-in person visits never renew it.
      const again = await person.get("/account/grants");
      assert.equal(again.status, 200);
      assert.deepEqual(again.res.headers.getSetCookie(), []);
      const out = await w.admin("POST", "/admin/v1/users/origin-7/sessions/revoke");
      assert.equal(out.status, 204, out.text);
      assert.equal(await isSignedIn(person), false);
    } finally {
      await w.stop();
      w = main;
      origin.server.close();
    }
  });

  test("a life that is not 1 to 1800 seconds makes the worker refuse to run", { timeout: 60_000 }, async () => {
    for (const bad of ["0", "1801", "soon"]) {
      const broken = await startWorker({ bindings: { UPSTREAM_SESSION_SECONDS: bad } });
      try {
        const r = await broken.fetch("/login");
        assert.equal(r.status, 500, bad);
        assert.match(await r.text(), /misconfigured/);
      } finally {
        await broken.stop();
      }
    }
  });
});
