/** Validation of frames received on the live connection (protocol §7); junk is dropped, not trusted. */

import type { ConversationEvent, ServerFrame } from "./protocol";

const EVENT_KINDS = new Set(["message.created", "message.edited", "message.deleted", "message.status", "session.opened", "session.closed", "conversation.read"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isMessage(value: unknown): boolean {
  return isRecord(value) && typeof value["id"] === "string" && (value["direction"] === "visitor" || value["direction"] === "operator");
}

/** The event if it has the shape of protocol §4.5 and a kind we know, else null. */
export function parseEvent(value: unknown): ConversationEvent | null {
  if (!isRecord(value) || !Number.isInteger(value["seq"]) || typeof value["kind"] !== "string" || !isRecord(value["payload"])) return null;
  const kind = value["kind"];
  const payload = value["payload"];
  if (!EVENT_KINDS.has(kind)) return null;
  if (kind.startsWith("message.") && kind !== "message.status" && !isMessage(payload["message"])) return null;
  if (kind === "message.status" && (typeof payload["message_id"] !== "string" || typeof payload["status"] !== "string")) return null;
  if (kind === "conversation.read" && !Number.isInteger(payload["read_seq"])) return null;
  return value as unknown as ConversationEvent;
}

/** Parse one text frame; null for anything malformed or of an unknown type (protocol §7.3). */
export function parseFrame(data: unknown): ServerFrame | null {
  if (typeof data !== "string") return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isRecord(value)) return null;
  switch (value["type"]) {
    case "ready":
      return Number.isInteger(value["last_seq"]) && typeof value["heartbeat_interval"] === "number" ? (value as unknown as ServerFrame) : null;
    case "event": {
      const event = parseEvent(value["event"]);
      return event ? { type: "event", event } : null;
    }
    case "ping":
    case "pong":
      return { type: value["type"] };
    case "error":
      return isRecord(value["error"]) && typeof value["error"]["code"] === "string" ? (value as unknown as ServerFrame) : null;
    default:
      return null;
  }
}
