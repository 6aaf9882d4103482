import { expect } from "chai";
import { loadRealtimeConfig } from "../src/config.js";

describe("realtime config", () => {
  it("when HOST is not set, then realtime listens on 127.0.0.1 only (reached through the gateway)", () => {
    expect(loadRealtimeConfig({ NODE_ENV: "test" }).HOST).to.equal("127.0.0.1");
  });

  it("when the socket limits are not set, then a socket follows 100 rooms and sends 20 events a second, bursts of 40", () => {
    expect(loadRealtimeConfig({ NODE_ENV: "test" })).to.include({
      SOCKET_MAX_SUBSCRIPTIONS: 100,
      SOCKET_EVENTS_PER_SECOND: 20,
      SOCKET_EVENTS_BURST: 40,
      SOCKET_ABUSE_LIMIT: 100,
    });
  });

  it("when a socket limit is out of range, then start-up fails naming every problem", () => {
    expect(() => loadRealtimeConfig({ NODE_ENV: "test", SOCKET_MAX_SUBSCRIPTIONS: "0", SOCKET_EVENTS_BURST: "x" })).to.throw(/SOCKET_MAX_SUBSCRIPTIONS[\s\S]*SOCKET_EVENTS_BURST/);
  });
});
