#!/usr/bin/env node
// Simulated Privatemode deployment for privatemoded's tests, demo and
// benchmarks.  Usage: node tests/sim/sim.mjs --help
import { parseArgs } from "node:util";
import path from "node:path";
import os from "node:os";
import { loadState } from "./lib/state.mjs";
import { Simulator } from "./lib/server.mjs";
import { Faults, parseFaultArg } from "./lib/faults.mjs";

const USAGE = `usage: node sim.mjs [options]
  --state-dir DIR         PKI cache and manifest (default: $TMPDIR/privatemoded-sim)
  --port N                listen port on 127.0.0.1 (default 0 = ephemeral)
  --host ADDR             loopback address to bind (default 127.0.0.1)
  --http                  serve plain HTTP/1.1 instead of HTTPS
  --no-h2                 HTTPS with HTTP/1.1 only (ALPN http/1.1); default: HTTP/2
                          and HTTP/1.1 on the same port (ALPN h2, http/1.1)
  --h2-max-streams N      SETTINGS_MAX_CONCURRENT_STREAMS of HTTP/2 sessions (default 250)
  --api-key KEY           accepted bearer token (default sim-api-key)
  --any-key               accept any (or no) Authorization header
  --secret-ttl S          secret lifetime in seconds (default 3600)
  --stream-chunks N       content chunks per streamed answer (default 4)
  --chunk-interval-ms M   pause between SSE events (default 0)
  --fault NAME[:k=v,...]  arm a fault at start (repeatable), e.g. reset-mid-stream:after=2,times=1
  --report-version V      SNP report version 2..5 (default 3)
  --platform P            the Coordinator's TEE: snp (default) or tdx (a TDX quote,
                          collateral from the simulated Intel PCS); PUT /__sim/platform switches
  --max-records N         request records kept for /__sim/requests (default 1000; 0 = record nothing, for benchmarks)
  --plain                 benchmarks only: serve inference requests without a
                          Privatemode-Secret-ID header unencrypted (default off)
  --replay                benchmarks only: answer every request of a shape with
                          the answer recorded for the first one, re-bound to
                          its request nonce (lib/replay.mjs; default off)
  --setup-only            generate PKI and manifest, print the JSON line, exit
  --quiet                 no log lines on stderr
`;

let args;
try {
	args = parseArgs({
		options: {
			"state-dir": { type: "string" },
			port: { type: "string", default: "0" },
			host: { type: "string", default: "127.0.0.1" },
			http: { type: "boolean", default: false },
			"no-h2": { type: "boolean", default: false },
			"h2-max-streams": { type: "string", default: "250" },
			"api-key": { type: "string", default: "sim-api-key" },
			"any-key": { type: "boolean", default: false },
			"secret-ttl": { type: "string", default: "3600" },
			"stream-chunks": { type: "string", default: "4" },
			"chunk-interval-ms": { type: "string", default: "0" },
			fault: { type: "string", multiple: true, default: [] },
			"max-records": { type: "string", default: "1000" },
			"report-version": { type: "string", default: "3" },
			platform: { type: "string", default: "snp" },
			plain: { type: "boolean", default: false },
			replay: { type: "boolean", default: false },
			"setup-only": { type: "boolean", default: false },
			quiet: { type: "boolean", default: false },
			help: { type: "boolean", short: "h", default: false },
		},
		strict: true,
	}).values;
} catch (e) {
	process.stderr.write(`sim: ${e.message}\n${USAGE}`);
	process.exit(2);
}
if (args.help) { process.stdout.write(USAGE); process.exit(0); }

