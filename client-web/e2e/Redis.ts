/**
 * A real `redis-server` for the cluster spec: started on a free loopback port without
 * persistence, stopped by its PID. Debian's `redis-server` package provides it; when it is
 * missing, `Redis.find()` says so and the spec skips, unless TICKROOM_REQUIRE_REDIS=1 (as for the
 * Rust cluster tests), which makes a missing server a failure.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { delimiter, join } from "node:path";
import { stopProcess } from "./Server";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** True when a `PING` on 127.0.0.1:`port` is answered `+PONG`. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

export class Redis {
  private readonly child: ChildProcess;
  private exited = false;

  private constructor(
    bin: string,
    readonly port: number,
  ) {
    this.child = spawn(
      bin,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
      { stdio: "ignore" },
    );
    this.child.on("exit", () => {
      this.exited = true;
    });
  }

  /** The `redis-server` binary on PATH, or null when it is not installed. */
  static find(): string | null {
    for (const dir of (process.env["PATH"] ?? "/usr/bin").split(delimiter)) {
      const bin = join(dir, "redis-server");
      if (existsSync(bin)) return bin;
    }
    return null;
  }

  /** Starts `bin` on `port` and waits until it answers PING (at most `timeoutMs`). */
  static async start(bin: string, port: number, timeoutMs = 10000): Promise<Redis> {
    const redis = new Redis(bin, port);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (redis.exited) throw new Error(`redis-server exited at startup (port ${port})`);
      if (await pong(port)) return redis;
      await sleep(50);
    }
    await redis.stop();
    throw new Error(`redis-server did not answer PING on port ${port} within ${timeoutMs} ms`);
  }

  /** `redis://127.0.0.1:PORT`, for `--cluster-redis`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Stops it by its PID (SIGTERM; it keeps nothing, so there is nothing to wait for but the exit). */
  stop(): Promise<void> {
    return stopProcess(this.child, () => this.exited);
  }
}
