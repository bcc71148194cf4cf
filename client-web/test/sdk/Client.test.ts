import { Client, ConnectionClosedError, JoinError, type RoomStatus } from "@tickroom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { added, ARENA_KINDS_WIRE, CARDS_KINDS, fakeNetwork, joinArray, segment, snapshot, welcome } from "../fakes";

const JOIN = 0;
const LEAVE = 4;

function setup(): { net: ReturnType<typeof fakeNetwork>; client: Client } {
  const net = fakeNetwork();
  // No jitter: random() = 0.5 gives the nominal delays.
  const client = new Client("http://127.0.0.1:8080", {
    transport: net.transport,
    random: () => 0.5,
    room: { pingIntervalMs: 1000 },
  });
  return { net, client };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("Client joins", () => {
  /** Quick play offers tickroom.v2, sends the documented Join, and resolves on the Welcome. */
  it("joins by quick play", async () => {
    const { net, client } = setup();
    expect(client.wsUrl).toBe("ws://127.0.0.1:8080/ws");
    const joining = client.quickPlay("arena", "ann");
    const s = net.last();
    expect(s.protocols).toEqual(["tickroom.v2"]);
    s.open();
    expect(s.sentWithTag(JOIN)).toEqual([joinArray({})]);
    s.receive(welcome({ player: 2, room: 5, tick: 10 }));
    s.receive({ type: "roster", players: [{ player: 2, name: "ann", connected: true }] });
    s.receive(snapshot(11, [segment({ added: [added(1, 0, [2, 400, 800])] })]));
    const room = await joining;
    expect(room.seat).toMatchObject({ player: 2, room: 5, tickRate: 30, game: "arena" });
    expect(room.player).toBe(2);
    expect(room.roster).toEqual([{ player: 2, name: "ann", connected: true }]);
    expect(room.replica.tick).toBe(11);
    expect(room.replica.entity(1)?.get("x")).toBe(100);
    expect(room.status).toEqual({ state: "connected" });
  });

  /** Quick play with a filter, create with options, join by id: each its own Join. */
  it("sends every kind of join", () => {
    const { net, client } = setup();
    void client.quickPlay("cards", "bo", { options: { mode: "quick" }, filter: { mode: "quick" } });
    net.last().open();
    expect(net.last().sentWithTag(JOIN)).toEqual([
      joinArray({ name: "bo", game: "cards", options: { mode: "quick" }, filter: { mode: "quick" } }),
    ]);
    void client.create("cards", "cy", { mode: "classic" });
    net.last().open();
    expect(net.last().sentWithTag(JOIN)).toEqual([
      joinArray({ name: "cy", game: "cards", create: true, options: { mode: "classic" } }),
    ]);
    void client.join(7, "di");
    net.last().open();
    expect(net.last().sentWithTag(JOIN)).toEqual([joinArray({ name: "di", game: null, room: 7 })]);
  });

  /** A server that does not answer with tickroom.v2 is refused. */
  it("checks the subprotocol", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("arena", "ann");
    net.last().open("tickroom.v1");
    await expect(joining).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(net.last().closed).not.toBeNull();
  });

  /** A refused join rejects with the server's error code, in words. */
  it("reports join errors", async () => {
    const { net, client } = setup();
    const joining = client.join(99, "ann");
    net.last().open();
    net.last().receive({ type: "error", code: 3, message: "no room 99" });
    const error: unknown = await joining.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JoinError);
    expect((error as JoinError).code).toBe(3);
    expect((error as JoinError).message).toMatch(/does not exist/);
  });

  /** A frame the codec refuses closes the connection with 1007 and a reason. */
  it("closes on a malformed frame", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("arena", "ann");
    net.last().open();
    net.last().receive([0, 1, "not a welcome"]);
    const error: unknown = await joining.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect((error as ConnectionClosedError).info.code).toBe(1007);
    expect((error as ConnectionClosedError).info.reason).toMatch(/Welcome/);
  });
});