const log = args.quiet ? () => {} : (m) => process.stderr.write(`sim: ${m}\n`);
const num = (name, min) => {
	const v = Number(args[name]);
	if (!Number.isInteger(v) || v < min) { process.stderr.write(`sim: --${name} must be an integer >= ${min}\n`); process.exit(2); }
	return v;
};
if (Number(args["report-version"]) > 5) { process.stderr.write("sim: --report-version must be 2..5\n"); process.exit(2); }
if (args.platform !== "snp" && args.platform !== "tdx") { process.stderr.write("sim: --platform must be snp or tdx\n"); process.exit(2); }
// Only loopback: this server hands out secrets to anyone who asks.
if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(args.host)) {
	process.stderr.write("sim: --host must be a loopback address\n");
	process.exit(2);
}

const stateDir = path.resolve(args["state-dir"] ?? path.join(os.tmpdir(), "privatemoded-sim"));
const st = loadState(stateDir, { log });

const opts = {
	host: args.host,
	port: num("port", 0),
	http: args.http,
	noH2: args["no-h2"],
	h2MaxStreams: Math.min(num("h2-max-streams", 1), 2 ** 32 - 1),
	apiKey: args["api-key"],
	anyKey: args["any-key"],
	secretTtl: num("secret-ttl", 1),
	streamChunks: num("stream-chunks", 1),
	chunkIntervalMs: num("chunk-interval-ms", 0),
	maxRecords: num("max-records", 0),
	reportVersion: num("report-version", 2),
	platform: args.platform,
	plain: args.plain,
	replay: args.replay,
};

const faultSpec = {};
try {
	for (const f of args.fault) {
		const [n, o] = parseFaultArg(f);
		Faults.normalise(n, o);
		faultSpec[n] = o;
	}
} catch (e) {
	process.stderr.write(`sim: ${e.message}\n`);
	process.exit(2);
}

function info(port) {
	const scheme = opts.http ? "http" : "https";
	const hostPart = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
	const base = port === null ? null : `${scheme}://${hostPart}:${port}`;
	return {
		ready: port !== null,
		pid: process.pid,
		scheme,
		protocols: opts.http || opts.noH2 ? ["http/1.1"] : ["h2", "http/1.1"],
		h2_max_streams: opts.http || opts.noH2 ? null : opts.h2MaxStreams,
		host: opts.host,
		port,
		base_url: base,
		api_endpoint: port === null ? null : `${hostPart}:${port}`,
		api_key: opts.anyKey ? null : opts.apiKey,
		control_url: base && `${base}/__sim`,
		cdn_base_url: base,
		manifest_url: base && `${base}/manifest.json`,
		kds_base_url: base,
		platform: opts.platform,
		pcs_base_url: base,
		pcs_root_crl_url: base && `${base}/IntelSGXRootCA.der`,
		intel_root_ca: st.path("intel-root.pem"),
		state_dir: stateDir,
		ca_file: st.path("tls-ca.pem"),
		manifest_path: st.manifestPath,
		trust_anchors: {
			Genoa: { ark: st.path("genoa-ark.pem"), ask: st.path("genoa-ask.pem"), cert_chain: st.path("cert_chain.pem") },
		},
		root_ca: st.path("root-ca.pem"),
		mesh_ca: st.path("mesh-ca.pem"),
		coordinator_policy_hash: st.policyHash.toString("hex"),
		trusted_measurement: st.measurement.toString("hex"),
		id_key_digest: st.idKeyDigest.toString("hex"),
		chip_id: st.hwid.toString("hex").toUpperCase(),
	};
}

if (args["setup-only"]) {
	process.stdout.write(JSON.stringify(info(null)) + "\n");
	process.exit(0);
}

const sim = new Simulator(st, opts);
sim.faults.set(faultSpec);
const port = await sim.listen();
sim.info = info(port);
process.stdout.write(JSON.stringify(sim.info) + "\n");
log(`listening on ${sim.info.base_url} (state ${stateDir})`);

let stopping = false;
const stop = async (sig) => {
	if (stopping) return;
	stopping = true;
	log(`${sig}: shutting down`);
	const t = setTimeout(() => process.exit(0), 2000);
	t.unref();
	await sim.close();
	process.exit(0);
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
