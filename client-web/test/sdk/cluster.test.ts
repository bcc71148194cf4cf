/**
 * The Client against a cluster (PROTOCOL.md, "Cluster mode"), the test playing every node: joins
 * answered with Redirect, the 4006 close after it, reconnects to the node the seat was on, and
 * the cluster's errors Unavailable and RoomLost.
 */
import {
  Client,
  ConnectionClosedError,
  JoinError,
  MAX_REDIRECTS,
  TooManyRedirects,
  type ClientOptions,
  type Room,
} from "@tickroom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CARDS_KINDS, fakeNetwork, joinArray, welcome, type FakeSocket } from "../fakes";

const JOIN = 0;
/** The node the Client is pointed at, and two others. */
const A = "ws://127.0.0.1:8080/ws";
const B = "ws://10.0.0.2:8080/ws";
const C = "ws://10.0.0.3:9000/ws";
const TICKET = "9f86d081884c7d659a2feaa0c55ad015";

function setup(options: ClientOptions = {}): { net: ReturnType<typeof fakeNetwork>; client: Client } {
  const net = fakeNetwork();
  // No jitter: random() = 0.5 gives the nominal delays (250, 500, 1000 ms, …).
  const client = new Client("http://127.0.0.1:8080", {
    transport: net.transport,
    random: () => 0.5,
    room: { pingIntervalMs: 1000 },
    ...options,
  });
  return { net, client };
}

/** The server side of a redirect: the Redirect, then the 4006 close. */
function redirect(s: FakeSocket, url: string, ticket: string | null): void {
  s.receive({ type: "redirect", url, ticket });
  s.drop(4006, "redirected");
}

