// media-gen: the load generator of `npm run bench:media`, in C so that it can hold rates a
// node:dgram generator cannot (about 13 µs per packet there) and the bench measures the relays,
// not the load. Bench-only and Linux-only (epoll, timerfd, recvmmsg, sendmmsg); the bench compiles
// it with `cc -O2` at start and falls back to its Node generator when that fails.
//
// It speaks the Node generator's JSON-lines protocol on stdin/stdout, one request at a time:
//   {"cmd":"ports"}  ->  {"a":[port,...],"b":[port,...]}
//   {"calls":[{"socket":i,"aSendsTo":p,"bSendsTo":q},...],"ms":d,"warmupMs":w}
//                    ->  {"sent":s,"received":r,"due":n,"hist":[...]}
// Each call's A end (A socket i) sends to aSendsTo and its B end (B socket i) to bSendsTo, each
// --pps packets/s of --size octets: a 12-octet RTP header (version 2, PT 0) and the send time
// (CLOCK_MONOTONIC ns) at offset 12. The receiving socket bins arrival - send time, the arrival
// being the kernel's receive stamp (SO_TIMESTAMPNS) so that the generator's own wake-up delay on a
// busy machine is not counted against the relay (--rx-stamp app: the clock when read instead).
// With kernel stamps the receive sockets are read on the send timer's ticks rather than woken on:
// on loopback a relay's sendto runs the receiver's wake-up, which would bill the generator's
// scheduling to the relay (endpoints across a network cost a relay no such thing).
// Only packets sent after the warm-up count, for sent and received alike. The process ends when
// stdin ends.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define HEADER_SIZE 12
#define STAMP_SIZE 8
#define MAX_PACKET 1500
// Packets per sendmmsg / recvmmsg call: enough to amortise the syscall, small enough that a
// batch's last packet is not held long behind its first.
#define BATCH 32
#define MAX_SOCKETS 1024
// Packets arriving this long after the last send still count (the Node generator's 150 ms).
#define DRAIN_NS 150000000LL
// Never more than 100 ms of backlog at once: past that the generator itself is the bottleneck.
#define MAX_BACKLOG_MS 100

/** Command-line settings; the bench passes its own constants so both generators agree. */
struct options {
  int sockets;
  int bins;
  int bin_us;
  int pps;
  int size;
  int tick_us;
  int kernel_stamps;
  struct in_addr host;
};

/** One call as given in a run request. */
struct call {
  int socket;
  int a_sends_to;
  int b_sends_to;
};

/** One sending end of a call: its socket, destination and RTP state. */
struct leg {
  int fd;
  uint32_t ssrc;
  uint16_t seq;
  struct sockaddr_in to;
};

static struct options opt = {16, 10000, 10, 50, 172, 250, 1, {0}};
static int fds[2 * MAX_SOCKETS];

/** CLOCK_MONOTONIC in nanoseconds. */
static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/** Prints a message and exits: every failure here is a broken bench setup, not a result. */
static void die(const char *what) {
  fprintf(stderr, "media-gen: %s: %s\n", what, strerror(errno));
  exit(1);
}

// ------------------------------------------------------------------ minimal JSON reading

/** Read position in one request line. */
struct cursor {
  const char *p;
  const char *end;
};

static void skip_ws(struct cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')) c->p++;
}

/** Consumes the character ch (after white space); 0 when it is not next. */
static int eat(struct cursor *c, char ch) {
  skip_ws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}

/** Reads a string's raw contents (escapes are skipped over, not decoded: keys here have none). */
static int read_string(struct cursor *c, const char **start, size_t *len) {
  if (!eat(c, '"')) return 0;
  *start = c->p;
  while (c->p < c->end && *c->p != '"') c->p += *c->p == '\\' ? 2 : 1;
  if (c->p >= c->end) return 0;
  *len = (size_t)(c->p - *start);
  c->p++;
  return 1;
}

static int read_number(struct cursor *c, double *out) {
  skip_ws(c);
  char *after;
  *out = strtod(c->p, &after);
  if (after == c->p) return 0;
  c->p = after;
  return 1;
}

