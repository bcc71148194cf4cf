/** A tiny helper to build DOM trees without innerHTML (names and chat are user text). */

type Child = Node | string | null | undefined | false;

/** Creates `<tag>` with properties/attributes and children. `on*` functions become listeners. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, string | number | boolean | ((ev: Event) => void)> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (typeof value === "function") node.addEventListener(key.slice(2).toLowerCase(), value);
    else if (typeof value === "boolean") node.toggleAttribute(key, value);
    else node.setAttribute(key, String(value));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

/** The share link for a room on this server. */
export function shareLink(room: number, origin: string = location.origin): string {
  return `${origin}/#room=${room}`;
}

/** The link that watches a room on this server as a spectator. */
export function watchLink(room: number, origin: string = location.origin): string {
  return `${origin}/#watch=${room}`;
}

/** The room id in a location hash like "#room=12", or null. */
export function roomFromHash(hash: string): number | null {
  return idFromHash(hash, "room");
}

/** The room id in a location hash like "#watch=12" (a room to watch), or null. */
export function watchFromHash(hash: string): number | null {
  return idFromHash(hash, "watch");
}

function idFromHash(hash: string, key: "room" | "watch"): number | null {
  const m = new RegExp(`(?:^#|&)${key}=(\\d+)`).exec(hash);
  if (!m?.[1]) return null;
  const id = Number(m[1]);
  return Number.isSafeInteger(id) ? id : null;
}

/** The page of a recording: `#replay=NAME`. */
export function replayLink(name: string): string {
  return `#replay=${encodeURIComponent(name)}`;
}

/** The recording named in a location hash like "#replay=arena-room1-….trec", or null. */
export function replayFromHash(hash: string): string | null {
  const m = /(?:^#|&)replay=([^&]+)/.exec(hash);
  if (!m?.[1]) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}
