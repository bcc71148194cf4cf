/**
 * The admin stream (`/api/admin/stream`, server-sent events) read with fetch, not EventSource,
 * because EventSource cannot send the bearer token. Events are parsed by `eventsource-parser`.
 * A stream that ends or fails is opened again after a pause; a refusal (401/403) stops it until
 * the page starts it again (after a login).
 */
import { createParser } from "eventsource-parser";
import { AccessDenied, type AdminApi } from "./AdminApi";
import { parseHistory, parseUpdate } from "./parse";
import type { History, Update } from "./types";

/** Where the stream is. */
export type StreamStatus =
  | { readonly state: "connecting" }
  | { readonly state: "live" }
  | { readonly state: "denied"; readonly status: number; readonly message: string }
  | { readonly state: "retrying"; readonly message: string };

export interface StreamHandlers {
  history(history: History): void;
  update(update: Update): void;
  status(status: StreamStatus): void;
}

/** Pause before opening a stream again, ms. */
export const RETRY_MS = 2000;

export class LiveStream {
  private abort: AbortController | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly api: AdminApi,
    private readonly handlers: StreamHandlers,
    private readonly retryMs = RETRY_MS,
  ) {}

  /** Opens the stream (closing any open one). */
  start(): void {
    this.stop();
    const abort = new AbortController();
    this.abort = abort;
    void this.run(abort.signal);
  }

  /** Closes it for good (until the next start). */
  stop(): void {
    this.abort?.abort();
    this.abort = null;
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
  }

  private async run(signal: AbortSignal): Promise<void> {
    this.handlers.status({ state: "connecting" });
    let message = "the stream ended";
    try {
      const res = await this.api.request("GET", "/api/admin/stream", signal);
      const body = res.body;
      if (!body) throw new Error("the stream has no body");
      let live = false;
      const parser = createParser({
        onEvent: (event) => {
          const data: unknown = JSON.parse(event.data);
          if (event.event === "history") this.handlers.history(parseHistory(data));
          else if (event.event === "update") this.handlers.update(parseUpdate(data));
          if (!live) {
            live = true;
            this.handlers.status({ state: "live" });
          }
        },
      });
      const reader = body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof AccessDenied) {
        this.handlers.status({ state: "denied", status: e.status, message: e.message });
        return;
      }
      message = e instanceof Error ? e.message : String(e);
    }
    if (signal.aborted) return;
    this.handlers.status({ state: "retrying", message });
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!signal.aborted) void this.run(signal);
    }, this.retryMs);
  }
}
