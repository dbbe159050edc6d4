// The audit log's bounds (SECURITY.md, "Lockout and logs"): failed admin authentications from
// one network are coalesced into one entry with a count, and entries older than
// AUDIT_RETENTION_DAYS are never served. Sweeping expired entries out of storage, a batch per
// write, is unit-tested on the core's fixed clock (edge/core/src/authority/audit.rs).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startWorker, ADMIN_TOKEN } from "./harness.mjs";

const HOUR = 3600;

let w;

before(async () => {
  w = await startWorker();
});
after(async () => w?.stop());

const hour = () => Math.floor(Date.now() / 1000 / HOUR);

/** The audit events on `target` (newest first). */
async function eventsOn(worker, target) {
  const r = await worker.admin("GET", `/admin/v1/audit?target=${encodeURIComponent(target)}`);
  assert.equal(r.status, 200, r.text);
  return r.body.events;
}

test("failed admin authentications from one network are one audit entry with a count", async () => {
  const guess = (ip, token = "a wrong guess") =>
    w.admin("GET", "/admin/v1/clients", undefined, { token, headers: { "cf-connecting-ip": ip } });
  const firstHour = hour();
  // Five guesses from five addresses of one IPv6 /64, one from elsewhere.
  for (let i = 1; i <= 5; i++) assert.equal((await guess(`2001:db8:5:6::${i}`)).status, 401);
  assert.equal((await guess("203.0.113.80", null)).status, 401, "no token at all counts too");
  const hours = hour() - firstHour + 1;

  const network = await eventsOn(w, "2001:db8:5:6::/64");
  // One entry per clock hour: a single one, unless the guesses straddled the hour.
  assert.ok(network.length >= 1 && network.length <= hours, JSON.stringify(network));
  assert.equal(network.reduce((n, e) => n + e.count, 0), 5);
  for (const e of network) {
    assert.equal(e.action, "admin.auth_failed");
    assert.equal(e.actor, "anonymous");
  }
  assert.deepEqual((await eventsOn(w, "203.0.113.80")).map((e) => e.count), [1]);
  // Nothing presented is kept, and the operator's own calls are not coalesced or counted.
  const all = await w.admin("GET", "/admin/v1/audit?action=admin.auth_failed");
  assert.ok(!all.text.includes("wrong guess") && !all.text.includes(ADMIN_TOKEN));
  const created = await w.admin("POST", "/admin/v1/scopes", { name: "audited", description: "d" });
  assert.equal(created.status, 201);
  const [event] = await eventsOn(w, "audited");
  assert.equal(event.action, "scope.create");
  assert.equal(event.count, undefined);
});

test("entries older than AUDIT_RETENTION_DAYS are never served", { timeout: 30_000 }, async () => {
  const retentionSecs = 8;
  const short = await startWorker({ bindings: { AUDIT_RETENTION_DAYS: String(retentionSecs / 86_400) } });
  try {
    assert.equal((await short.admin("POST", "/admin/v1/scopes", { name: "old", description: "d" })).status, 201);
    const [old] = await eventsOn(short, "old");
    assert.ok(old, "served while it is young");
    // The event id starts with its time in milliseconds: wait until the retention has passed.
    const writtenMs = Number(old.id.split("-")[0]);
    await sleep(Math.max(0, writtenMs + retentionSecs * 1000 + 200 - Date.now()));
    assert.deepEqual(await eventsOn(short, "old"), [], "past the retention, not served");
    assert.equal((await short.admin("POST", "/admin/v1/scopes", { name: "new", description: "d" })).status, 201);
    const page = await short.admin("GET", "/admin/v1/audit");
    assert.deepEqual(page.body.events.map((e) => e.target), ["new"]);
  } finally {
    await short.stop();
  }
});

test("a retention that is not a positive number of days is refused, not ignored", async () => {
  const bad = await startWorker({ bindings: { AUDIT_RETENTION_DAYS: "forever" } });
  try {
    const r = await bad.admin("GET", "/admin/v1/audit");
    assert.equal(r.status, 500, "a misconfigured worker does not run quietly on a default");
    assert.match(r.body.error_description, /misconfigured/);
  } finally {
    await bad.stop();
  }
});
