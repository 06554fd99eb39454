/** Message status transitions (protocol §4.4), applied to whatever order updates arrive in. */

import type { MessageStatus } from "./protocol";

const RANK: Record<MessageStatus, number> = { sending: 0, queued: 1, sent: 2, delivered: 3, read: 4, failed: -1 };

/**
 * The status after `incoming` is applied to `current`: forward moves only, except that queued
 * or sent messages may fail and a failed one may be queued again (a retry).
 */
export function nextStatus(current: MessageStatus, incoming: MessageStatus): MessageStatus {
  if (incoming === current) return current;
  if (incoming === "failed") return current === "delivered" || current === "read" ? current : "failed";
  if (current === "failed") return incoming;
  return RANK[incoming] > RANK[current] ? incoming : current;
}

/** Whether the visitor may edit or delete a message in this status. */
export function isSettled(status: MessageStatus): boolean {
  return status !== "sending" && status !== "failed";
}
