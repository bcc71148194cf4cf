import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Client, ConnectionClosedError, JoinError } from "../src/Client";
import type { RoomStatus } from "../src/Room";
import { fakeNetwork, welcome } from "./fakes";

const JOIN = 0;
const INPUT = 1;
const RESYNC = 5;

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

/** Lets promise callbacks run. */
async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("Client", () => {
  /** Quick play offers the subprotocol, sends the documented Join, and resolves on the Welcome. */
  it("joins by quick play", async () => {
    const { net, client } = setup();
    expect(client.wsUrl).toBe("ws://127.0.0.1:8080/ws");
    const joining = client.quickPlay("ann");
    const s = net.last();
    expect(s.protocols).toEqual(["tickroom.v1"]);
    s.open();
    expect(s.sentWithTag(JOIN)).toEqual([[0, 1, "ann", null, false, null]]);
    s.receive(welcome({ player: 2, entity: 2, room: 5, tick: 10 }));
    s.receive([5, [[2, 2, "ann", true]]]);
    s.receive([1, 10, [2, 0b1100, 400, 800]]);
    const room = await joining;
    expect(room.seat).toMatchObject({ player: 2, entity: 2, room: 5, tickRate: 30 });
    expect(room.roster).toEqual([{ player: 2, entity: 2, name: "ann", connected: true }]);
    expect(room.replica.tick).toBe(10);
    expect(room.status).toEqual({ state: "connected" });
  });

  /** Create and join-by-id send their own Join variants. */
  it("creates rooms and joins by id", async () => {
    const { net, client } = setup();
    void client.create("bo");
    net.last().open();
    expect(net.last().sentWithTag(JOIN)).toEqual([[0, 1, "bo", null, true, null]]);
    void client.join("cy", 7);
    net.last().open();
    expect(net.last().sentWithTag(JOIN)).toEqual([[0, 1, "cy", 7, false, null]]);
  });

  /** A server that does not answer with tickroom.v1 is refused. */
  it("checks the subprotocol", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("ann");
    net.last().open("");
    await expect(joining).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(net.last().closed).not.toBeNull();
  });

  /** A refused join rejects with the server's error code, in words. */
  it("reports join errors", async () => {
    const { net, client } = setup();
    const joining = client.join("ann", 99);
    net.last().open();
    net.last().receive([6, 3, "no room 99"]);
    const error: unknown = await joining.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JoinError);
    expect((error as JoinError).code).toBe(3);
    expect((error as JoinError).message).toMatch(/does not exist/);
  });

  /** After a dropped connection the client reconnects with backoff and resumes with the token. */
  it("reconnects and resumes the seat with the token", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("ann");
    net.last().open();
    net.last().receive(welcome({ player: 1, room: 3, token: "3.1.first" }));
    const room = await joining;
    const statuses: RoomStatus[] = [];
    const joins: boolean[] = [];
    room.on("status", (s) => statuses.push(s));
    room.on("join", (j) => joins.push(j.resumed));
    net.last().drop(1006);
    expect(statuses[0]).toMatchObject({ state: "reconnecting", attempt: 1, retryInMs: 250 });
    expect(net.sockets.length).toBe(1);
    await vi.advanceTimersByTimeAsync(250);
    expect(net.sockets.length).toBe(2);
    // The server is still down: the next attempt waits twice as long.
    net.last().drop(1006);
    await flush();
    expect(statuses[statuses.length - 1]).toMatchObject({ state: "reconnecting", attempt: 2, retryInMs: 500 });
    await vi.advanceTimersByTimeAsync(500);
    expect(net.sockets.length).toBe(3);
    net.last().open();
    expect(net.last().sentWithTag(JOIN)).toEqual([[0, 1, "ann", null, false, "3.1.first"]]);
    net.last().receive(welcome({ player: 1, room: 3, token: "3.1.second" }));
    expect(room.status).toEqual({ state: "connected" });
    expect(joins).toEqual([true]);
    expect(room.token).toBe("3.1.second");
  });

  /** A server that accepts the socket but never answers the join is given up on, and retried. */
  it("retries when a join is not answered", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("ann");
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

  /** A token the server does not know (it restarted) falls back to the same room, then any room. */
  it("falls back to a fresh join after BadToken", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("ann");
    net.last().open();
    net.last().receive(welcome({ player: 4, room: 3, token: "3.4.old" }));
    const room = await joining;
    const joins: boolean[] = [];
    room.on("join", (j) => joins.push(j.resumed));
    net.last().drop(1001, "server shutting down");
    await vi.advanceTimersByTimeAsync(250);
    const s = net.last();
    s.open();
    s.receive([6, 5, "unknown, expired or used token"]);
    s.receive([6, 3, "no such room"]);
    expect(s.sentWithTag(JOIN)).toEqual([
      [0, 1, "ann", null, false, "3.4.old"],
      [0, 1, "ann", 3, false, null],
      [0, 1, "ann", null, false, null],
    ]);
    // A restarted server may hand out the very same ids: still a new seat, not a resumed one.
    s.receive(welcome({ player: 4, room: 3, token: "3.4.new" }));
    expect(room.seat).toMatchObject({ player: 4, room: 3 });
    expect(joins).toEqual([false]);
    expect(room.status.state).toBe("connected");
  });

  /** Close codes that mean "do not come back" end the room with a sentence, without retrying. */
  it.each([
    [1000, /left/],
    [4002, /taken over/],
    [4004, /version/],
  ])("does not reconnect after close %i", async (code, words) => {
    const { net, client } = setup();
    const joining = client.quickPlay("ann");
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

  /** Leaving sends Leave, closes the socket and never reconnects. */
  it("leaves for good", async () => {
    const { net, client } = setup();
    const joining = client.quickPlay("ann");
    net.last().open();
    net.last().receive(welcome());
    const room = await joining;
    room.leave();
    expect(net.last().sentWithTag(4)).toEqual([[4]]);
    expect(net.last().closed?.code).toBe(1000);
    net.last().drop(1000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.sockets.length).toBe(1);
    expect(room.status.state).toBe("closed");
  });
});

