import { Client, CommandLost, CommandRefused, type Room, type Value } from "@tickroom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { added, changed, delta, fakeNetwork, segment, snapshot, welcome } from "../fakes";

const INPUT = 1;
const PING = 2;
const RESYNC = 5;
const COMMAND = 6;

type CardsCommand = { type: "play"; card: number; suit?: number } | { type: "draw" } | { type: "start" };

async function joined(): Promise<{ net: ReturnType<typeof fakeNetwork>; room: Room<[number, number], CardsCommand> }> {
  const net = fakeNetwork();
  const client = new Client("http://127.0.0.1:8080", { transport: net.transport, random: () => 0.5 });
  const joining = client.quickPlay<[number, number], CardsCommand>("arena", "ann");
  net.last().open();
  net.last().receive(welcome({ tick: 9, token: "1.1.a" }));
  net.last().receive(snapshot(10, [segment({ added: [added(1, 0, [1, 400, 400])] })]));
  return { net, room: await joining };
}

/** The Command frames the client sent: [6, id, command]. */
const commands = (net: ReturnType<typeof fakeNetwork>): unknown[][] => net.last().sentWithTag(COMMAND);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("Room commands", () => {
  /** A command resolves when its CommandResult has no refusal. */
  it("resolves on an accepted command", async () => {
    const { net, room } = await joined();
    const done = room.command({ type: "start" });
    expect(commands(net)).toEqual([[6, 1, { type: "start" }]]);
    net.last().receive({ type: "commandResult", id: 1, refusal: null });
    await expect(done).resolves.toBeUndefined();
  });

  /** A refusal rejects with CommandRefused naming the command, its id, the code and the message. */
  it("rejects a refused command with a typed error that names it", async () => {
    const { net, room } = await joined();
    const first = room.command({ type: "draw" });
    const second = room.command({ type: "play", card: 7, suit: 2 });
    expect(commands(net).map((c) => c[1])).toEqual([1, 2]);
    // Answered out of order: each result finds its own command by id.
    net.last().receive({ type: "commandResult", id: 2, refusal: { code: "not_your_turn", message: "wait" } });
    net.last().receive({ type: "commandResult", id: 1, refusal: null });
    await expect(first).resolves.toBeUndefined();
    const error: unknown = await second.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandRefused);
    const refused = error as CommandRefused;
    expect(refused.id).toBe(2);
    expect(refused.command).toEqual({ type: "play", card: 7, suit: 2 });
    expect(refused.refusal).toBe("not_your_turn");
    expect(refused.reason).toBe("wait");
    expect(refused.message).toBe('command "play" refused: wait (not_your_turn)');
  });

  /** Pending commands reject when the connection closes; none can be sent while disconnected. */
  it("rejects pending commands when the connection closes", async () => {
    const { net, room } = await joined();
    const pending = room.command({ type: "draw" });
    net.last().drop(1006);
    const error: unknown = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandLost);
    expect((error as CommandLost).command).toEqual({ type: "draw" });
    await expect(room.command({ type: "start" })).rejects.toBeInstanceOf(CommandLost);
  });

  /** Leaving rejects what is still pending too. */
  it("rejects pending commands on leave", async () => {
    const { room } = await joined();
    const pending = room.command({ type: "draw" });
    room.leave();
    await expect(pending).rejects.toBeInstanceOf(CommandLost);
  });
});

