import assert from "node:assert/strict";
import { test } from "node:test";
import { parseFrame } from "../.test-build/lib.mjs";
import { created, message } from "./helpers.mjs";

test("known frames parse", () => {
  assert.deepEqual(parseFrame('{"type":"ready","last_seq":4,"heartbeat_interval":25}'), { type: "ready", last_seq: 4, heartbeat_interval: 25 });
  assert.deepEqual(parseFrame('{"type":"ping"}'), { type: "ping" });
  const ev = created(5, message());
  assert.deepEqual(parseFrame(JSON.stringify({ type: "event", event: ev })), { type: "event", event: ev });
  assert.equal(parseFrame('{"type":"error","error":{"code":"invalid_token","message":"x"}}').error.code, "invalid_token");
});

test("malformed or unknown frames are dropped", () => {
  for (const bad of ["not json", "[]", "{}", '{"type":"hello"}', '{"type":"ready"}', '{"type":"event","event":{"seq":"1","kind":"message.created","payload":{}}}', '{"type":"event","event":{"seq":1,"kind":"message.created","payload":{"message":{"id":1}}}}', '{"type":"event","event":{"seq":1,"kind":"unknown.kind","payload":{}}}', '{"type":"event","event":{"seq":1,"kind":"conversation.read","payload":{"read_seq":"x"}}}', new ArrayBuffer(2)]) {
    assert.equal(parseFrame(bad), null, String(bad));
  }
});
