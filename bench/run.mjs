// The Portcullis benchmark runner: takes the scenarios of bench/scenarios.mjs in order, starts
// what each needs (bench/fixtures.mjs), loads it with wrk on loopback and its script from
// bench/load/ (warm-up, then several fixed-duration runs, median kept), or, for the entries that
// measure otherwise (CPU probe, cold starts, fixed-rate latency with oha), calls their `measure`
// with the results so far; stops everything it started, and writes the report (bench/report.mjs).
//
// Usage: node bench/run.mjs [--runs N] [--duration S] [--connections C] [--quick]
//                           [--only NAME[,NAME…]] [--list] [--out FILE]
//   --quick  one short run per scenario, the full-run-only ones (scale, revocations, native)
//            left out
//   --only   those scenarios alone (a name also selects the `NAME-…` ones: `--only scale`), and
//            the ones whose figures they read (`rate-token` runs `ceiling-token` first)
//   --list   the scenarios' names, nothing run
//   --out    where the report goes. A full run writes BENCHMARKS.md; a --quick or --only run
//            writes target/bench/BENCHMARKS.partial.md, so a partial run never overwrites the
//            committed figures.
import { execFile } from "node:child_process";
import { parseArgs, promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Fixtures } from "./fixtures.mjs";
import { SCENARIOS, median } from "./scenarios.mjs";
import { render } from "./report.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: opts } = parseArgs({
  options: {
    runs: { type: "string" },
    duration: { type: "string" },
    connections: { type: "string", default: "32" },
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    list: { type: "boolean", default: false },
    out: { type: "string" },
  },
});
const quick = opts.quick;
const settings = {
  quick,
  runs: Number(opts.runs ?? (quick ? 1 : 3)),
  duration: Number(opts.duration ?? (quick ? 3 : 8)),
  connections: Number(opts.connections),
  warmup: quick ? 1 : 3,
};

/** The scenarios this run takes, in table order: the chosen ones and those whose figures a
 * chosen one reads (`needs`), which the table lists earlier. */
function selected() {
  const picked = opts.only ? named(opts.only.split(",").map((n) => n.trim())) : SCENARIOS.filter((s) => !(quick && s.full));
  const needed = new Set(picked.flatMap((s) => s.needs ?? []));
  const added = SCENARIOS.filter((s) => needed.has(s.name) && !picked.includes(s));
  for (const s of added) console.log(`also running ${s.name}: ${picked.filter((p) => p.needs?.includes(s.name)).map((p) => p.name).join(", ")} read(s) its figures`);
  return SCENARIOS.filter((s) => picked.includes(s) || added.includes(s));
}

/** The scenarios `--only` names (a name also selects the `NAME-…` ones); exits on an unknown name. */
function named(wanted) {
  const matches = (s, n) => s.name === n || s.name.startsWith(`${n}-`);
  const unknown = wanted.filter((n) => !SCENARIOS.some((s) => matches(s, n)));
  if (unknown.length) {
    console.error(`no scenario named ${unknown.join(", ")}; --list shows them`);
    process.exit(2);
  }
  return SCENARIOS.filter((s) => wanted.some((n) => matches(s, n)));
}

/** Runs wrk once on `url` with `script` (a file of bench/load/) and `env` for it; answers
 * { rps, p50, p99, non2xx } with latencies in ms. Asynchronous: the origin server lives in this
 * process. */
async function wrk({ url, script, env }, seconds, latency = true) {
  const argv = ["-t1", `-c${settings.connections}`, `-d${seconds}s`, "--timeout", "10s", "-s", path.join(root, "bench/load", script), url];
  if (latency) argv.unshift("--latency");
  const { stdout: out } = await promisify(execFile)("wrk", argv, { encoding: "utf8", env: { ...process.env, ...env } });
  const ms = (label) => {
    const m = out.match(new RegExp(`${label}%\\s+([\\d.]+)(us|ms|s)`));
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
  };
  const rps = out.match(/Requests\/sec:\s+([\d.]+)/);
  if (!rps) throw new Error(`wrk ${script}: no figures in its output:\n${out}`);
  const errors = out.match(/Non-2xx or 3xx responses: (\d+)/);
  return { rps: Number(rps[1]), p50: ms("50"), p99: ms("99"), non2xx: errors ? Number(errors[1]) : 0 };
}

/** One wrk scenario: warm-up, then the runs; answers the medians. */
async function measure(scenario, load) {
  await wrk(load, settings.warmup, false);
  const runs = [];
  for (let i = 0; i < settings.runs; i++) runs.push(await wrk(load, settings.duration));
  const result = {
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    runs: runs.map((r) => Math.round(r.rps)),
    non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
    script: load.script,
    ...(load.facts ? { facts: load.facts } : {}),
  };
  console.log(`${scenario.label.padEnd(48)} ${Math.round(result.rps).toString().padStart(7)} req/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms  runs ${result.runs.join(", ")}${result.non2xx ? `  NON-2XX ${result.non2xx}` : ""}`);
  return result;
}

async function main() {
  if (opts.list) {
    for (const s of SCENARIOS) console.log(`${s.name.padEnd(22)} ${s.full ? "(full run) " : ""}${s.label}`);
    return;
  }
  const ran = selected();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "portcullis-bench-"));
  const fx = new Fixtures({ root, tmp, connections: settings.connections });
  const results = {};
  try {
    console.log(`wrk: ${settings.connections} connections, ${settings.warmup} s warm-up, ${settings.runs} × ${settings.duration} s runs (median)\n`);
    for (const s of ran) results[s.name] = s.measure ? await s.measure(fx, settings, results) : await measure(s, await s.load(fx));
  } finally {
    await fx.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const partial = [quick ? "--quick" : "", opts.only ? `--only ${opts.only}` : ""].filter(Boolean).join(" ");
  const out = path.resolve(root, opts.out ?? (partial ? "target/bench/BENCHMARKS.partial.md" : "BENCHMARKS.md"));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, render({ ran, results, settings, root, partial }));
  console.log(`\nwrote ${path.relative(root, out)}`);
}

await main();
