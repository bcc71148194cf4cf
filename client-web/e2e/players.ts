/**
 * What the specs share: a player is a browser context of its own (separate storage, like a second
 * device) whose page only reaches the local server. With `droppable`, its WebSockets go through
 * a route so a spec can drop the connection as a network failure would (only then: the route
 * relays every frame through the test runner, which adds latency). The page's state is read through
 * the app's read-only `window.__tickroom` view (canvas games show no text to read).
 */
import { expect, type Browser, type BrowserContext, type Page, type WebSocketRoute } from "@playwright/test";
import type { DebugEntity, DebugState } from "../src/debugView";

/** The server's URL, from the global setup. */
export function serverUrl(): string {
  const url = process.env["TICKROOM_URL"];
  if (!url) throw new Error("TICKROOM_URL is not set: the global setup did not run");
  return url;
}

export interface Player {
  readonly name: string;
  readonly page: Page;
  readonly context: BrowserContext;
  /** The page's seat and replica (null in the lobby). */
  state(): Promise<DebugState | null>;
  /** Waits until the page is seated (or watching), connected and has a replica; returns that state. */
  connected(): Promise<DebugState>;
  /**
   * Drops the current connection: the server sees a close without Leave (it holds the seat), the
   * page sees 1006, as when a network fails.
   */
  dropConnection(): Promise<void>;
  close(): Promise<void>;
}

export interface PlayerOptions {
  /** The server to open (default: the global one). */
  url?: string;
  /** The page's location hash, e.g. `#room=3`. */
  hash?: string;
  /** Route the WebSockets so that dropConnection() works. */
  droppable?: boolean;
  /** Fill in the name (default true); a `#watch=ID` page needs none and shows no lobby to fill. */
  fillName?: boolean;
  /** Called with the page before it opens (to listen to its WebSockets from the first frame). */
  beforeOpen?: (page: Page) => void;
}

/** Opens the lobby in a new context and fills in the player's name. */
export async function openPlayer(browser: Browser, name: string, options: PlayerOptions = {}): Promise<Player> {
  const context = await browser.newContext();
  // Only the local server: any other request is refused, so nothing leaves the machine.
  await context.route(/^(?!https?:\/\/127\.0\.0\.1[:/]|data:|blob:)/, (route) => route.abort());
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`e2e: page error (${name}): ${e.message}`));
  let current: { ws: WebSocketRoute; drop(): Promise<void> } | null = null;
  if (options.droppable) {
    await page.routeWebSocket(/\/ws$/, (ws) => {
      const server = ws.connectToServer();
      let dropping = false;
      // Forward the server's close as is, except for a drop, which the page must see as 1006.
      server.onClose((code, reason) => {
        void ws.close(dropping ? { code: 1006 } : { ...(code !== undefined ? { code } : {}), reason: reason ?? "" });
      });
      current = {
        ws,
        async drop() {
          dropping = true;
          // 4100: an application code the browser may send; the server treats any close without
          // Leave alike and holds the seat.
          await server.close({ code: 4100, reason: "dropped by the test" });
        },
      };
    });
  }
  options.beforeOpen?.(page);
  await page.goto(`${options.url ?? serverUrl()}/${options.hash ?? ""}`);
  if (options.fillName ?? true) await page.getByTestId("name-input").fill(name);
  const state = (): Promise<DebugState | null> => page.evaluate(() => window.__tickroom?.state() ?? null);
  return {
    name,
    page,
    context,
    state,
    async connected() {
      let last: DebugState | null = null;
      await expect
        .poll(
          async () => {
            last = await state();
            return last?.status === "connected" && last.tick !== null;
          },
          { message: `${name} to be connected with a replica` },
        )
        .toBe(true);
      return last as unknown as DebugState;
    },
    async dropConnection() {
      if (!current) throw new Error(`${name} has no droppable connection (open it with droppable: true)`);
      await current.drop();
    },
    close: () => context.close(),
  };
}

/** The entities of a kind in a state. */
export function entitiesOf(state: DebugState | null, kind: string): DebugEntity[] {
  return state?.entities.filter((e) => e.kind === kind) ?? [];
}

/** The entity of `kind` whose `field` is `player` (the player's own ship, player, …). */
export function ownedBy(state: DebugState | null, kind: string, player: number, field = "owner"): DebugEntity | null {
  return entitiesOf(state, kind).find((e) => e.fields[field] === player) ?? null;
}

/** A number field of an entity (0 when absent). */
export function num(e: DebugEntity | null, field: string): number {
  const v = e?.fields[field];
  return typeof v === "number" ? v : 0;
}
