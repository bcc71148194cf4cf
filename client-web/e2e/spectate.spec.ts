/**
 * Spectators: a third page opens `/#watch=ID` of a cards game two pages play and sees the table
 * drawn by the cards view (banner, seats, top card) change as they play, with the chat read-only;
 * every frame that page receives is decoded, and none ever holds a card of anyone's hand. The
 * lobby's room list counts the spectator. In the arena, a spectator reaches the room through the
 * lobby's Watch link and sees the player walk on the canvas.
 *
 * `TICKROOM_SCREENSHOTS=dir` keeps screenshots of the spectators' pages there (`spectate.png`,
 * the cards table; `spectate-arena.png`).
 */
import { decodeClient, decodeServer, type ClientMessage, type ServerMessage } from "@tickroom/client";
import { expect, test, type Page } from "@playwright/test";
import { join } from "node:path";
import { num, openPlayer, ownedBy, type Player } from "./players";

/** Every message a page receives (and sends) on its WebSockets, decoded, from its first frame on. */
function recordFrames(page: Page, received: ServerMessage[], sent: ClientMessage[] = []): void {
  page.on("websocket", (ws) => {
    ws.on("framereceived", ({ payload }) => {
      if (typeof payload !== "string") received.push(decodeServer(payload));
    });
    ws.on("framesent", ({ payload }) => {
      if (typeof payload !== "string") sent.push(decodeClient(payload));
    });
  });
}

/** Saves a screenshot of `page` as `name` in TICKROOM_SCREENSHOTS, when set. */
async function keepScreenshot(page: Page, name: string): Promise<void> {
  const dir = process.env["TICKROOM_SCREENSHOTS"];
  if (dir) await page.screenshot({ path: join(dir, name) });
}

/** Clicks a hand card; an eight opens the suit chooser, answered with clubs. */
async function playCard(page: Page, card: string): Promise<void> {
  await page.locator(`[data-testid="hand-card"][data-card="${card}"]`).click();
  if (Number(card) % 13 === 7) await page.getByTestId("suit-choice-clubs").click();
}

/** The `added` records of kind `kind` (by name) in the tick messages of `frames`, whose first Welcome or Watching names the kinds. */
function addedOf(frames: readonly ServerMessage[], kind: string): number[] {
  const first = frames.find((m) => m.type === "welcome" || m.type === "watching");
  const index =
    first?.type === "welcome" || first?.type === "watching" ? first.kinds.findIndex((k) => k.name === kind) : -1;
  expect(index, `the ${kind} kind in the first Welcome or Watching`).toBeGreaterThanOrEqual(0);
  return frames.flatMap((m) =>
    m.type === "snapshot" || m.type === "delta"
      ? m.segments.flatMap((s) => s.added.filter((r) => r.kind === index).map((r) => r.id))
      : [],
  );
}

