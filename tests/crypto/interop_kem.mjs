// KEM interop between our C core (driven through tests/crypto/kemtool)
// and independent JavaScript implementations:
//  1. X-Wing / HPKE: C makes key pairs from random seeds; @hpke/core with
//     @hpke/hybridkem-x-wing (ExportOnly, info empty) encapsulates and
//     exports as the secret service does; C decapsulates and exports; the
//     32-byte secrets must match.  @noble/post-quantum's X-Wing must derive
//     the same public keys from the same seeds.
//  2. X-Wing reverse: noble key pairs, C derandomised encapsulation,
//     noble decapsulation (and noble's own encapsulation must produce the
//     same ciphertext from the same randomness).
//  3. ML-KEM-768 both ways: noble keygen/encaps vs C decaps, and C keygen/
//     encaps vs noble decaps.
// Usage: node interop_kem.mjs KEMTOOL [ROUNDS]
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { CipherSuite, ExportOnly, HkdfSha256 } from "@hpke/core";
import { XWing } from "@hpke/hybridkem-x-wing";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { ml_kem768_x25519 } from "@noble/post-quantum/hybrid.js";

const tool = process.argv[2];
const rounds = Number(process.argv[3] ?? 1000);
let checks = 0;
let failures = 0;

const hex = (u) => Buffer.from(u).toString("hex");
const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));

function check(cond, what) {
  checks++;
  if (!cond) {
    failures++;
    if (failures <= 10) console.error(`FAIL ${what}`);
  }
}

// Run a batch of commands through one kemtool process.
function batch(lines) {
  const r = spawnSync(tool, [], {
    input: lines.join("\n") + "\n",
    maxBuffer: 1 << 30,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`kemtool exited ${r.status}: ${r.stderr}`);
  const out = r.stdout.split("\n");
  out.pop();
  if (out.length !== lines.length) throw new Error("kemtool answered short");
  for (const l of out) if (l.startsWith("ERR")) throw new Error(`kemtool: ${l}`);
  return out;
}

async function xwingHpke() {
  const suite = new CipherSuite({
    kem: new XWing(),
    kdf: new HkdfSha256(),
    aead: new ExportOnly(),
  });
  const seeds = Array.from({ length: rounds }, () => randomBytes(32));
  const pks = batch(seeds.map((s) => `xk ${hex(s)}`));
  const decaps = [];
  const want = [];
  for (let i = 0; i < rounds; i++) {
    const pk = unhex(pks[i]);
    check(pk.length === 1216, "X-Wing public key size");
    check(hex(ml_kem768_x25519.keygen(seeds[i]).publicKey) === pks[i],
      `noble X-Wing pk from seed, round ${i}`);
    const sender = await suite.createSenderContext({
      recipientPublicKey: await suite.kem.deserializePublicKey(pk),
    });
    const enc = new Uint8Array(sender.enc);
    check(enc.length === 1120, "encapsulated key size");
    want.push(hex(new Uint8Array(await sender.export(new Uint8Array(0), 32))));
    decaps.push(`xd ${hex(seeds[i])} ${hex(enc)}`);
  }
  const got = batch(decaps);
  for (let i = 0; i < rounds; i++)
    check(got[i] === want[i], `HPKE export secret, round ${i}`);
}

function xwingReverse() {
  const keys = [];
  const cmds = [];
  for (let i = 0; i < rounds; i++) {
    const kp = ml_kem768_x25519.keygen(randomBytes(32));
    const eseed = randomBytes(64);
    keys.push({ kp, eseed });
    cmds.push(`xe ${hex(kp.publicKey)} ${hex(eseed)}`);
  }
  const got = batch(cmds);
  for (let i = 0; i < rounds; i++) {
    const [ct, ss] = got[i].split(" ");
    const { kp, eseed } = keys[i];
    const mine = ml_kem768_x25519.encapsulate(kp.publicKey, eseed);
    check(hex(mine.cipherText) === ct, `X-Wing ciphertext, round ${i}`);
    const dec = ml_kem768_x25519.decapsulate(unhex(ct),
      Uint8Array.from(kp.secretKey));
    check(hex(dec) === ss, `X-Wing C encaps / noble decaps, round ${i}`);
  }
}

function mlkemNobleToC() {
  const seeds = [];
  const cmds = [];
  const want = [];
  const eks = [];
  for (let i = 0; i < rounds; i++) {
    const seed = randomBytes(64);
    const kp = ml_kem768.keygen(seed);
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(kp.publicKey,
      randomBytes(32));
    seeds.push(seed);
    eks.push(hex(kp.publicKey));
    want.push(hex(sharedSecret));
    cmds.push(`md ${hex(seed)} ${hex(cipherText)}`);
  }
  const got = batch(cmds);
  const ek = batch(seeds.map((s) => `mk ${hex(s)}`));
  for (let i = 0; i < rounds; i++) {
    check(got[i] === want[i], `ML-KEM noble encaps / C decaps, round ${i}`);
    check(ek[i] === eks[i], `ML-KEM keygen agrees, round ${i}`);
  }
}

function mlkemCToNoble() {
  const kps = [];
  const ms = [];
  const cmds = [];
  for (let i = 0; i < rounds; i++) {
    const kp = ml_kem768.keygen(randomBytes(64));
    const m = randomBytes(32);
    kps.push(kp);
    ms.push(m);
    cmds.push(`me ${hex(kp.publicKey)} ${hex(m)}`);
  }
  const got = batch(cmds);
  for (let i = 0; i < rounds; i++) {
    const [ct, ss] = got[i].split(" ");
    const dec = ml_kem768.decapsulate(unhex(ct),
      Uint8Array.from(kps[i].secretKey));
    check(hex(dec) === ss, `ML-KEM C encaps / noble decaps, round ${i}`);
    const mine = ml_kem768.encapsulate(kps[i].publicKey, ms[i]);
    check(hex(mine.cipherText) === ct, `ML-KEM ciphertext, round ${i}`);
  }
  // An unreduced key is refused by both sides' modulus checks.
  const bad = Uint8Array.from(kps[0].publicKey);
  bad[0] = 0xff;
  bad[1] |= 0x0f;
  const r = spawnSync(tool, [], {
    input: `me ${hex(bad)} ${hex(ms[0])}\n`, encoding: "utf8" });
  check(r.stdout.startsWith("ERR"), "C refuses an unreduced ek");
  let threw = false;
  try { ml_kem768.encapsulate(bad, ms[0]); } catch { threw = true; }
  check(threw, "noble refuses an unreduced ek");
}

const t0 = Date.now();
await xwingHpke();
xwingReverse();
mlkemNobleToC();
mlkemCToNoble();
console.log(`interop_kem: ${rounds} rounds per direction in ` +
  `${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${checks - failures} passed, ${failures} failed`);
process.exit(failures === 0 && checks > 0 ? 0 : 1);
