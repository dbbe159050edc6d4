// Timing (issue 8): at the token endpoint, an unknown client, a wrong secret and a secret that is
// right in all but its last character must be indistinguishable by response time, so response
// times reveal neither which client ids exist nor how much of a secret is right
// (RFC 6749 §10.10 / RFC 9700 §4.15 on credential guessing).
//
// Method: the three classes are sampled interleaved in a random order (so drift on a shared
// machine spreads evenly over them), sequentially (one request at a time), after a warm-up.
// Each pair of classes is compared with the Mann-Whitney U test, which needs no normality and
// shrugs off outliers, and judged by its effect size A = P(X > Y) + P(X = Y)/2 (the
// probability that a random sample of one class is slower than one of the other; 0.5 = no
// difference). A pair leaks when the difference is both significant (p < 0.001) and large
// enough to matter (|A − 0.5| > 0.07). The test proves it has the power to see a leak: a
// never-seen client id (one extra KV read) against a cached one must be flagged.
//
// The unknown client id is the same in every sample, as an attacker probing one id would send
// it. A never-seen id costs one more KV read than an id the isolate has cached (hit or miss),
// ≈ 0.4 ms locally; that tells whether the isolate saw the id recently, not whether it exists
// (see SECURITY.md, trust boundary 3), so it is not what this test is about.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startWorker, basic } from "./harness.mjs";

const SAMPLES = 300; // per class
const WARMUP = 50;
const ALPHA = 0.001;
const MAX_EFFECT = 0.07;

let w;
let svc;

before(async () => {
  w = await startWorker();
  await w.scope("read");
  svc = await w.client({ scopes: ["read"] });
});
after(async () => w?.stop());

/** Milliseconds for one client-credentials request with these credentials; asserts the status. */
async function timed(id, secret, status) {
  const started = process.hrtime.bigint();
  const res = await w.fetch("/oauth/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(id, secret) },
    body: "grant_type=client_credentials",
  });
  await res.arrayBuffer();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(res.status, status);
  return ms;
}

/** Fisher-Yates. */
function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Samples every class interleaved in a random order; answers { class: [ms, ...] }. */
async function sample(classes, n) {
  const order = shuffle(Object.keys(classes).flatMap((k) => Array(n).fill(k)));
  const out = Object.fromEntries(Object.keys(classes).map((k) => [k, []]));
  for (const k of order) out[k].push(await classes[k]());
  return out;
}

/** Mann-Whitney U with tie correction; answers { a, p } (A effect size, two-sided p). */
export function mannWhitney(x, y) {
  const all = [...x.map((v) => [v, 0]), ...y.map((v) => [v, 1])].sort((p, q) => p[0] - q[0]);
  const ranks = new Array(all.length);
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1][0] === all[i][0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[k] = rank;
    const t = j - i + 1;
    tieTerm += t ** 3 - t;
    i = j + 1;
  }
  const n1 = x.length;
  const n2 = y.length;
  const r1 = all.reduce((s, [, g], i) => (g === 0 ? s + ranks[i] : s), 0);
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const z = (u - (n1 * n2) / 2) / sigma;
  return { a: u / (n1 * n2), p: 2 * (1 - normalCdf(Math.abs(z))) };
}

/** Φ(z) by the Abramowitz-Stegun 7.1.26 erf approximation (error < 1.5e-7). */
function normalCdf(z) {
  const t = 1 / (1 + 0.3275911 * (z / Math.SQRT2));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-((z / Math.SQRT2) ** 2));
  return 0.5 * (1 + erf);
}

const median = (a) => {
  const s = [...a].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)];
};
const leaks = ({ a, p }) => p < ALPHA && Math.abs(a - 0.5) > MAX_EFFECT;

test("unknown client, wrong secret and an almost-right secret are indistinguishable by response time", async (t) => {
  const secret = svc.client_secret;
  const sameLength = (s) => randomBytes(s.length).toString("base64url").slice(0, s.length);
  const lastWrong = secret.slice(0, -1) + (secret.at(-1) === "A" ? "B" : "A");
  const classes = {
    unknown: () => timed("no-such-client", sameLength(secret), 401),
    wrong: () => timed(svc.client_id, sameLength(secret), 401),
    "all but last right": () => timed(svc.client_id, lastWrong, 401),
  };
  await sample(classes, WARMUP / 2);
  const times = await sample(classes, SAMPLES);
  const names = Object.keys(times);
  for (const k of names) t.diagnostic(`${k}: median ${median(times[k]).toFixed(3)} ms over ${times[k].length}`);
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const r = mannWhitney(times[names[i]], times[names[j]]);
      t.diagnostic(`${names[i]} vs ${names[j]}: A = ${r.a.toFixed(3)}, p = ${r.p.toExponential(2)}`);
      assert.ok(!leaks(r), `${names[i]} vs ${names[j]} differ: A = ${r.a.toFixed(3)}, p = ${r.p}`);
    }
  }
});

test("the statistic has the power to see a leak the size of one storage read", async (t) => {
  // A never-seen client id costs one KV read more than an id the isolate has cached: a real
  // difference of the size an existence leak through storage would have.
  const secret = "x".repeat(svc.client_secret.length);
  const times = await sample({
    "never-seen id": () => timed(`c_${randomBytes(12).toString("hex")}`, secret, 401),
    "cached id": () => timed("no-such-client", secret, 401),
  }, SAMPLES);
  const r = mannWhitney(times["never-seen id"], times["cached id"]);
  t.diagnostic(`never-seen ${median(times["never-seen id"]).toFixed(3)} ms vs cached ${median(times["cached id"]).toFixed(3)} ms: A = ${r.a.toFixed(3)}, p = ${r.p.toExponential(2)}`);
  assert.ok(leaks(r), `no difference seen: A = ${r.a}, p = ${r.p}`);
});

test("Mann-Whitney: identical samples are not flagged, shifted ones are", () => {
  const base = Array.from({ length: 300 }, (_, i) => 1 + ((i * 7919) % 300) / 300);
  assert.ok(!leaks(mannWhitney(base, [...base].reverse())));
  assert.ok(leaks(mannWhitney(base, base.map((v) => v + 0.2))));
  const r = mannWhitney([1, 2, 3], [4, 5, 6]);
  assert.equal(r.a, 0);
});
