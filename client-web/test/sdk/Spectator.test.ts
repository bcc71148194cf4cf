/**
 * Watching a room (`client.watch`): the Watch on the wire, the Watching that answers it, the
 * replica and roster of a spectator, its refusals as JoinErrors, Redirects followed without a
 * ticket, the Watch sent again after a drop, and the room's end as final.
 */
import {
  Client,
  ConnectionClosedError,
  ErrorCode,
  JoinError,
  MAX_REDIRECTS,
  TooManyRedirects,
  type RoomFeed,
  type RoomStatus,
  type ServerMessage,
  type Spectator,
} from "@tickroom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { added, CARDS_KINDS, changed, delta, fakeNetwork, segment, snapshot, type FakeSocket } from "../fakes";

const WATCH = 7;
const B = "ws://10.0.0.2:8080/ws";

function setup(): { net: ReturnType<typeof fakeNetwork>; client: Client } {
  const net = fakeNetwork();
  // No jitter: random() = 0.5 gives the nominal delays (250, 500, 1000 ms, …).
  const client = new Client("http://127.0.0.1:8080", {
    transport: net.transport,
    random: () => 0.5,
    room: { pingIntervalMs: 1000 },
  });
  return { net, client };
}

/** A Watching for a cards room. */
function watching(o: { room?: number; tick?: number } = {}): ServerMessage {
  return {
    type: "watching",
    room: o.room ?? 4,
    game: "cards",
    tickRate: 10,
    onChange: true,
    tick: o.tick ?? 50,
    kinds: CARDS_KINDS,
  };
}

/** The table (id 1) and the hand counts of players 1 and 2 (ids 2, 3): what a cards spectator sees. */
const TABLE = segment({ added: [added(1, 0, [1, 1, 20, 0, 30, 80]), added(2, 1, [1, 7]), added(3, 1, [2, 7])] });

