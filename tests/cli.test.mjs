// End-to-end: the `portcullis` CLI (target/debug/portcullis, built by `cargo build -p portcullis`)
// against the real worker in workerd. Every step checks the API's own state afterwards.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker, ADMIN_TOKEN, basic } from "./harness.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(root, "target/debug/portcullis");

let w;

before(async () => {
  assert.ok(existsSync(BIN), `build the CLI first: cargo build -p portcullis (${BIN})`);
  w = await startWorker();
  await w.scope("read");
});

after(async () => {
  await w?.stop();
});

/** Runs the CLI; resolves { code, stdout, stderr }. */
function cli(args, { token = ADMIN_TOKEN, input } = {}) {
  const env = { ...process.env, PORTCULLIS_URL: w.url };
  delete env.PORTCULLIS_ADMIN_TOKEN;
  if (token !== null) env.PORTCULLIS_ADMIN_TOKEN = token;
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    // The CLI may exit before reading stdin (e.g. no token): that is not an error here.
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? "");
  });
}

async function json(args, opts) {
  const r = await cli(["--json", ...args], opts);
  assert.equal(r.code, 0, `portcullis ${args.join(" ")} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function token(id, secret) {
  return w.form("/oauth/token", { grant_type: "client_credentials", scope: "read" }, {
    authorization: basic(id, secret),
  });
}

test("cli client lifecycle: create, list, rotate-secret, disable, delete, each visible in the API", async () => {
  // create: the secret is printed once and works at the token endpoint
  const created = await json(["clients", "create", "--name", "cli-app", "--scope", "read"]);
  assert.match(created.client_id, /.+/);
  assert.ok(created.client_secret.length >= 40, "a 256-bit secret");
  let state = await w.admin("GET", `/admin/v1/clients/${created.client_id}`);
  assert.equal(state.status, 200);
  assert.equal(state.body.name, "cli-app");
  assert.deepEqual(state.body.scopes, ["read"]);
  assert.equal(state.body.client_secret, undefined, "reads never show the secret");
  assert.equal((await token(created.client_id, created.client_secret)).status, 200);

  // list: in JSON with the API's own field names, and as a table
  const listed = await json(["clients", "list"]);
  assert.ok(listed.clients.some((c) => c.client_id === created.client_id && c.name === "cli-app"));
  assert.ok(listed.clients.every((c) => c.client_secret === undefined));
  const table = await cli(["clients", "list"]);
  assert.equal(table.code, 0);
  assert.match(table.stdout, /^NAME\s+CLIENT ID\s+TYPE\s+STATE/m);
  assert.match(table.stdout, new RegExp(`^cli-app\\s+${created.client_id}\\s+confidential\\s+enabled`, "m"));

  // rotate-secret: a new secret once; both work during the overlap
  const rotated = await json(["clients", "rotate-secret", created.client_id]);
  assert.notEqual(rotated.client_secret, created.client_secret);
  state = await w.admin("GET", `/admin/v1/clients/${created.client_id}`);
  assert.equal(state.body.secrets.length, 2, "old secret kept until it expires");
  assert.ok(state.body.secrets.some((s) => s.expires_at), "the old one has an expiry");
  assert.equal((await token(created.client_id, rotated.client_secret)).status, 200);
  assert.equal((await token(created.client_id, created.client_secret)).status, 200);

  // update: disable, seen by the API and by the token endpoint
  const disabled = await json(["clients", "update", created.client_id, "--disable"]);
  assert.equal(disabled.disabled, true);
  state = await w.admin("GET", `/admin/v1/clients/${created.client_id}`);
  assert.equal(state.body.disabled, true);

  // delete: gone from the API
  const deleted = await cli(["clients", "delete", created.client_id]);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stdout, /deleted client cli-app/);
  state = await w.admin("GET", `/admin/v1/clients/${created.client_id}`);
  assert.equal(state.status, 404);
  const after = await json(["clients", "list"]);
  assert.ok(!after.clients.some((c) => c.client_id === created.client_id));

  // audit: each step was recorded
  const audit = await json(["audit", "list", "--target", created.client_id]);
  const actions = audit.events.map((e) => e.action);
  for (const a of ["client.create", "client.secret_rotate", "client.delete"]) {
    assert.ok(actions.includes(a), `${a} in ${actions}`);
  }
});

test("cli create prints the secret once in human output too", async () => {
  const r = await cli(["clients", "create", "--name", "human-app", "--scope", "read"]);
  assert.equal(r.code, 0, r.stderr);
  const secret = r.stdout.match(/^client_secret\s+(\S+)$/m)?.[1];
  assert.ok(secret, r.stdout);
  assert.match(r.stdout, /shown this once/);
  const id = r.stdout.match(/^Client ID\s+(\S+)$/m)?.[1];
  assert.equal((await token(id, secret)).status, 200);
});

test("cli errors: one line on stderr and a non-zero exit", async () => {
  const missing = await cli(["clients", "get", "no-such-client"]);
  assert.notEqual(missing.code, 0);
  assert.equal(missing.stdout, "");
  assert.equal(missing.stderr.trim().split("\n").length, 1);
  assert.match(missing.stderr, /404 not_found/);

  const invalid = await cli(["clients", "create", "--name", "x", "--redirect-uri", "not a url"]);
  assert.notEqual(invalid.code, 0);
  assert.match(invalid.stderr, /redirect_uris/);
  assert.equal(invalid.stderr.trim().split("\n").length, 1);

  const badToken = await cli(["clients", "list"], { token: "wrong-token-wrong-token" });
  assert.notEqual(badToken.code, 0);
  assert.match(badToken.stderr, /401 invalid_token/);
});

test("cli without a token and without a terminal fails clearly instead of prompting", async () => {
  const r = await cli(["clients", "list"], { token: null });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /PORTCULLIS_ADMIN_TOKEN/);
  assert.equal(r.stdout, "");
});

test("cli scopes, users, keys and audit verbs", async () => {
  const scope = await json(["scopes", "create", "billing.read", "--description", "Read invoices"]);
  assert.equal(scope.name, "billing.read");
  assert.equal((await w.admin("GET", "/admin/v1/scopes/billing.read")).body.description, "Read invoices");
  assert.ok((await json(["scopes", "list"])).scopes.some((s) => s.name === "billing.read"));
  assert.equal((await cli(["scopes", "delete", "billing.read"])).code, 0);
  assert.equal((await w.admin("GET", "/admin/v1/scopes/billing.read")).status, 404);

  // the password comes from stdin, never from an argument
  const user = await json(["users", "create", "carol"], { input: "correct horse battery staple\n" });
  assert.equal(user.username, "carol");
  assert.equal(JSON.stringify(user).includes("correct horse"), false);
  assert.equal((await w.admin("GET", `/admin/v1/users/${user.id}`)).body.username, "carol");
  const disabledUser = await json(["users", "update", user.id, "--disable"]);
  assert.equal(disabledUser.disabled, true);
  assert.equal((await cli(["users", "delete", user.id])).code, 0);
  assert.equal((await w.admin("GET", `/admin/v1/users/${user.id}`)).status, 404);

  const before = (await w.admin("GET", "/admin/v1/keys")).body.keys;
  const rotated = await json(["keys", "rotate"]);
  const current = rotated.keys.find((k) => k.state === "current");
  const oldNext = before.find((k) => k.state === "next");
  if (oldNext) assert.equal(current.kid, oldNext.kid, "next was promoted");
  assert.ok(rotated.keys.some((k) => k.state === "next"));
  const listedKeys = await cli(["keys", "list"]);
  assert.match(listedKeys.stdout, /^KID\s+ALG\s+STATE\s+CREATED/m);
  assert.match(listedKeys.stdout, /current/);

  const page = await json(["audit", "list", "--action", "key.rotate", "--limit", "5"]);
  assert.ok(page.events.length >= 1);
  assert.ok(page.events.every((e) => e.action === "key.rotate"));
});
