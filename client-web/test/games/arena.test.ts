import { Client } from "@tickroom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ArenaGame } from "../../src/games/arena/ArenaGame";
import { stepPlayer, type ArenaInput } from "../../src/games/arena/rules";
import { quantise } from "../../src/input/TouchStick";
import { added, ARENA_KINDS, changed, delta, fakeNetwork, segment, snapshot, welcome } from "../fakes";

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
  const joining = client.quickPlay<ArenaInput, never>("arena", "ann");
  net.last().open();
  net.last().receive(welcome({ player: 1, tick: 0 }));
  // Own player (entity 10, owner 1) at (100, 100), player 2 (entity 11) at (500, 500), an orb.
  net.last().receive(
    snapshot(1, [
      segment({
        added: [added(10, 0, [1, 400, 400]), added(11, 0, [2, 2000, 2000]), added(1000, 1, [40, 40])],
      }),
    ]),
  );
  const room = await joining;
  const now = { t: 0 };
  const game = new ArenaGame(room, { interpolationDelayMs: 100 }, () => now.t);
  return { net, game, now };
}

const inputs = (net: ReturnType<typeof fakeNetwork>): unknown[][] => net.last().sentWithTag(1);

describe("arena rules", () => {
  /** The movement rule of PROTOCOL.md: clamped axes, 200 units/s, world walls. */
  it("steps like the server", () => {
    expect(stepPlayer({ x: 500, y: 500 }, [5, -1], 0.5)).toEqual({ x: 600, y: 400 });
    expect(stepPlayer({ x: 500, y: 500 }, [1, -1], 10)).toEqual({ x: 1000, y: 0 });
  });

  /** The touch stick gives eight directions and a dead zone. */
  it("quantises the stick", () => {
    expect(quantise(0.1, 0.1)).toEqual([0, 0]);
    expect(quantise(1, 0)).toEqual([1, 0]);
    expect(quantise(0.7, 0.7)).toEqual([1, 1]);
    expect(quantise(-0.1, -1)).toEqual([0, -1]);
    expect(quantise(-1, 0.05)).toEqual([-1, 0]);
  });
});

describe("ArenaGame", () => {
  /** Inputs go out once per local tick while a key is held, once more on release, never when idle. */
  it("sends inputs at the tick rate while moving and on change only", async () => {
    const { net, game } = await start();
    let t = 0;
    const run = (ticks: number, dir: ArenaInput): void => {
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
    expect(game.prediction.state?.x).toBeCloseTo(100 + (5 * 200) / 30);
  });

  /** The server's ack for this player (from the replica, not an entity field) trims the prediction. */
  it("reconciles against the own player's ack", async () => {
    const { net, game } = await start();
    game.frame(0, [0, 0]);
    for (let i = 1; i <= 3; i++) game.frame(i * TICK_MS + 0.5, [1, 0]);
    expect(game.prediction.unacked).toBe(3);
    // The server applied inputs 1 and 2: player 1's ack is set to 2, its x moved 2 steps.
    net.last().receive(delta(2, [segment({ changed: [changed(10, { 1: 53 })] })], { acks: [[1, 2]] }));
    expect(game.prediction.unacked).toBe(1);
    expect(game.prediction.state?.x).toBeCloseTo(113.25 + 200 / 30);
    // Bit 1 set: one more input applied.
    net.last().receive(delta(3, [], { bits: new Uint8Array([0b10]) }));
    expect(game.prediction.unacked).toBe(0);
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

  /** Sprites: the own player from prediction, others interpolated, orbs below players, names from the roster. */
  it("lists sprites with names from the roster", async () => {
    const { net, game } = await start();
    net.last().receive({
      type: "roster",
      players: [
        { player: 1, name: "ann", connected: true },
        { player: 2, name: "bo", connected: false },
      ],
    });
    const sprites = game.frame(0, [0, 0]);
    expect(sprites.map((s) => [s.id, s.kind, s.self, s.name, s.connected])).toEqual([
      [1000, "orb", false, "", true],
      [11, "player", false, "bo", false],
      [10, "player", true, "ann", true],
    ]);
    expect(sprites.find((s) => s.id === 11)).toMatchObject({ x: 500, y: 500 });
    expect(game.own()).toEqual({ id: 10, x: 100, y: 100 });
  });
});

describe("ArenaGame for a spectator", () => {
  /** A spectator's frames send nothing, whatever direction comes in; every player is interpolated. */
  it("sends nothing and owns no player", async () => {
    const net = fakeNetwork();
    const client = new Client("http://127.0.0.1:8080", { transport: net.transport });
    const watching = client.watch(4);
    net.last().open();
    net.last().receive({
      type: "watching",
      room: 4,
      game: "arena",
      tickRate: 30,
      onChange: false,
      tick: 0,
      kinds: ARENA_KINDS,
    });
    net.last().receive(snapshot(1, [segment({ added: [added(10, 0, [1, 400, 400]), added(11, 0, [2, 2000, 2000])] })]));
    const game = new ArenaGame(await watching, { interpolationDelayMs: 100 }, () => 0);
    let sprites = game.frame(0, [1, 0]);
    for (let i = 1; i <= 10; i++) sprites = game.frame(i * TICK_MS, [1, 0]);
    game.release();
    expect(inputs(net)).toEqual([]);
    expect(game.own()).toBeNull();
    expect(game.prediction.state).toBeNull();
    expect(sprites.filter((s) => s.kind === "player").map((s) => [s.id, s.self, s.x, s.y])).toEqual([
      [10, false, 100, 100],
      [11, false, 500, 500],
    ]);
  });
});
