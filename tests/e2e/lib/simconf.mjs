// The config of a daemon in front of the simulator.  A module of its own,
// without the harness's process bookkeeping, so that bench/ uses it too.
import path from "node:path";
import { fileURLToPath } from "node:url";

// The tree's AMD chains (data/amd) for the products the simulator does not
// play: named explicitly, or the daemon takes /etc/privatemode/amd/ first,
// the machine's, where tests/ops/install.sh puts a chain of its own while
// it runs (and a daemon refuses to start on a chain that is not AMD's).
const AMD_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "data", "amd");

// Config for a daemon in front of `sim`.  `over` replaces keys (null drops
// one); `extra` is appended verbatim.
export function simConfig(sim, dir, { workers = 1, over = {}, extra = "" } = {}) {
	const base = {
		listen: "127.0.0.1:0",
		workers: String(workers),
		workspace: path.join(dir, "ws"),
		shutdown_timeout: "5s",
		// Never the fixed default port: daemons run side by side.  The
		// harness reads /readyz's detail there (the API port has one line).
		metrics_listen: "127.0.0.1:0",
	};
	if (sim) {
		Object.assign(base, {
			api_key: sim.info.api_key,
			api_endpoint: sim.info.api_endpoint,
			ca_file: sim.info.ca_file,
			cdn_base_url: sim.info.cdn_base_url,
			amd_cert_chain_genoa: sim.info.trust_anchors.Genoa.cert_chain,
			amd_cert_chain_milan: path.join(AMD_DIR, "milan-cert-chain.pem"),
			amd_cert_chain_turin: path.join(AMD_DIR, "turin-cert-chain.pem"),
			test_trust_any_amd_root: "yes",
			test_kds_base_url: sim.info.kds_base_url,
		});
		// The Coordinator may run on TDX: the fake Intel PKI and PCS.
		if (sim.info.pcs_base_url) Object.assign(base, {
			pcs_base_url: sim.info.pcs_base_url,
			pcs_root_crl_url: sim.info.pcs_root_crl_url,
			test_intel_root_ca: sim.info.intel_root_ca,
		});
	}
	for (const [k, v] of Object.entries(over)) {
		if (v === null || v === undefined) delete base[k];
		else base[k] = String(v);
	}
	const q = (v) => (/[\s#"]/.test(v) ? `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"` : v);
	return Object.entries(base).map(([k, v]) => `${k} ${q(v)}`).join("\n") + "\n" + extra;
}
