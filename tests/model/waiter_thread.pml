/*
 * waiter_thread.pml -- the coipc.asio waiter thread (modules/asio/waiter.cpp, waiter::run)
 * parking on several futex words at once, under SPIN.
 *
 * Processes:
 *   waiter_thread  waiter::run(0): sweep the pending operations under impl::mutex; if none
 *                  was ready, park: under the mutex sweep again (which also lists the
 *                  channels still pending), announce on the own word and on the word of each
 *                  of those channels (fetch_or 1), fence, sweep a third time, unlock, then
 *                  futex_waitv on all those words. It never returns; idle, it parks.
 *   registrant     waiter::add(), NOPS times: push the operation under the mutex, then
 *                  notify_parked(own).
 *   sender         a channel sender: publishes NOPS messages, each followed by
 *                  notify_parked(ctl.data_wait) on the channel's wait cell.
 *   monitor        runs only when nothing else can move (Promela `timeout`).
 *
 * Operation k (1 .. NOPS) is an async receive on the one channel; its readiness()
 * (endpoint::receive_readiness) is "ready" once pub >= k and stays so. The sweep hands a
 * ready operation back to its executor (post_run): here `completed++`.
 *
 * Property: the waiter thread never sleeps through a registration or a publication. Its
 * park is an end state (a waiter thread with nothing to do parks for good, which is
 * valid); at a global deadlock (the monitor's `timeout`) the sender and registrant have
 * finished (they block only on the mutex, which nobody holds while blocked), so every
 * pending operation is ready. The monitor asserts that the thread is not asleep in
 * futex_waitv with a ready operation pending, and that every operation was handed back.
 *
 * Timeouts: park_wait_any gets a timeout on shard 0 when a sweep saw an operation "in
 * progress" (a claim not yet published: the stall check). Claims are not modelled; instead
 * every park may or may not be timed, chosen afresh each time, and a timed wait may return
 * at any moment (also standing for EINTR / spurious returns). As in wait_protocol.pml, the
 * runs where the waits that matter are untimed are explored too, so a protocol that needed a
 * timeout for progress is reported.
 *
 * futex_waitv (Linux, kernel/futex/waitwake.c futex_wait_multiple_setup): the kernel
 * compares and enqueues word by word, each compare atomic with its enqueue (hash-bucket
 * lock); if a word differs it dequeues the others and returns (EAGAIN). A FUTEX_WAKE on any
 * word the thread is queued on wakes it, including one that lands between the per-word
 * steps: it then returns at once instead of sleeping. That is what the model does.
 *
 * Not modelled: more than one waiter thread (a thread per 127 pending channels: with one
 * channel there is one thread; two threads are waiter_shards.pml), the fallback for
 * kernels without futex_waitv (it parks on the own word only with a 1 ms slice and relies
 * on that slice for channel words, by design), closed channels, cancellation
 * (cancel_channel / shutdown_context notify the own word exactly like add does; add's
 * early completion of cancelled operations touches no word), other waiters on the channel
 * word (the synchronous park_once side is wait_protocol.pml), the spin/yield stages (a
 * re-sweep adds nothing the first sweep does not) and the statistics.
 *
 * Memory model: SPIN runs are sequentially consistent; the seq_cst fences F1 (run) and F2
 * (notify_parked) are implicit, for the reasons given at the top of wait_protocol.pml. The
 * mutex is a plain test-and-set flag: its acquire/release is subsumed by SC.
 *
 * Mutants (each must make the verifier report an error; see check.sh):
 *   -DMUTANT_NO_RECHECK             run() parks right after the announcements, without the
 *                                   sweep that follows F1.
 *   -DMUTANT_LOAD_BEFORE_PUBLISH    the sender loads the channel word (notify_parked's P)
 *                                   before its release store of the message (S).
 *   -DMUTANT_LOAD_BEFORE_PUSH       add() loads the own word (P) before pushing the
 *                                   operation under the mutex.
 *   -DMUTANT_NO_CHANNEL_ANNOUNCE    run() announces and waits on its own word only (the
 *                                   futex_waitv fallback without its 1 ms slice).
 */

#ifndef NOPS
#define NOPS 2          /* operations registered; the sender publishes as many messages */
#endif
#if NOPS != 2
#error "any_pending and any_ready below list the operations one by one: update them"
#endif

byte ownw = 0;          /* waiter::impl::own.word: epoch << 1 | waiters bit */
byte chw = 0;           /* the channel's wait cell (ctl.data_wait.word) */
byte pub = 0;           /* messages published on the channel */
bit  mtx = 0;           /* waiter::impl::mutex */
bool pending[NOPS + 1]; /* waiter::impl::ops: pending[k] <=> operation k is in the vector */
byte completed = 0;     /* operations handed back (async_op::post_run) */

/* futex_waitv state of the waiter thread */
bool q_own = false;     /* queued on ownw */
bool q_ch = false;      /* queued on chw */
bool woken = false;     /* a FUTEX_WAKE reached one of its queue entries */

#define op_ready(k)     (pending[k] && pub >= (k))
#define any_pending     (pending[1] || pending[2])
#define any_ready       (op_ready(1) || op_ready(2))
/* The lost wake-up: asleep in futex_waitv while an operation is ready. */
#define asleep          ((q_own || q_ch) && !woken)
#define lost_wakeup     (asleep && any_ready)

inline lock()   { atomic { mtx == 0 -> mtx = 1 } }   /* std::lock_guard lock(s.mutex) */
inline unlock() { mtx = 0 }

/* waiter::sweep_locked (mutex held): hand back every ready operation, in order; each
 * readiness() is its own step, since the sender does not take the mutex. The channels
 * still pending (sweep_result::cells) are read by the caller from pending[]. */
