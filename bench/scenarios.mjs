// The benchmark scenarios, one entry each, in the order bench/run.mjs runs them; and the figures
// BENCHMARKS.md derives from them. To add a scenario, add an entry here (and a load script in
// bench/load/ if none of them fits); run.mjs and the report pick it up.
//
// An entry:
//   name      what `--only` selects (`--only scale` selects every `scale-…` entry too)
//   label     its row in the report
//   what      one line for the report: what one request of the load does
//   section   "results" (the main table), "scale" or "revocations" (their own tables), or
//             "cpu" / "native" / "cold" / "rate" (not wrk: `measure` answers the figures)
//   full      only in a full run (left out by --quick unless --only names it)
//   load      async (fixtures) => { url, script (a file of bench/load/), env (what it reads) }
//             and, for figures measured while setting up, `facts`
//   measure   async (fixtures, settings, results) => figures, for the entries that are not wrk
//             loads; `results` holds the figures of the entries run before it
//   needs     the entries whose figures `measure` reads: earlier in the table, and run first
//             even when `--only` does not name them
//   vs        the entries it is compared with, each a name or { name, target } (a target is
//             the ratio we aim for; the report states whether this run meets it)
//   scale     { clients, op } for the scale table; revoked: the revocations table's count
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { CLIENT_CREDENTIALS, FORM } from "./fixtures.mjs";
import { fixedRate } from "./oha.mjs";

/** The deny-list the revocation scenario seeds: this many revoked ids in pages of this size. */
const REVOKED = 100_000;
const PAGE = 1000;

/** DPoP proofs made for the gateway-dpop load, each used once: all are made before it starts
 * and stay valid for 120 s (the 60 s iat window plus the leeway), so the load must not need
 * more than this (a reused proof is refused and shows as non-2xx in the report). */
const DPOP_PROOFS = 40_000;

/** One fixed request: for wrk (bench/load/request.lua and its environment) and, as `fixed`,
 * for the fixed-rate load (bench/oha.mjs). */
const request = (url, { method = "POST", body = "", authorization, contentType } = {}) => ({
  url,
  script: "request.lua",
  env: {
    BENCH_METHOD: method,
    BENCH_BODY: body,
    ...(authorization ? { BENCH_AUTHORIZATION: authorization } : {}),
    ...(contentType ? { BENCH_CONTENT_TYPE: contentType } : {}),
  },
  fixed: { method, body, authorization, contentType },
});

/** A client-credentials token request, authenticated with HTTP Basic. */
const tokenRequest = (url, authorization) => request(url, { body: CLIENT_CREDENTIALS, authorization, contentType: FORM });

/** The ceiling and floor workers that the load scenarios serve once and the cold start once per
 * sample, by their scenario's name: their file in bench/ and their bindings. */
const WORKERS = {
  "ceiling-token": (fx) => {
    const p = fx.peerCredentials();
    return ["ceiling/token.js", { SIGNING_JWK: p.edJwk, CLIENT_ID: p.clientId, CLIENT_SECRET: p.clientSecret }];
  },
  "floor-js": () => ["ceiling/empty.js"],
  "floor-rust": () => ["floor/build/index.js"],
};

/** The URL of the worker `name` of WORKERS, served for the run. */
const served = (fx, name) => fx.ceiling(...WORKERS[name](fx));

/** Latency at a fixed rate: the Portcullis scenarios `names`, then `ceiling` when given, each
 * loaded by oha at half the saturation req/s this run measured for `ceiling` (without one, for
 * the scenario itself). */
const atHalf = (name, names, ceiling) => ({
  name: `rate-${name}`,
  label: `Latency at half ${ceiling ? `${ceiling}'s` : "its own"} saturation: ${names.join(", ")}`,
  section: "rate",
  needs: ceiling ? [ceiling] : names,
  measure: (fx, settings, results) =>
    fixedRates(fx, settings, results, [
      ...names.map((n) => ({ name: n, of: ceiling ?? n, portcullis: true })),
      ...(ceiling ? [{ name: ceiling, of: ceiling, portcullis: false }] : []),
    ]),
});