/** Skips any JSON value, so requests may carry fields this generator does not use. */
static int skip_value(struct cursor *c) {
  skip_ws(c);
  if (c->p >= c->end) return 0;
  char ch = *c->p;
  if (ch == '"') {
    const char *s;
    size_t n;
    return read_string(c, &s, &n);
  }
  if (ch == '{' || ch == '[') {
    char close = ch == '{' ? '}' : ']';
    c->p++;
    if (eat(c, close)) return 1;
    do {
      if (ch == '{') {
        const char *s;
        size_t n;
        if (!read_string(c, &s, &n) || !eat(c, ':')) return 0;
      }
      if (!skip_value(c)) return 0;
    } while (eat(c, ','));
    return eat(c, close);
  }
  if (ch == 't' || ch == 'f' || ch == 'n') {
    while (c->p < c->end && *c->p >= 'a' && *c->p <= 'z') c->p++;
    return 1;
  }
  double ignored;
  return read_number(c, &ignored);
}

static int key_is(const char *s, size_t n, const char *key) { return strlen(key) == n && memcmp(s, key, n) == 0; }

/** A parsed request: either "ports" or a run. */
struct request {
  int ports;
  struct call *calls;
  size_t n_calls;
  double ms;
  double warmup_ms;
};

static int read_call(struct cursor *c, struct call *out) {
  out->socket = -1;
  out->a_sends_to = -1;
  out->b_sends_to = -1;
  if (!eat(c, '{')) return 0;
  if (eat(c, '}')) return 1;
  do {
    const char *k;
    size_t n;
    if (!read_string(c, &k, &n) || !eat(c, ':')) return 0;
    double v;
    if (key_is(k, n, "socket") && read_number(c, &v)) out->socket = (int)v;
    else if (key_is(k, n, "aSendsTo") && read_number(c, &v)) out->a_sends_to = (int)v;
    else if (key_is(k, n, "bSendsTo") && read_number(c, &v)) out->b_sends_to = (int)v;
    else if (!skip_value(c)) return 0;
  } while (eat(c, ','));
  return eat(c, '}');
}

/** Parses one request line into req (whose calls array it grows as needed); 0 when malformed. */
static int parse_request(const char *line, size_t len, struct request *req, size_t *capacity) {
  struct cursor c = {line, line + len};
  req->ports = 0;
  req->n_calls = 0;
  req->ms = 0;
  req->warmup_ms = 0;
  if (!eat(&c, '{')) return 0;
  if (eat(&c, '}')) return 1;
  do {
    const char *k;
    size_t n;
    if (!read_string(&c, &k, &n) || !eat(&c, ':')) return 0;
    if (key_is(k, n, "cmd")) {
      const char *v;
      size_t vn;
      if (!read_string(&c, &v, &vn)) return 0;
      req->ports = key_is(v, vn, "ports");
    } else if (key_is(k, n, "calls")) {
      if (!eat(&c, '[')) return 0;
      if (eat(&c, ']')) continue;
      do {
        if (req->n_calls == *capacity) {
          *capacity = *capacity == 0 ? 1024 : *capacity * 2;
          req->calls = realloc(req->calls, *capacity * sizeof *req->calls);
          if (req->calls == NULL) die("realloc");
        }
        if (!read_call(&c, &req->calls[req->n_calls])) return 0;
        req->n_calls++;
      } while (eat(&c, ','));
      if (!eat(&c, ']')) return 0;
    } else if (key_is(k, n, "ms")) {
      if (!read_number(&c, &req->ms)) return 0;
    } else if (key_is(k, n, "warmupMs")) {
      if (!read_number(&c, &req->warmup_ms)) return 0;
    } else if (!skip_value(&c)) {
      return 0;
    }
  } while (eat(&c, ','));
  return eat(&c, '}');
}

// ------------------------------------------------------------------ sockets

/** Binds a non-blocking UDP socket to the host on an ephemeral port with 4 MiB buffers. */
static int bind_socket(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int bytes = 4 << 20;
  // The kernel caps these at net.core.{r,w}mem_max, as it does for node:dgram's setters.
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  int on = 1;
  if (opt.kernel_stamps && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0) die("SO_TIMESTAMPNS");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr = opt.host};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  return fd;
}

static int local_port(int fd) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  if (getsockname(fd, (struct sockaddr *)&a, &len) < 0) die("getsockname");
  return ntohs(a.sin_port);
}

// ------------------------------------------------------------------ one run

/** Counters and histogram of the run in progress. */
struct run {
  uint32_t *hist;
  uint64_t received;
  int64_t measure_from;
  int64_t measure_to;
  /** CLOCK_REALTIME - CLOCK_MONOTONIC at the start, to bring the kernel's receive stamps to the send clock. */
  int64_t realtime_offset;
};

static unsigned char recv_bufs[BATCH][MAX_PACKET];
static unsigned char recv_ctrl[BATCH][CMSG_SPACE(sizeof(struct timespec))];

