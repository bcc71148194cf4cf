import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Client } from "../src/Client";
import { ArenaGame } from "../src/game/ArenaGame";
import { fakeNetwork, welcome } from "./fakes";

const TICK_MS = 1000 / 30;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function start(): Promise<{ net: ReturnType<typeof fakeNetwork>; game: ArenaGame; now: { t: number } }> {
  const net = fakeNetwork();
  const client = new Client("http://127.0.0.1:8080", { transport: net.transport });
  const joining = client.quickPlay("ann");
  net.last().open();
  net.last().receive(welcome({ player: 1, entity: 1, tick: 0 }));
  // Own player at (100, 100), another at (500, 500), an orb.
  net.last().receive([1, 0, [1, 0b1110, 1, 400, 400, 2, 0b1110, 1, 2000, 2000, 1000, 0b1110, 2, 40, 40]]);
  const room = await joining;
  const now = { t: 0 };
  const game = new ArenaGame(room, { interpolationDelayMs: 100 }, () => now.t);
  return { net, game, now };
}

const inputs = (net: ReturnType<typeof fakeNetwork>): unknown[][] => net.last().sentWithTag(1);

describe("ArenaGame", () => {
  /** Inputs go out once per local tick while a key is held, once more on release, never when idle. */
  it("sends inputs at the tick rate while moving and on change only", async () => {
    const { net, game } = await start();
    let t = 0;
    const run = (ticks: number, dir: [number, number]): void => {
      for (let i = 0; i < ticks; i++) {
        t += TICK_MS;
        game.frame(t, dir);
      }
    };
    game.frame(0, [0, 0]);
    run(10, [0, 0]);
    expect(inputs(net)).toEqual([]);
    run(5, [1, 0]);
    expect(inputs(net).map((m) => m[2])).toEqual([
      [1, 0],
      [1, 0],
      [1, 0],
      [1, 0],
      [1, 0],
    ]);
    run(5, [0, 0]);
    expect(inputs(net).length).toBe(6);
    expect(inputs(net)[5]).toEqual([1, 6, [0, 0]]);
    // The own player is predicted ahead of the server: 5 steps of 200/30 units.
    expect(game.prediction.position?.x).toBeCloseTo(100 + (5 * 200) / 30);
  });

  /** Losing focus stops the player at once, without waiting for the next frame. */
  it("stops the player when released", async () => {
    const { net, game } = await start();
    game.frame(0, [0, 0]);
    game.frame(TICK_MS, [0, 1]);
    game.release();
    game.release();
    expect(inputs(net)).toEqual([
      [1, 1, [0, 1]],
      [1, 2, [0, 0]],
    ]);
  });

  /** Sprites: the own player from prediction, others interpolated, orbs below players. */
  it("lists sprites with names from the roster", async () => {
    const { net, game } = await start();
    net.last().receive([
      5,
      [
        [1, 1, "ann", true],
        [2, 2, "bo", false],
      ],
    ]);
    const sprites = game.frame(0, [0, 0]);
    expect(sprites.map((s) => [s.id, s.kind, s.self, s.name, s.connected])).toEqual([
      [1000, 2, false, "", true],
      [2, 1, false, "bo", false],
      [1, 1, true, "ann", true],
    ]);
    expect(sprites.find((s) => s.id === 2)).toMatchObject({ x: 500, y: 500 });
  });
});
