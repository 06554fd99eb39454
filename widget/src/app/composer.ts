/** The composer: text, attachments (pick, drag and drop, paste, upload progress) and edit mode. */

import { ApiError } from "../lib/errors";
import type { Strings } from "../lib/i18n";
import { errorText } from "../lib/i18n";
import type { Attachment, Limits } from "../lib/protocol";
import { fitsLimit } from "../lib/text";
import type { Upload } from "./api";
import { svgIcon } from "../lib/shadow";
import { h } from "./dom";

// A paperclip outline.
const PAPERCLIP = "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z";

export interface ComposerHooks {
  send(text: string, attachments: Attachment[]): void;
  saveEdit(key: string, text: string): void;
  upload(file: File, onProgress: (percent: number) => void): Upload;
  limits(): Limits | null;
}

interface Pending {
  file: File;
  chip: HTMLElement;
  attachment: Attachment | null;
  upload: Upload | null;
  preview: string | null;
}

export class Composer {
  readonly form: HTMLFormElement;
  readonly textarea: HTMLTextAreaElement;
  private readonly tray: HTMLElement;
  private readonly editBar: HTMLElement;
  private readonly error: HTMLElement;
  private readonly submit: HTMLButtonElement;
  private readonly picker: HTMLInputElement;
  private pending: Pending[] = [];
  private editing: string | null = null;

  constructor(
    private readonly strings: Strings,
    private readonly hooks: ComposerHooks,
  ) {
    this.textarea = h("textarea", { rows: "1", "aria-label": strings.placeholder, placeholder: strings.placeholder });
    this.picker = h("input", { type: "file", multiple: true, hidden: true, tabindex: "-1" });
    const attach = h("button", { type: "button", class: "icon", "aria-label": strings.attach, title: strings.attach }, svgIcon(PAPERCLIP));
    this.submit = h("button", { type: "submit", class: "send" }, strings.send);
    const cancel = h("button", { type: "button", class: "link" }, strings.cancelEdit);
    this.editBar = h("div", { class: "editbar", hidden: true }, h("span", {}, strings.editing), cancel);
    this.tray = h("div", { class: "tray", hidden: true });
    this.error = h("p", { class: "error", role: "alert", hidden: true });
    this.form = h("form", { class: "composer" }, this.editBar, this.tray, this.error, h("div", { class: "row" }, attach, this.textarea, this.submit), this.picker);

    attach.addEventListener("click", () => this.picker.click());
    this.picker.addEventListener("change", () => {
      if (this.picker.files) this.addFiles(this.picker.files);
      this.picker.value = "";
    });
    cancel.addEventListener("click", () => this.cancelEdit());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.onSubmit();
    });
    this.textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.onSubmit();
      } else if (event.key === "Escape" && this.editing !== null) {
        event.stopPropagation();
        this.cancelEdit();
      }
    });
    this.textarea.addEventListener("paste", (event) => {
      const files = event.clipboardData?.files;
      if (files && files.length && this.editing === null) {
        event.preventDefault();
        this.addFiles(files);
      }
    });
  }

  focus(): void {
    this.textarea.focus();
  }

  showError(text: string | null): void {
    this.error.textContent = text ?? "";
    this.error.hidden = text === null;
  }

  /** Put an own message into the composer for editing. */
  startEdit(key: string, text: string): void {
    this.editing = key;
    this.textarea.value = text;
    this.editBar.hidden = false;
    this.submit.textContent = this.strings.save;
    this.focus();
  }

  cancelEdit(): void {
    this.editing = null;
    this.textarea.value = "";
    this.editBar.hidden = true;
    this.submit.textContent = this.strings.send;
    this.focus();
  }

  /** Validate and upload files (from the picker, a drop or a paste). */
  addFiles(files: FileList | readonly File[]): void {
    const limits = this.hooks.limits();
    for (const file of Array.from(files)) {
      if (limits && this.pending.length >= limits.attachments_per_message) {
        this.showError(errorText(this.strings, "too_many_attachments"));
        return;
      }
      if (limits && file.size > limits.file_max_bytes) {
        this.showError(`${file.name}: ${errorText(this.strings, "file_too_large")}`);
        continue;
      }
      if (limits && file.type && !limits.file_types.includes(file.type)) {
        this.showError(`${file.name}: ${errorText(this.strings, "file_type_not_allowed")}`);
        continue;
      }
      this.startUpload(file);
    }
  }

  private startUpload(file: File): void {
    const preview = file.type.startsWith("image/") ? URL.createObjectURL(file) : null;
    const progress = h("progress", { max: "100", value: "0", "aria-label": this.strings.uploading(file.name, 0) });
    const remove = h("button", { type: "button", class: "icon", "aria-label": this.strings.removeAttachment(file.name) }, "×");
    const chip = h("div", { class: "chip" }, preview ? h("img", { src: preview, alt: "" }) : null, h("span", {}, file.name), progress, remove);
    const item: Pending = { file, chip, attachment: null, upload: null, preview };
    this.pending.push(item);
    this.tray.append(chip);
    this.tray.hidden = false;
    remove.addEventListener("click", () => this.removePending(item));
    item.upload = this.hooks.upload(file, (percent) => {
      progress.value = percent;
      progress.setAttribute("aria-label", this.strings.uploading(file.name, percent));
    });
    item.upload.promise.then(
      (attachment) => {
        item.attachment = attachment;
        item.upload = null;
        progress.remove();
      },
      (error: unknown) => {
        if (error instanceof ApiError && error.code === "aborted") return;
        this.removePending(item);
        this.showError(`${file.name}: ${errorText(this.strings, error instanceof ApiError ? error.code : undefined)}`);
      },
    );
  }

  private removePending(item: Pending): void {
    item.upload?.abort();
    if (item.preview) URL.revokeObjectURL(item.preview);
    item.chip.remove();
    this.pending = this.pending.filter((p) => p !== item);
    this.tray.hidden = this.pending.length === 0;
  }

  private onSubmit(): void {
    const text = this.textarea.value;
    const limits = this.hooks.limits();
    if (limits && !fitsLimit(text, limits.message_max_chars)) {
      this.showError(errorText(this.strings, "message_too_long"));
      return;
    }
    if (this.pending.some((p) => p.attachment === null)) {
      this.showError(this.strings.waitUploads);
      return;
    }
    this.showError(null);
    if (this.editing !== null) {
      const key = this.editing;
      this.cancelEdit();
      this.hooks.saveEdit(key, text);
      return;
    }
    const attachments = this.pending.map((p) => p.attachment).filter((a): a is Attachment => a !== null);
    if (!text.trim() && attachments.length === 0) return;
    for (const item of this.pending) if (item.preview) URL.revokeObjectURL(item.preview);
    this.pending = [];
    this.tray.replaceChildren();
    this.tray.hidden = true;
    this.textarea.value = "";
    this.hooks.send(text, attachments);
  }
}
