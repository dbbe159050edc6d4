// TUI smoke test in a real terminal: `portcullis` runs inside a detached tmux session (its own
// tmux server socket) against the worker in workerd; keys go in with `send-keys`, the screen
// comes back with `capture-pane`, and every effect is checked through the admin API.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker, ADMIN_TOKEN, basic, Person } from "./harness.mjs";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(root, "target/debug/portcullis");
const SOCKET = `portcullis-tui-test-${process.pid}`;
const SESSION = "tui";

let w;

const tmux = (...args) => run("tmux", ["-L", SOCKET, ...args]);
const keys = (...k) => tmux("send-keys", "-t", SESSION, ...k);
const text = (s) => tmux("send-keys", "-t", SESSION, "-l", s);
const screen = async () => (await tmux("capture-pane", "-p", "-t", SESSION)).stdout;

/** Polls the screen until `pattern` shows up; answers the screen. */
async function waitFor(pattern, ms = 10_000) {
  const deadline = Date.now() + ms;
  let last = "";
  while (Date.now() < deadline) {
    last = await screen().catch(() => last);
    if (pattern.test(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${pattern}; screen:\n${last}`);
}

before(async () => {
  assert.ok(existsSync(BIN), `build the CLI first: cargo build -p portcullis (${BIN})`);
  w = await startWorker();
  await w.scope("read");
  await w.scope("write");
  await tmux(
    "new-session", "-d", "-s", SESSION, "-x", "100", "-y", "30",
    "-e", `PORTCULLIS_URL=${w.url}`,
    "-e", `PORTCULLIS_ADMIN_TOKEN=${ADMIN_TOKEN}`,
    "-e", "TERM=xterm-256color",
    BIN,
  );
  // tmux keeps what an application copies with OSC 52 as a paste buffer (and passes it on to
  // the terminal outside, when there is one): `show-buffer` then reads the clipboard.
  await tmux("set-option", "-g", "set-clipboard", "on");
});

after(async () => {
  await tmux("kill-server").catch(() => {});
  await w?.stop();
});

test("tui: client list, create, secret shown once, token, rotate, audit, every screen, inline errors, quit", async () => {
  // The list's title counts 0 while it is still loading: wait for the loaded, empty list.
  let s = await waitFor(/Clients \(0\)[\s\S]*none yet[\s\S]*● up \d+ ms/);

  // n: the create form; type a name, tick the "read" scope, save with Ctrl-S
  await keys("n");
  await waitFor(/New client/);
  await text("tui-app");
  await keys("Tab", "Tab", "Tab"); // public, grant types, scopes
  await keys("Space");
  await keys("C-s");
  s = await waitFor(/You will not see this secret again/);
  const id = s.match(/Client tui-app \(([^)]+)\)/)?.[1];
  assert.ok(id, s);
  const secret = s.match(/│([A-Za-z0-9_-]{40,})\s/)?.[1];
  assert.ok(secret, `the secret is on screen:\n${s}`);

  // the API holds the client, and the secret from the screen gets a token
  const state = await w.admin("GET", `/admin/v1/clients/${id}`);
  assert.equal(state.status, 200);
  assert.equal(state.body.name, "tui-app");
  assert.deepEqual(state.body.scopes, ["read"]);
  const tok = await w.form("/oauth/token", { grant_type: "client_credentials", scope: "read" }, {
    authorization: basic(id, secret),
  });
  assert.equal(tok.status, 200);

  // c copies (OSC 52: tmux's buffer holds exactly the secret), Esc closes; the secret is gone
  // from the screen and the list shows the client
  await keys("c");
  await waitFor(/✓ copied/);
  let clipboard = "";
  for (const deadline = Date.now() + 5000; Date.now() < deadline && clipboard !== secret; ) {
    clipboard = (await tmux("show-buffer").catch(() => ({ stdout: "" }))).stdout;
    if (clipboard !== secret) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(clipboard, secret, "the clipboard holds the secret");
  await keys("Escape");
  s = await waitFor(/Clients \(1\)[\s\S]*tui-app/);
  assert.ok(!s.includes(secret), "the secret is shown once only");

  // s rotates the secret after a yes: the new one is shown once and works
  await keys("s");
  await waitFor(/Rotate client secret/);
  await keys("y");
  s = await waitFor(/You will not see this secret again/);
  const rotated = s.match(/│([A-Za-z0-9_-]{40,})\s/)?.[1];
  assert.ok(rotated && rotated !== secret, s);
  const tok2 = await w.form("/oauth/token", { grant_type: "client_credentials", scope: "read" }, {
    authorization: basic(id, rotated),
  });
  assert.equal(tok2.status, 200);
  assert.equal((await w.admin("GET", `/admin/v1/clients/${id}`)).body.secrets.length, 2);
  await keys("Escape");
  await waitFor(/^(?![\s\S]*You will not see)/);

  // resize to the smallest supported terminal: still drawn
  await tmux("resize-window", "-t", SESSION, "-x", "80", "-y", "24");
  s = await waitFor(/Clients \(1\)/);
  assert.ok(s.split("\n").every((l) => [...l].length <= 80));

  // the audit screen shows the creation
  await keys("5");
  s = await waitFor(new RegExp(`client\\.secret_rotate\\s+${id.slice(0, 12)}`));
  assert.match(s, new RegExp(`client\\.create\\s+${id.slice(0, 12)}`));

  // 3, o: signs a user out everywhere after a yes; their browser session ends at once
  const password = "a long enough password";
  const ursula = (await w.admin("POST", "/admin/v1/users", { username: "ursula", password })).body;
  const person = new Person(w);
  assert.equal((await person.login("ursula", password)).status, 303);
  await keys("3");
  await waitFor(/Users \(1\)/);
  await keys("o");
  await waitFor(/Sign ursula out everywhere\?/);
  await keys("y");
  await waitFor(new RegExp(`signed user ${ursula.id} out everywhere`));
  assert.equal((await person.get("/account/grants")).status, 303, "back to the sign-in page");

  // every other screen loads from the real API (no "Could not load")
  const screens = [["3", "Users"], ["4", "Signing keys"], ["6", "Routes"], ["7", "Grants"], ["8", "Trusted issuers"]];
  for (const [key, title] of screens) {
    await keys(key);
    s = await waitFor(new RegExp(`${title} \\(\\d+\\)`));
    assert.doesNotMatch(s, /Could not load/, `${title}:\n${s}`);
  }
  assert.match(await screen(), /Trusted issuers \(0\)/);
  await keys("7");
  assert.match(await waitFor(/Grants \(\d+\)/), /Grants \(0\)/);
  await keys("4");
  assert.match(await waitFor(/Signing keys \(\d+\)/), /current/);

  // 8: trust an external issuer through the form; the API holds exactly what was typed
  await keys("8", "n");
  await waitFor(/New trusted issuer/);
  await text("https://idp.example");
  await keys("Tab");
  await text("https://idp.example/jwks.json");
  await keys("Tab");
  await text("https://api.example");
  await keys("Enter"); // adds the audience to the list
  await keys("C-s");
  s = await waitFor(/✓ saved the trusted issuers \(1 issuer\)/);
  assert.match(s, /Trusted issuers \(1\)[\s\S]*https:\/\/idp\.example/);
  assert.deepEqual((await w.admin("GET", "/admin/v1/issuers")).body.issuers, [{
    issuer: "https://idp.example",
    jwks_uri: "https://idp.example/jwks.json",
    audiences: ["https://api.example"],
    algorithms: ["RS256"],
    token_types: ["at+jwt", "JWT"],
  }]);

  // a server error is shown inline, not a crash: a scope name the API refuses
  await keys("2", "n");
  await waitFor(/New scope/);
  await text("bad scope");
  await keys("C-s");
  s = await waitFor(/✗ \d{3} \w+/);
  assert.match(s, /New scope/, "the form stays open with the error");
  await keys("Escape");
  await waitFor(/^(?![\s\S]*New scope)/);

  // ? opens the help, q quits and the session ends with the program
  await keys("?");
  await waitFor(/Keys \(\? or Esc to close\)/);
  await keys("Escape");
  // (Escape and q in one burst would read as Alt-q.)
  await waitFor(/^(?![\s\S]*Keys \(\? or Esc)/);
  await keys("q");
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const alive = await tmux("has-session", "-t", SESSION).then(() => true, () => false);
    if (!alive) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail("portcullis did not quit on q");
});
