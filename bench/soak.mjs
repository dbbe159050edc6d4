// Soak (issue 8, "load without loss"): mixed load against a fresh local worker in workerd, then
// the books are checked. Run with `cargo xtask soak` (builds the wasm first) or
// `node bench/soak.mjs [--seconds 60] [--connections 64]` against an existing edge/build.
//
// Load, per connection, picked at random by weight: client-credentials tokens, /verify, gateway
// requests through a route to a local origin, refresh-token rotation along a chain owned by the
// connection (started by password grants), and admin writes (new clients and users). Every
// request has a deadline and the total is capped, so the run is bounded in time and count.
//
// Set-up (scopes, clients, the route table, a user, the password grants that start the refresh
// chains) must succeed in full: a failed step is a violation and no load runs, so a broken
// feature can never pass as load that was quietly left out.
//
// The books, after the load: no 5xx and no failed connection; every created client and user
// listed by the admin API; every refresh chain has exactly one live token (its newest; every
// earlier one inactive at introspection); the audit log holds a create event for every created
// client and user. Any violation is printed and the exit code is 1.
import http from "node:http";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { startWorker, basic, ADMIN_TOKEN } from "../tests/harness.mjs";

const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    connections: { type: "string", default: "64" },
    "max-requests": { type: "string", default: "500000" },
  },
});
const SECONDS = Number(opts.seconds);
const CONNECTIONS = Number(opts.connections);
const MAX_REQUESTS = Number(opts["max-requests"]);
const REQUEST_DEADLINE_MS = 15_000;
/** Admin writes are capped: each one is a Durable Object write and an audit event. */
const MAX_CLIENTS = 400;
const MAX_USERS = 150;
const PASSWORD = "soak password that is long enough";

const violations = [];
const violation = (msg) => {
  violations.push(msg);
  if (violations.length <= 20) console.error(`VIOLATION: ${msg}`);
};

