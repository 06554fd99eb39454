import assert from "node:assert/strict";
import { test } from "node:test";
import { isSettled, nextStatus } from "../.test-build/lib.mjs";

test("forward transitions are taken, backward ones ignored", () => {
  assert.equal(nextStatus("sending", "queued"), "queued");
  assert.equal(nextStatus("queued", "read"), "read");
  assert.equal(nextStatus("delivered", "sent"), "delivered");
  assert.equal(nextStatus("read", "queued"), "read");
});

test("queued or sent may fail, delivered or read may not", () => {
  assert.equal(nextStatus("queued", "failed"), "failed");
  assert.equal(nextStatus("sent", "failed"), "failed");
  assert.equal(nextStatus("sending", "failed"), "failed");
  assert.equal(nextStatus("delivered", "failed"), "delivered");
});

test("a failed message can be retried", () => {
  assert.equal(nextStatus("failed", "queued"), "queued");
  assert.equal(nextStatus("failed", "sending"), "sending");
});

test("only acknowledged, non-failed messages are settled", () => {
  assert.equal(isSettled("sending"), false);
  assert.equal(isSettled("failed"), false);
  assert.equal(isSettled("queued"), true);
});
