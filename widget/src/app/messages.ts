/** The message list: keyed rendering of store entries, patching only the parts that changed. */

import type { Strings } from "../lib/i18n";
import { errorText } from "../lib/i18n";
import type { Attachment } from "../lib/protocol";
import { planRich } from "../lib/rich";
import { isSettled } from "../lib/status";
import type { Entry, ViewMessage } from "../lib/store";
import { formatSize } from "../lib/text";
import { safeHref } from "../lib/url";
import { h, renderPlan } from "./dom";

export interface MessageActions {
  edit(key: string): void;
  remove(key: string): void;
  retry(key: string): void;
}

interface Rendered {
  element: HTMLElement;
  contentSig: string;
  metaSig: string;
}

type MessageEntry = Extract<Entry, { type: "message" }>;

const LINK = { rel: "noopener noreferrer", target: "_blank" };

export class MessageList {
  private readonly rendered = new Map<string, Rendered>();

  constructor(
    private readonly list: HTMLElement,
    private readonly strings: Strings,
    private readonly lang: string,
    private readonly actions: MessageActions,
  ) {}

  /** Bring the list in line with `entries`, keeping unchanged elements (and focus) in place. */
  render(entries: readonly Entry[], greeting: HTMLElement | null): void {
    const nearBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
    const keep = new Set<string>();
    let cursor: ChildNode | null = greeting ? greeting.nextSibling : this.list.firstChild;
    if (greeting && greeting.parentNode !== this.list) this.list.prepend(greeting);
    for (const entry of entries) {
      keep.add(entry.key);
      const element = this.upsert(entry);
      if (element !== cursor) this.list.insertBefore(element, cursor);
      cursor = element.nextSibling;
    }
    for (const [key, rendered] of this.rendered) {
      if (!keep.has(key)) {
        rendered.element.remove();
        this.rendered.delete(key);
      }
    }
    if (nearBottom) this.scrollToEnd();
  }

  scrollToEnd(): void {
    this.list.scrollTop = this.list.scrollHeight;
  }

  private upsert(entry: Entry): HTMLElement {
    if (entry.type === "notice") {
      const existing = this.rendered.get(entry.key);
      if (existing) return existing.element;
      const text = entry.notice === "session.closed" ? this.strings.sessionClosed : this.strings.sessionOpened;
      const element = h("p", { class: "notice" }, text);
      this.rendered.set(entry.key, { element, contentSig: "", metaSig: "" });
      return element;
    }
    const message = entry.message;
    const contentSig = JSON.stringify([message.deleted, message.text, message.rich, message.attachments.map((a) => [a.id, a.url])]);
    const metaSig = JSON.stringify([message.status, message.failure?.code, message.edited_at, message.deleted, message.id]);
    let rendered = this.rendered.get(entry.key);
    if (!rendered) {
      rendered = { element: this.shell(entry), contentSig: "", metaSig: "" };
      this.rendered.set(entry.key, rendered);
    }
    const body = rendered.element.querySelector(".body") as HTMLElement;
    if (rendered.contentSig !== contentSig) {
      body.querySelector(".bubble")?.remove();
      body.querySelector(".files")?.remove();
      body.insertBefore(this.content(message), body.querySelector(".meta"));
      rendered.contentSig = contentSig;
    }
    if (rendered.metaSig !== metaSig) {
      body.querySelector(".meta")?.remove();
      body.append(this.meta(entry.key, message));
      rendered.metaSig = metaSig;
    }
    return rendered.element;
  }

  private shell(entry: MessageEntry): HTMLElement {
    const message = entry.message;
    const own = message.direction === "visitor";
    const body = h("div", { class: "body" });
    const author = own ? this.strings.you : (message.author.name ?? this.strings.operator);
    body.append(h("span", { class: own ? "sr" : "author" }, `${author}:`));
    const element = h("div", { class: own ? "msg own" : "msg" });
    const avatar = own ? null : safeHref(message.author.avatar_url);
    if (avatar && !avatar.startsWith("mailto:")) element.append(h("img", { class: "avatar", src: avatar, alt: "", loading: "lazy" }));
    element.append(body);
    return element;
  }

  private content(message: ViewMessage): DocumentFragment {
    const fragment = document.createDocumentFragment();
    if (message.deleted) {
      fragment.append(h("div", { class: "bubble deleted" }, this.strings.deleted));
      return fragment;
    }
    if (message.rich !== null || message.text) {
      const bubble = h("div", { class: "bubble" });
      // Operator text arrives as a parsed tree (protocol §4.2); visitor text is plain.
      if (message.rich !== null) bubble.append(renderPlan(planRich(message.rich)));
      else bubble.textContent = message.text;
      fragment.append(bubble);
    }
    if (message.attachments.length) fragment.append(h("div", { class: "files" }, ...message.attachments.map((a) => this.attachment(a))));
    return fragment;
  }

  private attachment(attachment: Attachment): HTMLElement {
    const url = safeHref(attachment.url);
    const href = url && !url.startsWith("mailto:") ? url : undefined;
    if (href && attachment.mime.startsWith("image/")) {
      const image = h("img", { src: href, alt: attachment.name, loading: "lazy" });
      if (attachment.width && attachment.height) {
        image.width = attachment.width;
        image.height = attachment.height;
      }
      return h("a", { href, ...LINK }, image);
    }
    const label = `${attachment.name} (${formatSize(attachment.size)})`;
    return href ? h("a", { class: "file", href, ...LINK }, label) : h("span", { class: "file" }, label);
  }

  private meta(key: string, message: ViewMessage): HTMLElement {
    const meta = h("div", { class: "meta" });
    const time = new Date(message.created_at);
    if (!Number.isNaN(time.getTime())) meta.append(h("time", { datetime: message.created_at }, time.toLocaleTimeString(this.lang, { hour: "2-digit", minute: "2-digit" })));
    if (message.edited_at && !message.deleted) meta.append(h("span", {}, this.strings.edited));
    if (message.direction !== "visitor" || message.deleted) return meta;
    const failed = message.status === "failed";
    meta.append(h("span", { class: failed ? "failed" : "" }, this.strings.status[message.status]));
    if (failed) {
      if (message.failure) meta.append(h("span", { class: "failed" }, errorText(this.strings, message.failure.code)));
      meta.append(this.button(this.strings.retry, () => this.actions.retry(key)));
    }
    if (message.id !== null && isSettled(message.status)) {
      meta.append(this.button(this.strings.edit, () => this.actions.edit(key)), this.button(this.strings.delete, () => this.actions.remove(key)));
    }
    return meta;
  }

  private button(label: string, onClick: () => void): HTMLButtonElement {
    const button = h("button", { type: "button", class: "link" }, label);
    button.addEventListener("click", onClick);
    return button;
  }
}
