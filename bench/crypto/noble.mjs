// @noble/post-quantum X-Wing timings for bench.sh, in the same
// "name value" form as the C benchmark.  argv: node_modules dir, seconds.
import { pathToFileURL } from "node:url";
import { randomBytes } from "node:crypto";

const nm = process.argv[2];
const secs = Number(process.argv[3] ?? 2);
const { ml_kem768_x25519: xwing } = await import(
  pathToFileURL(`${nm}/@noble/post-quantum/hybrid.js`).href);

// Best of five rounds of secs/5 each, as the C side measures.
function perOp(fn) {
  for (let i = 0; i < 5; i++) fn();		// warm up the JIT
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    let n = 0;
    let t;
    do {
      fn();
      n++;
      t = Number(process.hrtime.bigint() - t0) / 1e9;
    } while (t < secs / 5);
    best = Math.min(best, t / n);
  }
  return best;
}

const seed = randomBytes(32);
const kp = xwing.keygen(seed);
const { cipherText } = xwing.encapsulate(kp.publicKey);
console.log(`noble_keygen_us ${(1e6 * perOp(() => xwing.keygen(seed))).toFixed(1)}`);
console.log(`noble_decaps_us ${(1e6 * perOp(() =>
  xwing.decapsulate(cipherText, Uint8Array.from(kp.secretKey)))).toFixed(1)}`);
