// Start a simulator child process and drive it like a daemon would.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { ClientCipher, ocspHeaders, request, secretExchange, verifyAttestation } from "./client.mjs";

const SIM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "sim.mjs");

// One state dir per test run (PKI generated once; the simulator locks it).
export const STATE_DIR = process.env.SIM_STATE_DIR ?? path.join(os.tmpdir(), `privatemoded-sim-test-${process.getuid?.() ?? 0}`);

export async function startSim(extraArgs = []) {
	// SIM_NODE: run the simulator under another node (e.g. 18) than the tests.
	const proc = spawn(process.env.SIM_NODE || process.execPath, [SIM, "--state-dir", STATE_DIR, "--quiet", ...extraArgs], { stdio: ["ignore", "pipe", "inherit"] });
	const info = await new Promise((resolve, reject) => {
		let buf = "";
		const t = setTimeout(() => reject(new Error("simulator did not start in 60 s")), 60000);
		proc.stdout.on("data", (d) => {
			buf += d;
			const nl = buf.indexOf("\n");
			if (nl >= 0) { clearTimeout(t); try { resolve(JSON.parse(buf.slice(0, nl))); } catch (e) { reject(e); } }
		});
		proc.on("exit", (c) => { clearTimeout(t); reject(new Error(`simulator exited with ${c}`)); });
	});
	const ca = fs.readFileSync(info.ca_file);
	const ctl = async (method, p, body) => {
		const r = await request(info.base_url, method, "/__sim" + p, { ca, body: body === undefined ? undefined : JSON.stringify(body) });
		return JSON.parse(r.body);
	};
	return {
		info, proc, ca,
		manifest: fs.readFileSync(info.manifest_path),
		anchors: { ark: fs.readFileSync(info.trust_anchors.Genoa.ark), ask: fs.readFileSync(info.trust_anchors.Genoa.ask) },
		faults: (spec) => ctl("POST", "/faults", spec),
		requests: (q = "") => ctl("GET", "/requests" + q),
		secrets: () => ctl("GET", "/secrets"),
		reset: () => ctl("POST", "/reset"),
		sessions: (q = "") => ctl("GET", "/sessions" + q),
		req: (method, p, opts = {}) => request(info.base_url, method, p, { ca, ...opts }),
		async stop() {
			if (proc.exitCode !== null) return;
			const done = new Promise((r) => proc.once("exit", r));
			proc.kill("SIGTERM");
			await done;
		},
	};
}

// Attest + exchange like the proxy (spec §2.3-§2.5); returns a session.
export async function attestAndExchange(sim, { apiKey = sim.info.api_key } = {}) {
	const nonce = randomBytes(32);
	const r = await sim.req("POST", "/privatemode/v1/attest", { headers: { Authorization: `Bearer ${apiKey}`, "Privatemode-Version": "v1.40.0" }, body: JSON.stringify({ Nonce: nonce.toString("base64") }) });
	if (r.status !== 200) throw new Error(`attest: ${r.status} ${r.body}`);
	const fetchKds = async (p) => {
		const k = await sim.req("GET", p);
		if (k.status !== 200) throw new Error(`KDS ${p}: ${k.status}`);
		return k.body;
	};
	const state = await verifyAttestation(JSON.parse(r.body).AttestationDoc, nonce, sim.manifest, sim.anchors, { fetchKds });
	const s = await secretExchange(sim.info.base_url, { apiKey, ca: sim.ca, meshCaCert: state.meshCaCert, send: sim.req });
	return { ...s, state, apiKey };
}

export const SALT = "s1234567890123456789012345678912";

// One encrypted request the way the proxy sends it; returns the cipher for
// decrypting the answer.
export function encryptedHeaders(session, extra = {}) {
	return {
		Authorization: `Bearer ${session.apiKey}`,
		"Privatemode-Version": "v1.40.0",
		"Privatemode-Client": "Proxy",
		"Privatemode-Secret-ID": session.id,
		...ocspHeaders(session.secret),
		...extra,
	};
}

export async function encryptedJson(sim, session, p, obj, reqPlain, { headers = {}, raw = false, timeoutMs } = {}) {
	const cipher = new ClientCipher(session.secret, session.id);
	const body = cipher.encryptJson(typeof obj === "string" ? obj : JSON.stringify(obj), reqPlain);
	const res = await sim.req("POST", p, { headers: { "Content-Type": "application/json", ...encryptedHeaders(session, headers) }, body, raw, timeoutMs });
	return { res, cipher, sent: body };
}
