/*
 * waiter_shards.pml -- the coipc.asio waiter with two threads ("shards"), under SPIN
 * (modules/asio/waiter.cpp, waiter::run). Handing operations back moves the shares; the
 * thread that did so must wake the others (run's `reshare` lambda), or a channel that moved
 * to another thread's share is watched by nobody.
 *
 * Shares: futex_waitv takes at most 128 words, so thread k parks on the shared own word plus
 * the channels k*SHARE .. k*SHARE+SHARE-1 of r.watches, the distinct channels of the pending
 * operations in registration order (sweep_locked). In the library SHARE is
 * waiter::channels_per_thread = 127 (coipc.asio.cppm); here SHARE is 1 and stands in for
 * 127: what matters is only that a channel changes position in the list when an operation
 * ahead of it is handed back, and 1 is the smallest share for which two channels need two
 * threads. (take_share below is written for SHARE = 1 and two channels.)
 *
 * Processes:
 *   wt[0], wt[1]  waiter::run(0) and run(1). Thread 1 exists once a thread under the mutex
 *                 finds two pending channels (start_thread_locked). Each loops: sweep under
 *                 the mutex; (shard 0 only) spin and loop; under the mutex: sweep, take its
 *                 share of r.watches, announce on the own word and on its share, fence,
 *                 sweep; unlock; futex_waitv on those words. After any sweep that handed an
 *                 operation back: unlock, reshare (notify the own word if more than one
 *                 thread exists), loop.
 *   sender        publishes MSGS = 2 messages on channel X, each followed by notify_parked on
 *                 X's wait cell.
 *   registrant    (only with -DADD_RACES, see Bounds) waiter::add() for the three operations.
 *   monitor       runs only when nothing else can move (Promela `timeout`).
 *
 * Operations, in registration order:
 *   op 1 on channel X, ready once X has 1 message;
 *   op 2 on channel Y, never ready (Y gets no message: it only holds a place in the list);
 *   op 3 on channel X, ready once X has 2 messages.
 * So r.watches is [X, Y] while op 1 is pending (thread 0 parks on X, thread 1 on Y) and
 * [Y, X] once op 1 has been handed back: X moves to thread 1's share. The lost wake-up that
 * MUTANT_NO_RESHARE shows: thread 0 hands op 1 back and parks on its new share Y; thread 1
 * still sleeps on its old share Y; nobody watches X, and op 3 never gets handed back. With
 * the reshare notification thread 1 wakes, sweeps, and parks on X.
 *
 * Property: at a global deadlock (the monitor's `timeout`: the sender has finished, every
 * thread is asleep in futex_waitv or not started) no pending operation is ready. A thread
 * asleep in futex_waitv or not started is a valid end state (end_ labels); any other stuck
 * process is an invalid end state.
 *
 * Comments quote the C++ statement each step stands for; "(:N)" is its line in
 * modules/asio/waiter.cpp when this model was written (the quoted statement is what counts).
 *
 * The futex_waitv and notify_parked steps are those of waiter_thread.pml (see its header):
 * the kernel compares and enqueues word by word, each compare atomic with its enqueue; a
 * FUTEX_WAKE on any word the thread is queued on wakes it, also between the per-word steps.
 * Memory model: sequentially consistent, the fences F1/F2 implicit, for the reasons given
 * in wait_protocol.pml; the mutex is a test-and-set flag. thread_count is read relaxed in
 * reshare: it is written under the mutex before the new thread's first sweep (under the
 * same mutex), so a reshare that reads a stale 1 follows a sweep that precedes the new
 * thread's first sweep, which then sees the list as it is; the SC read covers this.
 *
 * Timed returns: every park may or may not return without a wake (chosen afresh each
 * time): shard 0's stall-check timeout (wake_at), EINTR, or any spurious return. The
 * untimed choice is always explored too, so a protocol that needed such a return for
 * progress is reported.
 *
 * Bounds and abstractions (the single-thread protocol in full is waiter_thread.pml):
 *   - registration: the three operations are pending from the start, i.e. every add()
 *     completed before the threads' first step (add's notification then found no announce
 *     and did nothing). -DADD_RACES instead runs add() for them concurrently with the
 *     threads (a registrant process); not run by check.sh (23.6 M states, see README.md).
 *   - compare_exchange_weak's spurious failures are omitted: one that keeps v is the same
 *     as the CAS happening later, which the interleavings already contain.
 *   - shard 0's spin stage (`backoff.spin()`) may loop back to the first sweep any number
 *     of times (the real backoff is finite: a superset of its runs).
 *   - op 2's readiness is constant (never ready), so its check shares a step with op 1's;
 *     op 1 and op 3 are checked in separate steps (the sender does not take the mutex).
 *   - not modelled: cancellation (cancel_channel() and shutdown_context() notify the own
 *     word like add(); cancel() erases an operation without a notification, which moves
 *     the shares just as a hand-back does: not covered here), closed channels, plain watch
 *     words (watch::cell == nullptr), in-progress claims and stall clocks, the statistics,
 *     the futex_waitv fallback, epoch wrap-around, a third thread.
 *
 * Mutant (must make the verifier report an error; see check.sh):
 *   -DMUTANT_NO_RESHARE   no notification of the own word after a sweep that handed
 *                         operations back (run() before the fix).
 */

