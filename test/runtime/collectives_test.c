/*===- collectives_test.c - A collectives plugin, under mpirun ------------===*\
|*                                                                            *|
|* Run as `mpirun -np N kiln-collectives-test PLUGIN MODE [FAKE_NCCL]`.       *|
|* Loads the plugin the way the runtime does: the MPI one                    *|
|* (libkiln_collectives_mpi.so), or with FAKE_NCCL the NCCL one              *|
|* (libkiln_collectives_nccl.so) over the fake NCCL of test/runtime/fake_nccl *|
|* (KILN_NCCL_LIBRARY must name the same file), whose "device" buffers are   *|
|* host memory and whose stream query the test passes. Then:                 *|
|*   all      checks every collective of the table against the values each  *|
|*            rank can compute itself (sums, gathers, exchanges); prints    *|
|*            "rank R: all collectives agree" and exits 0, or names the     *|
|*            first difference and exits 1. With FAKE_NCCL it also checks   *|
|*            that open refuses a NULL stream query and that close         *|
|*            destroyed the communicator. If open fails, the                *|
|*            rank ends every rank through the plugin's abort;              *|
|*   groups   checks every group collective (ABI 2) on three splits of the   *|
|*            world: ranks of equal parity, consecutive pairs numbered in   *|
|*            reverse, and every rank but 0 (rank 0 joins none, and a NULL  *|
|*            group is refused); a world all-reduce between them; prints    *|
|*            "rank R: every group agrees" and exits 0, or exits 1;          *|
|*   retry    (FAKE_NCCL) open must fail (an injected failure), print       *|
|*            "rank R: open failed: <reason>", then succeed, sum, and close *|
|*            with no communicator left: "rank R: recovered";               *|
|*   death    rank 1 exits (status 7) before the first collective; the      *|
|*            others must not wait for it forever;                          *|
|*   timeout  rank 1 sleeps 120 s; the others' all-reduce must end every    *|
|*            rank after the 1 s timeout.                                   *|
|* The failure modes never print "unexpectedly completed".                  *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "kiln/collectives.h"
#include "kiln/dtype.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures = 0;
static int rank = 0, size = 1;

static void expect(int ok, const char *what, long index, double got,
                   double want) {
  if (ok || failures++)
    return;
  printf("rank %d: %s differs at %ld: got %g, expected %g\n", rank, what,
         index, got, want);
}

typedef int (*live_comms_fn)(void);

/* The plugin's entry points, and with a fake NCCL its stream and count of
 * live communicators. */
typedef struct plugin {
  kiln_collectives_open_fn open_mpi;
  kiln_collectives_nccl_open_fn open_nccl;
  kiln_collectives_abort_fn abort;
  kiln_collectives_close_fn close;
  kiln_collectives_gpu gpu;
  live_comms_fn live_comms;
} plugin;

static int load(const char *path, const char *fake_nccl, plugin *p) {
  void *handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  if (!handle) {
    fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
    return 0;
  }
  memset(p, 0, sizeof(*p));
  if (!fake_nccl) {
    p->open_mpi = (kiln_collectives_open_fn)dlsym(handle,
                                                  KILN_COLLECTIVES_OPEN_SYMBOL);
    p->abort = (kiln_collectives_abort_fn)dlsym(handle,
                                                KILN_COLLECTIVES_ABORT_SYMBOL);
    p->close = (kiln_collectives_close_fn)dlsym(handle,
                                                KILN_COLLECTIVES_CLOSE_SYMBOL);
    return p->open_mpi && p->abort && p->close;
  }
  p->open_nccl = (kiln_collectives_nccl_open_fn)dlsym(
      handle, KILN_COLLECTIVES_NCCL_OPEN_SYMBOL);
  p->abort = (kiln_collectives_abort_fn)dlsym(
      handle, KILN_COLLECTIVES_NCCL_ABORT_SYMBOL);
  p->close = (kiln_collectives_close_fn)dlsym(
      handle, KILN_COLLECTIVES_NCCL_CLOSE_SYMBOL);
  void *fake = dlopen(fake_nccl, RTLD_NOW | RTLD_GLOBAL);
  if (!fake) {
    fprintf(stderr, "cannot load %s: %s\n", fake_nccl, dlerror());
    return 0;
  }
  p->gpu.stream = NULL;
  p->gpu.stream_query = (int32_t(*)(void *))dlsym(
      fake, "kiln_fake_nccl_stream_query");
  p->live_comms = (live_comms_fn)dlsym(fake, "kiln_fake_nccl_live_comms");
  return p->open_nccl && p->abort && p->close && p->gpu.stream_query &&
         p->live_comms;
}