/** A room seated on node B after one redirect from A, with token "7.1.b". */
async function seatedOnB(): Promise<{ net: ReturnType<typeof fakeNetwork>; room: Room }> {
  const { net, client } = setup();
  const joining = client.quickPlay("arena", "ann");
  net.last().open();
  redirect(net.last(), B, TICKET);
  net.last().open();
  net.last().receive(welcome({ player: 1, room: 7, token: "7.1.b" }));
  return { net, room: await joining };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("Client follows redirects", () => {
  /** A Redirect moves the join to its URL, with the ticket as the Join's tenth element. */
  it("follows a redirect with the ticket to the new URL", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("arena", "ann");
    const a = net.last();
    expect(a.url).toBe(A);
    a.open();
    expect(a.sentWithTag(JOIN)).toEqual([joinArray({})]);
    a.receive({ type: "redirect", url: B, ticket: TICKET });
    expect(a.closed).not.toBeNull();
    expect(net.sockets.length).toBe(2);
    const b = net.last();
    expect(b.url).toBe(B);
    expect(b.protocols).toEqual(["tickroom.v2"]);
    b.open();
    expect(b.sentWithTag(JOIN)).toEqual([joinArray({ ticket: TICKET })]);
    b.receive(welcome({ player: 3, room: 7, token: "7.3.x" }));
    const room = await joining;
    expect(room.seat).toMatchObject({ player: 3, room: 7 });
    expect(room.wsUrl).toBe(B);
    expect(room.status).toEqual({ state: "connected" });
  });

  /** The 4006 close after a Redirect (even before the new node answered) is no drop: no reconnect. */
  it("does not take the 4006 close for a drop", async () => {
    const { net, room } = await seatedOnB();
    // Reconnect after a real drop, redirected once more for the token: 4006 comes in the middle.
    net.last().drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    const b = net.last();
    b.drop(1006); // node B is gone: the Client tries A at once
    const a = net.last();
    expect(a.url).toBe(A);
    a.open();
    redirect(a, C, null);
    const c = net.last();
    expect(c.url).toBe(C);
    c.open();
    c.receive(welcome({ player: 1, room: 7, token: "7.1.c" }));
    expect(room.status).toEqual({ state: "connected" });
    const opened = net.sockets.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.sockets.length).toBe(opened);
    expect(room.status).toEqual({ state: "connected" });
    expect(room.wsUrl).toBe(C);
  });

  /** Up to MAX_REDIRECTS redirects in a row are followed; one more fails with a JoinError. */
  it("fails after more than 3 redirects", async () => {
    expect(MAX_REDIRECTS).toBe(3);
    const nodes = [B, C, A];
    // Exactly three: seated.
    const ok = setup();
    const joined = ok.client.quickPlay("arena", "ann");
    ok.net.last().open();
    for (const url of nodes) {
      redirect(ok.net.last(), url, TICKET);
      ok.net.last().open();
    }
    ok.net.last().receive(welcome());
    await expect(joined).resolves.toBeDefined();
    expect(ok.net.sockets.length).toBe(4);
    // Four: the fourth is not followed, and a first join does not retry it.
    const { net, client } = setup();
    const joining = client.quickPlay("arena", "ann");
    net.last().open();
    for (const url of nodes) {
      redirect(net.last(), url, TICKET);
      net.last().open();
    }
    redirect(net.last(), B, TICKET);
    const error: unknown = await joining.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JoinError);
    expect(error).toBeInstanceOf(TooManyRedirects);
    expect((error as JoinError).message).toMatch(/more than 3 times.*ws:\/\/10\.0\.0\.2:8080\/ws/);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.sockets.length).toBe(4);
  });

  /** A Redirect that names no WebSocket URL is refused like a malformed frame (1007). */
  it("refuses a redirect to a URL that is not ws:// or wss://", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("arena", "ann");
    net.last().open();
    net.last().receive({ type: "redirect", url: "http://10.0.0.2:8080/ws", ticket: TICKET });
    const error: unknown = await joining.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect((error as ConnectionClosedError).info.code).toBe(1007);
    expect(net.sockets.length).toBe(1);
  });

  /** A ticket that expired on the way (BadToken) gives way to the same join without it. */
  it("joins without the ticket when it expired", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("arena", "ann");
    net.last().open();
    redirect(net.last(), B, TICKET);
    const b = net.last();
    b.open();
    b.receive({ type: "error", code: 5, message: "unknown, expired or used seat ticket" });
    expect(b.sentWithTag(JOIN)).toEqual([joinArray({ ticket: TICKET }), joinArray({})]);
    b.receive(welcome());
    await expect(joining).resolves.toBeDefined();
  });
});

describe("Client reconnects in a cluster", () => {
  /** After a drop the token goes to the node the seat was on, not to the address first given. */
  it("reconnects to the node it was seated at", async () => {
    const { net, room } = await seatedOnB();
    expect(room.wsUrl).toBe(B);
    net.last().drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    const b = net.last();
    expect(b.url).toBe(B);
    b.open();
    expect(b.sentWithTag(JOIN)).toEqual([joinArray({ token: "7.1.b" })]);
    b.receive(welcome({ player: 1, room: 7, token: "7.1.c" }));
    expect(room.status).toEqual({ state: "connected" });
    expect(room.token).toBe("7.1.c");
  });

  /** When that node cannot be reached, the first address decides: here by redirecting the token. */
  it("asks the first address when the seat's node is unreachable", async () => {
    const { net, room } = await seatedOnB();
    const resumed: boolean[] = [];
    room.on("welcome", (w) => resumed.push(w.resumed));
    net.last().drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    net.last().drop(1006); // B refuses the connection: A is tried in the same attempt
    const a = net.last();
    expect(a.url).toBe(A);
    a.open();
    expect(a.sentWithTag(JOIN)).toEqual([joinArray({ token: "7.1.b" })]);
    redirect(a, B, null);
    const b = net.last();
    b.open();
    // A reconnect's redirect has no ticket: the same Join, with its token, again.
    expect(b.sentWithTag(JOIN)).toEqual([joinArray({ token: "7.1.b" })]);
    b.receive(welcome({ player: 1, room: 7, token: "7.1.c" }));
    expect(resumed).toEqual([true]);
    expect(room.status).toEqual({ state: "connected" });
  });

  /** RoomLost: the seat's node stopped with the room; quick match in the same game, not the room id. */
  it("falls back to quick match after RoomLost", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("cards", "ann");
    net.last().open();
    net.last().receive(welcome({ player: 4, room: 3, token: "3.4.old", game: "cards", kinds: CARDS_KINDS }));
    const room = await joining;
    const resumed: boolean[] = [];
    room.on("welcome", (w) => resumed.push(w.resumed));
    net.last().drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    const a = net.last();
    a.open();
    a.receive({ type: "error", code: 12, message: "the room's node stopped" });
    expect(a.sentWithTag(JOIN)).toEqual([joinArray({ game: "cards", token: "3.4.old" }), joinArray({ game: "cards" })]);
    redirect(a, B, TICKET);
    net.last().open();
    expect(net.last().sentWithTag(JOIN)).toEqual([joinArray({ game: "cards", ticket: TICKET })]);
    net.last().receive(welcome({ player: 1, room: 9, token: "9.1.new", game: "cards", kinds: CARDS_KINDS }));
    expect(resumed).toEqual([false]);
    expect(room.seat).toMatchObject({ room: 9, game: "cards" });
    expect(room.wsUrl).toBe(B);
  });
});

