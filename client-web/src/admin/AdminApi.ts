/**
 * The admin endpoints over fetch, with the operator's token (if one was entered) as a bearer
 * header. The token lives in `sessionStorage`: it survives a reload but not the tab, and is
 * never put in a URL (URLs end up in logs and history).
 */
import { parseRoomDetail } from "./parse";
import type { RoomDetail } from "./types";

const TOKEN_KEY = "tickroom.adminToken";

/** The server refused the request: 401 (a token is needed, or it was wrong) or 403. */
export class AccessDenied extends Error {
  override readonly name = "AccessDenied";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Any other failure of an admin request, with the server's one-line reason when it gave one. */
export class RequestFailed extends Error {
  override readonly name = "RequestFailed";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The part of `fetch` the page uses (the tests pass their own). */
export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** The part of `Storage` the page uses. */
export type TokenStore = Pick<Storage, "getItem" | "setItem" | "removeItem">;

/** The server's one-line reason, without its "tickroom: " prefix. */
async function reason(res: Response): Promise<string> {
  const text = (await res.text().catch(() => "")).trim();
  return text.replace(/^tickroom:\s*/, "") || `HTTP ${res.status}`;
}

export class AdminApi {
  constructor(
    private readonly base: string,
    private readonly store: TokenStore,
    private readonly fetchFn: Fetch = (input, init) => fetch(input, init),
  ) {}

  /** The token entered on the login form, if any. */
  get token(): string | null {
    return this.store.getItem(TOKEN_KEY);
  }

  /** Keeps the token for this tab (null forgets it). */
  setToken(token: string | null): void {
    if (token === null || token === "") this.store.removeItem(TOKEN_KEY);
    else this.store.setItem(TOKEN_KEY, token);
  }

  /** Headers for every admin request. */
  headers(): Record<string, string> {
    const token = this.token;
    return token === null ? {} : { Authorization: `Bearer ${token}` };
  }

  /** `GET` or `POST` an admin path; throws `AccessDenied` or `RequestFailed`. */
  async request(method: "GET" | "POST", path: string, signal?: AbortSignal): Promise<Response> {
    const init: RequestInit = { method, headers: this.headers(), cache: "no-store" };
    if (signal) init.signal = signal;
    const res = await this.fetchFn(`${this.base}${path}`, init);
    if (res.status === 401 || res.status === 403) throw new AccessDenied(res.status, await reason(res));
    if (!res.ok) throw new RequestFailed(res.status, await reason(res));
    return res;
  }

  /** A room's seats; null when the room is not (or no longer) on this server. */
  async room(id: number): Promise<RoomDetail | null> {
    try {
      const res = await this.request("GET", `/api/admin/rooms/${id}`);
      return parseRoomDetail(await res.json());
    } catch (e) {
      if (e instanceof RequestFailed && e.status === 404) return null;
      throw e;
    }
  }

  /** Closes a room (its members get 1000 "closed by the operator"). */
  async closeRoom(id: number): Promise<void> {
    await this.request("POST", `/api/admin/rooms/${id}/close`);
  }

  /** Kicks a player (close 4007, seat freed). */
  async kick(room: number, player: number): Promise<void> {
    await this.request("POST", `/api/admin/rooms/${room}/kick/${player}`);
  }
}