/** The scale scenarios: token issuance and verification with `clients` registered clients. */
const scale = (clients) => {
  const n = clients.toLocaleString("en");
  return [
    {
      name: `scale-token-${clients}`,
      label: `Portcullis: token, ${n} clients`,
      what: `client-credentials token (client_secret_post) for a client picked at random among ${n} seeded into KV`,
      section: "scale",
      full: true,
      scale: { clients, op: "token" },
      vs: clients === 10 ? [] : ["scale-token-10"],
      load: async (fx) => {
        const { w } = await fx.portcullis();
        const { prefix, secret } = await fx.scaleClients(clients);
        return { url: `${w.url}/oauth/token`, script: "random-client-token.lua", env: { BENCH_CLIENTS: String(clients), BENCH_CLIENT_PREFIX: prefix, BENCH_SECRET: secret } };
      },
    },
    {
      name: `scale-verify-${clients}`,
      label: `Portcullis: verify, ${n} clients`,
      what: `/verify of one of 200 tokens of clients picked at random among ${n}`,
      section: "scale",
      full: true,
      scale: { clients, op: "verify" },
      vs: clients === 10 ? [] : ["scale-verify-10"],
      load: async (fx) => {
        const { w } = await fx.portcullis();
        return { url: `${w.url}/verify`, script: "verify-pool.lua", env: { BENCH_TOKENS: await fx.scaleTokens(clients) } };
      },
    },
  ];
};

