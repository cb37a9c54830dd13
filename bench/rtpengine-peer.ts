// Debian's rtpengine (userspace, --table=-1) as a peer for the media benchmarks: started on
// 127.0.0.1 with a private port range, driven over its ng protocol with the same client the
// rtpengine media anchor uses. Each call is one offer/answer, so endpoint A at aPort and
// endpoint B at bPort talk through it: A sends to aRelayPort, B to bRelayPort.
import { createNgClient } from "../src/media/rtpengine/index.ts";
import { rtpengineInstalled, startRtpengine } from "../test/support/rtpengine.ts";

const HOST = "127.0.0.1";

/** A running rtpengine that bridges pairs of loopback endpoints. */
export interface RtpenginePeer {
  /** Anchors one G.711 call between A at aPort and B at bPort; A sends to aRelayPort, B to bRelayPort. */
  createCall(aPort: number, bPort: number): Promise<{ aRelayPort: number; bRelayPort: number }>;
  /** Deletes every call and stops rtpengine. */
  stop(): Promise<void>;
}

function sdpOf(port: number, session: number): string {
  return [
    "v=0",
    `o=- ${session} 1 IN IP4 ${HOST}`,
    "s=-",
    `c=IN IP4 ${HOST}`,
    "t=0 0",
    `m=audio ${port} RTP/AVP 0`,
    "a=rtpmap:0 PCMU/8000",
    "a=ptime:20",
    "a=sendrecv",
    "",
  ].join("\r\n");
}

function audioPort(sdp: string): number {
  const m = /^m=audio (\d+) /m.exec(sdp);
  if (m === null) throw new Error(`rtpengine returned SDP without audio:\n${sdp}`);
  return Number(m[1]);
}

/**
 * Starts rtpengine on 127.0.0.1 with the given RTP port range, its threads under SCHED_FIFO at
 * realtimePriority when given; undefined when it is not installed.
 */
export async function startRtpenginePeer(opts: { portMin: number; portMax: number; realtimePriority?: number; threads?: number }): Promise<RtpenginePeer | undefined> {
  if (!rtpengineInstalled()) return undefined;
  const extraArgs = opts.realtimePriority === undefined ? [] : ["--scheduling=fifo", `--priority=${opts.realtimePriority}`];
  if (opts.threads !== undefined) extraArgs.push(`--num-threads=${opts.threads}`);
  const daemon = await startRtpengine({ portMin: opts.portMin, portMax: opts.portMax, logLevel: 4, extraArgs });
  const ng = createNgClient({ address: daemon.address, port: daemon.ngPort, timeoutMs: 2000, retransmitMs: 250 });
  const calls: string[] = [];
  let n = 0;
  return {
    async createCall(aPort, bPort) {
      const id = `bench-${process.pid}-${n++}`;
      // Both endpoints send from the port they announce, so learning adds nothing; the media
      // should flow from the first packet.
      const flags = ["trust-address", "no-rtcp-attribute"];
      const offer = await ng.offer({ "call-id": id, "from-tag": "a", sdp: sdpOf(aPort, n), flags, ICE: "remove", replace: ["origin", "session-connection"] });
      if (!offer.ok) throw new Error(`rtpengine offer failed: ${offer.error.message}`);
      const answer = await ng.answer({ "call-id": id, "from-tag": "a", "to-tag": "b", sdp: sdpOf(bPort, n), flags, ICE: "remove", replace: ["origin", "session-connection"] });
      if (!answer.ok) throw new Error(`rtpengine answer failed: ${answer.error.message}`);
      calls.push(id);
      return { aRelayPort: audioPort(answer.value.sdp), bRelayPort: audioPort(offer.value.sdp) };
    },
    async stop() {
      for (const id of calls.splice(0)) await ng.delete({ "call-id": id });
      await ng.close();
      await daemon.stop();
    },
  };
}
