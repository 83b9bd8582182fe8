// Field-cipher interop: our C JSON walk + AES-GCM (through kemtool) as the
// client, and an independent JavaScript mirror of the server side built on
// node:crypto as described in protocol.md 3.1-3.5.  Each round: C encrypts
// a request body with the chat plain set; JS takes the nonce and secret ID
// from the first value, decrypts every other member in the Go traversal
// order (escaped names, bytewise) with seq 0, 1, ...; compares with the
// original; encrypts a response with the response plain set; C decrypts it
// and JS compares again.  Then tampered responses must all be refused.
// Usage: node interop_field.mjs KEMTOOL [ROUNDS]
import { spawnSync } from "node:child_process";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { isDeepStrictEqual } from "node:util";

const tool = process.argv[2];
const rounds = Number(process.argv[3] ?? 200);
const CHAT_PLAIN = ["model", "stream_options", "max_tokens",
  "max_completion_tokens", "n", "stream"];
let checks = 0;
let failures = 0;

function check(cond, what) {
  checks++;
  if (!cond) {
    failures++;
    if (failures <= 10) console.error(`FAIL ${what}`);
  }
}

const hex = (b) => Buffer.from(b).toString("hex");

function batch(lines) {
  const r = spawnSync(tool, [], { input: lines.join("\n") + "\n",
    maxBuffer: 1 << 30, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`kemtool exited ${r.status}`);
  const out = r.stdout.split("\n");
  out.pop();
  if (out.length !== lines.length) throw new Error("kemtool answered short");
  return out;
}

// gjson path escaping of a member name, then Go's bytewise string order.
const escapeName = (k) => k.replace(/[.?*]/g, (c) => "\\" + c);
function goOrder(value) {
  const names = Array.isArray(value)
    ? value.map((_, i) => [String(i), i])
    : Object.keys(value).map((k) => [escapeName(k), k]);
  return names.sort((a, b) =>
    Buffer.compare(Buffer.from(a[0], "utf8"), Buffer.from(b[0], "utf8")));
}

function aad(nonce, seq) {
  const b = Buffer.alloc(16);
  nonce.copy(b, 0);
  b.writeUInt32LE(seq, 12);
  return b;
}

function open(key, nonce, seq, msg) {
  const parts = msg.replace(/^"+|"+$/g, "").split(":");
  if (parts.length !== 4) throw new Error("invalid message format");
  const ct = Buffer.from(parts[3], "hex");
  const d = createDecipheriv("aes-256-gcm", key, Buffer.from(parts[2], "hex"));
  d.setAAD(aad(nonce, seq));
  d.setAuthTag(ct.subarray(ct.length - 16));
  return Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()])
    .toString("utf8");
}

function seal(key, id, nonce, seq, plaintext) {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", key, iv);
  c.setAAD(aad(nonce, seq));
  const ct = Buffer.concat([c.update(plaintext, "utf8"), c.final(),
    c.getAuthTag()]);
  return `${id}:${hex(nonce)}:${hex(iv)}:${hex(ct)}`;
}

// The inference-proxy's request side: nonce and ID from the first value.
function serverDecrypt(key, text, plain) {
  const obj = JSON.parse(text);
  let nonce = null;
  let id = null;
  let seq = 0;
  for (const [esc, k] of goOrder(obj)) {
    if (plain.includes(esc)) continue;
    const parts = obj[k].split(":");
    if (nonce === null) {
      id = parts[0];
      nonce = Buffer.from(parts[1], "hex");
    }
    if (parts[0] !== id) throw new Error("mixed secret IDs");
    obj[k] = JSON.parse(open(key, nonce, seq++, obj[k]));
  }
  return { obj, nonce, id };
}

function serverEncrypt(key, id, nonce, value, plain, firstSeq = 0) {
  const out = Array.isArray(value) ? [...value] : { ...value };
  let seq = firstSeq;
  for (const [esc, k] of goOrder(value)) {
    if (plain.includes(esc)) continue;
    out[k] = seal(key, id, nonce, seq++, JSON.stringify(value[k]));
  }
  return JSON.stringify(out);
}

// Random content: unicode, escapes, control characters, emoji.
function text(n) {
  const pool = ["a", "Z", " ", "\"", "\\", "\n", "\t", "\u0001", "é", "€",
    "😀", "\u2028", "/", "<", "}", "]", ":", ","];
  let s = "";
  for (let i = 0; i < n; i++) s += pool[Math.floor(Math.random() * pool.length)];
  return s;
}

function chatRequest(i) {
  const body = {
    model: "gpt-oss-120b",
    messages: Array.from({ length: 1 + (i % 4) }, (_, j) => ({
      role: j % 2 ? "assistant" : "user", content: text(5 + (i * 7 + j) % 60),
    })),
    stream: i % 2 === 0,
    temperature: (i % 10) / 10,
    cache_salt: randomBytes(32).toString("base64"),
  };
  if (i % 3 === 0) body.tools = [{ type: "function",
    function: { name: "f" + i, parameters: { type: "object" } } }];
  if (i % 5 === 0) body.max_tokens = 100 + i;
  if (i % 7 === 0) Object.assign(body, { "a.b": 1, "Top_p": 0.9, "_x": null,
    "z?": [true], "10": "ten", "2": { "k*": "v" } });
  return JSON.stringify(body, null, [0, 2, "\t"][i % 3] || undefined);
}

