/** Movement from the keyboard (WASD and the arrow keys), and other held keys (Space to fire). */

/** A direction per axis, each in {-1, 0, 1}; +y is down the screen. */
export type Direction = [dx: number, dy: number];

const directions: Record<string, [number, number]> = {
  KeyW: [0, -1],
  ArrowUp: [0, -1],
  KeyS: [0, 1],
  ArrowDown: [0, 1],
  KeyA: [-1, 0],
  ArrowLeft: [-1, 0],
  KeyD: [1, 0],
  ArrowRight: [1, 0],
};

/** True when typing in this element must not move the player (chat box, name field). */
const isTextField = (target: EventTarget | null): boolean =>
  target instanceof HTMLElement &&
  (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);

export class Keyboard {
  private readonly held = new Set<string>();
  private readonly offs: Array<() => void> = [];

  /** `extraKeys`: codes besides the movement keys to track (e.g. "Space"). */
  constructor(extraKeys: readonly string[] = [], target: Window = window) {
    const tracked = new Set([...Object.keys(directions), ...extraKeys]);
    const down = (e: KeyboardEvent): void => {
      if (!tracked.has(e.code) || isTextField(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
      this.held.add(e.code);
      e.preventDefault(); // arrows would scroll the page
    };
    const up = (e: KeyboardEvent): void => {
      this.held.delete(e.code);
    };
    // A key released while the window has no focus never sends keyup: forget everything.
    const blur = (): void => this.held.clear();
    target.addEventListener("keydown", down);
    target.addEventListener("keyup", up);
    target.addEventListener("blur", blur);
    this.offs.push(
      () => target.removeEventListener("keydown", down),
      () => target.removeEventListener("keyup", up),
      () => target.removeEventListener("blur", blur),
    );
  }

  /** True while the key with this code is held (only for tracked keys). */
  isHeld(code: string): boolean {
    return this.held.has(code);
  }

  /** The direction of the keys held now; opposite keys cancel. */
  direction(): Direction {
    let dx = 0;
    let dy = 0;
    for (const code of this.held) {
      const d = directions[code];
      if (d) {
        dx += d[0];
        dy += d[1];
      }
    }
    return [Math.sign(dx), Math.sign(dy)];
  }

  dispose(): void {
    for (const off of this.offs) off();
    this.held.clear();
  }
}
