import assert from "node:assert/strict";
import { test } from "node:test";
import { bridgeBase, liveUrlFor, safeHref } from "../.test-build/lib.mjs";

test("http, https and mailto pass", () => {
  assert.equal(safeHref("https://example.com"), "https://example.com/");
  assert.equal(safeHref(" http://x.test/p?q=1#h "), "http://x.test/p?q=1#h");
  assert.equal(safeHref("mailto:a@b.c"), "mailto:a@b.c");
});

test("dangerous or relative URLs are refused", () => {
  for (const bad of ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\nscript:alert(1)", "data:text/html,x", "vbscript:x", "//evil.test", "/path", "file:///etc/passwd", "https://a b.test", "", null, 42, "x".repeat(3000)]) {
    assert.equal(safeHref(bad), null, String(bad));
  }
});

test("base and live URLs follow the loader's location, prefix included", () => {
  assert.equal(bridgeBase("https://b.example/widget.js"), "https://b.example/");
  assert.equal(bridgeBase("https://b.example/chat/widget.js?x=1"), "https://b.example/chat/");
  assert.equal(liveUrlFor("https://b.example/chat/"), "wss://b.example/chat/api/v1/conversation/live");
  assert.equal(liveUrlFor("http://127.0.0.1:8000/"), "ws://127.0.0.1:8000/api/v1/conversation/live");
});
