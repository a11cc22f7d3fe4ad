/*===- collectives_mpi_test.c - The MPI plugin's collectives, under mpirun -===*\
|*                                                                            *|
|* Run as `mpirun -np N kiln-collectives-test PLUGIN MODE`. Loads the plugin  *|
|* (libkiln_collectives_mpi.so) the way the runtime does and:                *|
|*   all      checks every collective of the table against the values each  *|
|*            rank can compute itself (sums, gathers, exchanges); prints    *|
|*            "rank R: all collectives agree" and exits 0, or names the     *|
|*            first difference and exits 1;                                 *|
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

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s PLUGIN all|death|timeout\n", argv[0]);
    return 2;
  }
  const char *mode = argv[2];
  void *plugin = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
  if (!plugin) {
    fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
    return 2;
  }
  kiln_collectives_open_fn open =
      (kiln_collectives_open_fn)dlsym(plugin, KILN_COLLECTIVES_OPEN_SYMBOL);
  kiln_collectives_close_fn close =
      (kiln_collectives_close_fn)dlsym(plugin, KILN_COLLECTIVES_CLOSE_SYMBOL);
  const kiln_collective_calls *c = NULL;
  char error[256];
  double timeout = strcmp(mode, "timeout") == 0 ? 1.0 : 60.0;
  if (!open || !close || open(timeout, &c, error, sizeof(error)) != 0) {
    fprintf(stderr, "cannot open the collectives: %s\n", error);
    return 2;
  }
  rank = c->rank;
  size = c->size;
  if (c->abi_version != KILN_COLLECTIVES_ABI_VERSION || size < 2) {
    fprintf(stderr, "needs ABI %u and 2 or more ranks\n",
            KILN_COLLECTIVES_ABI_VERSION);
    return 2;
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
    uint8_t bytes[2] = {1, 2};
    expect(c->all_reduce(bytes, 2, KILN_DTYPE_UINT8) != 0,
           "all_reduce uint8 refusal", 0, 0, 1);
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
  c->barrier();
  close();
  if (failures)
    return 1;
  printf("rank %d: all collectives agree\n", rank);
  return 0;
}
