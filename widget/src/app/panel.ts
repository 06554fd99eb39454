/** The chat dialog's frame: header, connection banner, message log, pre-chat form, composer, drop zone. */

import type { Strings } from "../lib/i18n";
import { h } from "./dom";

export interface PanelParts {
  prechat: HTMLElement;
  composer: HTMLElement;
  onClose(): void;
  onFiles(files: FileList): void;
}

export class Panel {
  readonly element: HTMLElement;
  readonly list: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly drop: HTMLElement;
  private greetingElement: HTMLElement | null = null;

  constructor(strings: Strings, parts: PanelParts) {
    this.heading = h("h2", { id: "ob-title" }, strings.chatTitle);
    const close = h("button", { type: "button", class: "icon", "aria-label": strings.closeChat }, "×");
    this.banner = h("p", { class: "banner", role: "status", hidden: true });
    // role=log is polite by default; stated explicitly for older screen readers.
    this.list = h("div", { class: "list", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": strings.messages, tabindex: "0" });
    this.drop = h("div", { class: "drop", hidden: true, "aria-hidden": "true" }, strings.dropHere);
    this.element = h(
      "div",
      { class: "panel", id: "ob-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "ob-title", hidden: true },
      h("header", {}, this.heading, close),
      this.banner,
      this.list,
      parts.prechat,
      parts.composer,
      this.drop,
    );
    close.addEventListener("click", () => parts.onClose());
    this.element.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        parts.onClose();
      }
    });
    this.wireDrop(parts.onFiles);
  }

  private wireDrop(onFiles: (files: FileList) => void): void {
    let depth = 0;
    const hasFiles = (event: DragEvent): boolean => Array.from(event.dataTransfer?.types ?? []).includes("Files");
    this.element.addEventListener("dragenter", (event) => {
      if (!hasFiles(event)) return;
      depth++;
      this.drop.hidden = false;
    });
    this.element.addEventListener("dragover", (event) => {
      if (hasFiles(event)) event.preventDefault();
    });
    this.element.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) this.drop.hidden = true;
    });
    this.element.addEventListener("drop", (event) => {
      depth = 0;
      this.drop.hidden = true;
      const files = event.dataTransfer?.files;
      if (files && files.length) {
        event.preventDefault();
        onFiles(files);
      }
    });
  }

  setTitle(title: string, fallback: string): void {
    this.heading.textContent = title || fallback;
  }

  /** The greeting shown above the first message (not a message itself). */
  greeting(text: string): HTMLElement | null {
    if (!text) return null;
    this.greetingElement ??= h("p", { class: "greeting" });
    this.greetingElement.textContent = text;
    return this.greetingElement;
  }

  setBanner(text: string | null): void {
    this.banner.textContent = text ?? "";
    this.banner.hidden = text === null;
  }

  get isOpen(): boolean {
    return !this.element.hidden;
  }

  setOpen(open: boolean): void {
    this.element.hidden = !open;
  }
}
