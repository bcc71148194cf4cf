/**
 * Starts the server for every spec: the binary from TICKROOM_BIN (default
 * ../target/debug/tickroom-server) on a free loopback port, serving dist/, and checks that it
 * speaks protocol v2. Its URL goes to the specs as TICKROOM_URL (and the binary's path as
 * TICKROOM_BIN_PATH, for a spec that runs a server of its own); the returned teardown stops it
 * by its PID and keeps its log in test-results/server.log. Without Chromium nothing can run:
 * one SKIPPED line, exit 0.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, Server } from "./Server";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export default async function globalSetup(): Promise<() => Promise<void>> {
  const chromium = process.env["CHROMIUM_PATH"] || "/usr/bin/chromium";
  if (!existsSync(chromium)) {
    console.log(
      `e2e: SKIPPED browser tests: chromium not found at ${chromium} (apt-get install chromium, or set CHROMIUM_PATH)`,
    );
    // Nothing can run without a browser; that is a skip, not a failure.
    process.exit(0);
  }
  const bin = resolve(root, process.env["TICKROOM_BIN"] ?? "../target/debug/tickroom-server");
  if (!existsSync(bin)) {
    throw new Error(`server binary not found at ${bin} (cargo build -p tickroom-server, or set TICKROOM_BIN)`);
  }
  if (!existsSync(join(root, "dist/index.html")))
    throw new Error("dist/index.html is missing: run npm run build first");
  const server = await Server.start(bin, await freePort(), ["--static-dir", join(root, "dist")]);
  const stop = async (): Promise<void> => {
    await server.stop();
    await mkdir(join(root, "test-results"), { recursive: true });
    await writeFile(join(root, "test-results/server.log"), server.output());
  };
  const info = (await (await fetch(`${server.url}/api/info`)).json().catch(() => null)) as {
    protocol_version?: unknown;
  } | null;
  if (info?.protocol_version !== 2) {
    await stop();
    throw new Error(
      `the server at ${bin} speaks protocol ${String(info?.protocol_version)}; these specs need protocol 2`,
    );
  }
  process.env["TICKROOM_URL"] = server.url;
  // For specs that need a server of their own (one they restart).
  process.env["TICKROOM_BIN_PATH"] = bin;
  process.env["TICKROOM_DIST"] = join(root, "dist");
  console.log(`e2e: server pid ${server.pid} on ${server.url}`);
  return stop;
}
