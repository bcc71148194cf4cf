/**
 * The shooter's pointer controls on its canvas. Mouse: aim at the pointer, hold a button to
 * fire. Touch: a finger on the left half is a stick (its start point is the centre), a finger on
 * the right half aims at that point and fires while it stays down.
 */
import type { Direction } from "../../input/Keyboard";
import { quantise } from "../../input/TouchStick";
import { aimFrom } from "./rules";

/** Stick deflection (CSS pixels) that counts as full. */
const STICK_RADIUS = 50;

export class PointerControls {
  /** The aim from the last pointer position (null until the pointer moved over the canvas). */
  aim: number | null = null;
  private mouseFire = false;
  private stickPointer: number | null = null;
  private stickOrigin = { x: 0, y: 0 };
  private stickValue: Direction = [0, 0];
  private firePointer: number | null = null;
  private readonly offs: Array<() => void> = [];

  constructor(private readonly canvas: HTMLCanvasElement) {
    const on = <K extends keyof HTMLElementEventMap>(type: K, f: (e: HTMLElementEventMap[K]) => void): void => {
      canvas.addEventListener(type, f);
      this.offs.push(() => canvas.removeEventListener(type, f));
    };
    on("pointerdown", (e) => {
      if (e.pointerType === "mouse") {
        this.aimAt(e);
        this.mouseFire = true;
        return;
      }
      canvas.setPointerCapture(e.pointerId);
      e.preventDefault();
      const r = canvas.getBoundingClientRect();
      if (e.clientX < r.left + r.width / 2 && this.stickPointer === null) {
        this.stickPointer = e.pointerId;
        this.stickOrigin = { x: e.clientX, y: e.clientY };
        this.stickValue = [0, 0];
      } else {
        this.firePointer = e.pointerId;
        this.aimAt(e);
      }
    });
    on("pointermove", (e) => {
      if (e.pointerId === this.stickPointer) {
        const vx = (e.clientX - this.stickOrigin.x) / STICK_RADIUS;
        const vy = (e.clientY - this.stickOrigin.y) / STICK_RADIUS;
        this.stickValue = quantise(vx, vy);
      } else if (e.pointerType === "mouse" || e.pointerId === this.firePointer) {
        this.aimAt(e);
      }
    });
    const end = (e: PointerEvent): void => {
      if (e.pointerType === "mouse") this.mouseFire = false;
      if (e.pointerId === this.stickPointer) {
        this.stickPointer = null;
        this.stickValue = [0, 0];
      }
      if (e.pointerId === this.firePointer) this.firePointer = null;
    };
    on("pointerup", end);
    on("pointercancel", end);
    on("contextmenu", (e) => e.preventDefault());
  }

  /** The touch stick's direction. */
  direction(): Direction {
    return this.stickValue;
  }

  /** True while a mouse button or a right-half finger is down. */
  get firing(): boolean {
    return this.mouseFire || this.firePointer !== null;
  }

  /** Forgets held buttons (the window lost focus: no pointerup will come). */
  release(): void {
    this.mouseFire = false;
    this.firePointer = null;
    this.stickPointer = null;
    this.stickValue = [0, 0];
  }

  dispose(): void {
    for (const off of this.offs) off();
  }

  /** Aims from the canvas centre (where the own ship is drawn) to the pointer. */
  private aimAt(e: PointerEvent): void {
    const r = this.canvas.getBoundingClientRect();
    const dx = e.clientX - (r.left + r.width / 2);
    const dy = e.clientY - (r.top + r.height / 2);
    if (dx !== 0 || dy !== 0) this.aim = aimFrom(dx, dy);
  }
}
