/**
 * The chat: a log of lines (chat and room events) and an input line; for a spectator, who reads
 * the players' chat but cannot write, the line is disabled and says so.
 */
import { MAX_CHAT_BYTES, type Room } from "@tickroom/client";
import { el } from "./dom";

/** Lines kept in the log. */
const MAX_LINES = 100;

export class ChatBox {
  readonly root: HTMLElement;
  readonly input: HTMLInputElement;
  private readonly log: HTMLElement;

  /** `room`: the seat chat lines are sent from; null for a spectator (read-only). */
  constructor(private readonly room: Room | null) {
    this.log = el("div", { class: "chat-log", id: "chat-log", "data-testid": "chat-log", "aria-live": "polite" });
    this.input = el("input", {
      id: "chat-input",
      "data-testid": "chat-input",
      type: "text",
      placeholder: room ? "Say something (Enter)" : "Watching: the chat is read-only",
      autocomplete: "off",
      disabled: room === null,
    });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        this.send();
        e.stopPropagation();
      } else if (e.key === "Escape") this.input.blur();
    });
    this.root = el("div", { class: "panel chat" }, el("h3", {}, "Chat"), this.log, this.input);
  }

  /** A line from a player. */
  line(name: string, text: string, self: boolean): void {
    this.append(el("p", { class: self ? "self" : "" }, el("b", {}, `${name}: `), text));
  }

  /** A line from the client itself (joins, leaves, connection events). */
  notice(text: string): void {
    this.append(el("p", { class: "notice" }, text));
  }

  private append(node: HTMLElement): void {
    const atBottom = this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - 4;
    this.log.append(node);
    while (this.log.childElementCount > MAX_LINES) this.log.firstElementChild?.remove();
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
  }

  private send(): void {
    const text = this.input.value.trim();
    if (!text) return;
    if (new TextEncoder().encode(text).length > MAX_CHAT_BYTES) {
      this.notice(`That line is too long (at most ${MAX_CHAT_BYTES} bytes).`);
      return;
    }
    if (this.room?.sendChat(text)) this.input.value = "";
    else this.notice("Not connected: the line was not sent.");
  }
}
