import assert from "node:assert/strict";
import { test } from "node:test";
import { Listeners, createFacade } from "../.test-build/lib.mjs";

test("calls before the app loads are queued and replayed in order", () => {
  const seen = [];
  const facade = createFacade((method) => seen.push(`notify:${method}`));
  const cb = () => {};
  facade.api.on("message", cb);
  facade.api.setUser({ user_id: "1", hash: "h" });
  facade.api.open();
  assert.deepEqual(seen, ["notify:on", "notify:setUser", "notify:open"]);
  const calls = [];
  const impl = {
    marker: "impl",
    open() {
      calls.push(["open", this.marker]);
    },
    close() {
      calls.push(["close"]);
    },
    setUser(u) {
      calls.push(["setUser", u.user_id]);
    },
    on(name, fn) {
      calls.push(["on", name, fn === cb]);
    },
    off() {},
  };
  facade.attach(impl);
  assert.deepEqual(calls, [["on", "message", true], ["setUser", "1"], ["open", "impl"]]);
  facade.api.close();
  assert.deepEqual(calls.at(-1), ["close"]);
  assert.equal(calls.length, 4);
});

test("methods detached from the facade still work", () => {
  const facade = createFacade(() => {});
  const { open } = facade.api;
  let opened = 0;
  open();
  facade.attach({ open: () => opened++, close() {}, setUser() {}, on() {}, off() {} });
  open();
  assert.equal(opened, 2);
});

test("listeners: add, remove, non-functions ignored, one throwing does not stop the rest", () => {
  const l = new Listeners();
  const got = [];
  const a = (v) => got.push(`a${v}`);
  const boom = () => {
    throw new Error("x");
  };
  l.add(boom);
  l.add(a);
  l.add("not a function");
  const errors = [];
  l.emit(1, (e) => errors.push(e.message));
  l.remove(a);
  l.emit(2, () => {});
  assert.deepEqual(got, ["a1"]);
  assert.deepEqual(errors, ["x"]);
});