describe("Client reconnection", () => {
  /** After a dropped connection the client reconnects with backoff and resumes with the token. */
  it("reconnects and resumes the seat with the token", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("arena", "ann");
    net.last().open();
    net.last().receive(welcome({ player: 1, room: 3, token: "3.1.first" }));
    const room = await joining;
    const statuses: RoomStatus[] = [];
    const joins: boolean[] = [];
    room.on("status", (s) => statuses.push(s));
    room.on("welcome", (j) => joins.push(j.resumed));
    net.last().drop(1006);
    expect(statuses[0]).toMatchObject({ state: "reconnecting", attempt: 1, retryInMs: 250 });
    expect(net.sockets.length).toBe(1);
    await vi.advanceTimersByTimeAsync(250);
    expect(net.sockets.length).toBe(2);
    // The server is still down: the next attempt waits twice as long.
    net.last().drop(1006);
    await vi.advanceTimersByTimeAsync(0);
    expect(statuses[statuses.length - 1]).toMatchObject({ state: "reconnecting", attempt: 2, retryInMs: 500 });
    await vi.advanceTimersByTimeAsync(500);
    expect(net.sockets.length).toBe(3);
    net.last().open();
    expect(net.last().sentWithTag(JOIN)).toEqual([joinArray({ token: "3.1.first" })]);
    net.last().receive(welcome({ player: 1, room: 3, token: "3.1.second" }));
    expect(room.status).toEqual({ state: "connected" });
    expect(joins).toEqual([true]);
    expect(room.token).toBe("3.1.second");
  });

  /** A resumed seat keeps its replica until the fresh Snapshot; a new seat starts empty. */
  it("keeps the replica of a resumed seat only", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("arena", "ann");
    net.last().open();
    net.last().receive(welcome({ token: "1.1.a" }));
    net.last().receive(snapshot(5, [segment({ added: [added(1, 0, [1])] })]));
    const room = await joining;
    net.last().drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    net.last().open();
    net.last().receive(welcome({ token: "1.1.b" }));
    expect(room.replica.size).toBe(1);
    net.last().drop(1001);
    await vi.advanceTimersByTimeAsync(250);
    net.last().open();
    net.last().receive({ type: "error", code: 5, message: "unknown token" });
    net.last().receive(welcome({ token: "1.1.c" }));
    expect(room.replica.size).toBe(0);
  });

  /** A server that accepts the socket but never answers the join is given up on, and retried. */
  it("retries when a join is not answered", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("arena", "ann");
    net.last().open();
    net.last().receive(welcome({ token: "1.1.a" }));
    const room = await joining;
    net.last().drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    net.last().open(); // ...and silence
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.last().closed?.code).toBe(4000);
    expect(room.status).toMatchObject({ state: "reconnecting", attempt: 2 });
    await vi.advanceTimersByTimeAsync(500);
    expect(net.sockets.length).toBe(3);
  });

  /** A token the server does not know falls back to the same room, then quick match in the same game. */
  it("falls back to a fresh join after BadToken, RoomNotFound and RoomLocked", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("cards", "ann", { options: { mode: "quick" }, filter: { mode: "quick" } });
    net.last().open();
    net.last().receive(welcome({ player: 4, room: 3, token: "3.4.old", game: "cards", kinds: CARDS_KINDS }));
    const room = await joining;
    const joins: boolean[] = [];
    room.on("welcome", (j) => joins.push(j.resumed));
    net.last().drop(1001, "server shutting down");
    await vi.advanceTimersByTimeAsync(250);
    const s = net.last();
    s.open();
    s.receive({ type: "error", code: 5, message: "unknown, expired or used token" });
    s.receive({ type: "error", code: 8, message: "a game is in progress" });
    const cards = { game: "cards", options: { mode: "quick" }, filter: { mode: "quick" } };
    expect(s.sentWithTag(JOIN)).toEqual([
      joinArray({ ...cards, token: "3.4.old" }),
      joinArray({ ...cards, room: 3 }),
      joinArray(cards),
    ]);
    // A restarted server may hand out the very same ids: still a new seat, not a resumed one.
    s.receive(welcome({ player: 4, room: 3, token: "3.4.new", game: "cards", kinds: CARDS_KINDS }));
    expect(room.seat).toMatchObject({ player: 4, room: 3 });
    expect(joins).toEqual([false]);
    expect(room.status.state).toBe("connected");
  });

  /** Close codes that mean "do not come back" end the room with a sentence, without retrying. */
  it.each([
    [1000, /closed/],
    [4002, /taken over/],
    [4004, /version/],
  ])("does not reconnect after close %i", async (code, words) => {
    const { net, client } = setup();
    const joining = client.quickPlay("arena", "ann");
    net.last().open();
    net.last().receive(welcome());
    const room = await joining;
    let left = "";
    room.on("leave", (info) => (left = info.text));
    net.last().drop(code, "bye");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.sockets.length).toBe(1);
    expect(room.status.state).toBe("closed");
    expect(left).toMatch(words);
  });

  /** An UnknownGame answer while reconnecting ends the room instead of retrying forever. */
  it("gives up on final join errors", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("arena", "ann");
    net.last().open();
    net.last().receive(welcome({ token: "1.1.a" }));
    const room = await joining;
    net.last().drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    net.last().open();
    net.last().receive({ type: "error", code: 5, message: "" });
    net.last().receive({ type: "error", code: 3, message: "" });
    net.last().receive({ type: "error", code: 9, message: "no game arena" });
    await vi.advanceTimersByTimeAsync(0);
    expect(room.status).toMatchObject({ state: "closed" });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.sockets.length).toBe(2);
  });

  /** Leaving sends Leave, closes the socket and never reconnects. */
  it("leaves for good", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("arena", "ann");
    net.last().open();
    net.last().receive(welcome());
    const room = await joining;
    room.leave();
    expect(net.last().sentWithTag(LEAVE)).toEqual([[4]]);
    expect(net.last().closed?.code).toBe(1000);
    net.last().drop(1000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.sockets.length).toBe(1);
    expect(room.status.state).toBe("closed");
  });
});

