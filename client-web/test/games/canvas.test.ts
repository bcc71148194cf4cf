import { afterEach, describe, expect, it, vi } from "vitest";
import { onPageHidden, startFrameLoop } from "../../src/games/canvas";

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("canvas game helpers", () => {
  /** Blur and a hidden page call back; becoming visible does not; after off nothing does. */
  it("onPageHidden fires on blur and on hiding, until turned off", () => {
    const win = new EventTarget();
    const doc = Object.assign(new EventTarget(), { hidden: false });
    vi.stubGlobal("window", win);
    vi.stubGlobal("document", doc);
    let calls = 0;
    const off = onPageHidden(() => calls++);
    win.dispatchEvent(new Event("blur"));
    expect(calls).toBe(1);
    doc.dispatchEvent(new Event("visibilitychange"));
    expect(calls).toBe(1);
    doc.hidden = true;
    doc.dispatchEvent(new Event("visibilitychange"));
    expect(calls).toBe(2);
    off();
    win.dispatchEvent(new Event("blur"));
    doc.dispatchEvent(new Event("visibilitychange"));
    expect(calls).toBe(2);
  });

  /** Each frame asks for the next one before drawing (a throwing frame keeps the loop); stop cancels it. */
  it("startFrameLoop runs every frame until stopped", () => {
    const queued = new Map<number, (t: number) => void>();
    let next = 0;
    vi.stubGlobal("requestAnimationFrame", (cb: (t: number) => void) => {
      queued.set(++next, cb);
      return next;
    });
    vi.stubGlobal("cancelAnimationFrame", (id: number) => queued.delete(id));
    /** Runs the one frame asked for. */
    const run = (t: number): void => {
      expect(queued.size).toBe(1);
      const [id, cb] = [...queued][0]!;
      queued.delete(id);
      cb(t);
    };
    const seen: number[] = [];
    const stop = startFrameLoop((t) => {
      seen.push(t);
      if (t === 32) throw new Error("draw failed");
    });
    run(16);
    expect(() => run(32)).toThrow("draw failed");
    run(48);
    expect(seen).toEqual([16, 32, 48]);
    stop();
    expect(queued.size).toBe(0);
  });
});
