// Where a function's cold start spends its time (ADR 0126): preload it into a function process,
//   PGFN_START_TRACE=/tmp/trace.json node --require ./bench/lib/start-trace.cjs <dist>/reconcile.mjs
// send it an event, then SIGTERM: the file holds Node's bootstrap milestones and a list of marks
// { t: ms since spawn, cpu: ms of CPU used so far (process.cpuUsage), what } — the bundle's compile
// and top-level run, listening, each event received and answered, tls.createSecureContext (with its
// own CPU), each TLS connection (resumed or not) and each API request's start, headers and end.
// Plain CommonJS so that plain node can preload it without tsx (which would change what is measured).
'use strict';
const dc = require('node:diagnostics_channel');
const fs = require('node:fs');
const net = require('node:net');
const tls = require('node:tls');
const vm = require('node:vm');

const marks = [];
const cpuMs = (since) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};
const mark = (what) => marks.push({ t: Number(performance.now().toFixed(1)), cpu: Number(cpuMs().toFixed(1)), what });
mark('preload');

let requests = 0;
dc.subscribe('http.client.request.start', ({ request }) => {
  request.pgfnTraceId = ++requests;
  mark(`req#${requests} start ${request.method} ${request.path}`);
});
dc.subscribe('http.client.response.finish', ({ request, response }) => {
  const id = request.pgfnTraceId;
  mark(`req#${id} response ${response.statusCode} headers`);
  response.once('end', () => mark(`req#${id} body end`));
});
dc.subscribe('http.server.request.start', ({ request }) => mark(`server ${request.method} ${request.url}`));
dc.subscribe('http.server.response.finish', ({ response }) => mark(`server answered ${response.statusCode}`));

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  this.once('listening', () => mark('listening'));
  return listen.apply(this, args);
};

const createSecureContext = tls.createSecureContext;
tls.createSecureContext = function (...args) {
  const before = process.cpuUsage();
  const context = createSecureContext.apply(this, args);
  mark(`createSecureContext ${cpuMs(before).toFixed(1)} ms CPU`);
  return context;
};
let connections = 0;
const connect = tls.connect;
tls.connect = function (...args) {
  const socket = connect.apply(this, args);
  const id = ++connections;
  socket.once('secureConnect', () => mark(`tls#${id} connected, resumed: ${socket.isSessionReused()}`));
  return socket;
};

// The launcher (ADR 0117) compiles the bundle with vm.Script and runs its wrapper function.
const Script = vm.Script;
vm.Script = class extends Script {
  constructor(...args) {
    mark('bundle compile start');
    super(...args);
    mark(`bundle compiled, code cache rejected: ${this.cachedDataRejected}`);
  }
  runInThisContext(...args) {
    const wrapper = super.runInThisContext(...args);
    return function (...wrapperArgs) {
      mark('bundle top level start');
      const result = wrapper.apply(this, wrapperArgs);
      mark('bundle top level done');
      return result;
    };
  }
};

process.once('SIGTERM', () => {
  const { nodeStart, v8Start, environment, bootstrapComplete } = performance.nodeTiming;
  fs.writeFileSync(
    process.env.PGFN_START_TRACE,
    JSON.stringify({ nodeTiming: { nodeStart, v8Start, environment, bootstrapComplete }, marks }, null, 1),
  );
  process.exit(0);
});
