/**
 * Replays: a server recording into a temporary folder (`--record`); two players play a short
 * arena match, walking, and leave, so the room closes and its recording is finished. The lobby
 * lists it; `/#replay=NAME` plays it with the arena's own canvas: play advances the ticks, a seek
 * shows exactly the tick chosen (also backwards), pause holds it, and 2x plays faster. With
 * TICKROOM_SCREENSHOTS set, a screenshot of the replay goes there as replay.png.
 */
import { expect, test } from "@playwright/test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { entitiesOf, openPlayer, ownedBy, type Player } from "./players";
import { freePort, Server } from "./Server";

interface Listing {
  name: string;
  game: string;
  ticks: number;
  complete: boolean;
}

/** Holds `key` on `player`'s page for `ms`. */
async function walk(player: Player, key: string, ms: number): Promise<void> {
  await player.page.getByTestId("arena-canvas").click({ position: { x: 5, y: 5 } });
  await player.page.keyboard.down(key);
  await player.page.waitForTimeout(ms);
  await player.page.keyboard.up(key);
}

test("a recorded arena match plays back with play, seek, pause and 2x", async ({ browser }) => {
  const bin = process.env["TICKROOM_BIN_PATH"] ?? "";
  const dir = await mkdtemp(join(tmpdir(), "tickroom-e2e-replays-"));
  const args = ["--static-dir", process.env["TICKROOM_DIST"] ?? "dist", "--record", dir, "--empty-room-grace", "0.2"];
  const server = await Server.start(bin, await freePort(), args);
  try {
    const a = await openPlayer(browser, "alice", { url: server.url });
    const b = await openPlayer(browser, "bob", { url: server.url });
    await a.page.getByTestId("quick-play-arena").click();
    const alice = (await a.connected()).player ?? 0;
    await b.page.getByTestId("quick-play-arena").click();
    await b.connected();
    await walk(a, "KeyD", 1200);
    await walk(b, "KeyS", 800);
    await a.page.getByTestId("leave-button").click();
    await b.page.getByTestId("leave-button").click();

    let listing: Listing | undefined;
    await expect
      .poll(
        async () => {
          const list = (await (await fetch(`${server.url}/api/replays`)).json()) as Listing[];
          listing = list.find((r) => r.game === "arena" && r.complete);
          return listing !== undefined;
        },
        { message: "the room's recording to be finished" },
      )
      .toBe(true);
    const { name, ticks } = listing as Listing;
    expect(ticks).toBeGreaterThan(30);

    // The lobby lists it with a link to watch.
    await a.page.goto(`${server.url}/`);
    const link = a.page.locator(`[data-testid=replay-link][data-name="${name}"]`);
    await expect(link).toBeVisible();
    await link.click();
    const page = a.page;
    await expect(page.getByTestId("replay-screen")).toBeVisible();
    await expect(page.getByTestId("arena-canvas")).toBeVisible();
    const time = page.getByTestId("replay-time");
    const shown = async (): Promise<number> => Number(await time.getAttribute("data-tick"));
    const state = () => page.evaluate(() => window.__tickroom?.state() ?? null);
    expect(await shown()).toBe(1);
    // Alice created the room: she is there from the first tick.
    await expect.poll(async () => ownedBy(await state(), "player", alice) !== null).toBe(true);

    // Play: the ticks advance, and the replica follows.
    await page.getByTestId("replay-play").click();
    await expect(page.getByTestId("replay-play")).toHaveText("Pause");
    await expect.poll(shown).toBeGreaterThan(10);

    // Pause holds the tick.
    await page.getByTestId("replay-play").click();
    await expect(page.getByTestId("replay-play")).toHaveText("Play");
    const held = await shown();
    await page.waitForTimeout(400);
    expect(await shown()).toBe(held);

    // Seek forward and back: the replica is at exactly the chosen tick. Stepping back from the
    // end, the first tick where both players are there is after both walks (they left last):
    // alice is further right than at the start.
    const seek = page.getByTestId("replay-seek");
    const at = async (tick: number): Promise<void> => {
      await seek.fill(String(tick));
      await expect.poll(async () => (await state())?.tick).toBe(tick);
    };
    let late = ticks;
    do {
      late -= 5;
      await at(late);
    } while (late > 5 && entitiesOf(await state(), "player").length < 2);
    expect(entitiesOf(await state(), "player")).toHaveLength(2);
    const xLate = Number(ownedBy(await state(), "player", alice)?.fields["x"] ?? NaN);
    await at(2);
    const xEarly = Number(ownedBy(await state(), "player", alice)?.fields["x"] ?? NaN);
    expect(xLate).toBeGreaterThan(xEarly);
    expect(await shown()).toBe(2);

    // 2x: 2 s of play cover well over the 60 ticks 1x would (30 Hz).
    await page.getByTestId("replay-speed").click();
    await expect(page.getByTestId("replay-speed")).toHaveAttribute("aria-pressed", "true");
    await page.getByTestId("replay-play").click();
    const started = Date.now();
    await expect.poll(shown).toBeGreaterThan(Math.min(ticks - 1, 70));
    const elapsed = Date.now() - started;
    await page.getByTestId("replay-play").click();
    console.log(`e2e: replay ${name}: ${ticks} ticks; 2x reached tick ${await shown()} after ${elapsed} ms`);

    await seek.fill(String(Math.floor(ticks / 2)));
    const screenshots = process.env["TICKROOM_SCREENSHOTS"];
    if (screenshots) {
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(screenshots, "replay.png") });
    }
    await page.getByTestId("replay-back").click();
    await expect(page.getByTestId("lobby")).toBeVisible();
    await a.close();
    await b.close();
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("an unknown replay leads back to the lobby with the reason", async ({ browser }) => {
  const player = await openPlayer(browser, "nobody", { hash: "#replay=missing.trec" });
  await expect(player.page.getByTestId("lobby-message")).toContainText("Cannot play missing.trec");
  await player.close();
});