/** Every scenario, in the order a run takes them. */
export const SCENARIOS = [
  {
    name: "token",
    label: "Portcullis: client-credentials token",
    what: "client-credentials token, client authenticated with HTTP Basic",
    section: "results",
    vs: [{ name: "ceiling-token", target: 0.75 }, { name: "peer-oidc", target: 2 }, "peer-express", "peer-node-oauth", "floor-rust"],
    load: async (fx) => {
      const { w, authorization } = await fx.portcullis();
      return tokenRequest(`${w.url}/oauth/token`, authorization);
    },
  },
  {
    name: "verify",
    label: "Portcullis: /verify",
    what: "POST /verify with one bearer token",
    section: "results",
    load: async (fx) => {
      const { w, token } = await fx.portcullis();
      return request(`${w.url}/verify`, { authorization: `Bearer ${token}` });
    },
  },
  {
    name: "introspect",
    label: "Portcullis: introspection",
    what: "RFC 7662 introspection of one access token by an authenticated client",
    section: "results",
    load: async (fx) => {
      const { w, token, authorization } = await fx.portcullis();
      return request(`${w.url}/oauth/introspect`, { body: `token=${token}`, authorization, contentType: FORM });
    },
  },
  {
    name: "gateway",
    label: "Portcullis: gateway pass-through",
    what: "GET through a one-route table to a node:http origin, token verified on the way",
    section: "results",
    vs: [{ name: "ceiling-proxy", target: 0.85 }],
    load: async (fx) => {
      const { w, token } = await fx.portcullis();
      await fx.routes(1);
      return request(`${w.url}/api/items`, { method: "GET", authorization: `Bearer ${token}` });
    },
  },
  {
    name: "gateway-dpop",
    label: "Portcullis: gateway, DPoP-bound token",
    what: "the gateway request with a DPoP-bound token and a fresh ES256 proof each (its jti recorded in a grant shard)",
    section: "results",
    vs: ["gateway"],
    load: async (fx) => {
      const { w } = await fx.portcullis();
      await fx.routes(1);
      const url = `${w.url}/api/items`;
      const { token, proofs } = await fx.dpopProofs(url, DPOP_PROOFS);
      return { url, script: "dpop-pool.lua", env: { BENCH_TOKEN: token, BENCH_PROOFS: proofs } };
    },
  },
  {
    name: "gateway-1000-routes",
    label: "Portcullis: gateway, 1,000 routes",
    what: "the gateway request with 1,000 routes in the table",
    section: "results",
    vs: ["gateway"],
    load: async (fx) => {
      const { w, token } = await fx.portcullis();
      await fx.routes(1000);
      return request(`${w.url}/api/items`, { method: "GET", authorization: `Bearer ${token}` });
    },
  },
  {
    name: "refresh",
    label: "Portcullis: refresh-token rotation",
    what: "refresh_token grant; each answer's new refresh token feeds a later request",
    section: "results",
    load: async (fx) => {
      const { w } = await fx.portcullis();
      return { url: `${w.url}/oauth/token`, script: "refresh-rotation.lua", env: (await fx.userGrants()).refresh };
    },
  },
  {
    name: "code",
    label: "Portcullis: code flow (authorize + exchange)",
    what: "half authorizations (signed in, consent remembered: 302 with a code), half exchanges of those codes",
    section: "results",
    load: async (fx) => {
      const { w } = await fx.portcullis();
      return { url: `${w.url}/oauth/token`, script: "code-flow.lua", env: (await fx.userGrants()).code };
    },
  },
  {
    name: "cpu",
    label: "CPU per operation inside workerd",
    section: "cpu",
    measure: async (fx, { quick }) => {
      await fx.routes(1);
      return cpu(await fx.portcullis(), quick ? 200 : 2000);
    },
  },
  ...scale(10),
  ...scale(10_000),
  ...scale(100_000),
  {
    name: "revoked-0",
    label: "Portcullis: verify, no revoked tokens",
    what: "/verify of one of 200 live tokens of one client",
    section: "revocations",
    full: true,
    revoked: 0,
    load: async (fx) => {
      const { w } = await fx.portcullis();
      return { url: `${w.url}/verify`, script: "verify-pool.lua", env: { BENCH_TOKENS: await fx.liveTokens() } };
    },
  },
  {
    name: `revoked-${REVOKED}`,
    label: `Portcullis: verify, ${REVOKED.toLocaleString("en")} revoked tokens`,
    what: `the same, with ${REVOKED.toLocaleString("en")} revoked ids on the deny-list (${REVOKED / PAGE} sealed pages of ${PAGE.toLocaleString("en")}, seeded into KV)`,
    section: "revocations",
    full: true,
    revoked: REVOKED,
    vs: ["revoked-0"],
    load: async (fx) => {
      const { w } = await fx.portcullis();
      const { tokens, firstVerifyMs, firstVerifyStatus } = await fx.revocations(REVOKED, PAGE);
      return { url: `${w.url}/verify`, script: "verify-pool.lua", env: { BENCH_TOKENS: tokens }, facts: { firstVerifyMs, firstVerifyStatus } };
    },
  },
  {
    name: "ceiling-token",
    label: "Ceiling: minimal signing worker (WebCrypto)",
    what: "checks one Basic secret and signs an EdDSA JWT with WebCrypto (bench/ceiling/token.js)",
    section: "results",
    load: async (fx) => tokenRequest(await served(fx, "ceiling-token"), fx.peerCredentials().authorization),
  },
  {
    name: "ceiling-proxy",
    label: "Ceiling: minimal pass-through worker",
    what: "forwards to the origin with no checks (bench/ceiling/proxy.js)",
    section: "results",
    load: async (fx) => {
      const url = await fx.ceiling("ceiling/proxy.js", { ORIGIN_URL: await fx.origin() });
      // The same header as the gateway scenario's, though nothing checks it here.
      const { token } = await fx.portcullis();
      return request(`${url}/api/items`, { method: "GET", authorization: `Bearer ${token}` });
    },
  },
  {
    name: "floor-js",
    label: "Floor: empty JavaScript worker",
    what: "reads the Authorization header and the body, answers a small JSON body (bench/ceiling/empty.js)",
    section: "results",
    load: async (fx) => tokenRequest(await served(fx, "floor-js"), fx.peerCredentials().authorization),
  },
  {
    name: "floor-rust",
    label: "Floor: empty workers-rs worker (wasm)",
    what: "the same in Rust with workers-rs (bench/floor, built and optimised like Portcullis)",
    section: "results",
    vs: ["floor-js"],
    load: async (fx) => tokenRequest(await served(fx, "floor-rust"), fx.peerCredentials().authorization),
  },
  {
    name: "peer-oidc",
    label: "Peer: oidc-provider (EdDSA JWT)",
    what: "client-credentials token from oidc-provider, EdDSA JWT (bench/peers/oidc.mjs)",
    section: "results",
    load: async (fx) => {
      const p = fx.peerCredentials();
      return tokenRequest(`${await fx.peer("oidc.mjs", [p.clientId, p.clientSecret, p.edJwk])}/token`, p.authorization);
    },
  },
  {
    name: "peer-express",
    label: "Peer: express + jsonwebtoken (ES256)",
    what: "client-credentials token from express + jsonwebtoken, ES256 (no EdDSA in jsonwebtoken; bench/peers/express-jwt.mjs)",
    section: "results",
    load: async (fx) => {
      const p = fx.peerCredentials();
      return tokenRequest(`${await fx.peer("express-jwt.mjs", [p.clientId, p.clientSecret, p.ecPem])}/oauth/token`, p.authorization);
    },
  },
  {
    name: "peer-node-oauth",
    label: "Peer: @node-oauth/express-oauth-server (EdDSA)",
    what: "client-credentials token from @node-oauth/express-oauth-server, EdDSA JWT (bench/peers/node-oauth.mjs)",
    section: "results",
    load: async (fx) => {
      const p = fx.peerCredentials();
      return tokenRequest(`${await fx.peer("node-oauth.mjs", [p.clientId, p.clientSecret, p.edJwk])}/oauth/token`, p.authorization);
    },
  },
  {
    name: "native",
    label: "Native criterion benches (`cargo bench -p portcullis-core`)",
    section: "native",
    full: true,
    measure: async (fx) => criterion(fx.root),
  },
  {
    name: "cold-start",
    label: "Cold start: a new workerd to the first token answer",
    section: "cold",
    measure: async (fx, { quick }) => coldStarts(fx, quick ? 5 : 10),
  },
  atHalf("token", ["token"], "ceiling-token"),
  atHalf("gateway", ["gateway", "gateway-1000-routes"], "ceiling-proxy"),
  atHalf("verify", ["verify"]),
  atHalf("introspect", ["introspect"]),
];

