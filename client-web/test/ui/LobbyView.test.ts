// @vitest-environment happy-dom
/**
 * The lobby's LAN part: with LAN addresses from `/api/info` it links each and shows a QR code of
 * the first (an SVG image); without any (the server listens on one address) it shows neither.
 * The browser test (e2e/lan.spec.ts) decodes the rendered QR code. The room list: each room's
 * spectators and a Watch link.
 */
import { PROTOCOL_VERSION, type Client, type ReplayListing, type RoomListing, type ServerInfo } from "@tickroom/client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { roomFromHash, watchFromHash, watchLink } from "../../src/ui/dom";
import { LobbyView } from "../../src/ui/LobbyView";

function info(lanUrls: string[]): ServerInfo {
  return {
    protocolVersion: PROTOCOL_VERSION,
    subprotocol: "tickroom.v2",
    defaultGame: "arena",
    games: [{ name: "arena", tickRate: 30, onChange: false, capacity: 16, kinds: [] }],
    lanUrls,
    node: null,
  };
}

/** A client that answers the lobby's look-ups from memory. */
function fakeClient(served: ServerInfo, rooms: RoomListing[], replays: ReplayListing[]): Client {
  const client: Pick<Client, "info" | "rooms" | "replays"> = {
    info: () => Promise.resolve(served),
    rooms: () => Promise.resolve(rooms),
    replays: () => Promise.resolve(replays),
  };
  return client as Client;
}

const lobbies: LobbyView[] = [];

function lobby(served: ServerInfo, rooms: RoomListing[] = [], replays: ReplayListing[] = []): LobbyView {
  const view = new LobbyView(fakeClient(served, rooms, replays), new Map(), () => undefined, null, null);
  lobbies.push(view);
  document.body.replaceChildren(view.root);
  return view;
}

afterEach(() => {
  for (const view of lobbies.splice(0)) view.dispose();
});

describe("LobbyView LAN links", () => {
  /** Every LAN address is a link; the QR code is of the first, as an SVG image with its URL as alt text. */
  it("links every LAN address and shows a QR code of the first", async () => {
    const view = lobby(info(["http://192.168.1.20:8080/", "http://10.0.0.5:8080/"]));
    await vi.waitFor(() => expect(view.root.querySelector("[data-testid=lan-qr]")).not.toBeNull());
    const links = [...view.root.querySelectorAll<HTMLAnchorElement>("[data-testid=lan-url]")];
    expect(links.map((a) => a.getAttribute("href"))).toEqual(["http://192.168.1.20:8080/", "http://10.0.0.5:8080/"]);
    const qr = view.root.querySelector<HTMLImageElement>("[data-testid=lan-qr]");
    expect(qr?.getAttribute("alt")).toBe("QR code of http://192.168.1.20:8080/");
    expect(qr?.dataset["url"]).toBe("http://192.168.1.20:8080/");
    const src = qr?.getAttribute("src") ?? "";
    expect(src.startsWith("data:image/svg+xml;charset=utf-8,")).toBe(true);
    const svg = decodeURIComponent(src.slice(src.indexOf(",") + 1));
    expect(svg).toMatch(/^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain("<path");
  });

  /** A server on one address has no LAN links: no text, no QR code. */
  it("shows nothing without LAN addresses", async () => {
    const view = lobby(info([]));
    await vi.waitFor(() => expect(view.root.querySelector("[data-testid=game-arena]")).not.toBeNull());
    expect(view.root.querySelector("[data-testid=lan-urls]")?.childNodes.length).toBe(0);
    expect(view.root.querySelector("[data-testid=lan-qr]")).toBeNull();
  });
});

describe("LobbyView room list", () => {
  const listing = (id: number, spectators: number | null): RoomListing => ({
    id,
    game: "arena",
    players: 2,
    capacity: 16,
    spectators,
    tickRate: 30,
    onChange: false,
    locked: false,
    metadata: {},
    node: null,
    url: null,
  });

  /** Each room shows its spectators ("–" from a server that does not count them) and a Watch link. */
  it("shows spectators and a Watch link per room", async () => {
    const view = lobby(info([]), [listing(5, 3), listing(6, null)]);
    await vi.waitFor(() => expect(view.root.querySelector("[data-testid=room-spectators-5]")).not.toBeNull());
    expect(view.root.querySelector("[data-testid=room-spectators-5]")?.textContent).toBe("3");
    expect(view.root.querySelector("[data-testid=room-spectators-6]")?.textContent).toBe("–");
    const watch = view.root.querySelector<HTMLAnchorElement>("[data-testid=watch-room-5]");
    expect(watch?.getAttribute("href")).toBe(`${location.origin}/#watch=5`);
  });

  /** `#watch=ID` and `#room=ID` are told apart. */
  it("reads watch and room links", () => {
    expect(watchFromHash("#watch=12")).toBe(12);
    expect(watchFromHash("#room=12")).toBeNull();
    expect(roomFromHash("#watch=12")).toBeNull();
    expect(roomFromHash("#room=12")).toBe(12);
    expect(watchFromHash("#watch=x")).toBeNull();
    expect(watchLink(7, "http://10.0.0.5:8080")).toBe("http://10.0.0.5:8080/#watch=7");
  });
});

describe("LobbyView replays", () => {
  const recording: ReplayListing = {
    name: "arena-room3-20261201T060000.000Z.trec",
    game: "arena",
    room: 3,
    ticks: 900,
    tickRate: 30,
    durationSecs: 30,
    size: 12345,
    startedMs: 1_796_190_503_123,
    complete: true,
  };

  /** Each recording is a row with a `#replay=NAME` link; the section is hidden when there are none. */
  it("lists recordings with a link to watch each, and nothing without any", async () => {
    const view = lobby(info([]), [], [recording]);
    await vi.waitFor(() => expect(view.root.querySelector("[data-testid=replay-link]")).not.toBeNull());
    const link = view.root.querySelector<HTMLAnchorElement>("[data-testid=replay-link]");
    expect(link?.getAttribute("href")).toBe("#replay=arena-room3-20261201T060000.000Z.trec");
    expect(view.root.querySelector("[data-testid=replay-row]")?.textContent).toContain("30.0 s");
    const empty = lobby(info([]));
    await vi.waitFor(() => expect(empty.root.querySelector("[data-testid=game-arena]")).not.toBeNull());
    expect(empty.root.querySelector("[data-testid=replay-list]")?.classList.contains("hidden")).toBe(true);
  });
});
