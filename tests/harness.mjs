// End-to-end harness: serves the built wasm worker (edge/build) in workerd through Miniflare,
// on a free loopback port, with fresh in-memory KV and Durable Object state per suite.
import { Miniflare } from "miniflare";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export const ADMIN_TOKEN = randomBytes(32).toString("base64url");
export const KEY_ENCRYPTION_KEY = randomBytes(32).toString("base64");

/** Starts the worker; returns { url, mf, stop, admin, ... }. */
/**
 * Starts the worker. `direct: true` serves it on a workerd socket of its own, without
 * Miniflare's entry worker in front (what the benchmarks use: the entry worker alone caps a
 * trivial route at a few thousand requests per second).
 */
export async function startWorker({ bindings = {}, build = "edge/build", direct = false } = {}) {
  const mf = new Miniflare({
    modules: true,
    scriptPath: path.join(root, build, "index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-04-01",
    kvNamespaces: ["PORTCULLIS_KV"],
    durableObjects: {
      AUTHORITY: { className: "AuthorityObject", useSQLite: true },
      GRANTS: { className: "GrantObject", useSQLite: true },
    },
    bindings: {
      ADMIN_TOKEN,
      KEY_ENCRYPTION_KEY,
      ISSUER: "",
      LEEWAY_SECONDS: "60",
      ...bindings,
    },
    host: "127.0.0.1",
    port: 0,
    ...(direct ? { unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] } : {}),
  });
  const entry = (await mf.ready).toString();
  const url = (direct ? (await mf.unsafeGetDirectURL()).toString() : entry).replace(/\/$/, "");
  const worker = new Worker(url, mf);
  return worker;
}

export class Worker {
  constructor(url, mf) {
    this.url = url;
    this.mf = mf;
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
    const res = await this.fetch(p, init);
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, body: json, text };
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
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, body: json, text };
  }
}

/** `Authorization: Basic` for a client, form-urlencoding both parts (RFC 6749 §2.3.1). */
export function basic(id, secret) {
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, "+");
  return "Basic " + Buffer.from(`${enc(id)}:${enc(secret)}`).toString("base64");
}
