// Server-sent events writer with the stream faults applied between events.
import { resetResponse } from "./http.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class EventStream {
	// fired: Map of faults for this request; intervalMs: pause between events.
	constructor(res, rec, { fired, intervalMs = 0 }) {
		this.res = res;
		this.rec = rec;
		this.fired = fired;
		this.intervalMs = intervalMs;
		this.count = 0; // complete events written
		this.dead = false;
		res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
		res.flushHeaders();
	}

	// Returns false once the stream has been cut by a fault or the client.
	async send(event, data) {
		if (this.dead) return false;
		if (this.res.destroyed) { this.dead = true; return false; }
		if (this.count > 0 && this.intervalMs > 0) await sleep(this.intervalMs);
		const at = (name) => {
			const o = this.fired.get(name);
			return o && this.count === (o.after ?? 1);
		};
		// reset-mid-stream: TCP RST (HTTP/1.1) or RST_STREAM INTERNAL_ERROR
		// (HTTP/2); rst-stream (HTTP/2 only): RST_STREAM with its `code`.
		const cut = ["reset-mid-stream", "rst-stream"].find(at);
		if (cut) {
			// Let the events already written reach the peer first: a RST
			// discards whatever is still unsent in our socket buffer.  Not
			// on HTTP/2: there node 20 sends the DATA before an empty write
			// as garbage when RST_STREAM follows; nghttp2 flushes the
			// stream's DATA before the RST_STREAM anyway.
			if (!this.res.stream) await new Promise((r) => this.res.write("", r));
			await sleep(50);
			this.rec.outcome = `reset after ${this.count} events`;
			resetResponse(this.res, this.fired.get(cut).code);
			this.dead = true;
			return false;
		}
		if (at("stall-stream")) {
			// Keep the socket open and send nothing more; the server closes
			// it on shutdown, on /__sim/reset, or when the client gives up.
			this.rec.outcome = `stalled after ${this.count} events`;
			this.dead = true;
			this.res.socket?.setTimeout(0);
			stalled.add(this.res);
			this.res.on("close", () => stalled.delete(this.res));
			return false;
		}
		const text = (event ? `event: ${event}\n` : "") + `data: ${data}\n\n`;
		if (at("truncate-sse")) {
			this.rec.outcome = `truncated after ${this.count} events`;
			this.res.end(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
			this.dead = true;
			return false;
		}
		if (at("non-json-sse")) {
			this.res.write("data: this is not JSON {\n\n");
			this.rec.outcome = `non-JSON event after ${this.count} events`;
		}
		this.count++;
		this.rec.eventsWritten = this.count;
		// Like a real server, wait while the peer does not read: a proxy
		// that stops reading upstream then stalls this stream.
		if (!this.res.write(text)) await drained(this.res);
		return true;
	}

	async done(withDoneMarker = true) {
		if (this.dead) return;
		if (withDoneMarker) {
			if (this.intervalMs > 0) await sleep(this.intervalMs);
			this.res.write("data: [DONE]\n\n");
		}
		this.res.end();
	}
}

// The socket took the last write, or the response is gone.
function drained(res) {
	return new Promise((resolve) => {
		const done = () => { res.off("drain", done); res.off("close", done); resolve(); };
		res.on("drain", done);
		res.on("close", done);
	});
}

// Responses parked by stall-stream, so shutdown and reset can close them.
export const stalled = new Set();
