/*
 * wait_protocol.pml -- the park/wake protocol of modules/wait.cppm, under SPIN.
 *
 * What runs: NW waiters and NN notifiers share one wait_cell (one futex word). The
 * condition is a broadcast ring as in modules/ring.cpp: every notifier publishes MSGS
 * messages (`pub` counts them) and every waiter must read all NN*MSGS of them (seen[i] is
 * its read_position_). A waiter reads while pub > seen[i] and otherwise parks with
 * park_once(); a notifier publishes and then calls notify_parked().
 *
 * The property, "no lost wake-up", is checked as a safety property:
 *   - the `monitor` process runs only when nothing else can move (Promela's `timeout`).
 *     Notifiers never block, so by then they have all finished; a waiter still queued in
 *     FUTEX_WAIT at that point has seen[i] < pub = NN*MSGS and nothing will ever wake it:
 *     it sleeps forever while its condition holds. The monitor asserts that this never
 *     happens ("lost wake-up").
 *   - as a backstop, such a state is also an invalid end state (the waiter is blocked
 *     outside an end label), which pan reports on its own.
 *
 * Timeouts: each park may or may not carry a timeout (park_once's optional `timeout`: the
 * ring passes a stall slice or the caller's deadline). A timed futex wait may return at any
 * moment (this also stands for EINTR and spurious returns). The choice is made afresh at
 * every park, so the verifier also explores every run in which the waits that matter are
 * untimed: a protocol that needed a timeout to make progress would show a waiter stuck in an
 * untimed wait, which is the error above. Timed returns only add interleavings (a waiter
 * re-announcing while notifiers work on the word).
 *
 * Memory model. SPIN interleaves whole statements: every run is sequentially consistent.
 * The seq_cst fences F1 (park_once) and F2 (notify_parked) therefore have no statement of
 * their own; they are implicit between the steps marked F1 / F2 below. Why SC is a sound
 * abstraction of the C++ code here: the argument in wait.cppm uses only
 *   (1) coherence of `word`: every modification of it is an RMW (fetch_or, CAS), so they
 *       form one total order and each RMW reads the latest value; the kernel's FUTEX_WAIT
 *       compare and FUTEX_WAKE are serialised by the futex hash-bucket lock (with full
 *       barriers), so the compare is atomic with the enqueue and with any wake;
 *   (2) the store-buffering (Dekker) pair  S ; F2 ; P  versus  A ; F1 ; R  where
 *       C++20 [atomics.fences] with seq_cst fences forbids the one non-SC outcome "P reads
 *       the word from before A AND R reads the condition from before S": whichever of F1,
 *       F2 comes first in the total order S, the load after the later fence sees the store
 *       before the earlier one (or something later in modification order).
 * For every pair (waiter park, notifier publish) the C++ outcomes are exactly the SC ones
 * for these accesses, and the condition (`pub`) only grows, so a stale-but-allowed read of
 * it behaves like an SC run in which the newer publications come later. What this
 * abstracts away: all other weak-memory behaviour (the relaxed statistics counters, the
 * `parked` gauge, the acquire/release pairing that makes the message *contents* visible --
 * that is the ring's job, not this protocol's). The mutant MUTANT_LOAD_BEFORE_PUBLISH
 * shows the reordering the fences exist to forbid: without F2 the hardware may perform P
 * before S becomes visible (x86 store buffer); in an SC model that is written as P moved
 * above S in program order.
 *
 * Also abstracted: the 31-bit epoch wrapping (ABA would need 2^31 epoch bumps between a
 * waiter's announce and its FUTEX_WAIT compare; here `word` is a byte and the bumps are
 * bounded by NN*MSGS), the spin/yield stages of spin_wait (a waiter that spins just re-reads
 * `pub`, which the first branch of the waiter loop already does), the message contents and
 * frame claims (a "claim in progress" is seen as not-ready; its publisher notifies later).
 *
 * Mutants (each must make the verifier report an error; see check.sh):
 *   -DMUTANT_NO_RECHECK            park_once sleeps right after the fetch_or, without
 *                                  re-checking ready() (drops R).
 *   -DMUTANT_LOAD_BEFORE_PUBLISH   notify_parked's load of the word (P) happens before the
 *                                  release store of the condition (S).
 */

#ifndef NW
#define NW 2            /* waiters (receivers parked on data_wait) */
#endif
#ifndef NN
#define NN 2            /* notifiers (senders) */
#endif
#ifndef MSGS
#define MSGS 2          /* messages published by each notifier */
#endif
#define TOTAL (NN * MSGS)

