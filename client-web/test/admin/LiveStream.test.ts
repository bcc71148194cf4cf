/**
 * The admin stream over fetch: the bearer token goes along, events split anywhere across
 * chunks are read whole, a refusal stops the stream with the server's reason, and an ended
 * stream is opened again after a pause.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { AdminApi, type Fetch } from "../../src/admin/AdminApi";
import { LiveStream, type StreamStatus } from "../../src/admin/LiveStream";
import type { History, Update } from "../../src/admin/types";
import { detailJson, sampleJson, updateJson } from "./fixtures";

/** A Map-backed token store (sessionStorage's part the page uses). */
function store(): Pick<Storage, "getItem" | "setItem" | "removeItem"> {
  const m = new Map<string, string>();
  return {
    getItem: (k) => m.get(k) ?? null,
    setItem: (k, v) => void m.set(k, v),
    removeItem: (k) => void m.delete(k),
  };
}

/** A streamed response made of these text chunks. */
function streamed(chunks: string[]): Response {
  const bytes = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(bytes.encode(c));
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
}

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

interface Seen {
  histories: History[];
  updates: Update[];
  statuses: StreamStatus[];
}

function watch(api: AdminApi, retryMs = 50): { stream: LiveStream; seen: Seen } {
  const seen: Seen = { histories: [], updates: [], statuses: [] };
  const stream = new LiveStream(
    api,
    {
      history: (h) => seen.histories.push(h),
      update: (u) => seen.updates.push(u),
      status: (s) => seen.statuses.push(s),
    },
    retryMs,
  );
  return { stream, seen };
}

const streams: LiveStream[] = [];
afterEach(() => {
  for (const s of streams.splice(0)) s.stop();
});

describe("LiveStream", () => {
  it("reads events split across chunks, with the bearer token", async () => {
    const text =
      event("history", { interval_ms: 1000, samples: [sampleJson(1000)] }) + event("update", updateJson(2000));
    const cut = text.length - 37;
    const calls: { url: string; init: RequestInit | undefined }[] = [];
    const fetchFn: Fetch = (url, init) => {
      calls.push({ url, init });
      return Promise.resolve(streamed([text.slice(0, 11), text.slice(11, cut), text.slice(cut)]));
    };
    const api = new AdminApi("http://server", store(), fetchFn);
    api.setToken("s3cret");
    const { stream, seen } = watch(api, 60_000);
    streams.push(stream);
    stream.start();
    await vi.waitFor(() => expect(seen.updates).toHaveLength(1));
    expect(calls[0]?.url).toBe("http://server/api/admin/stream");
    expect(calls[0]?.init?.headers).toEqual({ Authorization: "Bearer s3cret" });
    expect(seen.histories[0]?.samples[0]?.t).toBe(1000);
    expect(seen.updates[0]?.rooms[0]?.game).toBe("arena");
    expect(seen.statuses.map((s) => s.state)).toEqual(["connecting", "live", "retrying"]);
  });

  it("stops on a refusal and says why", async () => {
    const fetchFn: Fetch = () =>
      Promise.resolve(
        new Response("tickroom: operator endpoint: send Authorization: Bearer <the --admin-token>\n", { status: 401 }),
      );
    const { stream, seen } = watch(new AdminApi("", store(), fetchFn));
    streams.push(stream);
    stream.start();
    await vi.waitFor(() => expect(seen.statuses.at(-1)?.state).toBe("denied"));
    expect(seen.statuses.at(-1)).toEqual({
      state: "denied",
      status: 401,
      message: "operator endpoint: send Authorization: Bearer <the --admin-token>",
    });
    await new Promise((r) => setTimeout(r, 120));
    expect(seen.statuses.filter((s) => s.state === "connecting")).toHaveLength(1);
  });

  it("opens an ended stream again after a pause", async () => {
    let opened = 0;
    const fetchFn: Fetch = () => {
      opened += 1;
      return Promise.resolve(streamed([event("update", updateJson(opened * 1000))]));
    };
    const { stream, seen } = watch(new AdminApi("", store(), fetchFn), 10);
    streams.push(stream);
    stream.start();
    await vi.waitFor(() => expect(seen.updates.length).toBeGreaterThanOrEqual(3));
    stream.stop();
    const after = opened;
    await new Promise((r) => setTimeout(r, 50));
    expect(opened).toBe(after);
  });
});

describe("AdminApi", () => {
  it("keeps the token for the tab and forgets it", () => {
    const api = new AdminApi("", store(), () => Promise.reject(new Error("unused")));
    expect(api.headers()).toEqual({});
    api.setToken("t");
    expect(api.headers()).toEqual({ Authorization: "Bearer t" });
    api.setToken(null);
    expect(api.token).toBeNull();
  });

  it("reads a room, null when it is gone, and posts actions", async () => {
    const calls: string[] = [];
    const fetchFn: Fetch = (url, init) => {
      calls.push(`${init?.method ?? "GET"} ${url}`);
      if (url.endsWith("/rooms/3")) return Promise.resolve(Response.json(detailJson()));
      if (url.endsWith("/rooms/4")) return Promise.resolve(new Response("tickroom: no room 4\n", { status: 404 }));
      return Promise.resolve(Response.json({ ok: true }));
    };
    const api = new AdminApi("", store(), fetchFn);
    expect((await api.room(3))?.players).toHaveLength(2);
    expect(await api.room(4)).toBeNull();
    await api.kick(3, 2);
    await api.closeRoom(3);
    expect(calls).toEqual([
      "GET /api/admin/rooms/3",
      "GET /api/admin/rooms/4",
      "POST /api/admin/rooms/3/kick/2",
      "POST /api/admin/rooms/3/close",
    ]);
  });
});