function chatResponse(i) {
  return {
    id: "chatcmpl-" + i, object: "chat.completion", created: 1700000000 + i,
    model: "gpt-oss-120b",
    choices: [{ index: 0, finish_reason: "stop",
      message: { role: "assistant", content: text(20 + i % 50),
        reasoning_content: i % 2 ? text(10) : null } }],
    usage: { prompt_tokens: i, completion_tokens: 2 * i, total_tokens: 3 * i },
    system_fingerprint: null,
  };
}

const key = randomBytes(32);
const id = Buffer.from(randomBytes(32)).toString("base64");

// Round trips.
const nonces = Array.from({ length: rounds }, () => randomBytes(12));
const bodies = Array.from({ length: rounds }, (_, i) => chatRequest(i));
const enc = batch(bodies.map((b, i) =>
  `fe ${hex(key)} ${id} ${hex(nonces[i])} ${CHAT_PLAIN.join(",")} ` +
  hex(Buffer.from(b, "utf8"))));
const responses = [];
const fd = [];
for (let i = 0; i < rounds; i++) {
  check(!enc[i].startsWith("ERR"), `C encrypt ${i}: ${enc[i]}`);
  const wire = Buffer.from(enc[i], "hex").toString("utf8");
  const orig = JSON.parse(bodies[i]);
  const wireObj = JSON.parse(wire);
  for (const k of Object.keys(orig)) {
    if (CHAT_PLAIN.includes(k))
      check(isDeepStrictEqual(wireObj[k], orig[k]), `plain member ${k} kept`);
    else
      check(/^[^:]+:[0-9a-f]{24}:[0-9a-f]{24}:[0-9a-f]{32,}$/.test(wireObj[k]),
        `member ${k} encrypted`);
  }
  const srv = serverDecrypt(key, wire, CHAT_PLAIN);
  check(hex(srv.nonce) === hex(nonces[i]) && srv.id === id, "nonce and ID");
  check(isDeepStrictEqual(srv.obj, orig), `server decrypts request ${i}`);
  // Odd rounds answer like the unstructured endpoint: a top-level array
  // of 12+ elements, every element encrypted, order "0","1","10",...
  const resp = i % 2 ? Array.from({ length: 12 + i % 9 }, (_, j) =>
    ({ type: "Text", text: text(3 + j), n: j })) : chatResponse(i);
  const plain = i % 2 ? [] : ["id", "usage"];
  responses.push(resp);
  fd.push(`fd ${hex(key)} ${hex(nonces[i])} ${plain.join(",") || "-"} ` +
    hex(Buffer.from(serverEncrypt(key, id, srv.nonce, resp, plain), "utf8")));
}
const dec = batch(fd);
for (let i = 0; i < rounds; i++) {
  check(!dec[i].startsWith("ERR"), `C decrypt ${i}: ${dec[i]}`);
  if (dec[i].startsWith("ERR")) continue;
  check(isDeepStrictEqual(JSON.parse(Buffer.from(dec[i], "hex")
    .toString("utf8")), responses[i]), `client decrypts response ${i}`);
}

// Negative cases: each tampered response must be refused by C.
const nonce = randomBytes(12);
const resp = chatResponse(1);
const plain = ["id", "usage"];
const good = serverEncrypt(key, id, nonce, resp, plain);
const obj = JSON.parse(good);
const tampered = {
  control: [good, null],
  "wrong nonce": [serverEncrypt(key, id, randomBytes(12), resp, plain),
    "message authentication failed"],
  "wrong seq": [serverEncrypt(key, id, nonce, resp, plain, 1),
    "message authentication failed"],
  "replayed value": [JSON.stringify({ ...obj, model: obj.choices }),
    "message authentication failed"],
  "truncated hex (one byte)": [JSON.stringify({ ...obj,
    choices: obj.choices.slice(0, -2) }), "message authentication failed"],
  "truncated hex (odd)": [JSON.stringify({ ...obj,
    choices: obj.choices.slice(0, -1) }), "odd length hex string"],
  "wrong key": [serverEncrypt(randomBytes(32), id, nonce, resp, plain),
    "message authentication failed"],
  "bad shape": [JSON.stringify({ ...obj, choices: "a:b:c" }),
    "invalid message format"],
  "plaintext value": [JSON.stringify({ ...obj, choices: [1, 2] }),
    "invalid message format"],
  "not JSON": [good.slice(0, -1), "incomplete JSON"],
};
const names = Object.keys(tampered);
const neg = batch(names.map((n) =>
  `fd ${hex(key)} ${hex(nonce)} ${plain.join(",")} ` +
  hex(Buffer.from(tampered[n][0], "utf8"))));
names.forEach((n, i) => {
  const want = tampered[n][1];
  if (want === null)
    check(!neg[i].startsWith("ERR"), `${n}: accepted (${neg[i].slice(0, 80)})`);
  else
    check(neg[i].startsWith("ERR") && neg[i].includes(want),
      `${n}: refused with "${want}" (got ${neg[i].slice(0, 120)})`);
});

console.log(`interop_field: ${rounds} request/response rounds, ` +
  `${names.length - 1} tampered responses`);
console.log(`${checks - failures} passed, ${failures} failed`);
process.exit(failures === 0 && checks > 0 ? 0 : 1);
