/** Where the admin page is: the overview, or one room (`/admin#room=ID`). */
export type Route = { readonly view: "overview" } | { readonly view: "room"; readonly room: number };

/** The route of a location hash: `#room=12` is room 12, anything else the overview. */
export function parseRoute(hash: string): Route {
  const m = /^#room=(\d{1,10})$/.exec(hash);
  const room = m?.[1] === undefined ? NaN : Number(m[1]);
  return Number.isSafeInteger(room) && room > 0 && room <= 0xffff_ffff ? { view: "room", room } : { view: "overview" };
}

/** The hash of a room's page. */
export function roomHash(room: number): string {
  return `#room=${room}`;
}
