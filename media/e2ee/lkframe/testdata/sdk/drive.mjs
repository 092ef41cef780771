// drive.mjs runs livekit-client's own E2EE code under Node for roomd's
// interop tests (media/e2ee/lkframe): the SDK's ExternalE2EEKeyProvider turns
// passphrases into key material, and the SDK's bundled E2EE worker
// (livekit-client/e2ee-worker, dist/livekit-client.e2ee.worker.mjs) encrypts and decrypts frames, fed
// through the same messages and web streams a browser's E2eeManager gives it.
// Nothing of the frame format is written here.
//
// Protocol: one JSON request per line on stdin, one JSON answer per line on
// stdout.
//   {"op":"setKey","passphrase":"...","keyIndex":n}   set a key; with keyIndex it becomes current
//   {"op":"ratchet","passphrase":"...","steps":n}        the SDK's ratchet chain keys
//   {"op":"encrypt"|"decrypt","track":"t1","kind":"video"|"audio","codec":"vp8"|"h264",
//    "frameType":"key"|"delta","ssrc":n,"timestamp":n,"data":"<base64>"}
// Answers: {"ok":true,"data":"<base64>"} or {"ok":false,"dropped":true,"errors":[...]}
// (the worker dropped the frame, e.g. it did not decrypt).
import * as readline from 'node:readline';
import * as lk from 'livekit-client';

const workerMessages = [];
globalThis.self = globalThis;
globalThis.onmessage = null;
globalThis.postMessage = (msg) => workerMessages.push(msg);
await import('livekit-client/e2ee-worker');
const toWorker = (kind, data) => globalThis.onmessage({ data: { kind, data } });

const identity = 'node-participant';
const keyProvider = new lk.ExternalE2EEKeyProvider();
// What E2eeManager does with a key the provider announces.
keyProvider.on('setKey', (info, updateCurrentKeyIndex) =>
  toWorker('setKey', {
    participantIdentity: identity,
    isPublisher: true,
    key: info.key,
    keyIndex: info.keyIndex,
    updateCurrentKeyIndex: updateCurrentKeyIndex ?? true,
  }),
);
toWorker('init', { keyProviderOptions: keyProvider.getOptions(), loglevel: 'warn' });
toWorker('enable', { enabled: true, participantIdentity: identity });

// settle lets the worker's message queue run.
const settle = () => new Promise((r) => setTimeout(r, 0));

// drained resolves once the worker has handled every message posted so far:
// its queue runs them in order and acknowledges 'enable'.
async function drained() {
  const ack = { enabled: true, participantIdentity: identity };
  toWorker('enable', ack);
  for (let i = 0; i < 5000; i++) {
    if (workerMessages.some((m) => m.data === ack)) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error('the e2ee worker did not answer within 10 s');
}

// A pipe is one track's encoded-frame stream through the worker's cryptor,
// as a sender's or receiver's createEncodedStreams() would give it.
const pipes = new Map();
function pipe(operation, track, codec) {
  const name = `${operation}/${track}`;
  let p = pipes.get(name);
  if (p) return p;
  p = { outputs: [] };
  const readableStream = new ReadableStream({ start: (c) => (p.input = c) });
  const writableStream = new WritableStream({ write: (frame) => p.outputs.push(frame) });
  toWorker(operation, {
    readableStream,
    writableStream,
    trackId: name,
    codec: codec || undefined,
    participantIdentity: identity,
    hasPacketTrailer: false,
  });
  pipes.set(name, p);
  return p;
}

function makeFrame(req, bytes) {
  const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const metadata = { synchronizationSource: req.ssrc, payloadType: 96 };
  const frame = { data, timestamp: req.timestamp, getMetadata: () => metadata };
  if (req.kind === 'video') {
    frame.type = req.frameType;
    metadata.mimeType = req.codec === 'h264' ? 'video/H264' : 'video/VP8';
  }
  return frame;
}

async function transform(req) {
  const p = pipe(req.op === 'encrypt' ? 'encode' : 'decode', req.track, req.kind === 'video' ? req.codec : '');
  await settle();
  const errorsBefore = workerMessages.length;
  const marker = makeFrame(req, new Uint8Array(0)); // empty frames pass untouched: they mark the end
  p.input.enqueue(makeFrame(req, Buffer.from(req.data, 'base64')));
  p.input.enqueue(marker);
  for (let i = 0; i < 500 && !p.outputs.includes(marker); i++) await new Promise((r) => setTimeout(r, 2));
  const outs = p.outputs.splice(0);
  const errors = workerMessages
    .slice(errorsBefore)
    .filter((m) => m.kind === 'error' || (m.kind === 'log' && m.data.level !== 'debug'))
    .map((m) => (m.kind === 'error' ? String(m.data.error) : `${m.data.level}: ${m.data.msg}`));
  if (!outs.includes(marker)) return { ok: false, errors: ['timeout: the worker never passed the frame on'] };
  if (outs.length === 1) return { ok: false, dropped: true, errors };
  return { ok: true, data: Buffer.from(outs[0].data).toString('base64'), errors };
}

async function handle(req) {
  switch (req.op) {
    case 'setKey': {
      const material = await lk.createKeyMaterialFromString(req.passphrase);
      if (req.keyIndex === undefined) await keyProvider.setKey(req.passphrase);
      else keyProvider.onSetEncryptionKey(material, undefined, req.keyIndex); // rotation, as an app's own provider does
      await drained(); // the key is derived (PBKDF2) before any frame uses it
      return { ok: true };
    }
    case 'ratchet': {
      // The SDK's ratchet() applied `steps` times to a passphrase's material.
      let material = await lk.createKeyMaterialFromString(req.passphrase);
      const chainKeys = [];
      for (let i = 0; i < req.steps; i++) {
        const chainKey = await lk.ratchet(material, keyProvider.getOptions().ratchetSalt);
        chainKeys.push(Buffer.from(chainKey).toString('base64'));
        material = await lk.importKey(chainKey, material.algorithm.name, 'derive');
      }
      return { ok: true, chainKeys };
    }
    case 'encrypt':
    case 'decrypt':
      return transform(req);
    default:
      return { ok: false, errors: [`unknown op ${req.op}`] };
  }
}

const rl = readline.createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on('line', (line) => {
  chain = chain.then(async () => {
    let answer;
    try {
      answer = await handle(JSON.parse(line));
    } catch (e) {
      answer = { ok: false, errors: [String(e && e.stack ? e.stack : e)] };
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  });
});