static int open_plugin(plugin *p, double timeout,
                       const kiln_collective_calls **c, char *error,
                       size_t size) {
  return p->open_nccl ? p->open_nccl(timeout, &p->gpu, c, error, size)
                      : p->open_mpi(timeout, c, error, size);
}

static int check_all(const kiln_collective_calls *c);
static int check_groups(const kiln_collective_calls *c);

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr,
            "usage: %s PLUGIN all|groups|retry|death|timeout [FAKE_NCCL]\n",
            argv[0]);
    return 2;
  }
  const char *mode = argv[2];
  plugin p;
  if (!load(argv[1], argc == 4 ? argv[3] : NULL, &p)) {
    fprintf(stderr, "%s lacks the plugin's entry points\n", argv[1]);
    return 2;
  }
  const kiln_collective_calls *c = NULL;
  char error[256] = "";
  double timeout = strcmp(mode, "timeout") == 0 ? 1.0 : 60.0;
  if (p.open_nccl) {
    /* Without a way to wait for the stream, open refuses, with a reason. */
    kiln_collectives_gpu none = {NULL, NULL};
    if (p.open_nccl(timeout, &none, &c, error, sizeof(error)) == 0 ||
        !strstr(error, "stream_query is NULL")) {
      printf("open without a stream query: not refused ('%s')\n", error);
      return 1;
    }
  }
  if (strcmp(mode, "retry") == 0) {
    if (open_plugin(&p, timeout, &c, error, sizeof(error)) == 0) {
      printf("retry: open unexpectedly succeeded\n");
      return 1;
    }
    printf("rank %s: open failed: %s\n", getenv("OMPI_COMM_WORLD_RANK"),
           error);
  }
  if (open_plugin(&p, timeout, &c, error, sizeof(error)) != 0) {
    char line[300];
    snprintf(line, sizeof(line), "cannot open the collectives: %s", error);
    p.abort(line, 2); /* ends every rank: the others wait in open */
    return 2;
  }
  rank = c->rank;
  size = c->size;
  if (c->abi_version != KILN_COLLECTIVES_ABI_VERSION || size < 2) {
    fprintf(stderr, "needs ABI %u and 2 or more ranks\n",
            KILN_COLLECTIVES_ABI_VERSION);
    return 2;
  }
  if (strcmp(mode, "retry") == 0) {
    int32_t x[2] = {rank, 1};
    c->all_reduce(x, 2, KILN_DTYPE_INT32);
    p.close();
    if (x[0] != size * (size - 1) / 2 || x[1] != size ||
        p.live_comms() != 0) {
      printf("rank %d: after the retry: sum %d %d, %d communicators left\n",
             rank, x[0], x[1], p.live_comms());
      return 1;
    }
    printf("rank %d: recovered\n", rank);
    return 0;
  }

  if (strcmp(mode, "death") == 0 || strcmp(mode, "timeout") == 0) {
    if (rank == 1) {
      if (mode[0] == 'd')
        _exit(7);
      sleep(120);
      return 0;
    }
    float x = 1;
    c->all_reduce(&x, 1, KILN_DTYPE_FLOAT32);
    printf("rank %d: unexpectedly completed\n", rank);
    return 0;
  }

  int groups = strcmp(mode, "groups") == 0;
  if ((groups ? check_groups(c) : check_all(c)) != 0 || failures)
    return 1;
  c->barrier();
  p.close();
  if (p.live_comms && p.live_comms() != 0) {
    printf("rank %d: %d NCCL communicators left after close\n", rank,
           p.live_comms());
    return 1;
  }
  printf(groups ? "rank %d: every group agrees\n"
                : "rank %d: all collectives agree\n",
         rank);
  return 0;
}

