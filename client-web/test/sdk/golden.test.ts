/**
 * The Rust side's golden vectors (`shared/golden/messages.json`, protocol v2): the exact bytes of
 * one example of every message and replica cases. Both implementations check them, so the two
 * codecs and replicas cannot drift apart. Until the Rust side writes the v2 file, the test is
 * skipped, unless TICKROOM_REQUIRE_GOLDEN=1 makes a missing file a failure (CI, once it exists).
 */
import { decode } from "@msgpack/msgpack";
import {
  decodeClient,
  decodeServer,
  encodeClient,
  parseKinds,
  PROTOCOL_VERSION,
  Replica,
  serverToWire,
} from "@tickroom/client";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { fromHex } from "../fakes";

// TICKROOM_GOLDEN points at another file (to try a candidate file before it lands in shared/).
const path =
  process.env["TICKROOM_GOLDEN"] ?? fileURLToPath(new URL("../../../shared/golden/messages.json", import.meta.url));
const required = process.env["TICKROOM_REQUIRE_GOLDEN"] === "1";

interface GoldenMessage {
  name: string;
  direction: "client" | "server";
  hex: string;
  value: unknown;
}
interface GoldenReplica {
  name: string;
  kinds: unknown;
  messages: string[];
  expected: {
    tick: number | null;
    entities: Array<{ id: number; kind: number; values: Array<number | string> }>;
    acks: Array<[number, number]>;
  };
}
interface Golden {
  protocol_version: number;
  messages: GoldenMessage[];
  replica?: GoldenReplica[];
}

/** The file, or why it cannot be used (missing, or still the v1 file). */
function load(): Golden | string {
  if (!existsSync(path)) return `${path} does not exist`;
  const json: unknown = JSON.parse(readFileSync(path, "utf8"));
  if (typeof json !== "object" || json === null || Array.isArray(json)) return `${path} is not the v2 format`;
  const golden = json as Golden;
  if (golden.protocol_version !== PROTOCOL_VERSION) {
    return `${path} is for protocol ${String(golden.protocol_version)}, not ${PROTOCOL_VERSION}`;
  }
  return golden;
}

const compactHex = (hex: string): string => hex.replace(/\s+/g, "").toLowerCase();
const hexOf = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

/** A decoded MessagePack value in the golden file's JSON form: bin as {"bin": hex}. */
function toJson(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bin: hexOf(v) };
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  }
  return v;
}

/** The golden JSON with every {"bin": hex} written the way toJson writes it. */
function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (typeof v === "object" && v !== null) {
    const entries = Object.entries(v);
    const first = entries[0];
    if (entries.length === 1 && first?.[0] === "bin" && typeof first[1] === "string") {
      return { bin: compactHex(first[1]) };
    }
    return Object.fromEntries(entries.map(([k, x]) => [k, normalise(x)]));
  }
  return v;
}

const golden = load();

if (typeof golden === "string") {
  describe("golden vectors", () => {
    if (required) {
      /** With TICKROOM_REQUIRE_GOLDEN=1 the vectors must be there. */
      it("are present", () => {
        expect.fail(`golden vectors are missing: ${golden}`);
      });
    } else {
      it.skip(`skipped: ${golden} (TICKROOM_REQUIRE_GOLDEN=1 makes this a failure)`, () => undefined);
    }
  });
} else {
  describe("golden vectors: messages", () => {
    const client = golden.messages.filter((m) => m.direction === "client");
    const server = golden.messages.filter((m) => m.direction === "server");

    /** Each client message: decode → typed message → encode gives exactly the golden bytes. */
    it.each(client.map((m) => [m.name, m] as const))("client %s", (_name, m) => {
      const bytes = fromHex(m.hex);
      expect(toJson(decode(bytes))).toEqual(normalise(m.value));
      expect(hexOf(encodeClient(decodeClient(bytes)))).toBe(compactHex(m.hex));
    });

    /** Each server message decodes without error, to the golden value, and back to the same value. */
    it.each(server.map((m) => [m.name, m] as const))("server %s", (_name, m) => {
      const bytes = fromHex(m.hex);
      const typed = decodeServer(bytes);
      expect(toJson(decode(bytes))).toEqual(normalise(m.value));
      expect(toJson(serverToWire(typed))).toEqual(normalise(m.value));
    });
  });

  describe("golden vectors: replica", () => {
    /** Each case applied to a fresh Replica ends in exactly the expected entities, acks and tick. */
    it.each((golden.replica ?? []).map((c) => [c.name, c] as const))("%s", (_name, c) => {
      const replica = new Replica(parseKinds(c.kinds));
      for (const hex of c.messages) {
        const msg = decodeServer(fromHex(hex));
        if (msg.type === "welcome") replica.reset(msg.kinds);
        else if (msg.type === "snapshot" || msg.type === "delta") replica.apply(msg);
      }
      const entities = [...replica.all()]
        .sort((a, b) => a.id - b.id)
        .map((e) => ({ id: e.id, kind: e.kind.index, values: [...e.wireValues] }));
      const acks = [...replica.acks].filter(([, seq]) => seq !== 0).sort((a, b) => a[0] - b[0]);
      expect(replica.tick).toBe(c.expected.tick);
      expect(entities).toEqual([...c.expected.entities].sort((a, b) => a.id - b.id));
      expect(acks).toEqual(c.expected.acks.filter(([, seq]) => seq !== 0).sort((a, b) => a[0] - b[0]));
    });
  });
}
