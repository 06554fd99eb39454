/** Small text rules shared by the composer and notifications. */

/** Length in Unicode code points, as the server counts (protocol §1). */
export function codePointLength(text: string): number {
  return Array.from(text).length;
}

/** Whether composer text (after trimming, as the server does) fits the limit. */
export function fitsLimit(text: string, maxChars: number): boolean {
  return codePointLength(text.trim()) <= maxChars;
}

/** The page title while `unseen` operator messages wait in a hidden tab. */
export function notificationTitle(original: string, unseen: number, label: string): string {
  return unseen > 0 ? `(${unseen}) ${label} · ${original}` : original;
}

/** A new idempotency key for a message (protocol §6.3: 1–64 chars of [A-Za-z0-9_-]). */
export function newClientMessageId(randomBytes: (n: number) => Uint8Array): string {
  let id = "c-";
  for (const byte of randomBytes(16)) id += byte.toString(16).padStart(2, "0");
  return id;
}

/** Whether a simple email shape holds (protocol §6.7). */
export function looksLikeEmail(value: string): boolean {
  return value.length <= 254 && /^[^\s@]+@[^\s@]+$/.test(value);
}

/** Human-readable byte size. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
