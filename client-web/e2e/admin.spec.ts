/**
 * The admin page (`/admin`): with rooms of two games running (players are WebSockets from the
 * test runner), the page shows the server's totals, live charts of tick lateness, players and
 * bandwidth, and every room; on a room's page the operator sees its players (with RTT), kicks
 * one (its connection closes with 4007) and closes the room (1000, "closed by the operator").
 * A server that trusts no loopback asks for the admin token. Each test runs a server of its own,
 * so the figures are this test's alone. `TICKROOM_ADMIN_SCREENSHOT=path.png` keeps a screenshot
 * of the overview with its charts.
 */
import { expect, test, type Browser, type Page } from "@playwright/test";
import { freePort, Server } from "./Server";
import { WsPlayer } from "./wsPlayer";

function serverArgs(extra: string[] = []): string[] {
  // Pings every half second: the room page shows RTTs soon.
  return ["--static-dir", process.env["TICKROOM_DIST"] ?? "dist", "--heartbeat-interval", "0.5", ...extra];
}

/** A page of its own that only reaches the local server. */
async function openAdmin(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.route(/^(?!https?:\/\/127\.0\.0\.1[:/]|data:|blob:)/, (route) => route.abort());
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`e2e: admin page error: ${e.message}`));
  await page.goto(`${url}/admin`);
  return page;
}

/** The charts' points and newest values, from the page's read-only view. */
function charts(page: Page): Promise<Record<string, { count: number; last: (number | null)[] }>> {
  return page.evaluate(() => {
    const debug = window.__tickroomAdmin;
    if (!debug) throw new Error("the admin page did not start");
    return debug.charts() as Record<string, { count: number; last: (number | null)[] }>;
  });
}