inline sweep_locked(progressed, k) {
  progressed = false;
  k = 1;
  do
  :: k > NOPS -> break
  :: else ->
     if
     :: op_ready(k) ->               /* readiness::ready: erase, post_run */
        pending[k] = false; completed++; progressed = true
     :: else                         /* waiting (in_progress: not modelled) */
     fi;
     k++
  od;
  k = 0
}

/* notify_parked(cell, ...) after P (v = cell.word.load()) has been done by the caller:
 * the epoch-bump CAS loop, then FUTEX_WAKE(&word, INT_MAX) on that word, which wakes the
 * waiter thread if it is queued there (q). */
inline bump_and_wake(w, q, v, ok) {
  do
  :: (v & 1) == 0 -> break                 /* while (v & 1u) */
  :: else ->
     atomic {                              /* compare_exchange_weak(v, (v + 2u) & ~1u) */
       if
       :: w == v -> w = (v + 2) & 254; ok = true
       :: w == v -> ok = false             /* spurious failure */
       :: else -> v = w; ok = false
       fi
     };
     if
     :: ok ->                              /* platform::park_wake(cell.word, INT_MAX) */
        d_step { if :: q -> woken = true :: else fi; ok = false };
        break
     :: else
     fi
  od;
  v = 0
}

active proctype waiter_thread()
{
  byte vown, vch;     /* park_target::expected for the own word and the channel word */
  bool watch_ch;      /* the channel word is among the targets */
  bool progressed;
  bool timed;         /* park_wait_any's timeout.has_value() */
  bool eagain;        /* futex_waitv found a word changed */
  byte k;

top:
  /* { lock_guard; r = sweep_locked(now); if (r.progressed) { ...; continue; } } */
  lock();
  sweep_locked(progressed, k);
  unlock();
  if
  :: progressed -> progressed = false; goto top
  :: else
  fi;
  /* if (shard == 0 && backoff.spin()) continue;  -- abstracted: a re-sweep adds nothing */

  /* Park: announce on our share, re-check, sleep on all its words at once. */
  lock();
  /* r = sweep_locked(now); if (r.progressed) { backoff.reset(); continue; } */
  sweep_locked(progressed, k);
  if
  :: progressed -> unlock(); progressed = false; goto reset
  :: else
  fi;
  /* targets.push_back({&s.own.word, s.own.word.fetch_or(1u, acquire) | 1u}); */
  atomic { vown = ownw | 1; ownw = ownw | 1 };
#ifndef MUTANT_NO_CHANNEL_ANNOUNCE
  /* for (i = first; i < last; ++i) targets.push_back({&cell.word, cell.word.fetch_or(1u) | 1u})
   * -- r.cells: the distinct channels of the pending operations; here the one channel */
  if
  :: any_pending ->
     atomic { vch = chw | 1; chw = chw | 1 };
     watch_ch = true
  :: else
  fi;
#endif
  /* F1: std::atomic_thread_fence(seq_cst) -- implicit, the model is SC */
#ifndef MUTANT_NO_RECHECK
  /* r = sweep_locked(now); if (r.progressed) { backoff.reset(); continue; } */
  sweep_locked(progressed, k);
  if
  :: progressed -> unlock(); progressed = false; goto reset
  :: else
  fi;
#endif
  unlock();

  /* platform::park_wait_any(targets, timeout, 1ms): timeout iff a stall check is due */
  if
  :: timed = true
  :: timed = false
  fi;
  /* futex_waitv: per word, compare and enqueue atomically */
  atomic {
    if
    :: ownw == vown -> q_own = true
    :: else -> eagain = true
    fi
  };
  if
  :: !eagain && watch_ch ->
     atomic {
       if
       :: chw == vch -> q_ch = true
       :: else -> eagain = true
       fi
     }
  :: else
  fi;
  if
  :: eagain                            /* EAGAIN: a word had moved */
  :: else ->
end_parked:                            /* idle for good is a valid end state */
     if
     :: woken                          /* FUTEX_WAKE on any of the words */
     :: timed                          /* ETIMEDOUT */
     fi
  fi;
  /* return from the syscall: off every queue */
  d_step { q_own = false; q_ch = false; woken = false; eagain = false; timed = false };
reset:
  skip;  /* backoff.reset(); loop */
  d_step { vown = 0; vch = 0; watch_ch = false };
  goto top
}

active proctype registrant()
{
  byte k = 1;
  byte v;
  bool ok;

  do
  :: k > NOPS -> break
  :: else ->
     /* waiter::add(op) */
#ifdef MUTANT_LOAD_BEFORE_PUSH
     v = ownw;                                   /* P hoisted above the push */
     lock(); pending[k] = true; unlock();
#else
     lock(); pending[k] = true; unlock();        /* { lock_guard; impl_->ops.push_back(op); } */
     /* notify_parked(impl_->own, ...): F2 implicit; P: */
     v = ownw;
#endif
     bump_and_wake(ownw, q_own, v, ok);
     k++
  od
}

active proctype sender()
{
  byte m = 0;
  byte v;
  bool ok;

  do
  :: m == NOPS -> break
  :: else ->
#ifdef MUTANT_LOAD_BEFORE_PUBLISH
     v = chw;                                    /* P hoisted above S */
     pub++;
#else
     pub++;                                      /* S: the frame's publishing release store */
     /* notify_parked(ctl.data_wait, ctl.futex): F2 implicit; P: */
     v = chw;
#endif
     bump_and_wake(chw, q_ch, v, ok);
     m++
  od
}

/* Runs only when no other statement in the system is executable. */
active proctype monitor()
{
  timeout;
  assert(!lost_wakeup);        /* the waiter thread sleeps forever with work to do */
  assert(completed == NOPS)    /* every registered operation was handed back */
}
