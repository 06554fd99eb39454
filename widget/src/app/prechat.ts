/** The optional pre-chat form (name, email) shown before the first message (protocol §6.1). */

import type { Strings } from "../lib/i18n";
import { looksLikeEmail } from "../lib/text";
import { h } from "./dom";

export class PrechatForm {
  readonly form: HTMLFormElement;
  private readonly name: HTMLInputElement;
  private readonly email: HTMLInputElement;
  private readonly error: HTMLElement;

  constructor(strings: Strings, onSubmit: (profile: { name: string; email?: string }) => void) {
    this.name = h("input", { type: "text", name: "name", autocomplete: "name", required: true, maxlength: "100" });
    this.email = h("input", { type: "email", name: "email", autocomplete: "email", maxlength: "254", "aria-describedby": "ob-prechat-error" });
    this.error = h("p", { class: "error", id: "ob-prechat-error", role: "alert", hidden: true });
    this.form = h(
      "form",
      { class: "prechat", hidden: true, novalidate: true },
      h("p", {}, strings.prechatIntro),
      h("label", {}, strings.name, this.name),
      h("label", {}, strings.email, this.email),
      this.error,
      h("button", { type: "submit", class: "send" }, strings.start),
    );
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const name = this.name.value.trim();
      const email = this.email.value.trim();
      if (!name) {
        this.name.focus();
        return;
      }
      if (email && !looksLikeEmail(email)) {
        this.error.textContent = strings.invalidEmail;
        this.error.hidden = false;
        this.email.setAttribute("aria-invalid", "true");
        this.email.focus();
        return;
      }
      onSubmit(email ? { name, email } : { name });
    });
  }

  show(visible: boolean): void {
    this.form.hidden = !visible;
  }

  focus(): void {
    this.name.focus();
  }
}