/** The workers the cold start compares, by their scenario's name, in the report's order. */
export const COLD_WORKERS = ["token", "ceiling-token", "floor-rust", "floor-js"];

/** Cold starts: each sample starts a fresh workerd for each worker of COLD_WORKERS in turn
 * (interleaved, so a change in the machine's load spreads over all of them) and times, in ms,
 * `ready` (from just before Miniflare is made until workerd listens on the worker's socket),
 * `first` (then the first token request, until its body is read: the isolate's wasm
 * instantiation and first run), `total` (the two), `second` (then a second token request on
 * the same isolate, warm). Portcullis runs the release wasm on state seeded once (keys made, the
 * client in KV), so a sample does not make keys. Answers those figures per worker, the number
 * of samples and the wasm sizes. */
async function coldStarts(fx, samples) {
  const portcullis = await fx.persistedPortcullis();
  const worker = (name) =>
    name === "token"
      ? { ...portcullis, url: (w) => `${w.url}/oauth/token` }
      : { start: () => fx.serve(...WORKERS[name](fx)), authorization: fx.peerCredentials().authorization, url: (w) => w.url };
  const workers = COLD_WORKERS.map((name) => ({ name, ...worker(name) }));
  const out = Object.fromEntries(COLD_WORKERS.map((n) => [n, { ready: [], first: [], total: [], second: [] }]));
  for (let i = 0; i < samples; i++) {
    for (const { name, start, authorization, url } of workers) {
      const t0 = performance.now();
      const w = await start();
      try {
        const t1 = performance.now();
        await tokenAnswer(url(w), authorization);
        const t2 = performance.now();
        await tokenAnswer(url(w), authorization);
        const t3 = performance.now();
        const x = out[name];
        x.ready.push(t1 - t0);
        x.first.push(t2 - t1);
        x.total.push(t2 - t0);
        x.second.push(t3 - t2);
      } finally {
        await w.stop();
      }
    }
  }
  for (const [name, x] of Object.entries(out)) {
    console.log(`cold start: ${name.padEnd(14)} ${median(x.total).toFixed(1)} ms (ready ${median(x.ready).toFixed(1)}, first answer ${median(x.first).toFixed(1)}; second request ${median(x.second).toFixed(1)})`);
  }
  const size = (file) => fs.statSync(path.join(fx.root, file)).size;
  return { samples, workers: out, wasmBytes: { token: size("edge/build/index_bg.wasm"), "floor-rust": size("bench/floor/build/index_bg.wasm") } };
}

/** Sends the client-credentials token request to `url` and reads the answer; throws unless 200. */
async function tokenAnswer(url, authorization) {
  const res = await fetch(url, { method: "POST", headers: { authorization, "content-type": FORM }, body: CLIENT_CREDENTIALS });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`cold start ${url}: ${res.status} ${text}`);
}

/** Fixed-rate latency: each of `rows` ({ name, of, portcullis }) loaded by oha at half the
 * saturation req/s of the result `of` (warm-up, then one run as long as the saturation runs
 * together); answers the rows with `rate` and oha's figures. */
async function fixedRates(fx, { warmup, duration, runs, connections }, results, rows) {
  const out = [];
  for (const row of rows) {
    const s = SCENARIOS.find((x) => x.name === row.name);
    const rate = Math.max(1, Math.round(results[row.of].rps / 2));
    const { url, fixed } = await s.load(fx);
    await fixedRate(url, fixed, { rate, seconds: warmup, connections });
    const x = await fixedRate(url, fixed, { rate, seconds: duration * runs, connections });
    console.log(`${s.label.padEnd(48)} at ${String(rate).padStart(5)} req/s: p50 ${x.p50.toFixed(2)} ms  p99 ${x.p99.toFixed(2)} ms  p99.9 ${x.p999.toFixed(2)} ms${x.non2xx ? `  NON-2XX ${x.non2xx}` : ""}`);
    out.push({ ...row, rate, ...x });
  }
  return out;
}

