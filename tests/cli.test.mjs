// End-to-end: the `portcullis` CLI (target/debug/portcullis, built by `cargo build -p portcullis`)
// against the real worker in workerd. Every step checks the API's own state afterwards.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker, ADMIN_TOKEN, basic, Person } from "./harness.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(root, "target/debug/portcullis");

let w;

before(async () => {
  assert.ok(existsSync(BIN), `build the CLI first: cargo build -p portcullis (${BIN})`);
  w = await startWorker();
  await w.scope("read");
});

const scratch = mkdtempSync(path.join(tmpdir(), "portcullis-cli-"));

after(async () => {
  await w?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** Writes `value` as JSON to a scratch file; answers its path. */
function jsonFile(name, value) {
  const file = path.join(scratch, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

/** A failed run: non-zero exit, nothing on stdout, one line on stderr matching `pattern`. */
function assertOneLineError(r, pattern) {
  assert.notEqual(r.code, 0, `expected a failure: ${r.stdout}`);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, pattern);
}

/** Runs the CLI; resolves { code, stdout, stderr }. */
function cli(args, { token = ADMIN_TOKEN, input, env: extra = {} } = {}) {
  const env = { ...process.env, PORTCULLIS_URL: w.url, ...extra };
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

  // usage errors too: clap's multi-line usage is cut down to one line, exit 2
  for (const [args, pattern] of [
    [["clients"], /portcullis clients needs a subcommand: list, get/],
    [["users", "get"], /required arguments were not provided: <ID>/],
    [["grants", "list", "--user"], /a value is required for '--user/],
    [["clients", "list", "--bogus"], /unexpected argument '--bogus'/],
  ]) {
    const r = await cli(args);
    assertOneLineError(r, pattern);
    assert.equal(r.code, 2, `${args}: ${r.stderr}`);
  }
  const help = await cli(["issuers", "--help"]);
  assert.equal(help.code, 0, "help is not an error");
  assert.match(help.stdout, /set/);
});

test("cli without a token and without a terminal fails clearly instead of prompting", async () => {
  const r = await cli(["clients", "list"], { token: null });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /PORTCULLIS_ADMIN_TOKEN/);
  assert.equal(r.stdout, "");
});

test("the operator app (CLI and TUI) refuses plain http:// off loopback before the token goes anywhere; --insecure allows it", async () => {
  // A forwarder to the worker on every interface, reached as 0.0.0.0: a host that is not
  // loopback by name, yet on this machine. It records the Authorization header of all that arrives.
  const seen = [];
  const forwarder = http.createServer((req, res) => {
    seen.push(req.headers.authorization);
    const upstream = http.request(w.url + req.url, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise((resolve) => forwarder.listen(0, "0.0.0.0", resolve));
  const far = `http://0.0.0.0:${forwarder.address().port}`;
  try {
    // A subcommand (the CLI) and none (the interactive app); --url and PORTCULLIS_URL alike.
    for (const [args, env] of [
      [["--url", far, "scopes", "list"], {}],
      [["--url", far], {}],
      [["scopes", "list"], { PORTCULLIS_URL: far }],
    ]) {
      const r = await cli(args, { env });
      assertOneLineError(r, /refusing to send the admin token over plain http:\/\/ to 0\.0\.0\.0.*--insecure/);
      assert.equal(r.code, 2, r.stderr);
    }
    assert.deepEqual(seen, [], "nothing was sent");
    // Without a token either: the refusal comes before the token is asked for.
    assert.match((await cli(["--url", far, "scopes", "list"], { token: null })).stderr, /refusing/);

    const insecure = await cli(["--url", far, "--insecure", "--json", "scopes", "list"]);
    assert.equal(insecure.code, 0, insecure.stderr);
    assert.ok(JSON.parse(insecure.stdout).scopes.some((s) => s.name === "read"));
    assert.deepEqual(seen, [`Bearer ${ADMIN_TOKEN}`], "with --insecure, the operator's choice");
  } finally {
    forwarder.close();
  }
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

  // a compromised key: revoked outright, out of the set and the JWKS
  const revoked = await json(["keys", "revoke", current.kid]);
  assert.ok(!revoked.keys.some((k) => k.kid === current.kid));
  assert.ok(revoked.keys.some((k) => k.state === "current"));
  const jwks = await (await w.fetch("/.well-known/jwks.json")).json();
  assert.ok(!jwks.keys.some((k) => k.kid === current.kid));
  assertOneLineError(await cli(["keys", "revoke", current.kid]), /404 not_found/);
  assert.equal((await json(["audit", "list", "--action", "key.revoke"])).events[0].target, current.kid);
});

test("cli users get prints one user as the API has it", async () => {
  const made = await json(["users", "create", "dave"], { input: "a long enough password\n" });
  const got = await json(["users", "get", made.id]);
  assert.deepEqual(got, (await w.admin("GET", `/admin/v1/users/${made.id}`)).body);
  assert.equal(got.username, "dave");
  const human = await cli(["users", "get", made.id]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^Username\s+dave$/m);
  assert.match(human.stdout, new RegExp(`^ID\\s+${made.id}$`, "m"));
  assertOneLineError(await cli(["users", "get", "u-nobody"]), /404 not_found/);
});

test("cli users signout signs a user out everywhere: their session ends, the audit says so", async () => {
  const made = await json(["users", "create", "gwen"], { input: "a long enough password\n" });
  const person = new Person(w);
  assert.equal((await person.login("gwen", "a long enough password")).status, 303);
  assert.equal((await person.get("/account/grants")).status, 200);
  const r = await cli(["users", "signout", made.id]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`signed user ${made.id} out everywhere`));
  assert.equal((await person.get("/account/grants")).status, 303, "back to the sign-in page");
  const audit = await w.admin("GET", `/admin/v1/audit?action=user.signout&target=${made.id}`);
  assert.equal(audit.body.events.length, 1);
  assertOneLineError(await cli(["users", "signout", "u-nobody"]), /404 not_found/);
});

test("cli routes get/set: the table round-trips with its version and a stale one is refused", async () => {
  const before = await json(["routes", "get"]);
  assert.ok(Array.isArray(before.routes));
  assert.equal(typeof before.version, "number");

  // set from a file carrying the version `get` printed: sent as If-Match
  const table = {
    ...before,
    routes: [
      { path: "/cli/*", methods: ["GET"], origin: "http://127.0.0.1:9", scopes: ["read"] },
      { path: "/cli/health", public: true, origin: "http://127.0.0.1:9" },
    ],
  };
  const saved = await json(["routes", "set", jsonFile("routes.json", table)]);
  assert.equal(saved.version, before.version + 1);
  let state = (await w.admin("GET", "/admin/v1/routes")).body;
  assert.equal(state.version, before.version + 1);
  assert.deepEqual(state.routes.map((r) => r.path), ["/cli/*", "/cli/health"]);
  assert.deepEqual(state.routes[0].scopes, ["read"]);
  assert.equal(state.routes[1].public, true);

  // the same file again names a version that is no longer current: refused, nothing changes
  assertOneLineError(await cli(["routes", "set", jsonFile("routes.json", table)]), /412/);
  assert.equal((await w.admin("GET", "/admin/v1/routes")).body.version, state.version);

  // a body the API refuses (a typo) and one that is not JSON: one line, nothing changes
  assertOneLineError(await cli(["routes", "set"], { input: '{"rutes": []}' }), /rutes/);
  assertOneLineError(await cli(["routes", "set", "-"], { input: "{" }), /stdin/);
  assertOneLineError(
    await cli(["routes", "set"], { input: JSON.stringify({ routes: [{ path: "no-slash" }] }) }),
    /^portcullis: 4\d\d /,
  );
  assert.deepEqual((await w.admin("GET", "/admin/v1/routes")).body, state);

  // from stdin without a version: replaces the table as it stands
  const one = { routes: [{ path: "/only", origin: "http://127.0.0.1:9", scope_mode: "any", scopes: ["read"] }] };
  const r = await cli(["routes", "set"], { input: JSON.stringify(one) });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^PATH\s+METHODS\s+SCOPES\s+ACCESS/m);
  assert.match(r.stdout, /^\/only\s+any\s+read\s+token$/m);
  assert.match(r.stdout, new RegExp(`^\\(version ${state.version + 1}\\)$`, "m"));
  state = (await w.admin("GET", "/admin/v1/routes")).body;
  assert.deepEqual(state.routes.map((x) => [x.path, x.scope_mode]), [["/only", "any"]]);

  // list is get's other name
  assert.deepEqual(await json(["routes", "list"]), state);
  await json(["routes", "set"], { input: '{"routes": []}' });
  assert.deepEqual((await w.admin("GET", "/admin/v1/routes")).body.routes, []);
});

test("cli issuers list/set: trusted issuers replaced whole, bad ones refused", async () => {
  const empty = await json(["issuers", "list"]);
  assert.deepEqual(empty.issuers, []);
  const idp = {
    issuer: "https://idp.example",
    jwks_uri: "https://idp.example/.well-known/jwks.json",
    audiences: ["https://api.example"],
    algorithms: ["RS256", "ES256"],
    token_types: ["at+jwt", "JWT"],
  };
  const saved = await json(["issuers", "set"], { input: JSON.stringify({ issuers: [idp] }) });
  assert.deepEqual(saved.issuers, [idp]);
  let state = (await w.admin("GET", "/admin/v1/issuers")).body;
  assert.deepEqual(state.issuers, [idp]);
  assert.equal(state.version, empty.version + 1);

  const listed = await cli(["issuers", "get"]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^ISSUER\s+AUDIENCES\s+ALGORITHMS/m);
  assert.match(listed.stdout, /^https:\/\/idp\.example\s+https:\/\/api\.example\s+RS256, ES256$/m);

  // refused: an HMAC algorithm (by the shared type), plain http off loopback (by the API)
  const hmac = { issuers: [{ ...idp, algorithms: ["HS256"] }] };
  assertOneLineError(await cli(["issuers", "set"], { input: JSON.stringify(hmac) }), /HS256/);
  const plain = { issuers: [{ ...idp, jwks_uri: "http://idp.example/jwks.json" }] };
  assertOneLineError(
    await cli(["issuers", "set", jsonFile("issuers.json", plain)]),
    /422 invalid_value: .*\(field issuers\[0\]\.jwks_uri\)/,
  );
  assert.deepEqual((await w.admin("GET", "/admin/v1/issuers")).body, state);

  // a second issuer added to the table as read, then all removed
  const two = { ...state, issuers: [...state.issuers, { ...idp, issuer: "https://other.example" }] };
  await json(["issuers", "set", jsonFile("issuers.json", two)]);
  state = (await w.admin("GET", "/admin/v1/issuers")).body;
  assert.deepEqual(state.issuers.map((i) => i.issuer), ["https://idp.example", "https://other.example"]);
  await json(["issuers", "set"], { input: '{"issuers": []}' });
  assert.deepEqual((await w.admin("GET", "/admin/v1/issuers")).body.issuers, []);
});

test("cli grants list passes --user and --client to the API, revoke removes one", async () => {
  const password = "a long enough password";
  const erin = (await w.admin("POST", "/admin/v1/users", { username: "erin", password })).body;
  const frank = (await w.admin("POST", "/admin/v1/users", { username: "frank", password })).body;
  const passwordClient = (name) =>
    w.client({ name, grant_types: ["password", "refresh_token"], scopes: ["read"] });
  const one = await passwordClient("grants-one");
  const two = await passwordClient("grants-two");
  for (const [user, client] of [[erin, one], [erin, two], [frank, one]]) {
    const r = await w.form(
      "/oauth/token",
      { grant_type: "password", username: user.username, password, scope: "read" },
      { authorization: basic(client.client_id, client.client_secret) },
    );
    assert.equal(r.status, 200, r.text);
  }
  const pairs = (grants) => grants.map((g) => `${g.user}>${g.client_id}`).sort();
  const api = async (query) => (await w.admin("GET", `/admin/v1/grants?${query}`)).body.grants;

  const erins = await json(["grants", "list", "--user", erin.id]);
  assert.deepEqual(pairs(erins.grants), [`${erin.id}>${one.client_id}`, `${erin.id}>${two.client_id}`].sort());
  assert.deepEqual(erins.grants, await api(`user=${encodeURIComponent(erin.id)}`));
  const ones = await json(["grants", "list", "--client", one.client_id]);
  assert.deepEqual(pairs(ones.grants), [`${erin.id}>${one.client_id}`, `${frank.id}>${one.client_id}`].sort());
  const both = await json(["grants", "list", "--user", frank.id, "--client", one.client_id]);
  assert.deepEqual(pairs(both.grants), [`${frank.id}>${one.client_id}`]);
  const all = await json(["grants", "list"]);
  assert.ok(all.grants.length >= 3);

  const table = await cli(["grants", "list", "--client", two.client_id]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^USER\s+CLIENT\s+SCOPES\s+UPDATED/m);
  assert.match(table.stdout, new RegExp(`^${erin.id}\\s+${two.client_id}\\s+read\\s`, "m"));

  const revoked = await cli(["grants", "revoke", both.grants[0].id]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.deepEqual(await api(`user=${encodeURIComponent(frank.id)}`), []);
  assert.equal((await json(["grants", "list", "--user", erin.id])).grants.length, 2, "the others stay");
});

test("cli token and decode: a token in one line without the admin token, its claims and signature read back", async () => {
  const client = await w.client({ scopes: ["read"] });
  // The secret on stdin; no admin token anywhere in the environment.
  const t = await cli(["token", client.client_id, "--scope", "read"], { token: null, input: `${client.client_secret}\n` });
  assert.equal(t.code, 0, t.stderr);
  const accessToken = t.stdout.trim();
  assert.match(accessToken, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const verified = await w.fetch("/verify", { method: "POST", headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(verified.status, 200);

  // The secret from PORTCULLIS_CLIENT_SECRET; --json prints the whole answer.
  const whole = await cli(["--json", "token", client.client_id, "--scope", "read"], {
    token: null,
    env: { PORTCULLIS_CLIENT_SECRET: client.client_secret },
  });
  assert.equal(whole.code, 0, whole.stderr);
  const answer = JSON.parse(whole.stdout);
  assert.equal(answer.token_type, "Bearer");
  assert.equal(answer.scope, "read");

  // A wrong secret: the server's OAuth error, on one line, without the secret.
  const refused = await cli(["token", client.client_id], { token: null, input: "not-the-secret\n" });
  assertOneLineError(refused, /401 invalid_client/);
  assert.ok(!refused.stderr.includes("not-the-secret"));

  // decode: header, claims, a valid signature against the JWKS, the expiry in words.
  const decoded = await cli(["decode", accessToken], { token: null });
  assert.equal(decoded.code, 0, decoded.stderr);
  assert.match(decoded.stdout, /"typ": "at\+jwt"/);
  assert.match(decoded.stdout, new RegExp(`"client_id": "${client.client_id}"`));
  assert.match(decoded.stdout, /signature {2}valid \(key \S+ of the server's JWKS\)/);
  assert.match(decoded.stdout, /expires {4}in (1 hour|59 minutes \d+ seconds?)\n/);
  // From stdin, as `portcullis token … | portcullis decode -` passes it.
  const piped = await cli(["--json", "decode", "-"], { token: null, input: accessToken });
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(JSON.parse(piped.stdout).signature_valid, true);

  // A token whose claims were changed after signing: shown, called invalid, exit 1.
  const [h, c, s] = accessToken.split(".");
  const claims = JSON.parse(Buffer.from(c, "base64url"));
  claims.scope = "read admin";
  const forged = [h, Buffer.from(JSON.stringify(claims)).toString("base64url"), s].join(".");
  const bad = await cli(["decode", forged], { token: null });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /signature {2}INVALID/);
  assert.match(bad.stderr, /not usable/);
});

test("cli audit tail prints the newest events, then each new one as it is written", async () => {
  const child = spawn(BIN, ["audit", "tail", "--action", "scope.create", "--every", "1"], {
    env: { ...process.env, PORTCULLIS_URL: w.url, PORTCULLIS_ADMIN_TOKEN: ADMIN_TOKEN },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  /** Resolves once stdout matches `pattern`; fails after 20 s with what was printed. */
  const printed = (pattern) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${pattern} in ${stdout} / ${stderr}`)), 20_000);
      const look = () => {
        if (pattern.test(stdout)) {
          clearTimeout(timer);
          child.stdout.off("data", look);
          resolve();
        }
      };
      child.stdout.on("data", look);
      look();
    });
  try {
    await printed(/^TIME\s+ACTION\s+TARGET\s+ACTOR$/m);
    await w.scope("tail.first");
    await w.scope("tail.second");
    await printed(/scope\.create\s+tail\.second/);
    const lines = stdout.split("\n").filter((l) => /tail\.(first|second)/.test(l));
    assert.deepEqual(
      lines.map((l) => l.match(/tail\.\w+/)[0]),
      ["tail.first", "tail.second"],
      "each event once, oldest first",
    );
    assert.ok(lines.every((l) => l.includes("scope.create")));
  } finally {
    child.kill();
  }
});

test("cli completions and the manual need no token and come from the same definitions", async () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    const r = await cli(["completions", shell], { token: null });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rotate-secret/);
    assert.match(r.stdout, /decode/);
  }
  const man = await cli(["man"], { token: null });
  assert.equal(man.code, 0, man.stderr);
  assert.match(man.stdout, /\.TH portcullis/);
  assert.match(man.stdout, /Exit status/);
  const help = await cli(["token", "--help"], { token: null });
  assert.match(help.stdout, /Examples:/);
});

test("cli export and apply: a second worker configured from the first's document, idempotent, dry runs change nothing", async () => {
  // The first worker gets a little of everything (the shared one already has clients).
  await w.scope("orders", "Read your orders");
  const app = await w.client({ name: "orders-app", scopes: ["orders"] });
  await w.admin("POST", "/admin/v1/users", { username: "erin", password: "a long enough password" });
  // The registration policy travels; a client that registered itself does not.
  const opened = await w.admin("PUT", "/admin/v1/registration", { enabled: true, scopes: ["orders"] });
  assert.equal(opened.status, 200, opened.text);
  const registered = await w.fetch("/oauth/register", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: "self-made", redirect_uris: ["https://self.example.test/cb"], token_endpoint_auth_method: "none" }),
  });
  assert.equal(registered.status, 201, await registered.clone().text());
  const exported = path.join(scratch, "config.json");
  const e = await cli(["export", "-o", exported]);
  assert.equal(e.code, 0, e.stderr);
  const text = (await import("node:fs")).readFileSync(exported, "utf8");
  assert.ok(!text.includes(app.client_secret) && !text.includes(app.client_id), "no secret, no server-assigned id");
  assert.ok(!text.includes("a long enough password"));
  const document = JSON.parse(text);
  assert.deepEqual(Object.keys(document).sort(), ["clients", "issuers", "registration", "routes", "scopes", "users"]);
  assert.deepEqual([document.registration.enabled, document.registration.scopes], [true, ["orders"]]);
  assert.ok(!document.clients.some((c) => c.name === "self-made"), "self-registered clients stay home");

  const other = await startWorker();
  const on = (args, opts = {}) => cli(args, { ...opts, env: { PORTCULLIS_URL: other.url, ...(opts.env ?? {}) } });
  try {
    // A dry run prints the plan and changes nothing.
    const dry = await on(["apply", exported, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^\+ scope orders$/m);
    assert.match(dry.stdout, /^\+ client orders-app$/m);
    assert.match(dry.stdout, /^~ registration: enabled, scopes$/m);
    assert.match(dry.stdout, /dry run: nothing changed/);
    assert.equal((await other.admin("GET", "/admin/v1/clients")).body.clients.length, 0);

    // Apply: the secrets of the new clients go to a file only the operator can read.
    const secretsOut = path.join(scratch, "new-secrets.json");
    const applied = await on(["apply", exported, "--secrets-out", secretsOut]);
    assert.equal(applied.code, 0, applied.stderr);
    const { statSync, readFileSync } = await import("node:fs");
    assert.equal(statSync(secretsOut).mode & 0o777, 0o600);
    const secrets = JSON.parse(readFileSync(secretsOut, "utf8"));
    const orders = secrets.find((s) => s.name === "orders-app");
    assert.ok(!applied.stdout.includes(orders.client_secret), "the secret went to the file, not the terminal");
    const minted = await other.form("/oauth/token", { grant_type: "client_credentials", scope: "orders" }, {
      authorization: basic(orders.client_id, orders.client_secret),
    });
    assert.equal(minted.status, 200, "the new client's secret works on the new worker");

    // Export of the second worker reproduces the first's document.
    const again = await on(["export"]);
    assert.deepEqual(JSON.parse(again.stdout), document);

    // A second apply changes nothing and says so.
    const second = await on(["apply", exported]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /nothing to change: the worker matches/);

    // --prune deletes what the file lacks; without it, extra records stay.
    const extra = await other.client({ name: "only-here" });
    const kept = await on(["apply", exported]);
    assert.match(kept.stdout, /nothing to change/);
    const pruneDry = await on(["apply", exported, "--prune", "--dry-run"]);
    assert.match(pruneDry.stdout, new RegExp(`^- client only-here \\(${extra.client_id}\\)$`, "m"));
    assert.equal((await other.admin("GET", `/admin/v1/clients/${extra.client_id}`)).status, 200);
    const pruned = await on(["apply", exported, "--prune"]);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.equal((await other.admin("GET", `/admin/v1/clients/${extra.client_id}`)).status, 404);

    // A document that cannot be applied is refused before any change.
    const flipped = structuredClone(document);
    flipped.clients.find((c) => c.name === "orders-app").public = true;
    const refused = await on(["apply", jsonFile("flipped.json", flipped)]);
    assertOneLineError(refused, /`public` cannot change/);
  } finally {
    await other.stop();
  }
});