describe("Room state and events", () => {
  /** Events come in emission order, after the state they came with, with that state's tick. */
  it("delivers events in order after their state", async () => {
    const { net, room } = await joined();
    const log: string[] = [];
    room.on("state", ({ tick }) => log.push(`state ${tick} x=${room.replica.entity(1)?.get("x")}`));
    room.on("event", (e) => log.push(`event ${e.name} ${JSON.stringify(e.payload)} @${e.tick}`));
    net.last().receive(
      delta(11, [segment({ changed: [changed(1, { 1: 4 })] })], {
        events: [
          { name: "pickup", payload: { player: 1, score: 1 } },
          { name: "pickup", payload: { player: 1, score: 2 } },
        ],
      }),
    );
    net.last().receive(delta(12, [], { events: [{ name: "bell", payload: null }] }));
    expect(log).toEqual([
      "state 11 x=101",
      'event pickup {"player":1,"score":1} @11',
      'event pickup {"player":1,"score":2} @11',
      "state 12 x=101",
      "event bell null @12",
    ]);
  });

  /** A gap asks once for a keyframe; Deltas are not applied until the Snapshot, but their events
   * are still delivered (the server never replays them). */
  it("resyncs after a gap and still delivers events", async () => {
    const { net, room } = await joined();
    const s = net.last();
    const events: Value[] = [];
    room.on("event", (e) => events.push(e.payload));
    s.receive(delta(11, [segment({ changed: [changed(1, { 1: 4 })] })]));
    expect(room.replica.tick).toBe(11);
    s.receive(delta(13, [segment({ changed: [changed(1, { 1: 4 })] })], { events: [{ name: "e", payload: 1 }] }));
    s.receive(delta(14, [segment({ changed: [changed(1, { 1: 4 })] })], { events: [{ name: "e", payload: 2 }] }));
    expect(s.sentWithTag(RESYNC)).toEqual([[5]]);
    expect(room.replica.tick).toBe(11);
    s.receive(
      snapshot(14, [segment({ added: [added(1, 0, [1, 420, 400])] })], { events: [{ name: "e", payload: 3 }] }),
    );
    s.receive(delta(15, [segment({ changed: [changed(1, { 1: 4 })] })]));
    expect(room.replica.tick).toBe(15);
    expect(room.replica.entity(1)?.wire("x")).toBe(424);
    expect(room.resyncs).toBe(1);
    expect(events).toEqual([1, 2, 3]);
  });

  /** A corrupt Delta (an unknown id) is treated like a gap. */
  it("resyncs after a corrupt delta", async () => {
    const { net, room } = await joined();
    net.last().receive(delta(11, [segment({ removed: [77] })]));
    expect(net.last().sentWithTag(RESYNC)).toEqual([[5]]);
    expect(room.replica.tick).toBeNull();
  });

  /** Ended surfaces the result; the close that follows ends the room without reconnecting. */
  it("surfaces Ended", async () => {
    const { net, room } = await joined();
    const results: Value[] = [];
    let left = "";
    room.on("ended", ({ result }) => results.push(result));
    room.on("leave", (info) => (left = info.text));
    net.last().receive({ type: "ended", result: { winner: 2, name: "bo" } });
    net.last().drop(1000, "room ended");
    await vi.advanceTimersByTimeAsync(5000);
    expect(results).toEqual([{ winner: 2, name: "bo" }]);
    expect(room.result).toEqual({ winner: 2, name: "bo" });
    expect(room.status.state).toBe("closed");
    expect(left).toMatch(/over/);
    expect(net.sockets.length).toBe(1);
  });

  /** Chat, roster and errors become typed events. */
  it("emits chat, roster and error events", async () => {
    const { net, room } = await joined();
    const log: string[] = [];
    room.on("chat", (c) => log.push(`chat ${c.name}: ${c.text}`));
    room.on("roster", (r) => log.push(`roster ${r.length}`));
    room.on("error", (e) => log.push(`error ${e.code} ${e.text}`));
    net.last().receive({ type: "chat", player: 2, name: "bo", text: "hi" });
    net.last().receive({ type: "roster", players: [{ player: 2, name: "bo", connected: false }] });
    net.last().receive({ type: "error", code: 1, message: "chat line too long" });
    expect(log).toEqual(["chat bo: hi", "roster 1", "error 1 The server refused a request. (chat line too long)"]);
  });
});

describe("Room and redirects", () => {
  /** A Redirect only answers a Join: on a seated connection it is an error event, and nothing moves. */
  it("does not follow a redirect once seated", async () => {
    const { net, room } = await joined();
    const errors: string[] = [];
    room.on("error", (e) => errors.push(e.message));
    net.last().receive({ type: "redirect", url: "ws://10.0.0.2:8080/ws", ticket: "t" });
    expect(errors).toEqual(["unexpected redirect"]);
    expect(net.sockets.length).toBe(1);
    expect(room.status).toEqual({ state: "connected" });
  });
});

describe("Room inputs and pings", () => {
  /** Inputs carry increasing sequence numbers, starting again at 1 on every connection. */
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
    net.last().receive(welcome({ token: "1.1.b" }));
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
    const pings = net.last().sentWithTag(PING);
    expect(pings.length).toBe(1);
    const echo = pings[0]?.[1] as number;
    await vi.advanceTimersByTimeAsync(40);
    net.last().receive({ type: "pong", echo, tick: 11 });
    expect(room.stats.rttMs).toBeGreaterThanOrEqual(40);
    await vi.advanceTimersByTimeAsync(1500);
    expect(net.last().sentWithTag(PING).length).toBe(2);
    expect(room.stats.receivedBytes).toBeGreaterThan(0);
  });
});