test("a spectator watches a cards game and never sees a hand", async ({ browser }) => {
  const playerFrames: ServerMessage[] = [];
  const a = await openPlayer(browser, "gwen", { beforeOpen: (page) => recordFrames(page, playerFrames) });
  await a.page.getByTestId("create-cards").click();
  const { room } = await a.connected();
  const b = await openPlayer(browser, "hugo", { hash: `#room=${room}` });
  await b.page.getByTestId("join-invited").click();
  await b.connected();
  await a.page.getByTestId("start-button").click();
  for (const p of [a, b]) await expect(p.page.getByTestId("hand-card")).toHaveCount(7);

  const frames: ServerMessage[] = [];
  const watcher = await openPlayer(browser, "watcher", {
    hash: `#watch=${room}`,
    fillName: false,
    beforeOpen: (page) => recordFrames(page, frames),
  });
  const seen = await watcher.connected();
  expect(seen).toMatchObject({ spectating: true, player: null, room, game: "cards" });
  const page = watcher.page;
  await expect(page.getByTestId("game-screen")).toHaveAttribute("data-role", "spectator");
  await expect(page.getByTestId("spectator-banner")).toHaveText(`Watching room ${room} — 2 players`);
  await expect(page.getByTestId("seats").getByTestId("seat")).toHaveCount(2);
  await expect(page.getByTestId("seats")).toContainText("gwen");
  await expect(page.locator('[data-testid="seat"][data-cards="7"]')).toHaveCount(2);
  await expect(page.getByTestId("turn-indicator")).toHaveText(/turn: \d+ s left/);
  // No controls: no hand, no Start or Draw, and the chat line is read-only.
  await expect(page.getByTestId("hand")).toHaveCount(0);
  await expect(page.getByTestId("draw-button")).toHaveCount(0);
  await expect(page.getByTestId("chat-input")).toBeDisabled();
  await expect(page.getByTestId("watch-link")).toHaveAttribute("href", /#watch=\d+$/);
  expect(new URL(page.url()).hash).toBe(`#watch=${room}`);

  // The lobby's room list counts the spectator.
  const lobby = await openPlayer(browser, "ivy");
  await expect(lobby.page.getByTestId(`room-spectators-${room}`)).toHaveText("1");
  await expect(lobby.page.getByTestId(`watch-room-${room}`)).toHaveAttribute("href", /#watch=\d+$/);

  // The players' chat reaches the spectator.
  await a.page.getByTestId("chat-input").fill("hello, whoever watches");
  await a.page.getByTestId("chat-input").press("Enter");
  await expect(page.getByTestId("chat-log")).toContainText("gwen: hello, whoever watches");

  // A move shows on the spectator's table.
  const mine = async (p: Player): Promise<boolean> =>
    (await p.page.getByTestId("turn-indicator").getAttribute("data-my-turn")) === "true";
  const mover = (await mine(a)) ? a : b;
  await expect(page.getByTestId("turn-indicator")).toContainText(`${mover.name}'s turn`);
  const playable = mover.page.locator('[data-testid="hand-card"][data-playable="true"]');
  if ((await playable.count()) > 0) {
    const card = (await playable.first().getAttribute("data-card")) ?? "";
    await playCard(mover.page, card);
    await expect(page.getByTestId("top-card")).toHaveAttribute("data-card", card);
    await expect(page.getByTestId("event-log")).toContainText(`${mover.name} played`);
  } else {
    await mover.page.getByTestId("draw-button").click();
    await expect(page.getByTestId("event-log")).toContainText(`${mover.name} drew`);
  }
  await expect(page.getByTestId("turn-indicator")).not.toContainText(`${mover.name}'s turn`);
  await keepScreenshot(page, "spectate.png");

  // Everything the spectator received: a Watching, then ticks, and not one card of a hand, where
  // a player's page (read the same way) got its seven and more.
  expect(
    frames.find((m) => m.type === "watching"),
    "the spectator's page got Watching",
  ).toBeDefined();
  expect(frames.filter((m) => m.type === "snapshot" || m.type === "delta").length).toBeGreaterThan(1);
  expect(addedOf(playerFrames, "card").length).toBeGreaterThanOrEqual(7);
  expect(addedOf(frames, "card"), "cards sent to the spectator").toEqual([]);
  expect(addedOf(frames, "hand").length, "the seats' card counts").toBeGreaterThanOrEqual(2);
  expect(frames.filter((m) => m.type === "welcome" || m.type === "commandResult")).toEqual([]);
  expect(ownedBy(await watcher.state(), "card", (await a.state())?.player ?? -1)).toBeNull();

  // Stop watching: back to the lobby, and the room counts no spectator.
  await page.getByTestId("leave-button").click();
  await expect(page.getByTestId("lobby")).toBeVisible();
  await expect(lobby.page.getByTestId(`room-spectators-${room}`)).toHaveText("0");
  for (const p of [a, b, watcher, lobby]) await p.close();
});

test("a spectator follows the lobby's Watch link into an arena and sees the player move", async ({ browser }) => {
  const a = await openPlayer(browser, "jade");
  await a.page.getByTestId("quick-play-arena").click();
  const { room, player } = await a.connected();

  const sent: ClientMessage[] = [];
  const watcher = await openPlayer(browser, "kim", { beforeOpen: (page) => recordFrames(page, [], sent) });
  await watcher.page.getByTestId(`watch-room-${room}`).click();
  const seen = await watcher.connected();
  expect(seen).toMatchObject({ spectating: true, player: null, room, game: "arena" });
  const page = watcher.page;
  await expect(page.getByTestId("arena-canvas")).toBeVisible();
  await expect(page.getByTestId("spectator-banner")).toHaveText(`Watching room ${room} — 1 player`);
  await expect(page.getByTestId("scoreboard")).toContainText("jade");
  await expect.poll(async () => ownedBy(await watcher.state(), "player", player ?? -1) !== null).toBe(true);

  // The player walks; the spectator's replica (and canvas) follows.
  const start = ownedBy(await watcher.state(), "player", player ?? -1);
  const key = num(start, "x") < 500 ? "KeyD" : "KeyA";
  await a.page.getByTestId("arena-canvas").click({ position: { x: 5, y: 5 } });
  await a.page.keyboard.down(key);
  try {
    await expect
      .poll(async () => Math.abs(num(ownedBy(await watcher.state(), "player", player ?? -1), "x") - num(start, "x")))
      .toBeGreaterThanOrEqual(40);
  } finally {
    await a.page.keyboard.up(key);
  }
  // A key held on the spectator's page for ten ticks sends nothing: only Watch, Pings (and a
  // Resync, should a tick go missing) go out.
  await page.getByTestId("arena-canvas").click({ position: { x: 5, y: 5 } });
  const tick = (await watcher.state())?.tick ?? 0;
  await page.keyboard.down("KeyS");
  try {
    await expect.poll(async () => (await watcher.state())?.tick ?? 0).toBeGreaterThanOrEqual(tick + 10);
  } finally {
    await page.keyboard.up("KeyS");
  }
  expect(sent.filter((m) => m.type === "watch")).toEqual([{ type: "watch", version: 2, room }]);
  expect(sent.filter((m) => !["watch", "ping", "resync"].includes(m.type))).toEqual([]);
  await keepScreenshot(page, "spectate-arena.png");
  await a.close();
  await watcher.close();
});
