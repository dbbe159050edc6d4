// What the benchmark scenarios run against, started on first use and stopped at the end:
// Portcullis (the release wasm with the CPU probe, edge/build-probe), the ceiling and floor
// workers, the npm peers, a loopback origin for the gateway, and the data some scenarios seed
// (route tables, users and their grants, many clients, many revocations); and, for the cold
// starts, fresh workerd processes on demand (Portcullis on state seeded once on disk). Each
// fixture is started once per run and shared by every scenario that asks for it, so `--only`
// starts only what the chosen scenarios need.
import { Miniflare } from "miniflare";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import * as jose from "jose";
import fs from "node:fs";
import path from "node:path";
import { startWorker, basic, pkce, Person } from "../tests/harness.mjs";

export const FORM = "application/x-www-form-urlencoded";
export const CLIENT_CREDENTIALS = "grant_type=client_credentials&scope=read";

/** The worker still writes its log line per request; the bench reads and drops them, as a log
 * pipeline would, instead of printing tens of thousands of lines. */
const drain = (...streams) => streams.forEach((s) => s.resume());

export class Fixtures {
  /** `root`: the repository; `tmp`: a scratch folder for this run; `connections`: wrk's. */
  constructor({ root, tmp, connections }) {
    this.root = root;
    this.tmp = tmp;
    this.connections = connections;
    this.cleanups = [];
    this.cache = new Map();
    /** The size of the route table on Portcullis (0: none put yet). */
    this.routeCount = 0;
    /** How many `scale-…` clients are in KV. */
    this.seeded = 0;
  }

