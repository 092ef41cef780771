// drive.js runs Cisco's jsxapi (TSH backend, as an integrator uses it) against
// roomd's console for package jsxapitest. The Go test sends one JSON
// request per line on stdin and reads one JSON answer per line on stdout:
//
//   {"op":"connect","socket":"/path/control.sock"}          Unix socket
//   {"op":"connect","tty":"/dev/pts/7","pin":"4711"}         serial console
//   {"op":"connect","socket":"…","greeted":true}             Server.ServeCisco
//   {"op":"connect","ssh":{"host":…,"port":…,"username":…,"password":…}}
//   {"op":"connect","ssh":{…,"privateKey":"/path/id_ed25519"}}
//   {"op":"connect","ws":{"url":"wss://127.0.0.1:8443","username":…,"password":…}}
//   {"op":"status.get","path":"Audio Volume"}
//   {"op":"command","path":"Audio Volume Set","params":{"Level":30}}
//   {"op":"config.get","path":"..."}  {"op":"config.set","path":"...","value":60}
//   {"op":"status.on","path":"...","id":"mute"}   then {"id":"mute","feedback":…}
//   {"op":"event.on","path":"CallJoining","id":"join"}
//
// Each request is answered {"op":…,"ok":true,"value":…} or
// {"op":…,"ok":false,"error":{"message":…,"code":…,"data":…}}. Before jsxapi
// gets the stream, the script logs in (pin) and asks for Cisco's dialect,
// the two lines an integrator's code writes; the rest is jsxapi's own.
'use strict';

const fs = require('fs');
const net = require('net');
const readline = require('readline');
const tty = require('tty');
const { Duplex } = require('stream');
const jsxapi = require('jsxapi');
const { XAPI } = jsxapi;
const TSHBackend = require('jsxapi/lib/backend/tsh').default;

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// ttyStream opens a terminal device (the console pty) as one duplex stream.
function ttyStream(path) {
  const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  const input = new tty.ReadStream(fd);
  const output = new tty.WriteStream(fd);
  const stream = new Duplex({
    read() {},
    write(chunk, enc, cb) {
      output.write(chunk, enc, cb);
    },
  });
  input.on('data', (d) => stream.push(d));
  input.on('error', (e) => stream.emit('error', e));
  stream.close = () => {
    input.destroy();
    output.destroy();
  };
  return stream;
}

function socketStream(path) {
  const sock = net.connect(path);
  sock.close = () => sock.end();
  return sock;
}

let xapi;

// sshXAPI connects as integrators do: jsxapi.connect with a password (which
// jsxapi answers keyboard-interactive prompts with), or jsxapi's own SSH
// transport with a private key.
function sshXAPI({ host, port, username, password, privateKey }) {
  if (!privateKey) {
    return jsxapi.connect(`ssh://${host}:${port}`, { username, password, loglevel: 'error' });
  }
  const connectSSH = require('jsxapi/lib/transport/ssh').default;
  const stream = connectSSH({ host, port, username, privateKey: fs.readFileSync(privateKey) });
  return new XAPI(new TSHBackend(stream));
}

async function connect(req) {
  let stream;
  if (req.ws) {
    // RoomOS's JSON-RPC over WebSocket at /ws, as integrators connect.
    xapi = jsxapi.connect(req.ws.url, { username: req.ws.username, password: req.ws.password, loglevel: 'error' });
  } else if (req.ssh) {
    xapi = sshXAPI(req.ssh);
  } else {
    stream = req.tty ? ttyStream(req.tty) : socketStream(req.socket);
    xapi = new XAPI(new TSHBackend(stream));
  }
  const failed = new Promise((resolve, reject) => xapi.on('error', reject));
  xapi.on('error', (e) => out({ op: 'error', message: String(e && e.message ? e.message : e) }));
  const ready = new Promise((resolve) => xapi.on('ready', resolve));
  // What the integrator's own code writes before jsxapi takes over. SSH and
  // a session served in Cisco's dialect from the start (greeted) need neither.
  if (stream && req.pin) stream.write(req.pin + '\n');
  if (stream && !req.greeted) stream.write('xPreferences Dialect Cisco\n');
  await Promise.race([ready, failed]);
  return true;
}

// errorOf is what a rejected call gave: jsxapi rejects with the JSON-RPC
// error object {code, message, data}.
function errorOf(e) {
  return { message: String(e && e.message ? e.message : e), code: e && e.code, data: e && e.data };
}

async function run(req) {
  switch (req.op) {
    case 'connect':
      return connect(req);
    case 'status.get':
      return xapi.status.get(req.path);
    case 'config.get':
      return xapi.config.get(req.path);
    case 'config.set':
      return xapi.config.set(req.path, req.value);
    case 'command':
      return req.params ? xapi.command(req.path, req.params) : xapi.command(req.path);
    case 'status.on':
    case 'event.on': {
      const feed = req.op === 'status.on' ? xapi.status : xapi.event;
      const off = feed.on(req.path, (value) => out({ id: req.id, feedback: value }));
      return off.registration;
    }
    case 'close': {
      // Wait for the close to finish (briefly: a pty stream never says),
      // so an unclean one (jsxapi's "WebSocket closed unexpectedly") is seen.
      const closed = new Promise((resolve) => {
        xapi.on('close', resolve);
        xapi.on('error', resolve);
      });
      xapi.close();
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 300))]);
      setTimeout(() => process.exit(0), 50);
      return true;
    }
    default:
      throw new Error('unknown op ' + req.op);
  }
}

const rl = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on('line', (line) => {
  const req = JSON.parse(line);
  queue = queue.then(async () => {
    try {
      const value = await run(req);
      out({ op: req.op, ok: true, value: value === undefined ? null : value });
    } catch (e) {
      out({ op: req.op, ok: false, error: errorOf(e) });
    }
  });
});
rl.on('close', () => process.exit(0));
