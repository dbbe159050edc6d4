// BENCHMARKS.md from one run's results: every figure and every sentence in it is computed from
// the run or states how the run was made (machine, versions, settings, what each scenario
// loads). Nothing in it is written by hand; notes on what the figures mean live in
// bench/README.md.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { OHA } from "./oha.mjs";
import { COLD_WORKERS, CPU_OPERATIONS, DERIVED, SCENARIOS, TARGETS, median } from "./scenarios.mjs";

const ratioOf = (a, b) => (a && b ? a.rps / b.rps : undefined);
const times = (x) => (x === undefined ? "n/a" : `${x.toFixed(2)}×`);
const met = (ok) => (ok ? "yes" : "no");
const label = (name) => SCENARIOS.find((s) => s.name === name)?.label ?? name;
const comparisons = (s) => (s.vs ?? []).map((v) => (typeof v === "string" ? { name: v } : v));
/** `s`'s result over its first comparison's (1 for an entry compared with nothing: the base). */
const vsFirst = (s, r) => (comparisons(s).length ? ratioOf(r[s.name], r[comparisons(s)[0].name]) : 1);

function version(cmd, argv) {
  try {
    return execFileSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).split("\n")[0].trim();
  } catch (e) {
    return (e.stdout || e.stderr || "?").toString().split("\n")[0].trim();
  }
}

function machine(root, wasm) {
  const pkg = (p) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(root, p), "utf8")).version;
    } catch {
      return "not installed";
    }
  };
  const cpu = (fs.readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/) ?? [])[1] ?? os.arch();
  return [
    "## Machine and versions",
    "",
    `- CPU: ${cpu}, ${os.cpus().length} cores; memory ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; ${os.type()} ${os.release()}`,
    `- node ${process.version}; workerd ${version(path.join(root, "node_modules/.bin/workerd"), ["--version"])}; miniflare ${pkg("node_modules/miniflare/package.json")}; ${version("rustc", ["--version"])}; ${version("wrk", ["--version"]).replace(/ Copyright.*/, "")}; ${version(OHA, ["--version"])}`,
    `- peers: oidc-provider ${pkg("bench/node_modules/oidc-provider/package.json")}, express ${pkg("bench/node_modules/express/package.json")} + jsonwebtoken ${pkg("bench/node_modules/jsonwebtoken/package.json")}, @node-oauth/express-oauth-server ${pkg("bench/node_modules/@node-oauth/express-oauth-server/package.json")}`,
    `- release wasm (\`edge/build\`): ${wasm.length} bytes (${zlib.gzipSync(wasm).length} gzipped)`,
    "",
  ];
}

function settings(s, ran) {
  return [
    "## Settings",
    "",
    `- load: wrk, 1 thread, ${s.connections} connections, ${s.warmup} s warm-up, then ${s.runs} run(s) of ${s.duration} s; a row shows the median run (req/s) and its p50/p99 latency.`,
    ...(ran.some((x) => x.section === "rate") ? [`- fixed-rate load: oha, ${s.connections} connections, at half the req/s that wrk measured at saturation earlier in this run for the scenario in the row's "half of" column, ${s.warmup} s warm-up, then one run of ${s.duration * s.runs} s; latency corrected for coordinated omission (\`--latency-correction\`: counted from when the request was due).`] : []),
    "- Portcullis (`edge/build-probe`: the release wasm with the bench-only CPU probe), the ceiling and the floor workers are each served by workerd started by Miniflare, on a direct workerd socket (`unsafeDirectSockets`), on loopback, with in-memory KV and Durable Objects.",
    "- The peers run as single node processes (no cluster); every peer and ceiling authenticates the client with HTTP Basic. The gateway's origin is a node:http server answering a small JSON body.",
    "- wrk, the servers and the peers share this machine's cores.",
    "",
  ];
}

function scenarioTable(ran, r) {
  return [
    "## Scenarios",
    "",
    "| scenario | one request | load script |",
    "| --- | --- | --- |",
    ...ran.filter((s) => r[s.name]?.script).map((s) => `| ${s.label} | ${s.what} | \`bench/load/${r[s.name].script}\` |`),
    "",
  ];
}

function resultsTable(ran, r) {
  const row = (s) => {
    const x = r[s.name];
    return `| ${s.label} | ${Math.round(x.rps)} | ${x.p50.toFixed(2)} | ${x.p99.toFixed(2)} | ${x.runs.join(", ")} | ${x.non2xx} |`;
  };
  const rows = ran.filter((s) => s.section === "results").map(row);
  if (!rows.length) return [];
  return ["## Results", "", "| target | req/s | p50 ms | p99 ms | runs (req/s) | non-2xx/3xx (all runs) |", "| --- | ---: | ---: | ---: | --- | ---: |", ...rows, ""];
}