describe("Client HTTP look-ups", () => {
  const respond =
    (body: unknown): typeof fetch =>
    () =>
      Promise.resolve(new Response(JSON.stringify(body), { status: 200 }));

  /** /api/info becomes a checked, camel-cased ServerInfo with parsed kinds. */
  it("reads /api/info", async () => {
    const client = new Client("http://127.0.0.1:8080", {
      fetch: respond({
        protocol_version: 2,
        subprotocol: "tickroom.v2",
        default_game: "arena",
        games: [{ name: "arena", tick_rate: 30, on_change: false, capacity: 50, kinds: ARENA_KINDS_WIRE }],
        lan_urls: ["http://192.168.1.5:8080/"],
      }),
    });
    const info = await client.info();
    expect(info).toMatchObject({
      protocolVersion: 2,
      defaultGame: "arena",
      lanUrls: ["http://192.168.1.5:8080/"],
      node: null,
    });
    expect(info.games[0]).toMatchObject({ name: "arena", tickRate: 30, onChange: false, capacity: 50 });
    expect(info.games[0]?.kinds.map((k) => k.name)).toEqual(["player", "orb"]);
  });

  /** /api/rooms becomes RoomListings; a wrong shape is an error, not a mistyped value. */
  it("reads /api/rooms", async () => {
    const room = {
      id: 3,
      game: "cards",
      players: 2,
      capacity: 6,
      tick_rate: 10,
      on_change: true,
      locked: false,
      metadata: { mode: "classic" },
    };
    const client = new Client("http://127.0.0.1:8080", { fetch: respond([room]) });
    expect(await client.rooms()).toEqual([
      {
        id: 3,
        game: "cards",
        players: 2,
        capacity: 6,
        spectators: null,
        tickRate: 10,
        onChange: true,
        locked: false,
        metadata: { mode: "classic" },
        node: null,
        url: null,
      },
    ]);
    // A server with spectators counts them per room.
    const watched = new Client("http://127.0.0.1:8080", { fetch: respond([{ ...room, spectators: 4 }]) });
    expect(await watched.rooms()).toMatchObject([{ id: 3, spectators: 4 }]);
    const badCount = new Client("http://127.0.0.1:8080", { fetch: respond([{ ...room, spectators: "4" }]) });
    await expect(badCount.rooms()).rejects.toThrow(/spectators/);
    // A cluster node lists every room of the cluster, each with its node and that node's URL.
    const cluster = new Client("http://127.0.0.1:8080", {
      fetch: respond([{ ...room, node: "b", url: "ws://10.0.0.2:8080/ws" }]),
    });
    expect(await cluster.rooms()).toMatchObject([{ id: 3, node: "b", url: "ws://10.0.0.2:8080/ws" }]);
    const bad = new Client("http://127.0.0.1:8080", { fetch: respond([{ ...room, locked: "no" }]) });
    await expect(bad.rooms()).rejects.toThrow(/locked/);
  });
});
