// End-to-end harness: serves the built wasm worker (edge/build) in workerd through Miniflare,
// on a free loopback port, with fresh in-memory KV and Durable Object state per suite.
import { Miniflare } from "miniflare";
import * as jose from "jose";
import http from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export const ADMIN_TOKEN = randomBytes(32).toString("base64url");
export const KEY_ENCRYPTION_KEY = randomBytes(32).toString("base64");

/**
 * Starts the worker. `direct: true` serves it on a workerd socket of its own, without
 * Miniflare's entry worker in front (what the benchmarks use: the entry worker alone caps a
 * trivial route at a few thousand requests per second). `persist` (a directory) keeps KV and
 * Durable Object state on disk, so that `Worker.reconfigure` can restart workerd with other
 * bindings and the same state; `durableObjects` replaces Durable Object bindings (e.g. with a
 * class of an `extraWorkers` script, to make one fail); `extraWorkers` run beside it;
 * `stdio(stdout, stderr)` reads workerd's output (the worker's console).
 */
export async function startWorker(options = {}) {
  const mf = new Miniflare(miniflareOptions(options));
  const worker = new Worker(mf, options);
  await worker.ready();
  return worker;
}

/** The name of the worker under test among `extraWorkers`. */
export const WORKER_NAME = "portcullis";

/** The script of the built worker and the bindings it needs, for `new Miniflare` workers. */
export function workerScript({ bindings = {}, build = "edge/build", limits = {}, durableObjects = {} } = {}) {
  return {
    modules: true,
    scriptPath: path.join(root, build, "index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-04-01",
    kvNamespaces: { PORTCULLIS_KV: "portcullis-kv" },
    durableObjects: {
      AUTHORITY: { className: "AuthorityObject", scriptName: WORKER_NAME, useSQLite: true },
      GRANTS: { className: "GrantObject", scriptName: WORKER_NAME, useSQLite: true },
      ...durableObjects,
    },
    bindings: {
      ADMIN_TOKEN,
      KEY_ENCRYPTION_KEY,
      ISSUER: "",
      LEEWAY_SECONDS: "60",
      ...bindings,
    },
    // Generous by default so suites do not trip them; the rate-limit tests pass their own.
    ratelimits: {
      CLIENT_RATE_LIMITER: { simple: { limit: limits.client ?? 1_000_000, period: 60 } },
      IP_RATE_LIMITER: { simple: { limit: limits.ip ?? 1_000_000, period: 60 } },
    },
  };
}

function miniflareOptions({ direct = false, upstream, persist, port = 0, extraWorkers = [], stdio, ...script }) {
  return {
    host: "127.0.0.1",
    port,
    // `stdio(stdout, stderr)` receives workerd's output streams (the worker's console).
    ...(stdio ? { handleRuntimeStdio: stdio } : {}),
    // The origin the worker sees in request URLs (e.g. https://… to run as if served over TLS).
    ...(upstream ? { upstream } : {}),
    ...(persist ? { kvPersist: path.join(persist, "kv"), durableObjectsPersist: path.join(persist, "do") } : {}),
    workers: [
      {
        name: WORKER_NAME,
        ...workerScript(script),
        ...(direct ? { unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] } : {}),
      },
      ...extraWorkers,
    ],
  };
}

export class Worker {
  constructor(mf, options) {
    this.mf = mf;
    this.options = options;
  }

  /** Waits for workerd and learns the worker's URL. */
  async ready() {
    const entry = (await this.mf.ready).toString();
    const url = this.options.direct ? (await this.mf.unsafeGetDirectURL(WORKER_NAME)).toString() : entry;
    this.url = url.replace(/\/$/, "");
  }

  /**
   * Restarts workerd with `changes` to the options (state survives only with `persist`), on
   * the same port: the issuer, when not configured, is the URL the worker is reached at.
   */
  async reconfigure(changes) {
    this.options = { ...this.options, port: Number(new URL(this.url).port), ...changes };
    await this.mf.setOptions(miniflareOptions(this.options));
    await this.ready();
  }

  /** Runs the worker's Cron Trigger handler once, as the minutely schedule would. */
  async scheduled() {
    const worker = await this.mf.getWorker(WORKER_NAME);
    return worker.scheduled({ cron: "* * * * *", scheduledTime: new Date() });
  }

  async stop() {
    await this.mf.dispose();
  }

  /** A raw fetch against the worker. */
  fetch(p, init = {}) {
    return fetch(this.url + p, { redirect: "manual", ...init });
  }