/** The kernel's receive stamp of a message in CLOCK_MONOTONIC ns, or fallback when it has none. */
static int64_t arrival_ns(struct msghdr *h, int64_t offset, int64_t fallback) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      struct timespec ts;
      memcpy(&ts, CMSG_DATA(c), sizeof ts);
      return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec - offset;
    }
  }
  return fallback;
}
static unsigned char send_bufs[BATCH][MAX_PACKET];

/** Reads everything queued on fd, binning the packets sent inside the measured window. */
static void receive_all(int fd, struct run *r) {
  // Set up once: recvmmsg only writes msg_len and msg_flags back.
  static struct mmsghdr msgs[BATCH];
  static struct iovec iov[BATCH];
  if (msgs[0].msg_hdr.msg_iov == NULL) {
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = recv_bufs[i];
      iov[i].iov_len = MAX_PACKET;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
  for (;;) {
    if (opt.kernel_stamps) {
      // The kernel rewrites msg_controllen with what it filled in.
      for (int i = 0; i < BATCH; i++) {
        msgs[i].msg_hdr.msg_control = recv_ctrl[i];
        msgs[i].msg_hdr.msg_controllen = sizeof recv_ctrl[i];
      }
    }
    int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    // One clock read per batch (every packet of it was already queued at this instant), used
    // when the kernel gave no stamp.
    int64_t t = now_ns();
    for (int i = 0; i < n; i++) {
      if (msgs[i].msg_len < HEADER_SIZE + STAMP_SIZE) continue;
      int64_t at;
      memcpy(&at, recv_bufs[i] + HEADER_SIZE, sizeof at);
      if (r == NULL || at < r->measure_from || at >= r->measure_to) continue;
      r->received++;
      int64_t arrived = opt.kernel_stamps ? arrival_ns(&msgs[i].msg_hdr, r->realtime_offset, t) : t;
      int64_t bin = (arrived - at) / 1000 / opt.bin_us;
      if (bin < 0) bin = 0;
      if (bin > opt.bins) bin = opt.bins;
      r->hist[bin]++;
    }
    if (n < BATCH) return;
  }
}

/** Orders legs by socket so one tick's consecutive sends share a socket and batch in one sendmmsg. */
static int by_fd(const void *x, const void *y) {
  const struct leg *a = x, *b = y;
  if (a->fd != b->fd) return a->fd < b->fd ? -1 : 1;
  return a->ssrc < b->ssrc ? -1 : a->ssrc > b->ssrc;
}

/** Sends count packets starting at leg *next (cyclically), batched per socket; returns how many the kernel took. */
static uint64_t send_legs(struct leg *legs, size_t n_legs, size_t *next, uint64_t count) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  uint64_t taken = 0;
  while (count > 0) {
    int fd = legs[*next].fd;
    int n = 0;
    while (count > 0 && n < BATCH && legs[*next].fd == fd) {
      struct leg *l = &legs[*next];
      unsigned char *b = send_bufs[n];
      l->seq++;
      uint16_t seq = htons(l->seq);
      uint32_t ts = htonl((uint32_t)l->seq * 160u);
      uint32_t ssrc = htonl(l->ssrc);
      memcpy(b + 2, &seq, 2);
      memcpy(b + 4, &ts, 4);
      memcpy(b + 8, &ssrc, 4);
      iov[n].iov_base = b;
      iov[n].iov_len = (size_t)opt.size;
      memset(&msgs[n].msg_hdr, 0, sizeof msgs[n].msg_hdr);
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      msgs[n].msg_hdr.msg_name = &l->to;
      msgs[n].msg_hdr.msg_namelen = sizeof l->to;
      n++;
      count--;
      *next = *next + 1 == n_legs ? 0 : *next + 1;
    }
    // The stamp goes in last, as close to the send as the batch allows.
    int64_t t = now_ns();
    for (int i = 0; i < n; i++) memcpy(send_bufs[i] + HEADER_SIZE, &t, sizeof t);
    int done = 0;
    while (done < n) {
      int k = sendmmsg(fd, msgs + done, (unsigned)(n - done), 0);
      if (k < 0) {
        // A full send buffer or a refused destination: that packet is not sent; go on with the rest.
        done++;
        continue;
      }
      taken += (uint64_t)k;
      done += k;
      // sendmmsg stops at the first failing message; skip it.
      if (done < n) done++;
    }
  }
  return taken;
}

/**
 * Reads the receive sockets that have something queued, as the epoll set rxfd (polled without
 * waiting) reports them.
 */
