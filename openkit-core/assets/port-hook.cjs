// OpenKit port hook for Node dev servers (loaded with NODE_OPTIONS=--require).
// Moves servers listening on a known port, and loopback clients connecting to one, by the
// worktree's offset, so many worktrees can run the same app side by side.
"use strict";
const net = require("net");
const offset = Number(process.env.__WM_PORT_OFFSET__ || 0);
let known = [];
try { known = JSON.parse(process.env.__WM_KNOWN_PORTS__ || "[]").map(Number); } catch (_) { known = []; }
if (offset > 0 && known.length > 0) {
  const shift = (port) => {
    const n = Number(port);
    return known.includes(n) ? n + offset : port;
  };
  const loopback = (host) => !host || host === "localhost" || host === "0.0.0.0" || host === "::" ||
    host === "::1" || /^127\./.test(host);
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (...args) {
    if (typeof args[0] === "number" || (typeof args[0] === "string" && /^\d+$/.test(args[0]))) {
      args[0] = shift(args[0]);
    } else if (args[0] && typeof args[0] === "object" && args[0].port !== undefined) {
      args[0] = Object.assign({}, args[0], { port: shift(args[0].port) });
    }
    return listen.apply(this, args);
  };
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args) {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    if (first && typeof first === "object" && first.port !== undefined && loopback(first.host)) {
      const moved = Object.assign({}, first, { port: shift(first.port) });
      if (Array.isArray(args[0])) { args[0] = [moved, ...args[0].slice(1)]; } else { args[0] = moved; }
    } else if (typeof first === "number" && loopback(typeof args[1] === "string" ? args[1] : undefined)) {
      args[0] = shift(first);
    }
    return connect.apply(this, args);
  };
}
