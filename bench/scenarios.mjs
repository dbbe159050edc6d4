// The benchmark scenarios, one entry each, in the order bench/run.mjs runs them; and the figures
// BENCHMARKS.md derives from them. To add a scenario, add an entry here (and a load script in
// bench/load/ if none of them fits); run.mjs and the report pick it up.
//
// An entry:
//   name      what `--only` selects (`--only scale` selects every `scale-…` entry too)
//   label     its row in the report
//   what      one line for the report: what one request of the load does
//   section   "results" (the main table), "scale" or "revocations" (their own tables), or
//             "cpu" / "native" (not wrk: `measure` answers the figures)
//   full      only in a full run (left out by --quick unless --only names it)
//   load      async (fixtures) => { url, script (a file of bench/load/), env (what it reads) }
//             and, for figures measured while setting up, `facts`
//   measure   async (fixtures, settings) => figures, for the entries that are not wrk loads
//   vs        the entries it is compared with, each a name or { name, target } (a target is
//             the ratio we aim for; the report states whether this run meets it)
//   scale     { clients, op } for the scale table; revoked: the revocations table's count
import { execFileSync } from "node:child_process";
import { CLIENT_CREDENTIALS, FORM } from "./fixtures.mjs";

/** The deny-list the revocation scenario seeds: this many revoked ids in pages of this size. */
const REVOKED = 100_000;
const PAGE = 1000;

/** DPoP proofs made for the gateway-dpop load, each used once: all are made before it starts
 * and stay valid for 120 s (the 60 s iat window plus the leeway), so the load must not need
 * more than this (a reused proof is refused and shows as non-2xx in the report). */
const DPOP_PROOFS = 40_000;

/** One fixed request (bench/load/request.lua). */
const request = (url, { method = "POST", body = "", authorization, contentType } = {}) => ({
  url,
  script: "request.lua",
  env: {
    BENCH_METHOD: method,
    BENCH_BODY: body,
    ...(authorization ? { BENCH_AUTHORIZATION: authorization } : {}),
    ...(contentType ? { BENCH_CONTENT_TYPE: contentType } : {}),
  },
});

/** A client-credentials token request, authenticated with HTTP Basic. */
const tokenRequest = (url, authorization) => request(url, { body: CLIENT_CREDENTIALS, authorization, contentType: FORM });

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
    vs: [{ name: "ceiling-token", target: 0.9 }, { name: "peer-oidc", target: 2 }, "peer-express", "peer-node-oauth", "floor-rust"],
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
    load: async (fx) => {
      const p = fx.peerCredentials();
      const url = await fx.ceiling("ceiling/token.js", { SIGNING_JWK: p.edJwk, CLIENT_ID: p.clientId, CLIENT_SECRET: p.clientSecret });
      return tokenRequest(url, p.authorization);
    },
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
    load: async (fx) => tokenRequest(await fx.ceiling("ceiling/empty.js"), fx.peerCredentials().authorization),
  },
  {
    name: "floor-rust",
    label: "Floor: empty workers-rs worker (wasm)",
    what: "the same in Rust with workers-rs (bench/floor, built and optimised like Portcullis)",
    section: "results",
    vs: ["floor-js"],
    load: async (fx) => tokenRequest(await fx.ceiling("floor/build/index.js"), fx.peerCredentials().authorization),
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
];

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

/** The release wasm's size goal, bytes. */
export const WASM_TARGET_BYTES = 1_000_000;