function ratios(ran, r, wasmBytes) {
  const rows = [];
  const targets = [];
  // The scale and revocation entries' ratios are columns of their own tables.
  for (const s of ran.filter((x) => x.section === "results")) {
    for (const v of comparisons(s)) {
      const x = ratioOf(r[s.name], r[v.name]);
      if (x === undefined) {
        if (v.target !== undefined) targets.push(`| ${s.label} vs ${label(v.name)} | ≥ ${times(v.target)} | not measured in this run | |`);
        continue;
      }
      rows.push(`| ${s.label} | ${label(v.name)} | ${times(x)} |`);
      if (v.target !== undefined) targets.push(`| ${s.label} vs ${label(v.name)} | ≥ ${times(v.target)} | ${times(x)} | ${met(x >= v.target)} |`);
    }
  }
  if (r.cpu) targets.push(`| verify an uncached token, CPU inside workerd (probe) | ≤ ${TARGETS.verifyUs} µs | ${r.cpu.us.verify.toFixed(1)} µs | ${met(r.cpu.us.verify <= TARGETS.verifyUs)} |`);
  const cold = coldVsJs(r);
  if (cold !== undefined) targets.push(`| cold start, Portcullis vs the empty JavaScript worker (medians) | ≤ ${times(TARGETS.coldStart)} | ${times(cold)} | ${met(cold <= TARGETS.coldStart)} |`);
  // A tail ratio means nothing when the load fell behind its rate: every request then queues.
  for (const x of rateRows(ran, r).filter((x) => x.portcullis)) {
    const tail = x.p99 / x.p50;
    const behind = keptUp(x) ? "" : ` (fell behind: ${Math.round(x.rps)} of ${x.rate} req/s)`;
    targets.push(`| ${x.label}, p99 / p50 at half \`${x.of}\`'s saturation | ≤ ${times(TARGETS.tail)} | ${times(tail)}${behind} | ${met(!behind && tail <= TARGETS.tail)} |`);
  }
  targets.push(`| release wasm size | ≤ ${TARGETS.wasmBytes.toLocaleString("en")} bytes | ${wasmBytes.toLocaleString("en")} bytes | ${met(wasmBytes <= TARGETS.wasmBytes)} |`);
  return [
    ...(rows.length ? ["## Ratios (same run)", "", "| figure | compared with | ratio of req/s |", "| --- | --- | ---: |", ...rows, ""] : []),
    "## Targets",
    "",
    "| figure | target | this run | met |",
    "| --- | ---: | ---: | --- |",
    ...targets,
    "",
  ];
}

function cpuTables(r) {
  const out = [];
  if (r.cpu) {
    out.push(
      "## CPU per operation",
      "",
      `Inside workerd (the probe runs the operation ${r.cpu.runsPerRequest} times in one request; the time of that request minus an empty one, over ${r.cpu.runsPerRequest}, median of 5):`,
      "",
      "| operation | µs |",
      "| --- | ---: |",
      ...Object.entries(r.cpu.us).map(([op, us]) => `| ${CPU_OPERATIONS[op]} | ${us.toFixed(2)} |`),
      "",
    );
  }
  if (Object.keys(r.native ?? {}).length) {
    out.push("Natively (criterion, `cargo bench -p portcullis-core`):", "", "| operation | time |", "| --- | ---: |", ...Object.entries(r.native).map(([k, v]) => `| ${k} | ${v} |`), "");
  }
  const derived = DERIVED.filter((d) => d.needs.every((n) => r[n]));
  if (derived.length) {
    out.push(
      "## Cost per request",
      "",
      "Machine time per request at saturation is 1 / req/s (wrk included); the probe's figures are CPU inside workerd.",
      "",
      "| figure | µs |",
      "| --- | ---: |",
      ...derived.map((d) => `| ${d.label} | ${d.us(r).toFixed(0)} |`),
      "",
    );
  }
  return out;
}

/** Portcullis's median cold start over the empty JavaScript worker's, when measured. */
const coldVsJs = (r) => {
  const w = r["cold-start"]?.workers;
  return w ? median(w.token.total) / median(w["floor-js"].total) : undefined;
};

function coldTable(r) {
  const c = r["cold-start"];
  if (!c) return [];
  const ms = (xs) => median(xs).toFixed(1);
  const js = median(c.workers["floor-js"].total);
  const bytes = (name) => c.wasmBytes[name].toLocaleString("en");
  return [
    "## Cold start",
    "",
    `Each sample starts a new workerd (through Miniflare, on a direct socket) for each worker in turn and times, from just before \`new Miniflare(…)\`: **ready**, until workerd listens on the worker's socket (process start, loading the worker); **first answer**, then one client-credentials token request (HTTP Basic) until its body is read, the worker's first request; **total**, the two. **Second request**: the same request again on the same isolate, warm. ${c.samples} samples per worker, interleaved; medians, with the total's range. Portcullis runs the release wasm (\`edge/build\`, ${bytes("token")} bytes) on state seeded before the samples and kept on disk (signing keys, scope and client), so no sample makes keys; its workerd also runs Miniflare's KV and Durable Object services, which the other workers have no use for. The empty workers-rs worker's wasm is ${bytes("floor-rust")} bytes.`,
    "",
    "| worker | total ms | range ms | ready ms | first answer ms | second request ms | total vs empty JavaScript worker |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...COLD_WORKERS.map((name) => {
      const x = c.workers[name];
      return `| ${label(name)} | ${ms(x.total)} | ${Math.min(...x.total).toFixed(1)}–${Math.max(...x.total).toFixed(1)} | ${ms(x.ready)} | ${ms(x.first)} | ${ms(x.second)} | ${times(median(x.total) / js)} |`;
    }),
    "",
  ];
}