#define SHARE 1         /* waiter::channels_per_thread (127 in the library), see above */
#define NT    2         /* waiter threads (shards) */
#define MSGS  2         /* messages published on channel X */

#define OWN 0           /* word[OWN]: waiter::impl::own.word, shared by all threads */
#define X   1           /* word[X]: channel X's wait cell; pub[X]: its messages */
#define Y   2           /* word[Y]: channel Y's wait cell (never gets a message) */
#define NW  3           /* futex words */

#define OPCH(k)   ((k) == 2 -> Y : X)                      /* op k's watched().word */
#define NEED(k)   ((k) == 3 -> 2 : 1)                      /* messages op k waits for */
#define ready(k)  (pending[k] && pub[OPCH(k)] >= NEED(k))  /* op->readiness() == ready */

byte word[NW];          /* epoch << 1 | waiters bit */
byte pub[NW];           /* messages published per channel (pub[OWN] unused) */
#ifdef ADD_RACES
bool pending[4];        /* impl::ops: pending[k] <=> op k (1..3) is in the vector */
#else
bool pending[4] = true; /* impl::ops: pending[k] <=> op k (1..3) is in the vector; all
                           registered from the start (pending[0] is unused) */
#endif
bit  mtx = 0;           /* impl::mutex */
byte nthreads = 1;      /* impl::thread_count == impl::threads.size() */
bool q[NT * NW];        /* q[s*NW + w]: thread s is queued (futex_waitv) on word w */
bool woken[NT];         /* a FUTEX_WAKE reached one of thread s's queue entries */

inline lock()   { atomic { mtx == 0 -> mtx = 1 } }   /* std::unique_lock lock(s.mutex) */
inline unlock() { mtx = 0 }                          /* lock.unlock() / end of its scope */

/* waiter::sweep_locked (waiter.cpp:162-202), mutex held: for each op in order, readiness()
 * (:168); if ready, ops.erase + post_run, r.progressed = true (:186-190). `progressed` is
 * false on entry (it is reset wherever it is acted on). */
inline sweep_locked() {
  d_step {
    if :: ready(1) -> pending[1] = false; progressed = true :: else fi;
    if :: ready(2) -> pending[2] = false; progressed = true :: else fi   /* never */
  };
  d_step { if :: ready(3) -> pending[3] = false; progressed = true :: else fi }
}

/* Mutex held, so pending[] is stable: r.watches = the distinct channels of the pending ops
 * in order (sweep_locked :192-196); needed = max(1, ceil(size / SHARE)) threads started
 * (:251-253, start_thread_locked :75-79); this thread's share is
 * r.watches[first, last) with first = shard * SHARE, last = min(size, first + SHARE)
 * (:259-260) -- with SHARE = 1, one channel or none (share == 0). */
inline take_share() {
  d_step {
    k = 1; n = 0; c0 = 0; share = 0;
    do
    :: k > 3 -> break
    :: else ->
       if
       :: pending[k] && (n == 0 || (n == 1 && OPCH(k) != c0)) ->  /* not yet in the list */
          if :: n == s * SHARE -> share = OPCH(k) :: else fi;
          if :: n == 0 -> c0 = OPCH(k) :: else fi;
          n++
       :: else
       fi;
       k++
    od;
    if :: n > nthreads -> nthreads = n :: else fi;   /* while (threads.size() < needed) */
    k = 0; n = 0; c0 = 0
  }
}

/* FUTEX_WAKE(&word[w], INT_MAX) (platform::park_wake): every thread queued on w wakes. */
inline futex_wake(w) {
  d_step {
    i = 0;
    do
    :: i < NT -> if :: q[i * NW + w] -> woken[i] = true :: else fi; i++
    :: else -> break
    od;
    i = 0
  }
}

/* notify_parked(cell) (wait.cppm), after its F2 and P (v = cell.word.load()) done by the
 * caller: while (v & 1u) {
 *           if (CAS(v, (v + 2u) & ~1u)) { park_wake(word, INT_MAX); break; } } */
inline bump_and_wake(w) {
  do
  :: (v & 1) == 0 -> break
  :: else ->
     atomic {
       if
       :: word[w] == v -> word[w] = (v + 2) & 254; ok = true
       :: else -> v = word[w]; ok = false     /* failure: v receives the current value */
       fi
     };
     if
     :: ok -> futex_wake(w); ok = false; break
     :: else
     fi
  od;
  v = 0
}

/* reshare(true) (the lambda, waiter.cpp:213-217):
 *   if (s.thread_count.load(relaxed) > 1) notify_parked(s.own, s.own_counters); */
inline reshare() {
#ifndef MUTANT_NO_RESHARE
  if
  :: nthreads > 1 -> v = word[OWN]; bump_and_wake(OWN)   /* F2 implicit; P; CAS; wake */
  :: else
  fi
#else
  skip                       /* the mutant: no notification */
#endif
}