/* Every collective of the table against values each rank computes. */
static int check_all(const kiln_collective_calls *c) {
  enum { N = 5 };
  /* all-reduce, float32, float64, int32, int64: rank r holds r + i. */
  {
    float f[N];
    double d[N];
    int32_t i32[N];
    int64_t i64[N];
    for (int i = 0; i < N; ++i) {
      f[i] = (float)(rank + i) + 0.5f;
      d[i] = rank * 1e9 + i;
      i32[i] = rank - i;
      i64[i] = ((int64_t)rank << 40) + i;
    }
    c->all_reduce(f, N, KILN_DTYPE_FLOAT32);
    c->all_reduce(d, N, KILN_DTYPE_FLOAT64);
    c->all_reduce(i32, N, KILN_DTYPE_INT32);
    c->all_reduce(i64, N, KILN_DTYPE_INT64);
    long ranks = size * (size - 1) / 2; /* sum of the ranks */
    for (int i = 0; i < N; ++i) {
      double wf = ranks + size * (i + 0.5);
      expect(f[i] == (float)wf, "all_reduce float32", i, f[i], wf);
      double wd = ranks * 1e9 + size * i;
      expect(d[i] == wd, "all_reduce float64", i, d[i], wd);
      expect(i32[i] == ranks - size * i, "all_reduce int32", i, i32[i],
             (double)(ranks - size * i));
      int64_t w64 = ((int64_t)ranks << 40) + size * i;
      expect(i64[i] == w64, "all_reduce int64", i, (double)i64[i],
             (double)w64);
    }
    /* A dtype without a sum is refused, not summed. */
    uint8_t bytes[2] = {1, 0};
    expect(c->all_reduce(bytes, 2, KILN_DTYPE_BOOL) != 0,
           "all_reduce bool refusal", 0, 0, 1);
  }
  /* all-gather: rank r sends {r*10, r*10+1, r*10+2}. */
  {
    float send[3], *recv = malloc(sizeof(float) * 3 * size);
    for (int i = 0; i < 3; ++i)
      send[i] = (float)(rank * 10 + i);
    c->all_gather(send, recv, 3, KILN_DTYPE_FLOAT32);
    for (int p = 0; p < size; ++p)
      for (int i = 0; i < 3; ++i)
        expect(recv[p * 3 + i] == p * 10 + i, "all_gather", p * 3 + i,
               recv[p * 3 + i], p * 10 + i);
    free(recv);
  }
  /* reduce-scatter: element j of rank r's send is r + j; rank r gets
   * block r of the sum, 2 elements. */
  {
    int64_t *send = malloc(sizeof(int64_t) * 2 * size), recv[2];
    for (int j = 0; j < 2 * size; ++j)
      send[j] = rank + j;
    c->reduce_scatter(send, recv, 2, KILN_DTYPE_INT64);
    long ranks = size * (size - 1) / 2;
    for (int i = 0; i < 2; ++i) {
      long j = rank * 2 + i;
      expect(recv[i] == ranks + size * j, "reduce_scatter", i, (double)recv[i],
             (double)(ranks + size * j));
    }
    free(send);
  }
  /* all-to-all: block p of rank r's send is {100r + p, -(100r + p)}. */
  {
    int32_t *send = malloc(sizeof(int32_t) * 2 * size);
    int32_t *recv = malloc(sizeof(int32_t) * 2 * size);
    for (int p = 0; p < size; ++p) {
      send[2 * p] = 100 * rank + p;
      send[2 * p + 1] = -(100 * rank + p);
    }
    c->all_to_all(send, recv, 2, KILN_DTYPE_INT32);
    for (int p = 0; p < size; ++p) {
      expect(recv[2 * p] == 100 * p + rank, "all_to_all", 2 * p, recv[2 * p],
             100 * p + rank);
      expect(recv[2 * p + 1] == -(100 * p + rank), "all_to_all", 2 * p + 1,
             recv[2 * p + 1], -(100 * p + rank));
    }
    free(send);
    free(recv);
  }
  /* all-to-all-v: rank r sends p + 1 elements to rank p, each 1000r + p;
   * rank r receives r + 1 from each rank, packed in rank order. */
  {
    uint64_t *sc = malloc(sizeof(uint64_t) * size),
             *so = malloc(sizeof(uint64_t) * size),
             *rc = malloc(sizeof(uint64_t) * size),
             *ro = malloc(sizeof(uint64_t) * size);
    uint64_t total = 0;
    for (int p = 0; p < size; ++p) {
      sc[p] = p + 1;
      so[p] = total;
      total += p + 1;
      rc[p] = rank + 1;
      ro[p] = (uint64_t)p * (rank + 1);
    }
    float *send = malloc(sizeof(float) * total);
    float *recv = malloc(sizeof(float) * size * (rank + 1));
    for (int p = 0; p < size; ++p)
      for (uint64_t i = 0; i < sc[p]; ++i)
        send[so[p] + i] = (float)(1000 * rank + p);
    c->all_to_allv(send, sc, so, recv, rc, ro, KILN_DTYPE_FLOAT32);
    for (int p = 0; p < size; ++p)
      for (int i = 0; i <= rank; ++i)
        expect(recv[ro[p] + i] == 1000 * p + rank, "all_to_allv",
               (long)(ro[p] + i), recv[ro[p] + i], 1000 * p + rank);
    free(sc); free(so); free(rc); free(ro); free(send); free(recv);
  }
  /* send / recv around the ring: rank r sends {r, r*r} to r + 1. */
  {
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    double out[2] = {rank, (double)rank * rank}, in[2] = {-1, -1};
    if (rank % 2 == 0) {
      c->send(out, 2, KILN_DTYPE_FLOAT64, next);
      c->recv(in, 2, KILN_DTYPE_FLOAT64, prev);
    } else {
      c->recv(in, 2, KILN_DTYPE_FLOAT64, prev);
      c->send(out, 2, KILN_DTYPE_FLOAT64, next);
    }
    expect(in[0] == prev && in[1] == (double)prev * prev, "send/recv", 0,
           in[0], prev);
    expect(c->send(out, 2, KILN_DTYPE_FLOAT64, size) != 0,
           "send to a rank outside the world refused", 0, 0, 1);
  }
  /* broadcast from the last rank. */
  {
    int64_t v[3] = {rank, rank, rank};
    c->broadcast(v, 3, KILN_DTYPE_INT64, size - 1);
    for (int i = 0; i < 3; ++i)
      expect(v[i] == size - 1, "broadcast", i, (double)v[i], size - 1);
  }
  return failures;
}