/** A spectator of room 4, watching with a Snapshot applied. */
async function watchingRoom4(): Promise<{ net: ReturnType<typeof fakeNetwork>; spectator: Spectator }> {
  const { net, client } = setup();
  const watch = client.watch(4);
  const s = net.last();
  s.open();
  s.receive(watching());
  s.receive({ type: "roster", players: [{ player: 1, name: "ann", connected: true }] });
  s.receive(snapshot(51, [TABLE]));
  return { net, spectator: await watch };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("Client.watch", () => {
  /** Watch [7, 2, room] goes out; Watching, Roster and Snapshot make a spectator with a replica. */
  it("watches a room", async () => {
    const { net, client } = setup();
    const watch = client.watch(4);
    const s = net.last();
    expect(s.url).toBe("ws://127.0.0.1:8080/ws");
    expect(s.protocols).toEqual(["tickroom.v2"]);
    s.open();
    expect(s.sentWithTag(WATCH)).toEqual([[7, 2, 4]]);
    expect(s.sentWithTag(0)).toEqual([]);
    s.receive(watching());
    s.receive({ type: "roster", players: [{ player: 1, name: "ann", connected: true }] });
    s.receive(snapshot(51, [TABLE]));
    const spectator = await watch;
    expect(spectator.info).toEqual({ room: 4, game: "cards", tickRate: 10, onChange: true, kinds: CARDS_KINDS });
    expect(spectator.id).toBe(4);
    expect(spectator.player).toBeNull();
    expect(spectator.roster).toEqual([{ player: 1, name: "ann", connected: true }]);
    expect(spectator.status).toEqual({ state: "connected" });
    expect(spectator.replica.tick).toBe(51);
    expect(spectator.replica.entities("hand").map((h) => h.get("cards"))).toEqual([7, 7]);
    expect(spectator.replica.entities("card")).toEqual([]);
    // Pings and Resync are a spectator's to send.
    expect(s.sentWithTag(2).length).toBeGreaterThan(0);
    expect(spectator.resync()).toBe(true);
    expect(s.sentWithTag(5)).toEqual([[5]]);
  });

  /** Deltas, chat lines and game events reach a spectator's listeners as they reach a player's. */
  it("reads state, chat and events", async () => {
    const { net, spectator } = await watchingRoom4();
    const seen: string[] = [];
    spectator.on("state", ({ tick }) => seen.push(`state ${tick}`));
    spectator.on("event", (e) => seen.push(`event ${e.name}`));
    spectator.on("chat", (c) => seen.push(`chat ${c.name}: ${c.text}`));
    net
      .last()
      .receive(delta(52, [segment({ changed: [changed(2, { 1: -1 })] })], { events: [{ name: "draw", payload: 1 }] }));
    net.last().receive({ type: "chat", player: 1, name: "ann", text: "hi" });
    expect(seen).toEqual(["state 52", "event draw", "chat ann: hi"]);
    expect(spectator.replica.entity(2)?.get("cards")).toBe(6);
  });

  /** The type offers no way to send inputs, commands or chat (checked by tsc over the tests). */
  it("has nothing to send", async () => {
    const { spectator } = await watchingRoom4();
    // @ts-expect-error a spectator sends no inputs
    expect(spectator.sendInput).toBeUndefined();
    // @ts-expect-error nor commands
    expect(spectator.command).toBeUndefined();
    // @ts-expect-error nor chat
    expect(spectator.sendChat).toBeUndefined();
    // What every member reads is there, under the type a renderer takes.
    const feed: RoomFeed = spectator;
    expect(feed.replica).toBe(spectator.replica);
  });

  /** SpectatorsFull and RoomNotFound reject the watch as typed JoinErrors and close the socket. */
  it.each([
    [ErrorCode.SpectatorsFull, /as many spectators/],
    [ErrorCode.RoomNotFound, /does not exist/],
  ])("rejects with error %i", async (code, words) => {
    const { net, client } = setup();
    const watch = client.watch(4);
    net.last().open();
    net.last().receive({ type: "error", code, message: "" });
    const error: unknown = await watch.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JoinError);
    expect((error as JoinError).code).toBe(code);
    expect((error as JoinError).message).toMatch(words);
    expect(net.last().closed).not.toBeNull();
    expect(net.sockets).toHaveLength(1);
  });

  /** A cluster's Unavailable is tried again on a new connection, as for a first join. */
  it("retries Unavailable", async () => {
    const { net, client } = setup();
    const watch = client.watch(4);
    net.last().open();
    net.last().receive({ type: "error", code: ErrorCode.Unavailable, message: "directory away" });
    await vi.advanceTimersByTimeAsync(250);
    expect(net.sockets).toHaveLength(2);
    net.last().open();
    expect(net.last().sentWithTag(WATCH)).toEqual([[7, 2, 4]]);
    net.last().receive(watching());
    await expect(watch).resolves.toMatchObject({ id: 4 });
  });

  /** A Redirect (no ticket) sends the same Watch to the node it names; more than 3 in a row fail. */
  it("follows redirects without a ticket", async () => {
    const { net, client } = setup();
    const watch = client.watch(4);
    net.last().open();
    net.last().receive({ type: "redirect", url: B, ticket: null });
    net.sockets[0]?.drop(4006, "redirected");
    expect(net.sockets).toHaveLength(2);
    expect(net.last().url).toBe(B);
    net.last().open();
    expect(net.last().sentWithTag(WATCH)).toEqual([[7, 2, 4]]);
    net.last().receive(watching());
    const spectator = await watch;
    expect(spectator.wsUrl).toBe(B);
    expect(spectator.status.state).toBe("connected");

    const { net: net2, client: client2 } = setup();
    const watch2 = client2.watch(4);
    for (let i = 0; i <= MAX_REDIRECTS; i++) {
      net2.last().open();
      net2.last().receive({ type: "redirect", url: B, ticket: null });
    }
    await expect(watch2).rejects.toBeInstanceOf(TooManyRedirects);
    expect(net2.sockets).toHaveLength(MAX_REDIRECTS + 1);
  });

  /** A connection closed before the answer rejects the watch. */
  it("rejects when the connection closes first", async () => {
    const { net, client } = setup();
    const watch = client.watch(4);
    net.last().open();
    net.last().drop(1011, "boom");
    await expect(watch).rejects.toBeInstanceOf(ConnectionClosedError);
  });
});

