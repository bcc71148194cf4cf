/**
 * Draws the shooter on a canvas: a camera centred on the own ship, the map's grid and edge (the
 * scene gives the map's size), ships, bullets.
 */
import { colorOf } from "../../ui/colors";
import { context2d, fitToElement, pixelRatio } from "../canvas";
import { aimToRadians } from "./rules";
import type { Scene, ShipSprite } from "./ShooterGame";

/** World units visible across the canvas's shorter side. */
const VIEW_SPAN = 1000;
/** Ship radius, world units (a bullet within 20 units hits). */
const SHIP_RADIUS = 16;
const BULLET_RADIUS = 4;
const GRID = 100;

export class ShooterRenderer {
  private readonly ctx: CanvasRenderingContext2D;
  /** Device pixels per world unit, and the world point at the canvas centre, as last drawn. */
  private scale = 1;
  private camera = { x: 0, y: 0 };

  constructor(readonly canvas: HTMLCanvasElement) {
    this.ctx = context2d(canvas);
  }

  /** The page position (CSS pixels) of a world point, as last drawn. */
  toScreen(x: number, y: number): { x: number; y: number } {
    const dpr = pixelRatio();
    const r = this.canvas.getBoundingClientRect();
    return {
      x: r.left + r.width / 2 + ((x - this.camera.x) * this.scale) / dpr,
      y: r.top + r.height / 2 + ((y - this.camera.y) * this.scale) / dpr,
    };
  }

  draw(scene: Scene): void {
    const { width: w, height: h } = fitToElement(this.canvas);
    this.scale = Math.min(w, h) / VIEW_SPAN;
    this.camera = scene.camera;
    const { ctx, scale } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#05070c";
    ctx.fillRect(0, 0, w, h);
    // World coordinates from here on.
    ctx.setTransform(scale, 0, 0, scale, w / 2 - scene.camera.x * scale, h / 2 - scene.camera.y * scale);
    ctx.fillStyle = "#0e1420";
    ctx.fillRect(0, 0, scene.mapSize, scene.mapSize);
    this.drawGrid(w, h, scene.mapSize);
    ctx.strokeStyle = "#ff6b6b";
    ctx.lineWidth = 4 / scale;
    ctx.strokeRect(0, 0, scene.mapSize, scene.mapSize);
    ctx.fillStyle = "#ffe27a";
    for (const b of scene.bullets) {
      ctx.beginPath();
      ctx.arc(b.x, b.y, BULLET_RADIUS, 0, Math.PI * 2);
      ctx.fill();
    }
    for (const s of scene.ships) this.drawShip(s);
  }

  private drawGrid(w: number, h: number, mapSize: number): void {
    const { ctx, scale, camera } = this;
    const halfW = w / 2 / scale;
    const halfH = h / 2 / scale;
    const x0 = Math.max(0, Math.floor((camera.x - halfW) / GRID) * GRID);
    const x1 = Math.min(mapSize, camera.x + halfW);
    const y0 = Math.max(0, Math.floor((camera.y - halfH) / GRID) * GRID);
    const y1 = Math.min(mapSize, camera.y + halfH);
    ctx.strokeStyle = "#1a2436";
    ctx.lineWidth = 1 / scale;
    ctx.beginPath();
    for (let x = x0; x <= x1; x += GRID) {
      ctx.moveTo(x, Math.max(0, y0));
      ctx.lineTo(x, y1);
    }
    for (let y = y0; y <= y1; y += GRID) {
      ctx.moveTo(Math.max(0, x0), y);
      ctx.lineTo(x1, y);
    }
    ctx.stroke();
  }

  private drawShip(s: ShipSprite): void {
    const { ctx, scale } = this;
    ctx.save();
    ctx.globalAlpha = s.alive ? 1 : 0.25;
    ctx.translate(s.x, s.y);
    ctx.save();
    ctx.rotate(aimToRadians(s.aim));
    ctx.beginPath();
    ctx.moveTo(SHIP_RADIUS * 1.4, 0);
    ctx.lineTo(-SHIP_RADIUS, SHIP_RADIUS * 0.9);
    ctx.lineTo(-SHIP_RADIUS * 0.5, 0);
    ctx.lineTo(-SHIP_RADIUS, -SHIP_RADIUS * 0.9);
    ctx.closePath();
    ctx.fillStyle = colorOf(s.owner);
    ctx.fill();
    if (s.self) {
      ctx.lineWidth = 2.5 / scale;
      ctx.strokeStyle = "#ffffff";
      ctx.stroke();
    }
    ctx.restore();
    // Health bar and name above the ship.
    const barW = SHIP_RADIUS * 2.4;
    ctx.fillStyle = "#3a1c1c";
    ctx.fillRect(-barW / 2, -SHIP_RADIUS - 12, barW, 4);
    ctx.fillStyle = s.hp > 50 ? "#6be39b" : s.hp > 25 ? "#ffb347" : "#ff6b6b";
    ctx.fillRect(-barW / 2, -SHIP_RADIUS - 12, (barW * Math.max(0, Math.min(100, s.hp))) / 100, 4);
    ctx.font = `${Math.max(11, 13 / scale)}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillStyle = "#e8eefc";
    ctx.fillText(s.name, 0, -SHIP_RADIUS - 14);
    ctx.restore();
  }
}