/** Whether a fixed-rate row's server kept up: answered at least 95% of the rate asked. */
const keptUp = (x) => x.rps >= 0.95 * x.rate;

/** The fixed-rate rows of the `rate` entries that ran, each with its scenario's label. */
const rateRows = (ran, r) => ran.filter((s) => s.section === "rate" && r[s.name]).flatMap((s) => r[s.name].map((x) => ({ ...x, label: label(x.name) })));

function rateTable(ran, r) {
  const rows = rateRows(ran, r);
  if (!rows.length) return [];
  return [
    "## Latency at a fixed rate",
    "",
    "Each row runs at half the saturation req/s of the scenario in its \"half of\" column, measured by wrk earlier in this run: a Portcullis scenario that has a ceiling at half the ceiling's, with the ceiling beside it at the same rate; one that has none at half its own. A row that answered less than 95% of its rate fell behind: its requests queued, and its latencies are mostly the queue's.",
    "",
    "| target | rate req/s | half of | achieved req/s | p50 ms | p99 ms | p99.9 ms | p99 / p50 | requests | non-2xx/3xx or failed |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((x) => `| ${x.label} | ${x.rate} | \`${x.of}\` | ${Math.round(x.rps)}${keptUp(x) ? "" : " (fell behind)"} | ${x.p50.toFixed(2)} | ${x.p99.toFixed(2)} | ${x.p999.toFixed(2)} | ${times(x.p99 / x.p50)} | ${x.count} | ${x.non2xx} |`),
    "",
  ];
}

function scaleTable(ran, r) {
  const entries = ran.filter((s) => s.scale && r[s.name]);
  const counts = [...new Set(entries.map((s) => s.scale.clients))];
  if (!counts.length) return [];
  const cell = (clients, op) => {
    const s = entries.find((e) => e.scale.clients === clients && e.scale.op === op);
    const x = s && r[s.name];
    return x ? [Math.round(x.rps), x.p50.toFixed(2), x.p99.toFixed(2), times(vsFirst(s, r)), x.non2xx] : ["", "", "", "", ""];
  };
  // The entries compared with nothing are the ones the others are compared with.
  const base = SCENARIOS.find((s) => s.scale && !comparisons(s).length).scale.clients.toLocaleString("en");
  return [
    "## Scale",
    "",
    `| clients | token req/s | p50 ms | p99 ms | vs ${base} clients | non-2xx | verify req/s | p50 ms | p99 ms | vs ${base} clients | non-2xx |`,
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...counts.map((n) => `| ${n.toLocaleString("en")} | ${[...cell(n, "token"), ...cell(n, "verify")].join(" | ")} |`),
    "",
  ];
}

function revocationTable(ran, r) {
  const rows = ran.filter((s) => s.section === "revocations" && r[s.name]);
  if (!rows.length) return [];
  const first = rows.map((s) => r[s.name].facts).find((f) => f?.firstVerifyMs !== undefined);
  return [
    "## Revocations",
    "",
    "| revoked tokens | verify req/s | p50 ms | p99 ms | vs none revoked | non-2xx |",
    "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((s) => {
      const x = r[s.name];
      return `| ${s.revoked.toLocaleString("en")} | ${Math.round(x.rps)} | ${x.p50.toFixed(2)} | ${x.p99.toFixed(2)} | ${times(vsFirst(s, r))} | ${x.non2xx} |`;
    }),
    "",
    ...(first ? [`The first verification after the revocations were seeded took ${first.firstVerifyMs.toFixed(0)} ms (answer ${first.firstVerifyStatus}).`, ""] : []),
  ];
}

/** The report of one run: `ran` the scenarios that ran (in order), `results` by name,
 * `settings` the load settings, `root` the repository. */
export function render({ ran, results, settings: s, root, partial }) {
  const wasm = fs.readFileSync(path.join(root, "edge/build/index_bg.wasm"));
  return [
    "# Benchmarks",
    "",
    `Written by \`cargo xtask bench${partial ? ` ${partial}` : ""}\` on ${new Date().toISOString()}. Every figure below comes from this one run on one machine; compare ratios, not absolute numbers, across machines. What the figures mean: [bench/README.md](bench/README.md).`,
    "",
    ...machine(root, wasm),
    ...settings(s, ran),
    ...scenarioTable(ran, results),
    ...resultsTable(ran, results),
    ...ratios(ran, results, wasm.length),
    ...rateTable(ran, results),
    ...coldTable(results),
    ...cpuTables(results),
    ...scaleTable(ran, results),
    ...revocationTable(ran, results),
  ].join("\n");
}
