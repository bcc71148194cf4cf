import { Prediction } from "@tickroom/client";
import { describe, expect, it } from "vitest";

const DT = 1 / 30;

/** A walker like the arena's: 200 units/s per axis, clamped to a 1000 x 1000 world. */
type Pos = { x: number; y: number };
type Dir = [number, number];
const clamp = (v: number): number => Math.min(1000, Math.max(0, v));
const walk = (p: Pos, d: Dir, dt: number): Pos => ({
  x: clamp(p.x + d[0] * 200 * dt),
  y: clamp(p.y + d[1] * 200 * dt),
});

/**
 * A server like the room's: inputs arrive `latency` ticks after they are sent; each tick it applies
 * the inputs that arrived (the last wins), steps, and reports the state and ack `latency` ticks later.
 */
class FakeServer {
  dir: Dir = [0, 0];
  ack = 0;
  private inbox: Array<{ at: number; seq: number; input: Dir }> = [];
  private outbox: Array<{ at: number; pos: Pos; ack: number }> = [];
  constructor(
    public pos: Pos,
    private readonly latency: number,
  ) {}
  send(now: number, seq: number, input: Dir): void {
    this.inbox.push({ at: now + this.latency, seq, input });
  }
  tick(now: number): void {
    for (const m of this.inbox.filter((m) => m.at <= now)) {
      this.dir = m.input;
      this.ack = m.seq;
    }
    this.inbox = this.inbox.filter((m) => m.at > now);
    this.pos = walk(this.pos, this.dir, DT);
    this.outbox.push({ at: now + this.latency, pos: this.pos, ack: this.ack });
  }
  deliver(now: number): Array<{ pos: Pos; ack: number }> {
    const out = this.outbox.filter((m) => m.at <= now);
    this.outbox = this.outbox.filter((m) => m.at > now);
    return out;
  }
}

describe("Prediction", () => {
  /** With a server that agrees, the prediction runs ahead by exactly the unacked inputs and no
   * correction is ever needed: no rubber-banding at any latency. */
  it.each([0, 1, 3, 8])("never corrects when the server agrees (latency %i ticks)", (latency) => {
    const start = { x: 500, y: 500 };
    const server = new FakeServer(start, latency);
    const p = new Prediction(walk, DT);
    p.reconcile(start, 0);
    let local = start;
    let seq = 0;
    for (let now = 1; now <= 90; now++) {
      const input: Dir = now < 40 ? [1, 0] : now < 60 ? [1, 1] : [0, -1];
      seq++;
      p.applyInput(seq, input);
      server.send(now, seq, input);
      local = walk(local, input, DT);
      server.tick(now);
      for (const s of server.deliver(now)) p.reconcile(s.pos, s.ack);
      expect(p.state).toEqual(local);
      expect(p.correction).toEqual({ x: 0, y: 0 });
    }
    // Key released: the client sends a stop, and everything settles on the server's state.
    p.applyInput(++seq, [0, 0]);
    server.send(91, seq, [0, 0]);
    let last: Pos | null = null;
    for (let now = 91; now < 91 + 2 * latency + 2; now++) {
      server.tick(now);
      for (const s of server.deliver(now)) {
        p.reconcile(s.pos, s.ack);
        last = s.pos;
      }
    }
    expect(p.unacked).toBe(0);
    expect(p.state).toEqual(last);
    expect(last).toEqual(server.pos);
  });

  /** When the server disagrees, the prediction restarts from the server state and replays the
   * unacked inputs; the difference becomes a visual offset that decays to nothing. */
  it("reconciles to server state plus unacked inputs and smooths the correction", () => {
    const p = new Prediction(walk, DT, { smoothingMs: 100 });
    p.reconcile({ x: 100, y: 100 }, 0);
    p.applyInput(1, [1, 0]);
    p.applyInput(2, [1, 0]);
    p.applyInput(3, [1, 0]);
    expect(p.state?.x).toBeCloseTo(120);
    // The server applied input 1 but put the player 3 units further left (say, it was pushed).
    p.reconcile({ x: 100 + 200 * DT - 3, y: 100 }, 1);
    expect(p.unacked).toBe(2);
    expect(p.state?.x).toBeCloseTo(117);
    expect(p.correction?.x).toBeCloseTo(3);
    // Drawn where it was (no jump), then drifting to the new prediction.
    expect(p.render(1)?.x).toBeCloseTo(120);
    p.decay(100);
    expect(p.correction?.x).toBeCloseTo(3 / Math.E);
    for (let i = 0; i < 20; i++) p.decay(50);
    expect(p.correction?.x).toBe(0);
    expect(p.render(1)?.x).toBeCloseTo(117);
  });

  /** A large disagreement (a teleport, a respawn) is applied at once, not smoothed. */
  it("snaps on large corrections", () => {
    const p = new Prediction(walk, DT, { snapDistance: 50 });
    p.reconcile({ x: 100, y: 100 }, 0);
    p.applyInput(1, [0, 1]);
    p.reconcile({ x: 900, y: 900 }, 1);
    expect(p.state).toEqual({ x: 900, y: 900 });
    expect(p.correction).toEqual({ x: 0, y: 0 });
    expect(p.render(0.5)).toEqual({ x: 900, y: 900 });
  });

  /** Rendering interpolates between the previous and the current local tick. */
  it("renders between local ticks", () => {
    const p = new Prediction(walk, DT);
    p.reconcile({ x: 0, y: 0 }, 0);
    p.applyInput(1, [1, 0]);
    expect(p.render(0)?.x).toBeCloseTo(0);
    expect(p.render(0.5)?.x).toBeCloseTo(100 * DT);
    expect(p.render(1)?.x).toBeCloseTo(200 * DT);
    p.idle();
    expect(p.render(0)?.x).toBeCloseTo(200 * DT);
  });

  /** Any record of numbers and any input type work: here a tank with heading and fuel, driven by
   * an object input, with a custom distance for the snap. */
  it("is generic over the state and the input", () => {
    type Tank = { heading: number; fuel: number };
    type Drive = { turn: number; burn: boolean };
    const step = (s: Tank, i: Drive, dt: number): Tank => ({
      heading: s.heading + i.turn * 90 * dt,
      fuel: Math.max(0, s.fuel - (i.burn ? 10 * dt : 0)),
    });
    const p = new Prediction<Tank, Drive>(step, 0.1, { distance: (a, b) => Math.abs(a.heading - b.heading) });
    p.reconcile({ heading: 0, fuel: 100 }, 0);
    p.applyInput(1, { turn: 1, burn: true });
    p.applyInput(2, { turn: 1, burn: false });
    expect(p.state).toEqual({ heading: 18, fuel: 99 });
    p.reconcile({ heading: 9, fuel: 99 }, 1);
    expect(p.state).toEqual({ heading: 18, fuel: 99 });
    expect(p.unacked).toBe(1);
    p.reconcile({ heading: 18, fuel: 99 }, 2);
    expect(p.unacked).toBe(0);
  });

  it("reset forgets pending inputs", () => {
    const p = new Prediction(walk, DT);
    p.reconcile({ x: 0, y: 0 }, 0);
    p.applyInput(1, [1, 0]);
    p.reset();
    expect(p.unacked).toBe(0);
    expect(p.state).toBeNull();
  });
});