test("the admin page shows rooms and live charts, kicks a player and closes a room", async ({ browser }) => {
  const server = await Server.start(process.env["TICKROOM_BIN_PATH"] ?? "", await freePort(), serverArgs());
  const players: WsPlayer[] = [];
  try {
    const ann = await WsPlayer.join(server.url, "ann", { game: "arena", create: true });
    const bob = await WsPlayer.join(server.url, "bob", { room: ann.room });
    const cid = await WsPlayer.join(server.url, "cid", { game: "cards", create: true });
    const dee = await WsPlayer.join(server.url, "dee", { room: cid.room });
    players.push(ann, bob, cid, dee);
    const arena = ann.room;
    const cards = cid.room;

    const page = await openAdmin(browser, server.url);
    await expect(page.getByTestId("stream-status")).toHaveText("live");
    await expect(page.getByTestId(`room-row-${arena}`)).toContainText("arena");
    await expect(page.getByTestId(`room-players-${arena}`)).toHaveText(/^2 \/ \d+$/);
    await expect(page.getByTestId(`room-row-${cards}`)).toContainText("cards");
    await expect(page.getByTestId("total-players")).toHaveText("4");
    await expect(page.getByTestId("total-rooms")).toHaveText("2");
    await expect(page.getByTestId("total-rss")).toHaveText(/\d.* (KiB|MiB|GiB)$/);
    await expect(page.getByTestId("total-cpu")).toHaveText(/%$/);
    for (const chart of ["chart-lateness", "chart-players", "chart-bandwidth"]) {
      await expect(page.locator(`[data-testid=${chart}] canvas`)).toHaveCount(1);
    }
    // The charts fill second by second: players reach 4, bytes go out, ticks are measured
    // (columns: players = [sessions, players], bandwidth = [in, out], lateness = [max, p99]).
    await expect
      .poll(async () => {
        const c = await charts(page);
        const players = c["players"];
        const bandwidth = c["bandwidth"];
        const lateness = c["lateness"];
        return (
          (players?.count ?? 0) >= 3 &&
          players?.last[1] === 4 &&
          (bandwidth?.last[1] ?? 0) > 0 &&
          lateness?.last[1] !== null &&
          (lateness?.count ?? 0) >= 3
        );
      })
      .toBe(true);
    const screenshot = process.env["TICKROOM_ADMIN_SCREENSHOT"];
    if (screenshot) {
      // A few more seconds of samples make the charts worth looking at.
      await page.waitForTimeout(8000);
      await page.screenshot({ path: screenshot, fullPage: true });
    }

    // The arena room's page: its two players, with RTTs from the server's pings.
    await page.getByTestId(`room-link-${arena}`).click();
    await expect(page.getByTestId("room-view")).toBeVisible();
    await expect(page.getByTestId("room-title")).toHaveText(`Room #${arena} · arena`);
    await expect(page.getByTestId(`player-row-${ann.player}`)).toContainText("ann");
    await expect(page.getByTestId(`player-row-${bob.player}`)).toContainText("bob");
    await expect(page.getByTestId(`player-rtt-${bob.player}`)).toHaveText(/\d ms$/);
    // Watch live opens the game page watching this room, in a new tab; the room counts it.
    await expect(page.getByTestId("watch-room")).toHaveAttribute("href", `/#watch=${arena}`);
    await expect(page.getByTestId("watch-room")).toHaveAttribute("target", "_blank");
    const [watcher] = await Promise.all([page.waitForEvent("popup"), page.getByTestId("watch-room").click()]);
    await expect
      .poll(() => watcher.evaluate(() => window.__tickroom?.state() ?? null))
      .toMatchObject({ spectating: true, status: "connected", room: arena, player: null });
    await expect(watcher.getByTestId("spectator-banner")).toHaveText(`Watching room ${arena} — 2 players`);
    await expect(page.getByTestId("room-spectators")).toHaveAttribute("data-count", "1");
    await expect(page.getByTestId("room-figures")).toContainText("1 spectator ·");
    await watcher.close();
    await expect(page.getByTestId("room-spectators")).toHaveAttribute("data-count", "0");

    // Kick bob: asked first, then done; his connection closes with 4007 and his seat is gone.
    await page.getByTestId(`kick-${bob.player}`).click();
    await page.getByTestId(`kick-${bob.player}-confirm`).click();
    expect(await bob.closed).toEqual({ code: 4007, reason: "kicked by the operator" });
    await expect(page.getByTestId(`player-row-${bob.player}`)).toHaveCount(0);
    await expect(page.getByTestId(`player-row-${ann.player}`)).toBeVisible();

    // Close the room: a second thought first (cancel), then for real.
    await page.getByTestId("close-room").click();
    await page.getByTestId("close-room-cancel").click();
    await page.getByTestId("close-room").click();
    await page.getByTestId("close-room-confirm").click();
    expect(await ann.closed).toEqual({ code: 1000, reason: "closed by the operator" });
    await expect(page.getByTestId("room-status")).toContainText("was closed");

    // Back on the overview the room is gone; the cards room still runs with its two players.
    await page.getByTestId("back").click();
    await expect(page.getByTestId(`room-row-${arena}`)).toHaveCount(0);
    await expect(page.getByTestId(`room-players-${cards}`)).toHaveText(/^2 \/ \d+$/);
    await expect(page.getByTestId("closes")).toContainText("4007 Kicked");
    await page.context().close();
  } finally {
    for (const p of players) p.close();
    await server.stop();
  }
});

test("a server that trusts no loopback asks for the admin token", async ({ browser }) => {
  const args = serverArgs(["--admin-loopback", "false", "--admin-token", "e2e-secret"]);
  const server = await Server.start(process.env["TICKROOM_BIN_PATH"] ?? "", await freePort(), args);
  try {
    const page = await openAdmin(browser, server.url);
    await expect(page.getByTestId("login-form")).toBeVisible();
    await expect(page.getByTestId("stream-status")).toHaveText("not allowed");
    await page.getByTestId("token-input").fill("wrong");
    await page.getByTestId("login-submit").click();
    await expect(page.getByTestId("login-message")).toContainText("refused");
    await page.getByTestId("token-input").fill("e2e-secret");
    await page.getByTestId("login-submit").click();
    await expect(page.getByTestId("stream-status")).toHaveText("live");
    await expect(page.getByTestId("login-form")).toBeHidden();
    await expect(page.getByTestId("no-rooms")).toBeVisible();
    // The token stays with the tab (a reload keeps it), never in the address.
    await page.reload();
    await expect(page.getByTestId("stream-status")).toHaveText("live");
    expect(page.url()).not.toContain("e2e-secret");
    expect(server.output()).not.toContain("e2e-secret");
    await page.context().close();
  } finally {
    await server.stop();
  }
});