/** A local origin for the gateway: answers 200 with the path it saw. */
function startOrigin() {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(req.url);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** Per-operation tallies: count, statuses, latencies. */
class Books {
  constructor() {
    this.ops = new Map();
    this.total = 0;
  }
  record(op, status, ms) {
    let o = this.ops.get(op);
    if (!o) this.ops.set(op, (o = { statuses: new Map(), ms: [] }));
    o.statuses.set(status, (o.statuses.get(status) ?? 0) + 1);
    o.ms.push(ms);
    this.total++;
    if (typeof status === "number" && status >= 500) violation(`${op} answered ${status}`);
    if (status === "network") violation(`${op}: connection failed`);
  }
}

async function main() {
  const origin = await startOrigin();
  const w = await startWorker({ direct: true, stdio: (...streams) => streams.forEach((s) => s.resume()), bindings: { ORIGIN_URL: `http://127.0.0.1:${origin.address().port}` } });
  const books = new Books();
  const started = Date.now();
  try {
    const env = await setUp(w).catch((e) => violation(`set-up: ${e.message}; no load was run`));
    if (env) {
      console.log(`soak: ${SECONDS} s at ${CONNECTIONS} connections against ${w.url}: tokens, verify, gateway, refresh (${env.chains.length} chains), admin writes`);
      const loadStart = Date.now();
      const end = loadStart + SECONDS * 1000;
      await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => connection(w, env, books, i, end)));
      const loadSeconds = (Date.now() - loadStart) / 1000;
      await checkBooks(w, env);
      summary(books, env, loadSeconds);
    }
  } finally {
    await w.stop();
    origin.close();
  }
  console.log(`soak: ${violations.length === 0 ? "OK" : `${violations.length} violation(s)`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exitCode = violations.length === 0 ? 0 : 1;
}

/** Answers `r` when its status is `status`; otherwise throws, naming `step`. */
function required(step, r, status) {
  if (r.status !== status) throw new Error(`${step} answered ${r.status} ${r.text?.slice(0, 300) ?? ""}`);
  return r;
}

/**
 * Scopes, a client-credentials client, the route table, a user, a password-grant client and one
 * refresh chain per eight connections (each started by its own password grant).
 */
async function setUp(w) {
  await w.scope("read");
  await w.scope("write");
  const svc = await w.client({ scopes: ["read", "write"] });
  const env = { svc, created: { clients: [], users: [] }, chains: [], tokens: [] };

  required("PUT /admin/v1/routes", await w.admin("PUT", "/admin/v1/routes", {
    routes: [
      { path: "/api/*", scopes: ["read"] },
      { path: "/open/*", public: true },
    ],
  }), 200);

  const user = required("POST /admin/v1/users", await w.admin("POST", "/admin/v1/users", { username: "soak-owner", password: PASSWORD }), 201);
  env.created.users.push(user.body.id);
  const legacy = required("POST /admin/v1/clients (password and refresh_token grants)", await w.admin("POST", "/admin/v1/clients", {
    name: "soak-legacy",
    grant_types: ["password", "refresh_token"],
    scopes: ["read"],
  }), 201);
  env.legacy = legacy.body;
  for (let i = 0; i < Math.ceil(CONNECTIONS / 8); i++) {
    const r = required(`password grant for chain ${i}`, await w.form("/oauth/token", { grant_type: "password", username: "soak-owner", password: PASSWORD }, {
      authorization: basic(legacy.body.client_id, legacy.body.client_secret),
    }), 200);
    if (!r.body?.refresh_token) throw new Error(`password grant for chain ${i} issued no refresh token: ${r.text}`);
    env.chains.push({ history: [r.body.refresh_token], busy: false });
  }
  const t = required("the first client-credentials token", await w.form("/oauth/token", { grant_type: "client_credentials", scope: "read" }, {
    authorization: basic(svc.client_id, svc.client_secret),
  }), 200);
  env.tokens.push(t.body.access_token);
  return env;
}

/** One request with a deadline; answers { status, body } and tallies it. */
async function call(books, op, w, p, init = {}) {
  const t0 = performance.now();
  try {
    const res = await w.fetch(p, { ...init, signal: AbortSignal.timeout(REQUEST_DEADLINE_MS) });
    const text = await res.text();
    books.record(op, res.status, performance.now() - t0);
    let body;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.status, body, text };
  } catch (e) {
    books.record(op, "network", performance.now() - t0);
    return { status: 0, text: String(e) };
  }
}

const form = (params, headers = {}) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(params).toString(),
});

/** The operations and their weights. */
const OPERATIONS = [
  ["token", 30, tokenOp],
  ["verify", 25, verifyOp],
  ["gateway", 25, gatewayOp],
  ["refresh", 15, refreshOp],
  ["admin write", 5, adminWriteOp],
];

async function connection(w, env, books, index, end) {
  const total = OPERATIONS.reduce((s, [, weight]) => s + weight, 0);
  while (Date.now() < end && books.total < MAX_REQUESTS) {
    let pick = Math.random() * total;
    const [, , op] = OPERATIONS.find(([, weight]) => (pick -= weight) < 0) ?? OPERATIONS[0];
    await op(w, env, books, index);
  }
}

async function tokenOp(w, env, books) {
  const r = await call(books, "token", w, "/oauth/token", form({ grant_type: "client_credentials", scope: "read" }, {
    authorization: basic(env.svc.client_id, env.svc.client_secret),
  }));
  if (r.status === 200) {
    env.tokens.push(r.body.access_token);
    if (env.tokens.length > 256) env.tokens.shift();
  } else if (r.status) violation(`token: ${r.status} ${r.text}`);
}

const anyToken = (env) => env.tokens[Math.floor(Math.random() * env.tokens.length)];

async function verifyOp(w, env, books) {
  const r = await call(books, "verify", w, "/verify", { method: "POST", headers: { authorization: `Bearer ${anyToken(env)}` } });
  if (r.status && r.status !== 200) violation(`verify of a live token: ${r.status} ${r.text}`);
}

async function gatewayOp(w, env, books, index) {
  const r = await call(books, "gateway", w, `/api/items/${index}`, { headers: { authorization: `Bearer ${anyToken(env)}` } });
  if (r.status && (r.status !== 200 || r.text !== `/api/items/${index}`)) violation(`gateway: ${r.status} ${r.text.slice(0, 200)}`);
}

async function refreshOp(w, env, books, index) {
  const chain = env.chains[index % env.chains.length];
  if (chain.busy) return verifyOp(w, env, books); // one request per chain at a time
  chain.busy = true;
  try {
    const current = chain.history.at(-1);
    const r = await call(books, "refresh", w, "/oauth/token", form({ grant_type: "refresh_token", refresh_token: current }, {
      authorization: basic(env.legacy.client_id, env.legacy.client_secret),
    }));
    if (r.status === 200 && r.body?.refresh_token) chain.history.push(r.body.refresh_token);
    else if (r.status) violation(`refresh of the live token: ${r.status} ${r.text}`);
  } finally {
    chain.busy = false;
  }
}

async function adminWriteOp(w, env, books) {
  const { clients, users } = env.created;
  const makeUser = users.length < MAX_USERS && (clients.length >= MAX_CLIENTS || Math.random() < 0.3);
  if (makeUser) {
    const username = `soak-${randomBytes(6).toString("hex")}`;
    const r = await call(books, "admin write", w, "/admin/v1/users", adminInit("POST", { username, password: PASSWORD }));
    if (r.status === 201) users.push(r.body.id);
    else if (r.status) violation(`create user: ${r.status} ${r.text}`);
  } else if (clients.length < MAX_CLIENTS) {
    const r = await call(books, "admin write", w, "/admin/v1/clients", adminInit("POST", {
      name: `soak-${randomBytes(6).toString("hex")}`,
      grant_types: ["client_credentials"],
      scopes: ["read"],
    }));
    if (r.status === 201) clients.push(r.body.client_id);
    else if (r.status) violation(`create client: ${r.status} ${r.text}`);
  } else {
    await verifyOp(w, env, books);
  }
}

const adminInit = (method, body) => ({
  method,
  headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
  body: JSON.stringify(body),
});

/** Every event with `action`, newest first, through every page. */
async function auditTargets(w, action) {
  const targets = new Set();
  let cursor;
  for (let page = 0; page < 1000; page++) {
    const q = new URLSearchParams({ action, limit: "200", ...(cursor ? { cursor } : {}) });
    const r = await w.admin("GET", `/admin/v1/audit?${q}`);
    if (r.status !== 200) {
      violation(`audit page: ${r.status} ${r.text}`);
      break;
    }
    for (const e of r.body.events) targets.add(e.target);
    cursor = r.body.next_cursor;
    if (!cursor) break;
  }
  return targets;
}

async function checkBooks(w, env) {
  const { clients, users } = env.created;
  const listed = await w.admin("GET", "/admin/v1/clients");
  const listedIds = new Set((listed.body?.clients ?? []).map((c) => c.client_id));
  for (const id of clients) if (!listedIds.has(id)) violation(`client ${id} was created (201) but is not listed`);
  for (const id of clients.slice(-20)) {
    const r = await w.admin("GET", `/admin/v1/clients/${id}`);
    if (r.status !== 200) violation(`client ${id} was created but reads ${r.status}`);
  }
  const list = await w.admin("GET", "/admin/v1/users");
  const ids = new Set((list.body?.users ?? []).map((u) => u.id));
  for (const id of users) if (!ids.has(id)) violation(`user ${id} was created (201) but is not listed`);

  const clientEvents = await auditTargets(w, "client.create");
  for (const id of [env.svc.client_id, ...clients]) if (!clientEvents.has(id)) violation(`no client.create audit event for ${id}`);
  const userEvents = await auditTargets(w, "user.create");
  for (const id of users) if (!userEvents.has(id)) violation(`no user.create audit event for ${id}`);

  const introspect = (token) =>
    w.form("/oauth/introspect", { token, token_type_hint: "refresh_token" }, { authorization: basic(env.legacy.client_id, env.legacy.client_secret) });
  for (const [i, chain] of env.chains.entries()) {
    const live = await introspect(chain.history.at(-1));
    if (live.body?.active !== true) violation(`chain ${i}: its newest refresh token is not active (${live.status} ${live.text})`);
    // Earlier tokens, newest first, at most ten per chain.
    for (const old of chain.history.slice(0, -1).reverse().slice(0, 10)) {
      const r = await introspect(old);
      if (r.body?.active !== false) violation(`chain ${i}: a rotated refresh token is still active (${r.status} ${r.text})`);
    }
  }
}

function summary(books, env, seconds) {
  const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
  console.log(`\n${"operation".padEnd(12)} ${"count".padStart(8)} ${"rps".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)}  statuses`);
  for (const [op, o] of books.ops) {
    const sorted = o.ms.sort((a, b) => a - b);
    const statuses = [...o.statuses].map(([s, n]) => `${s}×${n}`).join(" ");
    console.log(`${op.padEnd(12)} ${String(sorted.length).padStart(8)} ${(sorted.length / seconds).toFixed(0).padStart(8)} ${pct(sorted, 0.5).toFixed(1).padStart(8)} ${pct(sorted, 0.99).toFixed(1).padStart(8)}  ${statuses}`);
  }
  const rotations = env.chains.reduce((s, c) => s + c.history.length - 1, 0);
  console.log(`\n${books.total} requests in ${seconds.toFixed(1)} s (${(books.total / seconds).toFixed(0)}/s); created ${env.created.clients.length} clients, ${env.created.users.length} users; ${env.chains.length} refresh chains, ${rotations} rotations`);
}

await main();
