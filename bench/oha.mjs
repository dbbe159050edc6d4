// The fixed-rate load: oha (installed by `cargo xtask bench`, its path in BENCH_OHA) sends one
// fixed request at a set rate, with latency corrected for coordinated omission (a request's
// latency counts from when the schedule meant to send it, not from when a free connection sent
// it), so a stall shows in the tail instead of slowing the load down.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

export const OHA = process.env.BENCH_OHA || "oha";

/** Runs oha once: `request` ({ method, body, authorization, contentType }) to `url` at `rate`
 * requests per second for `seconds` over `connections`; answers { rps (achieved), p50, p99,
 * p999, count, non2xx } with latencies in ms (non2xx counts failed requests too). Asynchronous:
 * the origin server lives in this process. */
export async function fixedRate(url, { method, body, authorization, contentType }, { rate, seconds, connections }) {
  const argv = ["--no-tui", "--output-format", "json", "--latency-correction", "-w", "-q", String(rate), "-z", `${seconds}s`, "-c", String(connections), "-m", method];
  if (authorization) argv.push("-H", `authorization: ${authorization}`);
  if (contentType) argv.push("-T", contentType);
  if (body) argv.push("-d", body);
  const { stdout } = await promisify(execFile)(OHA, [...argv, url], { encoding: "utf8", maxBuffer: 1 << 24 });
  const out = JSON.parse(stdout);
  const ms = (p) => out.latencyPercentiles[p] * 1000;
  const statuses = Object.entries(out.statusCodeDistribution);
  const count = statuses.reduce((a, [, n]) => a + n, 0);
  const failed = Object.values(out.errorDistribution).reduce((a, n) => a + n, 0);
  const non2xx = statuses.filter(([code]) => !/^[23]/.test(code)).reduce((a, [, n]) => a + n, 0) + failed;
  return { rps: out.summary.requestsPerSec, p50: ms("p50"), p99: ms("p99"), p999: ms("p99.9"), count, non2xx };
}
