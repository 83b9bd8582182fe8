// deploy/k8s against the Kubernetes API schemas and against the daemon.
//
//  * every object in deploy/k8s validates against the Kubernetes 1.27 API
//    schemas of kubernetes-models (pinned in tests/package.json): types,
//    required fields, enums, formats.  Those validators accept fields
//    they do not know, so every field that matters is also read below
//    by its exact name: a misspelt one fails there;
//  * the probes, ports and paths are the ones the daemon serves: the
//    ConfigMap's privatemode.conf passes "privatemoded -t" (this build),
//    its port and metrics_listen are the container's ports, the probe
//    paths are routes of daemon/route.c on the API listener, /metrics
//    one on the metrics listener, and the scrape annotations name them;
//  * the security context is what docs/CONTAINERS.md says (non-root as the
//    image's user, read-only root, no privilege escalation, capabilities
//    ALL dropped but SYS_CHROOT, RuntimeDefault seccomp), the arguments
//    name the mounted ConfigMap and Secret, the selectors, the PDB and
//    the HPA point at the Deployment, the NetworkPolicy's ports exist, and
//    the memory limit covers what the ConfigMap lets the daemon hold.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { ConfigMap, Secret, Service } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";

const top = process.env.PM_TOP_SRCDIR ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const build = process.env.PM_TOP_BUILDDIR ?? path.join(top, "build");
const dir = path.join(top, "deploy/k8s");

const models = {
	"v1/ConfigMap": ConfigMap,
	"v1/Secret": Secret,
	"v1/Service": Service,
	"apps/v1/Deployment": Deployment,
	"policy/v1/PodDisruptionBudget": PodDisruptionBudget,
	"autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
	"networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
};

function load(file) {
	const docs = parseAllDocuments(readFileSync(path.join(dir, file), "utf8"));
	for (const d of docs)
		assert.equal(d.errors.length, 0, `${file}: ${d.errors.map((e) => e.message).join("; ")}`);
	return docs.map((d) => d.toJS()).filter((o) => o != null);
}

const kust = load("kustomization.yaml")[0];
const objects = kust.resources.flatMap((f) => load(f).map((o) => ({ file: f, o })));
const one = (kind) => {
	const found = objects.filter(({ o }) => o.kind === kind);
	assert.equal(found.length, 1, `one ${kind} in deploy/k8s, found ${found.length}`);
	return found[0].o;
};
const dep = one("Deployment");
const pod = dep.spec.template.spec;
const ctr = pod.containers[0];
const cm = one("ConfigMap");
const secret = one("Secret");
const svc = one("Service");
const conf = cm.data["privatemode.conf"];

// privatemode.conf's "key value" lines (privatemode.conf(5)).
function confKeys(text) {
	const m = new Map();
	for (const raw of text.split("\n")) {
		const line = raw.replace(/#.*/, "").trim();
		if (line === "") continue;
		const [k, ...v] = line.split(/\s+/);
		assert.ok(!m.has(k), `privatemode.conf in the ConfigMap sets ${k} twice (the daemon refuses that)`);
		m.set(k, v.join(" "));
	}
	return m;
}
// privatemoded -K: key, kind, default, flag.
function daemonDefaults() {
	const out = execFileSync(path.join(build, "privatemoded"), ["-K"], { encoding: "utf8" });
	return new Map(out.trim().split("\n").map((l) => l.split("\t")).map(([k, , d]) => [k, d]));
}
const sizeBytes = (s) => {
	const m = /^(\d+)([kKmMgG]?)$/.exec(s);
	assert.ok(m, `size ${s}`);
	return Number(m[1]) * { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()];
};
const quantityBytes = (q) => {
	const m = /^(\d+)(Ki|Mi|Gi)$/.exec(q);
	assert.ok(m, `memory quantity ${q} (use Ki, Mi or Gi)`);
	return Number(m[1]) * { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2]];
};
const durationSeconds = (s) => {
	const m = /^(\d+)(ms|s|m|h)?$/.exec(s);
	assert.ok(m, `duration ${s}`);
	return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, undefined: 1 }[m[2]];
};

