/** Draws the arena on a canvas: the whole 1000 x 1000 world, scaled to fit. */
import { colorOf } from "../../ui/colors";
import { context2d, fitToElement, pixelRatio } from "../canvas";
import type { Sprite } from "./ArenaGame";
import { WORLD_SIZE } from "./rules";

/** Radius of a player, world units. */
const PLAYER_RADIUS = 12;
/** Radius of an orb, world units (the pickup radius is 16). */
const ORB_RADIUS = 7;
/** Grid spacing, world units. */
const GRID = 100;

export class ArenaRenderer {
  private readonly ctx: CanvasRenderingContext2D;
  private scale = 1;
  private originX = 0;
  private originY = 0;

  constructor(readonly canvas: HTMLCanvasElement) {
    this.ctx = context2d(canvas);
  }

  /** The page position (CSS pixels) of a world point, as last drawn. */
  toScreen(x: number, y: number): { x: number; y: number } {
    const dpr = pixelRatio();
    const r = this.canvas.getBoundingClientRect();
    return { x: r.left + (this.originX + x * this.scale) / dpr, y: r.top + (this.originY + y * this.scale) / dpr };
  }

  /** Matches the backing store to the element's size and fits the world in it. */
  private resize(): void {
    const { width: w, height: h, dpr } = fitToElement(this.canvas);
    const margin = 16 * dpr;
    this.scale = Math.max(0.01, Math.min(w - 2 * margin, h - 2 * margin) / WORLD_SIZE);
    this.originX = (w - WORLD_SIZE * this.scale) / 2;
    this.originY = (h - WORLD_SIZE * this.scale) / 2;
  }

  draw(sprites: readonly Sprite[]): void {
    this.resize();
    const { ctx, scale } = this;
    const size = WORLD_SIZE * scale;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#0b0f17";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.translate(this.originX, this.originY);
    ctx.fillStyle = "#121a28";
    ctx.fillRect(0, 0, size, size);
    ctx.strokeStyle = "#1d2940";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let g = GRID; g < WORLD_SIZE; g += GRID) {
      ctx.moveTo(g * scale, 0);
      ctx.lineTo(g * scale, size);
      ctx.moveTo(0, g * scale);
      ctx.lineTo(size, g * scale);
    }
    ctx.stroke();
    ctx.strokeStyle = "#3a4d73";
    ctx.lineWidth = 2;
    ctx.strokeRect(0, 0, size, size);
    for (const s of sprites) {
      if (s.kind === "orb") this.drawOrb(s);
      else this.drawPlayer(s);
    }
  }

  private drawOrb(s: Sprite): void {
    const { ctx, scale } = this;
    ctx.beginPath();
    ctx.arc(s.x * scale, s.y * scale, Math.max(3, ORB_RADIUS * scale), 0, Math.PI * 2);
    ctx.fillStyle = "#ffd34d";
    ctx.shadowColor = "#ffd34d";
    ctx.shadowBlur = 10;
    ctx.fill();
    ctx.shadowBlur = 0;
  }

  private drawPlayer(s: Sprite): void {
    const { ctx, scale } = this;
    const r = Math.max(5, PLAYER_RADIUS * scale);
    const x = s.x * scale;
    const y = s.y * scale;
    ctx.globalAlpha = s.connected ? 1 : 0.35;
    ctx.beginPath();
    ctx.arc(x, y, r, 0, Math.PI * 2);
    ctx.fillStyle = colorOf(s.owner);
    ctx.fill();
    if (s.self) {
      ctx.lineWidth = 3;
      ctx.strokeStyle = "#ffffff";
      ctx.stroke();
    }
    const fontPx = Math.max(11, Math.round(13 * pixelRatio()));
    ctx.font = `${s.self ? "bold " : ""}${fontPx}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillStyle = "#e8eefc";
    ctx.fillText(`${s.name} ${s.score}`, x, y - r - 3);
    ctx.globalAlpha = 1;
  }
}
