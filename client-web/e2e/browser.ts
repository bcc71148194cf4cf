/**
 * End-to-end: the real server, the built client and headless Chromium. Two pages join the same
 * room (A by quick play, B through A's share link); A holds a movement key and B must see A's
 * player move. Every wait polls for a condition under one generous overall deadline; no
 * assertion depends on timing. Screenshots go to test-results/. Traffic stays on 127.0.0.1.
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import type { TestHook } from "../src/main";
import { Server, freePort } from "./Server";

type PageState = NonNullable<ReturnType<TestHook["state"]>>;

/** The whole run must finish within this time, ms. */
const OVERALL_TIMEOUT_MS = 90_000;
/** One condition may take this long, ms. */
const WAIT_MS = 20_000;

const here = dirname(fileURLToPath(import.meta.url));
// The bundle runs from test-results/; find client-web/ from there or from e2e/.
const root = existsSync(join(here, "package.json")) ? here : resolve(here, "..");
const results = join(root, "test-results");
const chromiumPath = process.env["CHROMIUM_PATH"] || "/usr/bin/chromium";
const bin = resolve(root, process.env["TICKROOM_BIN"] ?? "../target/debug/tickroom-server");
const launchArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The server of this run, killed if the run is aborted. */
let running: Server | null = null;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function stateOf(page: Page): Promise<PageState | null> {
  return page.evaluate(() => window.__tickroom?.state() ?? null);
}

/** Polls `page`'s state until `check` returns a value (not undefined), or fails after WAIT_MS. */
async function waitFor<T>(page: Page, what: string, check: (s: PageState) => T | undefined): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let last: PageState | null = null;
  while (Date.now() < deadline) {
    last = await stateOf(page);
    if (last) {
      const v = check(last);
      if (v !== undefined) return v;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}; last state: ${JSON.stringify(last)?.slice(0, 400)}`);
}

async function waitForText(
  page: Page,
  selector: string,
  what: string,
  test: (text: string) => boolean,
): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  let text = "";
  while (Date.now() < deadline) {
    text =
      (await page
        .locator(selector)
        .first()
        .textContent()
        .catch(() => null)) ?? "";
    if (test(text)) return text;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}; ${selector} shows ${JSON.stringify(text)}`);
}

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

