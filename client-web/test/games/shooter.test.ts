import { Client } from "@tickroom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { aimFrom, aimToRadians, stepShip, type ShooterInput } from "../../src/games/shooter/rules";
import { ShooterGame } from "../../src/games/shooter/ShooterGame";
import { added, changed, delta, fakeNetwork, segment, SHOOTER_KINDS, snapshot, welcome } from "../fakes";

const TICK_MS = 1000 / 30;
/** The shooter's kinds, `map` last (index 3), as the server declares them. */
const KINDS = SHOOTER_KINDS;
const MAP = 3;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("shooter rules", () => {
  /** The aim angle from a mouse offset: 256 = a full turn, 0 = +x, 64 = +y (down the screen). */
  it("computes the aim from the mouse", () => {
    expect(aimFrom(10, 0)).toBe(0);
    expect(aimFrom(0, 10)).toBe(64);
    expect(aimFrom(-10, 0)).toBe(128);
    expect(aimFrom(0, -10)).toBe(192);
    expect(aimFrom(10, 10)).toBe(32);
    expect(aimFrom(10, -0.01)).toBe(0); // just above +x rounds to 0, not 256
    expect(aimFrom(0, 0)).toBe(0);
    expect(aimToRadians(64)).toBeCloseTo(Math.PI / 2);
  });

  /** Ships move 250 units/s per axis and stay on the map, whatever its size. */
  it("steps the own ship", () => {
    expect(stepShip({ x: 100, y: 100 }, [1, -1, 0, false], 0.2, 4000)).toEqual({ x: 150, y: 50 });
    expect(stepShip({ x: 3990, y: 5 }, [1, -1, 0, true], 1, 4000)).toEqual({ x: 4000, y: 0 });
    expect(stepShip({ x: 990, y: 5 }, [1, 1, 0, false], 1, 1000)).toEqual({ x: 1000, y: 255 });
  });
});

/** A seat whose first Snapshot holds a `map` of side `mapSize`, or none when it is null. */
async function start(
  mapSize: number | null = 4000,
): Promise<{ net: ReturnType<typeof fakeNetwork>; game: ShooterGame }> {
  const net = fakeNetwork();
  const client = new Client("http://127.0.0.1:8080", { transport: net.transport });
  const joining = client.quickPlay<ShooterInput, never>("shooter", "ann");
  net.last().open();
  net.last().receive(welcome({ player: 1, game: "shooter", kinds: KINDS }));
  // Own ship 5 (owner 1) at (1000, 1000), ship 6 (owner 2) at (1200, 1000), scores, the map.
  net.last().receive(
    snapshot(1, [
      segment({
        added: [
          added(5, 0, [1, 2000, 2000, 0, 100, 1]),
          added(6, 0, [2, 2400, 2000, 128, 100, 1]),
          added(7, 2, [1, 0, 0]),
          added(8, 2, [2, 0, 0]),
          ...(mapSize === null ? [] : [added(9, MAP, [mapSize])]),
        ],
      }),
    ]),
  );
  return { net, game: new ShooterGame(await joining, { interpolationDelayMs: 0 }, () => 0) };
}

/** Holds `dx = 1` for `ticks` local ticks from time `t0`; returns the time after them. */
function flyRight(game: ShooterGame, t0: number, ticks: number): number {
  let t = t0;
  for (let i = 0; i < ticks; i++) {
    t += TICK_MS;
    game.frame(t, { dx: 1, dy: 0, aim: null, fire: false });
  }
  return t;
}

