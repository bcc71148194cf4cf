/**
 * Asks for the `--admin-token` when the server refuses the page without it. The token goes to
 * the page's `AdminApi`, which keeps it for this tab and sends it as a bearer header.
 */
import { el } from "../ui/dom";

export class LoginForm {
  readonly element: HTMLElement;
  private readonly message: HTMLElement;
  private readonly input: HTMLInputElement;

  constructor(onToken: (token: string) => void) {
    this.input = el("input", {
      type: "password",
      autocomplete: "current-password",
      placeholder: "admin token",
      "data-testid": "token-input",
      required: true,
    });
    this.message = el("p", { class: "muted", "data-testid": "login-message" });
    const form = el(
      "form",
      { class: "login", "data-testid": "login-form" },
      el("h2", {}, "Admin token"),
      this.message,
      el("label", {}, "Token ", this.input),
      el("button", { type: "submit", "data-testid": "login-submit" }, "Sign in"),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const token = this.input.value.trim();
      if (token) onToken(token);
      this.input.value = "";
    });
    this.element = form;
  }

  /** Shows the form with why it is needed. */
  show(message: string): void {
    this.message.textContent = message;
    this.element.hidden = false;
    this.input.focus();
  }

  hide(): void {
    this.element.hidden = true;
  }
}
