/**
 * Arena: two pages quick-play the arena and land in one room; each holds a movement key and the
 * other sees its player move. Chat and the HUD work. A connection the server drops is resumed
 * with the token: same room, same player. After a server restart (tokens and rooms gone) both
 * pages find each other again in a new room.
 */
import { expect, test } from "@playwright/test";
import { num, openPlayer, ownedBy, type Player } from "./players";
import { freePort, Server } from "./Server";

/** Holds a key on `mover` until `watcher` sees the mover's player walk at least 40 units. */
async function seenMoving(mover: Player, watcher: Player, moverId: number): Promise<void> {
  const start = ownedBy(await watcher.state(), "player", moverId);
  expect(start, `${watcher.name} sees ${mover.name}'s player`).not.toBeNull();
  // Walk towards the middle so a wall cannot stop the walk.
  const key = num(start, "x") < 500 ? "KeyD" : "KeyA";
  await mover.page.getByTestId("arena-canvas").click({ position: { x: 5, y: 5 } }); // focus the page, not a text field
  await mover.page.keyboard.down(key);
  try {
    await expect
      .poll(async () => Math.abs(num(ownedBy(await watcher.state(), "player", moverId), "x") - num(start, "x")), {
        message: `${watcher.name} to see ${mover.name} move`,
      })
      .toBeGreaterThanOrEqual(40);
  } finally {
    await mover.page.keyboard.up(key);
  }
  // The mover's inputs were acknowledged: its ack (per player, in the replica) is above 0.
  await expect.poll(async () => (await mover.state())?.acks.find(([p]) => p === moverId)?.[1] ?? 0).toBeGreaterThan(0);
}

test("two players quick-play the arena and see each other move", async ({ browser }) => {
  const a = await openPlayer(browser, "alice");
  const b = await openPlayer(browser, "bob");
  await expect(a.page.getByTestId("game-arena")).toBeVisible();
  await a.page.getByTestId("quick-play-arena").click();
  const sa = await a.connected();
  await expect(a.page.getByTestId("room-link")).toHaveText(`${process.env["TICKROOM_URL"]}/#room=${sa.room}`);
  await b.page.getByTestId("quick-play-arena").click();
  const sb = await b.connected();
  expect(sb.room, "quick match puts bob in alice's room").toBe(sa.room);
  const alice = sa.player ?? 0;
  const bob = sb.player ?? 0;
  await expect.poll(async () => ownedBy(await a.state(), "player", bob) !== null).toBe(true);
  await expect.poll(async () => ownedBy(await b.state(), "player", alice) !== null).toBe(true);
  await expect(a.page.getByTestId("scoreboard")).toContainText("bob");

  await seenMoving(a, b, alice);
  await seenMoving(b, a, bob);

  await b.page.getByTestId("chat-input").fill("hello from bob");
  await b.page.getByTestId("chat-input").press("Enter");
  await expect(a.page.getByTestId("chat-log")).toContainText("bob: hello from bob");

  await expect(a.page.getByTestId("connection-status")).toHaveText(/^connected/);
  await expect(a.page.getByTestId("hud-rtt")).toHaveText(/\d(\.\d)? ms$/);
  await expect(a.page.getByTestId("hud-tick")).toHaveText(/^\d+\.\d Hz/);
  await expect(a.page.getByTestId("hud-bytes")).toHaveText(/\/s$/);
  await a.close();
  await b.close();
});

test("a connection the server drops resumes the same seat", async ({ browser }) => {
  const a = await openPlayer(browser, "carol", { droppable: true });
  const b = await openPlayer(browser, "dave");
  await a.page.getByTestId("quick-play-arena").click();
  const before = await a.connected();
  await b.page.getByTestId("quick-play-arena").click();
  await b.connected();
  await a.dropConnection();
  await expect(a.page.getByTestId("chat-log")).toContainText("your seat was resumed");
  const after = await a.connected();
  expect(after.room).toBe(before.room);
  expect(after.player).toBe(before.player);
  // The other page still sees the player, and it is connected again in the roster.
  await expect.poll(async () => ownedBy(await b.state(), "player", before.player ?? 0) !== null).toBe(true);
  await expect(b.page.getByTestId("chat-log")).toContainText("carol is back");
  await a.close();
  await b.close();
});

test("after a server restart both pages reconnect and play together again", async ({ browser }) => {
  // A server of this test's own, so restarting it does not disturb the other specs.
  const bin = process.env["TICKROOM_BIN_PATH"] ?? "";
  const args = ["--static-dir", process.env["TICKROOM_DIST"] ?? "dist"];
  const port = await freePort();
  let server = await Server.start(bin, port, args);
  try {
    const a = await openPlayer(browser, "ivy", { url: server.url });
    const b = await openPlayer(browser, "jack", { url: server.url });
    await a.page.getByTestId("quick-play-arena").click();
    await a.connected();
    await b.page.getByTestId("quick-play-arena").click();
    await b.connected();
    await server.stop();
    await expect(a.page.getByTestId("overlay")).toContainText("Reconnecting");
    // A new process on the same port knows neither the tokens nor the room: BadToken, then
    // RoomNotFound, then quick match puts both players in one new room.
    server = await Server.start(bin, port, args);
    const sa = await a.connected();
    await expect.poll(async () => (await b.state())?.room).toBe(sa.room);
    await expect(a.page.getByTestId("chat-log")).toContainText("could not be resumed");
    const sb = await b.connected();
    await expect.poll(async () => ownedBy(await a.state(), "player", sb.player ?? 0) !== null).toBe(true);
    await a.close();
    await b.close();
  } finally {
    await server.stop();
  }
});
