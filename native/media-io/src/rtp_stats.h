/*
 * Receive statistics of one RTP stream (RFC 3550 A.1 sequence validation, A.3 loss, A.8 jitter),
 * kept by the fast path for the packets it forwards without JavaScript. Mirrors
 * src/media/quality.ts (ReceiveStats) so both paths report the same numbers.
 */
#ifndef MEDIA_IO_RTP_STATS_H
#define MEDIA_IO_RTP_STATS_H

#include <stdint.h>

#define RTP_STATS_HISTORY 1024

typedef struct rtp_stats {
  double clock_rate;
  uint64_t packets;
  uint64_t bytes;
  uint64_t distinct;
  uint64_t out_of_order;
  uint64_t duplicates;
  int started;
  int64_t base_seq;
  int64_t max_seq;
  /* Shifted count of sequence number cycles (a multiple of 65536). */
  int64_t cycles;
  int64_t bad_seq;
  int have_transit;
  double last_transit;
  double jitter;
  uint8_t seen[RTP_STATS_HISTORY];
} rtp_stats;

/** Resets the statistics for a stream with the given RTP clock rate. */
void rtp_stats_reset(rtp_stats *s, double clock_rate);

/** Accounts one RTP packet: sequence number, RTP timestamp, arrival (ms, any epoch), size. */
void rtp_stats_packet(rtp_stats *s, uint32_t seq, uint32_t rtp_ts, double arrival_ms, uint32_t bytes);

/** Packets expected from the extended sequence range (RFC 3550 A.3). */
int64_t rtp_stats_expected(const rtp_stats *s);

/** Extended highest sequence number. */
int64_t rtp_stats_highest(const rtp_stats *s);

#endif
