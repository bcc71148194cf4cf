/**
 * Shooter: two pages in one room. Ships spawn at random places, so the test steers A's ship with
 * the keyboard towards B's (both positions read from the pages), then aims A's mouse at B's ship
 * as A's canvas draws it and fires until B's page shows the hit (hp below 100, a hit taken).
 */
import { expect, test, type Page } from "@playwright/test";
import { num, openPlayer, ownedBy, type Player } from "./players";

/** Close enough to hit: bullets fly 600 units/s for 1.2 s, and the other ship is in view. */
const FIRING_RANGE = 300;

async function ship(p: Player, owner: number): Promise<{ x: number; y: number } | null> {
  const e = ownedBy(await p.state(), "ship", owner);
  return e ? { x: num(e, "x"), y: num(e, "y") } : null;
}

/** Holds exactly the keys in `keys` (of the four arrows) on `page`. */
async function hold(page: Page, held: Set<string>, keys: string[]): Promise<void> {
  for (const k of [...held]) {
    if (!keys.includes(k)) {
      await page.keyboard.up(k);
      held.delete(k);
    }
  }
  for (const k of keys) {
    if (!held.has(k)) {
      await page.keyboard.down(k);
      held.add(k);
    }
  }
}

test("a ship flies to another and hits it", async ({ browser }) => {
  test.setTimeout(150_000);
  const a = await openPlayer(browser, "gina");
  await a.page.getByTestId("create-shooter").click();
  const sa = await a.connected();
  const b = await openPlayer(browser, "hank", { hash: `#room=${sa.room}` });
  await b.page.getByTestId("join-invited").click();
  const sb = await b.connected();
  expect(sb.room).toBe(sa.room);
  const alice = sa.player ?? 0;
  const bob = sb.player ?? 0;
  await expect(a.page.getByTestId("shooter-canvas")).toBeVisible();
  await a.page.getByTestId("shooter-canvas").hover();

  // Fly A towards B: B's own page always sees B's ship, A's always sees A's.
  const held = new Set<string>();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const pa = await ship(a, alice);
    const pb = await ship(b, bob);
    expect(pa && pb, "both ships exist").toBeTruthy();
    if (!pa || !pb) return;
    const dx = pb.x - pa.x;
    const dy = pb.y - pa.y;
    if (Math.hypot(dx, dy) <= FIRING_RANGE) break;
    expect(Date.now(), "A reaches firing range within 60 s").toBeLessThan(deadline);
    const keys: string[] = [];
    if (Math.abs(dx) > FIRING_RANGE / 2) keys.push(dx > 0 ? "ArrowRight" : "ArrowLeft");
    if (Math.abs(dy) > FIRING_RANGE / 2) keys.push(dy > 0 ? "ArrowDown" : "ArrowUp");
    await hold(a.page, held, keys);
    await a.page.waitForTimeout(50);
  }
  await hold(a.page, held, []);

  // A sees B's ship now; aim at it where A's canvas draws it, and fire until B is hit.
  await expect.poll(async () => (await ship(a, bob)) !== null, { message: "A to see B's ship" }).toBe(true);
  const hit = async (): Promise<boolean> => {
    const taken = Number((await b.page.getByTestId("hits-taken").textContent()) ?? "0");
    const hp = num(ownedBy(await b.state(), "ship", bob), "hp");
    return taken > 0 || (hp > 0 && hp < 100);
  };
  const fireUntil = Date.now() + 30_000;
  let pressed = false;
  try {
    while (!(await hit())) {
      expect(Date.now(), "B is hit within 30 s of firing").toBeLessThan(fireUntil);
      const target = await ship(a, bob);
      const at = target
        ? await a.page.evaluate(([x, y]) => window.__tickroom?.toScreen(x, y) ?? null, [target.x, target.y] as const)
        : null;
      if (at) await a.page.mouse.move(at.x, at.y);
      if (!pressed) {
        await a.page.mouse.down();
        pressed = true;
      }
      await a.page.waitForTimeout(100);
    }
  } finally {
    if (pressed) await a.page.mouse.up();
  }
  await expect.poll(async () => Number(await b.page.getByTestId("hits-taken").textContent())).toBeGreaterThan(0);
  await expect.poll(async () => Number(await a.page.getByTestId("hits-dealt").textContent())).toBeGreaterThan(0);
  await a.close();
  await b.close();
});
