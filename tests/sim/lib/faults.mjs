// Fault switches.  Each fault has a stable name (documented in README.md
// with what a correct client must do), is set through POST /__sim/faults or
// --fault, and may carry options:
//   times   fire this many times, then disarm (default: every time)
//   after   for stream faults: number of complete SSE events sent first
//   delayMs for slow-first-byte and slow-read
//   bytes   for huge-head
//   paths   path prefixes a transport or inference fault applies to
//           (default: the encrypted inference routes, not /v1/models)
//   status, message  for upstream-error
//   code    HTTP/2 error code (number or name) for rst-stream and goaway
//   fieldBytes  huge-head over HTTP/2: bytes per filler field
import { ATTESTATION_FAULTS } from "./coordinator.mjs";
import { SECRET_FAULTS } from "./secretsvc.mjs";
import { h2ErrorCode } from "./http.mjs";

export const TRANSPORT_FAULTS = [
	"reset", "reset-mid-stream", "stall-stream", "truncate-sse", "slow-first-byte", "non-json-sse", "slow-read",
	"huge-head",
];
export const INFERENCE_FAULTS = ["no-secret", "wrong-seq", "upstream-error"];
export const GLOBAL_FAULTS = ["unauthorized"];
// Switches added with HTTP/2 (lib/h2.mjs).  All but window-stall act on
// HTTP/2 only: an HTTP/1.1 request neither fires nor consumes them.  GET
// /__sim/faults lists them apart from `known` (README.md says why).
export const H2_FAULTS = ["goaway", "rst-refused", "rst-stream", "max-streams-1"];
export const HTTP2_ERA_FAULTS = [...H2_FAULTS, "window-stall"];
export const ALL_FAULTS = [...GLOBAL_FAULTS, ...TRANSPORT_FAULTS, ...INFERENCE_FAULTS, ...ATTESTATION_FAULTS, ...SECRET_FAULTS];
const KNOWN = [...ALL_FAULTS, ...HTTP2_ERA_FAULTS];
// Faults limited to `paths` (default: the encrypted inference routes).
const PATH_FAULTS = [...TRANSPORT_FAULTS, ...INFERENCE_FAULTS, "goaway", "rst-refused", "rst-stream", "window-stall"];

const DEFAULT_PATHS = ["/v1/chat/", "/v1/completions", "/v1/embeddings", "/v1/audio/", "/v1/messages", "/unstructured/"];

export class Faults {
	constructor() { this.active = new Map(); }

	static normalise(name, opts) {
		if (!KNOWN.includes(name)) throw new Error(`unknown fault ${JSON.stringify(name)}`);
		if (opts === false || opts === null) return null;
		const o = opts === true || opts === undefined ? {} : { ...opts };
		if (o.once) o.times = 1;
		delete o.once;
		if (o.times !== undefined && !(Number.isInteger(o.times) && o.times > 0)) throw new Error(`${name}: times must be a positive integer`);
		for (const k of ["after", "bytes", "fieldBytes"])
			if (o[k] !== undefined && !(Number.isInteger(o[k]) && o[k] >= 0)) throw new Error(`${name}: ${k} must be an integer >= 0`);
		if (o.fieldBytes === 0) throw new Error(`${name}: fieldBytes must be > 0`);
		if (o.code !== undefined) h2ErrorCode(o.code); // throws on an unknown name
		return o;
	}

	// spec: {name: true | {options}} ; replaces everything when `replace`.
	set(spec, replace = true) {
		const next = replace ? new Map() : new Map(this.active);
		for (const [name, opts] of Object.entries(spec ?? {})) {
			const o = Faults.normalise(name, opts);
			if (o) next.set(name, o); else next.delete(name);
		}
		this.active = next;
	}

	clear() { this.active.clear(); }

	list() { return Object.fromEntries(this.active); }

	// Options of an armed fault without consuming it.
	peek(name, path) {
		const o = this.active.get(name);
		if (!o) return null;
		if (path !== undefined && PATH_FAULTS.includes(name)) {
			const paths = o.paths ?? DEFAULT_PATHS;
			if (!paths.some((p) => path.startsWith(p))) return null;
		}
		return o;
	}

	// Consume one firing of each named fault that applies; returns a
	// Map(name -> options) for the request so repeated checks within one
	// request do not consume more than once.
	take(names, path) {
		const fired = new Map();
		for (const n of names) {
			const o = this.peek(n, path);
			if (!o) continue;
			fired.set(n, o);
			if (o.times !== undefined && --o.times <= 0) this.active.delete(n);
		}
		return fired;
	}
}

// "name" or "name:k=v,k=v" (CLI form); numbers and booleans are parsed.
export function parseFaultArg(s) {
	const [name, rest] = s.split(/:(.*)/s);
	const opts = {};
	if (rest) {
		for (const kv of rest.split(",")) {
			const [k, v = "true"] = kv.split("=");
			if (k === "paths") opts.paths = v.split("+");
			else opts[k] = v === "true" ? true : v === "false" ? false : /^-?\d+$/.test(v) ? Number(v) : v;
		}
	}
	return [name, opts];
}