  /** `make()`'s answer, computed on the first call for `key` and shared after. */
  once(key, make) {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key);
  }

  /** Stops everything this run started, last started first. */
  async stop() {
    for (const f of this.cleanups.reverse()) {
      try {
        await f();
      } catch {
        /* already stopped */
      }
    }
  }

  /** A file in the run's scratch folder with `lines`, one a line; answers its path. */
  file(name, lines) {
    const file = path.join(this.tmp, name);
    fs.writeFileSync(file, lines.join("\n") + "\n");
    return file;
  }

  /** The one client id, secret and signing keys the ceilings and the peers all use. */
  peerCredentials() {
    return this.once("peer-credentials", () => {
      const clientId = "bench-client";
      const clientSecret = randomBytes(32).toString("base64url");
      const ed = generateKeyPairSync("ed25519");
      const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
      return {
        clientId,
        clientSecret,
        authorization: basic(clientId, clientSecret),
        edJwk: JSON.stringify({ ...ed.privateKey.export({ format: "jwk" }), kid: "k1", alg: "EdDSA", use: "sig" }),
        ecPem: ec.privateKey.export({ format: "pem", type: "pkcs8" }),
      };
    });
  }

  /** Portcullis on a direct workerd socket, with scope `read`, one confidential client, its
   * Basic header and one access token. */
  portcullis() {
    return this.once("portcullis", async () => {
      const w = await startWorker({ build: "edge/build-probe", direct: true, stdio: drain });
      this.cleanups.push(() => w.stop());
      return { w, ...(await seed(w)) };
    });
  }

  /** How to start Portcullis (the release wasm, `edge/build`) in a fresh workerd on state
   * seeded once on disk (signing keys made, scope `read`, one confidential client), for the
   * cold-start samples; answers { start (answers the started worker: `url`, `stop()`),
   * authorization } (the client's Basic header). */
  persistedPortcullis() {
    return this.once("persisted-portcullis", async () => {
      const start = () => startWorker({ build: "edge/build", direct: true, persist: path.join(this.tmp, "persist"), stdio: drain });
      const w = await start();
      try {
        return { start, authorization: (await seed(w)).authorization };
      } finally {
        await w.stop();
      }
    });
  }

  /** A DPoP-bound access token of the bench client (RFC 9449, an ES256 key; the server nonce
   * fetched first) and a file of `count` proofs of its key for GET `url`, each with its own
   * `jti` and the token's `ath`. */
  async dpopProofs(url, count) {
    const { w, authorization } = await this.portcullis();
    const keys = await jose.generateKeyPair("ES256");
    const jwk = await jose.exportJWK(keys.publicKey);
    const proof = (htm, htu, claims = {}) =>
      new jose.SignJWT({ jti: randomBytes(12).toString("base64url"), htm, htu, iat: Math.floor(Date.now() / 1000), ...claims })
        .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk })
        .sign(keys.privateKey);
    const tokenUrl = `${w.url}/oauth/token`;
    const ask = async (claims) =>
      w.form("/oauth/token", { grant_type: "client_credentials", scope: "read" }, { authorization, dpop: await proof("POST", tokenUrl, claims) });
    const first = await ask();
    const r = first.status === 200 ? first : await ask({ nonce: first.headers.get("dpop-nonce") });
    if (r.status !== 200) throw new Error(`the DPoP bench token: ${r.status} ${r.text}`);
    const token = r.body.access_token;
    const ath = createHash("sha256").update(token).digest("base64url");
    // Signed a thousand at a time (WebCrypto works on node's thread pool), so that the first
    // proofs are still fresh when the load starts.
    const lines = [];
    while (lines.length < count) {
      const batch = Math.min(1000, count - lines.length);
      lines.push(...(await Promise.all(Array.from({ length: batch }, () => proof("GET", url, { ath })))));
    }
    return { token, proofs: this.file("dpop-proofs.txt", lines) };
  }

  /** A node:http origin answering a small JSON body. */
  origin() {
    return this.once("origin", () => {
      const server = createServer((req, res) => {
        req.resume();
        req.on("end", () => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end('{"ok":true}');
        });
      });
      this.cleanups.push(() => server.close());
      return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${server.address().port}`)));
    });
  }

  /** Puts a route table of `n` routes on Portcullis: `/api/*` to the origin, then `n - 1`
   * others that never match the load's path. */
  async routes(n) {
    const { w } = await this.portcullis();
    if (this.routeCount === n) return;
    const origin = await this.origin();
    const route = (p) => ({ path: p, origin, scopes: ["read"], scope_mode: "all", public: false });
    const table = { routes: [route("/api/*"), ...Array.from({ length: n - 1 }, (_, i) => route(`/svc${i}/v1/*`))] };
    const headers = this.routeCount === 0 ? {} : { "if-match": "*" };
    // wrk leaves the server's keep-alive sockets half-closed: retry once on a fresh one.
    const put = () => w.admin("PUT", "/admin/v1/routes", table, { headers });
    const r = await put().catch(put);
    if (r.status !== 200) throw new Error(`route table of ${n}: ${r.status} ${r.text}`);
    this.routeCount = n;
  }

  /** A worker of `bench/` (`file` relative to it) served the way Portcullis is, once for the
   * run; answers its URL. */
  ceiling(file, bindings = {}) {
    return this.once(`ceiling:${file}`, async () => {
      const w = await this.serve(file, bindings);
      this.cleanups.push(() => w.stop());
      return w.url;
    });
  }

  /** A fresh workerd serving the worker of `bench/` `file` with `bindings` on a direct socket;
   * answers { url, stop() } once it listens. */
  async serve(file, bindings = {}) {
    const mf = new Miniflare({
      modules: true,
      scriptPath: path.join(this.root, "bench", file),
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
      compatibilityDate: "2026-04-01",
      bindings,
      host: "127.0.0.1",
      port: 0,
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    });
    const stop = () => mf.dispose();
    try {
      await mf.ready;
      return { url: (await mf.unsafeGetDirectURL()).toString().replace(/\/$/, ""), stop };
    } catch (e) {
      await stop();
      throw e;
    }
  }

  /** A peer of `bench/peers/` on a free port, given `args` after the port; answers its URL. */
  peer(file, args) {
    return this.once(`peer:${file}`, async () => {
      const port = await freePort();
      const child = spawn(process.execPath, [path.join(this.root, "bench/peers", file), String(port), ...args], {
        stdio: ["ignore", "ignore", "inherit"],
        cwd: path.join(this.root, "bench"),
      });
      this.cleanups.push(() => child.kill());
      await waitFor(`http://127.0.0.1:${port}/oauth/token`);
      return `http://127.0.0.1:${port}`;
    });
  }

  /** People signed in to Portcullis and what the code-flow and refresh scenarios spend: a pool
   * of refresh tokens (several times the connection count, since each wrk run loses the tokens
   * in flight when it stops; a grant keeps at most 32 refresh-token families, so the pool
   * spreads over several people) and one person with consent to the code-flow app remembered. */
  userGrants() {
    return this.once("user-grants", async () => {
      const { w } = await this.portcullis();
      const cb = "https://app.bench.test/cb";
      const spa = (name) => w.client({ name, public: true, grant_types: ["authorization_code", "refresh_token"], scopes: ["read"], redirect_uris: [cb] });
      const { verifier, challenge } = pkce();
      const authorizePath = (client) => `/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: client.client_id, redirect_uri: cb, scope: "read", state: "s", code_challenge: challenge, code_challenge_method: "S256" })}`;
      const redeem = (code, client) => w.form("/oauth/token", { grant_type: "authorization_code", code, redirect_uri: cb, code_verifier: verifier, client_id: client.client_id });
      const refresher = await spa("bench-refresher");
      const refreshTokens = [];
      let person;
      for (let u = 0; refreshTokens.length < this.connections * 6; u++) {
        const username = `bench-user-${u}`;
        const user = await w.admin("POST", "/admin/v1/users", { username, password: "bench password 1" });
        if (user.status !== 201) throw new Error(`user ${username}: ${user.status} ${user.text}`);
        person = new Person(w);
        for (let i = 0; i < 24; i++) {
          const r = await person.authorize(authorizePath(refresher), username, "bench password 1");
          if (r.status !== 302) throw new Error(`authorizing ${username}: ${r.status}`);
          const t = await redeem(new URL(r.location).searchParams.get("code"), refresher);
          if (t.status !== 200) throw new Error(`redeeming a code: ${t.status} ${t.text}`);
          refreshTokens.push(t.body.refresh_token);
        }
      }
      const app = await spa("bench-spa");
      const first = await person.authorize(authorizePath(app));
      if (first.status !== 302) throw new Error(`the code-flow consent: ${first.status}`);
      return {
        code: {
          BENCH_COOKIE: person.cookieHeader(),
          BENCH_AUTHORIZE_PATH: authorizePath(app),
          BENCH_EXCHANGE_BODY: `grant_type=authorization_code&client_id=${app.client_id}&redirect_uri=${encodeURIComponent(cb)}&code_verifier=${verifier}&code=`,
        },
        refresh: { BENCH_POOL: this.file("refresh-pool", refreshTokens), BENCH_CLIENT_ID: refresher.client_id },
      };
    });
  }

  /** Clients `scale-0` .. `scale-<n-1>` (copies of the bench client, same secret), seeded
   * straight into KV; grows the set already seeded. */
  async scaleClients(n) {
    const { w, client } = await this.portcullis();
    const kv = await w.mf.getKVNamespace("PORTCULLIS_KV");
    const record = JSON.parse(await kv.get(`client:${client.client_id}`));
    for (; this.seeded < n; this.seeded = Math.min(n, this.seeded + 500)) {
      const batch = [];
      for (let i = this.seeded; i < Math.min(n, this.seeded + 500); i++) {
        const id = `scale-${i}`;
        batch.push(kv.put(`client:${id}`, JSON.stringify({ ...record, client_id: id, name: id })));
      }
      await Promise.all(batch);
    }
    return { prefix: "scale-", secret: client.client_secret };
  }

  /** A file of `count` access tokens of clients picked at random among `scale-0` .. `scale-<n-1>`. */
  async scaleTokens(n, count = 200) {
    const { w, client } = await this.portcullis();
    await this.scaleClients(n);
    const tokens = [];
    for (let i = 0; i < count; i++) {
      const id = `scale-${Math.floor(Math.random() * n)}`;
      const r = await w.form("/oauth/token", { grant_type: "client_credentials", client_id: id, client_secret: client.client_secret });
      if (r.status !== 200) throw new Error(`a token of ${id}: ${r.status} ${r.text}`);
      tokens.push(r.body.access_token);
    }
    return this.file(`verify-${n}-clients`, tokens);
  }

  /** A file of `count` access tokens of the bench client. */
  liveTokens(count = 200) {
    return this.once("live-tokens", async () => {
      const { w, authorization } = await this.portcullis();
      const tokens = [];
      for (let i = 0; i < count; i++) {
        const r = await w.form("/oauth/token", { grant_type: "client_credentials", scope: "read" }, { authorization });
        if (r.status !== 200) throw new Error(`a live token: ${r.status} ${r.text}`);
        tokens.push(r.body.access_token);
      }
      return this.file("live-tokens", tokens);
    });
  }

  /** Seeds `count` revoked token ids into the deny-list as the authority publishes it (sealed
   * pages of `page` ids and a head naming them), waits out the head's freshness, and times the
   * first verification after, which reads the head and every page. */
  revocations(count, page) {
    return this.once(`revocations:${count}`, async () => {
      const { w } = await this.portcullis();
      const tokens = await this.liveTokens();
      const kv = await w.mf.getKVNamespace("PORTCULLIS_KV");
      const until = Math.floor(Date.now() / 1000) + 3600;
      for (let n = 0; n < count / page; n++) {
        const entries = {};
        for (let i = 0; i < page; i++) entries[randomBytes(16).toString("base64url")] = until;
        await kv.put(`denylist:page:${n}`, JSON.stringify({ expires: until, entries }));
      }
      const head = JSON.parse((await kv.get("config:denylist")) ?? "{}");
      await kv.put("config:denylist", JSON.stringify({ ...head, first_page: 0, next_page: count / page, first_expires: until }));
      // Past the head's 5 s freshness: the next verification reads the new head and every page.
      await new Promise((resolve) => setTimeout(resolve, 5500));
      const first = fs.readFileSync(tokens, "utf8").split("\n")[0];
      const t0 = performance.now();
      const r = await w.fetch("/verify", { method: "POST", headers: { authorization: `Bearer ${first}` } });
      await r.arrayBuffer();
      return { tokens, firstVerifyMs: performance.now() - t0, firstVerifyStatus: r.status };
    });
  }
}

/** Seeds a Portcullis just started: scope `read` and one confidential client; answers { client,
 * authorization (its Basic header), token (one access token of it) }. The token request makes
 * the signing keys if there are none yet. */
async function seed(w) {
  await w.scope("read");
  const client = await w.client({ name: "bench", scopes: ["read"] });
  const authorization = basic(client.client_id, client.client_secret);
  const r = await w.form("/oauth/token", { grant_type: "client_credentials", scope: "read" }, { authorization });
  if (r.status !== 200) throw new Error(`the bench token: ${r.status} ${r.text}`);
  return { client, authorization, token: r.body.access_token };
}

async function waitFor(url) {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(url, { method: "POST" });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not come up`);
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