describe("ShooterGame", () => {
  /** Inputs carry direction, aim and fire; the camera follows the own ship. */
  it("sends inputs and follows the own ship", async () => {
    const { net, game } = await start();
    game.frame(0, { dx: 0, dy: 0, aim: null, fire: false });
    game.frame(TICK_MS + 0.5, { dx: 1, dy: 0, aim: 64, fire: true });
    expect(net.last().sentWithTag(1)).toEqual([[1, 1, [1, 0, 64, true]]]);
    expect(game.prediction.state?.x).toBeCloseTo(1000 + 250 / 30);
    // Drawn between the previous and the current local tick: the camera moves with it.
    const scene = game.frame(TICK_MS * 1.5, { dx: 1, dy: 0, aim: null, fire: true });
    expect(scene.camera.x).toBeGreaterThan(1000);
    expect(scene.camera.x).toBeLessThan(1000 + 250 / 30);
    expect(scene.ships.map((s) => [s.id, s.self])).toEqual([
      [6, false],
      [5, true],
    ]);
    // Idle and unchanged: nothing more is sent.
    game.frame(2 * TICK_MS + 0.5, { dx: 0, dy: 0, aim: null, fire: false });
    game.frame(3 * TICK_MS + 0.5, { dx: 0, dy: 0, aim: null, fire: false });
    game.frame(4 * TICK_MS + 0.5, { dx: 0, dy: 0, aim: null, fire: false });
    expect(net.last().sentWithTag(1)).toEqual([
      [1, 1, [1, 0, 64, true]],
      [1, 2, [0, 0, 64, false]],
    ]);
  });

  /** Hit events count hits dealt and taken; kills come from the score entity. */
  it("counts hits and kills", async () => {
    const { net, game } = await start();
    net.last().receive(
      delta(2, [segment({ changed: [changed(6, { 4: -25 }), changed(7, { 1: 1 })] })], {
        events: [
          { name: "hit", payload: { target: 2, by: 1, hp: 75 } },
          { name: "hit", payload: { target: 1, by: 2, hp: 75 } },
          { name: "hit", payload: { target: 1, by: 2, hp: 50 } },
        ],
      }),
    );
    expect(game.hitsDealt).toBe(1);
    expect(game.hitsTaken).toBe(2);
    expect(game.score()).toEqual({ kills: 1, deaths: 0 });
    expect(game.own()).toMatchObject({ id: 5, hp: 100, alive: true });
  });

  /** The map's size comes from the `map` entity: prediction keeps the own ship on it, the scene draws it. */
  it("takes the map's size from the replica", async () => {
    const { game } = await start(1200);
    expect(game.mapSize).toBe(1200);
    let t = 0;
    game.frame(t, { dx: 0, dy: 0, aim: null, fire: false });
    // 2 s at 250 units/s from x = 1000: held at the edge, 1200, not 1500.
    t = flyRight(game, t, 60);
    expect(game.prediction.state?.x).toBe(1200);
    expect(game.frame(t, { dx: 0, dy: 0, aim: null, fire: false }).mapSize).toBe(1200);
  });

  /** Until the `map` entity is known the size is the default 4000; it changes when the entity comes. */
  it("falls back to 4000 until the map is known", async () => {
    const { net, game } = await start(null);
    expect(game.mapSize).toBe(4000);
    let t = 0;
    const idle = game.frame(t, { dx: 0, dy: 0, aim: null, fire: false });
    expect(idle.mapSize).toBe(4000);
    t = flyRight(game, t, 60);
    // About 1500 (2 s at 250 units/s): past where a 1200 map ends.
    expect(game.prediction.state?.x).toBeGreaterThan(1450);
    net.last().receive(delta(2, [segment({ added: [added(9, MAP, [1200])] })]));
    expect(game.mapSize).toBe(1200);
    // The server has not applied any input yet: the replay from (1000, 1000) stops at the edge.
    expect(game.prediction.state?.x).toBe(1200);
  });
});

describe("ShooterGame for a spectator", () => {
  /** A spectator sends no inputs; the camera follows the ship of the lowest id it sees, else the map's centre. */
  it("sends nothing and follows a ship", async () => {
    const net = fakeNetwork();
    const client = new Client("http://127.0.0.1:8080", { transport: net.transport });
    const watching = client.watch(2);
    net.last().open();
    net
      .last()
      .receive({ type: "watching", room: 2, game: "shooter", tickRate: 30, onChange: false, tick: 0, kinds: KINDS });
    net.last().receive(snapshot(1, [segment({ added: [added(9, MAP, [4000])] })]));
    const game = new ShooterGame(await watching, { interpolationDelayMs: 0 }, () => 0);
    expect(game.frame(0, { dx: 1, dy: 0, aim: 10, fire: true }).camera).toEqual({ x: 2000, y: 2000 });
    net
      .last()
      .receive(
        delta(2, [
          segment({ added: [added(6, 0, [2, 2400, 2000, 128, 100, 1]), added(5, 0, [1, 600, 800, 0, 100, 1])] }),
        ]),
      );
    let scene = game.frame(TICK_MS, { dx: 1, dy: 0, aim: 10, fire: true });
    for (let i = 2; i <= 5; i++) scene = game.frame(i * TICK_MS, { dx: 1, dy: 0, aim: 10, fire: true });
    game.release();
    expect(net.last().sentWithTag(1)).toEqual([]);
    expect(scene.camera).toEqual({ x: 300, y: 400 });
    expect(scene.ships.map((s) => [s.id, s.self])).toEqual([
      [6, false],
      [5, false],
    ]);
    expect(game.own()).toBeNull();
  });
});