test("kustomization lists every manifest in deploy/k8s", () => {
	const files = readdirSync(dir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort();
	assert.deepEqual([...kust.resources].sort(), files);
});

test("every object validates against the Kubernetes API schemas", () => {
	assert.ok(objects.length >= 7);
	for (const { file, o } of objects) {
		const M = models[`${o.apiVersion}/${o.kind}`];
		assert.ok(M, `${file}: no schema for ${o.apiVersion} ${o.kind}`);
		assert.doesNotThrow(() => new M(o).validate(), `${file}: ${o.kind} ${o.metadata?.name}`);
	}
});

test("the validators do reject a broken object", () => {
	const broken = structuredClone(dep);
	broken.spec.template.spec.containers[0].ports[0].containerPort = "eight thousand";
	assert.throws(() => new Deployment(broken).validate(), /containerPort/);
	const noSelector = structuredClone(one("PodDisruptionBudget"));
	noSelector.spec.minAvailable = { a: 1 };
	assert.throws(() => new PodDisruptionBudget(noSelector).validate());
});

test("the ConfigMap's configuration passes privatemoded -t", (t) => {
	const tmp = mkdtempSync(path.join(tmpdir(), "pm-k8s-"));
	try {
		let text = conf;
		// -t looks the configured user up; the image has "privatemode".
		try {
			execFileSync("getent", ["passwd", "privatemode"], { stdio: "ignore" });
		} catch {
			const me = execFileSync("id", ["-un"], { encoding: "utf8" }).trim();
			t.diagnostic(`no user privatemode on this machine: -t with "user ${me}" added`);
			text += `user ${me}\n`;
		}
		writeFileSync(path.join(tmp, "privatemode.conf"), text);
		const out = execFileSync(path.join(build, "privatemoded"), ["-t", "-f", path.join(tmp, "privatemode.conf")],
			{ encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
		assert.match(out, /configuration OK/);
	} finally {
		rmSync(tmp, { recursive: true, force: true });
	}
});

test("ports and paths are the ones the daemon serves", () => {
	const c = confKeys(conf);
	const def = daemonDefaults();
	const apiPort = Number(c.get("port") ?? def.get("port"));
	const metricsListen = c.get("metrics_listen") ?? def.get("metrics_listen");
	const metricsPort = Number(/:(\d+)$/.exec(metricsListen)?.[1] ?? 9464);
	// Reachable from outside the pod: not loopback.
	assert.ok(!/^(127\.|\[?::1\]?|localhost)/.test(metricsListen), `metrics_listen ${metricsListen} is loopback: Prometheus cannot scrape it`);
	const listen = c.get("listen");
	assert.ok(listen === undefined || !/^(127\.|::1|localhost)/.test(listen), `listen ${listen} is loopback`);

	const port = (name) => ctr.ports.find((p) => p.name === name);
	assert.equal(port("api").containerPort, apiPort);
	assert.equal(port("metrics").containerPort, metricsPort);

	// Routes and where daemon/route.c serves them.
	const routes = readFileSync(path.join(top, "daemon/route.c"), "utf8");
	const where = (p) => {
		const m = new RegExp(`\\{\\s*"${p}",[^}]*?(ON_[A-Z_| ]+)`, "s").exec(routes);
		assert.ok(m, `${p} is not a route in daemon/route.c`);
		return m[1];
	};
	assert.equal(ctr.readinessProbe.httpGet.path, "/readyz");
	assert.equal(ctr.livenessProbe.httpGet.path, "/healthz");
	for (const probe of [ctr.readinessProbe, ctr.livenessProbe]) {
		const p = probe.httpGet.port;
		assert.ok(p === "api" || p === apiPort, `probe port ${p} is not the API port`);
		assert.match(where(probe.httpGet.path), /ON_API/);
	}
	assert.match(where("/metrics"), /ON_METRICS/);

	const ann = dep.spec.template.metadata.annotations;
	assert.equal(ann["prometheus.io/scrape"], "true");
	assert.equal(Number(ann["prometheus.io/port"]), metricsPort);
	assert.equal(ann["prometheus.io/path"], "/metrics");

	assert.equal(svc.spec.ports.length, 1, "the Service carries the API only");
	assert.equal(svc.spec.ports[0].port, apiPort);
	assert.ok([apiPort, "api"].includes(svc.spec.ports[0].targetPort));

	// The NetworkPolicy lets in the container's ports, nothing else.
	const np = one("NetworkPolicy");
	const inPorts = np.spec.ingress.flatMap((r) => r.ports.map((p) => p.port));
	for (const p of inPorts)
		assert.ok(["api", "metrics", apiPort, metricsPort].includes(p), `NetworkPolicy ingress port ${p}`);
	assert.ok(np.spec.ingress.every((r) => r.from?.length > 0), "an ingress rule from everywhere");
	assert.deepEqual([...np.spec.policyTypes].sort(), ["Egress", "Ingress"]);
	const egressPorts = np.spec.egress.flatMap((r) => r.ports.map((p) => `${p.protocol}/${p.port}`)).sort();
	assert.deepEqual(egressPorts, ["TCP/443", "TCP/53", "UDP/53"]);
});

test("security context, identity and mounts", () => {
	const image = readFileSync(path.join(top, "image/build-image.sh"), "utf8");
	const uid = Number(/IMAGE_UID=\$\{IMAGE_UID:-(\d+)\}/.exec(image)?.[1]);
	assert.ok(uid > 0);
	const psc = pod.securityContext, sc = ctr.securityContext;
	assert.equal(psc.runAsNonRoot, true);
	assert.equal(psc.runAsUser, uid, "runAsUser is the image's USER");
	assert.equal(psc.runAsGroup, uid);
	assert.equal(psc.seccompProfile.type, "RuntimeDefault");
	assert.equal(sc.allowPrivilegeEscalation, false);
	assert.equal(sc.readOnlyRootFilesystem, true);
	assert.equal(sc.privileged, false);
	assert.deepEqual(sc.capabilities.drop, ["ALL"]);
	assert.deepEqual(sc.capabilities.add, ["SYS_CHROOT"]);
	assert.equal(pod.automountServiceAccountToken, false);

	const vol = (kind) => pod.volumes.find((v) => v[kind]);
	const mountOf = (v) => ctr.volumeMounts.find((m) => m.name === v.name);
	const cmv = vol("configMap"), sv = vol("secret"), ev = vol("emptyDir");
	assert.equal(cmv.configMap.name, cm.metadata.name);
	assert.equal(sv.secret.secretName, secret.metadata.name);
	assert.ok("api-key" in (secret.stringData ?? secret.data), "the Secret has no api-key");
	assert.equal(sv.secret.defaultMode & 0o007, 0, "the key file is readable by others");
	assert.equal(psc.fsGroup, uid, "fsGroup lets the daemon read the key file");
	assert.equal(mountOf(ev).mountPath, "/var/lib/privatemode", "the emptyDir is the workspace");
	assert.ok(!ctr.volumeMounts.some((m) => m.mountPath === "/run" || m.mountPath === "/run/privatemoded"),
		"a volume over /run hides the image's chroot directory");
	assert.equal(mountOf(cmv).readOnly, true);
	assert.equal(mountOf(sv).readOnly, true);
	const a = ctr.args;
	assert.equal(a[a.indexOf("-f") + 1], `${mountOf(cmv).mountPath}/privatemode.conf`);
	assert.ok(a.includes(`--apiKey=@${mountOf(sv).mountPath}/api-key`), `args ${a}`);
	assert.equal(ctr.command, undefined, "the image's entrypoint (the daemon, exec form) is kept");
});

test("selectors, PDB, HPA and resources fit the Deployment", () => {
	const labels = dep.spec.template.metadata.labels;
	const matches = (sel) => Object.entries(sel).every(([k, v]) => labels[k] === v);
	assert.ok(matches(dep.spec.selector.matchLabels));
	assert.ok(matches(svc.spec.selector));
	assert.ok(matches(one("PodDisruptionBudget").spec.selector.matchLabels));
	assert.ok(matches(one("NetworkPolicy").spec.podSelector.matchLabels));
	const hpa = one("HorizontalPodAutoscaler");
	assert.equal(hpa.spec.scaleTargetRef.kind, "Deployment");
	assert.equal(hpa.spec.scaleTargetRef.name, dep.metadata.name);
	assert.ok(hpa.spec.metrics.some((m) => m.type === "Resource" && m.resource.name === "cpu"));
	assert.ok(ctr.resources.requests.cpu, "an HPA on CPU needs a CPU request");
	const pdb = one("PodDisruptionBudget");
	assert.ok(pdb.spec.minAvailable < hpa.spec.minReplicas, "the PDB would block every drain");
	assert.equal(dep.spec.strategy.rollingUpdate.maxUnavailable, 0);

	// Memory: the bench's worst case per stream (HTTP/1.1, 54 KiB) for
	// every connection the ConfigMap allows, the bodies in flight, and the
	// idle daemon (17 MiB): within the limit (docs/CONTAINERS.md).
	const c = confKeys(conf), def = daemonDefaults();
	const workers = Number(c.get("workers") ?? def.get("workers"));
	assert.ok(workers > 0, "set workers explicitly in a container (the default follows the node's CPUs)");
	const conns = Number(c.get("max_connections") ?? def.get("max_connections"));
	const bodies = sizeBytes(c.get("max_body_buffer") ?? def.get("max_body_buffer"));
	const worst = workers * (conns * 54 * 1024 + bodies) + 17 * 1024 ** 2;
	assert.ok(quantityBytes(ctr.resources.limits.memory) >= worst,
		`memory limit ${ctr.resources.limits.memory} < ${Math.ceil(worst / 1024 ** 2)} MiB the configuration allows`);
	assert.ok(quantityBytes(ctr.resources.requests.memory) <= quantityBytes(ctr.resources.limits.memory));
	// The drain fits in the grace period (the unit's TimeoutStopSec= logic).
	const drain = durationSeconds(c.get("shutdown_timeout") ?? def.get("shutdown_timeout"));
	assert.ok(pod.terminationGracePeriodSeconds >= drain + 2,
		`terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} < shutdown_timeout ${drain}s + 2s`);
});
