/** Movement from the keyboard: WASD and the arrow keys. */
import type { ArenaInput } from "../generated/protocol";

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

  constructor(target: Window = window) {
    const down = (e: KeyboardEvent): void => {
      if (!(e.code in directions) || isTextField(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
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

  /** The direction of the keys held now; opposite keys cancel. */
  direction(): ArenaInput {
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