  /** An admin API call; returns { status, headers, body }. */
  async admin(method, p, body, { token = ADMIN_TOKEN, headers = {} } = {}) {
    const init = { method, headers: { ...headers } };
    if (token !== null) init.headers.authorization = `Bearer ${token}`;
    if (body !== undefined) {
      init.headers["content-type"] ??= "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    return answer(await this.fetch(p, init));
  }

  /** Creates a scope (ignores "already exists"). */
  async scope(name, description = `${name} access`) {
    const r = await this.admin("POST", "/admin/v1/scopes", { name, description });
    if (r.status !== 201 && r.status !== 409) throw new Error(`scope ${name}: ${r.status} ${r.text}`);
  }

  /** Creates a client; returns the 201 body (with client_secret for confidential clients). */
  async client(fields = {}) {
    const body = {
      name: `client-${randomBytes(4).toString("hex")}`,
      grant_types: ["client_credentials"],
      scopes: [],
      redirect_uris: [],
      public: false,
      ...fields,
    };
    const r = await this.admin("POST", "/admin/v1/clients", body);
    if (r.status !== 201) throw new Error(`client: ${r.status} ${r.text}`);
    return r.body;
  }

  /** POSTs a form to `p`; returns { status, headers, body }. */
  async form(p, params, headers = {}) {
    const res = await this.fetch(p, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(params).toString(),
    });
    return answer(res);
  }
}

/** A response as { status, headers, body (parsed JSON, if it is), text }. */
async function answer(res) {
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** A loopback HTTP server; `handler(req, res)` answers. Returns { url, server }. */
export async function serve(handler) {
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, server };
}

/** A signing key pair of `alg` and its public JWK named `kid`. */
export async function keyPair(alg, kid) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: "sig" };
  return { privateKey, jwk, kid, alg };
}

/** `Authorization: Basic` for a client, form-urlencoding both parts (RFC 6749 §2.3.1). */
export function basic(id, secret) {
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, "+");
  return "Basic " + Buffer.from(`${enc(id)}:${enc(secret)}`).toString("base64");
}

/** An authorization request (code flow with PKCE): its path and query, and the verifier. */
export function authorizeRequest({ client_id, redirect_uri, scope, state = "s" }) {
  const { verifier, challenge } = pkce();
  const q = new URLSearchParams({
    response_type: "code",
    client_id,
    redirect_uri,
    scope,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  return { url: `/oauth/authorize?${q}`, verifier };
}

/** A PKCE pair (RFC 7636, S256). */
export function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
}

/** A person with a cookie jar who drives the login and consent pages over plain HTTP. */
export class Person {
  constructor(worker) {
    this.w = worker;
    this.jar = new Map();
  }

  cookieHeader() {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  remember(res) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      this.jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
  }

  async get(p) {
    const res = await this.w.fetch(p, { headers: { cookie: this.cookieHeader() } });
    this.remember(res);
    return { res, status: res.status, html: await res.text(), location: res.headers.get("location") };
  }

  async post(p, params) {
    const res = await this.w.fetch(p, {
      method: "POST",
      headers: { cookie: this.cookieHeader(), "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(params).toString(),
    });
    this.remember(res);
    return { res, status: res.status, html: await res.text(), location: res.headers.get("location") };
  }

  async login(username, password, next) {
    const page = await this.get("/login" + (next ? `?next=${encodeURIComponent(next)}` : ""));
    return this.post("/login", { username, password, csrf_token: csrfOf(page.html), next: next ?? "" });
  }

  /** Follows `/oauth/authorize?...` through login and consent (allow) to the client's redirect. */
  async authorize(url, username, password) {
    let r = await this.get(url);
    if (r.status === 303 && r.location.startsWith("/login")) {
      r = await this.login(username, password, new URL(r.location, this.w.url).searchParams.get("next"));
      if (r.status !== 303) throw new Error(`login failed: ${r.status}`);
      r = await this.get(r.location);
    }
    if (r.status === 200) r = await this.post("/oauth/authorize", { ...hiddenFieldsOf(r.html), decision: "allow" });
    return r;
  }
}

/** The CSRF token of a page. */
export const csrfOf = (html) => html.match(/name="csrf_token" value="([^"]+)"/)?.[1];

/** The hidden fields of a page's form, unescaped. */
export const hiddenFieldsOf = (html) =>
  Object.fromEntries(
    [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
      m[1],
      m[2].replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">"),
    ]),
  );