/** The probe's operations and what each one is, in the report's order. */
export const CPU_OPERATIONS = {
  lookup: "client lookup (isolate cache hit)",
  secret: "client secret check (HMAC-SHA256, constant time)",
  form: "token form parse",
  sign: "sign access token (EdDSA)",
  verify: "verify signature (EdDSA, uncached)",
  token: "whole token request in the core (no HTTP)",
  gateway: "gateway decision in the core (cached token, one route; no HTTP)",
};

/** CPU per operation inside workerd: the probe runs a hot path n times per request; the time
 * of n = N minus the time of n = 0, over N, is the cost of one run (median of 5). */
async function cpu({ w, client }, N) {
  const time = async (op, n) => {
    const q = new URLSearchParams({ op, n: String(n), client_id: client.client_id, secret: client.client_secret });
    const t0 = process.hrtime.bigint();
    const res = await w.fetch(`/__probe?${q}`);
    await res.arrayBuffer();
    if (res.status !== 204) throw new Error(`probe ${op}: ${res.status}`);
    return Number(process.hrtime.bigint() - t0) / 1e3;
  };
  const out = {};
  for (const op of Object.keys(CPU_OPERATIONS)) {
    const samples = [];
    for (let i = 0; i < 5; i++) samples.push(((await time(op, N)) - (await time(op, 0))) / N);
    out[op] = median(samples);
    console.log(`CPU inside workerd: ${op.padEnd(8)} ${out[op].toFixed(2)} µs`);
  }
  return { runsPerRequest: N, us: out };
}

/** Native criterion figures of the same paths (`cargo bench -p portcullis-core`). */
function criterion(root) {
  const out = execFileSync("cargo", ["bench", "-p", "portcullis-core", "--bench", "hot_paths", "--", "--warm-up-time", "1", "--measurement-time", "3"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const figures = {};
  let name = null;
  for (const line of out.split("\n")) {
    const named = line.match(/^(\S.*?)\s+time:\s+\[\S+ \S+ (\S+) (\S+)/);
    const bare = line.match(/^\s+time:\s+\[\S+ \S+ (\S+) (\S+)/);
    if (named) figures[named[1].trim()] = `${named[2]} ${named[3]}`;
    else if (bare && name) figures[name] = `${bare[1]} ${bare[2]}`;
    else if (/^\S/.test(line) && !line.includes(":")) name = line.trim();
  }
  return figures;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Machine time per request at saturation (wrk included), µs. */
const perRequest = (x) => 1e6 / x.rps;

/** Figures derived from several results of the same run (each row only when all it needs was
 * measured): `needs` names results, `us` computes the figure in µs. */
export const DERIVED = [
  { label: "token request, Portcullis (1 / req/s)", needs: ["token"], us: (r) => perRequest(r.token) },
  { label: "token request, ceiling signing worker", needs: ["ceiling-token"], us: (r) => perRequest(r["ceiling-token"]) },
  { label: "request to the empty workers-rs worker", needs: ["floor-rust"], us: (r) => perRequest(r["floor-rust"]) },
  { label: "request to the empty JavaScript worker", needs: ["floor-js"], us: (r) => perRequest(r["floor-js"]) },
  { label: "empty workers-rs minus empty JavaScript worker", needs: ["floor-rust", "floor-js"], us: (r) => perRequest(r["floor-rust"]) - perRequest(r["floor-js"]) },
  { label: "whole token request in the core inside workerd (probe)", needs: ["cpu"], us: (r) => r.cpu.us.token },
  { label: "of which signing the access token (probe)", needs: ["cpu"], us: (r) => r.cpu.us.sign },
  { label: "Portcullis token request minus the empty workers-rs worker and the core", needs: ["token", "floor-rust", "cpu"], us: (r) => perRequest(r.token) - perRequest(r["floor-rust"]) - r.cpu.us.token },
  { label: "a token request at twice oidc-provider's rate", needs: ["peer-oidc"], us: (r) => 1e6 / (2 * r["peer-oidc"].rps) },
  { label: "empty workers-rs worker plus the core's token request", needs: ["floor-rust", "cpu"], us: (r) => perRequest(r["floor-rust"]) + r.cpu.us.token },
];

/** The targets that are not a ratio of req/s (those are `vs` entries): the release wasm's size,
 * bytes; the CPU of verifying an uncached token inside workerd (the probe's `verify`), µs; the
 * cold start over the empty JavaScript worker's (medians); p99 over p50 at half the ceiling's
 * saturation. */
export const TARGETS = { wasmBytes: 1_000_000, verifyUs: 80, coldStart: 1.5, tail: 3 };