/* One group's collectives: `members` lists its world ranks in the group's
 * order (this rank at `me`); every value checked is computed from them. */
static void check_group(const kiln_collective_calls *c,
                        kiln_collective_group *g, const int *members, int n,
                        int me, const char *name) {
  int32_t grank = -1, gsize = -1;
  c->group_rank(g, &grank, &gsize);
  expect(grank == me && gsize == n, name, 0, grank, me);
  long sum = 0;
  for (int i = 0; i < n; ++i)
    sum += members[i];
  /* all-reduce: world rank r holds {r, 1} (float32 and int64). */
  float f[2] = {(float)rank, 1};
  int64_t i64[2] = {rank, 1};
  c->group_all_reduce(g, f, 2, KILN_DTYPE_FLOAT32);
  c->group_all_reduce(g, i64, 2, KILN_DTYPE_INT64);
  expect(f[0] == sum && f[1] == n, name, 1, f[0], sum);
  expect(i64[0] == sum && i64[1] == n, name, 2, (double)i64[0], sum);
  /* all-gather: each sends {r, -r}; block i is member i's. */
  int32_t send[2] = {rank, -rank}, recv[16];
  c->group_all_gather(g, send, recv, 2, KILN_DTYPE_INT32);
  for (int i = 0; i < n; ++i)
    expect(recv[2 * i] == members[i] && recv[2 * i + 1] == -members[i], name, 3,
           recv[2 * i], members[i]);
  /* reduce-scatter: element j of each send is r * 100 + j; group rank i
   * gets element i of the sum. */
  double rs[8], mine = -1;
  for (int j = 0; j < n; ++j)
    rs[j] = rank * 100.0 + j;
  c->group_reduce_scatter(g, rs, &mine, 1, KILN_DTYPE_FLOAT64);
  expect(mine == sum * 100.0 + n * me, name, 4, mine, sum * 100.0 + n * me);
  /* all-to-all: block j of each send is 10 r + j; block i of recv comes
   * from member i: 10 members[i] + me. */
  int64_t a2a[8], got[8];
  for (int j = 0; j < n; ++j)
    a2a[j] = 10 * rank + j;
  c->group_all_to_all(g, a2a, got, 1, KILN_DTYPE_INT64);
  for (int i = 0; i < n; ++i)
    expect(got[i] == 10 * members[i] + me, name, 5, (double)got[i],
           10 * members[i] + me);
  /* broadcast from the group's last rank. */
  int32_t b[2] = {rank, rank};
  c->group_broadcast(g, b, 2, KILN_DTYPE_INT32, n - 1);
  expect(b[0] == members[n - 1] && b[1] == members[n - 1], name, 6, b[0],
         members[n - 1]);
  expect(c->group_broadcast(g, b, 2, KILN_DTYPE_INT32, n) != 0, name, 7, 0, 1);
  c->group_barrier(g);
}