async function main(): Promise<number> {
  if (!existsSync(bin)) {
    console.error(
      `e2e: server binary not found at ${bin} (build it with cargo build -p tickroom-server, or set TICKROOM_BIN)`,
    );
    return 1;
  }
  if (!existsSync(join(root, "dist/index.html"))) {
    console.error("e2e: dist/index.html is missing: run npm run build first");
    return 1;
  }
  await mkdir(results, { recursive: true });
  // Screenshots of an earlier run must not be mistaken for this one's.
  for (const f of await readdir(results)) if (/^e2e-.*\.png$/.test(f)) await rm(join(results, f));
  const port = await freePort();
  const serverArgs = ["--static-dir", join(root, "dist")];
  let server = await Server.start(bin, port, serverArgs);
  running = server;
  console.log(`e2e: server pid ${server.pid} on ${server.url}`);
  let browser: Browser | null = null;
  let passed = 0;
  let failed = 0;
  const pages: Page[] = [];
  try {
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: launchArgs });
    const open = async (): Promise<Page> => {
      // A context per player: separate storage, like two browsers.
      const context = await browser!.newContext({ viewport: { width: 1100, height: 700 } });
      // Only the local server: any other request is refused.
      await context.route(/^(?!https?:\/\/127\.0\.0\.1[:/]|wss?:\/\/127\.0\.0\.1[:/]|data:|blob:)/, (route) =>
        route.abort(),
      );
      const page = await context.newPage();
      page.on("pageerror", (e) => console.error(`e2e: page error: ${e.message}`));
      pages.push(page);
      return page;
    };
    const step = async (name: string, body: () => Promise<void>): Promise<void> => {
      try {
        await body();
        passed++;
        console.log(`e2e: ok   ${name}`);
      } catch (e) {
        failed++;
        console.log(`e2e: FAIL ${name}: ${e instanceof Error ? e.message : String(e)}`);
        throw e;
      }
    };

    const a = await open();
    const b = await open();
    let roomId = 0;
    let entityA = 0;

    await step("the lobby loads from the server and lists rooms", async () => {
      await a.goto(`${server.url}/`);
      await a.locator("#quick-play").waitFor();
      await waitForText(a, "#room-list", "the room list", (t) => t.includes("No rooms yet"));
      await a.screenshot({ path: join(results, "e2e-lobby.png") });
    });

    await step("page A joins a room by quick play", async () => {
      await a.fill("#name", "alice");
      await a.click("#quick-play");
      const s = await waitFor(a, "A to be connected with a snapshot", (s) =>
        s.status === "connected" && s.tick !== null && s.entity !== null ? s : undefined,
      );
      assert(s.room !== null && s.entity !== null, "A has a room and an entity");
      roomId = s.room;
      entityA = s.entity;
      const link = await a.locator("#share-link").textContent();
      assert(link === `${server.url}/#room=${roomId}`, `share link is ${link}`);
    });

    await step("page B joins the same room through A's share link", async () => {
      await b.goto(`${server.url}/#room=${roomId}`);
      await b.fill("#name", "bob");
      await b.click("#join-invited");
      await waitFor(b, "B to be connected in A's room and to see A", (s) =>
        s.status === "connected" && s.room === roomId && s.entities.some((e) => e.id === entityA) ? true : undefined,
      );
      await waitForText(a, "#scoreboard", "A's scoreboard to list bob", (t) => t.includes("bob"));
    });

    await step("A holds a movement key and B sees A's player move", async () => {
      const start = await waitFor(b, "A's entity on B", (s) => s.entities.find((e) => e.id === entityA));
      // Walk towards the middle so a wall cannot stop the walk.
      const key = start.x < 500 ? "KeyD" : "KeyA";
      await a.locator("#arena").click({ position: { x: 5, y: 5 } }); // focus the page, not a text field
      await a.keyboard.down(key);
      try {
        const moved = await waitFor(b, "A's player to move on B's page", (s) => {
          const e = s.entities.find((x) => x.id === entityA);
          return e && Math.abs(e.x - start.x) >= 40 ? e : undefined;
        });
        assert(moved.y === start.y, "only x changes while a horizontal key is held");
        const own = await waitFor(a, "A's inputs to be acknowledged", (s) => {
          const e = s.entities.find((x) => x.id === entityA);
          return e && e.ack > 0 ? e : undefined;
        });
        assert(own.ack > 0, "the server acknowledged A's inputs");
        // For information (not a pass/fail criterion, frame timing varies): how smooth was the
        // predicted own player on A's screen? A step against the walking direction is a rubber band.
        const drawn = (await stateOf(a))?.drawn ?? [];
        const sign = key === "KeyD" ? 1 : -1;
        let back = 0;
        for (let i = 1; i < drawn.length; i++) {
          const d = ((drawn[i]?.x ?? 0) - (drawn[i - 1]?.x ?? 0)) * sign;
          back = Math.min(back, d);
        }
        console.log(
          `e2e: info: A drawn over ${drawn.length} frames; largest step backwards ${(-back).toFixed(2)} world units`,
        );
      } finally {
        await a.keyboard.up(key);
      }
    });

    await step("a chat line from B reaches A", async () => {
      await b.fill("#chat-input", "hello from bob");
      await b.press("#chat-input", "Enter");
      await waitForText(a, "#chat-log", "the chat line on A", (t) => t.includes("bob: hello from bob"));
    });

    await step("the HUD shows the connection state, RTT, tick rate and bytes/s", async () => {
      await waitForText(a, "#hud-state", "state", (t) => t.startsWith("connected"));
      await waitForText(a, "#hud-rtt", "RTT", (t) => /\d(\.\d)? ms$/.test(t));
      await waitForText(a, "#hud-tick", "tick rate", (t) => /^\d+\.\d Hz/.test(t));
      await waitForText(a, "#hud-bytes", "bytes/s", (t) => /\d.*\/s$/.test(t) && !t.startsWith("0 "));
    });

    await step("a dropped connection resumes the same seat with the token", async () => {
      const before = await waitFor(a, "A's seat", (s) => (s.status === "connected" ? s : undefined));
      await a.evaluate(() => window.__tickroom.drop());
      await waitForText(a, "#chat-log", "the notice that the seat was resumed", (t) =>
        t.includes("your seat was resumed"),
      );
      const after = await waitFor(a, "A to be connected again", (s) =>
        s.status === "connected" && s.tick !== null ? s : undefined,
      );
      assert(
        after.room === before.room && after.player === before.player && after.entity === before.entity,
        "same room, player and entity",
      );
      // B still sees A's entity, and A still sees B.
      await waitFor(b, "B to still see A", (s) => (s.entities.some((e) => e.id === entityA) ? true : undefined));
      assert(after.entities.filter((e) => e.kind === 1).length === 2, "A sees both players");
    });

    await a.screenshot({ path: join(results, "e2e-page-a.png") });
    await b.screenshot({ path: join(results, "e2e-page-b.png") });

    await step("after a server restart both pages reconnect and play together again", async () => {
      await server.stop();
      await waitFor(a, "A to notice the lost connection", (s) => (s.status === "reconnecting" ? true : undefined));
      await waitForText(a, "#overlay", "the reconnect notice", (t) => t.includes("Reconnecting"));
      await a.screenshot({ path: join(results, "e2e-reconnecting.png") });
      // A new process on the same port knows neither the tokens nor the room: BadToken, then
      // RoomNotFound, then quick match puts both players in one new room.
      server = await Server.start(bin, port, serverArgs);
      running = server;
      console.log(`e2e: server restarted, pid ${server.pid}`);
      const sa = await waitFor(a, "A to be connected again", (s) =>
        s.status === "connected" && s.tick !== null ? s : undefined,
      );
      await waitFor(b, "B to be connected again in A's new room", (s) =>
        s.status === "connected" && s.room === sa.room && s.entities.some((e) => e.id === sa.entity) ? true : undefined,
      );
      await waitForText(a, "#chat-log", "the notice that the seat was not resumed", (t) =>
        t.includes("could not be resumed"),
      );
    });
  } catch (e) {
    if (failed === 0) {
      failed++;
      console.log(`e2e: FAIL setup: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const [i, page] of pages.entries()) {
      await page.screenshot({ path: join(results, `e2e-failure-${i}.png`) }).catch(() => undefined);
    }
    console.log(`e2e: server log:\n${server.output().slice(-3000)}`);
  } finally {
    await browser?.close().catch(() => undefined);
    await server.stop();
  }
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

const abort = (why: string): void => {
  running?.killNow();
  console.log(`e2e: FAIL ${why}`);
  console.log("e2e: 0 passed, 1 failed");
  process.exit(1);
};
process.once("SIGINT", () => abort("interrupted"));
process.once("SIGTERM", () => abort("terminated"));

const overall = setTimeout(() => {
  running?.killNow();
  console.log(`e2e: FAIL the run exceeded ${OVERALL_TIMEOUT_MS} ms`);
  console.log("e2e: 0 passed, 1 failed");
  process.exit(1);
}, OVERALL_TIMEOUT_MS);

main().then(
  (code) => {
    clearTimeout(overall);
    process.exit(code);
  },
  (e: unknown) => {
    clearTimeout(overall);
    console.log(`e2e: FAIL ${e instanceof Error ? e.message : String(e)}`);
    console.log("e2e: 0 passed, 1 failed");
    process.exit(1);
  },
);
