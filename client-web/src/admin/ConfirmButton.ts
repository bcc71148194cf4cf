/**
 * A button for an action that cannot be undone: the first click asks inline ("Close room 3?
 * Yes / Cancel"), the second does it. Inline rather than `confirm()`, which would block the page
 * (and its live stream) while open.
 */
import { el } from "../ui/dom";

export interface ConfirmOptions {
  /** The button's text. */
  readonly label: string;
  /** The question asked before acting. */
  readonly question: string;
  /** The confirming button's text. */
  readonly confirm: string;
  readonly testId: string;
  /** Does it; a rejection is shown next to the button. */
  readonly act: () => Promise<void>;
}

export class ConfirmButton {
  readonly element: HTMLElement;

  constructor(private readonly options: ConfirmOptions) {
    this.element = el("span", { class: "confirm" });
    this.idle();
  }

  private idle(note?: string): void {
    const o = this.options;
    this.element.replaceChildren(
      el("button", { class: "danger", "data-testid": o.testId, onclick: () => this.ask() }, o.label),
      ...(note ? [el("span", { class: "note bad" }, note)] : []),
    );
  }

  private ask(): void {
    const o = this.options;
    const yes = el(
      "button",
      { class: "danger", "data-testid": `${o.testId}-confirm`, onclick: () => void this.run() },
      o.confirm,
    );
    this.element.replaceChildren(
      el("span", { class: "question" }, o.question),
      yes,
      el("button", { "data-testid": `${o.testId}-cancel`, onclick: () => this.idle() }, "Cancel"),
    );
    yes.focus();
  }

  private async run(): Promise<void> {
    this.element.replaceChildren(el("span", { class: "note" }, "…"));
    try {
      await this.options.act();
      this.idle();
    } catch (e) {
      this.idle(e instanceof Error ? e.message : String(e));
    }
  }
}
