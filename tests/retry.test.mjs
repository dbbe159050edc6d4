// A change whose second half fails is finished from its durable record (issue 12, point 2;
// SECURITY.md, "People and sessions"). Each test keeps its state on disk, restarts workerd with
// one Durable Object namespace bound to a class that answers 503 (the outage), makes the change,
// restarts with the real namespace and runs the worker's Cron Trigger once: the retry must
// deny-list the access tokens and audit the revocation, exactly once.
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startWorker, basic, authorizeRequest, Person } from "./harness.mjs";

const PASSWORD = "correct horse battery";
const CB = "https://app.example.test/cb";

/** A worker whose Durable Object class `Down` answers every call with 503. */
const OUTAGE = {
  name: "outage",
  modules: true,
  script: `export class Down { fetch() { return new Response("unavailable", { status: 503 }); } }
export default { fetch() { return new Response("unavailable", { status: 503 }); } };`,
  compatibilityDate: "2026-04-01",
  durableObjects: { DOWN: "Down" },
};
const down = { className: "Down", scriptName: "outage" };

let w;
let dir;
afterEach(async () => {
  await w?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A worker with its state on disk, a user `alice` and a code client with refresh tokens. */
async function setup(bindings = {}) {
  dir = mkdtempSync(path.join(tmpdir(), "portcullis-retry-"));
  w = await startWorker({ persist: dir, extraWorkers: [OUTAGE], bindings });
  await w.scope("read");
  const user = await w.admin("POST", "/admin/v1/users", { username: "alice", password: PASSWORD });
  assert.equal(user.status, 201, user.text);
  const app = await w.client({ grant_types: ["authorization_code", "refresh_token"], scopes: ["read"], redirect_uris: [CB] });
  return { user: user.body, app, person: new Person(w) };
}

/** A code for `app` through sign-in and consent, with its PKCE verifier. */
async function code(person, app) {
  const { url, verifier } = authorizeRequest({ client_id: app.client_id, redirect_uri: CB, scope: "read" });
  const r = await person.authorize(url, "alice", PASSWORD);
  assert.equal(r.status, 302, r.html);
  return { code: new URL(r.location).searchParams.get("code"), verifier };
}

const token = (app, params) => w.form("/oauth/token", params, { authorization: basic(app.client_id, app.client_secret) });
const redeem = (app, { code, verifier }) =>
  token(app, { grant_type: "authorization_code", code, redirect_uri: CB, code_verifier: verifier });
const refresh = (app, refresh_token) => token(app, { grant_type: "refresh_token", refresh_token });
const verify = async (at) => (await w.fetch("/verify", { method: "POST", headers: { authorization: `Bearer ${at}` } })).status;

async function audited(action) {
  const r = await w.admin("GET", `/admin/v1/audit?action=${action}`);
  assert.equal(r.status, 200, r.text);
  return r.body.events;
}

/** Runs the Cron Trigger once and expects it to finish cleanly. */
async function retry() {
  const result = await w.scheduled();
  assert.equal(result.outcome, "ok");
}

test("a user disabled while the grant shards are down is finished by the scheduled retry", async () => {
  const { user, app, person } = await setup();
  const redeemed = await redeem(app, await code(person, app));
  assert.equal(redeemed.status, 200, redeemed.text);
  const t = redeemed.body;
  const [grant] = (await w.admin("GET", `/admin/v1/grants?user=${user.id}`)).body.grants;

  await w.reconfigure({ durableObjects: { GRANTS: down } });
  const r = await w.admin("PATCH", `/admin/v1/users/${user.id}`, { disabled: true });
  assert.equal(r.status, 200, "the change itself is stored: " + r.text);
  assert.equal(r.body.disabled, true);
  await w.reconfigure({ durableObjects: {} });

  assert.equal(await verify(t.access_token), 200, "the outage kept the second half from running");
  assert.equal((await audited("grant.revoke")).length, 0);
  await retry();
  assert.equal(await verify(t.access_token), 401, "the retry deny-listed the access token");
  assert.equal((await refresh(app, t.refresh_token)).body.error, "invalid_grant");
  assert.deepEqual((await w.admin("GET", `/admin/v1/grants?user=${user.id}`)).body.grants, []);
  const revoked = await audited("grant.revoke");
  assert.deepEqual(revoked.map((e) => e.target), [grant.id]);
  await retry();
  assert.equal((await audited("grant.revoke")).length, 1, "a second run changes nothing");
});

test("refresh reuse and code replay decided while the authority is down are deny-listed and audited by the retry", async () => {
  // No retry window: the reuse below comes from the same caller within two seconds.
  const { app, person } = await setup({ REFRESH_RETRY_WINDOW_MS: "0" });
  const first = await redeem(app, await code(person, app));
  assert.equal(first.status, 200, first.text);
  const rotated = await refresh(app, first.body.refresh_token);
  assert.equal(rotated.status, 200, rotated.text);
  const replayed = await code(person, app);
  const second = await redeem(app, replayed);
  assert.equal(second.status, 200, second.text);

  await w.reconfigure({ durableObjects: { AUTHORITY: down } });
  const reuse = await refresh(app, first.body.refresh_token);
  assert.equal(reuse.status, 503, "never a token: " + reuse.text);
  const replay = await redeem(app, replayed);
  assert.equal(replay.status, 503, "never a token: " + replay.text);
  await w.reconfigure({ durableObjects: {} });

  assert.equal(await verify(rotated.body.access_token), 200, "the outage kept the deny-list write from happening");
  assert.equal(await verify(second.body.access_token), 200);
  await retry();
  assert.equal(await verify(rotated.body.access_token), 401, "reuse: the family's access tokens are denied");
  assert.equal(await verify(first.body.access_token), 401);
  assert.equal(await verify(second.body.access_token), 401, "replay: the code's access token is denied");
  assert.equal((await refresh(app, rotated.body.refresh_token)).body.error, "invalid_grant");
  assert.equal((await audited("refresh.reuse")).length, 1);
  assert.equal((await audited("code.replay")).length, 1);
  await retry();
  assert.equal((await audited("refresh.reuse")).length, 1, "a second run changes nothing");
  assert.equal((await audited("code.replay")).length, 1);
});
