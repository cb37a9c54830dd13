// A call's SIP ladder: every message in and out of its legs, as JSON, as text, or as a PCAP file
// for Wireshark. Live calls are read from the recorder's memory, ended ones from storage.
import type { FastifyInstance } from "fastify";
import { ladderJson, ladderPcap, ladderText } from "../call/index.ts";
import { HttpError } from "./errors.ts";
import { idParams, type JsonSchema } from "./schemas.ts";
import type { HttpAppDeps } from "./types.ts";

const ladderQuery: JsonSchema = {
  type: "object",
  additionalProperties: false,
  properties: { format: { type: "string", enum: ["json", "text", "pcap"], default: "json", description: "json (default), text (readable ladder), pcap (libpcap file)" } },
};

const ladderResponse: JsonSchema = {
  type: "object",
  properties: {
    callId: { type: "string" },
    live: { type: "boolean", description: "true while the call is still captured" },
    dropped: { type: "integer", description: "messages over trace.sipLadder.maxMessagesPerCall, not kept" },
    items: {
      type: "array",
      items: {
        type: "object",
        properties: {
          index: { type: "integer" },
          at: { type: "number", description: "epoch ms (fraction: microseconds)" },
          direction: { type: "string", enum: ["in", "out"] },
          leg: { type: "string", enum: ["a", "b"] },
          protocol: { type: "string", enum: ["UDP", "TCP", "TLS"] },
          src: { type: "string" },
          dst: { type: "string" },
          local: { type: "string" },
          remote: { type: "string" },
          summary: { type: "object" },
          raw: { type: "string" },
        },
      },
    },
  },
};

/** A file name safe in a Content-Disposition header. */
function fileName(id: string, ext: string): string {
  return `call-${id.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 80)}.${ext}`;
}

/** Registers GET /api/v1/calls/:id/sip when the server captures SIP ladders. */
export function registerLadderRoutes(app: FastifyInstance, deps: HttpAppDeps): void {
  const ladders = deps.sipLadders;
  if (ladders === undefined) return;
  app.get(
    "/api/v1/calls/:id/sip",
    {
      schema: { params: idParams, querystring: ladderQuery },
      config: { doc: { summary: "SIP ladder of a call (live or ended): every message in and out; format=text or pcap to download", tags: ["calls"], response: ladderResponse } },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const { format } = request.query as { format: "json" | "text" | "pcap" };
      // A live call may be named by its A-leg SIP Call-ID too, as DELETE /calls/:id accepts.
      const ourId = deps.calls.activeCalls().find((c) => c.callId === id)?.id ?? id;
      const ladder = await ladders.read(ourId);
      if (ladder === undefined) throw new HttpError(404, "NOT_FOUND", `no SIP ladder for call ${id} (unknown, not captured, or past trace.sipLadder.retentionHours)`);
      if (format === "text") {
        return reply
          .type("text/plain; charset=utf-8")
          .header("content-disposition", `inline; filename="${fileName(ladder.callId, "txt")}"`)
          .send(ladderText(ladder.callId, ladder.messages, ladder.dropped));
      }
      if (format === "pcap") {
        return reply
          .type("application/vnd.tcpdump.pcap")
          .header("content-disposition", `attachment; filename="${fileName(ladder.callId, "pcap")}"`)
          .send(ladderPcap(ladder.messages));
      }
      return { callId: ladder.callId, live: ladder.live, dropped: ladder.dropped, items: ladderJson(ladder.messages) };
    },
  );
}