describe("Client and Unavailable", () => {
  /** A first join answered Unavailable is tried again after the backoff, and then seated. */
  it("retries a first join after Unavailable", async () => {
    const { net, client } = setup();
    const joining = client.create("cards", "ann", { mode: "quick" });
    net.last().open();
    net.last().receive({ type: "error", code: 11, message: "the room directory is unavailable" });
    expect(net.last().closed).not.toBeNull();
    expect(net.sockets.length).toBe(1);
    await vi.advanceTimersByTimeAsync(250);
    expect(net.sockets.length).toBe(2);
    net.last().open();
    net.last().receive({ type: "error", code: 11, message: "the room directory is unavailable" });
    await vi.advanceTimersByTimeAsync(500);
    net.last().open();
    expect(net.last().sentWithTag(JOIN)).toEqual([
      joinArray({ game: "cards", create: true, options: { mode: "quick" } }),
    ]);
    net.last().receive(welcome({ game: "cards", kinds: CARDS_KINDS }));
    await expect(joining).resolves.toBeDefined();
    expect(net.sockets.length).toBe(3);
  });

  /** Unavailable keeps failing: the first join gives up after maxJoinAttempts with that JoinError. */
  it("gives up a first join after maxJoinAttempts", async () => {
    const { net, client } = setup({ maxJoinAttempts: 2 });
    const joining = client.quickPlay("arena", "ann");
    const error = joining.catch((e: unknown) => e);
    net.last().open();
    net.last().receive({ type: "error", code: 11, message: "" });
    await vi.advanceTimersByTimeAsync(250);
    net.last().open();
    net.last().receive({ type: "error", code: 11, message: "" });
    expect(await error).toMatchObject({ code: 11 });
    expect(net.sockets.length).toBe(2);
  });

  /** While reconnecting, Unavailable is retried with the token (it says nothing about the seat). */
  it("retries the token after Unavailable while reconnecting", async () => {
    const { net, room } = await seatedOnB();
    net.last().drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    net.last().open();
    net.last().receive({ type: "error", code: 11, message: "" });
    expect(net.last().sentWithTag(JOIN)).toEqual([joinArray({ token: "7.1.b" })]);
    await vi.advanceTimersByTimeAsync(0);
    expect(room.status).toMatchObject({ state: "reconnecting", attempt: 2 });
    await vi.advanceTimersByTimeAsync(500);
    expect(net.last().url).toBe(B);
    net.last().open();
    expect(net.last().sentWithTag(JOIN)).toEqual([joinArray({ token: "7.1.b" })]);
    net.last().receive(welcome({ player: 1, room: 7, token: "7.1.c" }));
    expect(room.status).toEqual({ state: "connected" });
  });
});