describe("Spectator after a drop", () => {
  /** The Watch goes out again after the backoff; the old state stays until the new Snapshot. */
  it("watches again after a dropped connection", async () => {
    const { net, spectator } = await watchingRoom4();
    const statuses: RoomStatus["state"][] = [];
    const welcomes: boolean[] = [];
    spectator.on("status", (s) => statuses.push(s.state));
    spectator.on("welcome", ({ resumed }) => welcomes.push(resumed));
    net.last().drop(1006);
    expect(spectator.status).toMatchObject({ state: "reconnecting", attempt: 1, retryInMs: 250 });
    await vi.advanceTimersByTimeAsync(249);
    expect(net.sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(net.sockets).toHaveLength(2);
    const s = net.last();
    s.open();
    expect(s.sentWithTag(WATCH)).toEqual([[7, 2, 4]]);
    s.receive(watching({ tick: 90 }));
    expect(welcomes).toEqual([true]);
    expect(spectator.status.state).toBe("connected");
    // Still the state before the drop, until the fresh Snapshot replaces it.
    expect(spectator.replica.entities("hand")).toHaveLength(2);
    s.receive(snapshot(91, [segment({ added: [added(1, 0, [1, 2, 20, 0, 30, 80])] })]));
    expect(spectator.replica.entities("hand")).toHaveLength(0);
    expect(spectator.replica.tick).toBe(91);
    expect(statuses).toEqual(["reconnecting", "connected"]);
  });

  /** A full room is tried again with the backoff; a room that is gone ends the spectator. */
  it("keeps trying while full, stops when the room is gone", async () => {
    const { net, spectator } = await watchingRoom4();
    const left: string[] = [];
    spectator.on("leave", (info) => left.push(info.text));
    net.last().drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    net.last().open();
    net.last().receive({ type: "error", code: ErrorCode.SpectatorsFull, message: "" });
    expect(spectator.status).toMatchObject({ state: "reconnecting" });
    await vi.advanceTimersByTimeAsync(500);
    expect(net.sockets).toHaveLength(3);
    net.last().open();
    net.last().receive({ type: "error", code: ErrorCode.RoomNotFound, message: "no room 4" });
    await vi.advanceTimersByTimeAsync(0);
    expect(spectator.status).toMatchObject({ state: "closed", code: ErrorCode.RoomNotFound });
    expect(left).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.sockets).toHaveLength(3);
  });

  /** Ended, then close 1000: the spectator is closed for good with the result, never watching again. */
  it("treats the end of the game as final", async () => {
    const { net, spectator } = await watchingRoom4();
    const ended: unknown[] = [];
    spectator.on("ended", ({ result }) => ended.push(result));
    net.last().receive({ type: "ended", result: { winner: 1, name: "ann" } });
    net.last().drop(1000, "game over");
    expect(ended).toEqual([{ winner: 1, name: "ann" }]);
    expect(spectator.result).toEqual({ winner: 1, name: "ann" });
    expect(spectator.status).toMatchObject({ state: "closed", text: "The game is over." });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.sockets).toHaveLength(1);
  });

  /** Leave sends Leave and closes; no reconnect follows. */
  it("leaves", async () => {
    const { net, spectator } = await watchingRoom4();
    const s: FakeSocket = net.last();
    spectator.leave();
    expect(s.sentWithTag(4)).toEqual([[4]]);
    expect(s.closed).not.toBeNull();
    expect(spectator.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.sockets).toHaveLength(1);
  });
});