active [NT] proctype wt()
{
  byte s = _pid;      /* run(shard): the shards are processes 0 .. NT-1 */
  byte share;         /* the channel of this thread's share (0: none) */
  byte vown, vsh;     /* park_target::expected of the own word and of the share's word */
  bool progressed;    /* sweep_result::progressed */
  bool timed;         /* this park returns without a wake (timeout, EINTR, spurious) */
  bool eagain;        /* futex_waitv found a word changed */
  byte v, i, k, n, c0;
  bool ok;

end_unstarted:
  nthreads > s;       /* start_thread_locked(s) (:253): thread s runs once started */
top:
  /* for (;;) {  (:218)  { std::unique_lock lock(s.mutex);  (:220) */
  lock();
  /* sweep_result r = sweep_locked(now);  (:221) */
  sweep_locked();
  unlock();
  /* if (r.progressed) { lock.unlock(); reshare(true); backoff.reset(); continue; }
   *   (:222-227) */
  if
  :: progressed -> progressed = false; reshare(); goto top
  :: else
  fi;
  /* if (shard == 0 && backoff.spin()) continue;  (:236) */
  if
  :: s == 0 -> goto top
  :: true
  fi;

  /* Park: { std::unique_lock lock(s.mutex);  (:241) */
  lock();
  /* sweep_result r = sweep_locked(now);  (:243) */
  sweep_locked();
  /* if (r.progressed) { lock.unlock(); reshare(true); backoff.reset(); continue; }
   *   (:244-249) */
  if
  :: progressed -> unlock(); progressed = false; reshare(); goto top
  :: else
  fi;
  /* needed, start_thread_locked; first, last  (:251-253, :259-260) */
  take_share();
  /* targets.push_back({&s.own.word, s.own.word.fetch_or(1u, acquire) | 1u});  (:258) */
  atomic { vown = word[OWN] | 1; word[OWN] = word[OWN] | 1 };
  /* for (i = first; i < last; ++i)
   *   targets.push_back({w.word, w.word->fetch_or(1u, acquire) | 1u});  (:261-266) */
  if
  :: share != 0 -> atomic { vsh = word[share] | 1; word[share] = word[share] | 1 }
  :: else
  fi;
  /* std::atomic_thread_fence(seq_cst);  F1 (:275) -- implicit, the model is SC */
  /* r = sweep_locked(now);  (:276) */
  sweep_locked();
  /* if (r.progressed) { lock.unlock(); reshare(true); backoff.reset(); continue; }
   *   (:277-282) */
  if
  :: progressed -> unlock(); progressed = false; reshare(); goto loop
  :: else
  fi;
  unlock();  /* end of the park block (:288) */

  /* platform::park_wait_any(targets, timeout, 1ms)  (:296): futex_waitv, word by word */
  if
  :: timed = true
  :: timed = false
  fi;
  atomic {
    if
    :: word[OWN] == vown -> q[s * NW + OWN] = true
    :: else -> eagain = true
    fi
  };
  if
  :: !eagain && share != 0 ->
     atomic {
       if
       :: word[share] == vsh -> q[s * NW + share] = true
       :: else -> eagain = true
       fi
     }
  :: else
  fi;
  if
  :: eagain                  /* EAGAIN: a word had moved */
  :: else ->
end_parked:                  /* an idle thread asleep for good is a valid end state */
     if
     :: woken[s]             /* FUTEX_WAKE on any of its words */
     :: timed                /* ETIMEDOUT / EINTR / spurious */
     fi
  fi;
  /* return from the syscall: off every queue; backoff.reset();  (:297) */
  d_step {
    i = 0;
    do
    :: i < NW -> q[s * NW + i] = false; i++
    :: else -> break
    od;
    i = 0; woken[s] = false; eagain = false; timed = false
  };
loop:
  skip;
  d_step { vown = 0; vsh = 0; share = 0 };
  goto top
}

active proctype sender()
{
  byte m = 0, v, i;
  bool ok;

  do
  :: m == MSGS -> break
  :: else ->
     pub[X]++;        /* S: the message's publishing release store */
     v = word[X];     /* notify_parked(X's cell): F2 implicit; P */
     bump_and_wake(X);
     m++
  od
}

#ifdef ADD_RACES
active proctype registrant()
{
  byte k = 1, v, i;
  bool ok;

  do
  :: k > 3 -> break
  :: else ->
     /* waiter::add (:93-115): { std::lock_guard lock; impl_->ops.push_back(op); } (:110) */
     lock(); pending[k] = true; unlock();
     v = word[OWN];       /* notify_parked(impl_->own, ...) (:114): F2 implicit; P */
     bump_and_wake(OWN);
     k++
  od
}
#endif

/* Runs only when no other statement in the system is executable. */
active proctype monitor()
{
  timeout;
  assert(!(ready(1) || ready(2) || ready(3)))   /* a ready operation nobody hands back */
}
