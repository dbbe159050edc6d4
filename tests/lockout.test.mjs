// Login lockouts (SECURITY.md, "Lockout and logs"): the back-off doubles, a username takes at
// most 100 failed guesses in 30 days, IPv6 callers are counted per /64. The rules that need a
// clock moved by hours or days (the back-off's maximum, a day's memory, the 30-day window, the
// expiry of lock records) are unit-tested on the core's fixed clock (edge/core/src/grants/
// lockout.rs); here each is seen as a caller sees it: statuses and Retry-After values.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startWorker, csrfOf } from "./harness.mjs";

const PASSWORD = "correct horse battery";
const DAY = 86_400;

let w;

before(async () => {
  w = await startWorker();
});
after(async () => w?.stop());

async function user(username) {
  const r = await w.admin("POST", "/admin/v1/users", { username, password: PASSWORD });
  assert.equal(r.status, 201, r.text);
}

/** One sign-in from `ip` (the form, then the post); answers { status, retryAfter }. */
async function signIn(ip, username, password) {
  const from = { "cf-connecting-ip": ip };
  const page = await w.fetch("/login", { headers: from });
  const cookie = page.headers.getSetCookie()[0].split(";")[0];
  const res = await w.fetch("/login", {
    method: "POST",
    headers: { ...from, cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username, password, csrf_token: csrfOf(await page.text()) }).toString(),
  });
  await res.arrayBuffer();
  return { status: res.status, retryAfter: Number(res.headers.get("retry-after")) };
}

test("the back-off doubles: the lockout after the next failure is twice the first", { timeout: 60_000 }, async () => {
  await user("dana");
  const ip = "198.51.100.20";
  for (let i = 0; i < 5; i++) assert.equal((await signIn(ip, "dana", `wrong ${i}`)).status, 401, `attempt ${i}`);
  const first = await signIn(ip, "dana", PASSWORD);
  assert.equal(first.status, 429, "locked, even with the right password");
  assert.ok(first.retryAfter > 0 && first.retryAfter <= 30, `first lockout ${first.retryAfter}`);
  // Wait out exactly the lockout the server announced (whole seconds, rounded down by it).
  await sleep(first.retryAfter * 1000 + 200);
  assert.equal((await signIn(ip, "dana", "wrong again")).status, 401, "admitted once it ends");
  const second = await signIn(ip, "dana", PASSWORD);
  assert.equal(second.status, 429);
  assert.ok(second.retryAfter > 30 && second.retryAfter <= 60, `second lockout ${second.retryAfter}`);
});

test("a username takes at most 100 failed guesses in 30 days: the 101st is refused, right password or not", { timeout: 180_000 }, async () => {
  await user("erin");
  await user("fred");
  // Four wrong guesses and then the right password, each round from an address of its own:
  // the back-off never starts, and a sign-in does not wipe the 30-day tally.
  for (let round = 0; round < 25; round++) {
    const ip = `198.18.${round}.1`;
    for (let i = 0; i < 4; i++) {
      assert.equal((await signIn(ip, "erin", `guess ${round}.${i}`)).status, 401, `guess ${round * 4 + i + 1}`);
    }
    if (round < 24) assert.equal((await signIn(ip, "erin", PASSWORD)).status, 303, `sign-in ${round}`);
  }
  const refused = await signIn("198.18.100.1", "erin", "guess 101");
  assert.equal(refused.status, 429, "the 101st guess");
  assert.ok(refused.retryAfter > 29 * DAY && refused.retryAfter <= 30 * DAY, `Retry-After ${refused.retryAfter}`);
  assert.equal((await signIn("198.18.101.1", "erin", PASSWORD)).status, 429, "the right password too");
  assert.equal((await signIn("198.18.101.1", "fred", PASSWORD)).status, 303, "another username is not affected");
});

test("IPv6 callers are counted per /64: failures spread over one /64 lock all of it", async () => {
  await user("gina");
  // Twenty failures (the free ones of a network), each from another address of one /64.
  for (let i = 1; i <= 20; i++) {
    const r = await signIn(`2001:db8:77:1::${i.toString(16)}`, `nobody${i}`, "wrong");
    assert.equal(r.status, 401, `attempt ${i}`);
  }
  const sameNetwork = await signIn("2001:db8:77:1:ffff:ffff:ffff:ffff", "gina", PASSWORD);
  assert.equal(sameNetwork.status, 429, "a fresh address of the same /64 is locked");
  assert.ok(sameNetwork.retryAfter > 0);
  assert.equal((await signIn("2001:db8:77:2::1", "gina", PASSWORD)).status, 303, "the next /64 signs in");
});