static void receive_ready(int rxfd, struct run *r) {
  struct epoll_event events[2 * MAX_SOCKETS];
  int n = epoll_wait(rxfd, events, 2 * MAX_SOCKETS, 0);
  for (int e = 0; e < n; e++) receive_all(events[e].data.fd, r);
}

/**
 * Runs one request's calls for warm-up + duration and prints the result line. epfd wakes the
 * generator: on its timer, and with --rx-stamp app on its receive sockets too. With kernel stamps
 * the receive sockets sit in rxfd instead, read on each tick: a packet's arrival time is the
 * kernel's stamp either way, and a relay's send then never has to wake the generator, a cross-CPU
 * wake-up that a relay sending to remote endpoints does not pay and that loopback would bill to it.
 */
static void run(const struct request *req, int epfd, int rxfd, int tfd, uint32_t *hist) {
  int sockets = opt.sockets;
  size_t n_legs = req->n_calls * 2;
  struct leg *legs = calloc(n_legs > 0 ? n_legs : 1, sizeof *legs);
  if (legs == NULL) die("calloc");
  uint32_t ssrc_base = (uint32_t)getpid() << 16;
  for (size_t i = 0; i < req->n_calls; i++) {
    const struct call *c = &req->calls[i];
    if (c->socket < 0 || c->socket >= sockets || c->a_sends_to <= 0 || c->b_sends_to <= 0 || c->a_sends_to > 65535 ||
        c->b_sends_to > 65535) {
      fprintf(stderr, "media-gen: bad call %zu\n", i);
      exit(1);
    }
    for (int side = 0; side < 2; side++) {
      struct leg *l = &legs[i * 2 + (size_t)side];
      l->fd = fds[side * sockets + c->socket];
      l->ssrc = ssrc_base + (uint32_t)(i * 2 + (size_t)side);
      l->seq = (uint16_t)(l->ssrc * 7919u);
      l->to.sin_family = AF_INET;
      l->to.sin_addr = opt.host;
      l->to.sin_port = htons((uint16_t)(side == 0 ? c->a_sends_to : c->b_sends_to));
    }
  }
  qsort(legs, n_legs, sizeof *legs, by_fd);

  // Whatever the previous step's relays left queued is not this run's.
  for (int i = 0; i < 2 * sockets; i++) receive_all(fds[i], NULL);
  memset(hist, 0, sizeof *hist * (size_t)(opt.bins + 1));
  struct run r = {.hist = hist, .received = 0};
  struct timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  r.realtime_offset = (int64_t)rt.tv_sec * 1000000000LL + rt.tv_nsec - now_ns();

  const int64_t per_second = (int64_t)n_legs * opt.pps;
  const uint64_t max_backlog = (uint64_t)((per_second * MAX_BACKLOG_MS + 999) / 1000);
  const int64_t start = now_ns();
  const int64_t end = start + (int64_t)((req->warmup_ms + req->ms) * 1e6);
  r.measure_from = start + (int64_t)(req->warmup_ms * 1e6);
  r.measure_to = INT64_MAX;
  struct itimerspec tick = {.it_interval = {0, opt.tick_us * 1000L}, .it_value = {0, opt.tick_us * 1000L}};
  if (timerfd_settime(tfd, 0, &tick, NULL) < 0) die("timerfd_settime");

  uint64_t sent = 0, scheduled = 0;
  int64_t sent_at_measure = -1;
  int64_t drain_until = 0;
  size_t next = 0;
  struct epoll_event events[64];
  for (;;) {
    int n = epoll_wait(epfd, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    int finished = 0;
    for (int e = 0; e < n; e++) {
      int fd = events[e].data.fd;
      if (fd != tfd) {
        receive_all(fd, &r);
        continue;
      }
      uint64_t expirations;
      if (read(tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) die("read timerfd");
      if (rxfd >= 0) receive_ready(rxfd, &r);
      int64_t now = now_ns();
      if (drain_until != 0) {
        if (now >= drain_until) finished = 1;
        continue;
      }
      if (sent_at_measure < 0 && now >= r.measure_from) sent_at_measure = (int64_t)sent;
      if (now >= end) {
        r.measure_to = now;
        // The timer keeps ticking through the drain, which is when the tick-read sockets are read.
        drain_until = now + DRAIN_NS;
        continue;
      }
      // Due so far at an even rate; the send order cycles through every leg once per period.
      uint64_t target = (uint64_t)((__int128)(now - start) * per_second / 1000000000LL);
      uint64_t burst = target - scheduled;
      if (burst > max_backlog) burst = max_backlog;
      scheduled = target;
      if (n_legs > 0) sent += send_legs(legs, n_legs, &next, burst);
    }
    if (finished) break;
  }
  struct itimerspec off = {{0, 0}, {0, 0}};
  timerfd_settime(tfd, 0, &off, NULL);
  free(legs);

  if (sent_at_measure < 0) sent_at_measure = (int64_t)sent;
  long long due = (long long)(req->ms * (double)per_second / 1000.0 + 0.5);
  printf("{\"sent\":%llu,\"received\":%llu,\"due\":%lld,\"hist\":[", (unsigned long long)(sent - (uint64_t)sent_at_measure),
         (unsigned long long)r.received, due);
  for (int i = 0; i <= opt.bins; i++) printf(i == 0 ? "%u" : ",%u", hist[i]);
  printf("]}\n");
  fflush(stdout);
}

/** Reads --name value pairs into opt; exits on anything unknown. */
static void parse_args(int argc, char **argv) {
  inet_pton(AF_INET, "127.0.0.1", &opt.host);
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (strcmp(k, "--sockets") == 0) opt.sockets = atoi(v);
    else if (strcmp(k, "--bins") == 0) opt.bins = atoi(v);
    else if (strcmp(k, "--bin-us") == 0) opt.bin_us = atoi(v);
    else if (strcmp(k, "--pps") == 0) opt.pps = atoi(v);
    else if (strcmp(k, "--size") == 0) opt.size = atoi(v);
    else if (strcmp(k, "--tick-us") == 0) opt.tick_us = atoi(v);
    else if (strcmp(k, "--rx-stamp") == 0 && (strcmp(v, "kernel") == 0 || strcmp(v, "app") == 0)) opt.kernel_stamps = strcmp(v, "kernel") == 0;
    else if (strcmp(k, "--host") == 0) {
      if (inet_pton(AF_INET, v, &opt.host) != 1) {
        fprintf(stderr, "media-gen: --host must be an IPv4 literal\n");
        exit(2);
      }
    } else {
      fprintf(stderr, "media-gen: unknown option %s\n", k);
      exit(2);
    }
  }
  if (opt.sockets < 1 || opt.sockets > MAX_SOCKETS || opt.bins < 1 || opt.bin_us < 1 || opt.pps < 1 ||
      opt.size < HEADER_SIZE + STAMP_SIZE || opt.size > MAX_PACKET || opt.tick_us < 50 || opt.tick_us >= 1000000) {
    fprintf(stderr, "media-gen: option out of range\n");
    exit(2);
  }
}

int main(int argc, char **argv) {
  parse_args(argc, argv);
  // RTP version 2, payload type 0 (PCMU, what both legs negotiate); the payload octets do not matter.
  for (int i = 0; i < BATCH; i++) {
    memset(send_bufs[i], 0xd5, sizeof send_bufs[i]);
    send_bufs[i][0] = 0x80;
    send_bufs[i][1] = 0;
  }
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  int rxfd = opt.kernel_stamps ? epoll_create1(EPOLL_CLOEXEC) : -1;
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (epfd < 0 || tfd < 0 || (opt.kernel_stamps && rxfd < 0)) die("epoll/timerfd");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = tfd};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev) < 0) die("epoll_ctl");
  for (int i = 0; i < 2 * opt.sockets; i++) {
    fds[i] = bind_socket();
    ev.data.fd = fds[i];
    if (epoll_ctl(rxfd >= 0 ? rxfd : epfd, EPOLL_CTL_ADD, fds[i], &ev) < 0) die("epoll_ctl");
  }
  uint32_t *hist = calloc((size_t)opt.bins + 1, sizeof *hist);
  if (hist == NULL) die("calloc");

  struct request req = {0};
  size_t capacity = 0;
  char *line = NULL;
  size_t line_cap = 0;
  ssize_t len;
  while ((len = getline(&line, &line_cap, stdin)) > 0) {
    if (!parse_request(line, (size_t)len, &req, &capacity)) {
      fprintf(stderr, "media-gen: malformed request\n");
      return 1;
    }
    if (req.ports) {
      for (int side = 0; side < 2; side++) {
        printf(side == 0 ? "{\"a\":[" : "],\"b\":[");
        for (int i = 0; i < opt.sockets; i++) printf(i == 0 ? "%d" : ",%d", local_port(fds[side * opt.sockets + i]));
      }
      printf("]}\n");
      fflush(stdout);
    } else {
      run(&req, epfd, rxfd, tfd, hist);
    }
  }
  free(line);
  free(req.calls);
  free(hist);
  for (int i = 0; i < 2 * opt.sockets; i++) close(fds[i]);
  return 0;
}
