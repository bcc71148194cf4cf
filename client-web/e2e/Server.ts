/**
 * Starts the tickroom server binary on a free port, on loopback unless told to listen on every
 * interface (requests still go to 127.0.0.1), and stops it by its PID.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/** A free TCP port on 127.0.0.1 (the OS picks it; the tiny race with another process is accepted). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Server {
  readonly url: string;
  private readonly child: ChildProcess;
  private readonly log: string[] = [];
  private exited = false;

  private constructor(
    bin: string,
    readonly port: number,
    args: string[],
    host: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.child = spawn(bin, ["--bind", `${host}:${port}`, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, RUST_LOG: process.env["RUST_LOG"] ?? "info" },
    });
    const keep = (chunk: Buffer): void => {
      this.log.push(chunk.toString());
      if (this.log.length > 200) this.log.shift();
    };
    this.child.stdout?.on("data", keep);
    this.child.stderr?.on("data", keep);
    this.child.on("exit", () => {
      this.exited = true;
    });
  }

  /** Starts `bin` listening on `host` (`0.0.0.0`: every interface) and waits until /healthz
   * answers on 127.0.0.1 (at most `timeoutMs`). */
  static async start(
    bin: string,
    port: number,
    args: string[],
    { timeoutMs = 20000, host = "127.0.0.1" }: { timeoutMs?: number; host?: string } = {},
  ): Promise<Server> {
    const server = new Server(bin, port, args, host);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (server.exited) throw new Error(`server exited at startup:\n${server.output()}`);
      try {
        const res = await fetch(`${server.url}/healthz`);
        if (res.ok) return server;
      } catch {
        // Not listening yet.
      }
      await sleep(100);
    }
    server.stop();
    throw new Error(`server did not answer /healthz within ${timeoutMs} ms:\n${server.output()}`);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The server's recent log. */
  output(): string {
    return this.log.join("");
  }

  /** Kills the server at once (the run is being aborted). */
  killNow(): void {
    if (!this.exited) this.child.kill("SIGKILL");
  }

  /** Stops the server by its PID: SIGTERM, then SIGKILL if it is still running after 3 s. */
  stop(): Promise<void> {
    return stopProcess(this.child, () => this.exited);
  }
}

/**
 * Stops a child process this test run started, by its PID: SIGTERM, then SIGKILL if it is still
 * running after 3 s. `exited` says whether it already exited (then there is nothing to do).
 */
export function stopProcess(child: ChildProcess, exited: () => boolean): Promise<void> {
  if (exited() || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => {
      if (!exited()) child.kill("SIGKILL");
    }, 3000);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