describe("Room", () => {
  async function joined(): Promise<{
    net: ReturnType<typeof fakeNetwork>;
    room: Awaited<ReturnType<Client["quickPlay"]>>;
  }> {
    const { net, client } = setup();
    const joining = client.quickPlay("ann");
    net.last().open();
    net.last().receive(welcome({ tick: 10 }));
    net.last().receive([1, 10, [1, 0b1100, 400, 400]]);
    return { net, room: await joining };
  }

  /** A gap asks once for a keyframe; deltas are ignored until the snapshot arrives. */
  it("resyncs after a gap", async () => {
    const { net, room } = await joined();
    const s = net.last();
    s.receive([2, 11, 1, [], [1, 0b100, 4], []]);
    expect(room.replica.tick).toBe(11);
    s.receive([2, 13, 1, [], [1, 0b100, 4], []]); // tick 12 was missed
    s.receive([2, 14, 1, [], [1, 0b100, 4], []]);
    expect(s.sentWithTag(RESYNC)).toEqual([[5]]);
    expect(room.replica.tick).toBe(11);
    s.receive([1, 14, [1, 0b1100, 420, 400]]);
    s.receive([2, 15, 1, [], [1, 0b100, 4], []]);
    expect(room.replica.tick).toBe(15);
    expect(room.replica.get(1)?.[2]).toBe(424);
    expect(room.resyncs).toBe(1);
  });

  /** Inputs carry increasing sequence numbers, starting again at 1 on a resumed seat. */
  it("restarts input numbering on every connection", async () => {
    const { net, room } = await joined();
    expect(room.sendInput([1, 0])).toBe(1);
    expect(room.sendInput([0, 0])).toBe(2);
    expect(net.last().sentWithTag(INPUT)).toEqual([
      [1, 1, [1, 0]],
      [1, 2, [0, 0]],
    ]);
    net.last().drop(1006);
    expect(room.sendInput([1, 0])).toBeNull();
    await vi.advanceTimersByTimeAsync(250);
    net.last().open();
    net.last().receive(welcome());
    expect(room.sendInput([-1, 0])).toBe(1);
  });

  /** Inputs are held back while the socket's send buffer is over the limit. */
  it("holds inputs back while congested", async () => {
    const { net, room } = await joined();
    net.last().bufferedAmount = 1 << 20;
    expect(room.congested).toBe(true);
    expect(room.sendInput([1, 0])).toBeNull();
    net.last().bufferedAmount = 0;
    expect(room.sendInput([1, 0])).toBe(1);
  });

  /** Pings go out periodically; pongs give the RTT; frames count towards bytes/s. */
  it("measures RTT and bytes", async () => {
    const { net, room } = await joined();
    const pings = net.last().sentWithTag(2);
    expect(pings.length).toBe(1);
    const echo = pings[0]?.[1];
    await vi.advanceTimersByTimeAsync(40);
    net.last().receive([3, echo, 11]);
    expect(room.stats.rttMs).toBeGreaterThanOrEqual(40);
    await vi.advanceTimersByTimeAsync(1000);
    expect(net.last().sentWithTag(2).length).toBe(2);
    expect(room.stats.receivedBytes).toBeGreaterThan(0);
  });

  /** Chat, roster and errors become typed events. */
  it("emits chat, roster and error events", async () => {
    const { net, room } = await joined();
    const events: string[] = [];
    room.on("chat", (c) => events.push(`chat ${c.name}: ${c.text}`));
    room.on("roster", (r) => events.push(`roster ${r.length}`));
    room.on("error", (e) => events.push(`error ${e.code}`));
    net.last().receive([4, 2, "bo", "hi"]);
    net.last().receive([
      5,
      [
        [1, 1, "ann", true],
        [2, 2, "bo", false],
      ],
    ]);
    net.last().receive([6, 1, "chat line too long"]);
    expect(events).toEqual(["chat bo: hi", "roster 2", "error 1"]);
    expect(room.sendChat("hello")).toBe(true);
    expect(net.last().sentWithTag(3)).toEqual([[3, "hello"]]);
  });

  /** A text frame is a protocol violation: closed, reported in words, and retried. */
  it("closes on a text frame", async () => {
    const { net, room } = await joined();
    net.last().receiveText("hello");
    expect(net.last().closed).not.toBeNull();
    expect(room.status).toMatchObject({ state: "reconnecting", text: expect.stringMatching(/text frame/) as unknown });
  });

  /** A frame that is not a valid message closes the connection with 1007 (and reconnects). */
  it("closes on an invalid frame", async () => {
    const { net, room } = await joined();
    net.last().receive([42]);
    expect(net.last().closed).not.toBeNull();
    expect(room.status).toMatchObject({ state: "reconnecting" });
  });
});