/* Three splits of the world (size up to 8), each group's collectives
 * checked, with a world all-reduce between them. */
static int check_groups(const kiln_collective_calls *c) {
  if (size > 8) {
    fprintf(stderr, "groups needs at most 8 ranks\n");
    return 1;
  }
  kiln_collective_group *parity = NULL, *pairs = NULL, *rest = NULL;
  c->group_split(rank % 2, rank, &parity);
  c->group_split(rank / 2, -rank, &pairs);
  c->group_split(rank == 0 ? -1 : 0, rank, &rest);
  int members[8], n = 0, me = 0;
  /* Parity: the ranks of this parity, in world order. */
  for (int r = rank % 2; r < size; r += 2) {
    if (r == rank)
      me = n;
    members[n++] = r;
  }
  expect(parity != NULL, "parity group made", 0, 0, 1);
  if (parity)
    check_group(c, parity, members, n, me, "parity group");
  /* Pairs, numbered in reverse (key -rank): the higher rank first. */
  n = 0;
  for (int r = (rank / 2) * 2 + 1; r >= (rank / 2) * 2; --r)
    if (r < size) {
      if (r == rank)
        me = n;
      members[n++] = r;
    }
  expect(pairs != NULL, "pair group made", 0, 0, 1);
  if (pairs)
    check_group(c, pairs, members, n, me, "pair group");
  /* The world still sums over everyone between group calls. */
  int32_t one = 1;
  c->all_reduce(&one, 1, KILN_DTYPE_INT32);
  expect(one == size, "world all_reduce between groups", 0, one, size);
  /* Every rank but 0; rank 0 has no group, and NULL is refused. */
  if (rank == 0) {
    expect(rest == NULL, "rank 0 in no group", 0, 1, 0);
    expect(c->group_all_reduce(NULL, &one, 1, KILN_DTYPE_INT32) != 0,
           "NULL group refused", 0, 0, 1);
  } else {
    for (n = 0; n < size - 1; ++n)
      members[n] = n + 1;
    expect(rest != NULL, "rest group made", 0, 0, 1);
    if (rest)
      check_group(c, rest, members, n, rank - 1, "rest group");
  }
  return failures;
}