byte word = 0;          /* wait_cell::word: epoch << 1 | waiters bit */
byte pub = 0;           /* the condition: messages published (ring tail / frame stamps) */
byte seen[NW];          /* waiter i has read seen[i] messages (endpoint::read_position_) */
bool queued[NW];        /* waiter i is in the kernel's futex queue for &word */

/* The lost wake-up: waiter i is asleep in FUTEX_WAIT while a message waits for it. */
#define lost_wakeup(i)  (queued[i] && pub > seen[i])

/* FUTEX_WAKE(&word, INT_MAX) (platform::park_wake): dequeue and wake every waiter queued
 * on the word, atomically under the hash-bucket lock. */
inline futex_wake_all(wi) {
  d_step {
    wi = 0;
    do
    :: wi < NW -> queued[wi] = false; wi++
    :: else -> break
    od;
    wi = 0
  }
}

active [NW] proctype waiter()
{
  byte v;        /* park_once: const std::uint32_t v (the value it sleeps on) */
  bool timed;    /* park_once: timeout.has_value() */

  assert(_pid < NW);  /* the waiters are processes 0 .. NW-1: _pid indexes seen[], queued[] */
  do
  :: seen[_pid] == TOTAL -> break
  :: else ->
     if
     :: pub > seen[_pid] ->
        /* endpoint::recv: receive_readiness() == ready, read the frame and advance */
        seen[_pid]++
     :: else ->
        /* spin stage found nothing: park_once(ctl.data_wait, ..., ready, slice) */

        /* A: const uint32_t v = cell.word.fetch_or(1u, acquire) | 1u; */
        atomic { v = word | 1; word = word | 1 };

        /* F1: std::atomic_thread_fence(seq_cst) -- implicit, the model is SC */

#ifndef MUTANT_NO_RECHECK
        /* R: if (ready()) return true;  -- the caller's loop then reads the message */
        if
        :: pub > seen[_pid] -> goto next
        :: else
        fi;
#endif
        /* platform::park_wait(cell.word, v, timeout): with or without a timeout */
        if
        :: timed = true
        :: timed = false
        fi;
        /* FUTEX_WAIT: compare the word with v and enqueue, in one atomic step;
         * if the word moved, return at once (EAGAIN) */
        atomic {
          if
          :: word == v -> queued[_pid] = true
          :: else
          fi
        };
        /* asleep until FUTEX_WAKE dequeues us, or (timed) until the timeout */
        if
        :: !queued[_pid]                                              /* woken / EAGAIN */
        :: atomic { timed && queued[_pid] -> queued[_pid] = false }   /* ETIMEDOUT */
        fi;
next:   /* park_once returned; the caller loops and re-checks */
        v = 0;
        timed = false
     fi
  od
}

active [NN] proctype notifier()
{
  byte m = 0;    /* messages published so far */
  byte v;        /* notify_parked: std::uint32_t v */
  bool ok;       /* compare_exchange_weak's result */
  byte wi;       /* futex_wake_all's loop index (always 0 between steps) */

  do
  :: m == MSGS -> break
  :: else ->
#ifdef MUTANT_LOAD_BEFORE_PUBLISH
     v = word;  /* P, hoisted above the publication */
     pub++;     /* S */
#else
     /* S: the publishing release store (ring.cpp: frame stamp CAS / tail), then
      * notify_parked(ctl.data_wait, ctl.futex) -- or, in endpoint::notify_data_and_space,
      * one F2 then notify_parked_fenced() per cell: the same steps for each cell */
     pub++;
     /* F2: std::atomic_thread_fence(seq_cst) -- implicit, the model is SC */
     /* P: std::uint32_t v = cell.word.load(relaxed); */
     v = word;
#endif
     /* while (v & 1u) */
     do
     :: (v & 1) == 0 -> break
     :: else ->
        /* cell.word.compare_exchange_weak(v, (v + 2u) & ~1u, release, relaxed) */
        atomic {
          if
          :: word == v -> word = (v + 2) & 254; ok = true
          :: word == v -> ok = false        /* weak CAS: spurious failure, v unchanged */
          :: else -> v = word; ok = false   /* failure: v receives the current value */
          fi
        };
        if
        :: ok ->
           /* platform::park_wake(cell.word, INT_MAX); break; */
           futex_wake_all(wi);
           ok = false;
           break
        :: else
        fi
     od;
     v = 0;
     m++
  od
}

/* Runs only when no other statement in the system is executable. */
active proctype monitor()
{
  byte i = 0;
  timeout;
  do
  :: i < NW ->
     assert(!lost_wakeup(i));  /* lost wake-up: waiter i sleeps forever with a message */
     i++
  :: else -> break
  od
}
