/**
 * An on-screen joystick for touch screens (and mice): drag from its centre; the direction is
 * quantised to the eight directions the game accepts.
 */
import type { Direction } from "./Keyboard";

/** Fraction of the stick's radius that counts as "no direction". */
const DEAD_ZONE = 0.3;

export class TouchStick {
  readonly element: HTMLElement;
  private readonly knob: HTMLElement;
  private pointer: number | null = null;
  private value: Direction = [0, 0];

  constructor(parent: HTMLElement) {
    this.element = document.createElement("div");
    this.element.className = "stick";
    this.element.setAttribute("aria-label", "movement joystick");
    this.knob = document.createElement("div");
    this.knob.className = "stick-knob";
    this.element.append(this.knob);
    parent.append(this.element);
    this.element.addEventListener("pointerdown", (e) => {
      this.pointer = e.pointerId;
      this.element.setPointerCapture(e.pointerId);
      this.move(e);
      e.preventDefault();
    });
    this.element.addEventListener("pointermove", (e) => {
      if (e.pointerId === this.pointer) this.move(e);
    });
    const end = (e: PointerEvent): void => {
      if (e.pointerId !== this.pointer) return;
      this.pointer = null;
      this.value = [0, 0];
      this.knob.style.transform = "";
    };
    this.element.addEventListener("pointerup", end);
    this.element.addEventListener("pointercancel", end);
  }

  /** The direction held now. */
  direction(): Direction {
    return this.value;
  }

  private move(e: PointerEvent): void {
    const r = this.element.getBoundingClientRect();
    const radius = r.width / 2;
    const vx = (e.clientX - (r.left + radius)) / radius;
    const vy = (e.clientY - (r.top + radius)) / radius;
    const len = Math.hypot(vx, vy);
    const k = len > 1 ? 1 / len : 1;
    this.knob.style.transform = `translate(${vx * k * radius * 0.6}px, ${vy * k * radius * 0.6}px)`;
    this.value = quantise(vx, vy);
  }
}

/** A stick deflection (unit circle) to one of eight directions, or none inside the dead zone. */
export function quantise(vx: number, vy: number): Direction {
  if (Math.hypot(vx, vy) < DEAD_ZONE) return [0, 0];
  // Eight 45° sectors centred on the axes and diagonals.
  const sector = Math.round(Math.atan2(vy, vx) / (Math.PI / 4));
  const dirs: Direction[] = [
    [1, 0],
    [1, 1],
    [0, 1],
    [-1, 1],
    [-1, 0],
    [-1, -1],
    [0, -1],
    [1, -1],
  ];
  return dirs[(sector + 8) % 8] ?? [0, 0];
}
