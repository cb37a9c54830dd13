#include "rtp_stats.h"

#include <math.h>
#include <string.h>

#define SEQ_MOD 65536
/* RFC 3550 A.1 defaults: a jump ahead under MAX_DROPOUT is a loss burst; a jump back under
 * MAX_MISORDER is reordering; anything else is a restart confirmed by the next packet. */
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100
#define JITTER_GAIN 16.0
#define TWO_32 4294967296.0

void rtp_stats_reset(rtp_stats *s, double clock_rate) {
  memset(s, 0, sizeof *s);
  s->clock_rate = clock_rate > 0 ? clock_rate : 8000;
  s->bad_seq = -1;
}

static void init_seq(rtp_stats *s, int64_t seq) {
  s->started = 1;
  s->base_seq = seq;
  s->max_seq = seq;
  s->cycles = 0;
  s->bad_seq = -1;
  s->distinct = 0;
  memset(s->seen, 0, sizeof s->seen);
  s->have_transit = 0;
}

int64_t rtp_stats_highest(const rtp_stats *s) { return s->cycles + s->max_seq; }

int64_t rtp_stats_expected(const rtp_stats *s) { return s->started ? rtp_stats_highest(s) - s->base_seq + 1 : 0; }

static void advance(rtp_stats *s, int64_t seq) {
  int64_t old_ext = s->cycles - (seq < s->max_seq ? SEQ_MOD : 0) + s->max_seq;
  int64_t new_ext = s->cycles + seq;
  /* Forget ring slots skipped over so they are not mistaken for received packets later. */
  int64_t gap = new_ext - old_ext - 1;
  if (gap > RTP_STATS_HISTORY) gap = RTP_STATS_HISTORY;
  for (int64_t i = 1; i <= gap; i++) s->seen[(old_ext + i) % RTP_STATS_HISTORY] = 0;
  s->max_seq = seq;
}

static void update_jitter(rtp_stats *s, uint32_t rtp_ts, double arrival_ms) {
  double transit = arrival_ms * s->clock_rate / 1000.0 - (double)rtp_ts;
  if (s->have_transit) {
    double d = transit - s->last_transit;
    /* The RTP timestamp wraps at 2^32; fold the difference back into one period. */
    d = fmod(fmod(d, TWO_32) + TWO_32 + TWO_32 / 2, TWO_32) - TWO_32 / 2;
    if (d < 0) d = -d;
    s->jitter += (d - s->jitter) / JITTER_GAIN;
  }
  s->last_transit = transit;
  s->have_transit = 1;
}

void rtp_stats_packet(rtp_stats *s, uint32_t seq32, uint32_t rtp_ts, double arrival_ms, uint32_t bytes) {
  int64_t seq = seq32 & 0xffff;
  int out_of_order = 0;
  s->packets++;
  s->bytes += bytes;
  if (!s->started) {
    init_seq(s, seq);
  } else {
    int64_t udelta = (seq - s->max_seq + SEQ_MOD) % SEQ_MOD;
    if (udelta == 0) {
      s->duplicates++;
      return;
    }
    if (udelta < MAX_DROPOUT) {
      if (seq < s->max_seq) s->cycles += SEQ_MOD;
      advance(s, seq);
    } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
      /* A big jump: believe it only when the next packet follows it (the sender restarted). */
      if (seq != s->bad_seq) {
        s->bad_seq = (seq + 1) % SEQ_MOD;
        return;
      }
      init_seq(s, seq);
    } else {
      /* Behind the highest: late or duplicated; the ring remembers recent arrivals. */
      int64_t back = SEQ_MOD - udelta;
      int64_t ext = s->cycles + s->max_seq - back;
      if (ext < s->base_seq) {
        s->out_of_order++;
        return;
      }
      if (back < RTP_STATS_HISTORY && s->seen[ext % RTP_STATS_HISTORY] == 1) {
        s->duplicates++;
        return;
      }
      if (back < RTP_STATS_HISTORY) s->seen[ext % RTP_STATS_HISTORY] = 1;
      s->out_of_order++;
      out_of_order = 1;
    }
  }
  if (!out_of_order) s->seen[(s->cycles + s->max_seq) % RTP_STATS_HISTORY] = 1;
  s->distinct++;
  update_jitter(s, rtp_ts, arrival_ms);
}
